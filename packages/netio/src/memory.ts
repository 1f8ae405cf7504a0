import {
  type Clock,
  canonicalIp,
  formatIpv6,
  formatMac,
  type IpFamily,
  isLinkLocalIp,
  isMulticastIp,
  type ParsedIp,
  parseIp,
  parseMac,
  systemClock,
} from '@proxyha/common';
import {
  broadcastError,
  closedError,
  type NetioError,
  NetioInvalidArgumentError,
  NetioPermissionError,
  NetioSystemError,
  NetioUnknownInterfaceError,
} from './errors';
import { ReceiverHub } from './receiver';
import type {
  Frame,
  InterfaceEvent,
  InterfaceInfo,
  InterfaceRef,
  InterfaceWatcher,
  IpPacket,
  IpSocket,
  IpSocketOptions,
  NetworkStack,
  PacketSocket,
  PacketSocketOptions,
  WatchOptions,
} from './types';
import {
  checkBytes,
  checkCidr,
  checkGroup,
  checkInterfaceName,
  checkIp,
  familyLabel,
  MAX_IP_PAYLOAD,
  type ResolvedIpOptions,
  type ResolvedPacketOptions,
  resolveIpOptions,
  resolvePacketOptions,
} from './validate';

/** An interface of a {@link MemoryHost}. */
export interface MemoryInterfaceOptions {
  /** Interface name, e.g. `eth0`. */
  name: string;
  /** Link segment the interface is attached to; interfaces on one segment hear each other. Default `lan`. */
  segment?: string;
  /** MAC address; default derived from the host and interface numbers (`02:00:00:00:hh:ii`). */
  mac?: string;
  /** MTU; default 1500. */
  mtu?: number;
  /** IPv4 addresses in CIDR form, e.g. `192.168.77.11/24`. */
  ipv4?: string[];
  /** IPv6 addresses in CIDR form, e.g. `fd77::11/64`; an EUI-64 link-local address is added unless present. */
  ipv6?: string[];
}

/** Options of {@link MemoryNetwork.addHost}. */
export interface MemoryHostOptions {
  /** Interfaces besides `lo` (index 1), which every host has. */
  interfaces: MemoryInterfaceOptions[];
  /** When false, opening raw/packet sockets fails with NETIO_PERMISSION, like a process without CAP_NET_RAW. */
  privileged?: boolean;
}

/** The canonical form of a MAC option; throws NETIO_INVALID_ARGUMENT. */
function checkMac(mac: unknown): string {
  const bytes = parseMac(mac);
  if (!bytes) throw new NetioInvalidArgumentError('interfaces[].mac', mac, 'a MAC address aa:bb:cc:dd:ee:ff');
  return formatMac(bytes);
}

/** Options of {@link MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /** Probability 0..1 that a packet or frame is lost on the way to each receiving interface. Default 0. */
  loss?: number;
  /** Random source in [0, 1) for loss decisions; pass a seeded one for reproducible runs. Default Math.random. */
  random?: () => number;
  /**
   * The clock whose `wallTime()` stamps {@link IpPacket.receivedAt} (the twin's wire has no delay:
   * a packet is received when it is sent). Default `systemClock`; a `ManualClock` makes the stamps
   * deterministic.
   */
  clock?: Clock;
}

/** Delivery counters of a {@link MemoryNetwork}. */
export interface MemoryNetworkStats {
  /** Packets and frames handed to a receiving socket. */
  delivered: number;
  /** Packets and frames dropped by the loss setting. */
  lost: number;
}

/** Packets a socket holds while nobody reads it, like a kernel socket buffer; beyond this they are dropped. */
const UNREAD_LIMIT = 1000;

/** An interface of a host, where it is attached. */
interface Iface {
  readonly host: HostCore;
  readonly info: InterfaceInfo;
  segment: string;
}

/** The state of a {@link MemoryNetwork}, shared with its hosts and sockets (not part of the API). */
class NetworkCore {
  readonly stats: MemoryNetworkStats = { delivered: 0, lost: 0 };
  readonly hosts: HostCore[] = [];
  loss: number;
  readonly random: () => number;
  readonly clock: Clock;

  constructor(options: MemoryNetworkOptions) {
    this.loss = checkLoss(options.loss ?? 0);
    this.random = options.random ?? Math.random;
    this.clock = options.clock ?? systemClock;
  }

  /** Interfaces attached to `segment` that are up and running. */
  attached(segment: string): Iface[] {
    const out: Iface[] = [];
    for (const host of this.hosts) {
      for (const iface of host.ifaces.values()) {
        if (iface.segment === segment && iface.info.up && iface.info.running) out.push(iface);
      }
    }
    return out;
  }

  /** Applies loss; true when the packet survives. */
  survives(): boolean {
    if (this.loss > 0 && this.random() < this.loss) {
      this.stats.lost++;
      return false;
    }
    this.stats.delivered++;
    return true;
  }
}

/** The state of a {@link MemoryHost}: interfaces, open sockets, watchers (not part of the API). */
class HostCore {
  readonly ifaces = new Map<string, Iface>();
  readonly ipSockets = new Set<MemoryIpSocket>();
  readonly packetSockets = new Set<MemoryPacketSocket>();
  readonly watchers = new Set<(event: InterfaceEvent) => void>();
  readonly privileged: boolean;

  constructor(
    readonly network: NetworkCore,
    name: string,
    hostNumber: number,
    options: MemoryHostOptions,
  ) {
    this.privileged = options.privileged ?? true;
    this.ifaces.set('lo', {
      host: this,
      segment: `lo:${name}`,
      info: {
        name: 'lo',
        index: 1,
        mac: '00:00:00:00:00:00',
        mtu: 65536,
        up: true,
        running: true,
        ipv4: [{ address: '127.0.0.1', prefixLength: 8 }],
        ipv6: [{ address: '::1', prefixLength: 128 }],
      },
    });
    options.interfaces.forEach((o, i) => {
      const name = checkInterfaceName('interfaces[].name', o.name);
      if (this.ifaces.has(name))
        throw new NetioInvalidArgumentError('interfaces[].name', name, 'a unique name');
      const mac =
        o.mac === undefined
          ? formatMac(Uint8Array.of(2, 0, 0, 0, hostNumber & 0xff, (i + 2) & 0xff))
          : checkMac(o.mac);
      const cidrs = (list: string[] | undefined, family: IpFamily) =>
        (list ?? []).map((c) => {
          const { address, prefixLength } = checkCidr(`interfaces[].${family}`, c, family);
          return { address, prefixLength };
        });
      const ipv6 = cidrs(o.ipv6, 'ipv6');
      if (!ipv6.some((a) => isLinkLocalText(a.address)))
        ipv6.push({ address: eui64LinkLocal(mac), prefixLength: 64 });
      this.ifaces.set(name, {
        host: this,
        segment: o.segment ?? 'lan',
        info: {
          name,
          index: i + 2,
          mac,
          mtu: o.mtu ?? 1500,
          up: true,
          running: true,
          ipv4: cidrs(o.ipv4, 'ipv4'),
          ipv6,
        },
      });
    });
  }

  /** The interface called `name`; NETIO_UNKNOWN_INTERFACE when there is none. */
  iface(name: string): Iface {
    checkInterfaceName('interface', name);
    const iface = this.ifaces.get(name);
    if (!iface) throw new NetioUnknownInterfaceError(name);
    return iface;
  }

  /** Applies `mutate` to an interface's facts and reports a `changed` event when they changed. */
  change(name: string, mutate: (info: InterfaceInfo) => void): void {
    const iface = this.iface(name);
    const previous = structuredClone(iface.info);
    mutate(iface.info);
    if (JSON.stringify(previous) === JSON.stringify(iface.info)) return;
    const event: InterfaceEvent = { type: 'changed', interface: structuredClone(iface.info), previous };
    for (const watcher of this.watchers) queueMicrotask(() => watcher(event));
  }
}

/** Creates a {@link MemoryHost} around its state; set by the class itself (its constructor is private). */
let newHost: (network: MemoryNetwork, name: string, core: HostCore) => MemoryHost;

/**
 * An in-memory network: hosts with interfaces on named link segments, implementing
 * {@link NetworkStack} for protocol tests without root. Delivers unicast, multicast (to sockets
 * that joined the group on that interface, and to all-nodes groups) and broadcast (looped back to
 * the sender's host, as Linux does), with the sender's TTL / hop limit, optional random loss, and
 * interface up/down and address changes reported to watchers. Delivery happens in a microtask after
 * `send`, before the `send` promise's continuation runs.
 *
 * ```ts
 * const net = new MemoryNetwork({ clock: new ManualClock() });
 * const a = net.addHost('a', { interfaces: [{ name: 'eth0', ipv4: ['192.168.77.11/24'] }] });
 * const b = net.addHost('b', { interfaces: [{ name: 'eth0', ipv4: ['192.168.77.12/24'] }] });
 * ```
 */
export class MemoryNetwork {
  readonly #core: NetworkCore;
  readonly #hosts = new Map<string, MemoryHost>();

  /** @param options - loss probability, random source, clock */
  constructor(options: MemoryNetworkOptions = {}) {
    this.#core = new NetworkCore(options);
  }

  /** Delivery counters (live: they change as packets are delivered or lost). */
  get stats(): MemoryNetworkStats {
    return this.#core.stats;
  }

  /**
   * Adds a host; its interfaces get indexes 2, 3, ... in the order given (`lo` is 1).
   *
   * @param name - the host's name, unique in this network
   * @param options - its interfaces and whether it may open raw sockets
   * @throws NetioInvalidArgumentError `NETIO_INVALID_ARGUMENT` for a used name or a bad interface option
   */
  addHost(name: string, options: MemoryHostOptions): MemoryHost {
    if (this.#hosts.has(name)) throw new NetioInvalidArgumentError('name', name, 'a host name not yet used');
    const core = new HostCore(this.#core, name, this.#hosts.size + 1, options);
    const host = newHost(this, name, core);
    this.#core.hosts.push(core);
    this.#hosts.set(name, host);
    return host;
  }

  /**
   * The host called `name`.
   *
   * @throws NetioInvalidArgumentError `NETIO_INVALID_ARGUMENT` when there is none
   */
  host(name: string): MemoryHost {
    const host = this.#hosts.get(name);
    if (!host) throw new NetioInvalidArgumentError('name', name, 'the name of an added host');
    return host;
  }

  /** Changes the loss probability (0..1). */
  setLoss(loss: number): void {
    this.#core.loss = checkLoss(loss);
  }
}

function checkLoss(loss: number): number {
  if (typeof loss !== 'number' || !(loss >= 0 && loss <= 1)) {
    throw new NetioInvalidArgumentError('loss', loss, 'a probability 0..1');
  }
  return loss;
}

/** True when `destination` is 255.255.255.255 or the directed broadcast address of one of `info`'s subnets. */
function isBroadcastFor(info: InterfaceInfo, destination: ParsedIp): boolean {
  const d = destination.bytes;
  if (d.every((b) => b === 255)) return true;
  return info.ipv4.some(({ address, prefixLength }) => {
    if (prefixLength >= 31) return false;
    const own = parseIp(address, 'ipv4')?.bytes;
    if (!own) return false;
    for (let i = 0, bits = prefixLength; i < 4; i++, bits -= 8) {
      const net = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
      if ((d[i] as number) !== (((own[i] as number) & net) | (~net & 0xff))) return false;
    }
    return true;
  });
}

/** The EUI-64 link-local address (RFC 4291 appendix A) of a MAC address. */
function eui64LinkLocal(mac: string): string {
  const m = parseMac(mac) ?? new Uint8Array(6);
  const ip = new Uint8Array(16);
  ip.set([0xfe, 0x80]);
  ip.set(
    [
      (m[0] as number) ^ 2,
      m[1] as number,
      m[2] as number,
      0xff,
      0xfe,
      m[3] as number,
      m[4] as number,
      m[5] as number,
    ],
    8,
  );
  return formatIpv6(ip);
}

/** True for link-local unicast (fe80::/10) and link-scoped multicast (ffx2::/16). */
function linkScoped(ip: ParsedIp): boolean {
  return isLinkLocalIp(ip) || (ip.bytes[0] === 0xff && ((ip.bytes[1] as number) & 0x0f) === 2);
}

/** True for an IPv6 link-local address given as text. */
function isLinkLocalText(address: string): boolean {
  const ip = parseIp(address, 'ipv6');
  return ip !== undefined && isLinkLocalIp(ip);
}

/**
 * A host of a {@link MemoryNetwork} ({@link MemoryNetwork.addHost} creates them); implements
 * {@link NetworkStack}, plus controls for tests: links up and down, addresses, partitions.
 */
export class MemoryHost implements NetworkStack {
  /** The network this host belongs to. */
  readonly network: MemoryNetwork;
  /** The host's name. */
  readonly name: string;
  readonly #core: HostCore;

  static {
    newHost = (network, name, core) => new MemoryHost(network, name, core);
  }

  private constructor(network: MemoryNetwork, name: string, core: HostCore) {
    this.network = network;
    this.name = name;
    this.#core = core;
  }

  /** {@inheritDoc NetworkStack.openIpSocket} */
  async openIpSocket(options: IpSocketOptions): Promise<IpSocket> {
    const resolved = resolveIpOptions(options);
    const core = this.#core;
    const iface = core.iface(resolved.interface);
    if (!core.privileged) {
      throw new NetioPermissionError(
        `open raw ${familyLabel(resolved.family)} socket for protocol ${resolved.protocol} on ${iface.info.name}`,
        'CAP_NET_RAW',
      );
    }
    const socket = new MemoryIpSocket(core, iface, resolved);
    core.ipSockets.add(socket);
    return socket;
  }

  /** {@inheritDoc NetworkStack.openPacketSocket} */
  async openPacketSocket(options: PacketSocketOptions): Promise<PacketSocket> {
    const resolved = resolvePacketOptions(options);
    const core = this.#core;
    const iface = core.iface(resolved.interface);
    if (!core.privileged)
      throw new NetioPermissionError(`open packet socket on ${iface.info.name}`, 'CAP_NET_RAW');
    const socket = new MemoryPacketSocket(core, iface, resolved);
    core.packetSockets.add(socket);
    return socket;
  }

  /** {@inheritDoc NetworkStack.interfaces} */
  async interfaces(): Promise<InterfaceInfo[]> {
    return [...this.#core.ifaces.values()].map((i) => structuredClone(i.info));
  }

  /** {@inheritDoc NetworkStack.interfaceInfo} */
  async interfaceInfo(name: string): Promise<InterfaceInfo> {
    return structuredClone(this.#core.iface(name).info);
  }

  /**
   * Reports interface changes (links, addresses) to `listener`: every change made through this host's
   * methods, in a microtask; `ready` is resolved and `mode` is `memory`.
   */
  watchInterfaces(listener: (event: InterfaceEvent) => void, _options?: WatchOptions): InterfaceWatcher {
    const wrapped = (event: InterfaceEvent) => listener(event);
    const watchers = this.#core.watchers;
    watchers.add(wrapped);
    return {
      ready: Promise.resolve(),
      mode: 'memory',
      close: () => {
        watchers.delete(wrapped);
      },
    };
  }

  /** Sets an interface administratively up or down (down: no sending, no receiving). */
  setLinkUp(name: string, up: boolean): void {
    this.#core.change(name, (info) => {
      info.up = up;
      info.running = up;
    });
  }

  /** Adds an address in CIDR form (e.g. a VIP `192.168.77.100/24`); unicast to it then reaches this host. */
  async addAddress(name: string, cidr: string): Promise<void> {
    const { family, address, prefixLength } = checkCidr('cidr', cidr);
    this.#core.change(name, (info) => {
      const list = family === 'ipv4' ? info.ipv4 : info.ipv6;
      if (!list.some((a) => a.address === address)) list.push({ address, prefixLength });
    });
  }

  /** Removes an address added with {@link MemoryHost.addAddress} or configured at creation. */
  async removeAddress(name: string, cidr: string): Promise<void> {
    const { family, address } = checkCidr('cidr', cidr);
    this.#core.change(name, (info) => {
      const list = family === 'ipv4' ? info.ipv4 : info.ipv6;
      const i = list.findIndex((a) => a.address === address);
      if (i >= 0) list.splice(i, 1);
    });
  }

  /** Moves an interface to another link segment (e.g. to partition the network). */
  attach(name: string, segment: string): void {
    this.#core.iface(name).segment = segment;
  }
}

/** Base for in-memory sockets: a hub plus an unread buffer used while nobody reads. */
abstract class MemorySocket<T> {
  readonly #hub: ReceiverHub<T>;
  #closed = false;
  #reading = false;
  readonly #unread: T[] = [];

  constructor(
    protected readonly host: HostCore,
    protected readonly iface: Iface,
  ) {
    this.#hub = new ReceiverHub<T>((on) => {
      this.#reading = on;
      while (this.#reading && this.#unread.length > 0) this.#hub.deliver(this.#unread.shift() as T);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  get interface(): InterfaceRef {
    return { name: this.iface.info.name, index: this.iface.info.index };
  }

  onPacket(listener: (item: T) => void): () => void {
    return this.#hub.onPacket(listener);
  }

  onError(listener: (error: NetioError) => void): () => void {
    return this.#hub.onError(listener);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.#hub[Symbol.asyncIterator]();
  }

  /** Hands a delivered item to readers, or keeps it until someone reads (up to UNREAD_LIMIT). */
  receive(item: T): void {
    if (this.#closed) return;
    if (this.#reading) this.#hub.deliver(item);
    else if (this.#unread.length < UNREAD_LIMIT) this.#unread.push(item);
  }

  protected checkSendable(operation: string, length: number): void {
    if (this.closed) throw closedError(operation);
    if (!this.iface.info.up) throw new NetioSystemError(operation, 'ENETDOWN', 'sendmsg');
    if (length > this.iface.info.mtu) throw new NetioSystemError(operation, 'EMSGSIZE', 'sendmsg');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unread.length = 0;
    this.#hub.end();
  }
}

class MemoryIpSocket extends MemorySocket<IpPacket> implements IpSocket {
  readonly family: IpFamily;
  readonly protocol: number;
  /** Joined groups, canonical text. */
  readonly #groups = new Set<string>();
  readonly #options: ResolvedIpOptions;

  constructor(host: HostCore, iface: Iface, options: ResolvedIpOptions) {
    super(host, iface);
    this.family = options.family;
    this.protocol = options.protocol;
    this.#options = options;
  }

  joinGroup(group: string): void {
    checkGroup('group', group, this.family);
    if (this.closed) throw closedError(`join ${group}`);
    const key = canonicalIp(group) as string;
    if (this.#groups.has(key)) throw new NetioSystemError(`join ${group}`, 'EADDRINUSE', 'setsockopt');
    this.#groups.add(key);
  }

  leaveGroup(group: string): void {
    checkGroup('group', group, this.family);
    if (this.closed) throw closedError(`leave ${group}`);
    if (!this.#groups.delete(canonicalIp(group) as string)) {
      throw new NetioSystemError(`leave ${group}`, 'EADDRNOTAVAIL', 'setsockopt');
    }
  }

  async send(payload: Uint8Array, destination: string): Promise<void> {
    checkBytes('payload', payload, 0, MAX_IP_PAYLOAD);
    const dest = checkIp('destination', destination, this.family);
    const v4 = this.family === 'ipv4';
    const operation = `send on raw ${familyLabel(this.family)} socket for protocol ${this.protocol} on ${this.iface.info.name}`;
    this.checkSendable(operation, payload.length + (v4 ? 20 : 40));
    const info = this.iface.info;
    const multicast = isMulticastIp(dest);
    const broadcast = v4 && !multicast && isBroadcastFor(info, dest);
    if (broadcast && !this.#options.broadcast) throw broadcastError(operation, destination);
    const addresses = v4 ? info.ipv4 : info.ipv6;
    const preferred =
      !v4 && linkScoped(dest)
        ? addresses.find((a) => isLinkLocalText(a.address))
        : addresses.find((a) => !isLinkLocalText(a.address));
    const source =
      (this.#options.source === undefined ? undefined : canonicalIp(this.#options.source)) ??
      (preferred ?? addresses[0])?.address ??
      (v4 ? '0.0.0.0' : '::');
    const ttl = multicast ? (this.#options.multicastTtl ?? 1) : (this.#options.ttl ?? 64);
    const bytes = Buffer.from(payload);
    const group = dest.text;
    const allNodes = multicast && (group === '224.0.0.1' || group === 'ff02::1');

    for (const target of this.host.network.attached(this.iface.segment)) {
      const local = target.host === this.host;
      let wanted: (s: MemoryIpSocket) => boolean;
      if (multicast) {
        if (local && !(this.#options.multicastLoop && target === this.iface)) continue;
        wanted = (s) => allNodes || s.#groups.has(group);
      } else if (broadcast) {
        if (local && target !== this.iface) continue;
        wanted = () => true;
      } else {
        if (local) continue; // unicast to this host's own address goes through lo, not this link
        const addrs = v4 ? target.info.ipv4 : target.info.ipv6;
        if (!addrs.some((a) => a.address === dest.text)) continue;
        wanted = () => true;
      }
      const receivers = [...target.host.ipSockets].filter(
        (s) =>
          !s.closed &&
          s.iface === target &&
          s.family === this.family &&
          s.protocol === this.protocol &&
          wanted(s),
      );
      if (receivers.length === 0 || !this.host.network.survives()) continue;
      const packet: IpPacket = {
        source,
        destination: dest.text,
        ifindex: target.info.index,
        ttl,
        payload: bytes,
        // the twin's wire has no delay: received when sent
        receivedAt: this.host.network.clock.wallTime(),
      };
      for (const s of receivers) queueMicrotask(() => s.receive({ ...packet, payload: Buffer.from(bytes) }));
    }
  }

  override close(): void {
    super.close();
    this.host.ipSockets.delete(this);
  }
}

class MemoryPacketSocket extends MemorySocket<Frame> implements PacketSocket {
  readonly etherType: number;

  readonly #includeOutgoing: boolean;

  constructor(host: HostCore, iface: Iface, options: ResolvedPacketOptions) {
    super(host, iface);
    this.etherType = options.etherType;
    this.#includeOutgoing = options.includeOutgoing;
  }

  async send(frame: Uint8Array): Promise<void> {
    checkBytes('frame', frame, 14, 65535);
    const operation = `send on packet socket on ${this.iface.info.name}`;
    this.checkSendable(operation, frame.length - 14);
    const bytes = Buffer.from(frame);
    const destination = formatMac(bytes, 0);
    const etherType = bytes.readUInt16BE(12);
    const group = ((bytes[0] as number) & 1) === 1;
    const broadcast = destination === 'ff:ff:ff:ff:ff:ff';
    const base = { destination, source: formatMac(bytes, 6), etherType };
    const matches = (s: MemoryPacketSocket) =>
      !s.closed && (s.etherType === etherType || s.etherType === 0x0003);
    for (const s of this.host.packetSockets) {
      if (s.iface === this.iface && s.#includeOutgoing && matches(s)) {
        queueMicrotask(() =>
          s.receive({
            ...base,
            ifindex: this.iface.info.index,
            packetType: 'outgoing',
            frame: Buffer.from(bytes),
          }),
        );
      }
    }
    for (const target of this.host.network.attached(this.iface.segment)) {
      if (target.host === this.host) continue;
      if (!group && target.info.mac !== destination) continue;
      const receivers = [...target.host.packetSockets].filter((s) => s.iface === target && matches(s));
      if (receivers.length === 0 || !this.host.network.survives()) continue;
      const packetType = broadcast ? 'broadcast' : group ? 'multicast' : 'host';
      for (const s of receivers) {
        queueMicrotask(() =>
          s.receive({ ...base, ifindex: target.info.index, packetType, frame: Buffer.from(bytes) }),
        );
      }
    }
  }

  override close(): void {
    super.close();
    this.host.packetSockets.delete(this);
  }
}

import { formatMac, type IpFamily } from '@proxyha/common';
import {
  broadcastError,
  closedError,
  fromNative,
  type NetioError,
  NetioUnknownInterfaceError,
} from '../errors';
import type { Frame, InterfaceRef, IpPacket, IpSocket, PacketSocket, Receiver } from '../types';
import {
  checkAddress,
  checkBytes,
  checkGroup,
  familyLabel,
  MAX_IP_PAYLOAD,
  packetTypeName,
  type ResolvedIpOptions,
  type ResolvedPacketOptions,
} from '../validate';
import { type Addon, KIND, type NativeItem, type NativeSocket } from './addon';
import { NativeChannel } from './channel';
import { parseIpv4 } from './ipv4';

/** Resolves an interface name to its index (if_nametoindex), before any socket is created. */
export function resolveInterface(addon: Addon, name: string): InterfaceRef {
  const index = addon.nameToIndex(name);
  if (!index) throw new NetioUnknownInterfaceError(name);
  return { name, index };
}

function errnoConstants(addon: Addon) {
  return { EAGAIN: addon.constants.EAGAIN ?? 11, ENOBUFS: addon.constants.ENOBUFS ?? 105 };
}

/** Opens and configures a raw IP socket; closes it again if any step fails. */
export function openLinuxIpSocket(addon: Addon, options: ResolvedIpOptions): IpSocket {
  const ref = resolveInterface(addon, options.interface);
  const c = addon.constants as Record<string, number>;
  const operation = `raw ${familyLabel(options.family)} socket for protocol ${options.protocol} on ${ref.name}`;
  let native: NativeSocket;
  try {
    native = new addon.Socket(options.family === 'ipv4' ? KIND.ip4 : KIND.ip6, options.protocol);
  } catch (error) {
    throw fromNative(error, `open ${operation}`, 'CAP_NET_RAW');
  }
  try {
    native.bindDevice(ref.name);
    native.multicastInterface(ref.index);
    if (options.family === 'ipv4') {
      const ip = c.IPPROTO_IP as number;
      if (options.ttl !== undefined) native.setInt(ip, c.IP_TTL as number, options.ttl);
      if (options.multicastTtl !== undefined)
        native.setInt(ip, c.IP_MULTICAST_TTL as number, options.multicastTtl);
      native.setInt(ip, c.IP_MULTICAST_LOOP as number, options.multicastLoop ? 1 : 0);
      native.setInt(ip, c.IP_MULTICAST_ALL as number, 0);
      if (options.tos !== undefined) native.setInt(ip, c.IP_TOS as number, options.tos);
      if (options.broadcast) native.setInt(c.SOL_SOCKET as number, c.SO_BROADCAST as number, 1);
    } else {
      const ip6 = c.IPPROTO_IPV6 as number;
      if (options.ttl !== undefined) native.setInt(ip6, c.IPV6_UNICAST_HOPS as number, options.ttl);
      if (options.multicastTtl !== undefined)
        native.setInt(ip6, c.IPV6_MULTICAST_HOPS as number, options.multicastTtl);
      native.setInt(ip6, c.IPV6_MULTICAST_LOOP as number, options.multicastLoop ? 1 : 0);
      if (options.tos !== undefined) native.setInt(ip6, c.IPV6_TCLASS as number, options.tos);
      try {
        native.setInt(ip6, c.IPV6_MULTICAST_ALL as number, 0);
      } catch {
        // kernels before 4.20 lack IPV6_MULTICAST_ALL: the socket then also sees other sockets' groups
      }
      if (options.checksumOffset !== undefined) {
        native.setInt(ip6, c.IPV6_CHECKSUM as number, options.checksumOffset);
      }
    }
  } catch (error) {
    native.close();
    throw fromNative(error, `configure ${operation}`, 'CAP_NET_RAW');
  }
  return new LinuxIpSocket(addon, native, options, ref, operation);
}

/** What the Linux sockets share: a {@link NativeChannel} behind the {@link Receiver} methods. */
abstract class ChannelSocket<T> implements Receiver<T> {
  /** The bound interface. */
  readonly interface: InterfaceRef;
  protected readonly channel: NativeChannel<T>;

  constructor(ref: InterfaceRef, channel: NativeChannel<T>) {
    this.interface = ref;
    this.channel = channel;
  }

  get closed(): boolean {
    return this.channel.closed;
  }

  onPacket(listener: (item: T) => void): () => void {
    return this.channel.hub.onPacket(listener);
  }

  onError(listener: (error: NetioError) => void): () => void {
    return this.channel.hub.onError(listener);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.channel.hub[Symbol.asyncIterator]();
  }

  close(): void {
    this.channel.close();
  }
}

class LinuxIpSocket extends ChannelSocket<IpPacket> implements IpSocket {
  readonly family: IpFamily;
  readonly protocol: number;
  readonly #native: NativeSocket;
  readonly #options: ResolvedIpOptions;
  readonly #operation: string;
  #lastDestination = '';

  constructor(
    addon: Addon,
    native: NativeSocket,
    options: ResolvedIpOptions,
    ref: InterfaceRef,
    operation: string,
  ) {
    const decode = options.family === 'ipv4' ? decodeIpv4 : decodeIpv6;
    super(
      ref,
      new NativeChannel<IpPacket>(native, errnoConstants(addon), decode, operation, 'CAP_NET_RAW', (e) =>
        mapIpSendError(e, operation),
      ),
    );
    this.family = options.family;
    this.protocol = options.protocol;
    this.#native = native;
    this.#options = options;
    this.#operation = operation;
  }

  joinGroup(group: string): void {
    this.#membership(group, true);
  }

  leaveGroup(group: string): void {
    this.#membership(group, false);
  }

  #membership(group: string, join: boolean): void {
    checkGroup('group', group, this.family);
    if (this.closed) throw closedError(this.#operation);
    try {
      this.#native.membership(group, this.interface.index, join);
    } catch (error) {
      throw fromNative(error, `${join ? 'join' : 'leave'} ${group} on ${this.#operation}`, 'CAP_NET_RAW');
    }
  }

  send(payload: Uint8Array, destination: string): Promise<void> {
    try {
      checkBytes('payload', payload, 0, MAX_IP_PAYLOAD);
      if (destination !== this.#lastDestination) {
        checkAddress('destination', destination, this.family);
        if (this.family === 'ipv4' && destination === '255.255.255.255' && !this.#options.broadcast) {
          throw broadcastError(this.#operation, destination);
        }
        this.#lastDestination = destination; // senders mostly repeat one destination: validate it once
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.channel.send(payload, destination, this.interface.index, this.#options.source);
  }
}

function mapIpSendError(error: unknown, operation: string): NetioError {
  // sendmsg() to a broadcast address without SO_BROADCAST fails with EACCES: not a capability problem.
  if ((error as { code?: string } | null)?.code === 'EACCES')
    return broadcastError(operation, 'the destination');
  return fromNative(error, `send on ${operation}`, 'CAP_NET_RAW');
}

function decodeIpv4(item: NativeItem): IpPacket | undefined {
  const header = parseIpv4(item[0]);
  if (!header) return undefined;
  return {
    source: header.source,
    destination: header.destination,
    ifindex: item[1] as number,
    ttl: header.ttl,
    payload: item[0].subarray(header.headerLength, header.totalLength),
    receivedAt: (item[2] as number) || Date.now(),
  };
}

function decodeIpv6(item: NativeItem): IpPacket {
  return {
    source: item[1] as string,
    destination: item[2] as string,
    ifindex: item[3] as number,
    ttl: item[4] as number,
    payload: item[0],
    receivedAt: (item[5] as number) || Date.now(),
  };
}

/** Opens an AF_PACKET socket bound to one interface and EtherType. */
export function openLinuxPacketSocket(addon: Addon, options: ResolvedPacketOptions): PacketSocket {
  const ref = resolveInterface(addon, options.interface);
  const operation = `packet socket for EtherType 0x${options.etherType.toString(16).padStart(4, '0')} on ${ref.name}`;
  let native: NativeSocket;
  try {
    native = new addon.Socket(KIND.packet, 0);
  } catch (error) {
    throw fromNative(error, `open ${operation}`, 'CAP_NET_RAW');
  }
  try {
    if (!options.includeOutgoing) {
      try {
        native.setInt(
          addon.constants.SOL_PACKET as number,
          addon.constants.PACKET_IGNORE_OUTGOING as number,
          1,
        );
      } catch {
        // before Linux 4.20: outgoing frames are filtered in decode below
      }
    }
    native.bindPacket(ref.index, options.etherType);
  } catch (error) {
    native.close();
    throw fromNative(error, `bind ${operation}`, 'CAP_NET_RAW');
  }
  return new LinuxPacketSocket(addon, native, options, ref, operation);
}

class LinuxPacketSocket extends ChannelSocket<Frame> implements PacketSocket {
  readonly etherType: number;

  constructor(
    addon: Addon,
    native: NativeSocket,
    options: ResolvedPacketOptions,
    ref: InterfaceRef,
    operation: string,
  ) {
    const includeOutgoing = options.includeOutgoing;
    const decode = (item: NativeItem): Frame | undefined => {
      const frame = item[0];
      const packetType = packetTypeName(item[2] as number);
      if ((!includeOutgoing && packetType === 'outgoing') || frame.length < 14) return undefined;
      return {
        ifindex: item[1] as number,
        destination: formatMac(frame, 0),
        source: formatMac(frame, 6),
        etherType: frame.readUInt16BE(12),
        packetType,
        frame,
      };
    };
    super(
      ref,
      new NativeChannel<Frame>(native, errnoConstants(addon), decode, operation, 'CAP_NET_RAW', (e) =>
        fromNative(e, `send on ${operation}`, 'CAP_NET_RAW'),
      ),
    );
    this.etherType = options.etherType;
  }

  send(frame: Uint8Array): Promise<void> {
    try {
      checkBytes('frame', frame, 14, 65535);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.channel.send(frame, undefined, this.interface.index, undefined);
  }
}

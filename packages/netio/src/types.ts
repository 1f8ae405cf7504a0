import type { IpFamily } from '@proxyha/common';
import type { NetioError } from './errors';

/** Options of {@link NetworkStack.openIpSocket}. */
export interface IpSocketOptions {
  /** `'ipv4'` or `'ipv6'` (`IpFamily` of `@proxyha/common`). */
  family: IpFamily;
  /** IP protocol number, 1..254 (VRRP is 112, the director's discovery 253). */
  protocol: number;
  /** Interface to bind to (SO_BINDTODEVICE); sends leave and receives arrive only there. */
  interface: string;
  /** Unicast and broadcast TTL / hop limit (IP_TTL, IPV6_UNICAST_HOPS), 1..255. Kernel default if unset. */
  ttl?: number;
  /** Multicast TTL / hop limit (IP_MULTICAST_TTL, IPV6_MULTICAST_HOPS), 1..255. Defaults to `ttl`, else 1. */
  multicastTtl?: number;
  /** Whether this host's own multicast is looped back to it (IP_MULTICAST_LOOP). Default false. */
  multicastLoop?: boolean;
  /** Allow sending to broadcast addresses (SO_BROADCAST); IPv4 only. Default false. */
  broadcast?: boolean;
  /** DSCP/ECN byte of sent packets (IP_TOS / IPV6_TCLASS), 0..255; e.g. 0xc0 (CS6) as keepalived sends VRRP. */
  tos?: number;
  /** Source address of sent packets (applied per datagram with IP_PKTINFO / IPV6_PKTINFO). Default: the kernel's choice. */
  source?: string;
  /**
   * IPv6 only: byte offset of a 16-bit checksum in the payload that the kernel computes on send
   * (over the pseudo-header) and verifies on receive (IPV6_CHECKSUM). VRRPv3 uses 6.
   */
  checksumOffset?: number;
}

/** A received IP packet. The IP header is NOT included in `payload`: its fields are surfaced here. */
export interface IpPacket {
  /** Source address (dotted quad or RFC 5952 text). */
  source: string;
  /** Destination address the packet was sent to (unicast, multicast or broadcast). */
  destination: string;
  /** Index of the interface the packet arrived on. */
  ifindex: number;
  /** TTL (IPv4) or hop limit (IPv6) as received. */
  ttl: number;
  /** The IP payload (for IPv4 the header is parsed and stripped). */
  payload: Buffer;
  /**
   * When the kernel received the packet, in ms since the epoch (SO_TIMESTAMPNS; delivery
   * time on the in-memory twin). Protocol timers use it to measure from the real arrival,
   * not from when the event loop got to the packet.
   */
  receivedAt: number;
}

/** A name and index pair identifying an interface. */
export interface InterfaceRef {
  /** Interface name, e.g. `eth0`. */
  name: string;
  /** Interface index. */
  index: number;
}

/**
 * A stream of received items: a listener API and async iteration (which ends when the socket closes).
 * An error raised while receiving goes to the error listeners and to pending iterators; with neither,
 * it is thrown as an uncaught exception (like an EventEmitter's `error`).
 */
export interface Receiver<T> extends AsyncIterable<T> {
  /** Calls `listener` for every item until the returned function is called. */
  onPacket(listener: (item: T) => void): () => void;
  /** Calls `listener` for receive errors until the returned function is called. */
  onError(listener: (error: NetioError) => void): () => void;
}

/**
 * A raw IP socket for one protocol on one interface.
 *
 * `send` resolves once the kernel accepted the datagram; when the socket buffer is full it waits
 * (in order) instead of dropping, and it rejects with a typed error on failure or close.
 */
export interface IpSocket extends Receiver<IpPacket> {
  /** The address family, `'ipv4'` or `'ipv6'`. */
  readonly family: IpFamily;
  /** IP protocol number. */
  readonly protocol: number;
  /** The bound interface. */
  readonly interface: InterfaceRef;
  /** True once {@link IpSocket.close} was called. */
  readonly closed: boolean;
  /** Joins a multicast group on the bound interface (IP_ADD_MEMBERSHIP / IPV6_JOIN_GROUP). */
  joinGroup(group: string): void;
  /** Leaves a multicast group joined with {@link IpSocket.joinGroup}. */
  leaveGroup(group: string): void;
  /** Sends `payload` (without IP header) to a unicast, multicast or broadcast `destination`. */
  send(payload: Uint8Array, destination: string): Promise<void>;
  /** Closes the socket; pending sends reject with `NETIO_CLOSED`, iterators end. Idempotent. */
  close(): void;
}

/** Options of {@link NetworkStack.openPacketSocket}. */
export interface PacketSocketOptions {
  /** Interface to send on and receive from. */
  interface: string;
  /** EtherType to receive, e.g. 0x0806 (ARP), 0x86dd (IPv6, for NDP); 0x0003 (ETH_P_ALL) for every frame. */
  etherType: number;
  /** Also receive frames this host sends (packet type `outgoing`). Default false. */
  includeOutgoing?: boolean;
}

/** Link-layer packet type of a received frame (from the kernel's `sll_pkttype`). */
export type PacketType = 'host' | 'broadcast' | 'multicast' | 'otherhost' | 'outgoing';

/** A received Ethernet frame. */
export interface Frame {
  /** Index of the interface the frame was seen on. */
  ifindex: number;
  /** Destination MAC, `aa:bb:cc:dd:ee:ff`. */
  destination: string;
  /** Source MAC, `aa:bb:cc:dd:ee:ff`. */
  source: string;
  /** EtherType field of the frame (bytes 12-13). */
  etherType: number;
  /** Whether the frame was for this host, broadcast, multicast, for another host, or sent by this host. */
  packetType: PacketType;
  /** The whole frame including the 14-byte Ethernet header (no FCS). */
  frame: Buffer;
}

/** An AF_PACKET socket on one interface, receiving one EtherType. */
export interface PacketSocket extends Receiver<Frame> {
  /** The bound interface. */
  readonly interface: InterfaceRef;
  /** The EtherType received. */
  readonly etherType: number;
  /** True once {@link PacketSocket.close} was called. */
  readonly closed: boolean;
  /** Sends a complete Ethernet frame (header included, at least 14 bytes) on the interface. */
  send(frame: Uint8Array): Promise<void>;
  /** Closes the socket; pending sends reject with `NETIO_CLOSED`, iterators end. Idempotent. */
  close(): void;
}

/** An address configured on an interface. */
export interface InterfaceAddress {
  /** The address, dotted quad or RFC 5952 text. */
  address: string;
  /** Prefix length, e.g. 24. */
  prefixLength: number;
}

/** Facts about one network interface. */
export interface InterfaceInfo {
  /** Interface name. */
  name: string;
  /** Interface index. */
  index: number;
  /** MAC address `aa:bb:cc:dd:ee:ff` (all zero for loopback and interfaces without one). */
  mac: string;
  /** MTU in bytes. */
  mtu: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Operationally up: carrier present (IFF_RUNNING). */
  running: boolean;
  /** IPv4 addresses. */
  ipv4: InterfaceAddress[];
  /** IPv6 addresses (link-local included). */
  ipv6: InterfaceAddress[];
}

/** A change seen by {@link NetworkStack.watchInterfaces}. */
export interface InterfaceEvent {
  /** What happened to the interface. */
  type: 'added' | 'changed' | 'removed';
  /** The interface's facts after the change (before it, for `removed`). */
  interface: InterfaceInfo;
  /** The facts before the change (`changed` only). */
  previous?: InterfaceInfo;
}

/** Options of {@link NetworkStack.watchInterfaces}. */
export interface WatchOptions {
  /** Poll period when netlink events are unavailable (no addon), in ms. Default 1000. */
  pollIntervalMs?: number;
  /** Called when refreshing the interface list fails. Default: ignored until the next change. */
  onError?: (error: NetioError) => void;
}

/** A running interface watch. */
export interface InterfaceWatcher {
  /** Resolves once the baseline snapshot is taken; changes after that are reported. */
  readonly ready: Promise<void>;
  /** How changes are learned: netlink events, or polling. */
  readonly mode: 'netlink' | 'poll' | 'memory';
  /** Stops watching. Idempotent. */
  close(): void;
}

/**
 * A host's network stack as protocol drivers see it. {@link linuxStack} is the real one;
 * {@link MemoryNetwork} hosts implement it in memory for tests.
 */
export interface NetworkStack {
  /** Opens a raw IP socket; see {@link IpSocketOptions}. */
  openIpSocket(options: IpSocketOptions): Promise<IpSocket>;
  /** Opens an AF_PACKET socket; see {@link PacketSocketOptions}. */
  openPacketSocket(options: PacketSocketOptions): Promise<PacketSocket>;
  /** Lists all interfaces. */
  interfaces(): Promise<InterfaceInfo[]>;
  /** Facts about one interface; rejects with `NETIO_UNKNOWN_INTERFACE` if absent. */
  interfaceInfo(name: string): Promise<InterfaceInfo>;
  /** Reports interface changes (links, addresses, MTU, state) to `listener`. */
  watchInterfaces(listener: (event: InterfaceEvent) => void, options?: WatchOptions): InterfaceWatcher;
  /**
   * Adds an address in CIDR form (`192.168.77.74/24`, `fd77::74/64`) to an interface (Linux:
   * one rtnetlink request, no `ip` process; IPv6 without duplicate address detection). Adding
   * one that is present is not an error. Needs CAP_NET_ADMIN.
   */
  addAddress(ifname: string, cidr: string): Promise<void>;
  /** Removes an address in CIDR form; removing one that is absent is not an error. Needs CAP_NET_ADMIN. */
  removeAddress(ifname: string, cidr: string): Promise<void>;
}

// How protocol-253 messages travel: raw IP sockets on the LAN (root), or UDP between loopback addresses
// (no root: the local demo and tests). Both deliver raw message bytes with the sender's address.
import { createSocket, type Socket } from 'node:dgram';
import { type IpFamily, ipFamily } from '@proxyha/common';
import { type IpSocket, linuxStack, type NetworkStack } from '@proxyha/netio';
import { LB_IP_PROTOCOL } from '../codec/types';

/** Where a received message came from. */
export interface LbReceiveMeta {
  /** Sender address. */
  readonly source: string;
  /** Destination the message was sent to (unicast, broadcast or multicast). */
  readonly destination: string;
}

/**
 * A message carrier. The director broadcasts announcements (`broadcast`); scanning nodes unicast their
 * reports to the director (`send`).
 */
export interface LbTransport {
  /** Address family of the carrier. */
  readonly family: IpFamily;
  /** Starts receiving; `onMessage` gets every message's bytes. */
  open(onMessage: (bytes: Uint8Array, meta: LbReceiveMeta) => void): Promise<void>;
  /** Sends to every node of the LAN (IPv4 255.255.255.255, IPv6 ff02::1; loopback: every peer). */
  broadcast(bytes: Uint8Array): Promise<void>;
  /** Sends to one node. */
  send(bytes: Uint8Array, destination: string): Promise<void>;
  /** Stops receiving and releases the socket. Idempotent. */
  close(): Promise<void>;
}

/** The IPv4 destination of announcements, as the seed sends them. */
export const LB_BROADCAST_IPV4 = '255.255.255.255';
/** The IPv6 destination of announcements (all nodes, link-local scope; IPv6 has no broadcast). */
export const LB_BROADCAST_IPV6 = 'ff02::1';

/** Options of {@link RawLbTransport}. */
export interface RawLbTransportOptions {
  /** Interface to send and receive on (SO_BINDTODEVICE). */
  readonly interface: string;
  /** This node's management address: the source of everything it sends; its family is the transport's. */
  readonly source: string;
  /** The network stack (default Linux through `@proxyha/netio`; a `MemoryNetwork` host in tests). */
  readonly stack?: NetworkStack;
}

/**
 * IP protocol 253 over a raw socket bound to the interface, TTL 255, broadcast allowed. Needs CAP_NET_RAW.
 * Our own broadcasts come back to us; the node ignores messages carrying its own node id.
 */
export class RawLbTransport implements LbTransport {
  /** Address family (from the source address). */
  readonly family: IpFamily;
  readonly #o: RawLbTransportOptions;
  #socket: IpSocket | undefined;

  /** @param options - interface, source address, stack */
  constructor(options: RawLbTransportOptions) {
    const family = ipFamily(options.source);
    if (!family) throw new TypeError(`raw transport: '${options.source}' is not an IP address`);
    this.family = family;
    this.#o = options;
  }

  /** Opens the socket and starts receiving. */
  async open(onMessage: (bytes: Uint8Array, meta: LbReceiveMeta) => void): Promise<void> {
    const stack = this.#o.stack ?? linuxStack;
    const socket = await stack.openIpSocket({
      family: this.family,
      protocol: LB_IP_PROTOCOL,
      interface: this.#o.interface,
      ttl: 255,
      multicastTtl: 255,
      multicastLoop: false,
      broadcast: this.family === 'ipv4',
      source: this.#o.source,
    });
    socket.onPacket((p) => onMessage(p.payload, { source: p.source, destination: p.destination }));
    // a receive error (ENOBUFS, ...) loses one message, which the next interval repeats
    socket.onError(() => {});
    this.#socket = socket;
  }

  /** Broadcasts (IPv4) or sends to all nodes (IPv6). */
  broadcast(bytes: Uint8Array): Promise<void> {
    return this.send(bytes, this.family === 'ipv4' ? LB_BROADCAST_IPV4 : LB_BROADCAST_IPV6);
  }

  /** Sends to one address. */
  async send(bytes: Uint8Array, destination: string): Promise<void> {
    if (!this.#socket) throw new Error('raw transport is not open');
    await this.#socket.send(bytes, destination);
  }

  /** Closes the socket. */
  async close(): Promise<void> {
    this.#socket?.close();
    this.#socket = undefined;
  }
}

/** Options of {@link LoopbackLbTransport}. */
export interface LoopbackLbTransportOptions {
  /** This node's loopback address (127.0.0.11, ...): it binds there. */
  readonly address: string;
  /** The other nodes' addresses: a broadcast is a send to each. */
  readonly peers: readonly string[];
  /** UDP port every node uses (default 5253). */
  readonly port?: number;
}

/**
 * The messages over UDP between nodes on distinct loopback addresses, to run real daemons without root
 * (the local demo). The message bytes are the same as on the wire; only the carrier differs.
 */
export class LoopbackLbTransport implements LbTransport {
  /** Address family of the node's address. */
  readonly family: IpFamily;
  readonly #o: LoopbackLbTransportOptions;
  #socket: Socket | undefined;

  /** @param options - address, peers, port */
  constructor(options: LoopbackLbTransportOptions) {
    const family = ipFamily(options.address);
    if (!family) throw new TypeError(`loopback transport: '${options.address}' is not an IP address`);
    this.family = family;
    this.#o = options;
  }

  /** Binds the UDP socket to the node's address and starts receiving. */
  async open(onMessage: (bytes: Uint8Array, meta: LbReceiveMeta) => void): Promise<void> {
    const socket = createSocket({ type: this.family === 'ipv4' ? 'udp4' : 'udp6' });
    socket.on('message', (msg, rinfo) =>
      onMessage(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), {
        source: rinfo.address,
        destination: this.#o.address,
      }),
    );
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.#o.port ?? 5253, this.#o.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // a send to a stopped peer is reported asynchronously; on a wire the message would just be lost
    socket.on('error', () => {});
    this.#socket = socket;
  }

  /** Sends to every peer. */
  async broadcast(bytes: Uint8Array): Promise<void> {
    await Promise.all(this.#o.peers.map((p) => this.send(bytes, p)));
  }

  /** Sends to one peer (never rejects for a peer that is down). */
  send(bytes: Uint8Array, destination: string): Promise<void> {
    const socket = this.#socket;
    if (!socket) return Promise.reject(new Error('loopback transport is not open'));
    return new Promise((resolve) => socket.send(bytes, this.#o.port ?? 5253, destination, () => resolve()));
  }

  /** Closes the socket. */
  async close(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) await new Promise<void>((r) => socket.close(() => r()));
  }
}

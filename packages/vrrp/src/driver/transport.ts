import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';

/** How a received VRRP message arrived. */
export interface AdvertMeta {
  /** IP source address. */
  readonly source: string;
  /** IP destination address (the multicast group, or our own address for unicast). */
  readonly destination: string;
  /** IPv4 TTL / IPv6 hop limit, if the transport knows it. */
  readonly ttl?: number;
  /** Index of the interface the packet arrived on, if known. */
  readonly ifindex?: number;
  /** When the kernel received it, in ms since the epoch, if known (dates the advert event). */
  readonly receivedAt?: number;
}

/**
 * Carries VRRP messages (the bytes after the IP header) for one interface and address
 * family. The router driver encodes and decodes; the transport only moves bytes.
 * Implementations: a raw IP protocol 112 socket (`rawTransport`, needs CAP_NET_RAW), UDP
 * on loopback ({@link LoopbackTransport}, no privileges) and in-memory twins in tests.
 */
export interface AdvertTransport {
  /** Address family of the messages this transport carries. */
  readonly family: 'ipv4' | 'ipv6';
  /** Starts receiving; `onMessage` gets every message with its metadata. */
  open(onMessage: (payload: Uint8Array, meta: AdvertMeta) => void): Promise<void>;
  /** Sends one message to `destination` (multicast group or a unicast peer). */
  send(payload: Uint8Array, destination: string): Promise<void>;
  /** Stops receiving and releases the socket. */
  close(): Promise<void>;
}

/** Options of {@link LoopbackTransport}. */
export interface LoopbackTransportOptions {
  /** This router's loopback address, e.g. 127.0.0.11: it binds there. */
  readonly address: string;
  /** UDP port every router of the demo cluster uses (default 5112). */
  readonly port?: number;
}

/**
 * VRRP messages over UDP between routers on distinct loopback addresses
 * (127.0.0.11, 127.0.0.12, ...), for running the real daemon and state machine without
 * root. Routers must list each other as unicast peers; the multicast group is mapped
 * to "every peer" by the router driver. The wire hop is simulated: TTL is reported as
 * 255 because UDP on loopback is only the carrier of the VRRP message.
 */
export class LoopbackTransport implements AdvertTransport {
  readonly family: 'ipv4' | 'ipv6';
  readonly #address: string;
  readonly #port: number;
  #socket: Socket | undefined;

  constructor(opts: LoopbackTransportOptions) {
    const fam = isIP(opts.address);
    if (fam === 0) throw new TypeError(`loopback transport: '${opts.address}' is not an IP address`);
    this.family = fam === 4 ? 'ipv4' : 'ipv6';
    this.#address = opts.address;
    this.#port = opts.port ?? 5112;
  }

  async open(onMessage: (payload: Uint8Array, meta: AdvertMeta) => void): Promise<void> {
    const socket = createSocket({ type: this.family === 'ipv4' ? 'udp4' : 'udp6', reuseAddr: false });
    socket.on('message', (msg, rinfo) => {
      onMessage(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), {
        source: rinfo.address,
        destination: this.#address,
        ttl: 255,
      });
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.#port, this.#address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', () => {
      /* a send to a stopped peer's port is reported asynchronously: nothing to do */
    });
    this.#socket = socket;
  }

  send(payload: Uint8Array, destination: string): Promise<void> {
    const socket = this.#socket;
    if (!socket) return Promise.reject(new Error('loopback transport is not open'));
    return new Promise((resolve) => {
      // A peer that is down makes the kernel report ECONNREFUSED; on a real wire the
      // advert would just be lost, so it is not an error here either.
      socket.send(payload, this.#port, destination, () => resolve());
    });
  }

  async close(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) await new Promise<void>((r) => socket.close(() => r()));
  }
}

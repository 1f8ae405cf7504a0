import { createSocket, type Socket } from 'node:dgram';
import { type IpFamily, ipFamily } from '@proxyha/common';
import type { AdvertMeta, AdvertTransport } from '@proxyha/vrrp';

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
  /** Address family of the router's loopback address. */
  readonly family: IpFamily;
  readonly #address: string;
  readonly #port: number;
  #socket: Socket | undefined;

  /** @param opts - this router's address and the cluster's port */
  constructor(opts: LoopbackTransportOptions) {
    const family = ipFamily(opts.address);
    if (family === undefined)
      throw new TypeError(`loopback transport: '${opts.address}' is not an IP address`);
    this.family = family;
    this.#address = opts.address;
    this.#port = opts.port ?? 5112;
  }

  /** Binds the UDP socket to the router's address and starts receiving. */
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

  /** Sends one message to a peer's address (never rejects for a peer that is down). */
  send(payload: Uint8Array, destination: string): Promise<void> {
    const socket = this.#socket;
    if (!socket) return Promise.reject(new Error('loopback transport is not open'));
    return new Promise((resolve) => {
      // A peer that is down makes the kernel report ECONNREFUSED; on a real wire the
      // advert would just be lost, so it is not an error here either.
      socket.send(payload, this.#port, destination, () => resolve());
    });
  }

  /** Closes the socket. */
  async close(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) await new Promise<void>((r) => socket.close(() => r()));
  }
}

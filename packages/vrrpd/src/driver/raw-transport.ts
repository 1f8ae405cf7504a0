import { type IpSocket, linuxStack, type NetworkStack } from '@proxyha/netio';
import {
  VRRP_MULTICAST_IPV4,
  VRRP_MULTICAST_IPV6,
  VRRP_PROTOCOL,
  VRRP_TOS_CS6,
  VRRP_TTL,
} from '../codec/index';
import type { AdvertMeta, AdvertTransport } from './transport';

/** Options of {@link RawTransport}. */
export interface RawTransportOptions {
  /** Interface to send and receive on (SO_BINDTODEVICE). */
  readonly interface: string;
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** Source address of our adverts (the interface's primary / link-local address). */
  readonly source: string;
  /** Join the VRRP multicast group (false when only unicast peers are used). Default true. */
  readonly multicast?: boolean;
  /** The network stack (default: Linux through `@proxyha/netio`; a `MemoryNetwork` host in tests). */
  readonly stack?: NetworkStack;
}

/**
 * VRRP over a raw IP protocol 112 socket, as keepalived and FRR send it: TTL / hop
 * limit 255 (unicast and multicast), DSCP CS6, multicast loopback off, bound to the
 * interface, joined to 224.0.0.18 / ff02::12. Needs CAP_NET_RAW.
 */
export class RawTransport implements AdvertTransport {
  readonly family: 'ipv4' | 'ipv6';
  readonly #o: RawTransportOptions;
  #socket: IpSocket | undefined;

  constructor(options: RawTransportOptions) {
    this.#o = options;
    this.family = options.family === 4 ? 'ipv4' : 'ipv6';
  }

  async open(onMessage: (payload: Uint8Array, meta: AdvertMeta) => void): Promise<void> {
    const stack = this.#o.stack ?? linuxStack;
    const socket = await stack.openIpSocket({
      family: this.#o.family,
      protocol: VRRP_PROTOCOL,
      interface: this.#o.interface,
      ttl: VRRP_TTL,
      multicastTtl: VRRP_TTL,
      multicastLoop: false,
      tos: VRRP_TOS_CS6,
      source: this.#o.source,
    });
    if (this.#o.multicast ?? true)
      socket.joinGroup(this.#o.family === 4 ? VRRP_MULTICAST_IPV4 : VRRP_MULTICAST_IPV6);
    socket.onPacket((p) =>
      onMessage(p.payload, {
        source: p.source,
        destination: p.destination,
        ttl: p.ttl,
        ifindex: p.ifindex,
        receivedAt: p.receivedAt,
      }),
    );
    this.#socket = socket;
  }

  async send(payload: Uint8Array, destination: string): Promise<void> {
    if (!this.#socket) throw new Error('raw transport is not open');
    await this.#socket.send(payload, destination);
  }

  async close(): Promise<void> {
    this.#socket?.close();
    this.#socket = undefined;
  }
}

import type { IpFamily } from '@proxyha/common';
import { type IpSocket, linuxStack, type NetworkStack } from '@proxyha/netio';
import {
  type AdvertMeta,
  type AdvertTransport,
  VRRP_MULTICAST_IPV4,
  VRRP_MULTICAST_IPV6,
  VRRP_PROTOCOL,
  VRRP_TOS_CS6,
  VRRP_TTL,
} from '@proxyha/vrrp';

/** Options of {@link RawTransport}. */
export interface RawTransportOptions {
  /** Interface to send and receive on (SO_BINDTODEVICE). */
  readonly interface: string;
  /** The address family. */
  readonly family: IpFamily;
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
  /** The address family. */
  readonly family: IpFamily;
  readonly #o: RawTransportOptions;
  #socket: IpSocket | undefined;

  /** @param options - interface, family, source address, multicast, stack */
  constructor(options: RawTransportOptions) {
    this.#o = options;
    this.family = options.family;
  }

  /** Opens the socket (joining the group unless unicast only) and starts receiving. */
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
      socket.joinGroup(this.#o.family === 'ipv4' ? VRRP_MULTICAST_IPV4 : VRRP_MULTICAST_IPV6);
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

  /** Sends one message to the group or a unicast peer. */
  async send(payload: Uint8Array, destination: string): Promise<void> {
    if (!this.#socket) throw new Error('raw transport is not open');
    await this.#socket.send(payload, destination);
  }

  /** Closes the socket. */
  async close(): Promise<void> {
    this.#socket?.close();
    this.#socket = undefined;
  }
}

import { type IpFamily, ipFamily } from '@proxyha/common';

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
 * Implementations: `@proxyha/vrrpd`'s raw IP protocol 112 socket (`RawTransport`, needs CAP_NET_RAW)
 * and UDP on loopback (`LoopbackTransport`, no privileges), and the in-memory {@link MemoryAdvertBus}.
 */
export interface AdvertTransport {
  /** Address family of the messages this transport carries. */
  readonly family: IpFamily;
  /** Starts receiving; `onMessage` gets every message with its metadata. */
  open(onMessage: (payload: Uint8Array, meta: AdvertMeta) => void): Promise<void>;
  /** Sends one message to `destination` (multicast group or a unicast peer). */
  send(payload: Uint8Array, destination: string): Promise<void>;
  /** Stops receiving and releases the socket. */
  close(): Promise<void>;
}

/**
 * An in-memory segment for {@link AdvertTransport}s, the router driver's twin of a LAN: a message sent to
 * the VRRP multicast group reaches every other open transport of the family, one sent to an address
 * reaches the transport bound to it. Delivery is asynchronous (a microtask after `send`), with TTL 255 and
 * `receivedAt` from the bus's clock; transports can be cut off (a partition or a dead link) and brought
 * back.
 *
 * @example
 * ```ts
 * const bus = new MemoryAdvertBus();
 * const a = bus.transport('192.168.77.11');
 * const b = bus.transport('192.168.77.12');
 * ```
 */
export class MemoryAdvertBus {
  readonly #members = new Map<string, MemoryMember>();
  readonly #wallTime: () => number;
  /** Messages delivered and messages that went nowhere (cut off, or no such address). */
  readonly stats: MemoryAdvertBusStats = { delivered: 0, dropped: 0 };

  /** @param clock - stamps `receivedAt` (default: the system wall clock) */
  constructor(clock: { wallTime(): number } = { wallTime: () => Date.now() }) {
    this.#wallTime = () => clock.wallTime();
  }

  /**
   * A transport bound to `address` (its family is the address's).
   *
   * @param address - the router's primary address on this segment
   */
  transport(address: string): AdvertTransport {
    const family = ipFamily(address);
    if (family === undefined) throw new TypeError(`memory advert bus: '${address}' is not an IP address`);
    const member: MemoryMember = { address, family, connected: true, onMessage: undefined };
    const bus = this;
    return {
      family,
      async open(onMessage) {
        member.onMessage = onMessage;
        bus.#members.set(address, member);
      },
      async send(payload, destination) {
        bus.#deliver(member, Uint8Array.from(payload), destination);
      },
      async close() {
        member.onMessage = undefined;
        if (bus.#members.get(address) === member) bus.#members.delete(address);
      },
    };
  }

  /** Cuts the transport of `address` off the segment (`false`) or reconnects it (`true`). */
  setConnected(address: string, connected: boolean): void {
    const m = this.#members.get(address);
    if (m) m.connected = connected;
  }

  #deliver(from: MemoryMember, payload: Uint8Array, destination: string): void {
    const group = destination === '224.0.0.18' || destination.toLowerCase() === 'ff02::12';
    for (const to of this.#members.values()) {
      if (to === from || to.family !== from.family) continue;
      if (!group && to.address !== destination) continue;
      if (!from.connected || !to.connected || !to.onMessage) {
        this.stats.dropped++;
        continue;
      }
      const receive = to.onMessage;
      const receivedAt = this.#wallTime();
      this.stats.delivered++;
      queueMicrotask(() =>
        receive(Uint8Array.from(payload), { source: from.address, destination, ttl: 255, receivedAt }),
      );
    }
  }
}

/** Counters of a {@link MemoryAdvertBus}. */
export interface MemoryAdvertBusStats {
  /** Copies handed to a receiving transport. */
  delivered: number;
  /** Copies that went nowhere: a transport cut off, closed, or no transport at the address. */
  dropped: number;
}

interface MemoryMember {
  readonly address: string;
  readonly family: IpFamily;
  connected: boolean;
  onMessage: ((payload: Uint8Array, meta: AdvertMeta) => void) | undefined;
}

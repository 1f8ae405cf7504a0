// A FrameSender over AF_PACKET sockets. Typed structurally after @proxyha/netio's NetworkStack /
// PacketSocket, so that `new PacketSocketSender(linuxStack())` works without this package importing netio.

import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from '../codec/ethernet';
import { GarpError } from '../errors';
import type { FrameSender } from './announcer';

/** The part of `@proxyha/netio`'s `PacketSocket` this sender uses. */
export interface PacketSocketLike {
  /** Sends a complete Ethernet frame (header included) on the bound interface. */
  send(frame: Uint8Array): Promise<void>;
  /** Closes the socket. Idempotent. */
  close(): void;
  /** True once closed (by us or because the interface went away). */
  readonly closed: boolean;
}

/** The part of `@proxyha/netio`'s `NetworkStack` this sender uses. */
export interface PacketSocketOpener {
  /** Opens an AF_PACKET socket on `interface`, bound to `etherType`. */
  openPacketSocket(options: { interface: string; etherType: number }): Promise<PacketSocketLike>;
}

/**
 * {@link FrameSender} over AF_PACKET sockets from `@proxyha/netio` (pass its `linuxStack()`, or a
 * `MemoryNetwork` host in tests). Opens one socket per interface and EtherType on first use, bound to the
 * frame's own EtherType (ARP or IPv6), and reopens it if it was closed under it (interface recreated).
 */
export class PacketSocketSender implements FrameSender {
  readonly #opener: PacketSocketOpener;
  readonly #sockets = new Map<string, Promise<PacketSocketLike>>();
  #closed = false;

  /** @param opener - the network stack that opens packet sockets */
  constructor(opener: PacketSocketOpener) {
    this.#opener = opener;
  }

  /**
   * Sends the frame on `ifname`.
   *
   * @param ifname - interface name
   * @param frame - a whole Ethernet frame (without FCS)
   * @throws GarpError `GARP_CLOSED` after {@link PacketSocketSender.close}, `GARP_TRUNCATED` for a frame
   *   shorter than an Ethernet header; the stack's own errors (interface missing, permission) pass through
   */
  async sendFrame(ifname: string, frame: Uint8Array): Promise<void> {
    if (this.#closed)
      throw new GarpError('GARP_CLOSED', `cannot send on ${ifname}: the sender is closed`, {
        details: { ifname },
      });
    if (frame.length < 14)
      throw new GarpError('GARP_TRUNCATED', `frame: ${frame.length} bytes, an Ethernet header needs 14`, {
        details: { ifname, length: frame.length },
      });
    const etherType = ((frame[12] as number) << 8) | (frame[13] as number);
    await (await this.#socket(ifname, etherType)).send(frame);
  }

  /**
   * Opens the sockets for `ifname` and these EtherTypes now (default ARP and IPv6), so that
   * the first announcement after a failover does not wait for them. Failures are left for
   * `sendFrame` to report.
   *
   * @param ifname - interface name
   * @param etherTypes - the EtherTypes to open sockets for
   */
  async prepare(
    ifname: string,
    etherTypes: readonly number[] = [ETHERTYPE_ARP, ETHERTYPE_IPV6],
  ): Promise<void> {
    if (this.#closed) return;
    await Promise.all(etherTypes.map((t) => this.#socket(ifname, t).catch(() => undefined)));
  }

  async #socket(ifname: string, etherType: number): Promise<PacketSocketLike> {
    const key = `${ifname}\u0000${etherType}`;
    let p = this.#sockets.get(key);
    if (p) {
      const s = await p.catch(() => undefined);
      if (!s || s.closed) p = undefined;
    }
    if (!p) {
      p = this.#opener.openPacketSocket({ interface: ifname, etherType });
      this.#sockets.set(key, p);
      p.catch(() => this.#sockets.get(key) === p && this.#sockets.delete(key));
    }
    return p;
  }

  /** Closes every socket opened so far. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#sockets.values()];
    this.#sockets.clear();
    for (const p of all) (await p.catch(() => undefined))?.close();
  }
}

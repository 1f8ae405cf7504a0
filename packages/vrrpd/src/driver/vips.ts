import { createServer, type Server } from 'node:net';
import { parseCidr } from '@proxyha/common';
import { linuxStack, type NetworkStack } from '@proxyha/netio';
import type { VipManager, VipSpec } from '@proxyha/vrrp';

/**
 * VIP manager over a `@proxyha/netio` network stack: on Linux (`linuxStack`) each VIP is
 * one rtnetlink request (about 0.05 ms, where starting `ip addr add` costs 10 to 20 ms
 * of takeover time), IPv6 VIPs without duplicate address detection; a `MemoryNetwork`
 * host makes it a twin whose VIPs really receive in-memory traffic. A VIP without a
 * prefix length is a host address (/32, /128). Needs CAP_NET_ADMIN on Linux.
 */
export class StackVipManager implements VipManager {
  readonly #stack: Pick<NetworkStack, 'addAddress' | 'removeAddress'>;

  /** @param stack - where the addresses go: `linuxStack` (default), or a `MemoryNetwork` host in tests */
  constructor(stack: Pick<NetworkStack, 'addAddress' | 'removeAddress'> = linuxStack) {
    this.#stack = stack;
  }

  /** Adds the addresses to `ifname` (one rtnetlink request each); present ones are not an error. */
  async add(ifname: string, vips: readonly VipSpec[]): Promise<void> {
    for (const vip of vips) await this.#stack.addAddress(ifname, withPrefix(vip));
  }

  /** Removes the addresses from `ifname`; absent ones are not an error. */
  async remove(ifname: string, vips: readonly VipSpec[]): Promise<void> {
    for (const vip of vips) await this.#stack.removeAddress(ifname, withPrefix(vip));
  }
}

function withPrefix(vip: string): string {
  const cidr = parseCidr(vip);
  return cidr?.prefixLength === undefined ? `${vip}/${cidr?.family === 'ipv6' ? 128 : 32}` : vip;
}

/**
 * VIP manager of the unprivileged loopback demo. Every 127.0.0.0/8 address is already
 * local on Linux, so "holding" a VIP means listening on it: the owner accepts TCP
 * connections on `vip:port` and answers with one line naming itself, which shows who
 * holds the VIP (`socat - TCP:127.0.0.74:8074`). During a handover the old master may
 * still listen for a moment (on a LAN both would hold the address briefly); the new
 * one keeps trying every 25 ms until the port is free or the VIP is removed again.
 */
export class LoopbackOwnerVipManager implements VipManager {
  readonly #port: number;
  readonly #banner: string;
  readonly #held = new Map<string, { server?: Server; retry?: NodeJS.Timeout }>();

  /**
   * @param port - the TCP port the owner listens on
   * @param banner - the line the owner answers with, e.g. `router-a`
   */
  constructor(port: number, banner: string) {
    this.#port = port;
    this.#banner = banner;
  }

  /** Starts listening on each VIP (retrying while the previous owner still holds the port). */
  async add(_ifname: string, vips: readonly VipSpec[]): Promise<void> {
    for (const vip of vips) {
      const address = vip.split('/')[0] as string;
      if (this.#held.has(address)) continue;
      const entry: { server?: Server; retry?: NodeJS.Timeout } = {};
      this.#held.set(address, entry);
      const attempt = () => {
        if (this.#held.get(address) !== entry) return;
        const server = createServer((socket) => socket.end(`${this.#banner}\n`));
        server.once('error', () => {
          entry.retry = setTimeout(attempt, 25);
        });
        server.listen(this.#port, address, () => {
          if (this.#held.get(address) === entry) entry.server = server;
          else server.close();
        });
      };
      attempt();
    }
  }

  /** Stops listening on each VIP. */
  async remove(_ifname: string, vips: readonly VipSpec[]): Promise<void> {
    for (const vip of vips) {
      const address = vip.split('/')[0] as string;
      const entry = this.#held.get(address);
      if (!entry) continue;
      this.#held.delete(address);
      clearTimeout(entry.retry);
      const server = entry.server;
      if (server) await new Promise<void>((r) => server.close(() => r()));
    }
  }
}

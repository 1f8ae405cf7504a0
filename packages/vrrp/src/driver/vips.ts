/** A virtual address with its prefix length, as configured (`192.168.77.74/24`). */
export type VipSpec = string;

/**
 * Adds and removes the virtual addresses of an instance on its interface. The router
 * driver calls `add` on entering Master and `remove` on leaving it, and `remove` at
 * start-up to clear addresses a crashed run left behind.
 */
export interface VipManager {
  /** Adds the addresses to `ifname`; adding one that is present is not an error. */
  add(ifname: string, vips: readonly VipSpec[]): Promise<void>;
  /** Removes the addresses from `ifname`; removing one that is absent is not an error. */
  remove(ifname: string, vips: readonly VipSpec[]): Promise<void>;
}

/** In-memory {@link VipManager} for tests: records which addresses each interface holds. */
export class MemoryVipManager implements VipManager {
  /** Addresses per interface. */
  readonly held = new Map<string, Set<string>>();
  /** Every call in order, e.g. `add eth0 192.168.77.74/24`. */
  readonly calls: string[] = [];

  async add(ifname: string, vips: readonly VipSpec[]): Promise<void> {
    const set = this.held.get(ifname) ?? new Set<string>();
    for (const v of vips) set.add(v);
    this.held.set(ifname, set);
    this.calls.push(`add ${ifname} ${vips.join(' ')}`);
  }

  async remove(ifname: string, vips: readonly VipSpec[]): Promise<void> {
    const set = this.held.get(ifname);
    for (const v of vips) set?.delete(v);
    this.calls.push(`remove ${ifname} ${vips.join(' ')}`);
  }
}

/**
 * Enforces Accept_Mode false (RFC 5798 §6.4.3): while a non-owner Master holds VIPs it must not accept
 * packets addressed to them. The router blocks the addresses before it adds them and unblocks them after
 * it removes them. `@proxyha/vrrpd` has the nftables one (keepalived's `vrrp_strict`).
 */
export interface AcceptModeFilter {
  /** Drop local traffic to these addresses (no prefix). */
  block(addresses: readonly string[]): Promise<void>;
  /** Stop dropping it. */
  unblock(addresses: readonly string[]): Promise<void>;
  /** Remove everything the filter installed. */
  close(): Promise<void>;
}

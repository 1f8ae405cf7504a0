// The director role from VIP ownership: this node directs while one of its virtual IPs is on one of its
// interfaces (whoever put it there: keepalived, proxyha-vrrpd, an operator), followed through rtnetlink.
import { canonicalIp, parseCidr } from '@proxyha/common';
import { type InterfaceInfo, type InterfaceWatcher, linuxStack, type NetworkStack } from '@proxyha/netio';
import type { LbRole } from '../machine/types';

/** Options of {@link VipRoleWatcher}. */
export interface VipRoleWatcherOptions {
  /** The virtual addresses (with or without a prefix length). */
  readonly virtualIps: readonly string[];
  /** The network stack (default Linux; a `MemoryNetwork` host in tests). */
  readonly stack?: NetworkStack;
  /** Called with the role after every change (and once when the baseline is known). */
  readonly onRole: (role: LbRole, holding: readonly string[]) => void;
  /**
   * Interfaces whose addresses do not count (direct routing: every scanning node carries the VIPs on `lo`,
   * which must not make it the director).
   */
  readonly ignoreInterfaces?: readonly string[];
}

/** The VIPs of `vips` present on any of `interfaces`. */
export function heldVips(vips: readonly string[], interfaces: readonly InterfaceInfo[]): string[] {
  const present = new Set<string>();
  for (const i of interfaces)
    for (const a of [...i.ipv4, ...i.ipv6]) present.add(canonicalIp(a.address) ?? a.address);
  return vips.map((v) => canonicalIp(parseCidr(v)?.text ?? v) ?? v).filter((v) => present.has(v));
}

/**
 * Watches the host's addresses and reports `director` while at least one VIP is present, `scanner`
 * otherwise. Reports only changes after the first report.
 */
export class VipRoleWatcher {
  readonly #o: VipRoleWatcherOptions;
  #watcher: InterfaceWatcher | undefined;
  #role: LbRole | undefined;
  readonly #interfaces = new Map<string, InterfaceInfo>();

  /** @param options - VIPs, stack, listener */
  constructor(options: VipRoleWatcherOptions) {
    this.#o = options;
  }

  /** The role as last reported. */
  get role(): LbRole | undefined {
    return this.#role;
  }

  /** Takes the baseline (reporting the initial role) and starts watching. */
  async start(): Promise<LbRole> {
    const stack = this.#o.stack ?? linuxStack;
    this.#watcher = stack.watchInterfaces((event) => {
      if (event.type === 'removed') this.#interfaces.delete(event.interface.name);
      else this.#interfaces.set(event.interface.name, event.interface);
      this.#evaluate();
    });
    await this.#watcher.ready;
    for (const i of await stack.interfaces()) this.#interfaces.set(i.name, i);
    this.#evaluate();
    return this.#role as LbRole;
  }

  #evaluate(): void {
    const ignored = new Set(this.#o.ignoreInterfaces ?? []);
    const holding = heldVips(
      this.#o.virtualIps,
      [...this.#interfaces.values()].filter((i) => !ignored.has(i.name)),
    );
    const role: LbRole = holding.length > 0 ? 'director' : 'scanner';
    if (role === this.#role) return;
    this.#role = role;
    this.#o.onRole(role, holding);
  }

  /** Stops watching. */
  stop(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}

import { type CommandRunner, checkCommand, ipFamily, runCommand } from '@proxyha/common';
import type { AcceptModeFilter } from '@proxyha/vrrp';

const TABLE = 'proxyha_vrrp';

/**
 * {@link AcceptModeFilter} with nftables, as keepalived's `vrrp_strict` does with
 * iptables: table `inet proxyha_vrrp` holds two address sets on the input hook; IPv6
 * neighbour solicitations and advertisements to a VIP stay allowed so that neighbour
 * discovery keeps working. Needs CAP_NET_ADMIN.
 */
export class NftAcceptModeFilter implements AcceptModeFilter {
  readonly #run: (args: string[]) => Promise<string>;
  #ready: Promise<void> | undefined;

  /** @param run - runs `nft` (default: `@proxyha/common`'s runner; inject one to record or to run in a namespace) */
  constructor(run: CommandRunner = runCommand) {
    this.#run = (args) => checkCommand(run, 'nft', args);
  }

  async #ensureTable(): Promise<void> {
    // create-then-delete makes the first command succeed whether or not a table was left behind
    this.#ready ??= this.#run([
      `table inet ${TABLE} {}; delete table inet ${TABLE}; table inet ${TABLE} { ` +
        'set vips4 { type ipv4_addr; }; set vips6 { type ipv6_addr; }; ' +
        'chain accept_mode { type filter hook input priority filter; policy accept; ' +
        'ip daddr @vips4 drop; ' +
        'ip6 daddr @vips6 icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept; ' +
        'ip6 daddr @vips6 drop; }; }',
    ]).then(() => undefined);
    try {
      await this.#ready;
    } catch (e) {
      this.#ready = undefined;
      throw e;
    }
  }

  /** Drops local traffic to these addresses (no prefix), creating the table on first use. */
  async block(addresses: readonly string[]): Promise<void> {
    await this.#ensureTable();
    for (const a of addresses) await this.#run([`add element inet ${TABLE} ${setOf(a)} { ${a} }`]);
  }

  /** Stops dropping it; an address that is not blocked is not an error. */
  async unblock(addresses: readonly string[]): Promise<void> {
    if (!this.#ready) return;
    await this.#ensureTable();
    for (const a of addresses) {
      // deleting an element that is not there is not an error for us
      await this.#run([`delete element inet ${TABLE} ${setOf(a)} { ${a} }`]).catch(() => undefined);
    }
  }

  /** Removes the table. */
  async close(): Promise<void> {
    if (!this.#ready) return;
    this.#ready = undefined;
    await this.#run([`table inet ${TABLE} {}; delete table inet ${TABLE}`]);
  }
}

function setOf(address: string): 'vips4' | 'vips6' {
  return ipFamily(address) === 'ipv6' ? 'vips6' : 'vips4';
}

import { execFile } from 'node:child_process';

/** Runs a command and resolves with its stdout; rejects with stderr in the message. */
export type CommandRunner = (cmd: string, args: readonly string[]) => Promise<string>;

/** Runs commands with execFile (10 s timeout). */
const execRunner: CommandRunner = (cmd, args) =>
  new Promise((resolve, reject) => {
    execFile(cmd, args as string[], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });

/**
 * Enforces Accept_Mode false (RFC 5798 §6.4.3): while a non-owner Master holds VIPs it
 * must not accept packets addressed to them. The router blocks the addresses before it
 * adds them and unblocks them after it removes them.
 */
export interface AcceptModeFilter {
  /** Drop local traffic to these addresses (no prefix). */
  block(addresses: readonly string[]): Promise<void>;
  /** Stop dropping it. */
  unblock(addresses: readonly string[]): Promise<void>;
  /** Remove everything the filter installed. */
  close(): Promise<void>;
}

const TABLE = 'proxyha_vrrp';

/**
 * {@link AcceptModeFilter} with nftables, as keepalived's `vrrp_strict` does with
 * iptables: table `inet proxyha_vrrp` holds two address sets on the input hook; IPv6
 * neighbour solicitations and advertisements to a VIP stay allowed so that neighbour
 * discovery keeps working. Needs CAP_NET_ADMIN.
 */
export class NftAcceptModeFilter implements AcceptModeFilter {
  readonly #run: CommandRunner;
  #ready: Promise<void> | undefined;

  constructor(run: CommandRunner = execRunner) {
    this.#run = run;
  }

  async #ensureTable(): Promise<void> {
    // create-then-delete makes the first command succeed whether or not a table was left behind
    this.#ready ??= this.#run('nft', [
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

  async block(addresses: readonly string[]): Promise<void> {
    await this.#ensureTable();
    for (const a of addresses) await this.#run('nft', [`add element inet ${TABLE} ${setOf(a)} { ${a} }`]);
  }

  async unblock(addresses: readonly string[]): Promise<void> {
    if (!this.#ready) return;
    await this.#ensureTable();
    for (const a of addresses) {
      // deleting an element that is not there is not an error for us
      await this.#run('nft', [`delete element inet ${TABLE} ${setOf(a)} { ${a} }`]).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (!this.#ready) return;
    this.#ready = undefined;
    await this.#run('nft', [`table inet ${TABLE} {}; delete table inet ${TABLE}`]);
  }
}

function setOf(address: string): 'vips4' | 'vips6' {
  return address.includes(':') ? 'vips6' : 'vips4';
}

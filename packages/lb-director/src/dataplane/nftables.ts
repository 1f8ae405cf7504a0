// The nftables full-NAT data plane: the director DNATs new TCP connections to VIP:originalPort to the
// bucket owner's address:destinationPort (bucket = the kernel's jhash of the client address, kept in
// `ct mark`) and SNATs them to the VIP so that replies come back through it. One `inet` table of its own,
// replaced atomically with `nft -f -`; table deltas as delete + add of the changed elements in one
// transaction. See docs/nftables.md.
import { EventEmitter } from 'node:events';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import {
  type Clock,
  type CommandResult,
  type CommandRunner,
  type Logger,
  noopLogger,
  runCommand,
  systemClock,
} from '@proxyha/common';
import { LbError } from '../errors';
import {
  NFT_FAMILY,
  type NftCounters,
  type NftIpFamily,
  type NftSpec,
  type NftTableState,
  type NftTargets,
  nftCounters,
  nftDelta,
  nftFamilies,
  nftRemoveTable,
  nftRuleset,
  nftSpec,
  nftTableName,
  nftTargets,
  parseNftRules,
  parseNftTable,
} from './nft-ruleset';
import type { DataPlane, DataPlaneEvents, DataPlaneSettings, DataPlaneStats, DataPlaneUpdate } from './types';

/** What {@link NftablesDataPlane} does about IP forwarding, which full NAT needs. */
export type NftForwardingMode = 'set' | 'check';

/** Options of {@link NftablesDataPlane}. */
export interface NftablesDataPlaneOptions {
  /** The data plane settings (VIPs, redirects, persistence, management address). */
  readonly settings: DataPlaneSettings;
  /** The load-balancing group: names the table `proxyha_lb_<group>` unless `tableName` is given. */
  readonly group: number;
  /** The table's name (family `inet`); default `proxyha_lb_<group>`. */
  readonly tableName?: string;
  /** Runs `nft` and `sysctl` (inject one to run in a namespace or to record); default {@link runCommand}. */
  readonly run?: CommandRunner;
  /** The nft program; default `nft`. */
  readonly nft?: string;
  /** The sysctl program; default `sysctl`. */
  readonly sysctl?: string;
  /**
   * `set` (default): at start, turn on `net.ipv4.ip_forward` (and `net.ipv6.conf.all.forwarding` for
   * IPv6 VIPs) when off, and turn it off again at stop; `check`: only log an error when it is off.
   */
  readonly forwarding?: NftForwardingMode;
  /**
   * A file where the data plane records the forwarding sysctls it turned on, until it turns them off
   * again: a run that was killed (SIGKILL, a crash) leaves it, and the next run's `stop` (the daemon
   * calls it at start) or `stop` after directing turns them off. Default none (then a killed run leaves
   * forwarding on).
   */
  readonly stateFile?: string;
  /** Operator log. */
  readonly logger?: Logger;
  /** Times transactions for the log; default {@link systemClock}. */
  readonly clock?: Clock;
  /** Kill an `nft` run after this many ms; default 30 000 (a full load of 65521 buckets takes ~1 s). */
  readonly timeoutMs?: number;
}

/** The sysctl that enables forwarding for a family. */
export const NFT_FORWARDING_SYSCTL: Readonly<Record<NftIpFamily, string>> = Object.freeze({
  ipv4: 'net.ipv4.ip_forward',
  ipv6: 'net.ipv6.conf.all.forwarding',
});

/** How the last {@link NftablesDataPlane.apply} was installed. */
export interface NftApplyResult {
  /** `full`: the whole table was replaced; `delta`: changed elements only; `none`: nothing changed. */
  readonly mode: 'full' | 'delta' | 'none';
  /** Buckets whose target changed (summed over families). */
  readonly changedBuckets: number;
  /** Bytes of nft text sent. */
  readonly bytes: number;
  /** Milliseconds the nft run took (by the clock). */
  readonly ms: number;
}

/**
 * The nftables full-NAT {@link DataPlane} (`dataPlane: nftables`, needs root / CAP_NET_ADMIN): one `inet`
 * table `proxyha_lb_<group>` holding, per family and redirect, a map bucket -> `node . port`, the DNAT rule
 * that looks new connections up by `jhash` of their source address (the same bucket as `clientBucket`),
 * a TCP reset for buckets without owner, and the SNAT to the VIP. It touches nothing outside its table
 * (and the forwarding sysctls, see {@link NftablesDataPlaneOptions.forwarding}).
 */
export class NftablesDataPlane implements DataPlane {
  /** {@inheritDoc DataPlane.kind} */
  readonly kind = 'nftables' as const;
  /** The resolved settings. */
  readonly spec: NftSpec;
  readonly #run: CommandRunner;
  readonly #nft: string;
  readonly #sysctl: string;
  readonly #forwarding: NftForwardingMode;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #events = new EventEmitter();
  #queue: Promise<unknown> = Promise.resolve();
  #started = false;
  #installed: NftTargets | undefined;
  #forwardingSet: string[] = [];
  readonly #stateFile: string | undefined;
  #counterBase: NftCounters = { accepted: 0, failed: 0 };
  #counters: NftCounters = { accepted: 0, failed: 0 };
  #lastApply: NftApplyResult | undefined;

  /**
   * @param options - settings, group and runner
   * @throws LbError `LB_INVALID_ARGUMENT` for bad settings
   */
  constructor(options: NftablesDataPlaneOptions) {
    this.spec = nftSpec(options.settings, options.tableName ?? nftTableName(options.group));
    this.#run = options.run ?? runCommand;
    this.#nft = options.nft ?? 'nft';
    this.#sysctl = options.sysctl ?? 'sysctl';
    this.#forwarding = options.forwarding ?? 'set';
    this.#stateFile = options.stateFile;
    this.#log = options.logger ?? noopLogger;
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#events.on('error', () => {
      // an 'error' without listeners must not throw: apply() rejects as well
    });
  }

  /** The table's name. */
  get tableName(): string {
    return this.spec.tableName;
  }

  /** True between {@link start} and {@link stop}. */
  get started(): boolean {
    return this.#started;
  }

  /** What the maps hold now (undefined before the first table). */
  get installed(): NftTargets | undefined {
    return this.#installed;
  }

  /** How the last apply was installed. */
  get lastApply(): NftApplyResult | undefined {
    return this.#lastApply;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn, fn);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async #nftRun(operation: string, args: readonly string[], input?: string): Promise<CommandResult> {
    const r = await this.#run(this.#nft, args, {
      ...(input !== undefined ? { input } : {}),
      timeoutMs: this.#timeoutMs,
    });
    if (r.code === 127)
      throw new LbError('LB_NFT_UNAVAILABLE', `${operation}: cannot run ${this.#nft}: ${r.stderr.trim()}`, {
        details: { operation, program: this.#nft, stderr: r.stderr },
      });
    if (r.code !== 0) {
      const how = r.timedOut ? 'timed out' : r.code === null ? `killed by ${r.signal}` : `exit ${r.code}`;
      const why = r.stderr.trim().split('\n').slice(0, 6).join(' | ');
      throw new LbError('LB_NFT_FAILED', `${operation}: nft ${how}${why ? `: ${why}` : ''}`, {
        details: { operation, code: r.code, signal: r.signal, timedOut: r.timedOut, stderr: r.stderr },
      });
    }
    return r;
  }

  async #transaction(operation: string, text: string): Promise<number> {
    const t0 = this.#clock.now();
    await this.#nftRun(operation, ['-f', '-'], text);
    return this.#clock.now() - t0;
  }

  async #checkForwarding(): Promise<void> {
    for (const family of nftFamilies(this.spec)) {
      const key = NFT_FORWARDING_SYSCTL[family];
      const r = await this.#run(this.#sysctl, ['-n', key], { timeoutMs: 5_000 });
      const value = r.stdout.trim();
      if (r.code !== 0) {
        this.#log.error(`cannot read ${key}: ${r.stderr.trim()}`, { key });
        continue;
      }
      if (value !== '0') continue;
      if (this.#forwarding === 'check') {
        this.#log.error(`${key} is 0: the director cannot forward client connections to the nodes`, { key });
        continue;
      }
      const w = await this.#run(this.#sysctl, ['-qw', `${key}=1`], { timeoutMs: 5_000 });
      if (w.code !== 0) {
        this.#log.error(`cannot set ${key}=1: ${w.stderr.trim()}`, { key });
        continue;
      }
      this.#forwardingSet.push(key);
      await this.#writeState();
      this.#log.warn(`${key} was 0: set to 1 for the nftables data plane (reset at stop)`, { key });
    }
  }

  async #restoreForwarding(): Promise<void> {
    await this.#adoptState();
    const failed: string[] = [];
    for (const key of this.#forwardingSet.splice(0)) {
      const w = await this.#run(this.#sysctl, ['-qw', `${key}=0`], { timeoutMs: 5_000 });
      if (w.code !== 0) {
        failed.push(key);
        this.#log.error(`cannot reset ${key}=0: ${w.stderr.trim()}`, { key });
      } else this.#log.info(`${key} reset to 0`, { key });
    }
    this.#forwardingSet = failed;
    await this.#writeState();
  }

  /** Takes over the sysctls a run that did not stop recorded in the state file. */
  async #adoptState(): Promise<void> {
    if (this.#stateFile === undefined) return;
    let text: string;
    try {
      text = await readFile(this.#stateFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.#log.warn(`cannot read ${this.#stateFile}: ${(e as Error).message}`);
      return;
    }
    let keys: unknown;
    try {
      keys = (JSON.parse(text) as { forwardingSet?: unknown }).forwardingSet;
    } catch {
      keys = undefined;
    }
    const known = Object.values(NFT_FORWARDING_SYSCTL) as string[];
    if (!Array.isArray(keys) || !keys.every((k) => known.includes(k))) {
      this.#log.warn(`ignoring an unreadable ${this.#stateFile}`);
      return;
    }
    const adopted = (keys as string[]).filter((k) => !this.#forwardingSet.includes(k));
    if (adopted.length === 0) return;
    this.#forwardingSet.push(...adopted);
    this.#log.warn(
      `taking over what a previous run left (${this.#stateFile}): ${adopted.join(', ')} set to 1`,
    );
  }

  /** Records the sysctls this data plane turned on (removes the file when there are none). */
  async #writeState(): Promise<void> {
    if (this.#stateFile === undefined) return;
    try {
      if (this.#forwardingSet.length === 0) {
        await rm(this.#stateFile, { force: true });
        return;
      }
      const tmp = `${this.#stateFile}.tmp`;
      await writeFile(tmp, `${JSON.stringify({ forwardingSet: this.#forwardingSet })}\n`, { mode: 0o644 });
      await rename(tmp, this.#stateFile);
    } catch (e) {
      this.#log.warn(`cannot write ${this.#stateFile}: ${(e as Error).message}`);
    }
  }

  /**
   * Starts directing: checks (or sets) forwarding and replaces any table of this name, a stale one left
   * by a crash included, by one that resets new connections to the VIPs' redirect ports until the first
   * {@link apply}. Idempotent while started.
   *
   * @throws LbError `LB_NFT_UNAVAILABLE`, `LB_NFT_FAILED`
   */
  start(): Promise<void> {
    return this.#serial(async () => {
      if (this.#started) return;
      await this.#adoptState();
      await this.#checkForwarding();
      try {
        await this.#transaction('start', nftRuleset(this.spec));
      } catch (e) {
        await this.#restoreForwarding();
        throw e;
      }
      this.#installed = undefined;
      this.#counterBase = { accepted: 0, failed: 0 };
      this.#counters = { accepted: 0, failed: 0 };
      this.#started = true;
      this.#log.info(`nftables data plane started: table ${NFT_FAMILY} ${this.spec.tableName}`);
    });
  }

  /**
   * Installs a table. The same size and seed as installed: one transaction deleting and adding the
   * elements of the buckets whose target changed (diffed against what is installed, whatever
   * `changedBuckets` says); otherwise (first table, size or seed change, or a delta nft refused) the whole
   * table is replaced in one transaction. Failures reject, are emitted as `error`, and leave the previous
   * state.
   *
   * @param update - the table and its nodes
   * @throws LbError `LB_NFT_NOT_STARTED`, `LB_NFT_FAILED`, `LB_NFT_UNAVAILABLE`
   */
  apply(update: DataPlaneUpdate): Promise<void> {
    return this.#serial(async () => {
      try {
        await this.#apply(update);
      } catch (e) {
        this.#log.error(`nftables data plane: ${(e as Error).message}`);
        this.#events.emit('error', e as Error);
        throw e;
      }
    });
  }

  async #apply(update: DataPlaneUpdate): Promise<void> {
    if (!this.#started)
      throw new LbError('LB_NFT_NOT_STARTED', 'apply() before start() on the nftables data plane', {
        details: { table: this.spec.tableName },
      });
    const { targets, problems } = nftTargets(this.spec, update.table, update.nodes);
    for (const p of problems)
      this.#log.warn(
        `node ${p.nodeId}: ${p.reason} (${p.family}): its ${p.buckets} buckets reset new connections`,
        {
          ...p,
        },
      );
    const before = this.#installed;
    if (before !== undefined && before.size === targets.size && before.seed === targets.seed) {
      const text = nftDelta(this.spec, before, targets);
      const changed = countChanged(before, targets);
      if (text === '') {
        this.#lastApply = { mode: 'none', changedBuckets: 0, bytes: 0, ms: 0 };
        return;
      }
      try {
        const ms = await this.#transaction('apply delta', text);
        this.#installed = targets;
        this.#lastApply = { mode: 'delta', changedBuckets: changed, bytes: text.length, ms };
        this.#log.debug(`nftables: ${changed} buckets changed in ${ms.toFixed(1)} ms`);
        return;
      } catch (e) {
        if (!(e instanceof LbError) || e.code !== 'LB_NFT_FAILED') throw e;
        this.#log.warn(`nftables delta refused, loading the full table: ${e.message}`);
      }
    }
    await this.#refreshCountersQuiet();
    const text = nftRuleset(this.spec, targets);
    const ms = await this.#transaction('apply full table', text);
    this.#counterBase = this.#counters;
    this.#installed = targets;
    this.#lastApply = {
      mode: 'full',
      changedBuckets: before ? countChanged(before, targets) : targets.size,
      bytes: text.length,
      ms,
    };
    this.#log.info(`nftables: table of ${targets.size} buckets loaded in ${ms.toFixed(1)} ms`);
  }

  /**
   * Stops directing: deletes the table (whatever it holds) and resets forwarding if start set it.
   * Idempotent; safe when the table is already gone.
   *
   * @throws LbError `LB_NFT_UNAVAILABLE`, `LB_NFT_FAILED`
   */
  stop(): Promise<void> {
    return this.#serial(async () => {
      const wasStarted = this.#started;
      this.#started = false;
      this.#installed = undefined;
      try {
        await this.#transaction('stop', nftRemoveTable(this.spec.tableName));
      } finally {
        await this.#restoreForwarding();
      }
      if (wasStarted)
        this.#log.info(`nftables data plane stopped: table ${NFT_FAMILY} ${this.spec.tableName} removed`);
    });
  }

  /**
   * Reads the table back (`nft -j list table inet <name>`), validates it, and refreshes the counters of
   * {@link stats}.
   *
   * @throws LbError `LB_NFT_FAILED` (no such table included), `LB_NFT_BAD_STATE`
   */
  async readState(): Promise<NftTableState> {
    const r = await this.#nftRun('list table', ['-j', 'list', 'table', NFT_FAMILY, this.spec.tableName]);
    const state = parseNftTable(r.stdout, this.spec.tableName);
    this.#setCounters(nftCounters(state));
    return state;
  }

  /**
   * Refreshes the counters of {@link stats} from the prerouting chain (cheap: no map elements).
   *
   * @throws LbError `LB_NFT_FAILED`, `LB_NFT_BAD_STATE`
   */
  async refreshStats(): Promise<DataPlaneStats> {
    const r = await this.#nftRun('list chain', [
      '-j',
      'list',
      'chain',
      NFT_FAMILY,
      this.spec.tableName,
      'prerouting',
    ]);
    this.#setCounters(nftCounters({ rules: parseNftRules(r.stdout) }));
    return this.stats();
  }

  async #refreshCountersQuiet(): Promise<void> {
    try {
      await this.refreshStats();
    } catch {
      // counters are best effort
    }
  }

  #setCounters(c: NftCounters): void {
    this.#counters = {
      accepted: this.#counterBase.accepted + c.accepted,
      failed: this.#counterBase.failed + c.failed,
    };
  }

  /**
   * Counters as of the last {@link readState} / {@link refreshStats} (nft counts in the kernel; this
   * call does not block). `activeByNode` is empty: open connections live in conntrack, not in the table.
   */
  stats(): DataPlaneStats {
    return { activeByNode: new Map(), accepted: this.#counters.accepted, failed: this.#counters.failed };
  }

  /** {@inheritDoc DataPlane.on} */
  on<K extends keyof DataPlaneEvents>(event: K, listener: (...args: DataPlaneEvents[K]) => void): () => void {
    const l = listener as (...args: unknown[]) => void;
    this.#events.on(event, l);
    return () => {
      this.#events.off(event, l);
    };
  }
}

function countChanged(before: NftTargets, after: NftTargets): number {
  let n = 0;
  for (const family of ['ipv4', 'ipv6'] as const) {
    const a = before.byFamily[family];
    const b = after.byFamily[family];
    if (b === undefined) continue;
    for (let i = 0; i < after.size; i++) if ((a?.[i] ?? null) !== (b[i] ?? null)) n++;
  }
  return n;
}

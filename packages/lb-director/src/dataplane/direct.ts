// The direct-routing data plane (LVS-DR style): the director forwards each client's frames at layer 2 to
// the chosen node (nftables netdev ingress, see direct-rules.ts); nodes hold the VIP on `lo` and answer
// clients directly. DirectRoutingNodeSetup prepares the nodes.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import {
  type CommandResult,
  type CommandRunner,
  canonicalMac,
  type Logger,
  noopLogger,
  parseCidr,
  runCommand,
} from '@proxyha/common';
import { LbError } from '../errors';
import type { BucketTable } from '../scheduler/types';
import {
  DIRECT_DEFAULTS,
  DIRECT_TABLE,
  type DirectBucketMap,
  type DirectRulesInput,
  directBucketDelta,
  directBucketMap,
  directDeltaScript,
  directIpv6Vips,
  directRehashScript,
  directRuleset,
  parseDirectBuckets,
  parseDirectPinValues,
  validateDirectRedirects,
} from './direct-rules';
import type { DataPlane, DataPlaneEvents, DataPlaneSettings, DataPlaneStats, DataPlaneUpdate } from './types';

/**
 * Resolves the MAC address of a node's address on an interface; resolves undefined when it cannot.
 * Inject one in tests; the default is {@link neighbourMacResolver}.
 */
export type MacResolver = (address: string, iface: string) => Promise<string | undefined>;

/**
 * The default {@link MacResolver}: the neighbour table (`ip -j neigh show to ADDRESS dev IFACE`); when it
 * has no usable entry, one `ping` makes the kernel resolve it, then the table is read again.
 *
 * @param run - the command runner (default {@link runCommand})
 */
export function neighbourMacResolver(run: CommandRunner = runCommand): MacResolver {
  const lookup = async (address: string, iface: string): Promise<string | undefined> => {
    const r = await run('ip', ['-j', 'neigh', 'show', 'to', address, 'dev', iface]);
    if (r.code !== 0) return undefined;
    let entries: { dst?: string; lladdr?: string; state?: string[] }[];
    try {
      entries = JSON.parse(r.stdout || '[]');
    } catch {
      return undefined;
    }
    for (const e of entries) {
      const state = e.state ?? [];
      if (state.includes('FAILED') || state.includes('INCOMPLETE')) continue;
      const mac = canonicalMac(e.lladdr);
      if (mac && mac !== '00:00:00:00:00:00') return mac;
    }
    return undefined;
  };
  return async (address, iface) => {
    const known = await lookup(address, iface);
    if (known) return known;
    const v6 = parseCidr(address)?.family === 'ipv6';
    await run('ping', [...(v6 ? ['-6'] : []), '-c', '1', '-W', '1', '-I', iface, address], {
      timeoutMs: 3000,
    });
    return lookup(address, iface);
  };
}

/** Options of {@link DirectRoutingDataPlane}. */
export interface DirectRoutingOptions {
  /** Runs `nft` and `ip` (default {@link runCommand}); inject one for tests or namespaces. */
  readonly run?: CommandRunner;
  /** Resolves node MAC addresses (default {@link neighbourMacResolver} over `run`). */
  readonly resolveMac?: MacResolver;
  /** Logger (default none). */
  readonly logger?: Logger;
  /** nftables table name (default `proxyha_lb_direct`). */
  readonly tableName?: string;
  /** Idle timeout of a connection pin, ms (default 300 000; whole seconds). */
  readonly pinTimeoutMs?: number;
  /** How long a pin outlives its connection's FIN or RST, ms (default 60 000; whole seconds). */
  readonly closingTimeoutMs?: number;
  /** Most pins per address family (default 262 144). */
  readonly maxPins?: number;
  /** The director interface's MAC (default: read with `ip -j link show dev IFACE` at start). */
  readonly directorMac?: string;
}

/** What {@link DirectRoutingDataPlane.readBack} finds in the kernel. */
export interface DirectRoutingState {
  /** The bucket map: bucket -> MAC. */
  readonly buckets: DirectBucketMap;
  /** The MAC of every live connection pin (one entry per pinned client address and port). */
  readonly pins: readonly string[];
  /** The MAC of every closing pin (FIN or RST seen). */
  readonly closing: readonly string[];
  /** SYNs forwarded or delivered by the table (the `accepted` counter, retransmissions included). */
  readonly accepted: number;
  /** SYNs whose bucket had no owner (delivered locally; the `unowned` counter). */
  readonly unowned: number;
}

type Listener = (...args: never[]) => void;

function secondsOf(ms: number | undefined, fallback: number): number {
  return ms === undefined ? fallback : Math.max(1, Math.round(ms / 1000));
}

function commandError(what: string, file: string, args: readonly string[], r: CommandResult): LbError {
  const command = [file, ...args].join(' ');
  const how = r.timedOut ? 'timed out' : r.code === null ? `killed by ${r.signal}` : `exit ${r.code}`;
  const why = r.stderr.trim() || r.stdout.trim();
  return new LbError('LB_DR_COMMAND_FAILED', `${what}: ${command}: ${how}${why ? `: ${why}` : ''}`, {
    details: { command, code: r.code, stderr: r.stderr },
  });
}

async function check(
  run: CommandRunner,
  what: string,
  file: string,
  args: readonly string[],
  input?: string,
): Promise<string> {
  const r = await run(file, args, input === undefined ? {} : { input });
  if (r.code !== 0) throw commandError(what, file, args, r);
  return r.stdout;
}

/**
 * The direct-routing data plane (`dataPlane: direct`, root): one nftables table of its own, family
 * `netdev`, with an ingress chain on the director's interface. TCP packets to an IPv4 VIP on a redirect's
 * port are sent on at layer 2 to the node the bucket map (`jhash ip saddr mod SIZE seed SEED`, the
 * scheduler's `clientBucket`) names: destination MAC = the node's, source MAC = the director's,
 * out of the same interface. The packet keeps the client's source address and the VIP as destination;
 * the node (VIP on `lo`, see {@link DirectRoutingNodeSetup}) answers the client directly. The director's
 * own share is delivered to its local stack.
 *
 * Open connections keep their node through table changes: every connection (client address and port)
 * is pinned to its node in a dynamic map on its first packet; later packets follow the pin. SYNs never
 * follow a pin, so a node that the new table leaves out (drained, failed) gets no new connection from
 * the moment the table is applied, while its open connections complete; their pins end
 * `closingTimeoutMs` after FIN/RST or `pinTimeoutMs` after the last packet. Ports cannot be rewritten
 * ({@link validateDirectRedirects}). IPv6 VIPs are not forwarded (they stay with the director's stack).
 */
export class DirectRoutingDataPlane implements DataPlane {
  /** `direct`. */
  readonly kind = 'direct' as const;
  readonly #settings: DataPlaneSettings;
  readonly #run: CommandRunner;
  readonly #resolveMac: MacResolver;
  readonly #log: Logger;
  readonly #tableName: string;
  readonly #pinTimeoutS: number;
  readonly #closingTimeoutS: number;
  readonly #maxPins: number;
  readonly #ports: number[];
  readonly #listeners = new Map<keyof DataPlaneEvents, Set<Listener>>();
  #directorMac: string | undefined;
  #started = false;
  #installed: DirectBucketMap = new Map();
  #shape: Pick<BucketTable, 'size' | 'seed'> | undefined;
  /** MAC by node address (cache; a node seen again after being absent is resolved again). */
  #macs = new Map<string, string>();
  /** Node id by MAC (for the per-node statistics). */
  #nodeOfMac = new Map<string, string>();
  #stats: DataPlaneStats = { activeByNode: new Map(), accepted: 0, failed: 0 };
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * @param settings - VIPs, redirects (no port rewrite), persistence, interface
   * @param options - runner, MAC resolver, logger, table name, pin timeouts
   * @throws LbError `LB_DR_PORT_REWRITE` when a redirect rewrites its port; `LB_INVALID_ARGUMENT` when
   * no IPv4 VIP or no redirect is given
   */
  constructor(settings: DataPlaneSettings, options: DirectRoutingOptions = {}) {
    validateDirectRedirects(settings.redirects);
    this.#settings = settings;
    this.#run = options.run ?? runCommand;
    this.#resolveMac = options.resolveMac ?? neighbourMacResolver(this.#run);
    this.#log = options.logger ?? noopLogger;
    this.#tableName = options.tableName ?? DIRECT_TABLE;
    this.#pinTimeoutS = secondsOf(options.pinTimeoutMs, DIRECT_DEFAULTS.pinTimeoutS);
    this.#closingTimeoutS = secondsOf(options.closingTimeoutMs, DIRECT_DEFAULTS.closingTimeoutS);
    this.#maxPins = options.maxPins ?? DIRECT_DEFAULTS.maxPins;
    this.#ports = [...new Set(settings.redirects.map((r) => r.originalPort))];
    if (options.directorMac !== undefined)
      this.#directorMac = canonicalMac(options.directorMac) ?? options.directorMac;
    // validates the rest (VIPs, ports, names) now rather than at start
    directRuleset(this.#rulesInput({ size: 1, seed: 0 }, '02:00:00:00:00:00'));
  }

  /** The nftables table name. */
  get tableName(): string {
    return this.#tableName;
  }

  /** True between {@link start} and {@link stop}. */
  get started(): boolean {
    return this.#started;
  }

  #rulesInput(shape: Pick<BucketTable, 'size' | 'seed'>, mac: string): DirectRulesInput {
    return {
      table: this.#tableName,
      interface: this.#settings.interface,
      directorMac: mac,
      virtualIps: this.#settings.virtualIps,
      ports: this.#ports,
      size: shape.size,
      seed: shape.seed,
      persistence: this.#settings.persistence,
      pinTimeoutS: this.#pinTimeoutS,
      closingTimeoutS: this.#closingTimeoutS,
      maxPins: this.#maxPins,
    };
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn, fn);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  #emit<K extends keyof DataPlaneEvents>(event: K, ...args: DataPlaneEvents[K]): void {
    for (const l of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (l as unknown as (...a: DataPlaneEvents[K]) => void)(...args);
      } catch (e) {
        this.#log.error(`direct data plane: ${event} listener failed: ${(e as Error)?.message ?? String(e)}`);
      }
    }
  }

  /**
   * Subscribes to an event; returns the unsubscribe function.
   *
   * @param event - `nodeRefused` (a node's MAC cannot be resolved: its buckets are delivered locally) or
   * `error` (a failed transaction)
   * @param listener - the listener
   */
  on<K extends keyof DataPlaneEvents>(event: K, listener: (...args: DataPlaneEvents[K]) => void): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    const l = listener as unknown as Listener;
    set.add(l);
    return () => {
      set.delete(l);
    };
  }

  async #nft(what: string, script: string): Promise<void> {
    await check(this.#run, what, 'nft', ['-f', '-'], script);
  }

  /**
   * Installs the table (replacing a stale one of the same name) with an empty bucket map: until the first
   * {@link apply}, every client is delivered locally. Reads the interface's MAC first.
   *
   * @throws LbError `LB_DR_NO_MAC` (interface without MAC), `LB_DR_COMMAND_FAILED`
   */
  start(): Promise<void> {
    return this.#serial(async () => {
      if (this.#started) return;
      const iface = this.#settings.interface;
      if (this.#directorMac === undefined) {
        const out = await check(this.#run, 'reading the director MAC', 'ip', [
          '-j',
          'link',
          'show',
          'dev',
          iface,
        ]);
        const mac = canonicalMac((JSON.parse(out || '[]') as { address?: string }[])[0]?.address);
        if (!mac)
          throw new LbError('LB_DR_NO_MAC', `interface ${iface} has no MAC address`, {
            details: { interface: iface },
          });
        this.#directorMac = mac;
      }
      const v6 = directIpv6Vips(this.#settings.virtualIps);
      if (v6.length > 0)
        this.#log.warn(
          `direct data plane: IPv6 VIPs are not forwarded, the director serves them itself: ${v6.join(', ')}`,
        );
      const shape = { size: 1, seed: 0 };
      await this.#nft(
        'installing the direct-routing table',
        directRuleset(this.#rulesInput(shape, this.#directorMac)),
      );
      this.#shape = shape;
      this.#installed = new Map();
      this.#macs.clear();
      this.#started = true;
      this.#log.info(`direct data plane started on ${iface} (table netdev ${this.#tableName})`);
    });
  }

  /**
   * Installs a table: resolves the MAC of every node that owns buckets (the director's own share maps to
   * its own MAC: delivered locally), then one `nft -f -` transaction. Same size and seed as installed:
   * deletes and adds the changed bucket elements only (diffed against what is installed); otherwise the
   * hashing rules and the whole bucket map are replaced in one transaction. Pins are never touched. A node
   * whose MAC cannot be resolved is reported with `nodeRefused` and its buckets are delivered locally.
   * Failures reject, are emitted as `error`, and leave the previous state.
   *
   * @param update - the table and its nodes
   * @throws LbError `LB_DR_NOT_STARTED`, `LB_DR_COMMAND_FAILED`
   */
  apply(update: DataPlaneUpdate): Promise<void> {
    return this.#serial(async () => {
      try {
        await this.#apply(update);
      } catch (e) {
        this.#log.error(`direct data plane: ${(e as Error).message}`);
        this.#emit('error', e as Error);
        throw e;
      }
    });
  }

  async #apply(update: DataPlaneUpdate): Promise<void> {
    if (!this.#started || this.#directorMac === undefined)
      throw new LbError('LB_DR_NOT_STARTED', 'apply() before start() on the direct-routing data plane', {
        details: { table: this.#tableName },
      });
    const own = this.#directorMac;
    const { table, nodes } = update;
    const owning = new Set<number>();
    for (const o of table.owners) if (o !== 0xffff) owning.add(o);
    const macOfId = new Map<string, string>();
    const seenAddresses = new Set<string>();
    for (const index of [...owning].sort((a, b) => a - b)) {
      const id = table.nodes[index];
      if (id === undefined) continue;
      const node = nodes.get(id);
      if (node === undefined) {
        this.#log.warn(`direct data plane: node ${id} owns buckets but is not in the node list`);
        continue;
      }
      if (node.self) {
        macOfId.set(id, own);
        continue;
      }
      seenAddresses.add(node.address);
      let mac = this.#macs.get(node.address);
      if (mac === undefined) {
        try {
          mac = canonicalMac(await this.#resolveMac(node.address, this.#settings.interface));
        } catch {
          mac = undefined;
        }
        if (mac === undefined) {
          const reason = `no MAC address for ${node.address} on ${this.#settings.interface} (LB_DR_NO_MAC)`;
          this.#log.warn(`direct data plane: node ${id}: ${reason}; its buckets are delivered locally`);
          this.#emit('nodeRefused', id, node.address, reason);
          continue;
        }
        this.#macs.set(node.address, mac);
      }
      macOfId.set(id, mac);
    }
    // forget addresses no node owning buckets has now: resolved again when they come back
    for (const a of [...this.#macs.keys()]) if (!seenAddresses.has(a)) this.#macs.delete(a);
    const wanted = directBucketMap(table, (id) => macOfId.get(id));
    const shape = { size: table.size, seed: table.seed };
    const sameShape = this.#shape?.size === shape.size && this.#shape?.seed === shape.seed;
    if (sameShape) {
      const delta = directBucketDelta(this.#installed, wanted);
      const script = directDeltaScript(delta, this.#tableName);
      if (script !== '') {
        try {
          await this.#nft('applying the bucket delta', script);
        } catch (e) {
          this.#log.warn(
            `direct data plane: delta refused, replacing the bucket map: ${(e as Error).message}`,
          );
          await this.#nft(
            'replacing the bucket map',
            directRehashScript(this.#rulesInput(shape, own), wanted),
          );
        }
        this.#log.debug(`direct data plane: ${delta.remove.length} removed, ${delta.add.length} added`);
      }
    } else {
      await this.#nft(
        'installing a new table size or seed',
        directRehashScript(this.#rulesInput(shape, own), wanted),
      );
      this.#shape = shape;
    }
    this.#installed = wanted;
    this.#nodeOfMac = new Map([...macOfId].map(([id, mac]) => [mac, id]));
    // the self node may own no buckets; still attribute its pins
    for (const n of nodes.values()) if (n.self && !this.#nodeOfMac.has(own)) this.#nodeOfMac.set(own, n.id);
  }

  /** The bucket map as last applied (bucket -> MAC). */
  installed(): DirectBucketMap {
    return this.#installed;
  }

  /**
   * Reads the table back from the kernel (`nft -j`): the bucket map, the pins and the counters.
   *
   * @throws LbError `LB_DR_COMMAND_FAILED` (no such table, among others)
   */
  async readBack(): Promise<DirectRoutingState> {
    const t = this.#tableName;
    const list = (kind: 'map' | 'counter', name: string) =>
      check(this.#run, 'reading the direct-routing table', 'nft', ['-j', 'list', kind, 'netdev', t, name]);
    const [buckets, pins, closing, accepted, unowned] = await Promise.all([
      list('map', 'buckets'),
      list('map', 'pins4'),
      list('map', 'closing4'),
      list('counter', 'accepted'),
      list('counter', 'unowned'),
    ]);
    const packets = (json: string) => {
      const doc = JSON.parse(json) as { nftables?: { counter?: { packets?: number } }[] };
      return doc.nftables?.find((i) => i.counter)?.counter?.packets ?? 0;
    };
    return {
      buckets: parseDirectBuckets(buckets),
      pins: parseDirectPinValues(pins),
      closing: parseDirectPinValues(closing),
      accepted: packets(accepted),
      unowned: packets(unowned),
    };
  }

  /**
   * Reads the kernel state and updates {@link stats}: active connections per node are the live pins
   * pointing at the node's MAC. Failures are emitted as `error` and leave the previous counters.
   */
  async refreshStats(): Promise<DataPlaneStats> {
    if (!this.#started) return this.#stats;
    try {
      const s = await this.readBack();
      const active = new Map<string, number>();
      for (const mac of s.pins) {
        const id = this.#nodeOfMac.get(mac);
        if (id !== undefined) active.set(id, (active.get(id) ?? 0) + 1);
      }
      this.#stats = { activeByNode: active, accepted: s.accepted, failed: s.unowned };
    } catch (e) {
      this.#emit('error', e as Error);
    }
    return this.#stats;
  }

  /** Counters as of the last {@link refreshStats}. */
  stats(): DataPlaneStats {
    return this.#stats;
  }

  /**
   * Deletes the table (rules, bucket map, pins): the director's stack gets every client again. Idempotent;
   * a table that is already gone is fine.
   *
   * @throws LbError `LB_DR_COMMAND_FAILED` when nft fails otherwise
   */
  stop(): Promise<void> {
    return this.#serial(async () => {
      const args = ['delete', 'table', 'netdev', this.#tableName];
      const r = await this.#run('nft', args);
      this.#started = false;
      this.#installed = new Map();
      this.#shape = undefined;
      if (r.code !== 0 && !/No such file or directory/.test(r.stderr))
        throw commandError('removing the direct-routing table', 'nft', args, r);
      if (r.code === 0) this.#log.info(`direct data plane stopped (table netdev ${this.#tableName} removed)`);
    });
  }
}

/** Options of {@link DirectRoutingNodeSetup}. */
export interface DirectRoutingNodeSetupOptions {
  /** The VIPs (with or without prefix; each is added to `lo` as /32 or /128). */
  readonly virtualIps: readonly string[];
  /** The node's interface facing the director (gets arp_ignore/arp_announce besides `all`). */
  readonly interface: string;
  /** Runs `ip` and `sysctl` (default {@link runCommand}). */
  readonly run?: CommandRunner;
  /** Logger (default none). */
  readonly logger?: Logger;
  /**
   * A file where the setup records what it changed (the sysctl values it found, the VIPs it added) while
   * active, removed by {@link DirectRoutingNodeSetup.stop}. A setup started after a crash (the file is
   * still there) takes the original values and its VIPs from it, so its `stop()` cleans up what the
   * crashed run left. The daemon keeps it in its data directory. Default: none (in memory only).
   */
  readonly stateFile?: string;
}

/** What {@link DirectRoutingNodeSetupOptions.stateFile} holds. */
interface NodeSetupState {
  /** Sysctl key -> the value found before the first change. */
  readonly previous: Record<string, string>;
  /** `address/prefix` added to lo. */
  readonly added: string[];
}

/** The sysctl values a scanning node needs for direct routing, by key (slash form). */
export function directNodeSysctls(iface: string): Readonly<Record<string, string>> {
  return {
    'net/ipv4/conf/all/arp_ignore': '1',
    'net/ipv4/conf/all/arp_announce': '2',
    [`net/ipv4/conf/${iface}/arp_ignore`]: '1',
    [`net/ipv4/conf/${iface}/arp_announce`]: '2',
  };
}

/**
 * What a scanning node needs for direct routing: each VIP on `lo` (/32, IPv6 /128) so the node accepts
 * the forwarded packets and answers from the VIP, and `arp_ignore=1` / `arp_announce=2` on `all` and on
 * the interface so it never answers ARP for the VIP (the director holds it) nor announces it.
 * {@link DirectRoutingNodeSetup.stop} removes the addresses it added and restores the sysctl values it
 * found. Addresses already on `lo` are left alone (and not removed).
 */
export class DirectRoutingNodeSetup {
  readonly #run: CommandRunner;
  readonly #log: Logger;
  readonly #iface: string;
  readonly #vips: { address: string; prefix: number }[];
  /** Previous values of the sysctls set, to restore. */
  #previous = new Map<string, string>();
  /** `address/prefix` added to lo by us. */
  #added: string[] = [];
  #active = false;
  readonly #stateFile: string | undefined;

  /**
   * @param options - VIPs, interface, runner, logger
   * @throws LbError `LB_INVALID_ARGUMENT` for a VIP that is not an address
   */
  constructor(options: DirectRoutingNodeSetupOptions) {
    this.#run = options.run ?? runCommand;
    this.#log = options.logger ?? noopLogger;
    this.#iface = options.interface;
    this.#stateFile = options.stateFile;
    this.#vips = options.virtualIps.map((v, i) => {
      const c = parseCidr(v);
      if (!c)
        throw new LbError(
          'LB_INVALID_ARGUMENT',
          `virtualIps[${i}]: must be an address (got ${JSON.stringify(v)})`,
          {
            details: { issues: [{ path: `virtualIps[${i}]`, message: 'must be an address' }] },
          },
        );
      return { address: c.text, prefix: c.family === 'ipv4' ? 32 : 128 };
    });
  }

  /** True between {@link start} and {@link stop}. */
  get active(): boolean {
    return this.#active;
  }

  /**
   * Sets the sysctls (remembering the previous values) and adds the VIPs to `lo`. On failure, what was
   * done is undone and the error is thrown.
   *
   * @throws LbError `LB_DR_COMMAND_FAILED`
   */
  async start(): Promise<void> {
    if (this.#active) return;
    this.#active = true;
    try {
      await this.#adopt();
      const sysctls = Object.entries(directNodeSysctls(this.#iface));
      for (const [key] of sysctls)
        if (!this.#previous.has(key))
          this.#previous.set(key, (await check(this.#run, 'reading a sysctl', 'sysctl', ['-n', key])).trim());
      await this.#writeState();
      for (const [key, value] of sysctls) {
        const now = (await check(this.#run, 'reading a sysctl', 'sysctl', ['-n', key])).trim();
        if (now !== value) await check(this.#run, 'setting a sysctl', 'sysctl', ['-qw', `${key}=${value}`]);
      }
      const present = await this.#loAddresses();
      for (const v of this.#vips) {
        if (present.has(v.address)) continue;
        const cidr = `${v.address}/${v.prefix}`;
        const args = ['addr', 'add', cidr, 'dev', 'lo', ...(v.prefix === 128 ? ['nodad'] : [])];
        this.#added.push(cidr);
        await this.#writeState();
        await check(this.#run, 'adding a VIP to lo', 'ip', args);
      }
      this.#log.info(
        `direct routing node setup: VIPs on lo, arp_ignore=1 arp_announce=2 on all and ${this.#iface}`,
      );
    } catch (e) {
      await this.stop().catch(() => undefined);
      throw e;
    }
  }

  /** Takes over what a run that did not stop (crash, SIGKILL) left, as recorded in the state file. */
  async #adopt(): Promise<void> {
    if (this.#active && this.#previous.size > 0) return; /* the file holds what we already know */
    const left = await this.#readState();
    if (left === undefined) return;
    for (const [key, value] of Object.entries(left.previous))
      if (!this.#previous.has(key)) this.#previous.set(key, value);
    for (const cidr of left.added) if (!this.#added.includes(cidr)) this.#added.push(cidr);
    this.#log.warn(
      `direct routing node setup: taking over what a previous run left (${this.#stateFile}): ${[
        ...left.added,
        ...Object.keys(left.previous),
      ].join(', ')}`,
    );
  }

  async #readState(): Promise<NodeSetupState | undefined> {
    if (this.#stateFile === undefined) return undefined;
    let text: string;
    try {
      text = await readFile(this.#stateFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const doc = JSON.parse(text) as Partial<NodeSetupState>;
      const previous = Object.fromEntries(
        Object.entries(doc.previous ?? {}).filter(
          (e): e is [string, string] => typeof e[1] === 'string' && /^[\w/.-]+$/.test(e[0]),
        ),
      );
      const added = (doc.added ?? []).filter(
        (c): c is string => typeof c === 'string' && parseCidr(c) !== undefined,
      );
      return { previous, added };
    } catch {
      this.#log.warn(`direct routing node setup: ignoring an unreadable ${this.#stateFile}`);
      return undefined;
    }
  }

  async #writeState(): Promise<void> {
    if (this.#stateFile === undefined) return;
    const state: NodeSetupState = { previous: Object.fromEntries(this.#previous), added: [...this.#added] };
    const tmp = `${this.#stateFile}.tmp`;
    await writeFile(tmp, `${JSON.stringify(state)}\n`, { mode: 0o644 });
    await rename(tmp, this.#stateFile);
  }

  async #loAddresses(): Promise<Set<string>> {
    const out = await check(this.#run, 'listing the addresses of lo', 'ip', [
      '-j',
      'addr',
      'show',
      'dev',
      'lo',
    ]);
    const links = JSON.parse(out || '[]') as { addr_info?: { local?: string }[] }[];
    const set = new Set<string>();
    for (const l of links)
      for (const a of l.addr_info ?? []) {
        const c = parseCidr(a.local);
        if (c) set.add(c.text);
      }
    return set;
  }

  /**
   * Removes the VIPs it added from `lo` and restores the sysctl values it found (with a state file: also
   * what a run that did not stop left). Idempotent; every step is tried, the first failure is thrown at
   * the end.
   *
   * @throws LbError `LB_DR_COMMAND_FAILED`
   */
  async stop(): Promise<void> {
    let first: unknown;
    await this.#adopt().catch((e: unknown) => {
      first = e;
    });
    for (const cidr of this.#added.splice(0).reverse()) {
      const args = ['addr', 'del', cidr, 'dev', 'lo'];
      const r = await this.#run('ip', args);
      if (r.code !== 0 && !/Cannot assign requested address/.test(r.stderr))
        first ??= commandError('removing a VIP from lo', 'ip', args, r);
    }
    for (const [key, value] of [...this.#previous].reverse()) {
      const r = await this.#run('sysctl', ['-qw', `${key}=${value}`]);
      if (r.code !== 0) first ??= commandError('restoring a sysctl', 'sysctl', ['-qw', `${key}=${value}`], r);
    }
    this.#previous.clear();
    if (first === undefined && this.#stateFile !== undefined) await rm(this.#stateFile, { force: true });
    if (this.#active) this.#log.info('direct routing node setup removed');
    this.#active = false;
    if (first !== undefined) throw first;
  }
}

// The load-aware scheduler: a pure machine from node reports (with their time) to a bucket table.
import { type ConfigIssue, describeValue, writeIpv4, writeIpv6 } from '@proxyha/common';
import { LbError } from '../errors';
import { jhash, jhashIpv4, reciprocalScale } from './jhash';
import { applyBound, buildOwners, isPrime, NO_OWNER, tableSizeFor } from './table';
import type {
  BucketTable,
  LoadScheduler,
  RebuildReason,
  SchedulerNode,
  SchedulerOptions,
  SchedulerUpdate,
  TableInputs,
} from './types';

/** The default seed of the client-address hash: the ASCII bytes of "prox" as a big-endian u32. */
export const DEFAULT_SCHEDULER_SEED = 0x70726f78;

/** The defaults of {@link SchedulerOptions} (each documented there). */
export const SCHEDULER_DEFAULTS: Readonly<Required<Omit<SchedulerOptions, 'tableSize'>>> = Object.freeze({
  seed: DEFAULT_SCHEDULER_SEED,
  ipv4PrefixLength: 32,
  ipv6PrefixLength: 128,
  balanceFactor: 0.25,
  boundMinConnections: 16,
  rebuildThreshold: 0.1,
  minRebuildIntervalMs: 5000,
  smoothingHalfLifeMs: 10000,
  loadAware: true,
});

/** Largest table size accepted by the `tableSize` option. */
const MAX_TABLE_SIZE = 0xfffffd; /* 16777213, the largest prime below 2^24 */
/** Most nodes a table can refer to (owners are u16, 0xffff means none). */
const MAX_NODES = 0xfffe;

/** Utilisation under which resources do not reduce a node's weight. */
const RESOURCE_KNEE = 0.5;
/** Smallest resource factor (a saturated node still gets this share of its weight). */
const RESOURCE_FLOOR = 0.1;
/** Bounds of the connection factor. */
const CONNECTION_MIN = 0.5;
const CONNECTION_MAX = 1.5;

function fail(message: string, issues: ConfigIssue[]): never {
  throw new LbError(
    'LB_INVALID_ARGUMENT',
    `${message}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    {
      details: { issues },
    },
  );
}

interface Resolved {
  readonly tableSize: number | undefined;
  readonly seed: number;
  readonly ipv4PrefixLength: number;
  readonly ipv6PrefixLength: number;
  readonly balanceFactor: number;
  readonly boundMinConnections: number;
  readonly rebuildThreshold: number;
  readonly minRebuildIntervalMs: number;
  readonly smoothingHalfLifeMs: number;
  readonly loadAware: boolean;
}

function resolveOptions(options: SchedulerOptions): Resolved {
  const issues: ConfigIssue[] = [];
  const o = options as Record<string, unknown>;
  const num = (
    key: keyof Resolved,
    fallback: number | undefined,
    ok: (v: number) => boolean,
    rule: string,
  ): number | undefined => {
    const v = o[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !ok(v)) {
      issues.push({ path: key, message: `must be ${rule} (got ${describeValue(v)})` });
      return fallback;
    }
    return v;
  };
  const d = SCHEDULER_DEFAULTS;
  const nonNeg = (v: number) => Number.isFinite(v) && v >= 0;
  const r: Resolved = {
    tableSize: num(
      'tableSize',
      undefined,
      (v) => isPrime(v) && v <= MAX_TABLE_SIZE,
      `a prime <= ${MAX_TABLE_SIZE}`,
    ),
    seed: num(
      'seed',
      d.seed,
      (v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff,
      'an integer 0..4294967295',
    ) as number,
    ipv4PrefixLength: num(
      'ipv4PrefixLength',
      d.ipv4PrefixLength,
      (v) => Number.isInteger(v) && v >= 0 && v <= 32,
      'an integer 0..32',
    ) as number,
    ipv6PrefixLength: num(
      'ipv6PrefixLength',
      d.ipv6PrefixLength,
      (v) => Number.isInteger(v) && v >= 0 && v <= 128,
      'an integer 0..128',
    ) as number,
    balanceFactor: num(
      'balanceFactor',
      d.balanceFactor,
      (v) => v === Number.POSITIVE_INFINITY || nonNeg(v),
      'a number >= 0 (Infinity: no bound)',
    ) as number,
    boundMinConnections: num('boundMinConnections', d.boundMinConnections, nonNeg, 'a number >= 0') as number,
    rebuildThreshold: num('rebuildThreshold', d.rebuildThreshold, nonNeg, 'a number >= 0') as number,
    minRebuildIntervalMs: num(
      'minRebuildIntervalMs',
      d.minRebuildIntervalMs,
      nonNeg,
      'a number >= 0',
    ) as number,
    smoothingHalfLifeMs: num('smoothingHalfLifeMs', d.smoothingHalfLifeMs, nonNeg, 'a number >= 0') as number,
    loadAware: o.loadAware === undefined ? d.loadAware : (o.loadAware as boolean),
  };
  if (o.loadAware !== undefined && typeof o.loadAware !== 'boolean')
    issues.push({ path: 'loadAware', message: `must be true or false (got ${describeValue(o.loadAware)})` });
  if (issues.length > 0) fail('invalid scheduler options', issues);
  return r;
}

function validateNodes(nodes: readonly SchedulerNode[]): void {
  const issues: ConfigIssue[] = [];
  if (!Array.isArray(nodes))
    fail('invalid scheduler input', [{ path: 'nodes', message: 'must be an array' }]);
  if (nodes.length > MAX_NODES)
    issues.push({ path: 'nodes', message: `must hold at most ${MAX_NODES} nodes (got ${nodes.length})` });
  const seen = new Set<string>();
  nodes.forEach((n, i) => {
    const p = `nodes[${i}]`;
    if (typeof n !== 'object' || n === null) {
      issues.push({ path: p, message: `must be a node (got ${describeValue(n)})` });
      return;
    }
    if (typeof n.id !== 'string' || n.id.length === 0)
      issues.push({ path: `${p}.id`, message: `must be a non-empty string (got ${describeValue(n.id)})` });
    else if (seen.has(n.id))
      issues.push({ path: `${p}.id`, message: `duplicate node id (got ${describeValue(n.id)})` });
    else seen.add(n.id);
    if (!Number.isInteger(n.capacity) || n.capacity < 0 || n.capacity > 65535)
      issues.push({
        path: `${p}.capacity`,
        message: `must be an integer 0..65535 (got ${describeValue(n.capacity)})`,
      });
    if (typeof n.healthy !== 'boolean')
      issues.push({ path: `${p}.healthy`, message: `must be a boolean (got ${describeValue(n.healthy)})` });
    if (
      typeof n.activeConnections !== 'number' ||
      !Number.isFinite(n.activeConnections) ||
      n.activeConnections < 0
    )
      issues.push({
        path: `${p}.activeConnections`,
        message: `must be a number >= 0 (got ${describeValue(n.activeConnections)})`,
      });
    if (n.resources !== undefined) {
      for (const k of ['cpu', 'memory', 'load'] as const) {
        const v = (n.resources as unknown as Record<string, unknown>)?.[k];
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
          issues.push({
            path: `${p}.resources.${k}`,
            message: `must be a number >= 0 (got ${describeValue(v)})`,
          });
      }
    }
  });
  if (issues.length > 0) fail('invalid scheduler input', issues);
}

/**
 * The unsmoothed load factor of a node: a resource factor (1 up to {@link RESOURCE_KNEE} utilisation of
 * the busiest of cpu, memory and load, then falling linearly to {@link RESOURCE_FLOOR} at full use) times a
 * connection factor `2 / (1 + rho)` clamped to 0.5..1.5, rho = the node's active connections over its
 * capacity-proportional part of the group's connections.
 */
function rawLoadFactor(node: SchedulerNode, expected: number): number {
  let r = 1;
  const res = node.resources;
  if (res !== undefined) {
    const use = Math.max(res.cpu, res.memory, res.load);
    r = Math.min(1, Math.max(RESOURCE_FLOOR, (1 - use) / (1 - RESOURCE_KNEE)));
  }
  const rho = expected > 0 ? node.activeConnections / expected : 1;
  const c = Math.min(CONNECTION_MAX, Math.max(CONNECTION_MIN, 2 / (1 + rho)));
  return r * c;
}

interface Smoothed {
  factor: number;
  at: number;
}

function maskBytes(bytes: Uint8Array, length: number, prefix: number): void {
  for (let i = 0; i < length; i++) {
    const bits = prefix - i * 8;
    if (bits >= 8) continue;
    bytes[i] = bits <= 0 ? 0 : (bytes[i] as number) & (0xff << (8 - bits));
  }
}

/** Scratch for text lookups (synchronous use only). */
const scratch = new Uint8Array(16);

/** The persistence granularity of {@link clientBucket}: client addresses are masked to these prefixes. */
export interface PersistenceMask {
  /** IPv4 prefix length, 0..32. */
  readonly ipv4PrefixLength: number;
  /** IPv6 prefix length, 0..128. */
  readonly ipv6PrefixLength: number;
}

/**
 * The bucket of a client address in a table: `reciprocal_scale(jhash(masked address, seed), size)`, the
 * value nftables computes for `jhash ip saddr mod size seed seed`. Data planes that look clients up
 * themselves (the relay) use it with the table they were given.
 *
 * @param clientAddress - IPv4 or IPv6 text
 * @param table - the table's size and seed
 * @param mask - the persistence prefixes
 * @returns the bucket, or undefined when `clientAddress` is not an address
 */
export function clientBucket(
  clientAddress: string,
  table: Pick<BucketTable, 'size' | 'seed'>,
  mask: PersistenceMask,
): number | undefined {
  if (typeof clientAddress !== 'string') return undefined;
  if (writeIpv4(clientAddress, scratch, 0)) {
    maskBytes(scratch, 4, mask.ipv4PrefixLength);
    return reciprocalScale(jhash(scratch, 4, table.seed), table.size);
  }
  if (writeIpv6(clientAddress, scratch, 0)) {
    maskBytes(scratch, 16, mask.ipv6PrefixLength);
    return reciprocalScale(jhash(scratch, 16, table.seed), table.size);
  }
  return undefined;
}

class Scheduler implements LoadScheduler {
  readonly #o: Resolved;
  readonly #mask4: number;
  #table: BucketTable;
  #sharesOf: { readonly table: BucketTable; readonly shares: ReadonlyMap<string, number> } | undefined;
  #nodes: SchedulerNode[] = [];
  #builtWeights: number[] = [];
  #baseOwners: Uint16Array;
  #bound: boolean[] = [];
  #lastBuild = Number.NEGATIVE_INFINITY;
  #started = false;
  readonly #smoothed = new Map<string, Smoothed>();
  #weights: Map<string, number> = new Map();

  constructor(options: SchedulerOptions) {
    this.#o = resolveOptions(options);
    this.#mask4 = this.#o.ipv4PrefixLength === 0 ? 0 : (0xffffffff << (32 - this.#o.ipv4PrefixLength)) >>> 0;
    const size = this.#o.tableSize ?? tableSizeFor(0);
    this.#baseOwners = new Uint16Array(size).fill(NO_OWNER);
    this.#table = Object.freeze({
      size,
      seed: this.#o.seed,
      nodes: Object.freeze([]),
      owners: this.#baseOwners,
    });
  }

  get table(): BucketTable {
    return this.#table;
  }

  update(at: number, input: readonly SchedulerNode[]): SchedulerUpdate {
    if (typeof at !== 'number' || !Number.isFinite(at))
      fail('invalid scheduler input', [
        { path: 'at', message: `must be a finite number (got ${describeValue(at)})` },
      ]);
    validateNodes(input);
    const nodes = [...input].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const o = this.#o;

    /* connections each node is expected to carry: the group's total spread by capacity over eligible nodes */
    let total = 0;
    let capSum = 0;
    for (const n of nodes)
      if (n.healthy && n.capacity > 0) {
        total += n.activeConnections;
        capSum += n.capacity;
      }
    const perCap = capSum > 0 ? total / capSum : 0;
    const expectedOf = (n: SchedulerNode) => Math.max(perCap * n.capacity, o.boundMinConnections);

    /* smoothed load factors and effective weights */
    const weights: number[] = [];
    const live = new Set<string>();
    for (const n of nodes) {
      live.add(n.id);
      const raw = o.loadAware ? rawLoadFactor(n, n.capacity > 0 ? expectedOf(n) : 0) : 1;
      const s = this.#smoothed.get(n.id);
      let factor = raw;
      if (s !== undefined) {
        const dt = Math.max(0, at - s.at);
        const alpha = o.smoothingHalfLifeMs === 0 ? 1 : 1 - 2 ** (-dt / o.smoothingHalfLifeMs);
        factor = s.factor + alpha * (raw - s.factor);
      }
      this.#smoothed.set(n.id, { factor, at: Math.max(at, s?.at ?? at) });
      /* quantised to 1/256 so that weights (and their sums) are exact in binary floating point */
      weights.push(n.healthy ? (n.capacity * Math.max(1, Math.round(factor * 256))) / 256 : 0);
    }
    for (const id of [...this.#smoothed.keys()]) if (!live.has(id)) this.#smoothed.delete(id);
    this.#weights = new Map(nodes.map((n, i) => [n.id, weights[i] as number]));

    /* bounded load: eligible nodes above (1 + balanceFactor) x their expected connections */
    const bound = nodes.map(
      (n) => n.healthy && n.capacity > 0 && n.activeConnections > (1 + o.balanceFactor) * expectedOf(n),
    );

    const prev = this.#nodes;
    let reason: RebuildReason = 'none';
    const sameMembers =
      prev.length === nodes.length &&
      nodes.every(
        (n, i) =>
          n.id === (prev[i] as SchedulerNode).id && n.capacity === (prev[i] as SchedulerNode).capacity,
      );
    if (!this.#started) reason = 'initial';
    else if (!sameMembers) reason = 'membership';
    else if (nodes.some((n, i) => n.healthy !== (prev[i] as SchedulerNode).healthy)) reason = 'health';
    else if (at - this.#lastBuild >= o.minRebuildIntervalMs) {
      // the table depends on the weights' proportions only: nodes whose load moves together (a busy host
      // running them all, an idle cluster drifting) change no share and cost no rebuild
      const sum = weights.reduce((a, w) => a + w, 0);
      const builtSum = this.#builtWeights.reduce((a, w) => a + w, 0);
      const moved = weights.some((w, i) => {
        const b = this.#builtWeights[i] as number;
        if (b <= 0 || builtSum <= 0 || sum <= 0) return b > 0 ? w <= 0 : w > 0;
        const share = w / sum;
        const built = b / builtSum;
        return Math.abs(share - built) > o.rebuildThreshold * built;
      });
      if (moved) reason = 'load';
    }
    if (reason === 'none' && bound.some((b, i) => b !== this.#bound[i])) reason = 'bound';
    if (reason === 'none') return { table: this.#table, changed: false, changedBuckets: [], reason };

    this.#started = true;
    this.#nodes = nodes;
    this.#bound = bound;
    const ids = nodes.map((n) => n.id);
    if (reason !== 'bound') {
      this.#builtWeights = weights;
      this.#lastBuild = at;
      const size = o.tableSize ?? tableSizeFor(nodes.length);
      this.#baseOwners = buildOwners(ids, weights, size);
    }
    const owners = applyBound(ids, this.#builtWeights, this.#baseOwners, bound);
    const old = this.#table;
    const changedBuckets: number[] = [];
    if (old.size === owners.length) {
      /* old node index -> new node index (NO_OWNER stays NO_OWNER; a node gone maps to -1) */
      const remap = new Int32Array(NO_OWNER + 1).fill(-1);
      remap[NO_OWNER] = NO_OWNER;
      const index = new Map(ids.map((id, i) => [id, i]));
      old.nodes.forEach((id, i) => {
        remap[i] = index.get(id) ?? -1;
      });
      const was = old.owners;
      for (let b = 0; b < owners.length; b++)
        if (remap[was[b] as number] !== owners[b]) changedBuckets.push(b);
    } else {
      for (let b = 0; b < owners.length; b++) changedBuckets.push(b);
    }
    const sameIds = old.nodes.length === ids.length && ids.every((id, i) => id === old.nodes[i]);
    if (changedBuckets.length === 0 && sameIds && old.size === owners.length)
      return { table: old, changed: false, changedBuckets: [], reason: 'none' };
    this.#table = Object.freeze({ size: owners.length, seed: o.seed, nodes: Object.freeze(ids), owners });
    return { table: this.#table, changed: true, changedBuckets, reason };
  }

  tableInputs(): TableInputs {
    const t = this.#table;
    return {
      size: t.size,
      seed: t.seed,
      nodes: this.#nodes.map((n, i) => ({
        id: n.id,
        capacity: n.capacity,
        weight256: Math.round((this.#builtWeights[i] as number) * 256),
        healthy: n.healthy,
        bounded: this.#bound[i] === true,
      })),
    };
  }

  adopt(at: number, inputs: TableInputs): SchedulerUpdate {
    const o = this.#o;
    const issues = inputIssues(inputs);
    if (typeof at !== 'number' || !Number.isFinite(at))
      issues.push({ path: 'at', message: `must be a finite number (got ${describeValue(at)})` });
    if (issues.length === 0) {
      if (inputs.seed !== o.seed)
        issues.push({
          path: 'inputs.seed',
          message: `must be this scheduler's seed ${o.seed} (got ${inputs.seed})`,
        });
      const size = o.tableSize ?? tableSizeFor(inputs.nodes.length);
      if (inputs.size !== size)
        issues.push({
          path: 'inputs.size',
          message: `must be ${size} for ${inputs.nodes.length} nodes (got ${inputs.size})`,
        });
    }
    if (issues.length > 0) fail('cannot adopt the table', issues);
    const nodes = inputs.nodes;
    const weights = nodes.map((n) => n.weight256 / 256);
    this.#started = true;
    this.#lastBuild = at;
    this.#builtWeights = weights;
    this.#bound = nodes.map((n) => n.bounded);
    this.#nodes = nodes.map((n) => ({
      id: n.id,
      capacity: n.capacity,
      healthy: n.healthy,
      activeConnections: 0,
    }));
    this.#smoothed.clear();
    for (const n of nodes)
      if (n.healthy && n.capacity > 0)
        this.#smoothed.set(n.id, { factor: n.weight256 / 256 / n.capacity, at });
    this.#weights = new Map(nodes.map((n, k) => [n.id, weights[k] as number]));
    const ids = nodes.map((n) => n.id);
    this.#baseOwners = buildOwners(ids, weights, inputs.size);
    const owners = applyBound(ids, weights, this.#baseOwners, this.#bound);
    this.#table = Object.freeze({ size: inputs.size, seed: o.seed, nodes: Object.freeze(ids), owners });
    const all = Array.from({ length: inputs.size }, (_, b) => b);
    return { table: this.#table, changed: true, changedBuckets: all, reason: 'adopted' };
  }

  bucketOfIpv4(address: number): number {
    return reciprocalScale(jhashIpv4((address & this.#mask4) >>> 0, this.#o.seed), this.#table.size);
  }

  lookupIpv4(address: number): string | undefined {
    const t = this.#table;
    const h = jhashIpv4((address & this.#mask4) >>> 0, this.#o.seed);
    const owner = t.owners[reciprocalScale(h, t.size)] as number;
    return owner === NO_OWNER ? undefined : t.nodes[owner];
  }

  bucketOf(clientAddress: string): number {
    const b = clientBucket(clientAddress, this.#table, this.#o);
    if (b !== undefined) return b;
    return fail('invalid client address', [
      {
        path: 'clientAddress',
        message: `must be an IPv4 or IPv6 address (got ${describeValue(clientAddress)})`,
      },
    ]);
  }

  lookup(clientAddress: string): string | undefined {
    const t = this.#table;
    const owner = t.owners[this.bucketOf(clientAddress)] as number;
    return owner === NO_OWNER ? undefined : t.nodes[owner];
  }

  shares(): ReadonlyMap<string, number> {
    const t = this.#table;
    // every status and snapshot asks; the table changes seldom (a new frozen table each time)
    if (this.#sharesOf?.table === t) return this.#sharesOf.shares;
    const counts = new Array<number>(t.nodes.length).fill(0);
    for (let b = 0; b < t.size; b++) {
      const ow = t.owners[b] as number;
      if (ow !== NO_OWNER) counts[ow] = (counts[ow] as number) + 1;
    }
    const shares: ReadonlyMap<string, number> = new Map(
      t.nodes.map((id, i) => [id, (counts[i] as number) / t.size]),
    );
    this.#sharesOf = { table: t, shares };
    return shares;
  }

  weights(): ReadonlyMap<string, number> {
    return this.#weights;
  }
}

/** What is wrong with table inputs (empty when they are well formed). */
function inputIssues(inputs: TableInputs): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (typeof inputs !== 'object' || inputs === null) {
    issues.push({ path: 'inputs', message: `must be an object (got ${describeValue(inputs)})` });
    return issues;
  }
  if (!isPrime(inputs.size) || inputs.size > MAX_TABLE_SIZE)
    issues.push({
      path: 'inputs.size',
      message: `must be a prime <= ${MAX_TABLE_SIZE} (got ${describeValue(inputs.size)})`,
    });
  if (!Number.isInteger(inputs.seed) || inputs.seed < 0 || inputs.seed > 0xffffffff)
    issues.push({
      path: 'inputs.seed',
      message: `must be an integer 0..4294967295 (got ${describeValue(inputs.seed)})`,
    });
  if (!Array.isArray(inputs.nodes)) {
    issues.push({ path: 'inputs.nodes', message: `must be an array (got ${describeValue(inputs.nodes)})` });
    return issues;
  }
  if (inputs.nodes.length > MAX_NODES)
    issues.push({
      path: 'inputs.nodes',
      message: `must hold at most ${MAX_NODES} nodes (got ${inputs.nodes.length})`,
    });
  inputs.nodes.forEach((n, k) => {
    const p = `inputs.nodes[${k}]`;
    if (typeof n !== 'object' || n === null) {
      issues.push({ path: p, message: `must be a node (got ${describeValue(n)})` });
      return;
    }
    const before = k > 0 ? inputs.nodes[k - 1]?.id : undefined;
    if (typeof n.id !== 'string' || n.id === '' || (before !== undefined && !(n.id > before)))
      issues.push({
        path: `${p}.id`,
        message: `must be a non-empty id sorting after the one before (got ${describeValue(n.id)})`,
      });
    if (!Number.isInteger(n.capacity) || n.capacity < 0 || n.capacity > 65535)
      issues.push({
        path: `${p}.capacity`,
        message: `must be an integer 0..65535 (got ${describeValue(n.capacity)})`,
      });
    if (!Number.isInteger(n.weight256) || n.weight256 < 0 || n.weight256 > 0xffffffff)
      issues.push({
        path: `${p}.weight256`,
        message: `must be an integer 0..4294967295 (got ${describeValue(n.weight256)})`,
      });
    if (typeof n.healthy !== 'boolean')
      issues.push({ path: `${p}.healthy`, message: `must be a boolean (got ${describeValue(n.healthy)})` });
    if (typeof n.bounded !== 'boolean')
      issues.push({ path: `${p}.bounded`, message: `must be a boolean (got ${describeValue(n.bounded)})` });
  });
  return issues;
}

/**
 * The bucket table that table inputs give: what the scheduler that reported them ({@link
 * LoadScheduler.tableInputs}) has in force, bit for bit. A scanning node builds the director's table from
 * its announcement with it (to keep it loaded for a takeover).
 *
 * @param inputs - the inputs
 * @throws {@link LbError} `LB_INVALID_ARGUMENT` naming each malformed input
 */
export function tableFromInputs(inputs: TableInputs): BucketTable {
  const issues = inputIssues(inputs);
  if (issues.length > 0) fail('invalid table inputs', issues);
  const ids = inputs.nodes.map((n) => n.id);
  const weights = inputs.nodes.map((n) => n.weight256 / 256);
  const owners = applyBound(
    ids,
    weights,
    buildOwners(ids, weights, inputs.size),
    inputs.nodes.map((n) => n.bounded),
  );
  return Object.freeze({ size: inputs.size, seed: inputs.seed, nodes: Object.freeze(ids), owners });
}

/**
 * Creates a scheduler.
 *
 * @param options - see {@link SchedulerOptions}
 */
export function createScheduler(options: SchedulerOptions = {}): LoadScheduler {
  return new Scheduler(options);
}

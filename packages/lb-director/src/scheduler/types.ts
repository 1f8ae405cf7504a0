// The scheduler's public types (contract between the scheduler, the machines and the data planes).
import type { ResourceUse } from '../codec/types';

/** One node as the scheduler sees it: built by the membership machine from the node's latest report. */
export interface SchedulerNode {
  /** The node id (UUID text); the identity the table is keyed by (names and addresses may change). */
  readonly id: string;
  /** Static capacity weight from the node's reports, 0..65535 (0: never chosen). */
  readonly capacity: number;
  /** False while the node reports health failure: it gets no new clients (open connections stay). */
  readonly healthy: boolean;
  /** Latest resource use, when reported. */
  readonly resources?: ResourceUse | undefined;
  /** Active connections summed over the node's destination ports. */
  readonly activeConnections: number;
}

/** Options of the scheduler (all optional; the defaults are documented on each). */
export interface SchedulerOptions {
  /** Number of buckets, a prime. Default: the smallest of the documented sizes that is >= 100 x nodes. */
  readonly tableSize?: number;
  /** Seed of the client-address hash (u32). Every director of a group must use the same one. */
  readonly seed?: number;
  /** IPv4 persistence granularity: clients are keyed by their address masked to this prefix (default 32). */
  readonly ipv4PrefixLength?: number;
  /** IPv6 persistence granularity (default 128). */
  readonly ipv6PrefixLength?: number;
  /** Bounded load: no node above (1 + balanceFactor) x the average active connections takes new clients (default 0.25). */
  readonly balanceFactor?: number;
  /**
   * Changes of a node's share (its weight over the sum of the weights) smaller than this relative amount do
   * not rebuild the table (default 0.1): loads that move together change no share.
   */
  readonly rebuildThreshold?: number;
  /** Load-driven rebuilds happen at most this often, in ms (default 5000). Membership and health changes rebuild at once. */
  readonly minRebuildIntervalMs?: number;
  /** Half-life of the EWMA that smooths the load factor, in ms (default 10000). */
  readonly smoothingHalfLifeMs?: number;
  /**
   * Weigh nodes by their resource use and active connections (default true). False: effective weight is
   * capacity x health (the bound on active connections still applies), e.g. when nodes share one host.
   */
  readonly loadAware?: boolean;
  /**
   * Bounded load: the expected connections of a node never count as less than this, so that idle groups
   * (a few connections) are not bounded (default 16).
   */
  readonly boundMinConnections?: number;
}

/** The bucket table the data planes install: bucket index -> node. */
export interface BucketTable {
  /** Number of buckets (a prime). */
  readonly size: number;
  /** Seed of the client-address hash. */
  readonly seed: number;
  /** The node ids the table refers to, sorted. */
  readonly nodes: readonly string[];
  /** For every bucket, the index into `nodes` of its owner, or 0xffff when no node can take clients. */
  readonly owners: Uint16Array;
}

/** One node of {@link TableInputs}. */
export interface TableInputNode {
  /** Node id. */
  readonly id: string;
  /** Static capacity weight, 0..65535. */
  readonly capacity: number;
  /** The effective weight the table was built with, in 1/256 units (an integer; 0 when not healthy). */
  readonly weight256: number;
  /** Health as the table was built (false: drained or refused). */
  readonly healthy: boolean;
  /** True when the bounded-load rule keeps new clients off it. */
  readonly bounded: boolean;
}

/**
 * Everything a bucket table is a function of: another scheduler given the same inputs builds the same
 * table bit for bit ({@link LoadScheduler.adopt}). A director announces them; its successor adopts them.
 */
export interface TableInputs {
  /** Number of buckets (a prime). */
  readonly size: number;
  /** Seed of the client-address hash. */
  readonly seed: number;
  /** The nodes, sorted by id (the table's `nodes` order). */
  readonly nodes: readonly TableInputNode[];
}

/** Why the table changed in a {@link SchedulerUpdate}. */
export type RebuildReason = 'initial' | 'adopted' | 'membership' | 'health' | 'load' | 'bound' | 'none';

/** The result of {@link LoadScheduler.update}. */
export interface SchedulerUpdate {
  /** The table now in force (the same object as before when nothing changed). */
  readonly table: BucketTable;
  /** True when `table` differs from the previous one. */
  readonly changed: boolean;
  /** Buckets whose owner changed (empty when unchanged). */
  readonly changedBuckets: readonly number[];
  /** Why it changed (`none` when it did not). */
  readonly reason: RebuildReason;
}

/**
 * The scheduler: a pure machine (time is an input). The membership machine feeds it the nodes; it keeps
 * the smoothed weights and the table; lookups map a client address to a node id.
 */
export interface LoadScheduler {
  /** Feeds the current nodes at time `at` (ms, monotonic); returns the table in force. */
  update(at: number, nodes: readonly SchedulerNode[]): SchedulerUpdate;
  /** The node id for a client address (IPv4 or IPv6 text), or undefined when no node can take clients. */
  lookup(clientAddress: string): string | undefined;
  /** The bucket of a client address (after the persistence mask). */
  bucketOf(clientAddress: string): number;
  /**
   * Fast path of {@link LoadScheduler.lookup} for IPv4: the address as a u32 in network order as a number
   * (192.0.2.1 is 0xc0000201). No parsing, no allocation.
   */
  lookupIpv4(address: number): string | undefined;
  /** Fast path of {@link LoadScheduler.bucketOf} for IPv4 (the address as in {@link LoadScheduler.lookupIpv4}). */
  bucketOfIpv4(address: number): number;
  /** The table in force. */
  readonly table: BucketTable;
  /** Each node's share of the table, 0..1. */
  shares(): ReadonlyMap<string, number>;
  /** Each node's effective weight (capacity x health x smoothed load factor), as last computed. */
  weights(): ReadonlyMap<string, number>;
  /** The inputs the table in force was built from (empty `nodes` before the first table). */
  tableInputs(): TableInputs;
  /**
   * Takes over a table built by another scheduler (the previous director's, from its announcement) as
   * if this one had built it at `at`: the same owners, the same smoothed weights, the damping clock
   * restarted. Later updates rebuild only for the usual reasons (a member joins or fails, health, a load
   * change beyond the threshold after `minRebuildIntervalMs`), so a handover moves no client by itself.
   *
   * @param at - the time (ms)
   * @param inputs - the other table's inputs
   * @returns the table in force now (reason `adopted`)
   * @throws {@link LbError} `LB_INVALID_ARGUMENT` when the inputs are malformed, or their seed or size
   *   is not what this scheduler would use (a misconfigured group: the caller builds its own table then)
   */
  adopt(at: number, inputs: TableInputs): SchedulerUpdate;
}

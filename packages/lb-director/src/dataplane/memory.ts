// The in-memory twin of the data planes: records what the director asked for and answers routing
// questions, for tests of the director without sockets or nftables.
import { type Logger, noopLogger } from '@proxyha/common';
import { SCHEDULER_DEFAULTS } from '../scheduler/scheduler';
import { NO_OWNER } from '../scheduler/table';
import type { BucketTable } from '../scheduler/types';
import { DataPlaneEmitter } from './emitter';
import { RoutingTable } from './routing';
import type {
  DataPlane,
  DataPlaneEvents,
  DataPlaneNode,
  DataPlaneSettings,
  DataPlaneStats,
  DataPlaneUpdate,
} from './types';

/** One call a {@link MemoryDataPlane} recorded, in call order. */
export type MemoryDataPlaneRecord =
  | {
      /** {@link MemoryDataPlane.start}. */
      readonly op: 'start';
      /** True when the call was made to fail by {@link MemoryDataPlane.failNext}. */
      readonly failed: boolean;
    }
  | {
      /** {@link MemoryDataPlane.apply}. */
      readonly op: 'apply';
      /** True when the call was made to fail by {@link MemoryDataPlane.failNext}. */
      readonly failed: boolean;
      /** The table given. */
      readonly table: BucketTable;
      /** The nodes given. */
      readonly nodes: ReadonlyMap<string, DataPlaneNode>;
      /** The changed buckets the caller announced. */
      readonly changedBuckets: readonly number[] | 'all';
      /**
       * The buckets whose owner (by node id) really changed since the previously installed table, sorted;
       * `all` for the first table or a size or seed change. Compare with `changedBuckets` to test the caller.
       */
      readonly diff: readonly number[] | 'all';
    }
  | {
      /** {@link MemoryDataPlane.stop}. */
      readonly op: 'stop';
      /** True when the call was made to fail by {@link MemoryDataPlane.failNext}. */
      readonly failed: boolean;
    };

/** Options of {@link MemoryDataPlane}. */
export interface MemoryDataPlaneOptions {
  /** Where it logs (default: nowhere). */
  readonly logger?: Logger;
}

/**
 * The in-memory data plane: a {@link DataPlane} that moves nothing. It records every `start`, `apply` and
 * `stop` ({@link MemoryDataPlane.history}), answers which node a client goes to
 * ({@link MemoryDataPlane.route}) with the same bucket function and next-choice order as the relay, simulates
 * connections ({@link MemoryDataPlane.connect}) and refusals ({@link MemoryDataPlane.refuse}), and can be
 * told to fail its next call ({@link MemoryDataPlane.failNext}).
 */
export class MemoryDataPlane implements DataPlane {
  /** Always `memory`. */
  readonly kind = 'memory' as const;
  /** Every call, oldest first. */
  readonly history: MemoryDataPlaneRecord[] = [];
  readonly #persistence: DataPlaneSettings['persistence'];
  readonly #events: DataPlaneEmitter;
  readonly #fail = new Map<'start' | 'apply' | 'stop', Error>();
  readonly #refusing = new Set<string>();
  readonly #active = new Map<string, number>();
  #routing: RoutingTable | undefined;
  #running = false;
  #accepted = 0;
  #failed = 0;

  /**
   * @param settings - the data plane settings; only `persistence` is used (default: /32 and /128)
   * @param options - see {@link MemoryDataPlaneOptions}
   */
  constructor(settings?: Pick<DataPlaneSettings, 'persistence'>, options: MemoryDataPlaneOptions = {}) {
    this.#persistence = settings?.persistence ?? {
      ipv4PrefixLength: SCHEDULER_DEFAULTS.ipv4PrefixLength,
      ipv6PrefixLength: SCHEDULER_DEFAULTS.ipv6PrefixLength,
    };
    this.#events = new DataPlaneEmitter(options.logger ?? noopLogger);
  }

  /** True between a successful `start` and `stop`. */
  get running(): boolean {
    return this.#running;
  }

  /** The last table applied successfully, if any. */
  get table(): BucketTable | undefined {
    return this.#routing?.update.table;
  }

  /** The last update applied successfully, prepared for lookups, if any. */
  get routing(): RoutingTable | undefined {
    return this.#routing;
  }

  /** Records the call and starts directing (rejects instead when {@link MemoryDataPlane.failNext} said so). */
  start(): Promise<void> {
    const error = this.#take('start');
    this.history.push({ op: 'start', failed: error !== undefined });
    if (error !== undefined) return Promise.reject(error);
    this.#running = true;
    return Promise.resolve();
  }

  /**
   * Records the call with the real diff and installs the table.
   *
   * @param update - the table and its nodes
   */
  apply(update: DataPlaneUpdate): Promise<void> {
    const error = this.#take('apply');
    const diff = diffTables(this.#routing?.update.table, update.table);
    this.history.push({
      op: 'apply',
      failed: error !== undefined,
      table: update.table,
      nodes: update.nodes,
      changedBuckets: update.changedBuckets,
      diff,
    });
    if (error !== undefined) return Promise.reject(error);
    this.#routing = new RoutingTable(update, this.#persistence);
    return Promise.resolve();
  }

  /** Records the call and stops directing; open simulated connections are forgotten. Idempotent. */
  stop(): Promise<void> {
    const error = this.#take('stop');
    this.history.push({ op: 'stop', failed: error !== undefined });
    if (error !== undefined) return Promise.reject(error);
    this.#running = false;
    this.#active.clear();
    return Promise.resolve();
  }

  /** Simulated connection counters. */
  stats(): DataPlaneStats {
    return { activeByNode: new Map(this.#active), accepted: this.#accepted, failed: this.#failed };
  }

  /**
   * Subscribes to `nodeRefused` or `error`.
   *
   * @returns the unsubscribe function
   */
  on<K extends keyof DataPlaneEvents>(event: K, listener: (...args: DataPlaneEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * The owner of a client's bucket in the last applied table (whether running or not; refusals do not
   * matter here, see {@link MemoryDataPlane.connect}).
   *
   * @param clientAddress - IPv4 or IPv6 text
   * @returns the node id, or undefined without a table, for a bucket without owner or a non-address
   */
  route(clientAddress: string): string | undefined {
    return this.#routing?.route(clientAddress);
  }

  /**
   * The buckets of the last applied table, by owner node id (buckets without owner left out): what a test
   * compares against the scheduler's shares.
   */
  shares(): Map<string, number> {
    return this.#routing?.shares() ?? new Map();
  }

  /**
   * Simulates a new client connection as the relay would handle it: the owner of its bucket, or its next
   * choice when nodes {@link MemoryDataPlane.refuse | refuse} (each refusal on the way emits `nodeRefused`).
   * Counts it as accepted and active on the node, or as failed.
   *
   * @param clientAddress - IPv4 or IPv6 text
   * @returns the node that took it, or undefined when stopped or no node could
   */
  connect(clientAddress: string): string | undefined {
    this.#accepted++;
    const routing = this.#routing;
    const bucket = this.#running ? routing?.bucketOf(clientAddress) : undefined;
    const tried = new Set<string>();
    for (;;) {
      const id = routing === undefined || bucket === undefined ? undefined : routing.choose(bucket, tried);
      if (id === undefined) {
        this.#failed++;
        return undefined;
      }
      if (!this.#refusing.has(id)) {
        this.#active.set(id, (this.#active.get(id) ?? 0) + 1);
        return id;
      }
      tried.add(id);
      this.#events.emit('nodeRefused', id, routing?.node(id)?.address ?? '', 'ECONNREFUSED');
    }
  }

  /**
   * Ends a simulated connection of a node (the active count drops by one).
   *
   * @param nodeId - the node
   */
  disconnect(nodeId: string): void {
    const n = (this.#active.get(nodeId) ?? 0) - 1;
    if (n > 0) this.#active.set(nodeId, n);
    else this.#active.delete(nodeId);
  }

  /**
   * Simulates a node refusing a connection: emits `nodeRefused` now, and until
   * {@link MemoryDataPlane.accept} the node refuses every {@link MemoryDataPlane.connect}.
   *
   * @param nodeId - the node
   * @param reason - the reason given with the event (default `ECONNREFUSED`)
   */
  refuse(nodeId: string, reason = 'ECONNREFUSED'): void {
    this.#refusing.add(nodeId);
    this.#events.emit('nodeRefused', nodeId, this.#routing?.node(nodeId)?.address ?? '', reason);
  }

  /**
   * Ends a {@link MemoryDataPlane.refuse}: the node takes connections again.
   *
   * @param nodeId - the node
   */
  accept(nodeId: string): void {
    this.#refusing.delete(nodeId);
  }

  /**
   * Emits an `error` event, as a data plane does for a background failure.
   *
   * @param error - the error
   */
  emitError(error: Error): void {
    this.#events.emit('error', error);
  }

  /**
   * Makes the next call of `op` reject with `error` (it is still recorded, with `failed: true`, and changes
   * nothing).
   *
   * @param op - `start`, `apply` or `stop`
   * @param error - what the call rejects with
   */
  failNext(op: 'start' | 'apply' | 'stop', error: Error): void {
    this.#fail.set(op, error);
  }

  #take(op: 'start' | 'apply' | 'stop'): Error | undefined {
    const e = this.#fail.get(op);
    this.#fail.delete(op);
    return e;
  }
}

/**
 * The buckets whose owner, by node id, differs between two tables (sorted), or `all` when there is no
 * previous table or the size or seed differ.
 *
 * @param before - the previous table
 * @param after - the new table
 */
export function diffTables(before: BucketTable | undefined, after: BucketTable): readonly number[] | 'all' {
  if (before === undefined || before.size !== after.size || before.seed !== after.seed) return 'all';
  const owner = (t: BucketTable, b: number) => {
    const o = t.owners[b] as number;
    return o === NO_OWNER ? undefined : t.nodes[o];
  };
  const out: number[] = [];
  for (let b = 0; b < after.size; b++) if (owner(before, b) !== owner(after, b)) out.push(b);
  return out;
}

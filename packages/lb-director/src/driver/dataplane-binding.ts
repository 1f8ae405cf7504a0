// Binds a data plane to a node: directing starts when the node becomes director and stops when it stops
// being one; every new table is installed (in order, one transaction at a time); a node the data plane
// cannot reach is reported to the membership machine.
import { type Clock, type Logger, noopLogger, systemClock, type TimerHandle } from '@proxyha/common';
import type { DataPlane, DataPlaneNode, DataPlaneUpdate } from '../dataplane/types';
import type { LbAction, LbRole } from '../machine/types';
import { NO_OWNER } from '../scheduler/table';
import type { BucketTable } from '../scheduler/types';
import type { LbNode } from './node';

/** Something a scanning node keeps in place while it is not the director (direct routing's VIP on lo). */
export interface ScannerSetup {
  /** Puts it in place (idempotent). */
  start(): Promise<void>;
  /** Removes it and restores what it changed (idempotent). */
  stop(): Promise<void>;
}

/** Options of {@link DataPlaneBinding}. */
export interface DataPlaneBindingOptions {
  /** Where failures and role changes of the data plane are logged (default none). */
  readonly logger?: Logger | undefined;
  /** What a scanning node keeps in place while it does not direct (removed before directing). */
  readonly scanner?: ScannerSetup | undefined;
  /** Clock of the retry timer (default the system clock). */
  readonly clock?: Clock | undefined;
  /** A failed start or apply is tried again after this many ms (default 1000). */
  readonly retryMs?: number | undefined;
  /**
   * Keep the data plane started while the node is not the director (default false: stop it), so that a
   * takeover needs no load: nftables' table and conntrack hooks are in place when the VIP arrives, and
   * while standing by the table the director announces is installed, so that connections picked up
   * mid-stream after a takeover go to the same node (the new director adopts that table). Only for data planes that do nothing without the VIP (nftables); ignored with a `scanner` setup.
   * See docs/handover.md.
   */
  readonly keepLoaded?: boolean | undefined;
}

/**
 * Drives `plane` from `node`'s role and tables. Failures of the data plane are logged and counted; the
 * previous table stays in force (a data plane applies atomically) and the binding tries again after
 * `retryMs`, then with every bucket.
 */
export class DataPlaneBinding {
  readonly #node: LbNode;
  readonly #plane: DataPlane;
  readonly #log: Logger;
  #queue: Promise<void> = Promise.resolve();
  #directing = false;
  /** The data plane is started while the node does not direct (`keepLoaded`). */
  #standingBy = false;
  readonly #keepLoaded: boolean;
  #installed: { table: BucketTable; addresses: Map<string, string> } | undefined;
  /** The followed director's table (standing by). */
  #standby: { table: BucketTable; nodes: Map<string, DataPlaneNode> } | undefined;
  #failures = 0;
  readonly #off: (() => void)[] = [];
  readonly #scanner: ScannerSetup | undefined;
  readonly #clock: Clock;
  readonly #retryMs: number;
  #retry: TimerHandle | undefined;
  #closed = false;

  /**
   * @param node - the node (its `role`, `table` and `action` events drive the data plane)
   * @param plane - the data plane
   * @param options - logger, scanner setup, retry
   */
  constructor(node: LbNode, plane: DataPlane, options: DataPlaneBindingOptions = {}) {
    this.#node = node;
    this.#plane = plane;
    this.#log = options.logger ?? noopLogger;
    this.#scanner = options.scanner;
    this.#clock = options.clock ?? systemClock;
    this.#retryMs = options.retryMs ?? 1000;
    this.#keepLoaded = (options.keepLoaded ?? false) && options.scanner === undefined;
    const onRole = (role: LbRole) =>
      this.#enqueue(() => (role === 'director' ? this.#start() : this.#stop()));
    const onTable = () => this.#enqueue(() => this.#install(false));
    const onAction = (a: LbAction) => {
      if (a.type === 'nodeAddressChanged') this.#enqueue(() => this.#install(false));
      if (a.type === 'directorTable' && this.#keepLoaded) {
        this.#standby = { table: a.table, nodes: new Map(a.nodes.map((n) => [n.id, { ...n }])) };
        this.#enqueue(() => this.#installStandby());
      }
    };
    node.on('role', onRole);
    node.on('table', onTable);
    node.on('action', onAction);
    this.#off.push(
      () => node.off('role', onRole),
      () => node.off('table', onTable),
      () => node.off('action', onAction),
    );
    plane.on('nodeRefused', (id: string, address: string, reason: string) => {
      this.#log.warn(`the data plane cannot reach ${address}: ${reason}`, { node: id });
      node.refused(id, reason);
    });
    plane.on('error', (e: Error) => this.#log.error(`data plane ${plane.kind}: ${e.message}`));
  }

  /** Data plane operations that failed since the start. */
  get failures(): number {
    return this.#failures;
  }

  /** Starts directing now if the node is already the director, else the scanner setup (later role changes follow). */
  sync(): Promise<void> {
    this.#enqueue(() => (this.#node.role === 'director' ? this.#start() : this.#stop()));
    return this.#queue;
  }

  /** Stops directing (removing what the data plane added) and detaches from the node. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) this.#clock.clearTimeout(this.#retry);
    this.#retry = undefined;
    for (const off of this.#off.splice(0)) off();
    this.#enqueue(async () => {
      await this.#stopDirecting();
      await this.#scanner?.stop();
    });
    await this.#queue;
  }

  #enqueue(work: () => Promise<void>): void {
    this.#queue = this.#queue.then(work).catch((e: unknown) => {
      this.#failures++;
      this.#installed = undefined; // the next install sends every bucket
      this.#log.error(`data plane ${this.#plane.kind}: ${(e as Error).message}`);
      if (this.#closed || this.#retry) return;
      this.#retry = this.#clock.setTimeout(() => {
        this.#retry = undefined;
        if (this.#closed) return;
        this.#enqueue(() =>
          this.#node.role === 'director'
            ? this.#start().then(() => this.#install(true))
            : this.#stop().then(() => this.#installStandby()),
        );
      }, this.#retryMs);
    });
  }

  async #start(): Promise<void> {
    if (this.#directing) return;
    await this.#scanner?.stop();
    const wasStandingBy = this.#standingBy;
    if (!wasStandingBy) await this.#plane.start();
    this.#standingBy = false;
    this.#directing = true;
    // standing by, the followed director's table is loaded: only what differs from it is sent
    if (!wasStandingBy) this.#installed = undefined;
    this.#log.info(`data plane ${this.#plane.kind}: directing`);
    await this.#install(!wasStandingBy);
  }

  async #stopDirecting(): Promise<void> {
    if (!this.#directing && !this.#standingBy) return;
    this.#directing = false;
    this.#standingBy = false;
    this.#installed = undefined;
    await this.#plane.stop();
    this.#log.info(`data plane ${this.#plane.kind}: stopped directing`);
  }

  async #stop(): Promise<void> {
    if (this.#keepLoaded) {
      if (this.#standingBy) return;
      if (!this.#directing) await this.#plane.start();
      this.#directing = false;
      this.#standingBy = true;
      this.#log.info(`data plane ${this.#plane.kind}: standing by (loaded, not directing)`);
      await this.#installStandby();
      return;
    }
    await this.#stopDirecting();
    await this.#scanner?.start();
  }

  /** Installs the node's current table: only the buckets whose owner or owner's address changed. */
  async #install(force: boolean): Promise<void> {
    if (!this.#directing) return;
    const table = this.#node.table;
    if (!table) return;
    const nodes = new Map<string, DataPlaneNode>();
    for (const n of this.#node.status().nodes)
      nodes.set(n.id, { id: n.id, address: n.address, self: n.self });
    await this.#applyTable(table, nodes, force);
  }

  /** Standing by: installs the followed director's announced table. */
  async #installStandby(): Promise<void> {
    if (!this.#standingBy || this.#standby === undefined) return;
    await this.#applyTable(this.#standby.table, this.#standby.nodes, false);
  }

  async #applyTable(table: BucketTable, nodes: Map<string, DataPlaneNode>, force: boolean): Promise<void> {
    const addresses = new Map([...nodes].map(([id, n]) => [id, n.address]));
    const before = this.#installed;
    let changedBuckets: DataPlaneUpdate['changedBuckets'];
    if (force || !before || before.table.size !== table.size || before.table.seed !== table.seed)
      changedBuckets = 'all';
    else {
      const changed: number[] = [];
      for (let b = 0; b < table.size; b++) {
        const now = ownerAddress(table, b, addresses);
        if (now !== ownerAddress(before.table, b, before.addresses)) changed.push(b);
      }
      if (changed.length === 0) return;
      changedBuckets = changed;
    }
    await this.#plane.apply({ table, nodes, changedBuckets });
    this.#installed = { table, addresses };
  }
}

function ownerAddress(table: BucketTable, bucket: number, addresses: ReadonlyMap<string, string>): string {
  const owner = table.owners[bucket] as number;
  if (owner === NO_OWNER) return '';
  const id = table.nodes[owner] as string;
  return `${id}@${addresses.get(id) ?? ''}`;
}

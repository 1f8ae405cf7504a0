// The contract between the director and the data planes that move client connections.
import type { Redirect } from '../codec/types';
import type { PersistenceMask } from '../scheduler/scheduler';
import type { BucketTable } from '../scheduler/types';

/** Which data plane (the `dataPlane:` setting). */
export type DataPlaneKind = 'relay' | 'nftables' | 'direct';

/** A node the table refers to, as a data plane needs it. */
export interface DataPlaneNode {
  /** Node id (the table's `nodes` entries). */
  readonly id: string;
  /** Its management address: where its share of the clients is sent. */
  readonly address: string;
  /** True for the director itself: its share is delivered locally. */
  readonly self: boolean;
}

/** A table to install. */
export interface DataPlaneUpdate {
  /** The bucket table (owners index `table.nodes`). */
  readonly table: BucketTable;
  /** Every node the table refers to, by id. */
  readonly nodes: ReadonlyMap<string, DataPlaneNode>;
  /**
   * The buckets whose owner changed since the previous `apply` (the data plane may also diff itself);
   * `all` for the first table or a size change.
   */
  readonly changedBuckets: readonly number[] | 'all';
}

/** What every data plane is told at creation. */
export interface DataPlaneSettings {
  /** The VIPs clients connect to (addresses, with or without prefix). */
  readonly virtualIps: readonly string[];
  /** The redirects: VIP:originalPort -> node:destinationPort. */
  readonly redirects: readonly Redirect[];
  /** Persistence masks (the same the scheduler uses). */
  readonly persistence: PersistenceMask;
  /** Interface facing clients and nodes. */
  readonly interface: string;
  /** The director's own management address. */
  readonly managementIp: string;
}

/** Bytes a data plane carried between clients and one node (see {@link DataPlaneStats.bytesByNode}). */
export interface DataPlaneBytes {
  /** Client to node: the clients' bytes delivered to the node (a PROXY protocol header is not counted). */
  readonly toNode: number;
  /** Node to client: the node's bytes delivered to its clients. */
  readonly toClient: number;
}

/** Connection counters of a data plane. */
export interface DataPlaneStats {
  /** Connections currently open through the data plane, per node id (when the data plane can count them). */
  readonly activeByNode: ReadonlyMap<string, number>;
  /** Connections accepted since start. */
  readonly accepted: number;
  /** Connections that failed (no node, every choice refused, ...). */
  readonly failed: number;
  /**
   * Bytes carried per node id since the data plane was created, both directions (a node appears once a
   * connection to it was established). Only the relay counts them (it copies the bytes itself); the kernel
   * data planes (`nftables`, `direct`) do not count per node and leave this undefined, as does the
   * in-memory twin.
   */
  readonly bytesByNode?: ReadonlyMap<string, DataPlaneBytes>;
}

/** What a data plane reports back to the director. */
export interface DataPlaneEvents {
  /** A node refused a connection (relay): membership may treat it as failing before its next report. */
  nodeRefused: [nodeId: string, address: string, reason: string];
  /** A background failure (an `nft` transaction failed, ...): logged, the previous state stays. */
  error: [Error];
}

/**
 * A data plane: installs the director's bucket table so that new client connections go to the chosen
 * node, and keeps open connections where they are. Directing starts with {@link DataPlane.start} (the
 * node became director) and ends with {@link DataPlane.stop} (it stopped being director, or exits), which
 * removes everything the data plane added.
 */
export interface DataPlane {
  /** Which one. */
  readonly kind: DataPlaneKind | 'memory';
  /** Starts directing: listeners, tables, interface settings. */
  start(): Promise<void>;
  /** Installs a table atomically: a new connection sees either the old or the new table, never a mix. */
  apply(update: DataPlaneUpdate): Promise<void>;
  /** Stops directing and removes everything it added. Idempotent. */
  stop(): Promise<void>;
  /** Counters. */
  stats(): DataPlaneStats;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof DataPlaneEvents>(event: K, listener: (...args: DataPlaneEvents[K]) => void): unknown;
}

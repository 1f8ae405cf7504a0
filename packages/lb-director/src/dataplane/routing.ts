// A bucket table prepared for the data planes that choose nodes themselves (the relay, the memory twin):
// the owner of a client's bucket, then deterministic next choices when nodes refuse.
import { clientBucket, type PersistenceMask } from '../scheduler/scheduler';
import { idHash, NO_OWNER, rendezvous } from '../scheduler/table';
import type { DataPlaneNode, DataPlaneUpdate } from './types';

/** Basis of the node-id hash of the next-choice rendezvous (differs from the scheduler's bound basis). */
const NEXT_CHOICE_BASIS = 0x3c6ef372;

/**
 * The client address as the kernel sees it on an IPv4 connection: an IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`, what a dual-stack socket reports) becomes `192.0.2.1`; others are returned as they are.
 *
 * @param address - the socket's remote address
 */
export function normalizeClientAddress(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

/**
 * A {@link DataPlaneUpdate} prepared for lookups. Each bucket's first choice is its owner in the table; when
 * that node refuses, the next choice is the weighted rendezvous winner (weight: each node's number of
 * buckets in the table) among the table's other nodes that own buckets, excluding those that refused, so
 * every connection of a bucket tries the same nodes in the same order. Immutable: swapping the reference
 * is the atomic table change.
 */
export class RoutingTable {
  /** The update this was built from. */
  readonly update: DataPlaneUpdate;
  readonly #mask: PersistenceMask;
  readonly #shares: number[];
  readonly #hashes: number[];
  readonly #index: Map<string, number>;

  /**
   * @param update - the table and its nodes
   * @param mask - the persistence prefixes (as the scheduler uses them)
   */
  constructor(update: DataPlaneUpdate, mask: PersistenceMask) {
    this.update = update;
    this.#mask = mask;
    const { nodes, owners } = update.table;
    this.#shares = nodes.map(() => 0);
    for (const o of owners)
      if (o !== NO_OWNER && o < nodes.length) this.#shares[o] = (this.#shares[o] ?? 0) + 1;
    this.#hashes = nodes.map((id) => idHash(id, NEXT_CHOICE_BASIS));
    this.#index = new Map(nodes.map((id, i) => [id, i]));
  }

  /**
   * The bucket of a client address (IPv4-mapped addresses count as IPv4), or undefined when it is not an
   * address.
   *
   * @param clientAddress - IPv4 or IPv6 text
   */
  bucketOf(clientAddress: string): number | undefined {
    return clientBucket(normalizeClientAddress(clientAddress), this.update.table, this.#mask);
  }

  /**
   * The node a bucket's next connection goes to: its owner unless excluded, else its next choice.
   *
   * @param bucket - the bucket
   * @param excluded - node ids not to choose (those that refused this connection)
   * @returns the node id, or undefined when the bucket has no owner or every node is excluded
   */
  choose(bucket: number, excluded: ReadonlySet<string> = new Set()): string | undefined {
    const { nodes, owners } = this.update.table;
    const owner = owners[bucket];
    if (owner === undefined || owner === NO_OWNER || owner >= nodes.length) return undefined;
    const id = nodes[owner] as string;
    if (!excluded.has(id)) return id;
    const candidates: number[] = [];
    for (let i = 0; i < nodes.length; i++)
      if ((this.#shares[i] as number) > 0 && !excluded.has(nodes[i] as string)) candidates.push(i);
    if (candidates.length === 0) return undefined;
    return nodes[rendezvous(bucket, candidates, this.#hashes, this.#shares)];
  }

  /**
   * The node a client's next connection goes to (see {@link RoutingTable.choose}).
   *
   * @param clientAddress - IPv4 or IPv6 text
   * @param excluded - node ids not to choose
   */
  route(clientAddress: string, excluded?: ReadonlySet<string>): string | undefined {
    const b = this.bucketOf(clientAddress);
    return b === undefined ? undefined : this.choose(b, excluded);
  }

  /**
   * A node of the update by id.
   *
   * @param id - the node id
   */
  node(id: string): DataPlaneNode | undefined {
    return this.update.nodes.get(id);
  }

  /** Each node's number of buckets in the table (nodes without any are left out). */
  shares(): Map<string, number> {
    const out = new Map<string, number>();
    this.update.table.nodes.forEach((id, i) => {
      if ((this.#shares[i] as number) > 0) out.set(id, this.#shares[i] as number);
    });
    return out;
  }

  /** True when the table refers to the node. */
  has(id: string): boolean {
    return this.#index.has(id);
  }
}

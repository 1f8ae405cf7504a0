// The durable store's contract: the driver persists through it; the machine never sees it.
import type { NodeIdentity, Scope, Version } from '../machine/types';

/** A peer as last seen. */
export interface PeerRecord {
  /** Its identity (uuid, name, priority, version). */
  readonly node: NodeIdentity;
  /** The address it is reached at (`host:port`). */
  readonly address: string;
  /** When it was last reachable (wall ms), if ever. */
  readonly lastSeen?: number | undefined;
  /** Its last error (`(301 - 'cannot connect') ...`), if any. */
  readonly lastError?: string | undefined;
  /** Its last known Current Storage Timestamp (text). */
  readonly storageTimestamp?: string | undefined;
}

/** A conflict: two versions saved concurrently; the loser is kept in the history. */
export interface ConflictRecord {
  /** The scope. */
  readonly scope: Scope;
  /** The version that became current. */
  readonly winner: string;
  /** The version that lost (kept; restorable). */
  readonly loser: string;
  /** When this node saw it (wall ms). */
  readonly detectedAt: number;
}

/**
 * The durable store of a node. Every write is one transaction that is durable when the call returns (an
 * acknowledged save survives kill -9); a crash mid-write leaves the old state whole.
 */
export interface CmStore {
  /** Adds a version (idempotent by id). */
  putVersion(version: Version): void;
  /** Adds several versions in one transaction (catch-up), and sets `meta` keys in the same transaction. */
  putVersions(versions: readonly Version[], meta?: Readonly<Record<string, string>>): void;
  /** A version by id. */
  getVersion(id: string): Version | undefined;
  /** Every version id of a scope (or of all scopes). */
  versionIds(scope?: Scope): string[];
  /** Every version (metadata and documents) of a scope, oldest stamp first. */
  versions(scope?: Scope): Version[];
  /** The scopes present. */
  scopes(): Scope[];
  /** Replaces everything of a scope by the given versions (a node added to a cluster takes its policy). */
  replaceScope(scope: Scope, versions: readonly Version[]): void;
  /** Records a conflict (idempotent by winner/loser). */
  putConflict(conflict: ConflictRecord): void;
  /** Every conflict, newest first. */
  conflicts(): ConflictRecord[];
  /** Upserts a peer. */
  putPeer(peer: PeerRecord): void;
  /** Upserts several peers in one transaction. */
  putPeers(peers: readonly PeerRecord[]): void;
  /** Every peer. */
  peers(): PeerRecord[];
  /** Removes a peer. */
  removePeer(uuid: string): void;
  /** A small key/value for the node's own state (identity, HLC high-water mark, lock lease). */
  getMeta(key: string): string | undefined;
  /** Sets a key/value. */
  setMeta(key: string, value: string): void;
  /** Closes the database. */
  close(): void;
}

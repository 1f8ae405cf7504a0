// The replicated data model: node identities, hybrid logical clock stamps, documents and versions.

/** A node of the cluster as the others know it. */
export interface NodeIdentity {
  /** Stable UUID (canonical lower-case text), kept in the node's data directory. */
  readonly uuid: string;
  /** The node's name. */
  readonly name: string;
  /** Central-management priority: on a conflict the lower value wins (1..1000). */
  readonly priority: number;
  /** Software version, e.g. `0.1.0`. */
  readonly version: string;
}

/**
 * A hybrid logical clock stamp (Kulkarni et al.): `wall` is the physical part (ms since the epoch), `logical`
 * breaks ties within one ms, `node` (a UUID) makes stamps unique. Stamps compare by wall, then logical, then
 * node. The stamp of a policy's current version is the node's "Current Storage Timestamp".
 */
export interface Hlc {
  /** Physical time, integer ms since the epoch. */
  readonly wall: number;
  /** Logical counter, 0..65535. */
  readonly logical: number;
  /** UUID of the node that made the stamp. */
  readonly node: string;
}

/** One document of a version: a file of the policy (or of a node's configuration), as UTF-8 text or base64. */
export interface PolicyDocument {
  /** Relative path, e.g. `squid.conf`, `lists/blocked.txt` (no `..`, no leading `/`). */
  readonly name: string;
  /** The content. */
  readonly content: string;
  /** `utf8` (default) or `base64` for binary files. */
  readonly encoding?: 'utf8' | 'base64';
}

/**
 * What a version belongs to: `policy` (replicated and applied everywhere, with the admin accounts as the
 * document `accounts.json`), or `node:<uuid>` (that node's own configuration: applied only there, kept as
 * a backup on every node).
 */
export type Scope = 'policy' | `node:${string}`;

/**
 * One saved version of a scope: a full snapshot of its documents. Versions form a DAG: `parents` are the
 * versions it supersedes (every current leaf of its scope that the saving node knew of). Immutable and
 * content-addressed: `id` is the SHA-256 of its canonical encoding, so a version means the same on every
 * node.
 */
export interface Version {
  /** SHA-256 (hex) of the canonical encoding of every other field. */
  readonly id: string;
  /** The scope. */
  readonly scope: Scope;
  /** Ids of the versions it supersedes, sorted (empty for the first version of a scope). */
  readonly parents: readonly string[];
  /** Its storage timestamp. */
  readonly stamp: Hlc;
  /** The node it was saved on. */
  readonly origin: { readonly uuid: string; readonly name: string; readonly priority: number };
  /** The documents, sorted by name. */
  readonly documents: readonly PolicyDocument[];
  /** Free text from the saving admin ("Save Changes" comment). */
  readonly comment?: string;
}

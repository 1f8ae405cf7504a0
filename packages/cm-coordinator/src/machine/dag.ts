// The version DAG of one scope: its leaves, the current version among them (the conflict rule), the
// open conflicts, and an order-independent digest of a version set for catch-up.
import { createHash } from 'node:crypto';
import { compareHlc } from './hlc';
import type { Hlc, Scope, Version, VersionOrigin } from './types';
import { compareText } from './version';

/** What the conflict rule and the DAG need of a version (a full {@link Version} fits). */
export interface VersionMeta {
  /** The id. */
  readonly id: string;
  /** The scope. */
  readonly scope: Scope;
  /** The versions it supersedes. */
  readonly parents: readonly string[];
  /** Its storage timestamp. */
  readonly stamp: Hlc;
  /** The node it was saved on (its priority decides conflicts). */
  readonly origin: VersionOrigin;
}

/** An open conflict: a leaf of the DAG that lost to the current version (kept, restorable). */
export interface OpenConflict<V extends VersionMeta = Version> {
  /** The scope. */
  readonly scope: Scope;
  /** The current version. */
  readonly winner: V;
  /** The leaf that lost. */
  readonly loser: V;
}

/** The state of one scope's DAG: see {@link resolveScope}. */
export interface ScopeResolution<V extends VersionMeta = Version> {
  /** The current version (the best leaf), `undefined` for no versions. */
  readonly current: V | undefined;
  /** Every leaf, best first (the current version is the first). */
  readonly leaves: readonly V[];
  /** One open conflict per leaf but the current one, in leaf order. */
  readonly conflicts: readonly OpenConflict<V>[];
}

/**
 * The conflict rule, a total order on versions: negative when `a` wins over `b`. The lower
 * `origin.priority` wins; on equal priorities the newer `stamp` (wall, then logical); then the higher
 * stamp node (UUID text); then the higher id (only versions made with one stamp, which a node never does).
 *
 * @param a - a version
 * @param b - another version
 */
export function compareVersions(a: VersionMeta, b: VersionMeta): number {
  if (a.origin.priority !== b.origin.priority) return a.origin.priority < b.origin.priority ? -1 : 1;
  const byStamp = compareHlc(b.stamp, a.stamp);
  if (byStamp !== 0) return byStamp;
  return compareText(b.id, a.id);
}

/**
 * The leaves of a set of versions of one scope: those no version of the set lists as a parent, best
 * first by {@link compareVersions}. A version whose parents have not arrived yet is a leaf all the same;
 * its parents, when they arrive, are not.
 *
 * @param versions - versions of one scope (duplicates by id are fine)
 */
export function leafVersions<V extends VersionMeta>(versions: Iterable<V>): V[] {
  const all = new Map<string, V>();
  const superseded = new Set<string>();
  for (const v of versions) {
    all.set(v.id, v);
    for (const p of v.parents) superseded.add(p);
  }
  const out: V[] = [];
  for (const v of all.values()) if (!superseded.has(v.id)) out.push(v);
  return out.sort(compareVersions);
}

/**
 * The DAG state of one scope: its leaves, the current version (the best leaf by
 * {@link compareVersions}) and the open conflicts (every other leaf, against the current one). A
 * function of the set alone: every node holding the same versions has the same current version.
 *
 * @param versions - versions of one scope
 */
export function resolveScope<V extends VersionMeta>(versions: Iterable<V>): ScopeResolution<V> {
  const leaves = leafVersions(versions);
  const current = leaves[0];
  const conflicts =
    current === undefined
      ? []
      : leaves.slice(1).map((loser) => ({ scope: current.scope, winner: current, loser }));
  return { current, leaves, conflicts };
}

/**
 * The current version of a scope: its best leaf ({@link resolveScope}), `undefined` for none.
 *
 * @param versions - versions of one scope
 */
export function currentVersion<V extends VersionMeta>(versions: Iterable<V>): V | undefined {
  return leafVersions(versions)[0];
}

/** The digest of the empty set. */
export const EMPTY_DIGEST = digestVersionIds([]);

/**
 * An order-independent digest of a set of version ids: the SHA-256 (hex) of `cm-set/v1`, the count and
 * the sorted unique ids, one per line. Equal sets have equal digests, whatever the order they were
 * learnt in.
 *
 * @param ids - version ids (duplicates are counted once)
 */
export function digestVersionIds(ids: Iterable<string>): string {
  const sorted = [...new Set(ids)].sort(compareText);
  return createHash('sha256')
    .update(`cm-set/v1\n${sorted.length}\n${sorted.join('\n')}`, 'utf8')
    .digest('hex');
}

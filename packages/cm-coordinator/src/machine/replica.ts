// The replica machine: one node's view of the replicated versions. Pure and deterministic: events carry
// their time, actions come out; the driver persists, sends and applies.
import { type ConfigIssue, describeValue } from '@proxyha/common';
import { CmError } from '../errors';
import { compareVersions, digestVersionIds, leafVersions } from './dag';
import {
  type ClusterMember,
  DEFAULT_MAX_HOPS,
  DEFAULT_NETWORK_GROUP,
  digestMembers,
  memberIssues,
  networkPath,
  normalizeMember,
  sameMember,
  sharesNetworkGroup,
} from './groups';
import { compareHlc, formatHlc, hlcReceive, hlcSend, isCanonicalUuid, maxHlc } from './hlc';
import type {
  OfferMessage,
  PushMessage,
  ReplicationMessage,
  ScopeSummary,
  StorageFact,
  SummaryMessage,
} from './messages';
import type {
  Hlc,
  NodeIdentity,
  PeerSyncState,
  PolicyDocument,
  ReplicaAction,
  ReplicaConfig,
  ReplicaEvent,
  ReplicaSnapshot,
  ReplicaStats,
  Scope,
  ScopeSnapshot,
  Version,
  VersionRef,
} from './types';
import { checkVersion, compareText, isScope, makeVersion } from './version';

/** The default of {@link ReplicaConfig.syncIntervalMs}. */
export const DEFAULT_SYNC_INTERVAL_MS = 30_000;
/** The default of {@link ReplicaConfig.retryMs}. */
export const DEFAULT_RETRY_MS = 5_000;

interface ScopeState {
  readonly versions: Map<string, Version>;
  /** Ids listed as a parent by some held version. */
  readonly superseded: Set<string>;
  /** Leaves, best first. */
  leaves: Version[];
  digest: string | undefined;
}

interface Peer {
  node: NodeIdentity;
  up: boolean;
  /** Version id -> when last pushed (monotonic ms). */
  readonly pending: Map<string, number>;
  /** Version id -> when last requested. */
  readonly requested: Map<string, number>;
  nextSyncAt: number;
  storageTimestamp: string | undefined;
  lastSummaryAt: number | undefined;
  inSync: boolean;
  /** The digest of the membership it holds, as last heard (or as it holds after our last list to it). */
  membersDigest: string | undefined;
  /** Node uuid -> the `at` of the newest storage fact about it the peer holds (told us, or was given). */
  readonly factsKnown: Map<string, Hlc>;
  /** Summaries sent to it since it came up (every tenth carries every fact). */
  summariesSent: number;
  /** When a summary goes to it ahead of its schedule, for the storage facts it lacks (news travels on). */
  factsDueAt: number | undefined;
}

/** A storage fact this node holds about another node, and where it came from. */
interface HeldFact {
  readonly fact: StorageFact;
  /** The peer it came from. */
  readonly via: string;
  /** When it arrived (this node's ms). */
  readonly learnedAt: number;
}

/**
 * Every this many summaries to a peer carry every storage fact, not only those it lacks (a summary lost on
 * the way does not leave a fact behind for good).
 */
const FACTS_REFRESH_EVERY = 10;

/**
 * New storage facts go on to the peers that lack them with a summary this long after they arrived (ms, at most
 * the sync interval), once per burst, instead of waiting for the periodic one (when the driver asks
 * {@link ReplicaMachine.factsDue}).
 */
const FACTS_FORWARD_MS = 1000;

/** Another node's Current Storage Timestamp as this node knows it ({@link ReplicaMachine.storageFacts}). */
export interface StorageFactView {
  /** The node. */
  readonly uuid: string;
  /** Its Current Storage Timestamp (`formatHlc` of its current policy version's stamp). */
  readonly storageTimestamp: string;
  /** The id of its current policy version. */
  readonly version: string;
  /** When the node itself reported it (the physical part of its own stamp, its wall ms). */
  readonly reportedAt: number;
  /** The peer this node learned it from (the node itself for a direct peer). */
  readonly via: string;
  /** When this node learned it (its own ms). */
  readonly learnedAt: number;
  /**
   * Its current policy differs from this node's, and has for longer than the grace period: (links on the path
   * to it) x syncIntervalMs + retryMs since this node's current policy changed or the fact arrived, whichever
   * is later (the time a save takes to get there and its fact to come back with the periodic summaries).
   */
  readonly behind: boolean;
}

type Counters = { -readonly [K in keyof ReplicaStats]: number };

/** How a version reached this node: the path (uuids, this node last) and the hops its messages carry on. */
interface Route {
  readonly path: readonly string[];
  readonly hops: number;
  /** Whether the path's other nodes offered it to every peer they had (a relay, not a catch-up). */
  readonly relayed: boolean;
}

/** Routes remembered for answering requests with their path (the newest; older ones are forgotten). */
const MAX_ROUTES = 4096;

/** A version named without its documents. */
export function versionRef(v: Version): VersionRef {
  return { id: v.id, stamp: v.stamp, origin: v.origin };
}

function byStampThenId(a: Version, b: Version): number {
  return compareHlc(a.stamp, b.stamp) || compareText(a.id, b.id);
}

function short(v: VersionRef): string {
  return `${v.id.slice(0, 12)} (saved on ${v.origin.name}, priority ${v.origin.priority}, at ${formatHlc(v.stamp)})`;
}

function nodeIssues(n: unknown, path: string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const node = n as Partial<NodeIdentity> | null;
  if (node === null || typeof node !== 'object')
    return [{ path, message: `must be an object (got ${describeValue(n)})` }];
  if (!isCanonicalUuid(node.uuid))
    out.push({
      path: `${path}.uuid`,
      message: `must be a canonical lower-case UUID (got ${describeValue(node.uuid)})`,
    });
  if (typeof node.name !== 'string' || node.name === '' || node.name.length > 256)
    out.push({
      path: `${path}.name`,
      message: `must be a text of 1..256 characters (got ${describeValue(node.name)})`,
    });
  if (
    typeof node.priority !== 'number' ||
    !Number.isInteger(node.priority) ||
    node.priority < 1 ||
    node.priority > 1000
  )
    out.push({
      path: `${path}.priority`,
      message: `must be an integer 1..1000 (got ${describeValue(node.priority)})`,
    });
  if (typeof node.version !== 'string')
    out.push({ path: `${path}.version`, message: `must be a text (got ${describeValue(node.version)})` });
  return out;
}

function invalid(what: string, issues: readonly ConfigIssue[]): CmError {
  const first = issues[0] as ConfigIssue;
  return new CmError('CM_INVALID_ARGUMENT', `${what}: ${first.path}: ${first.message}`, {
    details: { issues },
  });
}

/**
 * One node's replica of the cluster's versions: the policy, and every node's own configuration.
 *
 * Feed it events with {@link ReplicaMachine.step}; carry out the actions it returns in order (a
 * `persist` must be durable before the actions after it: an `ack` or `broadcast` promises durability).
 * It never reads a clock: every event carries the node's wall time `at`, which also drives its hybrid
 * logical clock. The same events give the same actions.
 *
 * - `save`: a new version whose parents are every current leaf of the scope (so it supersedes open
 *   conflicts); `persist`, `currentChanged`, then `broadcast` of a push.
 * - `received` push: each version is checked (`checkVersion`; bad ones are skipped and logged); the new
 *   ones are `persist`ed, then `ack`ed to the sender, then `currentChanged` and `conflict` follow; missing
 *   parents are requested from the sender. Summaries, inventories and requests reconcile two version sets
 *   (anti-entropy): a node that was away catches up.
 * - Each version is fetched once: a version being fetched from one peer (after an offer, or a request
 *   answering an inventory) is not fetched from another until that fetch fails or retryMs passes, and a
 *   differing summary that arrives meanwhile is answered once the fetches have ended.
 * - The current version of a scope is its best leaf by {@link compareVersions}; other leaves are open
 *   conflicts, each reported once (`conflict`, naming both versions) and kept.
 * - Storage facts (every node's current policy version and storage timestamp, stamped by that node) ride the
 *   summaries, each to the peers that lack it, and transit nodes pass them on: {@link ReplicaMachine.storageFacts}
 *   shows the nodes behind transit nodes too.
 *
 * @example
 * ```ts
 * const m = new ReplicaMachine({ self: { uuid, name: 'mwg-1', priority: 1, version: '0.1.0' } });
 * m.step({ type: 'save', at: Date.now(), scope: 'policy', documents: [{ name: 'squid.conf', content }] });
 * // -> persist, currentChanged, broadcast { type: 'push', versions: [v] }
 * ```
 */
export class ReplicaMachine {
  readonly #self: NodeIdentity;
  readonly #syncIntervalMs: number;
  readonly #retryMs: number;
  readonly #relay: boolean;
  readonly #maxHops: number;
  readonly #members = new Map<string, ClusterMember>();
  readonly #routes = new Map<string, Route>();
  /**
   * Version id -> the peer it is being fetched from (requested after an offer, an inventory or a push that
   * named missing parents), and when: not fetched from another peer meanwhile, for retryMs or until that
   * peer goes down.
   */
  readonly #fetching = new Map<string, { from: string; at: number }>();
  /** Version id -> every peer that offered it, in order (the others are asked when the first is down). */
  readonly #offered = new Map<string, string[]>();
  /**
   * Peer uuid -> its latest summary that differs from this node's version sets, received while versions were
   * being fetched from other peers, and when the first such summary was put aside: answered (inventories)
   * once those fetches have ended, or after retryMs. Answered at once, the inventory would make that peer
   * push the versions being fetched a second time (a second copy over the WAN).
   */
  readonly #deferred = new Map<string, { summary: SummaryMessage; at: number }>();
  readonly #scopes = new Map<Scope, ScopeState>();
  readonly #byId = new Map<string, Version>();
  readonly #peers = new Map<string, Peer>();
  readonly #reported = new Set<string>();
  /** Node uuid -> the newest storage fact about it (this node's own is {@link #ownFact}). */
  readonly #facts = new Map<string, HeldFact>();
  #ownFact: StorageFact | undefined;
  /** When this node's current policy last changed (its ms; the start of the grace period). */
  #policyChangedAt: number | undefined;
  #hlc: Hlc | undefined;
  #now: number | undefined;
  #out: ReplicaAction[] = [];
  readonly #stats: Counters = {
    saves: 0,
    versionsReceived: 0,
    duplicates: 0,
    invalid: 0,
    currentChanges: 0,
    conflicts: 0,
    retransmits: 0,
    eventsOutOfOrder: 0,
    offersSent: 0,
    fetches: 0,
    loops: 0,
    hopLimited: 0,
  };

  /**
   * @param config - the node, its stored versions and timers
   * @throws {@link CmError} `CM_INVALID_ARGUMENT` naming each bad path in `details.issues`
   */
  constructor(config: ReplicaConfig) {
    const issues: ConfigIssue[] = nodeIssues(config?.self, 'self');
    const posInt = (v: unknown, path: string) => {
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 86_400_000))
        issues.push({ path, message: `must be an integer 1..86400000 ms (got ${describeValue(v)})` });
    };
    posInt(config?.syncIntervalMs, 'syncIntervalMs');
    posInt(config?.retryMs, 'retryMs');
    const maxHops = config?.maxHops;
    if (
      maxHops !== undefined &&
      (typeof maxHops !== 'number' || !Number.isInteger(maxHops) || maxHops < 1 || maxHops > 64)
    )
      issues.push({ path: 'maxHops', message: `must be an integer 1..64 (got ${describeValue(maxHops)})` });
    const groups = config?.self?.groups;
    if (
      groups !== undefined &&
      (!Array.isArray(groups) || groups.length === 0 || groups.some((g) => typeof g !== 'string' || g === ''))
    )
      issues.push({
        path: 'self.groups',
        message: `must be a non-empty array of group names (got ${describeValue(groups)})`,
      });
    const addresses = config?.addresses;
    if (
      addresses !== undefined &&
      (!Array.isArray(addresses) || addresses.some((a) => typeof a !== 'string' || a === ''))
    )
      issues.push({
        path: 'addresses',
        message: `must be an array of host:port texts (got ${describeValue(addresses)})`,
      });
    const members = config?.members ?? [];
    if (!Array.isArray(members))
      issues.push({ path: 'members', message: `must be an array (got ${describeValue(members)})` });
    else
      members.forEach((m, i) => {
        issues.push(...memberIssues(m, `members[${i}]`));
      });
    const versions: Version[] = [];
    (config?.versions ?? []).forEach((v, i) => {
      const r = checkVersion(v);
      if (r.ok) versions.push(r.value);
      else
        for (const issue of r.error.details.issues as ConfigIssue[])
          issues.push({ path: `versions[${i}].${issue.path}`, message: issue.message });
    });
    if (issues.length > 0) throw invalid('invalid replica configuration', issues);
    this.#self = config.self;
    this.#syncIntervalMs = config.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
    this.#retryMs = config.retryMs ?? DEFAULT_RETRY_MS;
    this.#relay = config.relay ?? false;
    this.#maxHops = config.maxHops ?? DEFAULT_MAX_HOPS;
    for (const m of config.members ?? []) {
      const cur = this.#members.get(m.uuid);
      if (cur === undefined || m.seq > cur.seq) this.#members.set(m.uuid, normalizeMember(m));
    }
    const stored = this.#members.get(this.#self.uuid);
    const own = normalizeMember({
      uuid: this.#self.uuid,
      name: this.#self.name,
      groups: this.#self.groups ?? [DEFAULT_NETWORK_GROUP],
      addresses: config.addresses ?? [],
      seq: 0,
    });
    this.#members.set(this.#self.uuid, {
      ...own,
      seq: stored === undefined ? 1 : sameMember(stored, own) ? stored.seq : stored.seq + 1,
    });
    let hlc = config.hlc;
    for (const v of versions) {
      this.#add(v);
      hlc = maxHlc(hlc, v.stamp);
    }
    this.#hlc = hlc === undefined ? undefined : { ...hlc, node: this.#self.uuid };
    for (const s of this.#scopes.values()) s.leaves = leafVersions(s.versions.values());
    for (const c of config.reportedConflicts ?? []) this.#reported.add(`${c.winner}>${c.loser}`);
  }

  /** This node. */
  get self(): NodeIdentity {
    return this.#self;
  }

  /** The hybrid-clock high-water mark (the latest stamp made or seen). */
  get hlc(): Hlc | undefined {
    return this.#hlc;
  }

  /** The Current Storage Timestamp: `formatHlc` of the current policy version's stamp. */
  get storageTimestamp(): string | undefined {
    const cur = this.current('policy');
    return cur === undefined ? undefined : formatHlc(cur.stamp);
  }

  /** The scopes held, sorted. */
  scopes(): Scope[] {
    return [...this.#scopes.keys()].sort(compareText);
  }

  /** A version by id. */
  version(id: string): Version | undefined {
    return this.#byId.get(id);
  }

  /** Every version of a scope (or of all), oldest stamp first. */
  versions(scope?: Scope): Version[] {
    const states =
      scope === undefined
        ? [...this.#scopes.values()]
        : [this.#scopes.get(scope)].filter((s) => s !== undefined);
    return states.flatMap((s) => [...s.versions.values()]).sort(byStampThenId);
  }

  /** Every version id of a scope (or of all), sorted. */
  ids(scope?: Scope): string[] {
    return this.versions(scope)
      .map((v) => v.id)
      .sort(compareText);
  }

  /** The current version of a scope. */
  current(scope: Scope): Version | undefined {
    return this.#scopes.get(scope)?.leaves[0];
  }

  /** The leaves of a scope, best first (the first is current, the others are open conflicts). */
  leaves(scope: Scope): readonly Version[] {
    return this.#scopes.get(scope)?.leaves ?? [];
  }

  /** The digest of a scope's version ids (`digestVersionIds`). */
  digest(scope: Scope): string {
    const s = this.#scopes.get(scope);
    if (s === undefined) return digestVersionIds([]);
    s.digest ??= digestVersionIds(s.versions.keys());
    return s.digest;
  }

  /** This node's network groups. */
  get groups(): readonly string[] {
    return this.#groupsOf(this.#self.uuid) ?? [DEFAULT_NETWORK_GROUP];
  }

  /** The cluster membership it knows, this node included, sorted by uuid. */
  members(): ClusterMember[] {
    return [...this.#members.values()].sort((a, b) => compareText(a.uuid, b.uuid));
  }

  /** The digest of {@link ReplicaMachine.members} (`membersDigest` of its summary). */
  membersDigest(): string {
    this.#membersDigest ??= digestMembers(this.#members.values());
    return this.#membersDigest;
  }

  #membersDigest: string | undefined;

  /**
   * The path this node's messages take to a node (uuids, this node first, the node last): the shortest
   * through the network groups of the membership, avoiding the peers it knows to be down. `undefined` when
   * there is none (the node is unknown, or every way to it is down).
   *
   * @param uuid - the node
   */
  path(uuid: string): string[] | undefined {
    const down = [...this.#peers.values()].filter((p) => !p.up).map((p) => p.node.uuid);
    if (down.includes(uuid)) return undefined;
    const nodes = [...this.#members.values()].map((m) => ({ name: m.uuid, groups: m.groups }));
    for (const p of this.#peers.values())
      if (!this.#members.has(p.node.uuid))
        nodes.push({ name: p.node.uuid, groups: p.node.groups ?? [DEFAULT_NETWORK_GROUP] });
    return networkPath(nodes, this.#self.uuid, uuid, down);
  }

  /**
   * The summary this node sends its peers. For a peer (`to`), its `facts` are the storage facts the peer does
   * not hold yet as far as this node knows (every fact every tenth summary), and they
   * count as given to it from then on; without `to`, every fact and nothing is counted.
   *
   * @param to - the peer it goes to
   */
  summary(to?: string): SummaryMessage {
    const scopes: ScopeSummary[] = this.scopes().map((scope) => {
      const s = this.#scopes.get(scope) as ScopeState;
      const cur = s.leaves[0];
      return {
        scope,
        digest: this.digest(scope),
        count: s.versions.size,
        ...(cur === undefined ? {} : { current: { id: cur.id, stamp: cur.stamp } }),
      };
    });
    const ts = this.storageTimestamp;
    return {
      type: 'summary',
      node: this.#self,
      ...(ts === undefined ? {} : { storageTimestamp: ts }),
      scopes,
      membersDigest: this.membersDigest(),
      facts: this.#factsFor(to),
    };
  }

  /**
   * Every other node's Current Storage Timestamp as this node knows it from the storage facts passed on in
   * summaries (direct peers and the nodes behind transit nodes alike), sorted by uuid.
   *
   * @param now - this node's wall time (ms), for the grace period of `behind`
   */
  storageFacts(now: number): StorageFactView[] {
    const cur = this.current('policy');
    const out: StorageFactView[] = [];
    for (const [uuid, h] of [...this.#facts].sort((a, b) => compareText(a[0], b[0]))) {
      const path = this.path(uuid);
      const grace =
        (path === undefined ? 1 : Math.max(1, path.length - 1)) * this.#syncIntervalMs + this.#retryMs;
      const since = Math.max(this.#policyChangedAt ?? h.learnedAt, h.learnedAt);
      out.push({
        uuid,
        storageTimestamp: formatHlc(h.fact.stamp),
        version: h.fact.version,
        reportedAt: h.fact.at.wall,
        via: h.via,
        learnedAt: h.learnedAt,
        behind: h.fact.version !== cur?.id && now - since > grace,
      });
    }
    return out;
  }

  /**
   * The peers that lack storage facts this node learned (from a summary) since it last told them, for a while
   * (1 s, or the sync interval when shorter; once per burst): a driver sends each its {@link ReplicaMachine.summary} now
   * rather than at the next sync interval, so that a save's facts cross every transit node within seconds.
   * Without it they travel with the periodic summaries (one sync interval per hop). Peers whose facts went
   * meanwhile (with a summary) are not listed.
   *
   * @param now - this node's wall time (ms)
   */
  factsDue(now: number): string[] {
    const out: string[] = [];
    for (const p of this.#upPeers()) {
      if (p.factsDueAt === undefined || now < p.factsDueAt) continue;
      p.factsDueAt = undefined;
      if (this.#factsDue(p, false).length > 0) out.push(p.node.uuid);
    }
    return out;
  }

  /** The facts for a summary to `to` (and counts them as given), or every fact. */
  #factsFor(to: string | undefined): StorageFact[] {
    const peer = to === undefined ? undefined : this.#peers.get(to);
    if (peer === undefined) {
      const all = [...this.#facts.values()].map((h) => h.fact);
      if (this.#ownFact !== undefined) all.push(this.#ownFact);
      return all.sort((a, b) => compareText(a.uuid, b.uuid));
    }
    const refresh = peer.summariesSent % FACTS_REFRESH_EVERY === FACTS_REFRESH_EVERY - 1;
    peer.summariesSent++;
    peer.factsDueAt = undefined;
    const due = this.#factsDue(peer, refresh);
    for (const f of due) peer.factsKnown.set(f.uuid, f.at);
    return due;
  }

  /**
   * The facts a peer lacks as far as this node knows, sorted by node: newer than what it told or was given,
   * and not learned from a peer that shares a network group with it (that one gives them to it: split horizon).
   * A refresh takes every fact.
   */
  #factsDue(peer: Peer, refresh: boolean): StorageFact[] {
    const out: StorageFact[] = [];
    const lacks = (f: StorageFact) => {
      const known = peer.factsKnown.get(f.uuid);
      return known === undefined || compareHlc(known, f.at) < 0;
    };
    if (this.#ownFact !== undefined && (refresh || lacks(this.#ownFact))) out.push(this.#ownFact);
    const theirs = this.#groupsOf(peer.node.uuid);
    for (const h of this.#facts.values()) {
      if (h.fact.uuid === peer.node.uuid) continue; // it knows its own best
      if (refresh) {
        out.push(h.fact);
        continue;
      }
      if (!lacks(h.fact) || h.via === peer.node.uuid) continue;
      const via = this.#groupsOf(h.via);
      if (theirs !== undefined && via !== undefined && sharesNetworkGroup(via, theirs)) continue;
      out.push(h.fact);
    }
    return out.sort((a, b) => compareText(a.uuid, b.uuid));
  }

  /** Peers (but `except`) that lack some fact get a summary 1 s (at most the sync interval) from now. */
  #forwardFacts(now: number, except?: string): void {
    const at = now + Math.min(FACTS_FORWARD_MS, this.#syncIntervalMs);
    for (const p of this.#upPeers())
      if (p.node.uuid !== except && p.factsDueAt === undefined && this.#factsDue(p, false).length > 0)
        p.factsDueAt = at;
  }

  /** Takes the newer storage facts of a peer's summary (about members and peers only). */
  #mergeFacts(from: string, facts: readonly StorageFact[], now: number): void {
    const peer = this.#peers.get(from);
    let news = false;
    for (const raw of facts) {
      if (raw.at.node !== raw.uuid) continue;
      const fact: StorageFact = {
        uuid: raw.uuid,
        version: raw.version,
        stamp: { wall: raw.stamp.wall, logical: raw.stamp.logical, node: raw.stamp.node },
        at: { wall: raw.at.wall, logical: raw.at.logical, node: raw.at.node },
      };
      // only members and peers (and this node): a peer cannot make this node keep facts about anything else
      if (fact.uuid !== this.#self.uuid && !this.#members.has(fact.uuid) && !this.#peers.has(fact.uuid))
        continue;
      if (peer !== undefined) {
        const known = peer.factsKnown.get(fact.uuid);
        if (known === undefined || compareHlc(known, fact.at) < 0) peer.factsKnown.set(fact.uuid, fact.at);
      }
      if (fact.uuid === this.#self.uuid) {
        // a newer fact about this node than its own (from before a restart): its own is stamped anew
        const own = this.#ownFact;
        if (own !== undefined && compareHlc(fact.at, own.at) > 0) {
          this.#ownFact = { ...own, at: hlcSend(fact.at, now, this.#self.uuid) };
          news = true;
        }
        continue;
      }
      const cur = this.#facts.get(fact.uuid);
      if (cur !== undefined && compareHlc(fact.at, cur.fact.at) <= 0) continue;
      this.#facts.set(fact.uuid, { fact, via: from, learnedAt: now });
      news = true;
    }
    if (news) this.#forwardFacts(now, from);
  }

  /** This node's own storage fact follows its current policy (stamped anew on each change). */
  #refreshOwnFact(now: number): void {
    const cur = this.current('policy');
    if (cur === undefined || cur.id === this.#ownFact?.version) return;
    const last = maxHlc(this.#hlc, this.#ownFact?.at);
    this.#ownFact = {
      uuid: this.#self.uuid,
      version: cur.id,
      stamp: cur.stamp,
      at: hlcSend(last, now, this.#self.uuid),
    };
    // it goes with the next summary (the driver sends one at once after a change; a tick, every sync interval)
    this.#policyChangedAt = now;
  }

  /** Forgets the facts about nodes that are neither members nor peers. */
  #dropStrangerFacts(): void {
    const stranger = (uuid: string) =>
      uuid !== this.#self.uuid && !this.#members.has(uuid) && !this.#peers.has(uuid);
    for (const uuid of [...this.#facts.keys()]) if (stranger(uuid)) this.#facts.delete(uuid);
    for (const p of this.#peers.values())
      for (const uuid of [...p.factsKnown.keys()]) if (stranger(uuid)) p.factsKnown.delete(uuid);
  }

  /** The machine's state: scopes, peers, counters. */
  snapshot(): ReplicaSnapshot {
    const scopes: ScopeSnapshot[] = this.scopes().map((scope) => {
      const s = this.#scopes.get(scope) as ScopeState;
      const cur = s.leaves[0];
      return {
        scope,
        count: s.versions.size,
        digest: this.digest(scope),
        current: cur === undefined ? undefined : versionRef(cur),
        openConflicts: s.leaves.slice(1).map(versionRef),
      };
    });
    const peers: PeerSyncState[] = [...this.#peers.values()]
      .sort((a, b) => compareText(a.node.uuid, b.node.uuid))
      .map((p) => ({
        node: p.node,
        up: p.up,
        pendingAcks: p.pending.size,
        storageTimestamp: p.storageTimestamp,
        lastSummaryAt: p.lastSummaryAt,
        inSync: p.inSync,
      }));
    return {
      self: this.#self,
      hlc: this.#hlc,
      storageTimestamp: this.storageTimestamp,
      scopes,
      peers,
      members: this.members(),
      stats: { ...this.#stats },
    };
  }

  /**
   * Handles one event and returns the actions it caused, in order.
   *
   * @param event - the event, with the node's wall time
   * @throws {@link CmError} `CM_INVALID_ARGUMENT` for a non-finite `at`, an invalid save (scope, documents)
   *   or an adopt with an invalid version
   */
  step(event: ReplicaEvent): ReplicaAction[] {
    if (typeof event?.at !== 'number' || !Number.isFinite(event.at)) {
      throw invalid('invalid event', [
        { path: 'at', message: `must be a finite number (got ${describeValue(event?.at)})` },
      ]);
    }
    let now = event.at;
    if (this.#now !== undefined && now < this.#now) {
      this.#stats.eventsOutOfOrder++;
      now = this.#now;
    }
    this.#now = now;
    this.#out = [];
    this.#refreshOwnFact(now);
    switch (event.type) {
      case 'save':
        this.#onSave(event.scope, event.documents, event.comment, event.at, now);
        break;
      case 'received':
        this.#onReceived(event.from, event.message, event.at, now);
        break;
      case 'peerUp':
        this.#onPeerUp(event.peer, now);
        if (event.summary !== undefined) this.#onSummary(event.peer.uuid, event.summary, now);
        break;
      case 'peerDown': {
        const p = this.#peers.get(event.peer);
        if (p?.up) {
          p.up = false;
          p.pending.clear();
          p.requested.clear();
          this.#log('info', `peer ${p.node.name} (${p.node.uuid}) is down`);
          this.#refetch(now, event.peer);
        }
        break;
      }
      case 'adopt':
        this.#onAdopt(event.scope, event.versions, event.at, now);
        if (event.members !== undefined) this.#mergeMembers(event.members, undefined);
        break;
      case 'member': {
        const issues = memberIssues(event.member, 'member');
        if (issues.length > 0) throw invalid('invalid member', issues);
        this.#mergeMembers([event.member], undefined);
        break;
      }
      case 'tick':
        this.#onTick(now);
        break;
      default:
        throw invalid('invalid event', [
          {
            path: 'type',
            message: `unknown event type (got ${describeValue((event as { type?: unknown }).type)})`,
          },
        ]);
    }
    // a fetch may have ended (arrived, failed, timed out): the summaries put aside meanwhile are answered
    if (this.#deferred.size > 0) this.#answerDeferred(now);
    this.#refreshOwnFact(now);
    const out = this.#out;
    this.#out = [];
    return out;
  }

  // ---- events -------------------------------------------------------------------------------------

  #onSave(
    scope: Scope,
    documents: readonly PolicyDocument[],
    comment: string | undefined,
    wall: number,
    now: number,
  ): void {
    if (!isScope(scope))
      throw invalid('invalid save', [
        { path: 'scope', message: `must be policy or node:<uuid> (got ${describeValue(scope)})` },
      ]);
    const state = this.#scopes.get(scope);
    const before = state?.leaves[0];
    const stamp = hlcSend(this.#hlc, wall, this.#self.uuid);
    const version = makeVersion({
      scope,
      parents: (state?.leaves ?? []).map((v) => v.id),
      stamp,
      origin: { uuid: this.#self.uuid, name: this.#self.name, priority: this.#self.priority },
      documents,
      comment,
    });
    this.#hlc = stamp;
    this.#stats.saves++;
    this.#add(version);
    this.#relink(scope);
    this.#out.push({ type: 'persist', versions: [version] });
    this.#afterChange(scope, before);
    const route: Route = { path: [this.#self.uuid], hops: this.#maxHops, relayed: true };
    this.#remember(version.id, route);
    this.#out.push({
      type: 'broadcast',
      message: { type: 'push', versions: [version], path: route.path, hops: route.hops },
    });
    for (const p of this.#upPeers()) p.pending.set(version.id, now);
  }

  #onReceived(from: string, message: ReplicationMessage, wall: number, now: number): void {
    if (from === this.#self.uuid) {
      this.#log(
        'warn',
        `ignored a ${describeValue(message?.type)} message that claims to come from this node`,
      );
      return;
    }
    const peer = this.#peers.get(from);
    switch (message.type) {
      case 'push':
        this.#onPush(from, message, wall, now);
        break;
      case 'offer':
        this.#onOffer(from, message, now);
        break;
      case 'members':
        this.#mergeMembers(message.members, from);
        break;
      case 'ack':
        if (peer !== undefined) for (const id of message.ids) peer.pending.delete(id);
        break;
      case 'summary':
        this.#onSummary(from, message, now);
        break;
      case 'inventory': {
        const theirs = new Set(message.ids);
        const state = this.#scopes.get(message.scope);
        const lack = state === undefined ? [] : [...state.versions.values()].filter((v) => !theirs.has(v.id));
        this.#push(from, lack, now);
        const missing = [...theirs].filter((id) => state === undefined || !state.versions.has(id));
        this.#request(from, missing, now);
        break;
      }
      case 'request': {
        const found: Version[] = [];
        for (const id of message.ids) {
          const v = this.version(id);
          if (v !== undefined) found.push(v);
        }
        // answered with the path each version came along (one push per path), so that the requester offers
        // it onward only where this node's offers did not go
        const byRoute = new Map<string, { route: Route | undefined; versions: Version[] }>();
        for (const v of found) {
          const route = this.#routes.get(v.id);
          const key = route === undefined ? '' : `${route.path.join(',')}|${route.hops}|${route.relayed}`;
          const entry = byRoute.get(key) ?? { route, versions: [] };
          entry.versions.push(v);
          byRoute.set(key, entry);
        }
        for (const { route, versions } of byRoute.values()) this.#push(from, versions, now, true, route);
        break;
      }
      default:
        this.#log(
          'warn',
          `ignored a message of unknown type ${describeValue((message as { type?: unknown }).type)} from ${from}`,
        );
    }
  }

  #onPush(from: string, message: PushMessage, wall: number, now: number): void {
    const versions: readonly unknown[] = message.versions;
    const fresh: Version[] = [];
    const ids: string[] = [];
    const seen = new Set<string>();
    for (const raw of versions) {
      const r = checkVersion(raw);
      if (!r.ok) {
        this.#stats.invalid++;
        this.#log('warn', `skipped an invalid version from ${this.#peerName(from)}: ${r.error.message}`);
        continue;
      }
      const v = r.value;
      if (seen.has(v.id)) continue;
      seen.add(v.id);
      ids.push(v.id);
      if (this.version(v.id) !== undefined) this.#stats.duplicates++;
      else fresh.push(v);
    }
    const before = new Map<Scope, Version | undefined>();
    fresh.sort(byStampThenId);
    for (const v of fresh) {
      if (!before.has(v.scope)) before.set(v.scope, this.current(v.scope));
      this.#add(v);
      this.#hlc = hlcReceive(this.#hlc, v.stamp, wall, this.#self.uuid);
      this.#stats.versionsReceived++;
    }
    for (const scope of before.keys()) this.#relink(scope);
    if (fresh.length > 0) this.#out.push({ type: 'persist', versions: fresh });
    if (ids.length > 0)
      this.#out.push({ type: 'send', to: from, message: { type: 'ack', ids: ids.sort(compareText) } });
    for (const [scope, prev] of [...before].sort((a, b) => compareText(a[0], b[0])))
      this.#afterChange(scope, prev);
    // parents not held yet: ask the sender (it held the child, so it most likely holds them)
    const missing = new Set<string>();
    for (const v of fresh) for (const p of v.parents) if (this.version(p) === undefined) missing.add(p);
    this.#request(from, [...missing], now);
    for (const v of fresh) {
      this.#fetching.delete(v.id);
      this.#offered.delete(v.id);
    }
    if (fresh.length === 0) return;
    if (this.#relay) {
      for (const p of this.#upPeers()) if (p.node.uuid !== from) this.#push(p.node.uuid, fresh, now);
      return;
    }
    // relay through transit nodes: offer the new versions (ids) to the peers the nodes before us could not
    // reach; each takes them once (a request), and offers them on in turn
    const path = message.path;
    let route: Route;
    if (path !== undefined && path.length > 0) {
      if (path.includes(this.#self.uuid)) {
        this.#stats.loops++;
        this.#log('warn', `a push from ${this.#peerName(from)} came back along its own path: not relayed`);
        return;
      }
      const hops = message.hops ?? 0;
      if (hops < 1) {
        this.#stats.hopLimited += fresh.length;
        for (const v of fresh)
          this.#remember(v.id, { path: [...path, this.#self.uuid], hops: 0, relayed: true });
        return;
      }
      route = { path: [...path, this.#self.uuid], hops: hops - 1, relayed: true };
    } else route = { path: [from, this.#self.uuid], hops: this.#maxHops, relayed: false };
    for (const v of fresh) this.#remember(v.id, route);
    this.#offerOnward(
      fresh.map((v) => v.id),
      route,
      from,
    );
  }

  /**
   * Offers versions to every peer that is up, not on the route, and in no group of a node that reached its
   * peers already: the nodes before this one on a relay's path, or the sender of a catch-up (its peers catch
   * up from it).
   */
  #offerOnward(ids: readonly string[], route: Route, from: string): void {
    if (ids.length === 0) return;
    const on = new Set(route.path);
    const before = route.relayed ? route.path.filter((u) => u !== this.#self.uuid) : [from];
    for (const p of this.#upPeers()) {
      const uuid = p.node.uuid;
      if (uuid === from || on.has(uuid)) continue;
      const groups = this.#groupsOf(uuid);
      if (
        groups !== undefined &&
        before.some((n) => {
          const g = this.#groupsOf(n);
          return g !== undefined && sharesNetworkGroup(g, groups);
        })
      )
        continue; // a node before us shares a group with it: it offered or pushed them there
      this.#stats.offersSent++;
      const offer: OfferMessage = {
        type: 'offer',
        ids: [...ids].sort(compareText),
        path: route.path,
        hops: route.hops,
      };
      this.#out.push({ type: 'send', to: uuid, message: offer });
    }
  }

  #onOffer(from: string, message: OfferMessage, now: number): void {
    if (message.path.includes(this.#self.uuid)) {
      this.#stats.loops++;
      return;
    }
    const want: string[] = [];
    for (const id of message.ids) {
      if (this.#byId.has(id)) continue;
      const sources = this.#offered.get(id) ?? [];
      if (!sources.includes(from)) sources.push(from);
      this.#offered.set(id, sources);
      const f = this.#fetching.get(id);
      if (f !== undefined && this.#peers.get(f.from)?.up && now - f.at < this.#retryMs) continue;
      this.#fetching.set(id, { from, at: now });
      want.push(id);
    }
    this.#fetch(from, want, now);
  }

  #fetch(from: string, ids: readonly string[], now: number): void {
    if (ids.length === 0) return;
    this.#stats.fetches += ids.length;
    const peer = this.#peers.get(from);
    if (peer !== undefined) for (const id of ids) peer.requested.set(id, now);
    this.#out.push({ type: 'send', to: from, message: { type: 'request', ids: [...ids].sort(compareText) } });
  }

  /**
   * Versions being fetched whose answer is overdue (or whose source went `down`): asked of the next peer that
   * offered them and is up (a second transit node); forgotten when no other peer offered them.
   */
  #refetch(now: number, down?: string): void {
    const asks = new Map<string, string[]>();
    for (const [id, f] of this.#fetching) {
      if (this.#byId.has(id)) {
        this.#fetching.delete(id);
        this.#offered.delete(id);
        continue;
      }
      if (f.from !== down && now - f.at < this.#retryMs) continue;
      const sources = (this.#offered.get(id) ?? []).filter((u) => this.#peers.get(u)?.up);
      if (sources.length === 0) {
        this.#fetching.delete(id); // no other peer offered it: catch-up (summaries) will bring it
        continue;
      }
      // the next source after the one asked last, round robin
      const next = sources[(sources.indexOf(f.from) + 1) % sources.length] as string;
      this.#fetching.set(id, { from: next, at: now });
      asks.set(next, [...(asks.get(next) ?? []), id]);
    }
    for (const [from, ids] of [...asks].sort((a, b) => compareText(a[0], b[0]))) this.#fetch(from, ids, now);
  }

  #remember(id: string, route: Route): void {
    this.#routes.delete(id);
    this.#routes.set(id, route);
    if (this.#routes.size > MAX_ROUTES) {
      const oldest = this.#routes.keys().next().value;
      if (oldest !== undefined) this.#routes.delete(oldest);
    }
  }

  /** A node's network groups: its membership entry, else what it said in its hello. */
  #groupsOf(uuid: string): readonly string[] | undefined {
    return this.#members.get(uuid)?.groups ?? this.#peers.get(uuid)?.node.groups;
  }

  /**
   * Merges a membership list (from a peer, or from the node this one was added from): per node the entry
   * with the higher counter wins; this node's own entry is its own (a newer copy elsewhere raises its
   * counter). Answers the sender with the full list when the sender lacks something this node knows.
   */
  #mergeMembers(list: readonly ClusterMember[], from: string | undefined): void {
    let changed = false;
    const theirs = new Map<string, ClusterMember>();
    for (const raw of list) {
      if (memberIssues(raw, 'member').length > 0) continue;
      const m = normalizeMember(raw);
      theirs.set(m.uuid, m);
      const cur = this.#members.get(m.uuid);
      if (m.uuid === this.#self.uuid) {
        if (cur !== undefined && m.seq >= cur.seq && !sameMember(m, cur)) {
          this.#members.set(m.uuid, { ...cur, seq: m.seq + 1 });
          changed = true;
        }
        continue;
      }
      if (cur === undefined || m.seq > cur.seq) {
        this.#members.set(m.uuid, m);
        changed = true;
      }
    }
    if (changed) {
      this.#membersDigest = undefined;
      this.#dropStrangerFacts();
      this.#out.push({ type: 'members', members: this.members() });
      this.#log(
        'info',
        `cluster membership: ${this.#members.size} node(s), digest ${this.membersDigest().slice(0, 12)}`,
      );
    }
    if (from === undefined) {
      this.#announceMembers();
      return;
    }
    const peer = this.#peers.get(from);
    if (peer !== undefined) peer.membersDigest = digestMembers(theirs.values());
    // the sender lacks something this node knows: the list goes back at once
    const lacks = [...this.#members.values()].some((m) => {
      const t = theirs.get(m.uuid);
      return t === undefined || t.seq < m.seq;
    });
    if (lacks) this.#sendMembers(from);
    // news travels on to the other peers with the next tick (once per burst of lists)
  }

  #sendMembers(to: string): void {
    const peer = this.#peers.get(to);
    if (peer !== undefined) peer.membersDigest = this.membersDigest();
    this.#out.push({ type: 'send', to, message: { type: 'members', members: this.members() } });
  }

  /** Sends the membership to every peer that is up and, as far as this node knows, holds another. */
  #announceMembers(): void {
    const mine = this.membersDigest();
    // a peer not heard of yet sends its summary (with its digest) when it comes up: compared then
    for (const p of this.#upPeers())
      if (p.membersDigest !== undefined && p.membersDigest !== mine) this.#sendMembers(p.node.uuid);
  }

  #onSummary(from: string, summary: SummaryMessage, now: number): void {
    const peer = this.#peers.get(from);
    const differ = this.#differingScopes(summary);
    // versions being fetched from another peer: the inventory waits (it would bring them a second time)
    if (differ.length > 0 && this.#fetchingElsewhere(from, now))
      this.#deferred.set(from, { summary, at: this.#deferred.get(from)?.at ?? now });
    else {
      this.#deferred.delete(from);
      this.#sendInventories(from, differ);
    }
    if (summary.membersDigest !== undefined) {
      if (peer !== undefined) peer.membersDigest = summary.membersDigest;
      if (summary.membersDigest !== this.membersDigest()) this.#sendMembers(from);
    }
    if (summary.facts !== undefined) this.#mergeFacts(from, summary.facts, now);
    if (peer !== undefined) {
      if (summary.node?.uuid === from) peer.node = summary.node;
      peer.storageTimestamp = summary.storageTimestamp;
      peer.lastSummaryAt = now;
      peer.inSync = differ.length === 0;
    }
  }

  /** The scopes whose version set differs between this node and a peer's summary, sorted. */
  #differingScopes(summary: SummaryMessage): Scope[] {
    const theirs = new Map(summary.scopes.map((s) => [s.scope, s.digest]));
    const scopes = [...new Set([...this.#scopes.keys(), ...theirs.keys()])].sort(compareText);
    return scopes.filter((scope) => this.digest(scope) !== (theirs.get(scope) ?? digestVersionIds([])));
  }

  #sendInventories(to: string, scopes: readonly Scope[]): void {
    for (const scope of scopes)
      this.#out.push({ type: 'send', to, message: { type: 'inventory', scope, ids: this.ids(scope) } });
  }

  /**
   * Whether a version is being fetched from a peer other than `peer`: requested (after an offer, an inventory
   * or a push naming missing parents) from a peer that is up, within retryMs, and not arrived yet.
   */
  #fetchingElsewhere(peer: string, now: number): boolean {
    for (const [id, f] of this.#fetching)
      if (f.from !== peer && now - f.at < this.#retryMs && !this.#byId.has(id) && this.#peers.get(f.from)?.up)
        return true;
    return false;
  }

  /**
   * Answers the summaries put aside while versions were being fetched, once no fetch from another peer is
   * under way (or after retryMs): compared with this node's version sets as they are now, so that what
   * arrived meanwhile is not asked for again.
   */
  #answerDeferred(now: number): void {
    for (const [uuid, d] of [...this.#deferred].sort((a, b) => compareText(a[0], b[0]))) {
      const peer = this.#peers.get(uuid);
      if (peer === undefined || !peer.up) {
        this.#deferred.delete(uuid); // it sends its summary again when it is back
        continue;
      }
      if (now - d.at < this.#retryMs && this.#fetchingElsewhere(uuid, now)) continue;
      this.#deferred.delete(uuid);
      const differ = this.#differingScopes(d.summary);
      this.#sendInventories(uuid, differ);
      peer.inSync = differ.length === 0;
    }
  }

  #onPeerUp(node: NodeIdentity, now: number): void {
    const issues = nodeIssues(node, 'peer');
    if (issues.length > 0) throw invalid('invalid peerUp', issues);
    if (node.uuid === this.#self.uuid) {
      this.#log('warn', 'ignored peerUp naming this node');
      return;
    }
    let p = this.#peers.get(node.uuid);
    if (p === undefined) {
      p = {
        node,
        up: true,
        pending: new Map(),
        requested: new Map(),
        nextSyncAt: now + this.#syncIntervalMs,
        storageTimestamp: undefined,
        lastSummaryAt: undefined,
        inSync: false,
        membersDigest: undefined,
        factsKnown: new Map(),
        summariesSent: 0,
        factsDueAt: undefined,
      };
      this.#peers.set(node.uuid, p);
    } else {
      p.node = node;
      p.up = true;
      p.nextSyncAt = now + this.#syncIntervalMs;
      // what it holds is unknown after a reconnect (it may have restarted): every fact goes again
      p.factsKnown.clear();
      p.summariesSent = 0;
    }
    this.#log('info', `peer ${node.name} (${node.uuid}) is up`);
    this.#out.push({ type: 'send', to: node.uuid, message: this.summary(node.uuid) });
  }

  #onAdopt(scope: Scope, versions: readonly Version[], wall: number, now: number): void {
    if (!isScope(scope))
      throw invalid('invalid adopt', [
        { path: 'scope', message: `must be policy or node:<uuid> (got ${describeValue(scope)})` },
      ]);
    const checked: Version[] = [];
    const issues: ConfigIssue[] = [];
    versions.forEach((raw, i) => {
      const r = checkVersion(raw);
      if (!r.ok)
        for (const issue of r.error.details.issues as ConfigIssue[])
          issues.push({ path: `versions[${i}].${issue.path}`, message: issue.message });
      else if (r.value.scope !== scope)
        issues.push({ path: `versions[${i}].scope`, message: `must be ${scope} (got ${r.value.scope})` });
      else checked.push(r.value);
    });
    if (issues.length > 0) throw invalid('invalid adopt', issues);
    const before = this.current(scope);
    for (const id of this.#scopes.get(scope)?.versions.keys() ?? []) this.#byId.delete(id);
    this.#scopes.delete(scope);
    const unique = new Map(checked.map((v) => [v.id, v]));
    const list = [...unique.values()].sort(byStampThenId);
    for (const v of list) {
      this.#add(v);
      this.#hlc = hlcReceive(this.#hlc, v.stamp, wall, this.#self.uuid);
    }
    this.#relink(scope);
    for (const p of this.#peers.values()) {
      for (const id of p.pending.keys())
        if (!unique.has(id) && this.version(id) === undefined) p.pending.delete(id);
    }
    this.#out.push({ type: 'replaceScope', scope, versions: list });
    this.#log('info', `${scope} replaced by ${list.length} version(s) of the node this node was added from`);
    this.#afterChange(scope, before);
    for (const p of this.#upPeers()) {
      p.nextSyncAt = now + this.#syncIntervalMs;
      this.#out.push({ type: 'send', to: p.node.uuid, message: this.summary(p.node.uuid) });
    }
  }

  #onTick(now: number): void {
    this.#refetch(now);
    this.#announceMembers();
    for (const p of this.#upPeers()) {
      for (const [id, at] of p.requested) if (now - at >= this.#retryMs) p.requested.delete(id);
      const due: Version[] = [];
      for (const [id, at] of p.pending) {
        if (now - at < this.#retryMs) continue;
        const v = this.version(id);
        if (v === undefined) p.pending.delete(id);
        else due.push(v);
      }
      if (due.length > 0) {
        this.#stats.retransmits++;
        due.sort(byStampThenId);
        for (const v of due) p.pending.set(v.id, now);
        this.#out.push({ type: 'send', to: p.node.uuid, message: { type: 'push', versions: due } });
      }
      if (now >= p.nextSyncAt) {
        p.nextSyncAt = now + this.#syncIntervalMs;
        this.#out.push({ type: 'send', to: p.node.uuid, message: this.summary(p.node.uuid) });
      }
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------

  #upPeers(): Peer[] {
    return [...this.#peers.values()]
      .filter((p) => p.up)
      .sort((a, b) => compareText(a.node.uuid, b.node.uuid));
  }

  #peerName(uuid: string): string {
    const p = this.#peers.get(uuid);
    return p === undefined ? uuid : `${p.node.name} (${uuid})`;
  }

  /** Pushes versions to a peer, skipping those pushed within retryMs and not yet acknowledged. */
  #push(to: string, versions: readonly Version[], now: number, force = false, route?: Route): void {
    const peer = this.#peers.get(to);
    const send = versions.filter((v) => {
      const at = peer?.pending.get(v.id);
      return force || at === undefined || now - at >= this.#retryMs;
    });
    if (send.length === 0) return;
    send.sort(byStampThenId);
    if (peer !== undefined) for (const v of send) peer.pending.set(v.id, now);
    const relay = route?.relayed ? { path: route.path, hops: route.hops } : {};
    this.#out.push({ type: 'send', to, message: { type: 'push', versions: send, ...relay } });
  }

  /**
   * Requests ids from a peer, skipping those held, those requested from it within retryMs and those being
   * fetched from another peer. What it asks for counts as being fetched from it: an offer of the same version
   * by another peer meanwhile is not fetched again (that peer is the fallback if this fetch fails).
   */
  #request(from: string, ids: readonly string[], now: number): void {
    const peer = this.#peers.get(from);
    const want = ids.filter((id) => {
      if (this.#byId.has(id)) return false;
      const at = peer?.requested.get(id);
      // being fetched elsewhere (and that peer is up): one copy over the WAN is enough
      const f = this.#fetching.get(id);
      if (f !== undefined && f.from !== from && this.#peers.get(f.from)?.up && now - f.at < this.#retryMs)
        return false;
      return at === undefined || now - at >= this.#retryMs;
    });
    if (want.length === 0) return;
    want.sort(compareText);
    if (peer !== undefined) for (const id of want) peer.requested.set(id, now);
    for (const id of want) this.#fetching.set(id, { from, at: now });
    this.#out.push({ type: 'send', to: from, message: { type: 'request', ids: want } });
  }

  #add(v: Version): void {
    let s = this.#scopes.get(v.scope);
    if (s === undefined) {
      s = { versions: new Map(), superseded: new Set(), leaves: [], digest: undefined };
      this.#scopes.set(v.scope, s);
    }
    s.versions.set(v.id, v);
    this.#byId.set(v.id, v);
    for (const p of v.parents) s.superseded.add(p);
    s.digest = undefined;
  }

  /** Recomputes a scope's leaves incrementally from its versions and superseded ids. */
  #relink(scope: Scope): void {
    const s = this.#scopes.get(scope);
    if (s === undefined) return;
    const leaves: Version[] = [];
    for (const v of s.versions.values()) if (!s.superseded.has(v.id)) leaves.push(v);
    s.leaves = leaves.sort(compareVersions);
  }

  /** Emits currentChanged and new conflicts of a scope after its versions changed. */
  #afterChange(scope: Scope, before: Version | undefined): void {
    const s = this.#scopes.get(scope);
    const cur = s?.leaves[0];
    if (cur !== undefined && cur.id !== before?.id) {
      this.#stats.currentChanges++;
      this.#out.push({
        type: 'currentChanged',
        scope,
        version: cur,
        previous: before,
        apply: scope === 'policy' || scope === `node:${this.#self.uuid}`,
      });
    }
    if (s === undefined || cur === undefined) return;
    for (const loser of s.leaves.slice(1)) {
      const key = `${cur.id}>${loser.id}`;
      if (this.#reported.has(key)) continue;
      this.#reported.add(key);
      this.#stats.conflicts++;
      const winner = versionRef(cur);
      const lost = versionRef(loser);
      this.#out.push({ type: 'conflict', scope, winner, loser: lost });
      this.#log(
        'warn',
        `conflict in ${scope}: version ${short(winner)} wins over ${short(lost)}; the losing version is kept`,
      );
    }
  }

  #log(level: 'info' | 'warn', message: string): void {
    this.#out.push({ type: 'log', level, message });
  }
}

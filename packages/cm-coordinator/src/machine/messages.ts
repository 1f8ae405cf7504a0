// The messages nodes exchange: replication (summary, inventory, request, push, ack) and the admin lock
// lease. Plain data: the transport frames and encodes them (JSON); `checkCmMessage` validates one.
import { type ConfigIssue, describeValue, err, ok, type Result } from '@proxyha/common';
import { CmError } from '../errors';
import { isGroupName, memberIssues } from './groups';
import { hlcIssues, isCanonicalUuid } from './hlc';
import type { Hlc, NodeIdentity, Scope, Version } from './types';
import { isScope } from './version';

/** One scope in a {@link SummaryMessage}. */
export interface ScopeSummary {
  /** The scope. */
  readonly scope: Scope;
  /** Digest of the ids of every version of the scope the sender holds (`digestVersionIds`). */
  readonly digest: string;
  /** How many versions it holds. */
  readonly count: number;
  /** Its current version of the scope: id and stamp. */
  readonly current?:
    | {
        /** The version id. */
        readonly id: string;
        /** Its storage timestamp. */
        readonly stamp: Hlc;
      }
    | undefined;
}

/**
 * What a node knows of another node's (or its own) Current Storage Timestamp, passed on in summaries so that
 * the nodes behind transit nodes are seen too. Facts about one node are all made by that node: the one with
 * the newer `at` wins, so an older fact coming back along another way is not news.
 */
export interface StorageFact {
  /** The node the fact is about. */
  readonly uuid: string;
  /** The id of its current policy version. */
  readonly version: string;
  /** That version's stamp (its Current Storage Timestamp is `formatHlc(stamp)`). */
  readonly stamp: Hlc;
  /** The node's own hybrid-clock stamp from when its current policy became this version. */
  readonly at: Hlc;
}

/**
 * What a node holds, scope by scope: sent when a peer comes up and every sync interval. A peer whose
 * digest of a scope differs answers with an {@link InventoryMessage}.
 */
export interface SummaryMessage {
  /** `summary`. */
  readonly type: 'summary';
  /** The sender. */
  readonly node: NodeIdentity;
  /** The sender's Current Storage Timestamp (`formatHlc` of its current policy stamp), if it has a policy. */
  readonly storageTimestamp?: string | undefined;
  /** One entry per scope the sender holds versions of, sorted by scope. */
  readonly scopes: readonly ScopeSummary[];
  /** Digest of the cluster membership the sender knows: a peer whose digest differs sends a {@link MembersMessage}. */
  readonly membersDigest?: string | undefined;
  /**
   * The facts about Current Storage Timestamps (its own among them) that the sender has not given the receiver
   * yet, at most one per cluster member. Absent from older nodes; present (maybe empty) from nodes that take
   * them.
   */
  readonly facts?: readonly StorageFact[] | undefined;
}

/** Every version id the sender holds of one scope: the receiver pushes what the sender lacks and requests the rest. */
export interface InventoryMessage {
  /** `inventory`. */
  readonly type: 'inventory';
  /** The scope. */
  readonly scope: Scope;
  /** The ids, sorted. */
  readonly ids: readonly string[];
}

/** Asks for versions by id: the receiver pushes those it holds. */
export interface RequestMessage {
  /** `request`. */
  readonly type: 'request';
  /** The ids wanted. */
  readonly ids: readonly string[];
}

/** Versions (full snapshots): a new save, or catch-up. The receiver validates, persists, then acks. */
export interface PushMessage {
  /** `push`. */
  readonly type: 'push';
  /** The versions. */
  readonly versions: readonly Version[];
  /**
   * The uuids of the nodes the versions came through, from the node they were saved on to the sender (absent
   * for catch-up): the receiver offers them onward only to peers none of these nodes shares a group with.
   */
  readonly path?: readonly string[] | undefined;
  /** How many more nodes may offer them onward (absent for catch-up: the limit starts again). */
  readonly hops?: number | undefined;
}

/**
 * Relay through transit nodes: "I hold these versions" to a peer of another network group, ids only (a
 * version crosses each link once, when the peer lacks it: it answers with a {@link RequestMessage}). Never
 * sent to a node on `path`; dropped by a node that finds itself on it.
 */
export interface OfferMessage {
  /** `offer`. */
  readonly type: 'offer';
  /** The version ids. */
  readonly ids: readonly string[];
  /** The uuids of the nodes the versions came through, from the node they were saved on to the sender. */
  readonly path: readonly string[];
  /** How many more nodes may offer them onward (0: the receiver keeps them to itself). */
  readonly hops: number;
}

/** The cluster membership the sender knows (every node, its network groups and addresses). */
export interface MembersMessage {
  /** `members`. */
  readonly type: 'members';
  /** Every member, the sender included. */
  readonly members: readonly import('./groups').ClusterMember[];
}

/** The receiver of a push holds these versions durably (sent only after its write). */
export interface AckMessage {
  /** `ack`. */
  readonly type: 'ack';
  /** The ids now durable on the sender of the ack. */
  readonly ids: readonly string[];
}

/** The replication messages. */
export type ReplicationMessage =
  | SummaryMessage
  | InventoryMessage
  | RequestMessage
  | PushMessage
  | AckMessage
  | OfferMessage
  | MembersMessage;

/** Who holds the admin lock: the node the GUI is attached to. */
export interface LeaseHolder {
  /** The node's UUID. */
  readonly uuid: string;
  /** Its name. */
  readonly name: string;
  /** Its central-management priority (breaks ties between concurrent acquisitions). */
  readonly priority: number;
  /** The address its GUI is reached at (the redirect offered to an admin refused elsewhere). */
  readonly address: string;
}

/**
 * The admin lock lease: one admin session is attached to the cluster. Each receiver times it out
 * `ttlMs` after it last heard of it (its own clock), so clock offsets between nodes do not matter.
 */
export interface AdminLease {
  /** The node holding it. */
  readonly holder: LeaseHolder;
  /** The session (opaque id given by the driver). */
  readonly session: string;
  /** The stamp of the acquisition: the earliest wins among concurrent ones. */
  readonly stamp: Hlc;
  /** How long it stays valid without renewal, ms. */
  readonly ttlMs: number;
  /** Renewal counter (0 at acquisition). */
  readonly renewal: number;
}

/** The holder announces (acquisition, renewal) or defends its lease. */
export interface LeaseMessage {
  /** `lease`. */
  readonly type: 'lease';
  /** The lease. */
  readonly lease: AdminLease;
}

/** The holder gave the lease up (logout). */
export interface LeaseReleaseMessage {
  /** `leaseRelease`. */
  readonly type: 'leaseRelease';
  /** The lease released. */
  readonly lease: AdminLease;
}

/** The admin lock's messages. */
export type LockMessage = LeaseMessage | LeaseReleaseMessage;

/** Every message between central-management nodes. */
export type CmMessage = ReplicationMessage | LockMessage;

const HEX64 = /^[0-9a-f]{64}$/;
const MAX_IDS = 1_000_000;
const MAX_MEMBERS = 10_000;
const MAX_PATH = 64;

/**
 * Validates the shape of a message from a peer (after decoding). The versions of a push are only
 * checked to be objects here: the machine validates each with `checkVersion` and skips the bad ones.
 *
 * @param value - the decoded message
 * @returns the message, or a `CmError` `CM_BAD_MESSAGE` naming each bad path in `details.issues`
 */
export function checkCmMessage(value: unknown): Result<CmMessage, CmError> {
  const issues: ConfigIssue[] = [];
  const m = value as Record<string, unknown> | null;
  if (m === null || typeof m !== 'object' || Array.isArray(m)) {
    issues.push({ path: '(root)', message: `must be an object (got ${describeValue(value)})` });
  } else {
    const ids = (v: unknown, path: string) => {
      if (!Array.isArray(v) || v.length > MAX_IDS)
        issues.push({ path, message: `must be an array of ids (got ${describeValue(v)})` });
      else
        v.forEach((id, i) => {
          if (typeof id !== 'string' || !HEX64.test(id))
            issues.push({
              path: `${path}[${i}]`,
              message: `must be a version id (got ${describeValue(id)})`,
            });
        });
    };
    switch (m.type) {
      case 'summary': {
        nodeIssues(m.node, 'node', issues);
        if (
          m.membersDigest !== undefined &&
          (typeof m.membersDigest !== 'string' || !HEX64.test(m.membersDigest))
        )
          issues.push({
            path: 'membersDigest',
            message: `must be 64 hex digits (got ${describeValue(m.membersDigest)})`,
          });
        if (m.storageTimestamp !== undefined && typeof m.storageTimestamp !== 'string')
          issues.push({
            path: 'storageTimestamp',
            message: `must be a text (got ${describeValue(m.storageTimestamp)})`,
          });
        if (m.facts !== undefined) factIssues(m.facts, 'facts', issues);
        if (!Array.isArray(m.scopes))
          issues.push({ path: 'scopes', message: `must be an array (got ${describeValue(m.scopes)})` });
        else
          m.scopes.forEach((s: unknown, i) => {
            const p = `scopes[${i}]`;
            const e = s as Record<string, unknown> | null;
            if (e === null || typeof e !== 'object') {
              issues.push({ path: p, message: 'must be an object' });
              return;
            }
            if (!isScope(e.scope))
              issues.push({ path: `${p}.scope`, message: `must be a scope (got ${describeValue(e.scope)})` });
            if (typeof e.digest !== 'string' || !HEX64.test(e.digest))
              issues.push({
                path: `${p}.digest`,
                message: `must be 64 hex digits (got ${describeValue(e.digest)})`,
              });
            if (typeof e.count !== 'number' || !Number.isInteger(e.count) || e.count < 0)
              issues.push({ path: `${p}.count`, message: `must be a count (got ${describeValue(e.count)})` });
            if (e.current !== undefined) {
              const c = e.current as Record<string, unknown> | null;
              if (c === null || typeof c !== 'object' || typeof c.id !== 'string' || !HEX64.test(c.id))
                issues.push({
                  path: `${p}.current.id`,
                  message: `must be a version id (got ${describeValue(c?.id)})`,
                });
              else issues.push(...hlcIssues(c.stamp, `${p}.current.stamp`));
            }
          });
        break;
      }
      case 'inventory':
        if (!isScope(m.scope))
          issues.push({ path: 'scope', message: `must be a scope (got ${describeValue(m.scope)})` });
        ids(m.ids, 'ids');
        break;
      case 'request':
      case 'ack':
        ids(m.ids, 'ids');
        break;
      case 'offer':
        ids(m.ids, 'ids');
        pathIssues(m.path, m.hops, 'path', issues, true);
        break;
      case 'members':
        if (!Array.isArray(m.members) || m.members.length > MAX_MEMBERS)
          issues.push({
            path: 'members',
            message: `must be an array of up to ${MAX_MEMBERS} members (got ${describeValue(m.members)})`,
          });
        else
          m.members.forEach((e: unknown, i) => {
            issues.push(...memberIssues(e, `members[${i}]`));
          });
        break;
      case 'push':
        if (m.path !== undefined || m.hops !== undefined) pathIssues(m.path, m.hops, 'path', issues, true);
        if (!Array.isArray(m.versions))
          issues.push({ path: 'versions', message: `must be an array (got ${describeValue(m.versions)})` });
        else
          m.versions.forEach((v: unknown, i) => {
            if (v === null || typeof v !== 'object')
              issues.push({ path: `versions[${i}]`, message: `must be an object (got ${describeValue(v)})` });
          });
        break;
      case 'lease':
      case 'leaseRelease':
        leaseIssues(m.lease, 'lease', issues);
        break;
      default:
        issues.push({ path: 'type', message: `unknown message type (got ${describeValue(m.type)})` });
    }
  }
  if (issues.length > 0) {
    const first = issues[0] as ConfigIssue;
    return err(
      new CmError('CM_BAD_MESSAGE', `bad message: ${first.path}: ${first.message}`, {
        details: { issues },
        stack: false,
      }),
    );
  }
  return ok(value as CmMessage);
}

function nodeIssues(v: unknown, path: string, out: ConfigIssue[]): void {
  const n = v as Record<string, unknown> | null;
  if (n === null || typeof n !== 'object')
    return void out.push({ path, message: `must be an object (got ${describeValue(v)})` });
  if (!isCanonicalUuid(n.uuid))
    out.push({ path: `${path}.uuid`, message: `must be a canonical UUID (got ${describeValue(n.uuid)})` });
  if (typeof n.name !== 'string')
    out.push({ path: `${path}.name`, message: `must be a text (got ${describeValue(n.name)})` });
  if (typeof n.priority !== 'number' || !Number.isInteger(n.priority) || n.priority < 1 || n.priority > 1000)
    out.push({
      path: `${path}.priority`,
      message: `must be an integer 1..1000 (got ${describeValue(n.priority)})`,
    });
  if ('version' in n && typeof n.version !== 'string')
    out.push({ path: `${path}.version`, message: `must be a text (got ${describeValue(n.version)})` });
  if ('groups' in n && n.groups !== undefined && (!Array.isArray(n.groups) || !n.groups.every(isGroupName)))
    out.push({
      path: `${path}.groups`,
      message: `must be an array of group names (got ${describeValue(n.groups)})`,
    });
  if ('address' in n && typeof n.address !== 'string')
    out.push({ path: `${path}.address`, message: `must be a text (got ${describeValue(n.address)})` });
}

/** Checks the storage facts of a summary: at most one per node, {@link MAX_MEMBERS} in all. */
function factIssues(v: unknown, at: string, out: ConfigIssue[]): void {
  if (!Array.isArray(v) || v.length > MAX_MEMBERS)
    return void out.push({
      path: at,
      message: `must be an array of up to ${MAX_MEMBERS} facts (got ${describeValue(v)})`,
    });
  const seen = new Set<string>();
  v.forEach((f: unknown, i) => {
    const p = `${at}[${i}]`;
    const e = f as Record<string, unknown> | null;
    if (e === null || typeof e !== 'object' || Array.isArray(e)) {
      out.push({ path: p, message: `must be an object (got ${describeValue(f)})` });
      return;
    }
    if (!isCanonicalUuid(e.uuid))
      out.push({ path: `${p}.uuid`, message: `must be a canonical UUID (got ${describeValue(e.uuid)})` });
    else if (seen.has(e.uuid)) out.push({ path: `${p}.uuid`, message: `repeats ${e.uuid}` });
    else seen.add(e.uuid);
    if (typeof e.version !== 'string' || !HEX64.test(e.version))
      out.push({ path: `${p}.version`, message: `must be a version id (got ${describeValue(e.version)})` });
    out.push(...hlcIssues(e.stamp, `${p}.stamp`), ...hlcIssues(e.at, `${p}.at`));
    const by = (e.at as { node?: unknown } | null)?.node;
    if (isCanonicalUuid(e.uuid) && isCanonicalUuid(by) && by !== e.uuid)
      out.push({ path: `${p}.at.node`, message: `must be the fact's node ${e.uuid} (got ${by})` });
  });
}

/** Checks a path (node uuids, no repeats) and its hop count. */
function pathIssues(path: unknown, hops: unknown, at: string, out: ConfigIssue[], required: boolean): void {
  if (!Array.isArray(path) || path.length > MAX_PATH || (required && path.length === 0))
    out.push({
      path: at,
      message: `must be an array of 1..${MAX_PATH} node uuids (got ${describeValue(path)})`,
    });
  else if (!path.every(isCanonicalUuid) || new Set(path).size !== path.length)
    out.push({ path: at, message: 'must be distinct canonical node uuids' });
  if (typeof hops !== 'number' || !Number.isInteger(hops) || hops < 0 || hops > MAX_PATH)
    out.push({ path: 'hops', message: `must be an integer 0..${MAX_PATH} (got ${describeValue(hops)})` });
}

function leaseIssues(v: unknown, path: string, out: ConfigIssue[]): void {
  const l = v as Record<string, unknown> | null;
  if (l === null || typeof l !== 'object')
    return void out.push({ path, message: `must be an object (got ${describeValue(v)})` });
  nodeIssues(l.holder, `${path}.holder`, out);
  if (typeof (l.holder as Record<string, unknown> | undefined)?.address !== 'string')
    out.push({ path: `${path}.holder.address`, message: 'must be a text' });
  if (typeof l.session !== 'string' || l.session === '' || l.session.length > 256)
    out.push({
      path: `${path}.session`,
      message: `must be a text of 1..256 characters (got ${describeValue(l.session)})`,
    });
  out.push(...hlcIssues(l.stamp, `${path}.stamp`));
  if (typeof l.ttlMs !== 'number' || !Number.isInteger(l.ttlMs) || l.ttlMs < 1 || l.ttlMs > 86_400_000)
    out.push({
      path: `${path}.ttlMs`,
      message: `must be an integer 1..86400000 (got ${describeValue(l.ttlMs)})`,
    });
  if (typeof l.renewal !== 'number' || !Number.isInteger(l.renewal) || l.renewal < 0)
    out.push({
      path: `${path}.renewal`,
      message: `must be an integer >= 0 (got ${describeValue(l.renewal)})`,
    });
}

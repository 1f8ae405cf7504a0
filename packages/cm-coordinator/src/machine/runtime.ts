// Runtime groups: small runtime data (quota counters; coaching, authorized-override and pdstorage values) shared
// among the members of one runtime group only. A pure machine (events with their time in, actions out; no I/O,
// no clock) over state-based CRDTs, with delta propagation per peer (what changed since the peer's last ack),
// batched per flush, acknowledged, retried with backoff; a failed delivery raises the seed's "Shared data not
// synchronized" alert, which clears itself when a delivery succeeds.
//
// Routing: runtime data travels only over links between two members of the same runtime group (peers that
// share a network group and announced the same runtime group); every member merges what it gets and passes on
// what changed. A node of another runtime group never receives it, even when it is the transit node between
// two members: such a group is split into islands that do not share data (`runtimeGroupIslands` finds them).
import { type ConfigIssue, describeValue, err, ok, type Result } from '@proxyha/common';
import { CmError } from '../errors';
import { isGroupName } from './groups';
import { compareHlc, hlcIssues, hlcReceive, hlcSend, isCanonicalUuid } from './hlc';
import type { Hlc } from './types';
import { canonicalJson, compareText } from './version';

/** The runtime group of a node whose configuration names none. */
export const DEFAULT_RUNTIME_GROUP = 'default';

/**
 * Limits of runtime data, checked at the boundary (local writes and messages from peers): keys of 1..256
 * characters, values of at most 4096 bytes of JSON, ttl and period from 1 s to 366 days, increments up to
 * 1e9 in size, 100000 entries per node, 256 entries per message.
 */
export const RUNTIME_LIMITS = Object.freeze({
  /** Longest key, characters. */
  keyLength: 256,
  /** Largest value, bytes of its JSON text (UTF-8). */
  valueBytes: 4096,
  /** Deepest nesting of a value. */
  valueDepth: 16,
  /** Shortest ttl of a value and period of a counter, ms. */
  minTtlMs: 1000,
  /** Longest ttl of a value and period of a counter, ms (366 days). */
  maxTtlMs: 366 * 86_400_000,
  /** Largest increment (either sign). */
  maxIncrement: 1_000_000_000,
  /** Entries a node holds at most (counter windows, values, tombstones); a local write past it is refused. */
  maxEntries: 100_000,
  /** Entries in one delta message. */
  maxBatch: 256,
});

/** How long a tombstone is kept at least after the delete, ms (10 minutes). */
export const RUNTIME_TOMBSTONE_MS = 600_000;

/** A member's entry expires this long after its owner last refreshed it, ms (24 h); owners refresh hourly. */
const MEMBER_TTL_MS = 86_400_000;
const MEMBER_REFRESH_MS = 3_600_000;

/** A value of the key → value store: any JSON value (up to {@link RUNTIME_LIMITS}`.valueBytes`). */
export type RuntimeValue =
  | string
  | number
  | boolean
  | null
  | readonly RuntimeValue[]
  | { readonly [key: string]: RuntimeValue };

// ---- wire forms -------------------------------------------------------------------------------------

/**
 * One window of a counter in a delta: per-replica contributions `[replica, increments, decrements]` (replica:
 * `<node uuid>/<incarnation>`, each number only grows), for the window `[start, start + periodMs)`.
 */
export interface RuntimeCounterDelta {
  /** The counter's key. */
  readonly key: string;
  /** The period, ms: the counter resets at the end of each window. */
  readonly periodMs: number;
  /** Start of the window, ms since the epoch (a multiple of `periodMs`). */
  readonly start: number;
  /** `[replica, increments, decrements]` per replica. */
  readonly parts: readonly (readonly [string, number, number])[];
}

/** A value (or its tombstone) in a delta: last writer wins by `stamp`. */
export interface RuntimeValueDelta {
  /** The key. */
  readonly key: string;
  /** The write's hybrid-clock stamp (node uuid breaks ties). */
  readonly stamp: Hlc;
  /** The value (absent in a tombstone). */
  readonly value?: RuntimeValue;
  /** `true` for a tombstone (a delete). */
  readonly deleted?: true;
  /** The value is visible until then, ms since the epoch (a tombstone: the delete's time). */
  readonly expires: number;
  /** The entry (or its tombstone) is kept until then, ms since the epoch: the latest `expires` it replaced. */
  readonly keep: number;
}

/** A member of the runtime group in a delta. */
export interface RuntimeMemberDelta {
  /** The node's UUID. */
  readonly uuid: string;
  /** Its name. */
  readonly name: string;
  /** When the node last announced itself (its clock); the entry expires 24 h later. */
  readonly stamp: Hlc;
}

/** Sent to every peer when the connection comes up: the sender's runtime group. */
export interface RuntimeHelloMessage {
  /** `runtime-hello`. */
  readonly type: 'runtime-hello';
  /** The sender's runtime group. */
  readonly group: string;
  /** The sender. */
  readonly node: {
    /** Its UUID. */
    readonly uuid: string;
    /** Its name. */
    readonly name: string;
  };
}

/** What changed since the receiver's last ack (to a member of the same runtime group only). */
export interface RuntimeDeltaMessage {
  /** `runtime-delta`. */
  readonly type: 'runtime-delta';
  /** The runtime group (a receiver of another group drops it). */
  readonly group: string;
  /** The sender's change counter up to which this delta is complete: the receiver acks it. */
  readonly seq: number;
  /** Counter windows. */
  readonly counters: readonly RuntimeCounterDelta[];
  /** Values and tombstones. */
  readonly values: readonly RuntimeValueDelta[];
  /** Members. */
  readonly members: readonly RuntimeMemberDelta[];
}

/** The receiver merged the delta `seq`. */
export interface RuntimeAckMessage {
  /** `runtime-ack`. */
  readonly type: 'runtime-ack';
  /** The runtime group. */
  readonly group: string;
  /** The `seq` of the delta merged. */
  readonly seq: number;
}

/** The messages of runtime groups (their wire type is their `type`). */
export type RuntimeMessage = RuntimeHelloMessage | RuntimeDeltaMessage | RuntimeAckMessage;

/** The wire types of {@link RuntimeMessage}. */
export const RUNTIME_MESSAGE_TYPES: readonly RuntimeMessage['type'][] = Object.freeze([
  'runtime-hello',
  'runtime-delta',
  'runtime-ack',
]);

// ---- machine events, actions, status ------------------------------------------------------------------

/** A change of a visible runtime value, as the change event reports it. */
export interface RuntimeChange {
  /** The key. */
  readonly key: string;
  /** `counter` (its value is the sum of the current window) or `value`. */
  readonly kind: 'counter' | 'value';
  /** The new value: a counter's sum (0 after a reset), a value, or `undefined` when deleted or expired. */
  readonly value: number | RuntimeValue | undefined;
  /** Why: a write on this node, data from a peer, or the end of a ttl or period. */
  readonly reason: 'local' | 'remote' | 'expired';
}

/** The events of a {@link RuntimeMachine}; `at` is the node's wall clock, ms since the epoch. */
export type RuntimeEvent =
  | {
      /** `increment`: adds `by` to the counter's window of `at`. */
      readonly type: 'increment';
      /** The node's wall clock, ms since the epoch. */
      readonly at: number;
      /** The counter's key. */
      readonly key: string;
      /** A non-zero integer (negative to give back). */
      readonly by: number;
      /** The counter's period, ms (it resets at the end of each window). */
      readonly periodMs: number;
    }
  | {
      /** `set`: sets a value for `ttlMs`. */
      readonly type: 'set';
      /** The node's wall clock, ms since the epoch. */
      readonly at: number;
      /** The key. */
      readonly key: string;
      /** The value. */
      readonly value: RuntimeValue;
      /** How long it stays, ms. */
      readonly ttlMs: number;
    }
  | {
      /** `delete`: deletes a value (a tombstone that expires). */
      readonly type: 'delete';
      /** The node's wall clock, ms since the epoch. */
      readonly at: number;
      /** The key. */
      readonly key: string;
    }
  | {
      /** `peerUp`: a connection to a peer came up (of any runtime group: the hello tells). */
      readonly type: 'peerUp';
      /** The node's wall clock, ms since the epoch. */
      readonly at: number;
      /** The peer. */
      readonly peer: {
        /** Its UUID. */
        readonly uuid: string;
        /** Its name. */
        readonly name: string;
      };
    }
  | {
      /** `peerDown`: the connection to a peer went down. */
      readonly type: 'peerDown';
      /** The node's wall clock, ms since the epoch. */
      readonly at: number;
      /** The peer's UUID. */
      readonly peer: string;
    }
  | {
      /** `received`: a message from a peer (validated with {@link checkRuntimeMessage}). */
      readonly type: 'received';
      /** The node's wall clock, ms since the epoch. */
      readonly at: number;
      /** The peer's UUID. */
      readonly from: string;
      /** The message. */
      readonly message: RuntimeMessage;
    }
  | {
      /** `tick`: time passes; sends the deltas, times out acks, retries, drops expired entries. */
      readonly type: 'tick';
      /** The node's wall clock, ms since the epoch. */
      readonly at: number;
    };

/** The actions of a {@link RuntimeMachine}, to carry out in order. */
export type RuntimeAction =
  | {
      /** `send`: send a message to a peer. */
      readonly type: 'send';
      /** The peer's UUID. */
      readonly to: string;
      /** The message. */
      readonly message: RuntimeMessage;
    }
  | {
      /** `changed`: a visible value changed. */
      readonly type: 'changed';
      /** What changed. */
      readonly change: RuntimeChange;
    }
  | {
      /** `alert`: the "Shared data not synchronized" alert about a peer was raised or cleared. */
      readonly type: 'alert';
      /** The peer. */
      readonly peer: {
        /** Its UUID. */
        readonly uuid: string;
        /** Its name. */
        readonly name: string;
      };
      /** Raised (true) or cleared. */
      readonly raised: boolean;
      /** `CM_RUNTIME_NOT_SYNCHRONIZED` naming the peer and why. */
      readonly error: CmError;
    }
  | {
      /** `log`: a line for the operator log. */
      readonly type: 'log';
      /** Its level. */
      readonly level: 'info' | 'warn';
      /** The line. */
      readonly message: string;
    };

/** Configuration of a {@link RuntimeMachine}. */
export interface RuntimeMachineConfig {
  /** This node. */
  readonly self: {
    /** Its UUID. */
    readonly uuid: string;
    /** Its name. */
    readonly name: string;
  };
  /** Its runtime group (default {@link DEFAULT_RUNTIME_GROUP}). */
  readonly group?: string;
  /**
   * Tells this run of the node from earlier ones (e.g. a random id per start; default `0`): counter
   * contributions are per `<uuid>/<incarnation>`, so a restarted node, which lost its own counts, adds to
   * what it counted before instead of counting again from 0 under the same name.
   */
  readonly incarnation?: string;
  /** A delta not acknowledged within this many ms is a failed delivery (default 5000). */
  readonly ackTimeoutMs?: number;
  /** The first retry after a failed delivery, ms (default 1000); doubled after each failure. */
  readonly retryMs?: number;
  /** The longest wait between retries, ms (default 60000). */
  readonly maxRetryMs?: number;
}

/** One directly connected member of the runtime group in {@link CmRuntimeStatus}. */
export interface RuntimePeerStatus {
  /** Its UUID. */
  readonly uuid: string;
  /** Its name. */
  readonly name: string;
  /** Connected now. */
  readonly connected: boolean;
  /** When it last acknowledged a delta (ISO 8601), or null. */
  readonly lastSync: string | null;
  /** Changes it has not acknowledged yet. */
  readonly pending: boolean;
  /** The "Shared data not synchronized" alert about it, or null. */
  readonly alert: {
    /** When it was raised (ISO 8601). */
    readonly since: string;
    /** The last failure (e.g. `no acknowledgement within 5 s`, `not connected`). */
    readonly reason: string;
    /** Failed deliveries since it was raised. */
    readonly failures: number;
    /** When the next try is due (ISO 8601). */
    readonly nextRetry: string;
  } | null;
}

/** The runtime group of a node as `proxyha-cm status` shows it. */
export interface CmRuntimeStatus {
  /** The runtime group. */
  readonly group: string;
  /** Its members this node knows (itself included), by name: the ones it hears of, also behind other members. */
  readonly members: readonly {
    /** The member's UUID. */
    readonly uuid: string;
    /** Its name. */
    readonly name: string;
  }[];
  /** Counters with a window running now. */
  readonly counters: number;
  /** Values visible now. */
  readonly values: number;
  /** The members this node exchanges runtime data with directly, by name. */
  readonly peers: readonly RuntimePeerStatus[];
  /** The "Shared data not synchronized" alert is raised about some peer. */
  readonly alert: boolean;
}

// ---- validation ----------------------------------------------------------------------------------------

/** Whether a text has a control character (U+0000..U+001F, U+007F). */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
const MAX_PARTS = 10_000;
const MAX_REPLICA = 128;
const encoder = new TextEncoder();

/** Problems of a key. */
export function runtimeKeyIssues(key: unknown, path = 'key'): ConfigIssue[] {
  if (typeof key !== 'string' || key.length === 0 || key.length > RUNTIME_LIMITS.keyLength || hasControl(key))
    return [
      {
        path,
        message: `must be a text of 1..${RUNTIME_LIMITS.keyLength} characters without control characters (got ${describeValue(key)})`,
      },
    ];
  return [];
}

function jsonIssue(v: unknown, depth: number, path: string): ConfigIssue | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return undefined;
  if (typeof v === 'number')
    return Number.isFinite(v) ? undefined : { path, message: `must be a finite number (got ${String(v)})` };
  if (depth >= RUNTIME_LIMITS.valueDepth)
    return { path, message: `nests deeper than ${RUNTIME_LIMITS.valueDepth} levels` };
  if (Array.isArray(v)) {
    for (const [i, e] of v.entries()) {
      const issue = jsonIssue(e, depth + 1, `${path}[${i}]`);
      if (issue) return issue;
    }
    return undefined;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
      const issue = jsonIssue(e, depth + 1, `${path}.${k}`);
      if (issue) return issue;
    }
    return undefined;
  }
  return { path, message: `must be JSON data (got ${describeValue(v)})` };
}

/** Problems of a value: JSON data (no undefined, functions, NaN), at most {@link RUNTIME_LIMITS}.valueBytes. */
export function runtimeValueIssues(value: unknown, path = 'value'): ConfigIssue[] {
  const issue = jsonIssue(value, 0, path);
  if (issue) return [issue];
  const bytes = encoder.encode(JSON.stringify(value)).length;
  if (bytes > RUNTIME_LIMITS.valueBytes)
    return [{ path, message: `must be at most ${RUNTIME_LIMITS.valueBytes} bytes of JSON (got ${bytes})` }];
  return [];
}

function durationIssues(ms: unknown, path: string): ConfigIssue[] {
  if (
    typeof ms !== 'number' ||
    !Number.isInteger(ms) ||
    ms < RUNTIME_LIMITS.minTtlMs ||
    ms > RUNTIME_LIMITS.maxTtlMs
  )
    return [
      {
        path,
        message: `must be 1 s .. 366 d, in whole ms (got ${describeValue(ms)})`,
      },
    ];
  return [];
}

function invalid(what: string, issues: readonly ConfigIssue[]): CmError {
  const first = issues[0] as ConfigIssue;
  return new CmError('CM_RUNTIME_INVALID_VALUE', `${what}: ${first.path}: ${first.message}`, {
    details: { issues },
  });
}

function isInt(v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function counterIssues(c: unknown, path: string, out: ConfigIssue[]): void {
  const e = c as Record<string, unknown> | null;
  if (e === null || typeof e !== 'object') return void out.push({ path, message: 'must be an object' });
  out.push(...runtimeKeyIssues(e.key, `${path}.key`), ...durationIssues(e.periodMs, `${path}.periodMs`));
  if (!isInt(e.start, 0) || (isInt(e.periodMs, 1) && e.start % e.periodMs !== 0))
    out.push({
      path: `${path}.start`,
      message: `must be a multiple of periodMs (got ${describeValue(e.start)})`,
    });
  if (!Array.isArray(e.parts) || e.parts.length > MAX_PARTS)
    return void out.push({ path: `${path}.parts`, message: `must be an array of up to ${MAX_PARTS}` });
  const seen = new Set<string>();
  e.parts.forEach((p: unknown, i) => {
    const q = p as unknown[];
    if (
      !Array.isArray(q) ||
      q.length !== 3 ||
      typeof q[0] !== 'string' ||
      q[0] === '' ||
      q[0].length > MAX_REPLICA ||
      seen.has(q[0]) ||
      !isInt(q[1], 0) ||
      !isInt(q[2], 0)
    )
      out.push({
        path: `${path}.parts[${i}]`,
        message: `must be [replica, increments >= 0, decrements >= 0] with a distinct replica (got ${describeValue(p)})`,
      });
    else seen.add(q[0]);
  });
}

function valueDeltaIssues(v: unknown, path: string, out: ConfigIssue[]): void {
  const e = v as Record<string, unknown> | null;
  if (e === null || typeof e !== 'object') return void out.push({ path, message: 'must be an object' });
  out.push(...runtimeKeyIssues(e.key, `${path}.key`), ...hlcIssues(e.stamp, `${path}.stamp`));
  if (e.deleted !== undefined && e.deleted !== true)
    out.push({ path: `${path}.deleted`, message: 'must be true when present' });
  if (e.deleted === true && 'value' in e)
    out.push({ path: `${path}.value`, message: 'must be absent in a tombstone' });
  if (e.deleted !== true) out.push(...runtimeValueIssues(e.value, `${path}.value`));
  if (!isInt(e.expires, 0)) out.push({ path: `${path}.expires`, message: 'must be an integer >= 0' });
  if (!isInt(e.keep, 0) || (isInt(e.expires, 0) && e.keep < e.expires))
    out.push({ path: `${path}.keep`, message: 'must be an integer >= expires' });
}

function memberDeltaIssues(v: unknown, path: string, out: ConfigIssue[]): void {
  const e = v as Record<string, unknown> | null;
  if (e === null || typeof e !== 'object') return void out.push({ path, message: 'must be an object' });
  if (!isCanonicalUuid(e.uuid)) out.push({ path: `${path}.uuid`, message: 'must be a canonical UUID' });
  if (typeof e.name !== 'string' || e.name === '' || e.name.length > 256)
    out.push({ path: `${path}.name`, message: 'must be a text of 1..256 characters' });
  out.push(...hlcIssues(e.stamp, `${path}.stamp`));
  const s = e.stamp as Hlc | undefined;
  if (s && isCanonicalUuid(e.uuid) && s.node !== e.uuid)
    out.push({ path: `${path}.stamp.node`, message: 'must be the member itself' });
}

/**
 * Validates a runtime message from a peer (after decoding): shape, sizes ({@link RUNTIME_LIMITS}), stamps.
 *
 * @param value - the decoded body
 * @returns the message, or `CM_BAD_MESSAGE` naming each bad path in `details.issues`
 */
export function checkRuntimeMessage(value: unknown): Result<RuntimeMessage, CmError> {
  const issues: ConfigIssue[] = [];
  const m = value as Record<string, unknown> | null;
  if (m === null || typeof m !== 'object' || Array.isArray(m))
    issues.push({ path: '(root)', message: `must be an object (got ${describeValue(value)})` });
  else {
    if (!isGroupName(m.group))
      issues.push({ path: 'group', message: `must be a group name (got ${describeValue(m.group)})` });
    switch (m.type) {
      case 'runtime-hello': {
        const n = m.node as Record<string, unknown> | null;
        if (n === null || typeof n !== 'object' || !isCanonicalUuid(n.uuid) || typeof n.name !== 'string')
          issues.push({ path: 'node', message: 'must be { uuid, name }' });
        break;
      }
      case 'runtime-ack':
        if (!isInt(m.seq, 0)) issues.push({ path: 'seq', message: 'must be an integer >= 0' });
        break;
      case 'runtime-delta': {
        if (!isInt(m.seq, 0)) issues.push({ path: 'seq', message: 'must be an integer >= 0' });
        const lists = [
          ['counters', counterIssues],
          ['values', valueDeltaIssues],
          ['members', memberDeltaIssues],
        ] as const;
        let total = 0;
        for (const [field, check] of lists) {
          const list = m[field];
          if (!Array.isArray(list)) {
            issues.push({ path: field, message: `must be an array (got ${describeValue(list)})` });
            continue;
          }
          total += list.length;
          if (total > RUNTIME_LIMITS.maxBatch) {
            issues.push({
              path: field,
              message: `more than ${RUNTIME_LIMITS.maxBatch} entries in one delta`,
            });
            break;
          }
          list.forEach((e: unknown, i) => {
            check(e, `${field}[${i}]`, issues);
          });
        }
        break;
      }
      default:
        issues.push({ path: 'type', message: `unknown runtime message type (got ${describeValue(m.type)})` });
    }
  }
  if (issues.length > 0) {
    const first = issues[0] as ConfigIssue;
    return err(
      new CmError('CM_BAD_MESSAGE', `bad runtime message: ${first.path}: ${first.message}`, {
        details: { issues },
        stack: false,
      }),
    );
  }
  return ok(value as RuntimeMessage);
}

// ---- merge rules (pure; a join semilattice each: commutative, associative, idempotent) -------------------

/**
 * Merges the contributions of two copies of one counter window: per replica the larger count of increments
 * and of decrements (each replica's counts only grow, so the larger is the later).
 */
export function mergeRuntimeCounterParts(
  a: readonly (readonly [string, number, number])[],
  b: readonly (readonly [string, number, number])[],
): [string, number, number][] {
  const out = new Map<string, [string, number, number]>();
  for (const [r, inc, dec] of [...a, ...b]) {
    const cur = out.get(r);
    out.set(r, cur ? [r, Math.max(cur[1], inc), Math.max(cur[2], dec)] : [r, inc, dec]);
  }
  return [...out.values()].sort((x, y) => compareText(x[0], y[0]));
}

/** The value of a counter window: every replica's increments less its decrements. */
export function runtimeCounterSum(parts: readonly (readonly [string, number, number])[]): number {
  let sum = 0;
  for (const [, inc, dec] of parts) sum += inc - dec;
  return sum;
}

function valueOrder(a: RuntimeValueDelta, b: RuntimeValueDelta): number {
  const c = compareHlc(a.stamp, b.stamp);
  if (c !== 0) return c;
  // one stamp is one write; should two differ anyway, the order stays total (and so the merge commutative)
  return compareText(canonicalJson(winnerFields(a)), canonicalJson(winnerFields(b)));
}

function winnerFields(v: RuntimeValueDelta): unknown {
  return [v.deleted === true, v.value ?? null, v.expires];
}

/**
 * Merges two copies of a value: the later write by hybrid-clock stamp wins (wall, logical counter, then node
 * uuid: the same on every node), and the entry is kept until the later `keep` of both, so that a superseded
 * write that is still alive somewhere cannot come back after the winner expired.
 */
export function mergeRuntimeValue(a: RuntimeValueDelta, b: RuntimeValueDelta): RuntimeValueDelta {
  const w = valueOrder(a, b) >= 0 ? a : b;
  const keep = Math.max(a.keep, b.keep);
  return w.keep === keep ? w : { ...w, keep };
}

// ---- the machine ---------------------------------------------------------------------------------------

interface CounterEntry {
  readonly kind: 'counter';
  readonly id: string;
  readonly key: string;
  readonly periodMs: number;
  readonly start: number;
  parts: [string, number, number][];
  seq: number;
  /** The peer whose delta made the entry exactly what it is (it need not get it back). */
  src: string | undefined;
}

interface ValueEntry {
  readonly kind: 'value';
  readonly id: string;
  readonly key: string;
  v: RuntimeValueDelta;
  seq: number;
  src: string | undefined;
  expiredNoted: boolean;
}

interface MemberEntry {
  readonly kind: 'member';
  readonly id: string;
  m: RuntimeMemberDelta;
  seq: number;
  src: string | undefined;
}

type Entry = CounterEntry | ValueEntry | MemberEntry;

interface PeerState {
  uuid: string;
  name: string;
  up: boolean;
  /** It announced this node's runtime group. */
  member: boolean;
  /** Local change counter it acknowledged. */
  acked: number;
  inflight: { seq: number; sentAt: number } | undefined;
  lastSync: number | undefined;
  alert: { since: number; reason: string; failures: number } | undefined;
  backoffMs: number;
  nextTryAt: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The runtime data of one node in its runtime group: a pure machine. Events carry the node's wall clock
 * (`at`, ms since the epoch); {@link RuntimeMachine.step} returns the actions to carry out.
 *
 * Merge rules (each cannot lose an update written on two nodes at once):
 * - **counters** (quota): per replica (`<node uuid>/<incarnation>`) a count of increments and one of
 *   decrements, each only growing; merge takes the larger of each, the value is the sum of all. A counter
 *   has a period: an increment goes to the window of its time (`[k·period, (k+1)·period)`, aligned to the
 *   epoch, UTC), and a window is dropped at its end (the quota resets).
 * - **values** (coaching, authorized override, pdstorage): last writer wins by hybrid-clock stamp, node uuid
 *   breaking ties; a value expires after its ttl; a delete is a tombstone kept at least 10 minutes and
 *   until the deleted value would have expired.
 * - expired entries are dropped on every node (each by its own clock) and never taken from a peer.
 *
 * Deltas: every change gets the next local sequence number; each peer gets what changed since the number it
 * acknowledged, at most 256 entries a message, one message in flight. No ack within `ackTimeoutMs`, or the
 * connection down while there is something to send, is a failed delivery: the alert "Shared data not
 * synchronized" is raised naming the peer, and the delta is sent again after 1 s, 2 s, 4 s ... (at most
 * `maxRetryMs`), at once when the peer reconnects; the first ack clears the alert.
 *
 * @example
 * ```ts
 * const m = new RuntimeMachine({ self: { uuid, name: 'mwg1' }, group: 'tokyo' });
 * m.step({ type: 'increment', at: Date.now(), key: 'quota:alice', by: 1, periodMs: 86_400_000 });
 * m.counter('quota:alice', Date.now()); // 1
 * ```
 */
export class RuntimeMachine {
  readonly #self: { uuid: string; name: string };
  readonly #group: string;
  readonly #replica: string;
  readonly #ackTimeoutMs: number;
  readonly #retryMs: number;
  readonly #maxRetryMs: number;
  /** Every entry by id, in the order of their last change (so of `seq`). */
  readonly #entries = new Map<string, Entry>();
  /** Counter window ids by key. */
  readonly #windows = new Map<string, Set<string>>();
  readonly #peers = new Map<string, PeerState>();
  #seq = 0;
  #hlc: Hlc | undefined;
  #nextGcAt = Number.POSITIVE_INFINITY;
  #memberAt = Number.NEGATIVE_INFINITY;
  #actions: RuntimeAction[] = [];

  /**
   * @param config - this node, its group and timers
   * @throws {@link CmError} `CM_INVALID_ARGUMENT` naming each bad setting
   */
  constructor(config: RuntimeMachineConfig) {
    const issues: ConfigIssue[] = [];
    if (!isCanonicalUuid(config.self?.uuid))
      issues.push({ path: 'self.uuid', message: 'must be a canonical UUID' });
    if (typeof config.self?.name !== 'string' || config.self.name === '')
      issues.push({ path: 'self.name', message: 'must be a non-empty text' });
    const group = config.group ?? DEFAULT_RUNTIME_GROUP;
    if (!isGroupName(group))
      issues.push({ path: 'group', message: `must be a group name (got ${describeValue(group)})` });
    const incarnation = config.incarnation ?? '0';
    if (typeof incarnation !== 'string' || incarnation === '' || incarnation.length > 64)
      issues.push({ path: 'incarnation', message: 'must be a text of 1..64 characters' });
    for (const [name, v] of [
      ['ackTimeoutMs', config.ackTimeoutMs],
      ['retryMs', config.retryMs],
      ['maxRetryMs', config.maxRetryMs],
    ] as const)
      if (v !== undefined && !isInt(v, 1, 86_400_000))
        issues.push({ path: name, message: `must be an integer 1..86400000 (got ${describeValue(v)})` });
    if (issues.length > 0) {
      const first = issues[0] as ConfigIssue;
      throw new CmError('CM_INVALID_ARGUMENT', `invalid runtime machine: ${first.path}: ${first.message}`, {
        details: { issues },
      });
    }
    this.#self = { uuid: config.self.uuid, name: config.self.name };
    this.#group = group;
    this.#replica = `${config.self.uuid}/${incarnation}`;
    this.#ackTimeoutMs = config.ackTimeoutMs ?? 5000;
    this.#retryMs = config.retryMs ?? 1000;
    this.#maxRetryMs = Math.max(config.maxRetryMs ?? 60_000, this.#retryMs);
  }

  /** The runtime group. */
  get group(): string {
    return this.#group;
  }

  /** The local change counter (every change of an entry takes the next number). */
  get seq(): number {
    return this.#seq;
  }

  /**
   * A counter's value at `now`: the sum of its window running then (of every window, should the key have
   * been counted with several periods); 0 when none.
   */
  counter(key: string, now: number): number {
    let sum = 0;
    for (const id of this.#windows.get(key) ?? []) {
      const e = this.#entries.get(id) as CounterEntry | undefined;
      if (e && e.start <= now && now < e.start + e.periodMs) sum += runtimeCounterSum(e.parts);
    }
    return sum;
  }

  /** A value at `now` (`undefined` when there is none, it expired, or it was deleted). */
  get(key: string, now: number): RuntimeValue | undefined {
    const e = this.#entries.get(`v|${key}`) as ValueEntry | undefined;
    return e && e.v.deleted !== true && now < e.v.expires ? e.v.value : undefined;
  }

  /** The keys with a visible value or a running counter window at `now`, sorted. */
  keys(now: number): string[] {
    const out = new Set<string>();
    for (const e of this.#entries.values()) {
      if (e.kind === 'value' && e.v.deleted !== true && now < e.v.expires) out.add(e.key);
      if (e.kind === 'counter' && e.start <= now && now < e.start + e.periodMs) out.add(e.key);
    }
    return [...out].sort(compareText);
  }

  /** Whether this node holds anything of `key` (a counter window, a value or a tombstone, expired or not). */
  holds(key: string): boolean {
    return this.#entries.has(`v|${key}`) || (this.#windows.get(key)?.size ?? 0) > 0;
  }

  /** How many entries it holds (counter windows, values, tombstones, members). */
  get size(): number {
    return this.#entries.size;
  }

  /** The runtime group as the status shows it, at `now`. */
  status(now: number): CmRuntimeStatus {
    const members: { uuid: string; name: string }[] = [];
    let counters = 0;
    let values = 0;
    for (const e of this.#entries.values()) {
      if (e.kind === 'member' && now < e.m.stamp.wall + MEMBER_TTL_MS)
        members.push({ uuid: e.m.uuid, name: e.m.name });
      else if (e.kind === 'counter' && e.start <= now && now < e.start + e.periodMs) counters++;
      else if (e.kind === 'value' && e.v.deleted !== true && now < e.v.expires) values++;
    }
    if (!members.some((m) => m.uuid === this.#self.uuid)) members.push({ ...this.#self });
    members.sort((a, b) => compareText(a.name, b.name) || compareText(a.uuid, b.uuid));
    const peers = [...this.#peers.values()]
      .filter((p) => p.member)
      .sort((a, b) => compareText(a.name, b.name))
      .map(
        (p): RuntimePeerStatus => ({
          uuid: p.uuid,
          name: p.name,
          connected: p.up,
          lastSync: p.lastSync === undefined ? null : iso(p.lastSync),
          pending: this.#hasPending(p),
          alert: p.alert
            ? {
                since: iso(p.alert.since),
                reason: p.alert.reason,
                failures: p.alert.failures,
                nextRetry: iso(p.nextTryAt),
              }
            : null,
        }),
      );
    return {
      group: this.#group,
      members,
      counters,
      values,
      peers,
      alert: peers.some((p) => p.alert !== null),
    };
  }

  /**
   * Handles one event.
   *
   * @returns the actions, in order
   * @throws {@link CmError} `CM_RUNTIME_INVALID_VALUE` for a bad key, value, ttl, period or increment
   *   (`details.issues`); `CM_RUNTIME_STORE_FULL` when a new entry would pass {@link RUNTIME_LIMITS}.maxEntries
   */
  step(event: RuntimeEvent): RuntimeAction[] {
    this.#actions = [];
    const at = event.at;
    if (typeof at !== 'number' || !Number.isFinite(at))
      throw new CmError('CM_INVALID_ARGUMENT', `event time must be a finite number (got ${String(at)})`);
    this.#announceSelf(at);
    switch (event.type) {
      case 'increment':
        this.#increment(event.key, event.by, event.periodMs, at);
        break;
      case 'set':
        this.#set(event.key, event.value, event.ttlMs, at);
        break;
      case 'delete':
        this.#delete(event.key, at);
        break;
      case 'peerUp':
        this.#peerUp(event.peer, at);
        break;
      case 'peerDown':
        this.#peerDown(event.peer, at);
        break;
      case 'received':
        this.#received(event.from, event.message, at);
        break;
      case 'tick':
        this.#tick(at);
        break;
    }
    return this.#actions;
  }

  // ---- local writes ----

  #increment(key: string, by: number, periodMs: number, at: number): void {
    const issues = [...runtimeKeyIssues(key), ...durationIssues(periodMs, 'period')];
    if (!isInt(by, -RUNTIME_LIMITS.maxIncrement, RUNTIME_LIMITS.maxIncrement) || by === 0)
      issues.push({
        path: 'by',
        message: `must be a non-zero integer of at most ${RUNTIME_LIMITS.maxIncrement} either way (got ${describeValue(by)})`,
      });
    if (issues.length > 0) throw invalid(`cannot count ${describeValue(key)}`, issues);
    const start = Math.floor(at / periodMs) * periodMs;
    const id = `c|${periodMs}|${start}|${key}`;
    const e = this.#entries.get(id) as CounterEntry | undefined;
    if (!e) this.#roomFor(key);
    const before = this.counter(key, at);
    const parts = e ? e.parts.map((p): [string, number, number] => [...p]) : [];
    let mine = parts.find((p) => p[0] === this.#replica);
    if (!mine) {
      mine = [this.#replica, 0, 0];
      parts.push(mine);
      parts.sort((x, y) => compareText(x[0], y[0]));
    }
    const slot = by > 0 ? 1 : 2;
    if (mine[slot] + Math.abs(by) > Number.MAX_SAFE_INTEGER)
      throw invalid(`cannot count ${key}`, [{ path: 'by', message: 'the counter would overflow' }]);
    mine[slot] += Math.abs(by);
    this.#putCounter(id, key, periodMs, start, parts, undefined);
    this.#changedCounter(key, before, at, 'local');
  }

  #set(key: string, value: RuntimeValue, ttlMs: number, at: number): void {
    const issues = [...runtimeKeyIssues(key), ...runtimeValueIssues(value), ...durationIssues(ttlMs, 'ttl')];
    if (issues.length > 0) throw invalid(`cannot set ${describeValue(key)}`, issues);
    const e = this.#entries.get(`v|${key}`) as ValueEntry | undefined;
    if (!e) this.#roomFor(key);
    const stamp = this.#stamp(at);
    const expires = Math.floor(at) + ttlMs;
    this.#writeValue(
      key,
      { key, stamp, value, expires, keep: Math.max(expires, e?.v.keep ?? 0) },
      at,
      'local',
    );
  }

  #delete(key: string, at: number): void {
    const issues = runtimeKeyIssues(key);
    if (issues.length > 0) throw invalid(`cannot delete ${describeValue(key)}`, issues);
    const e = this.#entries.get(`v|${key}`) as ValueEntry | undefined;
    const now = Math.floor(at);
    const keep = Math.max(now + RUNTIME_TOMBSTONE_MS, e?.v.keep ?? 0);
    if (!e) this.#roomFor(key);
    this.#writeValue(key, { key, stamp: this.#stamp(at), deleted: true, expires: now, keep }, at, 'local');
  }

  #roomFor(key: string): void {
    if (this.#entries.size >= RUNTIME_LIMITS.maxEntries)
      throw new CmError(
        'CM_RUNTIME_STORE_FULL',
        `runtime group ${this.#group} holds ${this.#entries.size} entries, the most a node keeps: ${key} not written`,
        { details: { group: this.#group, key, entries: this.#entries.size } },
      );
  }

  #stamp(at: number): Hlc {
    this.#hlc = hlcSend(this.#hlc, at, this.#self.uuid);
    return this.#hlc;
  }

  #announceSelf(at: number): void {
    if (at - this.#memberAt < MEMBER_REFRESH_MS) return;
    this.#memberAt = at;
    const m: RuntimeMemberDelta = { uuid: this.#self.uuid, name: this.#self.name, stamp: this.#stamp(at) };
    this.#put({ kind: 'member', id: `m|${m.uuid}`, m, seq: 0, src: undefined });
    this.#gcBy(m.stamp.wall + MEMBER_TTL_MS);
  }

  // ---- entries ----

  /** Stores an entry as the latest change (next seq; last in the map's order). */
  #put(e: Entry): void {
    e.seq = ++this.#seq;
    this.#entries.delete(e.id);
    this.#entries.set(e.id, e);
  }

  #gcBy(t: number): void {
    if (t < this.#nextGcAt) this.#nextGcAt = t;
  }

  #putCounter(
    id: string,
    key: string,
    periodMs: number,
    start: number,
    parts: [string, number, number][],
    src: string | undefined,
  ): void {
    this.#put({ kind: 'counter', id, key, periodMs, start, parts, seq: 0, src });
    let ids = this.#windows.get(key);
    if (!ids) {
      ids = new Set();
      this.#windows.set(key, ids);
    }
    ids.add(id);
    this.#gcBy(start + periodMs);
  }

  #writeValue(key: string, v: RuntimeValueDelta, at: number, reason: 'local' | 'remote', src?: string): void {
    const before = this.get(key, at);
    const had = before !== undefined;
    this.#put({ kind: 'value', id: `v|${key}`, key, v, seq: 0, src, expiredNoted: !(at < v.expires) });
    this.#gcBy(v.deleted === true ? v.keep : v.expires);
    const after = this.get(key, at);
    if (reason === 'local' || had !== (after !== undefined) || canonicalJson(before) !== canonicalJson(after))
      this.#emit({ key, kind: 'value', value: after, reason });
  }

  #changedCounter(key: string, before: number, at: number, reason: RuntimeChange['reason']): void {
    const after = this.counter(key, at);
    if (reason === 'local' || after !== before) this.#emit({ key, kind: 'counter', value: after, reason });
  }

  #emit(change: RuntimeChange): void {
    this.#actions.push({ type: 'changed', change });
  }

  // ---- peers ----

  #peerUp(peer: { uuid: string; name: string }, at: number): void {
    const p = this.#peers.get(peer.uuid) ?? this.#newPeer(peer.uuid, peer.name);
    p.name = peer.name;
    p.up = true;
    p.acked = 0; // a new connection: the peer may have restarted with nothing; it gets everything once
    p.inflight = undefined;
    p.nextTryAt = at;
    this.#peers.set(peer.uuid, p);
    this.#actions.push({
      type: 'send',
      to: peer.uuid,
      message: { type: 'runtime-hello', group: this.#group, node: { ...this.#self } },
    });
  }

  #newPeer(uuid: string, name: string): PeerState {
    return {
      uuid,
      name,
      up: false,
      member: false,
      acked: 0,
      inflight: undefined,
      lastSync: undefined,
      alert: undefined,
      backoffMs: this.#retryMs,
      nextTryAt: 0,
    };
  }

  #peerDown(uuid: string, at: number): void {
    const p = this.#peers.get(uuid);
    if (!p) return;
    p.up = false;
    if (p.inflight && p.member) {
      p.inflight = undefined;
      this.#failed(p, 'the connection went down before the acknowledgement', at);
    }
  }

  #received(from: string, m: RuntimeMessage, at: number): void {
    let p = this.#peers.get(from);
    if (!p) {
      p = this.#newPeer(from, m.type === 'runtime-hello' ? m.node.name : from);
      p.up = true;
      this.#peers.set(from, p);
    }
    if (m.group !== this.#group) {
      if (m.type === 'runtime-hello') {
        p.name = m.node.name;
        if (p.member && p.alert) this.#clear(p, at, 'it left the runtime group');
        p.member = false;
        return;
      }
      // never stored, never acknowledged: runtime data stays in its group
      const e = new CmError(
        'CM_RUNTIME_WRONG_GROUP',
        `[Coordinator] runtime data of group ${m.group} from node ${from} (${p.name}) dropped: this node is in runtime group ${this.#group}`,
        { details: { peer: from, peerGroup: m.group, group: this.#group }, stack: false },
      );
      this.#actions.push({ type: 'log', level: 'warn', message: e.message });
      return;
    }
    p.member = true;
    switch (m.type) {
      case 'runtime-hello':
        p.name = m.node.name;
        break;
      case 'runtime-delta':
        this.#merge(from, m, at);
        this.#actions.push({
          type: 'send',
          to: from,
          message: { type: 'runtime-ack', group: this.#group, seq: m.seq },
        });
        break;
      case 'runtime-ack':
        if (p.inflight && m.seq === p.inflight.seq) {
          p.acked = Math.max(p.acked, m.seq);
          p.inflight = undefined;
          this.#delivered(p, at);
        }
        break;
    }
  }

  #merge(from: string, m: RuntimeDeltaMessage, at: number): void {
    for (const c of m.counters) {
      if (c.start + c.periodMs <= at) continue; // its period is over: dropped everywhere
      const id = `c|${c.periodMs}|${c.start}|${c.key}`;
      const e = this.#entries.get(id) as CounterEntry | undefined;
      if (!e && this.#entries.size >= RUNTIME_LIMITS.maxEntries) {
        this.#full(c.key);
        continue;
      }
      const incoming = c.parts.map((p): [string, number, number] => [p[0], p[1], p[2]]);
      const merged = e ? mergeRuntimeCounterParts(e.parts, incoming) : mergeRuntimeCounterParts(incoming, []);
      if (e && canonicalJson(merged) === canonicalJson(e.parts)) continue;
      const before = this.counter(c.key, at);
      const exact = canonicalJson(merged) === canonicalJson(mergeRuntimeCounterParts(incoming, []));
      this.#putCounter(id, c.key, c.periodMs, c.start, merged, exact ? from : undefined);
      this.#changedCounter(c.key, before, at, 'remote');
    }
    for (const v of m.values) {
      if (v.keep <= at) continue;
      this.#hlc = hlcReceive(this.#hlc, v.stamp, at, this.#self.uuid);
      const e = this.#entries.get(`v|${v.key}`) as ValueEntry | undefined;
      if (!e && this.#entries.size >= RUNTIME_LIMITS.maxEntries) {
        this.#full(v.key);
        continue;
      }
      const incoming: RuntimeValueDelta =
        v.deleted === true
          ? { key: v.key, stamp: v.stamp, deleted: true, expires: v.expires, keep: v.keep }
          : { key: v.key, stamp: v.stamp, value: v.value as RuntimeValue, expires: v.expires, keep: v.keep };
      const merged = e ? mergeRuntimeValue(e.v, incoming) : incoming;
      if (e && sameValue(merged, e.v)) continue;
      this.#writeValue(v.key, merged, at, 'remote', sameValue(merged, incoming) ? from : undefined);
    }
    for (const mm of m.members) {
      if (mm.stamp.wall + MEMBER_TTL_MS <= at || mm.uuid === this.#self.uuid) continue;
      const e = this.#entries.get(`m|${mm.uuid}`) as MemberEntry | undefined;
      if (e && compareHlc(e.m.stamp, mm.stamp) >= 0) continue;
      this.#put({
        kind: 'member',
        id: `m|${mm.uuid}`,
        m: { uuid: mm.uuid, name: mm.name, stamp: mm.stamp },
        seq: 0,
        src: from,
      });
      this.#gcBy(mm.stamp.wall + MEMBER_TTL_MS);
    }
  }

  #full(key: string): void {
    this.#actions.push({
      type: 'log',
      level: 'warn',
      message: `[Coordinator] runtime group ${this.#group}: ${key} from a peer not kept: this node holds ${this.#entries.size} entries, the most it keeps (CM_RUNTIME_STORE_FULL)`,
    });
  }

  /** Whether the peer lacks something this node holds (changes after its ack that did not come from it). */
  #hasPending(p: PeerState): boolean {
    if (this.#seq <= p.acked) return false;
    for (const e of this.#entries.values()) if (e.seq > p.acked && e.src !== p.uuid) return true;
    return false;
  }

  // ---- time ----

  #tick(at: number): void {
    this.#gc(at);
    for (const p of this.#peers.values()) {
      if (!p.member) continue;
      if (p.inflight) {
        if (at - p.inflight.sentAt < this.#ackTimeoutMs) continue;
        p.inflight = undefined;
        this.#failed(p, `no acknowledgement within ${this.#ackTimeoutMs / 1000} s`, at);
      }
      if (this.#seq <= p.acked || at < p.nextTryAt) continue;
      if (!p.up) {
        if (this.#hasPending(p)) this.#failed(p, 'not connected', at);
        continue;
      }
      this.#send(p, at);
    }
  }

  #send(p: PeerState, at: number): void {
    const counters: RuntimeCounterDelta[] = [];
    const values: RuntimeValueDelta[] = [];
    const members: RuntimeMemberDelta[] = [];
    let upTo = this.#seq;
    let n = 0;
    for (const e of this.#entries.values()) {
      if (e.seq <= p.acked || e.src === p.uuid) continue;
      if (n === RUNTIME_LIMITS.maxBatch) {
        upTo = e.seq - 1; // complete up to the entry before this one (entries are in seq order)
        break;
      }
      n++;
      if (e.kind === 'counter')
        counters.push({ key: e.key, periodMs: e.periodMs, start: e.start, parts: e.parts });
      else if (e.kind === 'value') values.push(e.v);
      else members.push(e.m);
    }
    if (n === 0) {
      // everything after its ack came from it: it holds all this node holds (an alert about it is over)
      p.acked = this.#seq;
      if (p.alert) this.#delivered(p, at);
      return;
    }
    p.inflight = { seq: upTo, sentAt: at };
    this.#actions.push({
      type: 'send',
      to: p.uuid,
      message: { type: 'runtime-delta', group: this.#group, seq: upTo, counters, values, members },
    });
  }

  #failed(p: PeerState, reason: string, at: number): void {
    p.nextTryAt = at + p.backoffMs;
    const wait = p.backoffMs;
    p.backoffMs = Math.min(p.backoffMs * 2, this.#maxRetryMs);
    if (p.alert) {
      p.alert.failures++;
      p.alert.reason = reason;
      return;
    }
    p.alert = { since: at, reason, failures: 1 };
    const error = new CmError(
      'CM_RUNTIME_NOT_SYNCHRONIZED',
      `Shared data not synchronized: cannot send the shared data of runtime group ${this.#group} to node ${p.uuid} (${p.name}): ${reason}; retrying in ${wait / 1000} s`,
      { details: { peer: p.uuid, name: p.name, group: this.#group, reason }, stack: false },
    );
    this.#actions.push(
      { type: 'alert', peer: { uuid: p.uuid, name: p.name }, raised: true, error },
      { type: 'log', level: 'warn', message: `[Coordinator] [SharedDataNotSynchronized] ${error.message}` },
    );
  }

  #delivered(p: PeerState, at: number): void {
    p.lastSync = at;
    p.backoffMs = this.#retryMs;
    p.nextTryAt = at;
    if (p.alert) this.#clear(p, at, `synchronized again after ${p.alert.failures} failed attempt(s)`);
  }

  #clear(p: PeerState, at: number, why: string): void {
    const alert = p.alert;
    p.alert = undefined;
    const error = new CmError(
      'CM_RUNTIME_NOT_SYNCHRONIZED',
      `Shared data of runtime group ${this.#group} with node ${p.uuid} (${p.name}): ${why} (alert raised ${alert ? iso(alert.since) : '-'}, cleared ${iso(at)})`,
      { details: { peer: p.uuid, name: p.name, group: this.#group }, stack: false },
    );
    this.#actions.push(
      { type: 'alert', peer: { uuid: p.uuid, name: p.name }, raised: false, error },
      { type: 'log', level: 'info', message: `[Coordinator] [SharedDataSynchronized] ${error.message}` },
    );
  }

  /** Drops what expired; reports values that stopped being visible and counters whose window ended. */
  #gc(at: number): void {
    if (at < this.#nextGcAt) return;
    let next = Number.POSITIVE_INFINITY;
    const resetKeys = new Map<string, number>();
    for (const e of [...this.#entries.values()]) {
      if (e.kind === 'counter') {
        const end = e.start + e.periodMs;
        if (at >= end) {
          if (!resetKeys.has(e.key)) resetKeys.set(e.key, this.#counterWith(e.key, at, e.id));
          this.#entries.delete(e.id);
          const ids = this.#windows.get(e.key);
          ids?.delete(e.id);
          if (ids?.size === 0) this.#windows.delete(e.key);
        } else next = Math.min(next, end);
      } else if (e.kind === 'value') {
        if (!e.expiredNoted && at >= e.v.expires) {
          e.expiredNoted = true;
          if (e.v.deleted !== true)
            this.#emit({ key: e.key, kind: 'value', value: undefined, reason: 'expired' });
        }
        if (at >= e.v.keep) this.#entries.delete(e.id);
        else next = Math.min(next, e.expiredNoted ? e.v.keep : e.v.expires);
      } else if (at >= e.m.stamp.wall + MEMBER_TTL_MS) this.#entries.delete(e.id);
      else next = Math.min(next, e.m.stamp.wall + MEMBER_TTL_MS);
    }
    for (const [key, before] of resetKeys) {
      const after = this.counter(key, at);
      if (after !== before) this.#emit({ key, kind: 'counter', value: after, reason: 'expired' });
    }
    this.#nextGcAt = next;
  }

  /** The counter's value as it was just before window `ending` ended (for the reset event). */
  #counterWith(key: string, at: number, ending: string): number {
    const e = this.#entries.get(ending) as CounterEntry;
    return this.counter(key, at) + runtimeCounterSum(e.parts);
  }
}

function sameValue(a: RuntimeValueDelta, b: RuntimeValueDelta): boolean {
  return (
    compareHlc(a.stamp, b.stamp) === 0 &&
    a.keep === b.keep &&
    canonicalJson(winnerFields(a)) === canonicalJson(winnerFields(b))
  );
}

// ---- layout check ----------------------------------------------------------------------------------------

/** A node for {@link runtimeGroupIslands}: its name, network groups and runtime group. */
export interface RuntimeGroupNode {
  /** The node's name (unique). */
  readonly name: string;
  /** Its network groups (default `['default']`). */
  readonly groups?: readonly string[];
  /** Its runtime group (default {@link DEFAULT_RUNTIME_GROUP}). */
  readonly runtime?: string;
}

/**
 * The islands of each runtime group: its members grouped by which can exchange runtime data, over links
 * between two members that share a network group. Runtime data never passes through a node of another runtime
 * group, so a group with more than one island does not share its data between them: give such a layout a
 * member on the way (e.g. put the site's transit node in the site's runtime group, as the guide does).
 *
 * @param nodes - every node of the cluster
 * @returns per runtime group (sorted) its islands (names sorted; islands by their first name)
 */
export function runtimeGroupIslands(nodes: readonly RuntimeGroupNode[]): {
  /** The runtime group. */
  readonly group: string;
  /** Its islands: the names of the members that share data with each other (more than one: a split group). */
  readonly islands: readonly (readonly string[])[];
}[] {
  const byGroup = new Map<string, RuntimeGroupNode[]>();
  for (const n of nodes) {
    const g = n.runtime ?? DEFAULT_RUNTIME_GROUP;
    byGroup.set(g, [...(byGroup.get(g) ?? []), n]);
  }
  return [...byGroup.keys()].sort(compareText).map((group) => {
    const members = byGroup.get(group) as RuntimeGroupNode[];
    const nets = (n: RuntimeGroupNode) => n.groups ?? ['default'];
    const seen = new Set<string>();
    const islands: string[][] = [];
    for (const start of members) {
      if (seen.has(start.name)) continue;
      const island: string[] = [];
      const stack = [start];
      seen.add(start.name);
      while (stack.length > 0) {
        const u = stack.pop() as RuntimeGroupNode;
        island.push(u.name);
        for (const v of members)
          if (!seen.has(v.name) && nets(u).some((g) => nets(v).includes(g))) {
            seen.add(v.name);
            stack.push(v);
          }
      }
      islands.push(island.sort(compareText));
    }
    return { group, islands: islands.sort((a, b) => compareText(a[0] as string, b[0] as string)) };
  });
}

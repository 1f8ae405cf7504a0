// Update groups: engine and list updates downloaded from the internet once per update group and shared among
// its members over the central-management connections. A pure machine (events with their time in, actions
// out, no I/O); the driver (driver/updates.ts) downloads, verifies, stores and moves the bytes.
//
// How it works, in short:
// - Every two connected nodes say hello with their update groups; two nodes that share one are "members" of
//   each other and exchange their state: the version of each list they hold, whether they accept updates
//   from other nodes, and what they are downloading. A node never tells a non-member anything else.
// - The interval check (when due, and only with downloadFromInternet) asks the members of the node's update
//   groups, also those behind other members (a query flooded through members only, with its path and a hop
//   limit; the reports travel back along the path), for their versions and whether they accept; the node
//   checks the source's version; it downloads once when no member holds or is downloading that version
//   (of concurrent checkers the lowest uuid downloads; a member that holds it serves it instead).
// - A node that holds a newer version than an accepting member neighbour announces it (state); the
//   neighbour fetches it (the driver pulls the bytes in chunks), verifies and stores it, then announces it in
//   turn: store and forward through members only, so a node outside the update group never receives the
//   bytes, even when a transit node of another update group sits between two sites. A node that was away asks
//   its members on reconnect (hello, state) and fetches what is newer. One (list, version, sha256) is fetched
//   or downloaded once per node: the key dedupes everything.
import { type ConfigIssue, describeValue, err, issuesFromSchema, ok, type Result } from '@proxyha/common';
import { z } from 'zod';
import { CmError } from '../errors';
import { isCanonicalUuid } from './hlc';

/** One version of one update list. A (list, version, sha256) names the same bytes on every node. */
export interface UpdateListVersion {
  /** The list's name (the update source's `name`). */
  readonly list: string;
  /** Its version, e.g. `2026.11.30-1` (compared by {@link compareUpdateVersions}). */
  readonly version: string;
  /** SHA-256 of the file, 64 lower-case hex digits. */
  readonly sha256: string;
  /** Its size in bytes. */
  readonly size: number;
}

/** A version a node holds: where it came from and when. */
export interface HeldUpdate extends UpdateListVersion {
  /** `internet`, or the name of the node it was fetched from. */
  readonly from: string;
  /** When it was put in place, ms since the epoch. */
  readonly at: number;
}

/** Configuration of an {@link UpdateMachine}; validated by its constructor (`CM_INVALID_ARGUMENT`). */
export interface UpdateMachineConfig {
  /** This node. */
  readonly self: {
    /** Its uuid. */
    readonly uuid: string;
    /** Its name. */
    readonly name: string;
  };
  /** Its update groups (at least one). */
  readonly groups: readonly string[];
  /** The lists it keeps (its update sources' names); others are ignored. */
  readonly lists: readonly string[];
  /** "Allow to download updates from internet": the interval check does nothing without it. */
  readonly downloadFromInternet: boolean;
  /** "Allow to download updates from other nodes". */
  readonly acceptFromNodes: boolean;
  /** "Enable automatic updates": run the interval check (default true). */
  readonly automatic?: boolean;
  /** The interval check's period, ms. */
  readonly intervalMs: number;
  /** The versions it holds (from its data directory). */
  readonly held?: readonly HeldUpdate[];
  /** The first interval check runs this long after the first event (peers connect meanwhile), default 5000 ms. */
  readonly firstCheckMs?: number;
  /** How long a check collects the members' reports before it decides, default 2000 ms. */
  readonly collectMs?: number;
  /** After a failed download or transfer, wait this long before trying that source again, default 60 s. */
  readonly retryMs?: number;
  /** A download or transfer that reports nothing for this long is given up, default 30 min. */
  readonly transferTimeoutMs?: number;
  /** Hop limit of the check's query through members, default 8. */
  readonly maxHops?: number;
}

/** "Hello, I am in these update groups": the first update message on every connection. */
export interface UpdateHelloMessage {
  /** `update-hello`. */
  readonly type: 'update-hello';
  /** The sender's update groups. */
  readonly groups: readonly string[];
}

/** What a member holds: sent to members only, after their hello and after every change. */
export interface UpdateStateMessage {
  /** `update-state`. */
  readonly type: 'update-state';
  /** Whether the sender accepts updates from other nodes. */
  readonly accept: boolean;
  /** The version of each list it holds. */
  readonly lists: readonly UpdateListVersion[];
  /** The versions it is downloading from the internet now (others wait for them). */
  readonly downloading: readonly UpdateListVersion[];
}

/** The interval check's question to the members of the update groups, flooded through members only. */
export interface UpdateQueryMessage {
  /** `update-query`. */
  readonly type: 'update-query';
  /** Unique id of the check. */
  readonly id: string;
  /** The asking node's uuid. */
  readonly origin: string;
  /** Its update groups: only members of one of these answer and pass it on. */
  readonly groups: readonly string[];
  /** The uuids it came through, from the origin to the sender. */
  readonly path: readonly string[];
  /** How many more nodes may pass it on. */
  readonly hops: number;
  /** Whether the origin may download from the internet (concurrent checkers defer to the lowest uuid). */
  readonly download: boolean;
}

/** A member's answer to a query, routed back along the query's path. */
export interface UpdateReportMessage {
  /** `update-report`. */
  readonly type: 'update-report';
  /** The query's id. */
  readonly query: string;
  /** The query's origin (the report's destination). */
  readonly origin: string;
  /** The uuids still to pass after the receiver, ending with the origin (empty: the receiver is the origin). */
  readonly route: readonly string[];
  /** The answering node's uuid. */
  readonly node: string;
  /** Its name. */
  readonly name: string;
  /** Whether it accepts updates from other nodes. */
  readonly accept: boolean;
  /** Whether it runs a check itself now and may download. */
  readonly checking: boolean;
  /** What it holds. */
  readonly lists: readonly UpdateListVersion[];
  /** What it is downloading. */
  readonly downloading: readonly UpdateListVersion[];
}

/** Asks a member for the bytes of a version it announced, from an offset (resume). */
export interface UpdateGetMessage {
  /** `update-get`. */
  readonly type: 'update-get';
  /** The list. */
  readonly list: string;
  /** Its version. */
  readonly version: string;
  /** Its SHA-256. */
  readonly sha256: string;
  /** The first byte wanted (the size of what the asking node already has). */
  readonly offset: number;
}

/** The proof of a signed manifest, carried with the file so that the receiver checks it with its own key. */
export interface UpdateProof {
  /** The manifest's exact bytes, base64. */
  readonly manifest: string;
  /** Its Ed25519 signature, base64. */
  readonly signature: string;
}

/** A chunk of a file, answering an {@link UpdateGetMessage}; the last one (`offset + bytes = size`) carries the proof. */
export interface UpdateDataMessage {
  /** `update-data`. */
  readonly type: 'update-data';
  /** The list. */
  readonly list: string;
  /** Its version. */
  readonly version: string;
  /** Its SHA-256. */
  readonly sha256: string;
  /** The file's size. */
  readonly size: number;
  /** Where this chunk starts. */
  readonly offset: number;
  /** The chunk, base64. */
  readonly data: string;
  /** With a signed-manifest source: the manifest and its signature (in the last chunk). */
  readonly proof?: UpdateProof | undefined;
}

/** The holder cannot serve a get (not a member, no longer holds it). */
export interface UpdateRefuseMessage {
  /** `update-refuse`. */
  readonly type: 'update-refuse';
  /** The list. */
  readonly list: string;
  /** Its version. */
  readonly version: string;
  /** Its SHA-256. */
  readonly sha256: string;
  /** Why. */
  readonly reason: string;
}

/** The update messages between nodes (wire type = `type`). */
export type UpdateMessage =
  | UpdateHelloMessage
  | UpdateStateMessage
  | UpdateQueryMessage
  | UpdateReportMessage
  | UpdateGetMessage
  | UpdateDataMessage
  | UpdateRefuseMessage;

/** The wire types of {@link UpdateMessage}. */
export const UPDATE_MESSAGE_TYPES: readonly UpdateMessage['type'][] = Object.freeze([
  'update-hello',
  'update-state',
  'update-query',
  'update-report',
  'update-get',
  'update-data',
  'update-refuse',
]);

/** The events of an {@link UpdateMachine}; each carries the node's wall clock `at` (ms). */
export type UpdateEvent =
  | {
      /** Time passes (the driver ticks every second): interval checks, decisions, timeouts, retries. */
      readonly type: 'tick';
      /** Now. */
      readonly at: number;
    }
  | {
      /** Run the interval check now (an operator's "update now"). */
      readonly type: 'check';
      /** Now. */
      readonly at: number;
    }
  | {
      /** A central-management peer connected. */
      readonly type: 'peerUp';
      /** Now. */
      readonly at: number;
      /** Its uuid. */
      readonly peer: string;
      /** Its name. */
      readonly name: string;
    }
  | {
      /** A peer disconnected. */
      readonly type: 'peerDown';
      /** Now. */
      readonly at: number;
      /** Its uuid. */
      readonly peer: string;
    }
  | {
      /** An update message from a peer (validated with {@link checkUpdateMessage}). */
      readonly type: 'received';
      /** Now. */
      readonly at: number;
      /** The sender's uuid. */
      readonly from: string;
      /** The message. */
      readonly message: UpdateMessage;
    }
  | {
      /** The answer to a `checkSource` action: the source's current version, or why there is none. */
      readonly type: 'sourceChecked';
      /** Now. */
      readonly at: number;
      /** The list. */
      readonly list: string;
      /** Its version (manifest checked), or the error's text. */
      readonly result: Result<UpdateListVersion, string>;
    }
  | {
      /** The end of a `download` action: verified and written (ok), or failed (discarded). */
      readonly type: 'downloaded';
      /** Now. */
      readonly at: number;
      /** The version downloaded. */
      readonly key: UpdateListVersion;
      /** Why it failed, if it did. */
      readonly error?: string | undefined;
    }
  | {
      /** The end of a `fetch` action: verified and written (ok), or failed (discarded or kept for a resume). */
      readonly type: 'fetched';
      /** Now. */
      readonly at: number;
      /** The version fetched. */
      readonly key: UpdateListVersion;
      /** The peer it was fetched from. */
      readonly from: string;
      /** Why it failed, if it did. */
      readonly error?: string | undefined;
    };

/** The actions of an {@link UpdateMachine}, carried out in order. */
export type UpdateAction =
  | {
      /** Send a message to a peer (dropped when it is not connected). */
      readonly type: 'send';
      /** The peer's uuid. */
      readonly to: string;
      /** The message. */
      readonly message: UpdateMessage;
    }
  | {
      /** Read the source's current version (manifest; a pinned source answers from its configuration). */
      readonly type: 'checkSource';
      /** The list. */
      readonly list: string;
    }
  | {
      /** Download this version from the internet, verify and write it, then report `downloaded`. */
      readonly type: 'download';
      /** The version. */
      readonly key: UpdateListVersion;
    }
  | {
      /** Fetch this version from a member (send `update-get`, take the chunks), verify, write, report `fetched`. */
      readonly type: 'fetch';
      /** The version. */
      readonly key: UpdateListVersion;
      /** The member's uuid. */
      readonly from: string;
    }
  | {
      /** Give up a download or fetch of this list (timeout, the peer left); keep a partial file for a resume. */
      readonly type: 'cancel';
      /** The list. */
      readonly list: string;
    }
  | {
      /** Send this member the bytes of a version held here, from `offset`, in chunks. */
      readonly type: 'serve';
      /** The member's uuid. */
      readonly to: string;
      /** The version (held here). */
      readonly key: UpdateListVersion;
      /** The first byte. */
      readonly offset: number;
    }
  | {
      /** A new version is in place: make it current, run the source's apply command. */
      readonly type: 'installed';
      /** The version, where from and when. */
      readonly held: HeldUpdate;
      /** The version it replaces. */
      readonly previous: HeldUpdate | undefined;
    }
  | {
      /** A line for the node's log. */
      readonly type: 'log';
      /** Its level. */
      readonly level: 'info' | 'warn';
      /** The text. */
      readonly message: string;
    };

/** What an {@link UpdateMachine} knows of one list. */
export interface UpdateListSnapshot {
  /** The list. */
  readonly list: string;
  /** The version held here. */
  readonly held: HeldUpdate | undefined;
  /** The download or fetch under way. */
  readonly busy:
    | {
        /** `download` (internet) or `fetch` (a member). */
        readonly kind: 'download' | 'fetch';
        /** The version. */
        readonly key: UpdateListVersion;
        /** The member's uuid, for a fetch. */
        readonly from: string | undefined;
        /** Since when. */
        readonly since: number;
      }
    | undefined;
  /** The source's version at the last check. */
  readonly published: UpdateListVersion | undefined;
  /** The last failure, if the last attempt failed. */
  readonly lastError: string | undefined;
}

/** A member as an {@link UpdateMachine} knows it. */
export interface UpdateMemberSnapshot {
  /** Its uuid. */
  readonly uuid: string;
  /** Its name. */
  readonly name: string;
  /** Whether it is a neighbour (connected directly) or known from the last check's report. */
  readonly direct: boolean;
  /** Whether it accepts updates from other nodes. */
  readonly accept: boolean;
  /** What it holds. */
  readonly lists: readonly UpdateListVersion[];
}

/** Counters of an {@link UpdateMachine}. */
export interface UpdateStats {
  /** Interval checks run (with downloadFromInternet). */
  readonly checks: number;
  /** Interval checks that did nothing because downloadFromInternet is off. */
  readonly checksSkipped: number;
  /** Downloads from the internet started. */
  readonly downloads: number;
  /** Fetches from members started. */
  readonly fetches: number;
  /** Serves to members started. */
  readonly serves: number;
  /** Versions put in place. */
  readonly installs: number;
  /** Downloads or fetches that failed. */
  readonly failures: number;
  /** Update messages from non-members (or not for this node's groups) that were refused or dropped. */
  readonly refused: number;
  /** Queries received a second time (dropped). */
  readonly duplicateQueries: number;
}

/** The state of an {@link UpdateMachine}. */
export interface UpdateSnapshot {
  /** Its update groups. */
  readonly groups: readonly string[];
  /** Each list it keeps. */
  readonly lists: readonly UpdateListSnapshot[];
  /** The members it knows: neighbours, and those of the last check's reports. */
  readonly members: readonly UpdateMemberSnapshot[];
  /** When the last interval check ran. */
  readonly lastCheckAt: number | undefined;
  /** When the next one is due. */
  readonly nextCheckAt: number | undefined;
  /** Counters. */
  readonly stats: UpdateStats;
}

const DIGITS = /^\d+$/;

/**
 * Orders two update versions: the texts are split into runs of digits and of other characters; digit runs
 * compare as numbers, the others as text; a version that is a prefix of another is older (`1.2` < `1.2.1`,
 * `2026.9` < `2026.10`).
 *
 * @returns negative when `a` is older, 0 when equal, positive when newer
 */
export function compareUpdateVersions(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i] as string;
    const y = pb[i] as string;
    if (DIGITS.test(x) && DIGITS.test(y)) {
      const xs = x.replace(/^0+(?=\d)/, '');
      const ys = y.replace(/^0+(?=\d)/, '');
      if (xs.length !== ys.length) return xs.length - ys.length;
      if (xs !== ys) return xs < ys ? -1 : 1;
    } else if (x !== y) return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** Orders two versions of a list: by version, then (the same version published twice) by SHA-256, so all agree. */
function compareKeys(a: UpdateListVersion, b: UpdateListVersion): number {
  const c = compareUpdateVersions(a.version, b.version);
  return c !== 0 ? c : a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0;
}

const sameKey = (a: UpdateListVersion | undefined, b: UpdateListVersion | undefined) =>
  a !== undefined && b !== undefined && a.list === b.list && a.version === b.version && a.sha256 === b.sha256;

const keyText = (k: UpdateListVersion) => `${k.list} ${k.version} (${k.sha256.slice(0, 12)})`;

const keyOf = (k: UpdateListVersion): UpdateListVersion => ({
  list: k.list,
  version: k.version,
  sha256: k.sha256,
  size: k.size,
});

// ---- message validation -------------------------------------------------------------------------------

const NAME = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\w.-]+$/, 'must be a list name');
const GROUP = z.string().min(1).max(64);
const UUID = z.string().refine((v) => isCanonicalUuid(v), 'must be a canonical UUID');
const SHA = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');
/** A version: also a file name under the node's data directory. */
const VERSION = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\w.+:~-]+$/, 'must be letters, digits and . + : ~ - _')
  .refine((v) => v !== '.' && v !== '..', 'must not be "." or ".."');
const SIZE = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const KEY = z.object({ list: NAME, version: VERSION, sha256: SHA, size: SIZE });
const KEYS = z.array(KEY).max(1000);
const B64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

/** Checks a (list, version, sha256, size) from outside, e.g. a manifest (internal: the driver's). */
export function checkUpdateKey(value: unknown): Result<UpdateListVersion, string> {
  const r = KEY.safeParse(value);
  if (r.success) return ok(keyOf(r.data));
  const first = issuesFromSchema(r.error.issues, value)[0] as ConfigIssue;
  return err(`${first.path}: ${first.message}`);
}

const SCHEMAS: Readonly<Record<UpdateMessage['type'], z.ZodType>> = {
  'update-hello': z.object({ type: z.literal('update-hello'), groups: z.array(GROUP).min(1).max(64) }),
  'update-state': z.object({
    type: z.literal('update-state'),
    accept: z.boolean(),
    lists: KEYS,
    downloading: KEYS,
  }),
  'update-query': z.object({
    type: z.literal('update-query'),
    id: z.string().min(1).max(128),
    origin: UUID,
    groups: z.array(GROUP).min(1).max(64),
    path: z.array(UUID).min(1).max(64),
    hops: z.number().int().min(0).max(64),
    download: z.boolean(),
  }),
  'update-report': z.object({
    type: z.literal('update-report'),
    query: z.string().min(1).max(128),
    origin: UUID,
    route: z.array(UUID).max(64),
    node: UUID,
    name: z.string().min(1).max(256),
    accept: z.boolean(),
    checking: z.boolean(),
    lists: KEYS,
    downloading: KEYS,
  }),
  'update-get': z.object({
    type: z.literal('update-get'),
    list: NAME,
    version: VERSION,
    sha256: SHA,
    offset: SIZE,
  }),
  'update-data': z.object({
    type: z.literal('update-data'),
    list: NAME,
    version: VERSION,
    sha256: SHA,
    size: SIZE,
    offset: SIZE,
    data: B64.max(16 * 1024 * 1024),
    proof: z.object({ manifest: B64.max(65536), signature: B64.max(1024) }).optional(),
  }),
  'update-refuse': z.object({
    type: z.literal('update-refuse'),
    list: NAME,
    version: VERSION,
    sha256: SHA,
    reason: z.string().max(1000),
  }),
};

/**
 * Validates an update message from a peer (the body of a frame whose wire type is one of
 * {@link UPDATE_MESSAGE_TYPES}).
 *
 * @param value - the decoded body
 * @returns the message, or `CM_BAD_MESSAGE` naming each bad path in `details.issues`
 */
export function checkUpdateMessage(value: unknown): Result<UpdateMessage, CmError> {
  const type = (value as { type?: unknown } | null)?.type;
  const schema = typeof type === 'string' ? SCHEMAS[type as UpdateMessage['type']] : undefined;
  let issues: readonly ConfigIssue[];
  if (schema === undefined)
    issues = [{ path: 'type', message: `must be an update message type (got ${describeValue(type)})` }];
  else {
    const r = schema.safeParse(value);
    if (r.success) return ok(r.data as UpdateMessage);
    issues = issuesFromSchema(r.error.issues, value);
  }
  const first = issues[0] as ConfigIssue;
  return err(
    new CmError('CM_BAD_MESSAGE', `bad update message: ${first.path}: ${first.message}`, {
      details: { issues },
      stack: false,
    }),
  );
}

// ---- the machine ----------------------------------------------------------------------------------------

interface PeerState {
  name: string;
  /** Its update groups, from its hello (undefined until then). */
  groups: readonly string[] | undefined;
  accept: boolean;
  lists: Map<string, UpdateListVersion>;
  downloading: Map<string, UpdateListVersion>;
}

interface Busy {
  kind: 'download' | 'fetch';
  key: UpdateListVersion;
  from: string | undefined;
  since: number;
}

interface Report {
  name: string;
  accept: boolean;
  checking: boolean;
  lists: readonly UpdateListVersion[];
  downloading: readonly UpdateListVersion[];
}

interface Check {
  id: string;
  startedAt: number;
  /** Lists whose source has not answered yet. */
  pending: Set<string>;
  /** Reports by node uuid. */
  reports: Map<string, Report>;
  /** Other nodes checking (and able to download) during this check. */
  checkers: Set<string>;
}

const QUERY_MEMORY_MS = 10 * 60_000;

function configIssues(c: UpdateMachineConfig): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const int = (v: unknown, path: string, min: number) => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min))
      out.push({ path, message: `must be an integer >= ${min} (got ${describeValue(v)})` });
  };
  if (!isCanonicalUuid(c?.self?.uuid))
    out.push({
      path: 'self.uuid',
      message: `must be a canonical UUID (got ${describeValue(c?.self?.uuid)})`,
    });
  if (typeof c?.self?.name !== 'string' || c.self.name === '')
    out.push({ path: 'self.name', message: 'must be a non-empty text' });
  if (!Array.isArray(c?.groups) || c.groups.length === 0 || c.groups.some((g) => !GROUP.safeParse(g).success))
    out.push({ path: 'groups', message: `must be 1..64 group names (got ${describeValue(c?.groups)})` });
  if (!Array.isArray(c?.lists) || c.lists.some((l) => !NAME.safeParse(l).success))
    out.push({ path: 'lists', message: `must be list names (got ${describeValue(c?.lists)})` });
  if (typeof c?.downloadFromInternet !== 'boolean')
    out.push({ path: 'downloadFromInternet', message: 'must be a boolean' });
  if (typeof c?.acceptFromNodes !== 'boolean')
    out.push({ path: 'acceptFromNodes', message: 'must be a boolean' });
  int(c?.intervalMs, 'intervalMs', 1);
  if (c?.intervalMs === undefined) out.push({ path: 'intervalMs', message: 'is required' });
  int(c?.firstCheckMs, 'firstCheckMs', 0);
  int(c?.collectMs, 'collectMs', 0);
  int(c?.retryMs, 'retryMs', 1);
  int(c?.transferTimeoutMs, 'transferTimeoutMs', 1);
  int(c?.maxHops, 'maxHops', 0);
  (c?.held ?? []).forEach((h, i) => {
    if (!KEY.safeParse(keyOf(h)).success || typeof h.from !== 'string' || typeof h.at !== 'number')
      out.push({ path: `held[${i}]`, message: 'must be { list, version, sha256, size, from, at }' });
  });
  return out;
}

/**
 * The update-group machine of one node. Feed it events ({@link UpdateMachine.step}) with the node's wall
 * clock; carry out the actions it returns, in order. Deterministic: no timers, no I/O, no randomness.
 */
export class UpdateMachine {
  readonly #c: Required<Omit<UpdateMachineConfig, 'held'>>;
  readonly #groups: ReadonlySet<string>;
  readonly #lists: ReadonlySet<string>;
  readonly #held = new Map<string, HeldUpdate>();
  readonly #peers = new Map<string, PeerState>();
  readonly #busy = new Map<string, Busy>();
  readonly #published = new Map<string, UpdateListVersion>();
  readonly #lastError = new Map<string, string>();
  /** `${source}|${sha256}` (source: a peer uuid or `internet`) -> not tried again before. */
  readonly #backoff = new Map<string, number>();
  /** A list whose download failed: decided again at this time. */
  readonly #retryAt = new Map<string, number>();
  /** list -> the version this node waits for from the group, since when. */
  readonly #waiting = new Map<string, { key: UpdateListVersion; since: number }>();
  readonly #seenQueries = new Map<string, number>();
  #lastReports = new Map<string, Report>();
  #check: Check | undefined;
  #nextCheckAt: number | undefined;
  #lastCheckAt: number | undefined;
  #queries = 0;
  #now = 0;
  readonly #stats = {
    checks: 0,
    checksSkipped: 0,
    downloads: 0,
    fetches: 0,
    serves: 0,
    installs: 0,
    failures: 0,
    refused: 0,
    duplicateQueries: 0,
  };

  /**
   * @param config - the node, its groups, lists, switches and timings
   * @throws {@link CmError} `CM_INVALID_ARGUMENT` naming each bad path in `details.issues`
   */
  constructor(config: UpdateMachineConfig) {
    const issues = configIssues(config);
    if (issues.length > 0) {
      const first = issues[0] as ConfigIssue;
      throw new CmError(
        'CM_INVALID_ARGUMENT',
        `invalid update machine config: ${first.path}: ${first.message}`,
        {
          details: { issues },
        },
      );
    }
    this.#c = {
      self: { uuid: config.self.uuid, name: config.self.name },
      groups: [...new Set(config.groups)],
      lists: [...new Set(config.lists)],
      downloadFromInternet: config.downloadFromInternet,
      acceptFromNodes: config.acceptFromNodes,
      automatic: config.automatic ?? true,
      intervalMs: config.intervalMs,
      firstCheckMs: config.firstCheckMs ?? 5000,
      collectMs: config.collectMs ?? 2000,
      retryMs: config.retryMs ?? 60_000,
      transferTimeoutMs: config.transferTimeoutMs ?? 30 * 60_000,
      maxHops: config.maxHops ?? 8,
    };
    this.#groups = new Set(this.#c.groups);
    this.#lists = new Set(this.#c.lists);
    for (const h of config.held ?? []) if (this.#lists.has(h.list)) this.#held.set(h.list, { ...h });
  }

  /** The version of a list held here. */
  held(list: string): HeldUpdate | undefined {
    return this.#held.get(list);
  }

  /** Whether a peer is a member: it said hello with an update group this node is in. */
  isMember(peer: string): boolean {
    const groups = this.#peers.get(peer)?.groups;
    return groups?.some((g) => this.#groups.has(g)) ?? false;
  }

  /**
   * Handles one event.
   *
   * @returns the actions to carry out, in order
   */
  step(event: UpdateEvent): UpdateAction[] {
    const at = Math.max(event.at, this.#now);
    this.#now = at;
    const out: UpdateAction[] = [];
    this.#nextCheckAt ??= at + this.#c.firstCheckMs;
    switch (event.type) {
      case 'tick':
        this.#tick(at, out);
        break;
      case 'check':
        this.#startCheck(at, out);
        break;
      case 'peerUp':
        this.#peers.set(event.peer, {
          name: event.name,
          groups: undefined,
          accept: false,
          lists: new Map(),
          downloading: new Map(),
        });
        out.push({ type: 'send', to: event.peer, message: { type: 'update-hello', groups: this.#c.groups } });
        break;
      case 'peerDown':
        this.#peerDown(event.peer, out);
        break;
      case 'received':
        this.#received(event.from, event.message, at, out);
        break;
      case 'sourceChecked':
        this.#sourceChecked(event.list, event.result, at, out);
        break;
      case 'downloaded':
        this.#finished('download', event.key, 'internet', event.error, at, out);
        break;
      case 'fetched':
        this.#finished('fetch', event.key, event.from, event.error, at, out);
        break;
    }
    this.#pump(at, out);
    return out;
  }

  /** The machine's state (for the status). */
  snapshot(): UpdateSnapshot {
    const members: UpdateMemberSnapshot[] = [];
    for (const [uuid, p] of this.#peers)
      if (this.isMember(uuid))
        members.push({ uuid, name: p.name, direct: true, accept: p.accept, lists: [...p.lists.values()] });
    for (const [uuid, r] of this.#lastReports)
      if (!members.some((m) => m.uuid === uuid))
        members.push({ uuid, name: r.name, direct: false, accept: r.accept, lists: [...r.lists] });
    members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return {
      groups: this.#c.groups,
      lists: this.#c.lists.map((list) => {
        const b = this.#busy.get(list);
        return {
          list,
          held: this.#held.get(list),
          busy: b ? { kind: b.kind, key: b.key, from: b.from, since: b.since } : undefined,
          published: this.#published.get(list),
          lastError: this.#lastError.get(list),
        };
      }),
      members,
      lastCheckAt: this.#lastCheckAt,
      nextCheckAt: this.#c.automatic ? this.#nextCheckAt : undefined,
      stats: { ...this.#stats },
    };
  }

  // ---- events ---------------------------------------------------------------------------------------

  #tick(at: number, out: UpdateAction[]): void {
    for (const [id, seen] of this.#seenQueries) if (at - seen > QUERY_MEMORY_MS) this.#seenQueries.delete(id);
    for (const [k, until] of this.#backoff) if (until <= at) this.#backoff.delete(k);
    if (this.#c.automatic && this.#nextCheckAt !== undefined && at >= this.#nextCheckAt) {
      // the next one a whole interval later, whatever the time the check took (like a cron job)
      while (this.#nextCheckAt <= at) this.#nextCheckAt += this.#c.intervalMs;
      this.#startCheck(at, out);
    }
    this.#maybeDecide(at, out);
    for (const [list, b] of this.#busy)
      if (at - b.since > this.#c.transferTimeoutMs) {
        this.#busy.delete(list);
        out.push({ type: 'cancel', list });
        this.#fail(list, b.key, b.from ?? 'internet', 'no progress: given up', at, out);
      }
    for (const [list, when] of this.#retryAt)
      if (when <= at) {
        this.#retryAt.delete(list);
        const published = this.#published.get(list);
        if (published && this.#c.downloadFromInternet) this.#decide(list, published, at, undefined, out);
      }
  }

  #startCheck(at: number, out: UpdateAction[]): void {
    if (!this.#c.downloadFromInternet) {
      // the seed: without "Allow to download updates from internet" NOTHING is done
      this.#stats.checksSkipped++;
      return;
    }
    if (this.#check) return; // one at a time
    this.#stats.checks++;
    this.#lastCheckAt = at;
    const id = `${this.#c.self.uuid}.${at}.${++this.#queries}`;
    this.#check = {
      id,
      startedAt: at,
      pending: new Set(this.#c.lists),
      reports: new Map(),
      checkers: new Set(),
    };
    this.#seenQueries.set(id, at);
    for (const uuid of this.#memberPeers(this.#c.groups))
      out.push({
        type: 'send',
        to: uuid,
        message: {
          type: 'update-query',
          id,
          origin: this.#c.self.uuid,
          groups: this.#c.groups,
          path: [this.#c.self.uuid],
          hops: this.#c.maxHops,
          download: true,
        },
      });
    for (const list of this.#c.lists) out.push({ type: 'checkSource', list });
    this.#maybeDecide(at, out);
  }

  #peerDown(peer: string, out: UpdateAction[]): void {
    this.#peers.delete(peer);
    for (const [list, b] of this.#busy)
      if (b.kind === 'fetch' && b.from === peer) {
        this.#busy.delete(list);
        out.push({ type: 'cancel', list });
        out.push({
          type: 'log',
          level: 'warn',
          message: `[Coordinator] [UpdateTransfer] ${keyText(b.key)}: the node it came from left; fetched again from a member that has it`,
        });
      }
  }

  #received(from: string, m: UpdateMessage, at: number, out: UpdateAction[]): void {
    let peer = this.#peers.get(from);
    if (peer === undefined) {
      // a message before peerUp (the driver attaches first; kept for robustness)
      peer = { name: from, groups: undefined, accept: false, lists: new Map(), downloading: new Map() };
      this.#peers.set(from, peer);
    }
    if (m.type === 'update-hello') {
      peer.groups = [...m.groups];
      if (this.isMember(from)) out.push({ type: 'send', to: from, message: this.#state() });
      return;
    }
    if (!this.isMember(from)) {
      // nothing from (or to) a node outside every update group of this node
      this.#stats.refused++;
      if (m.type === 'update-get')
        out.push({
          type: 'send',
          to: from,
          message: {
            type: 'update-refuse',
            list: m.list,
            version: m.version,
            sha256: m.sha256,
            reason: `not in an update group of ${this.#c.self.name} (${this.#c.groups.join(', ')})`,
          },
        });
      return;
    }
    switch (m.type) {
      case 'update-state':
        peer.accept = m.accept;
        peer.lists = new Map(m.lists.filter((k) => this.#lists.has(k.list)).map((k) => [k.list, keyOf(k)]));
        peer.downloading = new Map(
          m.downloading.filter((k) => this.#lists.has(k.list)).map((k) => [k.list, keyOf(k)]),
        );
        return;
      case 'update-query':
        this.#query(from, m, at, out);
        return;
      case 'update-report':
        this.#report(from, m, out);
        return;
      case 'update-get': {
        const held = this.#held.get(m.list);
        if (!held || held.version !== m.version || held.sha256 !== m.sha256 || m.offset > held.size) {
          out.push({
            type: 'send',
            to: from,
            message: {
              type: 'update-refuse',
              list: m.list,
              version: m.version,
              sha256: m.sha256,
              reason: held
                ? `${this.#c.self.name} holds ${m.list} ${held.version} now`
                : `${this.#c.self.name} holds no ${m.list}`,
            },
          });
          return;
        }
        this.#stats.serves++;
        out.push({ type: 'serve', to: from, key: keyOf(held), offset: m.offset });
        return;
      }
      case 'update-refuse': {
        const b = this.#busy.get(m.list);
        if (b?.kind === 'fetch' && b.from === from && b.key.sha256 === m.sha256) {
          this.#busy.delete(m.list);
          out.push({ type: 'cancel', list: m.list });
          this.#fail(m.list, b.key, from, `refused by ${peer.name}: ${m.reason}`, at, out);
        }
        return;
      }
      case 'update-data':
        return; // the driver's
    }
  }

  #query(from: string, m: UpdateQueryMessage, at: number, out: UpdateAction[]): void {
    if (!m.groups.some((g) => this.#groups.has(g)) || m.path[m.path.length - 1] !== from) {
      this.#stats.refused++;
      return;
    }
    if (m.origin === this.#c.self.uuid || m.path.includes(this.#c.self.uuid) || this.#seenQueries.has(m.id)) {
      this.#stats.duplicateQueries++;
      return;
    }
    this.#seenQueries.set(m.id, at);
    if (m.download && this.#check) this.#check.checkers.add(m.origin);
    out.push({
      type: 'send',
      to: from,
      message: {
        type: 'update-report',
        query: m.id,
        origin: m.origin,
        route: m.path.slice(0, -1).reverse(),
        node: this.#c.self.uuid,
        name: this.#c.self.name,
        accept: this.#c.acceptFromNodes,
        checking: this.#check !== undefined,
        lists: [...this.#held.values()].map(keyOf),
        downloading: this.#downloading(),
      },
    });
    if (m.hops <= 0) return;
    const path = [...m.path, this.#c.self.uuid];
    for (const uuid of this.#memberPeers(m.groups))
      if (!m.path.includes(uuid))
        out.push({ type: 'send', to: uuid, message: { ...m, path, hops: m.hops - 1 } });
  }

  #report(from: string, m: UpdateReportMessage, out: UpdateAction[]): void {
    if (m.route.length === 0) {
      if (m.origin !== this.#c.self.uuid || this.#check?.id !== m.query) return;
      const r: Report = {
        name: m.name,
        accept: m.accept,
        checking: m.checking,
        lists: m.lists.filter((k) => this.#lists.has(k.list)),
        downloading: m.downloading.filter((k) => this.#lists.has(k.list)),
      };
      this.#check.reports.set(m.node, r);
      if (m.checking) this.#check.checkers.add(m.node);
      return;
    }
    // on its way back to the origin, through members only
    const next = m.route[0] as string;
    if (next === from || !this.isMember(next)) return;
    out.push({ type: 'send', to: next, message: { ...m, route: m.route.slice(1) } });
  }

  #sourceChecked(
    list: string,
    result: Result<UpdateListVersion, string>,
    at: number,
    out: UpdateAction[],
  ): void {
    if (!this.#lists.has(list)) return;
    if (result.ok) {
      if (result.value.list === list) this.#published.set(list, keyOf(result.value));
    } else {
      this.#lastError.set(list, result.error);
      out.push({
        type: 'log',
        level: 'warn',
        message: `[Coordinator] [UpdateCheckFailed] ${list}: ${result.error}; checked again at the next interval`,
      });
    }
    this.#check?.pending.delete(list);
    this.#maybeDecide(at, out);
  }

  #finished(
    kind: 'download' | 'fetch',
    key: UpdateListVersion,
    from: string,
    error: string | undefined,
    at: number,
    out: UpdateAction[],
  ): void {
    const b = this.#busy.get(key.list);
    if (b && b.kind === kind && sameKey(b.key, key)) this.#busy.delete(key.list);
    if (error !== undefined) {
      this.#fail(key.list, key, from, error, at, out);
      if (kind === 'download') this.#retryAt.set(key.list, at + this.#c.retryMs);
      if (b?.kind === 'download') this.#broadcastState(out);
      return;
    }
    this.#lastError.delete(key.list);
    const previous = this.#held.get(key.list);
    if (!this.#lists.has(key.list) || (previous && compareKeys(key, previous) <= 0)) return;
    const held: HeldUpdate = {
      ...keyOf(key),
      from: kind === 'download' ? 'internet' : (this.#peers.get(from)?.name ?? from),
      at,
    };
    this.#held.set(key.list, held);
    this.#waiting.delete(key.list);
    this.#stats.installs++;
    out.push({ type: 'installed', held, previous });
    out.push({
      type: 'log',
      level: 'info',
      message: `[Coordinator] [UpdateInstalled] ${keyText(key)} from ${held.from}${previous ? ` (was ${previous.version})` : ''}`,
    });
    this.#broadcastState(out);
  }

  #fail(
    list: string,
    key: UpdateListVersion,
    from: string,
    error: string,
    at: number,
    out: UpdateAction[],
  ): void {
    this.#stats.failures++;
    this.#lastError.set(list, error);
    this.#backoff.set(`${from}|${key.sha256}`, at + this.#c.retryMs);
    out.push({
      type: 'log',
      level: 'warn',
      message: `[Coordinator] [UpdateFailed] ${keyText(key)} from ${from === 'internet' ? 'the internet' : (this.#peers.get(from)?.name ?? from)}: ${error}; tried again`,
    });
  }

  // ---- decisions ------------------------------------------------------------------------------------

  #maybeDecide(at: number, out: UpdateAction[]): void {
    const check = this.#check;
    if (!check || check.pending.size > 0 || at < check.startedAt + this.#c.collectMs) return;
    this.#check = undefined;
    this.#lastReports = check.reports;
    const accepting = [...check.reports.values()].filter((r) => r.accept).length;
    const needing: string[] = [];
    for (const list of this.#c.lists) {
      const p = this.#published.get(list);
      if (!p) continue;
      const behind = [...check.reports.values()].filter((r) => {
        const k = r.lists.find((x) => x.list === list);
        return r.accept && (!k || compareKeys(k, p) < 0);
      }).length;
      if (behind > 0) needing.push(`${behind} need ${list} ${p.version}`);
    }
    out.push({
      type: 'log',
      level: 'info',
      message: `[Coordinator] [UpdateCheck] ${check.reports.size} member(s) answered, ${accepting} accept updates from other nodes${needing.length ? `; ${needing.join(', ')}` : ''}`,
    });
    for (const list of this.#c.lists) {
      const p = this.#published.get(list);
      if (p) this.#decide(list, p, at, check, out);
    }
  }

  /** Download the published version of a list from the internet, unless the group has (or is getting) it. */
  #decide(
    list: string,
    p: UpdateListVersion,
    at: number,
    check: Check | undefined,
    out: UpdateAction[],
  ): void {
    const own = this.#held.get(list);
    if (own && compareKeys(own, p) >= 0) {
      this.#waiting.delete(list);
      return;
    }
    const busy = this.#busy.get(list);
    if (busy && compareKeys(busy.key, p) >= 0) return;
    if (this.#backoff.has(`internet|${p.sha256}`)) return;
    if (this.#c.acceptFromNodes) {
      // a neighbour has it: fetched from there (#pump), no second download
      for (const [uuid, peer] of this.#peers) {
        const k = peer.lists.get(list);
        if (this.isMember(uuid) && k && compareKeys(k, p) >= 0) return;
      }
      const reports = check?.reports ?? new Map<string, Report>();
      const has = (r: { lists: readonly UpdateListVersion[] }) =>
        r.lists.some((k) => k.list === list && compareKeys(k, p) >= 0);
      const getting = (r: { downloading: readonly UpdateListVersion[] }) =>
        r.downloading.some((k) => k.list === list && compareKeys(k, p) >= 0);
      const neighbours = [...this.#peers]
        .filter(([uuid]) => this.isMember(uuid))
        .map(([, peer]) => ({ downloading: [...peer.downloading.values()] }));
      const elsewhere =
        [...reports.values()].some((r) => has(r) || getting(r)) || neighbours.some((n) => getting(n));
      // concurrent checkers: the lowest uuid that lacks the version downloads, the others wait for it
      const lower = [...(check?.checkers ?? [])].some((uuid) => {
        if (uuid >= this.#c.self.uuid) return false;
        const r = reports.get(uuid);
        return r === undefined || !has(r);
      });
      const waited = this.#waiting.get(list);
      const waitedLong =
        waited !== undefined && sameKey(waited.key, p) && at - waited.since >= this.#c.intervalMs;
      if ((elsewhere || lower) && !waitedLong) {
        if (!waited || !sameKey(waited.key, p)) this.#waiting.set(list, { key: keyOf(p), since: at });
        out.push({
          type: 'log',
          level: 'info',
          message: `[Coordinator] [UpdateCheck] ${keyText(p)}: ${elsewhere ? 'a member has it or is downloading it' : 'a member with a lower uuid downloads it'}; waiting for it`,
        });
        return;
      }
    }
    if (busy) return; // an older one is on its way: this one after it
    this.#busy.set(list, { kind: 'download', key: keyOf(p), from: undefined, since: at });
    this.#stats.downloads++;
    out.push({ type: 'download', key: keyOf(p) });
    out.push({
      type: 'log',
      level: 'info',
      message: `[Coordinator] [UpdateDownload] ${keyText(p)} from the internet${own ? ` (holds ${own.version})` : ''}`,
    });
    this.#broadcastState(out);
  }

  /** Fetch from a neighbour member whatever it holds newer than this node (the newest, lowest uuid first). */
  #pump(at: number, out: UpdateAction[]): void {
    if (!this.#c.acceptFromNodes) return;
    for (const list of this.#c.lists) {
      if (this.#busy.has(list)) continue;
      const own = this.#held.get(list);
      let best: { uuid: string; key: UpdateListVersion } | undefined;
      for (const uuid of [...this.#peers.keys()].sort()) {
        const k = this.#peers.get(uuid)?.lists.get(list);
        if (!k || !this.isMember(uuid) || this.#backoff.has(`${uuid}|${k.sha256}`)) continue;
        if (own && compareKeys(k, own) <= 0) continue;
        if (!best || compareKeys(k, best.key) > 0) best = { uuid, key: k };
      }
      if (!best) continue;
      this.#busy.set(list, { kind: 'fetch', key: best.key, from: best.uuid, since: at });
      this.#stats.fetches++;
      out.push({ type: 'fetch', key: best.key, from: best.uuid });
    }
  }

  // ---- helpers --------------------------------------------------------------------------------------

  /** The connected peers that said hello with one of `groups` (and share one with this node). */
  #memberPeers(groups: readonly string[]): string[] {
    return [...this.#peers]
      .filter(([uuid, p]) => this.isMember(uuid) && (p.groups ?? []).some((g) => groups.includes(g)))
      .map(([uuid]) => uuid)
      .sort();
  }

  #downloading(): UpdateListVersion[] {
    return [...this.#busy.values()].filter((b) => b.kind === 'download').map((b) => keyOf(b.key));
  }

  #state(): UpdateStateMessage {
    return {
      type: 'update-state',
      accept: this.#c.acceptFromNodes,
      lists: [...this.#held.values()].map(keyOf),
      downloading: this.#downloading(),
    };
  }

  #broadcastState(out: UpdateAction[]): void {
    const state = this.#state();
    for (const uuid of this.#memberPeers(this.#c.groups))
      out.push({ type: 'send', to: uuid, message: state });
  }
}

// The membership machine of the director protocol: pure and deterministic. Events carry their time,
// actions come out; no clock, timers or sockets in here.
import { LB_MAX_TABLE_MEMBERS } from '../codec/message';
import type { AnnouncedTable, Announcement, LoadReport } from '../codec/types';
import { LbError } from '../errors';
import { createScheduler, tableFromInputs } from '../scheduler/index';
import type { BucketTable, LoadScheduler, SchedulerNode, TableInputs } from '../scheduler/types';
import { type ResolvedLbConfig, resolveLbConfig } from './config';
import { compareDirectors } from './rules';
import type {
  DirectorSnapshot,
  LbAction,
  LbEvent,
  LbMachineConfig,
  LbRole,
  LbSnapshot,
  LbStats,
  MemberSnapshot,
} from './types';

/** The scheduler's documented default of `minRebuildIntervalMs` (for {@link LbMachine.nextDeadline}). */
const DEFAULT_MIN_REBUILD_INTERVAL_MS = 5000;

interface Member {
  report: LoadReport;
  readonly joinedAt: number;
  lastReportAt: number;
  readonly self: boolean;
  /** False while a member adopted from the previous director's table has not reported here yet. */
  reported: boolean;
  /** Set after a `refused` event: no new clients before this time, then until an `ok` report. */
  refusedUntil?: number | undefined;
}

interface HeardDirector {
  announcement: Announcement;
  readonly firstSeenAt: number;
  lastSeenAt: number;
}

/** The table the followed director announced last (scanner), kept for a takeover. */
interface HeardTable {
  readonly director: DirectorSnapshot;
  readonly table: AnnouncedTable;
  /** The announcement it came in (to skip unchanged ones cheaply). */
  announcement: Announcement;
  /** When it was last heard (ms). */
  at: number;
  readonly key: string;
}

interface Candidate {
  readonly id: string;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
  readonly snapshot: DirectorSnapshot;
}

type Counters = { -readonly [K in keyof LbStats]: number };

function validMessage(m: { nodeId?: unknown; intervalMs?: unknown }): boolean {
  return (
    typeof m.nodeId === 'string' &&
    m.nodeId !== '' &&
    typeof m.intervalMs === 'number' &&
    Number.isFinite(m.intervalMs) &&
    m.intervalMs > 0
  );
}

function byId<T extends { readonly id: string }>(a: T, b: T): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The membership machine of one node of a load-balancing group.
 *
 * Feed it events with {@link LbMachine.step}; it returns the actions to carry out, in order. It never
 * reads a clock: every event carries its time `at` in ms (any monotonic origin; an event older than the
 * previous one is handled as happening at the previous one's time). The same events give the same
 * actions.
 *
 * As the **director** it keeps the members (every node whose reports arrive, itself included through
 * `localReport` events), removes a member silent for `failAfterIntervals` of its report intervals,
 * drains a member that reports health `failure` (it stays a member), and feeds every report to the load
 * scheduler, emitting `tableChanged` whenever the bucket table changes. As a **scanner** it ignores
 * wire reports and follows the directors' announcements, the split-brain rule ({@link compareDirectors})
 * choosing one when several announce. The README's membership section has the rules in full.
 *
 * Every step first applies the passage of time (expiries, a due damped rebuild) up to the event's time,
 * then the event; so a report arriving at the very instant its member expires comes too late (the
 * member fails and joins again), whether or not a `tick` for that instant came first.
 *
 * @example
 * ```ts
 * const m = new LbMachine({ selfId: '00000000-0000-4000-8000-000000000001', group: 51, role: 'director' });
 * m.step({ type: 'localReport', at: 0, report });   // -> nodeJoined (itself), tableChanged (initial)
 * m.step({ type: 'report', at: 10, report: other, source: '10.0.0.2' }); // -> nodeJoined, tableChanged
 * m.nextDeadline();                                  // -> 3010 (the other member's failure deadline)
 * ```
 */
export class LbMachine {
  readonly #c: ResolvedLbConfig;
  #role: LbRole;
  #now: number | undefined;
  #out: LbAction[] = [];
  readonly #members = new Map<string, Member>();
  #local: { report: LoadReport; firstAt: number; lastAt: number } | undefined;
  #scheduler: LoadScheduler | undefined;
  #table: BucketTable | undefined;
  #lastTableChangeAt: number | undefined;
  #rebuildDueAt: number | undefined;
  #dirty = false;
  readonly #heard = new Map<string, HeardDirector>();
  #directorSince = 0;
  #active: DirectorSnapshot[] = [];
  #followed: DirectorSnapshot | undefined;
  #splitBrain = false;
  #heardTable: HeardTable | undefined;
  readonly #stats: Counters = {
    reportsAccepted: 0,
    localReports: 0,
    reportsIgnoredAsScanner: 0,
    reportsOwnId: 0,
    reportsOtherGroup: 0,
    reportsInvalid: 0,
    announcementsAccepted: 0,
    announcementsOwn: 0,
    announcementsOtherGroup: 0,
    announcementsInvalid: 0,
    nodesJoined: 0,
    nodesFailed: 0,
    tableChanges: 0,
    splitBrains: 0,
    tablesAdopted: 0,
    tablesNotAdopted: 0,
    eventsOutOfOrder: 0,
  };

  /**
   * @param config - the node's configuration
   * @throws {@link LbError} `LB_INVALID_ARGUMENT` naming each bad path in `details.issues`
   */
  constructor(config: LbMachineConfig) {
    this.#c = resolveLbConfig(config);
    this.#role = this.#c.role;
    if (this.#role === 'director') this.#scheduler = createScheduler(this.#c.scheduler);
  }

  /** This node's id. */
  get selfId(): string {
    return this.#c.selfId;
  }

  /** The load-balancing group. */
  get group(): number {
    return this.#c.group;
  }

  /** The current role. */
  get role(): LbRole {
    return this.#role;
  }

  /** The time of the latest event (ms), `undefined` before the first. */
  get now(): number | undefined {
    return this.#now;
  }

  /**
   * Handles one event and returns the actions it caused, in order.
   *
   * @param event - the event, with its time
   * @throws {@link LbError} `LB_INVALID_ARGUMENT` when `event.at` is not a finite number
   */
  step(event: LbEvent): LbAction[] {
    if (typeof event.at !== 'number' || !Number.isFinite(event.at)) {
      throw new LbError(
        'LB_INVALID_ARGUMENT',
        `LbMachine event time must be a finite number (got ${event.at})`,
        {
          details: { issues: [{ path: 'at', message: `must be a finite number (got ${String(event.at)})` }] },
        },
      );
    }
    let at = event.at;
    if (this.#now !== undefined && at < this.#now) {
      this.#stats.eventsOutOfOrder++;
      at = this.#now;
    }
    this.#now = at;
    this.#out = [];
    this.#dirty = false;
    this.#expire(at);
    switch (event.type) {
      case 'report':
        this.#onReport(event.report, at);
        break;
      case 'localReport':
        this.#onLocalReport(event.report, at);
        break;
      case 'announcement':
        this.#onAnnouncement(event.announcement, at);
        break;
      case 'role':
        this.#onRole(event.role, at);
        break;
      case 'refused':
        this.#onRefused(event.nodeId, event.reason, at);
        break;
      case 'tick':
        break;
    }
    if (this.#role === 'director' && this.#dirty) this.#updateTable(at);
    this.#evaluateDirectors(at);
    const out = this.#out;
    this.#out = [];
    return out;
  }

  /** The same as {@link LbMachine.step} (the name the VRRP machine uses). */
  handle(event: LbEvent): LbAction[] {
    return this.step(event);
  }

  /**
   * The earliest time at which a `tick` would change something: a member's failure deadline, a
   * director's expiry, a damped table rebuild coming due; `undefined` when nothing is pending. A tick
   * at or after this time is what the driver's timer should deliver.
   */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    const consider = (t: number) => {
      if (next === undefined || t < next) next = t;
    };
    if (this.#role === 'director') {
      for (const m of this.#members.values())
        if (!m.self) consider(m.lastReportAt + this.#c.failAfterIntervals * m.report.intervalMs);
      if (this.#rebuildDueAt !== undefined) consider(this.#rebuildDueAt);
    }
    for (const d of this.#heard.values())
      consider(d.lastSeenAt + this.#c.directorFailAfterIntervals * d.announcement.intervalMs);
    return next;
  }

  /**
   * The member id a client address maps to in the table in force (director), or `undefined` when this
   * node is a scanner, no table is built yet, or no member can take clients.
   *
   * @param clientAddress - IPv4 or IPv6 text
   */
  lookup(clientAddress: string): string | undefined {
    if (this.#role !== 'director' || this.#table === undefined) return undefined;
    return this.#scheduler?.lookup(clientAddress);
  }

  /**
   * The bucket of a client address (director), or `undefined` when this node is a scanner.
   *
   * @param clientAddress - IPv4 or IPv6 text
   */
  bucketOf(clientAddress: string): number | undefined {
    if (this.#role !== 'director') return undefined;
    return this.#scheduler?.bucketOf(clientAddress);
  }

  /**
   * Each member's effective weight as the scheduler last computed it (capacity x health x smoothed load
   * factor), director only; empty for a scanner.
   */
  effectiveWeights(): ReadonlyMap<string, number> {
    if (this.#role !== 'director' || this.#scheduler === undefined) return new Map();
    return this.#scheduler.weights();
  }

  /**
   * What this director announces of its table (the inputs that rebuild it, with every member's
   * address), or `undefined` when it is no director, has no table yet or the table refers to more than
   * 64 nodes (the most an announcement carries).
   */
  announcedTable(): AnnouncedTable | undefined {
    if (this.#role !== 'director' || this.#scheduler === undefined || this.#table === undefined)
      return undefined;
    const inputs = this.#scheduler.tableInputs();
    if (inputs.nodes.length === 0 || inputs.nodes.length > LB_MAX_TABLE_MEMBERS) return undefined;
    const members: AnnouncedTable['members'][number][] = [];
    for (const n of inputs.nodes) {
      const address = this.#members.get(n.id)?.report.address;
      if (address === undefined) return undefined;
      members.push({
        nodeId: n.id,
        address,
        capacity: n.capacity,
        weight256: n.healthy && n.capacity > 0 ? n.weight256 : 0,
        healthy: n.healthy,
        bounded: n.bounded,
      });
    }
    return { size: inputs.size, seed: inputs.seed, members };
  }

  /** The table in force while directing (what {@link LbMachine.snapshot} gives as `table`), else undefined. */
  get table(): BucketTable | undefined {
    return this.#role === 'director' ? this.#table : undefined;
  }

  /** The machine's state as of the latest event. */
  snapshot(): LbSnapshot {
    const director = this.#role === 'director';
    let members: MemberSnapshot[];
    if (director) members = [...this.#members.entries()].map(([id, m]) => memberSnapshot(id, m)).sort(byId);
    else if (this.#local !== undefined)
      members = [
        memberSnapshot(this.#c.selfId, {
          report: this.#local.report,
          joinedAt: this.#local.firstAt,
          lastReportAt: this.#local.lastAt,
          self: true,
          reported: true,
        }),
      ];
    else members = [];
    return {
      role: this.#role,
      selfId: this.#c.selfId,
      members,
      director: director ? this.#selfDirector(this.#now ?? 0) : this.#followed,
      directors: [...this.#active],
      table: director ? this.#table : undefined,
      shares: director && this.#table !== undefined && this.#scheduler ? this.#scheduler.shares() : new Map(),
      stats: { ...this.#stats },
      announcedTable: director ? undefined : this.#heardTable?.table,
    };
  }

  // ---- events ------------------------------------------------------------------------------------

  #onReport(report: LoadReport, at: number): void {
    if (!validMessage(report)) {
      this.#stats.reportsInvalid++;
      return;
    }
    if (report.group !== this.#c.group) {
      this.#stats.reportsOtherGroup++;
      return;
    }
    if (report.nodeId === this.#c.selfId) {
      this.#stats.reportsOwnId++;
      return;
    }
    if (this.#role !== 'director') {
      this.#stats.reportsIgnoredAsScanner++;
      return;
    }
    this.#stats.reportsAccepted++;
    this.#accept(report.nodeId, report, at, false);
  }

  #onLocalReport(report: LoadReport, at: number): void {
    if (!validMessage(report)) {
      this.#stats.reportsInvalid++;
      return;
    }
    this.#stats.localReports++;
    this.#local = { report, firstAt: this.#local?.firstAt ?? at, lastAt: at };
    if (this.#role === 'director') this.#accept(this.#c.selfId, report, at, true);
  }

  #onAnnouncement(a: Announcement, at: number): void {
    if (!validMessage(a)) {
      this.#stats.announcementsInvalid++;
      return;
    }
    if (a.group !== this.#c.group) {
      this.#stats.announcementsOtherGroup++;
      return;
    }
    if (a.nodeId === this.#c.selfId) {
      this.#stats.announcementsOwn++;
      return;
    }
    this.#stats.announcementsAccepted++;
    const heard = this.#heard.get(a.nodeId);
    if (heard === undefined) this.#heard.set(a.nodeId, { announcement: a, firstSeenAt: at, lastSeenAt: at });
    else {
      heard.announcement = a;
      heard.lastSeenAt = at;
    }
  }

  #onRole(role: LbRole, at: number): void {
    if (role !== 'director' && role !== 'scanner') return;
    const previous = this.#role;
    if (role === previous) return;
    this.#role = role;
    this.#out.push({ type: 'roleChanged', role, previous });
    this.#followed = undefined;
    this.#members.clear();
    this.#table = undefined;
    this.#lastTableChangeAt = undefined;
    this.#rebuildDueAt = undefined;
    if (role === 'director') {
      this.#scheduler = createScheduler(this.#c.scheduler);
      this.#directorSince = at;
      this.#adoptHeardTable(at);
      if (this.#local !== undefined) {
        this.#accept(this.#c.selfId, this.#local.report, at, true, this.#local.lastAt);
      }
      this.#expire(at); // a crashed old director leaves the adopted table in this same step
    } else {
      this.#scheduler = undefined;
    }
  }

  /** Takes over the followed director's announced table, if recent enough (see `adoptTableWithin`). */
  #adoptHeardTable(at: number): void {
    const heard = this.#heardTable;
    this.#heardTable = undefined;
    const scheduler = this.#scheduler;
    const within = this.#c.adoptTableWithin;
    if (heard === undefined || scheduler === undefined || within === 0) return;
    if (at - heard.at > within * heard.director.intervalMs) return;
    const t = heard.table;
    const inputs: TableInputs = {
      size: t.size,
      seed: t.seed,
      nodes: t.members.map((m) => ({
        id: m.nodeId,
        capacity: m.capacity,
        weight256: m.weight256,
        healthy: m.healthy,
        bounded: m.bounded,
      })),
    };
    let u: ReturnType<LoadScheduler['adopt']>;
    try {
      u = scheduler.adopt(at, inputs);
    } catch {
      this.#stats.tablesNotAdopted++;
      return;
    }
    for (const m of t.members) {
      if (m.nodeId === this.#c.selfId) {
        // its own entry: the local report, when there is one, updates it just after (no join line)
        const local = this.#local;
        if (local !== undefined)
          this.#members.set(m.nodeId, {
            report: local.report,
            joinedAt: at,
            lastReportAt: local.lastAt,
            self: true,
            reported: true,
          });
        continue;
      }
      const report: LoadReport = {
        type: 'report',
        group: this.#c.group,
        nodeId: m.nodeId,
        address: m.address,
        sequence: 0,
        timestamp: 0,
        intervalMs: heard.director.intervalMs,
        name: '',
        softwareVersion: '',
        health: { status: m.healthy ? 'ok' : 'failure', failingPorts: [] },
        weight: m.capacity,
        resources: { cpu: 0, memory: 0, load: 0 },
        connections: [],
      };
      // the old director was last heard when it last announced: if it went silent (it crashed, the
      // takeover is the proof), it fails at once instead of after a fresh `failAfterIntervals`, and its
      // clients move now; after a planned handover it reports as a scanner well within that time
      const lastReportAt = m.nodeId === heard.director.id ? Math.min(at, heard.at) : at;
      this.#members.set(m.nodeId, { report, joinedAt: at, lastReportAt, self: false, reported: false });
    }
    this.#table = u.table;
    this.#lastTableChangeAt = at;
    this.#stats.tablesAdopted++;
    this.#stats.tableChanges++;
    this.#out.push({ type: 'tableAdopted', from: heard.director, members: t.members.length });
    this.#out.push({
      type: 'tableChanged',
      table: u.table,
      changedBuckets: u.changedBuckets,
      reason: u.reason,
    });
  }

  #onRefused(id: string, reason: string, at: number): void {
    const m = this.#members.get(id);
    if (this.#role !== 'director' || m === undefined) return;
    if (m.report.health.status !== 'ok' || m.refusedUntil !== undefined) return;
    m.refusedUntil = at + this.#c.failAfterIntervals * m.report.intervalMs;
    this.#dirty = true;
    this.#out.push({ type: 'nodeRefused', node: memberSnapshot(id, m), reason, until: m.refusedUntil });
  }

  // ---- members -----------------------------------------------------------------------------------

  #accept(id: string, report: LoadReport, at: number, self: boolean, reportedAt = at): void {
    this.#dirty = true;
    const m = this.#members.get(id);
    if (m === undefined) {
      const member: Member = { report, joinedAt: at, lastReportAt: reportedAt, self, reported: true };
      this.#members.set(id, member);
      this.#stats.nodesJoined++;
      const node = memberSnapshot(id, member);
      this.#out.push({ type: 'nodeJoined', node });
      if (report.health.status === 'failure') this.#out.push({ type: 'nodeDrained', node });
      return;
    }
    const previous = m.report;
    m.report = report;
    m.lastReportAt = at;
    m.reported = true;
    const node = memberSnapshot(id, m);
    if (previous.address !== report.address)
      this.#out.push({ type: 'nodeAddressChanged', node, previousAddress: previous.address });
    const refused = m.refusedUntil !== undefined;
    if (refused && at >= (m.refusedUntil as number) && report.health.status === 'ok') {
      // the hold-off after a refused connection is over and the node says it is fine
      m.refusedUntil = undefined;
      this.#dirty = true;
      this.#out.push({ type: 'nodeRestored', node });
      return;
    }
    if (previous.health.status === report.health.status) return;
    if (report.health.status === 'failure') {
      m.refusedUntil = undefined;
      this.#out.push({ type: 'nodeDrained', node });
    } else if (!refused) this.#out.push({ type: 'nodeRestored', node });
  }

  #expire(at: number): void {
    if (this.#role === 'director') {
      const failed: [string, Member][] = [];
      for (const [id, m] of this.#members)
        if (!m.self && at >= m.lastReportAt + this.#c.failAfterIntervals * m.report.intervalMs)
          failed.push([id, m]);
      failed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      for (const [id, m] of failed) {
        this.#members.delete(id);
        this.#stats.nodesFailed++;
        this.#out.push({ type: 'nodeFailed', node: memberSnapshot(id, m), silentMs: at - m.lastReportAt });
        this.#dirty = true;
      }
      if (this.#rebuildDueAt !== undefined && at >= this.#rebuildDueAt) this.#dirty = true;
    }
    for (const [id, d] of this.#heard)
      if (at >= d.lastSeenAt + this.#c.directorFailAfterIntervals * d.announcement.intervalMs)
        this.#heard.delete(id);
  }

  #updateTable(at: number): void {
    const scheduler = this.#scheduler;
    if (scheduler === undefined) return;
    const nodes: SchedulerNode[] = [...this.#members.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([id, m]) => ({
        id,
        capacity: m.report.weight,
        healthy: m.report.health.status === 'ok' && m.refusedUntil === undefined,
        resources: m.report.resources,
        activeConnections: activeConnections(m.report),
      }));
    const u = scheduler.update(at, nodes);
    this.#table = u.table;
    if (u.changed) {
      this.#lastTableChangeAt = at;
      this.#rebuildDueAt = undefined;
      this.#stats.tableChanges++;
      this.#out.push({
        type: 'tableChanged',
        table: u.table,
        changedBuckets: u.changedBuckets,
        reason: u.reason,
      });
      return;
    }
    // a load change may have been damped: look again when the minimum rebuild interval has passed
    const min = this.#c.scheduler.minRebuildIntervalMs ?? DEFAULT_MIN_REBUILD_INTERVAL_MS;
    const due = this.#lastTableChangeAt === undefined ? undefined : this.#lastTableChangeAt + min;
    this.#rebuildDueAt = due !== undefined && at < due ? due : undefined;
  }

  // ---- directors ---------------------------------------------------------------------------------

  /** Scanner: keeps the followed director's announced table and says when it changes. */
  #followTable(winner: DirectorSnapshot | undefined): void {
    // no director heard: keep the last table (a takeover after the director's crash adopts it)
    const heard = winner === undefined ? undefined : this.#heard.get(winner.id);
    if (winner === undefined || heard === undefined) return;
    const a = heard.announcement;
    if (a.table === undefined) {
      this.#heardTable = undefined; // it announces none: an older table is not its own
      return;
    }
    const known = this.#heardTable;
    const same = known !== undefined && known.director.id === winner.id;
    if (same && known.announcement === a) return;
    const key = tableKey(a.table);
    if (same && known.key === key) {
      known.announcement = a;
      known.at = heard.lastSeenAt;
      return;
    }
    let table: BucketTable;
    try {
      table = tableFromInputs({
        size: a.table.size,
        seed: a.table.seed,
        nodes: a.table.members.map((m) => ({
          id: m.nodeId,
          capacity: m.capacity,
          weight256: m.weight256,
          healthy: m.healthy,
          bounded: m.bounded,
        })),
      });
    } catch {
      this.#stats.tablesNotAdopted++;
      this.#heardTable = undefined;
      return;
    }
    this.#heardTable = { director: winner, table: a.table, announcement: a, at: heard.lastSeenAt, key };
    this.#out.push({
      type: 'directorTable',
      director: winner,
      table,
      nodes: a.table.members.map((m) => ({
        id: m.nodeId,
        address: m.address,
        self: m.nodeId === this.#c.selfId,
      })),
    });
  }

  #selfDirector(at: number): DirectorSnapshot {
    const a = this.#c.announce;
    return {
      id: this.#c.selfId,
      name: a.name ?? this.#local?.report.name ?? this.#c.selfId,
      address: a.address ?? this.#local?.report.address ?? '',
      priority: a.priority,
      redirects: a.redirects,
      intervalMs: a.intervalMs,
      lastSeenAt: at,
      self: true,
    };
  }

  #evaluateDirectors(at: number): void {
    const candidates: Candidate[] = [];
    for (const [id, d] of this.#heard)
      candidates.push({
        id,
        firstSeenAt: d.firstSeenAt,
        lastSeenAt: d.lastSeenAt,
        snapshot: directorSnapshot(d),
      });
    if (this.#role === 'director')
      candidates.push({
        id: this.#c.selfId,
        firstSeenAt: this.#directorSince,
        lastSeenAt: at,
        snapshot: this.#selfDirector(at),
      });
    // Two directors are concurrent when each announced after the other first did. A director that is
    // concurrent with none and went silent before another one appeared is superseded (a handover): it
    // is no longer followed, and it does not make a split brain. All others are live.
    const concurrent = (d: Candidate, e: Candidate) =>
      d.lastSeenAt >= e.firstSeenAt && e.lastSeenAt >= d.firstSeenAt;
    const active = candidates
      .filter(
        (d) =>
          candidates.some((e) => e !== d && concurrent(d, e)) ||
          !candidates.some((e) => e !== d && e.firstSeenAt > d.lastSeenAt),
      )
      .map((d) => d.snapshot)
      .sort((a, b) => compareDirectors(b, a));
    this.#active = active;
    const winner = active[0];
    if (active.length >= 2 && !this.#splitBrain && winner !== undefined) {
      this.#splitBrain = true;
      this.#stats.splitBrains++;
      this.#out.push({ type: 'splitBrain', directors: active, following: winner });
    }
    if (this.#role === 'scanner') {
      const previous = this.#followed;
      if (previous === undefined && winner !== undefined)
        this.#out.push({ type: 'directorFound', director: winner });
      else if (previous !== undefined && winner === undefined)
        this.#out.push({ type: 'directorLost', director: previous });
      else if (
        previous !== undefined &&
        winner !== undefined &&
        (previous.id !== winner.id || previous.address !== winner.address)
      )
        this.#out.push({ type: 'directorChanged', director: winner, previous });
      this.#followed = winner;
      this.#followTable(winner);
    } else {
      this.#followed = undefined;
    }
    if (this.#splitBrain && active.length < 2) {
      this.#splitBrain = false;
      if (winner !== undefined) this.#out.push({ type: 'splitBrainHealed', director: winner });
    }
  }
}

/** A key that changes whenever an announced table would build another table. */
function tableKey(t: AnnouncedTable): string {
  let k = `${t.size}/${t.seed}`;
  for (const m of t.members)
    k += `|${m.nodeId},${m.address},${m.capacity},${m.weight256},${m.healthy ? 1 : 0}${m.bounded ? 1 : 0}`;
  return k;
}

function activeConnections(report: LoadReport): number {
  let sum = 0;
  for (const c of report.connections) sum += c.active;
  return sum;
}

function memberSnapshot(id: string, m: Member): MemberSnapshot {
  const r = m.report;
  return {
    id,
    name: r.name,
    address: r.address,
    softwareVersion: r.softwareVersion,
    self: m.self,
    reported: m.reported,
    health: r.health,
    weight: r.weight,
    resources: r.resources,
    connections: r.connections,
    activeConnections: activeConnections(r),
    joinedAt: m.joinedAt,
    lastReportAt: m.lastReportAt,
    intervalMs: r.intervalMs,
  };
}

function directorSnapshot(d: HeardDirector): DirectorSnapshot {
  const a = d.announcement;
  return {
    id: a.nodeId,
    name: a.name,
    address: a.address,
    priority: a.priority,
    redirects: a.redirects,
    intervalMs: a.intervalMs,
    lastSeenAt: d.lastSeenAt,
    self: false,
  };
}

// Public types of the membership machine: events with their time in, actions out, snapshots.
import type {
  AnnouncedTable,
  Announcement,
  LoadReport,
  Redirect,
  ReportedHealth,
  ResourceUse,
} from '../codec/types';
import type { BucketTable, SchedulerOptions } from '../scheduler/types';

/** A node's role: the director holds the VIP and spreads clients; every node (the director too) scans. */
export type LbRole = 'director' | 'scanner';

/**
 * What this node announces while it is the director: used for its own entry in
 * {@link LbSnapshot.director} and {@link LbSnapshot.directors} and by the split-brain rule when another
 * director is heard. Every field is optional; see each default.
 */
export interface LbSelfAnnouncement {
  /** The name it announces. Default: the name of its latest local report, else `selfId`. */
  readonly name?: string;
  /** The management address it announces. Default: the address of its latest local report, else `''`. */
  readonly address?: string;
  /** The priority it announces, 0..255 (default 100). */
  readonly priority?: number;
  /** Its announcement interval in ms, 1..65535 (default 1000). */
  readonly intervalMs?: number;
  /** The redirects it announces (default none; at most 64). */
  readonly redirects?: readonly Redirect[];
}

/**
 * Configuration of an {@link LbMachine}. Validated by its constructor, which throws an `LbError` with
 * code `LB_INVALID_ARGUMENT` naming each bad path in `details.issues`.
 */
export interface LbMachineConfig {
  /** This node's id: a UUID in canonical lower-case text form. */
  readonly selfId: string;
  /** The load-balancing group, 1..255: reports and announcements of another group are ignored (counted). */
  readonly group: number;
  /**
   * A member is removed when no report arrived for this many of its own report intervals (the interval
   * in its latest report): integer 1..100, default 3.
   */
  readonly failAfterIntervals?: number;
  /**
   * A director is forgotten when no announcement arrived for this many of its announced intervals:
   * integer 1..100, default 3.
   */
  readonly directorFailAfterIntervals?: number;
  /**
   * Becoming the director, this node adopts the table of the director it followed (carried in its
   * announcements) when that director's latest announcement is at most this many of its intervals old:
   * the new director starts with the very table the old one had, every member included until it fails
   * to report, so no client changes node because the VIP moved. Integer 0..1000, default 10; 0: never
   * adopt (the first table is built from the reports that arrive after the takeover).
   */
  readonly adoptTableWithin?: number;
  /** Options of the load scheduler (passed to `createScheduler`; validated there, paths `scheduler.*`). */
  readonly scheduler?: SchedulerOptions;
  /** The role at start (default `scanner`): no `roleChanged` is emitted for it. */
  readonly role?: LbRole;
  /** What this node announces while it is the director (its own {@link DirectorSnapshot}). */
  readonly announce?: LbSelfAnnouncement;
}

/** Counters of an {@link LbMachine}, in {@link LbSnapshot.stats}. */
export interface LbStats {
  /** Wire reports the director accepted (kept as a member's latest report). */
  readonly reportsAccepted: number;
  /** Local reports (this node's own, the local path). */
  readonly localReports: number;
  /** Wire reports ignored because this node is a scanner (only the director keeps members). */
  readonly reportsIgnoredAsScanner: number;
  /** Wire reports carrying this node's own id (spoofed or looped): ignored, the local entry stays. */
  readonly reportsOwnId: number;
  /** Reports of another group: ignored. */
  readonly reportsOtherGroup: number;
  /** Reports without a usable node id or interval: ignored. */
  readonly reportsInvalid: number;
  /** Announcements of other directors accepted. */
  readonly announcementsAccepted: number;
  /** Announcements carrying this node's own id (the driver filters them; ignored if one slips through). */
  readonly announcementsOwn: number;
  /** Announcements of another group: ignored. */
  readonly announcementsOtherGroup: number;
  /** Announcements without a usable node id or interval: ignored. */
  readonly announcementsInvalid: number;
  /** `nodeJoined` actions so far. */
  readonly nodesJoined: number;
  /** `nodeFailed` actions so far. */
  readonly nodesFailed: number;
  /** `tableChanged` actions so far. */
  readonly tableChanges: number;
  /** `splitBrain` actions (episodes) so far. */
  readonly splitBrains: number;
  /** Tables adopted from the previous director at a takeover (`tableAdopted` actions). */
  readonly tablesAdopted: number;
  /** Announced tables that could not be adopted (another seed or table size: a misconfigured group). */
  readonly tablesNotAdopted: number;
  /** Events whose time was before the previous event's (handled as happening at the previous time). */
  readonly eventsOutOfOrder: number;
}

/** A scanning node as the director knows it. */
export interface MemberSnapshot {
  /** Node id (UUID text). */
  readonly id: string;
  /** Name from its reports. */
  readonly name: string;
  /** Management address from its reports. */
  readonly address: string;
  /** Software version from its reports. */
  readonly softwareVersion: string;
  /** True for this node's own entry (its report takes the local path). */
  readonly self: boolean;
  /**
   * False for a member taken over from the previous director's table that has not reported to this
   * director yet (its name and load are unknown until it does; it fails as usual if it never does).
   */
  readonly reported: boolean;
  /** Health as last reported. */
  readonly health: ReportedHealth;
  /** Static capacity weight. */
  readonly weight: number;
  /** Latest resource use. */
  readonly resources: ResourceUse;
  /** Active connections per destination port, as last reported. */
  readonly connections: LoadReport['connections'];
  /** Sum of `connections`. */
  readonly activeConnections: number;
  /** When the first report was accepted (the event time, ms). */
  readonly joinedAt: number;
  /** When the last report was accepted (the event time, ms). */
  readonly lastReportAt: number;
  /** The node's report interval, ms. */
  readonly intervalMs: number;
}

/** A director as a scanning node knows it (from its announcements). */
export interface DirectorSnapshot {
  /** Node id. */
  readonly id: string;
  /** Name. */
  readonly name: string;
  /** Management address (where reports go). */
  readonly address: string;
  /** Announced priority (split-brain rule). */
  readonly priority: number;
  /** Announced redirects. */
  readonly redirects: readonly Redirect[];
  /** Announced interval, ms. */
  readonly intervalMs: number;
  /** When its last announcement was accepted (event time, ms). */
  readonly lastSeenAt: number;
  /** True when it is this node. */
  readonly self: boolean;
}

/** A load report from the wire (already decoded, authenticated and of this group). */
export interface LbReportEvent {
  /** Discriminator. */
  readonly type: 'report';
  /** When it arrived, ms (monotonic). */
  readonly at: number;
  /** The report. */
  readonly report: LoadReport;
  /** The packet's source address. */
  readonly source: string;
}

/** This node's own report (the local path, never the wire). */
export interface LbLocalReportEvent {
  /** Discriminator. */
  readonly type: 'localReport';
  /** When it was made, ms (monotonic). */
  readonly at: number;
  /** The report (its node id is taken to be this node's). */
  readonly report: LoadReport;
}

/** A director announcement from the wire (decoded, authenticated, of this group, not our own). */
export interface LbAnnouncementEvent {
  /** Discriminator. */
  readonly type: 'announcement';
  /** When it arrived, ms (monotonic). */
  readonly at: number;
  /** The announcement. */
  readonly announcement: Announcement;
  /** The packet's source address. */
  readonly source: string;
}

/** This node became the director or a scanner (from VIP ownership or VRRP). */
export interface LbRoleEvent {
  /** Discriminator. */
  readonly type: 'role';
  /** When, ms (monotonic). */
  readonly at: number;
  /** The role now. */
  readonly role: LbRole;
}

/** Time passed: expire silent nodes and directors, let damped rebuilds happen. */
export interface LbTickEvent {
  /** Discriminator. */
  readonly type: 'tick';
  /** The time now, ms (monotonic). */
  readonly at: number;
}

/**
 * Director: the data plane could not connect a client to a member (refused, unreachable). The member is
 * treated as unhealthy (no new clients) for `failAfterIntervals` of its report intervals, long enough for
 * its own health monitor to see the failure; its next `ok` report after that restores it.
 */
export interface LbRefusedEvent {
  /** Discriminator. */
  readonly type: 'refused';
  /** When the connection failed, ms (monotonic). */
  readonly at: number;
  /** The member's node id. */
  readonly nodeId: string;
  /** What failed (`connection refused`, ...), for the log line. */
  readonly reason: string;
}

/** Events of the {@link LbMachine}: each carries its time `at` (ms, monotonic). */
export type LbEvent =
  | LbReportEvent
  | LbLocalReportEvent
  | LbAnnouncementEvent
  | LbRoleEvent
  | LbRefusedEvent
  | LbTickEvent;

/** A `role` event changed this node's role. */
export interface LbRoleChangedAction {
  /** Discriminator. */
  readonly type: 'roleChanged';
  /** The role now. */
  readonly role: LbRole;
  /** The role before. */
  readonly previous: LbRole;
}

/** Director: a node's first report was accepted; it is a member now (this node's own entry too). */
export interface LbNodeJoinedAction {
  /** Discriminator. */
  readonly type: 'nodeJoined';
  /** The new member. */
  readonly node: MemberSnapshot;
}

/** Director: a member was silent for `failAfterIntervals` of its report intervals and is removed. */
export interface LbNodeFailedAction {
  /** Discriminator. */
  readonly type: 'nodeFailed';
  /** The member as it was last known. */
  readonly node: MemberSnapshot;
  /** Time since its last report, ms. */
  readonly silentMs: number;
}

/** Director: a member reports health `failure`: it keeps its membership and gets no new clients. */
export interface LbNodeDrainedAction {
  /** Discriminator. */
  readonly type: 'nodeDrained';
  /** The member (its `health` names the failing ports). */
  readonly node: MemberSnapshot;
}

/** Director: the data plane could not reach a healthy member: it gets no new clients for a while (see {@link LbRefusedEvent}). */
export interface LbNodeRefusedAction {
  /** Discriminator. */
  readonly type: 'nodeRefused';
  /** The member. */
  readonly node: MemberSnapshot;
  /** What failed. */
  readonly reason: string;
  /** Until when (ms, monotonic) it gets no new clients at least. */
  readonly until: number;
}

/** Director: a drained member reports health `ok` again (or a refused member's hold-off ended with an `ok` report). */
export interface LbNodeRestoredAction {
  /** Discriminator. */
  readonly type: 'nodeRestored';
  /** The member. */
  readonly node: MemberSnapshot;
}

/** Director: a member's report came with a new management address (same node id): the address is updated. */
export interface LbNodeAddressChangedAction {
  /** Discriminator. */
  readonly type: 'nodeAddressChanged';
  /** The member, with its new address. */
  readonly node: MemberSnapshot;
  /** Its address before. */
  readonly previousAddress: string;
}

/** Director: the scheduler's table changed. */
export interface LbTableChangedAction {
  /** Discriminator. */
  readonly type: 'tableChanged';
  /** The table now in force. */
  readonly table: BucketTable;
  /** Buckets whose owner changed. */
  readonly changedBuckets: readonly number[];
  /** The scheduler's `RebuildReason`: `initial`, `membership`, `health`, `load` or `bound`. */
  readonly reason: string;
}

/**
 * Director: at the takeover, the previous director's announced table was adopted: its members are
 * members here (until they fail to report) and the first table is exactly the one it had.
 */
export interface LbTableAdoptedAction {
  /** Discriminator. */
  readonly type: 'tableAdopted';
  /** The director whose table was adopted. */
  readonly from: DirectorSnapshot;
  /** The members taken over (this node's own entry included when it was in the table). */
  readonly members: number;
}

/**
 * Scanner: the table announced by the director it follows changed (or it follows another director): the
 * table to keep loaded for a takeover, with the address of every node it refers to.
 */
export interface LbDirectorTableAction {
  /** Discriminator. */
  readonly type: 'directorTable';
  /** The director that announced it. */
  readonly director: DirectorSnapshot;
  /** The table, rebuilt from the announcement (bit for bit the director's). */
  readonly table: BucketTable;
  /** Every node of `table.nodes`: its management address, and whether it is this node. */
  readonly nodes: readonly {
    /** Node id. */
    readonly id: string;
    /** Its management address. */
    readonly address: string;
    /** True for this node. */
    readonly self: boolean;
  }[];
}

/** Scanner: the first director to follow (reports go to its address). */
export interface LbDirectorFoundAction {
  /** Discriminator. */
  readonly type: 'directorFound';
  /** The director followed now. */
  readonly director: DirectorSnapshot;
}

/** Scanner: another director is followed now (a handover, the split-brain rule, the old one expired, a new address). */
export interface LbDirectorChangedAction {
  /** Discriminator. */
  readonly type: 'directorChanged';
  /** The director followed now. */
  readonly director: DirectorSnapshot;
  /** The one followed before. */
  readonly previous: DirectorSnapshot;
}

/** Scanner: the followed director went silent and no other director is heard. */
export interface LbDirectorLostAction {
  /** Discriminator. */
  readonly type: 'directorLost';
  /** The director as it was last heard. */
  readonly director: DirectorSnapshot;
}

/** More than one director announces the group (once per episode). */
export interface LbSplitBrainAction {
  /** Discriminator. */
  readonly type: 'splitBrain';
  /** Every live director, best first by the split-brain rule (this node too when it is one). */
  readonly directors: readonly DirectorSnapshot[];
  /** The one the rule picks (the first of `directors`). */
  readonly following: DirectorSnapshot;
}

/** The split brain ended: one director remains. */
export interface LbSplitBrainHealedAction {
  /** Discriminator. */
  readonly type: 'splitBrainHealed';
  /** The remaining director. */
  readonly director: DirectorSnapshot;
}

/**
 * Actions of the {@link LbMachine}: what the driver logs, sends or installs, in the order they happened
 * within one event. The README's membership section lists the log line of each.
 */
export type LbAction =
  | LbRoleChangedAction
  | LbNodeJoinedAction
  | LbNodeFailedAction
  | LbNodeDrainedAction
  | LbNodeRestoredAction
  | LbNodeRefusedAction
  | LbNodeAddressChangedAction
  | LbTableChangedAction
  | LbTableAdoptedAction
  | LbDirectorTableAction
  | LbDirectorFoundAction
  | LbDirectorChangedAction
  | LbDirectorLostAction
  | LbSplitBrainAction
  | LbSplitBrainHealedAction;

/** Everything the status command shows, from the machine's point of view. */
export interface LbSnapshot {
  /** This node's role. */
  readonly role: LbRole;
  /** This node's id. */
  readonly selfId: string;
  /** Director: every member (itself included). Scanner: itself only, when it has reported. */
  readonly members: readonly MemberSnapshot[];
  /** Scanner: the director it follows (the split-brain rule picks one); director: itself. */
  readonly director: DirectorSnapshot | undefined;
  /** Every director heard within the failure window (more than one: split brain). */
  readonly directors: readonly DirectorSnapshot[];
  /** The table in force (director). */
  readonly table: BucketTable | undefined;
  /** Each member's share of the table (director). */
  readonly shares: ReadonlyMap<string, number>;
  /** Counters (ignored reports and announcements among them). */
  readonly stats: LbStats;
  /** Scanner: the table the followed director announced last (what a takeover adopts), if any. */
  readonly announcedTable: AnnouncedTable | undefined;
}

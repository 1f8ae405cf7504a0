// Public types of the membership machine: events with their time in, actions out, snapshots.
import type { Announcement, LoadReport, Redirect, ReportedHealth, ResourceUse } from '../codec/types';
import type { BucketTable } from '../scheduler/types';

/** A node's role: the director holds the VIP and spreads clients; every node (the director too) scans. */
export type LbRole = 'director' | 'scanner';

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

/** Events of the {@link LbMachine}: each carries its time `at` (ms, monotonic). */
export type LbEvent =
  /** A load report from the wire (already decoded, authenticated and of this group). */
  | { readonly type: 'report'; readonly at: number; readonly report: LoadReport; readonly source: string }
  /** This node's own report (the local path, never the wire). */
  | { readonly type: 'localReport'; readonly at: number; readonly report: LoadReport }
  /** A director announcement from the wire (decoded, authenticated, of this group, not our own). */
  | { readonly type: 'announcement'; readonly at: number; readonly announcement: Announcement; readonly source: string }
  /** This node became the director or a scanner (from VIP ownership or VRRP). */
  | { readonly type: 'role'; readonly at: number; readonly role: LbRole }
  /** Time passed: expire silent nodes and directors, let damped rebuilds happen. */
  | { readonly type: 'tick'; readonly at: number };

/** Actions of the {@link LbMachine}: what the driver logs, sends or installs. */
export type LbAction =
  | { readonly type: 'roleChanged'; readonly role: LbRole; readonly previous: LbRole }
  | { readonly type: 'nodeJoined'; readonly node: MemberSnapshot }
  | { readonly type: 'nodeFailed'; readonly node: MemberSnapshot; readonly silentMs: number }
  | { readonly type: 'nodeDrained'; readonly node: MemberSnapshot }
  | { readonly type: 'nodeRestored'; readonly node: MemberSnapshot }
  | { readonly type: 'tableChanged'; readonly table: BucketTable; readonly changedBuckets: readonly number[]; readonly reason: string }
  | { readonly type: 'directorFound'; readonly director: DirectorSnapshot }
  | { readonly type: 'directorChanged'; readonly director: DirectorSnapshot; readonly previous: DirectorSnapshot }
  | { readonly type: 'directorLost'; readonly director: DirectorSnapshot }
  | { readonly type: 'splitBrain'; readonly directors: readonly DirectorSnapshot[]; readonly following: DirectorSnapshot }
  | { readonly type: 'splitBrainHealed'; readonly director: DirectorSnapshot };

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
}

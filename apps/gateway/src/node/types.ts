// What a running gateway node shows and accepts: one status document (the CLI's `proxyha status --json`,
// the API's `/api/v1/status`, the status page and `/metrics` all read it) and the commands of the
// management API. The node implements `GatewayControl`; the management server only talks to that.
import type { CmStatus, PolicyDocument } from '@proxyha/cm-coordinator';
import type { LbStatus } from '@proxyha/lb-director';

/** The VRRP states as the status names them (keepalived's words, lower case). */
export type GatewayVrrpState = 'initialize' | 'backup' | 'master' | 'fault';

/** One VRRP state change, as kept in {@link GatewayVrrpStatus.transitions}. */
export interface GatewayTransition {
  /** Wall-clock time of the change, ms since the epoch. */
  readonly at: number;
  /** Previous state. */
  readonly from: GatewayVrrpState;
  /** New state. */
  readonly to: GatewayVrrpState;
  /** Why (the machine's reason: `masterDown`, `higherPriority`, `priorityZero`, `tracker`, `shutdown`, ...). */
  readonly reason: string;
  /** Effective priority at the time. */
  readonly priority: number;
}

/** This node's VRRP instance. */
export interface GatewayVrrpStatus {
  /** Instance name (`VI_1`). */
  readonly instance: string;
  /** Virtual router id. */
  readonly vrid: number;
  /** Interface. */
  readonly interface: string;
  /** Current state. */
  readonly state: GatewayVrrpState;
  /** Configured priority. */
  readonly basePriority: number;
  /** Priority after trackers (health, maintenance), as advertised. */
  readonly effectivePriority: number;
  /** The virtual addresses. */
  readonly virtualIps: readonly string[];
  /**
   * Who holds the VIPs: this node's address when master, the master's address heard in its adverts when
   * backup, `null` when unknown.
   */
  readonly vipOwner: string | null;
  /** Why the instance is in (or would go to) fault: `tracker:health`, `interfaceDown`, ...; empty when none. */
  readonly faultReasons: readonly string[];
  /** The last transitions, oldest first (at most 20). */
  readonly transitions: readonly GatewayTransition[];
  /** Valid adverts received. */
  readonly advertsReceived: number;
  /** Adverts sent. */
  readonly advertsSent: number;
  /** Received packets dropped, by reason code (`VRRP_BAD_TTL`, `VRRP_AUTH_MISMATCH`, ...). */
  readonly dropped: Readonly<Record<string, number>>;
  /** Transitions into master since start. */
  readonly becameMaster: number;
  /**
   * Every state change since start (all of them, unlike {@link GatewayVrrpStatus.transitions}, which keeps
   * the last 20): `/metrics`' `proxyha_vrrp_transitions_total`. When absent, the metric counts the kept
   * transitions.
   */
  readonly transitionCount?: number;
}

/** One redirect port of the health monitor. */
export interface GatewayHealthPort {
  /** Destination port. */
  readonly port: number;
  /** `unknown` (no verdict yet), `ok` or `failure`. */
  readonly status: 'unknown' | 'ok' | 'failure';
  /** Wall-clock time this status was entered, ms since the epoch. */
  readonly since: number;
  /** While failing: why (`connection refused`, `timeout`, ...); otherwise `null`. */
  readonly reason: string | null;
}

/** The port health monitor: every redirect port as a whole. */
export interface GatewayHealthStatus {
  /** `ok` when every port is ok, `failure` when any fails, `unknown` before every port has a verdict. */
  readonly status: 'unknown' | 'ok' | 'failure';
  /** Wall-clock time the aggregate status was entered, ms since the epoch. */
  readonly since: number;
  /** The host probed (the management address). */
  readonly host: string;
  /** Every port, in configured order. */
  readonly ports: readonly GatewayHealthPort[];
}

/** The time-skew guard. */
export interface GatewayNtpStatus {
  /** `off` when no `ntp` section, `unknown` before the first check, else the guard's verdict. */
  readonly verdict: 'off' | 'unknown' | 'ok' | 'warn' | 'fail';
  /** Offset of the local clock against the servers' majority (server minus local), ms; `null` when unknown. */
  readonly offsetMs: number | null;
  /** The servers, `host:port`. */
  readonly servers: readonly string[];
  /** The first reason's sentence (`time difference too high: ...`), or `null`. */
  readonly message: string | null;
  /** Wall-clock time of the last check, ms since the epoch; `null` before the first. */
  readonly checkedAt: number | null;
}

/** Central management as this node sees it (`null` in {@link GatewayStatus.cm} when not configured). */
export interface GatewayCmStatus extends CmStatus {
  /** The current policy version (id, origin name, storage timestamp), if any. */
  readonly policy: { readonly id: string; readonly origin: string; readonly storageTimestamp: string } | null;
  /** Replication errors since start (failed sends, refused peers, failed applies). */
  readonly errors: number;
  /** Age of this node's Current Storage Timestamp, ms (`null` before the first version). */
  readonly storageTimestampAgeMs: number | null;
  /**
   * The configuration backups this node holds: every node saves its own configuration file as its
   * per-node settings, which central management replicates to every node (applied on none but its own).
   */
  readonly backups?: readonly {
    /** The node the file belongs to. */
    readonly node: string;
    /** Its UUID. */
    readonly uuid: string;
    /** The backup's version id. */
    readonly version: string;
    /** Its storage timestamp. */
    readonly storageTimestamp: string;
  }[];
}

/** The director group: the load-sharing node's status and the data plane's counters. */
export interface GatewayDirectorStatus extends LbStatus {
  /** The data plane (`nftables`, `relay`, `direct`). */
  readonly dataPlane: string;
  /** Data-plane counters while directing: connections accepted and failed since start. */
  readonly connections: { readonly accepted: number; readonly failed: number };
  /**
   * Director: bytes carried per node id since start (relay only; the kernel data planes do not count per
   * node): `toNode` client to node, `toClient` node to client.
   */
  readonly bytesByNode: Readonly<Record<string, { readonly toNode: number; readonly toClient: number }>>;
  /** Redirects configured (original port -> destination port). */
  readonly redirects: readonly { readonly originalPort: number; readonly destinationPort: number }[];
}

/** One explanation of uneven load (see {@link GatewayStatus.explanations}). */
export interface GatewayExplanation {
  /**
   * `no-redirects` (no redirects configured on the director: it handles traffic locally),
   * `few-sources` (most connections come from a few source addresses: a NAT or a downstream proxy in
   * front, stickiness keeps them on one node), `unseen-nodes` (nodes the director does not see: another
   * subnet or another group id).
   */
  readonly cause: 'no-redirects' | 'few-sources' | 'unseen-nodes';
  /** The sentence shown to the operator. */
  readonly message: string;
}

/** The whole node: what `proxyha status --json` prints and `/api/v1/status` returns. */
export interface GatewayStatus {
  /** This node. */
  readonly node: {
    /** Its name. */
    readonly name: string;
    /** Software version. */
    readonly version: string;
    /** Start time, ms since the epoch. */
    readonly startedAt: number;
    /** Now, ms since the epoch (when this document was made). */
    readonly now: number;
    /** Maintenance mode is on (persistent until turned off). */
    readonly maintenance: boolean;
    /** `director` while it holds the VIPs and directs, `scanner` otherwise. */
    readonly role: 'director' | 'scanner';
  };
  /** The VRRP instance that elects the director. */
  readonly vrrp: GatewayVrrpStatus;
  /** The load-sharing group. */
  readonly director: GatewayDirectorStatus;
  /** The port health monitor. */
  readonly health: GatewayHealthStatus;
  /** The time-skew guard. */
  readonly ntp: GatewayNtpStatus;
  /** Central management, `null` when not configured. */
  readonly cm: GatewayCmStatus | null;
  /** Why the load may be uneven; empty when nothing suggests it. */
  readonly explanations: readonly GatewayExplanation[];
}

/** A policy as `proxyha policy show` prints it and `GET /api/v1/policy` returns it. */
export interface GatewayPolicy {
  /** Version id. */
  readonly id: string;
  /** Name of the node it was saved on. */
  readonly origin: string;
  /** Its storage timestamp. */
  readonly storageTimestamp: string;
  /** The comment given at save, if any. */
  readonly comment: string | null;
  /** The documents. */
  readonly documents: readonly PolicyDocument[];
}

/** What a save returns. */
export interface GatewaySaveResult {
  /** Id of the new version. */
  readonly version: string;
  /** This node's Current Storage Timestamp after the save. */
  readonly storageTimestamp: string;
}

/**
 * What the management API needs from a running node. Methods that change something throw a
 * `ProxyhaError` (its `code` and `message` become the API's error answer).
 */
export interface GatewayControl {
  /** The status document, now. */
  status(): GatewayStatus;
  /**
   * Calls `listener` after anything in the status changed (VRRP transition, role, health, membership,
   * table, ntp verdict, cm sync, maintenance); returns the unsubscribe function.
   */
  onChange(listener: () => void): () => void;
  /** The current policy, `null` when none was ever saved (or no `cm`). */
  policy(): GatewayPolicy | null;
  /**
   * Saves a new policy version on this node; central management replicates it to every node.
   *
   * @throws `GATEWAY_CM_DISABLED` without `cm`, `GATEWAY_CLOCK_SKEW` while the time-skew guard fails,
   *   `CM_GUI_ATTACH` when another admin session holds the cluster's lock, `CM_INVALID_ARGUMENT` for a bad
   *   document name
   */
  savePolicy(
    documents: readonly PolicyDocument[],
    options?: { readonly comment?: string; readonly session?: string },
  ): GatewaySaveResult;
  /** Attaches an admin session (the cluster-wide lock); throws `CM_GUI_ATTACH` naming the holder. */
  attachAdmin(session: string): void;
  /** Detaches an admin session. */
  detachAdmin(session: string): void;
  /** Adds a node to the cluster (`host[:port]`); its policy is replaced by this node's. */
  addNode(address: string): Promise<{ readonly uuid: string; readonly name: string }>;
  /** Turns maintenance mode on or off (persistent). */
  setMaintenance(on: boolean): Promise<void>;
}

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
  /**
   * Its network groups (default `['default']`): it talks directly only to nodes that share one; a node in
   * more than one is a transit node and relays between them.
   */
  readonly groups?: readonly string[] | undefined;
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

/** The node a version was saved on, as recorded in the version (part of its id). */
export interface VersionOrigin {
  /** The node's UUID (canonical lower-case text); the version's `stamp.node` equals it. */
  readonly uuid: string;
  /** The node's name when it saved the version. */
  readonly name: string;
  /** The node's central-management priority when it saved the version: on a conflict the lower wins. */
  readonly priority: number;
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
  readonly origin: VersionOrigin;
  /** The documents, sorted by name. */
  readonly documents: readonly PolicyDocument[];
  /** Free text from the saving admin ("Save Changes" comment). */
  readonly comment?: string;
}

// ---- the replica machine (extension: events in, actions out) ------------------------------------------

/** A version named in actions and logs: its id, stamp and origin (no documents). */
export interface VersionRef {
  /** The version id. */
  readonly id: string;
  /** Its storage timestamp. */
  readonly stamp: Hlc;
  /** The node it was saved on. */
  readonly origin: VersionOrigin;
}

/**
 * Configuration of a `ReplicaMachine`. Validated by its constructor (a `CmError` `CM_INVALID_ARGUMENT`
 * naming each bad path in `details.issues`).
 */
export interface ReplicaConfig {
  /** This node (its uuid, name and priority go into the versions it saves). */
  readonly self: NodeIdentity;
  /** The versions it holds durably (read from the store at start). Validated with `checkVersion`. */
  readonly versions?: readonly Version[];
  /** Its hybrid-clock high-water mark, if stored; the newest stamp of `versions` counts as well. */
  readonly hlc?: Hlc;
  /** Conflicts already reported (from the store): not reported again. */
  readonly reportedConflicts?: readonly {
    /** Id of the version that was current when the conflict was reported. */
    readonly winner: string;
    /** Id of the leaf that lost to it. */
    readonly loser: string;
  }[];
  /** Every this many ms it sends each peer that is up a summary (anti-entropy), default 30000. */
  readonly syncIntervalMs?: number;
  /** A push not acknowledged within this many ms is sent again (while the peer is up), default 5000. */
  readonly retryMs?: number;
  /**
   * Forward versions new to it to every other peer that is up (default false: anti-entropy alone carries
   * them across nodes that cannot talk directly, within one sync interval per hop).
   */
  readonly relay?: boolean;
  /** This node's addresses (`host:port`) in its membership entry, so that nodes of its groups can dial it. */
  readonly addresses?: readonly string[];
  /** The cluster membership it knows (from the store); its own entry is rebuilt from `self`. */
  readonly members?: readonly import('./groups').ClusterMember[];
  /**
   * The hop limit of relayed messages (1..64, default 8): a version saved on one node is offered onward by at
   * most this many nodes in a row (transit nodes); each message carries its path and the hops left.
   */
  readonly maxHops?: number;
}

/** An admin's "Save Changes": a new version of a scope made on this node. */
export interface ReplicaSaveEvent {
  /** `save`. */
  readonly type: 'save';
  /** The node's wall clock, ms since the epoch. */
  readonly at: number;
  /** The scope saved. */
  readonly scope: Scope;
  /** The full set of documents of the scope (any order). */
  readonly documents: readonly PolicyDocument[];
  /** The admin's comment. */
  readonly comment?: string | undefined;
}

/** A replication message from a peer (authenticated by the transport; its clock checked `ok`). */
export interface ReplicaReceivedEvent {
  /** `received`. */
  readonly type: 'received';
  /** The node's wall clock, ms since the epoch. */
  readonly at: number;
  /** The sender's uuid. */
  readonly from: string;
  /** The message (validated with `checkCmMessage`). */
  readonly message: import('./messages').ReplicationMessage;
}

/** A peer became reachable (connected, authenticated, clock `ok`). */
export interface ReplicaPeerUpEvent {
  /** `peerUp`. */
  readonly type: 'peerUp';
  /** The node's wall clock, ms since the epoch. */
  readonly at: number;
  /** The peer. */
  readonly peer: NodeIdentity;
  /** Its summary, if the handshake carried one (handled as a received summary). */
  readonly summary?: import('./messages').SummaryMessage | undefined;
}

/** A peer became unreachable (or its clock too far off). */
export interface ReplicaPeerDownEvent {
  /** `peerDown`. */
  readonly type: 'peerDown';
  /** The node's wall clock, ms since the epoch. */
  readonly at: number;
  /** The peer's uuid. */
  readonly peer: string;
}

/** "Add node": this node's versions of a scope are replaced by those of the node it is added from. */
export interface ReplicaAdoptEvent {
  /** `adopt`. */
  readonly type: 'adopt';
  /** The node's wall clock, ms since the epoch. */
  readonly at: number;
  /** The scope replaced (normally `policy`). */
  readonly scope: Scope;
  /** Every version of the scope on the other node. */
  readonly versions: readonly Version[];
  /** The cluster membership the other node knows (the added node learns every node and its groups). */
  readonly members?: readonly import('./groups').ClusterMember[] | undefined;
}

/**
 * A node learned out of band ("add node": the added node's groups from its hello, its address as dialed):
 * merged into the membership (its own entry, with a higher counter, wins when it arrives) and told to the peers.
 */
export interface ReplicaMemberEvent {
  /** `member`. */
  readonly type: 'member';
  /** The node's wall clock, ms since the epoch. */
  readonly at: number;
  /** The node. */
  readonly member: import('./groups').ClusterMember;
}

/** Time passes: summaries to peers every sync interval, unacknowledged pushes sent again. */
export interface ReplicaTickEvent {
  /** `tick`. */
  readonly type: 'tick';
  /** The node's wall clock, ms since the epoch. */
  readonly at: number;
}

/** An event of a `ReplicaMachine`. */
export type ReplicaEvent =
  | ReplicaSaveEvent
  | ReplicaReceivedEvent
  | ReplicaPeerUpEvent
  | ReplicaPeerDownEvent
  | ReplicaAdoptEvent
  | ReplicaMemberEvent
  | ReplicaTickEvent;

/**
 * Write these versions durably (one transaction, `CmStore.putVersions`) before carrying out the actions
 * after it: an `ack` or a `broadcast` that follows tells others they are durable here.
 */
export interface ReplicaPersistAction {
  /** `persist`. */
  readonly type: 'persist';
  /** The versions (new to this node). */
  readonly versions: readonly Version[];
}

/** Replace everything of a scope durably (`CmStore.replaceScope`), before the actions after it. */
export interface ReplicaReplaceScopeAction {
  /** `replaceScope`. */
  readonly type: 'replaceScope';
  /** The scope. */
  readonly scope: Scope;
  /** Its versions from now on. */
  readonly versions: readonly Version[];
}

/** Send a message to one peer (dropped by the driver when the peer is not connected). */
export interface ReplicaSendAction {
  /** `send`. */
  readonly type: 'send';
  /** The peer's uuid. */
  readonly to: string;
  /** The message. */
  readonly message: import('./messages').ReplicationMessage;
}

/** Send a message to every peer that is up. */
export interface ReplicaBroadcastAction {
  /** `broadcast`. */
  readonly type: 'broadcast';
  /** The message. */
  readonly message: import('./messages').ReplicationMessage;
}

/**
 * The current version of a scope changed: the driver applies its documents when `apply` is true (the
 * policy, or this node's own configuration); other nodes' configurations are only kept.
 */
export interface ReplicaCurrentChangedAction {
  /** `currentChanged`. */
  readonly type: 'currentChanged';
  /** The scope. */
  readonly scope: Scope;
  /** The new current version. */
  readonly version: Version;
  /** The previous one, if any. */
  readonly previous: Version | undefined;
  /** True for `policy` and `node:<own uuid>`. */
  readonly apply: boolean;
}

/** Two versions were saved concurrently: the winner is current, the loser is kept. Once per pair. */
export interface ReplicaConflictAction {
  /** `conflict`. */
  readonly type: 'conflict';
  /** The scope. */
  readonly scope: Scope;
  /** The version that is current. */
  readonly winner: VersionRef;
  /** The version that lost (kept in the history, restorable by saving it again). */
  readonly loser: VersionRef;
}

/** A line for the node's log. */
export interface ReplicaLogAction {
  /** `log`. */
  readonly type: 'log';
  /** Its level. */
  readonly level: 'info' | 'warn';
  /** The text. */
  readonly message: string;
}

/**
 * The cluster membership changed (a node joined, or changed its groups or addresses): the driver keeps it
 * (it is the path matrix's input at the next start) and dials the new nodes of this node's groups.
 */
export interface ReplicaMembersAction {
  /** `members`. */
  readonly type: 'members';
  /** Every member now, this node included, sorted by uuid. */
  readonly members: readonly import('./groups').ClusterMember[];
}

/** An action of a `ReplicaMachine`, carried out in order. */
export type ReplicaAction =
  | ReplicaMembersAction
  | ReplicaPersistAction
  | ReplicaReplaceScopeAction
  | ReplicaSendAction
  | ReplicaBroadcastAction
  | ReplicaCurrentChangedAction
  | ReplicaConflictAction
  | ReplicaLogAction;

/** What a `ReplicaMachine` knows of a peer. */
export interface PeerSyncState {
  /** Its identity. */
  readonly node: NodeIdentity;
  /** Whether it is up (between `peerUp` and `peerDown`). */
  readonly up: boolean;
  /** Versions pushed to it and not yet acknowledged. */
  readonly pendingAcks: number;
  /** Its Current Storage Timestamp from its latest summary. */
  readonly storageTimestamp: string | undefined;
  /** When its latest summary arrived (wall ms). */
  readonly lastSummaryAt: number | undefined;
  /** Whether every digest of its latest summary equalled this node's at that time. */
  readonly inSync: boolean;
}

/** One scope in a `ReplicaSnapshot`. */
export interface ScopeSnapshot {
  /** The scope. */
  readonly scope: Scope;
  /** How many versions this node holds. */
  readonly count: number;
  /** Digest of their ids. */
  readonly digest: string;
  /** The current version. */
  readonly current: VersionRef | undefined;
  /** The open conflicts: leaves that lost to the current version. */
  readonly openConflicts: readonly VersionRef[];
}

/** Counters of a `ReplicaMachine`. */
export interface ReplicaStats {
  /** Saves made here. */
  readonly saves: number;
  /** Versions received that were new. */
  readonly versionsReceived: number;
  /** Versions received that it already held. */
  readonly duplicates: number;
  /** Versions received that failed `checkVersion` (skipped). */
  readonly invalid: number;
  /** `currentChanged` actions. */
  readonly currentChanges: number;
  /** `conflict` actions. */
  readonly conflicts: number;
  /** Pushes sent again for want of an ack. */
  readonly retransmits: number;
  /** Events whose time was before the previous event's (timers use the previous time). */
  readonly eventsOutOfOrder: number;
  /** Offers sent: version ids offered onward to peers of other network groups (relay). */
  readonly offersSent: number;
  /** Versions fetched because of an offer (requests sent for them). */
  readonly fetches: number;
  /** Messages dropped because their path already held this node (a loop). */
  readonly loops: number;
  /** New versions not offered onward because their message had no hops left. */
  readonly hopLimited: number;
}

/** The state of a `ReplicaMachine`. */
export interface ReplicaSnapshot {
  /** This node. */
  readonly self: NodeIdentity;
  /** Its hybrid-clock high-water mark. */
  readonly hlc: Hlc | undefined;
  /** Its Current Storage Timestamp (`formatHlc` of the current policy version's stamp). */
  readonly storageTimestamp: string | undefined;
  /** Every scope it holds, sorted. */
  readonly scopes: readonly ScopeSnapshot[];
  /** Every peer it knows, by uuid. */
  readonly peers: readonly PeerSyncState[];
  /** The cluster membership it knows, this node included, sorted by uuid. */
  readonly members: readonly import('./groups').ClusterMember[];
  /** Counters. */
  readonly stats: ReplicaStats;
}

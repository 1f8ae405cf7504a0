import type { VrrpV2Auth } from '../codec/types';
import type { VrrpReceiveCode } from './receive';

// Public types of the VRRP state machine: configuration, events in, actions out, snapshots.

/**
 * The states of a virtual router instance. `initialize`, `backup` and `master` are RFC 5798 §6.4
 * (RFC 9568 calls Master "Active"); `fault` is keepalived's extra state for a down interface, a failed
 * tracker with weight 0, or a sync group in fault.
 */
export type MachineStateName = 'initialize' | 'backup' | 'master' | 'fault';

/**
 * The machine's timers. `adver` is the Adver_Timer (Master), `masterDown` the Master_Down_Timer
 * (Backup), `preemptDelay` the preempt-delay hold-off (Backup, only with `preemptDelayMs > 0`).
 */
export type TimerName = 'adver' | 'masterDown' | 'preemptDelay';

/**
 * How a Master answers an advertisement with a lower priority (or equal priority and a lower address).
 *
 * - `rfc9568` (default; also keepalived's default): discard it, send an advertisement immediately and
 *   re-announce the virtual addresses (an `announce` action), so the sender and any learning bridge
 *   see the right Master at once (RFC 9568 §6.4.3).
 * - `rfc5798`: discard it silently and wait for the next Adver_Timer (RFC 5798 §6.4.3, RFC 3768 §6.4.3;
 *   keepalived's `lower_prio_no_advert` without `garp_lower_prio_repeat`).
 */
export type LowerPriorityResponse = 'rfc9568' | 'rfc5798';

/**
 * A tracked object (keepalived's `track_interface`, `track_script`, `track_file`, or a health check):
 * its state moves the effective priority or forces the Fault state.
 *
 * Weight semantics are keepalived's: weight `> 0` is added to the priority while the tracker is up,
 * weight `< 0` is subtracted (added, being negative) while it is down, weight `0` forces Fault while
 * it is down. The effective priority of a non-owner is clamped to 1..254. An address owner
 * (priority 255) keeps 255, so on an owner every tracker acts as weight 0 (down means Fault), as
 * keepalived does.
 */
export interface TrackerConfig {
  /** Unique name, used in `trackerChanged` events and in log lines. */
  readonly name: string;
  /** What is tracked; informational (log lines, snapshots). Default `other`. */
  readonly kind?: 'interface' | 'script' | 'file' | 'health' | 'other';
  /** -253..253; default 0 (down forces Fault). */
  readonly weight?: number;
  /** State before the first `trackerChanged` event. Default `up`. */
  readonly initial?: 'up' | 'down';
}

/**
 * Configuration of one virtual router instance (one VRID on one interface and address family).
 * Validated by the {@link VrrpMachine} constructor, which throws a `VrrpError` with code
 * `VRRP_CONFIG_INVALID` naming each bad path in `details.issues`.
 */
export interface MachineConfig {
  /** Instance name used in log lines, for example `VI_1` -> `(VI_1) Entering MASTER STATE`. */
  readonly name: string;
  /** Virtual router id, 1..255. */
  readonly vrid: number;
  /** VRRP version: 2 (RFC 3768, IPv4 only) or 3 (RFC 5798/9568). Default 3. */
  readonly version?: 2 | 3;
  /**
   * Configured priority, 1..255; default 100. 255 means this router owns the virtual addresses
   * (RFC 5798 §5.2.4): it goes straight to Master at start-up and always preempts.
   */
  readonly priority?: number;
  /**
   * Advertisement_Interval in milliseconds; default 1000. Version 2: whole seconds, 1000..255000.
   * Version 3: whole centiseconds, 10..40950 (the 12-bit Max Adver Int field).
   */
  readonly advertIntervalMs?: number;
  /**
   * This router's primary address on the interface: the source of its adverts and the local side of
   * the equal-priority tie-break. Its family (IPv4/IPv6) is the instance's family.
   */
  readonly primaryAddress: string;
  /** The virtual addresses, optionally with a prefix length (`192.168.77.74/24`). At least one. */
  readonly virtualIps: readonly string[];
  /** Preempt_Mode: a higher-priority Backup takes over from a lower-priority Master. Default true. */
  readonly preempt?: boolean;
  /**
   * Milliseconds a Backup keeps accepting a lower-priority Master before preempting it; default 0.
   * The delay starts at the first lower-priority advert; if the Master is still of lower priority when
   * it ends, this router becomes Master at once. Ignored when `preempt` is false.
   */
  readonly preemptDelayMs?: number;
  /**
   * Accept_Mode (RFC 5798 §6.1): a non-owner Master accepts packets addressed to the virtual addresses.
   * Default false. The machine only exposes it ({@link MachineSnapshot.acceptsVipTraffic} and
   * `addVips.accept`); the driver enforces it.
   */
  readonly accept?: boolean;
  /**
   * keepalived's `unicast_peer`: when non-empty, adverts go to these addresses instead of the multicast
   * group (the driver's job), and the machine discards adverts whose source is not one of them.
   */
  readonly unicastPeers?: readonly string[];
  /** See {@link LowerPriorityResponse}. Default `rfc9568`. */
  readonly lowerPriorityResponse?: LowerPriorityResponse;
  /**
   * Compare the advert's address list with `virtualIps` (the optional check of RFC 5798 §7.1). On a
   * mismatch an advert from a non-owner is discarded and one from an owner (priority 255) is logged
   * and processed. Default true (keepalived checks too).
   */
  readonly checkAddressList?: boolean;
  /**
   * Version 2 only: the authentication adverts must carry (RFC 2338 §5.3.6; keepalived `authentication`):
   * `{ type: 'simple', password }` (auth type 1, at most 8 bytes, compared in constant time) or
   * `{ type: 'none' }` (the default). Adverts with another type or password are discarded
   * (`VRRP_AUTH_MISMATCH`, `VRRP_AUTH_FAILURE`).
   */
  readonly auth?: VrrpV2Auth;
  /** Tracked objects; see {@link TrackerConfig}. */
  readonly trackers?: readonly TrackerConfig[];
}

/**
 * A received advertisement, already decoded and checksum-verified by the driver (the machine does not
 * depend on the codec's types). Fields the driver does not know may be omitted; the machine then skips
 * the matching check.
 */
export interface AdvertEvent {
  /** Discriminator. */
  readonly type: 'advert';
  /** Arrival time in milliseconds (any monotonic origin). */
  readonly at: number;
  /** Source address of the IP packet (the sender's primary address). */
  readonly from: string;
  /** VRRP version field. */
  readonly version: number;
  /** VRID field; omit if the driver already demultiplexed by VRID. */
  readonly vrid?: number;
  /** Priority field, 0..255. */
  readonly priority: number;
  /**
   * The interval field in centiseconds: v3 Max Adver Int as is; v2 Adver Int (seconds) × 100.
   */
  readonly maxAdvertIntervalCs: number;
  /** The IPvX addresses carried in the advert. */
  readonly addresses: readonly string[];
  /** IPv4 TTL / IPv6 Hop Limit of the received packet, if known; must be 255 (RFC 5798 §5.1.1.3). */
  readonly ttl?: number;
  /**
   * v2 authentication as received (type and password); absent means type 0. An instance configured with a
   * password discards an advert without one (`VRRP_AUTH_MISMATCH`).
   */
  readonly auth?: VrrpV2Auth;
}

/** Start the instance (RFC 5798 §6.4.1 Startup event). Ignored unless in Initialize. */
export interface StartupEvent {
  /** Discriminator. */
  readonly type: 'startup';
  /** Time in milliseconds. */
  readonly at: number;
}

/** Stop the instance (RFC 5798 Shutdown event): a Master sends priority 0 and releases its addresses. */
export interface ShutdownEvent {
  /** Discriminator. */
  readonly type: 'shutdown';
  /** Time in milliseconds. */
  readonly at: number;
}

/**
 * A timer the driver armed after a `setTimer` action has expired. A timer event for a timer that is
 * not armed is ignored; one that arrives before the due time re-emits the `setTimer` action.
 */
export interface TimerEvent {
  /** Discriminator. */
  readonly type: 'timer';
  /** Time in milliseconds (at or after the due time). */
  readonly at: number;
  /** Which timer. */
  readonly timer: TimerName;
}

/**
 * Polling alternative to {@link TimerEvent}: fires every timer due at or before `at` (each as a timer
 * event at `at`). A driver can simply call `handle({ type: 'tick', at })` at `nextDeadline()`.
 */
export interface TickEvent {
  /** Discriminator. */
  readonly type: 'tick';
  /** Time in milliseconds. */
  readonly at: number;
}

/** The instance's interface went down (Fault) or came back up. */
export interface LinkEvent {
  /** Discriminator. */
  readonly type: 'interfaceDown' | 'interfaceUp';
  /** Time in milliseconds. */
  readonly at: number;
}

/** A tracked object changed state, and optionally its weight (a `track_file` value, for example). */
export interface TrackerChangedEvent {
  /** Discriminator. */
  readonly type: 'trackerChanged';
  /** Time in milliseconds. */
  readonly at: number;
  /** The tracker's configured name; unknown names are ignored with a warning log action. */
  readonly tracker: string;
  /** New state. */
  readonly state: 'up' | 'down';
  /** New weight (-253..253), kept until changed again. */
  readonly weight?: number;
}

/**
 * Sent by a {@link SyncGroup} to its members: follow another member into Master or Backup, enter
 * Fault with it, or leave the group-imposed Fault. Drivers do not normally send it themselves.
 */
export interface SyncGroupEvent {
  /** Discriminator. */
  readonly type: 'syncGroup';
  /** Time in milliseconds. */
  readonly at: number;
  /** Group name, for log lines. */
  readonly group: string;
  /** What the group asks. */
  readonly to: 'master' | 'backup' | 'fault' | 'faultCleared';
}

/**
 * A changed configuration for the running instance (a daemon's reload), applied in place: the state,
 * timers, counters and held VIPs stay. `name`, `vrid`, `version` and `primaryAddress` cannot change
 * (that is another instance: stop this one and start a new one); the event is refused with
 * `VRRP_INVALID_EVENT`, and an invalid configuration with `VRRP_CONFIG_INVALID`, before anything changes.
 *
 * - priority and trackers: the effective priority is recomputed at once (`priorityChanged`, and Fault
 *   entered or left as for a `trackerChanged` event); the new priority is in the next advert and decides
 *   the next election, as a tracker's weight does. Trackers are matched by name: a kept tracker keeps its
 *   state (and a weight a `trackerChanged` event set, unless the configured weight changed), a new one
 *   starts at its `initial` state, a removed one no longer counts.
 * - virtual addresses: a Master removes the ones no longer configured (`removeVips`), adds the new ones
 *   (`addVips`) and announces the whole list (`announce`, reason `addressesChanged`); the others stay.
 * - advertisement interval: used from the next advert on (a Master's pending Adver_Timer is brought
 *   forward when the new interval ends sooner).
 * - `preempt: false` or a zero `preemptDelayMs` cancels a running preempt delay; the other settings
 *   (`accept`, `unicastPeers`, `auth`, `lowerPriorityResponse`, `checkAddressList`) apply to the next
 *   advert sent or received.
 */
export interface ReconfigureEvent {
  /** Discriminator. */
  readonly type: 'reconfigure';
  /** Time in milliseconds. */
  readonly at: number;
  /** The whole new configuration. */
  readonly config: MachineConfig;
  /**
   * Trackers (by name) whose source was replaced (a track script with another command): they restart
   * from their configured `initial` state instead of keeping the old one.
   */
  readonly resetTrackers?: readonly string[];
}

/** Everything the machine reacts to. Every event carries its time `at` in milliseconds. */
export type MachineEvent =
  | StartupEvent
  | ShutdownEvent
  | AdvertEvent
  | TimerEvent
  | TickEvent
  | LinkEvent
  | TrackerChangedEvent
  | SyncGroupEvent
  | ReconfigureEvent;

/**
 * Why a state transition happened.
 *
 * - `startup`: Initialize -> Backup.
 * - `addressOwner`: Initialize (or Fault) -> Master because the priority is 255.
 * - `masterDown`: Backup -> Master, the Master_Down_Timer expired (no advert for Master_Down_Interval).
 * - `priorityZero`: Backup -> Master, the Master_Down_Timer (set to Skew_Time by a priority 0 advert) expired.
 * - `preemptDelay`: Backup -> Master, the preempt delay ended with a lower-priority Master still present.
 * - `higherPriority`: Master -> Backup, an advert with a higher priority arrived.
 * - `higherAddress`: Master -> Backup, an advert with the same priority from a higher primary address.
 * - `interfaceDown`, `trackerFailed`: -> Fault.
 * - `faultCleared`: Fault -> Backup (or Master for an owner).
 * - `syncGroup`: forced by a {@link SyncGroup} (into Master, Backup or Fault).
 * - `shutdown`: -> Initialize.
 */
export type TransitionReason =
  | 'startup'
  | 'addressOwner'
  | 'masterDown'
  | 'priorityZero'
  | 'preemptDelay'
  | 'higherPriority'
  | 'higherAddress'
  | 'interfaceDown'
  | 'trackerFailed'
  | 'faultCleared'
  | 'syncGroup'
  | 'shutdown';

/**
 * Why an advertisement is sent.
 *
 * - `adverTimer`: the periodic advert (Adver_Timer expired).
 * - `becomeMaster`: the first advert on entering Master.
 * - `priorityZeroReceived`: a Master answering a priority 0 advert (RFC 5798 §6.4.3).
 * - `lowerPriorityReceived`: a Master answering a lower-priority advert (RFC 9568 §6.4.3).
 * - `shutdown`, `fault`: the priority 0 advert of a Master that stops or enters Fault.
 */
export type SendReason =
  | 'adverTimer'
  | 'becomeMaster'
  | 'priorityZeroReceived'
  | 'lowerPriorityReceived'
  | 'shutdown'
  | 'fault';

/** Send one advertisement (to the multicast group, or to each unicast peer). */
export interface SendAction {
  /** Discriminator. */
  readonly type: 'send';
  /** Time of the event that caused it. */
  readonly at: number;
  /** Priority field: the effective priority, or 0 when stopping. */
  readonly priority: number;
  /**
   * The advertisement interval to put in the packet, in milliseconds: v3 Max Adver Int =
   * `intervalMs / 10` centiseconds; v2 Adver Int = `intervalMs / 1000` seconds.
   */
  readonly intervalMs: number;
  /** The virtual addresses to list (canonical text, no prefix). */
  readonly addresses: readonly string[];
  /** Why. */
  readonly reason: SendReason;
}

/** Add the virtual addresses to the interface (entering Master). */
export interface AddVipsAction {
  /** Discriminator. */
  readonly type: 'addVips';
  /** Time of the event. */
  readonly at: number;
  /**
   * The configured virtual addresses as given (with their prefix lengths); after a `reconfigure` event,
   * only the ones it added.
   */
  readonly addresses: readonly string[];
  /** Accept traffic to them locally (owner, or Accept_Mode true). */
  readonly accept: boolean;
}

/** Remove the virtual addresses (leaving Master). */
export interface RemoveVipsAction {
  /** Discriminator. */
  readonly type: 'removeVips';
  /** Time of the event. */
  readonly at: number;
  /** The configured virtual addresses as given; after a `reconfigure` event, only the ones it removed. */
  readonly addresses: readonly string[];
}

/**
 * Announce the virtual addresses: gratuitous ARP (IPv4) or unsolicited Neighbor Advertisements (IPv6),
 * through the driver's announcement hook (the garp package). On entering Master, (with
 * `lowerPriorityResponse: 'rfc9568'`) when a Master hears a lower-priority advert, and when a
 * `reconfigure` event changes a Master's addresses.
 */
export interface AnnounceAction {
  /** Discriminator. */
  readonly type: 'announce';
  /** Time of the event. */
  readonly at: number;
  /** The virtual addresses (canonical text, no prefix). */
  readonly addresses: readonly string[];
  /**
   * Why: `becomeMaster` (entering Master), `lowerPriorityAdvert` (another node still thinks it is
   * Master), `addressesChanged` (a Master's virtual addresses were changed by a `reconfigure` event).
   */
  readonly reason: 'becomeMaster' | 'lowerPriorityAdvert' | 'addressesChanged';
}

/** Arm (or re-arm, replacing any earlier due time) a timer; deliver a `timer` event at `at`. */
export interface SetTimerAction {
  /** Discriminator. */
  readonly type: 'setTimer';
  /** Which timer. */
  readonly timer: TimerName;
  /**
   * Absolute due time in milliseconds, always later than the event that armed it. Not rounded: it is
   * a multiple of 1/256 ms (see `skewTimeMs`); a driver rounds up to its own resolution.
   */
  readonly at: number;
}

/** Disarm a timer. */
export interface CancelTimerAction {
  /** Discriminator. */
  readonly type: 'cancelTimer';
  /** Which timer. */
  readonly timer: TimerName;
}

/** A state change, in order (`seq` counts from 1 per machine). */
export interface TransitionAction {
  /** Discriminator. */
  readonly type: 'transition';
  /** Time of the change. */
  readonly at: number;
  /** 1, 2, 3 ... per machine. */
  readonly seq: number;
  /** Previous state. */
  readonly from: MachineStateName;
  /** New state. */
  readonly to: MachineStateName;
  /** Why. */
  readonly reason: TransitionReason;
  /** Effective priority at the time. */
  readonly priority: number;
}

/** A received advert failed validation and was dropped. */
export interface DiscardAction {
  /** Discriminator. */
  readonly type: 'discard';
  /** Time of the advert. */
  readonly at: number;
  /** Why. */
  readonly reason: VrrpReceiveCode;
  /** Source of the advert. */
  readonly from: string;
}

/** The effective priority changed (a tracker moved). */
export interface PriorityChangedAction {
  /** Discriminator. */
  readonly type: 'priorityChanged';
  /** Time of the change. */
  readonly at: number;
  /** Old effective priority. */
  readonly from: number;
  /** New effective priority. */
  readonly to: number;
}

/**
 * A log line for operators, worded as keepalived words it where keepalived has the line, for example
 * `(VI_1) Entering MASTER STATE`. Print these; the other actions say what to do.
 */
export interface LogAction {
  /** Discriminator. */
  readonly type: 'log';
  /** Time of the event. */
  readonly at: number;
  /** `debug` lines are keepalived's detail-only lines (`-D`). */
  readonly level: 'debug' | 'info' | 'warn';
  /** The line, starting with `(<name>) `. */
  readonly message: string;
}

/** Everything the machine asks its driver to do, in order. */
export type MachineAction =
  | SendAction
  | AddVipsAction
  | RemoveVipsAction
  | AnnounceAction
  | SetTimerAction
  | CancelTimerAction
  | TransitionAction
  | DiscardAction
  | PriorityChangedAction
  | LogAction;

/** Counters, in the spirit of keepalived's per-instance statistics. */
export interface MachineStats {
  /** Valid adverts processed. */
  readonly advertsReceived: number;
  /** Adverts sent (including priority 0). */
  readonly advertsSent: number;
  /** Valid adverts with priority 0 received. */
  readonly priorityZeroReceived: number;
  /** Priority 0 adverts sent. */
  readonly priorityZeroSent: number;
  /** Transitions into Master. */
  readonly becameMaster: number;
  /** Transitions out of Master. */
  readonly releasedMaster: number;
  /** Discarded adverts by reason. */
  readonly discarded: Readonly<Record<VrrpReceiveCode, number>>;
}

/** Why the instance is (or would be) in Fault. */
export type FaultReason = 'interfaceDown' | 'syncGroup' | `tracker:${string}`;

/** A read-only view of the machine, for status output and tests. */
export interface MachineSnapshot {
  /** Instance name. */
  readonly name: string;
  /** Current state. */
  readonly state: MachineStateName;
  /** Time of the last event handled (ms), or `undefined` before the first. */
  readonly now: number | undefined;
  /** Configured priority. */
  readonly basePriority: number;
  /** Priority after tracker weights, sent in adverts. */
  readonly effectivePriority: number;
  /** Priority 255: owns the virtual addresses. */
  readonly addressOwner: boolean;
  /** Our Advertisement_Interval (ms). */
  readonly advertIntervalMs: number;
  /** Master_Adver_Interval (ms): learned from the Master's adverts in v3. */
  readonly masterAdverIntervalMs: number;
  /** Current Skew_Time (ms). */
  readonly skewTimeMs: number;
  /** Current Master_Down_Interval (ms). */
  readonly masterDownIntervalMs: number;
  /** Armed timers and their due times (ms). */
  readonly timers: Readonly<Partial<Record<TimerName, number>>>;
  /** The machine has asked for the virtual addresses to be added and not yet removed. */
  readonly vipsHeld: boolean;
  /** Accept_Mode as configured. */
  readonly acceptMode: boolean;
  /** Master and (owner or Accept_Mode): the VIPs may accept traffic locally (RFC 5798 §6.4.3). */
  readonly acceptsVipTraffic: boolean;
  /** Master: answers ARP / Neighbor Solicitations for the VIPs (RFC 5798 §6.4.2, §6.4.3). */
  readonly answersArp: boolean;
  /** In Backup: the Master whose adverts were last accepted. */
  readonly master: KnownMaster | undefined;
  /** Why the instance is (or would be) in Fault; empty when healthy. */
  readonly faultReasons: readonly FaultReason[];
  /** Tracker states and current weights. */
  readonly trackers: Readonly<Record<string, TrackerState>>;
  /** Counters. */
  readonly stats: MachineStats;
}

/** The Master a Backup follows: the sender of the adverts it last accepted. */
export interface KnownMaster {
  /** Its primary address. */
  readonly address: string;
  /** The priority it advertises. */
  readonly priority: number;
}

/** A tracker's current state in a {@link MachineSnapshot}. */
export interface TrackerState {
  /** Up or down. */
  readonly up: boolean;
  /** Its weight now (it may have been changed by a `trackerChanged` event). */
  readonly weight: number;
}

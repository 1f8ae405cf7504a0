// The VRRP state machine: RFC 3768 (v2) and RFC 5798 / RFC 9568 (v3) §6.4 and §7.1, plus
// keepalived's Fault state, tracking and preempt delay. Pure and deterministic: events carry the time,
// actions come out; no timers, sockets or clock in here.
import { compareIp, type ParsedIp } from '@proxyha/common';
import { VrrpError } from '../codec/errors';
import type { VrrpV2Auth } from '../codec/types';
import { type ResolvedConfig, resolveConfig } from './config';
import { checkReceived, VRRP_RECEIVE_CODES, type VrrpReceiveCode } from './receive';
import { masterDownIntervalMs, skewTimeMs } from './timing';
import type {
  AdvertEvent,
  FaultReason,
  MachineAction,
  MachineConfig,
  MachineEvent,
  MachineSnapshot,
  MachineStateName,
  SendReason,
  TimerName,
  TransitionReason,
} from './types';

const TIMERS: readonly TimerName[] = ['adver', 'masterDown', 'preemptDelay'];

interface Stats {
  advertsReceived: number;
  advertsSent: number;
  priorityZeroReceived: number;
  priorityZeroSent: number;
  becameMaster: number;
  releasedMaster: number;
  discarded: Record<VrrpReceiveCode, number>;
}

/**
 * One VRRP virtual router instance as a pure state machine.
 *
 * Feed it events with {@link VrrpMachine.handle}; it returns the actions to carry out, in order. It
 * never reads a clock: every event carries its time `at` in milliseconds (any monotonic origin; an
 * event older than the previous one is treated as happening at the previous one's time).
 *
 * @example
 * ```ts
 * const m = new VrrpMachine({ name: 'VI_1', vrid: 51, priority: 100, primaryAddress: '192.168.77.11',
 *   virtualIps: ['192.168.77.74/24'] });
 * m.handle({ type: 'startup', at: 0 });            // -> Backup, setTimer masterDown at 3609.375
 * m.handle({ type: 'timer', timer: 'masterDown', at: 3609.375 }); // -> Master: send, addVips, announce
 * ```
 */
export class VrrpMachine {
  #c: ResolvedConfig;
  #state: MachineStateName = 'initialize';
  #now: number | undefined;
  #at = 0;
  #out: MachineAction[] = [];
  readonly #timers: Partial<Record<TimerName, number>> = {};
  #mai: number;
  #vipsHeld = false;
  #ifUp = true;
  #groupFault = false;
  readonly #trackers = new Map<string, { up: boolean; weight: number }>();
  #effective: number;
  #master: { address: string; priority: number } | undefined;
  #downAfterPriorityZero = false;
  #seq = 0;
  readonly #stats: Stats;

  /**
   * @param config - the instance configuration
   * @throws {@link VrrpError} `VRRP_CONFIG_INVALID` when the configuration is invalid
   */
  constructor(config: MachineConfig) {
    this.#c = resolveConfig(config);
    this.#mai = this.#c.advertIntervalMs;
    for (const t of this.#c.trackers)
      this.#trackers.set(t.name, { up: t.initial === 'up', weight: t.weight });
    this.#effective = this.#computeEffective();
    const discarded = {} as Record<VrrpReceiveCode, number>;
    for (const r of VRRP_RECEIVE_CODES) discarded[r] = 0;
    this.#stats = {
      advertsReceived: 0,
      advertsSent: 0,
      priorityZeroReceived: 0,
      priorityZeroSent: 0,
      becameMaster: 0,
      releasedMaster: 0,
      discarded,
    };
  }

  /** The instance name (`VI_1`). */
  get name(): string {
    return this.#c.name;
  }

  /** The current state. */
  get state(): MachineStateName {
    return this.#state;
  }

  /** The effective priority (configured priority moved by tracker weights). */
  get effectivePriority(): number {
    return this.#effective;
  }

  /** The virtual router id. */
  get vrid(): number {
    return this.#c.vrid;
  }

  /** The configured virtual addresses, as given (with prefix lengths), for start-up clean-up. */
  get virtualIps(): readonly string[] {
    return this.#c.virtualIps;
  }

  /** The VRRP version of this instance. */
  get version(): 2 | 3 {
    return this.#c.version;
  }

  /** This instance's primary address in canonical form. */
  get primaryAddress(): string {
    return this.#c.primary.text;
  }

  /** The configured v2 authentication, sent in this instance's adverts. */
  get auth(): VrrpV2Auth {
    return this.#c.auth;
  }

  /** The configured unicast peers in canonical form (empty: multicast). */
  get unicastPeers(): readonly string[] {
    return this.#c.unicastPeers;
  }

  /** The earliest armed timer's due time, or `undefined` when no timer is armed. */
  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const t of TIMERS) {
      const due = this.#timers[t];
      if (due !== undefined && (best === undefined || due < best)) best = due;
    }
    return best;
  }

  /**
   * Handles one event and returns the actions to carry out, in order.
   *
   * @param event - the event; its `at` must be a finite number
   * @throws {@link VrrpError} `VRRP_INVALID_EVENT` for a malformed event
   */
  handle(event: MachineEvent): MachineAction[] {
    if (
      event === null ||
      typeof event !== 'object' ||
      typeof event.at !== 'number' ||
      !Number.isFinite(event.at)
    ) {
      throw new VrrpError(
        'VRRP_INVALID_EVENT',
        `event needs a finite numeric "at" (got ${JSON.stringify(event)})`,
      );
    }
    this.#out = [];
    this.#at = this.#now === undefined ? event.at : Math.max(this.#now, event.at);
    this.#now = this.#at;
    switch (event.type) {
      case 'startup':
        this.#onStartup();
        break;
      case 'shutdown':
        this.#onShutdown();
        break;
      case 'advert':
        this.#onAdvert(event);
        break;
      case 'timer':
        if (!TIMERS.includes(event.timer)) {
          throw new VrrpError('VRRP_INVALID_EVENT', `unknown timer ${JSON.stringify(event.timer)}`);
        }
        this.#onTimer(event.timer);
        break;
      case 'tick':
        this.#onTick();
        break;
      case 'interfaceDown':
      case 'interfaceUp':
        this.#ifUp = event.type === 'interfaceUp';
        this.#reevaluate();
        break;
      case 'trackerChanged':
        this.#onTracker(event.tracker, event.state, event.weight);
        break;
      case 'syncGroup':
        this.#onSyncGroup(event.group, event.to);
        break;
      case 'reconfigure':
        this.#onReconfigure(event.config, event.resetTrackers);
        break;
      default:
        throw new VrrpError(
          'VRRP_INVALID_EVENT',
          `unknown event type ${JSON.stringify((event as { type?: unknown }).type)}`,
        );
    }
    const out = this.#out;
    this.#out = [];
    return out;
  }

  /** A read-only view of the current state, timers, trackers and counters. */
  snapshot(): MachineSnapshot {
    const trackers: Record<string, { up: boolean; weight: number }> = {};
    for (const [name, t] of this.#trackers) trackers[name] = { up: t.up, weight: t.weight };
    const master = this.#state === 'master';
    return {
      name: this.#c.name,
      state: this.#state,
      now: this.#now,
      basePriority: this.#c.priority,
      effectivePriority: this.#effective,
      addressOwner: this.#c.owner,
      advertIntervalMs: this.#c.advertIntervalMs,
      masterAdverIntervalMs: this.#mai,
      skewTimeMs: skewTimeMs(this.#c.version, this.#effective, this.#mai),
      masterDownIntervalMs: masterDownIntervalMs(this.#c.version, this.#effective, this.#mai),
      timers: { ...this.#timers },
      vipsHeld: this.#vipsHeld,
      acceptMode: this.#c.accept,
      acceptsVipTraffic: master && (this.#c.owner || this.#c.accept),
      answersArp: master,
      master: this.#state === 'backup' && this.#master ? { ...this.#master } : undefined,
      faultReasons: this.#faultReasons(),
      trackers,
      stats: { ...this.#stats, discarded: { ...this.#stats.discarded } },
    };
  }

  // ---- events ------------------------------------------------------------------------------------

  #onStartup(): void {
    if (this.#state !== 'initialize') return;
    this.#mai = this.#c.advertIntervalMs;
    this.#master = undefined;
    const fault = this.#faultReasons();
    if (fault.length > 0) {
      this.#transition('fault', faultTransitionReason(fault));
      this.#log('info', 'Entering FAULT STATE');
    } else if (this.#c.owner) {
      // RFC 5798 §6.4.1: the address owner goes straight to Master.
      this.#becomeMaster('addressOwner');
    } else {
      this.#enterBackup('startup', false);
    }
  }

  #onShutdown(): void {
    const from = this.#state;
    if (from === 'initialize') return;
    this.#cancelTimer('adver');
    this.#cancelTimer('masterDown');
    this.#cancelTimer('preemptDelay');
    if (from === 'master') {
      // RFC 5798 §6.4.3: cancel the Adver_Timer, send an advert with priority 0, go to Initialize.
      this.#send(0, 'shutdown');
      this.#releaseVips();
      this.#stats.releasedMaster++;
    }
    this.#master = undefined;
    this.#transition('initialize', 'shutdown');
    this.#log('info', 'Entering INIT STATE (shutdown)');
  }

  #onTick(): void {
    for (let guard = 0; guard < 16; guard++) {
      let next: TimerName | undefined;
      for (const t of TIMERS) {
        const due = this.#timers[t];
        if (
          due !== undefined &&
          due <= this.#at &&
          (next === undefined || due < (this.#timers[next] as number))
        ) {
          next = t;
        }
      }
      if (next === undefined) return;
      this.#onTimer(next);
    }
  }

  #onTimer(timer: TimerName): void {
    const due = this.#timers[timer];
    if (due === undefined) return; // cancelled or replaced: a stale expiry
    if (this.#at < due) {
      // Early (a driver rounding down, or an OS timer left over from a re-arm): re-state the due time.
      this.#out.push({ type: 'setTimer', timer, at: due });
      return;
    }
    delete this.#timers[timer];
    if (timer === 'adver') {
      if (this.#state !== 'master') return;
      // RFC 5798 §6.4.3: send an advert, reset the Adver_Timer to Advertisement_Interval.
      this.#send(this.#effective, 'adverTimer');
      this.#setTimer('adver', this.#at + this.#c.advertIntervalMs);
    } else if (timer === 'masterDown') {
      if (this.#state !== 'backup') return;
      this.#log('info', 'Receive advertisement timeout');
      this.#becomeMaster(this.#downAfterPriorityZero ? 'priorityZero' : 'masterDown');
    } else {
      if (this.#state !== 'backup') return;
      if (this.#master !== undefined && this.#master.priority < this.#effective) {
        this.#log(
          'info',
          `preempt delay expired, preempting lower priority (${this.#master.priority}) master ${this.#master.address}`,
        );
        this.#becomeMaster('preemptDelay');
      }
    }
  }

  #onTracker(name: string, state: 'up' | 'down', weight: number | undefined): void {
    if (state !== 'up' && state !== 'down') {
      throw new VrrpError(
        'VRRP_INVALID_EVENT',
        `tracker state must be "up" or "down" (got ${JSON.stringify(state)})`,
      );
    }
    if (weight !== undefined && !(Number.isInteger(weight) && weight >= -253 && weight <= 253)) {
      throw new VrrpError(
        'VRRP_INVALID_EVENT',
        `tracker weight must be an integer -253..253 (got ${weight})`,
      );
    }
    const t = this.#trackers.get(name);
    if (t === undefined) {
      this.#log('warn', `unknown tracker ${name} reported ${state} - ignored`);
      return;
    }
    const wasUp = t.up;
    t.up = state === 'up';
    if (weight !== undefined) t.weight = weight;
    if (wasUp !== t.up) this.#log('info', `tracker ${name} is ${state.toUpperCase()}`);
    this.#reevaluate();
  }

  #onSyncGroup(group: string, to: 'master' | 'backup' | 'fault' | 'faultCleared'): void {
    if (to === 'master') {
      if (this.#state !== 'backup') return;
      this.#log('info', `sync group ${group} goes to MASTER`);
      this.#becomeMaster('syncGroup');
    } else if (to === 'backup') {
      if (this.#state !== 'master') return;
      this.#log('info', `sync group ${group} goes to BACKUP`);
      this.#stats.releasedMaster++;
      this.#enterBackup('syncGroup', false);
    } else if (to === 'fault') {
      this.#groupFault = true;
      this.#reevaluate();
    } else if (to === 'faultCleared') {
      this.#groupFault = false;
      this.#reevaluate();
    } else {
      throw new VrrpError('VRRP_INVALID_EVENT', `unknown sync group request ${JSON.stringify(to)}`);
    }
  }

  #onReconfigure(config: MachineConfig, resetTrackers: readonly string[] | undefined): void {
    if (
      resetTrackers !== undefined &&
      !(Array.isArray(resetTrackers) && resetTrackers.every((t) => typeof t === 'string'))
    ) {
      throw new VrrpError('VRRP_INVALID_EVENT', 'reconfigure: resetTrackers must be a list of tracker names');
    }
    const next = resolveConfig(config); // throws VRRP_CONFIG_INVALID before anything changes
    const prev = this.#c;
    const fixed: [string, unknown, unknown][] = [
      ['name', prev.name, next.name],
      ['vrid', prev.vrid, next.vrid],
      ['version', prev.version, next.version],
      ['primaryAddress', prev.primary.text, next.primary.text],
    ];
    for (const [key, was, now] of fixed) {
      if (was !== now) {
        throw new VrrpError(
          'VRRP_INVALID_EVENT',
          `reconfigure cannot change ${key} (${String(was)} -> ${String(now)}): stop the instance and start a new one`,
        );
      }
    }
    this.#c = next;

    // trackers by name: kept ones keep their state (and an event-set weight unless the configured one moved)
    const reset = new Set(resetTrackers ?? []);
    const old = new Map(this.#trackers);
    this.#trackers.clear();
    for (const t of next.trackers) {
      const kept = reset.has(t.name) ? undefined : old.get(t.name);
      const configured = prev.trackers.find((p) => p.name === t.name)?.weight;
      this.#trackers.set(t.name, {
        up: kept ? kept.up : t.initial === 'up',
        weight: kept && configured === t.weight ? kept.weight : t.weight,
      });
    }

    // a Master's addresses: only the difference goes, and comes
    let addressesChanged = false;
    if (this.#vipsHeld) {
      const removed = prev.virtualIps.filter((v) => !next.virtualIps.includes(v));
      const added = next.virtualIps.filter((v) => !prev.virtualIps.includes(v));
      if (removed.length > 0) this.#out.push({ type: 'removeVips', at: this.#at, addresses: removed });
      if (added.length > 0)
        this.#out.push({
          type: 'addVips',
          at: this.#at,
          addresses: added,
          accept: next.owner || next.accept,
        });
      addressesChanged = removed.length > 0 || added.length > 0;
    }

    if (!next.preempt || next.preemptDelayMs === 0) this.#cancelTimer('preemptDelay');
    if (next.advertIntervalMs !== prev.advertIntervalMs) {
      // v2 has no learned interval: Master_Adver_Interval is ours
      if (next.version === 2 || this.#state !== 'backup') this.#mai = next.advertIntervalMs;
      const due = this.#timers.adver;
      if (due !== undefined && due > this.#at + next.advertIntervalMs)
        this.#setTimer('adver', this.#at + next.advertIntervalMs);
    }
    this.#log('debug', 'configuration reloaded');
    this.#reevaluate();
    if (addressesChanged && this.#state === 'master') {
      this.#out.push({
        type: 'announce',
        at: this.#at,
        addresses: next.vipTexts,
        reason: 'addressesChanged',
      });
    }
  }

  // ---- adverts -----------------------------------------------------------------------------------

  #onAdvert(ev: AdvertEvent): void {
    // Only Backup and Master take part in the protocol; Initialize and Fault read nothing.
    if (this.#state !== 'backup' && this.#state !== 'master') return;
    // the one receive validator (RFC 3768 §7.1 / RFC 5798 §7.1), the same as validateAgainstInstance
    const v = checkReceived({ ...ev, source: ev.from }, this.#c.rules);
    if (!v.ok) {
      const code = v.error.code as VrrpReceiveCode;
      this.#stats.discarded[code]++;
      this.#out.push({ type: 'discard', at: this.#at, reason: code, from: String(ev.from) });
      this.#log('warn', v.error.message);
      return;
    }
    if (!v.value.addressListMatches) {
      this.#log(
        'warn',
        `address list in advert from owner ${v.value.from.text} differs from ours; processing it (RFC 5798 §7.1)`,
      );
    }
    this.#stats.advertsReceived++;
    if (ev.priority === 0) this.#stats.priorityZeroReceived++;
    if (this.#state === 'backup') this.#backupAdvert(ev, v.value.from);
    else this.#masterAdvert(ev, v.value.from);
  }

  #backupAdvert(ev: AdvertEvent, from: ParsedIp): void {
    const p = ev.priority;
    const ours = this.#effective;
    if (p === 0) {
      // RFC 5798 §6.4.2: set the Master_Down_Timer to Skew_Time.
      this.#log('info', 'Backup received priority 0 advertisement');
      this.#downAfterPriorityZero = true;
      this.#setTimer('masterDown', this.#at + skewTimeMs(this.#c.version, ours, this.#mai));
      return;
    }
    if (!this.#c.preempt || p >= ours) {
      if (p >= ours && this.#timers.preemptDelay !== undefined) {
        this.#cancelTimer('preemptDelay');
        this.#log('debug', 'stop preempt delay');
      }
      this.#acceptMaster(ev, from);
      return;
    }
    if (this.#c.preemptDelayMs > 0) {
      // Hold off: accept the lower-priority Master until the preempt delay ends.
      if (this.#timers.preemptDelay === undefined) {
        this.#setTimer('preemptDelay', this.#at + this.#c.preemptDelayMs);
        this.#log('info', `start preempt delay (${(this.#c.preemptDelayMs / 1000).toFixed(6)})`);
      }
      this.#acceptMaster(ev, from);
      return;
    }
    // RFC 5798 §6.4.2: preempt is on and the priority is lower: discard (the timer keeps running).
    this.#log('info', `received lower priority (${p}) advert from ${from.text} - discarding`);
  }

  /** RFC 5798 §6.4.2: learn Master_Adver_Interval (v3), recompute, reset the Master_Down_Timer. */
  #acceptMaster(ev: AdvertEvent, from: ParsedIp): void {
    if (this.#c.version === 3) this.#learnInterval(ev.maxAdvertIntervalCs * 10, 'master');
    this.#master = { address: from.text, priority: ev.priority };
    this.#downAfterPriorityZero = false;
    this.#setTimer(
      'masterDown',
      this.#at + masterDownIntervalMs(this.#c.version, this.#effective, this.#mai),
    );
  }

  #learnInterval(ms: number, who: string): void {
    if (ms === this.#mai) return;
    this.#log('debug', `advertisement interval updated from ${this.#mai}ms to ${ms}ms by ${who}`);
    this.#mai = ms;
  }

  #masterAdvert(ev: AdvertEvent, from: ParsedIp): void {
    const p = ev.priority;
    const ours = this.#effective;
    if (p === 0) {
      // RFC 5798 §6.4.3: send an advert and reset the Adver_Timer.
      this.#log('debug', 'Master received priority 0 message');
      this.#send(ours, 'priorityZeroReceived');
      this.#setTimer('adver', this.#at + this.#c.advertIntervalMs);
      return;
    }
    const higherAddress = compareIp(from, this.#c.primary) > 0;
    if (p > ours || (p === ours && higherAddress)) {
      this.#log(
        'info',
        p > ours
          ? `Master received advert from ${from.text} with higher priority ${p}, ours ${ours}`
          : `Master received advert from ${from.text} with same priority ${p} but higher IP address than ours`,
      );
      this.#cancelTimer('adver');
      if (this.#c.version === 3) this.#learnInterval(ev.maxAdvertIntervalCs * 10, 'new master');
      this.#master = { address: from.text, priority: p };
      this.#stats.releasedMaster++;
      this.#enterBackup(p > ours ? 'higherPriority' : 'higherAddress', true);
      return;
    }
    if (this.#c.lowerPriorityResponse === 'rfc9568') {
      // RFC 9568 §6.4.3: discard, then advertise at once to assert Master (keepalived also re-announces).
      this.#log(
        'info',
        `Received advert from ${from.text} with lower priority ${p}, ours ${ours}, forcing new election`,
      );
      this.#send(ours, 'lowerPriorityReceived');
      this.#out.push({
        type: 'announce',
        at: this.#at,
        addresses: this.#c.vipTexts,
        reason: 'lowerPriorityAdvert',
      });
    } else {
      // RFC 5798 / RFC 3768 §6.4.3: discard.
      this.#log('info', `Received advert from ${from.text} with lower priority ${p}, ours ${ours}`);
    }
  }

  // ---- transitions -------------------------------------------------------------------------------

  #becomeMaster(reason: TransitionReason): void {
    this.#cancelTimer('masterDown');
    this.#cancelTimer('preemptDelay');
    this.#master = undefined;
    this.#downAfterPriorityZero = false;
    this.#transition('master', reason);
    this.#log('info', 'Entering MASTER STATE');
    this.#stats.becameMaster++;
    // RFC 5798 §6.4.1/§6.4.2: send an advert, announce the addresses, set the Adver_Timer.
    // keepalived order: the advert first (so the old Master lets go), then the addresses and ARPs.
    this.#send(this.#effective, 'becomeMaster');
    if (!this.#vipsHeld) {
      this.#vipsHeld = true;
      this.#out.push({
        type: 'addVips',
        at: this.#at,
        addresses: this.#c.virtualIps,
        accept: this.#c.owner || this.#c.accept,
      });
    }
    this.#out.push({ type: 'announce', at: this.#at, addresses: this.#c.vipTexts, reason: 'becomeMaster' });
    this.#setTimer('adver', this.#at + this.#c.advertIntervalMs);
  }

  /** @param learned - Master_Adver_Interval was just learned from an advert (keep it) */
  #enterBackup(reason: TransitionReason, learned: boolean): void {
    this.#cancelTimer('adver');
    if (!learned) {
      this.#mai = this.#c.advertIntervalMs;
      if (reason !== 'syncGroup') this.#master = undefined;
    }
    this.#downAfterPriorityZero = false;
    this.#transition('backup', reason);
    this.#log('info', reason === 'startup' ? 'Entering BACKUP STATE (init)' : 'Entering BACKUP STATE');
    this.#releaseVips();
    this.#setTimer(
      'masterDown',
      this.#at + masterDownIntervalMs(this.#c.version, this.#effective, this.#mai),
    );
  }

  #enterFault(reason: TransitionReason): void {
    const from = this.#state;
    this.#cancelTimer('adver');
    this.#cancelTimer('masterDown');
    this.#cancelTimer('preemptDelay');
    this.#master = undefined;
    this.#transition('fault', reason);
    this.#log('info', 'Entering FAULT STATE');
    if (from === 'master') {
      // As keepalived: tell the Backups to take over now rather than after Master_Down_Interval.
      this.#send(0, 'fault');
      this.#releaseVips();
      this.#stats.releasedMaster++;
    }
  }

  #leaveFault(): void {
    this.#mai = this.#c.advertIntervalMs;
    if (this.#c.owner) this.#becomeMaster('faultCleared');
    else this.#enterBackup('faultCleared', false);
  }

  #reevaluate(): void {
    const next = this.#computeEffective();
    if (next !== this.#effective) {
      const prev = this.#effective;
      this.#effective = next;
      this.#out.push({ type: 'priorityChanged', at: this.#at, from: prev, to: next });
      this.#log('info', `Changing effective priority from ${prev} to ${next}`);
    }
    if (this.#state === 'initialize') return;
    const fault = this.#faultReasons();
    if (fault.length > 0 && this.#state !== 'fault') this.#enterFault(faultTransitionReason(fault));
    else if (fault.length === 0 && this.#state === 'fault') this.#leaveFault();
  }

  #computeEffective(): number {
    if (this.#c.owner) return 255;
    let p = this.#c.priority;
    for (const t of this.#trackers.values()) {
      if (t.weight > 0 && t.up) p += t.weight;
      else if (t.weight < 0 && !t.up) p += t.weight;
    }
    return Math.min(254, Math.max(1, p));
  }

  #faultReasons(): FaultReason[] {
    const out: FaultReason[] = [];
    if (!this.#ifUp) out.push('interfaceDown');
    for (const [name, t] of this.#trackers) {
      if (!t.up && (t.weight === 0 || this.#c.owner)) out.push(`tracker:${name}`);
    }
    if (this.#groupFault) out.push('syncGroup');
    return out;
  }

  // ---- action helpers ----------------------------------------------------------------------------

  #transition(to: MachineStateName, reason: TransitionReason): void {
    const from = this.#state;
    this.#state = to;
    this.#seq++;
    this.#out.push({
      type: 'transition',
      at: this.#at,
      seq: this.#seq,
      from,
      to,
      reason,
      priority: this.#effective,
    });
  }

  #releaseVips(): void {
    if (!this.#vipsHeld) return;
    this.#vipsHeld = false;
    this.#out.push({ type: 'removeVips', at: this.#at, addresses: this.#c.virtualIps });
  }

  #send(priority: number, reason: SendReason): void {
    this.#stats.advertsSent++;
    if (priority === 0) this.#stats.priorityZeroSent++;
    this.#out.push({
      type: 'send',
      at: this.#at,
      priority,
      intervalMs: this.#c.advertIntervalMs,
      addresses: this.#c.vipTexts,
      reason,
    });
    if (priority === 0) this.#log('info', 'sent 0 priority');
  }

  #setTimer(timer: TimerName, at: number): void {
    this.#timers[timer] = at;
    this.#out.push({ type: 'setTimer', timer, at });
  }

  #cancelTimer(timer: TimerName): void {
    if (this.#timers[timer] === undefined) return;
    delete this.#timers[timer];
    this.#out.push({ type: 'cancelTimer', timer });
  }

  #log(level: 'debug' | 'info' | 'warn', text: string): void {
    this.#out.push({ type: 'log', at: this.#at, level, message: `(${this.#c.name}) ${text}` });
  }
}

function faultTransitionReason(reasons: readonly FaultReason[]): TransitionReason {
  const first = reasons[0];
  if (first === 'interfaceDown') return 'interfaceDown';
  if (first === 'syncGroup') return 'syncGroup';
  return 'trackerFailed';
}

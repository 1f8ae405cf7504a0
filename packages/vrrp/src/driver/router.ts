import { EventEmitter } from 'node:events';
import {
  type Clock,
  type Logger,
  type LogLevel,
  noopLogger,
  systemClock,
  type TimerHandle,
} from '@proxyha/common';
import {
  decodeVrrp,
  encodeVrrp,
  splitVrrpHmac,
  VRRP_HMAC_TRAILER_LENGTH,
  VRRP_MULTICAST_IPV4,
  VRRP_MULTICAST_IPV6,
  type VrrpAdvert,
  type VrrpChecksumMode,
  type VrrpHmac,
  VrrpRxStats,
} from '../codec/index';
import { VrrpMachine } from '../machine/machine';
import type {
  AnnounceAction,
  MachineAction,
  MachineConfig,
  MachineEvent,
  MachineSnapshot,
  TimerName,
  TransitionAction,
} from '../machine/types';
import { HmacDropLog, hmacDropLine } from './hmac-log';
import type { AdvertMeta, AdvertTransport } from './transport';
import type { AcceptModeFilter, VipManager } from './vips';

/**
 * What the announcement hook receives: the addresses to announce by gratuitous ARP /
 * unsolicited neighbour advertisement, on which interface and why. The vrrp package
 * sends no ARP itself; `@proxyha/garp`'s announcer plugs in here.
 */
export interface VipAnnouncement {
  /** Instance name (`VI_1`). */
  readonly instance: string;
  /** VRID, for a virtual MAC. */
  readonly vrid: number;
  /** Interface to announce on. */
  readonly interface: string;
  /** The virtual addresses (no prefix). */
  readonly addresses: readonly string[];
  /**
   * `becomeMaster`: a new burst; `addressesChanged`: a new burst for a Master whose addresses a
   * reconfigure changed; `lowerPriorityAdvert`: another node still thinks it is Master.
   */
  readonly reason: AnnounceAction['reason'];
  /** When the machine asked (router clock, ms). */
  readonly at: number;
}

/**
 * Called on entering Master once the VIPs are in place (the router waits for its VIP manager), after a
 * reconfigure changed a Master's VIPs (once the new ones are in place), and when a split brain is seen;
 * see {@link VipAnnouncement}.
 */
export type AnnounceHook = (request: VipAnnouncement) => void;

/** A state change as the router reports it. */
export interface RouterTransition extends TransitionAction {
  /** Instance name. */
  readonly instance: string;
}

/** Events of {@link VrrpRouter}. */
export interface VrrpRouterEvents {
  /** Every state change, in order. */
  transition: [RouterTransition];
  /** A message that could not be decoded; already counted in `rxStats`. */
  dropped: [DroppedMessage];
}

/** A received message the router dropped before its machine (see {@link VrrpRouterEvents}). */
export interface DroppedMessage {
  /** The decoder's code (`VRRP_BAD_CHECKSUM`, ...). */
  readonly code: string;
  /** The IP source of the message. */
  readonly source: string;
  /** What was wrong. */
  readonly message: string;
}

/** Options of {@link VrrpRouter}. */
export interface VrrpRouterOptions {
  /** The instance's state machine (the router feeds it events and carries out its actions). */
  readonly machine: VrrpMachine;
  /** Interface the instance runs on. */
  readonly interface: string;
  /** Carries the VRRP messages; the router opens and closes it. */
  readonly transport: AdvertTransport;
  /** Adds and removes the VIPs. */
  readonly vips: VipManager;
  /**
   * Enforces Accept_Mode false: while Master without Accept_Mode (and not the address
   * owner), traffic to the VIPs is dropped. Default: not enforced, as keepalived without
   * `vrrp_strict`.
   */
  readonly acceptFilter?: AcceptModeFilter;
  /** Operator log lines (keepalived's wording). Default: none. */
  readonly logger?: Logger;
  /** Gratuitous ARP / NA hook. */
  readonly announce?: AnnounceHook;
  /** VRRPv3 over IPv4: checksum form to send (default `pseudo-header`, as keepalived and FRR). */
  readonly checksumMode?: VrrpChecksumMode;
  /**
   * HMAC authentication of adverts (draft-cassen-vrrp-auth-hmac, keepalived's `auth_hmac`): adverts are
   * signed unless its mode is `receive-only`, and received ones checked before the machine sees them; the
   * refused ones are counted in `rxStats` (`VRRP_HMAC_*`), emitted as `dropped` and logged, rate limited
   * per sender and reason. Default: none. {@link VrrpRouter.setHmac} changes it at run time.
   */
  readonly hmac?: VrrpHmac;
  /**
   * A Master that stops sends priority 0 as always, but keeps its VIPs until it hears another router's
   * advert (the backup that took over after Skew_Time), at most this long in ms, then removes them. Clients
   * whose ARP cache still names this router are served until the new master's gratuitous ARP moves them,
   * so a planned handover loses no connection. Default 0: the VIPs go with the priority 0 advert, as RFC
   * 5798 §6.4.3 and keepalived do. A value of one advert interval plus a margin covers Skew_Time.
   */
  readonly releaseVipsAfterSuccessorMs?: number;
  /**
   * Time and timers (default {@link systemClock}); tests pass a `ManualClock`. Timers are armed on whole
   * milliseconds and the rest of a due time is waited out with `spinUntil`, so that expiries land on the
   * RFC's fractional due times.
   */
  readonly clock?: Clock;
}

/** A receive timestamp older than this is not trusted (wall clock stepped, or a long stall). */
const MAX_TRUSTED_RECEIVE_WAIT_MS = 100;

/**
 * Binds one VRRP state machine to real I/O: decodes received messages into machine
 * events (counting and dropping the bad ones), runs the machine's timers, encodes and
 * sends its adverts (to the multicast group or each unicast peer), adds and removes the
 * VIPs, calls the announcement hook and writes keepalived's log lines. It keeps running
 * on bad input and on failed operations (logged, not thrown).
 */
export class VrrpRouter extends EventEmitter<VrrpRouterEvents> {
  /** Messages dropped before the machine, by reason (keepalived's statistics). */
  readonly rxStats = new VrrpRxStats();
  readonly #o: VrrpRouterOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #timers = new Map<TimerName, TimerHandle>();
  #vipChain: Promise<void> = Promise.resolve();
  /** While a stopped Master keeps its VIPs (`releaseVipsAfterSuccessorMs`): called with the new master. */
  #successorHeard: ((source: string) => void) | undefined;
  /** Bumped by every transition: an announcement waiting for VIPs is dropped when it changed. */
  #generation = 0;
  #pendingSends = new Set<Promise<void>>();
  #running = false;
  #route: ((event: MachineEvent) => void) | undefined;
  #blocked: readonly string[] = [];
  #lastAt = Number.NEGATIVE_INFINITY;
  #hmac: VrrpHmac | undefined;
  readonly #hmacLog = new HmacDropLog();

  constructor(options: VrrpRouterOptions) {
    super();
    this.#o = options;
    this.#log = options.logger ?? noopLogger;
    this.#clock = options.clock ?? systemClock;
    this.#hmac = options.hmac;
  }

  /**
   * Switches HMAC authentication on (or to another {@link VrrpHmac}) or off at run time. A key rotation
   * or a mode change is `VrrpHmac.update` on the same object, which keeps the sequence and replay state.
   */
  setHmac(hmac: VrrpHmac | undefined): void {
    this.#hmac = hmac;
  }

  /** The HMAC authentication in use, if any (see {@link VrrpRouterOptions.hmac}). */
  get hmac(): VrrpHmac | undefined {
    return this.#hmac;
  }

  /** The instance name. */
  get name(): string {
    return this.#o.machine.name;
  }

  /** The machine's current view (state, priorities, timers, counters). */
  snapshot(): MachineSnapshot {
    return this.#o.machine.snapshot();
  }

  /**
   * Starts the instance: removes VIPs a previous run may have left on the interface,
   * opens the transport and feeds the machine its startup event.
   */
  async start(): Promise<void> {
    if (this.#running) return;
    // stale VIPs from a crashed run must not answer for a VIP another node now holds
    await this.#o.vips.remove(this.#o.interface, this.#o.machine.virtualIps).catch((e) => {
      this.#log.warn(`(${this.name}) could not remove stale VIPs: ${(e as Error).message}`);
    });
    await this.#o.transport.open((payload, meta) => this.receive(payload, meta));
    this.#running = true;
    this.#dispatch({ type: 'startup', at: this.#clock.now() });
  }

  /**
   * Runs this instance's takeover and shutdown once on a twin that does no I/O (its own machine with this
   * instance's VRID, version, addresses and peers; a transport, VIP manager and announcement hook that do
   * nothing; the system clock's timers, cancelled before it returns), so that the first real takeover
   * does not wait for V8: a function is compiled when it first runs, and a backup that never was Master
   * spent 0.5 to 0.7 ms of its first takeover compiling the advert's path before sending it. Sends
   * nothing, changes nothing on the host and never fails (a problem is logged at debug). Call it once
   * after {@link VrrpRouter.start}.
   */
  async warmUp(): Promise<void> {
    const m = this.#o.machine;
    try {
      const machine = new VrrpMachine({
        name: m.name,
        vrid: m.vrid,
        version: m.version,
        priority: 100,
        advertIntervalMs: 1000,
        primaryAddress: m.primaryAddress,
        virtualIps: m.virtualIps,
        unicastPeers: m.unicastPeers,
        ...(m.version === 2 ? { auth: m.auth } : {}),
      });
      const nothing = async () => {};
      const twin = new VrrpRouter({
        machine,
        interface: this.#o.interface,
        transport: { family: this.#o.transport.family, open: nothing, send: nothing, close: nothing },
        vips: { add: nothing, remove: nothing },
        announce: () => {},
        ...(this.#o.checksumMode ? { checksumMode: this.#o.checksumMode } : {}),
      });
      await twin.start(); // Backup
      // the timers' expiries as the clock would deliver them, without waiting for them
      const expire = (timer: TimerName) =>
        twin.#dispatch({ type: 'timer', timer, at: machine.nextDeadline() ?? 0 });
      expire('masterDown'); // Master: advert, VIPs, announcement
      for (let i = 0; i < 4; i++) await Promise.resolve(); // the VIP chain, then the announcement
      expire('adver'); // the next advert
      void twin.stop(); // priority 0, VIPs removed, timers cancelled; the rest ends by itself
    } catch (e) {
      this.#log.debug(`(${this.name}) warm-up failed: ${(e as Error).message}`);
    }
  }

  /**
   * Stops the instance: a Master sends priority 0 (so a backup takes over after
   * Skew_Time) and removes its VIPs; timers stop and the transport closes. Resolves once
   * the last advert is sent and the VIPs are gone.
   */
  async stop(): Promise<void> {
    if (!this.#running) return;
    const linger = this.#o.releaseVipsAfterSuccessorMs ?? 0;
    if (linger > 0 && this.#o.machine.state === 'master') {
      // the removal queued by the shutdown waits for the successor's advert or the bound
      const heard = new Promise<string | undefined>((resolve) => {
        const timer = this.#clock.setTimeout(() => resolve(undefined), linger);
        this.#successorHeard = (source) => {
          this.#clock.clearTimeout(timer);
          resolve(source);
        };
      });
      this.#log.info(`(${this.name}) keeping VIPs until a new master is heard (at most ${linger} ms)`);
      this.#vipChain = this.#vipChain.then(async () => {
        const source = await heard;
        this.#successorHeard = undefined;
        this.#log.info(
          source === undefined
            ? `(${this.name}) no new master heard within ${linger} ms`
            : `(${this.name}) new master ${source} heard`,
        );
      });
    }
    this.#dispatch({ type: 'shutdown', at: this.#clock.now() });
    this.#running = false;
    for (const timer of [...this.#timers.keys()]) this.#disarm(timer);
    await Promise.all([...this.#pendingSends]);
    await this.#vipChain;
    await this.#o.transport.close();
    await new Promise<void>((r) => this.#clock.setImmediate(r)); // the last log lines are written
  }

  /** Feeds one received VRRP message (the bytes after the IP header). */
  receive(payload: Uint8Array, meta: AdvertMeta): void {
    if (!this.#running && this.#successorHeard === undefined) return;
    const m = this.#o.machine;
    const hmac = this.#hmac;
    const split = hmac ? splitVrrpHmac(payload, this.#o.transport.family) : undefined;
    // The TTL / hop limit 255 check proves a multicast advert came from the link. Unicast adverts may be
    // routed, and keepalived sends IPv6 unicast with hop limit 64: as keepalived does, it is not checked
    // for unicast peers (the source must be a configured peer instead; authHmac authenticates it).
    const ttl = m.unicastPeers.length > 0 ? undefined : meta.ttl;
    const decoded = decodeVrrp(payload, {
      family: this.#o.transport.family,
      source: meta.source,
      destination: meta.destination,
      ...(ttl === undefined ? {} : { ttl }),
      ...(split?.trailer ? { trailerLength: VRRP_HMAC_TRAILER_LENGTH } : {}),
    });
    if (!decoded.ok) {
      // Instances sharing a link all see the packet: as keepalived does, a drop counts for
      // the instance whose VRID it carries (or for each when it is too short to carry one).
      if (payload.length >= 2 && payload[1] !== m.vrid) return;
      this.rxStats.drop(decoded.error);
      this.#log.debug(`(${this.name}) dropped advert from ${meta.source}: ${decoded.error.message}`);
      this.emit('dropped', { code: decoded.error.code, source: meta.source, message: decoded.error.message });
      return;
    }
    const a = decoded.value.advert;
    // another VRID on the same link is not an error: keepalived ignores it too
    if (a.vrid !== m.vrid) return;
    if (hmac && split && !this.#authenticated(hmac, split.message, split.trailer, a.version, meta.source))
      return;
    if (!this.#running) {
      // stopped, VIPs kept: the first advert of another router with a priority is the new master's
      if (a.priority > 0) this.#successorHeard?.(decoded.value.source);
      return;
    }
    this.rxStats.accept();
    this.#dispatch({
      type: 'advert',
      at: this.#arrival(meta.receivedAt),
      from: decoded.value.source,
      version: a.version,
      vrid: a.vrid,
      priority: a.priority,
      maxAdvertIntervalCs: a.version === 3 ? a.maxAdvertIntervalCs : a.advertIntervalSec * 100,
      addresses: a.addresses,
      ...(decoded.value.ttl === undefined ? {} : { ttl: decoded.value.ttl }),
      ...(a.version === 2 && a.auth ? { auth: a.auth } : {}),
    });
  }

  /** The HMAC check of a decoded advert of our VRID: refusals are counted, emitted and logged (rate limited). */
  #authenticated(
    hmac: VrrpHmac,
    message: Uint8Array,
    trailer: Uint8Array | undefined,
    version: 2 | 3,
    source: string,
  ): boolean {
    const m = this.#o.machine;
    const binding = { family: this.#o.transport.family, version, vrid: m.vrid, source };
    const r = hmac.check(message, trailer, binding, this.#clock.wallTime());
    if (!r.ok) {
      this.rxStats.drop(r.error);
      this.#hmacWarn(source, r.error.code, hmacDropLine(r.error, source));
      this.emit('dropped', { code: r.error.code, source, message: r.error.message });
      return false;
    }
    const skew = r.value.skewSec;
    const window = hmac.settings.timeWindowSec;
    if (skew !== undefined && Math.abs(skew) > window / 2) {
      // accepted, but the clocks drift towards the edge of the window: fix NTP before adverts fail
      this.#hmacWarn(
        source,
        'skew',
        `authentication clock skew ${skew} sec from ${source} approaching window ${window} sec`,
      );
    }
    return true;
  }

  #hmacWarn(source: string, reason: string, line: string) {
    const held = this.#hmacLog.admit(source, reason, this.#clock.now());
    if (held === undefined) return;
    this.#log.warn(`(${this.name}) ${line}${held ? ` (${held} more since the last report)` : ''}`);
  }

  /**
   * The router-clock time a message arrived: now, less how long it waited in the socket
   * (from the kernel's receive timestamp), so that Master_Down_Interval counts from the real
   * arrival. Only a small, plausible wait is trusted (a stepped wall clock is ignored), and
   * time never runs back behind the previous event.
   */
  #arrival(receivedAt: number | undefined): number {
    const now = this.#clock.now();
    let at = now;
    if (receivedAt !== undefined) {
      const waited = this.#clock.wallTime() - receivedAt;
      if (waited > 0 && waited < MAX_TRUSTED_RECEIVE_WAIT_MS) at = now - waited;
    }
    return Math.max(at, this.#lastAt);
  }

  /** A tracked object changed (a health check, a script, a file): see `TrackerConfig`. */
  trackerChanged(tracker: string, state: 'up' | 'down', weight?: number): void {
    this.#dispatch({
      type: 'trackerChanged',
      at: this.#clock.now(),
      tracker,
      state,
      ...(weight === undefined ? {} : { weight }),
    });
  }

  /**
   * Applies a changed configuration in place (a daemon's reload): state, timers, counters and held VIPs
   * stay; see `ReconfigureEvent` for what changes at once. `name`, `vrid`, `version` and `primaryAddress`
   * must stay the same.
   *
   * @param config - the whole new machine configuration
   * @param resetTrackers - trackers whose source was replaced: they restart from their `initial` state
   * @throws `VrrpError` `VRRP_CONFIG_INVALID` or `VRRP_INVALID_EVENT` (nothing changed then)
   */
  reconfigure(config: MachineConfig, resetTrackers?: readonly string[]): void {
    this.#dispatch({
      type: 'reconfigure',
      at: this.#clock.now(),
      config,
      ...(resetTrackers === undefined ? {} : { resetTrackers }),
    });
  }

  /** The interface went down (Fault) or came back up. */
  interfaceChanged(up: boolean): void {
    this.#dispatch({ type: up ? 'interfaceUp' : 'interfaceDown', at: this.#clock.now() });
  }

  /**
   * Sends this router's events somewhere else than straight to its machine: a sync
   * group routes them through the group and calls {@link VrrpRouter.execute} with each
   * member's actions. `undefined` restores the default.
   */
  setRoute(route: ((event: MachineEvent) => void) | undefined): void {
    this.#route = route;
  }

  #dispatch(event: MachineEvent): void {
    if (event.at > this.#lastAt) this.#lastAt = event.at;
    if (this.#route) this.#route(event);
    else this.execute(this.#o.machine.handle(event));
  }

  /** Carries out machine actions in order (used directly by sync groups). */
  execute(actions: readonly MachineAction[]): void {
    // Adverts, VIPs, announcements and timers first; log lines after them, in their order,
    // so that writing logs never delays a takeover (keepalived's order on the wire).
    const lines: [LogLevel, string][] = [];
    const transitions: RouterTransition[] = [];
    for (const a of actions) {
      switch (a.type) {
        case 'send':
          this.#send(a.priority, a.intervalMs, a.addresses);
          break;
        case 'addVips': {
          lines.push(['info', `(${this.name}) setting VIPs.`]);
          // entering Master adds them all; a reconfigure adds only the new ones to those held
          const block = !a.accept && this.#o.acceptFilter ? bare(a.addresses) : [];
          this.#blocked = [...this.#blocked.filter((b) => !block.includes(b)), ...block];
          if (block.length) this.#queue('block', () => this.#o.acceptFilter!.block(block));
          this.#queueVips('add', a.addresses);
          break;
        }
        case 'removeVips': {
          lines.push(['info', `(${this.name}) removing VIPs.`]);
          this.#queueVips('remove', a.addresses);
          const gone = bare(a.addresses);
          const unblock = this.#blocked.filter((b) => gone.includes(b));
          this.#blocked = this.#blocked.filter((b) => !gone.includes(b));
          if (unblock.length) this.#queue('unblock', () => this.#o.acceptFilter!.unblock(unblock));
          break;
        }
        case 'announce': {
          const hook = this.#o.announce;
          if (!hook) break;
          const request: VipAnnouncement = {
            instance: this.name,
            vrid: this.#vrid(),
            interface: this.#o.interface,
            addresses: a.addresses,
            reason: a.reason,
            at: a.at,
          };
          if (a.reason === 'lowerPriorityAdvert') {
            hook(request);
            break;
          }
          // addresses first, then the announcements (as keepalived does): a neighbour that follows the
          // first gratuitous ARP at once finds the address; not at all if the mastership ended meanwhile
          // (the same after a reconfigure added addresses)
          const generation = this.#generation;
          void this.#vipChain.then(() => {
            if (this.#running && this.#generation === generation) hook(request);
          });
          break;
        }
        case 'setTimer':
          this.#arm(a.timer, a.at);
          break;
        case 'cancelTimer':
          this.#disarm(a.timer);
          break;
        case 'transition':
          this.#generation++;
          transitions.push({ ...a, instance: this.name });
          break;
        case 'log':
          lines.push([a.level, a.message]);
          break;
        case 'discard':
        case 'priorityChanged':
          break;
      }
    }
    // listeners hear of transitions once the advert is out and the VIP requests are on their way (a
    // microtask after the VIP operations queued above), in order
    if (transitions.length) queueMicrotask(() => this.#emitTransitions(transitions));
    // written after the poll phase: the advert, the VIPs' netlink replies and the ARPs first
    if (lines.length) this.#clock.setImmediate(() => this.#writeLog(lines));
  }

  #emitTransitions(transitions: readonly RouterTransition[]) {
    for (const t of transitions) this.emit('transition', t);
  }

  #writeLog(lines: readonly [LogLevel, string][]) {
    for (const [level, line] of lines) this.#log[level](line);
  }

  #vrid(): number {
    return this.#o.machine.vrid;
  }

  #disarm(timer: TimerName) {
    const t = this.#timers.get(timer);
    if (t) this.#clock.clearTimeout(t);
    this.#timers.delete(timer);
  }

  #arm(timer: TimerName, due: number) {
    this.#disarm(timer);
    if (!this.#running) return;
    // Timers fire on whole milliseconds: arm for the whole milliseconds (Master_Down, which decides
    // the takeover time: one earlier) and wait out the rest of the due time when the timer fires.
    const clock = this.#clock;
    const delay = Math.max(0, Math.floor(due - clock.now()) - (timer === 'masterDown' ? 1 : 0));
    this.#timers.set(
      timer,
      clock.setTimeout(() => {
        this.#timers.delete(timer);
        if (!this.#running) return;
        clock.spinUntil(due); // at most one millisecond (two for Master_Down)
        if (timer !== 'masterDown') {
          this.#dispatch({ type: 'timer', timer, at: clock.now() });
          return;
        }
        // Timers run before sockets are read: after a stall of this process the Master's adverts may
        // be waiting unread. An immediate runs after pending I/O, so they are handled (and re-arm the
        // timer) before the Master is declared down.
        const armed = clock.setImmediate(() => {
          if (this.#timers.get(timer) !== armed) return;
          this.#timers.delete(timer);
          if (this.#running) this.#dispatch({ type: 'timer', timer, at: clock.now() });
        });
        this.#timers.set(timer, armed);
      }, delay),
    );
  }

  #queueVips(op: 'add' | 'remove', addresses: readonly string[]) {
    const ifname = this.#o.interface;
    this.#queue(op === 'add' ? 'setting VIPs' : 'removing VIPs', () => this.#o.vips[op](ifname, addresses));
  }

  /** VIP and filter operations run one after another, in the machine's order. */
  #queue(what: string, op: () => Promise<void>) {
    this.#vipChain = this.#vipChain.then(() =>
      op().catch((e) => {
        this.#log.error(`(${this.name}) ${what} failed: ${(e as Error).message}`);
      }),
    );
  }

  #send(priority: number, intervalMs: number, addresses: readonly string[]) {
    const m = this.#o.machine;
    const family = this.#o.transport.family;
    const common = { vrid: m.vrid, priority, addresses: [...addresses] };
    const advert: VrrpAdvert =
      m.version === 2
        ? {
            ...common,
            version: 2,
            family: 'ipv4',
            advertIntervalSec: Math.round(intervalMs / 1000),
            auth: m.auth,
          }
        : { ...common, version: 3, family, maxAdvertIntervalCs: Math.round(intervalMs / 10) };
    const peers = m.unicastPeers;
    const destinations =
      peers.length > 0 ? peers : [family === 'ipv4' ? VRRP_MULTICAST_IPV4 : VRRP_MULTICAST_IPV6];
    // one sequence number per advert: the copies to each unicast peer carry the same trailer
    const hmac = this.#hmac?.signs ? this.#hmac : undefined;
    const sequence = hmac?.nextSequence(this.#clock.wallTime());
    const binding = { family, version: m.version, vrid: m.vrid, source: m.primaryAddress };
    for (const destination of destinations) {
      let bytes: Uint8Array;
      try {
        bytes = encodeVrrp(advert, {
          source: m.primaryAddress,
          destination,
          ...(this.#o.checksumMode ? { checksumMode: this.#o.checksumMode } : {}),
        });
        if (hmac) bytes = hmac.seal(bytes, binding, sequence as bigint, destination);
      } catch (e) {
        this.#log.error(`(${this.name}) cannot encode advert: ${(e as Error).message}`);
        return;
      }
      const p = this.#o.transport
        .send(bytes, destination)
        .catch((e) =>
          this.#log.error(`(${this.name}) send to ${destination} failed: ${(e as Error).message}`),
        )
        .finally(() => this.#pendingSends.delete(p));
      this.#pendingSends.add(p);
    }
  }
}

/** Addresses without their prefix length. */
function bare(addresses: readonly string[]): string[] {
  return addresses.map((a) => a.split('/')[0] as string);
}

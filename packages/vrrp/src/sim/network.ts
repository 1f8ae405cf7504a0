// An in-memory LAN of VRRP routers on a virtual clock: the same pure machine, driven by a discrete
// event queue, with per-link loss (seeded), delay, jitter, partitions, crashes and restarts.
// the package's own main entry (not a relative path): the two bundles share one VrrpMachine class
import { createPrng, EventQueue, SimLinks } from '@proxyha/common';
import {
  type MachineAction,
  type MachineConfig,
  type MachineEvent,
  type MachineStateName,
  type SendAction,
  type TimerName,
  type TransitionReason,
  VrrpMachine,
} from '@proxyha/vrrp';

/** Properties of one direction of a link between two simulated routers. */
export interface SimLink {
  /** Probability (0..1) that an advert on this link is lost. Default 0. */
  readonly lossRate: number;
  /** One-way delay in milliseconds. Default 0. */
  readonly delayMs: number;
  /** Extra delay, uniform in [0, jitterMs), drawn per packet from the seeded PRNG. Default 0. */
  readonly jitterMs: number;
}

/** One simulated router: a host name and its VRRP instance configuration. */
export interface SimRouterSpec {
  /** Host name, unique in the network (several hosts usually share the instance name `VI_1`). */
  readonly name: string;
  /** The instance configuration (its `primaryAddress` is the host's address on the LAN). */
  readonly config: MachineConfig;
  /** Virtual time at which the router starts, or `false` to start it later with `start()`. Default 0. */
  readonly startAt?: number | false;
}

/** Options of a {@link SimNetwork}. */
export interface SimNetworkOptions {
  /** The routers (2–5 is typical; any number works). */
  readonly routers: readonly SimRouterSpec[];
  /** PRNG seed for loss and jitter. Default 1. */
  readonly seed?: number;
  /** Properties of every link unless set otherwise with `setLink`. */
  readonly link?: Partial<SimLink>;
  /** Also record every advert sent (`kind: 'send'`); off by default to keep long runs small. */
  readonly recordSends?: boolean;
}

/** What every {@link SimRecord} has: when and where. */
export interface SimRecordBase {
  /** Virtual time in milliseconds. */
  readonly at: number;
  /** The router (host name) it happened on. */
  readonly router: string;
}

/** A state change of a router's machine. */
export interface SimTransitionRecord extends SimRecordBase {
  /** Discriminator. */
  readonly kind: 'transition';
  /** State before. */
  readonly from: MachineStateName;
  /** State after. */
  readonly to: MachineStateName;
  /** Why. */
  readonly reason: TransitionReason;
  /** The effective priority at the time. */
  readonly priority: number;
}

/** The router added (`held`) or removed its VIPs. */
export interface SimVipsRecord extends SimRecordBase {
  /** Discriminator. */
  readonly kind: 'vips';
  /** True when added. */
  readonly held: boolean;
}

/** The router asked for its VIPs to be announced (gratuitous ARP / NA). */
export interface SimAnnounceRecord extends SimRecordBase {
  /** Discriminator. */
  readonly kind: 'announce';
  /** `becomeMaster` or `lowerPriorityAdvert`. */
  readonly reason: string;
}

/** A log line of the router's machine. */
export interface SimLogRecord extends SimRecordBase {
  /** Discriminator. */
  readonly kind: 'log';
  /** Its level. */
  readonly level: string;
  /** The line, `(VI_1) ...`. */
  readonly message: string;
}

/** An advert the router's machine discarded. */
export interface SimDiscardRecord extends SimRecordBase {
  /** Discriminator. */
  readonly kind: 'discard';
  /** The receive-check code (`VRRP_AUTH_FAILURE`, ...). */
  readonly reason: string;
  /** The advert's source address. */
  readonly from: string;
}

/** An advert the router sent (recorded with `recordSends`). */
export interface SimSendRecord extends SimRecordBase {
  /** Discriminator. */
  readonly kind: 'send';
  /** Its priority field. */
  readonly priority: number;
  /** Why it was sent. */
  readonly reason: string;
}

/** The router crashed, started or stopped. */
export interface SimLifecycleRecord extends SimRecordBase {
  /** What happened. */
  readonly kind: 'crash' | 'start' | 'stop';
}

/** Something that happened in the simulation, with its virtual time and router. */
export type SimRecord =
  | SimTransitionRecord
  | SimVipsRecord
  | SimAnnounceRecord
  | SimLogRecord
  | SimDiscardRecord
  | SimSendRecord
  | SimLifecycleRecord;

/** Packet counters of a simulation. */
export interface SimStats {
  /** Adverts handed to the network (one per `send` action). */
  readonly sent: number;
  /** Copies delivered to a receiving machine. */
  readonly delivered: number;
  /** Copies lost to link loss. */
  readonly lost: number;
  /** Copies blocked by a partition, a down interface or a dead receiver. */
  readonly blocked: number;
}

/** A router's state as the simulation sees it: its machine's state, or `down` when not running. */
export type SimRouterState = MachineStateName | 'down';

interface Router {
  readonly spec: SimRouterSpec;
  machine: VrrpMachine;
  alive: boolean;
  incarnation: number;
  ifUp: boolean;
  vipsHeld: boolean;
  readonly gen: Record<TimerName, number>;
}

const DEFAULT_LINK: SimLink = { lossRate: 0, delayMs: 0, jitterMs: 0 };

/**
 * A deterministic in-memory network of VRRP routers with a virtual clock.
 *
 * Every router runs a real {@link VrrpMachine}; `send` actions become packets to every other router
 * (or to the configured unicast peers), each subject to its link's loss, delay and jitter and to
 * partitions; `setTimer` actions become queue entries. The same seed gives the same run.
 *
 * @example
 * ```ts
 * const net = new SimNetwork({ seed: 7, link: { delayMs: 1 }, routers: [
 *   { name: 'a', config: { name: 'VI_1', vrid: 51, priority: 100, primaryAddress: '10.0.0.1', virtualIps: ['10.0.0.74'] } },
 *   { name: 'b', config: { name: 'VI_1', vrid: 51, priority: 89, primaryAddress: '10.0.0.2', virtualIps: ['10.0.0.74'] } },
 * ] });
 * net.runUntil(10_000);
 * net.masters(); // ['a']
 * ```
 */
export class SimNetwork {
  readonly #queue = new EventQueue();
  readonly #routers = new Map<string, Router>();
  readonly #byAddress = new Map<string, Router>();
  readonly #links: SimLinks<SimLink>;
  readonly #random: () => number;
  readonly #recordSends: boolean;
  #now = 0;
  readonly #stats = { sent: 0, delivered: 0, lost: 0, blocked: 0 };
  /** Everything that happened, in order. */
  readonly records: SimRecord[] = [];

  /**
   * @param options - routers, seed, default link
   * @throws `VrrpError` `VRRP_CONFIG_INVALID` when a router's configuration is invalid; Error for duplicate names
   */
  constructor(options: SimNetworkOptions) {
    this.#random = createPrng(options.seed ?? 1);
    this.#links = new SimLinks<SimLink>({ ...DEFAULT_LINK, ...options.link });
    this.#recordSends = options.recordSends ?? false;
    for (const spec of options.routers) {
      if (this.#routers.has(spec.name)) throw new Error(`duplicate router name ${spec.name}`);
      const machine = new VrrpMachine(spec.config);
      const router: Router = {
        spec,
        machine,
        alive: false,
        incarnation: 0,
        ifUp: true,
        vipsHeld: false,
        gen: { adver: 0, masterDown: 0, preemptDelay: 0 },
      };
      this.#routers.set(spec.name, router);
      this.#byAddress.set(machine.primaryAddress, router);
      const startAt = spec.startAt ?? 0;
      if (startAt !== false) this.#queue.push(startAt, () => this.start(spec.name));
    }
  }

  /** The virtual time in milliseconds. */
  get now(): number {
    return this.#now;
  }

  /** Packet counters so far. */
  get stats(): SimStats {
    return { ...this.#stats };
  }

  /** Router names in the order given. */
  get routers(): readonly string[] {
    return [...this.#routers.keys()];
  }

  /** The router's current machine (a new one after each `start`). */
  machine(name: string): VrrpMachine {
    return this.#router(name).machine;
  }

  /** The router's state, `down` when it is not running. */
  state(name: string): SimRouterState {
    const r = this.#router(name);
    return r.alive ? r.machine.state : 'down';
  }

  /** Names of the running routers in Master state. */
  masters(): string[] {
    return [...this.#routers.values()]
      .filter((r) => r.alive && r.machine.state === 'master')
      .map((r) => r.spec.name);
  }

  /** Names of the running routers that hold the virtual addresses. */
  vipHolders(): string[] {
    return [...this.#routers.values()].filter((r) => r.alive && r.vipsHeld).map((r) => r.spec.name);
  }

  /** The transition records, optionally of one router. */
  transitions(router?: string): SimTransitionRecord[] {
    return this.records.filter(
      (r): r is SimTransitionRecord =>
        r.kind === 'transition' && (router === undefined || r.router === router),
    );
  }

  /** Schedules a scripted step at virtual time `at` (not before now). */
  at(at: number, step: () => void): void {
    this.#queue.push(Math.max(at, this.#now), step);
  }

  /** Runs every queued event up to and including `time`, then sets the clock to `time`. */
  runUntil(time: number): void {
    this.#queue.runUntil(time, (at) => {
      this.#now = Math.max(this.#now, at);
    });
    this.#now = Math.max(this.#now, time);
  }

  /** Runs for `ms` milliseconds of virtual time. */
  runFor(ms: number): void {
    this.runUntil(this.#now + ms);
  }

  /** Starts (or restarts, with a fresh machine) a router now: a Startup event. */
  start(name: string): void {
    const r = this.#router(name);
    if (r.alive) return;
    r.machine = new VrrpMachine(r.spec.config);
    r.alive = true;
    r.incarnation++;
    this.records.push({ kind: 'start', at: this.#now, router: name });
    if (!r.ifUp) this.#deliver(r, { type: 'interfaceDown', at: this.#now });
    this.#deliver(r, { type: 'startup', at: this.#now });
  }

  /** Stops a router gracefully now (Shutdown event: a Master sends priority 0), then it is down. */
  shutdown(name: string): void {
    const r = this.#router(name);
    if (!r.alive) return;
    this.#deliver(r, { type: 'shutdown', at: this.#now });
    this.#kill(r, 'stop');
  }

  /** Kills a router now without a word (power loss, SIGKILL): its addresses vanish with it. */
  crash(name: string): void {
    const r = this.#router(name);
    if (r.alive) this.#kill(r, 'crash');
  }

  /** Takes a router's interface down now: nothing in or out, and an interfaceDown event. */
  interfaceDown(name: string): void {
    const r = this.#router(name);
    r.ifUp = false;
    this.#deliver(r, { type: 'interfaceDown', at: this.#now });
  }

  /** Brings a router's interface back up now. */
  interfaceUp(name: string): void {
    const r = this.#router(name);
    r.ifUp = true;
    this.#deliver(r, { type: 'interfaceUp', at: this.#now });
  }

  /** Reports a tracker change to a router now. */
  tracker(name: string, tracker: string, state: 'up' | 'down', weight?: number): void {
    const ev: MachineEvent =
      weight === undefined
        ? { type: 'trackerChanged', at: this.#now, tracker, state }
        : { type: 'trackerChanged', at: this.#now, tracker, state, weight };
    this.#deliver(this.#router(name), ev);
  }

  /** Sets the properties of the link from `from` to `to` (one direction). */
  setLink(from: string, to: string, link: Partial<SimLink>): void {
    this.#router(from);
    this.#router(to);
    this.#links.set(from, to, link);
  }

  /** Sets the properties of the link between `a` and `b`, both directions. */
  setLinkBoth(a: string, b: string, link: Partial<SimLink>): void {
    this.setLink(a, b, link);
    this.setLink(b, a, link);
  }

  /** Sets the properties of every link. */
  setAllLinks(link: Partial<SimLink>): void {
    for (const a of this.#routers.keys())
      for (const b of this.#routers.keys()) if (a !== b) this.setLink(a, b, link);
  }

  /**
   * Splits the LAN: routers in different groups cannot hear each other; routers in no group form one
   * more group together. Applies to packets sent from now on.
   */
  partition(...groups: readonly (readonly string[])[]): void {
    for (const g of groups) for (const name of g) this.#router(name);
    this.#links.partition(groups);
  }

  /** Removes the partition. */
  heal(): void {
    this.#links.heal();
  }

  /** Whether `a` can currently hear `b` (ignoring loss). */
  connected(a: string, b: string): boolean {
    return this.#links.connected(a, b);
  }

  // ---- internals ---------------------------------------------------------------------------------

  #router(name: string): Router {
    const r = this.#routers.get(name);
    if (r === undefined) throw new Error(`no router ${name}`);
    return r;
  }

  #link(from: string, to: string): SimLink {
    return this.#links.get(from, to);
  }

  #kill(r: Router, kind: 'crash' | 'stop'): void {
    r.alive = false;
    r.incarnation++;
    this.records.push({ kind, at: this.#now, router: r.spec.name });
    if (r.vipsHeld) {
      r.vipsHeld = false;
      this.records.push({ kind: 'vips', at: this.#now, router: r.spec.name, held: false });
    }
  }

  #deliver(r: Router, event: MachineEvent): void {
    if (!r.alive) return;
    this.#apply(r, r.machine.handle(event));
  }

  #apply(r: Router, actions: readonly MachineAction[]): void {
    const router = r.spec.name;
    const at = this.#now;
    for (const a of actions) {
      switch (a.type) {
        case 'send':
          this.#transmit(r, a);
          break;
        case 'setTimer': {
          const timer = a.timer;
          const gen = ++r.gen[timer];
          const inc = r.incarnation;
          this.#queue.push(a.at, () => {
            if (r.incarnation === inc && r.gen[timer] === gen)
              this.#deliver(r, { type: 'timer', at: this.#now, timer });
          });
          break;
        }
        case 'cancelTimer':
          r.gen[a.timer]++;
          break;
        case 'addVips':
        case 'removeVips':
          r.vipsHeld = a.type === 'addVips';
          this.records.push({ kind: 'vips', at, router, held: r.vipsHeld });
          break;
        case 'announce':
          this.records.push({ kind: 'announce', at, router, reason: a.reason });
          break;
        case 'transition':
          this.records.push({
            kind: 'transition',
            at,
            router,
            from: a.from,
            to: a.to,
            reason: a.reason,
            priority: a.priority,
          });
          break;
        case 'log':
          if (a.level !== 'debug')
            this.records.push({ kind: 'log', at, router, level: a.level, message: a.message });
          break;
        case 'discard':
          this.records.push({ kind: 'discard', at, router, reason: a.reason, from: a.from });
          break;
        case 'priorityChanged':
          break;
      }
    }
  }

  #transmit(src: Router, send: SendAction): void {
    this.#stats.sent++;
    const name = src.spec.name;
    if (this.#recordSends) {
      this.records.push({
        kind: 'send',
        at: this.#now,
        router: name,
        priority: send.priority,
        reason: send.reason,
      });
    }
    const m = src.machine;
    const peers = m.unicastPeers;
    const targets =
      peers.length > 0
        ? peers.map((p) => this.#byAddress.get(p)).filter((r): r is Router => r !== undefined)
        : [...this.#routers.values()];
    for (const dst of targets) {
      if (dst === src) continue;
      const to = dst.spec.name;
      if (!src.ifUp || !this.connected(name, to)) {
        this.#stats.blocked++;
        continue;
      }
      const link = this.#link(name, to);
      if (link.lossRate > 0 && this.#random() < link.lossRate) {
        this.#stats.lost++;
        continue;
      }
      const delay = link.delayMs + (link.jitterMs > 0 ? this.#random() * link.jitterMs : 0);
      const advert = {
        type: 'advert' as const,
        from: m.primaryAddress,
        version: m.version,
        vrid: src.spec.config.vrid,
        priority: send.priority,
        maxAdvertIntervalCs: send.intervalMs / 10,
        addresses: send.addresses,
        ttl: 255,
        ...(m.version === 2 ? { auth: m.auth } : {}),
      };
      this.#queue.push(this.#now + delay, () => {
        if (!dst.alive || !dst.ifUp) {
          this.#stats.blocked++;
          return;
        }
        this.#stats.delivered++;
        this.#deliver(dst, { ...advert, at: this.#now });
      });
    }
  }
}

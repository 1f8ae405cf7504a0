// A group of director-protocol nodes on a virtual clock: each runs the real membership machine, reports
// every interval (the director announces too), and messages cross a simulated network with per-link
// delay, jitter, loss (seeded) and partitions. Deterministic: the same script and seed, the same trace.
// the package's own main entry (not a relative path): the two bundles share one LbMachine class
import { createPrng, EventQueue, SimLinks } from '@proxyha/common';
import {
  type Announcement,
  type BucketTable,
  formatLbAction,
  type LbAction,
  type LbEvent,
  LbMachine,
  type LbRole,
  type LbSnapshot,
  type LoadReport,
  type PortConnections,
  type Redirect,
  type ResourceUse,
  type SchedulerOptions,
} from '@proxyha/lb-director';
import { simNodeId } from './messages';

/** Properties of one direction of a link between two simulated nodes. */
export interface LbSimLink {
  /** Probability (0..1) that a message on this link is lost. Default 0. */
  readonly lossRate: number;
  /** One-way delay in ms. Default 0. */
  readonly delayMs: number;
  /** Extra delay, uniform in [0, jitterMs), drawn per message from the seeded PRNG. Default 0. */
  readonly jitterMs: number;
}

/** A node's scripted inputs: what its health monitor and resource sampler would report. */
export interface LbSimInputs {
  /** Its health: `failure` drains it. Default `ok`. */
  readonly health: 'ok' | 'failure';
  /** The failing ports reported with `failure` (default `[9090]` then, `[]` with ok). */
  readonly failingPorts: readonly number[];
  /** Static capacity weight, 0..65535. Default 100. */
  readonly weight: number;
  /** Resource use. Default cpu 0.1, memory 0.2, load 0.1. */
  readonly resources: ResourceUse;
  /** Active connections per destination port. Default none. */
  readonly connections: readonly PortConnections[];
}

/** One simulated node. */
export interface LbSimNodeSpec {
  /** Name, unique in the simulation (also the name in its reports). */
  readonly name: string;
  /** Management address. Default `10.0.0.N` (N: its 1-based position). */
  readonly address?: string;
  /** Node id. Default {@link simNodeId}(N). */
  readonly id?: string;
  /** Its report (and, as director, announcement) interval in ms. Default the simulation's. */
  readonly intervalMs?: number;
  /** Offset of its first report after it starts, ms. Default 0. */
  readonly phaseMs?: number;
  /** The priority it announces as director (the split-brain rule). Default 100. */
  readonly priority?: number;
  /** Virtual time at which it starts, or `false` to start it later with `join()`. Default 0. */
  readonly startAt?: number | false;
  /** Its initial inputs (the rest default). */
  readonly inputs?: Partial<LbSimInputs>;
}

/** Options of an {@link LbSimulation}. */
export interface LbSimOptions {
  /** The nodes, 2..16. */
  readonly nodes: readonly LbSimNodeSpec[];
  /** The node(s) that start as director. Default the first node. */
  readonly director?: string | readonly string[];
  /** PRNG seed for loss and jitter. Default 1. */
  readonly seed?: number;
  /** Properties of every link unless set otherwise with `setLink`. */
  readonly link?: Partial<LbSimLink>;
  /** The load-balancing group. Default 51. */
  readonly group?: number;
  /** Report and announcement interval of every node unless its spec says otherwise, ms. Default 1000. */
  readonly intervalMs?: number;
  /** Passed to every machine. Default 3. */
  readonly failAfterIntervals?: number;
  /** Passed to every machine. Default 3. */
  readonly directorFailAfterIntervals?: number;
  /** Scheduler options of every machine. */
  readonly scheduler?: SchedulerOptions;
  /** Redirects every director announces. Default 8080 -> 9090. */
  readonly redirects?: readonly Redirect[];
  /** Also record every event handed to a machine in {@link LbSimulation.events} (for replays). Default false. */
  readonly recordEvents?: boolean;
}

/** One event handed to one node's machine (recorded with `recordEvents`). */
export interface LbSimEventRecord {
  /** The node (its name). */
  readonly node: string;
  /** Which life of the node (1 for the first start, +1 for each restart after a failure). */
  readonly life: number;
  /** The event, with its time. */
  readonly event: LbEvent;
}

/** One action of one node's machine, with its virtual time. */
export interface LbSimTraceEntry {
  /** Virtual time, ms. */
  readonly at: number;
  /** The node (its name). */
  readonly node: string;
  /** What its machine did. */
  readonly action: LbAction;
}

/** Message counters of a simulation. */
export interface LbSimStats {
  /** Messages handed to the network (one per receiver of an announcement, one per report). */
  readonly sent: number;
  /** Messages delivered to a machine. */
  readonly delivered: number;
  /** Messages lost to link loss. */
  readonly lost: number;
  /** Messages blocked by a partition, a dead receiver, or an address no node has. */
  readonly blocked: number;
}

interface SimNode {
  readonly spec: LbSimNodeSpec;
  readonly index: number;
  readonly id: string;
  address: string;
  readonly intervalMs: number;
  machine: LbMachine;
  alive: boolean;
  /** Bumped on start and fail: timers of an older life are dropped. */
  incarnation: number;
  role: LbRole;
  inputs: LbSimInputs;
  sequence: number;
  announceGen: number;
  tickGen: number;
}

const DEFAULT_LINK: LbSimLink = { lossRate: 0, delayMs: 0, jitterMs: 0 };
const DEFAULT_INPUTS: LbSimInputs = {
  health: 'ok',
  failingPorts: [],
  weight: 100,
  resources: { cpu: 0.1, memory: 0.2, load: 0.1 },
  connections: [],
};

/**
 * A deterministic simulation of one load-balancing group on a virtual clock.
 *
 * Every node runs a real {@link LbMachine}. Each running node builds its report every interval from
 * its scripted inputs and hands it to its own machine (`localReport`); a scanner also unicasts it to
 * the director its machine follows. Each director broadcasts an announcement every interval. Messages
 * cross the network subject to each link's delay, jitter and loss and to partitions; every machine's
 * deadline ({@link LbMachine.nextDeadline}) becomes a `tick`. Every action is recorded in
 * {@link LbSimulation.trace}. The same options and script give the same trace.
 *
 * @example
 * ```ts
 * const sim = new LbSimulation({ nodes: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
 * sim.runUntil(2500);
 * sim.members();              // ['a', 'b', 'c'] (as the director a sees them)
 * sim.fail('c');
 * sim.runFor(4000);
 * sim.lookup('192.0.2.7');    // 'a' or 'b'
 * ```
 */
export class LbSimulation {
  readonly #queue = new EventQueue();
  readonly #nodes = new Map<string, SimNode>();
  readonly #links: SimLinks<LbSimLink>;
  readonly #random: () => number;
  readonly #o: LbSimOptions;
  readonly #group: number;
  #now = 0;
  readonly #stats = { sent: 0, delivered: 0, lost: 0, blocked: 0 };
  /** Every action of every machine, in order. */
  readonly trace: LbSimTraceEntry[] = [];
  /** Every event handed to a machine, in order (only with the `recordEvents` option). */
  readonly events: LbSimEventRecord[] = [];

  /**
   * @param options - nodes, director, seed, links, intervals, machine and scheduler options
   * @throws Error for fewer than 2 or more than 16 nodes, a duplicate name, id or address, an unknown director
   * @throws `LbError` `LB_INVALID_ARGUMENT` when the machine options are invalid
   */
  constructor(options: LbSimOptions) {
    const n = options.nodes.length;
    if (n < 2 || n > 16) throw new Error(`a simulation has 2..16 nodes (got ${n})`);
    this.#o = options;
    this.#group = options.group ?? 51;
    this.#random = createPrng(options.seed ?? 1);
    this.#links = new SimLinks<LbSimLink>({ ...DEFAULT_LINK, ...options.link });
    const directors = new Set(
      options.director === undefined
        ? [options.nodes[0]?.name as string]
        : typeof options.director === 'string'
          ? [options.director]
          : options.director,
    );
    const ids = new Set<string>();
    const addresses = new Set<string>();
    options.nodes.forEach((spec, index) => {
      if (this.#nodes.has(spec.name)) throw new Error(`duplicate node name ${spec.name}`);
      const id = spec.id ?? simNodeId(index + 1);
      const address = spec.address ?? `10.0.0.${index + 1}`;
      if (ids.has(id)) throw new Error(`duplicate node id ${id}`);
      if (addresses.has(address)) throw new Error(`duplicate node address ${address}`);
      ids.add(id);
      addresses.add(address);
      const role: LbRole = directors.has(spec.name) ? 'director' : 'scanner';
      const node: SimNode = {
        spec,
        index,
        id,
        address,
        intervalMs: spec.intervalMs ?? options.intervalMs ?? 1000,
        machine: undefined as unknown as LbMachine,
        alive: false,
        incarnation: 0,
        role,
        inputs: { ...DEFAULT_INPUTS, ...spec.inputs },
        sequence: 0,
        announceGen: 0,
        tickGen: 0,
      };
      node.machine = this.#newMachine(node);
      this.#nodes.set(spec.name, node);
    });
    for (const d of directors) this.#node(d);
    for (const node of this.#nodes.values()) {
      const startAt = node.spec.startAt ?? 0;
      if (startAt !== false) this.#queue.push(startAt, () => this.join(node.spec.name));
    }
  }

  // ---- clock ------------------------------------------------------------------------------------

  /** The virtual time in ms. */
  get now(): number {
    return this.#now;
  }

  /** Message counters so far. */
  get stats(): LbSimStats {
    return { ...this.#stats };
  }

  /** The load-balancing group. */
  get group(): number {
    return this.#group;
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

  /** Runs for `ms` of virtual time. */
  runFor(ms: number): void {
    this.runUntil(this.#now + ms);
  }

  // ---- queries ----------------------------------------------------------------------------------

  /** Node names in the order given. */
  get nodes(): readonly string[] {
    return [...this.#nodes.keys()];
  }

  /** The node's id. */
  idOf(name: string): string {
    return this.#node(name).id;
  }

  /** The node's current management address. */
  addressOf(name: string): string {
    return this.#node(name).address;
  }

  /** The name of the node with this id, or `undefined`. */
  nameOf(id: string): string | undefined {
    for (const n of this.#nodes.values()) if (n.id === id) return n.spec.name;
    return undefined;
  }

  /** Whether the node is running. */
  isAlive(name: string): boolean {
    return this.#node(name).alive;
  }

  /** The node's machine (a new one after each `join` of a failed node). */
  machine(name: string): LbMachine {
    return this.#node(name).machine;
  }

  /** The node's machine snapshot. */
  snapshot(name: string): LbSnapshot {
    return this.#node(name).machine.snapshot();
  }

  /** The node's current inputs. */
  inputs(name: string): LbSimInputs {
    return this.#node(name).inputs;
  }

  /** Names of the running nodes whose role is director. */
  directors(): string[] {
    return [...this.#nodes.values()].filter((n) => n.alive && n.role === 'director').map((n) => n.spec.name);
  }

  /** The name of the director a scanner follows (its own name for a director), or `undefined`. */
  following(name: string): string | undefined {
    const d = this.snapshot(name).director;
    return d === undefined ? undefined : this.nameOf(d.id);
  }

  /**
   * The member names as a director sees them, sorted by node id (the node order), `[]` when there is
   * no such director.
   *
   * @param director - the director to ask (default: the only running director)
   */
  members(director?: string): string[] {
    const d = this.#director(director);
    if (d === undefined) return [];
    return d.machine.snapshot().members.map((m) => this.nameOf(m.id) ?? m.id);
  }

  /**
   * The bucket table in force at a director, or `undefined`.
   *
   * @param director - the director to ask (default: the only running director)
   */
  table(director?: string): BucketTable | undefined {
    return this.#director(director)?.machine.snapshot().table;
  }

  /**
   * Each member's share of a director's table, by node name.
   *
   * @param director - the director to ask (default: the only running director)
   */
  shares(director?: string): Map<string, number> {
    const d = this.#director(director);
    const out = new Map<string, number>();
    if (d === undefined) return out;
    for (const [id, share] of d.machine.snapshot().shares) out.set(this.nameOf(id) ?? id, share);
    return out;
  }

  /**
   * The node (its name) a director's table maps a client address to, or `undefined` when there is no
   * director, no table, or no node can take clients.
   *
   * @param clientAddress - IPv4 or IPv6 text
   * @param director - the director to ask (default: the only running director)
   */
  lookup(clientAddress: string, director?: string): string | undefined {
    const id = this.#director(director)?.machine.lookup(clientAddress);
    return id === undefined ? undefined : (this.nameOf(id) ?? id);
  }

  /**
   * The trace as text, one line per action: `2000 a Scanning partner has joined 10.0.0.2 (b)` (the
   * driver's log line of each action, see `formatLbAction`).
   *
   * @param filter - keep only these entries (default: all but `tableChanged` and `directorTable`, the
   *   table contents the driver logs at debug level)
   */
  formatTrace(
    filter: (e: LbSimTraceEntry) => boolean = (e) =>
      e.action.type !== 'tableChanged' && e.action.type !== 'directorTable',
  ): string[] {
    return this.trace.filter(filter).map((e) => `${e.at} ${e.node} ${formatLbAction(e.action, this.#group)}`);
  }

  // ---- scenario helpers -------------------------------------------------------------------------

  /**
   * Starts a node now with a fresh machine (a failed node restarts so), in the role it last had
   * (`setRole` while it is down takes effect here).
   */
  join(name: string): void {
    const node = this.#node(name);
    if (node.alive) return;
    node.machine = this.#newMachine(node);
    node.alive = true;
    node.incarnation++;
    const inc = node.incarnation;
    const first = this.#now + (node.spec.phaseMs ?? 0);
    this.#queue.push(first, () => this.#reportLoop(node, inc));
    if (node.role === 'director') this.#startAnnouncing(node);
    this.#scheduleTick(node);
  }

  /** Fails a node now: it stops reporting, announcing and receiving (a crash, a cable pulled). */
  fail(name: string): void {
    const node = this.#node(name);
    if (!node.alive) return;
    node.alive = false;
    node.incarnation++;
  }

  /** Changes a node's inputs; its next report carries them. */
  setInputs(name: string, inputs: Partial<LbSimInputs>): void {
    const node = this.#node(name);
    node.inputs = { ...node.inputs, ...inputs };
  }

  /**
   * Overloads a node: its reports carry `activeConnections` (on port 9090) and `cpu` (default 0.95).
   *
   * @param name - the node
   * @param load - the active connections (default 1000) and cpu share
   */
  overload(name: string, load: { activeConnections?: number; cpu?: number } = {}): void {
    const node = this.#node(name);
    this.setInputs(name, {
      connections: [{ port: 9090, active: load.activeConnections ?? 1000 }],
      resources: { ...node.inputs.resources, cpu: load.cpu ?? 0.95 },
    });
  }

  /**
   * Drains a node: its reports say health `failure` with these failing ports.
   *
   * @param name - the node
   * @param failingPorts - default `[9090]`
   */
  drain(name: string, failingPorts: readonly number[] = [9090]): void {
    this.setInputs(name, { health: 'failure', failingPorts });
  }

  /** Recovers a node: health ok, default resources, no connections; a failed node joins again. */
  recover(name: string): void {
    this.setInputs(name, {
      health: 'ok',
      failingPorts: [],
      resources: DEFAULT_INPUTS.resources,
      connections: [],
    });
    this.join(name);
  }

  /** Moves a node to a new management address (same id); its next report and announcement carry it. */
  setAddress(name: string, address: string): void {
    const node = this.#node(name);
    for (const n of this.#nodes.values())
      if (n !== node && n.address === address)
        throw new Error(`address ${address} is taken by ${n.spec.name}`);
    node.address = address;
  }

  /** Sets a node's role now (a `role` event; a new director announces at once). */
  setRole(name: string, role: LbRole): void {
    const node = this.#node(name);
    if (node.role === role) return;
    node.role = role;
    if (!node.alive) return;
    this.#step(node, { type: 'role', at: this.#now, role });
    if (role === 'director') this.#startAnnouncing(node);
    else node.announceGen++;
  }

  /**
   * Moves the director role: every current director becomes a scanner now, and `to` becomes the
   * director `gapMs` later (default: the worst one-way delay plus jitter plus 1 ms, so that no
   * announcement of the old director is still on its way, as after a VRRP failover).
   *
   * @param to - the new director
   * @param gapMs - time between the old director's demotion and the new one's promotion
   */
  moveDirector(to: string, gapMs?: number): void {
    this.#node(to);
    for (const n of this.#nodes.values()) if (n.spec.name !== to) this.setRole(n.spec.name, 'scanner');
    const gap = gapMs ?? this.#worstDelay() + 1;
    this.at(this.#now + gap, () => this.setRole(to, 'director'));
  }

  /** Makes two nodes directors at once (a split brain: both announce the group). */
  splitBrain(a: string, b: string): void {
    this.setRole(a, 'director');
    this.setRole(b, 'director');
  }

  /** Sets the properties of the link from `from` to `to` (one direction). */
  setLink(from: string, to: string, link: Partial<LbSimLink>): void {
    this.#node(from);
    this.#node(to);
    this.#links.set(from, to, link);
  }

  /** Sets the properties of the link between `a` and `b`, both directions. */
  setLinkBoth(a: string, b: string, link: Partial<LbSimLink>): void {
    this.setLink(a, b, link);
    this.setLink(b, a, link);
  }

  /** Sets the properties of every link. */
  setAllLinks(link: Partial<LbSimLink>): void {
    for (const a of this.#nodes.keys())
      for (const b of this.#nodes.keys()) if (a !== b) this.setLink(a, b, link);
  }

  /**
   * Splits the network: nodes in different groups cannot reach each other; nodes in no group form one
   * more group together. Applies to messages sent from now on.
   */
  partition(...groups: readonly (readonly string[])[]): void {
    for (const g of groups) for (const name of g) this.#node(name);
    this.#links.partition(groups);
  }

  /** Removes the partition. */
  heal(): void {
    this.#links.heal();
  }

  /** Whether `a` can currently reach `b` (ignoring loss). */
  connected(a: string, b: string): boolean {
    return this.#links.connected(a, b);
  }

  // ---- internals ------------------------------------------------------------------------------

  #node(name: string): SimNode {
    const n = this.#nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  #director(name: string | undefined): SimNode | undefined {
    if (name !== undefined) {
      const n = this.#node(name);
      return n.alive && n.role === 'director' ? n : undefined;
    }
    const all = [...this.#nodes.values()].filter((n) => n.alive && n.role === 'director');
    return all.length === 1 ? all[0] : undefined;
  }

  #newMachine(node: SimNode): LbMachine {
    const o = this.#o;
    return new LbMachine({
      selfId: node.id,
      group: this.#group,
      role: node.role,
      ...(o.failAfterIntervals === undefined ? {} : { failAfterIntervals: o.failAfterIntervals }),
      ...(o.directorFailAfterIntervals === undefined
        ? {}
        : { directorFailAfterIntervals: o.directorFailAfterIntervals }),
      ...(o.scheduler === undefined ? {} : { scheduler: o.scheduler }),
      announce: {
        priority: node.spec.priority ?? 100,
        intervalMs: node.intervalMs,
        redirects: o.redirects ?? [{ originalPort: 8080, destinationPort: 9090 }],
      },
    });
  }

  #link(from: string, to: string): LbSimLink {
    return this.#links.get(from, to);
  }

  #worstDelay(): number {
    let worst = this.#links.defaultLink.delayMs + this.#links.defaultLink.jitterMs;
    for (const l of this.#links.values()) worst = Math.max(worst, l.delayMs + l.jitterMs);
    return worst;
  }

  #step(node: SimNode, event: LbEvent): void {
    if (!node.alive) return;
    if (this.#o.recordEvents === true)
      this.events.push({ node: node.spec.name, life: (node.incarnation + 1) / 2, event });
    const actions = node.machine.step(event);
    for (const action of actions) this.trace.push({ at: this.#now, node: node.spec.name, action });
    this.#scheduleTick(node);
  }

  #scheduleTick(node: SimNode): void {
    const gen = ++node.tickGen;
    const at = node.machine.nextDeadline();
    if (at === undefined) return;
    const inc = node.incarnation;
    this.#queue.push(Math.max(at, this.#now), () => {
      if (node.incarnation === inc && node.tickGen === gen) this.#step(node, { type: 'tick', at: this.#now });
    });
  }

  #reportLoop(node: SimNode, inc: number): void {
    if (node.incarnation !== inc || !node.alive) return;
    this.#queue.push(this.#now + node.intervalMs, () => this.#reportLoop(node, inc));
    const report = this.#report(node);
    this.#step(node, { type: 'localReport', at: this.#now, report });
    if (node.role === 'director') return;
    const director = node.machine.snapshot().director;
    if (director === undefined) return;
    const to = [...this.#nodes.values()].find((n) => n.address === director.address);
    this.#transmit(node, to, { kind: 'report', message: report });
  }

  #startAnnouncing(node: SimNode): void {
    const gen = ++node.announceGen;
    const inc = node.incarnation;
    const loop = () => {
      if (node.incarnation !== inc || node.announceGen !== gen || !node.alive || node.role !== 'director')
        return;
      this.#queue.push(this.#now + node.intervalMs, loop);
      let announcement: Announcement = {
        type: 'announcement',
        group: this.#group,
        nodeId: node.id,
        address: node.address,
        sequence: node.sequence++ >>> 0,
        timestamp: this.#now,
        intervalMs: node.intervalMs,
        name: node.spec.name,
        priority: node.spec.priority ?? 100,
        redirects: this.#o.redirects ?? [{ originalPort: 8080, destinationPort: 9090 }],
      };
      const table = node.machine.announcedTable();
      if (table !== undefined) announcement = { ...announcement, table };
      for (const to of this.#nodes.values())
        if (to !== node) this.#transmit(node, to, { kind: 'announcement', message: announcement });
    };
    this.#queue.push(this.#now, loop);
  }

  #report(node: SimNode): LoadReport {
    const i = node.inputs;
    return {
      type: 'report',
      group: this.#group,
      nodeId: node.id,
      address: node.address,
      sequence: node.sequence++ >>> 0,
      timestamp: this.#now,
      intervalMs: node.intervalMs,
      name: node.spec.name,
      softwareVersion: '0.1.0',
      health: {
        status: i.health,
        failingPorts: i.health === 'ok' ? [] : i.failingPorts,
      },
      weight: i.weight,
      resources: i.resources,
      connections: i.connections,
    };
  }

  #transmit(
    src: SimNode,
    dst: SimNode | undefined,
    m: { kind: 'report'; message: LoadReport } | { kind: 'announcement'; message: Announcement },
  ): void {
    this.#stats.sent++;
    if (dst === undefined || !this.connected(src.spec.name, dst.spec.name)) {
      this.#stats.blocked++;
      return;
    }
    const link = this.#link(src.spec.name, dst.spec.name);
    if (link.lossRate > 0 && this.#random() < link.lossRate) {
      this.#stats.lost++;
      return;
    }
    const delay = link.delayMs + (link.jitterMs > 0 ? this.#random() * link.jitterMs : 0);
    const source = src.address;
    this.#queue.push(this.#now + delay, () => {
      if (!dst.alive) {
        this.#stats.blocked++;
        return;
      }
      this.#stats.delivered++;
      const at = this.#now;
      this.#step(
        dst,
        m.kind === 'report'
          ? { type: 'report', at, report: m.message, source }
          : { type: 'announcement', at, announcement: m.message, source },
      );
    });
  }
}

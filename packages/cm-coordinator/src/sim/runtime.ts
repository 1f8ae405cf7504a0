// Runtime groups on a virtual clock: each node runs the real RuntimeMachine; nodes connect within their network
// groups (as CmNode does), learn each other's runtime group from the hello, and exchange deltas over links with
// delay, jitter and loss (seeded), cut links, partitions, crashes and restarts. Deterministic.
// the package's own main entry (not a relative path), as the replication simulator does
import {
  type CmRuntimeStatus,
  checkNodePathMatrix,
  DEFAULT_NETWORK_GROUP,
  type RuntimeAction,
  type RuntimeEvent,
  RuntimeMachine,
  type RuntimeMessage,
  type RuntimeValue,
} from '@proxyha/cm-coordinator';
import { createPrng, EventQueue, SimLinks } from '@proxyha/common';
import { type CmSimLink, simNodeUuid } from './network';

/** One node of a {@link CmRuntimeSimulation}. */
export interface CmRuntimeSimNodeSpec {
  /** Name, unique. */
  readonly name: string;
  /** UUID (default {@link simNodeUuid}(N), N its 1-based position). */
  readonly uuid?: string;
  /** Its network groups (default `['default']`): it connects only to nodes that share one. */
  readonly groups?: readonly string[];
  /** Its runtime group (default `default`). */
  readonly runtime?: string;
  /** Its wall clock's offset from true time, ms (default 0). */
  readonly skewMs?: number;
}

/** Options of a {@link CmRuntimeSimulation}. */
export interface CmRuntimeSimOptions {
  /** The nodes (1..100). A layout in which some node cannot reach another through the network groups is refused. */
  readonly nodes: readonly CmRuntimeSimNodeSpec[];
  /** PRNG seed for loss and jitter (default 1). */
  readonly seed?: number;
  /** Every link unless set with `setLink` (default 5 ms, no jitter, no loss). */
  readonly link?: Partial<CmSimLink>;
  /** Every node's machine gets a `tick` this often, ms (default 1000). */
  readonly tickMs?: number;
  /** Changes are flushed this long after the first of a burst, ms (default 100, as CmNode). */
  readonly flushMs?: number;
  /** Passed to every machine (default 5000). */
  readonly ackTimeoutMs?: number;
  /** Passed to every machine (default 1000). */
  readonly retryMs?: number;
  /** Passed to every machine (default 60000). */
  readonly maxRetryMs?: number;
  /** The true wall time at virtual time 0, ms since the epoch (default 2025-01-01T00:00:00Z). */
  readonly epochMs?: number;
}

/** A message delivered to a node's machine ({@link CmRuntimeSimulation.deliveries}). */
export interface CmRuntimeSimDelivery {
  /** Virtual time, ms. */
  readonly at: number;
  /** Sender's name. */
  readonly from: string;
  /** Receiver's name. */
  readonly to: string;
  /** The message. */
  readonly message: RuntimeMessage;
}

/** An alert raised or cleared ({@link CmRuntimeSimulation.alerts}). */
export interface CmRuntimeSimAlert {
  /** Virtual time, ms. */
  readonly at: number;
  /** The node that raised or cleared it. */
  readonly node: string;
  /** The peer it names. */
  readonly peer: string;
  /** Raised (true) or cleared. */
  readonly raised: boolean;
  /** The log line of the alert. */
  readonly message: string;
}

interface SimNode {
  readonly name: string;
  readonly uuid: string;
  readonly groups: readonly string[];
  readonly runtime: string | undefined;
  readonly skewMs: number;
  alive: boolean;
  incarnation: number;
  machine: RuntimeMachine | undefined;
  flushPending: boolean;
}

const pairKey = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);

/**
 * A deterministic simulation of runtime groups (up to 100 nodes) on a virtual clock, over the network groups
 * of the cluster: nodes of a shared network group connect, and the runtime machines do the rest (hello, deltas,
 * acks, retries, the "Shared data not synchronized" alert). Every delivered message is recorded, so a test can
 * show that a node of another runtime group never got any runtime data.
 *
 * @example
 * ```ts
 * const sim = new CmRuntimeSimulation({ nodes: [{ name: 'a', runtime: 'tokyo' }, { name: 'b', runtime: 'tokyo' }] });
 * sim.increment('a', 'quota:alice', 1, 86_400_000);
 * sim.runFor(2000);
 * sim.counter('b', 'quota:alice'); // 1
 * ```
 */
export class CmRuntimeSimulation {
  readonly #queue = new EventQueue();
  readonly #nodes = new Map<string, SimNode>();
  readonly #byUuid = new Map<string, SimNode>();
  readonly #links: SimLinks<CmSimLink>;
  readonly #cut = new Set<string>();
  readonly #connected = new Map<string, number>();
  readonly #random: () => number;
  readonly #o: Required<Omit<CmRuntimeSimOptions, 'nodes' | 'seed' | 'link'>>;
  #epoch = 0;
  #now = 0;
  readonly #stats = { sent: 0, delivered: 0, lost: 0, blocked: 0 };
  /** Every message delivered to a machine, in order. */
  readonly deliveries: CmRuntimeSimDelivery[] = [];
  /** Every alert raised or cleared, in order. */
  readonly alerts: CmRuntimeSimAlert[] = [];
  /** Every log line of the machines, in order. */
  readonly logs: {
    /** Virtual time, ms. */
    readonly at: number;
    /** The node. */
    readonly node: string;
    /** The level. */
    readonly level: 'info' | 'warn';
    /** The line. */
    readonly message: string;
  }[] = [];

  /**
   * @param options - nodes, seed, links, timers
   * @throws Error for 0 or more than 100 nodes, a duplicate name or uuid; `CmError` `CM_UNREACHABLE_NODES` for
   *   network groups in which some node cannot reach another
   */
  constructor(options: CmRuntimeSimOptions) {
    const specs = [...options.nodes];
    if (specs.length < 1 || specs.length > 100)
      throw new Error(`a simulation has 1..100 nodes (got ${specs.length})`);
    const layout = checkNodePathMatrix(
      specs.map((s) => ({ name: s.name, groups: s.groups ?? [DEFAULT_NETWORK_GROUP] })),
    );
    if (!layout.ok) throw layout.error;
    this.#random = createPrng(options.seed ?? 1);
    this.#links = new SimLinks<CmSimLink>({ lossRate: 0, delayMs: 5, jitterMs: 0, ...options.link });
    this.#o = {
      tickMs: options.tickMs ?? 1000,
      flushMs: options.flushMs ?? 100,
      ackTimeoutMs: options.ackTimeoutMs ?? 5000,
      retryMs: options.retryMs ?? 1000,
      maxRetryMs: options.maxRetryMs ?? 60_000,
      epochMs: options.epochMs ?? Date.UTC(2025, 0, 1),
    };
    specs.forEach((spec, i) => {
      const uuid = spec.uuid ?? simNodeUuid(i + 1);
      if (this.#nodes.has(spec.name)) throw new Error(`duplicate node name ${spec.name}`);
      if (this.#byUuid.has(uuid)) throw new Error(`duplicate node uuid ${uuid}`);
      const node: SimNode = {
        name: spec.name,
        uuid,
        groups: [...(spec.groups ?? [DEFAULT_NETWORK_GROUP])],
        runtime: spec.runtime,
        skewMs: spec.skewMs ?? 0,
        alive: false,
        incarnation: 0,
        machine: undefined,
        flushPending: false,
      };
      this.#nodes.set(spec.name, node);
      this.#byUuid.set(uuid, node);
    });
    for (const node of this.#nodes.values()) this.#start(node);
    this.#evaluate();
  }

  // ---- clock and queries ----

  /** The virtual time, ms. */
  get now(): number {
    return this.#now;
  }

  /** The node names, in order. */
  get names(): string[] {
    return [...this.#nodes.keys()];
  }

  /** Message counters: sent, delivered, lost (link loss), blocked (no connection). */
  get stats(): {
    /** Messages handed to the network. */
    readonly sent: number;
    /** Messages delivered to a machine. */
    readonly delivered: number;
    /** Messages lost to link loss. */
    readonly lost: number;
    /** Messages without a connection (cut, partition, crash). */
    readonly blocked: number;
  } {
    return { ...this.#stats };
  }

  /** A running node's machine (read it; do not step it). @throws Error when the node is down */
  machine(name: string): RuntimeMachine {
    const m = this.#node(name).machine;
    if (m === undefined) throw new Error(`node ${name} is down`);
    return m;
  }

  /** A node's wall clock now, ms since the epoch. */
  wall(name: string): number {
    return this.#wall(this.#node(name));
  }

  /** A counter's value on a node now. */
  counter(name: string, key: string): number {
    return this.machine(name).counter(key, this.wall(name));
  }

  /** A value on a node now. */
  get(name: string, key: string): RuntimeValue | undefined {
    return this.machine(name).get(key, this.wall(name));
  }

  /** Whether a running node holds anything of `key` (false when it is down). */
  holds(name: string, key: string): boolean {
    return this.#node(name).machine?.holds(key) ?? false;
  }

  /** A node's runtime status now. */
  status(name: string): CmRuntimeStatus {
    return this.machine(name).status(this.wall(name));
  }

  /** Whether two nodes are connected. */
  connected(a: string, b: string): boolean {
    return this.#connected.has(pairKey(this.#node(a).uuid, this.#node(b).uuid));
  }

  // ---- scripting ----

  /** Schedules a scripted step at virtual time `at`. */
  at(at: number, run: () => void): void {
    this.#queue.push(Math.max(at, this.#now), run);
  }

  /** Runs every event up to and including virtual time `t`. */
  runUntil(t: number): void {
    this.#queue.runUntil(t, (at) => {
      this.#now = at;
    });
    this.#now = Math.max(this.#now, t);
  }

  /** Runs for `ms` of virtual time. */
  runFor(ms: number): void {
    this.runUntil(this.#now + ms);
  }

  /** Counts on a node (its machine's `increment`); returns the node's value after it. */
  increment(name: string, key: string, by: number, periodMs: number): number {
    const n = this.#node(name);
    this.#step(n, { type: 'increment', at: this.#wall(n), key, by, periodMs });
    return this.counter(name, key);
  }

  /** Sets a value on a node. */
  set(name: string, key: string, value: RuntimeValue, ttlMs: number): void {
    const n = this.#node(name);
    this.#step(n, { type: 'set', at: this.#wall(n), key, value, ttlMs });
  }

  /** Deletes a value on a node. */
  delete(name: string, key: string): void {
    const n = this.#node(name);
    this.#step(n, { type: 'delete', at: this.#wall(n), key });
  }

  /** Cuts the link between two nodes (their connection goes down) until {@link CmRuntimeSimulation.restore}. */
  cut(a: string, b: string): void {
    this.#cut.add(pairKey(this.#node(a).uuid, this.#node(b).uuid));
    this.#evaluate();
  }

  /** Restores a cut link. */
  restore(a: string, b: string): void {
    this.#cut.delete(pairKey(this.#node(a).uuid, this.#node(b).uuid));
    this.#evaluate();
  }

  /** Splits the nodes into groups that cannot talk to each other; unlisted nodes form one more group. */
  partition(groups: readonly (readonly string[])[]): void {
    this.#links.partition(groups);
    this.#evaluate();
  }

  /** Ends every partition. */
  heal(): void {
    this.#links.heal();
    this.#evaluate();
  }

  /** Sets the properties of the link between two nodes (both directions). */
  setLink(a: string, b: string, link: Partial<CmSimLink>): void {
    const x = this.#node(a).uuid;
    const y = this.#node(b).uuid;
    this.#links.set(x, y, link);
    this.#links.set(y, x, link);
  }

  /** Crashes a node: its runtime data (kept in memory) is gone. */
  crash(name: string): void {
    const n = this.#node(name);
    n.alive = false;
    n.machine = undefined;
    n.incarnation++;
    this.#evaluate();
  }

  /** Restarts a crashed node with an empty store (a new incarnation); it gets the group's data from its peers. */
  restart(name: string): void {
    const n = this.#node(name);
    if (n.alive) return;
    this.#start(n);
    this.#evaluate();
  }

  // ---- internals ----

  #node(name: string): SimNode {
    const n = this.#nodes.get(name);
    if (n === undefined) throw new Error(`no node named ${name}`);
    return n;
  }

  #wall(n: SimNode): number {
    return this.#o.epochMs + this.#now + n.skewMs;
  }

  #start(n: SimNode): void {
    n.alive = true;
    n.incarnation++;
    n.flushPending = false;
    n.machine = new RuntimeMachine({
      self: { uuid: n.uuid, name: n.name },
      ...(n.runtime === undefined ? {} : { group: n.runtime }),
      incarnation: String(n.incarnation),
      ackTimeoutMs: this.#o.ackTimeoutMs,
      retryMs: this.#o.retryMs,
      maxRetryMs: this.#o.maxRetryMs,
    });
    const life = n.incarnation;
    const tick = () => {
      if (n.incarnation !== life || !n.alive) return;
      this.#step(n, { type: 'tick', at: this.#wall(n) });
      this.#queue.push(this.#now + this.#o.tickMs, tick);
    };
    this.#queue.push(this.#now + this.#o.tickMs, tick);
  }

  #step(n: SimNode, event: RuntimeEvent): void {
    const m = n.machine;
    if (!m) throw new Error(`node ${n.name} is down`);
    const actions = m.step(event);
    for (const a of actions) this.#carryOut(n, a);
    if (
      event.type !== 'tick' &&
      !n.flushPending &&
      (actions.some((a) => a.type === 'changed') || event.type === 'received' || event.type === 'peerUp')
    ) {
      n.flushPending = true;
      const life = n.incarnation;
      this.#queue.push(this.#now + this.#o.flushMs, () => {
        if (n.incarnation !== life || !n.alive) return;
        n.flushPending = false;
        this.#step(n, { type: 'tick', at: this.#wall(n) });
      });
    }
  }

  #carryOut(n: SimNode, a: RuntimeAction): void {
    if (a.type === 'send') this.#send(n, a.to, a.message);
    else if (a.type === 'alert')
      this.alerts.push({
        at: this.#now,
        node: n.name,
        peer: this.#byUuid.get(a.peer.uuid)?.name ?? a.peer.name,
        raised: a.raised,
        message: a.error.message,
      });
    else if (a.type === 'log')
      this.logs.push({ at: this.#now, node: n.name, level: a.level, message: a.message });
  }

  #send(from: SimNode, to: string, message: RuntimeMessage): void {
    this.#stats.sent++;
    const target = this.#byUuid.get(to);
    const epoch = this.#connected.get(pairKey(from.uuid, to));
    if (target === undefined || epoch === undefined) {
      this.#stats.blocked++;
      return;
    }
    const link = this.#links.get(from.uuid, to);
    if (link.lossRate > 0 && this.#random() < link.lossRate) {
      this.#stats.lost++;
      return;
    }
    const delay = link.delayMs + (link.jitterMs > 0 ? this.#random() * link.jitterMs : 0);
    this.#queue.push(this.#now + delay, () => {
      if (this.#connected.get(pairKey(from.uuid, to)) !== epoch || !target.machine) {
        this.#stats.blocked++;
        return;
      }
      this.#stats.delivered++;
      this.deliveries.push({ at: this.#now, from: from.name, to: target.name, message });
      this.#step(target, { type: 'received', at: this.#wall(target), from: from.uuid, message });
    });
  }

  /** Recomputes the connected pairs; feeds peerDown / peerUp for the changes. */
  #evaluate(): void {
    const nodes = [...this.#nodes.values()];
    const ups: [SimNode, SimNode][] = [];
    const downs: [SimNode, SimNode][] = [];
    for (let i = 0; i < nodes.length; i++)
      for (let j = i + 1; j < nodes.length; j++) {
        const a = nodes[i] as SimNode;
        const b = nodes[j] as SimNode;
        const key = pairKey(a.uuid, b.uuid);
        const want =
          a.alive &&
          b.alive &&
          a.groups.some((g) => b.groups.includes(g)) &&
          !this.#cut.has(key) &&
          this.#links.connected(a.name, b.name);
        const has = this.#connected.has(key);
        if (has && !want) {
          this.#connected.delete(key);
          downs.push([a, b]);
        } else if (!has && want) {
          this.#connected.set(key, ++this.#epoch);
          ups.push([a, b]);
        }
      }
    for (const [a, b] of downs)
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const)
        if (x.machine) this.#step(x, { type: 'peerDown', at: this.#wall(x), peer: y.uuid });
    for (const [a, b] of ups)
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const)
        if (x.machine)
          this.#step(x, { type: 'peerUp', at: this.#wall(x), peer: { uuid: y.uuid, name: y.name } });
  }
}

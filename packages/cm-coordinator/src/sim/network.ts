// A central-management cluster on a virtual clock: each node runs the real ReplicaMachine, persists to
// a simulated durable store (a write takes time; a crash loses what was not written), and messages cross
// a network with per-link delay, jitter, loss (seeded), partitions and clock checks. Deterministic: the
// same options and script give the same trace.
// the package's own main entry (not a relative path): the two bundles share one ReplicaMachine class

import {
  checkNodePathMatrix,
  checkPeerClock,
  DEFAULT_NETWORK_GROUP,
  formatHlc,
  type NodeIdentity,
  type PolicyDocument,
  type ReplicaAction,
  ReplicaMachine,
  type ReplicationMessage,
  type Scope,
  type Version,
} from '@proxyha/cm-coordinator';
import { createPrng, EventQueue, SimLinks } from '@proxyha/common';

/** Properties of a link between two simulated nodes (both directions). */
export interface CmSimLink {
  /** Probability (0..1) that a message is lost. Default 0. */
  readonly lossRate: number;
  /** One-way delay, ms. Default 5. */
  readonly delayMs: number;
  /** Extra delay, uniform in [0, jitterMs), per message. Default 0. */
  readonly jitterMs: number;
}

/** One simulated node. */
export interface CmSimNodeSpec {
  /** Name, unique. */
  readonly name: string;
  /** UUID. Default {@link simNodeUuid}(N), N its 1-based position. */
  readonly uuid?: string;
  /** Central-management priority, 1..1000. Default 100. */
  readonly priority?: number;
  /** Its wall clock's offset from true time, ms. Default 0. */
  readonly skewMs?: number;
  /**
   * Its network groups (default `['default']`): it connects only to nodes that share one; a node in more
   * than one is a transit node. A layout in which some node cannot reach another is refused.
   */
  readonly groups?: readonly string[];
}

/** Options of a {@link CmSimulation}. */
export interface CmSimOptions {
  /** The nodes (1..50), or how many (named `node-1` ...). */
  readonly nodes: number | readonly CmSimNodeSpec[];
  /** PRNG seed for loss and jitter. Default 1. */
  readonly seed?: number;
  /** Properties of every link unless set with `setLink`. */
  readonly link?: Partial<CmSimLink>;
  /** Passed to every machine. Default 5000. */
  readonly syncIntervalMs?: number;
  /** Passed to every machine. Default 2000. */
  readonly retryMs?: number;
  /** Passed to every machine. Default false. */
  readonly relay?: boolean;
  /** Passed to every machine. Default 8. */
  readonly maxHops?: number;
  /** Every node's machine gets a `tick` this often, ms. Default 1000. */
  readonly tickMs?: number;
  /** How long one durable write takes, ms. Default 5. */
  readonly persistMs?: number;
  /** Peers whose clocks differ by more than this are refused (405), ms. Default 10000. */
  readonly maxSkewMs?: number;
  /** The true wall time at virtual time 0, ms since the epoch. Default 2025-01-01T00:00:00Z. */
  readonly epochMs?: number;
}

/** One entry of {@link CmSimulation.trace}: an action a node carried out, or a simulator note. */
export interface CmSimTraceEntry {
  /** Virtual time, ms. */
  readonly at: number;
  /** The node (its name). */
  readonly node: string;
  /** The action, when it is one (recorded when carried out: a `persist` when durable). */
  readonly action?: ReplicaAction;
  /** A note: `crash`, `restart`, `peerUp <name>`, `peerDown <name>`, `clock refused <name>`, `acknowledged <id>`. */
  readonly note?: string;
}

/** A save acknowledged to its admin: durable on its node. */
export interface CmSimAck {
  /** The node it was saved on. */
  readonly node: string;
  /** The version. */
  readonly version: Version;
  /** When the acknowledgement was given (virtual ms). */
  readonly at: number;
}

/** A conflict a node reported ({@link CmSimulation.conflicts}). */
export interface CmSimConflict {
  /** The node that reported it. */
  readonly node: string;
  /** The scope of both versions. */
  readonly scope: Scope;
  /** Id of the version that stayed current. */
  readonly winner: string;
  /** Id of the version that lost (kept). */
  readonly loser: string;
}

/** Message counters. */
export interface CmSimStats {
  /** Messages handed to the network. */
  readonly sent: number;
  /** Messages delivered to a machine. */
  readonly delivered: number;
  /** Messages lost to link loss. */
  readonly lost: number;
  /** Messages blocked: no connection (partition, crash, clock refused) or the connection broke in flight. */
  readonly blocked: number;
}

type Task =
  | { readonly kind: 'persist'; readonly versions: readonly Version[]; readonly action: ReplicaAction }
  | {
      readonly kind: 'replace';
      readonly scope: Scope;
      readonly versions: readonly Version[];
      readonly action: ReplicaAction;
    }
  | { readonly kind: 'do'; readonly run: () => void };

interface SimNode {
  readonly name: string;
  readonly identity: NodeIdentity;
  readonly groups: readonly string[];
  skewMs: number;
  alive: boolean;
  incarnation: number;
  machine: ReplicaMachine | undefined;
  /** The durable store: what survives a crash. */
  readonly durable: Map<string, Version>;
  readonly tasks: Task[];
  busy: boolean;
}

const DEFAULT_LINK: CmSimLink = { lossRate: 0, delayMs: 5, jitterMs: 0 };

/**
 * A deterministic node UUID for simulated node `n` (1-based): `00000000-0000-4000-8000-00000000000n`
 * in hex, so UUIDs sort in node order.
 *
 * @param n - the node number, 1..2^48-1
 */
export function simNodeUuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** The two UUIDs of a link in the order it is stored under (lower first). */
function pair(a: string, b: string): [string, string] {
  return a < b ? [a, b] : [b, a];
}

/**
 * A deterministic simulation of a central-management cluster (up to 50 nodes) on a virtual clock.
 *
 * Every node runs a real {@link ReplicaMachine}; its actions are carried out in order through a
 * per-node write queue: a `persist` takes `persistMs` and the actions after it wait (so an `ack` or a
 * `broadcast` never precedes the write it promises). A crash drops the queue: what was not written is
 * lost, and nothing after it (no ack) happened. A restart builds a new machine from the durable store.
 * Two nodes are connected when both run, no partition separates them and their clocks pass
 * `checkPeerClock` (else `clock refused`: nothing of the peer is fed); connections coming and going
 * become `peerUp` / `peerDown`. Messages are delivered only on the connection they were sent on.
 *
 * @example
 * ```ts
 * const sim = new CmSimulation({ nodes: 3 });
 * sim.runFor(100);
 * sim.save('node-1');
 * sim.runFor(1000);
 * sim.converged(); // true: one storage timestamp, one version set
 * ```
 */
export class CmSimulation {
  readonly #queue = new EventQueue();
  readonly #nodes = new Map<string, SimNode>();
  readonly #byUuid = new Map<string, SimNode>();
  /** Links keyed by the pair of node UUIDs (symmetric: stored under the lower UUID first), and partitions by name. */
  readonly #links: SimLinks<CmSimLink>;
  readonly #random: () => number;
  readonly #o: Required<Omit<CmSimOptions, 'nodes' | 'link' | 'seed'>>;
  /** Connected pairs and the connection's epoch. */
  readonly #connected = new Map<string, number>();
  #epoch = 0;
  #now = 0;
  #saves = 0;
  readonly #stats = { sent: 0, delivered: 0, lost: 0, blocked: 0 };
  /** Every action carried out and every note, in order. */
  readonly trace: CmSimTraceEntry[] = [];
  /** Every save acknowledged to its admin (durable on its node), in order. */
  readonly acknowledged: CmSimAck[] = [];

  /**
   * @param options - nodes, seed, links, timers, clock limits
   * @throws Error for 0 or more than 50 nodes, a duplicate name or uuid; `CmError` `CM_UNREACHABLE_NODES`
   *   (the seed's "Invalid node path matrix / unreachable nodes", naming the pairs) for network groups in
   *   which some node cannot reach another
   */
  constructor(options: CmSimOptions) {
    const specs: CmSimNodeSpec[] =
      typeof options.nodes === 'number'
        ? Array.from({ length: options.nodes }, (_, i) => ({ name: `node-${i + 1}` }))
        : [...options.nodes];
    if (specs.length < 1 || specs.length > 50)
      throw new Error(`a simulation has 1..50 nodes (got ${specs.length})`);
    this.#random = createPrng(options.seed ?? 1);
    this.#links = new SimLinks<CmSimLink>({ ...DEFAULT_LINK, ...options.link });
    const layout = checkNodePathMatrix(
      specs.map((spec) => ({ name: spec.name, groups: spec.groups ?? [DEFAULT_NETWORK_GROUP] })),
    );
    if (!layout.ok) throw layout.error;
    this.#o = {
      syncIntervalMs: options.syncIntervalMs ?? 5000,
      retryMs: options.retryMs ?? 2000,
      relay: options.relay ?? false,
      maxHops: options.maxHops ?? 8,
      tickMs: options.tickMs ?? 1000,
      persistMs: options.persistMs ?? 5,
      maxSkewMs: options.maxSkewMs ?? 10_000,
      epochMs: options.epochMs ?? Date.UTC(2025, 0, 1),
    };
    specs.forEach((spec, i) => {
      const uuid = spec.uuid ?? simNodeUuid(i + 1);
      if (this.#nodes.has(spec.name)) throw new Error(`duplicate node name ${spec.name}`);
      if (this.#byUuid.has(uuid)) throw new Error(`duplicate node uuid ${uuid}`);
      const groups = [...(spec.groups ?? [DEFAULT_NETWORK_GROUP])];
      const node: SimNode = {
        name: spec.name,
        identity: { uuid, name: spec.name, priority: spec.priority ?? 100, version: '0.1.0', groups },
        groups,
        skewMs: spec.skewMs ?? 0,
        alive: false,
        incarnation: 0,
        machine: undefined,
        durable: new Map(),
        tasks: [],
        busy: false,
      };
      this.#nodes.set(spec.name, node);
      this.#byUuid.set(uuid, node);
    });
    for (const node of this.#nodes.values()) this.#start(node);
    this.#evaluate();
  }

  // ---- clock and queries --------------------------------------------------------------------------

  /** The virtual time, ms. */
  get now(): number {
    return this.#now;
  }

  /** Message counters so far. */
  get stats(): CmSimStats {
    return { ...this.#stats };
  }

  /** The node names, in order. */
  get names(): string[] {
    return [...this.#nodes.keys()];
  }

  /** The names of the running nodes. */
  aliveNames(): string[] {
    return [...this.#nodes.values()].filter((n) => n.alive).map((n) => n.name);
  }

  /** A node's identity. */
  identity(name: string): NodeIdentity {
    return this.#node(name).identity;
  }

  /** Whether a node runs. */
  isAlive(name: string): boolean {
    return this.#node(name).alive;
  }

  /** A running node's machine (read it; do not step it). @throws Error when the node is down */
  machine(name: string): ReplicaMachine {
    const m = this.#node(name).machine;
    if (m === undefined) throw new Error(`node ${name} is down`);
    return m;
  }

  /** A node's wall clock now (true time plus its skew), ms since the epoch. */
  wall(name: string): number {
    return this.#wall(this.#node(name));
  }

  /** A running node's Current Storage Timestamp (`undefined` for none or when it is down). */
  storageTimestamp(name: string): string | undefined {
    return this.#node(name).machine?.storageTimestamp;
  }

  /** The ids of every version a running node holds, sorted (`[]` when it is down). */
  versionIds(name: string): string[] {
    return this.#node(name).machine?.ids() ?? [];
  }

  /** The ids of every version durable on a node (kept through crashes), sorted. */
  durableIds(name: string): string[] {
    return [...this.#node(name).durable.keys()].sort();
  }

  /**
   * The path a node's messages take to another as the node sees it now (names; its machine's
   * `path`), or `undefined` when it knows none.
   */
  path(from: string, to: string): string[] | undefined {
    const m = this.machine(from);
    const uuids = m.path(this.#node(to).identity.uuid);
    return uuids?.map((u) => this.#byUuid.get(u)?.name ?? u);
  }

  /**
   * Bytes (JSON of the messages) sent so far from any node of `from` to any node of `to`: e.g. between two
   * sites over their WAN link.
   */
  bytesBetween(from: readonly string[], to: readonly string[]): number {
    let total = 0;
    for (const a of from)
      for (const b of to)
        total += this.#bytes.get(`${this.#node(a).identity.uuid}>${this.#node(b).identity.uuid}`) ?? 0;
    return total;
  }

  /** Messages of a type sent so far from any node of `from` to any node of `to` (e.g. `push` across sites). */
  messagesBetween(
    from: readonly string[],
    to: readonly string[],
    type: ReplicationMessage['type'],
  ): ReplicationMessage[] {
    const out: ReplicationMessage[] = [];
    const f = new Set(from.map((n) => this.#node(n).identity.uuid));
    const t = new Set(to.map((n) => this.#node(n).identity.uuid));
    for (const s of this.#sent)
      if (s.message.type === type && f.has(s.from) && t.has(s.to)) out.push(s.message);
    return out;
  }

  readonly #bytes = new Map<string, number>();
  readonly #sent: { from: string; to: string; message: ReplicationMessage }[] = [];

  /** Whether two running nodes are connected (they feed each other's messages). */
  connected(a: string, b: string): boolean {
    return this.#connected.has(pairKey(this.#node(a).identity.uuid, this.#node(b).identity.uuid));
  }

  /** The conflict actions carried out by a node (or all nodes), in order. */
  conflicts(name?: string): CmSimConflict[] {
    const out: CmSimConflict[] = [];
    for (const e of this.trace) {
      if (e.action?.type !== 'conflict' || (name !== undefined && e.node !== name)) continue;
      out.push({ node: e.node, scope: e.action.scope, winner: e.action.winner.id, loser: e.action.loser.id });
    }
    return out;
  }

  /**
   * Whether the given running nodes (default: every running node) hold the same version set and show the
   * same Current Storage Timestamp and the same current version of every scope.
   */
  converged(names: readonly string[] = this.aliveNames()): boolean {
    const nodes = names.map((n) => this.#node(n));
    if (nodes.some((n) => n.machine === undefined)) return false;
    const first = nodes[0]?.machine;
    if (first === undefined) return true;
    const key = (m: ReplicaMachine) =>
      JSON.stringify([m.storageTimestamp, m.ids(), m.scopes().map((s) => m.current(s)?.id)]);
    const k = key(first);
    return nodes.every((n) => key(n.machine as ReplicaMachine) === k);
  }

  // ---- scripting ----------------------------------------------------------------------------------

  /** Schedules a scripted step at virtual time `at` (not before now). */
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

  /**
   * Runs in steps of `stepMs` until {@link CmSimulation.converged} and no write is pending, or `maxMs`
   * passed. Returns whether it converged.
   */
  runUntilConverged(maxMs: number, stepMs = 500): boolean {
    const end = this.#now + maxMs;
    while (this.#now < end) {
      this.runFor(stepMs);
      if (this.converged() && [...this.#nodes.values()].every((n) => !n.busy && n.tasks.length === 0))
        return true;
    }
    return this.converged();
  }

  /**
   * An admin's "Save Changes" on a node, now. Returns the version made; it is acknowledged (listed in
   * {@link CmSimulation.acknowledged}) once durable, unless the node crashes first.
   *
   * @param name - the node
   * @param options - scope (default `policy`), documents (default one document naming the save), comment
   * @throws Error when the node is down
   */
  save(
    name: string,
    options: { scope?: Scope; documents?: readonly PolicyDocument[]; comment?: string } = {},
  ): Version {
    const node = this.#node(name);
    if (!node.alive || node.machine === undefined) throw new Error(`node ${name} is down`);
    this.#saves++;
    const documents = options.documents ?? [
      { name: 'policy.xml', content: `<policy save="${this.#saves}" node="${name}"/>` },
    ];
    const actions = node.machine.step({
      type: 'save',
      at: this.#wall(node),
      scope: options.scope ?? 'policy',
      documents,
      ...(options.comment === undefined ? {} : { comment: options.comment }),
    });
    const persist = actions.find((a) => a.type === 'persist');
    const version = (persist as { versions: readonly Version[] }).versions[0] as Version;
    this.#enqueue(node, actions);
    this.#push(node, {
      kind: 'do',
      run: () => {
        this.acknowledged.push({ node: name, version, at: this.#now });
        this.trace.push({ at: this.#now, node: name, note: `acknowledged ${version.id}` });
      },
    });
    return version;
  }

  /**
   * "Add node": `name`'s versions of `scope` are replaced by those `from` holds now (its policy is
   * overwritten by the policy of the node the admin is attached to).
   */
  adopt(name: string, from: string, scope: Scope = 'policy'): void {
    const node = this.#node(name);
    const source = this.machine(from);
    if (node.machine === undefined) throw new Error(`node ${name} is down`);
    this.#enqueue(
      node,
      node.machine.step({ type: 'adopt', at: this.#wall(node), scope, versions: source.versions(scope) }),
    );
  }

  /** Crashes a node now: its pending writes and the actions after them are lost. */
  crash(name: string): void {
    const node = this.#node(name);
    if (!node.alive) return;
    node.alive = false;
    node.incarnation++;
    node.machine = undefined;
    node.tasks.length = 0;
    node.busy = false;
    this.trace.push({ at: this.#now, node: name, note: 'crash' });
    this.#evaluate();
  }

  /** Restarts a crashed node from its durable store. */
  restart(name: string): void {
    const node = this.#node(name);
    if (node.alive) return;
    this.trace.push({ at: this.#now, node: name, note: 'restart' });
    this.#start(node);
    this.#evaluate();
  }

  /** Splits the nodes into groups that cannot talk to each other; unlisted nodes form one more group. */
  partition(groups: readonly (readonly string[])[]): void {
    for (const g of groups) for (const n of g) this.#node(n);
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
    this.#links.set(...pair(this.#node(a).identity.uuid, this.#node(b).identity.uuid), link);
    this.#evaluate();
  }

  /** Sets a node's clock offset from true time (ms); connections are checked again. */
  setSkew(name: string, skewMs: number): void {
    this.#node(name).skewMs = skewMs;
    this.#evaluate();
  }

  // ---- internals ----------------------------------------------------------------------------------

  #node(name: string): SimNode {
    const n = this.#nodes.get(name);
    if (n === undefined) throw new Error(`no node named ${name}`);
    return n;
  }

  #wall(node: SimNode): number {
    return this.#o.epochMs + this.#now + node.skewMs;
  }

  #link(a: SimNode, b: SimNode): CmSimLink {
    return this.#links.get(...pair(a.identity.uuid, b.identity.uuid));
  }

  #start(node: SimNode): void {
    node.alive = true;
    node.incarnation++;
    node.machine = new ReplicaMachine({
      self: node.identity,
      versions: [...node.durable.values()],
      syncIntervalMs: this.#o.syncIntervalMs,
      retryMs: this.#o.retryMs,
      relay: this.#o.relay,
      maxHops: this.#o.maxHops,
    });
    const life = node.incarnation;
    const tick = () => {
      if (node.incarnation !== life || node.machine === undefined) return;
      this.#enqueue(node, node.machine.step({ type: 'tick', at: this.#wall(node) }));
      this.#queue.push(this.#now + this.#o.tickMs, tick);
    };
    this.#queue.push(this.#now + this.#o.tickMs, tick);
  }

  /** Recomputes which pairs are connected; feeds peerDown / peerUp for the changes. */
  #evaluate(): void {
    const nodes = [...this.#nodes.values()];
    const downs: [SimNode, SimNode][] = [];
    const ups: [SimNode, SimNode][] = [];
    for (let i = 0; i < nodes.length; i++) {
      for (let j = i + 1; j < nodes.length; j++) {
        const a = nodes[i] as SimNode;
        const b = nodes[j] as SimNode;
        const key = pairKey(a.identity.uuid, b.identity.uuid);
        // nodes talk only within their network groups
        let want = a.alive && b.alive && a.groups.some((g) => b.groups.includes(g));
        if (want) want = this.#links.connected(a.name, b.name);
        if (want) {
          const delay = this.#link(a, b).delayMs;
          const check = checkPeerClock({
            sentAt: this.#wall(a),
            receivedAt: this.#wall(a) + 2 * delay,
            peerClock: this.#wall(b) + delay,
            maxSkewMs: this.#o.maxSkewMs,
          });
          if (check.verdict === 'too-high') {
            want = false;
            if (this.#connected.has(key) || !this.#refusedNoted.has(key)) {
              this.trace.push({ at: this.#now, node: a.name, note: `clock refused ${b.name}` });
              this.trace.push({ at: this.#now, node: b.name, note: `clock refused ${a.name}` });
            }
            this.#refusedNoted.add(key);
          } else this.#refusedNoted.delete(key);
        }
        const has = this.#connected.has(key);
        if (has && !want) {
          this.#connected.delete(key);
          downs.push([a, b]);
        } else if (!has && want) {
          this.#connected.set(key, ++this.#epoch);
          ups.push([a, b]);
        }
      }
    }
    for (const [a, b] of downs) {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        if (!x.alive || x.machine === undefined) continue;
        this.trace.push({ at: this.#now, node: x.name, note: `peerDown ${y.name}` });
        this.#enqueue(x, x.machine.step({ type: 'peerDown', at: this.#wall(x), peer: y.identity.uuid }));
      }
    }
    for (const [a, b] of ups) {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        if (x.machine === undefined) continue;
        this.trace.push({ at: this.#now, node: x.name, note: `peerUp ${y.name}` });
        this.#enqueue(x, x.machine.step({ type: 'peerUp', at: this.#wall(x), peer: y.identity }));
      }
    }
  }

  readonly #refusedNoted = new Set<string>();

  #enqueue(node: SimNode, actions: readonly ReplicaAction[]): void {
    for (const action of actions) {
      if (action.type === 'persist') this.#push(node, { kind: 'persist', versions: action.versions, action });
      else if (action.type === 'replaceScope')
        this.#push(node, { kind: 'replace', scope: action.scope, versions: action.versions, action });
      else this.#push(node, { kind: 'do', run: () => this.#carryOut(node, action) });
    }
  }

  #push(node: SimNode, task: Task): void {
    node.tasks.push(task);
    this.#drain(node);
  }

  /** Runs the node's queued tasks in order; a write holds the queue for persistMs. */
  #drain(node: SimNode): void {
    while (!node.busy && node.alive) {
      const task = node.tasks.shift();
      if (task === undefined) return;
      if (task.kind === 'do') {
        task.run();
        continue;
      }
      node.busy = true;
      const life = node.incarnation;
      this.#queue.push(this.#now + this.#o.persistMs, () => {
        if (node.incarnation !== life) return; // crashed mid-write: nothing of it is durable
        if (task.kind === 'persist') for (const v of task.versions) node.durable.set(v.id, v);
        else {
          for (const [id, v] of node.durable) if (v.scope === task.scope) node.durable.delete(id);
          for (const v of task.versions) node.durable.set(v.id, v);
        }
        this.trace.push({ at: this.#now, node: node.name, action: task.action });
        node.busy = false;
        this.#drain(node);
      });
    }
  }

  #carryOut(node: SimNode, action: ReplicaAction): void {
    switch (action.type) {
      case 'send':
        this.trace.push({ at: this.#now, node: node.name, action });
        this.#send(node, action.to, action.message);
        break;
      case 'broadcast':
        this.trace.push({ at: this.#now, node: node.name, action });
        for (const peer of this.#nodes.values()) {
          if (peer !== node && this.#connected.has(pairKey(node.identity.uuid, peer.identity.uuid)))
            this.#send(node, peer.identity.uuid, action.message);
        }
        break;
      default:
        this.trace.push({ at: this.#now, node: node.name, action });
    }
  }

  #send(from: SimNode, to: string, message: ReplicationMessage): void {
    this.#stats.sent++;
    const target = this.#byUuid.get(to);
    const epoch = this.#connected.get(pairKey(from.identity.uuid, to));
    if (target === undefined || epoch === undefined) {
      this.#stats.blocked++;
      return;
    }
    const key = `${from.identity.uuid}>${to}`;
    this.#bytes.set(key, (this.#bytes.get(key) ?? 0) + JSON.stringify(message).length);
    this.#sent.push({ from: from.identity.uuid, to, message });
    const link = this.#link(from, target);
    if (link.lossRate > 0 && this.#random() < link.lossRate) {
      this.#stats.lost++;
      return;
    }
    const delay = link.delayMs + (link.jitterMs > 0 ? this.#random() * link.jitterMs : 0);
    this.#queue.push(this.#now + delay, () => {
      if (this.#connected.get(pairKey(from.identity.uuid, to)) !== epoch || target.machine === undefined) {
        this.#stats.blocked++;
        return;
      }
      this.#stats.delivered++;
      this.#enqueue(
        target,
        target.machine.step({ type: 'received', at: this.#wall(target), from: from.identity.uuid, message }),
      );
    });
  }
}

/** The Current Storage Timestamp text of a version (for assertions and logs). */
export function storageTimestampOf(version: Version): string {
  return formatHlc(version.stamp);
}

// The driver of one node: binds the membership machine to a transport, a clock and the node's own
// health and load, sends announcements (director) and reports (every node), and turns the machine's
// actions into the operator's log lines. It keeps running on any bad input.
import { EventEmitter } from 'node:events';
import { type Clock, type Logger, noopLogger, systemClock, type TimerHandle } from '@proxyha/common';
import type {
  Announcement,
  LbMessage,
  LoadReport,
  Redirect,
  ReportedHealth,
  ResourceUse,
} from '../codec/types';
import { compareAddresses, formatLbAction, LbMachine } from '../machine/index';
import type { LbAction, LbRole, MemberSnapshot } from '../machine/types';
import type { BucketTable, SchedulerOptions } from '../scheduler/types';
import type { ResourceSample, ResourceSampler } from './resources';
import type { LbReceiveMeta, LbTransport } from './transport';
import type { MessageWire } from './wire';

/**
 * Largest announcement sent with its table: one unfragmented IPv4 packet on a 1500-byte link with room
 * for IP options and tunnels. A larger table is left out (scanners then build the first table from
 * reports after a takeover).
 */
const MAX_ANNOUNCEMENT_BYTES = 1400;

/** What a node is, for its messages and its share of the table. */
export interface LbNodeIdentity {
  /** Group id, 1..255. */
  readonly group: number;
  /** This node's id (UUID text, kept on disk by the daemon). */
  readonly nodeId: string;
  /** This node's name. */
  readonly name: string;
  /** This node's management address (never a VIP). */
  readonly managementIp: string;
  /** Software version reported to the director. */
  readonly softwareVersion: string;
}

/** Options of {@link LbNode}. */
export interface LbNodeOptions extends LbNodeIdentity {
  /** The redirects (announced by the director; their destination ports are this node's). */
  readonly redirects: readonly Redirect[];
  /** Announcement and report interval, ms. */
  readonly intervalMs: number;
  /** Silent intervals after which a node (or the director) counts as failed (default 3). */
  readonly failAfter?: number | undefined;
  /**
   * Becoming director, adopt the followed director's announced table when it is at most this many of
   * its intervals old (default 10; 0: never, build the first table from the reports).
   */
  readonly adoptTableWithin?: number | undefined;
  /** Static capacity weight, 0..65535. */
  readonly weight: number;
  /** Director priority for the split-brain rule, 0..255. */
  readonly priority: number;
  /** Scheduler options (table size, seed, persistence, bounded load). */
  readonly scheduler?: SchedulerOptions | undefined;
  /** The carrier of the messages. */
  readonly transport: LbTransport;
  /** Encoding, decoding and authentication of messages. */
  readonly wire: MessageWire;
  /** This node's health (all destination ports as a whole), read at every report. */
  readonly health: () => ReportedHealth;
  /** Resource use and connections per destination port, sampled at every report. */
  readonly resources: ResourceSampler;
  /** Role at start (default scanner); change it with {@link LbNode.setRole}. */
  readonly role?: LbRole | undefined;
  /** Clock and timers (default the system clock). */
  readonly clock?: Clock | undefined;
  /** Where the operator log goes (default none). */
  readonly logger?: Logger | undefined;
}

/** Counters of received messages, by what became of them. */
export interface LbReceiveCounters {
  /** Accepted and handed to the machine. */
  accepted: number;
  /** Of another group id: ignored. */
  otherGroup: number;
  /** Carrying this node's own id (our broadcasts coming back, or a spoof): ignored. */
  own: number;
  /** Rejected by the decoder or the authentication, by error code (`LB_BAD_CHECKSUM`, `LB_AUTH_REPLAY`, ...). */
  rejected: Record<string, number>;
  /** Sent announcements. */
  announcementsSent: number;
  /** Announcements sent without the table because it did not fit one packet. */
  tablesNotAnnounced: number;
  /** Sent reports (the local path included). */
  reportsSent: number;
  /** Sends that failed. */
  sendErrors: number;
}

/** One node in {@link LbStatus}. */
export interface LbStatusNode {
  /** Node id. */
  readonly id: string;
  /** Name. */
  readonly name: string;
  /** Management address. */
  readonly address: string;
  /** Software version. */
  readonly version: string;
  /** `ok` or `failure`. */
  readonly health: 'ok' | 'failure';
  /** Failing destination ports. */
  readonly failingPorts: readonly number[];
  /** Static capacity weight. */
  readonly weight: number;
  /** Effective weight the table was computed with (director only). */
  readonly effectiveWeight: number | undefined;
  /** Share of the table, 0..1 (director only; 0 on a scanner). */
  readonly share: number;
  /** Active connections (all destination ports). */
  readonly activeConnections: number;
  /** CPU, memory (0..1) and load per CPU. */
  readonly resources: ResourceUse;
  /** How old its last report is, ms. */
  readonly lastReportAgeMs: number;
  /** True for this node. */
  readonly self: boolean;
}

/** A node named in {@link LbStatus}. */
export interface LbNodeRef {
  /** Node id. */
  readonly id: string;
  /** Name. */
  readonly name: string;
  /** Management address. */
  readonly address: string;
}

/** A director named in {@link LbStatus.directors}. */
export interface LbDirectorRef extends LbNodeRef {
  /** Its announced priority (the split-brain rule). */
  readonly priority: number;
}

/** What `proxyha-lb -s` shows: the node's view of the group. */
export interface LbStatus {
  /** `director` or `scanner`. */
  readonly role: LbRole;
  /** Group id. */
  readonly group: number;
  /** This node. */
  readonly self: LbNodeRef;
  /** The director (this node on the director; the one followed on a scanner), if known. */
  readonly director: LbNodeRef | undefined;
  /** More than one entry: a split brain (every director heard). */
  readonly directors: readonly LbDirectorRef[];
  /** Director: every node (itself included). Scanner: itself. */
  readonly nodes: readonly LbStatusNode[];
  /** Table size and seed (director). */
  readonly table: Pick<BucketTable, 'size' | 'seed'> | undefined;
  /**
   * Scanner: the director's announced table it holds for a takeover (nodes and buckets); undefined when
   * none is held (no director, or one whose table does not fit its announcements).
   */
  readonly heldTable:
    | {
        /** Nodes the table refers to. */
        readonly nodes: number;
        /** Buckets. */
        readonly size: number;
      }
    | undefined;
  /** Receive and send counters. */
  readonly counters: LbReceiveCounters;
}

/** Events of {@link LbNode}. */
export interface LbNodeEvents {
  /** Every action of the machine, after it was logged. */
  action: [LbAction];
  /** The table in force changed (director): what a data plane installs. */
  table: [BucketTable, readonly number[]];
  /** The role changed. */
  role: [LbRole, LbRole];
}

/**
 * One node of a director group: a scanning node always, the director while {@link LbNode.setRole} says
 * so. Every interval it samples its health and load and reports them (to the director on the wire, or
 * to its own machine when it is the director), and as director it broadcasts the announcement.
 */
export class LbNode extends EventEmitter<LbNodeEvents> {
  readonly #o: LbNodeOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #machine: LbMachine;
  #timer: TimerHandle | undefined;
  #deadlineTimer: TimerHandle | undefined;
  #running = false;
  #sequence = 0;
  #lastSample: ResourceSample | undefined;
  #lastHealth: ReportedHealth = { status: 'failure', failingPorts: [] };
  #lastReportAt: number | undefined;
  #cycle: Promise<void> = Promise.resolve();
  /** An announcement is queued because the table changed (see {@link LbNode} `#announceSoon`). */
  #announceQueued = false;
  readonly #counters: LbReceiveCounters = {
    accepted: 0,
    otherGroup: 0,
    own: 0,
    rejected: {},
    announcementsSent: 0,
    tablesNotAnnounced: 0,
    reportsSent: 0,
    sendErrors: 0,
  };

  /** @param options - identity, settings, transport, wire, health and resource sources */
  constructor(options: LbNodeOptions) {
    super();
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger ?? noopLogger;
    this.#machine = new LbMachine({
      selfId: options.nodeId,
      group: options.group,
      ...(options.failAfter !== undefined
        ? { failAfterIntervals: options.failAfter, directorFailAfterIntervals: options.failAfter }
        : {}),
      ...(options.adoptTableWithin !== undefined ? { adoptTableWithin: options.adoptTableWithin } : {}),
      ...(options.scheduler ? { scheduler: options.scheduler } : {}),
      announce: {
        name: options.name,
        address: options.managementIp,
        priority: options.priority,
        intervalMs: options.intervalMs,
        redirects: options.redirects,
      },
    });
    if ((options.role ?? 'scanner') === 'director')
      this.#apply({ type: 'role', at: this.#clock.now(), role: 'director' });
  }

  /** The role in force. */
  get role(): LbRole {
    return this.#machine.role;
  }

  /** The table in force (director), else undefined. */
  get table(): BucketTable | undefined {
    return this.#machine.table;
  }

  /** Opens the transport and starts the interval: the first report (and announcement) go out at once. */
  async start(): Promise<void> {
    if (this.#running) return;
    await this.#o.transport.open((bytes, meta) => this.#receive(bytes, meta));
    this.#running = true;
    this.#log.info(
      `proxyha-lb group ${this.#o.group}: node ${this.#o.nodeId} (${this.#o.name}) on ${this.#o.managementIp}`,
    );
    if (this.role === 'director') this.#logRole('director', 'scanner');
    else this.#log.info('state=backup previous=init');
    this.#tick();
  }

  /** Stops sending and receiving. Idempotent. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    if (this.#deadlineTimer) this.#clock.clearTimeout(this.#deadlineTimer);
    this.#timer = this.#deadlineTimer = undefined;
    await this.#cycle.catch(() => {});
    await this.#o.transport.close();
  }

  /**
   * Makes this node the director or a scanner (from VIP ownership, or from the gateway's VRRP instance).
   * Becoming director announces at once.
   */
  setRole(role: LbRole): void {
    if (role === this.role) return;
    this.#apply({ type: 'role', at: this.#clock.now(), role });
    if (this.#running && role === 'director') void this.#announce();
  }

  /** The node's view of the group, for `proxyha-lb -s`. */
  status(): LbStatus {
    const snap = this.#machine.snapshot();
    const now = this.#clock.now();
    const weights = this.#machine.effectiveWeights();
    const member = (m: MemberSnapshot): LbStatusNode => ({
      id: m.id,
      name: m.name,
      address: m.address,
      version: m.softwareVersion,
      health: m.health.status,
      failingPorts: m.health.failingPorts,
      weight: m.weight,
      effectiveWeight: weights.get(m.id),
      share: snap.shares.get(m.id) ?? 0,
      activeConnections: m.activeConnections,
      resources: m.resources,
      lastReportAgeMs: Math.max(0, Math.round(now - m.lastReportAt)),
      self: m.self,
    });
    let nodes: LbStatusNode[];
    if (snap.role === 'director')
      nodes = snap.members.map(member).sort((x, y) => compareAddresses(x.address, y.address));
    else {
      const s = this.#lastSample;
      const active = s ? s.connections.reduce((a, c) => a + c.active, 0) : 0;
      nodes = s
        ? [
            {
              id: this.#o.nodeId,
              name: this.#o.name,
              address: this.#o.managementIp,
              version: this.#o.softwareVersion,
              health: this.#lastHealth.status,
              failingPorts: this.#lastHealth.failingPorts,
              weight: this.#o.weight,
              effectiveWeight: undefined,
              share: 0,
              activeConnections: active,
              resources: s.resources,
              lastReportAgeMs: this.#lastReportAt === undefined ? 0 : Math.round(now - this.#lastReportAt),
              self: true,
            },
          ]
        : [];
    }
    const d = snap.director;
    return {
      role: snap.role,
      group: this.#o.group,
      self: { id: this.#o.nodeId, name: this.#o.name, address: this.#o.managementIp },
      director: d ? { id: d.id, address: d.address, name: d.name } : undefined,
      directors: snap.directors.map((x) => ({
        id: x.id,
        address: x.address,
        name: x.name,
        priority: x.priority,
      })),
      nodes,
      table: snap.table ? { size: snap.table.size, seed: snap.table.seed } : undefined,
      heldTable: snap.announcedTable
        ? { nodes: snap.announcedTable.members.length, size: snap.announcedTable.size }
        : undefined,
      counters: { ...this.#counters, rejected: { ...this.#counters.rejected } },
    };
  }

  /**
   * Tells the director that its data plane could not connect a client to `nodeId`: the member gets no
   * new clients until its hold-off ends and it reports ok (the machine's `refused` event).
   */
  refused(nodeId: string, reason: string): void {
    this.#apply({ type: 'refused', at: this.#clock.now(), nodeId, reason });
  }

  /** The node id the director's table maps a client address to (director only). */
  lookup(clientAddress: string): string | undefined {
    return this.#machine.lookup(clientAddress);
  }

  // one interval: sample, report, announce, then schedule the next
  #tick(): void {
    if (!this.#running) return;
    this.#timer = this.#clock.setTimeout(() => this.#tick(), this.#o.intervalMs);
    this.#cycle = this.#cycle
      .then(() => this.#interval())
      .catch((e) => {
        this.#log.error(`interval failed: ${(e as Error).message}`);
      });
  }

  async #interval(): Promise<void> {
    const ports = [...new Set(this.#o.redirects.map((r) => r.destinationPort))];
    let sample: ResourceSample;
    try {
      sample = await this.#o.resources(ports);
    } catch (e) {
      this.#log.warn(`cannot sample resource use: ${(e as Error).message}`);
      sample = this.#lastSample ?? {
        resources: { cpu: 0, memory: 0, load: 0 },
        connections: ports.map((port) => ({ port, active: 0 })),
      };
    }
    if (!this.#running) return;
    this.#lastSample = sample;
    this.#lastHealth = this.#o.health();
    if (this.role === 'director') await this.#announce();
    await this.#report(sample);
    this.#apply({ type: 'tick', at: this.#clock.now() });
  }

  #header() {
    this.#sequence = (this.#sequence + 1) >>> 0;
    return {
      group: this.#o.group,
      nodeId: this.#o.nodeId,
      address: this.#o.managementIp,
      sequence: this.#sequence,
      timestamp: Math.floor(this.#clock.wallTime()),
      intervalMs: this.#o.intervalMs,
    };
  }

  async #announce(): Promise<void> {
    const msg: Announcement = {
      type: 'announcement',
      ...this.#header(),
      name: this.#o.name,
      priority: this.#o.priority,
      redirects: this.#o.redirects,
    };
    // the table goes along when it fits one unfragmented packet (a group of up to ~45 IPv4 nodes)
    const table = this.#machine.announcedTable();
    let withTable: Announcement | undefined;
    if (table !== undefined) {
      withTable = { ...msg, table };
      try {
        if (this.#o.wire.encode(withTable).length > MAX_ANNOUNCEMENT_BYTES) withTable = undefined;
      } catch {
        withTable = undefined;
      }
      if (withTable === undefined) this.#counters.tablesNotAnnounced++;
    }
    await this.#send(withTable ?? msg, undefined);
    this.#counters.announcementsSent++;
  }

  async #report(sample: ResourceSample): Promise<void> {
    const report: LoadReport = {
      type: 'report',
      ...this.#header(),
      name: this.#o.name,
      softwareVersion: this.#o.softwareVersion,
      health: this.#lastHealth,
      weight: this.#o.weight,
      resources: sample.resources,
      connections: sample.connections,
    };
    this.#lastReportAt = this.#clock.now();
    // the machine keeps the local report in either role: a director member, a scanner's latest, so that
    // on becoming director the node joins its own table at once (not one interval after the others)
    this.#apply({ type: 'localReport', at: this.#clock.now(), report });
    const snap = this.#machine.snapshot();
    if (snap.role === 'director') {
      this.#counters.reportsSent++;
      return;
    }
    if (!snap.director || snap.director.self) return;
    await this.#send(report, snap.director.address);
    this.#counters.reportsSent++;
  }

  async #send(msg: LbMessage, destination: string | undefined): Promise<void> {
    try {
      const bytes = this.#o.wire.encode(msg);
      if (destination === undefined) await this.#o.transport.broadcast(bytes);
      else await this.#o.transport.send(bytes, destination);
    } catch (e) {
      this.#counters.sendErrors++;
      this.#log.warn(
        `cannot send the ${msg.type} ${destination ? `to ${destination}` : ''}: ${(e as Error).message}`,
      );
    }
  }

  #reject(code: string): void {
    this.#counters.rejected[code] = (this.#counters.rejected[code] ?? 0) + 1;
  }

  #receive(bytes: Uint8Array, meta: LbReceiveMeta): void {
    if (!this.#running) return;
    const decoded = this.#o.wire.decode(bytes);
    if (!decoded.ok) {
      this.#reject(decoded.error.code);
      this.#log.debug(`ignored a message from ${meta.source}: ${decoded.error.message}`);
      return;
    }
    const msg = decoded.value;
    if (msg.group !== this.#o.group) {
      this.#counters.otherGroup++;
      return;
    }
    if (msg.nodeId === this.#o.nodeId) {
      this.#counters.own++;
      return;
    }
    const verified = this.#o.wire.verify(bytes, msg, this.#clock.wallTime());
    if (!verified.ok) {
      this.#reject(verified.error.code);
      this.#log.warn(
        `rejected a ${msg.type} from ${meta.source} (node ${msg.nodeId}): ${verified.error.code}: ${verified.error.message}`,
      );
      return;
    }
    this.#counters.accepted++;
    const at = this.#clock.now();
    if (msg.type === 'report') this.#apply({ type: 'report', at, report: msg, source: meta.source });
    else this.#apply({ type: 'announcement', at, announcement: msg, source: meta.source });
  }

  #apply(event: Parameters<LbMachine['step']>[0]): void {
    const actions = this.#machine.step(event);
    let tableChanged = false;
    for (const a of actions) {
      this.#logAction(a);
      this.emit('action', a);
      if (a.type === 'tableChanged') {
        tableChanged = true;
        this.emit('table', a.table, a.changedBuckets);
      }
      if (a.type === 'roleChanged') this.emit('role', a.role, a.previous);
    }
    if (tableChanged) this.#announceSoon();
    this.#scheduleDeadline();
  }

  /**
   * Director: announces a new table at once instead of at the next interval, so that the standbys hold
   * the table in force. A director that dies within an interval of a change (a node joined just before)
   * would otherwise leave its successor an older table, and the clients of the newest member would move
   * until that member's first report reaches the successor.
   */
  #announceSoon(): void {
    if (this.#announceQueued || !this.#running || this.role !== 'director') return;
    this.#announceQueued = true;
    this.#clock.setImmediate(() => {
      this.#announceQueued = false;
      if (!this.#running || this.role !== 'director') return;
      this.#cycle = this.#cycle
        .then(() => this.#announce())
        .catch((e) => this.#log.error(`announcement failed: ${(e as Error).message}`));
    });
  }

  #scheduleDeadline(): void {
    if (!this.#running) return;
    if (this.#deadlineTimer) this.#clock.clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    const at = this.#machine.nextDeadline();
    if (at === undefined) return;
    const delay = Math.max(0, at - this.#clock.now());
    this.#deadlineTimer = this.#clock.setTimeout(() => {
      this.#deadlineTimer = undefined;
      if (this.#running) this.#apply({ type: 'tick', at: this.#clock.now() });
    }, delay);
  }

  #logRole(role: LbRole, previous: LbRole): void {
    const state = (r: LbRole) => (r === 'director' ? 'master' : 'backup');
    this.#log.info(`set lbnetwork ${role === 'director' ? 1 : 0}`);
    this.#log.info(`state=${state(role)} previous=${state(previous)}`);
  }

  #logAction(a: LbAction): void {
    if (a.type === 'roleChanged') {
      // the seed's two lines instead of the machine's generic one
      if (this.#running) this.#logRole(a.role, a.previous);
      return;
    }
    const line = formatLbAction(a, this.#o.group);
    switch (a.type) {
      case 'nodeFailed':
        this.#log.warn(line, { node: a.node.id, nodeName: a.node.name, silentMs: Math.round(a.silentMs) });
        break;
      case 'nodeDrained':
      case 'directorLost':
        this.#log.warn(line);
        break;
      case 'splitBrain':
        this.#log.error(line);
        break;
      case 'directorTable':
        this.#log.debug(line);
        break;
      default:
        this.#log.info(line);
    }
  }
}

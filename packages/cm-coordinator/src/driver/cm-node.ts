// The driver of a central-management node: binds the replication machine and the admin lock to the store,
// the mutual-TLS transport, the policy directory and the control socket. It keeps running on any bad input
// from a peer (the transport closes that connection) and on failures to reach peers (retried).
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import {
  type Clock,
  type CommandRunner,
  type ConfigIssue,
  err,
  type Logger,
  noopLogger,
  ok,
  systemClock,
  type TimerHandle,
} from '@proxyha/common';
import { type BodyValidator, MessageRegistry, WIRE_ERROR_TEXTS } from '../codec/messages';
import { type CmConfig, type Endpoint, formatEndpoint } from '../config/config';
import { CmError } from '../errors';
import { issueNodeCertificate } from '../identity/certificates';
import { loadIdentity, type NodeTlsIdentity, writeIdentity } from '../identity/files';
import {
  type ClusterMember,
  checkNodePathMatrix,
  memberIssues,
  type NetworkGroupNode,
  sharesNetworkGroup,
} from '../machine/groups';
import { formatHlc, parseHlc } from '../machine/hlc';
import { AdminLock, type AdminLockAction, guiAttachError } from '../machine/lock';
import {
  type CmMessage,
  checkCmMessage,
  type LockMessage,
  type ReplicationMessage,
} from '../machine/messages';
import { ReplicaMachine } from '../machine/replica';
import { type CmRuntimeStatus, RUNTIME_MESSAGE_TYPES, type RuntimeMessage } from '../machine/runtime';
import type {
  NodeIdentity,
  PolicyDocument,
  ReplicaAction,
  ReplicaEvent,
  Scope,
  Version,
} from '../machine/types';
import { checkUpdateMessage, UPDATE_MESSAGE_TYPES, type UpdateMessage } from '../machine/updates';
import { checkVersion } from '../machine/version';
import { openStore } from '../store/sqlite-store';
import type { CmStore, PeerRecord } from '../store/types';
import { connectPeer, parsePeerAddress } from '../transport/client';
import type { PeerConnection, PeerHandshake } from '../transport/connection';
import { wireOf } from '../transport/log';
import { CmServer } from '../transport/server';
import { PolicyApplier } from './apply';
import { controlSocketPath, serveControl } from './control';
import { type CmRuntimeData, RuntimeDriver, runtimeMessageBody } from './runtime';
import { type CmUpdateStatus, UpdateAgent, type UpdateTimings } from './updates';

/** Injectable parts of {@link CmNode}. */
export interface CmNodeOptions {
  /** Operator log (default none). */
  readonly logger?: Logger | undefined;
  /** Clock (default the system clock). */
  readonly clock?: Clock | undefined;
  /** Software version in the hello and the status (default `0.0.0`). */
  readonly softwareVersion?: string | undefined;
  /** Runs the apply command (default `runCommand`). */
  readonly run?: CommandRunner | undefined;
  /** Serve the control socket (default true). */
  readonly controlSocket?: boolean | undefined;
  /** Timings of the update groups' machine (tests shorten them). */
  readonly updateTimings?: UpdateTimings | undefined;
}

/** A version as the status names it. */
export interface CmVersionRef {
  /** Version id. */
  readonly id: string;
  /** Name of the node it was saved on. */
  readonly origin: string;
  /** Its storage timestamp. */
  readonly storageTimestamp: string;
}

/** One node in {@link CmStatus}. */
export interface CmStatusNode {
  /** Node UUID (null for a configured peer that never answered: another CA, refused, clock off). */
  readonly uuid: string | null;
  /** Name. */
  readonly name: string;
  /** Address (`host:port`). */
  readonly address: string;
  /** Software version. */
  readonly version: string;
  /**
   * Its Current Storage Timestamp (as last heard). For a node behind transit nodes, from the facts passed on
   * in summaries (see `storageTimestampSource`); null while none has arrived (or from a node too old to send
   * them).
   */
  readonly storageTimestamp: string | null;
  /**
   * Where the `storageTimestamp` of a node behind transit nodes comes from: set for those nodes once a fact
   * about them arrived, absent for this node and its direct peers (heard from themselves).
   */
  readonly storageTimestampSource?: {
    /** The name of the peer this node learned it from (the transit node on the way). */
    readonly via: string;
    /** When the node itself reported it (ISO 8601, its clock): when its current policy became this one. */
    readonly reportedAt: string;
    /** How long ago this node learned it, ms. */
    readonly learnedAgoMs: number;
  };
  /** Connected now (this node: always). */
  readonly reachable: boolean;
  /** The last error talking to it. */
  readonly lastError: string | null;
  /**
   * The path this node's messages take to it through the network groups, node names from this node to it
   * (`['mwg1', 'tokyo-transit', 'ny-transit', 'mwg9']`; `['mwg1', 'mwg2']` for a peer of a shared group), or
   * null when there is none now (it, or every transit node on the way, is down or unknown). Always set by
   * {@link CmNode.status}.
   */
  readonly path?: readonly string[] | null;
}

/** What `proxyha-cm status` shows. */
export interface CmStatus {
  /** This node. */
  readonly self: {
    /** Its UUID. */
    readonly uuid: string;
    /** Its name. */
    readonly name: string;
  };
  /**
   * Every node this node talks to directly (the nodes of its network groups) is reachable and holds the same
   * policy versions as this node, and no node behind transit nodes reports another current policy than this
   * node's for longer than a grace period (links on its path x the sync interval + the retry time, from this
   * node's last change of its current policy or the fact's arrival): right after a save the far nodes count as
   * in sync while the save and their answer travel. A node that never reported (a node too old to send the
   * facts) does not count.
   */
  readonly inSync: boolean;
  /**
   * This node first, then every peer, then the nodes it knows only through the cluster membership (behind
   * transit nodes).
   */
  readonly nodes: readonly CmStatusNode[];
  /** Conflicts this node saw: both versions named; the loser is kept. */
  readonly conflicts: readonly {
    /** The scope of both versions. */
    readonly scope: Scope;
    /** The version that stayed current. */
    readonly winner: CmVersionRef;
    /** The version that lost (kept, restorable). */
    readonly loser: CmVersionRef;
  }[];
  /** Update groups: this node's groups and each update list it keeps (version, SHA-256, from where, when). */
  readonly updates?: CmUpdateStatus | undefined;
  /**
   * Runtime group: its members, entries, each directly connected member's last sync, and the "Shared data not
   * synchronized" alert naming the node (absent before start).
   */
  readonly runtime?: CmRuntimeStatus | undefined;
}

/**
 * Traffic counters of a {@link CmNode} since its start ({@link CmNode.stats}): what a cluster costs, e.g. per
 * node and minute when idle.
 */
export interface CmNodeStats {
  /** Messages handed to a peer connection (replication, admin lock, adopt; not the transport's pings). */
  readonly messagesSent: number;
  /** Messages received from attached peers (same kinds). */
  readonly messagesReceived: number;
  /** Bytes written on the peer connections in use (frames of every kind, TLS overhead excluded). */
  readonly bytesSent: number;
  /** Bytes read on the peer connections in use. */
  readonly bytesReceived: number;
}

/**
 * After versions received from a peer, the node's summary to its peers waits this long (ms): the push of the
 * origin to them is usually still on its way, and a summary arriving first would make them fetch the version
 * a second time (inventory, push).
 */
const ANNOUNCE_AFTER_RECEIVE_MS = 100;
/** Changed peer records are written together, this many ms after the first change. */
const PEER_FLUSH_MS = 5000;
/** A peer record whose only change is `lastSeen` is rewritten at most this often, ms. */
const PEER_SEEN_REFRESH_MS = 60_000;

/** The wire name of each message of the machines (wire names are lower case). */
const WIRE_TYPE: Readonly<Record<CmMessage['type'], string>> = {
  summary: 'summary',
  inventory: 'inventory',
  request: 'request',
  push: 'push',
  ack: 'ack',
  offer: 'offer',
  members: 'members',
  lease: 'lease',
  leaseRelease: 'lease-release',
};

/** The body validator of the machine's messages (their `type` travels inside the body too). */
const machineBody: BodyValidator<CmMessage> = (body) => {
  const r = checkCmMessage(body);
  if (r.ok) return ok(r.value);
  const issues = (r.error.details as { issues?: ConfigIssue[] }).issues;
  return err(issues ?? [{ path: '(root)', message: r.error.message }]);
};

/**
 * The body of an `adopt` message: every version of a scope ("add node" replaces the added node's policy), and
 * the cluster membership (the added node learns every node, its groups and addresses).
 */
interface AdoptBody {
  readonly scope: Scope;
  readonly versions: readonly Version[];
  readonly members?: readonly ClusterMember[];
}

/** The body validator of the update groups' messages. */
const updateBody: BodyValidator<UpdateMessage> = (body) => {
  const r = checkUpdateMessage(body);
  if (r.ok) return ok(r.value);
  const issues = (r.error.details as { issues?: ConfigIssue[] }).issues;
  return err(issues ?? [{ path: '(root)', message: r.error.message }]);
};

const adoptBody: BodyValidator<AdoptBody> = (body) => {
  const b = body as { scope?: unknown; versions?: unknown } | null;
  if (b === null || typeof b !== 'object' || b.scope !== 'policy' || !Array.isArray(b.versions))
    return err([{ path: '(root)', message: 'must be { scope: "policy", versions: [...] }' }]);
  const versions: Version[] = [];
  for (const [i, v] of b.versions.entries()) {
    const c = checkVersion(v);
    if (!c.ok) return err([{ path: `versions[${i}]`, message: c.error.message }]);
    versions.push(c.value);
  }
  const raw = (b as { members?: unknown }).members;
  if (raw === undefined) return ok({ scope: 'policy', versions });
  if (!Array.isArray(raw)) return err([{ path: 'members', message: 'must be an array' }]);
  const issues = raw.flatMap((m, i) => memberIssues(m, `members[${i}]`));
  if (issues.length > 0) return err(issues);
  return ok({ scope: 'policy', versions, members: raw as ClusterMember[] });
};

/** The key of the stored cluster membership (JSON) in the store's meta table. */
const MEMBERS_META = 'members';

/** Membership entries as path matrix nodes, by name (a name held by several nodes gets their uuids). */
function groupNodes(members: Iterable<ClusterMember>): NetworkGroupNode[] {
  const list = [...members];
  const count = new Map<string, number>();
  for (const m of list) count.set(m.name, (count.get(m.name) ?? 0) + 1);
  return list.map((m) => ({
    name: (count.get(m.name) ?? 0) > 1 ? `${m.name} (${m.uuid})` : m.name,
    groups: m.groups,
  }));
}

interface Peer {
  conn: PeerConnection | undefined;
  endpoint: Endpoint | undefined;
  identity: NodeIdentity | undefined;
  lastError: string | undefined;
  retry: TimerHandle | undefined;
  backoffMs: number;
  sendQueue: Promise<void>;
  /** It shares no network group with this node (refused at the handshake): not dialed again until it does. */
  noSharedGroup: boolean;
}

/**
 * One central-management node. {@link CmNode.start} opens the store, loads (or issues) its certificate,
 * listens for peers, connects to the configured ones and serves the control socket.
 */
export class CmNode {
  readonly #c: CmConfig;
  readonly #o: CmNodeOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  #store: CmStore | undefined;
  #machine: ReplicaMachine | undefined;
  #updates: UpdateAgent | undefined;
  readonly #runtime: RuntimeDriver;
  #lock: AdminLock | undefined;
  #server: CmServer | undefined;
  #identity: NodeTlsIdentity | undefined;
  #self: NodeIdentity | undefined;
  #applier: PolicyApplier | undefined;
  #nodeApplier: PolicyApplier | undefined;
  readonly #peers = new Map<string, Peer>();
  readonly #pending = new Set<Peer>();
  #tick: TimerHandle | undefined;
  #closeControl: (() => Promise<void>) | undefined;
  #running = false;
  #applyChain: Promise<void> = Promise.resolve();
  #lastApplyFailure: string | undefined;
  readonly #registry = new MessageRegistry();
  /** Counters; the bytes of connections already closed (open ones are added when read). */
  readonly #traffic = { messagesSent: 0, messagesReceived: 0, bytesSent: 0, bytesReceived: 0 };

  /**
   * @param config - a validated configuration (`loadCmConfig`)
   * @param options - injectable parts
   */
  constructor(config: CmConfig, options: CmNodeOptions = {}) {
    this.#c = config;
    this.#o = options;
    this.#log = options.logger ?? noopLogger;
    this.#clock = options.clock ?? systemClock;
    for (const t of Object.values(WIRE_TYPE)) this.#registry.register(t, machineBody);
    this.#registry.register('adopt', adoptBody);
    for (const t of UPDATE_MESSAGE_TYPES) this.#registry.register(t, updateBody);
    for (const t of RUNTIME_MESSAGE_TYPES) this.#registry.register(t, runtimeMessageBody);
    this.#runtime = new RuntimeDriver({
      group: config.groups.runtime,
      clock: this.#clock,
      logger: this.#log,
      send: (peer, message) => this.#sendRuntime(peer, message),
    });
  }

  /**
   * The runtime data this node shares with the members of its runtime group only (`groups.runtime`): quota
   * counters and key → value entries with an expiry (see "Runtime groups" in the README). Usable after start.
   */
  get runtime(): CmRuntimeData {
    return this.#runtime;
  }

  /** This node's identity (after start). */
  get self(): NodeIdentity {
    if (!this.#self) throw new CmError('CM_NOT_RUNNING', 'the node is not started');
    return this.#self;
  }

  /** Its Current Storage Timestamp. */
  get storageTimestamp(): string | undefined {
    return this.#machine?.storageTimestamp;
  }

  /** The port it listens on (after start). */
  get port(): number | undefined {
    return this.#listening?.port;
  }

  #listening: { host: string; port: number } | undefined;

  /** Starts the node. */
  async start(): Promise<void> {
    const c = this.#c;
    await mkdir(c.dataDir, { recursive: true, mode: 0o700 });
    const store = openStore(join(c.dataDir, 'cm-store.sqlite'));
    this.#store = store;
    let uuid = store.getMeta('uuid');
    if (!uuid) {
      uuid = randomUUID();
      store.setMeta('uuid', uuid);
    }
    this.#self = {
      uuid,
      name: c.name,
      priority: c.priority,
      version: this.#o.softwareVersion ?? '0.0.0',
      groups: [...c.groups.network],
    };
    // the layout this node knows, with its own groups as configured now: refused when some node could not
    // reach another (the seed's "Invalid node path matrix / unreachable nodes")
    const members = this.#storedMembers(store).filter((m) => m.uuid !== uuid);
    const layout = checkNodePathMatrix(
      groupNodes([...members, { uuid, name: c.name, groups: c.groups.network, addresses: [], seq: 0 }]),
    );
    if (!layout.ok) {
      store.close();
      this.#store = undefined;
      this.#log.error(`[Coordinator] ${layout.error.message}`);
      throw layout.error;
    }
    this.#identity = await this.#loadIdentity(uuid);
    this.#lock = new AdminLock({
      self: { uuid, name: c.name, priority: c.priority, address: formatEndpoint(c.listen) },
      ttlMs: c.adminLockTtlMs,
    });
    this.#applier = new PolicyApplier({
      policyDir: c.policyDir,
      applyCommand: c.applyCommand,
      run: this.#o.run,
      logger: this.#log,
    });
    this.#nodeApplier = new PolicyApplier({ policyDir: join(c.dataDir, 'node-config'), logger: this.#log });
    const server = new CmServer({
      identity: this.#identity,
      node: this.#self,
      addresses: c.addresses,
      host: c.listen.host,
      port: c.listen.port,
      registry: this.#registry,
      maxClockSkewMs: c.maxClockSkewMs,
      clock: this.#clock,
      logger: this.#log,
      acceptPeer: (p) => this.#acceptPeer(p),
      onPeer: (conn) => this.#attach(conn, undefined),
    });
    this.#listening = await server.listen();
    this.#server = server;
    const hlcText = store.getMeta('hlc');
    const hlc = hlcText ? parseHlc(hlcText) : undefined;
    this.#machine = new ReplicaMachine({
      self: this.#self,
      versions: store.versions(),
      ...(hlc?.ok ? { hlc: hlc.value } : {}),
      reportedConflicts: store.conflicts().map((x) => ({ winner: x.winner, loser: x.loser })),
      // whole versions are pushed to the nodes of the saving node's groups only; transit nodes offer them (ids)
      // to their other groups, whose nodes fetch each version once. After every change the node also sends its
      // summary to every peer (#announceSummary): a peer that lacks the new version fetches it from there
      relay: false,
      addresses: this.#ownAddresses(),
      members,
    });
    this.#storeMembers(this.#machine.members());
    this.#updates = new UpdateAgent({
      dataDir: c.dataDir,
      self: { uuid, name: c.name },
      groups: c.groups.update,
      config: c.updates,
      send: (peer, message) => this.#sendUpdate(peer, message),
      logger: this.#log,
      clock: this.#clock,
      run: this.#o.run,
      timings: this.#o.updateTimings,
    });
    await this.#updates.start();
    this.#runtime.start({ uuid, name: c.name }, randomUUID().slice(0, 8));
    this.#running = true;
    this.#log.info(
      `[Coordinator] node ${uuid} (${c.name}) listening on ${formatEndpoint({ host: c.listen.host, port: this.#listening.port })}, Current Storage Timestamp ${this.storageTimestamp ?? '-'}`,
    );
    // the policy in place matches the store (a crash between a write and its apply is caught up here)
    const current = this.#machine.current('policy');
    if (current) this.#applyVersion('policy', current);
    const own = this.#machine.current(`node:${uuid}`);
    if (own) this.#applyVersion(`node:${uuid}`, own);
    // peers: from the configuration and from what the store remembers
    const endpoints = new Map<string, Endpoint>();
    for (const e of c.peers) endpoints.set(formatEndpoint(e), e);
    const known = new Map(members.map((m) => [m.uuid, m]));
    for (const p of store.peers()) {
      const m = known.get(p.node.uuid);
      if (m !== undefined && !sharesNetworkGroup(m.groups, c.groups.network)) continue; // behind a transit node
      try {
        const e = parsePeerAddress(p.address);
        endpoints.set(formatEndpoint(e), e);
      } catch {
        /* a peer without a known address: it connects to us */
      }
    }
    for (const e of endpoints.values()) this.#dial(this.#newPeer(e));
    this.#dialMembers(this.#machine.members());
    this.#scheduleTick();
    if (this.#o.controlSocket ?? true)
      this.#closeControl = await serveControl(controlSocketPath(c.dataDir), (r) =>
        this.#control(r.command, r.args ?? {}),
      );
  }

  /** Stops the node: control socket, timers, connections, listener, store. Idempotent. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#runtime.stop();
    await this.#closeControl?.();
    if (this.#tick) this.#clock.clearTimeout(this.#tick);
    for (const p of [...this.#peers.values(), ...this.#pending]) {
      if (p.retry) this.#clock.clearTimeout(p.retry);
      p.conn?.close();
    }
    await this.#server?.close();
    await this.#updates?.stop();
    await this.#applyChain;
    this.#flushPeers();
    this.#store?.close();
  }

  /**
   * Saves a new version of the policy (or of this node's own configuration): durable here when it
   * returns, then pushed to every reachable node.
   *
   * @param documents - the full set of documents
   * @param options - scope (`policy` default, or `node` for this node's configuration) and comment
   */
  save(
    documents: readonly PolicyDocument[],
    options: { scope?: 'policy' | 'node'; comment?: string | undefined } = {},
  ): {
    /** Id of the saved version. */
    version: string;
    /** This node's Current Storage Timestamp after the save. */
    storageTimestamp: string;
  } {
    const scope: Scope = options.scope === 'node' ? `node:${this.self.uuid}` : 'policy';
    const actions = this.#step({
      type: 'save',
      at: this.#wall(),
      scope,
      documents,
      comment: options.comment,
    });
    const persisted = actions.find((a) => a.type === 'persist');
    const version = persisted?.type === 'persist' ? persisted.versions[0] : undefined;
    if (!version) throw new CmError('CM_STORE', 'the save produced no version');
    return { version: version.id, storageTimestamp: this.storageTimestamp ?? '' };
  }

  /** Traffic counters since start: messages and bytes sent to and received from peers. */
  stats(): CmNodeStats {
    const t = this.#traffic;
    let bytesSent = t.bytesSent;
    let bytesReceived = t.bytesReceived;
    for (const p of this.#peers.values())
      if (p.conn) {
        bytesSent += p.conn.bytesSent;
        bytesReceived += p.conn.bytesReceived;
      }
    return { messagesSent: t.messagesSent, messagesReceived: t.messagesReceived, bytesSent, bytesReceived };
  }

  /** The current version of a scope (default the policy). */
  current(scope: Scope = 'policy'): Version | undefined {
    return this.#machine?.current(scope);
  }

  /**
   * Adds the node at `address` to this cluster: its policy is replaced by this node's.
   *
   * @throws {@link CmError} `CM_NO_LISTENER` (this node is not listening), `CM_CANNOT_CONNECT` (301:
   *   refused, unreachable, certificate verification), `CM_TIME_DIFFERENCE_TOO_HIGH` (405),
   *   `CM_INCOMPATIBLE_VERSION`
   */
  async addNode(address: Endpoint): Promise<NodeIdentity> {
    if (!this.#running || !this.#server)
      throw new CmError('CM_NO_LISTENER', 'the local node has no running listener');
    const peer = this.#newPeer(address);
    const machine = this.#machine as ReplicaMachine;
    const conn = await connectPeer(address, {
      identity: this.#identity as NodeTlsIdentity,
      node: this.self,
      addresses: this.#c.addresses,
      registry: this.#registry,
      maxClockSkewMs: this.#c.maxClockSkewMs,
      messageName: 'co_distribute_add_cluster_node',
      clock: this.#clock,
      logger: this.#log,
      purpose: 'add',
      // the cluster with the added node (its groups from its hello) must have a path between every two nodes
      acceptPeer: (p) => {
        const refused = this.#acceptPeer({ ...p, purpose: 'add' });
        if (refused) return refused;
        const added: ClusterMember = {
          uuid: p.node.uuid,
          name: p.node.name,
          groups: p.node.groups ?? ['default'],
          addresses: [],
          seq: 0,
        };
        const layout = checkNodePathMatrix(
          groupNodes([...machine.members().filter((m) => m.uuid !== added.uuid), added]),
        );
        return layout.ok ? undefined : layout.error;
      },
      ...this.#localAddress(),
    });
    const versions = machine.versions('policy');
    await conn.send({ type: 'adopt', body: { scope: 'policy', versions, members: machine.members() } });
    // the cluster learns it now (groups from its hello, the address it was reached at); its own entry follows
    this.#step({
      type: 'member',
      at: this.#wall(),
      member: {
        uuid: conn.peer.node.uuid,
        name: conn.peer.node.name,
        groups: conn.peer.node.groups ?? ['default'],
        addresses: [formatEndpoint(parsePeerAddress(address))],
        seq: 0,
      },
    });
    this.#log.info(`[Coordinator] node ${conn.peer.node.uuid} (${conn.peer.node.name}) added to the cluster`);
    if (sharesNetworkGroup(conn.peer.node.groups ?? ['default'], this.#c.groups.network))
      this.#attach(conn, peer);
    else {
      // not a peer of this node: it learned the cluster from the adopt and dials the nodes of its own groups
      this.#log.info(
        `[Coordinator] node ${conn.peer.node.name} shares no network group with this node: it is reached through transit nodes`,
      );
      await conn.close();
    }
    return conn.peer.node;
  }

  /**
   * Attaches an admin session (the cluster's admin lock).
   *
   * @throws {@link CmError} `CM_GUI_ATTACH` (`STATUS_ERROR_GUI_ATTACH`) naming the node that holds it
   */
  attachAdmin(session: string): void {
    for (const a of this.#lockStep({ type: 'acquire', at: this.#wall(), session }))
      if (a.type === 'refused') throw guiAttachError(this.self, a.holder);
  }

  /** Detaches an admin session. */
  detachAdmin(session: string): void {
    this.#lockStep({ type: 'release', at: this.#wall(), session });
  }

  /** The cluster as this node sees it. */
  status(): CmStatus {
    const machine = this.#machine as ReplicaMachine;
    const snap = machine.snapshot();
    const store = this.#store as CmStore;
    const self = this.self;
    const records = new Map(store.peers().map((p) => [p.node.uuid, p]));
    const nodes: CmStatusNode[] = [
      {
        uuid: self.uuid,
        name: self.name,
        address: formatEndpoint({
          host: this.#c.listen.host,
          port: this.#listening?.port ?? this.#c.listen.port,
        }),
        version: self.version,
        storageTimestamp: snap.storageTimestamp ?? null,
        reachable: true,
        lastError: this.#lastApplyFailure ?? null,
        path: [self.name],
      },
    ];
    const members = new Map(snap.members.map((m) => [m.uuid, m]));
    const nameOf = (uuid: string) =>
      members.get(uuid)?.name ??
      this.#peers.get(uuid)?.identity?.name ??
      records.get(uuid)?.node.name ??
      uuid;
    const pathTo = (uuid: string) => machine.path(uuid)?.map(nameOf) ?? null;
    const now = this.#wall();
    const facts = new Map(machine.storageFacts(now).map((f) => [f.uuid, f]));
    let inSync = true;
    for (const [uuid, peer] of this.#peers) {
      const sync = snap.peers.find((p) => p.node.uuid === uuid);
      const rec = records.get(uuid);
      const reachable = peer.conn?.state === 'open';
      const ts = sync?.storageTimestamp ?? rec?.storageTimestamp ?? null;
      if (!reachable || !sync?.inSync || ts !== (snap.storageTimestamp ?? null)) inSync = false;
      nodes.push({
        uuid,
        name: peer.identity?.name ?? rec?.node.name ?? '?',
        address: peer.endpoint ? formatEndpoint(peer.endpoint) : (rec?.address ?? '?'),
        version: peer.identity?.version ?? rec?.node.version ?? '?',
        storageTimestamp: ts,
        reachable,
        lastError: peer.lastError ?? rec?.lastError ?? null,
        path: reachable ? pathTo(uuid) : null,
      });
    }
    // the nodes behind transit nodes: known from the cluster membership
    for (const m of snap.members) {
      if (m.uuid === self.uuid || this.#peers.has(m.uuid)) continue;
      const path = pathTo(m.uuid);
      // a configured peer of this address refused for want of a shared group: its error is shown here
      const dialed = [...this.#pending].find(
        (p) => p.endpoint && m.addresses.includes(formatEndpoint(p.endpoint)),
      );
      const fact = facts.get(m.uuid);
      if (fact?.behind) inSync = false;
      nodes.push({
        uuid: m.uuid,
        name: m.name,
        address: m.addresses[0] ?? '?',
        version: records.get(m.uuid)?.node.version ?? '?',
        storageTimestamp: fact?.storageTimestamp ?? null,
        ...(fact === undefined
          ? {}
          : {
              storageTimestampSource: {
                via: nameOf(fact.via),
                reportedAt: new Date(fact.reportedAt).toISOString(),
                learnedAgoMs: Math.max(0, now - fact.learnedAt),
              },
            }),
        reachable: path !== null,
        lastError: dialed?.lastError ?? null,
        path,
      });
    }
    // configured peers never reached (refused, another CA, clock too far off): by address, with the error
    const known = new Set([...this.#peers.values()]);
    for (const peer of this.#pending) {
      if (known.has(peer) || !peer.endpoint) continue;
      const address = formatEndpoint(peer.endpoint);
      if (nodes.some((n) => n.address === address)) continue;
      // a configured peer outside this node's groups is reached through transit nodes: not a failure
      if (!peer.noSharedGroup) inSync = false;
      nodes.push({
        uuid: peer.identity?.uuid ?? null,
        name: peer.identity?.name ?? address,
        address,
        version: peer.identity?.version ?? '?',
        storageTimestamp: null,
        reachable: false,
        lastError: peer.lastError ?? null,
        path: null,
      });
    }
    // a node that reaches none of the nodes it knows is not in sync, whatever the reason
    if (nodes.length > 1 && !nodes.slice(1).some((n) => n.reachable)) inSync = false;
    const ref = (id: string): CmVersionRef => {
      const v = machine.version(id) ?? store.getVersion(id);
      return {
        id,
        origin: v?.origin.name ?? '?',
        storageTimestamp: v ? formatStamp(v) : '?',
      };
    };
    const conflicts = store
      .conflicts()
      .map((x) => ({ scope: x.scope, winner: ref(x.winner), loser: ref(x.loser) }));
    return {
      self: { uuid: self.uuid, name: self.name },
      inSync,
      nodes,
      conflicts,
      updates: this.#updates?.status(),
      runtime: this.#runtime.statusIfRunning(),
    };
  }

  // ---- control socket --------------------------------------------------------------------------

  async #control(command: string, args: Readonly<Record<string, unknown>>): Promise<unknown> {
    switch (command) {
      case 'status':
        return this.status();
      case 'save': {
        const documents = args.documents as PolicyDocument[];
        if (!Array.isArray(documents))
          throw new CmError('CM_INVALID_ARGUMENT', 'save: documents must be an array');
        return this.save(documents, {
          scope: args.scope === 'node' ? 'node' : 'policy',
          comment: typeof args.comment === 'string' ? args.comment : undefined,
        });
      }
      case 'show': {
        const v = this.current('policy');
        return {
          version: v?.id ?? null,
          storageTimestamp: this.storageTimestamp ?? null,
          documents: v?.documents ?? [],
        };
      }
      case 'add-node': {
        const node = await this.addNode(parsePeerAddress(String(args.address ?? '')));
        return { uuid: node.uuid, name: node.name };
      }
      case 'attach':
        this.attachAdmin(String(args.session ?? 'cli'));
        return { attached: true };
      case 'detach':
        this.detachAdmin(String(args.session ?? 'cli'));
        return { detached: true };
      default:
        throw new CmError('CM_INVALID_ARGUMENT', `unknown command ${command}`);
    }
  }

  // ---- peers -----------------------------------------------------------------------------------

  #acceptPeer(p: PeerHandshake): CmError | undefined {
    const node = p.node;
    const major = (v: string) => v.split('.')[0];
    if (major(node.version) !== major(this.self.version))
      return new CmError(
        'CM_INCOMPATIBLE_VERSION',
        `node ${node.uuid} (${node.name}) runs version ${node.version}, this node ${this.self.version}: not merged`,
        { details: { peer: node.uuid, version: node.version } },
      );
    // nodes talk directly only within a network group ("add node" excepted: its adopt comes first)
    const theirs = node.groups ?? ['default'];
    const ours = this.#c.groups.network;
    if (p.purpose !== 'add' && !sharesNetworkGroup(theirs, ours))
      return new CmError(
        'CM_NO_SHARED_NETWORK_GROUP',
        `node ${node.uuid} (${node.name}) is in network groups ${theirs.join(', ')}, this node (${this.self.name}) in ${ours.join(', ')}: no shared network group, so they do not connect (transit nodes carry their messages)`,
        { details: { peer: node.uuid, peerGroups: theirs, groups: ours } },
      );
    return undefined;
  }

  /** The stored cluster membership (entries that fail validation are dropped). */
  #storedMembers(store: CmStore): ClusterMember[] {
    const text = store.getMeta(MEMBERS_META);
    if (!text) return [];
    try {
      const list = JSON.parse(text) as unknown;
      if (!Array.isArray(list)) return [];
      return list.filter((m) => memberIssues(m, 'member').length === 0) as ClusterMember[];
    } catch {
      this.#log.warn(
        '[Coordinator] the stored cluster membership is not readable: learning it again from the peers',
      );
      return [];
    }
  }

  #storeMembers(members: readonly ClusterMember[]): void {
    try {
      this.#store?.setMeta(MEMBERS_META, JSON.stringify(members));
    } catch (e) {
      this.#log.warn(`[Coordinator] cannot remember the cluster membership: ${(e as Error).message}`);
    }
  }

  /** Where the nodes of this node's groups dial it (`host:port`): the listen address, else its addresses. */
  #ownAddresses(): string[] {
    const port = this.#listening?.port ?? this.#c.listen.port;
    const host = this.#c.listen.host;
    const hosts = host === '0.0.0.0' || host === '::' ? this.#c.addresses : [host];
    return [...new Set(hosts.map((h) => formatEndpoint({ host: h, port })))];
  }

  /**
   * Dials the members of this node's groups that it is not connected to (nor dialing); closes connections to
   * peers that left every group of this node.
   */
  #dialMembers(members: readonly ClusterMember[]): void {
    if (!this.#running) return;
    const ours = this.#c.groups.network;
    const pendingAt = new Map(
      [...this.#pending].map((p) => [p.endpoint ? formatEndpoint(p.endpoint) : '', p]),
    );
    const dialing = new Set<string>();
    for (const m of members) {
      if (m.uuid === this.self.uuid) continue;
      const peer = this.#peers.get(m.uuid);
      if (!sharesNetworkGroup(m.groups, ours)) {
        if (peer?.conn?.state === 'open') {
          peer.noSharedGroup = true;
          peer.conn.close(
            new CmError(
              'CM_NO_SHARED_NETWORK_GROUP',
              `node ${m.uuid} (${m.name}) left this node's network groups`,
              {
                details: { peer: m.uuid, peerGroups: m.groups, groups: ours },
              },
            ),
          );
        }
        continue;
      }
      if (peer?.conn?.state === 'open' || (peer && (peer.retry || this.#pending.has(peer)))) continue;
      let endpoint: Endpoint | undefined;
      try {
        endpoint = m.addresses[0] ? parsePeerAddress(m.addresses[0]) : peer?.endpoint;
      } catch {
        endpoint = peer?.endpoint;
      }
      if (!endpoint || dialing.has(formatEndpoint(endpoint))) continue;
      const waiting = pendingAt.get(formatEndpoint(endpoint));
      // being dialed already, or refused earlier for want of a shared group (it has one now: dialed again)
      if (waiting && !waiting.noSharedGroup) continue;
      const target = peer ?? waiting ?? this.#newPeer(endpoint);
      target.endpoint ??= endpoint;
      target.noSharedGroup = false;
      dialing.add(formatEndpoint(endpoint));
      this.#dial(target);
    }
  }

  #newPeer(endpoint: Endpoint | undefined): Peer {
    return {
      conn: undefined,
      endpoint,
      identity: undefined,
      lastError: undefined,
      retry: undefined,
      backoffMs: 1000,
      sendQueue: Promise.resolve(),
      noSharedGroup: false,
    };
  }

  /** Connects to a configured peer, retrying with a backoff while the node runs. */
  #dial(peer: Peer): void {
    if (!this.#running || !peer.endpoint) return;
    this.#pending.add(peer);
    connectPeer(peer.endpoint, {
      identity: this.#identity as NodeTlsIdentity,
      node: this.self,
      addresses: this.#c.addresses,
      registry: this.#registry,
      maxClockSkewMs: this.#c.maxClockSkewMs,
      clock: this.#clock,
      logger: this.#log,
      acceptPeer: (p) => this.#acceptPeer(p),
      ...this.#localAddress(),
      ...(peer.identity ? { expectedUuid: peer.identity.uuid, expectedName: peer.identity.name } : {}),
    }).then(
      (conn) => {
        this.#pending.delete(peer);
        peer.backoffMs = 1000;
        this.#attach(conn, peer);
      },
      (e: CmError) => {
        peer.lastError = describePeerError(e);
        if (peer.identity) this.#recordPeer(peer);
        // outside every group of this node: not dialed again until the membership says it shares one
        if (e?.code === 'CM_NO_SHARED_NETWORK_GROUP') peer.noSharedGroup = true;
        else this.#retry(peer);
      },
    );
  }

  /**
   * Calls to peers leave from the listen address when it is one (not the wildcard): the cluster's address
   * of this node, so that the peer's logs name it and its firewall sees it, whatever the routing prefers.
   */
  #localAddress(): { localAddress?: string } {
    const host = this.#c.listen.host;
    return isIP(host) !== 0 && host !== '0.0.0.0' && host !== '::' ? { localAddress: host } : {};
  }

  #retry(peer: Peer): void {
    if (!this.#running || !peer.endpoint) return;
    if (peer.retry) this.#clock.clearTimeout(peer.retry);
    peer.retry = this.#clock.setTimeout(() => {
      peer.retry = undefined;
      this.#dial(peer);
    }, peer.backoffMs);
    peer.backoffMs = Math.min(peer.backoffMs * 2, 30_000);
  }

  /** A connection completed its hello: one per peer (the one opened by the lower uuid wins a race). */
  #attach(conn: PeerConnection, dialed: Peer | undefined): void {
    if (!this.#running) {
      conn.close();
      return;
    }
    const node = conn.peer.node;
    if (node.uuid === this.self.uuid) {
      conn.close();
      return;
    }
    if (!sharesNetworkGroup(node.groups ?? ['default'], this.#c.groups.network)) {
      // "add node" from a node of other groups: only its adopt is taken, then it closes the connection
      conn.onMessage((m) => {
        if (m.type === 'adopt') this.#onMessage(this.#newPeer(undefined), node, m.type, m.body);
      });
      return;
    }
    const existing = this.#peers.get(node.uuid);
    const peer = existing ?? dialed ?? this.#newPeer(undefined);
    if (dialed && existing && dialed !== existing) {
      existing.endpoint ??= dialed.endpoint;
      this.#pending.delete(dialed);
    }
    if (peer.conn?.state === 'open') {
      const clientOf = (c: PeerConnection) => (c.role === 'client' ? this.self.uuid : c.peer.node.uuid);
      const keepNew = clientOf(conn) < clientOf(peer.conn);
      const drop = keepNew ? peer.conn : conn;
      if (!keepNew) {
        conn.close();
        return;
      }
      peer.conn = undefined;
      this.#traffic.bytesSent += drop.bytesSent;
      this.#traffic.bytesReceived += drop.bytesReceived;
      drop.close();
    }
    peer.conn = conn;
    peer.identity = node;
    peer.lastError = undefined;
    if (!peer.endpoint && conn.peer.addresses[0])
      peer.endpoint = { host: conn.peer.addresses[0], port: this.#c.listen.port };
    this.#peers.set(node.uuid, peer);
    this.#recordPeer(peer);
    conn.onMessage((m) => {
      if (peer.conn !== conn) return;
      this.#traffic.messagesReceived++;
      // every message carries the sender's clock: nothing is applied from a peer that drifted too far since
      // the handshake (one second allowed for the message's own transit and queueing)
      if (Math.abs(m.clock - this.#wall()) > this.#c.maxClockSkewMs + 1000) {
        const e = new CmError(
          'CM_TIME_DIFFERENCE_TOO_HIGH',
          `(405 - 'time difference too high') node ${node.uuid} (${node.name}): its clock is ${((m.clock - this.#wall()) / 1000).toFixed(1)} s off`,
          { details: { peer: node.uuid } },
        );
        this.#log.error(
          `[Coordinator] [NodeRequestFailed] Message '<${m.type}>' on node ${node.uuid} (${node.name}) failed with error '${e.message}'`,
        );
        conn.close(e);
        return;
      }
      this.#onMessage(peer, node, m.type, m.body);
    });
    conn.onClose((e) => {
      if (peer.conn !== conn) return;
      peer.conn = undefined;
      this.#traffic.bytesSent += conn.bytesSent;
      this.#traffic.bytesReceived += conn.bytesReceived;
      if (e) peer.lastError = describePeerError(e);
      this.#recordPeer(peer);
      this.#step({ type: 'peerDown', at: this.#wall(), peer: node.uuid });
      this.#updates?.peerDown(node.uuid);
      this.#runtime.peerDown(node.uuid);
      this.#retry(peer);
    });
    this.#step({ type: 'peerUp', at: this.#wall(), peer: node });
    this.#lockStep({ type: 'peerUp', at: this.#wall(), peer: node.uuid });
    this.#updates?.peerUp(node.uuid, node.name);
    this.#runtime.peerUp(node);
  }

  #onMessage(peer: Peer, node: NodeIdentity, type: string, body: unknown): void {
    if (type.startsWith('update-')) {
      this.#updates?.received(node.uuid, body);
      return;
    }
    if (type.startsWith('runtime-')) {
      this.#runtime.received(node.uuid, body as RuntimeMessage);
      return;
    }
    if (type === 'adopt') {
      const b = body as AdoptBody;
      this.#log.warn(
        `[Coordinator] this node was added to the cluster of ${node.name} (${node.uuid}): its policy replaces ours`,
      );
      this.#step({
        type: 'adopt',
        at: this.#wall(),
        scope: b.scope,
        versions: b.versions,
        members: b.members,
      });
      return;
    }
    const message = body as CmMessage;
    if (message.type === 'lease' || message.type === 'leaseRelease')
      this.#lockStep({
        type: 'received',
        at: this.#wall(),
        from: node.uuid,
        message: message as LockMessage,
      });
    else
      this.#step({
        type: 'received',
        at: this.#wall(),
        from: node.uuid,
        message: message as ReplicationMessage,
      });
    if (message.type === 'summary') this.#recordPeer(peer, message.storageTimestamp ?? null);
  }

  /**
   * Remembers a peer in the store (a cache for status and the next start, not part of replication), in
   * batches: changed records are written together within {@link PEER_FLUSH_MS} (and at stop), and a record
   * whose only change is its `lastSeen` at most every {@link PEER_SEEN_REFRESH_MS}. A summary from every
   * peer after each save used to cost one synced transaction each.
   */
  #recordPeer(peer: Peer, storageTimestamp?: string | null): void {
    const node = peer.identity;
    if (!node || !this.#store || !this.#running) return;
    // from a summary just handled (what the machine now holds for the peer), else from the machine
    const sync =
      storageTimestamp === undefined
        ? this.#machine?.snapshot().peers.find((p) => p.node.uuid === node.uuid)
        : { storageTimestamp: storageTimestamp ?? undefined };
    const lastSeen = peer.conn?.state === 'open' ? this.#wall() : undefined;
    const record: PeerRecord = {
      node,
      address: peer.endpoint ? formatEndpoint(peer.endpoint) : '',
      lastSeen,
      lastError: peer.lastError,
      storageTimestamp: sync?.storageTimestamp,
    };
    const key = `${node.name}|${node.priority}|${node.version}|${record.address}|${record.storageTimestamp}|${lastSeen === undefined}|${record.lastError}`;
    const written = this.#peerWritten.get(node.uuid);
    if (written?.key === key && (lastSeen === undefined || lastSeen - written.seen < PEER_SEEN_REFRESH_MS))
      return;
    this.#peerWritten.set(node.uuid, { key, seen: lastSeen ?? 0 });
    this.#peerDirty.set(node.uuid, record);
    this.#peerFlush ??= this.#clock.setTimeout(() => this.#flushPeers(), PEER_FLUSH_MS);
  }

  #flushPeers(): void {
    if (this.#peerFlush) this.#clock.clearTimeout(this.#peerFlush);
    this.#peerFlush = undefined;
    if (this.#peerDirty.size === 0 || !this.#store) return;
    const records = [...this.#peerDirty.values()];
    this.#peerDirty.clear();
    try {
      this.#store.putPeers(records);
    } catch (e) {
      this.#log.warn(`[Coordinator] cannot remember ${records.length} peer(s): ${(e as Error).message}`);
    }
  }

  readonly #peerDirty = new Map<string, PeerRecord>();
  readonly #peerWritten = new Map<string, { key: string; seen: number }>();
  #peerFlush: TimerHandle | undefined;

  // ---- machines --------------------------------------------------------------------------------

  #wall(): number {
    return Math.floor(this.#clock.wallTime());
  }

  #step(event: ReplicaEvent): ReplicaAction[] {
    const machine = this.#machine as ReplicaMachine;
    const store = this.#store as CmStore;
    const actions = machine.step(event);
    if (actions.some((a) => a.type === 'persist' || a.type === 'replaceScope'))
      this.#announceSummary(event.type === 'received' ? ANNOUNCE_AFTER_RECEIVE_MS : 0);
    for (const a of actions) {
      switch (a.type) {
        case 'persist':
          // durable before anything after it (an ack, a broadcast) tells others so
          // with the HLC high-water mark in the same transaction: one sync to disk
          store.putVersions(a.versions, machine.hlc ? { hlc: formatHlc(machine.hlc) } : undefined);
          break;
        case 'replaceScope':
          store.replaceScope(a.scope, a.versions);
          break;
        case 'send':
          this.#send(a.to, a.message);
          break;
        case 'broadcast':
          for (const uuid of this.#peers.keys()) this.#send(uuid, a.message);
          break;
        case 'currentChanged':
          if (a.apply) this.#applyVersion(a.scope, a.version);
          this.#log.info(
            `[Coordinator] ${a.scope} is now ${a.version.id.slice(0, 12)} from ${a.version.origin.name}, Current Storage Timestamp ${formatStamp(a.version)}`,
          );
          break;
        case 'conflict':
          store.putConflict({
            scope: a.scope,
            winner: a.winner.id,
            loser: a.loser.id,
            detectedAt: this.#wall(),
          });
          this.#log.warn(
            `[Coordinator] [Conflict] ${a.scope}: ${a.winner.id.slice(0, 12)} (${a.winner.origin.name}) wins over ${a.loser.id.slice(0, 12)} (${a.loser.origin.name}); the losing version is kept`,
          );
          break;
        case 'log':
          if (a.level === 'warn') this.#log.warn(a.message);
          else this.#log.info(a.message);
          break;
        case 'members':
          this.#storeMembers(a.members);
          this.#dialMembers(a.members);
          break;
      }
    }
    return actions;
  }

  /**
   * After a change of its versions the node tells every peer its new summary (soon, once per burst), so
   * that each side's in-sync view is current without waiting for the next anti-entropy round, and a peer that
   * lacks the version fetches it from here (with no relay, this is how versions cross nodes that do not talk
   * directly). After a save: at once; after versions received: {@link ANNOUNCE_AFTER_RECEIVE_MS} later.
   */
  #announceSummary(delayMs: number): void {
    if (this.#summaryPending || !this.#running) return;
    this.#summaryPending = true;
    const announce = () => {
      this.#summaryPending = false;
      // one per peer: its storage facts are those the peer lacks
      if (this.#running && this.#machine)
        for (const uuid of this.#peers.keys()) this.#send(uuid, this.#machine.summary(uuid));
    };
    if (delayMs > 0) this.#clock.setTimeout(announce, delayMs);
    else this.#clock.setImmediate(announce);
  }

  #summaryPending = false;

  #lockStep(event: Parameters<AdminLock['step']>[0]): AdminLockAction[] {
    const actions = (this.#lock as AdminLock).step(event);
    for (const a of actions) {
      if (a.type === 'send') this.#send(a.to, a.message);
      else if (a.type === 'broadcast') for (const uuid of this.#peers.keys()) this.#send(uuid, a.message);
      else if (a.type === 'lost')
        this.#log.warn(
          `[Coordinator] admin session ${a.lease.session} lost the lock to ${a.winner.holder.name}`,
        );
      else if (a.type === 'expired')
        this.#log.info(`[Coordinator] the admin lock of ${a.lease.holder.name} expired`);
    }
    return actions;
  }

  #send(uuid: string, message: CmMessage): void {
    const peer = this.#peers.get(uuid);
    const conn = peer?.conn;
    if (!peer || !conn || conn.state !== 'open') return;
    this.#traffic.messagesSent++;
    peer.sendQueue = peer.sendQueue
      .then(() => conn.send({ type: WIRE_TYPE[message.type], body: message }))
      .catch((e: Error) => {
        peer.lastError = e.message;
      });
  }

  /** Sends an update message; resolves when written (transfers wait for it), rejects when the peer is gone. */
  #sendUpdate(uuid: string, message: UpdateMessage): Promise<void> {
    const peer = this.#peers.get(uuid);
    const conn = peer?.conn;
    if (!peer || !conn || conn.state !== 'open')
      return Promise.reject(new CmError('CM_UPDATE_TRANSFER', `node ${uuid} is not connected`));
    this.#traffic.messagesSent++;
    const sent = peer.sendQueue.then(() => conn.send({ type: message.type, body: message }));
    peer.sendQueue = sent.catch((e: Error) => {
      peer.lastError = e.message;
    });
    return sent;
  }

  /** Sends a runtime-group message to a connected peer (dropped when it is not: the runtime machine retries). */
  #sendRuntime(uuid: string, message: RuntimeMessage): void {
    const peer = this.#peers.get(uuid);
    const conn = peer?.conn;
    if (!peer || !conn || conn.state !== 'open') return;
    this.#traffic.messagesSent++;
    peer.sendQueue = peer.sendQueue
      .then(() => conn.send({ type: message.type, body: message }))
      .catch((e: Error) => {
        peer.lastError = e.message;
      });
  }

  /** Runs the update groups' interval check now (as when it is due). */
  checkUpdates(): void {
    this.#updates?.checkNow();
  }

  #applyVersion(scope: Scope, version: Version): void {
    const applier = scope === 'policy' ? this.#applier : this.#nodeApplier;
    if (!applier) return;
    this.#applyChain = this.#applyChain.then(async () => {
      try {
        const r = await applier.apply(version);
        this.#lastApplyFailure = r.failure;
      } catch (e) {
        this.#lastApplyFailure = (e as Error).message;
        this.#log.error(
          `[Coordinator] cannot put ${scope} ${version.id.slice(0, 12)} in place: ${(e as Error).message}`,
        );
      }
    });
  }

  /**
   * The admin session attached here stays attached until it detaches (or this node dies): its lease is
   * renewed every third of the ttl, so that the other nodes let it expire only when this node is gone.
   */
  #renewAdminLease(): void {
    const own = this.#lock?.own;
    if (!own) return;
    const now = this.#wall();
    if (now - this.#leaseRenewedAt < this.#c.adminLockTtlMs / 3) return;
    this.#leaseRenewedAt = now;
    this.#lockStep({ type: 'renew', at: now, session: own.session });
  }

  #leaseRenewedAt = 0;

  #scheduleTick(): void {
    if (!this.#running) return;
    this.#tick = this.#clock.setTimeout(() => {
      this.#step({ type: 'tick', at: this.#wall() });
      // storage facts learned from a summary go on at once to the peers that lack them (transit nodes)
      if (this.#machine)
        for (const uuid of this.#machine.factsDue(this.#wall()))
          this.#send(uuid, this.#machine.summary(uuid));
      this.#lockStep({ type: 'tick', at: this.#wall() });
      this.#updates?.tick();
      this.#renewAdminLease();
      this.#scheduleTick();
    }, 1000);
  }

  async #loadIdentity(uuid: string): Promise<NodeTlsIdentity> {
    const c = this.#c;
    const caPem = await readFile(c.ca.cert, 'utf8').catch((e: Error) => {
      throw new CmError('CM_CERTIFICATE', `cannot read the cluster CA ${c.ca.cert}: ${e.message}`, {
        cause: e,
      });
    });
    if (c.certificate) {
      const [certPem, keyPem] = await Promise.all([
        readFile(c.certificate.cert, 'utf8'),
        readFile(c.certificate.key, 'utf8'),
      ]);
      return { caPems: [caPem], certPem, keyPem };
    }
    const dir = join(c.dataDir, 'identity');
    try {
      const loaded = await loadIdentity(dir);
      if (loaded.caPems.includes(caPem) || loaded.caPems.some((p) => p.trim() === caPem.trim()))
        return loaded;
    } catch {
      /* none yet, or from another CA: issue a new one */
    }
    const caKeyPem = await readFile(c.ca.key as string, 'utf8').catch((e: Error) => {
      throw new CmError('CM_CERTIFICATE', `cannot read the cluster CA key ${c.ca.key}: ${e.message}`, {
        cause: e,
      });
    });
    const issued = await issueNodeCertificate({
      ca: { certPem: caPem, keyPem: caKeyPem },
      node: { uuid, name: c.name },
      addresses: c.addresses,
    });
    const identity = { caPems: [caPem], ...issued };
    await writeIdentity(dir, identity);
    this.#log.info(
      `[Coordinator] issued the certificate of node ${uuid} (${c.name}) for ${c.addresses.join(', ')}`,
    );
    return identity;
  }
}

/** A peer's last error as the status shows it: `(301 - 'cannot connect') - "<detail>"`. */
function describePeerError(e: Error): string {
  if (!(e instanceof CmError)) return e.message;
  const wire = wireOf(e);
  const text = (WIRE_ERROR_TEXTS as Readonly<Record<number, string>>)[wire] ?? 'error';
  return e.message.startsWith(`(${wire} - `) ? e.message : `(${wire} - '${text}') - "${e.message}"`;
}

function formatStamp(v: Version): string {
  return formatHlc(v.stamp);
}

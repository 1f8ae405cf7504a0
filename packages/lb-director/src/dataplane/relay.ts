// The userspace relay data plane: listens on the VIPs, picks each client's node from the bucket table,
// connects to it and copies bytes both ways (backpressure, half-close, idle and connect timeouts). Two
// engines do the socket work: @proxyha/netio's native TCP relay engine (epoll, splice; the default where the
// addon has it) or node:net (the fallback, and `engine: 'node'`); the routing and counting here are shared.
import {
  createServer,
  connect as netConnect,
  type OnReadOpts,
  type Server,
  type Socket,
  type TcpNetConnectOpts,
} from 'node:net';
import { performance } from 'node:perf_hooks';
import { type ConfigIssue, canonicalIp, describeValue, type Logger, noopLogger } from '@proxyha/common';
import {
  NetioSystemError,
  openTcpRelayEngine,
  type TcpRelayEngine,
  type TcpRelayHandler,
  tcpRelayEngineStatus,
} from '@proxyha/netio';
import { invalidArgument } from '../codec/fail';
import { encodeProxyHeader, type ProxyAddresses } from '../codec/proxy-protocol';
import { LbError } from '../errors';
import { DataPlaneEmitter } from './emitter';
import { normalizeClientAddress, RoutingTable } from './routing';
import type {
  DataPlane,
  DataPlaneBytes,
  DataPlaneEvents,
  DataPlaneSettings,
  DataPlaneStats,
  DataPlaneUpdate,
} from './types';

/** What {@link RelayDataPlane.stop} does with open connections: let them finish, or close them at once. */
export type RelayStopMode = 'drain' | 'destroy';

/**
 * Which code moves the relay's connections: `native`, @proxyha/netio's TCP relay engine (C++ on Node's event
 * loop: epoll, splice(2), no `net.Socket`), or `node`, Node's `node:net` sockets. `auto` takes `native` where
 * the netio addon has the engine (the prebuilt linux-x64 and linux-arm64 binaries do) and `node` elsewhere.
 */
export type RelayEngineChoice = 'auto' | 'native' | 'node';

/** Options of {@link RelayDataPlane} (all optional). */
export interface RelayOptions {
  /**
   * Addresses to listen on, each at every redirect's original port (default: the VIPs, prefix removed).
   * Tests and loopback demos pass 127.0.0.x addresses here.
   */
  readonly listenAddresses?: readonly string[];
  /**
   * Where the director's own share (the node with `self: true`) is sent (default: that node's address, the
   * management address; its proxy listens there or on every address).
   */
  readonly selfAddress?: string;
  /**
   * Send a PROXY protocol header of this version to the node before the client's bytes (default: none). It
   * carries the client's address and port and the VIP and port it connected to, and is written in one piece
   * (HAProxy wants the whole header in the first segment).
   */
  readonly proxyProtocol?: 'v1' | 'v2' | undefined;
  /** A connection without traffic either way for this long is closed, in ms (default 900000; 0: never). */
  readonly idleTimeoutMs?: number;
  /**
   * A node that does not accept a connection within this long counts as refusing it, in ms (default 5000;
   * 0: only the system's own connect timeout).
   */
  readonly connectTimeoutMs?: number;
  /** What {@link RelayDataPlane.stop} does with open connections (default `drain`). */
  readonly stopMode?: RelayStopMode;
  /**
   * Which engine moves the bytes (default `auto`: `native` where available, else `node`); see
   * {@link RelayEngineChoice}. Both behave the same; `native` costs about half the CPU per connection.
   */
  readonly engine?: RelayEngineChoice;
  /** Where the relay logs (default: nowhere). Socket errors are logged at debug. */
  readonly logger?: Logger;
}

/** The defaults of {@link RelayOptions}. */
export const RELAY_DEFAULTS = Object.freeze({
  /** Default of {@link RelayOptions.idleTimeoutMs}: 15 minutes. */
  idleTimeoutMs: 900_000,
  /** Default of {@link RelayOptions.connectTimeoutMs}: 5 seconds. */
  connectTimeoutMs: 5_000,
  /** Default of {@link RelayOptions.stopMode}: let open connections finish. */
  stopMode: 'drain' as RelayStopMode,
  /** Default of {@link RelayOptions.engine}: the native engine where the netio addon has it. */
  engine: 'auto' as RelayEngineChoice,
});

/** Counters of the relay: the {@link DataPlaneStats} and more. */
export interface RelayStats extends DataPlaneStats {
  /** The engine that moves the bytes (see {@link RelayOptions.engine}). */
  readonly engine: 'native' | 'node';
  /** Connection attempts that a node refused, reset or did not accept in time. */
  readonly refused: number;
  /** Socket errors on established connections (ECONNRESET, EPIPE, ...). */
  readonly socketErrors: number;
  /** Connections closed by the idle timeout. */
  readonly idleTimeouts: number;
  /** Connections currently held by the relay (pending connects included). */
  readonly open: number;
  /**
   * Bytes the relay holds right now, read from one side and not yet taken by the other, over every
   * connection: stays bounded because a full side pauses the other (`node`: a few times the streams'
   * high-water mark per connection; `native`: at most 64 KiB, or one 256 KiB pipe, per direction).
   */
  readonly bufferedBytes: number;
  /** The listening sockets as `address:port` (`[v6]:port`), empty when stopped. */
  readonly listening: readonly string[];
  /**
   * Bytes carried per node id since the relay was created (a node appears once a connection to it was
   * established): `toNode` the clients' bytes read and written to the node (a PROXY protocol header is not
   * counted), `toClient` the node's bytes read and written to its clients.
   */
  readonly bytesByNode: ReadonlyMap<string, DataPlaneBytes>;
}

/** The byte counters of one node: one object per node, shared by its connections (see `Conn.bytes`). */
interface ByteCounter {
  toNode: number;
  toClient: number;
}

/** One client connection and its node side. */
interface Conn {
  readonly client: Socket;
  upstream: Socket | undefined;
  nodeId: string | undefined;
  clientClosed: boolean;
  upstreamClosed: boolean;
  done: boolean;
  /** performance.now() of the last bytes read from either side (the idle sweep compares it). */
  lastActive: number;
  /** While a connect is pending: performance.now() by which the node must accept (the sweep checks it). */
  connectDeadline: number;
  /** While a connect is pending (with a connect timeout): counts it as refused and tries the next choice. */
  refuse: ((reason: string) => void) | undefined;
  /** A `drain` listener on the client resumes the node side (added the first time the client is full). */
  clientDrainHooked: boolean;
  /** A `drain` listener on the node side resumes the client (added the first time the node is full). */
  upstreamDrainHooked: boolean;
  /**
   * Once established: the byte counters of its node, held here so that the copy loops add each chunk's
   * length without a lookup per chunk.
   */
  bytes: ByteCounter | undefined;
}

/** One client connection on the native engine: what routing needs; the engine holds the sockets. */
interface NativeConn {
  readonly id: number;
  readonly destinationPort: number;
  /** The client's address (IPv4-mapped IPv6 as IPv4) and port, and the VIP and port it connected to. */
  readonly address: string;
  readonly clientPort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly routing: RoutingTable;
  readonly bucket: number;
  tried: Set<string>;
  /** The node being connected (until `connected`) and its address. */
  trying: string | undefined;
  tryingHost: string;
  /** The node once connected. */
  nodeId: string | undefined;
  header: Uint8Array | undefined;
}

/** A listening socket of the native engine. */
interface NativeListener {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

/**
 * Stream high-water mark of both sockets of a connection (bytes): a write queue below it does not pause the
 * other side. Above Node's 16 KiB default so that one 64 KiB read of the client that the kernel does not
 * take at once does not pause the reading side every time (bulk throughput); the bound per connection
 * stays a few hundred KiB.
 */
const STREAM_HIGH_WATER_MARK = 128 * 1024;

/**
 * Size of the buffers the node side of a connection reads into (bytes; `onread`, see {@link nodeReader}): the
 * one shared by every connection, and that of each connection moving bulk data. Reads of up to 256 KiB
 * cost about a fifth less CPU per GiB than reads of 64 KiB (bench/dataplane.mjs, bench/RESULTS.md).
 */
const READ_BUFFER_SIZE = 256 * 1024;
/** A read of at least this many bytes gives the connection a read buffer of its own (see {@link nodeReader}). */
const BULK_READ = 16 * 1024;
/** The read buffer shared by the node sides of all connections (allocated by the first connect). */
let sharedReadBuffer: Buffer | undefined;

const stripPrefix = (a: string) => a.replace(/\/\d+$/, '');

function resolveOptions(
  settings: DataPlaneSettings,
  o: RelayOptions,
): Required<Omit<RelayOptions, 'selfAddress' | 'proxyProtocol' | 'engine'>> &
  Pick<RelayOptions, 'selfAddress' | 'proxyProtocol'> & { engine: 'native' | 'node' } {
  const issues: ConfigIssue[] = [];
  const listenAddresses = (o.listenAddresses ?? settings.virtualIps.map(stripPrefix)).map((a, i) => {
    const c = canonicalIp(a);
    if (c === undefined)
      issues.push({
        path: `listenAddresses[${i}]`,
        message: `must be an IP address (got ${describeValue(a)})`,
      });
    return c ?? a;
  });
  const ms = (key: 'idleTimeoutMs' | 'connectTimeoutMs') => {
    const v = o[key] ?? RELAY_DEFAULTS[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 2 ** 31 - 1)
      issues.push({ path: key, message: `must be a number of ms 0..2147483647 (got ${describeValue(v)})` });
    return v;
  };
  const idleTimeoutMs = ms('idleTimeoutMs');
  const connectTimeoutMs = ms('connectTimeoutMs');
  if (o.proxyProtocol !== undefined && o.proxyProtocol !== 'v1' && o.proxyProtocol !== 'v2')
    issues.push({
      path: 'proxyProtocol',
      message: `must be v1, v2 or undefined (got ${describeValue(o.proxyProtocol)})`,
    });
  const stopMode = o.stopMode ?? RELAY_DEFAULTS.stopMode;
  if (stopMode !== 'drain' && stopMode !== 'destroy')
    issues.push({ path: 'stopMode', message: `must be drain or destroy (got ${describeValue(stopMode)})` });
  if (o.selfAddress !== undefined && canonicalIp(o.selfAddress) === undefined)
    issues.push({
      path: 'selfAddress',
      message: `must be an IP address (got ${describeValue(o.selfAddress)})`,
    });
  const choice = o.engine ?? RELAY_DEFAULTS.engine;
  let engine: 'native' | 'node' = 'node';
  if (choice !== 'auto' && choice !== 'native' && choice !== 'node')
    issues.push({ path: 'engine', message: `must be auto, native or node (got ${describeValue(choice)})` });
  else if (choice !== 'node') {
    const status = tcpRelayEngineStatus();
    if (status.available) engine = 'native';
    else if (choice === 'native')
      issues.push({
        path: 'engine',
        message: `native: the @proxyha/netio relay engine is not available here (${status.reason}); use auto or node`,
      });
  }
  if (issues.length > 0) throw invalidArgument('invalid relay options', issues);
  return {
    listenAddresses,
    idleTimeoutMs,
    connectTimeoutMs,
    stopMode,
    engine,
    logger: o.logger ?? noopLogger,
    selfAddress: o.selfAddress,
    proxyProtocol: o.proxyProtocol,
  };
}

/**
 * The userspace relay: a TCP proxy on the director that needs no root and no kernel support. It listens on
 * every VIP (or {@link RelayOptions.listenAddresses}) at every redirect's original port; each accepted
 * client goes to the owner of its bucket in the last applied table, at the redirect's destination port,
 * and bytes are copied both ways with backpressure and half-close. A node that refuses (or does not accept
 * within the connect timeout) gets a `nodeRefused` event and the connection tries the bucket's next choice
 * (see {@link RoutingTable}). `apply` swaps the table for new connections only: open connections keep their
 * node. Socket errors are counted and logged at debug, never thrown.
 *
 * The nodes see the director as the client's source address unless {@link RelayOptions.proxyProtocol} sends
 * them a PROXY protocol header.
 *
 * The sockets are driven by @proxyha/netio's native TCP relay engine where it is available (see
 * {@link RelayOptions.engine} and {@link RelayDataPlane.engine}), else by `node:net`; the behaviour above is
 * the same with either.
 */
export class RelayDataPlane implements DataPlane {
  /** Always `relay`. */
  readonly kind = 'relay' as const;
  readonly #settings: DataPlaneSettings;
  readonly #o: ReturnType<typeof resolveOptions>;
  readonly #log: Logger;
  readonly #events: DataPlaneEmitter;
  readonly #ports: Map<number, number>;
  #routing: RoutingTable | undefined;
  #servers: Server[] = [];
  #starting: Promise<void> | undefined;
  #running = false;
  readonly #conns = new Set<Conn>();
  #idleWaiters: (() => void)[] = [];
  readonly #active = new Map<string, number>();
  readonly #bytes = new Map<string, ByteCounter>();
  #accepted = 0;
  #failed = 0;
  #refused = 0;
  #socketErrors = 0;
  #idleTimeouts = 0;
  #sweep: NodeJS.Timeout | undefined;
  /** The native engine while it has listeners or connections (opened by start, closed once idle). */
  #native: TcpRelayEngine | undefined;
  #nativeListeners: NativeListener[] = [];
  /** Destination port per native listener id (kept while the engine is open). */
  readonly #nativePorts = new Map<number, number>();
  readonly #nativeConns = new Map<number, NativeConn>();

  /**
   * @param settings - VIPs, redirects, persistence masks, management address
   * @param options - see {@link RelayOptions}
   * @throws LbError `LB_INVALID_ARGUMENT` when an option is invalid (also `engine: 'native'` where the
   *   netio relay engine is not available)
   */
  constructor(settings: DataPlaneSettings, options: RelayOptions = {}) {
    this.#settings = settings;
    this.#o = resolveOptions(settings, options);
    this.#log = this.#o.logger;
    this.#events = new DataPlaneEmitter(this.#log);
    this.#ports = new Map();
    for (const r of settings.redirects)
      if (!this.#ports.has(r.originalPort)) this.#ports.set(r.originalPort, r.destinationPort);
  }

  /**
   * Listens on every listen address at every original port. Resolves once all listen; a no-op when
   * running.
   *
   * @throws LbError `LB_RELAY_LISTEN_FAILED` when one cannot listen (the others are closed again)
   */
  start(): Promise<void> {
    if (this.#running) return Promise.resolve();
    if (this.#o.engine === 'native') {
      try {
        this.#listenNative();
        return Promise.resolve();
      } catch (e) {
        return Promise.reject(e);
      }
    }
    this.#starting ??= this.#listenAll().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #listenAll(): Promise<void> {
    const servers: Server[] = [];
    try {
      for (const host of this.#o.listenAddresses)
        for (const [port, destinationPort] of this.#ports) {
          const server = createServer(
            {
              allowHalfOpen: true,
              pauseOnConnect: true,
              noDelay: true,
              highWaterMark: STREAM_HIGH_WATER_MARK,
            },
            (s) => this.#accept(s, destinationPort),
          );
          servers.push(server);
          await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen({ host, port, exclusive: true, ipv6Only: host.includes(':') }, () => {
              server.off('error', reject);
              resolve();
            });
          }).catch((e: NodeJS.ErrnoException) => {
            throw new LbError(
              'LB_RELAY_LISTEN_FAILED',
              `relay cannot listen on ${host} port ${port}: ${e.message}`,
              {
                details: { address: host, port, code: e.code },
                cause: e,
              },
            );
          });
          server.on('error', (e) => this.#events.emit('error', e));
        }
    } catch (e) {
      for (const s of servers) s.close();
      throw e;
    }
    this.#servers = servers;
    this.#running = true;
    this.#log.info(`relay listening on ${listening(servers).join(', ')}`);
  }

  /**
   * Installs a table for new connections (a reference swap: atomic). Open connections keep their node.
   *
   * @param update - the table and its nodes
   */
  apply(update: DataPlaneUpdate): Promise<void> {
    this.#routing = new RoutingTable(update, this.#settings.persistence);
    return Promise.resolve();
  }

  /**
   * Stops listening. Open connections finish (`drain`) or are closed at once (`destroy`); the default is
   * {@link RelayOptions.stopMode}. Idempotent.
   *
   * @param mode - overrides the stop mode for this call
   */
  async stop(mode: RelayStopMode = this.#o.stopMode): Promise<void> {
    if (this.#o.engine === 'native') {
      this.#stopNative(mode);
      return;
    }
    if (this.#starting !== undefined) await this.#starting.catch(() => undefined);
    const servers = this.#servers;
    this.#servers = [];
    const wasRunning = this.#running;
    this.#running = false;
    const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    if (mode === 'destroy') {
      for (const c of this.#conns) {
        c.client.destroy();
        c.upstream?.destroy();
      }
      await Promise.all([...closed, this.whenIdle()]);
    }
    if (wasRunning) this.#log.info(`relay stopped (${mode}, ${this.#conns.size} connections open)`);
  }

  /**
   * Resolves once no connection is open (at once when none is): after a draining {@link RelayDataPlane.stop},
   * the moment the last client left.
   */
  whenIdle(): Promise<void> {
    if (this.#conns.size === 0 && this.#nativeConns.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** The engine that moves the bytes: `native` (netio's TCP relay engine) or `node` (`node:net`). */
  get engine(): 'native' | 'node' {
    return this.#o.engine;
  }

  /** Counters (a snapshot). */
  stats(): RelayStats {
    if (this.#o.engine === 'native') return this.#nativeStats();
    let bufferedBytes = 0;
    for (const c of this.#conns)
      for (const s of [c.client, c.upstream])
        if (s !== undefined) bufferedBytes += s.writableLength + s.readableLength;
    return {
      engine: 'node',
      activeByNode: new Map(this.#active),
      accepted: this.#accepted,
      failed: this.#failed,
      refused: this.#refused,
      socketErrors: this.#socketErrors,
      idleTimeouts: this.#idleTimeouts,
      open: this.#conns.size,
      bufferedBytes,
      listening: listening(this.#servers),
      bytesByNode: new Map(
        [...this.#bytes].map(([id, b]) => [id, { toNode: b.toNode, toClient: b.toClient }]),
      ),
    };
  }

  /**
   * Subscribes to `nodeRefused` or `error`.
   *
   * @returns the unsubscribe function
   */
  on<K extends keyof DataPlaneEvents>(event: K, listener: (...args: DataPlaneEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  #accept(client: Socket, port: number): void {
    this.#accepted++;
    const conn: Conn = {
      client,
      upstream: undefined,
      nodeId: undefined,
      clientClosed: false,
      upstreamClosed: true,
      done: false,
      lastActive: 0,
      connectDeadline: Number.POSITIVE_INFINITY,
      refuse: undefined,
      clientDrainHooked: false,
      upstreamDrainHooked: false,
      bytes: undefined,
    };
    this.#conns.add(conn);
    client.on('error', (e) => this.#socketError(conn, 'client', e));
    client.on('close', () => {
      conn.clientClosed = true;
      if (conn.nodeId === undefined) conn.upstream?.destroy(); /* gone while connecting */
      this.#release(conn);
    });
    const routing = this.#routing; /* the table this connection uses, whatever apply does meanwhile */
    const address = normalizeClientAddress(client.remoteAddress ?? '');
    const bucket = routing?.bucketOf(address);
    if (routing === undefined || bucket === undefined) this.#fail(conn, address, 'no table');
    else this.#connect(conn, routing, bucket, port, address, NONE_TRIED);
  }

  #connect(
    conn: Conn,
    routing: RoutingTable,
    bucket: number,
    port: number,
    address: string,
    tried: Set<string>,
  ): void {
    if (conn.clientClosed) return;
    let nodeId = routing.choose(bucket, tried);
    let node = nodeId === undefined ? undefined : routing.node(nodeId);
    while (nodeId !== undefined && node === undefined) {
      if (tried === NONE_TRIED) tried = new Set();
      tried.add(nodeId); /* in the table but not in the node map: skipped */
      nodeId = routing.choose(bucket, tried);
      node = nodeId === undefined ? undefined : routing.node(nodeId);
    }
    if (nodeId === undefined || node === undefined) {
      this.#fail(conn, address, tried.size === 0 ? 'no node takes clients' : 'every node refused');
      return;
    }
    const host = node.self ? (this.#o.selfAddress ?? node.address) : node.address;
    /* highWaterMark: passed on to the Socket's streams (Node >= 20.1; not in @types/node's NetConnectOpts) */
    const options: TcpNetConnectOpts & { highWaterMark: number } = {
      host,
      port,
      allowHalfOpen: true,
      noDelay: true,
      highWaterMark: STREAM_HIGH_WATER_MARK,
      onread: nodeReader(conn),
    };
    const up = netConnect(options);
    conn.upstream = up;
    conn.upstreamClosed = false;
    let connected = false;
    const refused = (reason: string) => {
      if (connected) return;
      connected = true; /* settle once */
      conn.refuse = undefined;
      up.destroy();
      if (conn.clientClosed) return;
      this.#refused++;
      const refusedBy = tried === NONE_TRIED ? new Set<string>() : tried;
      refusedBy.add(nodeId);
      this.#log.debug(`relay: node ${nodeId} (${host}:${port}) refused ${address}: ${reason}`);
      this.#events.emit('nodeRefused', nodeId, host, reason);
      this.#connect(conn, routing, bucket, port, address, refusedBy);
    };
    if (this.#o.connectTimeoutMs > 0) {
      /* checked by the sweep: no timer per connection */
      conn.connectDeadline = performance.now() + this.#o.connectTimeoutMs;
      conn.refuse = refused;
      this.#sweep ??= this.#startSweep();
    }
    up.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) refused(e.code ?? e.message);
      else this.#socketError(conn, 'node', e);
    });
    up.on('close', () => {
      if (conn.upstream !== up) return;
      conn.upstreamClosed = true;
      this.#release(conn);
    });
    up.on('connect', () => {
      if (connected) return;
      connected = true;
      this.#established(conn, up, nodeId);
    });
  }

  #established(conn: Conn, up: Socket, nodeId: string): void {
    const { client } = conn;
    conn.nodeId = nodeId;
    this.#active.set(nodeId, (this.#active.get(nodeId) ?? 0) + 1);
    let bytes = this.#bytes.get(nodeId);
    if (bytes === undefined) {
      bytes = { toNode: 0, toClient: 0 };
      this.#bytes.set(nodeId, bytes);
    }
    conn.bytes = bytes; /* before the first read of either side: both copy loops count into it */
    conn.refuse = undefined; /* the connect timeout is over */
    conn.connectDeadline = Number.POSITIVE_INFINITY;
    if (this.#o.proxyProtocol !== undefined)
      up.write(
        encodeProxyHeader(
          proxyHeader(
            client.remoteAddress ?? '',
            client.remotePort ?? 0,
            client.localAddress ?? '',
            client.localPort ?? 0,
            this.#o.proxyProtocol,
          ),
        ),
      );
    conn.lastActive = performance.now();
    forwardClient(conn, client, up, bytes);
    up.on('end', () => endOther(client));
    if (this.#o.idleTimeoutMs > 0) this.#sweep ??= this.#startSweep();
  }

  /**
   * The idle and connect timeouts: one timer for all connections (instead of a timer per socket, refreshed
   * at every read and write) that closes the established connections without bytes either way for
   * `idleTimeoutMs`, and counts a connect still pending after `connectTimeoutMs` as refused. It checks every
   * quarter of the smaller of the two (at most every second, at least every 10 ms), so a timeout acts
   * between its time and that period later. Stops when no connection is open.
   */
  #startSweep(): NodeJS.Timeout {
    const idle = this.#o.idleTimeoutMs;
    const shortest = Math.min(
      idle || Number.POSITIVE_INFINITY,
      this.#o.connectTimeoutMs || Number.POSITIVE_INFINITY,
    );
    const timer = setInterval(
      () => {
        const now = performance.now();
        for (const c of this.#conns) {
          if (c.refuse !== undefined) {
            if (now >= c.connectDeadline) c.refuse('connect timeout');
            continue;
          }
          if (idle === 0 || c.nodeId === undefined || c.done || now - c.lastActive < idle) continue;
          this.#idleTimeouts++;
          this.#log.debug(
            `relay: idle timeout ${c.client.remoteAddress}:${c.client.remotePort} -> ${c.nodeId}`,
          );
          c.lastActive = Number.POSITIVE_INFINITY; /* counted once */
          c.client.destroy();
          c.upstream?.destroy();
        }
      },
      Math.min(1000, Math.max(10, Math.floor(shortest / 4))),
    );
    timer.unref();
    return timer;
  }

  #socketError(conn: Conn, side: string, e: NodeJS.ErrnoException): void {
    this.#socketErrors++;
    this.#log.debug(`relay: ${side} socket error: ${e.code ?? e.message}`, { node: conn.nodeId });
    conn.client.destroy();
    conn.upstream?.destroy();
  }

  #fail(conn: Conn, address: string, reason: string): void {
    this.#failed++;
    this.#log.debug(`relay: no node for ${address}: ${reason}`);
    conn.client.destroy();
  }

  #release(conn: Conn): void {
    if (conn.done || !conn.clientClosed || !conn.upstreamClosed) return;
    conn.done = true;
    this.#conns.delete(conn);
    if (conn.nodeId !== undefined) {
      const n = (this.#active.get(conn.nodeId) ?? 1) - 1;
      if (n > 0) this.#active.set(conn.nodeId, n);
      else this.#active.delete(conn.nodeId);
    }
    if (this.#conns.size === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
      this.#whenEmpty();
    }
  }

  /** Wakes `whenIdle` callers once no connection of either engine is open. */
  #whenEmpty(): void {
    if (this.#conns.size > 0 || this.#nativeConns.size > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  // --- the native engine ------------------------------------------------------------------------------
  // The same routing, retries, counters and logs as above; the engine owns the sockets, the bytes, the
  // half-closes and both timeouts, and reports accepted / connected / connectFailed / closed.

  #listenNative(): void {
    this.#native ??= openTcpRelayEngine(this.#nativeHandler());
    const engine = this.#native;
    const opened: NativeListener[] = [];
    try {
      for (const host of this.#o.listenAddresses)
        for (const [port, destinationPort] of this.#ports) {
          try {
            const l = engine.listen(host, port);
            opened.push({ id: l.id, host, port: l.port });
            this.#nativePorts.set(l.id, destinationPort);
          } catch (e) {
            const code = e instanceof NetioSystemError ? e.details.errno : (e as { code?: string }).code;
            throw new LbError(
              'LB_RELAY_LISTEN_FAILED',
              `relay cannot listen on ${host} port ${port}: ${(e as Error).message}`,
              { details: { address: host, port, code }, cause: e },
            );
          }
        }
    } catch (e) {
      for (const l of opened) engine.closeListener(l.id);
      this.#closeNativeIfIdle();
      throw e;
    }
    this.#nativeListeners = opened;
    this.#running = true;
    this.#log.info(`relay listening on ${nativeListening(opened).join(', ')} (native engine)`);
  }

  #stopNative(mode: RelayStopMode): void {
    const engine = this.#native;
    const wasRunning = this.#running;
    this.#running = false;
    for (const l of this.#nativeListeners) engine?.closeListener(l.id);
    this.#nativeListeners = [];
    if (mode === 'destroy' && engine !== undefined)
      for (const c of [...this.#nativeConns.values()]) {
        const bytes = engine.destroy(c.id);
        this.#nativeDone(c, bytes ?? { bytesToNode: 0, bytesToClient: 0 });
      }
    if (wasRunning)
      this.#log.info(`relay stopped (${mode}, ${this.#nativeConns.size} connections open, native engine)`);
    this.#closeNativeIfIdle();
  }

  /** Closes the engine (its epoll, timer and event fds) once it has neither listeners nor connections. */
  #closeNativeIfIdle(): void {
    if (this.#native === undefined || this.#running || this.#nativeConns.size > 0) return;
    this.#native.close();
    this.#native = undefined;
    this.#nativePorts.clear();
  }

  #nativeHandler(): TcpRelayHandler {
    return {
      accepted: (conn, listener, clientAddress, clientPort, localAddress, localPort) =>
        this.#nativeAccepted(conn, listener, clientAddress, clientPort, localAddress, localPort),
      connected: (conn) => {
        const c = this.#nativeConns.get(conn);
        if (c === undefined || c.trying === undefined) return;
        const nodeId = c.trying;
        c.nodeId = nodeId;
        c.trying = undefined;
        this.#active.set(nodeId, (this.#active.get(nodeId) ?? 0) + 1);
        if (!this.#bytes.has(nodeId)) this.#bytes.set(nodeId, { toNode: 0, toClient: 0 });
      },
      connectFailed: (conn, code, timedOut) => {
        const c = this.#nativeConns.get(conn);
        if (c !== undefined) this.#nativeRefused(c, timedOut ? 'connect timeout' : code);
      },
      closed: (conn, info) => {
        const c = this.#nativeConns.get(conn);
        if (c === undefined) return;
        if (info.reason === 'error') {
          this.#socketErrors++;
          this.#log.debug(`relay: ${info.errorSide ?? 'client'} socket error: ${info.errorCode}`, {
            node: c.nodeId,
          });
        } else if (info.reason === 'idle') {
          this.#idleTimeouts++;
          this.#log.debug(`relay: idle timeout ${c.address}:${c.clientPort} -> ${c.nodeId}`);
        }
        this.#nativeDone(c, info);
      },
      acceptError: (listener, code) => {
        const l = this.#nativeListeners.find((x) => x.id === listener);
        const where = l === undefined ? `listener ${listener}` : `${l.host} port ${l.port}`;
        this.#events.emit(
          'error',
          new NetioSystemError(`relay: accept on ${where} (paused for 100 ms)`, code, 'accept4'),
        );
      },
    };
  }

  #nativeAccepted(
    conn: number,
    listener: number,
    clientAddress: string,
    clientPort: number,
    localAddress: string,
    localPort: number,
  ): void {
    this.#accepted++;
    const engine = this.#native as TcpRelayEngine;
    const destinationPort = this.#nativePorts.get(listener);
    const routing = this.#routing; /* the table this connection uses, whatever apply does meanwhile */
    const address = normalizeClientAddress(clientAddress);
    const bucket = routing?.bucketOf(address);
    if (destinationPort === undefined || routing === undefined || bucket === undefined) {
      this.#failed++;
      this.#log.debug(`relay: no node for ${address}: no table`);
      engine.reject(conn);
      return;
    }
    const c: NativeConn = {
      id: conn,
      destinationPort,
      address,
      clientPort,
      localAddress: normalizeClientAddress(localAddress),
      localPort,
      routing,
      bucket,
      tried: NONE_TRIED,
      trying: undefined,
      tryingHost: '',
      nodeId: undefined,
      header: undefined,
    };
    this.#nativeConns.set(conn, c);
    this.#nativeConnect(c);
  }

  /** Connects to the bucket's next choice not yet tried, or rejects the client when none is left. */
  #nativeConnect(c: NativeConn): void {
    const { routing, bucket } = c;
    let tried = c.tried;
    let nodeId = routing.choose(bucket, tried);
    let node = nodeId === undefined ? undefined : routing.node(nodeId);
    while (nodeId !== undefined && node === undefined) {
      if (tried === NONE_TRIED) tried = c.tried = new Set();
      tried.add(nodeId); /* in the table but not in the node map: skipped */
      nodeId = routing.choose(bucket, tried);
      node = nodeId === undefined ? undefined : routing.node(nodeId);
    }
    const engine = this.#native as TcpRelayEngine;
    if (nodeId === undefined || node === undefined) {
      this.#failed++;
      this.#log.debug(
        `relay: no node for ${c.address}: ${tried.size === 0 ? 'no node takes clients' : 'every node refused'}`,
      );
      engine.reject(c.id);
      this.#nativeConns.delete(c.id);
      this.#afterNativeRelease();
      return;
    }
    const host = node.self ? (this.#o.selfAddress ?? node.address) : node.address;
    if (this.#o.proxyProtocol !== undefined)
      c.header ??= encodeProxyHeader(
        proxyHeader(c.address, c.clientPort, c.localAddress, c.localPort, this.#o.proxyProtocol),
      );
    c.trying = nodeId;
    c.tryingHost = host;
    let connecting: boolean;
    try {
      connecting = engine.connect(c.id, host, c.destinationPort, {
        header: c.header,
        connectTimeoutMs: this.#o.connectTimeoutMs,
        idleTimeoutMs: this.#o.idleTimeoutMs,
      });
    } catch (e) {
      /* an address the engine cannot connect to (not an IP literal): a refusal, as node:net reports one */
      const code = (e as { code?: string }).code ?? 'EINVAL';
      this.#nativeRefused(c, code);
      return;
    }
    if (!connecting) c.trying = undefined; /* the client left: its closed call follows */
  }

  /** The node being tried refused (or timed out): count it, tell, and try the next choice. */
  #nativeRefused(c: NativeConn, reason: string): void {
    const nodeId = c.trying;
    if (nodeId === undefined) return;
    c.trying = undefined;
    this.#refused++;
    if (c.tried === NONE_TRIED) c.tried = new Set();
    c.tried.add(nodeId);
    this.#log.debug(
      `relay: node ${nodeId} (${c.tryingHost}:${c.destinationPort}) refused ${c.address}: ${reason}`,
    );
    this.#events.emit('nodeRefused', nodeId, c.tryingHost, reason);
    if (this.#nativeConns.has(c.id)) this.#nativeConnect(c);
  }

  /** A native connection ended (closed, or destroyed by stop): its counters, then forget it. */
  #nativeDone(c: NativeConn, bytes: { bytesToNode: number; bytesToClient: number }): void {
    this.#nativeConns.delete(c.id);
    if (c.nodeId !== undefined) {
      const counter = this.#bytes.get(c.nodeId);
      if (counter !== undefined) {
        counter.toNode += bytes.bytesToNode;
        counter.toClient += bytes.bytesToClient;
      }
      const n = (this.#active.get(c.nodeId) ?? 1) - 1;
      if (n > 0) this.#active.set(c.nodeId, n);
      else this.#active.delete(c.nodeId);
    }
    this.#afterNativeRelease();
  }

  #afterNativeRelease(): void {
    if (this.#nativeConns.size > 0) return;
    this.#closeNativeIfIdle();
    this.#whenEmpty();
  }

  #nativeStats(): RelayStats {
    const bytesByNode = new Map<string, DataPlaneBytes>();
    for (const [id, b] of this.#bytes) bytesByNode.set(id, { toNode: b.toNode, toClient: b.toClient });
    let bufferedBytes = 0;
    if (this.#native !== undefined) {
      /* connections still open: what they carried so far */
      for (const [conn, b] of this.#native.bytes()) {
        const nodeId = this.#nativeConns.get(conn)?.nodeId;
        const sum = nodeId === undefined ? undefined : bytesByNode.get(nodeId);
        if (nodeId === undefined || sum === undefined) continue;
        bytesByNode.set(nodeId, {
          toNode: sum.toNode + b.bytesToNode,
          toClient: sum.toClient + b.bytesToClient,
        });
      }
      bufferedBytes = this.#native.stats().bufferedBytes;
    }
    return {
      engine: 'native',
      activeByNode: new Map(this.#active),
      accepted: this.#accepted,
      failed: this.#failed,
      refused: this.#refused,
      socketErrors: this.#socketErrors,
      idleTimeouts: this.#idleTimeouts,
      open: this.#nativeConns.size,
      bufferedBytes,
      listening: nativeListening(this.#nativeListeners),
      bytesByNode,
    };
  }
}

/** The `tried` set of a connection no node has refused yet (never written: a refusal makes a new set). */
const NONE_TRIED: Set<string> = new Set();

/**
 * How the node side of a connection is read (bytes node -> client): through `onread`, bypassing the
 * socket's readable stream (no `data` event, no buffer allocated by Node per read).
 *
 * - Small reads land in one buffer shared by every connection; the callback copies them out before it
 *   returns (the next read of any socket overwrites that buffer).
 * - A connection whose reads bring {@link BULK_READ} bytes or more (a download) reads into a buffer of its
 *   own, written to the client without a copy. When the client's socket keeps that write queued, the
 *   buffer belongs to the write: the connection reads into the shared buffer (copies again) until its
 *   client has taken everything, then gets a new buffer of its own.
 * - Backpressure: when the client's socket keeps bytes queued and `write` says it is full, the callback
 *   returns false, which stops reading the node until the client drains. (`write` also returns false for
 *   one chunk above the high-water mark that the kernel took at once: nothing is queued then, reading goes
 *   on.)
 *
 * Each read's length is added to the node's `bytes.toClient` (the connection's counter object).
 *
 * The node's FIN still ends the socket's readable side (`end`), handled by the caller.
 */
function nodeReader(conn: Conn): OnReadOpts {
  sharedReadBuffer ??= Buffer.allocUnsafe(READ_BUFFER_SIZE);
  const shared = sharedReadBuffer;
  let own: Buffer | undefined;
  return {
    buffer: () => own ?? shared,
    callback(n: number, buf: Uint8Array): boolean {
      conn.lastActive = performance.now();
      const { client, upstream, bytes } = conn;
      /* reads start after 'connect', whose handler set the counters: the check is for the type only */
      if (bytes !== undefined) bytes.toClient += n;
      let ok: boolean;
      if (buf === own) {
        ok = client.write(own.subarray(0, n));
        if (client.writableLength > 0) own = undefined; /* the queued write holds it */
      } else {
        const chunk = Buffer.allocUnsafe(n);
        chunk.set(buf.subarray(0, n));
        ok = client.write(chunk);
      }
      const queued = client.writableLength > 0;
      if (n < BULK_READ) own = undefined;
      else if (!queued) own ??= Buffer.allocUnsafe(READ_BUFFER_SIZE);
      if (ok || !queued) return true;
      if (!conn.clientDrainHooked && upstream !== undefined) {
        conn.clientDrainHooked = true;
        client.on('drain', () => upstream.resume());
      }
      return false;
    },
  };
}

/**
 * Copies the client's bytes to the node: what `client.pipe(up)` does for the relay, with less machinery
 * per connection (measured: bench/dataplane.mjs). Backpressure: a `write` that returns false pauses the
 * client until the node side drains (the `drain` listener is added the first time). Each chunk's length is
 * added to the node's `bytes.toNode`. Half-close: the client's end ends the node side (see
 * {@link endOther}). Errors and closes are handled by the caller (it destroys both sides).
 */
function forwardClient(conn: Conn, client: Socket, up: Socket, bytes: ByteCounter): void {
  client.on('data', (chunk: Buffer) => {
    conn.lastActive = performance.now();
    bytes.toNode += chunk.length;
    if (up.write(chunk)) return;
    client.pause();
    if (!conn.upstreamDrainHooked) {
      conn.upstreamDrainHooked = true;
      up.on('drain', () => client.resume());
    }
  });
  client.on('end', () => endOther(up));
  client.resume(); /* accepted sockets start paused (pauseOnConnect) */
}

/**
 * The other side of a socket that read its peer's FIN: ends its writable side (both sockets allow half-open
 * connections), or closes it when it has read its own peer's FIN and holds nothing unsent: both directions
 * are done, and close sends the FIN after what the kernel still holds (no shutdown first, close later).
 */
function endOther(to: Socket): void {
  if (to.readableEnded && to.writableLength === 0) to.destroy();
  else to.end();
}

function listening(servers: readonly Server[]): string[] {
  return servers.flatMap((s) => {
    const a = s.address();
    if (a === null || typeof a === 'string') return [];
    return [a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`];
  });
}

function nativeListening(listeners: readonly NativeListener[]): string[] {
  return listeners.map((l) => (l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`));
}

/** The PROXY protocol header of a client (`source`) that connected to `destination` (the VIP). */
function proxyHeader(
  source: string,
  sourcePort: number,
  destination: string,
  destinationPort: number,
  version: 'v1' | 'v2',
) {
  const src = normalizeClientAddress(source);
  const dst = normalizeClientAddress(destination);
  const family = src.includes(':') ? 'tcp6' : 'tcp4';
  const addresses: ProxyAddresses | undefined =
    src !== '' && dst !== '' && src.includes(':') === dst.includes(':')
      ? { family, sourceAddress: src, sourcePort, destinationAddress: dst, destinationPort }
      : undefined;
  return { version: version === 'v1' ? 1 : 2, command: 'proxy', addresses, tlvs: [] } as const;
}

// The TCP relay engine: the typed side of native/relay.cc's RelayEngine (an epoll loop on Node's own event
// loop that accepts, connects, copies with splice(2) or read/write, half-closes and times out TCP
// connections, leaving only the choice of the destination to JavaScript). See the README, "TCP relay engine".
import {
  closedError,
  NetioAddonUnavailableError,
  NetioInvalidArgumentError,
  NetioSystemError,
} from '../errors';
import type { AddonLoader } from './addon';

/** Why a relayed connection ended (see {@link TcpRelayClosed}). */
export type TcpRelayCloseReason = 'end' | 'idle' | 'error';

/** How a relayed connection ended, with the bytes it carried. */
export interface TcpRelayClosed {
  /**
   * `end`: both sides sent their FIN and everything was delivered; `idle`: nothing was read from either side
   * for the connection's `idleTimeoutMs`; `error`: a socket error on one side (both sockets are closed).
   */
  readonly reason: TcpRelayCloseReason;
  /** For `error`: the side whose socket failed (`client` also while its node was being connected). */
  readonly errorSide?: 'client' | 'node';
  /** For `error`: the errno name, e.g. `ECONNRESET`, `EPIPE`. */
  readonly errorCode?: string;
  /** Bytes read from the client and sent on to the node (a header given to `connect` is not counted). */
  readonly bytesToNode: number;
  /** Bytes read from the node and sent on to the client. */
  readonly bytesToClient: number;
}

/** Bytes one connection carried each way so far. */
export interface TcpRelayBytes {
  /** Client to node (without a `connect` header). */
  readonly bytesToNode: number;
  /** Node to client. */
  readonly bytesToClient: number;
}

/**
 * What the engine tells its owner. Calls arrive on the JS thread, several per turn of the event loop, in
 * the order things happened; a connection's calls always come in the order accepted, (connectFailed)*,
 * connected, closed, and nothing follows closed (or a `reject` / `destroy` by the owner).
 */
export interface TcpRelayHandler {
  /**
   * A client was accepted on `listener`. The engine reads nothing from it until the owner answers with
   * {@link TcpRelayEngine.connect} (now or later) or {@link TcpRelayEngine.reject}.
   *
   * @param conn - the connection's id (unique among open connections)
   * @param listener - the id {@link TcpRelayEngine.listen} returned
   * @param clientAddress - the client's address as Node prints it (`192.0.2.7`, `2001:db8::7`)
   * @param clientPort - the client's port
   * @param localAddress - the address the client connected to (the listener's, or the real one for a
   *   wildcard listener)
   * @param localPort - the port the client connected to
   */
  accepted(
    conn: number,
    listener: number,
    clientAddress: string,
    clientPort: number,
    localAddress: string,
    localPort: number,
  ): void;
  /** The node accepted the connection: bytes now flow both ways (a `connect` header first). */
  connected(conn: number): void;
  /**
   * The node refused, could not be reached, or did not accept within `connectTimeoutMs` (`timedOut`). The
   * client is still open: answer with another `connect` or with `reject`.
   *
   * @param code - the errno name (`ECONNREFUSED`, `EHOSTUNREACH`, `ETIMEDOUT`, ...)
   * @param timedOut - true when the engine's own connect timeout ended the attempt
   */
  connectFailed(conn: number, code: string, timedOut: boolean): void;
  /** The connection ended and both its sockets are closed. */
  closed(conn: number, info: TcpRelayClosed): void;
  /**
   * accept(2) failed on a listener for want of resources (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`); the
   * listener pauses for 100 ms (the kernel keeps queueing clients meanwhile) and then accepts again.
   */
  acceptError?(listener: number, code: string): void;
}

/** Options of {@link TcpRelayEngine.listen}. */
export interface TcpRelayListenOptions {
  /** The accept queue's length (listen(2) backlog), 1..65535 (default 511, as Node's `net.Server`). */
  readonly backlog?: number;
}

/** A listening socket of the engine. */
export interface TcpRelayListener {
  /** The id passed to {@link TcpRelayHandler.accepted} and {@link TcpRelayEngine.closeListener}. */
  readonly id: number;
  /** The address it listens on. */
  readonly address: string;
  /** The port it listens on (the one the system chose when 0 was asked for). */
  readonly port: number;
}

/** Options of {@link TcpRelayEngine.connect}. */
export interface TcpRelayConnectOptions {
  /**
   * Bytes sent to the node before anything of the client's (a PROXY protocol header), written in one
   * piece as soon as the node accepts; at most 65536 bytes. Not counted in `bytesToNode`.
   */
  readonly header?: Uint8Array;
  /**
   * The node must accept within this many ms, else the attempt fails with `timedOut` (0: only the
   * system's own SYN retries, about 2 minutes). Default 0.
   */
  readonly connectTimeoutMs?: number;
  /** Close the connection when nothing was read from either side for this many ms (0: never). Default 0. */
  readonly idleTimeoutMs?: number;
}

/** Counters of a {@link TcpRelayEngine} (a snapshot). */
export interface TcpRelayEngineStats {
  /** Connections open (accepted and not yet closed, whatever their state). */
  readonly connections: number;
  /** Listening sockets. */
  readonly listeners: number;
  /**
   * Bytes the engine holds: read from one side and not yet taken by the other (in a direction's buffer or
   * pipe), at most 64 KiB (read/write) or one pipe (splice, 256 KiB) per direction.
   */
  readonly bufferedBytes: number;
  /** Directions currently moving bytes with splice(2) (bulk transfers). */
  readonly splicing: number;
  /** Empty pipes kept for the next bulk transfer (at most 64). */
  readonly pooledPipes: number;
}

/** What {@link tcpRelayEngineStatus} reports. */
export interface TcpRelayEngineStatus {
  /** True when the native addon loaded and has the relay engine. */
  readonly available: boolean;
  /** Why not: the addon does not load (and why), or it is a build without the engine. */
  readonly reason?: string;
}

/**
 * A TCP relay engine: listening sockets and relayed connections driven by native code on the JS thread.
 * Create one with `openTcpRelayEngine(handler)`; see {@link TcpRelayHandler} for what it reports.
 */
export interface TcpRelayEngine {
  /**
   * Listens on `host:port` (`SO_REUSEADDR`; IPv6 addresses only for IPv6, `IPV6_V6ONLY`).
   *
   * @throws NetioInvalidArgumentError `NETIO_INVALID_ARGUMENT` for a host that is not an IP address or a bad
   *   port; NetioSystemError `NETIO_SYSTEM` when the system refuses (`details.errno`: `EADDRINUSE`,
   *   `EACCES` for a port below 1024 without `CAP_NET_BIND_SERVICE`, `EADDRNOTAVAIL`...)
   */
  listen(host: string, port: number, options?: TcpRelayListenOptions): TcpRelayListener;
  /**
   * Stops listening (clients already accepted stay). Returns false when no such listener is open.
   */
  closeListener(id: number): boolean;
  /**
   * Connects an accepted client (answer to {@link TcpRelayHandler.accepted} or
   * {@link TcpRelayHandler.connectFailed}) to `host:port`. Returns false when the connection is gone
   * already (its `closed` call is on its way or was made). A connect the system refuses at once is
   * reported through `connectFailed` too, never thrown.
   *
   * @throws NetioInvalidArgumentError `NETIO_INVALID_ARGUMENT` for a bad host, port, header or timeout, or
   *   a connection that is already connecting or connected
   */
  connect(conn: number, host: string, port: number, options?: TcpRelayConnectOptions): boolean;
  /** Closes a client that gets no node. No `closed` call follows. False when it was not open. */
  reject(conn: number): boolean;
  /**
   * Closes a connection at once, both sockets (a FIN, or a reset when unread bytes are left). No `closed`
   * call follows; returns what it carried, or undefined when it was not open.
   */
  destroy(conn: number): TcpRelayBytes | undefined;
  /** The bytes carried so far by every connected connection, by connection id. */
  bytes(): Map<number, TcpRelayBytes>;
  /** Counters (a snapshot). */
  stats(): TcpRelayEngineStats;
  /**
   * Closes every connection and listener at once, without `closed` calls, and releases the engine's own
   * file descriptors. Idempotent; every other method then throws `NETIO_CLOSED`.
   */
  close(): void;
  /** True after {@link TcpRelayEngine.close}. */
  readonly closed: boolean;
}

/** The addon's RelayEngine class (native/relay.cc). */
interface NativeRelayEngine {
  listen(host: string, port: number, backlog: number): [number, number];
  closeListener(id: number): boolean;
  connect(
    conn: number,
    host: string,
    port: number,
    header: Uint8Array | undefined,
    connectTimeoutMs: number,
    idleTimeoutMs: number,
  ): boolean;
  reject(conn: number): boolean;
  destroy(conn: number): [number, number] | undefined;
  stats(): [number, number, number, number, number];
  bytes(): number[];
  close(): void;
}

/** The constructor of {@link NativeRelayEngine}: the flat event batch goes to `onEvents`. */
export type NativeRelayEngineClass = new (onEvents: (batch: unknown[]) => void) => NativeRelayEngine;

const REASONS: readonly TcpRelayCloseReason[] = ['end', 'idle', 'error'];
const SIDES = [undefined, 'client', 'node'] as const;
const MAX_TIMEOUT = 2 ** 31 - 1;
const MAX_HEADER = 65536;

/** The engine class of the addon `loader` loads, or why there is none. */
function engineClass(loader: AddonLoader): { cls?: NativeRelayEngineClass; reason?: string } {
  const state = loader();
  if (!state.available) return { reason: state.reason };
  const cls = (state.addon as unknown as { RelayEngine?: NativeRelayEngineClass }).RelayEngine;
  if (typeof cls !== 'function')
    return { reason: `${state.path} is a build of the addon without the relay engine` };
  return { cls };
}

/** Whether the addon `loader` loads has the relay engine (see `tcpRelayEngineStatus`). */
export function relayEngineStatus(loader: AddonLoader): TcpRelayEngineStatus {
  const { cls, reason } = engineClass(loader);
  return cls !== undefined ? { available: true } : { available: false, reason };
}

/**
 * Opens an engine of the addon `loader` loads (see `openTcpRelayEngine`).
 *
 * @throws NetioAddonUnavailableError `NETIO_ADDON_UNAVAILABLE` when there is no addon or it has no engine
 */
export function openRelayEngine(loader: AddonLoader, handler: TcpRelayHandler): TcpRelayEngine {
  checkHandler(handler);
  const { cls, reason } = engineClass(loader);
  if (cls === undefined) throw new NetioAddonUnavailableError(reason ?? 'unknown');
  return new LinuxTcpRelayEngine(cls, handler);
}

function checkHandler(handler: TcpRelayHandler): void {
  if (typeof handler !== 'object' || handler === null)
    throw new NetioInvalidArgumentError(
      'handler',
      handler,
      'an object with accepted, connected, connectFailed and closed',
    );
  for (const name of ['accepted', 'connected', 'connectFailed', 'closed'] as const)
    if (typeof handler[name] !== 'function')
      throw new NetioInvalidArgumentError(`handler.${name}`, handler[name], 'a function');
  if (handler.acceptError !== undefined && typeof handler.acceptError !== 'function')
    throw new NetioInvalidArgumentError(
      'handler.acceptError',
      handler.acceptError,
      'a function or undefined',
    );
}

const isPort = (p: unknown, min: number): p is number =>
  typeof p === 'number' && Number.isInteger(p) && p >= min && p <= 65535;
const isId = (n: unknown): n is number =>
  typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 2 ** 32;

function timeout(options: TcpRelayConnectOptions, key: 'connectTimeoutMs' | 'idleTimeoutMs'): number {
  const v = options[key] ?? 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_TIMEOUT)
    throw new NetioInvalidArgumentError(`options.${key}`, v, `an integer number of ms 0..${MAX_TIMEOUT}`);
  return v;
}

class LinuxTcpRelayEngine implements TcpRelayEngine {
  readonly #native: NativeRelayEngine;
  readonly #handler: TcpRelayHandler;
  #closed = false;

  constructor(cls: NativeRelayEngineClass, handler: TcpRelayHandler) {
    this.#handler = handler;
    try {
      this.#native = new cls((batch) => this.#deliver(batch));
    } catch (error) {
      const e = error as { code?: string; syscall?: string };
      throw new NetioSystemError('open a TCP relay engine', e.code ?? 'UNKNOWN', e.syscall ?? '?', {
        cause: error,
      });
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  #open(operation: string): void {
    if (this.#closed) throw closedError(`relay engine: ${operation}`);
  }

  /** Decodes one batch of native events (see native/relay.cc) into handler calls, in order. */
  #deliver(b: unknown[]): void {
    const h = this.#handler;
    for (let i = 0; i < b.length && !this.#closed; ) {
      switch (b[i]) {
        case 1:
          h.accepted(
            b[i + 1] as number,
            b[i + 2] as number,
            b[i + 3] as string,
            b[i + 4] as number,
            b[i + 5] as string,
            b[i + 6] as number,
          );
          i += 7;
          break;
        case 2:
          h.connected(b[i + 1] as number);
          i += 2;
          break;
        case 3:
          h.connectFailed(b[i + 1] as number, b[i + 2] as string, b[i + 3] === 1);
          i += 4;
          break;
        case 4: {
          const reason = REASONS[b[i + 2] as number] ?? 'error';
          const side = SIDES[b[i + 3] as number];
          const info: TcpRelayClosed =
            reason === 'error'
              ? {
                  reason,
                  errorSide: side,
                  errorCode: (b[i + 4] as string) || undefined,
                  bytesToNode: b[i + 5] as number,
                  bytesToClient: b[i + 6] as number,
                }
              : { reason, bytesToNode: b[i + 5] as number, bytesToClient: b[i + 6] as number };
          h.closed(b[i + 1] as number, info);
          i += 7;
          break;
        }
        case 5:
          h.acceptError?.(b[i + 1] as number, b[i + 2] as string);
          i += 3;
          break;
        default:
          throw new Error(`relay engine: unknown event ${String(b[i])} (addon and package out of step)`);
      }
    }
  }

  listen(host: string, port: number, options: TcpRelayListenOptions = {}): TcpRelayListener {
    this.#open('listen');
    if (typeof host !== 'string')
      throw new NetioInvalidArgumentError('host', host, 'an IPv4 or IPv6 address');
    if (!isPort(port, 0)) throw new NetioInvalidArgumentError('port', port, 'an integer 0..65535');
    const backlog = options.backlog ?? 511;
    if (!isPort(backlog, 1))
      throw new NetioInvalidArgumentError('options.backlog', backlog, 'an integer 1..65535');
    try {
      const [id, bound] = this.#native.listen(host, port, backlog);
      return { id, address: host, port: bound };
    } catch (error) {
      const e = error as { code?: string; syscall?: string };
      if (e.syscall === 'argument')
        throw new NetioInvalidArgumentError('host', host, 'an IPv4 or IPv6 address');
      throw new NetioSystemError(`listen on ${host} port ${port}`, e.code ?? 'UNKNOWN', e.syscall ?? '?', {
        cause: error,
      });
    }
  }

  closeListener(id: number): boolean {
    this.#open('closeListener');
    return isId(id) && this.#native.closeListener(id);
  }

  connect(conn: number, host: string, port: number, options: TcpRelayConnectOptions = {}): boolean {
    this.#open('connect');
    if (!isId(conn)) throw new NetioInvalidArgumentError('conn', conn, 'a connection id');
    if (typeof host !== 'string')
      throw new NetioInvalidArgumentError('host', host, 'an IPv4 or IPv6 address');
    if (!isPort(port, 1)) throw new NetioInvalidArgumentError('port', port, 'an integer 1..65535');
    const { header } = options;
    if (header !== undefined && (!(header instanceof Uint8Array) || header.length > MAX_HEADER))
      throw new NetioInvalidArgumentError(
        'options.header',
        header,
        `a Uint8Array of at most ${MAX_HEADER} bytes`,
      );
    const connectTimeoutMs = timeout(options, 'connectTimeoutMs');
    const idleTimeoutMs = timeout(options, 'idleTimeoutMs');
    try {
      return this.#native.connect(conn, host, port, header, connectTimeoutMs, idleTimeoutMs);
    } catch (error) {
      const message = (error as Error).message ?? '';
      if (message.startsWith('not an IP address'))
        throw new NetioInvalidArgumentError('host', host, 'an IPv4 or IPv6 address');
      throw new NetioInvalidArgumentError('conn', conn, `an accepted connection without a node (${message})`);
    }
  }

  reject(conn: number): boolean {
    this.#open('reject');
    return isId(conn) && this.#native.reject(conn);
  }

  destroy(conn: number): TcpRelayBytes | undefined {
    this.#open('destroy');
    if (!isId(conn)) return undefined;
    const r = this.#native.destroy(conn);
    return r === undefined ? undefined : { bytesToNode: r[0], bytesToClient: r[1] };
  }

  bytes(): Map<number, TcpRelayBytes> {
    this.#open('bytes');
    const flat = this.#native.bytes();
    const out = new Map<number, TcpRelayBytes>();
    for (let i = 0; i + 2 < flat.length; i += 3)
      out.set(flat[i] as number, {
        bytesToNode: flat[i + 1] as number,
        bytesToClient: flat[i + 2] as number,
      });
    return out;
  }

  stats(): TcpRelayEngineStats {
    this.#open('stats');
    const [connections, listeners, bufferedBytes, pooledPipes, splicing] = this.#native.stats();
    return { connections, listeners, bufferedBytes, splicing, pooledPipes };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
  }
}

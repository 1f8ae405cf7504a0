// One authenticated connection to a peer: frames in and out, keepalive, timeouts, backpressure.
import type { TLSSocket } from 'node:tls';
import { type Clock, type Logger, noopLogger, systemClock, type TimerHandle } from '@proxyha/common';
import { DEFAULT_MAX_FRAME_BYTES, maxFrameBytesOf } from '../codec/frame';
import {
  CM_PROTOCOL_VERSION,
  type CmEnvelope,
  cmCodeOfWire,
  type ErrorBody,
  encodeCmMessage,
  HANDSHAKE_TYPES,
  MessageDecoder,
  type MessageRegistry,
  WIRE_ERROR_TEXTS,
} from '../codec/messages';
import { CmError } from '../errors';
import type { NodeIdentity } from '../machine/types';
import { cannotConnect, describeErrno, wireOf } from './log';

/** Default TCP port of central management (the seed's). */
export const DEFAULT_CM_PORT = 12346;

/** Options shared by {@link connectPeer} and {@link CmServer}. */
export interface PeerOptions {
  /** This node, as sent in the hello (its `uuid` must be the UUID of its certificate). */
  readonly node: NodeIdentity;
  /** This node's cluster addresses, as sent in the hello; default none. */
  readonly addresses?: readonly string[];
  /** The message types accepted after the handshake; default the handshake types only. */
  readonly registry?: MessageRegistry;
  /** Largest frame payload accepted and sent; default 64 MiB. */
  readonly maxFrameBytes?: number;
  /** Time for TCP, TLS and the hello exchange together, ms; default 10000. */
  readonly handshakeTimeoutMs?: number;
  /** A connection that receives nothing for this long is dropped (301), ms; 0 never; default 90000. */
  readonly idleTimeoutMs?: number;
  /** A `ping` is sent after this long without sending anything, ms; 0 never; default 30000. */
  readonly keepaliveMs?: number;
  /**
   * A peer that stops mid-frame, or stops reading what we send, for this long is dropped (301,
   * `details.reason` `stalled`), ms; default 30000.
   */
  readonly stallTimeoutMs?: number;
  /**
   * Largest accepted difference between the peer's wall clock and ours at the handshake, ms; a larger one
   * is refused with `405 - 'time difference too high'`. `Infinity` turns the check off; default 60000.
   */
  readonly maxClockSkewMs?: number;
  /** The protocol versions this node speaks; default `[CM_PROTOCOL_VERSION]`. */
  readonly protocols?: readonly number[];
  /**
   * Called with each peer that completes the hello exchange, before it counts as connected: return an
   * error to refuse it (sent to the peer with the error's wire number), e.g. `CM_INCOMPATIBLE_VERSION`
   * for a software version this node does not accept.
   */
  readonly acceptPeer?: (peer: PeerHandshake) => CmError | undefined;
  /** Time and timers; default the system clock. */
  readonly clock?: Clock;
  /** Where the operator lines go; default none. */
  readonly logger?: Logger;
}

/** What a peer said about itself in the handshake, and what its certificate says. */
export interface PeerHandshake {
  /** The peer as it introduced itself (its `uuid` equals its certificate's). */
  readonly node: NodeIdentity;
  /** The peer's cluster addresses as it announced them. */
  readonly addresses: readonly string[];
  /** The protocol version spoken on this connection. */
  readonly protocol: number;
  /** `add` when the peer connected for "add node" (its hello said so). */
  readonly purpose?: 'add';
  /** The peer's wall clock in its hello (or hello-ack), ms since the epoch. */
  readonly clock: number;
  /** Estimated difference peer clock minus ours, ms (positive: the peer is ahead). */
  readonly clockOffsetMs: number;
  /** The peer's certificate. */
  readonly certificate: {
    /** The UUID it names (subject CN / `urn:uuid:` SAN). */
    readonly uuid: string;
    /** The node name it names (subject OU), if any. */
    readonly name?: string;
    /** Its SHA-256 fingerprint, colon-separated upper-case hex. */
    readonly fingerprint256: string;
  };
  /** The peer's IP address and port. */
  readonly remoteAddress: string;
  /** The peer's port. */
  readonly remotePort: number;
}

/** A message to send: the connection stamps `clock` itself. */
export interface OutgoingMessage<T extends string = string, B = unknown> {
  /** A registered type (or `error` with an `id`, to fail a request). */
  readonly type: T;
  /** Request id. */
  readonly id?: string;
  /** The body: an object. */
  readonly body: B;
}

/**
 * A connected peer: both sides authenticated by the cluster CA and the hello exchange done. Created by
 * {@link connectPeer} and handed out by {@link CmServer}; the transport answers pings itself, and an
 * `error` message without an id closes the connection with that error.
 */
export interface PeerConnection {
  /** `client` when this node connected, `server` when the peer did. */
  readonly role: 'client' | 'server';
  /** The peer. */
  readonly peer: PeerHandshake;
  /** `open` until the connection closes. */
  readonly state: 'open' | 'closed';
  /** Bytes handed to the socket and not yet sent. */
  readonly bufferedBytes: number;
  /** Bytes written to the socket so far (every frame: handshake, messages, pings). */
  readonly bytesSent: number;
  /** Bytes read from the socket so far. */
  readonly bytesReceived: number;
  /** Settles with why the connection closed (undefined for an orderly close by either side). */
  readonly closed: Promise<CmError | undefined>;
  /**
   * Sends a message. Resolves once the socket has taken it; while the socket buffer is full (the peer
   * reads slowly) it waits for the buffer to drain, so awaiting each send bounds memory.
   *
   * @throws CmError `CM_CANNOT_CONNECT` when the connection is closed; `CM_BAD_FRAME` when the message
   *   exceeds `maxFrameBytes` (the connection stays open); `CM_INVALID_ARGUMENT` for a handshake type
   */
  send(message: OutgoingMessage): Promise<void>;
  /**
   * Adds a listener for received messages (registered types and `error` with an id). Messages that
   * arrive before the first listener is added are kept and handed to it.
   *
   * @returns a function that removes the listener
   */
  onMessage(listener: (message: CmEnvelope) => void): () => void;
  /**
   * Adds a listener called once when the connection closes, with why (undefined for an orderly close).
   *
   * @returns a function that removes the listener
   */
  onClose(listener: (error: CmError | undefined) => void): () => void;
  /**
   * Closes the connection. With an error, sends it to the peer first (`error` message with its wire
   * number: 301, 405, ...).
   */
  close(error?: CmError): void;
}

/** Options with defaults applied (internal). */
export interface ResolvedOptions {
  readonly node: NodeIdentity;
  readonly addresses: readonly string[];
  readonly registry: MessageRegistry | undefined;
  readonly maxFrameBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly keepaliveMs: number;
  readonly stallTimeoutMs: number;
  readonly maxClockSkewMs: number;
  readonly protocols: readonly number[];
  readonly acceptPeer: ((peer: PeerHandshake) => CmError | undefined) | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
}

function ms(value: number | undefined, fallback: number, name: string, allowZero: boolean): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0 || (!allowZero && v === 0))
    throw new CmError(
      'CM_INVALID_ARGUMENT',
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of ms (got ${String(value)})`,
      {
        details: { [name]: value },
      },
    );
  return v;
}

/** Applies the defaults of {@link PeerOptions} and checks them (internal). */
export function resolveOptions(options: PeerOptions): ResolvedOptions {
  const node = options.node;
  if (
    !node ||
    typeof node.uuid !== 'string' ||
    !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(node.uuid)
  )
    throw new CmError(
      'CM_INVALID_ARGUMENT',
      `node.uuid must be a lower-case UUID (got ${JSON.stringify(node?.uuid)})`,
      {
        details: { path: 'node.uuid' },
      },
    );
  const protocols = options.protocols ?? [CM_PROTOCOL_VERSION];
  if (protocols.length === 0 || !protocols.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535))
    throw new CmError('CM_INVALID_ARGUMENT', 'protocols must list protocol versions (integers 1..65535)', {
      details: { protocols },
    });
  return {
    node,
    addresses: options.addresses ?? [],
    registry: options.registry,
    maxFrameBytes: maxFrameBytesOf({ maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES }),
    handshakeTimeoutMs: ms(options.handshakeTimeoutMs, 10_000, 'handshakeTimeoutMs', false),
    idleTimeoutMs: ms(options.idleTimeoutMs, 90_000, 'idleTimeoutMs', true),
    keepaliveMs: ms(options.keepaliveMs, 30_000, 'keepaliveMs', true),
    stallTimeoutMs: ms(options.stallTimeoutMs, 30_000, 'stallTimeoutMs', false),
    maxClockSkewMs: ms(options.maxClockSkewMs, 60_000, 'maxClockSkewMs', true),
    protocols,
    acceptPeer: options.acceptPeer,
    clock: options.clock ?? systemClock,
    logger: options.logger ?? noopLogger,
  };
}

/** An error received from the peer as a CmError (internal). */
export function errorFromPeer(body: ErrorBody, context: Readonly<Record<string, unknown>>): CmError {
  const code = cmCodeOfWire(body.code);
  const text = body.detail ? body.detail : `the peer refused: (${body.code} - '${body.text}')`;
  return new CmError(code, text, {
    details: {
      wire: body.code,
      reason: 'refused-by-peer',
      peerText: body.text,
      peerDetail: body.detail,
      ...context,
    },
  });
}

const NOT_SENDABLE = HANDSHAKE_TYPES.filter((t) => t !== 'error');

/**
 * The connection engine behind {@link PeerConnection}: it runs the handshake phase for the client and
 * server code, then carries messages (internal).
 */
export class Connection implements PeerConnection {
  readonly role: 'client' | 'server';
  readonly #socket: TLSSocket;
  readonly #o: ResolvedOptions;
  readonly #decoder: MessageDecoder;
  readonly #context: Record<string, unknown>;
  #state: 'handshaking' | 'open' | 'closed' = 'handshaking';
  #peer: PeerHandshake | undefined;
  readonly #messageListeners = new Set<(m: CmEnvelope) => void>();
  readonly #closeListeners = new Set<(e: CmError | undefined) => void>();
  readonly #queue: CmEnvelope[] = [];
  #handshakeWaiter:
    | { resolve: (m: CmEnvelope) => void; reject: (e: CmError | undefined) => void }
    | undefined;
  readonly #handshakeInbox: CmEnvelope[] = [];
  #closeError: CmError | undefined;
  #resolveClosed!: (e: CmError | undefined) => void;
  readonly closed: Promise<CmError | undefined>;
  readonly #startedAt: number;
  #lastRx: number;
  #lastTx: number;
  #drainingSince: number | undefined;
  readonly #drainWaiters: { resolve: () => void; reject: (e: CmError) => void }[] = [];
  #timer: TimerHandle | undefined;
  #timerDue = Number.POSITIVE_INFINITY;
  /** Bytes received so far. */
  received = 0;
  /** Bytes written so far. */
  sent = 0;

  constructor(
    socket: TLSSocket,
    role: 'client' | 'server',
    options: ResolvedOptions,
    context: Record<string, unknown>,
  ) {
    this.#socket = socket;
    this.role = role;
    this.#o = options;
    this.#context = context;
    this.#decoder = new MessageDecoder({
      maxFrameBytes: options.maxFrameBytes,
      ...(options.registry ? { registry: options.registry } : {}),
    });
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#startedAt = options.clock.now();
    this.#lastRx = this.#startedAt;
    this.#lastTx = this.#startedAt;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#onDrain());
    socket.on('error', (e: NodeJS.ErrnoException) => this.#onSocketError(e));
    socket.on('end', () => this.#onEnd());
    socket.on('close', () => this.#onSocketClose());
    this.#schedule();
  }

  get peer(): PeerHandshake {
    if (!this.#peer) throw new CmError('CM_INVALID_ARGUMENT', 'the handshake is not complete');
    return this.#peer;
  }

  get state(): 'open' | 'closed' {
    return this.#state === 'closed' ? 'closed' : 'open';
  }

  get bufferedBytes(): number {
    return this.#socket.writableLength;
  }

  get bytesSent(): number {
    return this.sent;
  }

  get bytesReceived(): number {
    return this.received;
  }

  /** The socket (internal). */
  get socket(): TLSSocket {
    return this.#socket;
  }

  /** Whether the connection has closed (internal; includes the handshake phase). */
  get isClosed(): boolean {
    return this.#state === 'closed';
  }

  /** The options (internal). */
  get options(): ResolvedOptions {
    return this.#o;
  }

  /** The next message of the handshake phase; rejects with the close error (undefined: closed cleanly). */
  nextHandshakeMessage(): Promise<CmEnvelope> {
    const queued = this.#handshakeInbox.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#state === 'closed') return Promise.reject(this.#closeError);
    return new Promise((resolve, reject) => {
      this.#handshakeWaiter = { resolve, reject };
    });
  }

  /** Sends a handshake message (internal): any type, stamped now. */
  sendRaw(type: string, body: unknown, id?: string): void {
    if (this.#state === 'closed') return;
    const frame = encodeCmMessage(
      id === undefined ? { type, clock: this.wallNow(), body } : { type, id, clock: this.wallNow(), body },
      { maxFrameBytes: this.#o.maxFrameBytes },
    );
    this.#write(frame);
  }

  /** Our wall clock, whole ms. */
  wallNow(): number {
    return Math.round(this.#o.clock.wallTime());
  }

  /** Ends the handshake phase: the peer counts as connected from now on (internal). */
  open(peer: PeerHandshake): void {
    if (this.#state !== 'handshaking') return;
    this.#peer = peer;
    this.#state = 'open';
    for (const m of this.#handshakeInbox.splice(0)) {
      if (this.isClosed) return;
      this.#dispatch(m);
    }
    this.#schedule();
  }

  async send(message: OutgoingMessage): Promise<void> {
    if (this.#state !== 'open') throw this.#closedError();
    if (typeof message?.type !== 'string' || NOT_SENDABLE.includes(message.type))
      throw new CmError(
        'CM_INVALID_ARGUMENT',
        `cannot send a message of type ${JSON.stringify(message?.type)}`,
        {
          details: { type: message?.type },
        },
      );
    const stamped: CmEnvelope =
      message.id === undefined
        ? { type: message.type, clock: this.wallNow(), body: message.body }
        : { type: message.type, id: message.id, clock: this.wallNow(), body: message.body };
    const frame = encodeCmMessage(stamped, { maxFrameBytes: this.#o.maxFrameBytes });
    if (this.#write(frame)) return;
    await new Promise<void>((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  onMessage(listener: (message: CmEnvelope) => void): () => void {
    this.#messageListeners.add(listener);
    if (this.#queue.length > 0 && this.#messageListeners.size === 1) {
      queueMicrotask(() => {
        for (const m of this.#queue.splice(0)) this.#emitMessage(m);
      });
    }
    return () => this.#messageListeners.delete(listener);
  }

  onClose(listener: (error: CmError | undefined) => void): () => void {
    if (this.#state === 'closed') {
      const e = this.#closeError;
      queueMicrotask(() => listener(e));
      return () => {};
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  close(error?: CmError): void {
    if (this.#state === 'closed') return;
    if (error) this.fail(error, true);
    else this.#terminate(undefined, 'end');
  }

  /** Closes with an error, telling the peer first when `notify` (internal). */
  fail(error: CmError, notify: boolean): void {
    if (this.#state === 'closed') return;
    if (notify && this.#socket.writable) {
      const wire = wireOf(error);
      const body: ErrorBody = {
        code: wire,
        text: (WIRE_ERROR_TEXTS as Readonly<Record<number, string>>)[wire] ?? 'error',
        detail: error.message.slice(0, 8000),
      };
      try {
        this.sendRaw('error', body);
      } catch {
        // the error could not be encoded: close without it
      }
      this.#terminate(error, 'end');
    } else this.#terminate(error, 'destroy');
  }

  #closedError(): CmError {
    return cannotConnect('the connection is closed', 'closed', this.#context, this.#closeError);
  }

  #write(frame: Buffer): boolean {
    this.#lastTx = this.#o.clock.now();
    this.sent += frame.length;
    const flushed = this.#socket.write(frame);
    if (!flushed && this.#drainingSince === undefined) {
      this.#drainingSince = this.#lastTx;
      this.#schedule();
    }
    return flushed;
  }

  #onDrain(): void {
    this.#drainingSince = undefined;
    for (const w of this.#drainWaiters.splice(0)) w.resolve();
  }

  #onData(chunk: Buffer): void {
    if (this.#state === 'closed') return;
    this.received += chunk.length;
    this.#lastRx = this.#o.clock.now();
    const batch = this.#decoder.push(chunk);
    for (const m of batch.messages) {
      if (this.isClosed) return;
      this.#dispatch(m);
    }
    if (this.isClosed) return;
    if (batch.error) {
      this.#o.logger.warn(
        `[Coordinator] [BadPeerMessage] ${this.#peerText()}: ${batch.error.message}; closing the connection`,
        { ...this.#context, code: batch.error.code },
      );
      this.fail(
        new CmError(batch.error.code, batch.error.message, {
          details: { ...batch.error.details, ...this.#context },
        }),
        true,
      );
      return;
    }
    this.#schedule();
  }

  #peerText(): string {
    const p = this.#peer;
    const where = `${String(this.#context.address ?? '?')}`;
    return p ? `node ${p.node.uuid} (${p.node.name}) at ${where}` : `peer at ${where}`;
  }

  #dispatch(m: CmEnvelope): void {
    if (m.type === 'ping') {
      this.sendRaw('pong', {});
      return;
    }
    if (m.type === 'pong') return;
    if (m.type === 'error' && m.id === undefined) {
      this.#terminate(errorFromPeer(m.body as ErrorBody, this.#context), 'end');
      return;
    }
    if (this.#state === 'handshaking') {
      const w = this.#handshakeWaiter;
      if (w) {
        this.#handshakeWaiter = undefined;
        w.resolve(m);
      } else this.#handshakeInbox.push(m);
      return;
    }
    if (m.type === 'hello' || m.type === 'hello-ack') {
      this.fail(
        new CmError('CM_BAD_MESSAGE', `unexpected ${m.type} after the handshake`, {
          details: { type: m.type, ...this.#context },
        }),
        true,
      );
      return;
    }
    this.#deliver(m);
  }

  #deliver(m: CmEnvelope): void {
    if (this.#messageListeners.size === 0 || this.#queue.length > 0) this.#queue.push(m);
    else this.#emitMessage(m);
  }

  #emitMessage(m: CmEnvelope): void {
    for (const l of [...this.#messageListeners]) {
      try {
        l(m);
      } catch (e) {
        this.#o.logger.error(`[Coordinator] message listener failed: ${(e as Error).message}`, this.#context);
      }
    }
  }

  #onSocketError(e: NodeJS.ErrnoException): void {
    if (this.#state === 'closed') return;
    const action = this.#state === 'handshaking' ? 'hello' : 'message';
    const detail = `${action}: failure '${describeErrno(e.code, e.message)}' while receiving response - last action: read`;
    this.#terminate(
      cannotConnect(
        detail,
        e.code === 'ECONNRESET' ? 'reset' : 'closed',
        { ...this.#context, errno: e.code },
        e,
      ),
      'destroy',
    );
  }

  #onEnd(): void {
    // the peer closed its side: an orderly close when open and nothing is half-received
    if (this.#state === 'closed') return;
    if (this.#state === 'open' && !this.#decoder.midFrame) this.#terminate(undefined, 'end');
    else this.#onSocketClose();
  }

  #onSocketClose(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'handshaking')
      this.#terminate(
        cannotConnect('hello: the connection closed during the handshake', 'closed', this.#context),
        'destroy',
      );
    else if (this.#decoder.midFrame)
      this.#terminate(
        cannotConnect(
          `message: failure '${describeErrno('ENOTCONN', 'closed')}' while receiving response - last action: read (the peer closed the connection mid-frame)`,
          'closed',
          this.#context,
        ),
        'destroy',
      );
    else this.#terminate(undefined, 'destroy');
  }

  #terminate(error: CmError | undefined, how: 'end' | 'destroy'): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#closeError = error;
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (how === 'end' && !this.#socket.destroyed) {
      this.#socket.end(() => this.#socket.destroy());
      // a peer that does not read may never let `end` finish
      const t = setTimeout(() => this.#socket.destroy(), 2000);
      t.unref();
    } else this.#socket.destroy();
    const closedErr = this.#closedError();
    for (const w of this.#drainWaiters.splice(0)) w.reject(closedErr);
    const waiter = this.#handshakeWaiter;
    this.#handshakeWaiter = undefined;
    waiter?.reject(error);
    this.#resolveClosed(error);
    for (const l of [...this.#closeListeners]) {
      try {
        l(error);
      } catch (e) {
        this.#o.logger.error(`[Coordinator] close listener failed: ${(e as Error).message}`, this.#context);
      }
    }
    this.#closeListeners.clear();
  }

  /** Arms the one timer for the earliest deadline (handshake, idle, stall, keepalive). */
  #schedule(): void {
    if (this.#state === 'closed') return;
    const due = this.#nextDeadline();
    if (due >= this.#timerDue && this.#timer) return;
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = due;
    if (!Number.isFinite(due)) return;
    this.#timer = this.#o.clock.setTimeout(() => this.#onTimer(), Math.max(0, due - this.#o.clock.now()));
  }

  #nextDeadline(): number {
    const o = this.#o;
    let due = Number.POSITIVE_INFINITY;
    if (this.#state === 'handshaking') due = Math.min(due, this.#startedAt + o.handshakeTimeoutMs);
    if (this.#state === 'open') {
      if (o.idleTimeoutMs > 0) due = Math.min(due, this.#lastRx + o.idleTimeoutMs);
      if (o.keepaliveMs > 0) due = Math.min(due, this.#lastTx + o.keepaliveMs);
    }
    if (this.#decoder.midFrame) due = Math.min(due, this.#lastRx + o.stallTimeoutMs);
    if (this.#drainingSince !== undefined) due = Math.min(due, this.#drainingSince + o.stallTimeoutMs);
    return due;
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerDue = Number.POSITIVE_INFINITY;
    if (this.#state === 'closed') return;
    const o = this.#o;
    const now = o.clock.now();
    if (this.#state === 'handshaking' && now >= this.#startedAt + o.handshakeTimeoutMs) {
      this.fail(
        cannotConnect(
          `hello: failure '${describeErrno('ETIMEDOUT', 'timeout')}' while receiving response - last action: handshake`,
          'timeout',
          { ...this.#context, timeoutMs: o.handshakeTimeoutMs },
        ),
        true,
      );
      return;
    }
    if (this.#decoder.midFrame && now >= this.#lastRx + o.stallTimeoutMs) {
      const e = cannotConnect(
        `message: failure '${describeErrno('ETIMEDOUT', 'timeout')}' while receiving response - last action: read (the peer stalled mid-frame: ${this.#decoder.buffered} bytes of a frame received, nothing for ${o.stallTimeoutMs} ms)`,
        'stalled',
        { ...this.#context, buffered: this.#decoder.buffered, stallTimeoutMs: o.stallTimeoutMs },
      );
      o.logger.warn(`[Coordinator] [PeerStalled] ${this.#peerText()}: ${e.message}`, this.#context);
      this.fail(e, true);
      return;
    }
    if (this.#drainingSince !== undefined && now >= this.#drainingSince + o.stallTimeoutMs) {
      const e = cannotConnect(
        `message: failure '${describeErrno('ETIMEDOUT', 'timeout')}' while sending request - last action: write (the peer has not read for ${o.stallTimeoutMs} ms; ${this.#socket.writableLength} bytes wait)`,
        'stalled',
        { ...this.#context, bufferedBytes: this.#socket.writableLength, stallTimeoutMs: o.stallTimeoutMs },
      );
      o.logger.warn(`[Coordinator] [PeerStalled] ${this.#peerText()}: ${e.message}`, this.#context);
      this.fail(e, false);
      return;
    }
    if (this.#state === 'open' && o.idleTimeoutMs > 0 && now >= this.#lastRx + o.idleTimeoutMs) {
      const e = cannotConnect(
        `message: failure '${describeErrno('ETIMEDOUT', 'timeout')}' while receiving response - last action: read (nothing received for ${o.idleTimeoutMs} ms)`,
        'idle',
        { ...this.#context, idleTimeoutMs: o.idleTimeoutMs },
      );
      o.logger.warn(`[Coordinator] [PeerIdle] ${this.#peerText()}: ${e.message}`, this.#context);
      this.fail(e, true);
      return;
    }
    if (
      this.#state === 'open' &&
      o.keepaliveMs > 0 &&
      now >= this.#lastTx + o.keepaliveMs &&
      this.#drainingSince === undefined
    )
      this.sendRaw('ping', {});
    this.#schedule();
  }
}

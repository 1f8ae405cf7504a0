// CmServer: the node's listener. TLS 1.3, client certificates required, the cluster CAs the only anchors.
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { type CmEnvelope, type HelloBody, WIRE_ERROR_TEXTS } from '../codec/messages';
import { CmError } from '../errors';
import type { NodeTlsIdentity } from '../identity/files';
import {
  Connection,
  DEFAULT_CM_PORT,
  type PeerConnection,
  type PeerOptions,
  type ResolvedOptions,
  resolveOptions,
} from './connection';
import {
  certificateHint,
  checkOwnIdentity,
  checkPeer,
  hostPort,
  nodeOfHello,
  peerCertificateOf,
  rememberRemote,
  remoteOf,
  tlsContextOptions,
} from './handshake';
import { wireOf } from './log';

/** Options of {@link CmServer}. */
export interface CmServerOptions extends PeerOptions {
  /** This node's certificate and key and the trusted cluster CAs (several during a CA rotation). */
  readonly identity: NodeTlsIdentity;
  /** Address to listen on; default all (`::` / `0.0.0.0`). */
  readonly host?: string;
  /** TCP port; default {@link DEFAULT_CM_PORT} (12346); 0 picks a free one. */
  readonly port?: number;
  /** Called with each peer once its hello is accepted and answered (it counts as connected). */
  readonly onPeer: (connection: PeerConnection) => void;
}

/**
 * The central-management listener of a node. Peers must present a certificate of a trusted cluster CA
 * (TLS 1.3, `requestCert` and `rejectUnauthorized`), then send a hello whose UUID is their certificate's,
 * with a compatible protocol and a clock within `maxClockSkewMs`; otherwise they are refused with an
 * `error` message (405, 426, 403) and the connection closes.
 *
 * Log lines (warn/error): `[Coordinator] [SslFailure] ssl failure on message socket from <address> while
 * receiving request - last action: certificate verification - '<code>' (...)` for a peer whose
 * certificate comes from another CA, and `[Coordinator] [IncomingRequestRefused] Message '<hello>' from
 * node <uuid> (<name>) at <address> refused with error '(405 - 'time difference too high') - "..."'`.
 */
export class CmServer {
  readonly #o: ResolvedOptions;
  readonly #options: CmServerOptions;
  readonly #server: tls.Server;
  readonly #connections = new Set<Connection>();
  readonly #raw = new Set<Socket>();
  readonly #handshaking = new WeakSet<Connection>();
  #closing = false;

  /**
   * @param options - identity, this node, address, limits, `onPeer`
   * @throws CmError `CM_INVALID_ARGUMENT` for bad options; `CM_CERTIFICATE` when the identity cannot be
   *   used or its certificate names another node
   */
  constructor(options: CmServerOptions) {
    this.#o = resolveOptions(options);
    this.#options = options;
    if (typeof options.onPeer !== 'function')
      throw new CmError('CM_INVALID_ARGUMENT', 'onPeer must be a function', { details: { path: 'onPeer' } });
    checkOwnIdentity(options.identity, this.#o.node.uuid);
    secureContextOf(options.identity);
    this.#server = tls.createServer({
      ...tlsContextOptions(options.identity),
      requestCert: true,
      rejectUnauthorized: true,
      handshakeTimeout: this.#o.handshakeTimeoutMs,
    });
    this.#server.on('connection', (raw: Socket) => {
      this.#raw.add(raw);
      rememberRemote(raw);
      raw.once('close', () => this.#raw.delete(raw));
    });
    this.#server.on('secureConnection', (socket: tls.TLSSocket) => void this.#accept(socket));
    this.#server.on('tlsClientError', (e: NodeJS.ErrnoException, socket: tls.TLSSocket) =>
      this.#tlsFailure(e, socket),
    );
  }

  /**
   * Starts listening.
   *
   * @returns the address and port listened on
   * @throws CmError `CM_NO_LISTENER` when the address cannot be bound (in use, not local)
   */
  listen(): Promise<{
    /** The address listened on. */
    host: string;
    /** The port listened on (the one the system chose for port 0). */
    port: number;
  }> {
    const host = this.#options.host;
    const port = this.#options.port ?? DEFAULT_CM_PORT;
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        reject(
          new CmError(
            'CM_NO_LISTENER',
            `cannot listen on ${hostPort(host ?? '*', port)}: ${e.code ?? e.message}`,
            {
              cause: e,
              details: { host, port, errno: e.code },
            },
          ),
        );
      };
      this.#server.once('error', onError);
      this.#server.listen({ port, ...(host === undefined ? {} : { host }) }, () => {
        this.#server.removeListener('error', onError);
        this.#server.on('error', (e) => this.#o.logger.error(`[Coordinator] listener error: ${e.message}`));
        const a = this.#server.address();
        const bound =
          typeof a === 'object' && a !== null
            ? { host: a.address, port: a.port }
            : { host: host ?? '', port };
        this.#o.logger.info(`[Coordinator] listening on ${hostPort(bound.host, bound.port)}`, bound);
        resolve(bound);
      });
    });
  }

  /** The port listened on (after {@link CmServer.listen}), else undefined. */
  get port(): number | undefined {
    const a = this.#server.address();
    return typeof a === 'object' && a !== null ? a.port : undefined;
  }

  /** The connected peers. */
  get connections(): readonly PeerConnection[] {
    return [...this.#connections].filter((c) => c.state === 'open' && !this.#handshaking.has(c));
  }

  /**
   * Replaces the certificate, key and trusted CAs for new connections (open ones keep theirs): for a
   * certificate renewal, and for a CA rotation (trust old and new CA at once, then the new one only).
   *
   * @param identity - the new identity; its certificate must still name this node
   * @throws CmError `CM_CERTIFICATE` when the identity cannot be used
   */
  setSecureContext(identity: NodeTlsIdentity): void {
    checkOwnIdentity(identity, this.#o.node.uuid);
    secureContextOf(identity);
    this.#server.setSecureContext(tlsContextOptions(identity));
    this.#o.logger.info(
      `[Coordinator] TLS identity replaced (${identity.caPems.length} trusted cluster CA(s))`,
    );
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const c of this.#connections) c.close();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        for (const s of this.#raw) s.destroy();
      }, 1000);
      force.unref();
      if (!this.#server.listening) {
        for (const s of this.#raw) s.destroy();
        clearTimeout(force);
        resolve();
        return;
      }
      this.#server.close(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  async #accept(socket: tls.TLSSocket): Promise<void> {
    const o = this.#o;
    const remote = remoteOf(socket);
    const where = hostPort(remote.address, remote.port);
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const cert = peerCertificateOf(socket);
    const context: Record<string, unknown> = {
      address: where,
      ...(cert.uuid === undefined ? {} : { uuid: cert.uuid }),
      ...(cert.name === undefined ? {} : { name: cert.name }),
    };
    if (cert.uuid === undefined) {
      o.logger.error(
        `[Coordinator] [SslFailure] ssl failure on message socket from ${where} while receiving request - last action: certificate verification - 'the certificate names no node UUID'`,
        context,
      );
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, 'server', o, context);
    this.#connections.add(conn);
    this.#handshaking.add(conn);
    conn.onClose(() => this.#connections.delete(conn));
    let hello: CmEnvelope;
    try {
      hello = await conn.nextHandshakeMessage();
    } catch (e) {
      o.logger.warn(
        `[Coordinator] [IncomingRequestFailed] connection from node ${cert.uuid}${cert.name ? ` (${cert.name})` : ''} at ${where} closed before its hello: ${e instanceof Error ? e.message : 'closed'}`,
        context,
      );
      return;
    }
    const peerName = `${cert.uuid}${cert.name ? ` (${cert.name})` : ''}`;
    const refuse = (error: CmError) => {
      const wire = wireOf(error);
      const text = (WIRE_ERROR_TEXTS as Readonly<Record<number, string>>)[wire] ?? 'error';
      o.logger.warn(
        `[Coordinator] [IncomingRequestRefused] Message '<${hello.type}>' from node ${peerName} at ${where} refused with error '(${wire} - '${text}') - "${error.message}"'`,
        { ...context, code: error.code },
      );
      conn.fail(error, true);
    };
    if (hello.type !== 'hello') {
      refuse(
        new CmError('CM_BAD_MESSAGE', `expected hello, got ${hello.type}`, { details: { type: hello.type } }),
      );
      return;
    }
    const body = hello.body as HelloBody;
    if (body.to !== undefined && body.to !== o.node.uuid) {
      refuse(
        new CmError('CM_CERTIFICATE', `hello: this is node ${o.node.uuid} (${o.node.name}), not ${body.to}`, {
          details: { wire: 403, to: body.to },
        }),
      );
      return;
    }
    const offset = hello.clock - conn.wallNow();
    const checked = checkPeer(o, 'hello', body, hello.clock, offset, cert, remote);
    if (checked instanceof CmError) {
      refuse(checked);
      return;
    }
    conn.sendRaw('hello-ack', {
      protocol: body.protocol,
      node: nodeOfHello(o.node),
      addresses: [...o.addresses],
      helloClock: hello.clock,
    });
    conn.open(checked);
    this.#handshaking.delete(conn);
    o.logger.info(`[Coordinator] [NodeConnected] node ${peerName} at ${where} (incoming)`, {
      ...context,
      clockOffsetMs: offset,
    });
    try {
      this.#options.onPeer(conn);
    } catch (e) {
      o.logger.error(`[Coordinator] onPeer failed: ${(e as Error).message}`, context);
    }
  }

  #tlsFailure(e: NodeJS.ErrnoException, socket: tls.TLSSocket): void {
    const remote = remoteOf(socket);
    const where = hostPort(remote.address, remote.port);
    const verify = (socket as unknown as { authorizationError?: unknown }).authorizationError;
    const fields = { address: where, errno: e.code, authorizationError: verify };
    if (typeof verify === 'string' && verify !== '') {
      this.#o.logger.error(
        `[Coordinator] [SslFailure] ssl failure on message socket from ${where} while receiving request - last action: certificate verification - '${verify}' (${certificateHint(verify)})`,
        fields,
      );
    } else if (e.code === 'ECONNRESET') {
      this.#o.logger.warn(
        `[Coordinator] [SslFailure] ssl failure on message socket from ${where} while receiving request - last action: certificate verification - 'the peer closed the connection during the TLS handshake' (it may not accept this node's certificate: are both nodes using the same cluster CA?)`,
        fields,
      );
    } else {
      this.#o.logger.warn(
        `[Coordinator] [SslFailure] ssl failure on message socket from ${where} while receiving request - last action: handshake - '${e.code ?? e.message}'`,
        fields,
      );
    }
  }
}

/** Builds a secure context to check the identity's PEMs; throws `CM_CERTIFICATE` when they are unusable. */
function secureContextOf(identity: NodeTlsIdentity): tls.SecureContext {
  try {
    return tls.createSecureContext(tlsContextOptions(identity));
  } catch (cause) {
    throw new CmError('CM_CERTIFICATE', `the TLS identity cannot be used: ${(cause as Error).message}`, {
      cause,
    });
  }
}

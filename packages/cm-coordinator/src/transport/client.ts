// connectPeer: TCP, TLS 1.3 with both certificates, then hello / hello-ack.
import * as tls from 'node:tls';
import { canonicalIp } from '@proxyha/common';
import type { CmEnvelope, HelloAckBody, HelloBody } from '../codec/messages';
import { CmError } from '../errors';
import type { NodeTlsIdentity } from '../identity/files';
import {
  Connection,
  DEFAULT_CM_PORT,
  type PeerConnection,
  type PeerOptions,
  resolveOptions,
} from './connection';
import {
  certificateHint,
  checkOwnIdentity,
  checkPeer,
  hostPort,
  isCertificateError,
  nodeOfHello,
  peerCertificateOf,
  tlsContextOptions,
} from './handshake';
import { cannotConnect, describeErrno, formatNodeRequestFailed, wireOf } from './log';

/** A peer's address: a host (IP or DNS name) and a port. */
export interface PeerAddress {
  /** IP address or DNS name. */
  readonly host: string;
  /** TCP port; default {@link DEFAULT_CM_PORT} (12346). */
  readonly port?: number;
}

/** Options of {@link connectPeer}. */
export interface ConnectPeerOptions extends PeerOptions {
  /** This node's certificate and key and the trusted cluster CAs. */
  readonly identity: NodeTlsIdentity;
  /**
   * UUID of the node expected at the address, when known: a peer whose certificate names another UUID
   * is refused. Unknown (adding a node by address), any certificate of the cluster CA is accepted.
   */
  readonly expectedUuid?: string;
  /** Name of the node expected, for the log lines. */
  readonly expectedName?: string;
  /** Name of the request the connection is for, in the log lines; default `hello`. */
  readonly messageName?: string;
  /** Local address to connect from. */
  readonly localAddress?: string;
  /** `add` when the connection is for "add node" (sent in the hello; the peer accepts it whatever the groups). */
  readonly purpose?: 'add';
}

/**
 * Parses `host`, `host:port`, `[v6]:port` or a bare IPv6 address.
 *
 * @param address - the text or parts
 * @param defaultPort - the port when none is given; default 12346
 * @throws CmError `CM_INVALID_ARGUMENT` for a malformed address or port
 */
export function parsePeerAddress(
  address: string | PeerAddress,
  defaultPort = DEFAULT_CM_PORT,
): {
  /** The host name, or the IP address in canonical form (IPv6 without brackets). */
  host: string;
  /** The port. */
  port: number;
} {
  let host: string;
  let port: number | string | undefined;
  if (typeof address === 'string') {
    const text = address.trim();
    const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
    if (bracket) {
      host = bracket[1] as string;
      port = bracket[2];
    } else if ((text.match(/:/g) ?? []).length > 1) host = text;
    else {
      const [h, p] = text.split(':');
      host = h ?? '';
      port = p;
    }
  } else {
    host = address?.host;
    port = address?.port;
  }
  const n = port === undefined || port === '' ? defaultPort : Number(port);
  if (typeof host !== 'string' || host === '' || !Number.isInteger(n) || n < 1 || n > 65535)
    throw new CmError('CM_INVALID_ARGUMENT', `not a peer address: ${JSON.stringify(address)}`, {
      details: { address },
    });
  return { host: canonicalIp(host) ?? host, port: n };
}

const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL']);

/**
 * Connects to a peer: TCP, TLS 1.3 (this node's certificate as the client certificate, the peer's checked
 * against the cluster CAs and, when `expectedUuid` is given, its UUID), then the hello / hello-ack exchange
 * that carries both identities, clocks and protocol versions. The peer counts as connected only once its
 * hello-ack is in and checked.
 *
 * Every failure is logged (error level) in the seed's format, `[Coordinator] [NodeRequestFailed] Message
 * '<hello>' on node <uuid> (<name>) failed with error '(301 - 'cannot connect') - "..."'`, and rejected:
 * `CM_CANNOT_CONNECT` (301) when the peer cannot be reached, refuses, or a certificate fails (our
 * certificate rejected by the peer shows as a close right after the TLS handshake; `details.reason` says
 * which), `CM_TIME_DIFFERENCE_TOO_HIGH` (405), `CM_INCOMPATIBLE_VERSION`, `CM_CERTIFICATE` when the peer's
 * hello names another node than its certificate.
 *
 * @param address - `host`, `host:port`, `[v6]:port`, or `{ host, port }`; port default 12346
 * @param options - this node, its identity, the expected peer, limits
 * @returns the open connection
 */
export async function connectPeer(
  address: string | PeerAddress,
  options: ConnectPeerOptions,
): Promise<PeerConnection> {
  const o = resolveOptions(options);
  checkOwnIdentity(options.identity, o.node.uuid);
  const { host, port } = parsePeerAddress(address);
  const target = hostPort(host, port);
  const messageName = options.messageName ?? 'hello';
  const context: Record<string, unknown> = {
    address: target,
    ...(options.expectedUuid === undefined ? {} : { uuid: options.expectedUuid }),
    ...(options.expectedName === undefined ? {} : { name: options.expectedName }),
  };
  try {
    return await attempt(host, port, target, messageName, context, options, o);
  } catch (e) {
    const error =
      e instanceof CmError
        ? e
        : cannotConnect(`${messageName}: ${(e as Error)?.message ?? String(e)}`, 'closed', context, e);
    o.logger.error(
      formatNodeRequestFailed({
        message: messageName,
        uuid: options.expectedUuid ?? target,
        name: options.expectedName ?? target,
        code: wireOf(error),
        detail: error.message,
      }),
      { ...context, code: error.code },
    );
    throw error;
  }
}

async function attempt(
  host: string,
  port: number,
  target: string,
  m: string,
  context: Record<string, unknown>,
  options: ConnectPeerOptions,
  o: ReturnType<typeof resolveOptions>,
): Promise<PeerConnection> {
  const socket = tls.connect({
    host,
    port,
    ...tlsContextOptions(options.identity),
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    // the peer is identified by the cluster CA and its UUID, not by the name it was reached under
    checkServerIdentity: () => undefined,
  });
  const started = o.clock.now();
  await new Promise<void>((resolve, reject) => {
    let tcp = false;
    const done = (e?: CmError) => {
      o.clock.clearTimeout(timer);
      socket.removeListener('connect', onConnect);
      socket.removeListener('secureConnect', onSecure);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      if (e) {
        socket.on('error', () => {});
        socket.destroy();
        reject(e);
      } else resolve();
    };
    const onConnect = () => {
      tcp = true;
    };
    const onSecure = () => done();
    const onError = (e: NodeJS.ErrnoException) => done(connectError(e, tcp, m, target, context));
    const onClose = () =>
      done(
        cannotConnect(
          `${m}: ssl failure on message socket while sending request - last action: ${tcp ? 'handshake' : 'connect'} (closed by the peer)`,
          'tls',
          context,
        ),
      );
    const timer = o.clock.setTimeout(
      () =>
        done(
          cannotConnect(
            `${m}: failure '${describeErrno('ETIMEDOUT', 'timeout')}' while sending request - last action: ${tcp ? 'handshake' : 'connect'}`,
            'timeout',
            { ...context, timeoutMs: o.handshakeTimeoutMs },
          ),
        ),
      o.handshakeTimeoutMs,
    );
    socket.on('connect', onConnect);
    socket.on('secureConnect', onSecure);
    socket.on('error', onError);
    socket.on('close', onClose);
  });

  const cert = peerCertificateOf(socket);
  const certFailure = (detail: string, reason: 'certificate' | 'identity'): CmError => {
    socket.destroy();
    return cannotConnect(
      `${m}: ssl failure on message socket while sending request - last action: certificate verification - ${detail}`,
      reason,
      { ...context, certificateUuid: cert.uuid },
      new CmError('CM_CERTIFICATE', detail, { details: { certificateUuid: cert.uuid } }),
    );
  };
  if (cert.uuid === undefined)
    throw certFailure(`the certificate of ${target} names no node UUID`, 'certificate');
  if (options.expectedUuid !== undefined && cert.uuid !== options.expectedUuid.toLowerCase())
    throw certFailure(
      `the certificate of ${target} names node ${cert.uuid}${cert.name ? ` (${cert.name})` : ''}, not ${options.expectedUuid}`,
      'identity',
    );

  const conn = new Connection(
    socket,
    'client',
    { ...o, handshakeTimeoutMs: Math.max(1, o.handshakeTimeoutMs - (o.clock.now() - started)) },
    {
      ...context,
      uuid: cert.uuid,
      ...(cert.name === undefined ? {} : { name: cert.name }),
    },
  );
  const hello: HelloBody = {
    protocol: Math.max(...o.protocols),
    node: nodeOfHello(o.node),
    addresses: [...o.addresses],
    ...(options.expectedUuid === undefined ? {} : { to: options.expectedUuid.toLowerCase() }),
    ...(options.purpose === undefined ? {} : { purpose: options.purpose }),
  };
  const t0 = conn.wallNow();
  conn.sendRaw('hello', hello);
  let reply: CmEnvelope;
  try {
    reply = await conn.nextHandshakeMessage();
  } catch (e) {
    const error = e instanceof CmError ? e : undefined;
    const reason = (error?.details as { reason?: string } | undefined)?.reason;
    if (reason === 'refused-by-peer' || reason === 'timeout') throw error;
    if (conn.received === 0)
      // TLS 1.3: the client's handshake ends before the server has checked the client certificate; a
      // server that rejects it closes the connection without a word
      throw cannotConnect(
        `${m}: ssl failure on message socket while receiving response - last action: certificate verification (the peer closed the connection right after the TLS handshake: it does not accept this node's certificate; are both nodes using the same cluster CA?)`,
        'certificate',
        context,
        error,
      );
    throw error ?? cannotConnect(`${m}: the connection closed during the handshake`, 'closed', context);
  }
  if (reply.type !== 'hello-ack') {
    const error = new CmError('CM_BAD_MESSAGE', `${m}: expected hello-ack, got ${reply.type}`, {
      details: { ...context, type: reply.type },
    });
    conn.fail(error, true);
    throw error;
  }
  const ack = reply.body as HelloAckBody;
  const t1 = conn.wallNow();
  const offset = reply.clock - (t0 + t1) / 2;
  const checked = checkPeer(o, m, ack, reply.clock, offset, cert, {
    address: socket.remoteAddress ?? host,
    port: socket.remotePort ?? port,
  });
  if (checked instanceof CmError) {
    conn.fail(checked, true);
    throw checked;
  }
  conn.open(checked);
  o.logger.info(
    `[Coordinator] [NodeConnected] node ${checked.node.uuid} (${checked.node.name}) at ${target}`,
    {
      ...context,
      clockOffsetMs: offset,
    },
  );
  return conn;
}

function connectError(
  e: NodeJS.ErrnoException,
  tcp: boolean,
  m: string,
  target: string,
  context: Record<string, unknown>,
): CmError {
  if (isCertificateError(e.code)) {
    const code = e.code as string;
    return cannotConnect(
      `${m}: ssl failure on message socket while sending request - last action: certificate verification - '${code}' (${certificateHint(code)})`,
      'certificate',
      { ...context, tlsCode: code },
      new CmError('CM_CERTIFICATE', `the certificate of ${target} fails verification: ${code}`, {
        cause: e,
        details: { tlsCode: code },
      }),
    );
  }
  if (e.code?.startsWith('ERR_SSL') || e.code?.startsWith('ERR_TLS'))
    return cannotConnect(
      `${m}: ssl failure on message socket while sending request - last action: handshake - '${e.message}'`,
      'tls',
      { ...context, tlsCode: e.code },
      e,
    );
  const reason =
    e.code === 'ECONNREFUSED'
      ? 'refused'
      : e.code === 'ETIMEDOUT'
        ? 'timeout'
        : e.code !== undefined && UNREACHABLE.has(e.code)
          ? 'unreachable'
          : e.code === 'ECONNRESET'
            ? 'reset'
            : 'closed';
  return cannotConnect(
    `${m}: failure '${describeErrno(e.code, e.message)}' while sending request - last action: ${tcp ? 'handshake' : 'connect'}`,
    reason,
    { ...context, ...(e.code === undefined ? {} : { errno: e.code }) },
    e,
  );
}

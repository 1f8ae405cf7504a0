// The management API as the commands that talk to a running node use it (`proxyha status`, `policy`, `cm`,
// `maintenance`): the address, the TLS certificate and the admin token all come from the node's own
// configuration file. Every failure is a GatewayError that says what to do.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { PolicyDocument } from '@proxyha/cm-coordinator';
import { describeValue } from '@proxyha/common';
import { loadGatewayConfig } from '../config/config';
import type { GatewayConfig } from '../config/types';
import { GatewayError } from '../errors';
import { readAdminToken } from '../management/token';
import type { GatewayCmStatus, GatewayPolicy, GatewaySaveResult, GatewayStatus } from '../node/types';

/** Options of {@link managementClient}. */
export interface ManagementClientOptions {
  /** The configuration file, named in the hint when no node answers (`proxyha run -c FILE`). */
  readonly configFile?: string | undefined;
  /** How long one request may take before it is given up, ms (default 30 s). */
  readonly timeoutMs?: number | undefined;
}

/** The management API of the running node (see the README's "Management API" section). */
export interface ManagementClient {
  /** The base URL, `http://127.0.0.1:8443` (or `https://`). */
  readonly url: string;
  /** `GET /api/v1/status`: the node's status document. */
  status(): Promise<GatewayStatus>;
  /** `GET /api/v1/policy`: the current policy, `null` when none was ever saved. */
  policy(): Promise<GatewayPolicy | null>;
  /** `PUT /api/v1/policy`: saves a new policy version on the node; central management replicates it. */
  savePolicy(
    documents: readonly PolicyDocument[],
    options?: { readonly comment?: string | undefined; readonly session?: string | undefined },
  ): Promise<GatewaySaveResult>;
  /** `POST /api/v1/maintenance`: turns maintenance mode on or off. */
  setMaintenance(on: boolean): Promise<void>;
  /** `POST /api/v1/cm/nodes`: adds the node at `host[:port]` to the cluster. */
  addNode(address: string): Promise<{ readonly uuid: string; readonly name: string }>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Answers larger than this are refused (a whole policy is at most 64 MiB, base64 adds a third). */
const MAX_ANSWER_BYTES = 128 * 1024 * 1024;

/** `host:port` of a URL; a wildcard listen address is reached on the loopback address of its family. */
function urlOf(config: GatewayConfig): { url: string; host: string; port: number; https: boolean } {
  const { host: listenHost, port } = config.management.listen;
  const host = listenHost === '0.0.0.0' ? '127.0.0.1' : listenHost === '::' ? '::1' : listenHost;
  const https = config.management.tls !== undefined;
  const url = `${https ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { url, host, port, https };
}

/** The certificates of `management.tls.cert` (the served one first, perhaps its chain after it). */
interface TrustedCertificates {
  /** The file's PEM text: the trust anchors of the chain check. */
  readonly pem: string;
  /** SHA-256 fingerprints (`AA:BB:...`) of every certificate in the file. */
  readonly fingerprints: ReadonlySet<string>;
}

/** Reads the node's certificate file: what the listener may present. */
async function readCertificates(file: string): Promise<TrustedCertificates> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (cause) {
    const e = cause as NodeJS.ErrnoException;
    throw new GatewayError(
      'GATEWAY_API_ERROR',
      `cannot read the management certificate ${file} (management.tls.cert): ${e.code ?? e.message}`,
      { cause, details: { file } },
    );
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const fingerprints = new Set<string>();
  try {
    for (const b of blocks) fingerprints.add(new X509Certificate(b).fingerprint256);
  } catch (cause) {
    throw new GatewayError(
      'GATEWAY_API_ERROR',
      `the management certificate ${file} (management.tls.cert) is not a PEM certificate: ${(cause as Error).message}`,
      { cause, details: { file } },
    );
  }
  if (fingerprints.size === 0)
    throw new GatewayError(
      'GATEWAY_API_ERROR',
      `the management certificate ${file} (management.tls.cert) holds no PEM certificate`,
      { details: { file } },
    );
  return { pem, fingerprints };
}

/** Network errors that mean: nothing listens there (or nothing answers). */
const NOT_RUNNING = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EADDRNOTAVAIL',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

interface Answer {
  readonly status: number;
  readonly body: string;
}

/**
 * A client of the management API of the node that `config` describes: `config.management.listen` (a
 * wildcard address is reached on loopback), over HTTPS when `management.tls` is set (its certificate file
 * is the only one trusted), with the token of `management.tokenFile`.
 *
 * Errors: no node answers → `GATEWAY_NOT_RUNNING` (with the URL); 401 → `GATEWAY_UNAUTHORIZED` (naming the
 * token file); any other error answer → `GATEWAY_API_ERROR` with the server's `code` and `message`
 * (`details.status`, `details.code`, `details.details`); an unreadable token file →
 * `GATEWAY_TOKEN_UNREADABLE`.
 *
 * @param config - the node's validated configuration
 * @param options - the configuration file (for hints) and the request timeout
 */
export function managementClient(
  config: GatewayConfig,
  options: ManagementClientOptions = {},
): ManagementClient {
  const target = urlOf(config);
  const { url } = target;
  const tokenFile = config.management.tokenFile;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const runHint = `proxyha run -c ${options.configFile ?? 'FILE'}`;
  const tlsFile = config.management.tls?.cert;
  let token: Promise<string> | undefined;
  let certificates: Promise<TrustedCertificates> | undefined;

  const send = async (method: string, path: string, body?: unknown): Promise<Answer> => {
    token ??= readAdminToken(tokenFile);
    const bearer = await token;
    const tlsConfig = config.management.tls;
    if (tlsConfig) certificates ??= readCertificates(tlsConfig.cert);
    // HTTPS: the TLS connection is made and its certificate checked before the token is sent on it
    const socket = certificates ? await secureSocket(await certificates) : undefined;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${bearer}` };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const requestOptions: RequestOptions = {
      host: target.host,
      port: target.port,
      method,
      path,
      headers,
      timeout: timeoutMs,
    };
    if (socket) requestOptions.createConnection = () => socket;
    return new Promise<Answer>((resolve, reject) => {
      const req = httpRequest(requestOptions, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) {
            req.destroy();
            reject(
              new GatewayError(
                'GATEWAY_API_ERROR',
                `the node on ${url} sent an answer larger than ${MAX_ANSWER_BYTES} bytes`,
                { details: { url } },
              ),
            );
          } else chunks.push(c);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', (e) => reject(transportError(e)));
      });
      req.on('timeout', () => {
        req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      });
      req.on('error', (e) => reject(transportError(e)));
      req.end(payload);
    });
  };

  /**
   * A TLS connection to the listener whose certificate is one of the configured file's (pinned: whatever
   * names it carries), or one the file's certificates vouch for, with the listener's address in it.
   */
  const secureSocket = (trusted: TrustedCertificates): Promise<TLSSocket> =>
    new Promise<TLSSocket>((resolve, reject) => {
      const socket = tlsConnect({
        host: target.host,
        port: target.port,
        ca: trusted.pem,
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      });
      socket.setTimeout(timeoutMs, () =>
        socket.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      );
      socket.once('error', (e) => reject(transportError(e)));
      socket.once('secureConnect', () => {
        const peer = socket.getPeerCertificate();
        if (trusted.fingerprints.has(peer.fingerprint256) || socket.authorized) {
          socket.setTimeout(0);
          socket.removeAllListeners('error');
          resolve(socket);
          return;
        }
        socket.destroy();
        reject(
          new GatewayError(
            'GATEWAY_API_ERROR',
            `the listener on ${url} presented a certificate (${peer.subject?.CN ?? 'no name'}, SHA-256 ${peer.fingerprint256}) ` +
              `that is not the node's ${tlsFile}: nothing was sent (${socket.authorizationError ?? 'not trusted'})`,
            { details: { url, file: tlsFile, fingerprint: peer.fingerprint256 } },
          ),
        );
      });
    });

  const transportError = (e: NodeJS.ErrnoException): GatewayError => {
    const code = e.code ?? '';
    if (NOT_RUNNING.has(code))
      return new GatewayError(
        'GATEWAY_NOT_RUNNING',
        `no proxyha node answers on ${url}: is it running? (${runHint})`,
        {
          cause: e,
          details: { url, cause: code },
        },
      );
    if (code === 'ETIMEDOUT')
      return new GatewayError(
        'GATEWAY_NOT_RUNNING',
        `the proxyha node on ${url} did not answer within ${timeoutMs} ms`,
        {
          cause: e,
          details: { url, cause: code },
        },
      );
    const tlsHint =
      config.management.tls &&
      (/CERT|SSL|TLS|SELF_SIGNED|ERR_TLS/.test(code) || /certificate|ssl|tls/i.test(e.message))
        ? ` (is ${config.management.tls.cert} the certificate the node serves?)`
        : '';
    return new GatewayError(
      'GATEWAY_API_ERROR',
      `cannot talk to the proxyha node on ${url}: ${e.message}${tlsHint}`,
      {
        cause: e,
        details: { url, cause: code },
      },
    );
  };

  /** The JSON of a 2xx answer; an error answer becomes the GatewayError it names. */
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const answer = await send(method, path, body);
    let json: unknown;
    try {
      json = answer.body === '' ? undefined : JSON.parse(answer.body);
    } catch {
      json = undefined;
    }
    if (answer.status === 401)
      throw new GatewayError(
        'GATEWAY_UNAUTHORIZED',
        `the node on ${url} refused the admin token of ${tokenFile} (401): is it the token file of this node's configuration?`,
        { details: { url, file: tokenFile } },
      );
    if (answer.status < 200 || answer.status >= 300) {
      const error = (json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)
        ?.error;
      const code = typeof error?.code === 'string' ? error.code : `HTTP_${answer.status}`;
      const message =
        typeof error?.message === 'string'
          ? error.message
          : `${method} ${path} answered HTTP ${answer.status}`;
      throw new GatewayError('GATEWAY_API_ERROR', `${message} (${code})`, {
        details: {
          url,
          status: answer.status,
          code,
          ...(error?.details === undefined ? {} : { details: error.details }),
        },
      });
    }
    if (json === undefined)
      throw new GatewayError(
        'GATEWAY_API_ERROR',
        `the node on ${url} answered ${method} ${path} with no JSON document`,
        {
          details: { url, status: answer.status },
        },
      );
    return json;
  };

  const expectObject = (value: unknown, what: string, keys: readonly string[]): Record<string, unknown> => {
    const missing =
      value === null || typeof value !== 'object' || Array.isArray(value)
        ? keys
        : keys.filter((k) => !(k in (value as object)));
    if (missing.length > 0)
      throw new GatewayError(
        'GATEWAY_API_ERROR',
        `the node on ${url} sent no ${what}: ${missing.map((k) => `"${k}"`).join(', ')} missing (got ${describeValue(value)})`,
        { details: { url } },
      );
    return value as Record<string, unknown>;
  };

  return {
    url,
    async status() {
      const s = expectObject(await call('GET', '/api/v1/status'), 'status document', [
        'node',
        'vrrp',
        'director',
        'health',
        'ntp',
        'cm',
        'explanations',
      ]);
      return s as unknown as GatewayStatus;
    },
    async policy() {
      const { policy } = expectObject(await call('GET', '/api/v1/policy'), 'policy answer', ['policy']);
      if (policy === null) return null;
      const p = expectObject(policy, 'policy', ['id', 'origin', 'storageTimestamp', 'documents']);
      if (!Array.isArray(p.documents))
        throw new GatewayError(
          'GATEWAY_API_ERROR',
          `the node on ${url} sent a policy whose documents are not a list`,
          {
            details: { url },
          },
        );
      return p as unknown as GatewayPolicy;
    },
    async savePolicy(documents, opts = {}) {
      const body: Record<string, unknown> = { documents };
      if (opts.comment !== undefined) body.comment = opts.comment;
      if (opts.session !== undefined) body.session = opts.session;
      const r = expectObject(await call('PUT', '/api/v1/policy', body), 'save result', [
        'version',
        'storageTimestamp',
      ]);
      return r as unknown as GatewaySaveResult;
    },
    async setMaintenance(on) {
      await call('POST', '/api/v1/maintenance', { on });
    },
    async addNode(address) {
      const r = expectObject(await call('POST', '/api/v1/cm/nodes', { address }), 'added node', [
        'uuid',
        'name',
      ]);
      return { uuid: String(r.uuid), name: String(r.name) };
    },
  };
}

/** `GatewayCmStatus` of a status document, or `GATEWAY_CM_DISABLED` naming the file. */
export function cmOf(status: GatewayStatus, configFile: string): GatewayCmStatus {
  if (status.cm) return status.cm;
  throw new GatewayError(
    'GATEWAY_CM_DISABLED',
    `central management is off on node ${status.node.name}: ${configFile} has no cm section`,
  );
}

/**
 * Loads the configuration file (an invalid one is `GATEWAY_CONFIG_INVALID`, exit 2) and returns a client of
 * the node it describes.
 *
 * @param file - the node's configuration file
 */
export async function connect(file: string): Promise<ManagementClient> {
  return managementClient(await loadGatewayConfig(file), { configFile: file });
}

// The management listener of a gateway node: the status page, the JSON API and /metrics, over HTTP or
// HTTPS, every route but the page behind the admin bearer token. It talks to the node only through
// GatewayControl; it holds no global state (one fastify instance and one metrics registry per server).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  type Clock,
  type ConfigIssue,
  describeValue,
  issuesFromSchema,
  type Logger,
  noopLogger,
  ProxyhaError,
  systemClock,
} from '@proxyha/common';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { z } from 'zod';
import { GatewayError } from '../errors';
import type { GatewayControl } from '../node/types';
import { nodesCsv } from './csv';
import { openStatusStream, type StatusStream } from './events';
import { createGatewayMetrics } from './metrics';
import { statusPageCsp, statusPageHtml } from './page';

/** Settings of {@link startManagementServer}. */
export interface ManagementServerOptions {
  /** The running node: everything the API shows and does goes through it. */
  readonly control: GatewayControl;
  /** Where to listen (`management.listen`); port 0 picks a free port (see {@link ManagementServer.url}). */
  readonly listen: { readonly host: string; readonly port: number };
  /**
   * The admin bearer token (the content of `management.tokenFile`; surrounding white space, such as the
   * file's final newline, is ignored). Every route but the status page requires it.
   */
  readonly token: string;
  /** PEM contents of the certificate (chain) and its key (`management.tls`): the listener speaks HTTPS. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Where errors and the listening line go; default none. */
  readonly logger?: Logger;
  /** Timers of the event stream (coalescing, keepalive); default the system clock. */
  readonly clock?: Clock;
}

/** A running management listener. */
export interface ManagementServer {
  /** Its base URL, `http://127.0.0.1:8443` (`https://` with TLS; the port actually bound). */
  readonly url: string;
  /** Stops listening, ends every event stream and closes every connection. */
  close(): Promise<void>;
}

/** Largest body of `PUT /api/v1/policy` (a whole policy). */
const POLICY_BODY_LIMIT = 64 * 1024 * 1024;
/** Largest body of the other routes. */
const BODY_LIMIT = 64 * 1024;
/** At most one status event per this many ms on an event stream. */
const EVENT_COALESCE_MS = 250;
/** A keepalive comment on an event stream this often. */
const EVENT_KEEPALIVE_MS = 15_000;

/** Headers of every answer. */
const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // API answers are data, never a document: nothing may load from them
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

/** HTTP status of the error codes the API answers with (anything else: 500). */
const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  GATEWAY_UNAUTHORIZED: 401,
  GATEWAY_NOT_FOUND: 404,
  GATEWAY_BAD_REQUEST: 400,
  GATEWAY_CM_DISABLED: 409,
  GATEWAY_CLOCK_SKEW: 409,
  CM_GUI_ATTACH: 409,
  CM_CANNOT_CONNECT: 502,
};

// --- request bodies (validated here; never part of the public API)
const sessionText = z.string().min(1).max(256);
const documentSchema = z.strictObject({
  name: z.string().min(1).max(4096),
  content: z.string(),
  encoding: z.enum(['utf8', 'base64']).optional(),
});
const saveSchema = z.strictObject({
  documents: z.array(documentSchema),
  comment: z.string().max(10_000).optional(),
  session: sessionText.optional(),
});
const sessionSchema = z.strictObject({ session: sessionText });
const maintenanceSchema = z.strictObject({ on: z.boolean() });
const addNodeSchema = z.strictObject({
  address: z
    .string()
    .min(1)
    .max(300)
    .regex(/^[^\s/]+$/, 'must be HOST[:PORT] (no spaces, no scheme or path)'),
});

/** Validates a request body; a bad one is `GATEWAY_BAD_REQUEST` naming every path. */
function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = issuesFromSchema(result.error.issues, body);
  throw new GatewayError(
    'GATEWAY_BAD_REQUEST',
    `invalid request body: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    { details: { issues } },
  );
}

/** Validates the options; returns them with the token trimmed. */
function checkOptions(options: ManagementServerOptions): ManagementServerOptions & { token: string } {
  const issues: ConfigIssue[] = [];
  const o = (options ?? {}) as Partial<ManagementServerOptions>;
  const c = o.control as Partial<GatewayControl> | undefined;
  for (const m of [
    'status',
    'onChange',
    'policy',
    'savePolicy',
    'attachAdmin',
    'detachAdmin',
    'addNode',
  ] as const)
    if (typeof c?.[m] !== 'function') issues.push({ path: `control.${m}`, message: 'must be a function' });
  if (typeof c?.setMaintenance !== 'function')
    issues.push({ path: 'control.setMaintenance', message: 'must be a function' });
  if (typeof o.listen?.host !== 'string' || o.listen.host === '')
    issues.push({
      path: 'listen.host',
      message: `must be an address (got ${describeValue(o.listen?.host)})`,
    });
  const port = o.listen?.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535)
    issues.push({ path: 'listen.port', message: `must be an integer 0..65535 (got ${describeValue(port)})` });
  const token = typeof o.token === 'string' ? o.token.trim() : '';
  if (token === '') issues.push({ path: 'token', message: 'must be a non-empty text' });
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a token is printable, one header word
  else if (/[\s\u0000-\u001f\u007f]/.test(token))
    issues.push({ path: 'token', message: 'must be one word of printable characters (no spaces)' });
  if (o.tls !== undefined) {
    for (const k of ['cert', 'key'] as const)
      if (typeof o.tls?.[k] !== 'string' || !o.tls[k].includes('-----BEGIN'))
        issues.push({ path: `tls.${k}`, message: 'must be PEM text' });
  }
  if (issues.length > 0)
    throw new GatewayError(
      'GATEWAY_INVALID_ARGUMENT',
      `invalid management server options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      { details: { issues } },
    );
  return { ...options, token };
}

/** The JSON error answer of the API. */
interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details?: unknown };
}

/** Details that survive JSON, or undefined when there are none (or they cannot be written). */
function jsonDetails(details: unknown): unknown {
  if (details === null || typeof details !== 'object' || Object.keys(details).length === 0) return undefined;
  try {
    return JSON.parse(JSON.stringify(details));
  } catch {
    return undefined;
  }
}

/** Maps a thrown error to an HTTP status and the API's error body. */
function errorAnswer(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof ProxyhaError) {
    const code = String(error.code);
    const status = STATUS_OF_CODE[code] ?? (code.endsWith('_INVALID_ARGUMENT') ? 400 : 500);
    const details = jsonDetails(error.details);
    return {
      status,
      body: { error: { code, message: error.message, ...(details === undefined ? {} : { details }) } },
    };
  }
  const fe = error as Partial<FastifyError> | undefined;
  const statusCode = fe?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    // fastify's own refusals: malformed JSON, empty body, too large, unsupported media type
    return {
      status: statusCode,
      body: {
        error: {
          code: 'GATEWAY_BAD_REQUEST',
          message: `bad request: ${fe?.message ?? 'refused'}`,
          details: { issues: [{ path: '(root)', message: fe?.message ?? 'refused' }] },
        },
      },
    };
  }
  return {
    status: 500,
    body: {
      error: {
        code: 'GATEWAY_INTERNAL_ERROR',
        message: `internal error: ${error instanceof Error ? error.message : describeValue(error)}`,
      },
    },
  };
}

/** `host:port` for a URL (IPv6 in brackets). */
function urlHost(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Starts the management listener: the status page at `/` (no token: it holds no data), the JSON API under
 * `/api/v1/` and Prometheus metrics at `/metrics`, both behind `Authorization: Bearer <token>` (compared in
 * constant time; missing or wrong: 401 `GATEWAY_UNAUTHORIZED`, and nothing is done). Errors are
 * `{ "error": { "code", "message", "details"? } }`.
 *
 * @param options - the node, where to listen, the token, TLS, logger
 * @returns the running server (its URL, `close()`)
 * @throws GatewayError `GATEWAY_INVALID_ARGUMENT` for bad options, `GATEWAY_START_FAILED` (details.part
 *   `management`) when it cannot listen (address in use, bad certificate)
 */
export async function startManagementServer(options: ManagementServerOptions): Promise<ManagementServer> {
  const o = checkOptions(options);
  const { control } = o;
  const log = o.logger ?? noopLogger;
  const clock = o.clock ?? systemClock;
  const tokenHash = createHash('sha256').update(o.token, 'utf8').digest();
  const metrics = createGatewayMetrics(control);
  const streams = new Set<StatusStream>();

  let html: string;
  let csp: string;
  try {
    html = statusPageHtml();
    // the page's own policy (inline script and style by hash, requests to its origin only), plus what a
    // <meta> element cannot say
    csp = `${statusPageCsp()}; frame-ancestors 'none'`;
  } catch (cause) {
    throw new GatewayError(
      'GATEWAY_START_FAILED',
      `management: cannot build the status page: ${String(cause)}`,
      {
        cause,
        details: { part: 'management' },
      },
    );
  }

  const common = {
    logger: false,
    bodyLimit: BODY_LIMIT,
    forceCloseConnections: true,
    return503OnClosing: true,
  } as const;
  let app: FastifyInstance;
  try {
    app = (o.tls
      ? Fastify({ ...common, https: { cert: o.tls.cert, key: o.tls.key } })
      : Fastify(common)) as unknown as FastifyInstance;
  } catch (cause) {
    throw new GatewayError(
      'GATEWAY_START_FAILED',
      `management: cannot set up the listener: ${(cause as Error).message}`,
      { cause, details: { part: 'management' } },
    );
  }

  // JSON only: a text body is refused (415) rather than read as a string
  app.removeContentTypeParser('text/plain');

  const authorized = (header: string | undefined): boolean => {
    const m = /^Bearer +([^\s]+) *$/i.exec(header ?? '');
    const given = createHash('sha256')
      .update(m?.[1] ?? '', 'utf8')
      .digest();
    // both sides hashed: equal lengths, and the comparison time tells nothing about the token
    return timingSafeEqual(given, tokenHash) && m !== null;
  };

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    reply.headers(COMMON_HEADERS);
    if (req.routeOptions.url === '/' && (req.method === 'GET' || req.method === 'HEAD')) return;
    if (!authorized(req.headers.authorization)) {
      throw new GatewayError(
        'GATEWAY_UNAUTHORIZED',
        req.headers.authorization === undefined
          ? 'this needs the admin token: send Authorization: Bearer <token> (the content of management.tokenFile)'
          : 'wrong admin token (see management.tokenFile)',
      );
    }
  });

  app.setErrorHandler((error: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = errorAnswer(error);
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="proxyha"');
    if (status === 502)
      log.warn(`management API: ${req.method} ${req.url}: ${body.error.code}: ${body.error.message}`);
    else if (status >= 500)
      log.error(`management API: ${req.method} ${req.url}: ${body.error.code}: ${body.error.message}`, {
        code: body.error.code,
        stack: error instanceof Error ? error.stack : undefined,
      });
    else log.debug(`management API: ${req.method} ${req.url}: ${status} ${body.error.code}`);
    reply.code(status).type('application/json; charset=utf-8').send(body);
  });

  app.setNotFoundHandler(async (req: FastifyRequest) => {
    throw new GatewayError('GATEWAY_NOT_FOUND', `no such route: ${req.method} ${req.url.split('?')[0]}`, {
      details: { method: req.method, url: req.url.split('?')[0] },
    });
  });

  // --- the page
  app.get('/', async (_req, reply) => {
    reply.header('content-security-policy', csp).header('cache-control', 'no-cache');
    return reply.type('text/html; charset=utf-8').send(html);
  });

  // --- reading
  app.get('/api/v1/status', async () => control.status());
  app.get('/api/v1/nodes.csv', async (_req, reply) =>
    reply.type('text/csv; charset=utf-8').send(nodesCsv(control.status())),
  );
  app.get('/api/v1/policy', async () => ({ policy: control.policy() }));
  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.contentType).send(text);
  });
  app.get('/api/v1/events', (req, reply) => {
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      ...COMMON_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    req.raw.socket?.setNoDelay(true);
    const stream = openStatusStream({
      control,
      response,
      clock,
      logger: log,
      coalesceMs: EVENT_COALESCE_MS,
      keepaliveMs: EVENT_KEEPALIVE_MS,
      onEnd: () => {
        streams.delete(stream);
      },
    });
    streams.add(stream);
  });

  // --- changing
  app.put('/api/v1/policy', { bodyLimit: POLICY_BODY_LIMIT }, async (req) => {
    const body = parseBody(saveSchema, req.body);
    const opts: { comment?: string; session?: string } = {};
    if (body.comment !== undefined) opts.comment = body.comment;
    if (body.session !== undefined) opts.session = body.session;
    return control.savePolicy(body.documents, opts);
  });
  app.post('/api/v1/admin/attach', async (req) => {
    const { session } = parseBody(sessionSchema, req.body);
    control.attachAdmin(session);
    return { session, attached: true };
  });
  app.post('/api/v1/admin/detach', async (req) => {
    const { session } = parseBody(sessionSchema, req.body);
    control.detachAdmin(session);
    return { session, attached: false };
  });
  app.post('/api/v1/maintenance', async (req) => {
    const { on } = parseBody(maintenanceSchema, req.body);
    await control.setMaintenance(on);
    return { maintenance: on };
  });
  app.post('/api/v1/cm/nodes', async (req) => {
    const { address } = parseBody(addNodeSchema, req.body);
    const added = await control.addNode(address);
    return { uuid: added.uuid, name: added.name };
  });

  app.addHook('preClose', async () => {
    for (const s of [...streams]) s.close();
  });

  let port: number;
  try {
    await app.listen({ host: o.listen.host, port: o.listen.port });
    port = (app.server.address() as AddressInfo).port;
  } catch (cause) {
    await app.close().catch(() => {});
    throw new GatewayError(
      'GATEWAY_START_FAILED',
      `management: cannot listen on ${urlHost(o.listen.host, o.listen.port)}: ${(cause as Error).message}`,
      { cause, details: { part: 'management', host: o.listen.host, port: o.listen.port } },
    );
  }
  const url = `${o.tls ? 'https' : 'http'}://${urlHost(o.listen.host, port)}`;
  log.debug(`management API listening on ${url}`);

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= app.close().then(() => {
        log.debug(`management API on ${url} closed`);
      });
      return closing;
    },
  };
}

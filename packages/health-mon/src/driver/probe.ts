// The prober: real sockets. Every path ends in socket.destroy(), so no probe leaves a socket behind.
//
// The HTTP probe is hand-written on net.Socket rather than node:http because it needs only the status
// line, must judge a malformed one itself (node:http would throw parse errors of its own kind), and must
// own the socket's whole life (no agent, no keep-alive pool) so that a probe never leaks a descriptor.
import { createConnection } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ProbeFailureReason, ProbeResult } from '../machine/index';

/** Kind of probe: a bare TCP connect, or an HTTP request that must get a valid status line. */
export type ProbeKind = 'tcp' | 'http';

/** Options of the HTTP probe. */
export interface HttpProbeOptions {
  /**
   * Absolute URL to request through the proxy (absolute-form request target, as a client speaks to a
   * proxy). Default: none, and the probe sends `GET /` in origin form, which a proxy answers itself
   * (typically with a 400 or its own page) without going upstream.
   */
  readonly url?: string | undefined;
  /** Request method; default `GET`. */
  readonly method?: string | undefined;
  /** Status codes that count as success; default: any valid status line (100-599) does. */
  readonly expectStatus?: readonly number[] | undefined;
}

/** What one probe connects to. */
export interface ProbeTarget {
  /** Address (or name) of the node's own interface to connect to. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
  /** Probe kind. */
  readonly probe: ProbeKind;
  /** The whole probe (connect and, for HTTP, the status line) must finish within this many ms. */
  readonly timeoutMs: number;
  /** HTTP probe options (only for `kind: 'http'`). */
  readonly http?: HttpProbeOptions | undefined;
}

/**
 * A probe function: resolves (never rejects) with the result. When `signal` aborts, it must release its
 * resources and resolve promptly; the result is then discarded.
 */
export type Prober = (target: ProbeTarget, signal?: AbortSignal) => Promise<ProbeResult>;

const STATUS_LINE = /^HTTP\/1\.\d ([1-5]\d\d)(?:[ \t][^\r\n]*)?\r?$/;
const PREFIX = 'HTTP/1.';
const MAX_LINE = 1024;

function reasonOfErrno(code: string | undefined): ProbeFailureReason {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unreachable';
    default:
      return 'error';
  }
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
}

function bracketHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Builds the HTTP probe request (documented in the package README). */
export function buildHttpRequest(target: Pick<ProbeTarget, 'host' | 'port' | 'http'>): string {
  const method = target.http?.method ?? 'GET';
  let requestTarget = '/';
  let hostHeader = `${bracketHost(target.host)}:${target.port}`;
  if (target.http?.url) {
    const url = new URL(target.http.url);
    requestTarget = url.href;
    hostHeader = url.host;
  }
  return (
    `${method} ${requestTarget} HTTP/1.1\r\n` +
    `Host: ${hostHeader}\r\n` +
    'User-Agent: proxyha-mon\r\n' +
    'Accept: */*\r\n' +
    'Connection: close\r\n\r\n'
  );
}

/**
 * Judges the first line of an HTTP response.
 *
 * @param line - the line without its `\n`
 * @param expectStatus - accepted status codes; any when absent or empty
 * @returns the status when valid and expected, else the failure detail in `error`
 */
function judgeStatusLine(
  line: string,
  expectStatus: readonly number[] | undefined,
): { status?: number; error?: string } {
  const m = STATUS_LINE.exec(line);
  if (!m) return { error: `invalid status line ${quote(line.replace(/\r$/, ''))}` };
  const status = Number(m[1]);
  if (expectStatus && expectStatus.length > 0 && !expectStatus.includes(status)) {
    return { error: `status ${status}, expected ${expectStatus.join(' or ')}` };
  }
  return { status };
}

/**
 * The real prober. `tcp`: connect to `host:port` and close at once. `http`: connect, send one request
 * ({@link HttpProbeOptions}) and require a valid `HTTP/1.x NNN` status line within the timeout. The socket
 * is destroyed on every path (success, failure, timeout, abort).
 *
 * @param target - what to probe
 * @param signal - aborts the probe (the result then says `aborted`)
 * @returns the probe result; never rejects
 */
export const probePort: Prober = (target, signal) =>
  new Promise<ProbeResult>((resolve) => {
    const start = performance.now();
    let connected = false;
    let settled = false;
    let received = '';
    const socket = createConnection({ host: target.host, port: target.port, noDelay: true });

    const finish = (
      result: { ok: true; httpStatus?: number } | { ok: false; reason: ProbeFailureReason; detail: string },
    ) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      socket.on('error', () => {}); // a late error after destroy must not become an uncaught exception
      socket.destroy();
      const latencyMs = performance.now() - start;
      resolve(
        result.ok
          ? result.httpStatus === undefined
            ? { ok: true, latencyMs }
            : { ok: true, latencyMs, httpStatus: result.httpStatus }
          : { ok: false, reason: result.reason, detail: result.detail, latencyMs },
      );
    };
    const onAbort = () => finish({ ok: false, reason: 'error', detail: 'aborted' });
    const timer = setTimeout(() => {
      const detail = !connected
        ? `no connection within ${target.timeoutMs} ms`
        : `no HTTP status line within ${target.timeoutMs} ms`;
      finish({ ok: false, reason: 'timeout', detail });
    }, target.timeoutMs);

    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    socket.on('error', (err: NodeJS.ErrnoException) => {
      finish({ ok: false, reason: reasonOfErrno(err.code), detail: err.code ?? err.message });
    });
    socket.on('connect', () => {
      connected = true;
      if (target.probe === 'tcp') {
        finish({ ok: true });
        return;
      }
      let request: string;
      try {
        request = buildHttpRequest(target);
      } catch (err) {
        finish({ ok: false, reason: 'error', detail: `cannot build request: ${(err as Error).message}` });
        return;
      }
      socket.setEncoding('latin1');
      socket.write(request);
    });
    socket.on('data', (chunk: string) => {
      received += chunk;
      const nl = received.indexOf('\n');
      const head = nl === -1 ? received : received.slice(0, nl);
      const prefix = head.slice(0, PREFIX.length);
      if (!PREFIX.startsWith(prefix)) {
        finish({ ok: false, reason: 'bad-response', detail: `not HTTP: ${quote(head)}` });
      } else if (nl !== -1) {
        const verdict = judgeStatusLine(head, target.http?.expectStatus);
        if (verdict.error !== undefined) finish({ ok: false, reason: 'bad-response', detail: verdict.error });
        else finish(verdict.status === undefined ? { ok: true } : { ok: true, httpStatus: verdict.status });
      } else if (received.length > MAX_LINE) {
        finish({ ok: false, reason: 'bad-response', detail: `no line end within ${MAX_LINE} bytes` });
      }
    });
    socket.on('end', () => {
      finish(
        received.length === 0
          ? { ok: false, reason: 'closed', detail: 'closed by peer before any response' }
          : {
              ok: false,
              reason: 'bad-response',
              detail: `closed after partial status line ${quote(received)}`,
            },
      );
    });
    socket.on('close', () => {
      // 'close' without a prior verdict: the socket went away without 'end' or 'error'.
      finish({ ok: false, reason: 'closed', detail: 'connection closed' });
    });
  });

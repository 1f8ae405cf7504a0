// The local control socket of a running node (`DATADIR/proxyha-cm.sock`, mode 0600): one JSON request per
// connection, one JSON answer. `proxyha-cm policy save`, `status`, `add-node` talk to the node through it.
import { chmod, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { CM_ERRORS, CmError, type CmErrorCode } from '../errors';

/** The control socket of a data directory. */
export function controlSocketPath(dataDir: string): string {
  return join(dataDir, 'proxyha-cm.sock');
}

/** A request on the control socket. */
export interface ControlRequest {
  /** The command. */
  readonly command: string;
  /** Its arguments. */
  readonly args?: Readonly<Record<string, unknown>>;
}

/** An answer on the control socket. */
export type ControlAnswer =
  | {
      /** The command succeeded. */
      readonly ok: true;
      /** What it returned. */
      readonly result: unknown;
    }
  | {
      /** The command failed. */
      readonly ok: false;
      /** Why. */
      readonly error: {
        /** The error code, e.g. `CM_INVALID_ARGUMENT`. */
        readonly code: string;
        /** The error message. */
        readonly message: string;
        /** The error's details, if any. */
        readonly details?: unknown;
      };
    };

/** The largest request accepted (a policy directory of a few MB fits). */
const MAX_REQUEST = 64 * 1024 * 1024;

/**
 * Serves `handle` on the Unix socket `path` (a stale socket file is replaced; mode 0600: root or the node's
 * user only). Resolves with a function that closes it and removes the file.
 *
 * @param path - the socket file
 * @param handle - answers one request; a thrown `ProxyhaError` becomes `{ ok: false, error }`
 */
export async function serveControl(
  path: string,
  handle: (request: ControlRequest) => Promise<unknown>,
): Promise<() => Promise<void>> {
  await rm(path, { force: true });
  // the client half-closes after its request: keep our side open until the answer is written
  const server: Server = createServer({ allowHalfOpen: true }, (conn) => {
    const chunks: Buffer[] = [];
    let size = 0;
    conn.on('error', () => {});
    conn.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REQUEST) {
        conn.destroy();
        return;
      }
      chunks.push(c);
    });
    conn.on('end', async () => {
      let answer: ControlAnswer;
      try {
        const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ControlRequest;
        if (typeof request?.command !== 'string') throw new CmError('CM_INVALID_ARGUMENT', 'no command');
        answer = { ok: true, result: await handle(request) };
      } catch (e) {
        const err = e as { code?: string; message?: string; details?: unknown };
        answer = {
          ok: false,
          error: {
            code: err.code ?? 'CM_INVALID_ARGUMENT',
            message: err.message ?? String(e),
            details: err.details,
          },
        };
      }
      conn.end(`${JSON.stringify(answer)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  return async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(path, { force: true });
  };
}

/**
 * Sends one request to the node serving `path` and returns its result.
 *
 * @param path - the control socket
 * @param request - the request
 * @throws {@link CmError} `CM_NOT_RUNNING` when nothing answers; the node's own error (its code and
 *   message) when the request failed there
 */
export async function controlRequest(path: string, request: ControlRequest): Promise<unknown> {
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const conn = createConnection(path);
    conn.on('connect', () => conn.end(JSON.stringify(request)));
    conn.on('data', (c: Buffer) => chunks.push(c));
    conn.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    conn.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new CmError('CM_NOT_RUNNING', `no proxyha-cm node answers on ${path} (${e.code ?? e.message})`, {
          details: { path },
          cause: e,
        }),
      ),
    );
  });
  let answer: ControlAnswer;
  try {
    answer = JSON.parse(text) as ControlAnswer;
  } catch (e) {
    throw new CmError('CM_NOT_RUNNING', `the node on ${path} sent no answer`, {
      details: { path },
      cause: e,
    });
  }
  if (answer.ok) return answer.result;
  const { code, message, details } = answer.error;
  const known = Object.hasOwn(CM_ERRORS, code) ? (code as CmErrorCode) : 'CM_INVALID_ARGUMENT';
  throw new CmError(known, message, { details: (details ?? {}) as Record<string, unknown> });
}

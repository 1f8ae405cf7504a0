// The gateway's operator log: the familiar text lines the package daemons print today (keepalived's
// `(VI_1) Entering MASTER STATE`, mwg-mon's `current state: failure`, the director's `Scanning partner has
// failed`, the coordinator's `[Coordinator] [NodeRequestFailed] ...`), or pino JSON lines for a log
// collector. Both come from `@proxyha/common/cli`'s `createLogger`, the one the daemons use: the gateway adds
// no second formatting.
import { CommonError, type ConfigIssue, describeValue, type Logger, type LogLevel } from '@proxyha/common';
import { type CreateLoggerOptions, createLogger } from '@proxyha/common/cli';
import { GatewayError } from '../errors';

/** Options of {@link createGatewayLogger}. */
export interface GatewayLoggerOptions {
  /**
   * `text`: the familiar lines, exactly as the package daemons print them
   * (`[2026-11-30 19:46:50.123] INFO: (VI_1) Entering MASTER STATE`; the fields are left out). `json`: one
   * pino JSON object per line: `level` (pino's number: 20 debug, 30 info, 40 warn, 50 error), `time` (ISO
   * 8601), `pid`, `name` (when given), `msg` and the line's fields as properties.
   */
  readonly format: 'text' | 'json';
  /** Lowest level written: `debug`, `info` (default), `warn` or `error`. */
  readonly level?: LogLevel | undefined;
  /**
   * Where lines go: a file descriptor, written synchronously so that no line is lost on exit (default 1,
   * stdout; under systemd the journal), or a writable stream (written as it takes them).
   */
  readonly destination?: NodeJS.WritableStream | number | undefined;
  /** A name carried by JSON lines as `name` (say `proxyha`); text lines leave it out. */
  readonly name?: string | undefined;
}

/**
 * The gateway's operator log, behind `@proxyha/common`'s `Logger` (what every package takes): one logger
 * for the whole node, handed to each part.
 *
 * @param options - format, level, destination, name
 * @throws GatewayError `GATEWAY_INVALID_ARGUMENT` when an option is invalid (`details.issues` names each:
 *   `format`, `level`, `destination`, `name`)
 */
export function createGatewayLogger(options: GatewayLoggerOptions): Logger {
  const issues: ConfigIssue[] = [];
  const format: unknown = options?.format;
  if (format !== 'text' && format !== 'json')
    issues.push({ path: 'format', message: `must be text or json (got ${describeValue(format)})` });
  const { level, destination, name } = options ?? {};
  const common: CreateLoggerOptions = {
    json: format === 'json',
    ...(level !== undefined ? { level } : {}),
    ...(typeof destination === 'number' ? { fd: destination } : {}),
    ...(destination !== undefined && typeof destination !== 'number' ? { stream: destination } : {}),
    ...(name !== undefined ? { name } : {}),
  };
  try {
    const logger = createLogger(common);
    if (issues.length === 0) return logger;
  } catch (e) {
    if (!(e instanceof CommonError) || e.code !== 'COMMON_INVALID_ARGUMENT') throw e;
    const found = (e.details as { issues?: readonly ConfigIssue[] }).issues ?? [];
    for (const i of found)
      issues.push(
        // common names the destination `fd` or `stream`; here it is one option
        i.path === 'fd' || i.path === 'stream'
          ? {
              path: 'destination',
              message: `must be a file descriptor or a writable stream (got ${describeValue(destination)})`,
            }
          : i,
      );
  }
  throw new GatewayError(
    'GATEWAY_INVALID_ARGUMENT',
    `invalid logger options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    { details: { issues } },
  );
}

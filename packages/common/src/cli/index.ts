/**
 * The harness of every proxyha command-line tool and daemon: exit codes, error reporting, JSON output,
 * the operator log (pino: familiar text lines or JSON lines) and configuration files (YAML or JSON).
 *
 * `pino` and `yaml` are optional peer dependencies: a package that uses this entry point
 * depends on them itself, so that importing `@proxyha/common` alone never loads them.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
// the package's own main entry (not a relative path): the bundles share one CommonError class
import {
  CommonError,
  type ConfigIssue,
  describeValue,
  LOG_LEVELS,
  type LogFields,
  type Logger,
  type LogLevel,
} from '@proxyha/common';

/** Exit status: success (for a check: the verdict is ok). */
export const EXIT_OK = 0;
/** Exit status: the check failed, or the program failed at run time. */
export const EXIT_FAILURE = 1;
/** Exit status: bad usage or an invalid configuration (nothing was started). */
export const EXIT_USAGE = 2;

/** Where a command writes: the process's stdout/stderr, or buffers in tests. */
export interface CliIo {
  /** Normal output (tables, JSON documents). */
  readonly stdout: CliStream;
  /** Diagnostics (`proxyha-vrrpd: ...`). */
  readonly stderr: CliStream;
}

/** Where a command writes text: a process stream, or a buffer. */
export interface CliStream {
  /** Writes text as is (lines end with `\n`). */
  write(text: string): unknown;
}

/** How a command ended, for {@link describeCliError}. */
export interface CliOutcome {
  /** The exit status: {@link EXIT_OK}, {@link EXIT_FAILURE} or {@link EXIT_USAGE}. */
  readonly exitCode: number;
  /** The line to print on stderr, if any (`PROGRAM: MESSAGE`). */
  readonly line?: string;
}

/** What {@link runCliInMemory} returns: the exit status and what the command wrote. */
export interface CliRun {
  /** The exit status. */
  readonly code: number;
  /** Everything written to stdout. */
  readonly stdout: string;
  /** Everything written to stderr. */
  readonly stderr: string;
}

/** The process's own stdout and stderr. */
export const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr };

/** A {@link CliIo} that keeps what a command writes, for running its body in tests. */
export class MemoryIo implements CliIo {
  /** Everything written to stdout so far. */
  out = '';
  /** Everything written to stderr so far. */
  err = '';
  /** {@inheritDoc CliIo.stdout} */
  readonly stdout: CliStream = {
    write: (text: string) => {
      this.out += text;
    },
  };
  /** {@inheritDoc CliIo.stderr} */
  readonly stderr: CliStream = {
    write: (text: string) => {
      this.err += text;
    },
  };
}

/**
 * Runs a command's body in-process as {@link runCli} would run it, and returns the exit status with what
 * it wrote (the line {@link describeCliError} prints for an error included).
 *
 * @param program - the program name
 * @param main - the body
 * @param argv - its arguments
 */
export async function runCliInMemory(
  program: string,
  main: CliMain,
  argv: readonly string[],
): Promise<CliRun> {
  const io = new MemoryIo();
  let code: number;
  try {
    code = await main(argv, io);
  } catch (error) {
    const described = describeCliError(program, error);
    if (described.line) io.stderr.write(`${described.line}\n`);
    code = described.exitCode;
  }
  return { code, stdout: io.out, stderr: io.err };
}

/** A command's body: parses `argv` (the arguments after the program name), runs, returns an exit status. */
export type CliMain = (argv: readonly string[], io: CliIo) => Promise<number>;

/**
 * Throws `COMMON_USAGE`: the command line is wrong. {@link runCli} reports it as
 * `PROGRAM: MESSAGE` and exits {@link EXIT_USAGE}.
 *
 * @param message - what is wrong, naming the option or argument
 */
export function usageError(message: string): never {
  throw new CommonError('COMMON_USAGE', message);
}

/**
 * The exit status and the line to print for an error that escaped a command: {@link EXIT_USAGE} for a
 * usage error or an invalid or unreadable configuration (codes ending in `_USAGE`, `_CONFIG_INVALID`,
 * `_CONFIG_READ`), commander's own status for its parse errors (it has printed them already),
 * {@link EXIT_FAILURE} for anything else.
 *
 * @param program - the program name, prefixed to the line
 * @param error - what was thrown
 */
export function describeCliError(program: string, error: unknown): CliOutcome {
  const e = error as { code?: unknown; exitCode?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && e.code.startsWith('commander.') && typeof e.exitCode === 'number') {
    return { exitCode: e.exitCode === 0 ? EXIT_OK : EXIT_USAGE };
  }
  const message = error instanceof Error ? error.message : String(error);
  const usage = typeof e?.code === 'string' && /^[A-Z0-9]+_(USAGE|CONFIG_INVALID|CONFIG_READ)$/.test(e.code);
  return { exitCode: usage ? EXIT_USAGE : EXIT_FAILURE, line: `${program}: ${message}` };
}

/**
 * Runs a command's body as the process: sets `process.exitCode` from its result, or from
 * {@link describeCliError} when it throws (printing the line to stderr). The body is testable in-process
 * with its own {@link CliIo}; the bin file is just `runCli('proxyha-x', main)`.
 *
 * @param program - the program name
 * @param main - the body
 * @param argv - the arguments (default: the process's)
 */
export async function runCli(
  program: string,
  main: CliMain,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  try {
    process.exitCode = await main(argv, processIo);
  } catch (error) {
    const { exitCode, line } = describeCliError(program, error);
    if (line) process.stderr.write(`${line}\n`);
    process.exitCode = exitCode;
  }
}

/**
 * Writes one JSON document (2-space indent, trailing newline): the `--json` output of every command.
 *
 * @param io - where to write
 * @param value - the document
 */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** JSON lines (pino's format, ISO time, pid) instead of text lines. */
  readonly json?: boolean;
  /** Lowest level written; default `info`. */
  readonly level?: LogLevel;
  /** Where lines go: a file descriptor (default 1, stdout), written synchronously. Ignored with `stream`. */
  readonly fd?: number;
  /**
   * Where lines go instead of {@link CreateLoggerOptions.fd}: a writable stream (a pipe, a file stream, a
   * buffer in tests), written as the stream takes them (not synchronously: lines still queued at exit can
   * be lost).
   */
  readonly stream?: NodeJS.WritableStream;
  /**
   * The program's or component's name: JSON lines carry it as `name`; text lines leave it out (they stay
   * the familiar lines, exactly as without it).
   */
  readonly name?: string;
}

/**
 * The operator log of a daemon, through pino, written synchronously to a file descriptor so that no line
 * is lost on exit (or to a stream). Text lines read `[2026-11-30 19:46:50.123] INFO: (VI_1) Entering MASTER
 * STATE` (without the fields); JSON lines are pino's (`{"level":30,"time":"...","pid":1,"msg":"..."}`,
 * plus `"name"` when given) with the {@link LogFields} as properties.
 *
 * @param options - format, level, destination, name
 * @throws CommonError `COMMON_INVALID_ARGUMENT` when an option is invalid (`details.issues` names each)
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  checkLoggerOptions(options);
  const { pino } = load<typeof import('pino')>('pino');
  const level = options.level ?? 'info';
  const fd = options.fd ?? 1;
  const { stream, name } = options;
  if (!options.json) return textLogger(level, stream ?? pino.destination({ dest: fd, sync: true }));
  const base = pino(
    {
      level,
      base: name === undefined ? { pid: process.pid } : { pid: process.pid, name },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream ?? pino.destination({ dest: fd, sync: true }),
  );
  const at =
    (method: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      if (fields === undefined) base[method](message);
      else base[method](fields, message);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * Text lines, `[2026-11-30 19:46:50.123] INFO: message` in local time, the fields left out. Written here
 * rather than through pino-pretty, which parses each JSON line back and costs every daemon several MiB of
 * modules for a timestamp and a level.
 */
function textLogger(level: LogLevel, out: { write(line: string): unknown }): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const two = (n: number) => (n < 10 ? `0${n}` : String(n));
  const stamp = (d: Date) => {
    const ms = d.getMilliseconds();
    return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}`;
  };
  const at = (method: LogLevel) => {
    if (LOG_LEVELS.indexOf(method) < min) return (): void => {};
    const label = method.toUpperCase();
    return (message: string): void => {
      out.write(`[${stamp(new Date())}] ${label}: ${message}\n`);
    };
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function checkLoggerOptions(o: CreateLoggerOptions): void {
  const issues: ConfigIssue[] = [];
  if (o.level !== undefined && !LOG_LEVELS.includes(o.level))
    issues.push({
      path: 'level',
      message: `must be ${LOG_LEVELS.join(', ')} (got ${describeValue(o.level)})`,
    });
  if (o.fd !== undefined && !(Number.isInteger(o.fd) && o.fd >= 0))
    issues.push({ path: 'fd', message: `must be a file descriptor (got ${describeValue(o.fd)})` });
  if (o.stream !== undefined && typeof (o.stream as { write?: unknown } | null)?.write !== 'function')
    issues.push({ path: 'stream', message: `must be a writable stream (got ${describeValue(o.stream)})` });
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === ''))
    issues.push({ path: 'name', message: `must be a non-empty string (got ${describeValue(o.name)})` });
  if (issues.length > 0)
    throw new CommonError(
      'COMMON_INVALID_ARGUMENT',
      `invalid logger options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      { details: { issues } },
    );
}

/**
 * Reads a YAML (or JSON, which is YAML) configuration file and returns the parsed document, to be
 * validated by the package's own parse function.
 *
 * @param file - the path
 * @throws CommonError `COMMON_CONFIG_READ` when the file cannot be read or is not valid YAML, naming the
 *   file and the problem (with line and column)
 */
export async function readConfigFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new CommonError('COMMON_CONFIG_READ', `${file}: cannot read: ${e.code ?? e.message}`, {
      details: { file },
      cause: error,
    });
  }
  // a dynamic import, not require: an application bundle (the gateway's) takes its one copy of yaml
  const yaml = await import('yaml');
  try {
    return yaml.parse(text, { prettyErrors: true });
  } catch (error) {
    throw new CommonError(
      'COMMON_CONFIG_READ',
      `${file}: not valid YAML: ${(error as Error).message.split('\n')[0]}`,
      { details: { file }, cause: error },
    );
  }
}

/**
 * pino, an optional peer dependency, is loaded when first used (synchronously: a logger is made before
 * anything is awaited), so that a package that only reads config files does not load it.
 */
function load<T>(name: string): T {
  return createRequire(import.meta.url)(name) as T;
}

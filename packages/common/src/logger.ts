// One logger interface for every package; the daemons plug pino in behind it (see `@proxyha/common/cli`).

/** Severity of a log line, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Every level, lowest first. */
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze(['debug', 'info', 'warn', 'error']);

/** Structured context of a log line (JSON logs show it as fields; text logs leave it out). */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * Where a package writes its operator log lines. The message is the line operators grep for, stable and
 * documented (`(VI_1) Entering MASTER STATE`, `current state: failure (port 2121: connection refused)`);
 * `fields` adds structured context for JSON logs.
 */
export interface Logger {
  /** Detail lines (keepalived's `-D`). */
  debug(message: string, fields?: LogFields): void;
  /** Normal operation: state changes, addresses set and removed. */
  info(message: string, fields?: LogFields): void;
  /** Something is wrong but the component carries on (a dropped packet, a failed probe). */
  warn(message: string, fields?: LogFields): void;
  /** An operation failed (an address could not be added, a send failed). */
  error(message: string, fields?: LogFields): void;
}

/** A logger that discards everything; the default of every component that takes a logger. */
export const noopLogger: Logger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });

/** One line recorded by a {@link MemoryLogger}. */
export interface LogEntry {
  /** Level. */
  readonly level: LogLevel;
  /** The line. */
  readonly message: string;
  /** Structured context, if any. */
  readonly fields?: LogFields;
}

/**
 * A logger that keeps every line in memory, in order: for tests and for status pages that show recent
 * lines. `limit` bounds how many are kept (oldest dropped first).
 */
export class MemoryLogger implements Logger {
  /** Recorded lines, oldest first. */
  readonly entries: LogEntry[] = [];
  readonly #limit: number;

  /** @param limit - most lines kept; default unlimited */
  constructor(limit = Number.POSITIVE_INFINITY) {
    this.#limit = limit;
  }

  /** {@inheritDoc Logger.debug} */
  debug(message: string, fields?: LogFields): void {
    this.#push('debug', message, fields);
  }

  /** {@inheritDoc Logger.info} */
  info(message: string, fields?: LogFields): void {
    this.#push('info', message, fields);
  }

  /** {@inheritDoc Logger.warn} */
  warn(message: string, fields?: LogFields): void {
    this.#push('warn', message, fields);
  }

  /** {@inheritDoc Logger.error} */
  error(message: string, fields?: LogFields): void {
    this.#push('error', message, fields);
  }

  /** The recorded messages, optionally only those of one level or above. */
  lines(minLevel: LogLevel = 'debug'): string[] {
    const min = LOG_LEVELS.indexOf(minLevel);
    return this.entries.filter((e) => LOG_LEVELS.indexOf(e.level) >= min).map((e) => e.message);
  }

  /** Forgets every recorded line. */
  clear(): void {
    this.entries.length = 0;
  }

  #push(level: LogLevel, message: string, fields: LogFields | undefined): void {
    this.entries.push(fields === undefined ? { level, message } : { level, message, fields });
    if (this.entries.length > this.#limit) this.entries.shift();
  }
}

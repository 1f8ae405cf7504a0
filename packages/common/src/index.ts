/**
 * The conventions every proxyha package shares, in one small package without runtime dependencies:
 *
 * - {@link Clock}: monotonic time, wall time and timers; {@link systemClock} and {@link ManualClock};
 * - {@link Logger}: the one logger interface; {@link noopLogger}, {@link MemoryLogger};
 * - {@link ProxyhaError}: the error base with a stable `code` and `details`; {@link defineErrors} declares
 *   a package's catalogue of codes; {@link Result} with {@link ok} and {@link err};
 * - {@link ConfigIssue}: configuration problems as `path: message (got value)`;
 * - {@link parseDuration}: `"500ms"`, `"2s"`, `"1m30s"`;
 * - addresses: IPv4/IPv6 text and bytes with RFC 5952 output ({@link parseIp}, {@link formatIpv6}, ...),
 *   MAC addresses ({@link parseMac}, {@link formatMac});
 * - the Internet checksum ({@link internetChecksum}, {@link checksumAdd});
 * - {@link CommandRunner}: running programs without a shell;
 * - rise/fall {@link stepHysteresis};
 * - the building blocks of deterministic simulators: {@link createPrng}, {@link EventQueue}, {@link SimLinks}.
 *
 * The command-line harness (exit codes, pino logger, YAML config files) is the `@proxyha/common/cli`
 * entry point.
 *
 * @packageDocumentation
 */

export * from './address/ip';
export { canonicalMac, formatMac, parseMac } from './address/mac';
export {
  checksumAdd,
  checksumFinish,
  checksumFold,
  checksumVerifies,
  internetChecksum,
  pseudoHeaderSum,
} from './checksum';
export { type Clock, ManualClock, type ManualClockOptions, systemClock, type TimerHandle } from './clock';
export {
  type CommandFailure,
  type CommandOptions,
  type CommandResult,
  type CommandRunner,
  checkCommand,
  runCommand,
} from './command';
export { type DurationLimits, formatDuration, parseDuration } from './duration';
export {
  COMMON_ERRORS,
  CommonError,
  type CommonErrorCode,
  defineErrors,
  type ErrorCatalog,
  ProxyhaError,
  type ProxyhaErrorOptions,
} from './errors';
export {
  type HysteresisInitial,
  type HysteresisOptions,
  type HysteresisState,
  type HysteresisStatus,
  initialHysteresis,
  stepHysteresis,
} from './hysteresis';
export {
  type ConfigIssue,
  checkInteger,
  describeValue,
  formatIssues,
  formatPath,
  type IssueSink,
  issuesFromSchema,
  ROOT_PATH,
  resultOrIssue,
  type SchemaIssue,
} from './issues';
export {
  LOG_LEVELS,
  type LogEntry,
  type LogFields,
  type Logger,
  type LogLevel,
  MemoryLogger,
  noopLogger,
} from './logger';
export { err, ok, type Result } from './result';
export { createPrng, EventQueue, SimLinks } from './simulation';

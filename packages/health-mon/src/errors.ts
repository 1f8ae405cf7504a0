/**
 * Stable error codes of `@proxyha/health-mon`.
 *
 * - `HEALTH_CONFIG_INVALID`: a configuration (file, CLI flags or constructor options) failed validation.
 * - `HEALTH_CONFIG_READ`: a configuration file could not be read or parsed as YAML/JSON.
 * - `HEALTH_UNKNOWN_PORT`: a probe result was applied for a port the state does not track.
 */
export type HealthMonErrorCode = 'HEALTH_CONFIG_INVALID' | 'HEALTH_CONFIG_READ' | 'HEALTH_UNKNOWN_PORT';

/**
 * The one error class thrown by `@proxyha/health-mon`. Branch on {@link HealthMonError.code}, which is
 * stable across releases; the message is for humans and names the offending path and value.
 */
export class HealthMonError extends Error {
  /** Stable machine-readable code. */
  readonly code: HealthMonErrorCode;
  /**
   * For validation errors: one entry per problem, each `path: message` (for example
   * `ports.1.port: must be <= 65535 (got 70000)`).
   */
  readonly problems: readonly string[];

  /**
   * @param code - stable code
   * @param message - human-readable message
   * @param problems - individual validation problems, if any
   */
  constructor(code: HealthMonErrorCode, message: string, problems: readonly string[] = []) {
    super(message);
    this.name = 'HealthMonError';
    this.code = code;
    this.problems = problems;
  }
}

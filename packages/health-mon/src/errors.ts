// The error catalogue and the one error class of @proxyha/health-mon.
import { type ConfigIssue, defineErrors, formatIssues, ProxyhaError } from '@proxyha/common';

/**
 * Stable error codes of `@proxyha/health-mon` with their meaning (listed in `docs/errors.md`). A
 * configuration file that cannot be read is `@proxyha/common`'s `COMMON_CONFIG_READ`.
 */
export const HEALTH_ERRORS = defineErrors('HEALTH', {
  /** Invalid settings; `details.issues` lists every problem. */
  HEALTH_CONFIG_INVALID:
    'monitor settings (a configuration file, the command line or the monitor options) failed validation',
  /** Invalid arguments of `initialHealthState`; `details.issues` lists every problem. */
  HEALTH_INVALID_ARGUMENT: 'a function of the pure core was called with invalid ports or rise/fall counts',
  /** `applyProbeResult` for an untracked port; `details.port` names it. */
  HEALTH_UNKNOWN_PORT: 'a probe result was applied for a port the health state does not track',
});

/** A code of {@link HEALTH_ERRORS}. */
export type HealthMonErrorCode = keyof typeof HEALTH_ERRORS;

/** The `details` of a validation error (`HEALTH_CONFIG_INVALID`, `HEALTH_INVALID_ARGUMENT`). */
export interface HealthIssueDetails {
  /** Every problem found, each naming its path and the offending value. */
  readonly issues: readonly ConfigIssue[];
}

/**
 * The one error class of `@proxyha/health-mon`. Branch on {@link HealthMonError.code} (stable, see
 * {@link HEALTH_ERRORS}); a validation error carries `details.issues`, one `{ path, message }` per
 * problem (`ports[1].port: must be <= 65535 (got 70000)`).
 *
 * @typeParam D - the shape of `details`
 */
export class HealthMonError<D extends object = Readonly<Record<string, unknown>>> extends ProxyhaError<
  HealthMonErrorCode,
  D
> {}

/** A `HEALTH_CONFIG_INVALID` error listing `issues` under `source`. */
export function configInvalid(
  source: string,
  issues: readonly ConfigIssue[],
): HealthMonError<HealthIssueDetails> {
  return new HealthMonError('HEALTH_CONFIG_INVALID', formatIssues(source, issues), { details: { issues } });
}

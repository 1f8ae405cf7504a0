// Option validation at the driver's boundary: zod schemas stay in here, callers get typed values or an
// `NTP_INVALID_ARGUMENT` error whose `details.issues` name path and value.
import {
  type DurationLimits,
  err,
  formatDuration,
  formatIssues,
  issuesFromSchema,
  parseDuration,
  type Result,
  resultOrIssue,
} from '@proxyha/common';
import { z } from 'zod';
import { NtpError } from '../errors';

/** How a duration option is checked. @internal */
export interface DurationRule extends DurationLimits {
  /** Zero is not allowed. */
  readonly positive?: boolean;
  /** Why the minimum is what it is, added to the message of a value below it. */
  readonly minReason?: string;
}

/**
 * Parses a duration (`500ms`, `2s`, `1m30s`, or a number of milliseconds) with common's
 * `parseDuration`; the error is a message naming the value and the bound.
 * @internal
 */
export function checkDuration(value: unknown, rule: DurationRule = {}): Result<number, string> {
  const r = parseDuration(value, rule);
  if (!r.ok) {
    const raw = rule.minReason && rule.min !== undefined ? parseDuration(value) : undefined;
    if (raw?.ok && rule.min !== undefined && raw.value < rule.min) {
      return err(
        `must be at least ${formatDuration(rule.min)} (${rule.minReason}) (got ${formatDuration(raw.value)})`,
      );
    }
    return r;
  }
  if (rule.positive && r.value === 0) return err(`must be greater than 0 (got ${formatDuration(0)})`);
  return r;
}

/** A duration option: milliseconds or a duration string in, milliseconds out. @internal */
export function durationOption(rule: DurationRule = {}) {
  return z.union([z.string(), z.number()]).transform((v, ctx) => resultOrIssue(checkDuration(v, rule), ctx));
}

/**
 * Runs a schema at an API boundary; failure throws `NTP_INVALID_ARGUMENT` with `details.issues` and
 * a message listing them (`checkSkew options: invalid configuration:\n  maxOffset: ...`).
 * @internal
 */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, source: string): z.output<S> {
  const r = schema.safeParse(input, { reportInput: true });
  if (r.success) return r.data;
  const issues = issuesFromSchema(r.error.issues, input);
  throw new NtpError('NTP_INVALID_ARGUMENT', formatIssues(source, issues), { details: { issues } });
}

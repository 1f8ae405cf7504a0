import ms from 'ms';
import { z } from 'zod';
import { NtpError } from './errors';

/**
 * Parses a duration: a number is milliseconds, a string goes through `ms`
 * ("500ms", "2s", "1.5m"; a bare "250" is milliseconds). Returns undefined when invalid
 * or negative.
 * @internal
 */
export function parseDurationMs(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  let out: number | undefined;
  try {
    out = ms(value.trim() as ms.StringValue) as number | undefined;
  } catch {
    return undefined;
  }
  return typeof out === 'number' && Number.isFinite(out) && out >= 0 ? out : undefined;
}

/** zod type for a duration given as ms number or `ms` string; output is milliseconds. @internal */
export const durationSchema = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const out = parseDurationMs(v);
  if (out === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(v)} (use e.g. 500ms, 2s)` });
    return z.NEVER;
  }
  return out;
});

/**
 * Runs a zod schema at an API boundary; failure becomes `NTP_INVALID_OPTIONS` naming
 * the offending path and value.
 * @internal
 */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => {
    const path = i.path.length ? i.path.join('.') : '(root)';
    let value: unknown = input;
    for (const k of i.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey];
    return `${path}: ${i.message} (got ${safeJson(value)})`;
  });
  throw new NtpError('NTP_INVALID_OPTIONS', `invalid ${what}: ${issues.join('; ')}`, { issues });
}

function safeJson(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return 'function';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

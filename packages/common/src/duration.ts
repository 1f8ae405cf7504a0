// One duration parser: "250ms", "1.5s", "2m", "1h30m", or a number of milliseconds.
import { describeValue } from './issues';
import { err, ok, type Result } from './result';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** Bounds for {@link parseDuration}, in milliseconds (inclusive). */
export interface DurationLimits {
  /** Smallest allowed value; default 0. */
  readonly min?: number;
  /** Largest allowed value; default unlimited. */
  readonly max?: number;
}

/**
 * Parses a duration into milliseconds. Accepted: a non-negative finite number (milliseconds), a string of
 * digits (milliseconds), or one or more `<number><unit>` parts with units `ms`, `s`, `m`, `h`, `d`
 * (`"100ms"`, `"1.5s"`, `"1m30s"`). Zero is a duration; pass `{ min: 1 }` where it is not allowed.
 * The error is a message for an operator that names the value and the accepted forms or the bound.
 *
 * @param value - the duration as configured
 * @param limits - inclusive bounds
 */
export function parseDuration(value: unknown, limits: DurationLimits = {}): Result<number, string> {
  let ms: number | undefined;
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) ms = value;
  } else if (typeof value === 'string') {
    const text = value.trim();
    if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text);
    else if (text !== '') {
      let total = 0;
      PART.lastIndex = 0;
      let m: RegExpExecArray | null = PART.exec(text);
      while (m !== null) {
        total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
        if (PART.lastIndex === text.length) {
          ms = total;
          break;
        }
        m = PART.exec(text);
      }
    }
  }
  if (ms === undefined) return err(`not a duration: ${describeValue(value)} (use e.g. 500ms, 2s, 1m30s)`);
  const min = limits.min ?? 0;
  if (ms < min) return err(`must be at least ${formatDuration(min)} (got ${formatDuration(ms)})`);
  if (limits.max !== undefined && ms > limits.max)
    return err(`must be at most ${formatDuration(limits.max)} (got ${formatDuration(ms)})`);
  return ok(ms);
}

/**
 * Formats milliseconds the way {@link parseDuration} reads them back: the largest unit that divides the
 * value (`1000` is `1s`, `90000` is `1m30s`, `1500` is `1500ms`, `0.5` is `0.5ms`).
 *
 * @param ms - non-negative milliseconds
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return `${ms}ms`;
  if (ms === 0) return '0s';
  if (!Number.isInteger(ms) || ms % 1000 !== 0) return `${ms}ms`;
  let rest = ms;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] as number;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

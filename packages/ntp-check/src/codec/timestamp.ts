/**
 * NTP 64-bit timestamps: 32 bits of seconds since the start of the era (era 0
 * began 1900-01-01T00:00:00Z; era 1 begins 2036-02-07T06:28:16Z) and 32 bits of
 * fraction. The era is not on the wire, so every conversion to absolute time takes
 * a pivot (normally the local clock) and picks the era closest to it, as RFC 5905
 * section 6 prescribes. Differences between timestamps are taken modulo 2^64, which
 * is correct across an era boundary as long as the two lie within 68 years.
 */
import { NtpError } from '../errors';

/** A raw 64-bit NTP timestamp as on the wire (unsigned, era not included). */
export type NtpTimestamp = bigint;

const NS_PER_S = 1_000_000_000n;
const TWO_32 = 1n << 32n;
const TWO_64 = 1n << 64n;
const MASK_64 = TWO_64 - 1n;
/** Seconds from 1900-01-01 (NTP prime epoch) to 1970-01-01 (Unix epoch). */
export const NTP_UNIX_EPOCH_OFFSET_SECONDS = 2_208_988_800;
const OFFSET_NS = BigInt(NTP_UNIX_EPOCH_OFFSET_SECONDS) * NS_PER_S;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function roundDiv(a: bigint, b: bigint): bigint {
  return floorDiv(2n * a + b, 2n * b);
}

/** Absolute fixed-point time (2^-32 s units) since 1900, era included. */
function unixNsToFixed(unixNs: bigint): bigint {
  return roundDiv((unixNs + OFFSET_NS) * TWO_32, NS_PER_S);
}

/**
 * Converts Unix time in nanoseconds to a wire NTP timestamp (rounded to the nearest
 * 2^-32 s; the era number is dropped, as on the wire).
 *
 * @param unixNs - nanoseconds since 1970-01-01T00:00:00Z
 */
export function toNtpTimestamp(unixNs: bigint): NtpTimestamp {
  return ((unixNsToFixed(unixNs) % TWO_64) + TWO_64) % TWO_64;
}

/**
 * Converts a wire NTP timestamp to Unix nanoseconds, choosing the era that puts the
 * result closest to `pivotUnixNs` (RFC 5905 era handling; correct within 68 years of
 * the pivot, so 2036 and later decode correctly with a current pivot).
 *
 * @param ts - wire timestamp
 * @param pivotUnixNs - a time known to be within 68 years of the answer (the local clock)
 */
export function fromNtpTimestamp(ts: NtpTimestamp, pivotUnixNs: bigint): bigint {
  const pivot = unixNsToFixed(pivotUnixNs);
  const full = pivot + signed64((ts & MASK_64) - pivot);
  return roundDiv(full * NS_PER_S, TWO_32) - OFFSET_NS;
}

/**
 * Converts Unix time in milliseconds, as a `Clock`'s `wallTime()` reads it
 * (fractional: microseconds and below are kept), to a wire NTP timestamp.
 *
 * @param unixMs - milliseconds since 1970-01-01T00:00:00Z
 */
export function unixMsToNtpTimestamp(unixMs: number): NtpTimestamp {
  return toNtpTimestamp(msToNs(unixMs));
}

/**
 * Converts a wire NTP timestamp to Unix milliseconds (fractional), choosing the era closest to
 * `pivotUnixMs` as {@link fromNtpTimestamp} does.
 *
 * @param ts - wire timestamp
 * @param pivotUnixMs - a time known to be within 68 years of the answer (the local clock), ms
 */
export function ntpTimestampToUnixMs(ts: NtpTimestamp, pivotUnixMs: number): number {
  const ns = fromNtpTimestamp(ts, msToNs(pivotUnixMs));
  const ms = floorDiv(ns, 1_000_000n);
  return Number(ms) + Number(ns - ms * 1_000_000n) / 1e6;
}

/** Milliseconds (fractional) to integer nanoseconds; whole and fractional parts apart to keep precision. */
function msToNs(ms: number): bigint {
  if (!Number.isFinite(ms)) {
    throw new NtpError('NTP_INVALID_ARGUMENT', `time must be a finite number of ms, got ${ms}`, {
      details: { value: ms },
    });
  }
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}

/**
 * The NTP era (0 until 2036-02-07T06:28:16Z, then 1, ...) of a Unix time.
 *
 * @param unixNs - nanoseconds since the Unix epoch
 */
export function ntpEra(unixNs: bigint): number {
  return Number(floorDiv(unixNsToFixed(unixNs), TWO_64));
}

function signed64(x: bigint): bigint {
  const m = ((x % TWO_64) + TWO_64) % TWO_64;
  return m >= 1n << 63n ? m - TWO_64 : m;
}

/**
 * Signed difference `a - b` of two wire timestamps in 2^-32 s units, modulo 2^64
 * (era-safe while the two are within 68 years).
 * @internal
 */
export function ntpDiff(a: NtpTimestamp, b: NtpTimestamp): bigint {
  return signed64(a - b);
}

/** Converts 2^-32 s fixed-point units to milliseconds. @internal */
export function fixedToMs(x: bigint): number {
  // Split to keep full precision: integer seconds and remaining fraction.
  const s = floorDiv(x, TWO_32);
  const frac = x - s * TWO_32;
  return Number(s) * 1000 + (Number(frac) / 2 ** 32) * 1000;
}

/**
 * Signed difference `a - b` of two wire timestamps in milliseconds (era-safe).
 *
 * @param a - minuend
 * @param b - subtrahend
 */
export function ntpDifferenceMs(a: NtpTimestamp, b: NtpTimestamp): number {
  return fixedToMs(ntpDiff(a, b));
}

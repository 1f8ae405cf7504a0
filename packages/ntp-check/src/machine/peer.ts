// Peer clock-offset estimation for central management: the NTP on-wire formulas over one exchange. Pure.
import { err, ok, type Result } from '@proxyha/common';
import { NtpError } from '../errors';
import { exactMs } from './figures';
import type { NtpVerdictCode } from './skew';

/** Four timestamps of one request/response exchange with another node, in Unix milliseconds. */
export interface PeerExchange {
  /** Our clock when the request left. */
  t1: number;
  /** The peer's clock when the request arrived. */
  t2: number;
  /** The peer's clock when the response left. */
  t3: number;
  /** Our clock when the response arrived. */
  t4: number;
}

/** Estimated offset of a peer's clock against ours, with its error bound. */
export interface PeerSkewEstimate {
  /** Peer clock minus our clock, ms (positive: the peer is ahead). */
  offsetMs: number;
  /** Round-trip delay excluding the peer's processing time, ms. */
  delayMs: number;
  /** The true offset lies within offsetMs ± errorBoundMs: delay / 2 plus both precisions. */
  errorBoundMs: number;
  /** offsetMs - errorBoundMs. */
  lowMs: number;
  /** offsetMs + errorBoundMs. */
  highMs: number;
}

/**
 * Estimates another node's clock offset from the four timestamps of one exchange
 * (the NTP on-wire formulas). Whatever the path asymmetry, the true offset lies within
 * `offsetMs ± delayMs / 2` (plus clock precision), which is the returned error bound.
 * Returns `NTP_BAD_EXCHANGE` for non-finite values, a reply received before it was
 * sent, or a peer processing time longer than the round trip.
 *
 * @param x - the four timestamps (ms)
 * @param options - `precisionMs`: resolution of both clocks' readings (default 1 ms, as `Date.now()` reads; a `Clock`'s `wallTime()` reads finer)
 */
export function estimatePeerSkew(
  x: PeerExchange,
  options: { precisionMs?: number } = {},
): Result<PeerSkewEstimate, NtpError> {
  const precisionMs = options.precisionMs ?? 1;
  for (const k of ['t1', 't2', 't3', 't4'] as const) {
    if (typeof x[k] !== 'number' || !Number.isFinite(x[k])) {
      return err(
        new NtpError('NTP_BAD_EXCHANGE', `${k} must be a finite number of ms, got ${String(x[k])}`, {
          details: {
            [k]: x[k],
          },
          stack: false,
        }),
      );
    }
  }
  if (!(precisionMs >= 0) || !Number.isFinite(precisionMs)) {
    return err(
      new NtpError('NTP_BAD_EXCHANGE', `precisionMs must be >= 0, got ${precisionMs}`, {
        details: { precisionMs },
        stack: false,
      }),
    );
  }
  const roundTrip = x.t4 - x.t1;
  const processing = x.t3 - x.t2;
  if (roundTrip < 0) {
    return err(
      new NtpError('NTP_BAD_EXCHANGE', `response received ${-roundTrip} ms before the request left`, {
        details: { ...x },
        stack: false,
      }),
    );
  }
  if (processing < -precisionMs || processing > roundTrip + 2 * precisionMs) {
    return err(
      new NtpError(
        'NTP_BAD_EXCHANGE',
        `peer processing time ${processing} ms is impossible for a round trip of ${roundTrip} ms`,
        { details: { ...x }, stack: false },
      ),
    );
  }
  const delayMs = Math.max(0, roundTrip - processing);
  const offsetMs = (x.t2 - x.t1 + (x.t3 - x.t4)) / 2;
  const errorBoundMs = delayMs / 2 + 2 * precisionMs;
  return ok({
    offsetMs,
    delayMs,
    errorBoundMs,
    lowMs: offsetMs - errorBoundMs,
    highMs: offsetMs + errorBoundMs,
  });
}

/** Verdict on a peer's clock: `ok` within the limit even at the worst end of the error bound, `fail` beyond it even at the best end, `warn` in between. */
export interface PeerSkewVerdict {
  /** ok | warn | fail. */
  verdict: 'ok' | 'warn' | 'fail';
  /** Stable code: `NTP_PEER_SKEW_OK`, `NTP_PEER_SKEW_UNCERTAIN` or `NTP_TIME_DIFFERENCE_TOO_HIGH`. */
  code: Extract<
    NtpVerdictCode,
    'NTP_PEER_SKEW_OK' | 'NTP_PEER_SKEW_UNCERTAIN' | 'NTP_TIME_DIFFERENCE_TOO_HIGH'
  >;
  /** Human reason ("time difference too high: ..."). */
  message: string;
}

/**
 * Judges a peer-skew estimate against a limit, for central management to refuse
 * peers whose clocks are too far off. The `fail` message starts with
 * "time difference too high", the line operators know.
 *
 * @param estimate - from {@link estimatePeerSkew}
 * @param maxOffsetMs - largest tolerated |offset|, ms
 */
export function judgePeerSkew(estimate: PeerSkewEstimate, maxOffsetMs: number): PeerSkewVerdict {
  const abs = Math.abs(estimate.offsetMs);
  const desc = `peer clock ${sign(estimate.offsetMs)} ms (±${exactMs(estimate.errorBoundMs)} ms), limit ${exactMs(maxOffsetMs)} ms`;
  if (abs - estimate.errorBoundMs > maxOffsetMs) {
    return {
      verdict: 'fail',
      code: 'NTP_TIME_DIFFERENCE_TOO_HIGH',
      message: `time difference too high: ${desc}`,
    };
  }
  if (abs + estimate.errorBoundMs > maxOffsetMs) {
    return {
      verdict: 'warn',
      code: 'NTP_PEER_SKEW_UNCERTAIN',
      message: `time difference uncertain: ${desc}`,
    };
  }
  return { verdict: 'ok', code: 'NTP_PEER_SKEW_OK', message: `time difference ok: ${desc}` };
}

function sign(x: number): string {
  return `${x >= 0 ? '+' : ''}${exactMs(x)}`;
}

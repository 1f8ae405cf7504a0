/**
 * Time source of the client. `nowNs` is the wall clock being checked (Unix
 * nanoseconds, CLOCK_REALTIME); `monotonicMs` drives timeouts-independent bookkeeping
 * such as the minimum poll interval and never jumps. Tests inject their own.
 */
export interface Clock {
  /** Wall-clock time, nanoseconds since the Unix epoch. */
  nowNs(): bigint;
  /** Monotonic milliseconds (arbitrary origin). */
  monotonicMs(): number;
  /** Called before each exchange, outside the timed path: a chance to recalibrate. */
  prepare?(): void;
}

/**
 * The system clock with sub-millisecond resolution. Node exposes the wall clock only
 * as `Date.now()` (1 ms steps), so `prepare()` waits for the next millisecond edge of
 * `Date.now()` (at most 1 ms of spinning) and anchors the high-resolution monotonic
 * timer there; readings are that anchor plus monotonic time elapsed. Anchoring before
 * every exchange means a stepped wall clock is seen at the next exchange, while T1 and
 * T4 of one exchange share an anchor (so the delay is exact).
 */
export function createSystemClock(): Clock {
  let anchorWallNs = BigInt(Date.now()) * 1_000_000n;
  let anchorHr = process.hrtime.bigint();
  const clock: Clock = {
    prepare() {
      const start = Date.now();
      let now = start;
      let hr = process.hrtime.bigint();
      // Spin to the next millisecond edge (bounded to 3 ms in case the clock stalls).
      const limit = hr + 3_000_000n;
      while (now === start && hr < limit) {
        hr = process.hrtime.bigint();
        now = Date.now();
      }
      anchorWallNs = BigInt(now) * 1_000_000n;
      anchorHr = hr;
    },
    nowNs() {
      return anchorWallNs + (process.hrtime.bigint() - anchorHr);
    },
    monotonicMs() {
      return Number(process.hrtime.bigint() / 1000n) / 1000;
    },
  };
  clock.prepare?.();
  return clock;
}

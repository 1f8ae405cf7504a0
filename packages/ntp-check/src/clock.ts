/**
 * Time source of the client. `nowNs` is the wall clock being checked (Unix
 * nanoseconds, CLOCK_REALTIME); `monotonicMs` drives bookkeeping such as the minimum
 * poll interval and never jumps. Tests inject their own.
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
 * One millisecond edge of `Date.now()`, bracketed by two monotonic readings: returns
 * wall minus monotonic in ns, or undefined when the bracket is too wide (preempted).
 */
function edgeOffsetNs(): bigint | undefined {
  const start = Date.now();
  let now = start;
  let before = 0n;
  let after = process.hrtime.bigint();
  const limit = after + 3_000_000n;
  while (now === start) {
    before = process.hrtime.bigint();
    now = Date.now();
    after = process.hrtime.bigint();
    if (after > limit) return undefined;
  }
  if (after - before > 20_000n) return undefined;
  return BigInt(now) * 1_000_000n - (before + after) / 2n;
}

function medianOffsetNs(samples: number): bigint | undefined {
  const got: bigint[] = [];
  for (let i = 0; i < samples * 3 && got.length < samples; i++) {
    const o = edgeOffsetNs();
    if (o !== undefined) got.push(o);
  }
  if (got.length === 0) return undefined;
  got.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return got[Math.floor(got.length / 2)];
}

/**
 * The system clock with microsecond resolution. Node exposes the wall clock only as
 * `Date.now()` (1 ms steps), so the clock measures `wall - monotonic` at millisecond
 * edges of `Date.now()`, each bracketed by two `process.hrtime` readings, and reads
 * `monotonic + that offset`. Calibration takes the median of 5 edges (single edges are
 * sometimes seen up to 0.7 ms late); `prepare()` re-checks one edge before each exchange
 * and recalibrates when the wall clock was stepped by more than 1 ms. CLOCK_MONOTONIC
 * is slewed together with CLOCK_REALTIME on Linux, so only steps change the offset.
 * Cost: about 5 ms of spinning at creation and about 1 ms per `prepare()`.
 */
export function createSystemClock(): Clock {
  let offsetNs = medianOffsetNs(5) ?? BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  return {
    prepare() {
      const one = edgeOffsetNs();
      if (one === undefined) return;
      const diff = one > offsetNs ? one - offsetNs : offsetNs - one;
      if (diff > 1_000_000n) offsetNs = medianOffsetNs(5) ?? one;
    },
    nowNs() {
      return process.hrtime.bigint() + offsetNs;
    },
    monotonicMs() {
      return Number(process.hrtime.bigint() / 1000n) / 1000;
    },
  };
}

// One clock for every driver: monotonic time, wall time and timers behind an interface, with the real
// one and a manual twin for deterministic tests.

/** Opaque handle of a timer created by a {@link Clock}; pass it to {@link Clock.clearTimeout}. */
export type TimerHandle = object;

/**
 * Time and timers as drivers see them. Pure machines never read a clock: drivers read this one and pass
 * the time in with each event. {@link systemClock} is the real one; {@link ManualClock} is its twin for
 * tests, where time moves only when the test says so.
 */
export interface Clock {
  /** Monotonic time in milliseconds (fractional; arbitrary origin; never jumps). */
  now(): number;
  /** Wall-clock time in milliseconds since the Unix epoch (fractional). It may be stepped. */
  wallTime(): number;
  /** Calls `fn` once, no earlier than `ms` milliseconds from now as measured by {@link Clock.now}. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /**
   * Calls `fn` once after the I/O that is already pending has been handled (Node's `setImmediate`): a
   * driver uses it to read packets that arrived while a timer was due before acting on the timer.
   */
  setImmediate(fn: () => void): TimerHandle;
  /** Cancels a timer from {@link Clock.setTimeout} or {@link Clock.setImmediate}; a no-op once it ran. */
  clearTimeout(handle: TimerHandle): void;
  /**
   * Waits without yielding until {@link Clock.now} reaches `at` (for sub-millisecond precision after a
   * timer that can only fire on whole milliseconds). The system clock sleeps in the kernel until shortly
   * before `at` and spins the rest; the manual clock moves its time forward, as waiting would.
   */
  spinUntil(at: number): void;
}

/** A timer that fires at most this early is completed in place (see {@link blockUntil}) rather than re-armed. */
const EARLY_SPIN_MS = 2;

/**
 * How long before a due time {@link blockUntil} stops sleeping and spins: a futex sleep ends 0.05 to 0.3 ms
 * late (timer slack, wake-up).
 */
const SPIN_TAIL_MS = 0.25;

let sleepCell: Int32Array | undefined;

/**
 * Blocks the thread until `performance.now()` reaches `at`: sleeps in the kernel (`Atomics.wait`, no CPU)
 * until {@link SPIN_TAIL_MS} before it, then spins. A busy-wait of a millisecond or two uses up the
 * process's scheduler slice: on a busy machine it was preempted in the middle of the wait and finished
 * it 0.5 to 6 ms late (VRRP takeovers at 20 ms adverts, bench/RESULTS.md), where a sleeping process is
 * woken on time.
 */
function blockUntil(at: number): void {
  const sleep = at - performance.now() - SPIN_TAIL_MS;
  if (sleep > 0) {
    sleepCell ??= new Int32Array(new SharedArrayBuffer(4));
    Atomics.wait(sleepCell, 0, 0, sleep);
  }
  while (performance.now() < at) {
    // busy-wait: at most SPIN_TAIL_MS (less what the sleep overslept)
  }
}

/** How far a high-resolution wall reading may drift from `Date.now()` before it is recalibrated. */
const WALL_TOLERANCE_MS = 2;

/**
 * Wall minus monotonic, in milliseconds, measured at a millisecond edge of `Date.now()`: the edge lies
 * between the last monotonic reading that still saw the old millisecond and the first that saw the new
 * one, so the bracket is two readings of one loop turn apart (a `Date.now()` tick that happened before the
 * first turn, or a preemption, widens it). Undefined when the bracket is too wide to trust.
 */
function edgeOffset(): number | undefined {
  let lo = performance.now();
  const start = Date.now();
  const limit = performance.now() + 3;
  for (;;) {
    const t0 = performance.now();
    const wall = Date.now();
    const t1 = performance.now();
    if (wall !== start) return t1 - lo > 0.02 ? undefined : wall - (lo + t1) / 2;
    lo = t0;
    if (t1 > limit) return undefined;
  }
}

function calibratedOffset(): number {
  const samples: number[] = [];
  for (let i = 0; i < 15 && samples.length < 5; i++) {
    const o = edgeOffset();
    if (o !== undefined) samples.push(o);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? Date.now() - performance.now();
}

let wallOffset: number | undefined;

/**
 * The real clock: `performance.now()` for monotonic time, Node's timers, and a wall clock with
 * microsecond resolution. Node shows the wall clock only as `Date.now()` (whole milliseconds), so the first
 * wall reading measures `wall - monotonic` at a few millisecond edges of `Date.now()` (about 5 ms of
 * spinning, once) and later readings add that offset to `performance.now()`. A reading more than 2 ms away
 * from `Date.now()` means the wall clock was stepped: the offset is measured again.
 *
 * Timers fire no earlier than asked: a Node timer that fires early (its loop time is cached in whole
 * milliseconds) waits out the rest in place when it is at most 2 ms (asleep, then spinning the last quarter
 * millisecond), and is re-armed otherwise.
 */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  wallTime: () => {
    wallOffset ??= calibratedOffset();
    let t = performance.now() + wallOffset;
    if (Math.abs(t - Date.now()) > WALL_TOLERANCE_MS) {
      wallOffset = calibratedOffset();
      t = performance.now() + wallOffset;
    }
    return t;
  },
  setTimeout: (fn: () => void, ms: number): TimerHandle => {
    const due = performance.now() + Math.max(0, ms);
    const box: { timer?: NodeJS.Timeout } = {};
    const fire = () => {
      const left = due - performance.now();
      // a Node timer fires up to about a millisecond early (its loop time is cached in whole
      // milliseconds): wait that out in place, as re-arming would cost one to two milliseconds more
      if (left > EARLY_SPIN_MS) box.timer = setTimeout(fire, Math.ceil(left));
      else {
        blockUntil(due); // at most EARLY_SPIN_MS
        fn();
      }
    };
    box.timer = setTimeout(fire, Math.max(0, ms));
    return box;
  },
  setImmediate: (fn: () => void): TimerHandle => ({ immediate: setImmediate(fn) }),
  clearTimeout: (handle: TimerHandle) => {
    const h = handle as { timer?: NodeJS.Timeout; immediate?: NodeJS.Immediate };
    if (h.timer) clearTimeout(h.timer);
    if (h.immediate) clearImmediate(h.immediate);
  },
  spinUntil: (at: number) => blockUntil(at),
});

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** Options of {@link ManualClock}. */
export interface ManualClockOptions {
  /** Initial monotonic time in milliseconds; default 0. */
  readonly start?: number;
  /** Wall-clock time at `start`, milliseconds since the epoch; default 2026-01-01T00:00:00Z. */
  readonly wallAtStart?: number;
}

/**
 * A virtual clock for deterministic tests. Time moves only in {@link ManualClock.advance} (synchronous) or
 * {@link ManualClock.advanceAsync} (which lets promises, microtasks and in-memory I/O run between timers);
 * timers fire in due order (ties in creation order), each at its own due time. `setImmediate` callbacks are
 * timers due now. The wall clock moves with monotonic time and can be stepped on its own.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * clock.setTimeout(() => console.log('fired at', clock.now()), 1500);
 * clock.advance(2000); // fired at 1500
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #wallOffset: number;
  #seq = 0;
  readonly #timers = new Map<TimerHandle, ManualTimer>();

  /** @param options - start time and wall time */
  constructor(options: ManualClockOptions = {}) {
    this.#now = options.start ?? 0;
    this.#wallOffset = (options.wallAtStart ?? Date.UTC(2026, 0, 1)) - this.#now;
  }

  /** {@inheritDoc Clock.now} */
  now(): number {
    return this.#now;
  }

  /** {@inheritDoc Clock.wallTime} */
  wallTime(): number {
    return this.#now + this.#wallOffset;
  }

  /** {@inheritDoc Clock.setTimeout} */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = {};
    this.#timers.set(handle, { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn });
    return handle;
  }

  /** {@inheritDoc Clock.setImmediate} */
  setImmediate(fn: () => void): TimerHandle {
    return this.setTimeout(fn, 0);
  }

  /** {@inheritDoc Clock.clearTimeout} */
  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle);
  }

  /** Moves time forward to `at` at once (a busy-wait takes time), firing nothing. */
  spinUntil(at: number): void {
    if (at > this.#now) this.#now = at;
  }

  /** Steps the wall clock by `ms` (as `date -s` would) without moving monotonic time. */
  stepWall(ms: number): void {
    this.#wallOffset += ms;
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Due times of the pending timers, ascending. */
  pendingTimes(): number[] {
    return [...this.#timers.values()].map((t) => t.at).sort((a, b) => a - b);
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due (also timers set by fired timers), each
   * at its own due time, synchronously.
   *
   * @param ms - milliseconds to advance, at least 0
   */
  advance(ms: number): void {
    const end = this.#now + Math.max(0, ms);
    for (let t = this.#next(end); t; t = this.#next(end)) this.#fire(t);
    if (end > this.#now) this.#now = end;
  }

  /**
   * Like {@link ManualClock.advance}, but before each timer and at the end lets the event loop run
   * (promise continuations, microtasks, `setImmediate` work of in-memory twins), so that I/O a timer
   * started completes at the virtual time it started.
   *
   * @param ms - milliseconds to advance, at least 0
   */
  async advanceAsync(ms: number): Promise<void> {
    const end = this.#now + Math.max(0, ms);
    for (;;) {
      await settle();
      const t = this.#next(end);
      if (!t) break;
      this.#fire(t);
    }
    if (end > this.#now) this.#now = end;
    await settle();
  }

  /**
   * Advances in steps of `stepMs` (default 1 ms, see {@link ManualClock.advanceAsync}) until `condition`
   * holds, at most `limitMs`; returns the virtual time it took.
   *
   * @throws Error when the condition does not hold within `limitMs`
   */
  async until(condition: () => boolean, limitMs: number, stepMs = 1): Promise<number> {
    const start = this.#now;
    await settle();
    while (!condition()) {
      if (this.#now - start >= limitMs)
        throw new Error(`condition not met within ${limitMs} ms of virtual time`);
      await this.advanceAsync(stepMs);
    }
    return this.#now - start;
  }

  #next(end: number): [TimerHandle, ManualTimer] | undefined {
    let best: [TimerHandle, ManualTimer] | undefined;
    for (const entry of this.#timers) {
      const t = entry[1];
      if (t.at > end) continue;
      if (!best || t.at < best[1].at || (t.at === best[1].at && t.seq < best[1].seq)) best = entry;
    }
    return best;
  }

  #fire([handle, timer]: [TimerHandle, ManualTimer]): void {
    this.#timers.delete(handle);
    if (timer.at > this.#now) this.#now = timer.at;
    timer.fn();
  }
}

/** Lets pending promise continuations and immediates run (a few turns of the event loop). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

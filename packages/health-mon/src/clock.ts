// Time and timers behind an interface, so the monitor's scheduling can run on a virtual clock in tests.

/** Opaque handle of a timer created by a {@link Clock}. */
export type TimerHandle = unknown;

/**
 * The clock and timers the monitor schedules with. {@link systemClock} is the real one;
 * {@link ManualClock} is a deterministic twin for tests.
 */
export interface Clock {
  /** Current time in milliseconds (wall-clock epoch for the system clock). */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a no-op for timers that already fired or were cancelled. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `Date.now()` and Node timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/**
 * A virtual clock for deterministic tests: time moves only when {@link ManualClock.advance} is called, and
 * timers fire in due order (ties in creation order) during that call.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Map<unknown, ManualTimer>();

  /** @param start - initial time in milliseconds (default 0) */
  constructor(start = 0) {
    this.#now = start;
  }

  /** {@inheritDoc Clock.now} */
  now(): number {
    return this.#now;
  }

  /** {@inheritDoc Clock.setTimeout} */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = {};
    this.#timers.set(handle, { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn });
    return handle;
  }

  /** {@inheritDoc Clock.clearTimeout} */
  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle);
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
   * Moves time forward by `ms`, firing every timer that falls due (including timers created by fired
   * timers), each at its own due time.
   *
   * @param ms - milliseconds to advance (>= 0)
   */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [unknown, ManualTimer] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at > end) continue;
        if (!next || entry[1].at < next[1].at || (entry[1].at === next[1].at && entry[1].seq < next[1].seq)) {
          next = entry;
        }
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
    }
    this.#now = end;
  }
}

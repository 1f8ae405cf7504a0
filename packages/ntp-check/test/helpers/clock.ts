import { type Clock, createSystemClock } from '../../src/clock';

/** The system clock with a steerable monotonic time and wall-clock steps, for poll-interval tests. */
export interface SteeredClock extends Clock {
  /** Moves monotonic time (and wall time with it) forward. */
  advance(ms: number): void;
  /** Steps the wall clock only, as `date -s` would. */
  stepWall(ms: number): void;
}

export function steeredClock(): SteeredClock {
  const sys = createSystemClock();
  let monoExtra = 0;
  let wallExtraNs = 0n;
  return {
    prepare: () => sys.prepare?.(),
    nowNs: () => sys.nowNs() + wallExtraNs,
    monotonicMs: () => sys.monotonicMs() + monoExtra,
    advance(ms) {
      monoExtra += ms;
      wallExtraNs += BigInt(Math.round(ms * 1e6));
    },
    stepWall(ms) {
      wallExtraNs += BigInt(Math.round(ms * 1e6));
    },
  };
}

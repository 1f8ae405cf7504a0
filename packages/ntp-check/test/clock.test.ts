import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createSystemClock } from '../src/clock';

function pythonRealtimeMinusMonotonicNs(): Promise<bigint | undefined> {
  return new Promise((resolve) => {
    execFile(
      'python3',
      ['-c', 'import time\nprint(min(time.time_ns() - time.monotonic_ns() for _ in range(20)))'],
      (e, out) => resolve(e ? undefined : BigInt(out.trim())),
    );
  });
}

describe('createSystemClock', () => {
  it('agrees with Date.now() to within a millisecond and never runs backwards', () => {
    const clock = createSystemClock();
    let prev = clock.nowNs();
    for (let i = 0; i < 1000; i++) {
      const ns = clock.nowNs();
      expect(ns >= prev).toBe(true);
      prev = ns;
    }
    clock.prepare?.();
    const ms = Number(clock.nowNs() / 1_000_000n);
    expect(Math.abs(ms - Date.now())).toBeLessThanOrEqual(1);
  });

  it('matches CLOCK_REALTIME (read at ns resolution by python3) to within 0.2 ms', async () => {
    const truth = await pythonRealtimeMinusMonotonicNs();
    expect(truth, 'python3 is needed as an independent reference').toBeDefined();
    const clock = createSystemClock();
    // process.hrtime is CLOCK_MONOTONIC, like python's time.monotonic_ns()
    const ours = clock.nowNs() - process.hrtime.bigint();
    const diffNs = Number(ours - truth!);
    expect(Math.abs(diffNs)).toBeLessThan(200_000);
  });
});

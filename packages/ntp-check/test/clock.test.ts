// The clock the client reads by default for T1 and T4: common's systemClock. The offsets this package
// measures are only as good as its wall clock, so check it here against an independent reading.
import { execFile } from 'node:child_process';
import { systemClock } from '@proxyha/common';
import { describe, expect, it } from 'vitest';

function pythonRealtimeMinusMonotonicNs(): Promise<bigint | undefined> {
  return new Promise((resolve) => {
    execFile(
      'python3',
      ['-c', 'import time\nprint(min(time.time_ns() - time.monotonic_ns() for _ in range(20)))'],
      (e, out) => resolve(e ? undefined : BigInt(out.trim())),
    );
  });
}

describe('the default clock (systemClock of @proxyha/common)', () => {
  it('agrees with Date.now() to within a millisecond and never runs backwards', () => {
    let prev = systemClock.wallTime();
    for (let i = 0; i < 1000; i++) {
      const ms = systemClock.wallTime();
      expect(ms).toBeGreaterThanOrEqual(prev);
      prev = ms;
    }
    const before = Date.now();
    const wall = systemClock.wallTime();
    expect(wall - before).toBeGreaterThanOrEqual(-1);
    expect(wall - before).toBeLessThanOrEqual(1 + (Date.now() - before));
  });

  it('matches CLOCK_REALTIME (read at ns resolution by python3) to within 0.2 ms', async () => {
    const truth = await pythonRealtimeMinusMonotonicNs();
    expect(truth, 'python3 is needed as an independent reference').toBeDefined();
    // process.hrtime is CLOCK_MONOTONIC, like python's time.monotonic_ns(): compare wall - monotonic.
    const h1 = process.hrtime.bigint();
    const wallMs = systemClock.wallTime();
    const h2 = process.hrtime.bigint();
    const whole = Math.floor(wallMs);
    const wallNs = BigInt(whole) * 1_000_000n + BigInt(Math.round((wallMs - whole) * 1e6));
    const diffNs = Number(wallNs - (h1 + h2) / 2n - truth!);
    expect(Math.abs(diffNs)).toBeLessThan(200_000);
  });
});

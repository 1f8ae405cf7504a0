import { execFile } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../src/index';

describe('ManualClock', () => {
  it('fires timers in due order (ties in creation order), each at its own time', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 30 }), (delays) => {
        const clock = new ManualClock();
        const fired: [number, number][] = [];
        for (const [i, d] of delays.entries()) clock.setTimeout(() => fired.push([i, clock.now()]), d);
        clock.advance(1000);
        const want = delays
          .map((d, i) => [i, d] as [number, number])
          .sort((a, b) => a[1] - b[1] || a[0] - b[0]);
        expect(fired).toEqual(want);
        expect(clock.now()).toBe(1000);
        expect(clock.pending).toBe(0);
      }),
    );
  });

  it('runs timers set by timers, skips cleared ones, and immediates run as timers due now', () => {
    const clock = new ManualClock({ start: 100 });
    const seen: string[] = [];
    const gone = clock.setTimeout(() => seen.push('cleared'), 10);
    clock.setTimeout(() => {
      seen.push(`a@${clock.now()}`);
      clock.setImmediate(() => seen.push(`immediate@${clock.now()}`));
      clock.setTimeout(() => seen.push(`b@${clock.now()}`), 5);
    }, 20);
    clock.clearTimeout(gone);
    clock.advance(30);
    expect(seen).toEqual(['a@120', 'immediate@120', 'b@125']);
  });

  it('spinUntil moves time as a busy-wait would; wall time follows and can be stepped', () => {
    const clock = new ManualClock({ wallAtStart: 1_000_000 });
    clock.spinUntil(2.5);
    expect(clock.now()).toBe(2.5);
    expect(clock.wallTime()).toBe(1_000_002.5);
    clock.stepWall(-500);
    expect(clock.now()).toBe(2.5);
    expect(clock.wallTime()).toBe(999_502.5);
  });

  it('advanceAsync lets promise work started by a timer finish at that virtual time', async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    clock.setTimeout(() => {
      void Promise.resolve().then(() => seen.push(`resolved@${clock.now()}`));
    }, 10);
    clock.setTimeout(() => seen.push(`later@${clock.now()}`), 20);
    await clock.advanceAsync(30);
    expect(seen).toEqual(['resolved@10', 'later@20']);
    let done = false;
    clock.setTimeout(() => {
      done = true;
    }, 7);
    expect(await clock.until(() => done, 100)).toBe(7);
  });
});

describe('systemClock', () => {
  it('never fires a timer before the time asked, by its own monotonic clock', async () => {
    const results = await Promise.all(
      [0, 1, 2, 3, 5, 8].map(
        (ms) =>
          new Promise<number>((resolve) => {
            const start = systemClock.now();
            systemClock.setTimeout(() => resolve(systemClock.now() - start - ms), ms);
          }),
      ),
    );
    for (const early of results) expect(early).toBeGreaterThanOrEqual(0);
  });

  it('spinUntil returns no earlier than asked, and sleeps through most of the wait instead of spinning', () => {
    const at = systemClock.now() + 100;
    const cpu = process.cpuUsage();
    systemClock.spinUntil(at);
    const used = process.cpuUsage(cpu);
    expect(systemClock.now()).toBeGreaterThanOrEqual(at);
    // a busy-wait would use the whole 100 ms of CPU; asleep, the thread uses the last fraction of a ms
    // (the bound is half of it: the process's other threads, GC among them, may run meanwhile)
    expect((used.user + used.system) / 1000).toBeLessThan(50);
  });

  it('reads the wall clock in step with Date.now(), with sub-millisecond resolution, never backwards', () => {
    const before = Date.now();
    const wall = systemClock.wallTime();
    const after = Date.now();
    expect(wall).toBeGreaterThanOrEqual(before - 2);
    expect(wall).toBeLessThanOrEqual(after + 2);
    const readings = Array.from({ length: 1000 }, () => systemClock.wallTime());
    expect(new Set(readings.map((r) => r % 1)).size).toBeGreaterThan(1);
    for (let i = 1; i < readings.length; i++) expect(readings[i]).toBeGreaterThanOrEqual(readings[i - 1]!);
  });

  it('matches CLOCK_REALTIME, read at ns resolution by python3, to within 0.2 ms', async () => {
    // python3 prints CLOCK_REALTIME − CLOCK_MONOTONIC; Node's hrtime is CLOCK_MONOTONIC, so comparing
    // wallTime() − hrtime with it is free of when either process runs. Each side keeps its tightest
    // reading (a process preempted between two reads only makes that one pair loose).
    const script =
      'import time\nbest = None\nfor _ in range(50):\n  r = time.time_ns(); m = time.monotonic_ns()\n  best = r - m if best is None or r - m > best else best\nprint(best)';
    const truth = await new Promise<bigint | undefined>((resolve) =>
      execFile('python3', ['-c', script], (e, out) => resolve(e ? undefined : BigInt(out.trim()))),
    );
    expect(
      truth,
      'python3 is the independent reference (scripts/install-test-peers.sh installs it)',
    ).toBeDefined();
    let best: { errorNs: number; widthNs: number } | undefined;
    for (let i = 0; i < 50; i++) {
      const h1 = process.hrtime.bigint();
      const wallMs = systemClock.wallTime();
      const h2 = process.hrtime.bigint();
      const whole = Math.floor(wallMs);
      const wallNs = BigInt(whole) * 1_000_000n + BigInt(Math.round((wallMs - whole) * 1e6));
      const sample = { errorNs: Number(wallNs - (h1 + h2) / 2n - truth!), widthNs: Number(h2 - h1) };
      if (!best || sample.widthNs < best.widthNs) best = sample;
    }
    expect(Math.abs(best!.errorNs)).toBeLessThan(200_000 + best!.widthNs / 2);
  });

  it('cancels timeouts and immediates', async () => {
    let fired = 0;
    systemClock.clearTimeout(systemClock.setTimeout(() => fired++, 1));
    systemClock.clearTimeout(systemClock.setImmediate(() => fired++));
    await new Promise((r) => setTimeout(r, 10));
    expect(fired).toBe(0);
  });
});

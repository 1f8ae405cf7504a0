// Deterministic tests of the driver: @proxyha/common's ManualClock and a fake prober whose probes the
// test answers.
import { ManualClock, MemoryLogger } from '@proxyha/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkPorts,
  type HealthChange,
  HealthMonitor,
  type HealthState,
  type PortChange,
  type ProbeFailure,
  type ProbeResult,
  type Prober,
  type ProbeTarget,
} from '../src/index';

const OK: ProbeResult = { ok: true, latencyMs: 0.5 };
const REFUSED: ProbeFailure = { ok: false, reason: 'refused', detail: 'ECONNREFUSED', latencyMs: 0.2 };

class FakeProber {
  pending: { target: ProbeTarget; resolve: (r: ProbeResult) => void }[] = [];
  started: ProbeTarget[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly probe: Prober = (target, signal) =>
    new Promise<ProbeResult>((resolve) => {
      this.started.push(target);
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const onAbort = () => entry.resolve({ ...REFUSED, detail: 'aborted' });
      const entry = {
        target,
        resolve: (r: ProbeResult) => {
          signal?.removeEventListener('abort', onAbort);
          this.pending = this.pending.filter((p) => p !== entry);
          this.inFlight--;
          resolve(r);
        },
      };
      this.pending.push(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
    });

  /** Answers every pending probe (and those they start) until none is left. */
  async answerAll(result: (port: number) => ProbeResult): Promise<void> {
    await flush();
    while (this.pending.length > 0) {
      for (const p of [...this.pending]) p.resolve(result(p.target.port));
      await flush();
    }
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

const WALL = Date.UTC(2026, 5, 1);

function setup(options: Partial<ConstructorParameters<typeof HealthMonitor>[0]> = {}) {
  const clock = new ManualClock({ start: 1_000_000, wallAtStart: WALL });
  const fake = new FakeProber();
  const mon = new HealthMonitor({
    ports: [9090, 2121],
    intervalMs: 1000,
    timeoutMs: 200,
    rise: 2,
    fall: 3,
    jitter: 0,
    clock,
    prober: fake.probe,
    ...options,
  });
  const changes: HealthChange[] = [];
  const portChanges: PortChange[] = [];
  mon.on('change', (c) => changes.push(c));
  mon.on('port', (c) => portChanges.push(c));
  return { clock, fake, mon, changes, portChanges };
}

describe('HealthMonitor scheduling', () => {
  it('probes every port at once on start, then once per interval', async () => {
    const { clock, fake, mon } = setup();
    mon.start();
    await flush();
    expect(fake.started.map((t) => t.port)).toEqual([9090, 2121]);
    expect(fake.started[0]).toMatchObject({ host: '127.0.0.1', probe: 'tcp', timeoutMs: 200 });
    await fake.answerAll(() => OK);
    expect(clock.pendingTimes()).toEqual([1_001_000]);
    clock.advance(999);
    await flush();
    expect(fake.started).toHaveLength(2);
    clock.advance(1);
    await flush();
    expect(fake.started).toHaveLength(4);
    await mon.stop();
  });

  it('keeps at most `concurrency` probes in flight', async () => {
    const ports = Array.from({ length: 10 }, (_, i) => 8000 + i);
    const { fake, mon } = setup({ ports, concurrency: 3 });
    mon.start();
    await flush();
    expect(fake.inFlight).toBe(3);
    await fake.answerAll(() => OK);
    expect(fake.maxInFlight).toBe(3);
    expect(fake.started.map((t) => t.port)).toEqual(ports);
    expect(mon.state.status).toBe('ok');
    await mon.stop();
  });

  it('never overlaps cycles: a slow cycle delays the next one, which then starts at once', async () => {
    const { clock, fake, mon } = setup();
    mon.start();
    await flush();
    clock.advance(2500); // the probes are still in flight after more than an interval
    await flush();
    expect(fake.started).toHaveLength(2);
    expect(clock.pending).toBe(0);
    await fake.answerAll(() => OK);
    expect(clock.pendingTimes()).toEqual([clock.now()]);
    await mon.stop();
  });

  it('subtracts the time the cycle took from the interval', async () => {
    const { clock, fake, mon } = setup();
    mon.start();
    await flush();
    clock.advance(300);
    await fake.answerAll(() => OK);
    expect(clock.pendingTimes()).toEqual([1_000_000 + 1000]);
    await mon.stop();
  });

  it('a wall clock stepped backwards during a cycle does not postpone the next cycle', async () => {
    const { clock, fake, mon } = setup({ ports: [1] });
    mon.start();
    await flush();
    clock.stepWall(-3_600_000); // NTP steps the clock back by an hour while the probes run
    await fake.answerAll(() => OK);
    expect(clock.pendingTimes()).toEqual([1_001_000]);
    clock.advance(1000);
    await flush();
    expect(fake.started).toHaveLength(2);
    // The states carry wall-clock times: the result was stamped after the step.
    expect(mon.state.since).toBe(WALL - 3_600_000);
    await mon.stop();
  });

  it('draws every interval within interval * (1 ± jitter)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        async (r, jitter) => {
          const { clock, fake, mon } = setup({ jitter, random: () => r });
          mon.start();
          await fake.answerAll(() => OK);
          const [due] = clock.pendingTimes();
          const delay = (due as number) - clock.now();
          expect(delay).toBeGreaterThanOrEqual(1000 * (1 - jitter) - 1e-6);
          expect(delay).toBeLessThanOrEqual(1000 * (1 + jitter) + 1e-6);
          expect(delay).toBeCloseTo(1000 * (1 + jitter * (2 * r - 1)), 6);
          await mon.stop();
        },
      ),
      { numRuns: 50 },
    );
  });

  it('stop() aborts probes in flight, discards their results, cancels the timer; start() resumes', async () => {
    const { clock, fake, mon, changes } = setup();
    mon.start();
    await flush();
    expect(fake.inFlight).toBe(2);
    await mon.stop();
    expect(fake.inFlight).toBe(0);
    expect(clock.pending).toBe(0);
    expect(mon.state.status).toBe('unknown');
    expect(changes).toEqual([]);
    expect(mon.running).toBe(false);
    mon.start();
    await fake.answerAll(() => OK);
    expect(mon.state.status).toBe('ok');
    expect(clock.pending).toBe(1);
    await mon.stop();
    expect(clock.pending).toBe(0);
  });

  it('a stop/start while a cycle is in flight does not create a second schedule', async () => {
    const { clock, fake, mon } = setup();
    mon.start();
    await flush();
    const stopping = mon.stop();
    mon.start();
    await stopping;
    await fake.answerAll(() => OK);
    expect(clock.pending).toBe(1);
    await mon.stop();
  });
});

describe('HealthMonitor state and events', () => {
  it('turns failure after `fall` failed cycles and ok after `rise` good ones, with one change event each', async () => {
    const { clock, fake, mon, changes, portChanges } = setup();
    let down = false;
    const answer = (port: number) => (port === 2121 && down ? REFUSED : OK);
    mon.start();
    await fake.answerAll(answer);
    expect(changes.map((c) => c.line)).toEqual(['current state: ok']);
    down = true;
    for (let i = 1; i <= 3; i++) {
      clock.advance(1000);
      await fake.answerAll(answer);
      expect(mon.state.status).toBe(i < 3 ? 'ok' : 'failure');
    }
    expect(changes.map((c) => c.line)).toEqual([
      'current state: ok',
      'current state: failure (port 2121: connection refused)',
    ]);
    expect(mon.line).toBe('current state: failure (port 2121: connection refused)');
    expect(mon.state.since).toBe(clock.wallTime());
    expect(clock.wallTime()).toBe(WALL + 3000);
    expect(mon.state.failing).toEqual([
      { port: 2121, reason: 'refused', detail: 'ECONNREFUSED', since: clock.wallTime() },
    ]);
    down = false;
    for (let i = 1; i <= 2; i++) {
      clock.advance(1000);
      await fake.answerAll(answer);
      expect(mon.state.status).toBe(i < 2 ? 'failure' : 'ok');
    }
    expect(changes.at(-1)?.line).toBe('current state: ok');
    expect(changes.at(-1)?.previous.status).toBe('failure');
    expect(portChanges.filter((c) => c.port === 2121).map((c) => `${c.from}->${c.to}`)).toEqual([
      'unknown->ok',
      'ok->failure',
      'failure->ok',
    ]);
    await mon.stop();
  });

  it('subscribe() calls at once with the current state and on every change, until unsubscribed', async () => {
    const { fake, mon } = setup({ ports: [9090], rise: 1, fall: 1 });
    const seen: [HealthState['status'], boolean][] = [];
    const unsubscribe = mon.subscribe((state, change) => seen.push([state.status, change !== null]));
    expect(seen).toEqual([['unknown', false]]);
    await Promise.all([mon.runCycle(), fake.answerAll(() => OK)]);
    await Promise.all([mon.runCycle(), fake.answerAll(() => REFUSED)]);
    unsubscribe();
    await Promise.all([mon.runCycle(), fake.answerAll(() => OK)]);
    expect(seen).toEqual([
      ['unknown', false],
      ['ok', true],
      ['failure', true],
    ]);
    expect(mon.state.status).toBe('ok');
  });

  it('emits a probe event for every result', async () => {
    const { fake, mon } = setup();
    const probes: string[] = [];
    mon.on('probe', (p) => probes.push(`${p.port}:${p.result.ok}`));
    await Promise.all([mon.runCycle(), fake.answerAll((port) => (port === 9090 ? OK : REFUSED))]);
    expect(probes.sort()).toEqual(['2121:false', '9090:true']);
  });

  it('turns a throwing prober into an error result instead of stopping', async () => {
    const mon = new HealthMonitor({
      ports: [1],
      rise: 1,
      fall: 1,
      prober: async () => {
        throw new Error('boom');
      },
    });
    await mon.runCycle();
    expect(mon.state.failing).toEqual([
      expect.objectContaining({ port: 1, reason: 'error', detail: 'prober threw: boom' }),
    ]);
  });

  it('validates its options and names the offending path and value', () => {
    expect(() => new HealthMonitor({ ports: [9090, 70000], rise: 0 })).toThrow(
      'options: invalid configuration:\n  ports[1].port: must be <= 65535 (got 70000)\n  rise: must be >= 1 (got 0)',
    );
    expect(() => new HealthMonitor({ ports: [] })).toThrow(/ports: at least one port is needed/);
    expect(() => new HealthMonitor({ ports: [1, 1] })).toThrow(/ports\[1\]: port 1 is listed twice/);
    expect(() => new HealthMonitor({ ports: [1, 1] })).toThrow(
      expect.objectContaining({ code: 'HEALTH_CONFIG_INVALID' }),
    );
  });

  it('logs every summary change (warn for failure) and every port change (debug)', async () => {
    const logger = new MemoryLogger();
    const { clock, fake, mon } = setup({ ports: [2121], rise: 1, fall: 1, logger });
    let down = false;
    mon.start();
    await fake.answerAll(() => OK);
    down = true;
    clock.advance(1000);
    await fake.answerAll(() => (down ? REFUSED : OK));
    expect(logger.entries.map((e) => [e.level, e.message])).toEqual([
      ['debug', 'port 2121: unknown -> ok'],
      ['info', 'current state: ok'],
      ['debug', 'port 2121: ok -> failure (connection refused: ECONNREFUSED)'],
      ['warn', 'current state: failure (port 2121: connection refused)'],
    ]);
    expect(logger.entries[3]?.fields).toEqual({ status: 'failure', failing: [2121] });
    await mon.stop();
  });
});

describe('checkPorts', () => {
  it('probes every port once and reports ok only when all answered', async () => {
    const prober: Prober = async (t) => (t.port === 2121 ? REFUSED : OK);
    const clock = new ManualClock({ start: 5, wallAtStart: 42 });
    const bad = await checkPorts({ ports: [9090, 2121], prober, clock });
    expect(bad).toMatchObject({ status: 'failure', at: 42, host: '127.0.0.1' });
    expect(bad.line).toBe('current state: failure (port 2121: connection refused)');
    expect(bad.ports.map((p) => [p.port, p.result.ok])).toEqual([
      [9090, true],
      [2121, false],
    ]);
    const good = await checkPorts({ ports: [9090], prober, clock });
    expect(good.status).toBe('ok');
    expect(good.line).toBe('current state: ok');
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyProbeResult,
  formatPortChange,
  formatStateLine,
  HealthMonError,
  type HealthState,
  initialHealthState,
  type ProbeFailureReason,
  type ProbeResult,
  reasonText,
} from '../src/index';

const ok: ProbeResult = { ok: true, latencyMs: 1 };
const fail = (reason: ProbeFailureReason = 'refused'): ProbeResult => ({
  ok: false,
  reason,
  detail: reason === 'refused' ? 'ECONNREFUSED' : reason,
  latencyMs: 1,
});

function feed(state: HealthState, steps: [number, ProbeResult][], t0 = 1000): HealthState {
  let s = state;
  steps.forEach(([port, result], i) => {
    s = applyProbeResult(s, { type: 'probe-result', at: t0 + i, port, result }).state;
  });
  return s;
}

describe('formatStateLine', () => {
  it('prints the operator lines exactly', () => {
    expect(formatStateLine({ status: 'ok', failing: [] })).toBe('current state: ok');
    expect(
      formatStateLine({
        status: 'failure',
        failing: [{ port: 2121, reason: 'refused', detail: 'ECONNREFUSED', since: 0 }],
      }),
    ).toBe('current state: failure (port 2121: connection refused)');
    expect(
      formatStateLine({
        status: 'failure',
        failing: [
          { port: 2121, reason: 'refused', detail: '', since: 0 },
          { port: 9090, reason: 'timeout', detail: '', since: 0 },
          { port: 8080, reason: 'bad-response', detail: '', since: 0 },
        ],
      }),
    ).toBe(
      'current state: failure (port 2121: connection refused, port 9090: timeout, port 8080: bad response)',
    );
  });

  it('has a phrase for every reason', () => {
    const reasons: ProbeFailureReason[] = [
      'refused',
      'timeout',
      'reset',
      'closed',
      'bad-response',
      'unreachable',
      'error',
    ];
    expect(reasons.map(reasonText)).toEqual([
      'connection refused',
      'timeout',
      'connection reset',
      'connection closed',
      'bad response',
      'unreachable',
      'error',
    ]);
  });
});

describe('the pure core, by example', () => {
  it('goes to failure after exactly `fall` failures and back after exactly `rise` successes', () => {
    let s = initialHealthState([9090, 2121], { rise: 2, fall: 3 }, 0);
    expect(s.status).toBe('unknown');
    s = feed(s, [
      [9090, ok],
      [2121, ok],
    ]);
    expect(s.status).toBe('ok');
    expect(formatStateLine(s)).toBe('current state: ok');
    const step1 = applyProbeResult(s, { type: 'probe-result', at: 2000, port: 2121, result: fail() });
    const step2 = applyProbeResult(step1.state, {
      type: 'probe-result',
      at: 2001,
      port: 2121,
      result: fail(),
    });
    expect(step2.state.status).toBe('ok');
    expect(step1.changed || step2.changed).toBe(false);
    const step3 = applyProbeResult(step2.state, {
      type: 'probe-result',
      at: 2002,
      port: 2121,
      result: fail(),
    });
    expect(step3.changed).toBe(true);
    expect(step3.state.status).toBe('failure');
    expect(step3.state.since).toBe(2002);
    expect(step3.portChanges).toEqual([
      { port: 2121, from: 'ok', to: 'failure', at: 2002, reason: 'refused', detail: 'ECONNREFUSED' },
    ]);
    expect(formatStateLine(step3.state)).toBe('current state: failure (port 2121: connection refused)');
    // The ports that still work do not make the node ok.
    s = feed(
      step3.state,
      [
        [9090, ok],
        [2121, ok],
        [9090, ok],
      ],
      3000,
    );
    expect(s.status).toBe('failure');
    s = feed(s, [[2121, ok]], 4000);
    expect(s.status).toBe('ok');
    expect(s.since).toBe(4000);
  });

  it('reports a changed reason of a failing port as a change, without moving `since`', () => {
    let s = initialHealthState([2121], { rise: 1, fall: 1 }, 0);
    s = feed(s, [[2121, fail('refused')]]);
    const step = applyProbeResult(s, { type: 'probe-result', at: 5000, port: 2121, result: fail('timeout') });
    expect(step.changed).toBe(true);
    expect(step.portChanges).toEqual([]);
    expect(step.state.since).toBe(s.since);
    expect(formatStateLine(step.state)).toBe('current state: failure (port 2121: timeout)');
  });

  it('lists several failing ports in configured order', () => {
    let s = initialHealthState([9090, 2121, 8080], { rise: 1, fall: 1 }, 0);
    s = feed(s, [
      [8080, fail('timeout')],
      [9090, ok],
      [2121, fail('refused')],
    ]);
    expect(formatStateLine(s)).toBe(
      'current state: failure (port 2121: connection refused, port 8080: timeout)',
    );
  });

  it('counted mode needs rise successes before the first ok', () => {
    let s = initialHealthState([1], { rise: 3, fall: 2, initial: 'counted' }, 0);
    s = feed(s, [
      [1, ok],
      [1, ok],
    ]);
    expect(s.ports[0]?.status).toBe('unknown');
    expect(s.status).toBe('unknown');
    s = feed(s, [[1, ok]]);
    expect(s.status).toBe('ok');
  });

  it('rejects unknown ports, duplicate ports and bad counts with stable codes', () => {
    const s = initialHealthState([1], { rise: 1, fall: 1 }, 0);
    expect(() => applyProbeResult(s, { type: 'probe-result', at: 1, port: 2, result: ok })).toThrow(
      expect.objectContaining({ code: 'HEALTH_UNKNOWN_PORT', details: { port: 2 } }),
    );
    expect(() => initialHealthState([1, 1], { rise: 1, fall: 1 }, 0)).toThrow(HealthMonError);
    expect(() => initialHealthState([1, 1], { rise: 1, fall: 1 }, 0)).toThrow(
      expect.objectContaining({
        code: 'HEALTH_INVALID_ARGUMENT',
        details: { issues: [{ path: 'ports[1]', message: 'port 1 is listed twice' }] },
      }),
    );
    expect(() => initialHealthState([1], { rise: 0, fall: 1 }, 0)).toThrow(/rise: must be an integer >= 1/);
    expect(() => initialHealthState([1], { rise: 1, fall: 1.5 }, 0)).toThrow(/fall/);
  });

  it('prints a port change as the -v line', () => {
    expect(
      formatPortChange({
        port: 2121,
        from: 'ok',
        to: 'failure',
        at: 0,
        reason: 'refused',
        detail: 'ECONNREFUSED',
      }),
    ).toBe('port 2121: ok -> failure (connection refused: ECONNREFUSED)');
    expect(
      formatPortChange({ port: 2121, from: 'failure', to: 'ok', at: 0, reason: null, detail: null }),
    ).toBe('port 2121: failure -> ok');
  });
});

// ---- properties -------------------------------------------------------------------------------------

const reasonArb = fc.constantFrom<ProbeFailureReason>(
  'refused',
  'timeout',
  'reset',
  'closed',
  'bad-response',
);
const resultArb: fc.Arbitrary<ProbeResult> = fc.oneof(
  fc.constant(ok),
  reasonArb.map((r) => fail(r)),
);
const scenarioArb = fc
  .record({
    ports: fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 4 }),
    rise: fc.integer({ min: 1, max: 5 }),
    fall: fc.integer({ min: 1, max: 5 }),
    initial: fc.constantFrom('first-result' as const, 'counted' as const),
    // Biased towards runs, so that thresholds are actually reached.
    steps: fc.array(
      fc.tuple(fc.nat(), resultArb, fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 5000 })),
      { maxLength: 40 },
    ),
  })
  .map(({ ports, rise, fall, initial, steps }) => {
    const events: { port: number; result: ProbeResult; gap: number }[] = [];
    for (const [i, result, repeat, gap] of steps) {
      const port = ports[i % ports.length] as number;
      for (let k = 0; k < repeat; k++) events.push({ port, result, gap });
    }
    return { ports, rise, fall, initial, events };
  });

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/** Runs a scenario, calling `check(before, after, step, history of that port including this result)`. */
function run(
  sc: Scenario,
  check: (
    before: HealthState,
    after: HealthState,
    step: ReturnType<typeof applyProbeResult>,
    port: number,
    history: ProbeResult[],
  ) => void,
  t0 = 0,
): HealthState {
  let state = initialHealthState(sc.ports, { rise: sc.rise, fall: sc.fall, initial: sc.initial }, t0);
  const histories = new Map<number, ProbeResult[]>(sc.ports.map((p) => [p, []]));
  let t = t0;
  for (const ev of sc.events) {
    t += ev.gap;
    const history = histories.get(ev.port)!;
    history.push(ev.result);
    const step = applyProbeResult(state, { type: 'probe-result', at: t, port: ev.port, result: ev.result });
    check(state, step.state, step, ev.port, history);
    state = step.state;
  }
  return state;
}

const tail = (h: ProbeResult[], n: number) => (h.length >= n ? h.slice(-n) : null);

describe('the pure core, by property', () => {
  it('a port only leaves ok after `fall` consecutive failures and only leaves failure after `rise` successes', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        run(sc, (before, after, _step, port, history) => {
          const from = before.ports.find((p) => p.port === port)!.status;
          const to = after.ports.find((p) => p.port === port)!.status;
          if (from === to) return;
          if (from === 'unknown' && sc.initial === 'first-result') {
            expect(history.length).toBe(1);
            return;
          }
          if (to === 'failure') expect(tail(history, sc.fall)?.every((r) => !r.ok)).toBe(true);
          if (to === 'ok') expect(tail(history, sc.rise)?.every((r) => r.ok)).toBe(true);
          expect(to).not.toBe('unknown');
        });
      }),
    );
  });

  it('`fall` consecutive failures always mean failure, `rise` consecutive successes always mean ok', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        run(sc, (_before, after, _step, port, history) => {
          const status = after.ports.find((p) => p.port === port)!.status;
          if (tail(history, sc.fall)?.every((r) => !r.ok)) expect(status).toBe('failure');
          if (tail(history, sc.rise)?.every((r) => r.ok)) expect(status).toBe('ok');
        });
      }),
    );
  });

  it('the aggregate is failure iff any port is in failure, ok iff all ports are ok', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        run(sc, (_before, after) => {
          const statuses = after.ports.map((p) => p.status);
          expect(after.status === 'failure').toBe(statuses.includes('failure'));
          expect(after.status === 'ok').toBe(statuses.every((s) => s === 'ok'));
          expect(after.failing.map((f) => f.port)).toEqual(
            after.ports.filter((p) => p.status === 'failure').map((p) => p.port),
          );
        });
      }),
    );
  });

  it('a failing port carries the reason of its latest failed probe', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        run(sc, (_before, after, _step, port, history) => {
          const failing = after.failing.find((f) => f.port === port);
          if (!failing) return;
          const lastFailure = [...history].reverse().find((r) => !r.ok);
          expect(lastFailure && !lastFailure.ok && lastFailure.reason).toBe(failing.reason);
        });
      }),
    );
  });

  it('a result changes only its own port, and `since` is reset exactly when a status changes', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        run(sc, (before, after, step, port) => {
          before.ports.forEach((p, i) => {
            const q = after.ports[i]!;
            if (p.port !== port) expect(q).toBe(p);
            else {
              // `since` is the time of this result when the status changed, and untouched otherwise.
              expect(q.since).toBe(q.status !== p.status ? q.lastAt : p.since);
              expect(step.portChanges.length).toBe(q.status !== p.status ? 1 : 0);
            }
          });
          const at = after.ports.find((p) => p.port === port)!.lastAt;
          expect(after.since).toBe(after.status !== before.status ? at : before.since);
          expect(step.changed).toBe(formatStateLine(after) !== formatStateLine(before));
        });
      }),
    );
  });

  it('no change without a probe result: the statuses depend on the results only, never on the times', () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer({ min: 0, max: 1e12 }), (sc, t0) => {
        const a = run(sc, () => {}, 0);
        const b = run({ ...sc, events: sc.events.map((e) => ({ ...e, gap: e.gap * 7 + 1 })) }, () => {}, t0);
        expect(b.ports.map((p) => p.status)).toEqual(a.ports.map((p) => p.status));
        expect(formatStateLine(b)).toBe(formatStateLine(a));
        // And a port that never got a result is still unknown.
        const probed = new Set(sc.events.map((e) => e.port));
        for (const p of a.ports) if (!probed.has(p.port)) expect(p.status).toBe('unknown');
      }),
    );
  });
});

// Property tests over random event sequences for one machine: timers always in the future, addVips
// and removeVips alternate, timers and addresses always agree with the state, transitions chain.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type MachineAction,
  type MachineConfig,
  type MachineEvent,
  type TimerName,
  VrrpMachine,
} from '../src/index';

const configArb = fc
  .record({
    version: fc.constantFrom(2 as const, 3 as const),
    priority: fc.oneof(fc.integer({ min: 1, max: 255 }), fc.constant(255)),
    units: fc.integer({ min: 1, max: 4 }),
    preempt: fc.boolean(),
    preemptDelayMs: fc.constantFrom(0, 0, 2500),
    lowerPriorityResponse: fc.constantFrom('rfc9568' as const, 'rfc5798' as const),
    weights: fc.array(fc.integer({ min: -60, max: 60 }), { maxLength: 3 }),
    accept: fc.boolean(),
  })
  .map(
    (c): MachineConfig => ({
      name: 'VI_1',
      vrid: 51,
      version: c.version,
      priority: c.priority,
      advertIntervalMs: c.version === 2 ? c.units * 1000 : c.units * 250,
      primaryAddress: '192.168.77.11',
      virtualIps: ['192.168.77.74/24'],
      preempt: c.preempt,
      preemptDelayMs: c.preemptDelayMs,
      lowerPriorityResponse: c.lowerPriorityResponse,
      accept: c.accept,
      trackers: c.weights.map((weight, i) => ({ name: `t${i}`, weight })),
    }),
  );

type Step =
  | {
      k: 'advert';
      dt: number;
      priority: number;
      host: number;
      cs: number;
      version: number;
      ttl: number;
      wrongList: boolean;
    }
  | { k: 'fire'; tick: boolean }
  | { k: 'timer'; dt: number; timer: TimerName }
  | { k: 'tick'; dt: number }
  | { k: 'startup' | 'shutdown' | 'interfaceDown' | 'interfaceUp'; dt: number }
  | { k: 'tracker'; dt: number; i: number; up: boolean; weight: number | undefined }
  | { k: 'sync'; dt: number; to: 'master' | 'backup' | 'fault' | 'faultCleared' };

const dt = fc.oneof(fc.integer({ min: 0, max: 4000 }), fc.double({ min: 0, max: 500, noNaN: true }));
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant('advert' as const),
      dt,
      priority: fc.constantFrom(0, 1, 50, 89, 100, 150, 254, 255),
      host: fc.constantFrom(10, 11, 12, 200),
      cs: fc.oneof(fc.constantFrom(100, 25, 200), fc.integer({ min: 0, max: 5000 })),
      version: fc.oneof(fc.constant(-1), fc.constantFrom(2, 3, 4)),
      ttl: fc.constantFrom(255, 255, 255, 64),
      wrongList: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    }),
  },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('fire' as const), tick: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('timer' as const),
      dt,
      timer: fc.constantFrom<TimerName>('adver', 'masterDown', 'preemptDelay'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('tick' as const), dt }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constantFrom(
        'startup' as const,
        'shutdown' as const,
        'interfaceDown' as const,
        'interfaceUp' as const,
      ),
      dt,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('tracker' as const),
      dt,
      i: fc.integer({ min: 0, max: 2 }),
      up: fc.boolean(),
      weight: fc.option(fc.integer({ min: -253, max: 253 }), { nil: undefined }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('sync' as const),
      dt,
      to: fc.constantFrom('master' as const, 'backup' as const, 'fault' as const, 'faultCleared' as const),
    }),
  },
);

function toEvent(
  m: VrrpMachine,
  now: number,
  step: Step,
  config: MachineConfig,
): { at: number; event: MachineEvent } | undefined {
  if (step.k === 'fire') {
    const due = m.nextDeadline();
    if (due === undefined) return undefined;
    const at = Math.max(now, due);
    if (step.tick) return { at, event: { type: 'tick', at } };
    const timers = m.snapshot().timers;
    const timer = (Object.keys(timers) as TimerName[]).find((t) => timers[t] === due) as TimerName;
    return { at, event: { type: 'timer', timer, at } };
  }
  const at = now + step.dt;
  switch (step.k) {
    case 'advert':
      return {
        at,
        event: {
          type: 'advert',
          at,
          from: `192.168.77.${step.host}`,
          version: step.version === -1 ? (config.version ?? 3) : step.version,
          vrid: 51,
          priority: step.priority,
          maxAdvertIntervalCs:
            config.version === 2 && step.cs === 100 ? (config.advertIntervalMs ?? 1000) / 10 : step.cs,
          addresses: step.wrongList ? ['192.168.77.99'] : ['192.168.77.74'],
          ttl: step.ttl,
        },
      };
    case 'timer':
      return { at, event: { type: 'timer', at, timer: step.timer } };
    case 'tick':
      return { at, event: { type: 'tick', at } };
    case 'tracker': {
      const n = config.trackers?.length ?? 0;
      if (n === 0) return { at, event: { type: 'tick', at } };
      const tracker = `t${step.i % n}`;
      const state = step.up ? ('up' as const) : ('down' as const);
      return {
        at,
        event:
          step.weight === undefined
            ? { type: 'trackerChanged', at, tracker, state }
            : { type: 'trackerChanged', at, tracker, state, weight: step.weight },
      };
    }
    case 'sync':
      return { at, event: { type: 'syncGroup', at, group: 'G', to: step.to } };
    default:
      return { at, event: { type: step.k, at } };
  }
}

describe('machine properties over random event sequences', () => {
  it('keeps its invariants whatever happens', () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 120 }), (config, steps) => {
        const m = new VrrpMachine(config);
        const owner = config.priority === 255;
        let now = 0;
        let held = false;
        let seq = 0;
        let state = m.state;
        const check = (event: MachineEvent) => {
          now = event.at;
          const actions: MachineAction[] = m.handle(event);
          for (const a of actions) {
            if (a.type === 'setTimer') expect(a.at).toBeGreaterThan(now);
            else if (a.type !== 'cancelTimer') expect(a.at).toBe(now);
            if (a.type === 'addVips') {
              expect(held).toBe(false);
              held = true;
            }
            if (a.type === 'removeVips') {
              expect(held).toBe(true);
              held = false;
            }
            if (a.type === 'transition') {
              expect(a.seq).toBe(++seq);
              expect(a.from).toBe(state);
              expect(a.to).not.toBe(a.from);
              state = a.to;
            }
            if (a.type === 'send') expect([0, m.effectivePriority]).toContain(a.priority);
          }
          const s = m.snapshot();
          expect(s.state).toBe(state);
          expect(s.vipsHeld).toBe(held);
          expect(held).toBe(s.state === 'master');
          const armed = Object.keys(s.timers).sort();
          if (s.state === 'master') expect(armed).toEqual(['adver']);
          else if (s.state === 'backup')
            expect(armed.filter((t) => t !== 'preemptDelay')).toEqual(['masterDown']);
          else expect(armed).toEqual([]);
          // a timer due exactly now may still be waiting for its own event; none is overdue
          for (const due of Object.values(s.timers)) expect(due as number).toBeGreaterThanOrEqual(now);
          if (owner) expect(s.effectivePriority).toBe(255);
          else {
            expect(s.effectivePriority).toBeGreaterThanOrEqual(1);
            expect(s.effectivePriority).toBeLessThanOrEqual(254);
          }
          expect(s.state === 'fault').toBe(s.faultReasons.length > 0 && s.state !== 'initialize');
        };
        for (const step of steps) {
          const e = toEvent(m, now, step, config);
          if (e === undefined) continue;
          // as a driver does: timers due before the event fire first, in order
          for (let due = m.nextDeadline(); due !== undefined && due < e.at; due = m.nextDeadline()) {
            check({ type: 'tick', at: due });
          }
          check(e.event);
        }
      }),
      { numRuns: 400 },
    );
  });
});

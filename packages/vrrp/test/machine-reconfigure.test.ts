// The `reconfigure` event (a daemon's reload): a changed configuration applied in place, without a
// state change, a priority 0 advert or VIPs removed and added again, unless the change asks for it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type MachineAction,
  type MachineConfig,
  type MachineSnapshot,
  SyncGroup,
  VrrpError,
  VrrpMachine,
} from '../src/index';
import { adv, all, asMaster, cfg, first, kinds, logs, mdi, started } from './machine-helpers';

const reconf = (m: VrrpMachine, at: number, config: MachineConfig, resetTrackers?: string[]) =>
  m.handle({ type: 'reconfigure', at, config, ...(resetTrackers ? { resetTrackers } : {}) });

/** A snapshot without the time of the last event. */
const still = (s: MachineSnapshot) => ({ ...s, now: undefined });

describe('reconfigure', () => {
  it('the same configuration changes nothing: no advert, no VIP, no timer, only a debug line', () => {
    const { m, at } = asMaster();
    const before = m.snapshot();
    const out = reconf(m, at + 10, cfg());
    expect(kinds(out)).toEqual(['log']);
    expect(first(out, 'log')).toMatchObject({ level: 'debug', message: '(VI_1) configuration reloaded' });
    expect(still(m.snapshot())).toEqual(still(before));
  });

  it('a Master whose priority drops keeps Master; the next advert carries it and a better Backup takes over', () => {
    const { m, at } = asMaster(cfg({ priority: 150 }));
    const out = reconf(m, at + 10, cfg({ priority: 90 }));
    expect(first(out, 'priorityChanged')).toMatchObject({ from: 150, to: 90 });
    expect(logs(out)).toContain('(VI_1) Changing effective priority from 150 to 90');
    expect(all(out, 'send')).toEqual([]);
    expect(all(out, 'transition')).toEqual([]);
    expect(m.state).toBe('master');
    expect(m.snapshot().basePriority).toBe(90);
    const due = m.snapshot().timers.adver as number;
    expect(first(m.handle({ type: 'timer', timer: 'adver', at: due }), 'send').priority).toBe(90);
    // a Backup with 100 preempts: its advert sends us to Backup
    const yielded = m.handle(adv(due + 5, { priority: 100 }));
    expect(first(yielded, 'transition')).toMatchObject({
      from: 'master',
      to: 'backup',
      reason: 'higherPriority',
    });
  });

  it('a Backup whose priority rises above the Master preempts it when its Master_Down_Timer runs out', () => {
    const { m } = started(cfg({ priority: 100 }));
    m.handle(adv(100, { priority: 120 }));
    reconf(m, 200, cfg({ priority: 150 }));
    expect(m.effectivePriority).toBe(150);
    // the Master's next advert is now of lower priority: discarded, the timer keeps running
    expect(logs(m.handle(adv(1100, { priority: 120 })))).toEqual([
      '(VI_1) received lower priority (120) advert from 192.168.77.12 - discarding',
    ]);
    const due = m.snapshot().timers.masterDown as number;
    expect(due).toBe(100 + mdi(100));
    const up = m.handle({ type: 'timer', timer: 'masterDown', at: due });
    expect(first(up, 'transition')).toMatchObject({ from: 'backup', to: 'master', reason: 'masterDown' });
  });

  it('a Master adds and removes only the VIPs that changed, then announces the whole list', () => {
    const { m, at } = asMaster(cfg({ virtualIps: ['192.168.77.74/24', '192.168.77.75/24'] }));
    const out = reconf(m, at + 10, cfg({ virtualIps: ['192.168.77.75/24', '192.168.77.76/24'] }));
    expect(kinds(out).filter((k) => k !== 'log')).toEqual(['removeVips', 'addVips', 'announce']);
    expect(first(out, 'removeVips').addresses).toEqual(['192.168.77.74/24']);
    expect(first(out, 'addVips')).toMatchObject({ addresses: ['192.168.77.76/24'], accept: false });
    expect(first(out, 'announce')).toMatchObject({
      addresses: ['192.168.77.75', '192.168.77.76'],
      reason: 'addressesChanged',
    });
    // the adverts list the new addresses; shutdown removes exactly those
    const due = m.snapshot().timers.adver as number;
    expect(first(m.handle({ type: 'timer', timer: 'adver', at: due }), 'send').addresses).toEqual([
      '192.168.77.75',
      '192.168.77.76',
    ]);
    expect(first(m.handle({ type: 'shutdown', at: due + 1 }), 'removeVips').addresses).toEqual([
      '192.168.77.75/24',
      '192.168.77.76/24',
    ]);
  });

  it('a Backup changes its VIP list without VIP actions, and checks adverts against the new list', () => {
    const { m } = started();
    const out = reconf(m, 10, cfg({ virtualIps: ['192.168.77.76/24'] }));
    expect(kinds(out)).toEqual(['log']);
    expect(first(m.handle(adv(20)), 'discard').reason).toBe('VRRP_ADDRESS_LIST_MISMATCH');
    expect(all(m.handle(adv(30, { addresses: ['192.168.77.76'] })), 'discard')).toEqual([]);
  });

  it('refuses to change what makes another instance, and invalid settings, before changing anything', () => {
    const { m, at } = asMaster();
    const before = m.snapshot();
    for (const [change, key] of [
      [{ vrid: 52 }, 'vrid'],
      [{ version: 2 as const }, 'version'],
      [{ name: 'VI_2' }, 'name'],
      [{ primaryAddress: '192.168.77.13' }, 'primaryAddress'],
    ] as const) {
      const e = (() => {
        try {
          reconf(m, at + 1, cfg(change));
        } catch (err) {
          return err as VrrpError;
        }
        throw new Error('accepted');
      })();
      expect(e).toBeInstanceOf(VrrpError);
      expect(e.code).toBe('VRRP_INVALID_EVENT');
      expect(e.message).toMatch(new RegExp(`cannot change ${key}`));
    }
    expect(() => reconf(m, at + 1, cfg({ priority: 300 }))).toThrow(/priority/);
    expect(() =>
      m.handle({ type: 'reconfigure', at: at + 1, config: cfg(), resetTrackers: 'x' as unknown as string[] }),
    ).toThrow(/resetTrackers/);
    expect(still(m.snapshot())).toEqual(still(before));
  });

  it('trackers are matched by name: kept state, new ones at their initial state, removed ones gone', () => {
    const base = cfg({
      priority: 100,
      trackers: [
        { name: 'a', weight: -30 },
        { name: 'b', weight: 20 },
      ],
    });
    const { m } = started(base);
    m.handle({ type: 'trackerChanged', at: 10, tracker: 'a', state: 'down' });
    expect(m.effectivePriority).toBe(100 - 30 + 20);
    // b removed, c added (initially down), a kept down with a new weight
    const out = reconf(
      m,
      20,
      cfg({
        priority: 100,
        trackers: [
          { name: 'a', weight: -40 },
          { name: 'c', weight: -5, initial: 'down' },
        ],
      }),
    );
    expect(first(out, 'priorityChanged')).toMatchObject({ from: 90, to: 55 });
    expect(m.snapshot().trackers).toEqual({ a: { up: false, weight: -40 }, c: { up: false, weight: -5 } });
  });

  it('a weight set by an event survives unless the configured weight changed; reset trackers start afresh', () => {
    const base = cfg({
      trackers: [
        { name: 'file', weight: -10 },
        { name: 'chk', weight: -20 },
      ],
    });
    const { m } = started(base);
    m.handle({ type: 'trackerChanged', at: 10, tracker: 'file', state: 'down', weight: -50 });
    m.handle({ type: 'trackerChanged', at: 11, tracker: 'chk', state: 'down' });
    expect(m.effectivePriority).toBe(100 - 50 - 20);
    reconf(m, 20, base, ['chk']);
    expect(m.snapshot().trackers).toEqual({
      file: { up: false, weight: -50 },
      chk: { up: true, weight: -20 },
    });
    expect(m.effectivePriority).toBe(50);
  });

  it('dropping the weight-0 tracker that holds the instance in Fault leaves Fault', () => {
    const { m } = started(cfg({ trackers: [{ name: 'link', weight: 0 }] }));
    m.handle({ type: 'trackerChanged', at: 10, tracker: 'link', state: 'down' });
    expect(m.state).toBe('fault');
    const out = reconf(m, 20, cfg());
    expect(first(out, 'transition')).toMatchObject({ from: 'fault', to: 'backup', reason: 'faultCleared' });
  });

  it('turning preempt off cancels a running preempt delay', () => {
    const { m } = started(cfg({ priority: 150, preemptDelayMs: 5000 }));
    m.handle(adv(100, { priority: 100 }));
    expect(m.snapshot().timers.preemptDelay).toBe(5100);
    const out = reconf(m, 200, cfg({ priority: 150, preempt: false }));
    expect(out).toContainEqual({ type: 'cancelTimer', timer: 'preemptDelay' });
    expect(m.snapshot().timers.preemptDelay).toBeUndefined();
  });

  it('a shorter advert interval brings a Master’s next advert forward and goes into it', () => {
    const { m, at } = asMaster(cfg({ advertIntervalMs: 1000 }));
    const out = reconf(m, at + 100, cfg({ advertIntervalMs: 200 }));
    expect(first(out, 'setTimer')).toEqual({ type: 'setTimer', timer: 'adver', at: at + 300 });
    const sent = first(m.handle({ type: 'timer', timer: 'adver', at: at + 300 }), 'send');
    expect(sent.intervalMs).toBe(200);
    expect(m.snapshot().timers.adver).toBe(at + 500);
  });

  it('a sync group formed over running machines levels their faults at once (resync)', () => {
    const a = new VrrpMachine(cfg({ name: 'VI_A' }));
    const b = new VrrpMachine(cfg({ name: 'VI_B', vrid: 52 }));
    a.handle({ type: 'startup', at: 0 });
    b.handle({ type: 'startup', at: 0 });
    a.handle({ type: 'interfaceDown', at: 5 });
    const group = new SyncGroup('G', [a, b]);
    const out = group.resync(10);
    expect(
      out.map((x) => [x.instance, x.action.type === 'transition' ? x.action.to : x.action.type]),
    ).toContainEqual(['VI_B', 'fault']);
    expect(b.snapshot().faultReasons).toEqual(['syncGroup']);
    expect(group.resync(11)).toEqual([]);
  });
});

// ---- properties --------------------------------------------------------------------------------

const vipPool = ['192.168.77.74/24', '192.168.77.75/24', '192.168.77.76/25', '192.168.77.77/24'];
const configArb = fc
  .record({
    priority: fc.integer({ min: 1, max: 255 }),
    vips: fc.subarray(vipPool, { minLength: 1 }),
    preempt: fc.boolean(),
    preemptDelayMs: fc.constantFrom(0, 2500),
    units: fc.integer({ min: 1, max: 4 }),
    trackers: fc.subarray(['t0', 't1', 't2']),
    weight: fc.integer({ min: -60, max: 60 }),
  })
  .map(
    (c): MachineConfig =>
      cfg({
        priority: c.priority,
        virtualIps: c.vips,
        preempt: c.preempt,
        preemptDelayMs: c.preemptDelayMs,
        advertIntervalMs: c.units * 250,
        trackers: c.trackers.map((name, i) => ({ name, weight: i === 0 ? c.weight : -10 })),
      }),
  );

type Step = { k: 'advert'; dt: number; priority: number } | { k: 'fire' } | { k: 'down' | 'up'; dt: number };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    k: fc.constant('advert' as const),
    dt: fc.integer({ min: 0, max: 3000 }),
    priority: fc.constantFrom(0, 50, 100, 150, 254),
  }),
  fc.record({ k: fc.constant('fire' as const) }),
  fc.record({ k: fc.constantFrom('down' as const, 'up' as const), dt: fc.integer({ min: 0, max: 500 }) }),
);

/** Runs the steps; returns the time of the last event. */
function run(m: VrrpMachine, steps: readonly Step[], held: Set<string>): number {
  let now = 0;
  const apply = (actions: readonly MachineAction[]) => track(actions, held);
  apply(m.handle({ type: 'startup', at: 0 }));
  for (const s of steps) {
    if (s.k === 'fire') {
      const due = m.nextDeadline();
      if (due === undefined) continue;
      now = Math.max(now, due);
      apply(m.handle({ type: 'tick', at: now }));
    } else if (s.k === 'advert') {
      now += s.dt;
      apply(
        m.handle(
          adv(now, {
            priority: s.priority,
            addresses: [...m.virtualIps].map((v) => v.split('/')[0] as string),
          }),
        ),
      );
    } else {
      now += s.dt;
      const name = m.snapshot().trackers.t0 ? 't0' : undefined;
      if (name) apply(m.handle({ type: 'trackerChanged', at: now, tracker: name, state: s.k }));
    }
  }
  return now;
}

function track(actions: readonly MachineAction[], held: Set<string>): void {
  for (const a of actions) {
    if (a.type === 'addVips') for (const v of a.addresses) held.add(v);
    if (a.type === 'removeVips') for (const v of a.addresses) held.delete(v);
  }
}

describe('reconfigure properties', () => {
  it('whatever happened before, the same configuration again changes nothing', () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { maxLength: 60 }), (config, steps) => {
        const m = new VrrpMachine(config);
        const now = run(m, steps, new Set());
        const before = m.snapshot();
        const out = m.handle({ type: 'reconfigure', at: now, config });
        expect(kinds(out)).toEqual(['log']);
        expect(still(m.snapshot())).toEqual(still(before));
      }),
      { numRuns: 300 },
    );
  });

  it('any reconfigure: no priority 0 advert, a Master leaves only for Fault, and it holds exactly the new VIPs', () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { maxLength: 60 }), configArb, (config, steps, next) => {
        const m = new VrrpMachine(config);
        const held = new Set<string>();
        const now = run(m, steps, held);
        const was = m.state;
        const out = m.handle({ type: 'reconfigure', at: now + 1, config: next });
        track(out, held);
        expect(all(out, 'send').filter((s) => s.priority === 0 && s.reason !== 'fault')).toEqual([]);
        if (was === 'master') expect(['master', 'fault']).toContain(m.state);
        if (m.state === 'master') expect([...held].sort()).toEqual([...(next.virtualIps as string[])].sort());
        else expect(held.size).toBe(0);
        for (const a of out) if (a.type === 'setTimer') expect(a.at).toBeGreaterThan(now + 1);
      }),
      { numRuns: 300 },
    );
  });
});

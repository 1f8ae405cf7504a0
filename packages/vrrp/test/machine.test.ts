// The state machine beyond the RFC text: keepalived's log lines, Fault, tracking, preempt delay,
// unicast peers, timer delivery (stale, early, tick), configuration errors.
import { describe, expect, it } from 'vitest';
import { type MachineAction, masterDownIntervalMs, skewTimeMs, VrrpError, VrrpMachine } from '../src/index';
import { adv, all, asMaster, cfg, first, kinds, logs, mdi, started } from './machine-helpers';

describe('timer formulas', () => {
  it('v3, 1 s adverts, priority 89: Master_Down_Interval is 3652.34375 ms exactly', () => {
    expect(masterDownIntervalMs(3, 89, 1000)).toBe(3652.34375);
    expect(skewTimeMs(3, 89, 1000)).toBe(652.34375);
  });

  it('v3 skew scales with the interval, v2 skew does not', () => {
    expect(skewTimeMs(3, 100, 100)).toBe(60.9375);
    expect(skewTimeMs(2, 100, 3000)).toBe(609.375);
    expect(masterDownIntervalMs(2, 100, 3000)).toBe(9609.375);
  });

  it('is exact for every priority and interval (a multiple of 1/256 ms)', () => {
    for (let p = 1; p <= 255; p++) {
      for (const ms of [10, 20, 100, 990, 1000, 40950]) {
        const v = masterDownIntervalMs(3, p, ms);
        expect(v * 256).toBe(3 * ms * 256 + (256 - p) * ms);
      }
    }
  });
});

describe('log lines (keepalived wording)', () => {
  it('start-up, takeover, higher-priority advert, priority 0', () => {
    const { m, actions } = started(cfg({ priority: 89 }));
    expect(logs(actions)).toEqual(['(VI_1) Entering BACKUP STATE (init)']);
    const up = m.handle({ type: 'timer', timer: 'masterDown', at: 3652.34375 });
    expect(logs(up)).toEqual(['(VI_1) Receive advertisement timeout', '(VI_1) Entering MASTER STATE']);
    const down = m.handle(adv(4000, { from: '192.168.77.11', priority: 99 }));
    // from our own address is a loop: discarded
    expect(first(down, 'discard').reason).toBe('VRRP_OWN_ADVERT');
    const real = m.handle(adv(4001, { priority: 99 }));
    expect(logs(real)).toEqual([
      '(VI_1) Master received advert from 192.168.77.12 with higher priority 99, ours 89',
      '(VI_1) Entering BACKUP STATE',
    ]);
    expect(logs(m.handle(adv(5000, { priority: 0 })))).toEqual([
      '(VI_1) Backup received priority 0 advertisement',
    ]);
  });

  it('shutdown as Master logs the priority 0 advert', () => {
    const { m } = asMaster();
    expect(logs(m.handle({ type: 'shutdown', at: 9000 }))).toEqual([
      '(VI_1) sent 0 priority',
      '(VI_1) Entering INIT STATE (shutdown)',
    ]);
  });

  it('every log line starts with the instance name', () => {
    const { m } = started(cfg({ name: 'VI_web' }));
    const out = [...m.handle(adv(10, { priority: 0 })), ...m.handle(adv(20, { ttl: 1 }))];
    for (const l of all(out, 'log')) expect(l.message.startsWith('(VI_web) ')).toBe(true);
  });
});

describe('ordered transition stream', () => {
  it('numbers transitions 1, 2, 3 ... with from, to, reason and priority', () => {
    const { m, actions } = started(cfg({ priority: 120 }));
    const out: MachineAction[] = [...actions];
    out.push(...m.handle({ type: 'timer', timer: 'masterDown', at: mdi(120) }));
    out.push(...m.handle(adv(5000, { priority: 200 })));
    out.push(...m.handle({ type: 'interfaceDown', at: 6000 }));
    out.push(...m.handle({ type: 'interfaceUp', at: 7000 }));
    out.push(...m.handle({ type: 'shutdown', at: 8000 }));
    expect(all(out, 'transition').map((t) => [t.seq, t.from, t.to, t.reason, t.priority])).toEqual([
      [1, 'initialize', 'backup', 'startup', 120],
      [2, 'backup', 'master', 'masterDown', 120],
      [3, 'master', 'backup', 'higherPriority', 120],
      [4, 'backup', 'fault', 'interfaceDown', 120],
      [5, 'fault', 'backup', 'faultCleared', 120],
      [6, 'backup', 'initialize', 'shutdown', 120],
    ]);
  });
});

describe('Fault', () => {
  it('a Master whose interface goes down sends priority 0, releases the addresses and enters Fault', () => {
    const { m } = asMaster();
    const actions = m.handle({ type: 'interfaceDown', at: 5000 });
    expect(kinds(actions).filter((k) => k !== 'log')).toEqual([
      'cancelTimer',
      'transition',
      'send',
      'removeVips',
    ]);
    expect(first(actions, 'send')).toMatchObject({ priority: 0, reason: 'fault' });
    expect(logs(actions)[0]).toBe('(VI_1) Entering FAULT STATE');
    expect(m.snapshot()).toMatchObject({ state: 'fault', faultReasons: ['interfaceDown'], timers: {} });
  });

  it('ignores adverts in Fault and returns to Backup (Master_Adver_Interval reset) when the interface is up', () => {
    const { m } = started();
    m.handle(adv(10, { priority: 150, maxAdvertIntervalCs: 20 }));
    m.handle({ type: 'interfaceDown', at: 100 });
    expect(m.handle(adv(200, { priority: 0 }))).toEqual([]);
    const actions = m.handle({ type: 'interfaceUp', at: 300 });
    expect(m.state).toBe('backup');
    expect(m.snapshot().masterAdverIntervalMs).toBe(1000);
    expect(first(actions, 'setTimer')).toEqual({ type: 'setTimer', timer: 'masterDown', at: 300 + mdi(100) });
  });

  it('starts in Fault when the interface is already down, and the owner goes to Master when it recovers', () => {
    const m = new VrrpMachine(cfg({ priority: 255 }));
    m.handle({ type: 'interfaceDown', at: 0 });
    expect(first(m.handle({ type: 'startup', at: 1 }), 'transition')).toMatchObject({
      to: 'fault',
      reason: 'interfaceDown',
    });
    const up = m.handle({ type: 'interfaceUp', at: 2 });
    expect(first(up, 'transition')).toMatchObject({ from: 'fault', to: 'master', reason: 'faultCleared' });
  });

  it('a tracker with weight 0 forces Fault while down', () => {
    const { m } = started(cfg({ trackers: [{ name: 'chk_proxy', kind: 'script' }] }));
    const down = m.handle({ type: 'trackerChanged', at: 100, tracker: 'chk_proxy', state: 'down' });
    expect(first(down, 'transition')).toMatchObject({ to: 'fault', reason: 'trackerFailed' });
    expect(m.snapshot().faultReasons).toEqual(['tracker:chk_proxy']);
    m.handle({ type: 'trackerChanged', at: 200, tracker: 'chk_proxy', state: 'up' });
    expect(m.state).toBe('backup');
  });

  it('an owner treats a weighted tracker as weight 0', () => {
    const { m } = started(
      cfg({ priority: 255, trackers: [{ name: 'eth1', kind: 'interface', weight: -50 }] }),
    );
    m.handle({ type: 'trackerChanged', at: 100, tracker: 'eth1', state: 'down' });
    expect(m.state).toBe('fault');
    expect(m.effectivePriority).toBe(255);
  });
});

describe('tracking weights (keepalived semantics)', () => {
  const trackers = [
    { name: 'eth1', kind: 'interface' as const, weight: -30 },
    { name: 'chk_http', kind: 'health' as const, weight: 20 },
    { name: 'prio_file', kind: 'file' as const, weight: 1, initial: 'down' as const },
  ];

  it('positive weight adds while up, negative subtracts while down', () => {
    const { m } = started(cfg({ priority: 100, trackers }));
    expect(m.effectivePriority).toBe(120);
    const a = m.handle({ type: 'trackerChanged', at: 1, tracker: 'eth1', state: 'down' });
    expect(m.effectivePriority).toBe(90);
    expect(first(a, 'priorityChanged')).toEqual({ type: 'priorityChanged', at: 1, from: 120, to: 90 });
    expect(logs(a)).toContain('(VI_1) Changing effective priority from 120 to 90');
    m.handle({ type: 'trackerChanged', at: 2, tracker: 'chk_http', state: 'down' });
    expect(m.effectivePriority).toBe(70);
    m.handle({ type: 'trackerChanged', at: 3, tracker: 'prio_file', state: 'up', weight: 15 });
    expect(m.effectivePriority).toBe(85);
    expect(m.snapshot().trackers.prio_file).toEqual({ up: true, weight: 15 });
    expect(m.state).toBe('backup');
  });

  it('the effective priority goes into adverts and into the skew', () => {
    const { m, at } = asMaster(cfg({ priority: 100, trackers }));
    m.handle({ type: 'trackerChanged', at: at + 1, tracker: 'chk_http', state: 'down' });
    const tick = m.handle({ type: 'timer', timer: 'adver', at: at + 1000 });
    expect(first(tick, 'send').priority).toBe(100);
    const b = started(cfg({ priority: 100, trackers })).m;
    expect(b.snapshot().skewTimeMs).toBe(skewTimeMs(3, 120, 1000));
  });

  it('a lowered Master is preempted by a Backup that now outranks it', () => {
    const b = started(cfg({ priority: 110 })).m;
    b.handle(adv(100, { priority: 120 }));
    const dropped = b.handle(adv(1100, { priority: 90 }));
    expect(logs(dropped)).toEqual([
      '(VI_1) received lower priority (90) advert from 192.168.77.12 - discarding',
    ]);
    const up = b.handle({ type: 'tick', at: 100 + mdi(110) });
    expect(first(up, 'transition')).toMatchObject({ to: 'master', reason: 'masterDown' });
  });

  it('unknown trackers are ignored with a warning; bad weights are refused', () => {
    const { m } = started();
    expect(logs(m.handle({ type: 'trackerChanged', at: 1, tracker: 'nope', state: 'down' }))).toEqual([
      '(VI_1) unknown tracker nope reported down - ignored',
    ]);
    expect(() =>
      m.handle({ type: 'trackerChanged', at: 2, tracker: 'nope', state: 'up', weight: 300 }),
    ).toThrow(VrrpError);
  });
});

describe('preempt delay', () => {
  it('holds a Backup behind a lower-priority Master for the delay, then preempts at once', () => {
    const { m } = started(cfg({ priority: 150, preemptDelayMs: 5000 }));
    const a1 = m.handle(adv(500, { priority: 100 }));
    expect(first(a1, 'setTimer')).toEqual({ type: 'setTimer', timer: 'preemptDelay', at: 5500 });
    expect(logs(a1)).toEqual(['(VI_1) start preempt delay (5.000000)']);
    for (let t = 1500; t < 5500; t += 1000) m.handle(adv(t, { priority: 100 }));
    expect(m.state).toBe('backup');
    const up = m.handle({ type: 'timer', timer: 'preemptDelay', at: 5500 });
    expect(first(up, 'transition')).toMatchObject({ from: 'backup', to: 'master', reason: 'preemptDelay' });
  });

  it('is cancelled by a higher-priority advert', () => {
    const { m } = started(cfg({ priority: 150, preemptDelayMs: 5000 }));
    m.handle(adv(500, { priority: 100 }));
    const a = m.handle(adv(900, { priority: 200, from: '192.168.77.13' }));
    expect(a).toContainEqual({ type: 'cancelTimer', timer: 'preemptDelay' });
    expect(m.snapshot().timers.preemptDelay).toBeUndefined();
  });

  it('does nothing with preempt off', () => {
    const { m } = started(cfg({ priority: 150, preempt: false, preemptDelayMs: 5000 }));
    expect(all(m.handle(adv(500, { priority: 100 })), 'setTimer').map((t) => t.timer)).toEqual([
      'masterDown',
    ]);
  });
});

describe('unicast peers', () => {
  it('discards adverts from a source that is not a configured peer', () => {
    const { m } = started(cfg({ unicastPeers: ['192.168.77.12', '192.168.77.13'] }));
    const bad = m.handle(adv(10, { from: '192.168.77.14', priority: 200 }));
    expect(first(bad, 'discard')).toEqual({
      type: 'discard',
      at: 10,
      reason: 'VRRP_UNKNOWN_PEER',
      from: '192.168.77.14',
    });
    expect(all(m.handle(adv(20, { from: '192.168.77.13', priority: 200 })), 'discard')).toHaveLength(0);
    expect(m.unicastPeers).toEqual(['192.168.77.12', '192.168.77.13']);
  });

  it('compares IPv6 peers canonically', () => {
    const { m } = started(
      cfg({ primaryAddress: 'fd77::11', virtualIps: ['fd77::74'], unicastPeers: ['FD77:0::12'] }),
    );
    expect(all(m.handle(adv(10, { from: 'fd77::12', addresses: ['fd77::74'] })), 'discard')).toHaveLength(0);
  });
});

describe('timer delivery', () => {
  it('ignores a stale timer event (cancelled or never armed)', () => {
    const { m } = asMaster();
    expect(m.handle({ type: 'timer', timer: 'masterDown', at: 10_000 })).toEqual([]);
  });

  it('re-arms a timer event that arrives early', () => {
    const { m } = started();
    expect(m.handle({ type: 'timer', timer: 'masterDown', at: 3000 })).toEqual([
      { type: 'setTimer', timer: 'masterDown', at: mdi(100) },
    ]);
    expect(m.state).toBe('backup');
  });

  it('tick fires every due timer and nextDeadline reports the next one', () => {
    const { m } = started();
    expect(m.nextDeadline()).toBe(mdi(100));
    expect(m.handle({ type: 'tick', at: 1000 })).toEqual([]);
    const up = m.handle({ type: 'tick', at: 3609.375 });
    expect(m.state).toBe('master');
    expect(m.nextDeadline()).toBe(4609.375);
    expect(kinds(up)).toContain('send');
  });

  it('treats an event older than the previous one as happening now', () => {
    const { m } = asMaster();
    const a = m.handle(adv(5, { priority: 0 }));
    expect(first(a, 'send').at).toBe(mdi(100));
  });

  it('refuses malformed events with a typed error', () => {
    const m = new VrrpMachine(cfg());
    expect(() => m.handle({ type: 'startup', at: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'VRRP_INVALID_EVENT' }),
    );
    expect(() => m.handle({ type: 'bogus', at: 1 } as never)).toThrow(VrrpError);
    expect(() => m.handle({ type: 'timer', timer: 'nope', at: 1 } as never)).toThrow(VrrpError);
  });

  it('ignores a second startup and a shutdown in Initialize', () => {
    const { m } = started();
    expect(m.handle({ type: 'startup', at: 1 })).toEqual([]);
    m.handle({ type: 'shutdown', at: 2 });
    expect(m.handle({ type: 'shutdown', at: 3 })).toEqual([]);
    expect(first(m.handle({ type: 'startup', at: 4 }), 'transition').reason).toBe('startup');
  });
});

describe('configuration', () => {
  it('names each bad path and value', () => {
    try {
      new VrrpMachine(cfg({ vrid: 0, primaryAddress: 'nope', virtualIps: [] }));
      expect.unreachable();
    } catch (e) {
      const err = e as VrrpError;
      expect(err.code).toBe('VRRP_CONFIG_INVALID');
      expect(
        (err.details as { issues: { path: string; message: string }[] }).issues.map(
          (i) => `${i.path}: ${i.message}`,
        ),
      ).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^vrid: .*\(got 0\)/),
          expect.stringMatching(/^primaryAddress: not an IPv4 or IPv6 address \(got "nope"\)/),
          expect.stringMatching(/^virtualIps: /),
        ]),
      );
    }
  });

  it('refuses mixed families, v2 over IPv6, duplicate trackers and unknown keys', () => {
    expect(() => new VrrpMachine(cfg({ virtualIps: ['fd77::74'] }))).toThrow(
      /virtualIps\[0\]: address family/,
    );
    expect(
      () => new VrrpMachine(cfg({ version: 2, primaryAddress: 'fd77::1', virtualIps: ['fd77::74'] })),
    ).toThrow(/IPv4 only/);
    expect(
      () =>
        new VrrpMachine(
          cfg({
            trackers: [
              { name: 'a', weight: 1 },
              { name: 'a', weight: 2 },
            ],
          }),
        ),
    ).toThrow(/duplicate tracker/);
    expect(() => new VrrpMachine({ ...cfg(), extra: 1 } as never)).toThrow(VrrpError);
  });

  it('canonicalises addresses in adverts and announcements; keeps prefixes for addVips', () => {
    const { actions } = asMaster(cfg({ primaryAddress: 'FD77::11', virtualIps: ['fd77:0:0::74/64'] }));
    expect(first(actions, 'send').addresses).toEqual(['fd77::74']);
    expect(first(actions, 'addVips').addresses).toEqual(['fd77:0:0::74/64']);
  });
});

// One test per MUST / SHOULD of RFC 3768 (VRRPv2) and RFC 5798 / RFC 9568 (VRRPv3) about the state
// machine and receive validation, each named after its section. Byte-level receive checks (complete
// packet, checksum, type field) are the codec's and are tested in codec*.test.ts.
import { describe, expect, it } from 'vitest';
import { VrrpError, VrrpMachine } from '../src/index';
import { adv, all, asMaster, cfg, cfg2, first, kinds, logs, mdi, started } from './machine-helpers';

describe('RFC 3768 (VRRPv2)', () => {
  const v2adv = (at: number, over: Parameters<typeof adv>[1] = {}) => adv(at, { version: 2, ...over });

  it('RFC 3768 §5.3.4: the address owner uses priority 255 and goes to Master', () => {
    const { m, actions } = started(cfg2({ priority: 255 }));
    expect(m.state).toBe('master');
    expect(m.snapshot().addressOwner).toBe(true);
    expect(first(actions, 'send').priority).toBe(255);
  });

  it('RFC 3768 §5.3.4: backups MUST use priorities 1-254 (0 is refused, trackers clamp to 1..254)', () => {
    expect(() => new VrrpMachine(cfg2({ priority: 0 }))).toThrow(VrrpError);
    const high = new VrrpMachine(cfg2({ priority: 250, trackers: [{ name: 'chk', weight: 50 }] }));
    expect(high.effectivePriority).toBe(254);
    const low = new VrrpMachine(
      cfg2({ priority: 5, trackers: [{ name: 'chk', weight: -50, initial: 'down' }] }),
    );
    expect(low.effectivePriority).toBe(1);
  });

  it('RFC 3768 §5.3.7: the advertisement interval is in whole seconds', () => {
    expect(() => new VrrpMachine(cfg2({ advertIntervalMs: 1500 }))).toThrow(/whole seconds/);
    expect(() => new VrrpMachine(cfg2({ advertIntervalMs: 2000 }))).not.toThrow();
  });

  it('RFC 3768 §6.1: Skew_Time = (256 - Priority) / 256 s and Master_Down_Interval = 3 × Advertisement_Interval + Skew_Time', () => {
    const { m } = started(cfg2({ priority: 100, advertIntervalMs: 2000 }));
    const s = m.snapshot();
    expect(s.skewTimeMs).toBe(609.375);
    expect(s.masterDownIntervalMs).toBe(6609.375);
    expect(s.timers.masterDown).toBe(6609.375);
  });

  it('RFC 3768 §6.4.1: a non-owner sets the Master_Down_Timer to Master_Down_Interval and goes to Backup', () => {
    const { m, actions } = started(cfg2({ priority: 89 }));
    expect(m.state).toBe('backup');
    expect(first(actions, 'transition')).toMatchObject({
      from: 'initialize',
      to: 'backup',
      reason: 'startup',
    });
    expect(first(actions, 'setTimer')).toEqual({
      type: 'setTimer',
      timer: 'masterDown',
      at: 3000 + (167 * 1000) / 256,
    });
    expect(all(actions, 'send')).toHaveLength(0);
  });

  it('RFC 3768 §6.4.1: the owner sends an advert, broadcasts gratuitous ARP, sets the Adver_Timer and goes to Master', () => {
    const { actions } = started(cfg2({ priority: 255 }));
    expect(kinds(actions).filter((k) => k !== 'log')).toEqual([
      'transition',
      'send',
      'addVips',
      'announce',
      'setTimer',
    ]);
    expect(first(actions, 'setTimer')).toEqual({ type: 'setTimer', timer: 'adver', at: 1000 });
  });

  it('RFC 3768 §6.4.2: a Backup MUST NOT answer ARP for, nor accept packets to, the virtual addresses', () => {
    const { m } = started(cfg2({ accept: true }));
    expect(m.snapshot()).toMatchObject({ answersArp: false, acceptsVipTraffic: false, vipsHeld: false });
  });

  it('RFC 3768 §6.4.2: Shutdown in Backup cancels the Master_Down_Timer and goes to Initialize', () => {
    const { m } = started(cfg2());
    const actions = m.handle({ type: 'shutdown', at: 10 });
    expect(actions[0]).toEqual({ type: 'cancelTimer', timer: 'masterDown' });
    expect(m.state).toBe('initialize');
    expect(all(actions, 'send')).toHaveLength(0);
    expect(m.nextDeadline()).toBeUndefined();
  });

  it('RFC 3768 §6.4.2: when the Master_Down_Timer fires the Backup sends an advert, ARPs, sets the Adver_Timer, goes to Master', () => {
    const { m, at, actions } = asMaster(cfg2());
    expect(first(actions, 'send')).toMatchObject({ priority: 100, intervalMs: 1000, reason: 'becomeMaster' });
    expect(first(actions, 'announce')).toMatchObject({
      addresses: ['192.168.77.74'],
      reason: 'becomeMaster',
    });
    expect(first(actions, 'setTimer')).toEqual({ type: 'setTimer', timer: 'adver', at: at + 1000 });
    expect(m.snapshot().answersArp).toBe(true);
  });

  it('RFC 3768 §6.4.2: a priority 0 advert sets the Master_Down_Timer to Skew_Time', () => {
    const { m } = started(cfg2({ priority: 89 }));
    const actions = m.handle(v2adv(500, { priority: 0 }));
    expect(first(actions, 'setTimer')).toEqual({
      type: 'setTimer',
      timer: 'masterDown',
      at: 500 + (167 * 1000) / 256,
    });
  });

  it('RFC 3768 §6.4.2: with Preempt_Mode false any advert resets the Master_Down_Timer', () => {
    const { m } = started(cfg2({ priority: 200, preempt: false }));
    const actions = m.handle(v2adv(700, { priority: 50 }));
    expect(first(actions, 'setTimer')).toEqual({
      type: 'setTimer',
      timer: 'masterDown',
      at: 700 + mdi(200, 1000, 2),
    });
  });

  it('RFC 3768 §6.4.2: an advert with priority >= local resets the Master_Down_Timer to Master_Down_Interval', () => {
    const { m } = started(cfg2({ priority: 100 }));
    expect(first(m.handle(v2adv(700, { priority: 100 })), 'setTimer').at).toBe(700 + 3609.375);
    expect(first(m.handle(v2adv(1700, { priority: 101 })), 'setTimer').at).toBe(1700 + 3609.375);
  });

  it('RFC 3768 §6.4.2: with preemption a lower-priority advert is discarded (the timer keeps running)', () => {
    const { m } = started(cfg2({ priority: 100 }));
    const actions = m.handle(v2adv(700, { priority: 99 }));
    expect(all(actions, 'setTimer')).toHaveLength(0);
    expect(m.snapshot().timers.masterDown).toBe(3609.375);
  });

  it('RFC 3768 §6.4.3: a Master MUST answer ARP and MUST NOT accept packets to the addresses unless it owns them', () => {
    expect(asMaster(cfg2()).m.snapshot()).toMatchObject({ answersArp: true, acceptsVipTraffic: false });
    expect(started(cfg2({ priority: 255 })).m.snapshot()).toMatchObject({
      answersArp: true,
      acceptsVipTraffic: true,
    });
  });

  it('RFC 3768 §6.4.3: Shutdown in Master cancels the Adver_Timer, sends priority 0 and goes to Initialize', () => {
    const { m } = asMaster(cfg2());
    const actions = m.handle({ type: 'shutdown', at: 5000 });
    expect(actions[0]).toEqual({ type: 'cancelTimer', timer: 'adver' });
    expect(first(actions, 'send')).toMatchObject({ priority: 0, reason: 'shutdown' });
    expect(first(actions, 'removeVips').addresses).toEqual(['192.168.77.74/24']);
    expect(m.state).toBe('initialize');
  });

  it('RFC 3768 §6.4.3: when the Adver_Timer fires the Master sends an advert and resets the timer', () => {
    const { m, at } = asMaster(cfg2());
    const actions = m.handle({ type: 'timer', timer: 'adver', at: at + 1000 });
    expect(kinds(actions)).toEqual(['send', 'setTimer']);
    expect(first(actions, 'setTimer').at).toBe(at + 2000);
  });

  it('RFC 3768 §6.4.3: a Master receiving priority 0 sends an advert and resets the Adver_Timer', () => {
    const { m, at } = asMaster(cfg2());
    const actions = m.handle(v2adv(at + 300, { priority: 0 }));
    expect(first(actions, 'send')).toMatchObject({ priority: 100, reason: 'priorityZeroReceived' });
    expect(first(actions, 'setTimer')).toEqual({ type: 'setTimer', timer: 'adver', at: at + 1300 });
    expect(m.state).toBe('master');
  });

  it('RFC 3768 §6.4.3: a higher-priority advert cancels the Adver_Timer, sets the Master_Down_Timer, goes to Backup', () => {
    const { m, at } = asMaster(cfg2());
    const actions = m.handle(v2adv(at + 300, { priority: 150 }));
    expect(first(actions, 'cancelTimer').timer).toBe('adver');
    expect(first(actions, 'setTimer')).toEqual({
      type: 'setTimer',
      timer: 'masterDown',
      at: at + 300 + 3609.375,
    });
    expect(m.state).toBe('backup');
  });

  it('RFC 3768 §6.4.3: equal priority from a higher IP address wins; from a lower one is discarded', () => {
    const { m, at } = asMaster(cfg2({ lowerPriorityResponse: 'rfc5798' }));
    const lower = m.handle(v2adv(at + 100, { from: '192.168.77.10' }));
    expect(m.state).toBe('master');
    expect(all(lower, 'send')).toHaveLength(0);
    m.handle(v2adv(at + 200, { from: '192.168.77.12' }));
    expect(m.state).toBe('backup');
  });

  it('RFC 3768 §6.4.3: a lower-priority advert is discarded (rfc5798 setting: nothing sent)', () => {
    const { m, at } = asMaster(cfg2({ lowerPriorityResponse: 'rfc5798' }));
    const actions = m.handle(v2adv(at + 100, { priority: 50 }));
    expect(kinds(actions)).toEqual(['log']);
    expect(m.state).toBe('master');
  });

  describe('§7.1 receive validation', () => {
    it('RFC 3768 §7.1: MUST verify the IP TTL is 255', () => {
      const { m } = started(cfg2());
      const actions = m.handle(v2adv(100, { ttl: 254 }));
      expect(first(actions, 'discard').reason).toBe('VRRP_BAD_TTL');
      expect(all(actions, 'setTimer')).toHaveLength(0);
    });

    it('RFC 3768 §7.1: MUST verify the VRRP version is 2', () => {
      const { m } = started(cfg2());
      expect(first(m.handle(v2adv(100, { version: 3 })), 'discard').reason).toBe('VRRP_VERSION_MISMATCH');
    });

    it('RFC 3768 §7.1: MUST verify the VRID is configured', () => {
      const { m } = started(cfg2());
      expect(first(m.handle(v2adv(100, { vrid: 52 })), 'discard').reason).toBe('VRRP_VRID_MISMATCH');
    });

    it('RFC 3768 §7.1: MUST verify the local router is not the address owner', () => {
      const { m } = started(cfg2({ priority: 255 }));
      const actions = m.handle(v2adv(100, { priority: 255, from: '192.168.77.99' }));
      expect(first(actions, 'discard').reason).toBe('VRRP_LOCAL_OWNER');
      expect(m.state).toBe('master');
      expect(logs(actions)[0]).toMatch(/^\(VI_1\) CONFIGURATION ERROR: .* both configured as address owner/);
    });

    it('RFC 3768 §7.1: MUST verify the Auth Type matches the configured method', () => {
      const { m } = started(cfg2({ auth: { type: 'simple', password: 'secret' } }));
      const none = m.handle(v2adv(100, { auth: { type: 'none' } }));
      expect(first(none, 'discard').reason).toBe('VRRP_AUTH_MISMATCH');
      expect(logs(none)[0]).toBe('(VI_1) received a 0 auth, expecting 1!');
      expect(first(m.handle(v2adv(100)), 'discard').reason).toBe('VRRP_AUTH_MISMATCH'); // no auth at all
      expect(
        all(m.handle(v2adv(200, { auth: { type: 'simple', password: 'secret' } })), 'discard'),
      ).toHaveLength(0);
    });

    it('RFC 3768 §7.1: MUST verify the Authentication Data (simple text password) and discard on a mismatch', () => {
      const { m } = started(cfg2({ auth: { type: 'simple', password: 'secret' } }));
      const wrong = m.handle(v2adv(200, { auth: { type: 'simple', password: 'other' } }));
      expect(first(wrong, 'discard').reason).toBe('VRRP_AUTH_FAILURE');
      expect(logs(wrong)[0]).toBe('(VI_1) received an invalid passwd!');
      // the same password given as bytes (as the decoder yields it) passes
      const bytes = new TextEncoder().encode('secret');
      expect(
        all(m.handle(v2adv(200, { auth: { type: 'simple', password: bytes } })), 'discard'),
      ).toHaveLength(0);
      expect(m.snapshot().stats.discarded.VRRP_AUTH_FAILURE).toBe(1);
      expect(m.snapshot().master).toEqual({ address: '192.168.77.12', priority: 100 });
    });

    it('RFC 3768 §7.1: a failed check MUST discard the packet and SHOULD log the event', () => {
      const { m } = started(cfg2());
      const before = m.snapshot().timers.masterDown;
      const actions = m.handle(v2adv(100, { ttl: 64 }));
      expect(m.snapshot().timers.masterDown).toBe(before);
      expect(all(actions, 'log').some((l) => l.level === 'warn' && l.message.includes('TTL'))).toBe(true);
      expect(m.snapshot().stats.discarded.VRRP_BAD_TTL).toBe(1);
    });

    it('RFC 3768 §7.1: MUST verify the Adver Interval matches the local one (discard and SHOULD log otherwise)', () => {
      const { m } = started(cfg2());
      const actions = m.handle(v2adv(100, { maxAdvertIntervalCs: 200 }));
      expect(first(actions, 'discard').reason).toBe('VRRP_INTERVAL_MISMATCH');
      expect(logs(actions)).toContain("(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec");
    });

    it('RFC 3768 §7.1: an address list mismatch from a non-owner MUST be dropped (and SHOULD be logged)', () => {
      const { m } = started(cfg2());
      const actions = m.handle(v2adv(100, { addresses: ['192.168.77.75'] }));
      expect(first(actions, 'discard').reason).toBe('VRRP_ADDRESS_LIST_MISMATCH');
      expect(all(actions, 'log')[0]?.level).toBe('warn');
    });

    it('RFC 3768 §7.1: an address list mismatch from the owner (priority 255) is logged and processed', () => {
      const { m } = started(cfg2());
      const actions = m.handle(v2adv(100, { addresses: ['192.168.77.75'], priority: 255 }));
      expect(all(actions, 'discard')).toHaveLength(0);
      expect(first(actions, 'log').level).toBe('warn');
      expect(first(actions, 'setTimer').at).toBe(100 + 3609.375);
    });
  });
});

describe('RFC 5798 / RFC 9568 (VRRPv3)', () => {
  it('RFC 5798 §5.1.1.3: a packet whose TTL is not 255 MUST be discarded', () => {
    const { m } = started();
    expect(first(m.handle(adv(100, { ttl: 1 })), 'discard').reason).toBe('VRRP_BAD_TTL');
  });

  it('RFC 5798 §5.1.2.3: an IPv6 packet whose Hop Limit is not 255 MUST be discarded', () => {
    const { m } = started(cfg({ primaryAddress: 'fe80::11', virtualIps: ['fe80::74', '2001:db8::74/64'] }));
    const ok = { from: 'fe80::12', addresses: ['fe80::74', '2001:db8::74'] };
    expect(first(m.handle(adv(100, { ...ok, ttl: 64 })), 'discard').reason).toBe('VRRP_BAD_TTL');
    expect(all(m.handle(adv(200, ok)), 'discard')).toHaveLength(0);
  });

  it('RFC 5798 §5.2.4: the owner MUST use priority 255; backups MUST use 1-254 (trackers clamp)', () => {
    expect(
      new VrrpMachine(cfg({ priority: 255, trackers: [{ name: 't', weight: -20, initial: 'down' }] }))
        .effectivePriority,
    ).toBe(255);
    expect(
      new VrrpMachine(cfg({ priority: 254, trackers: [{ name: 't', weight: 20 }] })).effectivePriority,
    ).toBe(254);
    expect(
      new VrrpMachine(cfg({ priority: 10, trackers: [{ name: 't', weight: -20, initial: 'down' }] }))
        .effectivePriority,
    ).toBe(1);
  });

  it('RFC 5798 §5.2.7: Max Adver Int is whole centiseconds in 12 bits (10..40950 ms)', () => {
    expect(() => new VrrpMachine(cfg({ advertIntervalMs: 15 }))).toThrow(/centiseconds/);
    expect(() => new VrrpMachine(cfg({ advertIntervalMs: 40960 }))).toThrow(VrrpError);
    expect(new VrrpMachine(cfg({ advertIntervalMs: 40950 })).snapshot().advertIntervalMs).toBe(40950);
    const { m } = started();
    expect(first(m.handle(adv(100, { maxAdvertIntervalCs: 4096 })), 'discard').reason).toBe(
      'VRRP_BAD_INTERVAL',
    );
  });

  it('RFC 5798 §6.1: Skew_Time = ((256 - Priority) × Master_Adver_Interval) / 256 and Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time', () => {
    const { m } = started(cfg({ priority: 89 }));
    expect(m.snapshot().skewTimeMs).toBe(652.34375);
    expect(m.snapshot().masterDownIntervalMs).toBe(3652.34375);
    m.handle(adv(100, { priority: 100, maxAdvertIntervalCs: 50 }));
    expect(m.snapshot().skewTimeMs).toBe((167 * 500) / 256);
    expect(m.snapshot().masterDownIntervalMs).toBe(1500 + (167 * 500) / 256);
  });

  it('RFC 5798 §6.1: Preempt_Mode defaults to true and Accept_Mode to false', () => {
    const { m } = started();
    expect(m.snapshot().acceptMode).toBe(false);
    m.handle(adv(100, { priority: 50 }));
    expect(m.snapshot().timers.masterDown).toBe(mdi(100)); // the lower-priority advert was discarded: preempt
  });

  it('RFC 5798 §6.4.1: Initialize waits for a Startup event (adverts, timers and shutdown do nothing)', () => {
    const m = new VrrpMachine(cfg());
    expect(m.handle(adv(10, { priority: 0 }))).toEqual([]);
    expect(m.handle(adv(20, { priority: 200 }))).toEqual([]);
    expect(m.handle({ type: 'timer', timer: 'masterDown', at: 30 })).toEqual([]);
    expect(m.handle({ type: 'tick', at: 40 })).toEqual([]);
    expect(m.handle({ type: 'shutdown', at: 50 })).toEqual([]);
    expect(m.state).toBe('initialize');
    expect(m.snapshot().stats.advertsReceived).toBe(0);
  });

  it('RFC 5798 §6.4.1: the owner sends an advert, announces, sets the Adver_Timer and goes to Master', () => {
    const { m, actions } = started(cfg({ priority: 255 }));
    expect(m.state).toBe('master');
    expect(first(actions, 'transition').reason).toBe('addressOwner');
    expect(kinds(actions).filter((k) => k !== 'log')).toEqual([
      'transition',
      'send',
      'addVips',
      'announce',
      'setTimer',
    ]);
  });

  it('RFC 5798 §6.4.1: a non-owner sets Master_Adver_Interval to Advertisement_Interval and the Master_Down_Timer, and goes to Backup', () => {
    const { m, actions } = started(cfg({ advertIntervalMs: 200, priority: 100 }));
    expect(m.snapshot().masterAdverIntervalMs).toBe(200);
    expect(first(actions, 'setTimer')).toEqual({
      type: 'setTimer',
      timer: 'masterDown',
      at: 600 + (156 * 200) / 256,
    });
  });

  it('RFC 5798 §6.4.2: a Backup MUST NOT answer ARP / Neighbor Solicitations nor accept packets to the addresses', () => {
    const { m } = started(cfg({ accept: true, primaryAddress: 'fe80::11', virtualIps: ['fe80::74'] }));
    expect(m.snapshot()).toMatchObject({
      state: 'backup',
      answersArp: false,
      acceptsVipTraffic: false,
      vipsHeld: false,
    });
  });

  it('RFC 5798 §6.4.2: Shutdown in Backup cancels the Master_Down_Timer and goes to Initialize', () => {
    const { m } = started();
    const actions = m.handle({ type: 'shutdown', at: 1 });
    expect(first(actions, 'cancelTimer').timer).toBe('masterDown');
    expect(first(actions, 'transition')).toMatchObject({
      from: 'backup',
      to: 'initialize',
      reason: 'shutdown',
    });
  });

  it('RFC 5798 §6.4.2: when the Master_Down_Timer fires: send an advert, announce, set the Adver_Timer, go to Master', () => {
    const { m, at, actions } = asMaster(cfg({ priority: 89 }));
    expect(at).toBe(3652.34375);
    expect(kinds(actions).filter((k) => k !== 'log')).toEqual([
      'transition',
      'send',
      'addVips',
      'announce',
      'setTimer',
    ]);
    expect(first(actions, 'transition')).toMatchObject({
      from: 'backup',
      to: 'master',
      reason: 'masterDown',
    });
    expect(first(actions, 'setTimer')).toEqual({ type: 'setTimer', timer: 'adver', at: at + 1000 });
    expect(m.snapshot().timers).toEqual({ adver: at + 1000 });
  });

  it('RFC 5798 §6.4.2: a priority 0 advert sets the Master_Down_Timer to Skew_Time', () => {
    const { m } = started(cfg({ priority: 89 }));
    m.handle(adv(100, { priority: 200, maxAdvertIntervalCs: 100 }));
    const actions = m.handle(adv(900, { priority: 0 }));
    expect(first(actions, 'setTimer')).toEqual({
      type: 'setTimer',
      timer: 'masterDown',
      at: 900 + 652.34375,
    });
    expect(logs(actions)).toContain('(VI_1) Backup received priority 0 advertisement');
    const up = m.handle({ type: 'timer', timer: 'masterDown', at: 900 + 652.34375 });
    expect(first(up, 'transition').reason).toBe('priorityZero');
  });

  it('RFC 5798 §6.4.2: an accepted advert sets Master_Adver_Interval from the advert, recomputes Skew_Time and resets the Master_Down_Timer', () => {
    const { m } = started(cfg({ priority: 100, advertIntervalMs: 1000 }));
    const actions = m.handle(adv(100, { priority: 150, maxAdvertIntervalCs: 25 }));
    expect(m.snapshot().masterAdverIntervalMs).toBe(250);
    expect(first(actions, 'setTimer')).toEqual({
      type: 'setTimer',
      timer: 'masterDown',
      at: 100 + 750 + (156 * 250) / 256,
    });
    expect(m.snapshot().master).toEqual({ address: '192.168.77.12', priority: 150 });
  });

  it('RFC 5798 §6.4.2: with Preempt_Mode false a lower-priority advert is accepted', () => {
    const { m } = started(cfg({ priority: 200, preempt: false }));
    const actions = m.handle(adv(100, { priority: 10, maxAdvertIntervalCs: 50 }));
    expect(first(actions, 'setTimer').at).toBe(100 + mdi(200, 500));
  });

  it('RFC 5798 §6.4.2: with preemption a lower-priority advert is discarded', () => {
    const { m } = started(cfg({ priority: 200 }));
    const actions = m.handle(adv(100, { priority: 10, maxAdvertIntervalCs: 50 }));
    expect(all(actions, 'setTimer')).toHaveLength(0);
    expect(m.snapshot().masterAdverIntervalMs).toBe(1000);
    expect(logs(actions)).toEqual([
      '(VI_1) received lower priority (10) advert from 192.168.77.12 - discarding',
    ]);
  });

  it('RFC 5798 §6.4.3: a Master MUST answer ARP and accept packets to the addresses only as owner or with Accept_Mode', () => {
    expect(asMaster(cfg()).m.snapshot()).toMatchObject({ answersArp: true, acceptsVipTraffic: false });
    expect(asMaster(cfg({ accept: true })).m.snapshot()).toMatchObject({
      answersArp: true,
      acceptsVipTraffic: true,
    });
    expect(started(cfg({ priority: 255 })).m.snapshot()).toMatchObject({
      answersArp: true,
      acceptsVipTraffic: true,
    });
    expect(first(asMaster(cfg({ accept: true })).actions, 'addVips').accept).toBe(true);
    expect(first(asMaster(cfg()).actions, 'addVips').accept).toBe(false);
  });

  it('RFC 5798 §6.4.3: Shutdown in Master cancels the Adver_Timer, sends priority 0 and goes to Initialize', () => {
    const { m } = asMaster();
    const actions = m.handle({ type: 'shutdown', at: 9000 });
    expect(kinds(actions).filter((k) => k !== 'log')).toEqual([
      'cancelTimer',
      'send',
      'removeVips',
      'transition',
    ]);
    expect(first(actions, 'send')).toMatchObject({ priority: 0, reason: 'shutdown' });
    expect(m.snapshot().stats.priorityZeroSent).toBe(1);
  });

  it('RFC 5798 §6.4.3: when the Adver_Timer fires the Master sends an advert and resets the Adver_Timer', () => {
    const { m, at } = asMaster();
    const actions = m.handle({ type: 'timer', timer: 'adver', at: at + 1000 });
    expect(actions).toEqual([
      {
        type: 'send',
        at: at + 1000,
        priority: 100,
        intervalMs: 1000,
        addresses: ['192.168.77.74'],
        reason: 'adverTimer',
      },
      { type: 'setTimer', timer: 'adver', at: at + 2000 },
    ]);
  });

  it('RFC 5798 §6.4.3: Master receiving priority 0 sends an advert and resets the adver timer', () => {
    const { m, at } = asMaster();
    const actions = m.handle(adv(at + 400, { priority: 0 }));
    expect(first(actions, 'send').reason).toBe('priorityZeroReceived');
    expect(first(actions, 'setTimer')).toEqual({ type: 'setTimer', timer: 'adver', at: at + 1400 });
  });

  it('RFC 5798 §6.4.3: a higher-priority advert makes the Master learn Master_Adver_Interval, set the Master_Down_Timer and go to Backup', () => {
    const { m, at } = asMaster(cfg({ priority: 89 }));
    const actions = m.handle(adv(at + 10, { priority: 99, maxAdvertIntervalCs: 50 }));
    expect(kinds(actions).filter((k) => k !== 'log')).toEqual([
      'cancelTimer',
      'transition',
      'removeVips',
      'setTimer',
    ]);
    expect(first(actions, 'setTimer')).toEqual({
      type: 'setTimer',
      timer: 'masterDown',
      at: at + 10 + 1500 + (167 * 500) / 256,
    });
    expect(logs(actions)[0]).toBe(
      '(VI_1) Master received advert from 192.168.77.12 with higher priority 99, ours 89',
    );
    expect(m.state).toBe('backup');
  });

  it('RFC 5798 §6.4.3: equal priority: the higher primary IPv4 address (unsigned, network order) wins', () => {
    const a = asMaster(cfg({ primaryAddress: '10.0.0.200', virtualIps: ['10.0.0.74'] }));
    a.m.handle(adv(a.at + 1, { from: '10.0.0.9', addresses: ['10.0.0.74'] })); // 9 < 200 numerically, > as text
    expect(a.m.state).toBe('master');
    const acts = a.m.handle(adv(a.at + 2, { from: '10.0.1.1', addresses: ['10.0.0.74'] }));
    expect(a.m.state).toBe('backup');
    expect(first(acts, 'transition').reason).toBe('higherAddress');
    expect(logs(acts)[0]).toBe(
      '(VI_1) Master received advert from 10.0.1.1 with same priority 100 but higher IP address than ours',
    );
  });

  it('RFC 5798 §6.4.3: equal priority: IPv6 addresses compare as 128-bit unsigned integers', () => {
    const v6 = { primaryAddress: 'fe80::9', virtualIps: ['fe80::74'] };
    const a = asMaster(cfg(v6));
    a.m.handle(adv(a.at + 1, { from: 'fe80::10', addresses: ['fe80::74'] })); // ::10 (16) > ::9
    expect(a.m.state).toBe('backup');
    const b = asMaster(cfg({ primaryAddress: 'fe80::1:0', virtualIps: ['fe80::74'] }));
    b.m.handle(adv(b.at + 1, { from: 'fe80::ffff', addresses: ['fe80::74'] }));
    expect(b.m.state).toBe('master');
  });

  it('RFC 5798 §6.4.3: a lower-priority advert is discarded (rfc5798 setting)', () => {
    const { m, at } = asMaster(cfg({ lowerPriorityResponse: 'rfc5798' }));
    const actions = m.handle(adv(at + 10, { priority: 20 }));
    expect(all(actions, 'send')).toHaveLength(0);
    expect(all(actions, 'announce')).toHaveLength(0);
    expect(logs(actions)).toEqual([
      '(VI_1) Received advert from 192.168.77.12 with lower priority 20, ours 100',
    ]);
  });

  it('RFC 9568 §6.4.3: a lower-priority advert is discarded and the Active Router sends an advert immediately (default)', () => {
    const { m, at } = asMaster();
    const actions = m.handle(adv(at + 10, { priority: 20 }));
    expect(first(actions, 'send')).toMatchObject({
      priority: 100,
      reason: 'lowerPriorityReceived',
      at: at + 10,
    });
    expect(first(actions, 'announce').reason).toBe('lowerPriorityAdvert');
    expect(logs(actions)).toEqual([
      '(VI_1) Received advert from 192.168.77.12 with lower priority 20, ours 100, forcing new election',
    ]);
    expect(m.state).toBe('master');
    expect(m.snapshot().timers.adver).toBe(at + 1000); // the periodic timer is not moved
  });

  it('RFC 9568 §6.4.3: equal priority from a lower address also gets the immediate advert', () => {
    const { m, at } = asMaster(cfg({ primaryAddress: '192.168.77.13' }));
    expect(first(m.handle(adv(at + 10)), 'send').reason).toBe('lowerPriorityReceived');
  });

  it('RFC 9568 §6.4.2: Shutdown in Backup cancels the Active_Down_Timer and goes to Initialize', () => {
    const { m } = started();
    m.handle({ type: 'shutdown', at: 5 });
    expect(m.state).toBe('initialize');
    expect(m.snapshot().timers).toEqual({});
  });

  describe('§7.1 receive validation', () => {
    it('RFC 5798 §7.1: MUST verify the IPv4 TTL / IPv6 Hop Limit is 255', () => {
      const { m } = started();
      expect(first(m.handle(adv(100, { ttl: 0 })), 'discard').reason).toBe('VRRP_BAD_TTL');
    });

    it('RFC 5798 §7.1: MUST verify the VRRP version is 3', () => {
      const { m } = started();
      expect(first(m.handle(adv(100, { version: 2 })), 'discard').reason).toBe('VRRP_VERSION_MISMATCH');
    });

    it('RFC 5798 §7.1: MUST verify the VRID is configured on the receiving interface', () => {
      const { m } = started();
      expect(first(m.handle(adv(100, { vrid: 1 })), 'discard').reason).toBe('VRRP_VRID_MISMATCH');
    });

    it('RFC 5798 §7.1: MUST verify the local router is not the address owner (Priority = 255)', () => {
      const { m } = started(cfg({ priority: 255 }));
      const actions = m.handle(adv(100, { priority: 254 }));
      expect(first(actions, 'discard').reason).toBe('VRRP_LOCAL_OWNER');
      expect(all(actions, 'send')).toHaveLength(0);
    });

    it('RFC 5798 §7.1: a failed check MUST discard the packet and SHOULD log the event', () => {
      const { m } = started();
      const actions = m.handle(adv(100, { vrid: 9, priority: 200 }));
      expect(kinds(actions)).toEqual(['discard', 'log']);
      expect(first(actions, 'log')).toMatchObject({
        level: 'warn',
        message: '(VI_1) received VRID 9 advert from 192.168.77.12, ours is 51 - discarding',
      });
      expect(m.snapshot().stats.discarded.VRRP_VRID_MISMATCH).toBe(1);
    });

    it('RFC 5798 §7.1: an address list mismatch from a non-owner MUST be dropped', () => {
      const { m } = started();
      const actions = m.handle(adv(100, { addresses: ['192.168.77.74', '192.168.77.75'], priority: 254 }));
      expect(first(actions, 'discard').reason).toBe('VRRP_ADDRESS_LIST_MISMATCH');
    });

    it('RFC 5798 §7.1: an address list mismatch from the owner is processed (and logged)', () => {
      const { m } = started();
      const actions = m.handle(adv(100, { addresses: ['192.168.77.99'], priority: 255 }));
      expect(first(actions, 'setTimer').at).toBe(100 + mdi(100));
      expect(first(actions, 'log').level).toBe('warn');
    });

    it('RFC 5798 §7.1: the address list check is optional (MAY): checkAddressList false skips it', () => {
      const { m } = started(cfg({ checkAddressList: false }));
      expect(all(m.handle(adv(100, { addresses: ['192.168.77.99'] })), 'discard')).toHaveLength(0);
    });

    it('RFC 9568 §7.1: MUST verify that the Max Advertise Interval is non-zero', () => {
      const { m } = started();
      expect(first(m.handle(adv(100, { maxAdvertIntervalCs: 0 })), 'discard').reason).toBe(
        'VRRP_BAD_INTERVAL',
      );
    });

    it('RFC 9568 §5.2.5: an advert whose address count is 0 MUST be ignored', () => {
      const { m } = started();
      expect(first(m.handle(adv(100, { addresses: [] })), 'discard').reason).toBe('VRRP_NO_ADDRESS');
    });

    it('RFC 9568 §5.2.9: the address family of the listed addresses must match the packet family', () => {
      const { m } = started();
      expect(first(m.handle(adv(100, { addresses: ['fe80::74'] })), 'discard').reason).toBe(
        'VRRP_BAD_ADDRESS',
      );
      expect(first(m.handle(adv(200, { from: 'fe80::1' })), 'discard').reason).toBe('VRRP_BAD_SOURCE');
    });
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AnnouncementPoll,
  AnnouncementSchedule,
  type AnnounceRequest,
  type DueFrame,
  decodeFrame,
  GarpError,
  parseAnnouncePolicy,
} from '../src/index';

const VI_1: AnnounceRequest = {
  instance: 'VI_1',
  ifname: 'eth0',
  mac: '46:cb:2c:84:db:0f',
  ipv4: ['192.168.77.74'],
};

/** Polls at every time the schedule asks for until `until`, collecting everything. */
function runUntil(s: AnnouncementSchedule, from: number, until: number) {
  const frames: DueFrame[] = [];
  const notices: AnnouncementPoll['notices'][number][] = [];
  let at = from;
  for (let guard = 0; guard < 100_000; guard++) {
    const r = s.poll(at);
    frames.push(...r.frames);
    notices.push(...r.notices);
    if (r.nextAt === undefined || r.nextAt > until) break;
    expect(r.nextAt).toBeGreaterThan(at); // progress: never asks to be polled at the same time again
    at = r.nextAt;
  }
  return { frames, notices };
}

describe('AnnouncementSchedule with keepalived defaults', () => {
  it('sends 5 gratuitous ARPs at once and 5 more after 5 s, then nothing', () => {
    const s = new AnnouncementSchedule();
    s.start(VI_1, 1000);
    const first = s.poll(1000);
    expect(first.frames).toHaveLength(5);
    expect(first.frames.every((f) => f.at === 1000 && f.reason === 'start' && f.ifname === 'eth0')).toBe(
      true,
    );
    expect(first.notices).toEqual([
      {
        at: 1000,
        instance: 'VI_1',
        ifname: 'eth0',
        family: 'ipv4',
        address: '192.168.77.74',
        reason: 'start',
        count: 5,
      },
    ]);
    expect(first.nextAt).toBe(6000);
    expect(s.poll(5999).frames).toHaveLength(0);
    const second = s.poll(6000);
    expect(second.frames).toHaveLength(5);
    expect(second.frames[0]?.reason).toBe('second');
    expect(second.nextAt).toBeUndefined();
    expect(s.isActive('VI_1')).toBe(true);
  });

  it('frames are the keepalived-form gratuitous ARP for each address, round-robin over addresses', () => {
    const s = new AnnouncementSchedule({ repeat: 2 });
    s.start({ ...VI_1, ipv4: ['192.168.77.74', '192.168.77.75'], ipv6: ['fd77::74'] }, 0);
    const { frames, notices } = s.poll(0);
    expect(frames.map((f) => f.address)).toEqual([
      '192.168.77.74',
      '192.168.77.75',
      '192.168.77.74',
      '192.168.77.75',
      'fd77::74',
      'fd77::74',
    ]);
    expect(notices.map((n) => `${n.family} ${n.address}`)).toEqual([
      'ipv4 192.168.77.74',
      'ipv4 192.168.77.75',
      'ipv6 fd77::74',
    ]);
    for (const f of frames) {
      const d = decodeFrame(f.frame);
      if (!d.ok) throw d.error;
      if (d.value.kind === 'arp') {
        expect(d.value.ethernet).toEqual({ dst: 'ff:ff:ff:ff:ff:ff', src: '46:cb:2c:84:db:0f' });
        expect(d.value.arp).toEqual({
          operation: 'request',
          senderMac: '46:cb:2c:84:db:0f',
          senderIp: f.address,
          targetMac: 'ff:ff:ff:ff:ff:ff',
          targetIp: f.address,
        });
      } else {
        expect(d.value.na).toMatchObject({
          target: 'fd77::74',
          dst: 'ff02::1',
          override: true,
          router: false,
        });
        expect(d.value.na.targetLinkLayerAddress).toBe('46:cb:2c:84:db:0f');
      }
    }
  });

  it('announces the VMAC when given, with the router flag and ARP replies when asked', () => {
    const s = new AnnouncementSchedule({ arpOperation: 'reply', naRouterFlag: true, repeat: 1 });
    s.start({ ...VI_1, vmac: '00:00:5E:00:01:33', ipv6: ['fd77::74'] }, 0);
    const decoded = s.poll(0).frames.map((f) => decodeFrame(f.frame));
    const [arp, na] = decoded.map((d) => (d.ok ? d.value : undefined));
    expect(arp?.kind === 'arp' && arp.arp).toMatchObject({
      operation: 'reply',
      senderMac: '00:00:5e:00:01:33',
      targetMac: '00:00:5e:00:01:33',
    });
    expect(arp?.ethernet.src).toBe('00:00:5e:00:01:33');
    expect(na?.kind === 'na' && na.na).toMatchObject({
      router: true,
      targetLinkLayerAddress: '00:00:5e:00:01:33',
    });
  });
});

describe('AnnouncementSchedule policy', () => {
  it('refreshes periodically while announcing, and a late poll sends one refresh, not a backlog', () => {
    const s = new AnnouncementSchedule({
      repeat: 1,
      secondBurstDelayMs: 0,
      refreshIntervalMs: 60_000,
      refreshRepeat: 2,
    });
    s.start(VI_1, 0);
    const { frames } = runUntil(s, 0, 180_000);
    expect(frames.map((f) => `${f.at}:${f.reason}`)).toEqual([
      '0:start',
      '60000:refresh',
      '60000:refresh',
      '120000:refresh',
      '120000:refresh',
      '180000:refresh',
      '180000:refresh',
    ]);
    const late = s.poll(1_000_000);
    expect(late.frames).toHaveLength(2);
    expect(late.nextAt).toBe(1_020_000);
  });

  it('keeps a minimum gap between frames on one interface, shared by all instances there', () => {
    const s = new AnnouncementSchedule({ arpIntervalMs: 10, secondBurstDelayMs: 0 });
    s.start(VI_1, 0);
    s.start({ ...VI_1, instance: 'VI_2', ipv4: ['192.168.77.80'] }, 0);
    s.start({ ...VI_1, instance: 'VI_3', ifname: 'eth1', ipv4: ['10.0.0.1'] }, 0);
    const { frames } = runUntil(s, 0, 1000);
    const eth0 = frames.filter((f) => f.ifname === 'eth0');
    const eth1 = frames.filter((f) => f.ifname === 'eth1');
    expect(eth0).toHaveLength(10);
    expect(eth1).toHaveLength(5);
    expect(eth0.map((f) => f.at)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(eth1.map((f) => f.at)).toEqual([0, 10, 20, 30, 40]);
    // VI_1 was queued first, so all of its frames go before VI_2's
    expect(eth0.map((f) => f.instance)).toEqual([...Array(5).fill('VI_1'), ...Array(5).fill('VI_2')]);
  });

  it('limits ARP and NA separately, and per-interface settings override the default', () => {
    const s = new AnnouncementSchedule({
      repeat: 2,
      secondBurstDelayMs: 0,
      arpIntervalMs: 5,
      naIntervalMs: 7,
      interfaces: { eth1: { arpIntervalMs: 100 } },
    });
    s.start({ ...VI_1, ipv6: ['fd77::74'] }, 0);
    s.start({ ...VI_1, instance: 'X', ifname: 'eth1' }, 0);
    const { frames } = runUntil(s, 0, 1000);
    const times = (ifname: string, family: string) =>
      frames.filter((f) => f.ifname === ifname && f.family === family).map((f) => f.at);
    expect(times('eth0', 'ipv4')).toEqual([0, 5]);
    expect(times('eth0', 'ipv6')).toEqual([0, 7]);
    expect(times('eth1', 'ipv4')).toEqual([0, 100]);
  });

  it('the rate limit also spaces a new burst from the frames sent just before it', () => {
    const s = new AnnouncementSchedule({ repeat: 1, secondBurstDelayMs: 0, arpIntervalMs: 50 });
    s.start(VI_1, 0);
    expect(s.poll(0).frames).toHaveLength(1);
    s.start({ ...VI_1, instance: 'VI_2', ipv4: ['192.168.77.80'] }, 10);
    const r = s.poll(10);
    expect(r.frames).toHaveLength(0);
    expect(r.nextAt).toBe(50);
    expect(s.poll(50).frames.map((f) => f.instance)).toEqual(['VI_2']);
  });

  it('reasserts when another node still claims the addresses: a burst now and a follow-up later', () => {
    const s = new AnnouncementSchedule({ secondBurstDelayMs: 0, reassertRepeat: 3, reassertDelayMs: 2000 });
    s.start(VI_1, 0);
    s.poll(0);
    expect(s.reassert('VI_1', 500)).toBe(true);
    const now = s.poll(500);
    expect(now.frames.map((f) => f.reason)).toEqual(['reassert', 'reassert', 'reassert']);
    expect(now.notices[0]?.reason).toBe('reassert');
    expect(now.nextAt).toBe(2500);
    const later = s.poll(2500);
    expect(later.frames.map((f) => f.reason)).toEqual([
      'reassert-followup',
      'reassert-followup',
      'reassert-followup',
    ]);
    expect(s.reassert('VI_9', 3000)).toBe(false);
  });

  it('reassert defaults to the start burst settings, and 0 disables it', () => {
    expect(parseAnnouncePolicy({ repeat: 2, secondBurstDelayMs: 900 })).toMatchObject({
      reassertRepeat: 2,
      reassertDelayMs: 900,
    });
    const s = new AnnouncementSchedule({ reassertRepeat: 0 });
    s.start(VI_1, 0);
    s.poll(0);
    expect(s.reassert('VI_1', 1)).toBe(false);
    expect(s.poll(1).frames).toHaveLength(0);
  });

  it('repeated reassertions under a rate limit do not grow the queue', () => {
    const s = new AnnouncementSchedule({ arpIntervalMs: 1000, secondBurstDelayMs: 0, reassertDelayMs: 0 });
    s.start({ ...VI_1, ipv4: ['192.168.77.74', '192.168.77.75'] }, 0);
    for (let t = 0; t < 100_000; t += 1000) {
      s.reassert('VI_1', t);
      s.poll(t);
      expect(s.queued).toBeLessThanOrEqual(10);
    }
  });

  it('per-request overrides apply to that request only', () => {
    const s = new AnnouncementSchedule();
    s.start({ ...VI_1, policy: { repeat: 1, secondBurstDelayMs: 0 } }, 0);
    s.start({ ...VI_1, instance: 'VI_2' }, 0);
    const { frames } = runUntil(s, 0, 10_000);
    expect(frames.filter((f) => f.instance === 'VI_1')).toHaveLength(1);
    expect(frames.filter((f) => f.instance === 'VI_2')).toHaveLength(10);
  });
});

describe('AnnouncementSchedule cancellation', () => {
  it('stop() drops queued frames, the second burst and refreshes of that instance only', () => {
    const s = new AnnouncementSchedule({ arpIntervalMs: 100, refreshIntervalMs: 30_000 });
    s.start(VI_1, 0);
    s.start({ ...VI_1, instance: 'VI_2', ifname: 'eth1' }, 0);
    expect(s.poll(0).frames).toHaveLength(2);
    expect(s.stop('VI_1', 50)).toBe(4);
    expect(s.isActive('VI_1')).toBe(false);
    const { frames } = runUntil(s, 100, 40_000);
    expect(frames.every((f) => f.instance === 'VI_2')).toBe(true);
    expect(frames.length).toBe(4 + 5 + 1);
    expect(s.stop('VI_1', 60)).toBe(0);
  });

  it('a start before the first poll that is stopped again sends nothing and logs nothing', () => {
    const s = new AnnouncementSchedule();
    s.start(VI_1, 0);
    s.stop('VI_1', 0);
    expect(s.poll(0)).toEqual({ frames: [], notices: [], nextAt: undefined });
  });

  it('starting again replaces the earlier request of the same instance and interface', () => {
    const s = new AnnouncementSchedule({ arpIntervalMs: 10 });
    s.start(VI_1, 0);
    s.poll(0);
    s.start({ ...VI_1, ipv4: ['192.168.77.99'] }, 5);
    const { frames } = runUntil(s, 5, 20_000);
    expect(new Set(frames.map((f) => f.address))).toEqual(new Set(['192.168.77.99']));
    expect(frames).toHaveLength(10);
  });

  it('stopAll() empties the schedule', () => {
    const s = new AnnouncementSchedule();
    s.start(VI_1, 0);
    s.start({ ...VI_1, instance: 'VI_2' }, 0);
    expect(s.instances()).toEqual(['VI_1', 'VI_2']);
    expect(s.stopAll(0)).toBe(10);
    expect(s.poll(10_000)).toEqual({ frames: [], notices: [], nextAt: undefined });
  });
});

describe('AnnouncementSchedule validation', () => {
  const thrown = (f: () => unknown): GarpError => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(GarpError);
      return e as GarpError;
    }
    throw new Error('no error');
  };
  const code = (f: () => unknown) => thrown(f).code;
  const issues = (f: () => unknown) => thrown(f).details.issues;

  it('rejects bad policies with the path and value', () => {
    try {
      new AnnouncementSchedule({ repeat: 0, arpIntervalMs: -1 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(GarpError);
      expect((e as GarpError).code).toBe('GARP_INVALID_ARGUMENT');
      expect((e as GarpError).details.issues).toEqual([
        { path: 'repeat', message: expect.stringMatching(/\(got 0\)$/) },
        { path: 'arpIntervalMs', message: expect.stringMatching(/\(got -1\)$/) },
      ]);
      expect((e as GarpError).message).toMatch(/^announcement policy: invalid configuration:\n {2}repeat: /);
    }
    expect(code(() => new AnnouncementSchedule({ garpMasterDelay: 5 } as never))).toBe(
      'GARP_INVALID_ARGUMENT',
    );
    expect(
      issues(() => new AnnouncementSchedule({ interfaces: { eth0: { arpIntervalMs: 'fast' } } } as never)),
    ).toEqual([{ path: 'interfaces.eth0.arpIntervalMs', message: expect.stringMatching(/\(got "fast"\)$/) }]);
    expect(() => parseAnnouncePolicy({ refreshRepeat: 1.5 })).toThrow(
      expect.objectContaining({ code: 'GARP_INVALID_ARGUMENT' }),
    );
  });

  it('rejects bad requests, naming the field and value', () => {
    const s = new AnnouncementSchedule();
    expect(code(() => s.start({ ...VI_1, mac: 'nope' }, 0))).toBe('GARP_BAD_MAC');
    expect(code(() => s.start({ ...VI_1, vmac: '00:00:5e:00:01' }, 0))).toBe('GARP_BAD_MAC');
    expect(code(() => s.start({ ...VI_1, ipv4: ['fd77::74'] }, 0))).toBe('GARP_BAD_IPV4');
    expect(code(() => s.start({ ...VI_1, ipv6: ['192.168.77.74'] }, 0))).toBe('GARP_BAD_IPV6');
    expect(issues(() => s.start({ ...VI_1, ipv4: ['192.168.77.74', '10.0.0.256'] }, 0))).toEqual([
      { path: 'ipv4[1]', message: 'not an IPv4 address (got "10.0.0.256")' },
    ]);
    expect(issues(() => s.start({ ...VI_1, ipv4: [] }, 0))).toEqual([
      { path: 'ipv4', message: 'no address to announce: ipv4 and ipv6 are both empty' },
    ]);
    expect(issues(() => s.start({ ...VI_1, ifname: 'a-very-long-interface-name' }, 0))).toEqual([
      { path: 'ifname', message: expect.stringMatching(/\(got "a-very-long-interface-name"\)$/) },
    ]);
    expect(issues(() => s.start({ ...VI_1, policy: { repeat: -1 } }, 0))).toEqual([
      { path: 'policy.repeat', message: expect.stringMatching(/\(got -1\)$/) },
    ]);
    expect(code(() => s.start({ ...VI_1, policy: { repeat: -1 } }, 0))).toBe('GARP_INVALID_ARGUMENT');
    expect(code(() => s.start(VI_1, Number.NaN))).toBe('GARP_INVALID_ARGUMENT');
    expect(s.instances()).toEqual([]);
  });
});

describe('AnnouncementSchedule invariants (property)', () => {
  type Op =
    | { t: 'start'; inst: number; ifname: number; n: number }
    | { t: 'reassert'; inst: number }
    | { t: 'stop'; inst: number }
    | { t: 'poll' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      t: fc.constant('start' as const),
      inst: fc.nat(2),
      ifname: fc.nat(1),
      n: fc.integer({ min: 1, max: 3 }),
    }),
    fc.record({ t: fc.constant('reassert' as const), inst: fc.nat(2) }),
    fc.record({ t: fc.constant('stop' as const), inst: fc.nat(2) }),
    fc.record({ t: fc.constant('poll' as const) }),
  );

  it('never sends two frames of one family on one interface closer than the gap, nor for a stopped instance', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(op, fc.integer({ min: 0, max: 3000 })), { maxLength: 60 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 5 }),
        (ops, gap, repeat) => {
          const s = new AnnouncementSchedule({
            arpIntervalMs: gap,
            naIntervalMs: gap,
            repeat,
            refreshIntervalMs: 4000,
          });
          const last = new Map<string, number>();
          let at = 0;
          let nextAt: number | undefined;
          const active = new Set<string>();
          const check = (r: AnnouncementPoll) => {
            for (const f of r.frames) {
              const k = `${f.ifname}/${f.family}`;
              const prev = last.get(k);
              if (prev !== undefined) expect(f.at - prev).toBeGreaterThanOrEqual(gap);
              last.set(k, f.at);
              expect(active.has(f.instance)).toBe(true);
            }
            nextAt = r.nextAt;
            if (r.nextAt !== undefined) expect(r.nextAt).toBeGreaterThan(at);
          };
          for (const [o, dt] of ops) {
            // never skip past a due time: the driver polls at nextAt
            at = nextAt !== undefined ? Math.min(at + dt, nextAt) : at + dt;
            if (o.t === 'start') {
              s.start(
                {
                  instance: `I${o.inst}`,
                  ifname: `eth${o.ifname}`,
                  mac: '02:00:00:00:00:01',
                  ipv4: ['10.0.0.1', '10.0.0.2'].slice(0, o.n),
                  ipv6: o.n > 2 ? ['fd00::1'] : [],
                },
                at,
              );
              active.add(`I${o.inst}`);
            } else if (o.t === 'reassert') s.reassert(`I${o.inst}`, at);
            else if (o.t === 'stop') {
              s.stop(`I${o.inst}`, at);
              active.delete(`I${o.inst}`);
            }
            check(s.poll(at));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

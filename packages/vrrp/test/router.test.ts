import { ManualClock, MemoryLogger } from '@proxyha/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeVrrp,
  type MachineConfig,
  MemoryAdvertBus,
  MemoryVipManager,
  type RouterTransition,
  type VipAnnouncement,
  type VipManager,
  VrrpMachine,
  VrrpRouter,
} from '../src/index';

// Routers on the manual clock over the in-memory advert bus: the driver path (timers, decode, receive
// checks, VIPs, announcements, log lines) with virtual time, so every step happens at a known instant.
const routers: VrrpRouter[] = [];
let clock = new ManualClock();
afterEach(async () => {
  const stopping = Promise.all(routers.splice(0).map((r) => r.stop()));
  await clock.advanceAsync(10);
  await stopping;
  clock = new ManualClock();
});

function lan() {
  const bus = new MemoryAdvertBus(clock);
  return { bus };
}

function router(
  bus: MemoryAdvertBus,
  address: string,
  priority: number,
  extra: {
    intervalMs?: number;
    announce?: VipAnnouncement[];
    config?: Partial<MachineConfig>;
    vips?: VipManager;
    releaseVipsAfterSuccessorMs?: number;
  } = {},
) {
  const vips = new MemoryVipManager();
  const transitions: RouterTransition[] = [];
  const machine = new VrrpMachine({
    name: 'VI_1',
    vrid: 51,
    priority,
    version: 3,
    advertIntervalMs: extra.intervalMs ?? 50,
    primaryAddress: address,
    virtualIps: ['192.168.77.74/24'],
    ...extra.config,
  });
  const log = new MemoryLogger();
  const r = new VrrpRouter({
    machine,
    interface: 'eth0',
    transport: bus.transport(address),
    vips: extra.vips ?? vips,
    announce: (a) => extra.announce?.push(a),
    logger: log,
    clock,
    ...(extra.releaseVipsAfterSuccessorMs === undefined
      ? {}
      : { releaseVipsAfterSuccessorMs: extra.releaseVipsAfterSuccessorMs }),
  });
  r.on('transition', (t) => transitions.push(t));
  routers.push(r);
  return { r, vips, transitions, log };
}

const until = (cond: () => boolean, ms = 3000) => clock.until(cond, ms);

describe('VrrpRouter over the in-memory network', () => {
  it('enforces Accept_Mode false through the filter: block before adding VIPs, unblock after removing', async () => {
    const { bus } = lan();
    const calls: string[] = [];
    const vips = new MemoryVipManager();
    const recordingVips = {
      add: async (i: string, v: readonly string[]) => {
        calls.push(`add ${v.join(',')}`);
        await vips.add(i, v);
      },
      remove: async (i: string, v: readonly string[]) => {
        calls.push(`remove ${v.join(',')}`);
        await vips.remove(i, v);
      },
    };
    const filter = {
      block: async (a: readonly string[]) => void calls.push(`block ${a.join(',')}`),
      unblock: async (a: readonly string[]) => void calls.push(`unblock ${a.join(',')}`),
      close: async () => {},
    };
    const make = (accept: boolean) =>
      new VrrpRouter({
        machine: new VrrpMachine({
          name: 'VI_1',
          vrid: 51,
          priority: 150,
          advertIntervalMs: 50,
          primaryAddress: '192.168.77.11',
          virtualIps: ['192.168.77.74/24'],
          accept,
        }),
        interface: 'eth0',
        transport: bus.transport('192.168.77.11'),
        vips: recordingVips,
        acceptFilter: filter,
        clock,
      });
    const strict = make(false);
    await strict.start();
    await until(() => strict.snapshot().state === 'master' && calls.length >= 2);
    await stopNow(strict);
    // the initial remove clears stale VIPs at start-up
    expect(calls).toEqual([
      'remove 192.168.77.74/24',
      'block 192.168.77.74',
      'add 192.168.77.74/24',
      'remove 192.168.77.74/24',
      'unblock 192.168.77.74',
    ]);
    calls.length = 0;
    const accepting = make(true);
    await accepting.start();
    await until(() => accepting.snapshot().state === 'master' && calls.length >= 2);
    await stopNow(accepting);
    expect(calls.filter((c) => c.startsWith('block') || c.startsWith('unblock'))).toEqual([]);
  });

  it('elects the higher priority, holds the VIPs, announces, and hands over on stop', async () => {
    const { bus } = lan();
    const announce: VipAnnouncement[] = [];
    const a = router(bus, '192.168.77.11', 150, { announce });
    const b = router(bus, '192.168.77.12', 100);
    await Promise.all([a.r.start(), b.r.start()]);
    await until(() => a.r.snapshot().state === 'master' && b.r.snapshot().state === 'backup');
    expect(a.vips.held.get('eth0')).toEqual(new Set(['192.168.77.74/24']));
    expect(b.vips.held.get('eth0') ?? new Set()).toEqual(new Set());
    expect(announce[0]).toMatchObject({
      instance: 'VI_1',
      vrid: 51,
      interface: 'eth0',
      reason: 'becomeMaster',
    });
    // log lines are written after the takeover's I/O (an immediate later), in the machine's order
    await until(() => a.log.lines().includes('(VI_1) setting VIPs.'));
    expect(a.log.lines()).toContain('(VI_1) Entering MASTER STATE');

    // stop: priority 0, VIPs removed, the backup takes over after Skew_Time, not Master_Down_Interval
    const stoppedAt = clock.now();
    await stopNow(a.r);
    expect(a.vips.calls.at(-1)).toBe('remove eth0 192.168.77.74/24');
    await until(() => b.r.snapshot().state === 'master');
    expect(b.log.lines()).toContain('(VI_1) Backup received priority 0 advertisement');
    const takeover = b.transitions.at(-1) as RouterTransition;
    expect(takeover).toMatchObject({ from: 'backup', to: 'master', reason: 'priorityZero' });
    // Skew_Time of priority 100 at 50 ms: (256 - 100) × 50 / 256 ms after the priority 0 advert
    expect(takeover.at).toBe(stoppedAt + ((256 - 100) * 50) / 256);
  });

  it('releaseVipsAfterSuccessorMs: a stopping Master keeps its VIPs until the new master is heard', async () => {
    const { bus } = lan();
    const order: string[] = [];
    const recording = (name: string): VipManager => {
      const m = new MemoryVipManager();
      return {
        add: async (i, v) => {
          order.push(`${name} add`);
          await m.add(i, v);
        },
        remove: async (i, v) => {
          order.push(`${name} remove`);
          await m.remove(i, v);
        },
      };
    };
    const a = router(bus, '192.168.77.11', 150, { vips: recording('a'), releaseVipsAfterSuccessorMs: 200 });
    const b = router(bus, '192.168.77.12', 100, { vips: recording('b') });
    await Promise.all([a.r.start(), b.r.start()]);
    await until(() => a.r.snapshot().state === 'master' && b.r.snapshot().state === 'backup');
    await until(() => order.includes('a add'));
    const stoppedAt = clock.now();
    let stopped = false;
    const stopping = a.r.stop().then(() => {
      stopped = true;
    });
    // priority 0 went out at once: b takes over after Skew_Time, and only then does a let the VIPs go
    await until(() => stopped, 1000);
    await stopping;
    // (each router first removes stale copies of its VIPs at start)
    expect(order.slice(order.indexOf('a add'))).toEqual(['a add', 'b add', 'a remove']);
    const takeover = b.transitions.at(-1) as RouterTransition;
    expect(takeover).toMatchObject({ to: 'master', reason: 'priorityZero' });
    expect(takeover.at).toBe(stoppedAt + ((256 - 100) * 50) / 256);
    expect(a.log.lines()).toEqual(
      expect.arrayContaining([
        '(VI_1) keeping VIPs until a new master is heard (at most 200 ms)',
        '(VI_1) new master 192.168.77.12 heard',
      ]),
    );
    const lines = a.log.lines();
    expect(lines.indexOf('(VI_1) new master 192.168.77.12 heard')).toBeGreaterThan(
      lines.indexOf('(VI_1) Entering INIT STATE (shutdown)'),
    );
  });

  it('releaseVipsAfterSuccessorMs: with no router to take over, the VIPs go when the bound is reached', async () => {
    const { bus } = lan();
    const a = router(bus, '192.168.77.11', 150, { releaseVipsAfterSuccessorMs: 300 });
    await a.r.start();
    await until(() => a.r.snapshot().state === 'master');
    await until(() => a.vips.calls.length > 0);
    const stoppedAt = clock.now();
    let removedAt: number | undefined;
    const stopping = a.r.stop();
    await until(() => {
      if (removedAt === undefined && a.vips.calls.at(-1)?.startsWith('remove')) removedAt = clock.now();
      return removedAt !== undefined;
    }, 1000);
    await stopping;
    // virtual time: the removal waited for the whole bound, not a millisecond less
    expect((removedAt as number) - stoppedAt).toBeGreaterThanOrEqual(300);
    expect(a.vips.held.get('eth0')).toEqual(new Set());
    expect(a.log.lines()).toContain('(VI_1) no new master heard within 300 ms');
  });

  it('announces on entering Master only once the VIPs are added, and not when the mastership ended first', async () => {
    const { bus } = lan();
    // a VIP manager whose adds complete when the test says so (a slow netlink reply)
    const events: string[] = [];
    const pending: (() => void)[] = [];
    const gated: VipManager = {
      add: (_i, v) =>
        new Promise<void>((resolve) => {
          events.push(`add ${v.join(',')}`);
          pending.push(() => {
            events.push('added');
            resolve();
          });
        }),
      remove: async (_i, v) => void events.push(`remove ${v.join(',')}`),
    };
    const announce: VipAnnouncement[] = [];
    const a = router(bus, '192.168.77.11', 100, { announce, vips: gated });
    a.r.on('transition', (t) => events.push(`transition ${t.to}`));
    await a.r.start();
    await until(() => a.r.snapshot().state === 'master' && pending.length === 1);
    await clock.advanceAsync(200); // adverts go on; the VIPs are still not in place
    expect(announce).toEqual([]);
    pending.shift()!();
    await clock.advanceAsync(0);
    expect(announce.map((x) => x.reason)).toEqual(['becomeMaster']);
    // the transition event follows the add request; the announcement follows the add's completion
    expect(events.filter((e) => !e.startsWith('remove') && e !== 'transition backup')).toEqual([
      'add 192.168.77.74/24',
      'transition master',
      'added',
    ]);

    // a second mastership that ends before its VIPs are in place announces nothing
    await stopNow(a.r);
    announce.length = 0;
    events.length = 0;
    const b = router(bus, '192.168.77.12', 150);
    const a2 = router(bus, '192.168.77.11', 100, { announce, vips: gated });
    await a2.r.start(); // a2 alone: master after Master_Down_Interval, its add hangs
    await until(() => a2.r.snapshot().state === 'master' && pending.length === 1);
    await b.r.start(); // the higher priority takes over; a2 steps down while its add is pending
    await until(() => a2.r.snapshot().state === 'backup' && b.r.snapshot().state === 'master');
    pending.shift()!();
    await clock.advanceAsync(100);
    expect(announce).toEqual([]);
    // (the first remove clears stale VIPs at start-up)
    expect(events).toEqual([
      'remove 192.168.77.74/24',
      'add 192.168.77.74/24',
      'added',
      'remove 192.168.77.74/24',
    ]);
  });

  it('fails over exactly Master_Down_Interval after the last advert when the master vanishes', async () => {
    const { bus } = lan();
    const a = router(bus, '192.168.77.11', 150);
    const b = router(bus, '192.168.77.12', 100);
    await Promise.all([a.r.start(), b.r.start()]);
    await until(() => a.r.snapshot().state === 'master' && b.r.snapshot().state === 'backup');
    // a crash: from now on a's machine gets no events, so it sends nothing (no priority 0)
    const lastAdvert = clock.now();
    a.r.setRoute(() => {});
    bus.setConnected('192.168.77.11', false);
    await until(() => b.r.snapshot().state === 'master', 2000);
    const takeover = b.transitions.at(-1) as RouterTransition;
    expect(takeover).toMatchObject({ to: 'master', reason: 'masterDown' });
    // the last advert b heard arrived at or before lastAdvert; Master_Down_Interval = 3 × 50 + skew
    expect(takeover.at - lastAdvert).toBeLessThanOrEqual(3 * 50 + ((256 - 100) * 50) / 256);
    expect(takeover.at - lastAdvert).toBeGreaterThan(2 * 50 + ((256 - 100) * 50) / 256);
  });

  it('counts and drops malformed messages and keeps running', async () => {
    const { bus } = lan();
    const b = router(bus, '192.168.77.12', 100, { intervalMs: 1000 });
    await b.r.start();
    const dropped: string[] = [];
    b.r.on('dropped', (d) => dropped.push(d.code));
    const rogue = bus.transport('192.168.77.13');
    await rogue.open(() => {});
    const good = encodeVrrp(
      {
        version: 3,
        family: 'ipv4',
        vrid: 51,
        priority: 200,
        maxAdvertIntervalCs: 100,
        addresses: ['192.168.77.74'],
      },
      { source: '192.168.77.13' },
    );
    const badChecksum = Uint8Array.from(good);
    badChecksum[6] = (badChecksum[6] as number) ^ 0xff;
    await rogue.send(badChecksum, '224.0.0.18');
    // a malformed packet of another VRID on the same link is that instance's drop, not ours
    const otherVrid = Uint8Array.from(badChecksum);
    otherVrid[1] = 52;
    await rogue.send(otherVrid, '224.0.0.18');
    await rogue.send(new Uint8Array([0x31, 51]), '224.0.0.18');
    await until(() => dropped.length === 2);
    expect(dropped).toEqual(['VRRP_BAD_CHECKSUM', 'VRRP_BAD_LENGTH']);
    expect(b.r.rxStats.count('VRRP_BAD_CHECKSUM')).toBe(1);
    // a valid higher-priority advert is still processed
    await rogue.send(good, '224.0.0.18');
    await until(() => b.r.snapshot().master?.address === '192.168.77.13');
    await rogue.close();
  });

  it('TTL 255 is checked for multicast adverts, not for unicast peers (keepalived sends IPv6 unicast with hop limit 64)', async () => {
    const { bus } = lan();
    const advert = encodeVrrp(
      {
        version: 3,
        family: 'ipv4',
        vrid: 51,
        priority: 200,
        maxAdvertIntervalCs: 100,
        addresses: ['192.168.77.74'],
      },
      { source: '192.168.77.13' },
    );
    const multicast = router(bus, '192.168.77.12', 100, { intervalMs: 1000 });
    await multicast.r.start();
    const dropped: string[] = [];
    multicast.r.on('dropped', (d) => dropped.push(d.code));
    multicast.r.receive(advert, { source: '192.168.77.13', destination: '224.0.0.18', ttl: 64 });
    expect(dropped).toEqual(['VRRP_BAD_TTL']);
    expect(multicast.r.snapshot().master).toBeUndefined();

    const unicast = router(bus, '192.168.77.14', 100, {
      intervalMs: 1000,
      config: { unicastPeers: ['192.168.77.13'] },
    });
    await unicast.r.start();
    const uDropped: string[] = [];
    unicast.r.on('dropped', (d) => uDropped.push(d.code));
    unicast.r.receive(advert, { source: '192.168.77.13', destination: '192.168.77.14', ttl: 64 });
    await until(() => unicast.r.snapshot().master?.address === '192.168.77.13');
    expect(uDropped).toEqual([]);
    // a source that is not a peer is still refused, whatever its TTL
    const other = encodeVrrp(
      {
        version: 3,
        family: 'ipv4',
        vrid: 51,
        priority: 250,
        maxAdvertIntervalCs: 100,
        addresses: ['192.168.77.74'],
      },
      { source: '192.168.77.99' },
    );
    unicast.r.receive(other, { source: '192.168.77.99', destination: '192.168.77.14', ttl: 255 });
    await clock.advanceAsync(1);
    expect(unicast.r.snapshot().master?.address).toBe('192.168.77.13');
  });

  it('v2 with a password: adverts with another password or none change nothing, are counted and logged as keepalived logs them', async () => {
    const { bus } = lan();
    const v2 = (password: string | undefined): Partial<MachineConfig> => ({
      version: 2,
      ...(password === undefined ? {} : { auth: { type: 'simple', password } }),
    });
    const ours = router(bus, '192.168.77.11', 100, { intervalMs: 1000, config: v2('secret') });
    const wrong = router(bus, '192.168.77.12', 200, { intervalMs: 1000, config: v2('wrong') });
    const none = router(bus, '192.168.77.13', 250, { intervalMs: 1000, config: v2(undefined) });
    await Promise.all([ours.r.start(), wrong.r.start(), none.r.start()]);
    // the higher-priority routers with another password or none do not keep ours in Backup
    await until(() => ours.r.snapshot().state === 'master', 10_000);
    await clock.advanceAsync(5000);
    expect(ours.r.snapshot().state).toBe('master');
    expect(ours.transitions.map((t) => t.to)).toEqual(['backup', 'master']);
    const stats = ours.r.snapshot().stats.discarded;
    expect(stats.VRRP_AUTH_FAILURE).toBeGreaterThanOrEqual(5);
    expect(stats.VRRP_AUTH_MISMATCH).toBeGreaterThanOrEqual(5);
    expect(ours.log.lines()).toContain('(VI_1) received an invalid passwd!');
    expect(ours.log.lines()).toContain('(VI_1) received a 0 auth, expecting 1!');
    // the same password is heard: a router with it and a higher priority takes over
    const right = router(bus, '192.168.77.14', 200, { intervalMs: 1000, config: v2('secret') });
    await right.r.start();
    await until(() => ours.r.snapshot().state === 'backup', 10_000);
    expect(ours.transitions.at(-1)).toMatchObject({ from: 'master', to: 'backup', reason: 'higherPriority' });
  });
});

/** Stops a router while the virtual clock runs (its last advert and log lines need the event loop). */
async function stopNow(r: VrrpRouter): Promise<void> {
  const stopping = r.stop();
  await clock.advanceAsync(1);
  await stopping;
}

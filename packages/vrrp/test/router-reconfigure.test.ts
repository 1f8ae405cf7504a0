// VrrpRouter.reconfigure over the in-memory bus on the manual clock: a Master's VIP list changes by
// the difference only (with the Accept_Mode filter following), the announcement waits for the new
// VIPs, and an unchanged configuration leaves the wire and the VIPs alone.
import { ManualClock, MemoryLogger } from '@proxyha/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type MachineConfig,
  MemoryAdvertBus,
  MemoryVipManager,
  type RouterTransition,
  type VipAnnouncement,
  VrrpMachine,
  VrrpRouter,
} from '../src/index';

let clock = new ManualClock();
const routers: VrrpRouter[] = [];
afterEach(async () => {
  const stopping = Promise.all(routers.splice(0).map((r) => r.stop()));
  await clock.advanceAsync(10);
  await stopping;
  clock = new ManualClock();
});

const base = (over: Partial<MachineConfig> = {}): MachineConfig => ({
  name: 'VI_1',
  vrid: 51,
  priority: 150,
  advertIntervalMs: 50,
  primaryAddress: '192.168.77.11',
  virtualIps: ['192.168.77.74/24'],
  ...over,
});

function setup(config: MachineConfig) {
  const bus = new MemoryAdvertBus(clock);
  const calls: string[] = [];
  const vips = new MemoryVipManager();
  const announce: VipAnnouncement[] = [];
  const transitions: RouterTransition[] = [];
  const log = new MemoryLogger();
  const r = new VrrpRouter({
    machine: new VrrpMachine(config),
    interface: 'eth0',
    transport: bus.transport('192.168.77.11'),
    vips: {
      add: async (i, v) => {
        calls.push(`add ${v.join(',')}`);
        await vips.add(i, v);
      },
      remove: async (i, v) => {
        calls.push(`remove ${v.join(',')}`);
        await vips.remove(i, v);
      },
    },
    acceptFilter: {
      block: async (a) => void calls.push(`block ${a.join(',')}`),
      unblock: async (a) => void calls.push(`unblock ${a.join(',')}`),
      close: async () => {},
    },
    announce: (a) => {
      calls.push(`announce ${a.reason} ${a.addresses.join(',')}`);
      announce.push(a);
    },
    logger: log,
    clock,
  });
  r.on('transition', (t) => transitions.push(t));
  routers.push(r);
  // a peer that only counts what it hears
  const heard: number[] = [];
  const peer = bus.transport('192.168.77.12');
  void peer.open((p) => heard.push(p[2] as number)); // the priority byte
  return { r, calls, vips, announce, transitions, log, heard };
}

describe('VrrpRouter.reconfigure', () => {
  it('a Master changes its VIPs by the difference, the filter follows, and the announcement waits for them', async () => {
    const s = setup(base({ virtualIps: ['192.168.77.74/24', '192.168.77.75/24'] }));
    await s.r.start();
    await clock.until(
      () => s.r.snapshot().state === 'master' && s.calls.some((c) => c.startsWith('announce')),
      3000,
    );
    s.calls.length = 0;
    s.r.reconfigure(base({ virtualIps: ['192.168.77.75/24', '192.168.77.76/24'] }));
    await clock.advanceAsync(5);
    expect(s.calls).toEqual([
      'remove 192.168.77.74/24',
      'unblock 192.168.77.74',
      'block 192.168.77.76',
      'add 192.168.77.76/24',
      'announce addressesChanged 192.168.77.75,192.168.77.76',
    ]);
    expect(s.vips.held.get('eth0')).toEqual(new Set(['192.168.77.75/24', '192.168.77.76/24']));
    expect(s.transitions.map((t) => t.to)).toEqual(['backup', 'master']);
    // leaving Master later unblocks exactly what is blocked now
    s.calls.length = 0;
    const stopping = s.r.stop();
    await clock.advanceAsync(1);
    await stopping;
    expect(s.calls).toEqual([
      'remove 192.168.77.75/24,192.168.77.76/24',
      'unblock 192.168.77.75,192.168.77.76',
    ]);
  });

  it('the same configuration again: no VIP call, no announcement, no extra advert; a new priority goes into the next one', async () => {
    const s = setup(base());
    await s.r.start();
    await clock.until(() => s.r.snapshot().state === 'master' && s.announce.length === 1, 3000);
    s.calls.length = 0;
    const sent = s.r.snapshot().stats.advertsSent;
    s.r.reconfigure(base());
    await clock.advanceAsync(0);
    expect(s.calls).toEqual([]);
    expect(s.r.snapshot().stats.advertsSent).toBe(sent);
    s.r.reconfigure(base({ priority: 120 }));
    const heard = s.heard.length;
    await clock.until(() => s.heard.length > heard, 3000);
    expect(s.heard.at(-1)).toBe(120);
    expect(s.heard).not.toContain(0);
    expect(s.transitions.map((t) => t.to)).toEqual(['backup', 'master']);
    await clock.advanceAsync(1);
    expect(s.log.lines()).toContain('(VI_1) Changing effective priority from 150 to 120');
  });

  it('refuses another VRID and changes nothing', async () => {
    const s = setup(base());
    await s.r.start();
    expect(() => s.r.reconfigure(base({ vrid: 52 }))).toThrow(/cannot change vrid/);
    expect(s.r.snapshot().state).toBe('backup');
  });
});

import { ManualClock } from '@proxyha/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type MachineAction,
  type MachineEvent,
  MemoryAdvertBus,
  MemoryVipManager,
  type RouterTransition,
  type VipAnnouncement,
  VrrpMachine,
  VrrpRouter,
} from '../src/index';

// VrrpRouter.warmUp runs the takeover on a twin: the code paths a first takeover runs, and nothing a
// neighbour, the host or the router's own listeners could see.
afterEach(() => {
  vi.restoreAllMocks();
});

function backupOnBus(version: 2 | 3) {
  const clock = new ManualClock();
  const bus = new MemoryAdvertBus(clock);
  const machine = new VrrpMachine({
    name: 'VI_1',
    vrid: 51,
    priority: 100,
    version,
    advertIntervalMs: version === 3 ? 50 : 1000,
    primaryAddress: '192.168.77.12',
    virtualIps: ['192.168.77.74/24'],
  });
  const vips = new MemoryVipManager();
  const announced: VipAnnouncement[] = [];
  const transitions: RouterTransition[] = [];
  const r = new VrrpRouter({
    machine,
    interface: 'eth0',
    transport: bus.transport('192.168.77.12'),
    vips,
    announce: (a) => announced.push(a),
    clock,
  });
  r.on('transition', (t) => transitions.push(t));
  // a listener on the link: anything the warm-up sent would reach it
  const heard: Uint8Array[] = [];
  const listener = bus.transport('192.168.77.99');
  return { clock, bus, machine, vips, announced, transitions, r, heard, listener };
}

describe('VrrpRouter.warmUp', () => {
  for (const version of [2, 3] as const) {
    it(`v${version}: runs a takeover and a shutdown on a twin machine, and nothing reaches the link, the VIPs or the listeners`, async () => {
      const t = backupOnBus(version);
      await t.listener.open((p) => t.heard.push(p));
      await t.r.start();
      await t.clock.advanceAsync(0); // the start's log lines
      const before = { state: t.machine.state, timers: t.clock.pendingTimes(), vips: t.vips.calls.length };
      const handled: { machine: VrrpMachine; event: MachineEvent; actions: MachineAction[] }[] = [];
      const handle = VrrpMachine.prototype.handle;
      vi.spyOn(VrrpMachine.prototype, 'handle').mockImplementation(function (this: VrrpMachine, event) {
        const actions = handle.call(this, event);
        handled.push({ machine: this, event, actions });
        return actions;
      });

      await t.r.warmUp();
      await t.clock.advanceAsync(0);

      // the twin went through the takeover (advert, VIPs, announcement) and the shutdown (priority 0)
      const twin = handled.map((h) => h.machine).find((m) => m !== t.machine);
      expect(twin).toBeDefined();
      const ofTwin = handled.filter((h) => h.machine === twin);
      expect(ofTwin.every((h) => h.machine !== t.machine)).toBe(true);
      const kinds = ofTwin.map((h) => [
        h.event.type === 'timer' ? `timer ${h.event.timer}` : h.event.type,
        h.actions.map((a) => (a.type === 'send' ? `send ${a.priority}` : a.type)).filter((a) => a !== 'log'),
      ]);
      expect(kinds.map(([e]) => e)).toEqual(['startup', 'timer masterDown', 'timer adver', 'shutdown']);
      expect(kinds[1]?.[1]).toEqual(
        expect.arrayContaining(['send 100', 'addVips', 'announce', 'transition']),
      );
      expect(kinds[3]?.[1]).toEqual(expect.arrayContaining(['send 0', 'removeVips']));

      // ...and nothing of it is visible outside
      expect(t.heard).toEqual([]);
      expect(t.bus.stats).toEqual({ delivered: 0, dropped: 0 });
      expect(t.vips.calls.length).toBe(before.vips);
      expect(t.announced).toEqual([]);
      expect(t.transitions.filter((x) => x.to === 'master')).toEqual([]);
      expect(t.machine.state).toBe(before.state);
      expect(t.clock.pendingTimes()).toEqual(before.timers);
      vi.restoreAllMocks();

      // the router itself still takes over as before
      await t.clock.until(() => t.machine.state === 'master', 10_000);
      await t.clock.advanceAsync(1);
      expect(t.heard.length).toBeGreaterThan(0);
      expect(t.announced.map((a) => a.reason)).toEqual(['becomeMaster']);
      const stopping = t.r.stop();
      await t.clock.advanceAsync(1);
      await stopping;
      await t.listener.close();
    });
  }
});

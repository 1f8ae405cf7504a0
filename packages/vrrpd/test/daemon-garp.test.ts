import { type MemoryHost, MemoryMacvlanManager, MemoryNetwork } from '@proxyha/netio';
import { decodeVrrp, MemoryVipManager, type RouterTransition } from '@proxyha/vrrp';
import { describe, expect, it } from 'vitest';
import {
  type DaemonAnnounceRequest,
  type DaemonVmacManager,
  garpBurstPolicyOf,
  garpInterfaceRatesOf,
  parseVrrpDaemonConfig,
  RawTransport,
  VrrpDaemon,
  vmacOf,
} from '../src/index';
import { configIssues, useVirtualTime } from './helpers';

// The daemon's gratuitous ARP and VMAC options without root: config validation, and two daemons on the
// manual time.clock over netio's in-memory network (the same RawTransport as on Linux) with netio's
// MemoryMacvlanManager and recording VIP managers and announcement hooks.

const base = { name: 'VI_1', interface: 'eth0', vrid: 51, virtualIps: ['192.168.77.74/24'] };

const issues = configIssues;

describe('garp and vmac configuration', () => {
  it('maps the garp block to @proxyha/garp policy fields in milliseconds', () => {
    const c = parseVrrpDaemonConfig({
      instances: [
        {
          ...base,
          garp: {
            repeat: 3,
            secondBurstDelay: '2s',
            refreshInterval: '1m',
            refreshRepeat: 2,
            reassertRepeat: 4,
            reassertDelay: '500ms',
            interval: '10ms',
            arpOperation: 'reply',
            naRouterFlag: true,
          },
        },
      ],
    });
    const inst = c.instances[0] as (typeof c.instances)[number];
    expect(garpBurstPolicyOf(inst)).toEqual({
      repeat: 3,
      secondBurstDelayMs: 2000,
      refreshIntervalMs: 60_000,
      refreshRepeat: 2,
      reassertRepeat: 4,
      reassertDelayMs: 500,
      arpOperation: 'reply',
      naRouterFlag: true,
    });
    // naInterval defaults to interval, per announcing interface
    expect(garpInterfaceRatesOf(c)).toEqual({ eth0: { arpIntervalMs: 10, naIntervalMs: 10 } });
    expect(inst.vmac).toBe(false);
    expect(inst.higherPrioritySendAdvert).toBe(false);
    expect(vmacOf(inst)).toBeUndefined();
    const plain = parseVrrpDaemonConfig({ instances: [base] });
    expect(garpBurstPolicyOf(plain.instances[0] as (typeof c.instances)[number])).toBeUndefined();
    expect(garpInterfaceRatesOf(plain)).toEqual({});
  });

  it('vmac: true is vrrp.VRID / vrrp6.VRID with the RFC 5798 virtual MAC; a name can be given', () => {
    const c = parseVrrpDaemonConfig({
      instances: [
        { ...base, vmac: true, garp: { interval: '5ms' } },
        { ...base, name: 'VI_6', virtualIps: ['fd77::74/64'], vmac: true },
        { ...base, name: 'VI_2', vrid: 10, virtualIps: ['192.168.77.75/24'], vmac: { name: 'vmac-ten' } },
      ],
    });
    const [a, b, d] = c.instances.map((i) => vmacOf(i));
    expect(a).toEqual({ name: 'vrrp.51', mac: '00:00:5e:00:01:33', parent: 'eth0', family: 'ipv4' });
    expect(b).toEqual({ name: 'vrrp6.51', mac: '00:00:5e:00:02:33', parent: 'eth0', family: 'ipv6' });
    expect(d).toEqual({ name: 'vmac-ten', mac: '00:00:5e:00:01:0a', parent: 'eth0', family: 'ipv4' });
    // the rate limit is keyed by the interface the frames leave on: the VMAC
    expect(garpInterfaceRatesOf(c)).toEqual({ 'vrrp.51': { arpIntervalMs: 5, naIntervalMs: 5 } });
  });

  it('names the path and value of every bad garp or vmac setting', () => {
    const out = issues({
      instances: [
        {
          ...base,
          garp: { repeat: 0, secondBurstDelay: 'soon', reassertRepeat: -1, every: 1 },
          vmac: { name: 'this-name-is-too-long' },
          higherPrioritySendAdvert: 'yes',
        },
      ],
    });
    expect(out).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^instances\[0\]\.garp\.repeat: .*\(got 0\)$/),
        expect.stringMatching(/^instances\[0\]\.garp\.secondBurstDelay: not a duration: "soon"/),
        expect.stringMatching(/^instances\[0\]\.garp\.reassertRepeat: .*\(got -1\)$/),
        expect.stringMatching(/^instances\[0\]\.garp: .*every/),
        expect.stringMatching(/^instances\[0\]\.vmac\b/),
        expect.stringMatching(/^instances\[0\]\.higherPrioritySendAdvert: .*\(got "yes"\)$/),
      ]),
    );
    expect(issues({ instances: [{ ...base, garp: { refreshInterval: '2d' } }] })).toEqual([
      'instances[0].garp.refreshInterval: must be at most 1d (got 2d)',
    ]);
  });

  it('rejects VMAC name clashes, VMACs on loopback, and two rate limits on one interface', () => {
    expect(
      issues({
        instances: [
          { ...base, vmac: { name: 'vx' } },
          { ...base, name: 'VI_2', vrid: 52, virtualIps: ['192.168.77.75/24'], vmac: { name: 'vx' } },
        ],
      }),
    ).toEqual(['instances[1].vmac: interface name vx is already used by instances[0]']);
    expect(issues({ instances: [{ ...base, vmac: { name: 'eth0' } }] })).toEqual([
      'instances[0].vmac: interface name eth0 is already used by instances[0]',
    ]);
    expect(
      issues({
        transport: 'loopback',
        instances: [
          { ...base, interface: 'lo', sourceAddress: '127.0.0.21', unicastPeers: ['127.0.0.22'], vmac: true },
        ],
      }),
    ).toEqual(['instances[0].vmac: a virtual MAC needs the raw transport (a real interface)']);
    expect(
      issues({
        instances: [
          { ...base, garp: { interval: '10ms' } },
          { ...base, name: 'VI_2', vrid: 52, virtualIps: ['192.168.77.75/24'], garp: { interval: '20ms' } },
        ],
      }),
    ).toEqual([
      'instances[1].garp.interval: instances[0] announces on eth0 too with another rate limit (it is per interface)',
    ]);
    // on their own VMACs they do not share an interface
    expect(() =>
      parseVrrpDaemonConfig({
        instances: [
          { ...base, vmac: true, garp: { interval: '10ms' } },
          { ...base, name: 'VI_2', vrid: 52, virtualIps: ['192.168.77.75/24'], garp: { interval: '20ms' } },
        ],
      }),
    ).not.toThrow();
  });
});

// ---- two daemons over netio's memory network ----------------------------------------------

const time = useVirtualTime();
const { daemons, stop, until } = time;

/** netio's MemoryMacvlanManager, recording every call in `events`. */
function vmacManager(events: string[]): DaemonVmacManager & { inner: MemoryMacvlanManager } {
  const inner = new MemoryMacvlanManager(['eth0']);
  return {
    inner,
    create: async (spec) => {
      await inner.create(spec);
      events.push(`create ${spec.name} ${spec.mac} on ${spec.parent}`);
    },
    remove: async (name) => {
      await inner.remove(name);
      events.push(`remove ${name}`);
    },
    setUp: async (name, up) => {
      await inner.setUp(name, up);
      events.push(`${up ? 'up' : 'down'} ${name}`);
    },
  };
}

interface Node {
  d: VrrpDaemon;
  events: string[];
  announced: DaemonAnnounceRequest[];
  transitions: RouterTransition[];
  sent: { at: number; priority: number }[];
  vips: MemoryVipManager;
  vmacs: ReturnType<typeof vmacManager>;
  state: () => string | undefined;
}

function node(host: MemoryHost, address: string, instance: object): Node {
  const events: string[] = [];
  const announced: DaemonAnnounceRequest[] = [];
  const transitions: RouterTransition[] = [];
  const sent: { at: number; priority: number }[] = [];
  const vips = new MemoryVipManager();
  const recordingVips = {
    add: async (ifname: string, v: readonly string[]) => {
      await vips.add(ifname, v);
      events.push(`add ${ifname} ${v.join(' ')}`);
    },
    remove: async (ifname: string, v: readonly string[]) => {
      await vips.remove(ifname, v);
      events.push(`remove ${ifname} ${v.join(' ')}`);
    },
  };
  const vmacs = vmacManager(events);
  const config = parseVrrpDaemonConfig({
    instances: [{ ...base, version: 3, advertInterval: '50ms', sourceAddress: address, ...instance }],
  });
  const d = new VrrpDaemon(config, {
    clock: time.clock,
    vips: recordingVips,
    vmacs,
    announce: (r) => {
      announced.push(r);
      events.push(`announce ${r.reason} ${r.interface}`);
    },
    onTransition: (t) => transitions.push(t),
    links: host,
    transports: (inst, primary) => {
      const t = new RawTransport({ interface: inst.interface, family: 'ipv4', source: primary, stack: host });
      return {
        family: t.family,
        open: (cb) => t.open(cb),
        close: () => t.close(),
        send: async (payload, destination) => {
          const r = decodeVrrp(payload, { family: 'ipv4', source: primary, destination, ttl: 255 });
          if (r.ok) sent.push({ at: time.clock.now(), priority: r.value.advert.priority });
          await t.send(payload, destination);
        },
      };
    },
  });
  daemons.push(d);
  return {
    d,
    events,
    announced,
    transitions,
    sent,
    vips,
    vmacs,
    state: () => d.routers.get('VI_1')?.snapshot().state,
  };
}

function lan() {
  const net = new MemoryNetwork({ clock: time.clock });
  const host = (name: string, last: number) =>
    net.addHost(name, { interfaces: [{ name: 'eth0', ipv4: [`192.168.77.${last}/24`] }] });
  return { a: host('a', 11), b: host('b', 12) };
}

describe('VrrpDaemon with vmac and garp settings (memory network, MemoryMacvlanManager, manual time.clock)', () => {
  it('creates the VMAC, puts the VIPs on it, announces the virtual MAC after the VIPs, removes it on stop', async () => {
    const { a, b } = lan();
    const garp = { repeat: 2, secondBurstDelay: '1s' };
    const na = node(a, '192.168.77.11', { priority: 150, vmac: true, garp });
    const nb = node(b, '192.168.77.12', { priority: 100, vmac: true, garp });
    await na.d.start();
    await nb.d.start();
    expect(await na.vmacs.inner.list()).toEqual([
      expect.objectContaining({ parent: 'eth0', name: 'vrrp.51', mac: '00:00:5e:00:01:33', family: 'ipv4' }),
    ]);
    expect(await nb.vmacs.inner.list()).toHaveLength(1);
    await until('a is master', () => na.state() === 'master');
    await until('a announced', () => na.announced.length > 0);
    expect(na.announced[0]).toMatchObject({
      instance: 'VI_1',
      vrid: 51,
      interface: 'vrrp.51',
      vmac: '00:00:5e:00:01:33',
      addresses: ['192.168.77.74'],
      reason: 'becomeMaster',
      policy: { repeat: 2, secondBurstDelayMs: 1000 },
    });
    // created; down with the stale-VIP cleanup at start; up before the VIPs; announced after them
    expect(na.events).toEqual([
      'create vrrp.51 00:00:5e:00:01:33 on eth0',
      'down vrrp.51',
      'remove vrrp.51 192.168.77.74/24',
      'up vrrp.51',
      'add vrrp.51 192.168.77.74/24',
      'announce becomeMaster vrrp.51',
    ]);
    expect([...(na.vips.held.get('vrrp.51') ?? [])]).toEqual(['192.168.77.74/24']);
    expect(na.vips.held.get('eth0')).toBeUndefined();
    expect(nb.state()).toBe('backup');
    expect(nb.vips.held.get('vrrp.51')?.size ?? 0).toBe(0);

    // a stops: down before the VIPs go, then the VMAC is removed; b takes over on its own VMAC
    await stop(na.d);
    expect(na.events.slice(-3)).toEqual([
      'down vrrp.51',
      'remove vrrp.51 192.168.77.74/24',
      'remove vrrp.51',
    ]);
    expect(await na.vmacs.inner.list()).toEqual([]);
    await until('b is master', () => nb.state() === 'master');
    await until('b announced', () => nb.announced.length > 0);
    expect(nb.announced[0]).toMatchObject({ interface: 'vrrp.51', vmac: '00:00:5e:00:01:33' });
    expect(nb.events.slice(-3)).toEqual([
      'up vrrp.51',
      'add vrrp.51 192.168.77.74/24',
      'announce becomeMaster vrrp.51',
    ]);
  });

  it('without vmac the VIPs and announcements stay on the interface, with no virtual MAC', async () => {
    const { a } = lan();
    const na = node(a, '192.168.77.11', { priority: 150 });
    await na.d.start();
    await until('a announced', () => na.announced.length > 0);
    expect(na.announced[0]?.interface).toBe('eth0');
    expect(na.announced[0]?.vmac).toBeUndefined();
    expect(na.announced[0]?.policy).toBeUndefined();
    expect(na.events).toEqual([
      'remove eth0 192.168.77.74/24',
      'add eth0 192.168.77.74/24',
      'announce becomeMaster eth0',
    ]);
    expect(await na.vmacs.inner.list()).toEqual([]);
  });

  it('a vmac instance without a VMAC manager does not start', async () => {
    const config = parseVrrpDaemonConfig({
      instances: [{ ...base, vmac: true, sourceAddress: '192.168.77.11' }],
    });
    await expect(
      new VrrpDaemon(config, { vips: new MemoryVipManager(), clock: time.clock }).start(),
    ).rejects.toMatchObject({
      code: 'VRRPD_MISSING_COMPONENT',
      message: expect.stringMatching(/instance VI_1: vmac needs a VMAC manager/),
    });
  });

  for (const option of [true, false])
    it(`split brain healed: ${option ? 'with' : 'without'} higherPrioritySendAdvert the yielding master ${option ? 'sends one advert at its priority and the survivor re-announces' : 'sends nothing more'}`, async () => {
      const { a, b } = lan();
      const na = node(a, '192.168.77.11', { priority: 150, higherPrioritySendAdvert: option });
      const nb = node(b, '192.168.77.12', { priority: 100, higherPrioritySendAdvert: option });
      await na.d.start();
      await nb.d.start();
      await until('a master', () => na.state() === 'master');
      await until('b backup', () => nb.state() === 'backup');
      b.attach('eth0', 'elsewhere'); // partition
      await until('b master during the split', () => nb.state() === 'master');
      await until('b announced', () => nb.announced.length > 0);
      const announcedBefore = na.announced.length;
      b.attach('eth0', 'lan'); // heal
      await until('b yields', () => nb.state() === 'backup');
      const left = nb.transitions.at(-1) as RouterTransition;
      expect(left).toMatchObject({ from: 'master', to: 'backup', reason: 'higherPriority', priority: 100 });
      await time.clock.advanceAsync(200);
      // adverts b sent once it yielded (the transition and that send happen in one turn)
      const afterYield = nb.sent.filter((s) => s.at >= left.at - 0.001 && s.priority !== 0);
      if (option) {
        expect(afterYield.map((s) => s.priority)).toEqual([100]);
        await until('a re-announced', () =>
          na.announced.slice(announcedBefore).some((r) => r.reason === 'lowerPriorityAdvert'),
        );
      } else {
        expect(afterYield).toEqual([]);
      }
      expect(na.state()).toBe('master');
    });
});

describe('VrrpDaemon strict mode (keepalived vrrp_strict)', () => {
  it('blocks traffic to the VIPs of a non-accepting master and removes the filter on stop', async () => {
    const { a } = lan();
    const calls: string[] = [];
    const config = parseVrrpDaemonConfig({
      strict: true,
      instances: [
        { ...base, priority: 150, version: 3, advertInterval: '50ms', sourceAddress: '192.168.77.11' },
      ],
    });
    const d = new VrrpDaemon(config, {
      clock: time.clock,
      vips: new MemoryVipManager(),
      acceptFilter: {
        block: async (v) => void calls.push(`block ${v.join(' ')}`),
        unblock: async (v) => void calls.push(`unblock ${v.join(' ')}`),
        close: async () => void calls.push('close'),
      },
      links: a,
      transports: (inst, primary) =>
        new RawTransport({ interface: inst.interface, family: 'ipv4', source: primary, stack: a }),
    });
    await d.start();
    await until('master', () => d.routers.get('VI_1')?.snapshot().state === 'master' && calls.length > 0);
    await stop(d);
    expect(calls).toEqual(['block 192.168.77.74', 'unblock 192.168.77.74', 'close']);
    expect(parseVrrpDaemonConfig({ instances: [base] }).strict).toBe(false);
  });
});

import { type CommandRunner, MemoryLogger } from '@proxyha/common';
import { type MemoryHost, MemoryNetwork } from '@proxyha/netio';
import { MemoryVipManager, type RouterTransition } from '@proxyha/vrrp';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeReloadPlan, planReload, type ReloadPlan } from '../src/daemon/reload';
import {
  parseVrrpDaemonConfig,
  RawTransport,
  VrrpDaemon,
  type VrrpDaemonConfig,
  VrrpdError,
} from '../src/index';
import { useVirtualTime } from './helpers';

// SIGHUP reload: the pure plan (what differs between two configurations and what is done about it),
// then daemons on the manual clock over netio's in-memory network (hosts a 192.168.77.11 and
// b .12, as in daemon-links.test.ts; VIPs recorded by a MemoryVipManager): an unchanged instance is untouched (a Master stays Master, sends no
// priority 0, keeps its VIPs), changes apply in place or restart just the instance, added instances
// start, removed ones stop as on SIGTERM, and an invalid configuration is refused while the old one runs.

const inst = (over: object = {}) => ({
  name: 'VI_1',
  interface: 'eth0',
  vrid: 51,
  priority: 100,
  virtualIps: ['192.168.77.74/24'],
  ...over,
});
const conf = (instances: object[], extra: object = {}) => parseVrrpDaemonConfig({ instances, ...extra });
const plan = (a: VrrpDaemonConfig, b: VrrpDaemonConfig): ReloadPlan => {
  const r = planReload(a, b);
  if (!r.ok) throw new Error(`refused: ${JSON.stringify(r.error)}`);
  return r.value;
};

describe('planReload (the pure diff)', () => {
  it('the same configuration: nothing to do', () => {
    const a = conf([inst(), inst({ name: 'VI_2', vrid: 52 })]);
    const p = plan(a, conf([inst(), inst({ name: 'VI_2', vrid: 52 })]));
    expect(p).toMatchObject({
      added: [],
      removed: [],
      restarted: [],
      changed: [],
      unchanged: ['VI_1', 'VI_2'],
    });
    expect(describeReloadPlan(p)).toBe('no change');
  });

  it('added, removed and a new priority, in the summary’s words', () => {
    const a = conf([inst(), inst({ name: 'VI_3', vrid: 53 })]);
    const b = conf([inst({ priority: 90 }), inst({ name: 'VI_2', vrid: 52 })]);
    const p = plan(a, b);
    expect(p.added).toEqual(['VI_2']);
    expect(p.removed).toEqual(['VI_3']);
    expect(p.changed).toEqual([
      {
        name: 'VI_1',
        changes: ['priority 100 -> 90'],
        machine: true,
        trackers: { added: [], removed: [], replaced: [], reset: [] },
      },
    ]);
    expect(describeReloadPlan(p)).toBe('instance VI_2 added, instance VI_3 removed, VI_1 priority 100 -> 90');
  });

  it('restarts an instance whose identity on the wire or the host changed, and says why', () => {
    const a = conf([inst({ unicastPeers: [] })]);
    const cases: [object, string][] = [
      [{ interface: 'eth1' }, 'interface eth0 -> eth1'],
      [{ vrid: 52 }, 'vrid 51 -> 52'],
      [{ version: 2 }, 'version 3 -> 2'],
      [{ virtualIps: ['fd77::74/64'] }, 'address family ipv4 -> ipv6'],
      [{ sourceAddress: '192.168.77.11' }, 'sourceAddress unset -> 192.168.77.11'],
      [{ unicastPeers: ['192.168.77.12'] }, 'unicastPeers set (unicast)'],
      [{ vmac: true }, 'vmac false -> true'],
      [{ checksum: 'vrrp-only' }, 'checksum unset -> vrrp-only'],
    ];
    for (const [change, reason] of cases) {
      const p = plan(a, conf([inst(change)]));
      expect(p.restarted, reason).toEqual([{ name: 'VI_1', reasons: [reason] }]);
      expect(describeReloadPlan(p)).toBe(`instance VI_1 restarted (${reason})`);
    }
  });

  it('changes in place: VIPs of one family, peers, timers, preempt, garp, and Accept_Mode without strict', () => {
    const a = conf([inst({ unicastPeers: ['192.168.77.12'] })]);
    const b = conf([
      inst({
        unicastPeers: ['192.168.77.13'],
        virtualIps: ['192.168.77.74/24', '192.168.77.75/24'],
        advertInterval: '500ms',
        preempt: false,
        accept: true,
        garp: { repeat: 3 },
        higherPrioritySendAdvert: true,
      }),
    ]);
    const p = plan(a, b);
    expect(p.restarted).toEqual([]);
    expect(p.changed[0]?.machine).toBe(true);
    expect(p.changed[0]?.changes).toEqual(
      expect.arrayContaining([
        'unicastPeers +192.168.77.13 -192.168.77.12',
        'virtualIps +192.168.77.75/24',
        'advertInterval 1000ms -> 500ms',
        'preempt true -> false',
        'accept false -> true',
        'garp changed',
        'higherPrioritySendAdvert false -> true',
      ]),
    );
    // only the daemon's own settings: the machine is not touched
    const wiring = plan(a, conf([inst({ unicastPeers: ['192.168.77.12'], garp: { interval: '10ms' } })]));
    expect(wiring.changed[0]).toMatchObject({ machine: false, changes: ['garp changed'] });
    expect(wiring.notes).toEqual([
      '(VI_1) garp.interval and garp.naInterval (per-interface rate limits) apply after a restart of proxyha-vrrpd',
    ]);
  });

  it('with strict, a change of Accept_Mode (or of address ownership) restarts the instance', () => {
    const a = conf([inst()], { strict: true });
    expect(plan(a, conf([inst({ accept: true })], { strict: true })).restarted[0]?.reasons).toEqual([
      'accept false -> true (strict: Accept_Mode changes)',
    ]);
    expect(plan(a, conf([inst({ priority: 255 })], { strict: true })).restarted).toHaveLength(1);
    expect(plan(a, conf([inst({ priority: 254 })], { strict: true })).restarted).toEqual([]);
  });

  it('trackers by name: added, removed, replaced (a script starts afresh, a file does not), new weights', () => {
    const a = conf([
      inst({
        trackScripts: [
          { name: 'chk', command: ['chk'], weight: -10 },
          { name: 'old', command: ['old'] },
        ],
        trackFiles: [{ path: '/run/a', weight: -5 }],
        trackInterfaces: [{ name: 'eth1', weight: -20 }],
      }),
    ]);
    const b = conf([
      inst({
        trackScripts: [
          { name: 'chk', command: ['chk', '--deep'], weight: -10 },
          { name: 'new', command: ['new'] },
        ],
        trackFiles: [{ path: '/run/a', weight: -15 }],
        trackInterfaces: [{ name: 'eth2', weight: -20 }],
      }),
    ]);
    const c = plan(a, b).changed[0];
    expect(c?.trackers).toEqual({
      added: ['script:new', 'interface:eth2'],
      removed: ['script:old', 'interface:eth1'],
      replaced: ['script:chk'],
      reset: ['script:chk'],
    });
    expect(c?.changes).toEqual([
      'tracker script:chk replaced',
      'tracker script:new added',
      'tracker script:old removed',
      'tracker file:/run/a weight -5 -> -15',
      'tracker interface:eth2 added',
      'tracker interface:eth1 removed',
    ]);
    const file = plan(
      a,
      conf([inst({ ...b.instances[0], trackFiles: [{ path: '/run/b', name: '/run/a' }] })]),
    );
    expect(file.changed[0]?.trackers).toMatchObject({
      replaced: ['script:chk', 'file:/run/a'],
      reset: ['script:chk'],
    });
  });

  it('sync groups: new, changed and removed ones, and those with a restarted member, are formed again', () => {
    const two = [inst(), inst({ name: 'VI_2', vrid: 52 }), inst({ name: 'VI_3', vrid: 53 })];
    const a = conf(two, {
      syncGroups: [
        { name: 'G1', instances: ['VI_1', 'VI_2'] },
        { name: 'G2', instances: ['VI_2', 'VI_3'].slice(0) },
      ].slice(0, 1),
    });
    const b = conf(
      [inst({ interface: 'eth1' }), inst({ name: 'VI_2', vrid: 52 }), inst({ name: 'VI_3', vrid: 53 })],
      { syncGroups: [{ name: 'G1', instances: ['VI_1', 'VI_2'] }] },
    );
    expect(plan(a, b).syncGroups).toEqual({ rebuilt: ['G1'], removed: [] });
    const c = conf(two, { syncGroups: [{ name: 'G2', instances: ['VI_2', 'VI_3'] }] });
    const p = plan(a, c);
    expect(p.syncGroups).toEqual({ rebuilt: ['G2'], removed: ['G1'] });
    expect(p.changes).toEqual(['sync group G2 added', 'sync group G1 removed']);
    expect(plan(a, a).syncGroups).toEqual({ rebuilt: [], removed: [] });
  });

  it('refuses what needs a restart of the process, names the path; process settings are listed', () => {
    const a = conf([inst()]);
    const r = planReload(
      a,
      conf([inst({ sourceAddress: '127.0.0.21', unicastPeers: ['127.0.0.22'] })], { transport: 'loopback' }),
    );
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error).toEqual([
        { path: 'transport', message: 'cannot change on a reload (raw -> loopback): restart proxyha-vrrpd' },
      ]);
    expect(planReload(a, conf([inst()], { strict: true })).ok).toBe(false);
    const p = plan(a, conf([inst()], { nice: -5 }));
    expect(p.process).toEqual(['nice']);
    expect(p.changes).toEqual(['nice unset -> -5']);
  });

  it('a notify setting (read when used) is applied by taking the new configuration; an unknown one restarts', () => {
    const a = conf([inst()]);
    const withNotify = {
      ...a,
      instances: [{ ...a.instances[0], notifyMaster: ['/bin/true'] }],
    } as unknown as VrrpDaemonConfig;
    expect(plan(a, withNotify).changed[0]).toMatchObject({
      machine: false,
      changes: ['notifyMaster changed'],
    });
    const other = {
      ...a,
      instances: [{ ...a.instances[0], someFutureKey: 1 }],
    } as unknown as VrrpDaemonConfig;
    expect(plan(a, other).restarted[0]?.reasons).toEqual(['someFutureKey changed']);
    const globalNotify = { ...a, notifyFifo: '/run/fifo', scriptUser: 'nobody' } as VrrpDaemonConfig;
    expect(plan(a, globalNotify).changes).toEqual(['notifyFifo changed', 'scriptUser changed']);
    const g = conf([inst(), inst({ name: 'VI_2', vrid: 52 })], {
      syncGroups: [{ name: 'G', instances: ['VI_1', 'VI_2'] }],
    });
    const gNotify = {
      ...g,
      syncGroups: [{ ...g.syncGroups[0], notifyMaster: { command: ['x'], shell: false } }],
    };
    const gp = plan(g, gNotify as VrrpDaemonConfig);
    expect(gp.changes).toEqual(['sync group G settings changed']);
    expect(gp.syncGroups).toEqual({ rebuilt: [], removed: [] });
    // a password never goes into the log
    expect(plan(a, conf([inst({ version: 2, authPassword: 's3cret' })])).restarted[0]?.reasons).toEqual([
      'version 3 -> 2',
    ]);
    const v2 = conf([inst({ version: 2, authPassword: 'old' })]);
    expect(plan(v2, conf([inst({ version: 2, authPassword: 's3cret' })])).changes).toEqual([
      'VI_1 authPassword changed',
    ]);
  });

  it('property: every instance lands in exactly one list; the same config again is no change', () => {
    const field = fc.constantFrom<[string, unknown][]>(
      [['priority', 90]],
      [['interface', 'eth1']],
      [['virtualIps', ['192.168.77.80/24']]],
      [['preempt', false]],
      [['vrid', 99]],
      [],
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.boolean(), field), { minLength: 1, maxLength: 5 }),
        (spec) => {
          const old = spec.flatMap(([inOld], i) => (inOld ? [inst({ name: `VI_${i}`, vrid: 10 + i })] : []));
          const nu = spec.flatMap(([, inNew, changes], i) =>
            inNew
              ? [
                  inst({
                    name: `VI_${i}`,
                    vrid: 10 + i,
                    ...Object.fromEntries(changes.map(([k, v]) => [k, k === 'vrid' ? 100 + i : v])),
                  }),
                ]
              : [],
          );
          if (old.length === 0 || nu.length === 0) return;
          const a = conf(old);
          const b = conf(nu);
          const p = plan(a, b);
          const lists = [
            p.added,
            p.removed,
            p.restarted.map((r) => r.name),
            p.changed.map((c) => c.name),
            p.unchanged,
          ];
          const all = lists.flat().sort();
          const names = [...new Set([...old, ...nu].map((i) => i.name))].sort();
          expect(all).toEqual(names);
          expect(describeReloadPlan(plan(b, conf(nu)))).toBe('no change');
        },
      ),
      { numRuns: 200 },
    );
  });
});

// ---- the daemon ------------------------------------------------------------------------------------

const time = useVirtualTime();
const { daemons, until } = time;

/** Hosts a (.11) and b (.12) on one segment, each with a second interface eth1 on a segment of its own. */
function lan() {
  const net = new MemoryNetwork({ clock: time.clock });
  const host = (name: string, last: number) =>
    net.addHost(name, {
      interfaces: [
        { name: 'eth0', ipv4: [`192.168.77.${last}/24`] },
        { name: 'eth1', segment: `uplink-${name}`, ipv4: [`10.0.${last}.1/24`] },
      ],
    });
  return { ha: host('a', 11), hb: host('b', 12) };
}

function node(
  host: MemoryHost,
  address: string,
  instances: object[],
  extra: object = {},
  run?: CommandRunner,
) {
  const transitions: RouterTransition[] = [];
  const log = new MemoryLogger();
  const vips = new MemoryVipManager();
  const config = (list: object[] = instances, more: object = extra) =>
    parseVrrpDaemonConfig({
      instances: list.map((i) => ({
        interface: 'eth0',
        version: 3,
        advertInterval: '50ms',
        sourceAddress: address,
        ...i,
      })),
      ...more,
    });
  const d = new VrrpDaemon(config(), {
    clock: time.clock,
    vips,
    links: host,
    transports: (inst, primary) =>
      new RawTransport({ interface: inst.interface, family: 'ipv4', source: primary, stack: host }),
    onTransition: (t) => transitions.push(t),
    logger: log,
    ...(run ? { run } : {}),
  });
  daemons.push(d);
  return {
    d,
    log,
    vips,
    transitions,
    config,
    state: (name = 'VI_1') => d.routers.get(name)?.snapshot().state,
    snap: (name = 'VI_1') => d.routers.get(name)?.snapshot(),
    /** Reloads while virtual time runs (stopping an instance needs the event loop). */
    async reload(next: Parameters<VrrpDaemon['reload']>[0], source?: string) {
      let done = false;
      const p = d.reload(next, source).finally(() => {
        done = true;
      });
      await time.clock.until(() => done, 1000);
      return p;
    },
  };
}

const vi1 = { name: 'VI_1', vrid: 51, virtualIps: ['192.168.77.74/24'] };
const vi2 = { name: 'VI_2', vrid: 52, priority: 150, virtualIps: ['192.168.77.75/24'] };
const script =
  (code: { code: number }): CommandRunner =>
  async () => ({
    stdout: '',
    stderr: '',
    code: code.code,
    signal: null,
    timedOut: false,
  });

/** a (150) master, b (100) backup, both running VI_1 (a possibly more). */
async function pair(aInstances: object[] = [{ ...vi1, priority: 150 }], run?: CommandRunner) {
  const { ha, hb } = lan();
  const a = node(ha, '192.168.77.11', aInstances, {}, run);
  const b = node(hb, '192.168.77.12', [{ ...vi1, priority: 100 }]);
  await a.d.start();
  await b.d.start();
  await until('a master', () => a.state() === 'master' && b.state() === 'backup');
  await time.clock.advanceAsync(200); // VIPs added, announcements and log lines written
  return { a, b, ha, hb };
}

describe('VrrpDaemon.reload (in-memory network, manual clock)', () => {
  it('an unchanged instance is untouched: the master stays master, no priority 0, no VIP removed or added', async () => {
    const { a, b } = await pair();
    const calls = [...a.vips.calls];
    const [ta, tb] = [a.transitions.length, b.transitions.length];
    const sent = a.snap()?.stats.advertsSent as number;
    for (let i = 0; i < 5; i++) {
      const r = await a.reload(a.config());
      expect(r.ok && r.value.unchanged).toEqual(['VI_1']);
      await time.clock.advanceAsync(100);
    }
    await time.clock.advanceAsync(1000);
    expect(a.state()).toBe('master');
    expect(b.state()).toBe('backup');
    expect(a.transitions).toHaveLength(ta);
    expect(b.transitions).toHaveLength(tb);
    expect(a.vips.calls).toEqual(calls);
    expect(a.vips.held.get('eth0')).toEqual(new Set(['192.168.77.74/24']));
    expect(a.snap()?.stats.priorityZeroSent).toBe(0);
    expect(b.snap()?.stats.priorityZeroReceived).toBe(0);
    // the adverts kept their rhythm: 1.5 s of virtual time at 50 ms
    expect((a.snap()?.stats.advertsSent as number) - sent).toBeGreaterThanOrEqual(29);
    expect(a.log.lines('info').filter((l) => l === 'Reloading: no change')).toHaveLength(5);
    expect(a.log.lines('info').filter((l) => /^Reload finished in \d+ usec$/.test(l))).toHaveLength(5);
    expect(a.d.reloadStats).toEqual({ applied: 5, refused: 0, failed: 0 });
  });

  it('a lower priority takes effect at once and the backup wins the next election', async () => {
    const { a, b } = await pair();
    const [ta, tb] = [a.transitions.length, b.transitions.length];
    const r = await a.reload(a.config([{ ...vi1, priority: 50 }]));
    expect(r.ok).toBe(true);
    expect(a.log.lines('info')).toContain('Reloading: VI_1 priority 150 -> 50');
    expect(a.snap()?.effectivePriority).toBe(50);
    await until('b master, a backup', () => b.state() === 'master' && a.state() === 'backup');
    // b timed the master out (it discards a's lower adverts), then a yielded to b's advert: no priority 0
    expect(b.transitions.slice(tb)).toEqual([
      expect.objectContaining({ from: 'backup', to: 'master', reason: 'masterDown' }),
    ]);
    expect(a.transitions.slice(ta)).toEqual([
      expect.objectContaining({ from: 'master', to: 'backup', reason: 'higherPriority', priority: 50 }),
    ]);
    expect(a.transitions[ta]?.at).toBeGreaterThanOrEqual(b.transitions[tb]?.at as number);
    expect(a.snap()?.stats.priorityZeroSent).toBe(0);
    expect(b.snap()?.stats.priorityZeroReceived).toBe(0);
    // and back: a preempts again
    await a.reload(a.config());
    await until('a master again', () => a.state() === 'master' && b.state() === 'backup');
  });

  it('added instances start, removed ones stop as on SIGTERM (priority 0, VIPs removed)', async () => {
    const { a, b } = await pair();
    const added = await a.reload(a.config([{ ...vi1, priority: 150 }, vi2]));
    expect(added.ok && added.value.added).toEqual(['VI_2']);
    expect(a.log.lines('info')).toContain('Reloading: instance VI_2 added');
    await until('VI_2 master on a (b does not run it)', () => a.state('VI_2') === 'master');
    expect(a.state()).toBe('master');

    const removed = await a.reload(a.config([vi2]));
    expect(removed.ok && removed.value.removed).toEqual(['VI_1']);
    expect(a.log.lines('info')).toContain('Reloading: instance VI_1 removed');
    expect(a.d.routers.has('VI_1')).toBe(false);
    await until('b takes VI_1 after the priority 0 advert', () => b.state() === 'master');
    expect(b.transitions.at(-1)).toMatchObject({ to: 'master', reason: 'priorityZero' });
    expect(a.transitions.filter((t) => t.instance === 'VI_1').at(-1)).toMatchObject({
      from: 'master',
      to: 'initialize',
      reason: 'shutdown',
    });
    expect(a.vips.calls.filter((c) => c.includes('192.168.77.74'))).toEqual([
      'remove eth0 192.168.77.74/24', // stale VIPs at start-up
      'add eth0 192.168.77.74/24',
      'remove eth0 192.168.77.74/24',
    ]);
    expect(a.state('VI_2')).toBe('master');
    expect(a.snap('VI_2')?.stats.priorityZeroSent).toBe(0);
  });

  it('a changed interface restarts just that instance, and the log says why', async () => {
    const { a, b } = await pair([{ ...vi1, priority: 150 }, vi2]);
    await until('VI_2 master', () => a.state('VI_2') === 'master');
    const before2 = a.transitions.filter((t) => t.instance === 'VI_2').length;
    const before1 = a.transitions.filter((t) => t.instance === 'VI_1').length;
    // VI_1 moves to eth1, a segment of a's own: b takes VI_1 over on eth0, a is master of it on eth1
    const moved = { ...vi1, priority: 150, interface: 'eth1', sourceAddress: '10.0.11.1' };
    const r = await a.reload(a.config([moved, vi2]));
    const why = 'interface eth0 -> eth1, sourceAddress 192.168.77.11 -> 10.0.11.1';
    expect(r.ok && r.value.restarted).toEqual([{ name: 'VI_1', reasons: why.split(', ') }]);
    expect(a.log.lines('info')).toContain(`Reloading: instance VI_1 restarted (${why})`);
    expect(a.log.lines('info')).toContain(`(VI_1) restarting: ${why}`);
    await until('b master on eth0, a master on eth1', () => b.state() === 'master' && a.state() === 'master');
    expect(
      a.transitions
        .filter((t) => t.instance === 'VI_1')
        .slice(before1)
        .map((t) => `${t.from}->${t.to}`),
    ).toEqual(['master->initialize', 'initialize->backup', 'backup->master']);
    expect(b.transitions.at(-1)).toMatchObject({ to: 'master', reason: 'priorityZero' });
    // VI_2 never noticed
    expect(a.transitions.filter((t) => t.instance === 'VI_2')).toHaveLength(before2);
    expect(a.vips.calls.filter((c) => c.includes('192.168.77.75'))).toEqual([
      'remove eth0 192.168.77.75/24',
      'add eth0 192.168.77.75/24',
    ]);
  });

  it('a master’s VIP list changes by the difference only', async () => {
    const { a } = await pair();
    const calls = a.vips.calls.length;
    await a.reload(
      a.config([{ ...vi1, priority: 150, virtualIps: ['192.168.77.74/24', '192.168.77.76/24'] }]),
    );
    await time.clock.advanceAsync(10);
    expect(a.vips.calls.slice(calls)).toEqual(['add eth0 192.168.77.76/24']);
    expect(a.log.lines('info')).toContain('Reloading: VI_1 virtualIps +192.168.77.76/24');
    await a.reload(a.config([{ ...vi1, priority: 150, virtualIps: ['192.168.77.76/24'] }]));
    await time.clock.advanceAsync(10);
    expect(a.vips.calls.slice(calls)).toEqual(['add eth0 192.168.77.76/24', 'remove eth0 192.168.77.74/24']);
    expect(a.state()).toBe('master');
    expect(a.snap()?.stats.priorityZeroSent).toBe(0);
  });

  it('an invalid configuration is refused with its path, counted, and the old one keeps running', async () => {
    const { a, b } = await pair();
    const bad = () =>
      parseVrrpDaemonConfig({ instances: [{ ...vi1, interface: 'eth0', vrid: 0 }] }, 'vrrpd.yaml');
    const r = await a.reload(bad);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toBeInstanceOf(VrrpdError);
      expect(r.error.message).toMatch(
        /^vrrpd\.yaml: invalid configuration:\n {2}instances\[0\]\.vrid: Too small/,
      );
    }
    const errors = () => a.log.entries.filter((e) => e.level === 'error').map((e) => e.message);
    expect(errors()).toHaveLength(1);
    expect(errors()[0]).toMatch(
      /^Reload refused, keeping the running configuration: vrrpd\.yaml: invalid configuration:\n {2}instances\[0\]\.vrid: Too small/,
    );
    // a change only a restart of the process can make is refused the same way
    const loopback = parseVrrpDaemonConfig({
      transport: 'loopback',
      instances: [{ ...vi1, interface: 'lo', sourceAddress: '127.0.0.21', unicastPeers: ['127.0.0.22'] }],
    });
    const t = await a.reload(loopback, 'vrrpd.yaml');
    expect(!t.ok && t.error.message).toBe(
      'vrrpd.yaml: invalid configuration:\n  transport: cannot change on a reload (raw -> loopback): restart proxyha-vrrpd',
    );
    // and an interface this host lacks
    const lacking = await a.reload(
      a.config([
        { ...vi1, priority: 150 },
        { ...vi2, interface: 'eth9', sourceAddress: undefined },
      ]),
    );
    expect(!lacking.ok && lacking.error.message).toMatch(/interface eth9 does not exist/);
    expect(a.d.reloadStats).toEqual({ applied: 0, refused: 3, failed: 0 });
    expect(errors()).toHaveLength(3);
    await time.clock.advanceAsync(500);
    expect(a.state()).toBe('master');
    expect(b.state()).toBe('backup');
    expect(a.d.routers.has('VI_2')).toBe(false);
    expect(a.log.lines('info').some((l) => l.startsWith('Reloading:'))).toBe(false);
    // still reloadable afterwards
    expect((await a.reload(a.config([{ ...vi1, priority: 160 }]))).ok).toBe(true);
    expect(a.d.reloadStats).toEqual({ applied: 1, refused: 3, failed: 0 });
  });

  it('a tracker added by a reload moves the priority; removing it gives it back', async () => {
    const status = { code: 0 };
    const { a, b } = await pair(undefined, script(status));
    status.code = 1;
    const chk = { name: 'chk', command: ['chk-proxy'], interval: '50ms', weight: -100 };
    await a.reload(a.config([{ ...vi1, priority: 150, trackScripts: [chk] }]));
    expect(a.log.lines('info')).toContain('Reloading: VI_1 tracker script:chk added');
    await until(
      'b master after the new script fails',
      () => b.state() === 'master' && a.state() === 'backup',
    );
    expect(a.snap()?.effectivePriority).toBe(50);
    await a.reload(a.config([{ ...vi1, priority: 150 }]));
    expect(a.log.lines('info')).toContain('Reloading: VI_1 tracker script:chk removed');
    expect(a.snap()?.effectivePriority).toBe(150);
    await until('a master again', () => a.state() === 'master' && b.state() === 'backup');
  });

  it('a track interface added by a reload whose link is down counts at once', async () => {
    const { a, b, ha } = await pair();
    ha.setLinkUp('eth1', false);
    await time.clock.advanceAsync(10);
    await a.reload(a.config([{ ...vi1, priority: 150, trackInterfaces: [{ name: 'eth1', weight: -100 }] }]));
    expect(a.snap()?.effectivePriority).toBe(50);
    await until('b master', () => b.state() === 'master' && a.state() === 'backup');
    ha.setLinkUp('eth1', true);
    await until('a master again', () => a.state() === 'master');
  });

  it('a sync group formed by a reload holds the other member in Fault with the faulty one, and lets go', async () => {
    const failing = {
      ...vi1,
      priority: 150,
      trackScripts: [{ name: 'x', command: ['x'], interval: '50ms', weight: 0 }],
    };
    const { ha } = lan();
    const a = node(ha, '192.168.77.11', [failing, vi2], {}, script({ code: 1 }));
    await a.d.start();
    await until('VI_1 in fault, VI_2 master', () => a.state() === 'fault' && a.state('VI_2') === 'master');
    const r = await a.reload(
      a.config([failing, vi2], { syncGroups: [{ name: 'G', instances: ['VI_1', 'VI_2'] }] }),
    );
    expect(r.ok && r.value.syncGroups.rebuilt).toEqual(['G']);
    expect(a.state('VI_2')).toBe('fault');
    expect(a.transitions.at(-1)).toMatchObject({
      instance: 'VI_2',
      from: 'master',
      to: 'fault',
      reason: 'syncGroup',
    });
    const dropped = await a.reload(a.config([failing, vi2]));
    expect(dropped.ok && dropped.value.syncGroups.removed).toEqual(['G']);
    await until('VI_2 master again', () => a.state('VI_2') === 'master');
    expect(a.state()).toBe('fault');
  });

  it('reloads run one after another; before start a reload only replaces the configuration', async () => {
    const { ha } = lan();
    const a = node(ha, '192.168.77.11', [{ ...vi1, priority: 150 }]);
    const early = await a.reload(a.config([{ ...vi1, priority: 120 }]));
    expect(early.ok && early.value.changes).toEqual(['VI_1 priority 150 -> 120']);
    await a.d.start();
    await until('a master', () => a.state() === 'master');
    expect(a.snap()?.basePriority).toBe(120);
    const p1 = a.d.reload(a.config([{ ...vi1, priority: 130 }]));
    const p2 = a.d.reload(a.config([{ ...vi1, priority: 140 }]));
    await time.clock.advanceAsync(5);
    const [r1, r2] = await Promise.all([p1, p2]);
    expect(r1.ok && r1.value.changes).toEqual(['VI_1 priority 120 -> 130']);
    expect(r2.ok && r2.value.changes).toEqual(['VI_1 priority 130 -> 140']);
    expect(a.snap()?.basePriority).toBe(140);
  });
});

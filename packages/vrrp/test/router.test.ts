import { MemoryNetwork } from '@proxyha/netio';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AnnounceRequest,
  encodeVrrp,
  MemoryVipManager,
  RawTransport,
  type RouterTransition,
  VrrpMachine,
  VrrpRouter,
} from '../src/index';

// Two or three routers bound to real timers over netio's in-memory network through the
// same RawTransport the daemon uses on Linux: the driver path without root.
const routers: VrrpRouter[] = [];
afterEach(async () => {
  await Promise.all(routers.splice(0).map((r) => r.stop()));
});

function lan() {
  const net = new MemoryNetwork();
  const host = (name: string, last: number) =>
    net.addHost(name, { interfaces: [{ name: 'eth0', ipv4: [`192.168.77.${last}/24`] }] });
  return { net, host };
}

function router(
  stack: ReturnType<ReturnType<typeof lan>['host']>,
  address: string,
  priority: number,
  extra: { intervalMs?: number; announce?: AnnounceRequest[]; log?: string[] } = {},
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
  });
  const log = extra.log ?? [];
  const r = new VrrpRouter({
    machine,
    interface: 'eth0',
    transport: new RawTransport({ interface: 'eth0', family: 4, source: address, stack }),
    vips,
    announce: (a) => extra.announce?.push(a),
    logger: {
      debug: (m) => log.push(m),
      info: (m) => log.push(m),
      warn: (m) => log.push(m),
      error: (m) => log.push(m),
    },
  });
  r.on('transition', (t) => transitions.push(t));
  routers.push(r);
  return { r, vips, transitions, log };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('VrrpRouter over the in-memory network', () => {
  it('enforces Accept_Mode false through the filter: block before adding VIPs, unblock after removing', async () => {
    const { host } = lan();
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
        transport: new RawTransport({
          interface: 'eth0',
          family: 4,
          source: '192.168.77.11',
          stack: host(`a${accept}`, 11),
        }),
        vips: recordingVips,
        acceptFilter: filter,
      });
    const strict = make(false);
    await strict.start();
    await until(() => strict.snapshot().state === 'master' && calls.length >= 2);
    await strict.stop();
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
    await accepting.stop();
    expect(calls.filter((c) => c.startsWith('block') || c.startsWith('unblock'))).toEqual([]);
  });

  it('elects the higher priority, holds the VIPs, announces, and hands over on stop', async () => {
    const { host } = lan();
    const announce: AnnounceRequest[] = [];
    const a = router(host('a', 11), '192.168.77.11', 150, { announce });
    const b = router(host('b', 12), '192.168.77.12', 100);
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
    // log lines are written after the takeover's I/O, one turn of the event loop later
    await until(() => a.log.includes('(VI_1) setting VIPs.'));
    expect(a.log).toContain('(VI_1) Entering MASTER STATE');

    // stop: priority 0, VIPs removed, the backup takes over after Skew_Time (not Master_Down_Interval)
    const t0 = performance.now();
    await a.r.stop();
    expect(a.vips.calls.at(-1)).toBe('remove eth0 192.168.77.74/24');
    await until(() => b.r.snapshot().state === 'master');
    const took = performance.now() - t0;
    expect(b.log).toContain('(VI_1) Backup received priority 0 advertisement');
    expect(took).toBeLessThan(3 * 50); // far below Master_Down_Interval (3 × 50 + skew)
    expect(b.transitions.at(-1)).toMatchObject({ from: 'backup', to: 'master', reason: 'priorityZero' });
  });

  it('fails over after Master_Down_Interval when the master vanishes without a word', async () => {
    const { host } = lan();
    const a = router(host('a', 11), '192.168.77.11', 150);
    const b = router(host('b', 12), '192.168.77.12', 100);
    await Promise.all([a.r.start(), b.r.start()]);
    await until(() => a.r.snapshot().state === 'master' && b.r.snapshot().state === 'backup');
    // a crash: from now on a's machine gets no events, so it sends nothing (no priority 0)
    a.r.setRoute(() => {});
    await until(() => b.r.snapshot().state === 'master', 2000);
    expect(b.transitions.at(-1)).toMatchObject({ to: 'master', reason: 'masterDown' });
  });

  it('counts and drops malformed messages and keeps running', async () => {
    const { host } = lan();
    const b = router(host('b', 12), '192.168.77.12', 100, { intervalMs: 1000 });
    await b.r.start();
    const dropped: string[] = [];
    b.r.on('dropped', (d) => dropped.push(d.code));
    const rogue = await host('x', 13).openIpSocket({ family: 4, protocol: 112, interface: 'eth0', ttl: 255 });
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
    rogue.close();
  });
});

// Deterministic multi-router simulations: elections, failover to the exact formula, priority 0
// handover, partitions healing, preemption, preempt delay, unicast peers, Fault.
import { describe, expect, it } from 'vitest';
import { type MachineConfig, masterDownIntervalMs, skewTimeMs } from '../src/index';
import { SimNetwork } from '../src/sim/index';

const VIP = '192.168.77.74/24';

function router(name: string, host: number, priority: number, over: Partial<MachineConfig> = {}) {
  return {
    name,
    config: {
      name: 'VI_1',
      vrid: 51,
      version: 3 as const,
      priority,
      advertIntervalMs: 1000,
      primaryAddress: `192.168.77.${host}`,
      virtualIps: [VIP],
      ...over,
    },
  };
}

/** Times of a router's adverts up to `until` (needs recordSends). */
function sendTimes(net: SimNetwork, name: string, until = Number.POSITIVE_INFINITY): number[] {
  return net.records.filter((r) => r.kind === 'send' && r.router === name && r.at <= until).map((r) => r.at);
}

describe('election', () => {
  it('three routers starting together elect the highest priority at exactly its Master_Down_Interval', () => {
    const net = new SimNetwork({
      seed: 1,
      link: { delayMs: 1 },
      routers: [router('a', 11, 100), router('b', 12, 89), router('c', 13, 50)],
    });
    net.runUntil(30_000);
    expect(net.masters()).toEqual(['a']);
    expect(net.vipHolders()).toEqual(['a']);
    expect(net.transitions('a').map((t) => [t.at, t.to, t.reason])).toEqual([
      [0, 'backup', 'startup'],
      [3609.375, 'master', 'masterDown'],
    ]);
    expect(net.transitions('b')).toHaveLength(1);
    expect(net.transitions('c')).toHaveLength(1);
  });

  it('equal priorities: both time out together and the higher primary address keeps Master', () => {
    const net = new SimNetwork({
      link: { delayMs: 1 },
      routers: [router('low', 11, 100), router('high', 12, 100)],
    });
    net.runUntil(20_000);
    expect(net.masters()).toEqual(['high']);
    const low = net.transitions('low');
    expect(low.map((t) => [t.at, t.to, t.reason])).toEqual([
      [0, 'backup', 'startup'],
      [3609.375, 'master', 'masterDown'],
      [3610.375, 'backup', 'higherAddress'],
    ]);
  });

  it('the address owner (priority 255) is Master from start-up', () => {
    const net = new SimNetwork({
      link: { delayMs: 1 },
      routers: [router('b', 12, 200), router('own', 11, 255)],
    });
    net.runUntil(0);
    expect(net.masters()).toEqual(['own']);
    net.runUntil(20_000);
    expect(net.masters()).toEqual(['own']);
    expect(net.transitions('b')).toHaveLength(1);
  });

  it('works over IPv6 with v3 and 100 ms adverts', () => {
    const v6 = (name: string, host: number, priority: number) =>
      router(name, host, priority, {
        primaryAddress: `fe80::${host}`,
        virtualIps: ['fe80::74', '2001:db8::74/64'],
        advertIntervalMs: 100,
      });
    const net = new SimNetwork({ link: { delayMs: 0.2 }, routers: [v6('a', 11, 100), v6('b', 12, 150)] });
    net.runUntil(5000);
    expect(net.masters()).toEqual(['b']);
    expect(net.transitions('b')[1]?.at).toBe(masterDownIntervalMs(3, 150, 100));
  });
});

describe('failover time (exact to the formula)', () => {
  const cases = [
    { name: 'v3 1 s, priority 89', version: 3 as const, interval: 1000, expected: 3652.34375 },
    { name: 'v3 100 ms, priority 89', version: 3 as const, interval: 100, expected: 365.234375 },
    { name: 'v2 1 s, priority 89', version: 2 as const, interval: 1000, expected: 3652.34375 },
    { name: 'v2 3 s, priority 89', version: 2 as const, interval: 3000, expected: 9652.34375 },
  ];
  for (const c of cases) {
    it(`${c.name}: the backup takes over ${c.expected} ms after the last advert it received`, () => {
      const delay = 0.5;
      const over = { version: c.version, advertIntervalMs: c.interval };
      const net = new SimNetwork({
        link: { delayMs: delay },
        recordSends: true,
        routers: [router('a', 11, 100, over), router('b', 12, 89, over)],
      });
      const crashAt = 20 * c.interval + c.interval / 3;
      net.at(crashAt, () => net.crash('a'));
      net.runUntil(crashAt + 20 * c.interval);
      const last = sendTimes(net, 'a', crashAt).at(-1) as number;
      const takeover = net.transitions('b').find((t) => t.to === 'master');
      expect(takeover?.reason).toBe('masterDown');
      expect((takeover?.at as number) - (last + delay)).toBe(c.expected);
      expect(c.expected).toBe(masterDownIntervalMs(c.version, 89, c.interval));
      expect(net.vipHolders()).toEqual(['b']);
    });
  }

  it('priority 0 handover: the backup takes over Skew_Time after the Master stops', () => {
    const net = new SimNetwork({
      link: { delayMs: 1 },
      routers: [router('a', 11, 100), router('b', 12, 89)],
    });
    net.at(10_250, () => net.shutdown('a'));
    net.runUntil(20_000);
    const takeover = net.transitions('b').find((t) => t.to === 'master');
    expect(takeover).toMatchObject({ at: 10_251 + 652.34375, reason: 'priorityZero' });
    expect(skewTimeMs(3, 89, 1000)).toBe(652.34375);
    expect(net.transitions('a').at(-1)).toMatchObject({ at: 10_250, to: 'initialize', reason: 'shutdown' });
    expect(net.masters()).toEqual(['b']);
  });

  it('priority 0 handover picks the highest remaining backup (shortest skew)', () => {
    const net = new SimNetwork({
      link: { delayMs: 1 },
      routers: [router('a', 11, 200), router('b', 12, 100), router('c', 13, 150)],
    });
    net.at(10_000, () => net.shutdown('a'));
    net.runUntil(30_000);
    expect(net.masters()).toEqual(['c']);
    expect(net.transitions('c').find((t) => t.to === 'master')?.at).toBe(10_001 + skewTimeMs(3, 150, 1000));
    expect(net.transitions('b').filter((t) => t.to === 'master')).toHaveLength(0);
  });

  it('a Master whose health check fails (weight 0 tracker) hands over after Skew_Time', () => {
    const net = new SimNetwork({
      link: { delayMs: 1 },
      routers: [
        router('a', 11, 100, { trackers: [{ name: 'chk_proxy', kind: 'health' }] }),
        router('b', 12, 89),
      ],
    });
    net.at(10_000, () => net.tracker('a', 'chk_proxy', 'down'));
    net.at(20_000, () => net.tracker('a', 'chk_proxy', 'up'));
    net.runUntil(40_000);
    expect(net.transitions('b').find((t) => t.to === 'master')?.at).toBe(10_001 + 652.34375);
    // a comes back as Backup and preempts b after its own Master_Down_Interval
    expect(
      net
        .transitions('a')
        .slice(-2)
        .map((t) => [t.at, t.to, t.reason]),
    ).toEqual([
      [20_000, 'backup', 'faultCleared'],
      [20_000 + 3609.375, 'master', 'masterDown'],
    ]);
    expect(net.masters()).toEqual(['a']);
  });

  it('a Master whose interface goes down cannot send priority 0: the backup waits Master_Down_Interval', () => {
    const net = new SimNetwork({
      link: { delayMs: 1 },
      recordSends: true,
      routers: [router('a', 11, 100), router('b', 12, 89)],
    });
    net.at(10_100, () => net.interfaceDown('a'));
    net.runUntil(20_000);
    const last = sendTimes(net, 'a', 10_099).at(-1) as number;
    expect(net.transitions('b').find((t) => t.to === 'master')?.at).toBe(last + 1 + 3652.34375);
    expect(net.state('a')).toBe('fault');
  });
});

describe('partitions', () => {
  for (const mode of ['rfc9568', 'rfc5798'] as const) {
    for (const healAt of [20_000, 20_137.5, 20_500, 20_999]) {
      it(`${mode}: no dual Master later than one advert interval + delay after the partition heals at ${healAt}`, () => {
        const delay = 2;
        const jitter = 1;
        const over = { lowerPriorityResponse: mode };
        const net = new SimNetwork({
          seed: healAt,
          link: { delayMs: delay, jitterMs: jitter },
          routers: [router('a', 11, 100, over), router('b', 12, 90, over), router('c', 13, 80, over)],
        });
        net.at(10_000, () => net.partition(['a'], ['b', 'c']));
        net.runUntil(healAt);
        expect(net.masters().sort()).toEqual(['a', 'b']);
        net.heal();
        const bound = healAt + 1000 + delay + jitter;
        net.runUntil(bound);
        expect(net.masters()).toEqual(['a']);
        const stepDown = net.transitions('b').at(-1);
        expect(stepDown).toMatchObject({ from: 'master', to: 'backup', reason: 'higherPriority' });
        expect(stepDown?.at).toBeGreaterThan(healAt);
        net.runUntil(healAt + 60_000);
        expect(net.masters()).toEqual(['a']);
        expect(net.transitions('b').at(-1)?.at).toBe(stepDown?.at);
      });
    }
  }

  it('rfc9568 ends the dual Master sooner on average than rfc5798', () => {
    const spans = { rfc9568: 0, rfc5798: 0 };
    for (const mode of ['rfc9568', 'rfc5798'] as const) {
      for (let i = 0; i < 20; i++) {
        const over = { lowerPriorityResponse: mode };
        // the isolated router is the lower one, so its adverts reach the Master first after healing
        const net = new SimNetwork({
          seed: i,
          link: { delayMs: 1 },
          routers: [router('a', 11, 100, over), router('b', 12, 90, over)],
        });
        const healAt = 20_000 + i * 47.3;
        net.at(10_000, () => net.partition(['a'], ['b']));
        net.at(healAt, () => net.heal());
        net.runUntil(healAt + 5000);
        spans[mode] += (net.transitions('b').at(-1)?.at as number) - healAt;
      }
    }
    expect(spans.rfc9568).toBeLessThan(spans.rfc5798);
  });
});

describe('preemption', () => {
  it('a returning higher-priority router preempts after its Master_Down_Interval', () => {
    const net = new SimNetwork({
      link: { delayMs: 1 },
      routers: [router('a', 11, 100), router('b', 12, 89)],
    });
    net.at(10_000, () => net.crash('a'));
    net.at(30_000, () => net.start('a'));
    net.runUntil(60_000);
    expect(
      net
        .transitions('a')
        .slice(-2)
        .map((t) => [t.at, t.to, t.reason]),
    ).toEqual([
      [30_000, 'backup', 'startup'],
      [30_000 + 3609.375, 'master', 'masterDown'],
    ]);
    expect(net.transitions('b').at(-1)).toMatchObject({
      at: 30_000 + 3609.375 + 1,
      from: 'master',
      to: 'backup',
      reason: 'higherPriority',
    });
    expect(net.masters()).toEqual(['a']);
  });

  it('nopreempt: a returning higher-priority router stays Backup', () => {
    const net = new SimNetwork({
      link: { delayMs: 1 },
      routers: [router('a', 11, 100, { preempt: false }), router('b', 12, 89, { preempt: false })],
    });
    net.at(10_000, () => net.crash('a'));
    net.at(30_000, () => net.start('a'));
    net.runUntil(90_000);
    expect(net.masters()).toEqual(['b']);
    expect(net.transitions('a').at(-1)).toMatchObject({ to: 'backup', reason: 'startup' });
  });

  it('preempt delay: the returning router preempts preemptDelay after the first lower-priority advert', () => {
    const net = new SimNetwork({
      link: { delayMs: 1 },
      recordSends: true,
      routers: [router('a', 11, 100, { preemptDelayMs: 15_000 }), router('b', 12, 89)],
    });
    net.at(10_000, () => net.crash('a'));
    net.at(30_000, () => net.start('a'));
    net.runUntil(60_000);
    const firstHeard = (sendTimes(net, 'b').find((t) => t >= 30_000) as number) + 1;
    const up = net.transitions('a').find((t) => t.at > 30_000 && t.to === 'master');
    expect(up).toMatchObject({ at: firstHeard + 15_000, reason: 'preemptDelay' });
    expect(net.masters()).toEqual(['a']);
  });
});

describe('unicast peers', () => {
  it('routers only hear their configured peers', () => {
    const peers = (self: number) => ({
      unicastPeers: [11, 12].filter((h) => h !== self).map((h) => `192.168.77.${h}`),
    });
    const net = new SimNetwork({
      link: { delayMs: 1 },
      routers: [
        router('a', 11, 100, peers(11)),
        router('b', 12, 89, peers(12)),
        // a rogue router that sends to both but is nobody's peer
        router('rogue', 13, 250, { unicastPeers: ['192.168.77.11', '192.168.77.12'] }),
      ],
    });
    net.runUntil(20_000);
    expect(net.masters().sort()).toEqual(['a', 'rogue']);
    expect(net.state('b')).toBe('backup');
    const discards = net.records.filter((r) => r.kind === 'discard');
    expect(discards.length).toBeGreaterThan(10);
    expect(
      discards.every(
        (d) => d.kind === 'discard' && d.reason === 'VRRP_UNKNOWN_PEER' && d.from === '192.168.77.13',
      ),
    ).toBe(true);
  });
});

describe('determinism', () => {
  it('the same seed gives the same run; another seed another', () => {
    const run = (seed: number) => {
      const net = new SimNetwork({
        seed,
        link: { delayMs: 1, jitterMs: 3, lossRate: 0.3 },
        routers: [router('a', 11, 100), router('b', 12, 90), router('c', 13, 80)],
      });
      net.runUntil(300_000);
      return JSON.stringify(net.transitions());
    };
    expect(run(5)).toBe(run(5));
    expect(run(5)).not.toBe(run(6));
  });
});

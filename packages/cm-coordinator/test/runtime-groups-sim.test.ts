// Runtime groups in the two example layouts of the Central Management best-practice guide, as deterministic
// simulations: Tokyo and New York with one transit node each (runtime groups tokyo and newyork), and Tokyo, New
// York and Paderborn over the network groups toknet1, toknet2, nynet1, nynet2 and paderborn, where 'tokyo' and
// 'newyork' are runtime groups spanning two network groups each and 'paderborn' is a network and runtime group.
// Runtime data reaches every member of its group and no other node; a cut link raises the seed's "Shared data
// not synchronized" alert, which clears when the link returns and the data converges.
import { describe, expect, it } from 'vitest';
import { runtimeGroupIslands } from '../src/machine/runtime';
import { type CmRuntimeSimNodeSpec, CmRuntimeSimulation } from '../src/sim/index';

const DAY = 86_400_000;

/** The guide's larger example with its runtime groups: 45 nodes, the sites' names by runtime group. */
function largerLayout(): { specs: CmRuntimeSimNodeSpec[]; sites: Record<string, string[]> } {
  const specs: CmRuntimeSimNodeSpec[] = [];
  const sites: Record<string, string[]> = { tokyo: [], newyork: [], paderborn: [] };
  const net = (site: string, name: string, leaves: number) => {
    specs.push({ name: `${name}-transit`, groups: [name, 'transit'], runtime: site });
    sites[site]?.push(`${name}-transit`);
    for (let i = 1; i <= leaves; i++) {
      specs.push({ name: `${name}-mwg${i}`, groups: [name], runtime: site });
      sites[site]?.push(`${name}-mwg${i}`);
    }
  };
  net('tokyo', 'toknet1', 9);
  net('tokyo', 'toknet2', 9);
  net('newyork', 'nynet1', 9);
  net('newyork', 'nynet2', 9);
  net('paderborn', 'paderborn', 4);
  return { specs, sites };
}

/** WAN links (60 ms, jitter) between the transit nodes of different sites. */
function wan(sim: CmRuntimeSimulation, sites: Record<string, string[]>): void {
  const transits = Object.entries(sites).flatMap(([site, names]) =>
    names.filter((n) => n.endsWith('-transit')).map((n) => [site, n] as const),
  );
  for (const [sa, a] of transits)
    for (const [sb, b] of transits) if (sa < sb) sim.setLink(a, b, { delayMs: 60, jitterMs: 10 });
}

/** Runtime data (deltas) delivered to nodes outside `members`, and what those nodes hold of `keys`. */
function leaks(sim: CmRuntimeSimulation, members: readonly string[], keys: readonly string[]) {
  const inGroup = new Set(members);
  return {
    deltas: sim.deliveries.filter((d) => d.message.type === 'runtime-delta' && !inGroup.has(d.to)),
    acks: sim.deliveries.filter((d) => d.message.type === 'runtime-ack' && !inGroup.has(d.to)),
    holders: sim.names.filter((n) => !inGroup.has(n) && keys.some((k) => sim.holds(n, k))),
  };
}

describe('runtime groups: the larger layout (Tokyo, New York, Paderborn; 45 nodes)', () => {
  it('a counter incremented concurrently on three Tokyo nodes sums exactly on every Tokyo node, and nowhere else', () => {
    const { specs, sites } = largerLayout();
    const tokyo = sites.tokyo as string[];
    const sim = new CmRuntimeSimulation({ nodes: specs, seed: 7 });
    wan(sim, sites);
    sim.runFor(3000);
    // each runtime group is one island: its members are linked through members (the transit nodes)
    expect(runtimeGroupIslands(specs).map((g) => [g.group, g.islands.length])).toEqual([
      ['newyork', 1],
      ['paderborn', 1],
      ['tokyo', 1],
    ]);
    // three Tokyo nodes in both network groups count at the same moments
    const counters = ['toknet1-mwg1', 'toknet1-transit', 'toknet2-mwg5'];
    let expected = 0;
    for (let round = 0; round < 5; round++) {
      for (const [i, n] of counters.entries()) {
        sim.increment(n, 'quota:alice', i + 1, DAY);
        expected += i + 1;
      }
      sim.runFor(37);
    }
    sim.set('toknet2-mwg9', 'coach:alice', { accepted: true }, 3_600_000);
    // New York counts on its own key, and on the same key name: never mixed with Tokyo's
    sim.increment('nynet2-mwg2', 'quota:alice', 100, DAY);
    sim.runFor(5000);
    for (const n of tokyo) {
      expect(sim.counter(n, 'quota:alice'), n).toBe(expected);
      expect(sim.get(n, 'coach:alice'), n).toEqual({ accepted: true });
    }
    for (const n of sites.newyork as string[]) {
      expect(sim.counter(n, 'quota:alice'), n).toBe(100);
      expect(sim.holds(n, 'coach:alice'), n).toBe(false);
    }
    for (const n of sites.paderborn as string[]) expect(sim.holds(n, 'quota:alice'), n).toBe(false);
    // nothing of Tokyo's was ever delivered outside Tokyo: the transit nodes of New York and Paderborn, which
    // talk to Tokyo's transit nodes in the network group 'transit', got their hellos only
    const tokyoLeaks = leaks(sim, tokyo, ['coach:alice']);
    expect(tokyoLeaks.deltas.filter((d) => tokyo.includes(d.from))).toEqual([]);
    expect(tokyoLeaks.holders).toEqual([]);
    const fromTokyo = sim.deliveries.filter((d) => tokyo.includes(d.from) && !tokyo.includes(d.to));
    expect(new Set(fromTokyo.map((d) => d.message.type))).toEqual(new Set(['runtime-hello']));
    expect(new Set(fromTokyo.map((d) => d.to))).toEqual(
      new Set(['nynet1-transit', 'nynet2-transit', 'paderborn-transit']),
    );
    // Tokyo's data crossed from toknet1 to toknet2 between the two transit nodes (both Tokyo members)
    expect(
      sim.deliveries.some(
        (d) =>
          d.message.type === 'runtime-delta' && d.from === 'toknet1-transit' && d.to === 'toknet2-transit',
      ),
    ).toBe(true);
    // status: the members of the group, seen from a leaf that talks to none of toknet2 directly
    const s = sim.status('toknet1-mwg3');
    expect(s.group).toBe('tokyo');
    expect(s.members.map((m) => m.name).sort()).toEqual([...tokyo].sort());
    expect(s.peers.map((p) => p.name).sort()).toEqual(
      tokyo.filter((n) => n.startsWith('toknet1-') && n !== 'toknet1-mwg3').sort(),
    );
    expect(s.counters).toBe(1);
    expect(s.values).toBe(1);
    expect(s.alert).toBe(false);
    expect(sim.alerts).toEqual([]);
  });

  it('a cut link raises "Shared data not synchronized", which clears after the link returns and the data converges', () => {
    const { specs, sites } = largerLayout();
    const tokyo = sites.tokyo as string[];
    const toknet1 = tokyo.filter((n) => n.startsWith('toknet1-'));
    const toknet2 = tokyo.filter((n) => n.startsWith('toknet2-'));
    const sim = new CmRuntimeSimulation({ nodes: specs, seed: 11 });
    wan(sim, sites);
    sim.runFor(3000);
    sim.increment('toknet1-mwg2', 'quota:bob', 1, DAY);
    sim.runFor(2000);
    for (const n of tokyo) expect(sim.counter(n, 'quota:bob')).toBe(1);
    // the only Tokyo link between toknet1 and toknet2 goes down
    sim.cut('toknet1-transit', 'toknet2-transit');
    const cutAt = sim.now;
    sim.increment('toknet1-mwg2', 'quota:bob', 10, DAY);
    sim.increment('toknet2-mwg7', 'quota:bob', 100, DAY);
    sim.runFor(10_000);
    // each side has its own counts only, and its transit node raised the alert naming the other
    for (const n of toknet1) expect(sim.counter(n, 'quota:bob'), n).toBe(11);
    for (const n of toknet2) expect(sim.counter(n, 'quota:bob'), n).toBe(101);
    expect(sim.alerts.map((a) => [a.node, a.peer, a.raised])).toEqual([
      ['toknet1-transit', 'toknet2-transit', true],
      ['toknet2-transit', 'toknet1-transit', true],
    ]);
    expect(sim.alerts[0]?.at).toBeGreaterThanOrEqual(cutAt);
    expect(sim.logs.filter((l) => l.level === 'warn').map((l) => [l.node, l.message])).toEqual([
      [
        'toknet1-transit',
        expect.stringMatching(
          /^\[Coordinator\] \[SharedDataNotSynchronized\] Shared data not synchronized: cannot send the shared data of runtime group tokyo to node .* \(toknet2-transit\): not connected; retrying in 1 s$/,
        ),
      ],
      ['toknet2-transit', expect.stringContaining('(toknet1-transit): not connected')],
    ]);
    const alerted = sim.status('toknet1-transit');
    expect(alerted.alert).toBe(true);
    const peer = alerted.peers.find((p) => p.name === 'toknet2-transit');
    expect(peer).toMatchObject({ connected: false, pending: true, alert: { reason: 'not connected' } });
    expect(peer?.alert?.failures).toBeGreaterThan(1); // retried with backoff meanwhile
    // the link returns: the data converges and both alerts clear, after they were raised
    sim.restore('toknet1-transit', 'toknet2-transit');
    sim.runFor(5000);
    for (const n of tokyo) expect(sim.counter(n, 'quota:bob'), n).toBe(111);
    expect(sim.alerts.map((a) => [a.node, a.peer, a.raised])).toEqual([
      ['toknet1-transit', 'toknet2-transit', true],
      ['toknet2-transit', 'toknet1-transit', true],
      ['toknet1-transit', 'toknet2-transit', false],
      ['toknet2-transit', 'toknet1-transit', false],
    ]);
    expect(sim.logs.filter((l) => l.level === 'info').map((l) => l.message)).toEqual([
      expect.stringMatching(
        /^\[Coordinator\] \[SharedDataSynchronized\] Shared data of runtime group tokyo with node .* \(toknet2-transit\): synchronized again after \d+ failed attempt\(s\)/,
      ),
      expect.stringContaining('(toknet1-transit): synchronized again'),
    ]);
    for (const n of tokyo) expect(sim.status(n).alert, n).toBe(false);
    expect(leaks(sim, tokyo, ['quota:bob']).holders).toEqual([]);
  });

  it('lossy WAN and LAN links, a crashed and restarted leaf: sums stay exact (retries, incarnations)', () => {
    const { specs, sites } = largerLayout();
    const tokyo = sites.tokyo as string[];
    const sim = new CmRuntimeSimulation({ nodes: specs, seed: 5, link: { lossRate: 0.2, jitterMs: 20 } });
    wan(sim, sites);
    sim.runFor(3000);
    let expected = 0;
    for (let i = 0; i < 30; i++) {
      const n = tokyo[(i * 7) % tokyo.length] as string;
      sim.increment(n, 'q', 1 + (i % 3), DAY);
      expected += 1 + (i % 3);
      sim.runFor(50);
      if (i === 10) sim.crash('toknet2-mwg4'); // its own counts so far live on in its peers
      if (i === 20) sim.restart('toknet2-mwg4');
    }
    sim.increment('toknet2-mwg4', 'q', 1000, DAY);
    expected += 1000;
    sim.runFor(120_000);
    for (const n of tokyo) expect(sim.counter(n, 'q'), n).toBe(expected);
    expect(sim.stats.lost).toBeGreaterThan(0);
    // lost deltas and acks raised alerts; each clears with the next delivery that gets through (retries back
    // off up to a minute, and each try still loses 36 % of the round trips)
    expect(sim.alerts.some((a) => a.raised)).toBe(true);
    for (let i = 0; i < 20 && tokyo.some((n) => sim.status(n).alert); i++) sim.runFor(60_000);
    for (const n of tokyo) expect(sim.status(n).alert, n).toBe(false);
    const raised = sim.alerts.filter((a) => a.raised).length;
    expect(sim.alerts.filter((a) => !a.raised).length).toBe(raised);
    expect(leaks(sim, tokyo, ['q']).holders).toEqual([]);
  });
});

describe('runtime groups: two sites, one transit node each', () => {
  it('Tokyo and New York keep their runtime data apart; the transit link carries hellos only', () => {
    const sim = new CmRuntimeSimulation({
      nodes: [
        { name: 'tokyo-transit', groups: ['tokyo', 'transit'], runtime: 'tokyo' },
        { name: 'tokyo-2', groups: ['tokyo'], runtime: 'tokyo' },
        { name: 'ny-transit', groups: ['newyork', 'transit'], runtime: 'newyork' },
        { name: 'ny-2', groups: ['newyork'], runtime: 'newyork' },
      ],
    });
    sim.setLink('tokyo-transit', 'ny-transit', { delayMs: 60 });
    sim.runFor(2000);
    sim.increment('tokyo-2', 'quota', 3, DAY);
    sim.increment('tokyo-transit', 'quota', 4, DAY);
    sim.set('ny-2', 'override:carol', 'granted', 600_000);
    sim.runFor(3000);
    expect(sim.counter('tokyo-2', 'quota')).toBe(7);
    expect(sim.counter('tokyo-transit', 'quota')).toBe(7);
    expect(sim.get('ny-transit', 'override:carol')).toBe('granted');
    expect(sim.holds('ny-transit', 'quota')).toBe(false);
    expect(sim.holds('ny-2', 'quota')).toBe(false);
    expect(sim.holds('tokyo-transit', 'override:carol')).toBe(false);
    const wanTypes = sim.deliveries
      .filter((d) => [d.from, d.to].sort().join() === 'ny-transit,tokyo-transit')
      .map((d) => d.message.type);
    expect(wanTypes).toEqual(['runtime-hello', 'runtime-hello']);
  });

  it('a runtime group split by a node of another group shares nothing across it (routing avoids non-members)', () => {
    const specs: CmRuntimeSimNodeSpec[] = [
      { name: 'a', groups: ['net1'], runtime: 'x' },
      { name: 't', groups: ['net1', 'net2'], runtime: 'y' },
      { name: 'b', groups: ['net2'], runtime: 'x' },
    ];
    expect(runtimeGroupIslands(specs)).toEqual([
      { group: 'x', islands: [['a'], ['b']] },
      { group: 'y', islands: [['t']] },
    ]);
    const sim = new CmRuntimeSimulation({ nodes: specs });
    sim.runFor(2000);
    sim.set('a', 'k', 1, 600_000);
    sim.increment('b', 'q', 1, DAY);
    sim.runFor(5000);
    expect(sim.holds('t', 'k')).toBe(false);
    expect(sim.holds('t', 'q')).toBe(false);
    expect(sim.holds('b', 'k')).toBe(false);
    expect(sim.holds('a', 'q')).toBe(false);
    expect(sim.deliveries.filter((d) => d.to === 't').map((d) => d.message.type)).toEqual([
      'runtime-hello',
      'runtime-hello',
    ]);
    expect(sim.alerts).toEqual([]);
  });
});

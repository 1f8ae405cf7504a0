// The two example layouts of the Central Management best-practice guide as deterministic simulations:
// Tokyo and New York with one transit node each (2 + 2 nodes), and Tokyo, New York and Paderborn with the
// network groups toknet1, toknet2, nynet1, nynet2 and paderborn, at most 10 nodes behind one transit node.
// A save on a Tokyo leaf reaches every node; a cut transit node makes it wait, then it arrives; a second
// transit node in the same groups carries it meanwhile; an invalid layout is refused naming the pairs.
import { describe, expect, it } from 'vitest';
import { type CmSimNodeSpec, CmSimulation } from '../src/sim/index';

/** The guide's first example: one transit node per site. */
const TWO_SITES: CmSimNodeSpec[] = [
  { name: 'tokyo-transit', groups: ['tokyo', 'transit'] },
  { name: 'tokyo-2', groups: ['tokyo'] },
  { name: 'ny-transit', groups: ['newyork', 'transit'] },
  { name: 'ny-2', groups: ['newyork'] },
];
const TOKYO = ['tokyo-transit', 'tokyo-2'];
const NY = ['ny-transit', 'ny-2'];

/**
 * The guide's larger example: Tokyo and New York each split into two network groups of 10 (a transit node and
 * 9 nodes), Paderborn one group of 5 (a transit node and 4 nodes); every transit node also in `transit`.
 * 45 nodes.
 */
function largerLayout(): { specs: CmSimNodeSpec[]; sites: Record<string, string[]> } {
  const specs: CmSimNodeSpec[] = [];
  const sites: Record<string, string[]> = { tokyo: [], newyork: [], paderborn: [] };
  const group = (site: string, net: string, leaves: number) => {
    specs.push({ name: `${net}-transit`, groups: [net, 'transit'] });
    sites[site]?.push(`${net}-transit`);
    for (let i = 1; i <= leaves; i++) {
      specs.push({ name: `${net}-mwg${i}`, groups: [net] });
      sites[site]?.push(`${net}-mwg${i}`);
    }
  };
  group('tokyo', 'toknet1', 9);
  group('tokyo', 'toknet2', 9);
  group('newyork', 'nynet1', 9);
  group('newyork', 'nynet2', 9);
  group('paderborn', 'paderborn', 4);
  return { specs, sites };
}

/** WAN links (60 ms) between the transit nodes of different sites; LAN links 5 ms. */
function wan(sim: CmSimulation, sites: Record<string, string[]>): void {
  const transits = Object.entries(sites).flatMap(([site, names]) =>
    names.filter((n) => n.endsWith('-transit')).map((n) => [site, n] as const),
  );
  for (const [sa, a] of transits)
    for (const [sb, b] of transits) if (sa < sb) sim.setLink(a, b, { delayMs: 60, jitterMs: 10 });
}

/** When each node first held the version (virtual ms), from the trace of durable writes. */
function arrivals(sim: CmSimulation, id: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of sim.trace)
    if (e.action?.type === 'persist' && e.action.versions.some((v) => v.id === id) && !out.has(e.node))
      out.set(e.node, e.at);
  return out;
}

/** How often each node wrote the version (content-addressed: never twice). */
function writes(sim: CmSimulation, id: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of sim.trace)
    if (e.action?.type === 'persist' && e.action.versions.some((v) => v.id === id))
      out.set(e.node, (out.get(e.node) ?? 0) + 1);
  return out;
}

const pushesOf = (sim: CmSimulation, from: string[], to: string[], id: string) =>
  sim
    .messagesBetween(from, to, 'push')
    .filter((m) => m.type === 'push' && m.versions.some((v) => v.id === id));

describe('network groups: two sites, one transit node each', () => {
  it('only nodes of a shared group connect; a save on a Tokyo leaf reaches New York through both transit nodes', () => {
    const sim = new CmSimulation({ nodes: TWO_SITES, seed: 3 });
    wan(sim, { tokyo: TOKYO, newyork: NY });
    sim.runFor(3000);
    expect(sim.connected('tokyo-2', 'tokyo-transit')).toBe(true);
    expect(sim.connected('tokyo-transit', 'ny-transit')).toBe(true);
    expect(sim.connected('tokyo-2', 'ny-transit')).toBe(false);
    expect(sim.connected('tokyo-2', 'ny-2')).toBe(false);
    // every node learned the whole membership, and the path of its messages
    expect(
      sim
        .machine('ny-2')
        .members()
        .map((m) => m.name),
    ).toHaveLength(4);
    expect(sim.path('tokyo-2', 'ny-2')).toEqual(['tokyo-2', 'tokyo-transit', 'ny-transit', 'ny-2']);
    expect(sim.path('ny-2', 'tokyo-2')).toEqual(['ny-2', 'ny-transit', 'tokyo-transit', 'tokyo-2']);

    const v = sim.save('tokyo-2');
    sim.runFor(1000); // no anti-entropy round yet (every 5 s): the relay alone
    expect(sim.converged()).toBe(true);
    const at = arrivals(sim, v.id);
    // in order along the path
    const order = ['tokyo-2', 'tokyo-transit', 'ny-transit', 'ny-2'].map((n) => at.get(n) as number);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(new Set(order).size).toBe(4);
    // the version crossed the WAN whole exactly once, fetched after an offer; applied once everywhere
    expect(pushesOf(sim, TOKYO, NY, v.id)).toHaveLength(1);
    expect(sim.messagesBetween(['tokyo-transit'], ['ny-transit'], 'offer')).toHaveLength(1);
    for (const n of sim.names) expect(writes(sim, v.id).get(n)).toBe(1);
  });

  it('a cut transit node makes the save wait; it arrives when the transit node returns', () => {
    const sim = new CmSimulation({ nodes: TWO_SITES, seed: 4 });
    sim.runFor(3000);
    sim.partition([['tokyo-transit']]);
    sim.runFor(100);
    const v = sim.save('tokyo-2');
    sim.runFor(30_000); // six anti-entropy rounds: nothing gets past the cut
    expect(sim.versionIds('tokyo-2')).toContain(v.id);
    for (const n of [...NY, 'tokyo-transit']) expect(sim.versionIds(n)).not.toContain(v.id);
    expect(sim.path('tokyo-2', 'ny-2')).toBeUndefined();
    const healedAt = sim.now;
    sim.heal();
    expect(sim.runUntilConverged(20_000)).toBe(true);
    const at = arrivals(sim, v.id);
    expect(at.get('tokyo-transit')).toBeGreaterThan(healedAt);
    expect(at.get('ny-transit')).toBeGreaterThan(at.get('tokyo-transit') as number);
    expect(at.get('ny-2')).toBeGreaterThan(at.get('ny-transit') as number);
    expect(sim.path('tokyo-2', 'ny-2')).toEqual(['tokyo-2', 'tokyo-transit', 'ny-transit', 'ny-2']);
  });

  it('with a second transit node in the same groups, the save goes through it while the first is cut', () => {
    // the guide's layout with a second Tokyo transit node (tokyo, transit)
    const nodes = [...TWO_SITES, { name: 'tokyo-transit2', groups: ['tokyo', 'transit'] }];
    const sim = new CmSimulation({ nodes, seed: 5 });
    sim.runFor(3000);
    sim.partition([['tokyo-transit']]);
    sim.runFor(100);
    expect(sim.path('tokyo-2', 'ny-2')).toEqual(['tokyo-2', 'tokyo-transit2', 'ny-transit', 'ny-2']);
    const v = sim.save('tokyo-2');
    sim.runFor(1000);
    expect(sim.converged(['tokyo-2', 'tokyo-transit2', 'ny-transit', 'ny-2'])).toBe(true);
    expect(sim.versionIds('tokyo-transit')).not.toContain(v.id);
    expect(pushesOf(sim, ['tokyo-transit2'], NY, v.id)).toHaveLength(1);
    expect(pushesOf(sim, ['tokyo-transit'], NY, v.id)).toHaveLength(0);
    sim.heal();
    expect(sim.runUntilConverged(20_000)).toBe(true);
  });

  it('an invalid layout is refused with the unreachable pairs named', () => {
    const wrong = [...TWO_SITES, { name: 'ny-3', groups: ['new-york'] }];
    let error: unknown;
    try {
      new CmSimulation({ nodes: wrong });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: 'CM_UNREACHABLE_NODES',
      details: {
        pairs: [
          ['ny-2', 'ny-3'],
          ['ny-3', 'ny-transit'],
          ['ny-3', 'tokyo-2'],
          ['ny-3', 'tokyo-transit'],
        ],
      },
    });
    expect((error as Error).message).toContain(
      "Configuration rejected by binary 'COORDINATOR' with status 'checking new settings failed - Invalid node path matrix / unreachable nodes': unreachable ny-2 <-> ny-3, ny-3 <-> ny-transit, ny-3 <-> tokyo-2, ny-3 <-> tokyo-transit",
    );
    // without the transit group the two sites are islands: every cross pair is named
    const islands = TWO_SITES.map((n) => ({ ...n, groups: n.groups?.filter((g) => g !== 'transit') }));
    expect(() => new CmSimulation({ nodes: islands })).toThrow(
      /unreachable ny-2 <-> tokyo-2, ny-2 <-> tokyo-transit, ny-transit <-> tokyo-2, ny-transit <-> tokyo-transit$/,
    );
  });
});

describe('network groups: Tokyo, New York and Paderborn (toknet1, toknet2, nynet1, nynet2, paderborn)', () => {
  const { specs, sites } = largerLayout();
  const all = Object.values(sites).flat();
  const tokyo = sites.tokyo as string[];
  const ny = sites.newyork as string[];
  const pb = sites.paderborn as string[];

  it('a save on a Tokyo leaf reaches all 45 nodes, each version crossing to another site only via its transit nodes', () => {
    expect(all).toHaveLength(45);
    const sim = new CmSimulation({ nodes: specs, seed: 11 });
    wan(sim, sites);
    sim.runFor(5000);
    expect(sim.connected('toknet1-mwg1', 'toknet2-mwg1')).toBe(false);
    expect(sim.path('toknet1-mwg1', 'paderborn-mwg4')).toEqual([
      'toknet1-mwg1',
      'toknet1-transit',
      'paderborn-transit',
      'paderborn-mwg4',
    ]);
    expect(sim.path('toknet1-mwg1', 'toknet2-mwg3')).toEqual([
      'toknet1-mwg1',
      'toknet1-transit',
      'toknet2-transit',
      'toknet2-mwg3',
    ]);
    const abroad = [...ny, ...pb];
    const before = sim.bytesBetween(tokyo, abroad) + sim.bytesBetween(abroad, tokyo);
    // a policy of 20 kB
    const policy = `<policy>${'<rule block="example.com"/>'.repeat(800)}</policy>`;
    const v = sim.save('toknet1-mwg1', { documents: [{ name: 'policy.xml', content: policy }] });
    sim.runFor(2000);
    expect(sim.converged()).toBe(true);
    const w = writes(sim, v.id);
    for (const n of all) expect(w.get(n)).toBe(1); // every node, once
    // whole versions into another site only to its transit nodes, at most once each
    const into = (site: string[]) =>
      pushesOf(
        sim,
        all.filter((n) => !site.includes(n)),
        site,
        v.id,
      );
    expect(into(ny)).toHaveLength(2);
    expect(into(pb)).toHaveLength(1);
    // WAN bytes of this save (both ways, offers, requests, acks included): about three copies (one per
    // transit node abroad), where a full mesh pushes one to each of the 25 nodes abroad
    const wanBytes = sim.bytesBetween(tokyo, abroad) + sim.bytesBetween(abroad, tokyo) - before;
    const size = JSON.stringify(v).length;
    expect(wanBytes).toBeLessThan(4 * size);
    expect(wanBytes).toBeGreaterThanOrEqual(3 * size);
  });

  it('a cut transit node holds the save inside its network group until it returns', () => {
    const sim = new CmSimulation({ nodes: specs, seed: 12 });
    wan(sim, sites);
    sim.runFor(5000);
    sim.crash('toknet1-transit');
    sim.runFor(100);
    const v = sim.save('toknet1-mwg1');
    sim.runFor(20_000);
    const toknet1 = all.filter((n) => n.startsWith('toknet1-') && n !== 'toknet1-transit');
    for (const n of toknet1) expect(sim.versionIds(n)).toContain(v.id);
    for (const n of all.filter((x) => !x.startsWith('toknet1-')))
      expect(sim.versionIds(n)).not.toContain(v.id);
    const restartedAt = sim.now;
    sim.restart('toknet1-transit');
    expect(sim.runUntilConverged(30_000)).toBe(true);
    const at = arrivals(sim, v.id);
    for (const n of all.filter((x) => !x.startsWith('toknet1-')))
      expect(at.get(n)).toBeGreaterThan(restartedAt);
    for (const n of all) expect(writes(sim, v.id).get(n)).toBe(1);
  });

  it('a node of a misspelt network group is refused, naming its 44 unreachable pairs', () => {
    const wrong = specs.map((s) => (s.name === 'paderborn-mwg4' ? { ...s, groups: ['paderbron'] } : s));
    let error: { code?: string; details?: { pairs?: string[][] }; message?: string } | undefined;
    try {
      new CmSimulation({ nodes: wrong });
    } catch (e) {
      error = e as typeof error;
    }
    expect(error?.code).toBe('CM_UNREACHABLE_NODES');
    expect(error?.details?.pairs).toHaveLength(44);
    expect(error?.details?.pairs?.every((p) => p.includes('paderborn-mwg4'))).toBe(true);
    expect(error?.message).toContain('Invalid node path matrix / unreachable nodes');
  });
});

describe('network groups: Current Storage Timestamps of the nodes behind transit nodes (storage facts)', () => {
  /** What `from` knows of every other node: name -> [storage timestamp, behind]. */
  const view = (sim: CmSimulation, from: string) =>
    new Map(
      sim
        .machine(from)
        .storageFacts(sim.wall(from))
        .map((f) => [sim.names.find((n) => sim.identity(n).uuid === f.uuid) as string, f]),
    );
  /** Whether every node sees every other node's storage timestamp as `ts`, none of them behind. */
  const everyoneSees = (sim: CmSimulation, ts: string) =>
    sim.names.every((from) => {
      const v = view(sim, from);
      return sim.names.every(
        (to) => to === from || (v.get(to)?.storageTimestamp === ts && !v.get(to)?.behind),
      );
    });

  it('two sites: after a save on a Tokyo leaf every node sees every node at the save, in order of the hops', () => {
    const sim = new CmSimulation({ nodes: TWO_SITES, seed: 21 });
    wan(sim, { tokyo: TOKYO, newyork: NY });
    sim.runFor(3000);
    const v = sim.save('tokyo-2');
    const ts = sim.storageTimestamp('tokyo-2') as string;
    sim.runFor(1000);
    expect(sim.converged()).toBe(true);
    // right after the save: ny-2's fact still names the old (no) policy, and nothing counts as behind
    expect(view(sim, 'tokyo-2').get('ny-2')?.storageTimestamp).not.toBe(ts);
    expect([...view(sim, 'tokyo-2').values()].some((f) => f.behind)).toBe(false);
    // one sync interval (5 s) per hop at most: three hops
    sim.runFor(16_000);
    expect(everyoneSees(sim, ts)).toBe(true);
    expect(view(sim, 'ny-2').get('tokyo-2')).toMatchObject({
      version: v.id,
      via: sim.identity('ny-transit').uuid,
    });
    expect(view(sim, 'tokyo-2').get('ny-2')?.via).toBe(sim.identity('tokyo-transit').uuid);
  });

  it('two sites: with the Tokyo transit node cut, tokyo-2 sees New York at the older save and behind; healed, in sync', () => {
    const sim = new CmSimulation({ nodes: TWO_SITES, seed: 22 });
    wan(sim, { tokyo: TOKYO, newyork: NY });
    sim.runFor(3000);
    sim.save('tokyo-2', { documents: [{ name: 'policy.xml', content: '<policy rev="1"/>' }] });
    sim.runFor(20_000);
    const ts1 = sim.storageTimestamp('tokyo-2') as string;
    expect(everyoneSees(sim, ts1)).toBe(true);
    sim.partition([['tokyo-transit']]);
    sim.runFor(100);
    sim.save('tokyo-2', { documents: [{ name: 'policy.xml', content: '<policy rev="2"/>' }] });
    const ts2 = sim.storageTimestamp('tokyo-2') as string;
    sim.runFor(30_000);
    const v = view(sim, 'tokyo-2');
    for (const far of ['tokyo-transit', 'ny-transit', 'ny-2']) {
      expect(v.get(far)?.storageTimestamp, far).toBe(ts1);
      expect(v.get(far)?.behind, far).toBe(true);
    }
    // New York cannot know of the new save: it sees tokyo-2 at the old one
    expect(view(sim, 'ny-2').get('tokyo-2')?.storageTimestamp).toBe(ts1);
    sim.heal();
    expect(sim.runUntilConverged(20_000)).toBe(true);
    sim.runFor(16_000);
    expect(everyoneSees(sim, ts2)).toBe(true);
  });

  it('45 nodes: after a save on a Tokyo leaf every node sees all 44 others at the save', () => {
    const { specs, sites } = largerLayout();
    const sim = new CmSimulation({ nodes: specs, seed: 23 });
    wan(sim, sites);
    sim.runFor(5000);
    const tokyo = sites.tokyo as string[];
    const abroad = [...(sites.newyork as string[]), ...(sites.paderborn as string[])];
    sim.save('toknet1-mwg1');
    const ts = sim.storageTimestamp('toknet1-mwg1') as string;
    const facts = (a: string[], b: string[]) =>
      sim
        .messagesBetween(a, b, 'summary')
        .reduce((n, s) => n + (s.type === 'summary' ? (s.facts?.length ?? 0) : 0), 0);
    const out0 = facts(tokyo, abroad);
    const in0 = facts(abroad, tokyo);
    // the path from a leaf to a leaf of another network has 3 links: 3 sync intervals and some
    sim.runFor(20_000);
    expect(everyoneSees(sim, ts)).toBe(true);
    // bounded WAN cost: each node's new fact crosses into each other site once per transit node there (split
    // horizon: a transit node does not pass a fact from another transit node on to the transit group): the 20
    // Tokyo facts to the 3 transit nodes abroad, the 25 from abroad to the 2 Tokyo transit nodes
    expect(facts(tokyo, abroad) - out0).toBe(20 * 3);
    expect(facts(abroad, tokyo) - in0).toBe(25 * 2);
  });
});

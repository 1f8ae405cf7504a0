// Update groups in a deterministic simulation: the guide's larger layout (Tokyo over toknet1/toknet2, New York
// over nynet1/nynet2, Paderborn; the transit nodes of every site share the network group `transit`), and a
// fast-check property over random layouts: no node outside the downloader's update group ever receives
// anything of the update, and every accepting member it can reach through accepting members ends at it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { UpdateListVersion } from '../src/index';
import { paderbornLayout, type SimUpdateNode, UpdateSim } from './update-groups-harness';

const V2: UpdateListVersion = { list: 'urlfilter', version: '2026.12.1', sha256: 'a'.repeat(64), size: 1000 };
const V1: UpdateListVersion = { list: 'urlfilter', version: '2026.11.30', sha256: 'b'.repeat(64), size: 900 };

const tokyo = (name: string) => name.startsWith('tok');

describe('update groups: the Paderborn layout (tokyo, newyork, paderborn over five network groups)', () => {
  function layout(download: string[], extra: (s: SimUpdateNode) => SimUpdateNode = (s) => s) {
    return paderbornLayout().map((s) => extra(download.includes(s.name) ? { ...s, download: true } : s));
  }

  it('one download in Tokyo reaches every Tokyo node and no New York or Paderborn node', () => {
    const sim = new UpdateSim(layout(['toknet1-mwg1']), { seed: 7 });
    sim.published.set('urlfilter', V2);
    sim.start();
    sim.runUntil(20_000);
    // downloaded from the internet exactly once, by the checking node
    expect(sim.downloads.map((d) => d.node)).toEqual(['toknet1-mwg1']);
    const names = [...sim.nodes.keys()];
    for (const name of names)
      if (tokyo(name)) expect(sim.holds(name), name).toMatchObject({ version: V2.version });
      else expect(sim.holds(name), name).toBeUndefined();
    // nothing of it ever reached a node outside Tokyo, not even the other sites' transit nodes that share the
    // network group `transit` with the Tokyo transit nodes
    const leaked = sim.deliveries.filter((d) => !tokyo(d.to) && UpdateSim.mentions(d.message, V2.sha256));
    expect(leaked).toEqual([]);
    expect(sim.deliveries.some((d) => d.from === 'toknet1-transit' && d.to === 'nynet1-transit')).toBe(true);
    // each Tokyo node installed it once; toknet2 got it through the two transit nodes (store and forward)
    expect(sim.installs.filter((i) => i.key.sha256 === V2.sha256)).toHaveLength(20);
    const from = (name: string) => sim.installs.find((i) => i.node === name)?.from;
    expect(from('toknet1-mwg1')).toBe('internet');
    expect(from('toknet1-transit')).toBe('toknet1-mwg1');
    expect(from('toknet2-transit')).toBe('toknet1-transit');
    expect(from('toknet2-mwg9')).toBe('toknet2-transit');
    // in order: the download, then the installs along the path
    const at = (name: string) => sim.installs.find((i) => i.node === name)?.at ?? Number.NaN;
    expect(at('toknet1-mwg1')).toBeLessThan(at('toknet1-transit'));
    expect(at('toknet1-transit')).toBeLessThan(at('toknet2-transit'));
    expect(at('toknet2-transit')).toBeLessThan(at('toknet2-mwg3'));
    // the check asked every Tokyo member, also those behind the transit nodes: their reports came back
    const reports = sim.deliveries.filter(
      (d) => d.to === 'toknet1-mwg1' && d.message.type === 'update-report',
    );
    expect(new Set(reports.map((d) => (d.message as { name: string }).name)).size).toBe(19);
  });

  it('a node offline during the delivery gets it from its group when it returns; still one download', () => {
    const sim = new UpdateSim(layout(['toknet1-mwg1']), { seed: 3 });
    sim.published.set('urlfilter', V2);
    sim.start();
    sim.runUntil(1000);
    sim.setOnline('toknet2-mwg4', false);
    sim.runUntil(30_000);
    expect(sim.holds('toknet2-mwg4')).toBeUndefined();
    expect(sim.holds('toknet2-mwg5')).toMatchObject({ version: V2.version });
    sim.setOnline('toknet2-mwg4', true);
    sim.runUntil(31_000); // well before anyone's next interval (15 min)
    expect(sim.holds('toknet2-mwg4')).toMatchObject({ version: V2.version });
    expect(sim.installs.find((i) => i.node === 'toknet2-mwg4')?.from).toMatch(/^toknet2-/);
    expect(sim.downloads).toHaveLength(1);
  });

  it('two nodes checking at once do not both download: the lower uuid does, the other fetches it', () => {
    const sim = new UpdateSim(layout(['toknet1-mwg1', 'toknet2-mwg5']), { seed: 11 });
    sim.published.set('urlfilter', V2);
    sim.start();
    sim.runUntil(20_000);
    expect(sim.downloads.map((d) => d.node)).toEqual(['toknet1-mwg1']); // the lower uuid of the two
    expect(sim.installs.find((i) => i.node === 'toknet2-mwg5')?.from).not.toBe('internet');
    for (const name of sim.nodes.keys()) if (tokyo(name)) expect(sim.holds(name)?.sha256).toBe(V2.sha256);
  });

  it('a member that already holds the version serves the group: no download at all', () => {
    const sim = new UpdateSim(
      layout(['toknet1-mwg1'], (s) => (s.name === 'toknet2-mwg2' ? { ...s, held: [V2] } : s)),
      { seed: 5 },
    );
    sim.published.set('urlfilter', V2);
    sim.start();
    sim.runUntil(20_000);
    // it reached everyone from toknet2-mwg2 as soon as the members said hello; the check found it current
    expect(sim.downloads).toEqual([]);
    for (const name of sim.nodes.keys())
      if (tokyo(name)) expect(sim.holds(name)?.sha256, name).toBe(V2.sha256);
      else expect(sim.holds(name), name).toBeUndefined();
  });

  it('without downloadFromInternet nothing is done at the interval; an older version is kept', () => {
    const sim = new UpdateSim(
      layout([], (s) => (tokyo(s.name) ? { ...s, held: [V1] } : s)),
      { seed: 2, intervalMs: 10_000 },
    );
    sim.published.set('urlfilter', V2);
    sim.start();
    sim.runUntil(60_000);
    expect(sim.downloads).toEqual([]);
    expect(sim.deliveries.filter((d) => d.message.type === 'update-query')).toEqual([]);
    expect(sim.holds('toknet1-mwg1')?.version).toBe(V1.version);
  });
});

// ---- property ----------------------------------------------------------------------------------------

const NETS = ['n1', 'n2', 'n3'];
const GROUPS = ['x', 'y'];

const layoutArb = fc
  .array(
    fc.record({
      network: fc.subarray(NETS, { minLength: 1, maxLength: 2 }),
      update: fc.constantFrom(...GROUPS),
      accept: fc.boolean(),
    }),
    { minLength: 2, maxLength: 9 },
  )
  .chain((nodes) =>
    fc.record({
      nodes: fc.constant(nodes),
      downloader: fc.integer({ min: 0, max: nodes.length - 1 }),
      seed: fc.integer({ min: 1, max: 1_000_000 }),
      offline: fc.option(fc.integer({ min: 0, max: nodes.length - 1 }), { nil: undefined }),
    }),
  );

describe('update groups: property over random layouts', () => {
  it('no non-member ever receives anything of it; every accepting member reachable through accepting members ends at it', () => {
    fc.assert(
      fc.property(layoutArb, ({ nodes, downloader, seed, offline }) => {
        const specs: SimUpdateNode[] = nodes.map((n, i) => ({
          name: `node${i}`,
          network: n.network,
          update: [n.update],
          accept: n.accept,
          download: i === downloader,
        }));
        const sim = new UpdateSim(specs, { seed });
        sim.published.set('urlfilter', V2);
        sim.start();
        const away = offline !== undefined && offline !== downloader ? `node${offline}` : undefined;
        if (away) sim.setOnline(away, false);
        sim.runUntil(30_000);
        if (away) sim.setOnline(away, true);
        sim.runUntil(60_000);
        // expected holders: the downloader, and every accepting member reached from it by store and forward
        const group = specs[downloader]?.update[0] as string;
        const linked = (a: SimUpdateNode, b: SimUpdateNode) =>
          a !== b && a.network.some((g) => b.network.includes(g)) && a.update[0] === b.update[0];
        const reached = new Set([downloader]);
        for (let grew = true; grew; ) {
          grew = false;
          specs.forEach((s, i) => {
            if (reached.has(i) || !s.accept) return;
            if ([...reached].some((j) => linked(s, specs[j] as SimUpdateNode))) {
              reached.add(i);
              grew = true;
            }
          });
        }
        specs.forEach((s, i) => {
          const held = sim.holds(s.name);
          if (reached.has(i)) expect(held?.sha256, s.name).toBe(V2.sha256);
          else expect(held, s.name).toBeUndefined();
        });
        for (const d of sim.deliveries) {
          const to = specs.find((s) => s.name === d.to) as SimUpdateNode;
          if (to.update[0] !== group) expect(UpdateSim.mentions(d.message, V2.sha256)).toBe(false);
        }
        expect(sim.downloads).toHaveLength(1);
        // one version, installed once per node
        const names = sim.installs.map((x) => x.node);
        expect(new Set(names).size).toBe(names.length);
      }),
      { numRuns: 150, seed: 20261130 },
    );
  });
});

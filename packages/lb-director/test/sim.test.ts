// The simulator's scenarios, each with its golden trace (the driver's log lines, in order): a group
// starting, nodes joining, failing, draining, recovering, overloaded, moving address, the director
// moving, a split brain, a partition; and the queries (table, shares, lookup).
import { describe, expect, it } from 'vitest';
import type { BucketTable } from '../src/index';
import { type LbSimOptions, LbSimulation, simNodeId } from '../src/sim/index';

const four: LbSimOptions = {
  nodes: [
    { name: 'a' },
    { name: 'b', phaseMs: 100 },
    { name: 'c', phaseMs: 200 },
    { name: 'd', phaseMs: 300, startAt: false },
  ],
  link: { delayMs: 5 },
};

/** Trace lines from `from` on. */
const since = (sim: LbSimulation, from: number) =>
  sim.formatTrace(
    (e) => e.at >= from && e.action.type !== 'tableChanged' && e.action.type !== 'directorTable',
  );

const owners = (t: BucketTable | undefined) =>
  t === undefined ? [] : Array.from(t.owners, (o) => (o === 0xffff ? undefined : t.nodes[o]));

describe('the simulated group', () => {
  it('starts: the scanners find the director, the director learns every node (itself by the local path)', () => {
    const sim = new LbSimulation(four);
    sim.runUntil(1000);
    expect(sim.formatTrace()).toEqual([
      '0 a Scanning partner has joined 10.0.0.1 (a)',
      '5 b director is 10.0.0.1 (a)',
      '5 c director is 10.0.0.1 (a)',
      '105 a Scanning partner has joined 10.0.0.2 (b)',
      '205 a Scanning partner has joined 10.0.0.3 (c)',
    ]);
    expect(sim.directors()).toEqual(['a']);
    expect(sim.members()).toEqual(['a', 'b', 'c']);
    expect(sim.following('b')).toBe('a');
    expect(sim.nodes).toEqual(['a', 'b', 'c', 'd']);
    expect(sim.idOf('c')).toBe(simNodeId(3));
    expect(sim.nameOf(simNodeId(3))).toBe('c');
    const shares = sim.shares();
    expect([...shares.keys()]).toEqual(['a', 'b', 'c']);
    for (const s of shares.values()) expect(s).toBeCloseTo(1 / 3, 2);
    const table = sim.table();
    expect(table?.nodes).toEqual([simNodeId(1), simNodeId(2), simNodeId(3)]);
    expect(['a', 'b', 'c']).toContain(sim.lookup('192.0.2.7'));
    // every kind of table change is in the trace too
    expect(sim.trace.filter((e) => e.action.type === 'tableChanged').map((e) => e.at)).toEqual([0, 105, 205]);
    // d has not started: the announcements to it are blocked
    expect(sim.stats).toMatchObject({ sent: 8, lost: 0, blocked: 1 });
  });

  it('a node joins, is drained, recovers; another fails; one changes address', () => {
    const sim = new LbSimulation(four);
    sim.runUntil(2000);
    sim.join('d');
    sim.runUntil(4000);
    expect(since(sim, 2000)).toEqual([
      '2005 d director is 10.0.0.1 (a)',
      '2305 a Scanning partner has joined 10.0.0.4 (d)',
    ]);
    sim.drain('b', [9090, 9091]);
    sim.runUntil(6000);
    expect(sim.members()).toEqual(['a', 'b', 'c', 'd']);
    expect(sim.shares().get('b')).toBe(0);
    for (let i = 0; i < 100; i++) expect(sim.lookup(`198.51.100.${i}`)).not.toBe('b');
    sim.recover('b');
    sim.fail('c');
    sim.runUntil(10_000);
    sim.setAddress('d', '10.0.1.4');
    sim.runUntil(11_000);
    expect(since(sim, 4000)).toEqual([
      '4105 a Scanning partner 10.0.0.2 (b) is draining: current state: failure (port 9090, 9091)',
      '6105 a Scanning partner 10.0.0.2 (b) has recovered',
      // c's last report reached a at 5205: failed 3 intervals later, to the millisecond
      '8205 a Scanning partner has failed 10.0.0.3',
      '10305 a Scanning partner d changed its address from 10.0.0.4 to 10.0.1.4',
    ]);
    expect(sim.members()).toEqual(['a', 'b', 'd']);
    expect(sim.snapshot('a').members.find((m) => m.name === 'd')?.address).toBe('10.0.1.4');
    expect(sim.shares().get('b')).toBeGreaterThan(0.2);
  });

  it('an overloaded node loses buckets; when its load falls it gets them back', () => {
    const sim = new LbSimulation({
      ...four,
      scheduler: { minRebuildIntervalMs: 2000, smoothingHalfLifeMs: 0 },
    });
    sim.runUntil(3000);
    const even = sim.shares().get('c') as number;
    sim.overload('c', { activeConnections: 5000, cpu: 0.9 });
    sim.runUntil(10_000);
    expect(sim.shares().get('c') as number).toBeLessThan(even / 2);
    const reasons = sim.trace.filter((e) => e.action.type === 'tableChanged' && e.at > 3000);
    expect(reasons.length).toBeGreaterThan(0);
    sim.recover('c');
    sim.runUntil(20_000);
    expect(sim.shares().get('c') as number).toBeCloseTo(even, 1);
  });

  it('the director moves: the new one takes over the announced table, so no client changes node', () => {
    const sim = new LbSimulation(four);
    sim.runUntil(3000);
    const before = sim.table();
    const clients = Array.from({ length: 50 }, (_, i) => `203.0.113.${i}`);
    const mapped = clients.map((c) => sim.lookup(c));
    // every scanner holds the director's table, rebuilt from its announcement
    expect(sim.snapshot('b').announcedTable?.members.map((m) => m.nodeId)).toEqual(before?.nodes);
    sim.moveDirector('b');
    expect(sim.directors()).toEqual([]); // the gap: a demoted, b not yet promoted
    sim.runUntil(3006);
    // the first table of the new director is the old one, before any report reached it
    expect(owners(sim.table())).toEqual(owners(before));
    expect(
      sim.trace.filter((e) => e.at >= 3000 && e.action.type === 'tableChanged').map((e) => e.at),
    ).toEqual([3006]);
    sim.runUntil(6000);
    expect(since(sim, 3000)).toEqual([
      '3000 a role changed from director to scanner',
      '3006 b role changed from scanner to director',
      '3006 b took over the table of 10.0.0.1 (a): 3 nodes, every client stays on its node',
      '3011 a director is 10.0.0.2 (b)',
      '3011 c director changed from 10.0.0.1 (a) to 10.0.0.2 (b)',
    ]);
    // the reports that come later change nothing
    expect(sim.trace.filter((e) => e.at > 3006 && e.action.type === 'tableChanged')).toEqual([]);
    expect(sim.directors()).toEqual(['b']);
    expect(sim.members()).toEqual(['a', 'b', 'c']);
    expect(owners(sim.table())).toEqual(owners(before));
    expect(clients.map((c) => sim.lookup(c))).toEqual(mapped);
    expect(sim.snapshot('a').members.map((m) => m.self)).toEqual([true]);
    expect(sim.snapshot('a').table).toBeUndefined();
  });

  it('the director crashes: its successor adopts the table and lets the silent director go in the same step', () => {
    const sim = new LbSimulation(four);
    sim.runUntil(3000);
    const before = sim.table();
    const clients = Array.from({ length: 60 }, (_, i) => `203.0.113.${i}`);
    const mapped = clients.map((c) => sim.lookup(c));
    sim.fail('a');
    // VRRP needs about three advert intervals to see the master gone
    sim.runUntil(6500);
    sim.setRole('b', 'director');
    sim.runUntil(6501);
    expect(since(sim, 3000).filter((l) => l.startsWith('6500 b'))).toEqual([
      '6500 b role changed from scanner to director',
      '6500 b took over the table of 10.0.0.1 (a): 3 nodes, every client stays on its node',
      '6500 b Scanning partner has failed 10.0.0.1',
    ]);
    // adopted, then a's buckets moved: two tables in the one step, nothing later
    expect(
      sim.trace.filter((e) => e.at >= 6500 && e.action.type === 'tableChanged').map((e) => e.at),
    ).toEqual([6500, 6500]);
    expect(sim.members()).toEqual(['b', 'c']);
    // a's clients moved at once; b's and c's stayed put
    const after = clients.map((c) => sim.lookup(c));
    for (let i = 0; i < clients.length; i++) {
      if (mapped[i] === 'a') expect(['b', 'c']).toContain(after[i]);
      else expect(after[i]).toBe(mapped[i]);
    }
    expect(mapped).toContain('a');
    expect(owners(before)).toContain(sim.idOf('a'));
  });

  it('split brain: every node reports it once, follows the rule, and heals when one director steps down', () => {
    const sim = new LbSimulation({
      ...four,
      nodes: four.nodes.map((n) => (n.name === 'c' ? { ...n, priority: 150 } : n)),
    });
    sim.runUntil(3000);
    sim.splitBrain('a', 'c');
    sim.runUntil(6000);
    expect(since(sim, 3000)).toEqual([
      '3000 c role changed from scanner to director',
      '3000 c took over the table of 10.0.0.1 (a): 3 nodes, every client stays on its node',
      '3005 c split brain: 2 directors announce group 51: 10.0.0.3 (c), 10.0.0.1 (a); following 10.0.0.3',
      '3005 a split brain: 2 directors announce group 51: 10.0.0.3 (c), 10.0.0.1 (a); following 10.0.0.3',
      '3005 b split brain: 2 directors announce group 51: 10.0.0.3 (c), 10.0.0.1 (a); following 10.0.0.3',
      '3005 b director changed from 10.0.0.1 (a) to 10.0.0.3 (c)',
      // c took a over with a's table; a directs too and reports to no one, so c lets it go 3 intervals
      // after a's last announcement before the takeover (2005), the last sign of a as c's director
      '5005 c Scanning partner has failed 10.0.0.1',
      // b now reports to c only, c to itself: a loses both, 3 intervals after their last reports
      '5105 a Scanning partner has failed 10.0.0.2',
      '5205 a Scanning partner has failed 10.0.0.3',
    ]);
    expect(sim.snapshot('b').directors.map((d) => d.name)).toEqual(['c', 'a']);
    expect(sim.directors()).toEqual(['a', 'c']);
    expect(sim.members('c')).toEqual(['b', 'c']);
    expect(sim.lookup('192.0.2.1')).toBeUndefined(); // two directors: ask one by name
    expect(['b', 'c']).toContain(sim.lookup('192.0.2.1', 'c'));
    sim.setRole('a', 'scanner');
    sim.runUntil(10_000);
    expect(since(sim, 6000)).toEqual([
      '6000 a role changed from director to scanner',
      '6000 a director is 10.0.0.3 (c)',
      '6000 a split brain healed: one director 10.0.0.3 (c)',
      '7005 c Scanning partner has joined 10.0.0.1 (a)',
      '9005 b split brain healed: one director 10.0.0.3 (c)',
      '9005 c split brain healed: one director 10.0.0.3 (c)',
    ]);
    expect(sim.members('c')).toEqual(['a', 'b', 'c']);
  });

  it('a partition: the cut-off node fails at the director and loses its director; healing brings it back', () => {
    const sim = new LbSimulation(four);
    sim.runUntil(2500);
    sim.partition(['a', 'b'], ['c']);
    sim.runUntil(6000);
    expect(since(sim, 2500)).toEqual([
      // c's last report reached a at 2205, a's last announcement reached c at 2005
      '5005 c lost director 10.0.0.1 (a)',
      '5205 a Scanning partner has failed 10.0.0.3',
    ]);
    sim.heal();
    sim.runUntil(8000);
    expect(since(sim, 6000)).toEqual([
      // a's announcement of 6000 went out before the heal
      '7005 c director is 10.0.0.1 (a)',
      '7205 a Scanning partner has joined 10.0.0.3 (c)',
    ]);
    expect(sim.stats.blocked).toBeGreaterThan(0);
  });

  it('the same seed gives the same run under loss and jitter; another seed another one', () => {
    const run = (seed: number) => {
      const sim = new LbSimulation({ ...four, seed, link: { delayMs: 2, jitterMs: 30, lossRate: 0.3 } });
      sim.at(1000, () => sim.join('d'));
      sim.at(9000, () => sim.fail('b'));
      sim.runUntil(30_000);
      return { trace: sim.formatTrace(() => true), stats: sim.stats };
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7).trace).not.toEqual(run(8).trace);
    expect(run(7).stats.lost).toBeGreaterThan(0);
  });

  it('links can be set one way, both ways or all at once', () => {
    const sim = new LbSimulation(four);
    sim.setLink('b', 'a', { lossRate: 1 });
    sim.runUntil(4000);
    expect(sim.members()).toEqual(['a', 'c']); // b hears a, a never hears b
    expect(sim.following('b')).toBe('a');
    sim.setLinkBoth('a', 'c', { delayMs: 50 });
    sim.setAllLinks({ lossRate: 0 });
    sim.runUntil(6000);
    expect(sim.members()).toEqual(['a', 'b', 'c']);
  });

  it('rejects a group of fewer than 2 or more than 16 nodes, duplicates and unknown names', () => {
    expect(() => new LbSimulation({ nodes: [{ name: 'a' }] })).toThrow(/2\.\.16 nodes/);
    expect(
      () => new LbSimulation({ nodes: Array.from({ length: 17 }, (_, i) => ({ name: `n${i}` })) }),
    ).toThrow(/2\.\.16 nodes/);
    expect(() => new LbSimulation({ nodes: [{ name: 'a' }, { name: 'a' }] })).toThrow(/duplicate node name/);
    expect(() => new LbSimulation({ nodes: [{ name: 'a' }, { name: 'b', address: '10.0.0.1' }] })).toThrow(
      /duplicate node address/,
    );
    expect(() => new LbSimulation({ nodes: [{ name: 'a' }, { name: 'b' }], director: 'x' })).toThrow(
      /no node x/,
    );
    expect(() => new LbSimulation({ nodes: [{ name: 'a' }, { name: 'b' }], failAfterIntervals: 0 })).toThrow(
      /failAfterIntervals/,
    );
    const sim = new LbSimulation({ nodes: [{ name: 'a' }, { name: 'b' }] });
    expect(() => sim.fail('z')).toThrow(/no node z/);
    expect(() => sim.setAddress('b', '10.0.0.1')).toThrow(/taken by a/);
  });
});

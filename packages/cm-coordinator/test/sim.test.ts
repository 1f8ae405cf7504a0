import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { currentVersion, formatHlc, type Version } from '../src/index';
import { CmSimulation } from '../src/sim/index';

/** Every acknowledged save is held by every running node. */
function expectNoAckLost(sim: CmSimulation): void {
  for (const name of sim.aliveNames()) {
    const ids = new Set(sim.versionIds(name));
    for (const ack of sim.acknowledged) expect(ids.has(ack.version.id)).toBe(true);
  }
}

describe('CmSimulation', () => {
  it('a save reaches every node; all show the same Current Storage Timestamp', () => {
    const sim = new CmSimulation({ nodes: 5 });
    sim.runFor(100);
    const v = sim.save('node-3');
    expect(sim.runUntilConverged(10_000)).toBe(true);
    for (const n of sim.names) expect(sim.storageTimestamp(n)).toBe(formatHlc(v.stamp));
    expect(sim.acknowledged.map((a) => a.version.id)).toEqual([v.id]);
    const order = sim.trace.filter(
      (e) =>
        e.node === 'node-3' &&
        (e.action?.type === 'persist' ||
          e.action?.type === 'broadcast' ||
          e.note?.startsWith('acknowledged')),
    );
    expect(order.map((e) => e.action?.type ?? 'ack')).toEqual(['persist', 'broadcast', 'ack']);
  });

  it('50 nodes with loss and jitter converge', () => {
    const sim = new CmSimulation({ nodes: 50, link: { lossRate: 0.05, delayMs: 10, jitterMs: 20 }, seed: 7 });
    sim.runFor(500);
    for (let i = 1; i <= 5; i++) {
      sim.save(`node-${i * 9}`);
      sim.runFor(300);
    }
    expect(sim.runUntilConverged(60_000)).toBe(true);
    expectNoAckLost(sim);
    expect(new Set(sim.names.map((n) => sim.storageTimestamp(n))).size).toBe(1);
  });

  it('a partition with saves on both sides resolves by priority and keeps and reports the loser', () => {
    const sim = new CmSimulation({
      nodes: [
        { name: 'a', priority: 1 },
        { name: 'b', priority: 1 },
        { name: 'c', priority: 5 },
        { name: 'd', priority: 5 },
      ],
    });
    sim.runFor(100);
    sim.save('a');
    sim.runUntilConverged(5000);
    sim.partition([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    sim.runFor(100);
    const winner = sim.save('b');
    sim.runFor(1000);
    const loser = sim.save('d'); // newer, but priority 5
    sim.runFor(1000);
    expect(sim.storageTimestamp('c')).toBe(formatHlc(loser.stamp));
    sim.heal();
    expect(sim.runUntilConverged(20_000)).toBe(true);
    for (const n of sim.names) {
      expect(sim.machine(n).current('policy')?.id).toBe(winner.id);
      expect(sim.versionIds(n)).toContain(loser.id);
    }
    const conflicts = sim.conflicts();
    expect(conflicts.length).toBeGreaterThan(0);
    expect(conflicts.every((c) => c.winner === winner.id && c.loser === loser.id)).toBe(true);
    expect(new Set(conflicts.map((c) => c.node))).toEqual(new Set(['a', 'b', 'c', 'd']));
    // a later save on any node supersedes both and closes the conflict
    const merge = sim.save('c');
    expect(merge.parents).toEqual([winner.id, loser.id].sort());
    expect(sim.runUntilConverged(10_000)).toBe(true);
    for (const n of sim.names) expect(sim.machine(n).snapshot().scopes[0]?.openConflicts).toEqual([]);
  });

  it('equal priorities: the newest change wins', () => {
    const sim = new CmSimulation({ nodes: 3 });
    sim.runFor(100);
    sim.partition([['node-1'], ['node-2', 'node-3']]);
    const older = sim.save('node-1');
    sim.runFor(50);
    const newer = sim.save('node-2');
    sim.heal();
    expect(sim.runUntilConverged(10_000)).toBe(true);
    expect(sim.machine('node-1').current('policy')?.id).toBe(newer.id);
    expect(sim.conflicts('node-1')).toEqual([
      { node: 'node-1', scope: 'policy', winner: newer.id, loser: older.id },
    ]);
  });

  it('a node offline during saves catches up when it returns', () => {
    const sim = new CmSimulation({ nodes: 4 });
    sim.runFor(100);
    sim.save('node-1');
    sim.runUntilConverged(5000);
    sim.crash('node-4');
    for (let i = 0; i < 3; i++) {
      sim.save('node-2', { comment: `change ${i}` });
      sim.runFor(200);
    }
    sim.save('node-1', {
      scope: `node:${sim.identity('node-1').uuid}`,
      documents: [{ name: 'network.yaml', content: 'ip: 10.0.0.1' }],
    });
    sim.runFor(2000);
    expect(sim.versionIds('node-4')).toEqual([]);
    sim.restart('node-4');
    expect(sim.runUntilConverged(20_000)).toBe(true);
    expect(sim.versionIds('node-4')).toHaveLength(5);
    expect(sim.storageTimestamp('node-4')).toBe(sim.storageTimestamp('node-1'));
    expectNoAckLost(sim);
  });

  it('a node that crashes before its write completes did not acknowledge: nothing of it escapes', () => {
    const sim = new CmSimulation({ nodes: 3, persistMs: 20 });
    sim.runFor(100);
    const lost = sim.save('node-1');
    sim.runFor(10);
    sim.crash('node-1');
    sim.runFor(1000);
    expect(sim.acknowledged).toEqual([]);
    expect(sim.versionIds('node-2')).not.toContain(lost.id);
    sim.restart('node-1');
    expect(sim.durableIds('node-1')).toEqual([]);
    expect(sim.runUntilConverged(10_000)).toBe(true);
    expect(sim.versionIds('node-1')).toEqual([]);
  });

  it('a receiver that crashes between receiving and writing did not ack; it catches up after restart', () => {
    const sim = new CmSimulation({ nodes: 3, persistMs: 20, link: { delayMs: 5 } });
    sim.runFor(100);
    const v = sim.save('node-1');
    // the push reaches node-2 at +25 (after node-1's write); node-2's write would end at +45
    sim.runFor(35);
    sim.crash('node-2');
    sim.runFor(500);
    const acks = sim.trace.filter(
      (e) => e.node === 'node-2' && e.action?.type === 'send' && e.action.message.type === 'ack',
    );
    expect(acks).toEqual([]);
    expect(sim.durableIds('node-2')).toEqual([]);
    expect(sim.acknowledged.map((a) => a.version.id)).toEqual([v.id]);
    sim.restart('node-2');
    expect(sim.runUntilConverged(10_000)).toBe(true);
    expect(sim.durableIds('node-2')).toEqual([v.id]);
  });

  it('a node whose clock is too far off is refused until it is fixed', () => {
    const sim = new CmSimulation({
      nodes: [{ name: 'a' }, { name: 'b' }, { name: 'skewed', skewMs: 3_600_000 }],
      maxSkewMs: 10_000,
    });
    sim.runFor(100);
    expect(sim.connected('a', 'b')).toBe(true);
    expect(sim.connected('a', 'skewed')).toBe(false);
    expect(sim.trace.some((e) => e.node === 'a' && e.note === 'clock refused skewed')).toBe(true);
    const far = sim.save('skewed');
    sim.save('a');
    sim.runFor(10_000);
    expect(sim.versionIds('a')).not.toContain(far.id);
    expect(sim.converged(['a', 'b'])).toBe(true);
    sim.setSkew('skewed', 2000);
    expect(sim.runUntilConverged(20_000)).toBe(true);
    expect(sim.versionIds('a')).toContain(far.id);
  });

  it('add node: the added node takes the policy of the node it is added from', () => {
    const sim = new CmSimulation({ nodes: [{ name: 'a' }, { name: 'new', priority: 1 }] });
    sim.partition([['a'], ['new']]);
    sim.save('a');
    sim.save('new');
    sim.runFor(100);
    sim.adopt('new', 'a');
    sim.heal();
    expect(sim.runUntilConverged(10_000)).toBe(true);
    expect(sim.versionIds('a')).toEqual(sim.versionIds('new'));
    expect(sim.versionIds('a')).toHaveLength(1);
    expect(sim.conflicts()).toEqual([]);
  });

  it('is deterministic', () => {
    const run = () => {
      const sim = new CmSimulation({ nodes: 6, link: { lossRate: 0.2, jitterMs: 30 }, seed: 3 });
      sim.runFor(100);
      sim.save('node-1');
      sim.partition([['node-1', 'node-2']]);
      sim.save('node-5');
      sim.runFor(3000);
      sim.heal();
      sim.runFor(10_000);
      return sim.trace;
    };
    expect(run()).toEqual(run());
  });

  it('random schedules: convergence, no acknowledged save lost, the rule applied (property)', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('save' as const),
        node: fc.integer({ min: 0, max: 5 }),
        scope: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('crash' as const), node: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('restart' as const), node: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('partition' as const), cut: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ kind: fc.constant('heal' as const) }),
      fc.record({
        kind: fc.constant('skew' as const),
        node: fc.integer({ min: 0, max: 5 }),
        ms: fc.constantFrom(0, 5000, 60_000),
      }),
      fc.record({ kind: fc.constant('run' as const), ms: fc.integer({ min: 1, max: 3000 }) }),
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 30 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        (ops, seed, loss) => {
          const sim = new CmSimulation({
            nodes: [1, 1, 5, 5, 100, 100].map((priority, i) => ({ name: `n${i}`, priority })),
            seed,
            link: { lossRate: loss, delayMs: 5, jitterMs: 10 },
            persistMs: 7,
          });
          const made: Version[] = [];
          for (const o of ops) {
            const name = `n${'node' in o ? o.node : 0}`;
            if (o.kind === 'save' && sim.isAlive(name))
              made.push(sim.save(name, o.scope ? {} : { scope: `node:${sim.identity(name).uuid}` }));
            else if (o.kind === 'crash') sim.crash(name);
            else if (o.kind === 'restart') sim.restart(name);
            else if (o.kind === 'partition') sim.partition([sim.names.slice(0, o.cut)]);
            else if (o.kind === 'heal') sim.heal();
            else if (o.kind === 'skew') sim.setSkew(name, o.ms);
            else if (o.kind === 'run') sim.runFor(o.ms);
          }
          sim.heal();
          for (const n of sim.names) {
            sim.setSkew(n, 0);
            sim.restart(n);
          }
          expect(sim.runUntilConverged(120_000)).toBe(true);
          expectNoAckLost(sim);
          // the current version is the rule applied to the union of what survived
          const m = sim.machine('n0');
          for (const scope of m.scopes())
            expect(m.current(scope)?.id).toBe(currentVersion(m.versions(scope))?.id);
          // every version held anywhere was made by a save
          const madeIds = new Set(made.map((v) => v.id));
          for (const id of m.ids()) expect(madeIds.has(id)).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });
});

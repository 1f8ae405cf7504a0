// Properties of the membership machine over random event sequences: determinism, the invariants of
// the director's view, and failure after exactly its window.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type LbAction, type LbEvent, LbMachine, type LbMachineConfig } from '../src/index';
import { buildAnnouncement, buildReport, simNodeId } from '../src/sim/index';

const SELF = simNodeId(1);

/** Events with non-decreasing times; nodes 2..6 report, directors 7..8 announce, node 1 is us. */
const eventsArb = fc
  .array(
    fc.record({
      dt: fc.integer({ min: 0, max: 1500 }),
      kind: fc.constantFrom('report', 'report', 'report', 'local', 'announce', 'role', 'tick', 'spoof'),
      node: fc.integer({ min: 2, max: 6 }),
      director: fc.integer({ min: 7, max: 8 }),
      interval: fc.constantFrom(200, 500, 1000),
      failing: fc.boolean(),
      weight: fc.constantFrom(0, 50, 100, 200),
      active: fc.integer({ min: 0, max: 3000 }),
      cpu: fc.double({ min: 0, max: 1, noNaN: true }),
      address: fc.constantFrom(0, 0, 0, 100),
      role: fc.constantFrom('director' as const, 'scanner' as const),
      priority: fc.constantFrom(50, 100),
    }),
    { maxLength: 120 },
  )
  .map((steps) => {
    let at = 0;
    return steps.map((s): LbEvent => {
      at += s.dt;
      const report = (nodeId: string, n: number) =>
        buildReport({
          nodeId,
          address: `10.0.${s.address}.${n}`,
          name: `node-${n}`,
          intervalMs: s.interval,
          weight: s.weight,
          health: s.failing
            ? { status: 'failure', failingPorts: [9090] }
            : { status: 'ok', failingPorts: [] },
          connections: [{ port: 9090, active: s.active }],
          resources: { cpu: s.cpu, memory: 0.2, load: 0.1 },
        });
      switch (s.kind) {
        case 'report':
          return {
            type: 'report',
            at,
            source: `10.0.0.${s.node}`,
            report: report(simNodeId(s.node), s.node),
          };
        case 'spoof':
          return { type: 'report', at, source: '10.6.6.6', report: report(SELF, 1) };
        case 'local':
          return { type: 'localReport', at, report: report(SELF, 1) };
        case 'announce':
          return {
            type: 'announcement',
            at,
            source: `10.0.0.${s.director}`,
            announcement: buildAnnouncement({
              nodeId: simNodeId(s.director),
              address: `10.0.0.${s.director}`,
              intervalMs: s.interval,
              priority: s.priority,
            }),
          };
        case 'role':
          return { type: 'role', at, role: s.role };
        default:
          return { type: 'tick', at };
      }
    });
  });

const config: LbMachineConfig = { selfId: SELF, group: 51, role: 'director' };

function normalise(actions: readonly LbAction[]): unknown {
  return JSON.parse(
    JSON.stringify(actions, (_k, v) =>
      v instanceof Uint16Array ? Array.from(v) : v instanceof Map ? [...v] : v,
    ),
  );
}

describe('membership properties', () => {
  it('is deterministic: the same events give the same actions, snapshots and deadlines', () => {
    fc.assert(
      fc.property(eventsArb, (events) => {
        const a = new LbMachine(config);
        const b = new LbMachine(config);
        for (const e of events) {
          expect(normalise(a.step(e))).toEqual(normalise(b.step(e)));
          expect(a.nextDeadline()).toBe(b.nextDeadline());
        }
        expect(normalise([a.snapshot() as never])).toEqual(normalise([b.snapshot() as never]));
      }),
      { numRuns: 60 },
    );
  });

  it("keeps the director's view consistent after every event", () => {
    fc.assert(
      fc.property(eventsArb, (events) => {
        const m = new LbMachine(config);
        const members = new Set<string>();
        for (const e of events) {
          const actions = m.step(e);
          for (const a of actions) {
            if (a.type === 'nodeJoined') {
              expect(members.has(a.node.id)).toBe(false);
              members.add(a.node.id);
            }
            if (a.type === 'nodeFailed') {
              expect(a.node.self).toBe(false); // the local entry never fails
              expect(a.silentMs).toBeGreaterThanOrEqual(3 * a.node.intervalMs);
              expect(members.delete(a.node.id)).toBe(true);
            }
            if (a.type === 'roleChanged') members.clear();
          }
          // the role event itself may join the local entry after roleChanged
          const s = m.snapshot();
          if (s.role === 'scanner') {
            expect(s.table).toBeUndefined();
            expect(s.members.every((x) => x.self)).toBe(true);
            continue;
          }
          expect(new Set(s.members.map((x) => x.id))).toEqual(members);
          const ids = s.members.map((x) => x.id);
          expect(ids).toEqual([...ids].sort());
          for (const x of s.members) {
            if (!x.self) expect(e.at - x.lastReportAt).toBeLessThan(3 * x.intervalMs);
            if (x.health.status === 'failure' || x.weight === 0) expect(s.shares.get(x.id) ?? 0).toBe(0);
          }
          const deadline = m.nextDeadline();
          if (deadline !== undefined) expect(deadline).toBeGreaterThan(e.at);
        }
      }),
      { numRuns: 80 },
    );
  });

  it('a member silent from its last report fails at exactly last + N x its interval, not a millisecond before', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 65535 }),
        fc.integer({ min: 0, max: 1e9 }),
        fc.integer({ min: 0, max: 5 }),
        (n, interval, start, reports) => {
          // (no damped rebuild pending: its deadline would come first)
          const m = new LbMachine({
            ...config,
            failAfterIntervals: n,
            scheduler: { minRebuildIntervalMs: 0 },
          });
          let last = start;
          for (let i = 0; i <= reports; i++) {
            last = start + i * interval;
            m.step({
              type: 'report',
              at: last,
              source: '10.0.0.2',
              report: buildReport({ nodeId: simNodeId(2), intervalMs: interval }),
            });
          }
          const deadline = last + n * interval;
          expect(m.nextDeadline()).toBe(deadline);
          expect(m.step({ type: 'tick', at: deadline - 1 })).toEqual([]);
          const out = m.step({ type: 'tick', at: deadline });
          expect(out[0]).toMatchObject({ type: 'nodeFailed', silentMs: n * interval });
        },
      ),
    );
  });

  it('a director silent from its last announcement is lost at exactly last + N x its interval', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 65535 }),
        fc.integer({ min: 0, max: 1e9 }),
        (n, interval, start) => {
          const m = new LbMachine({ selfId: SELF, group: 51, directorFailAfterIntervals: n });
          const announcement = buildAnnouncement({ nodeId: simNodeId(2), intervalMs: interval });
          expect(m.step({ type: 'announcement', at: start, source: '10.0.0.1', announcement })[0]?.type).toBe(
            'directorFound',
          );
          expect(m.nextDeadline()).toBe(start + n * interval);
          expect(m.step({ type: 'tick', at: start + n * interval - 1 })).toEqual([]);
          expect(m.step({ type: 'tick', at: start + n * interval })[0]?.type).toBe('directorLost');
        },
      ),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SchedulerNode } from '../src/scheduler/index';
import { createScheduler, NO_OWNER } from '../src/scheduler/index';

// Oracle: the documented table algorithm written the obvious (slow) way.
function fmix(x0: number): number {
  let x = x0 >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
function idHash(id: string, basis: number): number {
  let h = (0x811c9dc5 ^ basis) >>> 0;
  for (const ch of id) for (let k = 0; k < ch.length; k++) h = Math.imul(h ^ ch.charCodeAt(k), 0x01000193);
  return fmix(h);
}
function oracle(ids: string[], weights: number[], size: number): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const quota = weights.map((w) => (total > 0 ? Math.floor((w * size) / total) : 0));
  const order = weights
    .map((w, i) => ({ r: total > 0 ? (w * size) / total - (quota[i] as number) : 0, i, w }))
    .filter((x) => x.w > 0)
    .sort((a, b) => b.r - a.r || a.i - b.i);
  let given = quota.reduce((a, b) => a + b, 0);
  for (let k = 0; given < size && order.length > 0; k = (k + 1) % order.length, given++) {
    const i = (order[k] as { i: number }).i;
    quota[i] = (quota[i] as number) + 1;
  }
  const owners: number[] = new Array(size).fill(NO_OWNER);
  const live = ids.map((_, i) => i).filter((i) => (quota[i] as number) > 0);
  if (live.length === 0) return owners;
  const maxW = Math.max(...live.map((i) => weights[i] as number));
  const next = new Map(live.map((i) => [i, 0]));
  const credit = new Map(live.map((i) => [i, 0]));
  const held = new Map(live.map((i) => [i, 0]));
  let filled = 0;
  while (filled < size) {
    for (const i of live) {
      if ((held.get(i) as number) >= (quota[i] as number)) continue;
      credit.set(i, (credit.get(i) as number) + (weights[i] as number) / maxW);
      while ((credit.get(i) as number) >= 1 && (held.get(i) as number) < (quota[i] as number)) {
        credit.set(i, (credit.get(i) as number) - 1);
        const offset = idHash(ids[i] as string, 0) % size;
        const skip = (idHash(ids[i] as string, 0x5bd1e995) % (size - 1)) + 1;
        let c: number;
        do {
          const j = next.get(i) as number;
          c = (offset + j * skip) % size;
          next.set(i, j + 1);
        } while (owners[c] !== NO_OWNER);
        owners[c] = i;
        held.set(i, (held.get(i) as number) + 1);
        filled++;
      }
    }
  }
  return owners;
}

const idArb = fc.stringMatching(/^[0-9a-f]{8}$/);
const nodesArb = (min: number, max: number) =>
  fc.uniqueArray(fc.record({ id: idArb, capacity: fc.integer({ min: 0, max: 20 }), healthy: fc.boolean() }), {
    minLength: min,
    maxLength: max,
    selector: (n) => n.id,
  });
const toNodes = (xs: { id: string; capacity: number; healthy: boolean }[]): SchedulerNode[] =>
  xs.map((x) => ({ ...x, activeConnections: 0 }));
const sorted = (xs: SchedulerNode[]) => [...xs].sort((a, b) => (a.id < b.id ? -1 : 1));

describe('scheduler properties', () => {
  it('equals the oracle, and every bucket belongs to an eligible node with an exact quota', () => {
    fc.assert(
      fc.property(nodesArb(0, 12), fc.constantFrom(101, 1009, 4093), (xs, size) => {
        const nodes = toNodes(xs);
        const s = createScheduler({ tableSize: size });
        const t = s.update(0, nodes).table;
        const byId = sorted(nodes);
        const w = byId.map((n) => s.weights().get(n.id) as number);
        expect(Array.from(t.owners)).toEqual(
          oracle(
            byId.map((n) => n.id),
            w,
            size,
          ),
        );
        const total = w.reduce((a, b) => a + b, 0);
        const count = new Array<number>(byId.length).fill(0);
        for (const o of t.owners) {
          if (total === 0) expect(o).toBe(NO_OWNER);
          else {
            const n = byId[o] as SchedulerNode;
            expect(n.healthy && n.capacity > 0).toBe(true);
            count[o] = (count[o] as number) + 1;
          }
        }
        if (total > 0)
          for (const [i, wi] of w.entries())
            expect(Math.abs((count[i] as number) - (wi * size) / total)).toBeLessThan(1);
      }),
      { numRuns: 60, seed: 20260 },
    );
  });

  it('a failing node moves its own buckets plus at most 1 % of the table; recovery restores the table', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 64 }), fc.nat(), fc.nat(), (n, salt, pick) => {
        const nodes = Array.from({ length: n }, (_, i) => ({
          id: `${(salt + i * 7919).toString(16)}-${i}`,
          capacity: 1,
          healthy: true,
          activeConnections: 0,
        }));
        const s = createScheduler({ smoothingHalfLifeMs: 0 });
        const before = s.update(0, nodes).table;
        const k = pick % n;
        const failed = nodes.map((x, i) => (i === k ? { ...x, healthy: false } : x));
        const after = s.update(1, failed);
        const victim = before.nodes.indexOf((nodes[k] as SchedulerNode).id);
        let extra = 0;
        for (const b of after.changedBuckets) if (before.owners[b] !== victim) extra++;
        expect(extra).toBeLessThanOrEqual(0.01 * before.size);
        /* stateless: a fresh scheduler given the same nodes computes the same table */
        expect(createScheduler().update(0, failed).table.owners).toEqual(after.table.owners);
        /* and recovery restores the first table */
        expect(s.update(2, nodes).table.owners).toEqual(before.owners);
      }),
      { numRuns: 20, seed: 4242 },
    );
  });

  it('input order never matters', () => {
    fc.assert(
      fc.property(nodesArb(1, 10), fc.nat(), (xs, rot) => {
        const nodes = toNodes(xs);
        const r = rot % nodes.length;
        const turned = [...nodes.slice(r), ...nodes.slice(0, r)].reverse();
        const a = createScheduler({ tableSize: 1009 }).update(0, nodes).table;
        const b = createScheduler({ tableSize: 1009 }).update(0, turned).table;
        expect(b.owners).toEqual(a.owners);
        expect(b.nodes).toEqual(a.nodes);
      }),
      { numRuns: 50, seed: 7 },
    );
  });

  it('never leaves a bucket with an over-bound node while another eligible node is under its bound', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            capacity: fc.integer({ min: 0, max: 5 }),
            healthy: fc.boolean(),
            active: fc.nat(2000),
          }),
          {
            minLength: 1,
            maxLength: 10,
          },
        ),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (xs, bf) => {
          const nodes: SchedulerNode[] = xs.map((x, i) => ({
            id: `n${i}`,
            capacity: x.capacity,
            healthy: x.healthy,
            activeConnections: x.active,
          }));
          const s = createScheduler({ tableSize: 1009, balanceFactor: bf, boundMinConnections: 1 });
          const t = s.update(0, nodes).table;
          const eligible = sorted(nodes).filter((n) => n.healthy && n.capacity > 0);
          const capSum = eligible.reduce((a, n) => a + n.capacity, 0);
          const total = eligible.reduce((a, n) => a + n.activeConnections, 0);
          const over = (n: SchedulerNode) =>
            n.activeConnections > (1 + bf) * Math.max((total / capSum) * n.capacity, 1);
          const free = eligible.filter((n) => !over(n));
          for (const o of t.owners) {
            if (eligible.length === 0) {
              expect(o).toBe(NO_OWNER);
              continue;
            }
            const owner = t.nodes[o] as string;
            const n = nodes.find((x) => x.id === owner) as SchedulerNode;
            expect(n.healthy && n.capacity > 0).toBe(true);
            if (free.length > 0) expect(over(n)).toBe(false);
          }
        },
      ),
      { numRuns: 60, seed: 99 },
    );
  });
});

// The node path matrix: which nodes reach which through network groups and transit nodes (pure function),
// with the layouts of the Central Management best-practice guide and properties over random layouts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CmError,
  checkNodePathMatrix,
  type NetworkGroupNode,
  networkPath,
  nodePathMatrix,
  sharesNetworkGroup,
  UNREACHABLE_NODES_STATUS,
} from '../src/index';

/** Tokyo and New York, two nodes each, one of each in the transit group (the guide's first example). */
const TWO_SITES: NetworkGroupNode[] = [
  { name: 'tokyo-transit', groups: ['tokyo', 'transit'] },
  { name: 'tokyo-2', groups: ['tokyo'] },
  { name: 'ny-transit', groups: ['newyork', 'transit'] },
  { name: 'ny-2', groups: ['newyork'] },
];

/** Reference reachability: union-find over groups (two nodes are connected when a chain of groups joins them). */
function reachableRef(nodes: readonly NetworkGroupNode[]): (a: string, b: string) => boolean {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    const p = parent.get(x) ?? x;
    if (p === x) return x;
    const r = find(p);
    parent.set(x, r);
    return r;
  };
  const union = (a: string, b: string) => parent.set(find(a), find(b));
  for (const n of nodes) {
    parent.set(`n:${n.name}`, find(`n:${n.name}`));
    for (const g of n.groups) union(`n:${n.name}`, `g:${g}`);
  }
  return (a, b) => a === b || find(`n:${a}`) === find(`n:${b}`);
}

/** Random layouts: up to 12 nodes, each in 0..3 of up to 6 groups. */
const layoutArb = fc
  .array(fc.subarray(['g0', 'g1', 'g2', 'g3', 'g4', 'g5'], { minLength: 0, maxLength: 3 }), {
    minLength: 1,
    maxLength: 12,
  })
  .map((groups) => groups.map((g, i) => ({ name: `n${String(i).padStart(2, '0')}`, groups: g })));

describe('nodePathMatrix', () => {
  it('two sites: leaves reach each other through both transit nodes', () => {
    const m = nodePathMatrix(TWO_SITES);
    expect(m.unreachable).toEqual([]);
    expect(m.nodes).toEqual(['ny-2', 'ny-transit', 'tokyo-2', 'tokyo-transit']);
    const at = (a: string, b: string) => m.paths[m.nodes.indexOf(a)]?.[m.nodes.indexOf(b)];
    expect(at('tokyo-2', 'ny-2')).toEqual(['tokyo-2', 'tokyo-transit', 'ny-transit', 'ny-2']);
    expect(at('ny-2', 'tokyo-2')).toEqual(['ny-2', 'ny-transit', 'tokyo-transit', 'tokyo-2']);
    expect(at('tokyo-2', 'tokyo-transit')).toEqual(['tokyo-2', 'tokyo-transit']);
    expect(at('tokyo-2', 'tokyo-2')).toEqual(['tokyo-2']);
    expect(networkPath(TWO_SITES, 'tokyo-2', 'ny-2')).toEqual([
      'tokyo-2',
      'tokyo-transit',
      'ny-transit',
      'ny-2',
    ]);
  });

  it('a down transit node carries nothing onward; a second one in the same groups takes over', () => {
    expect(networkPath(TWO_SITES, 'tokyo-2', 'ny-2', ['tokyo-transit'])).toBeUndefined();
    expect(networkPath(TWO_SITES, 'tokyo-2', 'tokyo-transit', ['tokyo-transit'])).toEqual([
      'tokyo-2',
      'tokyo-transit',
    ]);
    const twoTransits = [...TWO_SITES, { name: 'tokyo-transit2', groups: ['tokyo', 'transit'] }];
    expect(networkPath(twoTransits, 'tokyo-2', 'ny-2')).toEqual([
      'tokyo-2',
      'tokyo-transit',
      'ny-transit',
      'ny-2',
    ]);
    expect(networkPath(twoTransits, 'tokyo-2', 'ny-2', ['tokyo-transit'])).toEqual([
      'tokyo-2',
      'tokyo-transit2',
      'ny-transit',
      'ny-2',
    ]);
  });

  it('a node with a wrong network group is refused with the seed message, naming every unreachable pair', () => {
    const wrong = [...TWO_SITES, { name: 'paderborn-1', groups: ['paderborn'] }];
    const r = checkNodePathMatrix(wrong);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(CmError);
    expect(r.error.code).toBe('CM_UNREACHABLE_NODES');
    expect(r.error.message).toContain(
      "Configuration rejected by binary 'COORDINATOR' with status 'checking new settings failed - Invalid node path matrix / unreachable nodes'",
    );
    expect(r.error.message).toContain(UNREACHABLE_NODES_STATUS);
    expect(r.error.details.pairs).toEqual([
      ['ny-2', 'paderborn-1'],
      ['ny-transit', 'paderborn-1'],
      ['paderborn-1', 'tokyo-2'],
      ['paderborn-1', 'tokyo-transit'],
    ]);
    expect(r.error.message).toContain('ny-2 <-> paderborn-1, ny-transit <-> paderborn-1');
    expect(checkNodePathMatrix(TWO_SITES).ok).toBe(true);
  });

  it('lists at most 20 pairs in the message, all in details', () => {
    const islands = Array.from({ length: 8 }, (_, i) => ({ name: `n${i}`, groups: [`g${i}`] }));
    const r = checkNodePathMatrix(islands);
    expect(!r.ok && r.error.details.pairs).toHaveLength(28);
    expect(!r.ok && r.error.message).toMatch(/and 8 more$/);
  });

  it('refuses a malformed list (duplicate names, bad groups)', () => {
    expect(() =>
      nodePathMatrix([
        { name: 'a', groups: ['x'] },
        { name: 'a', groups: ['x'] },
      ]),
    ).toThrow(expect.objectContaining({ code: 'CM_INVALID_ARGUMENT' }));
    expect(() => nodePathMatrix([{ name: 'a', groups: [''] }])).toThrow(
      expect.objectContaining({ code: 'CM_INVALID_ARGUMENT' }),
    );
    expect(() => nodePathMatrix('x' as never)).toThrow(
      expect.objectContaining({ code: 'CM_INVALID_ARGUMENT' }),
    );
  });

  it('property: symmetric, agrees with union-find reachability, and every path is a shortest chain of shared groups', () => {
    fc.assert(
      fc.property(layoutArb, (nodes) => {
        const m = nodePathMatrix(nodes);
        const ref = reachableRef(nodes);
        const groups = new Map(nodes.map((n) => [n.name, n.groups]));
        const n = m.nodes.length;
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            const a = m.nodes[i] as string;
            const b = m.nodes[j] as string;
            const p = m.paths[i]?.[j];
            const q = m.paths[j]?.[i];
            // symmetric: reachable both ways or neither, by paths of the same length
            expect(p === null).toBe(q === null);
            if (p && q) expect(p.length).toBe(q.length);
            expect(p !== null).toBe(ref(a, b));
            if (p) {
              expect(p[0]).toBe(a);
              expect(p[p.length - 1]).toBe(b);
              expect(new Set(p).size).toBe(p.length);
              for (let k = 1; k < p.length; k++)
                expect(
                  sharesNetworkGroup(groups.get(p[k - 1] as string) ?? [], groups.get(p[k] as string) ?? []),
                ).toBe(true);
              // shortest: no node two or more steps ahead shares a group with an earlier one
              for (let x = 0; x < p.length; x++)
                for (let y = x + 2; y < p.length; y++)
                  expect(
                    sharesNetworkGroup(groups.get(p[x] as string) ?? [], groups.get(p[y] as string) ?? []),
                  ).toBe(false);
            }
          }
        const pairs = m.unreachable.map(([a, b]) => `${a}|${b}`);
        const expected: string[] = [];
        for (let i = 0; i < n; i++)
          for (let j = i + 1; j < n; j++)
            if (!ref(m.nodes[i] as string, m.nodes[j] as string))
              expected.push(`${m.nodes[i]}|${m.nodes[j]}`);
        expect(pairs).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('property: a connected group graph has no unreachable pair', () => {
    // groups g0..gk chained by transit nodes (one in g(i) and g(i+1)); leaves anywhere
    const arb = fc.record({
      chain: fc.integer({ min: 1, max: 6 }),
      leaves: fc.array(fc.nat(), { maxLength: 25 }),
    });
    fc.assert(
      fc.property(arb, ({ chain, leaves }) => {
        const nodes: NetworkGroupNode[] = [];
        for (let i = 0; i + 1 < chain; i++) nodes.push({ name: `t${i}`, groups: [`g${i}`, `g${i + 1}`] });
        leaves.forEach((l, i) => {
          nodes.push({ name: `l${i}`, groups: [`g${l % chain}`] });
        });
        if (nodes.length === 0) return;
        expect(nodePathMatrix(nodes).unreachable).toEqual([]);
        expect(checkNodePathMatrix(nodes).ok).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('property: removing the only transit node of two groups makes exactly the cross pairs unreachable', () => {
    const arb = fc.record({ a: fc.integer({ min: 1, max: 10 }), b: fc.integer({ min: 1, max: 10 }) });
    fc.assert(
      fc.property(arb, ({ a, b }) => {
        const left = Array.from({ length: a }, (_, i) => ({ name: `a${i}`, groups: ['A'] }));
        const right = Array.from({ length: b }, (_, i) => ({ name: `b${i}`, groups: ['B'] }));
        const transit = { name: 'transit', groups: ['A', 'B'] };
        expect(nodePathMatrix([...left, transit, ...right]).unreachable).toEqual([]);
        const without = nodePathMatrix([...left, ...right]).unreachable.map(([x, y]) => `${x}|${y}`);
        const cross = left.flatMap((l) => right.map((r) => `${l.name}|${r.name}`));
        expect(without.sort()).toEqual(cross.sort());
        const r = checkNodePathMatrix([...left, ...right]);
        expect(!r.ok && r.error.details.pairs).toHaveLength(a * b);
      }),
      { numRuns: 100 },
    );
  });
});

// explainUnevenLoad: each of the three causes, the quiet case, and properties (even load never reads as
// few-sources; arbitrary input never throws).
import type { CmStatusNode } from '@proxyha/cm-coordinator';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ExplainNode, explainUnevenLoad, type UnevenLoadInput } from '../src/node/explain';

const node = (name: string, address: string, share: number, activeConnections: number, self = false) =>
  ({ name, address, share, activeConnections, self }) satisfies ExplainNode;

/** A director of three nodes with even shares and even connections, cm knowing the same three. */
function quiet(): UnevenLoadInput {
  return {
    vrrp: { state: 'master', vipOwner: '10.10.74.70' },
    director: {
      role: 'director',
      group: 51,
      redirects: [{ originalPort: 9090, destinationPort: 9090 }],
      director: { name: 'mwg1', address: '10.10.74.70' },
      nodes: [
        node('mwg1', '10.10.74.70', 1 / 3, 40, true),
        node('mwg2', '10.10.74.71', 1 / 3, 38),
        node('mwg3', '10.10.74.72', 1 / 3, 42),
      ],
    },
    cm: {
      nodes: ['mwg1', 'mwg2', 'mwg3'].map((name, i) => ({
        uuid: `u${i}`,
        name,
        address: `10.10.74.${70 + i}:12346`,
        version: '1.0.0',
        storageTimestamp: null,
        reachable: true,
        lastError: null,
      })),
    },
  };
}

describe('explainUnevenLoad', () => {
  it('is quiet when nothing suggests uneven load', () => {
    expect(explainUnevenLoad(quiet())).toEqual([]);
  });

  it('no-redirects: the director has no redirects configured', () => {
    const input = quiet();
    const out = explainUnevenLoad({ ...input, director: { ...input.director, redirects: [] } });
    expect(out).toEqual([
      {
        cause: 'no-redirects',
        message:
          'this node directs group 51 but has no redirects configured (ha.redirects): the connections to the VIP ' +
          'are not sent on to the scanning nodes, this node handles them all locally',
      },
    ]);
    // a scanner without redirects does not direct: nothing to explain
    expect(
      explainUnevenLoad({ ...input, director: { ...input.director, role: 'scanner', redirects: [] } }),
    ).toEqual([]);
  });

  it('few-sources: one node holds most connections with an even share; names the node and the numbers', () => {
    const input = quiet();
    const nodes = [
      node('mwg1', '10.10.74.70', 1 / 3, 10, true),
      node('mwg2', '10.10.74.71', 1 / 3, 170),
      node('mwg3', '10.10.74.72', 1 / 3, 20),
    ];
    const out = explainUnevenLoad({ ...input, director: { ...input.director, nodes } });
    expect(out).toEqual([
      {
        cause: 'few-sources',
        message:
          "mwg2 (10.10.74.71) holds 85% of the active connections (170 of 200) with 33.3% of the director's table " +
          '(an even share of 3 nodes is 33.3%): most connections come from a few source addresses (a NAT or a ' +
          'downstream proxy in front), and stickiness by source address keeps each of them on one node',
      },
    ]);
  });

  it('few-sources needs enough connections, a concentration above 60 % and an even-ish share', () => {
    const input = quiet();
    const at = (nodes: ExplainNode[]) =>
      explainUnevenLoad({ ...input, cm: null, director: { ...input.director, nodes } }).map((e) => e.cause);
    // 19 connections: too few to judge
    expect(at([node('a', '1', 0.5, 18), node('b', '2', 0.5, 1)])).toEqual([]);
    // 20 connections, 90 % on one node
    expect(at([node('a', '1', 0.5, 18), node('b', '2', 0.5, 2)])).toEqual(['few-sources']);
    // exactly 60 %: not more than 60 %
    expect(at([node('a', '1', 0.5, 60), node('b', '2', 0.5, 40)])).toEqual([]);
    // the busy node has most of the table: the table explains it, not the sources
    expect(at([node('a', '1', 0.8, 90), node('b', '2', 0.2, 10)])).toEqual([]);
    // a drained node (share 0) keeps its old connections: not counted as a table node
    expect(at([node('a', '1', 0, 90), node('b', '2', 1, 10)])).toEqual([]);
    // a single node in the table: nothing to compare
    expect(at([node('a', '1', 1, 100)])).toEqual([]);
  });

  it('unseen-nodes: central management knows nodes the director does not list', () => {
    const input = quiet();
    const base = input.cm?.nodes[0] as CmStatusNode;
    const cmNodes: CmStatusNode[] = [
      ...(input.cm?.nodes ?? []),
      { ...base, uuid: 'u9', name: 'mwg9', address: '10.20.0.9:12346' },
      { ...base, uuid: 'u8', name: 'mwg8', address: '[fd00::8]:12346' },
      // a configured peer that never answered is not a known node
      { ...base, uuid: null, name: '10.30.0.1:12346', address: '10.30.0.1:12346' },
    ];
    const out = explainUnevenLoad({ ...input, cm: { nodes: cmNodes } });
    expect(out).toEqual([
      {
        cause: 'unseen-nodes',
        message:
          'central management knows mwg9 (10.20.0.9) and mwg8 (fd00::8), which the director of group 51 does not ' +
          'see: they are on another subnet or use another group id (ha.group), and get no traffic',
      },
    ]);
    const one = explainUnevenLoad({ ...input, cm: { nodes: cmNodes.slice(0, 4) } });
    expect(one.map((e) => e.message)).toEqual([
      'central management knows mwg9 (10.20.0.9), which the director of group 51 does not see: it is on another ' +
        'subnet or uses another group id (ha.group), and gets no traffic',
    ]);
    // a node listed under another name but the same address is seen
    const renamed = explainUnevenLoad({
      ...input,
      cm: { nodes: [{ ...(input.cm?.nodes[1] as CmStatusNode), name: 'proxy-2' }] },
    });
    expect(renamed).toEqual([]);
    // a scanner lists only itself: it cannot tell
    expect(
      explainUnevenLoad({
        ...input,
        vrrp: { state: 'backup', vipOwner: '10.10.74.71' },
        director: { ...input.director, role: 'scanner', nodes: [node('mwg1', '10.10.74.70', 0, 3, true)] },
        cm: { nodes: cmNodes },
      }),
    ).toEqual([]);
  });

  it('unseen-nodes: a scanner that hears no director while VRRP says another node is master', () => {
    const input = quiet();
    const scanner = {
      ...input.director,
      role: 'scanner' as const,
      director: undefined,
      nodes: [node('mwg1', '10.10.74.70', 0, 0, true)],
    };
    const out = explainUnevenLoad({
      ...input,
      vrrp: { state: 'backup', vipOwner: '10.10.74.71' },
      director: scanner,
    });
    expect(out).toEqual([
      {
        cause: 'unseen-nodes',
        message:
          'VRRP says 10.10.74.71 is master, but this node hears no director of group 51: the master is on another ' +
          'subnet or uses another group id (ha.group), and this node gets no traffic',
      },
    ]);
    // a director heard, or no master known, or a fault: nothing
    const heard = { ...scanner, director: { name: 'mwg2', address: '10.10.74.71' } };
    expect(
      explainUnevenLoad({ ...input, vrrp: { state: 'backup', vipOwner: '10.10.74.71' }, director: heard }),
    ).toEqual([]);
    expect(
      explainUnevenLoad({ ...input, vrrp: { state: 'backup', vipOwner: null }, director: scanner }),
    ).toEqual([]);
    expect(
      explainUnevenLoad({ ...input, vrrp: { state: 'fault', vipOwner: '10.10.74.71' }, director: scanner }),
    ).toEqual([]);
  });

  it('several causes at once, in order', () => {
    const input = quiet();
    const out = explainUnevenLoad({
      ...input,
      director: {
        ...input.director,
        redirects: [],
        nodes: [node('mwg1', '10.10.74.70', 0.5, 5, true), node('mwg2', '10.10.74.71', 0.5, 95)],
      },
    });
    expect(out.map((e) => e.cause)).toEqual(['no-redirects', 'few-sources', 'unseen-nodes']);
  });
});

describe('explainUnevenLoad properties', () => {
  it('perfectly even shares and connections never produce few-sources', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 100_000 }), (n, each) => {
        const input = quiet();
        const nodes = Array.from({ length: n }, (_, i) => node(`n${i}`, `10.0.0.${i}`, 1 / n, each, i === 0));
        const causes = explainUnevenLoad({ ...input, director: { ...input.director, nodes } }).map(
          (e) => e.cause,
        );
        expect(causes).not.toContain('few-sources');
      }),
    );
  });

  it('never throws, whatever the numbers and names; every explanation has a known cause and a message', () => {
    const num = fc.oneof(fc.double(), fc.integer(), fc.constant(Number.NaN), fc.constant(-1));
    const arbNode = fc.record({
      name: fc.string(),
      address: fc.string(),
      share: num,
      activeConnections: num,
      self: fc.boolean(),
    });
    const cmNode = fc.record({
      uuid: fc.option(fc.string()),
      name: fc.string(),
      address: fc.string(),
      version: fc.string(),
      storageTimestamp: fc.option(fc.string()),
      reachable: fc.boolean(),
      lastError: fc.option(fc.string()),
    });
    const input = fc.record({
      vrrp: fc.record({
        state: fc.constantFrom('initialize', 'backup', 'master', 'fault') as fc.Arbitrary<
          UnevenLoadInput['vrrp']['state']
        >,
        vipOwner: fc.option(fc.string()),
      }),
      director: fc.record({
        role: fc.constantFrom('director', 'scanner') as fc.Arbitrary<'director' | 'scanner'>,
        group: fc.integer(),
        redirects: fc.array(fc.record({ originalPort: fc.integer(), destinationPort: fc.integer() }), {
          maxLength: 3,
        }),
        director: fc.option(fc.record({ name: fc.string(), address: fc.string() }), { nil: undefined }),
        nodes: fc.array(arbNode, { maxLength: 8 }),
      }),
      cm: fc.option(fc.record({ nodes: fc.array(cmNode, { maxLength: 8 }) })),
    });
    fc.assert(
      fc.property(input, (i) => {
        const out = explainUnevenLoad(i);
        for (const e of out) {
          expect(['no-redirects', 'few-sources', 'unseen-nodes']).toContain(e.cause);
          expect(e.message.length).toBeGreaterThan(0);
        }
        expect(new Set(out.map((e) => e.cause)).size).toBe(out.length);
      }),
    );
  });
});

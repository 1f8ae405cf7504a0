// The split-brain rule (which director the scanners follow) and the log line of every action.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareAddresses,
  compareDirectors,
  type DirectorSnapshot,
  formatLbAction,
  type LbAction,
  LbMachine,
  type MemberSnapshot,
} from '../src/index';
import { buildAnnouncement, simNodeId } from '../src/sim/index';

const d = (id: number, address: string, priority: number) => ({ id: simNodeId(id), address, priority });

describe('the split-brain rule', () => {
  it('the highest priority first', () => {
    expect(compareDirectors(d(1, '10.0.0.1', 200), d(2, '10.0.0.9', 100))).toBeGreaterThan(0);
    expect(compareDirectors(d(2, '10.0.0.9', 100), d(1, '10.0.0.1', 200))).toBeLessThan(0);
  });

  it('then the highest management address, compared as bytes (not as text)', () => {
    expect(compareDirectors(d(1, '10.0.0.10', 100), d(2, '10.0.0.9', 100))).toBeGreaterThan(0);
    expect(compareAddresses('10.0.0.10', '10.0.0.9')).toBeGreaterThan(0);
    expect(compareAddresses('192.168.0.1', '10.255.255.255')).toBeGreaterThan(0);
  });

  it('every IPv6 address ranks above every IPv4 address; text that is no address ranks lowest', () => {
    expect(compareAddresses('::1', '255.255.255.255')).toBeGreaterThan(0);
    expect(compareAddresses('fd00::2', 'fd00::10')).toBeLessThan(0);
    expect(compareAddresses('0.0.0.0', 'not-an-address')).toBeGreaterThan(0);
    expect(compareAddresses('2001:db8::1', '2001:DB8:0::1')).toBe(0);
  });

  it('then the highest node id', () => {
    expect(compareDirectors(d(3, '10.0.0.1', 100), d(2, '10.0.0.1', 100))).toBeGreaterThan(0);
    expect(compareDirectors(d(3, '10.0.0.1', 100), d(3, '10.0.0.1', 100))).toBe(0);
  });

  it('is a total order: antisymmetric and transitive', () => {
    const arb = fc.record({
      id: fc.integer({ min: 1, max: 4 }),
      address: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.10', 'fd00::1', '::', 'x'),
      priority: fc.integer({ min: 0, max: 3 }),
    });
    fc.assert(
      fc.property(arb, arb, arb, (a, b, c) => {
        const [x, y, z] = [a, b, c].map((v) => d(v.id, v.address, v.priority)) as [
          ReturnType<typeof d>,
          ReturnType<typeof d>,
          ReturnType<typeof d>,
        ];
        expect(Math.sign(compareDirectors(x, y))).toBe(-Math.sign(compareDirectors(y, x)) || 0);
        if (compareDirectors(x, y) > 0 && compareDirectors(y, z) > 0)
          expect(compareDirectors(x, z)).toBeGreaterThan(0);
      }),
    );
  });

  it('every scanner follows the same director whatever order the announcements arrive in', () => {
    const directors = [
      { n: 2, address: '10.0.0.2', priority: 100 },
      { n: 3, address: '10.0.0.30', priority: 100 },
      { n: 4, address: '10.0.0.4', priority: 90 },
      { n: 5, address: '10.0.0.30', priority: 100 },
    ];
    fc.assert(
      fc.property(
        fc.shuffledSubarray(directors, { minLength: 2 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
        (chosen, order) => {
          const m = new LbMachine({ selfId: simNodeId(1), group: 51 });
          // two rounds, so that every pair is concurrent (each announced after the other appeared)
          let at = 0;
          for (let round = 0; round < 2; round++)
            for (const i of order.map((o) => o % chosen.length).concat(chosen.map((_, k) => k))) {
              const x = chosen[i] as (typeof directors)[number];
              m.step({
                type: 'announcement',
                at: at++,
                source: x.address,
                announcement: buildAnnouncement({
                  nodeId: simNodeId(x.n),
                  address: x.address,
                  priority: x.priority,
                }),
              });
            }
          const best = [...chosen].sort((a, b) =>
            compareDirectors(d(b.n, b.address, b.priority), d(a.n, a.address, a.priority)),
          )[0];
          expect(m.snapshot().director?.id).toBe(simNodeId(best?.n as number));
          expect(m.snapshot().directors.map((x) => x.id)).toEqual(
            [...chosen]
              .sort((a, b) => compareDirectors(d(b.n, b.address, b.priority), d(a.n, a.address, a.priority)))
              .map((x) => simNodeId(x.n)),
          );
        },
      ),
    );
  });
});

describe('log lines', () => {
  const node = (fields: Partial<MemberSnapshot> = {}): MemberSnapshot => ({
    id: simNodeId(2),
    name: 'proxy-b',
    address: '10.0.0.2',
    softwareVersion: '0.1.0',
    self: false,
    reported: true,
    health: { status: 'ok', failingPorts: [] },
    weight: 100,
    resources: { cpu: 0, memory: 0, load: 0 },
    connections: [],
    activeConnections: 0,
    joinedAt: 0,
    lastReportAt: 0,
    intervalMs: 1000,
    ...fields,
  });
  const dir = (n: number, name: string): DirectorSnapshot => ({
    id: simNodeId(n),
    name,
    address: `10.0.0.${n}`,
    priority: 100,
    redirects: [],
    intervalMs: 1000,
    lastSeenAt: 0,
    self: false,
  });
  const line = (a: LbAction) => formatLbAction(a, 51);

  it('membership', () => {
    expect(line({ type: 'nodeJoined', node: node() })).toBe('Scanning partner has joined 10.0.0.2 (proxy-b)');
    expect(line({ type: 'nodeFailed', node: node(), silentMs: 3000 })).toBe(
      'Scanning partner has failed 10.0.0.2',
    );
    expect(
      line({ type: 'nodeDrained', node: node({ health: { status: 'failure', failingPorts: [9090] } }) }),
    ).toBe('Scanning partner 10.0.0.2 (proxy-b) is draining: current state: failure (port 9090)');
    expect(
      line({
        type: 'nodeDrained',
        node: node({ health: { status: 'failure', failingPorts: [9090, 9091] } }),
      }),
    ).toBe('Scanning partner 10.0.0.2 (proxy-b) is draining: current state: failure (port 9090, 9091)');
    expect(line({ type: 'nodeRestored', node: node() })).toBe(
      'Scanning partner 10.0.0.2 (proxy-b) has recovered',
    );
    expect(
      line({ type: 'nodeAddressChanged', node: node({ address: '10.0.9.2' }), previousAddress: '10.0.0.2' }),
    ).toBe('Scanning partner proxy-b changed its address from 10.0.0.2 to 10.0.9.2');
    expect(
      line({
        type: 'tableChanged',
        table: { size: 4093, seed: 1, nodes: [], owners: new Uint16Array(4093) },
        changedBuckets: [1, 2, 3],
        reason: 'membership',
      }),
    ).toBe('table updated (membership): 3 of 4093 buckets moved');
    expect(line({ type: 'roleChanged', role: 'director', previous: 'scanner' })).toBe(
      'role changed from scanner to director',
    );
  });

  it('directors', () => {
    const a = dir(1, 'proxy-a');
    const b = dir(2, 'proxy-b');
    expect(line({ type: 'directorFound', director: a })).toBe('director is 10.0.0.1 (proxy-a)');
    expect(line({ type: 'directorChanged', director: b, previous: a })).toBe(
      'director changed from 10.0.0.1 (proxy-a) to 10.0.0.2 (proxy-b)',
    );
    expect(line({ type: 'directorLost', director: a })).toBe('lost director 10.0.0.1 (proxy-a)');
    expect(line({ type: 'splitBrain', directors: [b, a], following: b })).toBe(
      'split brain: 2 directors announce group 51: 10.0.0.2 (proxy-b), 10.0.0.1 (proxy-a); following 10.0.0.2',
    );
    expect(line({ type: 'splitBrainHealed', director: a })).toBe(
      'split brain healed: one director 10.0.0.1 (proxy-a)',
    );
  });
});

// DataPlaneBinding: LbNode's role and tables drive a data plane (the in-memory twin here), on the manual
// clock over netio's in-memory LAN.
import { randomUUID } from 'node:crypto';
import { ManualClock, MemoryLogger } from '@proxyha/common';
import { MemoryNetwork } from '@proxyha/netio';
import { describe, expect, it } from 'vitest';
import type { ReportedHealth } from '../src/codec/types';
import { MemoryDataPlane } from '../src/dataplane/index';
import { DataPlaneBinding, type ScannerSetup } from '../src/driver/dataplane-binding';
import { createWire } from '../src/driver/wire';
import { LbNode, RawLbTransport } from '../src/index';

const INTERVAL = 1000;

function lan(count: number) {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock });
  const health: ReportedHealth[] = [];
  const nodes = Array.from({ length: count }, (_, i) => {
    const address = `192.168.77.${11 + i}`;
    const host = net.addHost(`n${i}`, { interfaces: [{ name: 'eth0', ipv4: [`${address}/24`] }] });
    health[i] = { status: 'ok', failingPorts: [] };
    return new LbNode({
      group: 51,
      nodeId: randomUUID(),
      name: `n${i}`,
      managementIp: address,
      softwareVersion: '1',
      redirects: [{ originalPort: 9090, destinationPort: 9090 }],
      intervalMs: INTERVAL,
      weight: 100,
      priority: 100,
      scheduler: { loadAware: false },
      transport: new RawLbTransport({ interface: 'eth0', source: address, stack: host }),
      wire: createWire(),
      health: () => health[i] as ReportedHealth,
      resources: async (ports) => ({
        resources: { cpu: 0, memory: 0, load: 0 },
        connections: ports.map((port) => ({ port, active: 0 })),
      }),
      clock,
    });
  });
  return { clock, nodes, health };
}

const ops = (p: MemoryDataPlane) => p.history.map((h) => h.op);

describe('DataPlaneBinding', () => {
  it('directs while the node is director: start, full table, deltas of changed buckets only, stop', async () => {
    const { clock, nodes } = lan(3);
    const [a] = nodes as [LbNode];
    const plane = new MemoryDataPlane();
    const log = new MemoryLogger();
    const binding = new DataPlaneBinding(a, plane, { logger: log, clock });
    for (const n of nodes) await n.start();
    await binding.sync();
    expect(ops(plane)).toEqual([]); // a scanner does not direct
    a.setRole('director');
    await clock.advanceAsync(3 * INTERVAL);
    expect(ops(plane)[0]).toBe('start');
    const applies = plane.history.filter((h) => h.op === 'apply');
    expect(applies[0]?.changedBuckets).toBe('all');
    // every later apply names exactly the buckets whose owner changed
    for (const h of applies.slice(1)) expect(h.changedBuckets).toEqual(h.diff);
    expect(plane.table?.nodes).toHaveLength(3);
    expect(log.entries.map((e) => e.message)).toContain('data plane memory: directing');
    // the installed table is the node's
    for (const client of ['10.0.0.1', '10.9.8.7', '172.16.5.4'])
      expect(plane.route(client)).toBe(a.lookup(client));

    a.setRole('scanner');
    await clock.advanceAsync(10);
    expect(ops(plane).at(-1)).toBe('stop');
    expect(plane.running).toBe(false);
    await binding.close();
    for (const n of nodes) await n.stop();
  });

  it('a node the data plane cannot reach gets no new clients; a failed apply is retried with every bucket', async () => {
    const { clock, nodes } = lan(3);
    const [a, b] = nodes as [LbNode, LbNode];
    const plane = new MemoryDataPlane();
    const binding = new DataPlaneBinding(a, plane, { clock });
    a.setRole('director');
    for (const n of nodes) await n.start();
    await binding.sync();
    await clock.advanceAsync(3 * INTERVAL);
    const bId = b.status().self.id;
    expect(plane.shares().get(bId)).toBeGreaterThan(0.3);

    plane.refuse(bId, 'ECONNREFUSED');
    await clock.advanceAsync(10);
    expect(a.status().nodes.find((n) => n.id === bId)?.share).toBe(0);
    expect(plane.shares().get(bId) ?? 0).toBe(0);
    // after the hold-off (failAfter intervals) its ok reports restore it
    plane.accept(bId);
    await clock.advanceAsync(5 * INTERVAL);
    expect(plane.shares().get(bId)).toBeGreaterThan(0.3);

    // an apply that fails keeps the old table; the next one sends every bucket
    plane.failNext('apply', new Error('nft: transaction refused'));
    b.setRole('scanner'); // no-op: b is a scanner already
    await b.stop(); // b fails after three silent intervals: a new table
    await clock.advanceAsync(5 * INTERVAL);
    const applies = plane.history.filter((h) => h.op === 'apply');
    const failedAt = applies.findIndex((h) => h.failed);
    expect(failedAt).toBeGreaterThan(0);
    expect(binding.failures).toBe(1);
    // retried after retryMs with every bucket, and that one installs the table
    const next = applies[failedAt + 1];
    expect(next).toMatchObject({ failed: false, changedBuckets: 'all' });
    expect(plane.table).toBe(a.table);
    await binding.close();
    for (const n of nodes) await n.stop();
  });

  it('a scanning node keeps its scanner setup in place and removes it before directing', async () => {
    const { clock, nodes } = lan(1);
    const [a] = nodes as [LbNode];
    const calls: string[] = [];
    const plane = new MemoryDataPlane();
    const origStart = plane.start.bind(plane);
    plane.start = async () => {
      calls.push('plane.start');
      await origStart();
    };
    const setup: ScannerSetup = {
      start: async () => void calls.push('setup.start'),
      stop: async () => void calls.push('setup.stop'),
    };
    const binding = new DataPlaneBinding(a, plane, { scanner: setup, clock });
    await a.start();
    await binding.sync();
    a.setRole('director');
    await clock.advanceAsync(10);
    a.setRole('scanner');
    await clock.advanceAsync(10);
    await binding.close();
    expect(calls).toEqual(['setup.start', 'setup.stop', 'plane.start', 'setup.start', 'setup.stop']);
    await a.stop();
  });

  it('keepLoaded: the data plane is started on a non-director and stays loaded (last table kept) after a step down', async () => {
    const { clock, nodes } = lan(2);
    const [a] = nodes as [LbNode];
    const plane = new MemoryDataPlane();
    const log = new MemoryLogger();
    const binding = new DataPlaneBinding(a, plane, { logger: log, clock, keepLoaded: true });
    for (const n of nodes) await n.start();
    await binding.sync();
    expect(ops(plane)).toEqual(['start']); // standing by: loaded before the node directs
    expect(plane.running).toBe(true);
    a.setRole('director');
    await clock.advanceAsync(3 * INTERVAL);
    expect(ops(plane).filter((o) => o === 'start')).toHaveLength(1); // takeover needs no start
    expect(plane.history.find((h) => h.op === 'apply')?.changedBuckets).toBe('all');
    const table = plane.table;
    expect(table?.nodes).toHaveLength(2);
    a.setRole('scanner');
    await clock.advanceAsync(10);
    expect(ops(plane)).not.toContain('stop');
    expect(plane.running).toBe(true);
    expect(plane.table).toBe(table); // the last table stays for the next takeover
    a.setRole('director');
    await clock.advanceAsync(3 * INTERVAL);
    expect(ops(plane).filter((o) => o === 'start')).toHaveLength(1);
    expect(plane.history.filter((h) => h.op === 'apply').at(-1)?.changedBuckets).toBeDefined();
    await binding.close();
    expect(ops(plane).at(-1)).toBe('stop');
    expect(plane.running).toBe(false);
    expect(log.entries.map((e) => e.message)).toContain(
      'data plane memory: standing by (loaded, not directing)',
    );
    for (const n of nodes) await n.stop();
  });

  it('keepLoaded is ignored with a scanner setup (direct routing): the plane runs only while directing', async () => {
    const { clock, nodes } = lan(1);
    const [a] = nodes as [LbNode];
    const plane = new MemoryDataPlane();
    const setup: ScannerSetup = { start: async () => {}, stop: async () => {} };
    const binding = new DataPlaneBinding(a, plane, { scanner: setup, clock, keepLoaded: true });
    await a.start();
    await binding.sync();
    expect(ops(plane)).toEqual([]);
    a.setRole('director');
    await clock.advanceAsync(10);
    a.setRole('scanner');
    await clock.advanceAsync(10);
    expect(ops(plane)[0]).toBe('start');
    expect(ops(plane).at(-1)).toBe('stop');
    expect(plane.running).toBe(false);
    await binding.close();
    await a.stop();
  });
});

// LbNode over netio's in-memory network and the manual clock: the real driver, codec and machines,
// with virtual time (so the interval counts are exact) and scripted health and load.

import { randomUUID } from 'node:crypto';
import { ManualClock, MemoryLogger } from '@proxyha/common';
import { MemoryNetwork } from '@proxyha/netio';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../src/codec/index';
import type { LoadReport, ReportedHealth } from '../src/codec/types';
import { createWire } from '../src/driver/wire';
import {
  formatStatus,
  LbNode,
  type LbNodeOptions,
  RawLbTransport,
  statusDocument,
  VipRoleWatcher,
} from '../src/index';
import type { BucketTable } from '../src/scheduler/types';

const INTERVAL = 1000;
const SECRET = { id: 1, secret: Buffer.alloc(32, 7) };

interface TestNode {
  node: LbNode;
  log: MemoryLogger;
  health: ReportedHealth;
  active: number;
  address: string;
  id: string;
}

function group(count: number, opts: { keyed?: boolean; group?: number[] } = {}) {
  const clock = new ManualClock({ wallAtStart: Date.UTC(2026, 10, 30) });
  const net = new MemoryNetwork({ clock });
  const nodes: TestNode[] = [];
  for (let i = 0; i < count; i++) {
    const address = `192.168.77.${11 + i}`;
    const host = net.addHost(`n${i}`, { interfaces: [{ name: 'eth0', ipv4: [`${address}/24`] }] });
    const t = {
      log: new MemoryLogger(),
      health: { status: 'ok', failingPorts: [] },
      active: 0,
      address,
      id: randomUUID(),
    } as Omit<TestNode, 'node'> as TestNode;
    const options: LbNodeOptions = {
      group: opts.group?.[i] ?? 51,
      nodeId: t.id,
      name: `n${i}`,
      managementIp: address,
      softwareVersion: '1.2.3',
      redirects: [{ originalPort: 9090, destinationPort: 9090 }],
      intervalMs: INTERVAL,
      weight: 100,
      priority: 100,
      transport: new RawLbTransport({ interface: 'eth0', source: address, stack: host }),
      wire: createWire(opts.keyed ? { keys: { primary: SECRET, keys: [SECRET] } } : {}),
      health: () => t.health,
      resources: async (ports) => ({
        resources: { cpu: 0.1, memory: 0.2, load: 0.3 },
        connections: ports.map((port) => ({ port, active: t.active })),
      }),
      role: i === 0 ? 'director' : 'scanner',
      clock,
      logger: t.log,
    };
    t.node = new LbNode(options);
    nodes.push(t);
  }
  return { clock, net, nodes };
}

const lines = (t: TestNode) => t.log.entries.map((e) => e.message);

describe('LbNode over an in-memory LAN', () => {
  it('the director learns every node within two intervals and shares the table', async () => {
    const { clock, nodes } = group(3);
    for (const t of nodes) await t.node.start();
    await clock.advanceAsync(2 * INTERVAL);
    const [d] = nodes as [TestNode];
    const s = d.node.status();
    expect(s.role).toBe('director');
    expect(s.nodes.map((n) => n.address)).toEqual(['192.168.77.11', '192.168.77.12', '192.168.77.13']);
    for (const n of s.nodes) expect(n.share).toBeCloseTo(1 / 3, 2);
    expect(lines(d)).toContain('Scanning partner has joined 192.168.77.12 (n1)');
    expect(lines(nodes[1] as TestNode)).toContain('director is 192.168.77.11 (n0)');
    // the order an operator reads: director first, then partners
    const log = lines(d);
    expect(log.indexOf('set lbnetwork 1')).toBeLessThan(log.indexOf('state=master previous=backup'));
    // a scanner shows the director and only itself
    const s1 = (nodes[1] as TestNode).node.status();
    expect(s1.director?.address).toBe('192.168.77.11');
    expect(s1.nodes.map((n) => n.address)).toEqual(['192.168.77.12']);
    expect(statusDocument(s)).toMatchObject({
      role: 'director',
      group: 51,
      director: { address: '192.168.77.11' },
    });
    expect(formatStatus(s)).toMatch(/^group 51: director \(state=master\)/);
    // every client address maps to one of the three
    const owners = new Set(Array.from({ length: 200 }, (_, i) => d.node.lookup(`10.1.${i >> 4}.${i}`)));
    expect([...owners].sort()).toEqual(nodes.map((n) => n.id).sort());
    for (const t of nodes) await t.node.stop();
  });

  it('a silent node is failed after three intervals, not before', async () => {
    const { clock, nodes } = group(3);
    for (const t of nodes) await t.node.start();
    await clock.advanceAsync(3 * INTERVAL);
    const [d, , c] = nodes as [TestNode, TestNode, TestNode];
    const lastReport = d.node.status().nodes.find((n) => n.address === c.address);
    expect(lastReport).toBeDefined();
    await c.node.stop();
    const stoppedAt = clock.now();
    await clock.until(() => lines(d).includes('Scanning partner has failed 192.168.77.13'), 10 * INTERVAL);
    const failedAt = clock.now();
    // silent for three of its intervals since its last report (which was at most one interval before the stop)
    expect(failedAt - stoppedAt).toBeGreaterThanOrEqual(2 * INTERVAL);
    expect(failedAt - stoppedAt).toBeLessThanOrEqual(3 * INTERVAL + 1);
    const entry = d.log.entries.find((e) => e.message === 'Scanning partner has failed 192.168.77.13');
    expect(entry?.fields?.silentMs).toBeGreaterThanOrEqual(3 * INTERVAL);
    expect(d.node.status().nodes.map((n) => n.address)).toEqual(['192.168.77.11', '192.168.77.12']);
    for (const t of nodes) await t.node.stop();
  });

  it('a node whose ports fail is drained, keeps its place, and returns', async () => {
    const { clock, nodes } = group(3);
    for (const t of nodes) await t.node.start();
    await clock.advanceAsync(3 * INTERVAL);
    const [d, b] = nodes as [TestNode, TestNode];
    b.health = { status: 'failure', failingPorts: [9090] };
    await clock.advanceAsync(2 * INTERVAL);
    expect(lines(d)).toContain(
      'Scanning partner 192.168.77.12 (n1) is draining: current state: failure (port 9090)',
    );
    const drained = d.node.status().nodes.find((n) => n.address === b.address);
    expect(drained).toMatchObject({ health: 'failure', share: 0, failingPorts: [9090] });
    b.health = { status: 'ok', failingPorts: [] };
    await clock.advanceAsync(2 * INTERVAL);
    expect(lines(d)).toContain('Scanning partner 192.168.77.12 (n1) has recovered');
    expect(d.node.status().nodes.find((n) => n.address === b.address)?.share).toBeGreaterThan(0.3);
    for (const t of nodes) await t.node.stop();
  });

  it('another group on the LAN is ignored and counted; our own broadcasts are not members', async () => {
    const { clock, nodes } = group(3, { group: [51, 51, 52] });
    (nodes[2] as TestNode).node.setRole('director');
    for (const t of nodes) await t.node.start();
    await clock.advanceAsync(3 * INTERVAL);
    const [d, , other] = nodes as [TestNode, TestNode, TestNode];
    const s = d.node.status();
    expect(s.nodes.map((n) => n.address)).toEqual(['192.168.77.11', '192.168.77.12']);
    expect(s.counters.otherGroup).toBeGreaterThan(0);
    expect(s.directors).toHaveLength(1);
    expect(other.node.status().nodes.map((n) => n.address)).toEqual(['192.168.77.13']);
    for (const t of nodes) await t.node.stop();
  });

  it('with a key, forged and replayed reports change nothing and are counted', async () => {
    const { clock, net, nodes } = group(2, { keyed: true });
    for (const t of nodes) await t.node.start();
    await clock.advanceAsync(3 * INTERVAL);
    const [d, b] = nodes as [TestNode, TestNode];
    const before = d.node.status();
    const attacker = net.addHost('x', { interfaces: [{ name: 'eth0', ipv4: ['192.168.77.99/24'] }] });
    const sock = await attacker.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' });
    const forged: LoadReport = {
      type: 'report',
      group: 51,
      nodeId: b.id,
      address: b.address,
      sequence: 10_000,
      timestamp: Math.floor(clock.wallTime()),
      intervalMs: INTERVAL,
      name: 'n1',
      softwareVersion: '1.2.3',
      health: { status: 'failure', failingPorts: [9090] },
      weight: 100,
      resources: { cpu: 0, memory: 0, load: 0 },
      connections: [{ port: 9090, active: 0 }],
    };
    await sock.send(encodeMessage(forged, { key: { id: 1, secret: Buffer.alloc(32, 8) } }), d.address);
    await sock.send(encodeMessage(forged), d.address);
    await sock.send(
      encodeMessage({ ...forged, nodeId: randomUUID() }, { key: { id: 9, secret: Buffer.alloc(32, 7) } }),
      d.address,
    );
    // a genuine, correctly signed report that is older than one already accepted: a replay
    await sock.send(
      encodeMessage(
        { ...forged, timestamp: forged.timestamp - 5000, health: { status: 'ok', failingPorts: [] } },
        { key: SECRET },
      ),
      d.address,
    );
    await clock.advanceAsync(10);
    const after = d.node.status();
    expect(after.nodes).toEqual(
      before.nodes.map((n) => ({ ...n, lastReportAgeMs: expect.any(Number), resources: expect.anything() })),
    );
    expect(after.counters.rejected).toMatchObject({
      LB_AUTH_BAD_MAC: 1,
      LB_AUTH_MISSING: 1,
      LB_AUTH_UNKNOWN_KEY: 1,
      LB_AUTH_REPLAY: 1,
    });
    expect(lines(d).some((l) => l.includes('is draining'))).toBe(false);
    sock.close();
    for (const t of nodes) await t.node.stop();
  });

  it('the role follows the VIP on the host (VipRoleWatcher)', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock });
    const host = net.addHost('h', { interfaces: [{ name: 'eth0', ipv4: ['192.168.77.11/24'] }] });
    const roles: string[] = [];
    const w = new VipRoleWatcher({
      virtualIps: ['192.168.77.74/24'],
      stack: host,
      onRole: (r) => roles.push(r),
    });
    expect(await w.start()).toBe('scanner');
    await host.addAddress('eth0', '192.168.77.74/24');
    await clock.advanceAsync(1);
    await host.removeAddress('eth0', '192.168.77.74/24');
    await clock.advanceAsync(1);
    w.stop();
    expect(roles).toEqual(['scanner', 'director', 'scanner']);
  });

  it('a VIP on an ignored interface (direct routing: lo of a scanning node) does not make a director', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock });
    const host = net.addHost('h', { interfaces: [{ name: 'eth0', ipv4: ['192.168.77.11/24'] }] });
    const roles: string[] = [];
    const w = new VipRoleWatcher({
      virtualIps: ['192.168.77.74/24'],
      stack: host,
      ignoreInterfaces: ['lo'],
      onRole: (r) => roles.push(r),
    });
    expect(await w.start()).toBe('scanner');
    await host.addAddress('lo', '192.168.77.74/32');
    await clock.advanceAsync(1);
    expect(roles).toEqual(['scanner']);
    await host.addAddress('eth0', '192.168.77.74/24');
    await clock.advanceAsync(1);
    w.stop();
    expect(roles).toEqual(['scanner', 'director']);
  });

  it('a scanner that becomes director is in its first table (its latest report is kept)', async () => {
    const { clock, nodes } = group(2);
    for (const t of nodes) await t.node.start();
    await clock.advanceAsync(2 * INTERVAL);
    const [a, b] = nodes as [TestNode, TestNode];
    const tables: BucketTable[] = [];
    b.node.on('table', (t) => tables.push(t));
    const before = a.node.table as BucketTable;
    a.node.setRole('scanner');
    b.node.setRole('director');
    // it takes over the table a announced (both nodes, the very same owners): no client changes node
    expect(tables[0]?.nodes).toEqual(before.nodes);
    expect(tables[0]?.owners).toEqual(before.owners);
    expect(lines(b).some((l) => l.startsWith(`took over the table of ${a.address} (n0): 2 nodes`))).toBe(
      true,
    );
    expect(
      b.node
        .status()
        .nodes.map((n) => n.id)
        .sort(),
    ).toEqual([a.id, b.id].sort());
    for (const t of nodes) await t.node.stop();
  });

  it('a node that turns director logs the seed lines and announces; turning scanner again follows another', async () => {
    const { clock, nodes } = group(2);
    for (const t of nodes) await t.node.start();
    await clock.advanceAsync(2 * INTERVAL);
    const [a, b] = nodes as [TestNode, TestNode];
    a.node.setRole('scanner');
    b.node.setRole('director');
    await clock.advanceAsync(2 * INTERVAL);
    expect(lines(a)).toEqual(expect.arrayContaining(['set lbnetwork 0', 'state=backup previous=master']));
    expect(lines(b)).toEqual(expect.arrayContaining(['set lbnetwork 1', 'state=master previous=backup']));
    await clock.advanceAsync(2 * INTERVAL);
    expect(a.node.status().director?.address).toBe(b.address);
    expect(b.node.status().nodes.map((n) => n.address)).toEqual([a.address, b.address]);
    for (const t of nodes) await t.node.stop();
  });
});

// Directors that agree: the director announces the inputs of its table, scanning nodes rebuild it bit
// for bit (and keep it loaded when asked), and a new director adopts it at the takeover, so that no
// client changes node because the VIP moved.
import { randomUUID } from 'node:crypto';
import { ManualClock, MemoryLogger } from '@proxyha/common';
import { MemoryNetwork } from '@proxyha/netio';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, LB_FLAG_TABLE } from '../src/codec/message';
import type { AnnouncedTable, Announcement, ReportedHealth } from '../src/codec/types';
import { MemoryDataPlane } from '../src/dataplane/index';
import { DataPlaneBinding } from '../src/driver/dataplane-binding';
import { createWire } from '../src/driver/wire';
import { LbMachine, LbNode, RawLbTransport, tableFromInputs } from '../src/index';
import type { LbAction, LbEvent } from '../src/machine/types';
import { createScheduler } from '../src/scheduler/index';
import type { SchedulerNode } from '../src/scheduler/types';
import { buildAnnouncement, buildReport, simNodeId } from '../src/sim/index';

const ID = simNodeId;

const member = (n: number, fields: Partial<AnnouncedTable['members'][number]> = {}) => ({
  nodeId: ID(n),
  address: `10.0.0.${n}`,
  capacity: 100,
  weight256: 100 * 256,
  healthy: true,
  bounded: false,
  ...fields,
});

const sampleTable: AnnouncedTable = {
  size: 32749,
  seed: 0x70726f78,
  members: [
    member(1),
    member(2, { address: 'fd00::2', capacity: 200, weight256: 200 * 300 }),
    member(3, { healthy: false, weight256: 0, bounded: true }),
  ],
};

describe('the announced table on the wire', () => {
  it('round-trips with IPv4 and IPv6 members, sets the table flag, and with a key too', () => {
    const a = buildAnnouncement({ nodeId: ID(1), table: sampleTable });
    const bytes = encodeMessage(a);
    expect(bytes[3]).toBe(LB_FLAG_TABLE);
    // header 44, priority and name 8, redirects 5, table 9, members 28 (IPv4), 40 (IPv6), 28
    expect(bytes.length).toBe(44 + 8 + 5 + 9 + 28 + 40 + 28);
    const back = decodeMessage(bytes);
    expect(back.ok && back.value).toEqual(a);
    const signed = encodeMessage(a, { key: { id: 1, secret: new Uint8Array(16).fill(7) } });
    expect(signed[3]).toBe(LB_FLAG_TABLE | 1);
    const back2 = decodeMessage(signed);
    expect(back2.ok && back2.value).toEqual(a);
    // without a table: no flag, the same bytes as before the extension
    const plain = encodeMessage(buildAnnouncement({ nodeId: ID(1) }));
    expect(plain[3]).toBe(0);
  });

  it('the encoder names each bad field of a table', () => {
    const bad = (table: unknown) => {
      try {
        encodeMessage(buildAnnouncement({ table: table as AnnouncedTable }));
        return [];
      } catch (e) {
        return ((e as { details: { issues: { path: string }[] } }).details.issues ?? []).map((i) => i.path);
      }
    };
    expect(bad({ ...sampleTable, size: 1 })).toEqual(['table.size']);
    expect(bad({ ...sampleTable, members: [member(2), member(1)] })).toEqual(['table.members[1].nodeId']);
    expect(bad({ ...sampleTable, members: [member(1, { address: 'x' })] })).toEqual([
      'table.members[0].address',
    ]);
    expect(bad({ ...sampleTable, members: [member(1, { healthy: false })] })).toEqual([
      'table.members[0].weight256',
    ]);
    expect(bad({ ...sampleTable, members: Array.from({ length: 65 }, (_, i) => member(i + 1)) })).toEqual([
      'table.members',
    ]);
  });

  it('the decoder is strict: bad family, unsorted ids, weight of a drained member, unknown bits, truncation', () => {
    const good = encodeMessage(
      buildAnnouncement({ table: { ...sampleTable, members: [member(1), member(2)] } }),
    );
    const start = good.length - 9 - 2 * 28;
    const fix = (b: Uint8Array) => {
      const out = Uint8Array.from(b);
      out[6] = 0;
      out[7] = 0;
      let sum = 0;
      for (let i = 0; i < out.length; i += 2) sum += ((out[i] as number) << 8) + (out[i + 1] ?? 0);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      const ck = ~sum & 0xffff;
      out[6] = ck >> 8;
      out[7] = ck & 0xff;
      return out;
    };
    const patched = (at: number, v: number) => {
      const b = Uint8Array.from(good);
      b[at] = v;
      return decodeMessage(fix(b));
    };
    const code = (r: ReturnType<typeof decodeMessage>) =>
      r.ok ? 'ok' : `${r.error.code} ${r.error.details.field}`;
    expect(code(decodeMessage(good))).toBe('ok');
    expect(code(patched(start + 9 + 16, 5))).toBe('LB_BAD_ADDRESS table.members[0].address');
    // the second id made equal to the first: not sorted
    const dup = Uint8Array.from(good);
    dup.set(good.subarray(start + 9, start + 9 + 16), start + 9 + 28);
    expect(code(decodeMessage(fix(dup)))).toBe('LB_BAD_FIELD table.members[1].nodeId');
    expect(code(patched(start + 9 + 27, 0))).toBe('LB_BAD_FIELD table.members[0].weight256'); // not healthy
    expect(code(patched(start + 9 + 27, 5))).toBe('LB_BAD_FIELD table.members[0].flags');
    expect(code(patched(start + 8, 65))).toBe('LB_BAD_FIELD table.members');
    expect(code(patched(start + 8, 3))).toMatch(/^LB_TRUNCATED/);
    expect(code(patched(start, 0xff))).toBe('LB_BAD_FIELD table.size');
  });
});

/** A scheduler fed a random group for a few rounds. */
const groupArb = fc.record({
  nodes: fc.uniqueArray(
    fc.record({
      n: fc.integer({ min: 1, max: 500 }),
      capacity: fc.integer({ min: 0, max: 400 }),
      healthy: fc.boolean(),
      cpu: fc.double({ min: 0, max: 1, noNaN: true }),
      active: fc.integer({ min: 0, max: 2000 }),
    }),
    { minLength: 1, maxLength: 40, selector: (r) => r.n },
  ),
  rounds: fc.integer({ min: 1, max: 4 }),
  loadAware: fc.boolean(),
});

describe('a table is a function of its announced inputs', () => {
  it('tableFromInputs and adopt rebuild the scheduler table bit for bit; the next update with the same inputs moves nothing', () => {
    fc.assert(
      fc.property(groupArb, (g) => {
        const s = createScheduler({ loadAware: g.loadAware, minRebuildIntervalMs: 0, rebuildThreshold: 0 });
        const nodes: SchedulerNode[] = g.nodes.map((x) => ({
          id: ID(x.n),
          capacity: x.capacity,
          healthy: x.healthy,
          resources: { cpu: x.cpu, memory: 0.1, load: 0.1 },
          activeConnections: x.active,
        }));
        for (let r = 0; r < g.rounds; r++) s.update(r * 1000, nodes);
        const inputs = s.tableInputs();
        expect(inputs.nodes.map((n) => n.id)).toEqual(s.table.nodes);
        const rebuilt = tableFromInputs(inputs);
        expect(rebuilt.nodes).toEqual(s.table.nodes);
        expect(Buffer.from(rebuilt.owners.buffer).equals(Buffer.from(s.table.owners.buffer))).toBe(true);
        const t = createScheduler({ loadAware: g.loadAware, minRebuildIntervalMs: 0, rebuildThreshold: 0 });
        const u = t.adopt(5000, inputs);
        expect(u.reason).toBe('adopted');
        expect(Buffer.from(u.table.owners.buffer).equals(Buffer.from(s.table.owners.buffer))).toBe(true);
        expect(t.weights()).toEqual(s.weights());
        if (!g.loadAware) {
          // nothing but the adopted inputs: the same members, health and (no) load say nothing new
          const again = t.update(5000, nodes);
          expect(again.changed).toBe(false);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('adopt refuses another seed or a table size this scheduler would not use', () => {
    const s = createScheduler();
    s.update(0, [{ id: ID(1), capacity: 1, healthy: true, activeConnections: 0 }]);
    const inputs = s.tableInputs();
    expect(() => createScheduler({ seed: 1 }).adopt(0, inputs)).toThrow(/inputs.seed/);
    expect(() => createScheduler({ tableSize: 4093 }).adopt(0, inputs)).toThrow(/inputs.size/);
    expect(() => createScheduler().adopt(0, { ...inputs, size: 32748 })).toThrow(/inputs.size/);
  });
});

// ---- the membership machine ----------------------------------------------------------------------

const SELF = ID(2);

/** A director at 10.0.0.1 (node 1) with members 1, 3 (and 2 = self once it reported). */
function directorWith(members: number[], at = 0) {
  const d = new LbMachine({ selfId: ID(1), group: 51, role: 'director', scheduler: { loadAware: false } });
  d.step({
    type: 'localReport',
    at,
    report: buildReport({ nodeId: ID(1), address: '10.0.0.1', name: 'node-1' }),
  });
  for (const n of members)
    d.step({
      type: 'report',
      at,
      report: buildReport({ nodeId: ID(n), address: `10.0.0.${n}`, name: `node-${n}` }),
      source: `10.0.0.${n}`,
    });
  return d;
}

/** What the director broadcasts, through the codec. */
function announce(d: LbMachine, at: number): LbEvent {
  const a: Announcement = buildAnnouncement({
    nodeId: ID(1),
    address: '10.0.0.1',
    table: d.announcedTable(),
  });
  const decoded = decodeMessage(encodeMessage(a));
  if (!decoded.ok) throw decoded.error;
  return { type: 'announcement', at, announcement: decoded.value as Announcement, source: '10.0.0.1' };
}

const scanner = (adoptTableWithin?: number) =>
  new LbMachine({
    selfId: SELF,
    group: 51,
    scheduler: { loadAware: false },
    ...(adoptTableWithin !== undefined ? { adoptTableWithin } : {}),
  });

const types = (actions: LbAction[]) => actions.map((a) => a.type);

describe('LbMachine: a new director adopts the table it followed', () => {
  it('a scanner rebuilds the announced table (directorTable once per change) and adopts it when it becomes director', () => {
    const d = directorWith([2, 3]);
    const s = scanner();
    s.step({
      type: 'localReport',
      at: 0,
      report: buildReport({ nodeId: SELF, address: '10.0.0.2', name: 'node-2' }),
    });
    const first = s.step(announce(d, 10));
    expect(types(first)).toEqual(['directorFound', 'directorTable']);
    const dt = first[1] as Extract<LbAction, { type: 'directorTable' }>;
    expect(dt.table.owners).toEqual(d.snapshot().table?.owners);
    expect(dt.nodes.filter((n) => n.self).map((n) => n.id)).toEqual([SELF]);
    // the same table again: nothing to say
    expect(types(s.step(announce(d, 1010)))).toEqual([]);
    // the director's table changes (node 3 drained): the scanner hears it
    d.step({
      type: 'report',
      at: 1500,
      report: buildReport({
        nodeId: ID(3),
        address: '10.0.0.3',
        health: { status: 'failure', failingPorts: [9090] },
      }),
      source: '10.0.0.3',
    });
    expect(types(s.step(announce(d, 2010)))).toEqual(['directorTable']);
    const before = d.snapshot().table;
    // the VIP moves: the old director is gone, the scanner takes over at once
    const out = s.step({ type: 'role', at: 2500, role: 'director' });
    expect(types(out)).toEqual(['roleChanged', 'tableAdopted', 'tableChanged']);
    const changed = out[2] as Extract<LbAction, { type: 'tableChanged' }>;
    expect(changed.reason).toBe('adopted');
    expect(changed.table.nodes).toEqual(before?.nodes);
    expect(changed.table.owners).toEqual(before?.owners);
    const snap = s.snapshot();
    expect(snap.members.map((m) => [m.id, m.reported, m.health.status])).toEqual([
      [ID(1), false, 'ok'],
      [SELF, true, 'ok'],
      [ID(3), false, 'failure'],
    ]);
    expect(snap.stats.tablesAdopted).toBe(1);
    // the members report: no join, no table change
    const r3 = s.step({
      type: 'report',
      at: 2600,
      report: buildReport({
        nodeId: ID(3),
        address: '10.0.0.3',
        name: 'node-3',
        health: { status: 'failure', failingPorts: [9090] },
      }),
      source: '10.0.0.3',
    });
    expect(types(r3)).toEqual([]);
    expect(s.snapshot().members.find((m) => m.id === ID(3))?.reported).toBe(true);
    // the old director never reports: it fails like any silent member, and its buckets move then
    const later = s.step({ type: 'tick', at: 2500 + 3000 });
    expect(types(later)).toEqual(['nodeFailed', 'tableChanged']);
    expect((later[0] as Extract<LbAction, { type: 'nodeFailed' }>).node.id).toBe(ID(1));
  });

  it('a stale table (older than adoptTableWithin intervals) or adoptTableWithin 0 is not adopted', () => {
    const d = directorWith([2]);
    for (const [within, at, adopted] of [
      [undefined, 10 + 10_000, true],
      [undefined, 10 + 10_001, false],
      [0, 20, false],
      [2, 10 + 2000, true],
    ] as const) {
      const s = scanner(within);
      s.step(announce(d, 10));
      const out = s.step({ type: 'role', at, role: 'director' });
      expect(types(out).includes('tableAdopted'), `within ${within} at ${at}`).toBe(adopted);
    }
  });

  it('a table of another seed is not adopted (counted); the new director builds its own', () => {
    const d = directorWith([2]);
    const s = new LbMachine({ selfId: SELF, group: 51, scheduler: { seed: 1, loadAware: false } });
    s.step({ type: 'localReport', at: 0, report: buildReport({ nodeId: SELF, address: '10.0.0.2' }) });
    s.step(announce(d, 10));
    const out = s.step({ type: 'role', at: 20, role: 'director' });
    expect(types(out)).toEqual(['roleChanged', 'nodeJoined', 'tableChanged']);
    expect(s.snapshot().stats.tablesNotAdopted).toBe(1);
  });

  it('a director without a table (too many members for one packet) clears what was heard before', () => {
    const d = directorWith([2]);
    const s = scanner();
    s.step(announce(d, 10));
    expect(s.snapshot().announcedTable).toBeDefined();
    s.step({
      type: 'announcement',
      at: 1010,
      announcement: buildAnnouncement({ nodeId: ID(1), address: '10.0.0.1' }),
      source: '10.0.0.1',
    });
    expect(s.snapshot().announcedTable).toBeUndefined();
    expect(types(s.step({ type: 'role', at: 1100, role: 'director' }))).not.toContain('tableAdopted');
  });
});

// ---- the driver and the data plane ---------------------------------------------------------------

function lan(count: number) {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock });
  const nodes = Array.from({ length: count }, (_, i) => {
    const address = `192.168.77.${11 + i}`;
    const host = net.addHost(`n${i}`, { interfaces: [{ name: 'eth0', ipv4: [`${address}/24`] }] });
    const logger = new MemoryLogger();
    const node = new LbNode({
      group: 51,
      nodeId: randomUUID(),
      name: `n${i}`,
      managementIp: address,
      softwareVersion: '1',
      redirects: [{ originalPort: 9090, destinationPort: 9090 }],
      intervalMs: 1000,
      weight: 100 + 50 * i,
      priority: 100,
      scheduler: { loadAware: false },
      transport: new RawLbTransport({ interface: 'eth0', source: address, stack: host }),
      wire: createWire(),
      health: (): ReportedHealth => ({ status: 'ok', failingPorts: [] }),
      resources: async (ports) => ({
        resources: { cpu: 0, memory: 0, load: 0 },
        connections: ports.map((port) => ({ port, active: 0 })),
      }),
      clock,
      logger,
    });
    return { node, logger };
  });
  return { clock, nodes };
}

describe('keepLoaded: a standby data plane holds the director table, and the takeover sends nothing', () => {
  it('installs the announced table while standing by; becoming director changes no bucket', async () => {
    const { clock, nodes } = lan(3);
    const [a, b] = nodes.map((n) => n.node) as [LbNode, LbNode, LbNode];
    a.setRole('director');
    const plane = new MemoryDataPlane();
    const binding = new DataPlaneBinding(b, plane, { clock, keepLoaded: true });
    for (const n of nodes) await n.node.start();
    await binding.sync();
    await clock.advanceAsync(3000);
    // standing by with a's table: the same owners, the nodes' addresses, b itself local
    const table = a.table;
    expect(plane.table?.nodes).toEqual(table?.nodes);
    expect(plane.table?.owners).toEqual(table?.owners);
    expect(plane.routing?.update.nodes.get(b.status().nodes.find((n) => n.self)?.id ?? '')?.self).toBe(true);
    const applies = plane.history.filter((h) => h.op === 'apply').length;
    // a planned move: a steps down, b takes over with the table it already has
    a.setRole('scanner');
    b.setRole('director');
    await clock.advanceAsync(3000);
    expect(b.table?.owners).toEqual(table?.owners);
    expect(plane.history.filter((h) => h.op === 'apply').length).toBe(applies); // nothing to send
    expect(plane.history.filter((h) => h.op === 'start')).toHaveLength(1);
    expect(nodes[1]?.logger.entries.map((e) => e.message)).toContain(
      `took over the table of ${a.status().self.address} (n0): 3 nodes, every client stays on its node`,
    );
    await binding.close();
    for (const n of nodes) await n.node.stop();
  });

  it('a new table is announced at once: a standby holds it before the next interval', async () => {
    const { clock, nodes } = lan(3);
    const [a, b, c] = nodes.map((n) => n.node) as [LbNode, LbNode, LbNode];
    a.setRole('director');
    await a.start();
    await b.start();
    await clock.advanceAsync(3000);
    expect(b.status().heldTable).toEqual({ nodes: 2, size: 32749 });
    // c starts half an interval after a's tick (t 3000): it hears a at 4000 and reports at its tick, 4500
    await clock.advanceAsync(500);
    const sent = a.status().counters.announcementsSent;
    await c.start();
    await clock.advanceAsync(1050);
    expect(
      a
        .status()
        .nodes.map((n) => n.name)
        .sort(),
    ).toEqual(['n0', 'n1', 'n2']);
    // the tick at 4000, then the new table announced at once (4500), not with the tick at 5000: a
    // director that dies now leaves its successor the table in force
    expect(a.status().counters.announcementsSent).toBe(sent + 2);
    expect(b.status().heldTable).toEqual({ nodes: 3, size: 32749 });
    for (const n of nodes) await n.node.stop();
  });

  it('a scanner shows the table it holds for a takeover', async () => {
    const { clock, nodes } = lan(2);
    const [a] = nodes.map((n) => n.node) as [LbNode, LbNode];
    a.setRole('director');
    for (const n of nodes) await n.node.start();
    await clock.advanceAsync(3000);
    expect(a.status().counters.tablesNotAnnounced).toBe(0);
    expect(a.status().heldTable).toBeUndefined(); // the director holds its own
    expect(nodes[1]?.node.status().heldTable).toEqual({ nodes: 2, size: 32749 });
    for (const n of nodes) await n.node.stop();
  });
});

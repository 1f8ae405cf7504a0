// The membership machine, rule by rule: joins, failures after exactly N intervals, drains, the local
// path of the director's own report, spoofed ids, address changes, scanners, directors and split brain,
// configuration errors.
import { describe, expect, it } from 'vitest';
import {
  type LbAction,
  LbError,
  type LbEvent,
  LbMachine,
  type LbMachineConfig,
  type LoadReport,
} from '../src/index';
import { buildAnnouncement, buildReport, simNodeId } from '../src/sim/index';

const ID = simNodeId;
const SELF = ID(1);

function report(n: number, at: number, fields: Partial<LoadReport> = {}): LbEvent {
  return {
    type: 'report',
    at,
    source: `10.0.0.${n}`,
    report: buildReport({ nodeId: ID(n), address: `10.0.0.${n}`, name: `node-${n}`, ...fields }),
  };
}

function local(at: number, fields: Partial<LoadReport> = {}): LbEvent {
  return { type: 'localReport', at, report: buildReport({ nodeId: SELF, ...fields }) };
}

function announce(n: number, at: number, fields: Parameters<typeof buildAnnouncement>[0] = {}): LbEvent {
  return {
    type: 'announcement',
    at,
    source: `10.0.0.${n}`,
    announcement: buildAnnouncement({ nodeId: ID(n), address: `10.0.0.${n}`, name: `node-${n}`, ...fields }),
  };
}

const tick = (at: number): LbEvent => ({ type: 'tick', at });
const types = (actions: readonly LbAction[]) => actions.map((a) => a.type);

function machine(config: Partial<LbMachineConfig> = {}): LbMachine {
  return new LbMachine({ selfId: SELF, group: 51, ...config });
}

const director = (config: Partial<LbMachineConfig> = {}) => machine({ role: 'director', ...config });

function only<T extends LbAction['type']>(
  actions: readonly LbAction[],
  type: T,
): Extract<LbAction, { type: T }> {
  const found = actions.filter((a) => a.type === type);
  expect(found).toHaveLength(1);
  return found[0] as Extract<LbAction, { type: T }>;
}

function configError(config: unknown): LbError {
  try {
    new LbMachine(config as LbMachineConfig);
  } catch (e) {
    expect(e).toBeInstanceOf(LbError);
    return e as LbError;
  }
  throw new Error('no error');
}

describe('configuration', () => {
  it('defaults: scanner, 3 intervals, nothing pending', () => {
    const m = machine();
    expect(m.role).toBe('scanner');
    expect(m.selfId).toBe(SELF);
    expect(m.group).toBe(51);
    expect(m.nextDeadline()).toBeUndefined();
    const s = m.snapshot();
    expect(s).toMatchObject({ role: 'scanner', selfId: SELF, members: [], directors: [], table: undefined });
    expect(s.director).toBeUndefined();
    expect(s.shares.size).toBe(0);
  });

  it('names every bad path in one LB_INVALID_ARGUMENT error', () => {
    const e = configError({
      selfId: 'NOT-A-UUID',
      group: 0,
      failAfterIntervals: 0,
      directorFailAfterIntervals: 1.5,
      role: 'boss',
      scheduler: { tableSize: 100, balanceFactor: -1 },
      announce: { priority: 300, address: 'nowhere', redirects: [{ originalPort: 0, destinationPort: 80 }] },
      extra: true,
    });
    expect(e.code).toBe('LB_INVALID_ARGUMENT');
    const issues = (e.details as { issues: { path: string; message: string }[] }).issues;
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        '(root)',
        'announce.address',
        'announce.priority',
        'announce.redirects[0].originalPort',
        'directorFailAfterIntervals',
        'failAfterIntervals',
        'group',
        'role',
        'scheduler.balanceFactor',
        'scheduler.tableSize',
        'selfId',
      ].sort(),
    );
    expect(issues.find((i) => i.path === 'group')?.message).toMatch(/\(got 0\)/);
    expect(issues.find((i) => i.path === 'scheduler.tableSize')?.message).toMatch(/prime.*got 100/);
    expect(e.message).toMatch(/^LbMachine config: invalid configuration:\n {2}/);
  });

  it('rejects a missing config and missing required fields', () => {
    expect(configError(undefined).code).toBe('LB_INVALID_ARGUMENT');
    const issues = (configError({}).details as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(issues).toEqual(expect.arrayContaining(['selfId', 'group']));
  });

  it('rejects an event time that is not a finite number', () => {
    const m = machine();
    expect(() => m.step({ type: 'tick', at: Number.NaN })).toThrow(LbError);
  });

  it('an event older than the previous one counts as happening at the previous time', () => {
    const m = director();
    m.step(report(2, 1000));
    expect(m.step(report(2, 500))).toEqual([]);
    expect(m.snapshot().members[0]?.lastReportAt).toBe(1000);
    expect(m.snapshot().stats.eventsOutOfOrder).toBe(1);
    expect(m.now).toBe(1000);
  });
});

describe('director: joining', () => {
  it('learns a node from its first valid report: nodeJoined, then the initial table', () => {
    const m = director();
    const out = m.step(report(2, 100, { weight: 50, connections: [{ port: 9090, active: 7 }] }));
    expect(types(out)).toEqual(['nodeJoined', 'tableChanged']);
    const joined = only(out, 'nodeJoined').node;
    expect(joined).toMatchObject({
      id: ID(2),
      name: 'node-2',
      address: '10.0.0.2',
      softwareVersion: '0.1.0',
      self: false,
      weight: 50,
      activeConnections: 7,
      joinedAt: 100,
      lastReportAt: 100,
      intervalMs: 1000,
    });
    const table = only(out, 'tableChanged');
    expect(table.reason).toBe('initial');
    expect(table.table.nodes).toEqual([ID(2)]);
    expect(m.snapshot().members.map((x) => x.id)).toEqual([ID(2)]);
    expect(m.lookup('192.0.2.1')).toBe(ID(2));
    expect(m.snapshot().shares.get(ID(2))).toBe(1);
  });

  it('a later report updates the member without a second join', () => {
    const m = director();
    m.step(report(2, 0));
    const out = m.step(report(2, 1000, { resources: { cpu: 0.2, memory: 0.2, load: 0.1 } }));
    expect(types(out)).not.toContain('nodeJoined');
    const s = m.snapshot().members[0];
    expect(s?.joinedAt).toBe(0);
    expect(s?.lastReportAt).toBe(1000);
    expect(s?.resources.cpu).toBe(0.2);
    expect(m.snapshot().stats).toMatchObject({ reportsAccepted: 2, nodesJoined: 1 });
  });

  it('members are listed by node id whatever the order they joined in', () => {
    const m = director();
    m.step(report(4, 0));
    m.step(report(2, 10));
    m.step(report(3, 20));
    expect(m.snapshot().members.map((x) => x.id)).toEqual([ID(2), ID(3), ID(4)]);
  });

  it('ignores (and counts) reports of another group and reports without a usable id or interval', () => {
    const m = director();
    expect(m.step(report(2, 0, { group: 52 }))).toEqual([]);
    expect(m.step(report(3, 0, { intervalMs: 0 }))).toEqual([]);
    expect(m.step(report(4, 0, { nodeId: '' }))).toEqual([]);
    expect(m.snapshot().members).toEqual([]);
    expect(m.snapshot().stats).toMatchObject({ reportsOtherGroup: 1, reportsInvalid: 2, reportsAccepted: 0 });
  });

  it('a node joining with health failure is a member that owns no bucket', () => {
    const m = director();
    m.step(report(2, 0));
    const out = m.step(report(3, 10, { health: { status: 'failure', failingPorts: [9090] } }));
    expect(types(out)).toEqual(['nodeJoined', 'nodeDrained', 'tableChanged']);
    expect(m.snapshot().members.map((x) => x.id)).toEqual([ID(2), ID(3)]);
    expect(m.snapshot().shares.get(ID(3)) ?? 0).toBe(0);
  });
});

describe('director: failure after exactly failAfterIntervals x the member interval', () => {
  it('not before: a tick 1 ms early changes nothing; at the deadline nodeFailed, then the table', () => {
    const m = director();
    m.step(report(2, 0));
    m.step(report(3, 0));
    m.step(report(2, 1000));
    expect(m.nextDeadline()).toBe(3000); // node 3: last report at 0
    expect(m.step(tick(2999))).toEqual([]);
    const out = m.step(tick(3000));
    expect(types(out)).toEqual(['nodeFailed', 'tableChanged']);
    const failed = only(out, 'nodeFailed');
    expect(failed.node.id).toBe(ID(3));
    expect(failed.silentMs).toBe(3000);
    expect(only(out, 'tableChanged').reason).toBe('membership');
    expect(m.snapshot().members.map((x) => x.id)).toEqual([ID(2)]);
    expect(m.nextDeadline()).toBe(4000);
  });

  it("uses the member's own interval (from its report) and failAfterIntervals", () => {
    const m = director({ failAfterIntervals: 5 });
    m.step(report(2, 0, { intervalMs: 200 }));
    m.step(report(3, 0, { intervalMs: 3000 }));
    expect(m.nextDeadline()).toBe(1000);
    expect(m.step(tick(999))).toEqual([]);
    expect(only(m.step(tick(1000)), 'nodeFailed').node.id).toBe(ID(2));
    expect(m.nextDeadline()).toBe(15000);
    expect(m.step(tick(14_999))).toEqual([]);
    expect(only(m.step(tick(15_000)), 'nodeFailed').silentMs).toBe(15_000);
  });

  it('a late tick reports the whole silence; any event applies expiries first', () => {
    const m = director();
    m.step(report(2, 0));
    m.step(report(3, 0));
    m.step(report(3, 2500));
    const out = m.step(report(4, 3500));
    expect(types(out)).toEqual(['nodeFailed', 'nodeJoined', 'tableChanged']);
    expect(only(out, 'nodeFailed')).toMatchObject({ node: { id: ID(2) }, silentMs: 3500 });
  });

  it('members failing at the same instant fail in node-id order, with one table change', () => {
    const m = director();
    m.step(report(5, 0));
    m.step(report(3, 0));
    m.step(report(2, 0));
    m.step(report(2, 2000));
    const out = m.step(tick(3000));
    expect(out.map((a) => (a.type === 'nodeFailed' ? a.node.id : a.type))).toEqual([
      ID(3),
      ID(5),
      'tableChanged',
    ]);
  });

  it('a report arriving at the very instant of the deadline comes too late: failed, then joined again', () => {
    const m = director();
    m.step(report(2, 0));
    // one scheduler update per event: the same members at its end, so the table does not change
    expect(types(m.step(report(2, 3000)))).toEqual(['nodeFailed', 'nodeJoined']);
    expect(m.snapshot().members[0]?.joinedAt).toBe(3000);
  });

  it('a drained member that goes silent fails the same way', () => {
    const m = director();
    m.step(report(2, 0, { health: { status: 'failure', failingPorts: [9090] } }));
    expect(types(m.step(tick(3000)))).toEqual(['nodeFailed', 'tableChanged']);
  });
});

describe('director: drain and restore', () => {
  it('health failure drains: still a member, no bucket, no client; ok restores', () => {
    const m = director();
    m.step(report(2, 0));
    m.step(report(3, 0));
    expect(m.snapshot().shares.get(ID(3))).toBeGreaterThan(0.3);
    const drained = m.step(report(3, 1000, { health: { status: 'failure', failingPorts: [9090, 9091] } }));
    expect(types(drained)).toEqual(['nodeDrained', 'tableChanged']);
    expect(only(drained, 'nodeDrained').node.health.failingPorts).toEqual([9090, 9091]);
    expect(only(drained, 'tableChanged').reason).toBe('health');
    expect(m.snapshot().members.map((x) => x.id)).toEqual([ID(2), ID(3)]);
    expect(m.snapshot().shares.get(ID(3)) ?? 0).toBe(0);
    for (let i = 0; i < 200; i++) expect(m.lookup(`192.0.2.${i}`)).toBe(ID(2));
    // still failing: no second nodeDrained, no table change
    m.step(report(2, 1500));
    expect(m.step(report(3, 2000, { health: { status: 'failure', failingPorts: [9090] } }))).toEqual([]);
    m.step(report(2, 2500));
    const restored = m.step(report(3, 3000));
    expect(types(restored)).toEqual(['nodeRestored', 'tableChanged']);
    expect(m.snapshot().shares.get(ID(3))).toBeGreaterThan(0.3);
  });

  it('the last healthy member drained: the table maps no client', () => {
    const m = director();
    m.step(report(2, 0));
    m.step(report(2, 1000, { health: { status: 'failure', failingPorts: [9090] } }));
    expect(m.lookup('192.0.2.1')).toBeUndefined();
    expect(m.snapshot().table?.owners.every((o) => o === 0xffff)).toBe(true);
  });
});

describe('director: its own report takes the local path', () => {
  it('its own entry joins (self) and never expires while it is director', () => {
    const m = director();
    const out = m.step(local(0));
    expect(types(out)).toEqual(['nodeJoined', 'tableChanged']);
    expect(only(out, 'nodeJoined').node).toMatchObject({ id: SELF, self: true });
    expect(m.nextDeadline()).toBeUndefined();
    expect(m.step(tick(1_000_000))).toEqual([]);
    expect(m.snapshot().members.map((x) => [x.id, x.self])).toEqual([[SELF, true]]);
    expect(m.snapshot().stats.localReports).toBe(1);
  });

  it('a wire report carrying our own id is ignored (counted): the local entry stays', () => {
    const m = director();
    m.step(local(0, { address: '10.0.0.1', weight: 100 }));
    const spoofed = { ...report(1, 100, { address: '10.6.6.6', weight: 65535 }) };
    expect(m.step(spoofed)).toEqual([]);
    const self = m.snapshot().members[0];
    expect(self).toMatchObject({ id: SELF, address: '10.0.0.1', weight: 100, lastReportAt: 0, self: true });
    expect(m.snapshot().stats.reportsOwnId).toBe(1);
    // and as a scanner too
    const s = machine();
    expect(s.step(report(1, 0))).toEqual([]);
    expect(s.snapshot().stats.reportsOwnId).toBe(1);
  });

  it('a scanner keeps its own report; becoming director makes it a member at once', () => {
    const m = machine();
    expect(m.step(local(0, { name: 'me' }))).toEqual([]);
    expect(m.snapshot().members).toMatchObject([{ id: SELF, self: true, name: 'me', joinedAt: 0 }]);
    const out = m.step({ type: 'role', at: 500, role: 'director' });
    expect(types(out)).toEqual(['roleChanged', 'nodeJoined', 'tableChanged']);
    expect(only(out, 'nodeJoined').node).toMatchObject({ id: SELF, joinedAt: 500, lastReportAt: 0 });
  });

  it('its own drain and restore are reported like any member', () => {
    const m = director();
    m.step(local(0));
    m.step(report(2, 0));
    expect(types(m.step(local(1000, { health: { status: 'failure', failingPorts: [9090] } })))).toEqual([
      'nodeDrained',
      'tableChanged',
    ]);
    expect(types(m.step(local(2000)))).toEqual(['nodeRestored', 'tableChanged']);
  });
});

describe('director: a node with a new address', () => {
  it('same node id, new address: one member, address updated, nodeAddressChanged', () => {
    const m = director();
    m.step(report(2, 0));
    const table = m.snapshot().table;
    const out = m.step(report(2, 1000, { address: '10.0.9.2' }));
    expect(types(out)).toEqual(['nodeAddressChanged']);
    expect(only(out, 'nodeAddressChanged')).toMatchObject({
      previousAddress: '10.0.0.2',
      node: { id: ID(2), address: '10.0.9.2' },
    });
    expect(m.snapshot().members).toHaveLength(1);
    expect(m.snapshot().members[0]?.address).toBe('10.0.9.2');
    expect(m.snapshot().table).toBe(table); // keyed by id: no bucket moves
  });
});

describe('director: load feeds the scheduler', () => {
  it('capacity 0: a member that never owns a bucket', () => {
    const m = director();
    m.step(report(2, 0));
    m.step(report(3, 0, { weight: 0 }));
    expect(m.snapshot().shares.get(ID(3)) ?? 0).toBe(0);
    expect(m.snapshot().members).toHaveLength(2);
  });

  it('an overloaded member loses buckets (bounded load)', () => {
    const m = director();
    m.step(report(2, 0));
    m.step(report(3, 0));
    const before = m.snapshot().shares.get(ID(3)) as number;
    const out = m.step(report(3, 1000, { connections: [{ port: 9090, active: 5000 }] }));
    expect(types(out)).toEqual(['tableChanged']);
    expect(['load', 'bound']).toContain(only(out, 'tableChanged').reason);
    expect(m.snapshot().shares.get(ID(3)) as number).toBeLessThan(before);
    expect(m.snapshot().members.find((x) => x.id === ID(3))?.activeConnections).toBe(5000);
    expect(m.effectiveWeights().size).toBe(2);
  });

  it('a damped load change: nextDeadline names when the rebuild comes due, the tick there rebuilds', () => {
    const m = director({ scheduler: { minRebuildIntervalMs: 5000, smoothingHalfLifeMs: 0 } });
    m.step(report(2, 0));
    m.step(report(3, 0));
    // the load rises at once: too soon after the last build (0)
    expect(m.step(report(3, 100, { resources: { cpu: 0.95, memory: 0.2, load: 0.1 } }))).toEqual([]);
    expect(m.nextDeadline()).toBe(3000); // node 2's failure deadline first
    m.step(report(2, 1000));
    m.step(report(3, 1000, { resources: { cpu: 0.95, memory: 0.2, load: 0.1 } }));
    m.step(report(2, 2000));
    m.step(report(3, 2000, { resources: { cpu: 0.95, memory: 0.2, load: 0.1 } }));
    m.step(report(2, 3000));
    m.step(report(3, 3000, { resources: { cpu: 0.95, memory: 0.2, load: 0.1 } }));
    m.step(report(2, 4000));
    m.step(report(3, 4000, { resources: { cpu: 0.95, memory: 0.2, load: 0.1 } }));
    expect(m.nextDeadline()).toBe(5000);
    expect(m.step(tick(4999))).toEqual([]);
    const out = m.step(tick(5000));
    expect(types(out)).toEqual(['tableChanged']);
    expect(only(out, 'tableChanged').reason).toBe('load');
    expect(m.snapshot().shares.get(ID(3)) as number).toBeLessThan(0.3);
    expect(m.nextDeadline()).toBe(7000);
  });
});

describe('scanner', () => {
  it('ignores wire reports (counted): only the director keeps members', () => {
    const m = machine();
    expect(m.step(report(2, 0))).toEqual([]);
    expect(m.snapshot().members).toEqual([]);
    expect(m.snapshot().table).toBeUndefined();
    expect(m.lookup('192.0.2.1')).toBeUndefined();
    expect(m.bucketOf('192.0.2.1')).toBeUndefined();
    expect(m.snapshot().stats.reportsIgnoredAsScanner).toBe(1);
  });

  it('becoming scanner clears the members and drops the table', () => {
    const m = director();
    m.step(local(0));
    m.step(report(2, 0));
    expect(m.snapshot().table).toBeDefined();
    const out = m.step({ type: 'role', at: 100, role: 'scanner' });
    expect(out).toEqual([{ type: 'roleChanged', role: 'scanner', previous: 'director' }]);
    const s = m.snapshot();
    expect(s.members.map((x) => x.id)).toEqual([SELF]); // itself only: its own report
    expect(s.table).toBeUndefined();
    expect(s.shares.size).toBe(0);
    expect(m.nextDeadline()).toBeUndefined();
    expect(m.effectiveWeights().size).toBe(0);
  });

  it('a role event for the role in force changes nothing', () => {
    const m = machine();
    expect(m.step({ type: 'role', at: 0, role: 'scanner' })).toEqual([]);
    expect(m.step({ type: 'role', at: 0, role: 'director' })).toEqual([
      { type: 'roleChanged', role: 'director', previous: 'scanner' },
    ]);
  });
});

describe('scanner: following the director', () => {
  it('directorFound on the first announcement; later ones change nothing', () => {
    const m = machine();
    const out = m.step(announce(2, 0));
    expect(out).toHaveLength(1);
    expect(only(out, 'directorFound').director).toMatchObject({
      id: ID(2),
      address: '10.0.0.2',
      name: 'node-2',
      priority: 100,
      intervalMs: 1000,
      lastSeenAt: 0,
      self: false,
      redirects: [{ originalPort: 8080, destinationPort: 9090 }],
    });
    expect(m.step(announce(2, 1000))).toEqual([]);
    expect(m.snapshot().director).toMatchObject({ id: ID(2), lastSeenAt: 1000 });
    expect(m.snapshot().directors.map((d) => d.id)).toEqual([ID(2)]);
  });

  it('directorLost after exactly directorFailAfterIntervals x its announced interval', () => {
    const m = machine({ directorFailAfterIntervals: 4 });
    m.step(announce(2, 0, { intervalMs: 250 }));
    m.step(announce(2, 250, { intervalMs: 250 }));
    expect(m.nextDeadline()).toBe(1250);
    expect(m.step(tick(1249))).toEqual([]);
    const out = m.step(tick(1250));
    expect(out).toEqual([
      { type: 'directorLost', director: expect.objectContaining({ id: ID(2), lastSeenAt: 250 }) },
    ]);
    expect(m.snapshot().director).toBeUndefined();
    expect(m.snapshot().directors).toEqual([]);
    expect(m.nextDeadline()).toBeUndefined();
    // it comes back: found again
    expect(types(m.step(announce(2, 5000)))).toEqual(['directorFound']);
  });

  it('a handover (the old director silent, a new one announcing) is a directorChanged, not a split brain', () => {
    const m = machine();
    m.step(announce(2, 0, { priority: 200 }));
    m.step(announce(2, 1000, { priority: 200 }));
    const out = m.step(announce(3, 1500, { priority: 100 }));
    expect(types(out)).toEqual(['directorChanged']);
    expect(only(out, 'directorChanged')).toMatchObject({ director: { id: ID(3) }, previous: { id: ID(2) } });
    expect(m.snapshot().directors.map((d) => d.id)).toEqual([ID(3)]);
    // the old one expires silently
    expect(m.step(tick(4000))).toEqual([]);
    expect(m.snapshot().stats.splitBrains).toBe(0);
  });

  it('the director announcing a new address: directorChanged (reports go to the new address)', () => {
    const m = machine();
    m.step(announce(2, 0));
    const out = m.step(announce(2, 1000, { address: '10.0.9.2' }));
    expect(only(out, 'directorChanged')).toMatchObject({
      director: { id: ID(2), address: '10.0.9.2' },
      previous: { id: ID(2), address: '10.0.0.2' },
    });
  });

  it('ignores its own announcements (the driver filters them) and other groups, counting them', () => {
    const m = machine();
    expect(m.step(announce(1, 0))).toEqual([]);
    expect(m.step(announce(2, 0, { group: 7 }))).toEqual([]);
    expect(m.step(announce(3, 0, { intervalMs: 0 }))).toEqual([]);
    expect(m.snapshot().directors).toEqual([]);
    expect(m.snapshot().stats).toMatchObject({
      announcementsOwn: 1,
      announcementsOtherGroup: 1,
      announcementsInvalid: 1,
      announcementsAccepted: 0,
    });
    const d = director();
    expect(d.step(announce(1, 0))).toEqual([]);
    expect(d.snapshot().directors.map((x) => x.id)).toEqual([SELF]);
  });

  it('becoming scanner while a director announces: roleChanged, then directorFound', () => {
    const m = director();
    m.step({ type: 'role', at: 0, role: 'scanner' });
    m.step(announce(2, 10));
    const d = machine();
    d.step(announce(2, 0));
    d.step({ type: 'role', at: 5, role: 'director' });
    expect(d.snapshot().director).toMatchObject({ id: SELF, self: true });
    d.step(announce(2, 6)); // the old director's last word, after the handover: a real rival now
    expect(d.snapshot().directors).toHaveLength(2);
    const out = d.step({ type: 'role', at: 7, role: 'scanner' });
    expect(types(out)).toEqual(['roleChanged', 'directorFound', 'splitBrainHealed']);
  });
});

describe('split brain', () => {
  it('two directors announcing within the window: splitBrain once, listing both, best first; the rule picks', () => {
    const m = machine();
    m.step(announce(2, 0, { priority: 200 }));
    // a newcomer is followed at once (a handover looks the same at first) ...
    expect(types(m.step(announce(3, 500, { priority: 100 })))).toEqual(['directorChanged']);
    // ... until the first one announces again: both are alive, the rule picks the higher priority
    const out = m.step(announce(2, 1000, { priority: 200 }));
    expect(types(out)).toEqual(['splitBrain', 'directorChanged']);
    const sb = only(out, 'splitBrain');
    expect(sb.directors.map((d) => d.id)).toEqual([ID(2), ID(3)]);
    expect(sb.following.id).toBe(ID(2));
    expect(m.snapshot().director?.id).toBe(ID(2));
    expect(m.snapshot().directors.map((d) => d.id)).toEqual([ID(2), ID(3)]);
    // once per episode: more announcements, even a third director, say nothing more
    expect(m.step(announce(3, 1500, { priority: 100 }))).toEqual([]);
    expect(m.step(announce(4, 1600, { priority: 50 }))).toEqual([]);
    expect(m.step(announce(2, 2000, { priority: 200 }))).toEqual([]);
    expect(m.snapshot().directors.map((d) => d.id)).toEqual([ID(2), ID(3), ID(4)]);
    expect(m.snapshot().stats.splitBrains).toBe(1);
  });

  it('directors heard at the same instant: split brain at once', () => {
    const m = machine();
    expect(types(m.step(announce(2, 0)))).toEqual(['directorFound']);
    const out = m.step(announce(3, 0));
    expect(types(out)).toEqual(['splitBrain', 'directorChanged']);
    // equal priorities: the higher address, 10.0.0.3
    expect(only(out, 'splitBrain').following.id).toBe(ID(3));
  });

  it('heals when only one remains: the followed one gone, directorChanged then splitBrainHealed', () => {
    const m = machine();
    m.step(announce(2, 0, { priority: 200 }));
    m.step(announce(3, 0, { priority: 100 }));
    m.step(announce(3, 1000, { priority: 100 }));
    m.step(announce(3, 2000, { priority: 100 }));
    expect(m.nextDeadline()).toBe(3000);
    const out = m.step(tick(3000));
    expect(types(out)).toEqual(['directorChanged', 'splitBrainHealed']);
    expect(only(out, 'splitBrainHealed').director.id).toBe(ID(3));
    expect(m.snapshot().directors.map((d) => d.id)).toEqual([ID(3)]);
    // a new episode is reported again
    m.step(announce(4, 3500, { priority: 1 }));
    expect(types(m.step(announce(3, 4000, { priority: 100 })))).toContain('splitBrain');
    expect(m.snapshot().stats.splitBrains).toBe(2);
  });

  it('heals quietly on the follow side when the loser goes', () => {
    const m = machine();
    m.step(announce(2, 0, { priority: 200 }));
    m.step(announce(3, 0, { priority: 100 }));
    m.step(announce(2, 1000, { priority: 200 }));
    m.step(announce(2, 2000, { priority: 200 }));
    expect(types(m.step(tick(3000)))).toEqual(['splitBrainHealed']);
  });

  it('all directors gone at once: directorLost ends the episode', () => {
    const m = machine();
    m.step(announce(2, 0));
    m.step(announce(3, 0));
    expect(types(m.step(tick(3000)))).toEqual(['directorLost']);
    expect(types(m.step(announce(2, 4000)))).toEqual(['directorFound']);
  });

  it('a director hearing another director detects it: both listed (itself marked self)', () => {
    const m = director({ announce: { priority: 150, address: '10.0.0.1', name: 'me' } });
    m.step(local(0));
    const out = m.step(announce(2, 100, { priority: 200 }));
    expect(types(out)).toEqual(['splitBrain']);
    const sb = only(out, 'splitBrain');
    expect(sb.directors.map((d) => [d.id, d.self])).toEqual([
      [ID(2), false],
      [SELF, true],
    ]);
    expect(sb.following.id).toBe(ID(2));
    expect(sb.directors[1]).toMatchObject({ name: 'me', address: '10.0.0.1', priority: 150 });
    const s = m.snapshot();
    expect(s.director).toMatchObject({ id: SELF, self: true });
    expect(s.directors).toHaveLength(2);
    expect(types(m.step(tick(3100)))).toEqual(['splitBrainHealed']);
    expect(m.snapshot().directors.map((d) => d.id)).toEqual([SELF]);
  });

  it("a new director does not mistake its predecessor's earlier announcements for a rival", () => {
    const m = machine();
    m.step(announce(2, 0));
    m.step(announce(2, 1000));
    const out = m.step({ type: 'role', at: 1500, role: 'director' });
    expect(types(out)).toEqual(['roleChanged']);
    expect(m.snapshot().directors.map((d) => d.id)).toEqual([SELF]);
    expect(m.step(tick(4000))).toEqual([]);
  });

  it('the self entry takes its name and address from its local report unless configured', () => {
    const m = director();
    expect(m.snapshot().director).toMatchObject({ id: SELF, name: SELF, address: '', priority: 100 });
    m.step(local(0, { name: 'proxy-a', address: '10.0.0.1' }));
    expect(m.snapshot().director).toMatchObject({ name: 'proxy-a', address: '10.0.0.1', intervalMs: 1000 });
  });
});

// A data plane that cannot reach a member tells the machine (`refused`): the member gets no new clients
// for failAfterIntervals of its intervals, then its next ok report restores it; a failure report in
// between drains it as usual.
import { describe, expect, it } from 'vitest';
import { type LbAction, type LbEvent, LbMachine, type LoadReport } from '../src/index';
import { buildReport, simNodeId } from '../src/sim/index';

const ID = simNodeId;
const report = (n: number, at: number, fields: Partial<LoadReport> = {}): LbEvent => ({
  type: 'report',
  at,
  source: `10.0.0.${n}`,
  report: buildReport({ nodeId: ID(n), address: `10.0.0.${n}`, name: `node-${n}`, ...fields }),
});
const types = (a: readonly LbAction[]) => a.map((x) => x.type);
const failing = { health: { status: 'failure' as const, failingPorts: [9090] } };

function group() {
  const m = new LbMachine({ selfId: ID(1), group: 51, role: 'director' });
  m.step({ type: 'localReport', at: 0, report: buildReport({ nodeId: ID(1) }) });
  m.step(report(2, 0));
  m.step(report(3, 0));
  return m;
}

describe('LbMachine: a refused connection', () => {
  it('takes the member out of the table until its hold-off ends and an ok report arrives', () => {
    const m = group();
    expect(m.snapshot().shares.get(ID(2))).toBeGreaterThan(0.3);
    const refused = m.step({ type: 'refused', at: 100, nodeId: ID(2), reason: 'connection refused' });
    expect(types(refused)).toEqual(['nodeRefused', 'tableChanged']);
    expect(refused[0]).toMatchObject({ type: 'nodeRefused', until: 3100, reason: 'connection refused' });
    expect(m.snapshot().shares.get(ID(2))).toBe(0);
    // a second refusal during the hold-off changes nothing
    expect(m.step({ type: 'refused', at: 200, nodeId: ID(2), reason: 'connection refused' })).toEqual([]);
    // ok reports within the hold-off do not restore it
    expect(types(m.step(report(2, 1000)))).toEqual([]);
    expect(types(m.step(report(2, 2000)))).toEqual([]);
    m.step(report(3, 2000));
    expect(m.snapshot().shares.get(ID(2))).toBe(0);
    // after it: the next ok report restores
    expect(types(m.step(report(2, 3100)))).toEqual(['nodeRestored', 'tableChanged']);
    expect(m.snapshot().shares.get(ID(2))).toBeGreaterThan(0.3);
  });

  it('a failure report during the hold-off drains it as usual; ok afterwards restores it', () => {
    const m = group();
    m.step({ type: 'refused', at: 100, nodeId: ID(2), reason: 'connection refused' });
    expect(types(m.step(report(2, 1000, failing)))).toEqual(['nodeDrained']);
    expect(types(m.step(report(2, 2000)))).toEqual(['nodeRestored', 'tableChanged']);
  });

  it('is ignored for an unknown node, a drained node and on a scanner', () => {
    const m = group();
    expect(m.step({ type: 'refused', at: 100, nodeId: ID(9), reason: 'x' })).toEqual([]);
    m.step(report(3, 200, failing));
    expect(m.step({ type: 'refused', at: 300, nodeId: ID(3), reason: 'x' })).toEqual([]);
    const s = new LbMachine({ selfId: ID(1), group: 51 });
    expect(s.step({ type: 'refused', at: 0, nodeId: ID(2), reason: 'x' })).toEqual([]);
  });
});

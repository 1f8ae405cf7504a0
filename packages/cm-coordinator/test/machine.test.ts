import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AdminLock,
  CmError,
  checkCmMessage,
  checkPeerClock,
  checkVersion,
  currentVersion,
  digestVersionIds,
  guiAttachError,
  type Hlc,
  makeVersion,
  type NodeIdentity,
  type ReplicaAction,
  type ReplicaEvent,
  ReplicaMachine,
  resolveScope,
  type Version,
  versionId,
} from '../src/index';

const U1 = '00000000-0000-4000-8000-000000000001';
const U2 = '00000000-0000-4000-8000-000000000002';
const U3 = '00000000-0000-4000-8000-000000000003';
const T = Date.UTC(2025, 0, 1);
const node = (uuid: string, name: string, priority = 100): NodeIdentity => ({
  uuid,
  name,
  priority,
  version: '0.1.0',
});
const N1 = node(U1, 'mwg-1');
const N2 = node(U2, 'mwg-2');
const N3 = node(U3, 'mwg-3');

function version(o: {
  node?: NodeIdentity;
  wall?: number;
  logical?: number;
  parents?: string[];
  text?: string;
}): Version {
  const n = o.node ?? N1;
  const stamp: Hlc = { wall: o.wall ?? T, logical: o.logical ?? 0, node: n.uuid };
  return makeVersion({
    scope: 'policy',
    parents: o.parents ?? [],
    stamp,
    origin: { uuid: n.uuid, name: n.name, priority: n.priority },
    documents: [{ name: 'policy.xml', content: o.text ?? `${n.name}@${stamp.wall}` }],
  });
}

const types = (actions: readonly ReplicaAction[]) =>
  actions.map((a) =>
    a.type === 'send'
      ? `send:${a.message.type}`
      : a.type === 'broadcast'
        ? `broadcast:${a.message.type}`
        : a.type,
  );
const noLogs = (actions: readonly ReplicaAction[]) => types(actions).filter((t) => t !== 'log');

describe('versions', () => {
  it('ids are the hash of the canonical encoding: independent of key order and input order', () => {
    const a = makeVersion({
      scope: 'policy',
      parents: [],
      stamp: { wall: T, logical: 0, node: U1 },
      origin: { uuid: U1, name: 'mwg-1', priority: 1 },
      documents: [
        { name: 'b.txt', content: 'b' },
        { name: 'a.txt', content: 'a', encoding: 'utf8' },
      ],
      comment: 'first',
    });
    const b = makeVersion({
      comment: 'first',
      documents: [
        { content: 'a', name: 'a.txt' },
        { encoding: 'utf8', content: 'b', name: 'b.txt' },
      ],
      origin: { priority: 1, name: 'mwg-1', uuid: U1 },
      stamp: { node: U1, logical: 0, wall: T },
      parents: [],
      scope: 'policy',
    });
    expect(a.id).toBe(b.id);
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
    expect(a.documents.map((d) => d.name)).toEqual(['a.txt', 'b.txt']);
    const { id, ...fields } = a;
    expect(versionId(fields)).toBe(id);
    expect(versionId({ ...fields, comment: 'other' })).not.toBe(id);
  });

  it('sorts and de-duplicates parents', () => {
    const p1 = version({ wall: T });
    const p2 = version({ node: N2, wall: T });
    const v = version({ wall: T + 1, parents: [p2.id, p1.id, p2.id] });
    expect(v.parents).toEqual([p1.id, p2.id].sort());
  });

  it('checkVersion accepts a valid version and refuses a tampered one naming the path', () => {
    const v = version({});
    expect(checkVersion(JSON.parse(JSON.stringify(v)))).toEqual({ ok: true, value: v });
    const tampered = { ...v, documents: [{ name: 'policy.xml', content: 'evil' }] };
    const r = checkVersion(tampered);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toBeInstanceOf(CmError);
      expect(r.error.code).toBe('CM_BAD_MESSAGE');
      expect(r.error.details.issues).toEqual([expect.objectContaining({ path: 'id' })]);
    }
  });

  it('refuses unsafe document names, bad priorities, a stamp of another node', () => {
    const base = {
      scope: 'policy' as const,
      parents: [],
      stamp: { wall: T, logical: 0, node: U1 },
      origin: { uuid: U1, name: 'mwg-1', priority: 1 },
    };
    expect(() => makeVersion({ ...base, documents: [{ name: '../etc/passwd', content: '' }] })).toThrow(
      /documents\[0\]\.name/,
    );
    expect(() => makeVersion({ ...base, documents: [{ name: '/abs', content: '' }] })).toThrow(CmError);
    expect(() => makeVersion({ ...base, origin: { ...base.origin, priority: 0 }, documents: [] })).toThrow(
      /origin.priority/,
    );
    expect(() => makeVersion({ ...base, stamp: { ...base.stamp, node: U2 }, documents: [] })).toThrow(
      /stamp.node/,
    );
    expect(() =>
      makeVersion({ ...base, documents: [{ name: 'x', content: '%%', encoding: 'base64' }] }),
    ).toThrow(/base64/);
    expect(() =>
      makeVersion({
        ...base,
        documents: [
          { name: 'x', content: '' },
          { name: 'x', content: '' },
        ],
      }),
    ).toThrow(/unique/);
  });
});

describe('the conflict rule', () => {
  it('lower priority value wins over a newer change', () => {
    const low = version({ node: node(U1, 'a', 1), wall: T });
    const newer = version({ node: node(U2, 'b', 5), wall: T + 60_000 });
    expect(currentVersion([newer, low])?.id).toBe(low.id);
  });

  it('on equal priorities the newest change wins, then the higher node', () => {
    const older = version({ node: N1, wall: T });
    const newer = version({ node: N2, wall: T + 1 });
    expect(currentVersion([newer, older])?.id).toBe(newer.id);
    const sameTime1 = version({ node: N1, wall: T + 5 });
    const sameTime2 = version({ node: N2, wall: T + 5 });
    expect(currentVersion([sameTime1, sameTime2])?.id).toBe(sameTime2.id);
  });

  it('only leaves compete; the others are open conflicts; a merge closes them', () => {
    const root = version({ wall: T });
    const a = version({ node: node(U1, 'a', 1), wall: T + 1, parents: [root.id] });
    const b = version({ node: N2, wall: T + 2, parents: [root.id] });
    const r = resolveScope([root, a, b]);
    expect(r.current?.id).toBe(a.id);
    expect(r.leaves.map((v) => v.id)).toEqual([a.id, b.id]);
    expect(r.conflicts).toEqual([{ scope: 'policy', winner: a, loser: b }]);
    const merge = version({ node: N2, wall: T + 3, parents: [a.id, b.id] });
    const r2 = resolveScope([root, a, b, merge]);
    expect(r2.current?.id).toBe(merge.id);
    expect(r2.conflicts).toEqual([]);
    // a child that arrived before its parents is a leaf; the parents are not
    expect(resolveScope([merge]).current?.id).toBe(merge.id);
    expect(resolveScope([merge, b]).leaves.map((v) => v.id)).toEqual([merge.id]);
  });

  it('the same set gives the same current version and digest in any order (property)', () => {
    const pool: Version[] = [];
    const root = version({ wall: T });
    pool.push(root);
    for (let i = 1; i <= 12; i++) {
      const n = [N1, N2, N3, node(U1, 'a', 3)][i % 4] as NodeIdentity;
      const parent = pool[(i * 7) % pool.length] as Version;
      pool.push(version({ node: n, wall: T + ((i * 13) % 5), logical: i, parents: [parent.id] }));
    }
    fc.assert(
      fc.property(fc.subarray(pool, { minLength: 1 }), fc.integer(), (subset, seed) => {
        const shuffled = [...subset].sort(
          (a, b) => ((a.id.charCodeAt(seed & 31) ^ seed) & 7) - ((b.id.charCodeAt(seed & 31) ^ seed) & 7),
        );
        expect(currentVersion(shuffled)?.id).toBe(currentVersion(subset)?.id);
        expect(digestVersionIds(shuffled.map((v) => v.id))).toBe(digestVersionIds(subset.map((v) => v.id)));
      }),
    );
  });
});

describe('ReplicaMachine', () => {
  const doc = (text: string) => [{ name: 'policy.xml', content: text }];

  it('a save persists, changes the current version, then broadcasts', () => {
    const m = new ReplicaMachine({ self: N1 });
    const out = m.step({ type: 'save', at: T, scope: 'policy', documents: doc('one'), comment: 'first' });
    expect(noLogs(out)).toEqual(['persist', 'currentChanged', 'broadcast:push']);
    const v = (out[0] as unknown as { versions: Version[] }).versions[0] as Version;
    expect(v.parents).toEqual([]);
    expect(v.origin).toEqual({ uuid: U1, name: 'mwg-1', priority: 100 });
    expect(out[1]).toMatchObject({
      type: 'currentChanged',
      scope: 'policy',
      version: v,
      previous: undefined,
      apply: true,
    });
    expect(m.storageTimestamp).toBe(`2025-01-01T00:00:00.000Z.00000.${U1}`);
    const out2 = m.step({ type: 'save', at: T - 10, scope: 'policy', documents: doc('two') });
    const v2 = (out2[0] as unknown as { versions: Version[] }).versions[0] as Version;
    expect(v2.parents).toEqual([v.id]);
    expect(v2.stamp).toEqual({ wall: T, logical: 1, node: U1 });
  });

  it('a received push is persisted before it is acknowledged; a conflict names both versions, once', () => {
    const m = new ReplicaMachine({ self: { ...N1, priority: 5 } });
    const mine = (
      m.step({ type: 'save', at: T, scope: 'policy', documents: doc('mine') })[0] as unknown as {
        versions: Version[];
      }
    ).versions[0] as Version;
    const theirs = version({ node: node(U2, 'mwg-2', 1), wall: T - 1000 });
    const out = m.step({
      type: 'received',
      at: T + 5,
      from: U2,
      message: { type: 'push', versions: [theirs] },
    });
    expect(noLogs(out)).toEqual(['persist', 'send:ack', 'currentChanged', 'conflict']);
    expect(out.find((a) => a.type === 'conflict')).toMatchObject({
      scope: 'policy',
      winner: { id: theirs.id, origin: { name: 'mwg-2', priority: 1 } },
      loser: { id: mine.id, origin: { name: 'mwg-1', priority: 5 } },
    });
    expect(out.find((a) => a.type === 'log' && a.level === 'warn')).toMatchObject({
      message: expect.stringContaining('the losing version is kept'),
    });
    // again: a duplicate, acked, nothing else
    const again = m.step({
      type: 'received',
      at: T + 6,
      from: U2,
      message: { type: 'push', versions: [theirs] },
    });
    expect(noLogs(again)).toEqual(['send:ack']);
    expect(m.snapshot().scopes[0]?.openConflicts.map((c) => c.id)).toEqual([mine.id]);
    // a later save supersedes both and closes the conflict
    const merge = m.step({ type: 'save', at: T + 10, scope: 'policy', documents: doc('merged') });
    const mv = (merge[0] as unknown as { versions: Version[] }).versions[0] as Version;
    expect(mv.parents).toEqual([mine.id, theirs.id].sort());
    expect(mv.stamp.wall).toBe(T + 10);
    expect(m.current('policy')?.id).toBe(mv.id);
    expect(m.snapshot().scopes[0]?.openConflicts).toEqual([]);
  });

  it('skips invalid versions, requests missing parents, ignores messages claiming to be from itself', () => {
    const m = new ReplicaMachine({ self: N1 });
    const p = version({ node: N2, wall: T });
    const child = version({ node: N2, wall: T + 1, parents: [p.id] });
    const bad = { ...version({ node: N3, wall: T }), comment: 'changed' };
    const out = m.step({
      type: 'received',
      at: T,
      from: U2,
      message: { type: 'push', versions: [bad, child] },
    });
    expect(noLogs(out)).toEqual(['persist', 'send:ack', 'currentChanged', 'send:request']);
    expect(out.find((a) => a.type === 'send' && a.message.type === 'request')).toMatchObject({
      to: U2,
      message: { ids: [p.id] },
    });
    expect(m.snapshot().stats.invalid).toBe(1);
    expect(m.step({ type: 'received', at: T, from: U1, message: { type: 'ack', ids: [] } })).toEqual([
      expect.objectContaining({ type: 'log', level: 'warn' }),
    ]);
  });

  it('peers reconcile: summary, inventory, push and request', () => {
    const a = new ReplicaMachine({ self: N1 });
    const b = new ReplicaMachine({ self: N2 });
    a.step({ type: 'save', at: T, scope: 'policy', documents: doc('a') });
    b.step({ type: 'save', at: T + 1, scope: ('node:' + U2) as `node:${string}`, documents: doc('b') });
    const up = a.step({ type: 'peerUp', at: T + 2, peer: N2 });
    expect(noLogs(up)).toEqual(['send:summary']);
    const summary = (up.find((x) => x.type === 'send') as { message: import('../src/index').SummaryMessage })
      .message;
    b.step({ type: 'peerUp', at: T + 2, peer: N1 });
    const inv = b.step({ type: 'received', at: T + 3, from: U1, message: summary });
    // the two know different memberships (each only itself): b sends its list too
    expect(noLogs(inv)).toEqual(['send:inventory', 'send:inventory', 'send:members']);
    // a answers each inventory: pushes what b lacks, requests what it lacks
    const msgs = inv
      .filter((x) => x.type === 'send')
      .map((x) => (x as { message: import('../src/index').ReplicationMessage }).message);
    const r1 = a.step({
      type: 'received',
      at: T + 4,
      from: U2,
      message: msgs[0] as import('../src/index').ReplicationMessage,
    });
    const r2 = a.step({
      type: 'received',
      at: T + 4,
      from: U2,
      message: msgs[1] as import('../src/index').ReplicationMessage,
    });
    expect(noLogs(r1)).toEqual(['send:request']);
    expect(noLogs(r2)).toEqual(['send:push']);
    const req = (r1[0] as { message: import('../src/index').ReplicationMessage }).message;
    const push = b.step({ type: 'received', at: T + 5, from: U1, message: req });
    expect(noLogs(push)).toEqual(['send:push']);
    a.step({
      type: 'received',
      at: T + 6,
      from: U2,
      message: (push[0] as { message: import('../src/index').ReplicationMessage }).message,
    });
    b.step({
      type: 'received',
      at: T + 6,
      from: U1,
      message: (r2[0] as { message: import('../src/index').ReplicationMessage }).message,
    });
    expect(a.ids()).toEqual(b.ids());
    expect(a.storageTimestamp).toBe(b.storageTimestamp);
    expect(a.summary().scopes).toEqual(b.summary().scopes);
  });

  it('retransmits unacknowledged pushes on tick and sends summaries every sync interval', () => {
    const m = new ReplicaMachine({ self: N1, retryMs: 1000, syncIntervalMs: 10_000 });
    m.step({ type: 'peerUp', at: T, peer: N2 });
    const saved = m.step({ type: 'save', at: T, scope: 'policy', documents: doc('x') });
    const v = (saved[0] as unknown as { versions: Version[] }).versions[0] as Version;
    expect(noLogs(m.step({ type: 'tick', at: T + 500 }))).toEqual([]);
    expect(noLogs(m.step({ type: 'tick', at: T + 1000 }))).toEqual(['send:push']);
    m.step({ type: 'received', at: T + 1100, from: U2, message: { type: 'ack', ids: [v.id] } });
    expect(noLogs(m.step({ type: 'tick', at: T + 5000 }))).toEqual([]);
    expect(noLogs(m.step({ type: 'tick', at: T + 10_000 }))).toEqual(['send:summary']);
    expect(m.snapshot().stats.retransmits).toBe(1);
  });

  it('adopt replaces a scope by the versions of the node it was added from', () => {
    const src = new ReplicaMachine({ self: N1 });
    src.step({ type: 'save', at: T, scope: 'policy', documents: doc('cluster') });
    const added = new ReplicaMachine({ self: { ...N2, priority: 1 } });
    added.step({ type: 'save', at: T + 100, scope: 'policy', documents: doc('standalone') });
    const out = added.step({ type: 'adopt', at: T + 200, scope: 'policy', versions: src.versions('policy') });
    expect(noLogs(out)).toEqual(['replaceScope', 'currentChanged']);
    expect(added.ids('policy')).toEqual(src.ids('policy'));
    expect(added.storageTimestamp).toBe(src.storageTimestamp);
  });

  it('restarts from its stored versions with the clock past them', () => {
    const m = new ReplicaMachine({ self: N1 });
    m.step({ type: 'save', at: T + 5000, scope: 'policy', documents: doc('x') });
    const again = new ReplicaMachine({ self: N1, versions: m.versions() });
    expect(again.storageTimestamp).toBe(m.storageTimestamp);
    const out = again.step({ type: 'save', at: T, scope: 'policy', documents: doc('y') });
    expect((out[0] as unknown as { versions: Version[] }).versions[0]?.stamp).toEqual({
      wall: T + 5000,
      logical: 1,
      node: U1,
    });
  });

  it('is deterministic: the same events give the same actions', () => {
    const events: ReplicaEvent[] = [
      { type: 'peerUp', at: T, peer: N2 },
      { type: 'save', at: T + 1, scope: 'policy', documents: doc('a') },
      {
        type: 'received',
        at: T + 2,
        from: U2,
        message: { type: 'push', versions: [version({ node: N2, wall: T })] },
      },
      { type: 'tick', at: T + 40_000 },
      { type: 'peerDown', at: T + 40_001, peer: U2 },
    ];
    const run = () => {
      const m = new ReplicaMachine({ self: N1 });
      return events.map((e) => m.step(e));
    };
    expect(run()).toEqual(run());
  });

  it('validates its configuration and events', () => {
    expect(() => new ReplicaMachine({ self: { ...N1, uuid: 'nope' } })).toThrow(/self.uuid/);
    expect(() => new ReplicaMachine({ self: N1, retryMs: 0 })).toThrow(/retryMs/);
    const m = new ReplicaMachine({ self: N1 });
    expect(() => m.step({ type: 'tick', at: Number.NaN })).toThrow(CmError);
    expect(() => m.step({ type: 'save', at: T, scope: 'nodes' as 'policy', documents: [] })).toThrow(/scope/);
  });
});

describe('checkCmMessage', () => {
  it('accepts the messages and names the bad path', () => {
    expect(checkCmMessage({ type: 'ack', ids: ['a'.repeat(64)] }).ok).toBe(true);
    expect(checkCmMessage({ type: 'inventory', scope: 'policy', ids: [] }).ok).toBe(true);
    const bad = checkCmMessage({ type: 'request', ids: ['xyz'] });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.details.issues).toEqual([expect.objectContaining({ path: 'ids[0]' })]);
    const unknown = checkCmMessage({ type: 'hello' });
    expect(unknown.ok ? undefined : unknown.error.code).toBe('CM_BAD_MESSAGE');
  });
});

describe('checkPeerClock', () => {
  it('estimates the offset allowing for the round trip', () => {
    expect(checkPeerClock({ sentAt: 1000, receivedAt: 1100, peerClock: 1550, maxSkewMs: 1000 })).toEqual({
      offsetMs: 500,
      uncertaintyMs: 50,
      rttMs: 100,
      verdict: 'ok',
    });
    const far = checkPeerClock({ sentAt: 0, receivedAt: 200, peerClock: 1300, maxSkewMs: 1000 });
    expect(far.offsetMs).toBe(1200);
    expect(far.verdict).toBe('too-high');
    expect(checkPeerClock({ sentAt: 0, receivedAt: 600, peerClock: 1300, maxSkewMs: 1000 }).verdict).toBe(
      'ok',
    );
    expect(checkPeerClock({ sentAt: 0, receivedAt: 0, peerClock: -5000, maxSkewMs: 1000 }).verdict).toBe(
      'too-high',
    );
    expect(() => checkPeerClock({ sentAt: 10, receivedAt: 5, peerClock: 0, maxSkewMs: 1 })).toThrow(
      /receivedAt/,
    );
  });
});

describe('AdminLock', () => {
  const holder = (uuid: string, name: string, priority = 100) => ({
    uuid,
    name,
    priority,
    address: `${name}:4712`,
  });

  it('refuses a second session naming the holder and its address; expires when not renewed', () => {
    const a = new AdminLock({ self: holder(U1, 'mwg-1'), ttlMs: 3000 });
    const b = new AdminLock({ self: holder(U2, 'mwg-2'), ttlMs: 3000 });
    const got = a.step({ type: 'acquire', at: T, session: 's1' });
    expect(got.map((x) => x.type)).toEqual(['acquired', 'broadcast']);
    const msg = (got[1] as { message: import('../src/index').LockMessage }).message;
    b.step({ type: 'received', at: T + 10, from: U1, message: msg });
    const refused = b.step({ type: 'acquire', at: T + 20, session: 's2' });
    expect(refused).toEqual([expect.objectContaining({ type: 'refused', session: 's2' })]);
    const h = (refused[0] as { holder: import('../src/index').AdminLease }).holder;
    const e = guiAttachError({ uuid: U2, name: 'mwg-2' }, h);
    expect(e.code).toBe('CM_GUI_ATTACH');
    expect(e.message).toContain(`already a session attached at node ${U1} (mwg-1)`);
    expect(e.details.address).toBe('mwg-1:4712');
    // renewals keep it alive
    const renew = a.step({ type: 'renew', at: T + 2000, session: 's1' });
    b.step({
      type: 'received',
      at: T + 2010,
      from: U1,
      message: (renew[1] as { message: import('../src/index').LockMessage }).message,
    });
    expect(b.step({ type: 'tick', at: T + 4000 })).toEqual([]);
    // the holder dies: the lease expires everywhere
    expect(b.step({ type: 'tick', at: T + 5010 })).toEqual([expect.objectContaining({ type: 'expired' })]);
    expect(b.step({ type: 'acquire', at: T + 5020, session: 's2' })[0]?.type).toBe('acquired');
  });

  it('resolves concurrent acquisitions: earliest stamp, then lower priority value, then uuid', () => {
    const a = new AdminLock({ self: holder(U1, 'mwg-1', 10) });
    const b = new AdminLock({ self: holder(U2, 'mwg-2', 1) });
    const la = a.step({ type: 'acquire', at: T, session: 'sa' });
    const lb = b.step({ type: 'acquire', at: T, session: 'sb' });
    const ma = (la[1] as { message: import('../src/index').LockMessage }).message;
    const mb = (lb[1] as { message: import('../src/index').LockMessage }).message;
    // same stamp: b has the lower priority value and wins on both sides
    expect(a.step({ type: 'received', at: T + 5, from: U2, message: mb })).toEqual([
      expect.objectContaining({ type: 'lost', winner: expect.objectContaining({ session: 'sb' }) }),
    ]);
    expect(b.step({ type: 'received', at: T + 5, from: U1, message: ma })).toEqual([
      expect.objectContaining({ type: 'send', to: U1 }),
    ]);
    expect(a.holder()?.session).toBe('sb');
    expect(b.holder()?.session).toBe('sb');
    // an earlier stamp beats a better priority
    const c = new AdminLock({ self: holder(U3, 'mwg-3', 500) });
    const d = new AdminLock({ self: holder(U2, 'mwg-2', 1) });
    const lc = c.step({ type: 'acquire', at: T, session: 'sc' });
    d.step({ type: 'acquire', at: T + 1, session: 'sd' });
    expect(
      d.step({
        type: 'received',
        at: T + 2,
        from: U3,
        message: (lc[1] as { message: import('../src/index').LockMessage }).message,
      })[0]?.type,
    ).toBe('lost');
  });
});

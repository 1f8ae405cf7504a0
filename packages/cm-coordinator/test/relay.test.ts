// The replica machine's relay through transit nodes (events in, actions out): offers carry ids, their path and
// a hop limit; a peer fetches a version once; loops and exhausted hop limits stop; a second transit node is
// asked when the first is down; the cluster membership is gossiped and gives each node's path.
import { describe, expect, it } from 'vitest';
import {
  checkCmMessage,
  makeVersion,
  type NodeIdentity,
  ReplicaMachine,
  type ReplicationMessage,
  type Version,
} from '../src/index';
import {
  memberOf as member,
  groupNode as node,
  sendsOf as sends,
  T,
  testUuid as uuid,
} from './fixtures/replica-nodes';

// Tokyo and New York, each with a leaf and two transit nodes
const TOKYO_LEAF = node(1, 'tokyo-2', ['tokyo']);
const TOKYO_T1 = node(2, 'tokyo-transit', ['tokyo', 'transit']);
const TOKYO_T2 = node(3, 'tokyo-transit2', ['tokyo', 'transit']);
const NY_T = node(4, 'ny-transit', ['newyork', 'transit']);
const NY_LEAF = node(5, 'ny-2', ['newyork']);
const ALL = [TOKYO_LEAF, TOKYO_T1, TOKYO_T2, NY_T, NY_LEAF];

function saved(origin: NodeIdentity, text = 'p1'): Version {
  return makeVersion({
    scope: 'policy',
    parents: [],
    stamp: { wall: T, logical: 0, node: origin.uuid },
    origin: { uuid: origin.uuid, name: origin.name, priority: origin.priority },
    documents: [{ name: 'policy.xml', content: text }],
  });
}

/** A machine with its peers up and the whole membership known. */
function machine(self: NodeIdentity, peers: NodeIdentity[], maxHops?: number): ReplicaMachine {
  const m = new ReplicaMachine({
    self,
    members: ALL.map((n) => member(n)),
    ...(maxHops === undefined ? {} : { maxHops }),
  });
  for (const p of peers) m.step({ type: 'peerUp', at: T, peer: p });
  return m;
}

const nameOf = (u: string) => ALL.find((n) => n.uuid === u)?.name ?? u;

describe('relay through transit nodes', () => {
  it('a save is pushed whole to the own groups, with its path and hop limit', () => {
    const leaf = machine(TOKYO_LEAF, [TOKYO_T1, TOKYO_T2]);
    const out = leaf.step({
      type: 'save',
      at: T + 10,
      scope: 'policy',
      documents: [{ name: 'a', content: 'x' }],
    });
    const b = out.find((a) => a.type === 'broadcast');
    expect(b?.type === 'broadcast' && b.message).toMatchObject({
      type: 'push',
      path: [TOKYO_LEAF.uuid],
      hops: 8,
    });
  });

  it('a transit node offers a new version (ids only) to its other group, never back along the path', () => {
    const t1 = machine(TOKYO_T1, [TOKYO_LEAF, TOKYO_T2, NY_T]);
    const v = saved(TOKYO_LEAF);
    const out = t1.step({
      type: 'received',
      at: T + 20,
      from: TOKYO_LEAF.uuid,
      message: { type: 'push', versions: [v], path: [TOKYO_LEAF.uuid], hops: 8 },
    });
    // acked to the sender after the write; tokyo-transit2 shares tokyo with the leaf (it had the push): no offer
    expect(out.map((a) => a.type)).toEqual(['persist', 'send', 'currentChanged', 'send']);
    expect(sends(out, 'ack').map((s) => nameOf(s.to))).toEqual(['tokyo-2']);
    expect(sends(out, 'offer')).toEqual([
      {
        to: NY_T.uuid,
        message: { type: 'offer', ids: [v.id], path: [TOKYO_LEAF.uuid, TOKYO_T1.uuid], hops: 7 },
      },
    ]);
    expect(t1.snapshot().stats.offersSent).toBe(1);
    // the far side fetches it; the answer carries the path on
    const answer = t1.step({
      type: 'received',
      at: T + 30,
      from: NY_T.uuid,
      message: { type: 'request', ids: [v.id] },
    });
    expect(sends(answer, 'push')).toEqual([
      {
        to: NY_T.uuid,
        message: { type: 'push', versions: [v], path: [TOKYO_LEAF.uuid, TOKYO_T1.uuid], hops: 7 },
      },
    ]);
  });

  it('the far transit node fetches once, then offers to its own leaves with the path grown and one hop less', () => {
    const ny = machine(NY_T, [TOKYO_T1, TOKYO_T2, NY_LEAF]);
    const v = saved(TOKYO_LEAF);
    const offer1 = ny.step({
      type: 'received',
      at: T + 20,
      from: TOKYO_T1.uuid,
      message: { type: 'offer', ids: [v.id], path: [TOKYO_LEAF.uuid, TOKYO_T1.uuid], hops: 7 },
    });
    expect(sends(offer1)).toEqual([{ to: TOKYO_T1.uuid, message: { type: 'request', ids: [v.id] } }]);
    // the same version offered by the second transit node: not fetched twice
    const offer2 = ny.step({
      type: 'received',
      at: T + 21,
      from: TOKYO_T2.uuid,
      message: { type: 'offer', ids: [v.id], path: [TOKYO_LEAF.uuid, TOKYO_T2.uuid], hops: 7 },
    });
    expect(sends(offer2)).toEqual([]);
    const got = ny.step({
      type: 'received',
      at: T + 30,
      from: TOKYO_T1.uuid,
      message: { type: 'push', versions: [v], path: [TOKYO_LEAF.uuid, TOKYO_T1.uuid], hops: 7 },
    });
    expect(sends(got, 'offer')).toEqual([
      {
        to: NY_LEAF.uuid,
        message: { type: 'offer', ids: [v.id], path: [TOKYO_LEAF.uuid, TOKYO_T1.uuid, NY_T.uuid], hops: 6 },
      },
    ]);
    expect(ny.snapshot().stats.fetches).toBe(1);
    // offered again once held: nothing
    expect(
      sends(
        ny.step({
          type: 'received',
          at: T + 40,
          from: TOKYO_T2.uuid,
          message: { type: 'offer', ids: [v.id], path: [TOKYO_LEAF.uuid, TOKYO_T2.uuid], hops: 7 },
        }),
      ),
    ).toEqual([]);
  });

  it('when the transit node asked goes down, the version is fetched from the second one', () => {
    const ny = machine(NY_T, [TOKYO_T1, TOKYO_T2, NY_LEAF]);
    const v = saved(TOKYO_LEAF);
    for (const [from, at] of [
      [TOKYO_T1, T + 20],
      [TOKYO_T2, T + 21],
    ] as const)
      ny.step({
        type: 'received',
        at,
        from: from.uuid,
        message: { type: 'offer', ids: [v.id], path: [TOKYO_LEAF.uuid, from.uuid], hops: 7 },
      });
    const down = ny.step({ type: 'peerDown', at: T + 25, peer: TOKYO_T1.uuid });
    expect(sends(down)).toEqual([{ to: TOKYO_T2.uuid, message: { type: 'request', ids: [v.id] } }]);
  });

  it('an overdue fetch is asked of the next transit node at the tick after retryMs', () => {
    const ny = new ReplicaMachine({ self: NY_T, members: ALL.map((n) => member(n)), retryMs: 1000 });
    for (const p of [TOKYO_T1, TOKYO_T2, NY_LEAF]) ny.step({ type: 'peerUp', at: T, peer: p });
    const v = saved(TOKYO_LEAF);
    for (const from of [TOKYO_T1, TOKYO_T2])
      ny.step({
        type: 'received',
        at: T + 20,
        from: from.uuid,
        message: { type: 'offer', ids: [v.id], path: [TOKYO_LEAF.uuid, from.uuid], hops: 7 },
      });
    expect(sends(ny.step({ type: 'tick', at: T + 500 }), 'request')).toEqual([]);
    expect(sends(ny.step({ type: 'tick', at: T + 1100 }), 'request')).toEqual([
      { to: TOKYO_T2.uuid, message: { type: 'request', ids: [v.id] } },
    ]);
  });

  it('no loops: an offer or push whose path holds this node is dropped; an exhausted hop limit stops the relay', () => {
    const t1 = machine(TOKYO_T1, [TOKYO_LEAF, NY_T]);
    const v = saved(TOKYO_LEAF);
    const loop = t1.step({
      type: 'received',
      at: T + 20,
      from: NY_T.uuid,
      message: { type: 'offer', ids: [v.id], path: [TOKYO_LEAF.uuid, TOKYO_T1.uuid, NY_T.uuid], hops: 5 },
    });
    expect(sends(loop)).toEqual([]);
    expect(t1.snapshot().stats.loops).toBe(1);
    const spent = t1.step({
      type: 'received',
      at: T + 30,
      from: TOKYO_LEAF.uuid,
      message: { type: 'push', versions: [v], path: [TOKYO_LEAF.uuid], hops: 0 },
    });
    expect(spent.some((a) => a.type === 'persist')).toBe(true); // kept
    expect(sends(spent, 'offer')).toEqual([]); // not relayed
    expect(t1.snapshot().stats.hopLimited).toBe(1);
    // a catch-up push (no path) starts the limit again; offered to the peers outside the sender's groups
    const ny = machine(NY_T, [TOKYO_T1, NY_LEAF], 3);
    const caught = ny.step({
      type: 'received',
      at: T + 40,
      from: TOKYO_T1.uuid,
      message: { type: 'push', versions: [v] },
    });
    expect(sends(caught, 'offer')).toEqual([
      {
        to: NY_LEAF.uuid,
        message: { type: 'offer', ids: [v.id], path: [TOKYO_T1.uuid, NY_T.uuid], hops: 3 },
      },
    ]);
  });

  it('in one network group (a full mesh) nothing is offered: every peer had the push of the saving node', () => {
    const one = (n: number) => node(n, `mwg${n}`, ['default']);
    const m = new ReplicaMachine({ self: one(2) });
    for (const p of [one(1), one(3), one(4)]) m.step({ type: 'peerUp', at: T, peer: p });
    const out = m.step({
      type: 'received',
      at: T + 1,
      from: one(1).uuid,
      message: { type: 'push', versions: [saved(one(1))], path: [one(1).uuid], hops: 8 },
    });
    expect(sends(out, 'offer')).toEqual([]);
    // nor after a catch-up push (no path): the sender's peers catch up from it
    const caught = m.step({
      type: 'received',
      at: T + 2,
      from: one(3).uuid,
      message: { type: 'push', versions: [saved(one(3), 'p2')] },
    });
    expect(caught.some((a) => a.type === 'persist')).toBe(true);
    expect(sends(caught, 'offer')).toEqual([]);
  });

  it('checkCmMessage validates offers, pushes with a path, and membership lists', () => {
    const id = 'a'.repeat(64);
    expect(checkCmMessage({ type: 'offer', ids: [id], path: [uuid(1)], hops: 3 }).ok).toBe(true);
    expect(checkCmMessage({ type: 'offer', ids: [id], path: [], hops: 3 }).ok).toBe(false);
    expect(checkCmMessage({ type: 'offer', ids: [id], path: [uuid(1), uuid(1)], hops: 3 }).ok).toBe(false);
    expect(checkCmMessage({ type: 'offer', ids: [id], path: [uuid(1)], hops: -1 }).ok).toBe(false);
    expect(checkCmMessage({ type: 'push', versions: [], path: ['x'], hops: 1 }).ok).toBe(false);
    expect(checkCmMessage({ type: 'members', members: [member(TOKYO_LEAF)] }).ok).toBe(true);
    const bad = checkCmMessage({ type: 'members', members: [{ ...member(TOKYO_LEAF), groups: [''] }] });
    expect(!bad.ok && bad.error.details.issues).toEqual([
      expect.objectContaining({ path: 'members[0].groups' }),
    ]);
  });
});

describe('cluster membership', () => {
  it('is gossiped: a differing digest in a summary brings the list; news goes on at the next tick', () => {
    const a = new ReplicaMachine({ self: TOKYO_T1 });
    const b = new ReplicaMachine({ self: NY_T, members: [member(NY_LEAF)] });
    a.step({ type: 'peerUp', at: T, peer: NY_T });
    a.step({ type: 'peerUp', at: T, peer: TOKYO_LEAF });
    b.step({ type: 'peerUp', at: T, peer: TOKYO_T1 });
    // tokyo-2's summary (its own entry only) comes first: it gets a's list (tokyo-transit) at once
    const leaf = new ReplicaMachine({ self: TOKYO_LEAF });
    const first = a.step({ type: 'received', at: T, from: TOKYO_LEAF.uuid, message: leaf.summary() });
    expect(sends(first, 'members').map((s) => nameOf(s.to))).toEqual(['tokyo-2']);
    const summary = b.summary();
    expect(summary.membersDigest).toMatch(/^[0-9a-f]{64}$/);
    const out = a.step({ type: 'received', at: T + 1, from: NY_T.uuid, message: summary });
    const list = sends(out, 'members');
    expect(list.map((s) => nameOf(s.to))).toEqual(['ny-transit']);
    const merged = b.step({
      type: 'received',
      at: T + 2,
      from: TOKYO_T1.uuid,
      message: list[0]?.message as ReplicationMessage,
    });
    expect(merged.filter((x) => x.type === 'members')).toHaveLength(1);
    // b learned tokyo-transit; a lacks ny-2: the list goes back at once
    const back = sends(merged, 'members');
    expect(back.map((s) => nameOf(s.to))).toEqual(['tokyo-transit']);
    const learned = a.step({
      type: 'received',
      at: T + 3,
      from: NY_T.uuid,
      message: back[0]?.message as ReplicationMessage,
    });
    expect(
      a
        .members()
        .map((m) => m.name)
        .sort(),
    ).toEqual(['ny-2', 'ny-transit', 'tokyo-transit']);
    expect(sends(learned, 'members')).toEqual([]); // b already has all of it
    // tokyo-2, a peer of a, hears of New York at the next tick, once
    expect(sends(a.step({ type: 'tick', at: T + 1000 }), 'members').map((s) => nameOf(s.to))).toEqual([
      'tokyo-2',
    ]);
    expect(sends(a.step({ type: 'tick', at: T + 2000 }), 'members')).toEqual([]);
    expect(a.membersDigest()).toBe(b.membersDigest());
  });

  it('an entry with a higher counter wins; this node keeps its own entry and raises its counter over a stale copy', () => {
    const m = new ReplicaMachine({ self: TOKYO_LEAF, members: [member(TOKYO_LEAF, 4)] });
    expect(m.members().find((x) => x.uuid === TOKYO_LEAF.uuid)?.seq).toBe(4); // same content: kept
    const changed = new ReplicaMachine({
      self: { ...TOKYO_LEAF, groups: ['tokyo', 'transit'] },
      members: [member(TOKYO_LEAF, 4)],
    });
    expect(changed.members()[0]).toMatchObject({ groups: ['tokyo', 'transit'], seq: 5 });
    m.step({ type: 'peerUp', at: T, peer: TOKYO_T1 });
    m.step({
      type: 'received',
      at: T + 1,
      from: TOKYO_T1.uuid,
      message: {
        type: 'members',
        members: [{ ...member(TOKYO_LEAF, 9), groups: ['elsewhere'] }, member(NY_T, 2)],
      },
    });
    expect(m.members().find((x) => x.uuid === TOKYO_LEAF.uuid)).toMatchObject({ groups: ['tokyo'], seq: 10 });
    m.step({
      type: 'received',
      at: T + 2,
      from: TOKYO_T1.uuid,
      message: { type: 'members', members: [{ ...member(NY_T, 1), groups: ['old'] }] },
    });
    expect(m.members().find((x) => x.uuid === NY_T.uuid)?.groups).toEqual(['newyork', 'transit']);
  });

  it('path(): the shortest way through the groups, avoiding a peer that is down', () => {
    const leaf = machine(TOKYO_LEAF, [TOKYO_T1, TOKYO_T2]);
    const names = (p: string[] | undefined) => p?.map(nameOf);
    expect(names(leaf.path(NY_LEAF.uuid))).toEqual(['tokyo-2', 'tokyo-transit', 'ny-transit', 'ny-2']);
    leaf.step({ type: 'peerDown', at: T + 1, peer: TOKYO_T1.uuid });
    expect(names(leaf.path(NY_LEAF.uuid))).toEqual(['tokyo-2', 'tokyo-transit2', 'ny-transit', 'ny-2']);
    expect(leaf.path(TOKYO_T1.uuid)).toBeUndefined();
    leaf.step({ type: 'peerDown', at: T + 2, peer: TOKYO_T2.uuid });
    expect(leaf.path(NY_LEAF.uuid)).toBeUndefined();
    expect(leaf.path(uuid(99))).toBeUndefined();
  });

  it('refuses a bad configuration naming the path', () => {
    expect(() => new ReplicaMachine({ self: TOKYO_LEAF, maxHops: 0 })).toThrow(/maxHops/);
    expect(() => new ReplicaMachine({ self: { ...TOKYO_LEAF, groups: [] } })).toThrow(/self\.groups/);
    expect(() => new ReplicaMachine({ self: TOKYO_LEAF, members: [{ ...member(NY_T), seq: -1 }] })).toThrow(
      /members\[0\]\.seq/,
    );
  });
});

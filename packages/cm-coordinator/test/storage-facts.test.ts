// Storage facts (issue 14): every node's Current Storage Timestamp, passed on with the summaries through transit
// nodes, so that a node sees the timestamps of the nodes behind them. Events in, actions out: the facts cross
// two transit hops, the newer fact wins, nothing comes back as new, and the bytes stay bounded (facts ride the
// periodic summaries, each only to peers that lack it). Also the wire check of the new field.
import { describe, expect, it } from 'vitest';
import {
  checkCmMessage,
  formatCmStatus,
  formatHlc,
  type NodeIdentity,
  type ReplicaAction,
  ReplicaMachine,
  type ReplicationMessage,
  type StorageFact,
  type SummaryMessage,
  type Version,
} from '../src/index';
import { memberOf as member, groupNode as node, T, testUuid as uuid } from './fixtures/replica-nodes';

const SYNC_MS = 5000;
// the guide's first layout: tokyo-2 -> tokyo-transit -> ny-transit -> ny-2 (two transit hops)
const TOKYO_LEAF = node(1, 'tokyo-2', ['tokyo']);
const TOKYO_T = node(2, 'tokyo-transit', ['tokyo', 'transit']);
const NY_T = node(3, 'ny-transit', ['newyork', 'transit']);
const NY_LEAF = node(4, 'ny-2', ['newyork']);
const ALL = [TOKYO_LEAF, TOKYO_T, NY_T, NY_LEAF];
const LINKS: [NodeIdentity, NodeIdentity][] = [
  [TOKYO_LEAF, TOKYO_T],
  [TOKYO_T, NY_T],
  [NY_T, NY_LEAF],
];
const nameOf = (u: string) => ALL.find((n) => n.uuid === u)?.name ?? u;

interface Sent {
  readonly at: number;
  readonly from: string;
  readonly to: string;
  readonly message: ReplicationMessage;
}

/**
 * Four machines wired along LINKS; every message is delivered at once (a queue, in order). Time moves only
 * when the test says so; `tick` gives every machine a tick.
 */
class Chain {
  readonly machines = new Map<string, ReplicaMachine>();
  readonly sent: Sent[] = [];
  now = T;

  constructor() {
    for (const n of ALL)
      this.machines.set(
        n.name,
        new ReplicaMachine({ self: n, members: ALL.map(member), syncIntervalMs: SYNC_MS, retryMs: 2000 }),
      );
    for (const [a, b] of LINKS) {
      this.run(a.name, this.m(a.name).step({ type: 'peerUp', at: this.now, peer: b }));
      this.run(b.name, this.m(b.name).step({ type: 'peerUp', at: this.now, peer: a }));
    }
  }

  m(name: string): ReplicaMachine {
    return this.machines.get(name) as ReplicaMachine;
  }

  peersOf(name: string): string[] {
    return LINKS.flatMap(([a, b]) => (a.name === name ? [b.name] : b.name === name ? [a.name] : []));
  }

  run(name: string, actions: readonly ReplicaAction[]): void {
    const queue: { from: string; to: string; message: ReplicationMessage }[] = [];
    const take = (from: string, list: readonly ReplicaAction[]) => {
      for (const a of list) {
        if (a.type === 'send') queue.push({ from, to: nameOf(a.to), message: a.message });
        if (a.type === 'broadcast')
          for (const p of this.peersOf(from)) queue.push({ from, to: p, message: a.message });
      }
    };
    take(name, actions);
    for (let e = queue.shift(); e !== undefined; e = queue.shift()) {
      const from = this.m(e.from).self.uuid;
      this.sent.push({ at: this.now, from: e.from, to: e.to, message: e.message });
      take(e.to, this.m(e.to).step({ type: 'received', at: this.now, from, message: e.message }));
    }
  }

  save(name: string, content: string): Version {
    const actions = this.m(name).step({
      type: 'save',
      at: this.now,
      scope: 'policy',
      documents: [{ name: 'policy.xml', content }],
    });
    this.run(name, actions);
    return this.m(name).current('policy') as Version;
  }

  /** Moves the time on by `ms` in ticks of 1 s, every machine ticking. */
  advance(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += 1000;
      for (const n of ALL) this.run(n.name, this.m(n.name).step({ type: 'tick', at: this.now }));
    }
  }

  /** What `name` knows of `of`'s Current Storage Timestamp. */
  seen(name: string, of: string): string | undefined {
    const u = this.m(of).self.uuid;
    return this.m(name)
      .storageFacts(this.now)
      .find((f) => f.uuid === u)?.storageTimestamp;
  }

  summaries(since = 0): Sent[] {
    return this.sent.filter((s) => s.at >= since && s.message.type === 'summary');
  }
}

const factsIn = (list: readonly Sent[]) =>
  list.reduce((n, s) => n + ((s.message as SummaryMessage).facts?.length ?? 0), 0);

describe('storage facts through transit nodes (machine)', () => {
  it('cross two transit hops with the periodic summaries, both ways; a save does not add messages', () => {
    const c = new Chain();
    c.advance(2000);
    const v = c.save('tokyo-2', '<policy rev="1"/>');
    const ts = formatHlc(v.stamp);
    const savedAt = c.now;
    c.advance(1000);
    // the relay brought the version everywhere at once; its facts travel one sync interval per hop at most
    for (const n of ALL) expect(c.m(n.name).storageTimestamp, n.name).toBe(ts);
    c.advance(3 * SYNC_MS + 1000);
    for (const a of ALL)
      for (const b of ALL) if (a !== b) expect(c.seen(a.name, b.name), `${a.name} sees ${b.name}`).toBe(ts);
    // ny-2 heard of tokyo-2 through ny-transit (its only peer); tokyo-2 of ny-2 through tokyo-transit
    const far = c
      .m('ny-2')
      .storageFacts(c.now)
      .find((f) => f.uuid === TOKYO_LEAF.uuid);
    expect(far).toMatchObject({ via: NY_T.uuid, version: v.id, behind: false });
    expect(far?.reportedAt).toBeGreaterThanOrEqual(savedAt);
    // every message after the save's relay is a periodic summary (facts add none): each link both ways per
    // sync interval
    const after = c.sent.filter((s) => s.at > savedAt + 1000);
    expect(new Set(after.map((s) => s.message.type))).toEqual(new Set(['summary']));
  });

  it('no loop amplification: once known, a fact is not sent again on a link (but the rare refresh)', () => {
    const c = new Chain();
    c.advance(2000);
    c.save('tokyo-2', '<policy rev="1"/>');
    c.advance(4 * SYNC_MS);
    const quiet = c.now;
    c.advance(20 * SYNC_MS);
    const summaries = c.summaries(quiet + 1);
    // 3 links, both ways, one summary per sync interval
    expect(summaries.length).toBe(3 * 2 * 20);
    // facts: only in every 10th summary per peer (the refresh), at most one per node (4)
    expect(factsIn(summaries)).toBeLessThanOrEqual((summaries.length / 10 + 6) * ALL.length);
    expect(
      summaries.filter((s) => ((s.message as SummaryMessage).facts?.length ?? 0) > 0).length,
    ).toBeLessThanOrEqual(summaries.length / 10 + 6);
    // and while facts were news: each node's fact crossed each directed link at most twice (news + refresh)
    const c2 = new Chain();
    c2.advance(2000);
    const before = c2.sent.length;
    c2.save('ny-2', '<policy rev="2"/>');
    c2.advance(4 * SYNC_MS);
    const counts = new Map<string, number>();
    for (const s of c2.sent.slice(before))
      for (const f of (s.message as SummaryMessage).facts ?? []) {
        const key = `${s.from}>${s.to}:${nameOf(f.uuid)}@${f.at.wall}.${f.at.logical}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
    // a fact never goes back to the peer it came from: tokyo-transit never tells ny-transit of ny-2's new one
    const ny2 = c2.m('ny-2').self.uuid;
    const back = c2.sent
      .slice(before)
      .filter(
        (s) =>
          s.from === 'tokyo-transit' &&
          s.to === 'ny-transit' &&
          ((s.message as SummaryMessage).facts ?? []).some(
            (f) => f.uuid === ny2 && f.version === c2.m('ny-2').current('policy')?.id,
          ),
      );
    expect(back).toEqual([]);
  });

  it('the newer fact wins; an older one (another way, late) changes nothing and goes nowhere', () => {
    const m = new ReplicaMachine({ self: TOKYO_T, members: ALL.map(member), syncIntervalMs: SYNC_MS });
    m.step({ type: 'peerUp', at: T, peer: NY_T });
    m.step({ type: 'peerUp', at: T, peer: TOKYO_LEAF });
    const fact = (wall: number, version: string): StorageFact => ({
      uuid: NY_LEAF.uuid,
      version,
      stamp: { wall: wall - 10, logical: 0, node: NY_LEAF.uuid },
      at: { wall, logical: 0, node: NY_LEAF.uuid },
    });
    const summary = (facts: StorageFact[]): SummaryMessage => ({
      type: 'summary',
      node: NY_T,
      scopes: [],
      facts,
    });
    const newer = fact(T + 2000, 'b'.repeat(64));
    const older = fact(T + 1000, 'a'.repeat(64));
    m.step({ type: 'received', at: T + 10, from: NY_T.uuid, message: summary([newer]) });
    expect(m.factsDue(T + 10 + 1000)).toEqual([TOKYO_LEAF.uuid]); // news goes on: to tokyo-2, not back
    m.step({ type: 'received', at: T + 20, from: NY_T.uuid, message: summary([older]) });
    const seen = m.storageFacts(T + 30).find((f) => f.uuid === NY_LEAF.uuid);
    expect(seen?.version).toBe(newer.version);
    expect(seen?.storageTimestamp).toBe(formatHlc(newer.stamp));
    expect(seen?.learnedAt).toBe(T + 10);
    expect(m.factsDue(T + 20 + 1000)).toEqual([]); // the older one is no news
    // tokyo-2 gets it once; ny-transit, which told it, never
    expect(m.summary(TOKYO_LEAF.uuid).facts?.map((f) => f.version)).toEqual([newer.version]);
    expect(m.summary(TOKYO_LEAF.uuid).facts).toEqual([]);
    expect(m.summary(NY_T.uuid).facts).toEqual([]);
  });

  it('keeps facts only about members and peers, and an old peer without facts still syncs', () => {
    const m = new ReplicaMachine({ self: TOKYO_T, members: ALL.map(member), syncIntervalMs: SYNC_MS });
    m.step({ type: 'peerUp', at: T, peer: NY_T });
    const stranger = uuid(99);
    m.step({
      type: 'received',
      at: T + 1,
      from: NY_T.uuid,
      message: {
        type: 'summary',
        node: NY_T,
        scopes: [],
        facts: [
          {
            uuid: stranger,
            version: 'c'.repeat(64),
            stamp: { wall: T, logical: 0, node: stranger },
            at: { wall: T, logical: 0, node: stranger },
          },
        ],
      },
    });
    expect(m.storageFacts(T + 2)).toEqual([]);
    // an old node's summary: no facts field; it is still compared (inventory) and nothing breaks
    const old = m.step({
      type: 'received',
      at: T + 3,
      from: NY_T.uuid,
      message: { type: 'summary', node: NY_T, scopes: [] },
    });
    expect(old.filter((a) => a.type === 'log' && a.level === 'warn')).toEqual([]);
    expect(m.storageFacts(T + 4)).toEqual([]);
  });

  it('behind: a far node reporting another policy counts only after the grace period', () => {
    const c = new Chain();
    c.advance(2000);
    c.save('tokyo-2', '<policy rev="1"/>');
    c.advance(4 * SYNC_MS);
    // ny-2 is cut off (its link to ny-transit down): a new save does not reach it
    c.run('ny-transit', c.m('ny-transit').step({ type: 'peerDown', at: c.now, peer: NY_LEAF.uuid }));
    c.run('ny-2', c.m('ny-2').step({ type: 'peerDown', at: c.now, peer: NY_T.uuid }));
    const v2 = c.save('tokyo-2', '<policy rev="2"/>');
    const savedAt = c.now;
    const behind = () =>
      c
        .m('tokyo-2')
        .storageFacts(c.now)
        .filter((f) => f.behind)
        .map((f) => nameOf(f.uuid));
    // right after the save every far node reports the old one: not behind yet (the save is on its way)
    expect(behind()).toEqual([]);
    // ny-2 is 3 links away: grace 3 x sync + retry from the save (virtual time); at its end not yet behind,
    // one tick later behind
    const grace = 3 * SYNC_MS + 2000;
    c.advance(savedAt + grace - c.now);
    expect(behind()).toEqual([]);
    c.advance(1000);
    expect(behind()).toEqual(['ny-2']);
    expect(c.seen('tokyo-2', 'ny-transit')).toBe(formatHlc(v2.stamp));
    expect(c.seen('tokyo-2', 'ny-2')).not.toBe(formatHlc(v2.stamp));
  });
});

describe('storage facts on the wire', () => {
  const base = { type: 'summary', node: NY_T, scopes: [] };
  const good: StorageFact = {
    uuid: NY_LEAF.uuid,
    version: 'a'.repeat(64),
    stamp: { wall: T, logical: 0, node: TOKYO_LEAF.uuid },
    at: { wall: T + 5, logical: 1, node: NY_LEAF.uuid },
  };
  const issuesOf = (facts: unknown) => {
    const r = checkCmMessage({ ...base, facts });
    return r.ok ? [] : (r.error.details as { issues: { path: string }[] }).issues.map((i) => i.path);
  };

  it('accepts a summary without facts (an older node) and with valid facts', () => {
    expect(checkCmMessage(base).ok).toBe(true);
    expect(checkCmMessage({ ...base, facts: [good] }).ok).toBe(true);
    expect(checkCmMessage({ ...base, facts: [] }).ok).toBe(true);
  });

  it('refuses bad facts with CM_BAD_MESSAGE naming the path', () => {
    const r = checkCmMessage({ ...base, facts: 'x' });
    expect(r.ok ? undefined : r.error.code).toBe('CM_BAD_MESSAGE');
    expect(issuesOf('x')).toEqual(['facts']);
    expect(issuesOf([null])).toEqual(['facts[0]']);
    expect(issuesOf([{ ...good, uuid: 'NOPE' }])).toEqual(['facts[0].uuid']);
    expect(issuesOf([good, good])).toEqual(['facts[1].uuid']);
    expect(issuesOf([{ ...good, version: 'xyz' }])).toEqual(['facts[0].version']);
    expect(issuesOf([{ ...good, stamp: { wall: -1, logical: 0, node: NY_LEAF.uuid } }])).toEqual([
      'facts[0].stamp.wall',
    ]);
    // a fact is made by the node it is about
    expect(issuesOf([{ ...good, at: { ...good.at, node: TOKYO_LEAF.uuid } }])).toEqual(['facts[0].at.node']);
    expect(issuesOf(Array.from({ length: 10_001 }, () => good))).toEqual(['facts']);
  });
});

describe('storage facts in the status text', () => {
  it('shows a far node with its timestamp, when it reported it and through whom', () => {
    const text = formatCmStatus({
      self: { uuid: TOKYO_LEAF.uuid, name: 'tokyo-2' },
      inSync: false,
      nodes: [
        {
          uuid: TOKYO_LEAF.uuid,
          name: 'tokyo-2',
          address: '10.1.0.2:12346',
          version: '1.0.0',
          storageTimestamp: 'TS2',
          reachable: true,
          lastError: null,
          path: ['tokyo-2'],
        },
        {
          uuid: NY_LEAF.uuid,
          name: 'ny-2',
          address: '10.2.0.2:12346',
          version: '?',
          storageTimestamp: 'TS1',
          storageTimestampSource: {
            via: 'tokyo-transit',
            reportedAt: '2026-11-30T21:55:01.655Z',
            learnedAgoMs: 125_000,
          },
          reachable: true,
          lastError: null,
          path: ['tokyo-2', 'tokyo-transit', 'ny-transit', 'ny-2'],
        },
      ],
      conflicts: [],
    });
    expect(text).toContain('cluster NOT in sync');
    expect(text).toContain(
      '  ny-2  10.2.0.2:12346  v?  Current Storage Timestamp: TS1 (reported 2026-11-30T21:55:01.655Z, via tokyo-transit 2 min ago)  reachable  path: tokyo-2 -> tokyo-transit -> ny-transit -> ny-2',
    );
    expect(text).toContain('* tokyo-2  10.1.0.2:12346  v1.0.0  Current Storage Timestamp: TS2  reachable\n');
  });
});

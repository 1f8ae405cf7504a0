// A version offered by two transit nodes of one network is fetched over the WAN once (issue 14; found by
// bench/groups.mjs, layout groups2: one save crossed the WAN from both toknet1 transit nodes). The race: while
// a far transit node fetches the version from the first transit node (offer, request, push in flight), the
// second one's summary (every change is announced to every peer) makes it send an inventory, which the second
// one answered with the whole version; or the far node's own summary makes the second one send an inventory,
// whose request the far node did not count as a fetch, and the first one's offer is then fetched as well.
// Reproduced here message by message with real machines (the crossing order is explicit), then in the
// simulator with link delays chosen so that a periodic summary crosses the fetch; and the failover through the
// second transit node still works when the first one goes down or does not answer.
import { describe, expect, it } from 'vitest';
import { type NodeIdentity, ReplicaMachine, type ReplicationMessage, type Version } from '../src/index';
import { type CmSimNodeSpec, CmSimulation } from '../src/sim/index';
import {
  memberOf as member,
  groupNode as node,
  type SentMessage as Sent,
  sendsOf as sends,
  T,
} from './fixtures/replica-nodes';

// toknet1 with a leaf and two transit nodes (the bench's groups2), New York's transit node across the WAN
const LEAF = node(1, 'toknet1-mwg1', ['toknet1']);
const T1 = node(2, 'toknet1-transit-1', ['toknet1', 'transit']);
const T2 = node(3, 'toknet1-transit-2', ['toknet1', 'transit']);
const NY = node(4, 'nynet1-transit', ['nynet1', 'transit']);
const NY_LEAF = node(5, 'nynet1-mwg1', ['nynet1']);
const ALL = [LEAF, T1, T2, NY, NY_LEAF];
const RETRY_MS = 2000;

function machine(self: NodeIdentity, peers: NodeIdentity[]): ReplicaMachine {
  const m = new ReplicaMachine({ self, members: ALL.map(member), retryMs: RETRY_MS });
  for (const p of peers) m.step({ type: 'peerUp', at: T, peer: p });
  return m;
}

const to = (list: readonly Sent[], n: NodeIdentity) => list.filter((s) => s.to === n.uuid);
/** Pushes in `list` that carry the version whole. */
const copiesOf = (list: readonly Sent[], v: Version) =>
  list.filter((s) => s.message.type === 'push' && s.message.versions.some((x) => x.id === v.id));
const deliver = (m: ReplicaMachine, at: number, from: NodeIdentity, message: ReplicationMessage) =>
  m.step({ type: 'received', at, from: from.uuid, message });

/** The three transit nodes, each with its peers up, and a save on the leaf pushed to both toknet1 transit nodes. */
function setup() {
  const t1 = machine(T1, [LEAF, T2, NY]);
  const t2 = machine(T2, [LEAF, T1, NY]);
  const ny = machine(NY, [T1, T2, NY_LEAF]);
  const leaf = machine(LEAF, [T1, T2]);
  const saved = leaf.step({
    type: 'save',
    at: T + 10,
    scope: 'policy',
    documents: [{ name: 'policy.xml', content: '<policy rev="1"/>' }],
  });
  const b = saved.find((a) => a.type === 'broadcast');
  if (b?.type !== 'broadcast' || b.message.type !== 'push') throw new Error('no push of the save');
  const v = b.message.versions[0] as Version;
  const atT1 = deliver(t1, T + 20, LEAF, b.message);
  const atT2 = deliver(t2, T + 20, LEAF, b.message);
  // both offer it (ids only) to New York
  const offer1 = to(sends(atT1, 'offer'), NY)[0]?.message as ReplicationMessage;
  const offer2 = to(sends(atT2, 'offer'), NY)[0]?.message as ReplicationMessage;
  expect(offer1).toMatchObject({ type: 'offer', ids: [v.id] });
  expect(offer2).toMatchObject({ type: 'offer', ids: [v.id] });
  return { t1, t2, ny, v, offer1, offer2 };
}

describe('a version offered by both transit nodes of a network is fetched once', () => {
  it("the second transit node's summary crosses the fetch from the first: answered after the fetch, nothing twice", () => {
    const { t1, t2, ny, v, offer1, offer2 } = setup();
    const intoNy: Sent[] = [];
    const fromNy: Sent[] = [];
    // 1. ny-transit fetches it from the first transit node (its request is on its way)
    const req = sends(deliver(ny, T + 80, T1, offer1));
    expect(req).toEqual([{ to: T1.uuid, message: { type: 'request', ids: [v.id] } }]);
    // 2. the second transit node announces its summary (it holds the version now): it crosses the fetch. An
    //    inventory now would make it push the version whole (it lacks nothing else): put aside
    fromNy.push(...sends(deliver(ny, T + 120, T2, t2.summary())));
    expect(fromNy).toEqual([]);
    expect(ny.snapshot().peers.find((p) => p.node.uuid === T2.uuid)?.inSync).toBe(false);
    // 3. its offer arrives too: already being fetched
    fromNy.push(...sends(deliver(ny, T + 121, T2, offer2)));
    expect(fromNy).toEqual([]);
    // 4. the first transit node answers the request: the one copy
    intoNy.push(...to(sends(deliver(t1, T + 140, NY, req[0]?.message as ReplicationMessage)), NY));
    expect(copiesOf(intoNy, v)).toHaveLength(1);
    const got = deliver(ny, T + 200, T1, copiesOf(intoNy, v)[0]?.message as ReplicationMessage);
    expect(got.filter((a) => a.type === 'persist')).toHaveLength(1);
    // the summary put aside is answered now: the sets are equal, so no inventory, and in sync
    expect(sends(got, 'inventory')).toEqual([]);
    expect(ny.snapshot().peers.find((p) => p.node.uuid === T2.uuid)?.inSync).toBe(true);
    // nothing more, later either
    expect(sends(ny.step({ type: 'tick', at: T + 10 * RETRY_MS }), 'request')).toEqual([]);
    expect(sends(ny.step({ type: 'tick', at: T + 10 * RETRY_MS }), 'inventory')).toEqual([]);
    expect(ny.snapshot().stats.fetches).toBe(1);
    expect(ny.snapshot().stats.duplicates).toBe(0);
  });

  it("ny-transit's own summary crosses the offer: the request answering an inventory counts as the fetch", () => {
    const { t1, t2, ny, v, offer1 } = setup();
    // 1. ny-transit's summary reaches the second transit node, which lists what it holds
    const inv = to(sends(deliver(t2, T + 25, NY, ny.summary()), 'inventory'), NY);
    expect(inv).toHaveLength(1);
    // 2. ny-transit asks it for the version it lacks
    const req = sends(deliver(ny, T + 70, T2, inv[0]?.message as ReplicationMessage), 'request');
    expect(req).toEqual([{ to: T2.uuid, message: { type: 'request', ids: [v.id] } }]);
    // 3. the first transit node's offer arrives while that request is on its way: no second request
    expect(sends(deliver(ny, T + 80, T1, offer1))).toEqual([]);
    // 4. the second transit node's copy arrives: the one copy; a tick later nothing more is asked
    const pushed = to(sends(deliver(t2, T + 120, NY, req[0]?.message as ReplicationMessage)), NY);
    expect(copiesOf(pushed, v)).toHaveLength(1);
    deliver(ny, T + 170, T2, pushed[0]?.message as ReplicationMessage);
    expect(ny.version(v.id)).toBeDefined();
    expect(sends(ny.step({ type: 'tick', at: T + 10 * RETRY_MS }), 'request')).toEqual([]);
    expect(ny.snapshot().stats.fetches).toBe(0); // no offer-driven fetch was needed
    expect(t1.snapshot().stats.offersSent).toBe(1);
  });

  it('a fetch answering an inventory fails (its peer goes down): the first offer is the fallback', () => {
    const { t1, t2, ny, v, offer1 } = setup();
    const inv = to(sends(deliver(t2, T + 25, NY, ny.summary()), 'inventory'), NY);
    deliver(ny, T + 70, T2, inv[0]?.message as ReplicationMessage);
    expect(sends(deliver(ny, T + 80, T1, offer1))).toEqual([]);
    const down = sends(ny.step({ type: 'peerDown', at: T + 90, peer: T2.uuid }));
    expect(down).toEqual([{ to: T1.uuid, message: { type: 'request', ids: [v.id] } }]);
    const pushed = to(sends(deliver(t1, T + 140, NY, down[0]?.message as ReplicationMessage)), NY);
    expect(copiesOf(pushed, v)).toHaveLength(1);
  });

  it('the first transit node goes down during the fetch: the second one is the fallback (after the crossing)', () => {
    const { t2, ny, v, offer1, offer2 } = setup();
    deliver(ny, T + 80, T1, offer1);
    expect(sends(deliver(ny, T + 120, T2, t2.summary()))).toEqual([]);
    deliver(ny, T + 121, T2, offer2);
    // the first one is gone before it answered: the version is asked of the second one, then the summary put
    // aside is answered (its push answering the request comes first on that connection: one copy)
    const down = sends(ny.step({ type: 'peerDown', at: T + 300, peer: T1.uuid }));
    expect(down.map((s) => [s.to, s.message.type])).toEqual([
      [T2.uuid, 'request'],
      [T2.uuid, 'inventory'],
    ]);
    expect(down[0]?.message).toEqual({ type: 'request', ids: [v.id] });
    const intoNy: Sent[] = [];
    for (const [i, s] of down.entries())
      intoNy.push(...to(sends(deliver(t2, T + 350 + i, NY, s.message)), NY));
    expect(copiesOf(intoNy, v)).toHaveLength(1);
    deliver(ny, T + 400, T2, copiesOf(intoNy, v)[0]?.message as ReplicationMessage);
    expect(ny.current('policy')?.id).toBe(v.id);
  });

  it('the first transit node does not answer: after retryMs the second one is asked and the summary answered', () => {
    const { t2, ny, v, offer1, offer2 } = setup();
    deliver(ny, T + 80, T1, offer1);
    deliver(ny, T + 81, T2, offer2);
    expect(sends(deliver(ny, T + 120, T2, t2.summary()))).toEqual([]);
    // nothing is asked again, nor the summary answered, before retryMs
    expect(sends(ny.step({ type: 'tick', at: T + 80 + RETRY_MS - 1 }))).toEqual([]);
    const overdue = sends(ny.step({ type: 'tick', at: T + 80 + RETRY_MS }));
    expect(overdue.map((s) => [s.to, s.message.type])).toEqual([
      [T2.uuid, 'request'],
      [T2.uuid, 'inventory'],
    ]);
    expect(overdue[0]?.message).toEqual({ type: 'request', ids: [v.id] });
  });

  it('a summary put aside is answered after retryMs at the latest, however long fetches go on', () => {
    const { t2, ny, offer1 } = setup();
    deliver(ny, T + 80, T1, offer1);
    expect(sends(deliver(ny, T + 100, T2, t2.summary()))).toEqual([]);
    // another summary of the same peer does not push the answer further out
    expect(sends(deliver(ny, T + 100 + RETRY_MS / 2, T2, t2.summary()))).toEqual([]);
    const late = sends(ny.step({ type: 'tick', at: T + 100 + RETRY_MS }), 'inventory');
    expect(late.map((s) => s.to)).toEqual([T2.uuid]);
  });

  it('in the simulator, a periodic summary of the second transit node crossing a WAN fetch brings no second copy', () => {
    // the bench's groups2 layout, smaller: toknet1 with two transit nodes, WAN links of 60 ms between the
    // transit nodes of different sites (no jitter), summaries every second; the save is made 40 ms before the
    // summaries go out, so that each far transit node's fetch (offer, request, push: 3 x 60 ms) is in flight
    // when the second transit node's summary arrives
    const specs: CmSimNodeSpec[] = [];
    const sites: Record<string, string[]> = { tokyo: [], newyork: [], paderborn: [] };
    const net = (site: string, name: string, transits: number, leaves: number) => {
      for (let i = 1; i <= transits; i++) {
        const n = transits > 1 ? `${name}-transit-${i}` : `${name}-transit`;
        specs.push({ name: n, groups: [name, 'transit'] });
        sites[site]?.push(n);
      }
      for (let i = 1; i <= leaves; i++) {
        specs.push({ name: `${name}-mwg${i}`, groups: [name] });
        sites[site]?.push(`${name}-mwg${i}`);
      }
    };
    net('tokyo', 'toknet1', 2, 3);
    net('tokyo', 'toknet2', 1, 2);
    net('newyork', 'nynet1', 1, 2);
    net('newyork', 'nynet2', 1, 2);
    net('paderborn', 'paderborn', 1, 2);
    const sim = new CmSimulation({ nodes: specs, seed: 7, syncIntervalMs: 1000, tickMs: 1000 });
    const transits = Object.entries(sites).flatMap(([site, names]) =>
      names.filter((n) => n.includes('-transit')).map((n) => [site, n] as const),
    );
    for (const [sa, a] of transits)
      for (const [sb, b] of transits) if (sa !== sb && a < b) sim.setLink(a, b, { delayMs: 60 });
    sim.runFor(5000);
    expect(sim.converged()).toBe(true);
    sim.runUntil(5960);
    const v = sim.save('toknet1-mwg1');
    sim.runFor(3000);
    expect(sim.converged()).toBe(true);
    const tokyo = sites.tokyo as string[];
    const abroad = [...(sites.newyork as string[]), ...(sites.paderborn as string[])];
    const summariesDuringFetch = sim.trace.filter(
      (e) =>
        e.node === 'toknet1-transit-2' &&
        e.at === 6000 &&
        e.action?.type === 'send' &&
        e.action.message.type === 'summary',
    );
    expect(summariesDuringFetch.length).toBeGreaterThan(0); // the crossing did happen
    // each far transit node got the version whole exactly once; none from both toknet1 transit nodes
    for (const far of ['nynet1-transit', 'nynet2-transit', 'paderborn-transit']) {
      const copies = sim
        .messagesBetween(tokyo, [far], 'push')
        .filter((m) => m.type === 'push' && m.versions.some((x) => x.id === v.id));
      expect(copies, far).toHaveLength(1);
    }
    expect(
      sim
        .messagesBetween(tokyo, abroad, 'push')
        .filter((m) => m.type === 'push' && m.versions.some((x) => x.id === v.id)),
    ).toHaveLength(3);
  });
});

// The runtime-group machine: merge rules (properties: commutative, associative, idempotent), exact sums of
// concurrent increments whatever the delivery order (duplicates, reordering, loss, then a settling phase),
// last-writer-wins convergence, expiry, tombstones, group isolation, the "Shared data not synchronized" alert
// with its backoff and its clearing, restarts (incarnations), batch limits and validation.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkRuntimeMessage,
  mergeRuntimeCounterParts,
  mergeRuntimeValue,
  RUNTIME_LIMITS,
  RUNTIME_TOMBSTONE_MS,
  type RuntimeAction,
  type RuntimeDeltaMessage,
  type RuntimeEvent,
  RuntimeMachine,
  type RuntimeMessage,
  type RuntimeValueDelta,
  runtimeCounterSum,
  runtimeGroupIslands,
} from '../src/machine/runtime';

const T0 = Date.UTC(2025, 0, 1, 0, 0, 0);
const DAY = 86_400_000;
const uuid = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

interface Wire {
  from: string;
  to: string;
  message: RuntimeMessage;
}

/** Machines wired by hand: every `send` goes to a pool the test delivers from in any order. */
class Harness {
  readonly machines: RuntimeMachine[];
  readonly pool: Wire[] = [];
  readonly actions: { node: number; action: RuntimeAction }[] = [];
  readonly up = new Set<string>();
  now = T0;

  constructor(groups: readonly string[], incarnation = '0') {
    this.machines = groups.map(
      (group, i) =>
        new RuntimeMachine({ self: { uuid: uuid(i + 1), name: `n${i + 1}` }, group, incarnation }),
    );
  }

  step(i: number, event: RuntimeEvent): RuntimeAction[] {
    const m = this.machines[i] as RuntimeMachine;
    const out = m.step(event);
    for (const a of out) {
      this.actions.push({ node: i, action: a });
      if (a.type === 'send') this.pool.push({ from: uuid(i + 1), to: a.to, message: a.message });
    }
    return out;
  }

  index(u: string): number {
    return Number.parseInt(u.slice(-12), 16) - 1;
  }

  connect(a: number, b: number): void {
    this.up.add(`${a}|${b}`);
    this.up.add(`${b}|${a}`);
    this.step(a, { type: 'peerUp', at: this.now, peer: { uuid: uuid(b + 1), name: `n${b + 1}` } });
    this.step(b, { type: 'peerUp', at: this.now, peer: { uuid: uuid(a + 1), name: `n${a + 1}` } });
    // the hellos are the first messages of the connection: delivered now (a connection that loses one is down)
    for (let k = this.pool.length - 1; k >= 0; k--)
      if (this.pool[k]?.message.type === 'runtime-hello') this.deliver(k);
  }

  disconnect(a: number, b: number): void {
    this.up.delete(`${a}|${b}`);
    this.up.delete(`${b}|${a}`);
    this.step(a, { type: 'peerDown', at: this.now, peer: uuid(b + 1) });
    this.step(b, { type: 'peerDown', at: this.now, peer: uuid(a + 1) });
  }

  /** Delivers pool entry `k` (kept in the pool when `duplicate`). Dropped when the link is down. */
  deliver(k: number, duplicate = false): void {
    const w = this.pool[k] as Wire;
    if (!duplicate) this.pool.splice(k, 1);
    const from = this.index(w.from);
    const to = this.index(w.to);
    if (!this.up.has(`${from}|${to}`)) return;
    this.step(to, { type: 'received', at: this.now, from: w.from, message: w.message });
  }

  tickAll(): void {
    for (let i = 0; i < this.machines.length; i++) this.step(i, { type: 'tick', at: this.now });
  }

  /**
   * Reliable rounds (in order, no loss) with time moving past every backoff, until nothing is sent, nothing is
   * pending and no alert is raised (a failure when that never happens).
   */
  settle(): void {
    for (let round = 0; round < 100; round++) {
      this.now += 61_000;
      this.tickAll();
      const quiet = this.machines.every((m) =>
        m.status(this.now).peers.every((p) => !p.pending && p.alert === null),
      );
      if (this.pool.length === 0 && quiet) return;
      while (this.pool.length > 0) this.deliver(0);
    }
    throw new Error('did not settle');
  }
}

const deltas = (h: Harness) => h.pool.filter((w) => w.message.type === 'runtime-delta');

describe('runtime merge rules', () => {
  const parts = fc.array(fc.tuple(fc.constantFrom('a/0', 'b/0', 'b/1', 'c/0'), fc.nat(1000), fc.nat(1000)), {
    maxLength: 6,
  });
  const norm = (p: readonly (readonly [string, number, number])[]) => mergeRuntimeCounterParts(p, []);

  it('counter windows: commutative, associative, idempotent; the sum is monotone under merge', () => {
    fc.assert(
      fc.property(parts, parts, parts, (a, b, c) => {
        const ab = mergeRuntimeCounterParts(a, b);
        expect(ab).toEqual(mergeRuntimeCounterParts(b, a));
        expect(mergeRuntimeCounterParts(ab, c)).toEqual(
          mergeRuntimeCounterParts(a, mergeRuntimeCounterParts(b, c)),
        );
        expect(mergeRuntimeCounterParts(ab, ab)).toEqual(ab);
        expect(mergeRuntimeCounterParts(ab, norm(a))).toEqual(ab);
      }),
    );
  });

  const stamp = fc.record({
    wall: fc.integer({ min: T0, max: T0 + 5 }),
    logical: fc.nat(2),
    node: fc.constantFrom(uuid(1), uuid(2), uuid(3)),
  });
  const delta: fc.Arbitrary<RuntimeValueDelta> = fc
    .tuple(stamp, fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }), fc.nat(100), fc.nat(100))
    .map(([s, v, e, k]) =>
      v === undefined
        ? { key: 'k', stamp: s, deleted: true, expires: T0 + e, keep: T0 + e + k }
        : { key: 'k', stamp: s, value: v as never, expires: T0 + e, keep: T0 + e + k },
    );

  it('values: commutative, associative, idempotent; the later stamp wins; keep is the latest', () => {
    fc.assert(
      fc.property(delta, delta, delta, (a, b, c) => {
        const ab = mergeRuntimeValue(a, b);
        expect(ab).toEqual(mergeRuntimeValue(b, a));
        expect(mergeRuntimeValue(ab, c)).toEqual(mergeRuntimeValue(a, mergeRuntimeValue(b, c)));
        expect(mergeRuntimeValue(a, a)).toEqual(a);
        expect(ab.keep).toBe(Math.max(a.keep, b.keep));
        const later = a.stamp.wall !== b.stamp.wall ? (a.stamp.wall > b.stamp.wall ? a : b) : undefined;
        if (later) expect(ab.stamp).toEqual(later.stamp);
      }),
    );
  });
});

describe('runtime machine: convergence', () => {
  // a schedule of operations and network steps chosen by fast-check
  const op = fc.oneof(
    fc.record({ k: fc.constant('inc' as const), node: fc.nat(4), by: fc.integer({ min: -5, max: 20 }) }),
    fc.record({ k: fc.constant('deliver' as const), pick: fc.nat(), dup: fc.boolean() }),
    fc.record({ k: fc.constant('drop' as const), pick: fc.nat() }),
    fc.record({ k: fc.constant('tick' as const), node: fc.nat(4), ms: fc.integer({ min: 1, max: 7000 }) }),
    fc.record({ k: fc.constant('flap' as const), a: fc.nat(4), b: fc.nat(4) }),
  );

  it('concurrent increments on any nodes, delivered in any order with duplicates, loss and reordering, sum exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5 }), fc.array(op, { maxLength: 120 }), (n, ops) => {
        const h = new Harness(Array.from({ length: n }, () => 'tokyo'));
        // a line (each talks to its neighbours only): data must travel through members
        for (let i = 0; i + 1 < n; i++) h.connect(i, i + 1);
        let total = 0;
        const own = new Array(n).fill(0);
        for (const o of ops) {
          if (o.k === 'inc') {
            const node = o.node % n;
            if (o.by === 0) continue;
            h.now += 1;
            h.step(node, { type: 'increment', at: h.now, key: 'quota', by: o.by, periodMs: DAY });
            total += o.by;
            own[node] += o.by;
          } else if (o.k === 'deliver' && h.pool.length > 0) h.deliver(o.pick % h.pool.length, o.dup);
          else if (o.k === 'drop' && h.pool.length > 0) h.pool.splice(o.pick % h.pool.length, 1);
          else if (o.k === 'tick') {
            h.now += o.ms;
            h.step(o.node % n, { type: 'tick', at: h.now });
          } else if (o.k === 'flap') {
            const a = o.a % n;
            const b = o.b % n;
            if (Math.abs(a - b) !== 1) continue;
            if (h.up.has(`${a}|${b}`)) h.disconnect(a, b);
            else h.connect(a, b);
          }
        }
        // whatever happened, every link comes back and the network settles
        for (let i = 0; i + 1 < n; i++) if (!h.up.has(`${i}|${i + 1}`)) h.connect(i, i + 1);
        h.settle();
        for (const m of h.machines) expect(m.counter('quota', h.now)).toBe(total);
        // and nothing is left to send, no alert stays raised
        for (const [i, m] of h.machines.entries()) {
          const s = m.status(h.now);
          expect(s.alert, `n${i + 1}`).toBe(false);
          expect(s.peers.every((p) => !p.pending)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('deltas merged in any order, each any number of times, give the exact sum', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(3), fc.integer({ min: 1, max: 50 })), { minLength: 1, maxLength: 30 }),
        fc.infiniteStream(fc.nat()),
        (incs, rnd) => {
          const h = new Harness(['g', 'g', 'g', 'g', 'g']);
          let t = T0;
          for (const [node, by] of incs)
            h.step(node, { type: 'increment', at: ++t, key: 'q', by, periodMs: DAY });
          // each writer's full delta to the receiver (n5), as of now; then again after more increments
          const collect = () => {
            for (let i = 0; i < 4; i++) h.connect(i, 4);
            for (let i = 0; i < 4; i++) h.step(i, { type: 'tick', at: t });
            return deltas(h).filter((w) => w.to === uuid(5));
          };
          const first = collect();
          h.step(0, { type: 'increment', at: ++t, key: 'q', by: 7, periodMs: DAY });
          h.pool.length = 0;
          for (let i = 0; i < 4; i++) h.disconnect(i, 4);
          const second = collect();
          const all = [...first, ...second, ...first, ...second];
          const it = rnd[Symbol.iterator]();
          const order = [...all].sort(() => ((it.next().value as number) % 3) - 1);
          const receiver = new RuntimeMachine({ self: { uuid: uuid(9), name: 'r' }, group: 'g' });
          for (const w of order) receiver.step({ type: 'received', at: t, from: w.from, message: w.message });
          const sum = incs.reduce((s, [, by]) => s + by, 0) + 7;
          expect(receiver.counter('q', t)).toBe(sum);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('values: last writer wins and every node converges (sets and deletes from any node, any order)', () => {
    const write = fc.record({
      node: fc.nat(3),
      key: fc.constantFrom('a', 'b', 'c'),
      value: fc.option(fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.boolean()), { nil: undefined }),
    });
    const step = fc.oneof(
      write.map((w) => ({ k: 'write' as const, ...w })),
      fc.record({ k: fc.constant('deliver' as const), pick: fc.nat(), dup: fc.boolean() }),
      fc.record({ k: fc.constant('drop' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (ops) => {
        const h = new Harness(['g', 'g', 'g', 'g']);
        h.connect(0, 1);
        h.connect(1, 2);
        h.connect(2, 3);
        h.connect(3, 0);
        const last = new Map<string, unknown>();
        for (const o of ops) {
          if (o.k === 'write') {
            h.now += 1; // strictly later: the last write in time has the highest stamp
            if (o.value === undefined) h.step(o.node, { type: 'delete', at: h.now, key: o.key });
            else h.step(o.node, { type: 'set', at: h.now, key: o.key, value: o.value, ttlMs: DAY });
            last.set(o.key, o.value);
          } else if (o.k === 'deliver' && h.pool.length > 0) h.deliver(o.pick % h.pool.length, o.dup);
          else if (o.k === 'drop' && h.pool.length > 0) h.pool.splice(o.pick % h.pool.length, 1);
          if (o.k === 'write' || h.pool.length === 0) h.tickAll();
        }
        h.settle();
        for (const key of ['a', 'b', 'c'])
          for (const m of h.machines) expect(m.get(key, h.now)).toEqual(last.get(key));
      }),
      { numRuns: 150 },
    );
  });
});

describe('runtime machine: expiry, tombstones, events', () => {
  it('a counter resets at the end of its period; the window is dropped and the reset reported', () => {
    const h = new Harness(['g', 'g']);
    h.connect(0, 1);
    const period = 60_000;
    const start = Math.floor(h.now / period) * period;
    h.step(0, { type: 'increment', at: start + 10, key: 'q', by: 5, periodMs: period });
    h.tickAll();
    while (h.pool.length > 0) h.deliver(0);
    expect(h.machines[1]?.counter('q', start + 20)).toBe(5);
    const out = h.step(1, { type: 'tick', at: start + period });
    expect(out).toContainEqual({
      type: 'changed',
      change: { key: 'q', kind: 'counter', value: 0, reason: 'expired' },
    });
    expect(h.machines[1]?.holds('q')).toBe(false);
    // the next increment opens a new window
    h.step(0, { type: 'increment', at: start + period + 1, key: 'q', by: 2, periodMs: period });
    expect(h.machines[0]?.counter('q', start + period + 1)).toBe(2);
  });

  it('a value expires after its ttl on every node; a stale copy of an expired entry is not taken', () => {
    const h = new Harness(['g', 'g']);
    h.connect(0, 1);
    h.step(0, { type: 'set', at: h.now, key: 'coach:alice', value: { until: 'x' }, ttlMs: 2000 });
    h.tickAll();
    const stale = deltas(h)[0] as Wire;
    while (h.pool.length > 0) h.deliver(0);
    expect(h.machines[1]?.get('coach:alice', h.now)).toEqual({ until: 'x' });
    h.now += 2000;
    const out = h.step(1, { type: 'tick', at: h.now });
    expect(out).toContainEqual({
      type: 'changed',
      change: { key: 'coach:alice', kind: 'value', value: undefined, reason: 'expired' },
    });
    expect(h.machines[1]?.holds('coach:alice')).toBe(false);
    h.step(1, { type: 'received', at: h.now, from: stale.from, message: stale.message });
    expect(h.machines[1]?.holds('coach:alice')).toBe(false);
  });

  it('a delete is a tombstone: it wins over the older value, is kept at least 10 minutes, then dropped', () => {
    const h = new Harness(['g', 'g', 'g']);
    h.connect(0, 1);
    h.step(0, { type: 'set', at: h.now, key: 'k', value: 1, ttlMs: 60_000 });
    h.tickAll();
    const old = deltas(h)[0] as Wire;
    while (h.pool.length > 0) h.deliver(0);
    h.now += 10;
    h.step(1, { type: 'delete', at: h.now, key: 'k' });
    h.tickAll();
    while (h.pool.length > 0) h.deliver(0);
    expect(h.machines[0]?.get('k', h.now)).toBeUndefined();
    // the old write arrives late (a duplicate): the tombstone wins
    h.step(0, { type: 'received', at: h.now, from: old.from, message: old.message });
    expect(h.machines[0]?.get('k', h.now)).toBeUndefined();
    expect(h.machines[0]?.holds('k')).toBe(true);
    h.now += RUNTIME_TOMBSTONE_MS + 10;
    h.tickAll();
    expect(h.machines[0]?.holds('k')).toBe(false);
    expect(h.machines[1]?.holds('k')).toBe(false);
  });

  it('a superseded value that is still alive elsewhere does not come back when the winner expires', () => {
    const h = new Harness(['g', 'g', 'g']);
    h.connect(0, 1);
    h.step(0, { type: 'set', at: h.now, key: 'k', value: 'long', ttlMs: 600_000 });
    h.tickAll();
    const longCopy = deltas(h)[0] as Wire;
    while (h.pool.length > 0) h.deliver(0);
    h.now += 10;
    h.step(1, { type: 'set', at: h.now, key: 'k', value: 'short', ttlMs: 1000 });
    h.tickAll();
    while (h.pool.length > 0) h.deliver(0);
    h.now += 5000;
    h.tickAll();
    expect(h.machines[0]?.get('k', h.now)).toBeUndefined();
    // a stale copy of the long-lived write arrives: the entry is kept until the long one's expiry
    h.step(0, { type: 'received', at: h.now, from: longCopy.from, message: longCopy.message });
    expect(h.machines[0]?.get('k', h.now)).toBeUndefined();
  });

  it('reports local and remote changes, and no change when a merge changes nothing', () => {
    const h = new Harness(['g', 'g']);
    h.connect(0, 1);
    const local = h.step(0, { type: 'set', at: h.now, key: 'k', value: 'v', ttlMs: 60_000 });
    expect(local).toContainEqual({
      type: 'changed',
      change: { key: 'k', kind: 'value', value: 'v', reason: 'local' },
    });
    h.tickAll();
    const d = deltas(h)[0] as Wire;
    while (h.pool.length > 0) h.deliver(0);
    const changes = h.actions.filter((a) => a.node === 1 && a.action.type === 'changed');
    expect(changes.map((a) => a.action)).toEqual([
      { type: 'changed', change: { key: 'k', kind: 'value', value: 'v', reason: 'remote' } },
    ]);
    const again = h.step(1, { type: 'received', at: h.now, from: d.from, message: d.message });
    expect(again.filter((a) => a.type === 'changed')).toEqual([]);
  });
});

describe('runtime machine: groups', () => {
  it('sends nothing to a peer of another runtime group, and drops (never stores, never acks) its data', () => {
    const h = new Harness(['tokyo', 'newyork']);
    h.connect(0, 1);
    h.step(0, { type: 'increment', at: h.now, key: 'q', by: 1, periodMs: DAY });
    h.step(1, { type: 'set', at: h.now, key: 'ny', value: 1, ttlMs: DAY });
    while (h.pool.length > 0) h.deliver(0); // the hellos
    h.now += 1000;
    h.tickAll();
    expect(h.pool).toEqual([]);
    expect(h.machines[0]?.status(h.now).peers).toEqual([]);
    // a delta of tokyo forced onto the newyork node: dropped with a warning, no ack
    const forged: RuntimeDeltaMessage = {
      type: 'runtime-delta',
      group: 'tokyo',
      seq: 3,
      counters: [{ key: 'q', periodMs: DAY, start: Math.floor(h.now / DAY) * DAY, parts: [['x/0', 1, 0]] }],
      values: [],
      members: [],
    };
    const out = h.step(1, { type: 'received', at: h.now, from: uuid(1), message: forged });
    expect(out).toEqual([
      {
        type: 'log',
        level: 'warn',
        message: expect.stringMatching(
          /runtime data of group tokyo from node .* \(n1\) dropped: this node is in runtime group newyork/,
        ),
      },
    ]);
    expect(h.machines[1]?.holds('q')).toBe(false);
    expect(h.machines[0]?.holds('ny')).toBe(false);
  });

  it('islands: a runtime group whose members are linked only through other groups is split', () => {
    expect(
      runtimeGroupIslands([
        { name: 'a', groups: ['net1'], runtime: 'x' },
        { name: 't', groups: ['net1', 'net2'], runtime: 'y' },
        { name: 'b', groups: ['net2'], runtime: 'x' },
        { name: 'c', groups: ['net2'], runtime: 'x' },
      ]),
    ).toEqual([
      { group: 'x', islands: [['a'], ['b', 'c']] },
      { group: 'y', islands: [['t']] },
    ]);
  });
});

describe('runtime machine: failed delivery', () => {
  it('raises "Shared data not synchronized" naming the peer, retries with backoff, clears on delivery', () => {
    const h = new Harness(['g', 'g']);
    h.connect(0, 1);
    while (h.pool.length > 0) h.deliver(0);
    h.now += 1000;
    h.tickAll();
    while (h.pool.length > 0) h.deliver(0);
    h.disconnect(0, 1);
    h.step(0, { type: 'increment', at: h.now, key: 'q', by: 1, periodMs: DAY });
    const raised = h.step(0, { type: 'tick', at: h.now });
    const alert = raised.find((a) => a.type === 'alert');
    expect(alert).toMatchObject({
      type: 'alert',
      raised: true,
      peer: { uuid: uuid(2), name: 'n2' },
      error: {
        code: 'CM_RUNTIME_NOT_SYNCHRONIZED',
        details: { peer: uuid(2), group: 'g', reason: 'not connected' },
      },
    });
    expect(raised).toContainEqual({
      type: 'log',
      level: 'warn',
      message: expect.stringMatching(
        /^\[Coordinator\] \[SharedDataNotSynchronized\] Shared data not synchronized: cannot send the shared data of runtime group g to node .* \(n2\): not connected; retrying in 1 s$/,
      ),
    });
    const s = h.machines[0]?.status(h.now);
    expect(s?.alert).toBe(true);
    expect(s?.peers[0]).toMatchObject({
      name: 'n2',
      connected: false,
      pending: true,
      alert: { failures: 1 },
    });
    // retries back off: 1 s, 2 s, 4 s ... each a failure while the peer stays away; no second alert
    const failuresAt: number[] = [];
    for (let t = 1; t <= 20; t++) {
      h.now += 1000;
      const out = h.step(0, { type: 'tick', at: h.now });
      expect(out.filter((a) => a.type === 'alert')).toEqual([]);
      const f = h.machines[0]?.status(h.now).peers[0]?.alert?.failures ?? 0;
      if (f > failuresAt.length + 1) failuresAt.push(t);
    }
    expect(failuresAt).toEqual([1, 3, 7, 15]);
    // back: the delta goes at once, the ack clears the alert
    h.connect(0, 1);
    while (h.pool.length > 0) h.deliver(0);
    h.step(0, { type: 'tick', at: h.now });
    expect(deltas(h).length).toBe(1);
    h.deliver(0); // the delta to n2
    const cleared = h.pool
      .splice(0)
      .flatMap((w) =>
        h.step(h.index(w.to), { type: 'received', at: h.now, from: w.from, message: w.message }),
      );
    expect(cleared).toContainEqual(
      expect.objectContaining({ type: 'alert', raised: false, peer: { uuid: uuid(2), name: 'n2' } }),
    );
    expect(cleared).toContainEqual({
      type: 'log',
      level: 'info',
      message: expect.stringMatching(
        /^\[Coordinator\] \[SharedDataSynchronized\] Shared data of runtime group g with node .* \(n2\): synchronized again after 5 failed attempt\(s\)/,
      ),
    });
    expect(h.machines[0]?.status(h.now).alert).toBe(false);
    expect(h.machines[0]?.status(h.now).peers[0]?.lastSync).toBe(new Date(h.now).toISOString());
    expect(h.machines[1]?.counter('q', h.now)).toBe(1);
  });

  it('an alert clears when the peer turns out to hold everything (it sent it back), with nothing left to send', () => {
    const h = new Harness(['g', 'g']);
    h.connect(0, 1);
    h.tickAll();
    while (h.pool.length > 0) h.deliver(0);
    h.step(0, { type: 'increment', at: h.now, key: 'q', by: 1, periodMs: DAY });
    h.step(0, { type: 'tick', at: h.now });
    h.deliver(0); // n1's delta reaches n2 ...
    h.pool.length = 0; // ... whose ack is lost
    h.step(1, { type: 'increment', at: h.now, key: 'q', by: 2, periodMs: DAY });
    h.step(1, { type: 'tick', at: h.now });
    while (h.pool.length > 0) h.deliver(0); // n2's delta (both counts) and n1's ack
    h.now += 5000;
    const raised = h.step(0, { type: 'tick', at: h.now });
    expect(raised).toContainEqual(expect.objectContaining({ type: 'alert', raised: true }));
    h.now += 1000;
    const cleared = h.step(0, { type: 'tick', at: h.now });
    expect(cleared.filter((a) => a.type === 'send')).toEqual([]);
    expect(cleared).toContainEqual(expect.objectContaining({ type: 'alert', raised: false }));
    expect(h.machines[0]?.status(h.now).alert).toBe(false);
    expect(h.machines[0]?.counter('q', h.now)).toBe(3);
  });

  it('a delta without an ack within the timeout is a failed delivery, sent again', () => {
    const h = new Harness(['g', 'g']);
    h.connect(0, 1);
    while (h.pool.length > 0) h.deliver(0);
    h.step(0, { type: 'set', at: h.now, key: 'k', value: 1, ttlMs: DAY });
    h.step(0, { type: 'tick', at: h.now });
    expect(deltas(h).length).toBe(1);
    h.pool.length = 0; // lost
    h.now += 4999;
    expect(h.step(0, { type: 'tick', at: h.now })).toEqual([]);
    h.now += 1;
    const out = h.step(0, { type: 'tick', at: h.now });
    expect(out).toContainEqual(
      expect.objectContaining({
        type: 'alert',
        raised: true,
        error: expect.objectContaining({ message: expect.stringContaining('no acknowledgement within 5 s') }),
      }),
    );
    h.now += 1000;
    h.step(0, { type: 'tick', at: h.now });
    expect(deltas(h).length).toBe(1);
  });
});

describe('runtime machine: restarts, batches, validation', () => {
  it('a restarted node (new incarnation) adds to what it counted before', () => {
    const h = new Harness(['g', 'g']);
    h.connect(0, 1);
    h.step(0, { type: 'increment', at: h.now, key: 'q', by: 3, periodMs: DAY });
    h.settle();
    expect(h.machines[1]?.counter('q', h.now)).toBe(3);
    // n1 restarts with nothing; it counts 2 before it hears from n2
    h.machines[0] = new RuntimeMachine({ self: { uuid: uuid(1), name: 'n1' }, group: 'g', incarnation: '1' });
    h.pool.length = 0;
    h.step(0, { type: 'increment', at: h.now, key: 'q', by: 2, periodMs: DAY });
    h.connect(0, 1);
    h.settle();
    expect(h.machines[0]?.counter('q', h.now)).toBe(5);
    expect(h.machines[1]?.counter('q', h.now)).toBe(5);
  });

  it('sends at most 256 entries a message; a large state crosses in several', () => {
    const h = new Harness(['g', 'g']);
    for (let i = 0; i < 600; i++) h.step(0, { type: 'set', at: h.now, key: `k${i}`, value: i, ttlMs: DAY });
    h.connect(0, 1);
    let messages = 0;
    for (let round = 0; round < 10; round++) {
      h.now += 100;
      h.tickAll();
      if (deltas(h).length === 0) break;
      for (const w of deltas(h).filter((d) => d.from === uuid(1))) {
        const m = w.message as RuntimeDeltaMessage;
        expect(m.counters.length + m.values.length + m.members.length).toBeLessThanOrEqual(
          RUNTIME_LIMITS.maxBatch,
        );
        expect(checkRuntimeMessage(m).ok).toBe(true);
        messages++;
      }
      while (h.pool.length > 0) h.deliver(0);
    }
    expect(messages).toBe(3); // 600 values and n1's member entry
    expect(h.machines[1]?.keys(h.now).length).toBe(600);
  });

  it('refuses bad keys, values, ttls, periods and increments with CM_RUNTIME_INVALID_VALUE naming the path', () => {
    const m = new RuntimeMachine({ self: { uuid: uuid(1), name: 'n1' } });
    expect(m.group).toBe('default');
    const bad: [RuntimeEvent, string][] = [
      [{ type: 'set', at: T0, key: '', value: 1, ttlMs: 1000 }, 'key'],
      [{ type: 'set', at: T0, key: 'a\nb', value: 1, ttlMs: 1000 }, 'key'],
      [{ type: 'set', at: T0, key: 'x'.repeat(257), value: 1, ttlMs: 1000 }, 'key'],
      [{ type: 'set', at: T0, key: 'k', value: 'x'.repeat(5000), ttlMs: 1000 }, 'value'],
      [{ type: 'set', at: T0, key: 'k', value: { a: Number.NaN }, ttlMs: 1000 }, 'value.a'],
      [{ type: 'set', at: T0, key: 'k', value: undefined as never, ttlMs: 1000 }, 'value'],
      [{ type: 'set', at: T0, key: 'k', value: 1, ttlMs: 999 }, 'ttl'],
      [{ type: 'increment', at: T0, key: 'k', by: 0, periodMs: DAY }, 'by'],
      [{ type: 'increment', at: T0, key: 'k', by: 1.5, periodMs: DAY }, 'by'],
      [{ type: 'increment', at: T0, key: 'k', by: 2e9, periodMs: DAY }, 'by'],
      [{ type: 'increment', at: T0, key: 'k', by: 1, periodMs: 367 * DAY }, 'period'],
    ];
    for (const [event, path] of bad) {
      let caught: unknown;
      try {
        m.step(event);
      } catch (e) {
        caught = e;
      }
      expect(caught, path).toMatchObject({
        code: 'CM_RUNTIME_INVALID_VALUE',
        details: { issues: [expect.objectContaining({ path })] },
      });
    }
    expect(m.keys(T0)).toEqual([]);
  });

  it('refuses a new entry past 100000 with CM_RUNTIME_STORE_FULL; existing keys still count', () => {
    const m = new RuntimeMachine({ self: { uuid: uuid(1), name: 'n1' } });
    for (let i = 1; m.size < RUNTIME_LIMITS.maxEntries; i++)
      m.step({ type: 'increment', at: T0, key: `k${i}`, by: 1, periodMs: DAY });
    expect(() => m.step({ type: 'set', at: T0, key: 'one-more', value: 1, ttlMs: 1000 })).toThrow(
      expect.objectContaining({
        code: 'CM_RUNTIME_STORE_FULL',
        details: expect.objectContaining({ key: 'one-more' }),
      }),
    );
    m.step({ type: 'increment', at: T0, key: 'k1', by: 1, periodMs: DAY });
    expect(m.counter('k1', T0)).toBe(2);
  });

  it('message validation: any junk is CM_BAD_MESSAGE naming the path, never a throw', () => {
    expect(checkRuntimeMessage({ type: 'runtime-ack', group: 'g', seq: -1 })).toMatchObject({
      ok: false,
      error: { code: 'CM_BAD_MESSAGE', details: { issues: [{ path: 'seq' }] } },
    });
    expect(
      checkRuntimeMessage({
        type: 'runtime-delta',
        group: 'g',
        seq: 1,
        counters: [{ key: 'q', periodMs: DAY, start: 5, parts: [['a', 1, -1]] }],
        values: [{ key: 'k', stamp: { wall: 1, logical: 0, node: uuid(1) }, value: 1, expires: 10, keep: 5 }],
        members: [],
      }),
    ).toMatchObject({
      ok: false,
      error: {
        details: {
          issues: [
            { path: 'counters[0].start' },
            { path: 'counters[0].parts[0]' },
            { path: 'values[0].keep' },
          ],
        },
      },
    });
    fc.assert(
      fc.property(
        fc.anything(),
        fc.constantFrom('runtime-hello', 'runtime-delta', 'runtime-ack', 'x'),
        (v, type) => {
          const r1 = checkRuntimeMessage(v);
          const r2 = checkRuntimeMessage(
            typeof v === 'object' && v !== null
              ? { ...v, type, group: 'g' }
              : { type, group: 'g', counters: v },
          );
          for (const r of [r1, r2]) if (!r.ok) expect(r.error.code).toBe('CM_BAD_MESSAGE');
        },
      ),
    );
  });

  it('counter sums are exact for every replica', () => {
    expect(
      runtimeCounterSum([
        ['a/0', 5, 1],
        ['b/0', 3, 0],
      ]),
    ).toBe(7);
  });
});

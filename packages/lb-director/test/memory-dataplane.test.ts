import { describe, expect, it } from 'vitest';
import { type DataPlane, diffTables, MemoryDataPlane } from '../src/dataplane/index';
import { clientBucket, createScheduler } from '../src/scheduler/scheduler';
import { makeTable, updateOf } from './relay-harness';

const IDS = ['n1', 'n2', 'n3'];
const HOSTS = IDS.map((id, i) => ({ id, host: `192.0.2.${i + 1}` }));
const MASK = { ipv4PrefixLength: 32, ipv6PrefixLength: 128 };

describe('MemoryDataPlane', () => {
  it('is a DataPlane of kind memory that records every call in order, with the real diff', async () => {
    const dp: DataPlane = new MemoryDataPlane();
    const mem = dp as MemoryDataPlane;
    const first = makeTable(IDS, (b) => b % 3);
    const second = makeTable(IDS, (b) => (b === 4 ? 0 : b % 3));
    expect(dp.kind).toBe('memory');
    await dp.start();
    await dp.apply(updateOf(first, HOSTS));
    await dp.apply({ ...updateOf(second, HOSTS), changedBuckets: [4] });
    await dp.stop();
    await dp.stop();
    expect(mem.history.map((h) => h.op)).toEqual(['start', 'apply', 'apply', 'stop', 'stop']);
    const [, a1, a2] = mem.history;
    expect(a1).toMatchObject({
      op: 'apply',
      table: first,
      changedBuckets: 'all',
      diff: 'all',
      failed: false,
    });
    expect(a2).toMatchObject({ op: 'apply', table: second, changedBuckets: [4], diff: [4] });
    expect(mem.running).toBe(false);
    expect(mem.table).toBe(second);
  });

  it('routes a client to the owner of its bucket, as the kernel hash says', async () => {
    const mem = new MemoryDataPlane({ persistence: MASK });
    expect(mem.route('198.51.100.7')).toBeUndefined();
    const table = makeTable(IDS, (b) => b % 3, 65521);
    await mem.apply(updateOf(table, HOSTS));
    for (const client of ['198.51.100.7', '203.0.113.200', '2001:db8::5', '::ffff:198.51.100.7']) {
      const b = clientBucket(client.replace('::ffff:', ''), table, MASK) as number;
      expect(mem.route(client)).toBe(IDS[table.owners[b] as number]);
    }
    expect(mem.route('not an address')).toBeUndefined();
    expect(mem.shares()).toEqual(
      new Map([
        ['n1', 21841],
        ['n2', 21840],
        ['n3', 21840],
      ]),
    );
  });

  it('agrees with the scheduler lookup for its own table', async () => {
    const s = createScheduler({ tableSize: 32749 });
    const { table } = s.update(0, [
      { id: 'a', capacity: 100, healthy: true, activeConnections: 0 },
      { id: 'b', capacity: 50, healthy: true, activeConnections: 0 },
    ]);
    const mem = new MemoryDataPlane({ persistence: MASK });
    await mem.apply(
      updateOf(table, [
        { id: 'a', host: '192.0.2.1' },
        { id: 'b', host: '192.0.2.2' },
      ]),
    );
    for (let i = 0; i < 256; i++) {
      const client = `10.1.${i}.${(i * 7) % 256}`;
      expect(mem.route(client)).toBe(s.lookup(client));
    }
  });

  it('uses the persistence mask: a /24 keeps a whole subnet on one node', async () => {
    const mem = new MemoryDataPlane({ persistence: { ipv4PrefixLength: 24, ipv6PrefixLength: 64 } });
    await mem.apply(
      updateOf(
        makeTable(IDS, (b) => b % 3, 65521),
        HOSTS,
      ),
    );
    const owners = new Set(Array.from({ length: 50 }, (_, i) => mem.route(`198.51.100.${i + 1}`)));
    expect(owners.size).toBe(1);
  });

  it('simulates refusals: nodeRefused events, next choice for new connections, counters', async () => {
    const mem = new MemoryDataPlane();
    const events: string[] = [];
    const off = mem.on('nodeRefused', (id, address, reason) => events.push(`${id} ${address} ${reason}`));
    await mem.start();
    await mem.apply(
      updateOf(
        makeTable(IDS, () => 0),
        HOSTS,
      ),
    );
    expect(mem.connect('198.51.100.7')).toBe('n1');
    mem.refuse('n1', 'ECONNRESET');
    const next = mem.routing?.route('198.51.100.7', new Set(['n1']));
    expect(mem.connect('198.51.100.7')).toBe(next);
    expect(events).toEqual(['n1 192.0.2.1 ECONNRESET', 'n1 192.0.2.1 ECONNREFUSED']);
    // n1 owns every bucket, so n2 and n3 have no share: nobody else is eligible
    expect(next).toBeUndefined();
    expect(mem.stats()).toEqual({ activeByNode: new Map([['n1', 1]]), accepted: 2, failed: 1 });
    mem.accept('n1');
    expect(mem.connect('198.51.100.7')).toBe('n1');
    mem.disconnect('n1');
    mem.disconnect('n1');
    expect(mem.stats().activeByNode).toEqual(new Map());
    off();
    mem.refuse('n2');
    expect(events).toHaveLength(2);
  });

  it('moves a refused bucket to the weighted next choice among nodes with a share', async () => {
    const mem = new MemoryDataPlane();
    await mem.start();
    await mem.apply(
      updateOf(
        makeTable(IDS, (b) => b % 3, 30011),
        HOSTS,
      ),
    );
    mem.refuse('n2');
    const counts = new Map<string | undefined, number>();
    for (let i = 0; i < 3000; i++) {
      const client = `10.${i >> 8}.${i & 255}.1`;
      const owner = mem.route(client);
      const got = mem.connect(client);
      if (owner !== 'n2') expect(got).toBe(owner);
      else counts.set(got, (counts.get(got) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['n1', 'n3']);
  });

  it('fails connections when stopped or without a table', async () => {
    const mem = new MemoryDataPlane();
    await mem.apply(
      updateOf(
        makeTable(IDS, () => 1),
        HOSTS,
      ),
    );
    expect(mem.connect('198.51.100.7')).toBeUndefined();
    await mem.start();
    expect(mem.connect('198.51.100.7')).toBe('n2');
    expect(mem.stats()).toMatchObject({ accepted: 2, failed: 1 });
  });

  it('fails the next call when told to, records it, and changes nothing', async () => {
    const mem = new MemoryDataPlane();
    const boom = new Error('nft failed');
    const t1 = makeTable(IDS, () => 0);
    await mem.apply(updateOf(t1, HOSTS));
    mem.failNext('apply', boom);
    await expect(
      mem.apply(
        updateOf(
          makeTable(IDS, () => 1),
          HOSTS,
        ),
      ),
    ).rejects.toBe(boom);
    expect(mem.table).toBe(t1);
    mem.failNext('start', boom);
    await expect(mem.start()).rejects.toBe(boom);
    expect(mem.running).toBe(false);
    await mem.start();
    expect(mem.history.map((h) => `${h.op}${h.failed ? '!' : ''}`)).toEqual([
      'apply',
      'apply!',
      'start!',
      'start',
    ]);
    const errors: Error[] = [];
    mem.on('error', (e) => errors.push(e));
    mem.emitError(boom);
    expect(errors).toEqual([boom]);
  });

  it('diffTables compares owners by node id, not by index', () => {
    const a = makeTable(['x', 'y'], (b) => (b < 10 ? 0 : 1));
    const b = makeTable(['w', 'x', 'y'], (k) => (k < 10 ? 1 : k === 20 ? 0 : 2));
    expect(diffTables(a, b)).toEqual([20]);
    expect(diffTables(undefined, b)).toBe('all');
    expect(
      diffTables(
        a,
        makeTable(['x', 'y'], () => 0, 37),
      ),
    ).toBe('all');
    expect(diffTables(a, { ...a, seed: 1 })).toBe('all');
  });
});

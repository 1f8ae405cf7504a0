// The relay's byte counters per node (`stats().bytesByNode`): known amounts pushed both ways through the
// relay to loopback nodes, small writes (the shared read buffer) and bulk ones (a connection's own
// buffer), two nodes kept apart, a PROXY protocol header left out.
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeProxyHeader } from '../src/codec/proxy-protocol';
import { RelayDataPlane, type RelayOptions } from '../src/dataplane/index';
import { clientBucket } from '../src/scheduler/scheduler';
import {
  closeLab,
  forEachEngine,
  loopbackLab,
  makeTable,
  openClient,
  settingsOf,
  startNode,
  type TestNode,
  updateOf,
} from './relay-harness';

const MASK = { ipv4PrefixLength: 32, ipv6PrefixLength: 128 };
const IDS = ['node-a', 'node-b'];

let prefix: string;
let vip: string;
let vport: number;
let dport: number;
let nodes: TestNode[];
let relays: RelayDataPlane[];
let sockets: Socket[];

beforeEach(async () => {
  ({ prefix, vip, vport, dport } = await loopbackLab());
  nodes = [];
  relays = [];
  sockets = [];
});

afterEach(() => closeLab({ sockets, relays, nodes }));

const nodeHost = (i: number) => `${prefix}.${11 + i}`;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * A node that reads the client's bytes until its FIN (skipping a PROXY protocol header when `proxied`),
 * then sends `reply(received)` in `writes` pieces and closes. `received` collects what it got, per
 * connection.
 */
async function answeringNode(
  i: number,
  reply: (received: Buffer) => Buffer,
  received: Buffer[],
  options: { writes?: number; proxied?: boolean } = {},
): Promise<TestNode> {
  const node = await startNode(IDS[i] as string, nodeHost(i), dport, (s) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => {
      let got = Buffer.concat(chunks);
      if (options.proxied) {
        const h = decodeProxyHeader(got);
        if (!h.ok || !h.value.complete) throw new Error('no PROXY header');
        got = got.subarray(h.value.length);
      }
      received.push(got);
      const answer = reply(got);
      const writes = options.writes ?? 1;
      const step = Math.ceil(answer.length / writes);
      for (let o = 0; o < answer.length; o += step) s.write(answer.subarray(o, o + step));
      s.end();
    });
  });
  nodes.push(node);
  return node;
}

/** Sends `payload` from `client` in `writes` pieces, half-closes, resolves with everything received. */
async function exchangeBytes(client: string, payload: Buffer, writes = 1): Promise<Buffer> {
  const s = await openClient(vip, vport, client);
  sockets.push(s);
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
  const step = Math.ceil(payload.length / writes);
  for (let o = 0; o < payload.length; o += step) s.write(payload.subarray(o, o + step));
  s.end();
  await closed;
  return Buffer.concat(chunks);
}

/** The engine of the tests being defined (see forEachEngine below). */
let engine: 'node' | 'native' = 'node';

function relay(options: RelayOptions = {}): RelayDataPlane {
  const r = new RelayDataPlane(settingsOf(vip, vport, dport), { engine, ...options });
  relays.push(r);
  return r;
}

/** A client address of the prefix whose bucket `table` gives to node `index`. */
function clientOf(table: ReturnType<typeof makeTable>, index: number, from = 100): string {
  for (let i = from; i < 255; i++) {
    const a = `${prefix}.${i}`;
    if (table.owners[clientBucket(a, table, MASK) as number] === index) return a;
  }
  throw new Error(`no client for owner ${index}`);
}

forEachEngine((e) => {
  beforeEach(() => {
    engine = e;
  });

  describe('RelayDataPlane bytes per node', () => {
    it('counts the bytes carried each way, per node, across connections', async () => {
      const receivedA: Buffer[] = [];
      const receivedB: Buffer[] = [];
      // node-a answers 3 bytes per byte received (bulk: reads of 16 KiB and more get their own buffer);
      // node-b answers a short line (small reads: the shared buffer)
      await answeringNode(0, (got) => Buffer.concat([got, got, got]), receivedA, { writes: 7 });
      await answeringNode(1, (got) => Buffer.from(`b:${got.length}\n`), receivedB);
      const table = makeTable(IDS, (b) => b % 2);
      const r = relay();
      await r.apply(
        updateOf(
          table,
          IDS.map((id, i) => ({ id, host: nodeHost(i) })),
        ),
      );
      await r.start();
      expect(r.stats().bytesByNode).toEqual(new Map());

      const bulk = randomBytes(3 * 1024 * 1024 + 17);
      const answer = await exchangeBytes(clientOf(table, 0), bulk, 5);
      expect(answer.length).toBe(3 * bulk.length);
      expect(sha(answer)).toBe(sha(Buffer.concat([bulk, bulk, bulk])));
      expect(receivedA.map((b) => b.length)).toEqual([bulk.length]);
      expect(r.stats().bytesByNode).toEqual(
        new Map([['node-a', { toNode: bulk.length, toClient: 3 * bulk.length }]]),
      );

      const small = Buffer.from('GET / HTTP/1.0\r\n\r\n');
      const clientB = clientOf(table, 1);
      const answers = [];
      for (let k = 0; k < 3; k++) answers.push((await exchangeBytes(clientB, small)).toString());
      expect(answers).toEqual(Array(3).fill(`b:${small.length}\n`));
      const lineLength = `b:${small.length}\n`.length;
      // a second connection to node-a adds to its counters
      const more = randomBytes(1000);
      await exchangeBytes(clientOf(table, 0), more, 3);
      expect(r.stats().bytesByNode).toEqual(
        new Map([
          ['node-a', { toNode: bulk.length + more.length, toClient: 3 * (bulk.length + more.length) }],
          ['node-b', { toNode: 3 * small.length, toClient: 3 * lineLength }],
        ]),
      );
      // the snapshot is a copy: later traffic does not change it
      const before = r.stats().bytesByNode;
      await exchangeBytes(clientB, small);
      expect(before.get('node-b')).toEqual({ toNode: 3 * small.length, toClient: 3 * lineLength });
      expect(r.stats().bytesByNode.get('node-b')).toEqual({
        toNode: 4 * small.length,
        toClient: 4 * lineLength,
      });
      expect(r.stats()).toMatchObject({ accepted: 6, failed: 0, refused: 0, open: 0 });
    });

    it('leaves the PROXY protocol header out of toNode', async () => {
      const received: Buffer[] = [];
      await answeringNode(0, () => Buffer.from('ok'), received, { proxied: true });
      const r = relay({ proxyProtocol: 'v2' });
      await r.apply(
        updateOf(
          makeTable(['node-a'], () => 0),
          [{ id: 'node-a', host: nodeHost(0) }],
        ),
      );
      await r.start();
      const payload = randomBytes(5000);
      expect((await exchangeBytes(`${prefix}.123`, payload)).toString()).toBe('ok');
      expect(received.map(sha)).toEqual([sha(payload)]);
      expect(r.stats().bytesByNode).toEqual(new Map([['node-a', { toNode: 5000, toClient: 2 }]]));
    });

    it('counts nothing for a node that refused: the bytes go to the one that took the client', async () => {
      const received: Buffer[] = [];
      // node-a is in the table but nothing listens at its address: its client goes to node-b (the next
      // choice: the other node owning buckets)
      await answeringNode(1, (got) => got, received);
      const table = makeTable(IDS, (b) => b % 2);
      const r = relay();
      await r.apply(
        updateOf(
          table,
          IDS.map((id, i) => ({ id, host: nodeHost(i) })),
        ),
      );
      await r.start();
      const payload = randomBytes(2048);
      expect(sha(await exchangeBytes(clientOf(table, 0), payload))).toBe(sha(payload));
      expect(r.stats()).toMatchObject({ refused: 1 });
      expect(r.stats().bytesByNode).toEqual(new Map([['node-b', { toNode: 2048, toClient: 2048 }]]));
    });
  });
});

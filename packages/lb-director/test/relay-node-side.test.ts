// The node side of the relay: bytes node -> client are read through `onread` (one shared buffer for small
// reads, a buffer of the connection's own for bulk reads), with backpressure towards the client; and the
// connect timeout, checked by the relay's sweep instead of a timer per socket.
import { type ChildProcess, spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RelayDataPlane, type RelayOptions } from '../src/dataplane/index';
import { clientBucket } from '../src/scheduler/scheduler';
import {
  closeLab,
  event,
  exchange,
  forEachEngine,
  loopbackLab,
  makeTable,
  openClient,
  readAll,
  settingsOf,
  startNode,
  type TestNode,
  until,
  updateOf,
} from './relay-harness';

let prefix: string;
let vip: string;
let vport: number;
let dport: number;
let nodes: TestNode[];
let relays: RelayDataPlane[];
let sockets: Socket[];
let children: ChildProcess[];

const MASK = { ipv4PrefixLength: 32, ipv6PrefixLength: 128 };

beforeEach(async () => {
  ({ prefix, vip, vport, dport } = await loopbackLab());
  nodes = [];
  relays = [];
  sockets = [];
  children = [];
});

afterEach(() => closeLab({ sockets, relays, nodes, children }));

const nodeHost = (i: number) => `${prefix}.${11 + i}`;

/** The engine of the tests being defined (see forEachEngine below). */
let engine: 'node' | 'native' = 'node';

function relay(options: RelayOptions = {}): RelayDataPlane {
  const r = new RelayDataPlane(settingsOf(vip, vport, dport), { engine, ...options });
  relays.push(r);
  return r;
}

/**
 * A deterministic byte stream of `total` bytes (AES-128-CTR keystream keyed by `seed`), cut into pieces of
 * 1 B .. 96 KiB: mostly small ones (read into the shared buffer), some large (a buffer of the connection's
 * own).
 */
function pieces(seed: number, total: number): Buffer[] {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed >>> 0);
  const bytes = createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(total));
  let x = seed >>> 0 || 1;
  const out: Buffer[] = [];
  for (let at = 0; at < total; ) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const size = Math.min(total - at, x % 4 === 0 ? 16 * 1024 + (x % (80 * 1024)) : 1 + (x % 2000));
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

const sha = (bs: readonly Buffer[]) => {
  const h = createHash('sha256');
  for (const b of bs) h.update(b);
  return h.digest('hex');
};

forEachEngine((e) => {
  beforeEach(() => {
    engine = e;
  });

  describe('RelayDataPlane node side', () => {
    it('moves 50 MB from the node with backpressure: it stops reading the node instead of buffering', async () => {
      const total = 50 * 1024 * 1024;
      const chunk = Buffer.alloc(64 * 1024, 9);
      let sent = 0;
      nodes.push(
        await startNode('source', nodeHost(0), dport, (s) => {
          s.once('data', () => {
            const pump = () => {
              while (sent < total) {
                sent += chunk.length;
                if (!s.write(chunk)) {
                  s.once('drain', pump);
                  return;
                }
              }
              s.end();
            };
            pump();
          });
        }),
      );
      const r = relay();
      await r.apply(
        updateOf(
          makeTable(['source'], () => 0),
          [{ id: 'source', host: nodeHost(0) }],
        ),
      );
      await r.start();
      const c = await openClient(vip, vport, `${prefix}.100`);
      sockets.push(c);
      const hash = createHash('sha256');
      let received = 0;
      c.on('data', (d: Buffer) => {
        hash.update(d);
        received += d.length;
      });
      c.pause(); // a client that does not read yet
      c.end('go'); // the request, then the client's FIN: the node keeps sending (half-close)
      let maxBuffered = 0;
      const sample = () => {
        maxBuffered = Math.max(maxBuffered, r.stats().bufferedBytes);
      };
      // the client reads nothing: the node must end up blocked well before 50 MB, the relay holding little
      let stable = 0;
      let last = -1;
      await until(
        () => {
          sample();
          stable = sent === last && sent > 0 ? stable + 1 : 0;
          last = sent;
          return stable >= 20;
        },
        'the node is blocked',
        10,
      );
      expect(sent).toBeLessThan(total);
      expect(r.stats().bufferedBytes).toBeLessThan(1024 * 1024);
      // now the client reads, in bursts: the transfer completes and the relay never holds much
      const timer = setInterval(sample, 2);
      const bursts = setInterval(() => (c.isPaused() ? c.resume() : c.pause()), 3);
      const closed = event(c, 'close');
      c.resume();
      await closed;
      clearInterval(bursts);
      clearInterval(timer);
      sample();
      expect(received).toBe(total);
      const expected = createHash('sha256');
      for (let i = 0; i < total / chunk.length; i++) expected.update(chunk);
      expect(hash.digest('hex')).toBe(expected.digest('hex'));
      expect(maxBuffered).toBeLessThan(1024 * 1024);
    });

    it('keeps the bytes of concurrent connections apart, small and bulk reads mixed, slow readers included', async () => {
      // slow readers get more than the kernel's socket buffers hold, so the relay's writes to them queue
      const sizeOf = (k: number) => (k % 2 === 1 ? 16 : 2) * 1024 * 1024;
      nodes.push(
        await startNode('mixer', nodeHost(0), dport, (s) => {
          s.once('data', (d: Buffer) => {
            // the request names the seed; the answer comes in pieces, with pauses between some of them
            const k = Number(d.toString()) - 1000;
            const parts = pieces(1000 + k, sizeOf(k));
            let i = 0;
            const pump = () => {
              while (i < parts.length) {
                const ok = s.write(parts[i] as Buffer);
                i++;
                if (!ok) {
                  s.once('drain', pump);
                  return;
                }
                if (i % 7 === 0) {
                  setImmediate(pump);
                  return;
                }
              }
              s.end();
            };
            pump();
          });
        }),
      );
      const r = relay();
      await r.apply(
        updateOf(
          makeTable(['mixer'], () => 0),
          [{ id: 'mixer', host: nodeHost(0) }],
        ),
      );
      await r.start();
      const run = async (k: number) => {
        const seed = 1000 + k;
        const c = await openClient(vip, vport, `${prefix}.${100 + k}`);
        sockets.push(c);
        const got: Buffer[] = [];
        c.on('data', (d: Buffer) => {
          got.push(d);
          // a slow reader: its socket fills up, the relay's writes to it stay queued while others read
          if (k % 2 === 1 && got.length % 3 === 0) {
            c.pause();
            setTimeout(() => c.resume(), 15);
          }
        });
        if (k % 2 === 1) {
          c.pause(); // slow readers start late
          setTimeout(() => c.resume(), 300);
        }
        c.end(String(seed));
        await event(c, 'close');
        const size = got.reduce((a, b) => a + b.length, 0);
        return { k, size, want: sizeOf(k), hash: sha(got), wantHash: sha(pieces(seed, sizeOf(k))) };
      };
      let queued = 0;
      const watch = setInterval(() => {
        queued = Math.max(queued, r.stats().bufferedBytes);
      }, 5);
      const results = await Promise.all(Array.from({ length: 12 }, (_, k) => run(k)));
      clearInterval(watch);
      for (const x of results) {
        expect(x.size, `client ${x.k}`).toBe(x.want);
        expect(x.hash, `client ${x.k}`).toBe(x.wantHash);
      }
      expect(queued).toBeGreaterThan(0); /* writes to the clients were queued while reads went on */
      await until(() => r.stats().open === 0, 'all connections released');
      expect(r.stats()).toMatchObject({ accepted: 12, failed: 0, socketErrors: 0 });
    });
  });

  /**
   * A node that never accepts: a listener in a child process whose event loop is blocked, with its accept
   * queue filled by connections that are never taken, so the kernel drops further connection requests
   * (the connect neither succeeds nor fails: only a timeout ends it).
   */
  async function blackHole(host: string, port: number): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const s = require('node:net').createServer();
         s.listen({ host: ${JSON.stringify(host)}, port: ${port}, backlog: 1 }, () => {
           process.stdout.write('listening\\n');
           Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
         });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`black hole exited ${code}`)));
    });
    // fill the accept queue: connections complete until it is full, then the kernel drops the SYNs
    let connected = 0;
    for (let i = 0; i < 8; i++) {
      const s = connect({ host, port });
      s.on('error', () => undefined);
      s.on('connect', () => connected++);
      sockets.push(s);
    }
    await until(() => connected >= 2, 'accept queue filled');
    const probe = connect({ host, port });
    probe.on('error', () => undefined);
    sockets.push(probe);
    const [outcome] = await Promise.race([
      once(probe, 'connect').then(() => ['connected']),
      new Promise<string[]>((r) => setTimeout(() => r(['pending']), 300)),
    ]);
    if (outcome !== 'pending') throw new Error('the black hole accepted a connection');
  }

  describe('RelayDataPlane connect timeout', () => {
    it('counts a node that does not accept in time as refusing, and tries the next choice', async () => {
      await blackHole(nodeHost(0), dport);
      nodes.push(await startNode('node-b', nodeHost(1), dport));
      const r = relay({ connectTimeoutMs: 150 });
      const order: string[] = [];
      r.on('nodeRefused', (id, address, reason) => order.push(`refused ${id} ${address} ${reason}`));
      const table = makeTable(['node-a', 'node-b'], (b) => (b % 4 === 0 ? 1 : 0));
      await r.apply(
        updateOf(table, [
          { id: 'node-a', host: nodeHost(0) },
          { id: 'node-b', host: nodeHost(1) },
        ]),
      );
      await r.start();
      // a client of a bucket of node-a: its connect hangs, times out, then node-b (the next choice) answers
      const clients = [];
      for (let i = 100; i < 255; i++)
        if (table.owners[clientBucket(`${prefix}.${i}`, table, MASK) as number] === 0)
          clients.push(`${prefix}.${i}`);
      const [first, second] = clients as [string, string];
      const c = await openClient(vip, vport, first);
      sockets.push(c);
      const answer = readAll(c);
      c.end('hello');
      order.push(`answer ${await answer}`);
      expect(order).toEqual([`refused node-a ${nodeHost(0)} connect timeout`, 'answer node-b:hello']);
      expect(r.stats()).toMatchObject({ refused: 1, failed: 0 });
      await until(() => r.stats().open === 0, 'released');
      // the sweep goes on with the next connection
      expect(await exchange(vip, vport, second, 'again')).toBe('node-b:again');
      expect(order.at(-1)).toBe(`refused node-a ${nodeHost(0)} connect timeout`);
      expect(r.stats()).toMatchObject({ refused: 2, failed: 0, open: 0 });
    });
  });
});

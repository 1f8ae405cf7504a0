import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { MemoryLogger } from '@proxyha/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeProxyHeader } from '../src/codec/proxy-protocol';
import { RelayDataPlane, type RelayOptions, RoutingTable } from '../src/dataplane/index';
import { LbError } from '../src/errors';
import { clientBucket } from '../src/scheduler/scheduler';
import type { BucketTable } from '../src/scheduler/types';
import {
  closeLab,
  event,
  exchange,
  forEachEngine,
  freePort,
  loopbackLab,
  makeTable,
  NATIVE_RELAY,
  openClient,
  readAll,
  settingsOf,
  startNode,
  type TestNode,
  until,
  updateOf,
} from './relay-harness';

const MASK = { ipv4PrefixLength: 32, ipv6PrefixLength: 128 };
const IDS = ['node-a', 'node-b', 'node-c'];

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

async function startNodes(count = 3): Promise<TestNode[]> {
  for (let i = 0; i < count; i++) nodes.push(await startNode(IDS[i] as string, nodeHost(i), dport));
  return nodes;
}

/** The engine of the tests being defined (see forEachEngine below). */
let engine: 'node' | 'native' = 'node';

function relay(options: RelayOptions = {}): RelayDataPlane {
  const r = new RelayDataPlane(settingsOf(vip, vport, dport), { engine, ...options });
  relays.push(r);
  return r;
}

const round = (b: number) => b % 3;
const hosts = () => IDS.map((id, i) => ({ id, host: nodeHost(i) }));

/** Client source addresses of the prefix whose bucket owner in `table` is `ids[index]`. */
function clientsOf(table: BucketTable, index: number, count = 3): string[] {
  const out: string[] = [];
  for (let i = 100; i < 255 && out.length < count; i++) {
    const a = `${prefix}.${i}`;
    if (table.owners[clientBucket(a, table, MASK) as number] === index) out.push(a);
  }
  if (out.length < count) throw new Error(`too few clients for owner ${index}`);
  return out;
}

forEachEngine((e) => {
  beforeEach(() => {
    engine = e;
  });

  describe('RelayDataPlane routing', () => {
    it('sends each client to the owner of its bucket, over every node of the table', async () => {
      await startNodes();
      const table = makeTable(IDS, round);
      const r = relay();
      await r.apply(updateOf(table, hosts()));
      await r.start();
      const seen = new Set<string>();
      for (let i = 100; i < 130; i++) {
        const client = `${prefix}.${i}`;
        const owner = IDS[table.owners[clientBucket(client, table, MASK) as number] as number];
        const answer = await exchange(vip, vport, client, `from ${client}`);
        expect(answer).toBe(`${owner}:from ${client}`);
        seen.add(owner as string);
      }
      expect([...seen].sort()).toEqual(IDS);
      expect(r.stats()).toMatchObject({ accepted: 30, failed: 0, refused: 0, open: 0 });
    });

    it('is sticky: every connection of a client goes to the same node', async () => {
      await startNodes();
      const table = makeTable(IDS, round);
      const r = relay();
      await r.apply(updateOf(table, hosts()));
      await r.start();
      for (const index of [0, 1, 2]) {
        const [client] = clientsOf(table, index, 1) as [string];
        const answers = [];
        for (let k = 0; k < 5; k++) answers.push(await exchange(vip, vport, client, `${k}`));
        expect(answers).toEqual([0, 1, 2, 3, 4].map((k) => `${IDS[index]}:${k}`));
      }
    });

    it('keeps an open connection on its node across a table change; new ones follow the new table', async () => {
      await startNodes();
      const table = makeTable(IDS, round);
      const r = relay();
      await r.apply(updateOf(table, hosts()));
      await r.start();
      const [client] = clientsOf(table, 0, 1) as [string];
      const open = await openClient(vip, vport, client);
      sockets.push(open);
      const answer = readAll(open);
      open.write('before ');
      await until(() => nodes[0]?.sockets.length === 1, 'node-a got the connection');
      expect(r.stats().activeByNode).toEqual(new Map([['node-a', 1]]));
      await r.apply({
        ...updateOf(
          makeTable(IDS, () => 1),
          hosts(),
        ),
        changedBuckets: 'all',
      });
      expect(await exchange(vip, vport, client, 'new')).toBe('node-b:new');
      open.end('after');
      expect(await answer).toBe('node-a:before after');
      expect(r.stats().activeByNode.size).toBe(0);
    });

    it('sends the director its own share at the self address', async () => {
      await startNodes();
      const r = relay({ selfAddress: nodeHost(2) });
      // node-a is "self" with an address nothing listens on: the relay must use selfAddress instead
      const table = makeTable(IDS, () => 0);
      await r.apply(
        updateOf(table, [{ id: 'node-a', host: `${prefix}.99` }, ...hosts().slice(1)], ['node-a']),
      );
      await r.start();
      expect(await exchange(vip, vport, `${prefix}.100`, 'x')).toBe('node-c:x');
      expect(r.stats().refused).toBe(0);
    });
  });

  describe('RelayDataPlane PROXY protocol', () => {
    /** A node that decodes the PROXY header, then echoes the rest after the client's FIN. */
    async function decodingNode(): Promise<TestNode> {
      return startNode('pp', nodeHost(0), dport, (s) => {
        let buf = Buffer.alloc(0);
        s.on('data', (c: Buffer) => {
          buf = Buffer.concat([buf, c]);
        });
        s.on('end', () => {
          const r = decodeProxyHeader(buf);
          if (!r.ok || !r.value.complete) s.end(`bad: ${r.ok ? 'incomplete' : r.error.code}`);
          else
            s.end(JSON.stringify({ header: r.value.header, rest: buf.subarray(r.value.length).toString() }));
        });
      });
    }

    it.each([
      'v1',
      'v2',
    ] as const)('sends a %s header with the client and the VIP before its bytes', async (v) => {
      nodes.push(await decodingNode());
      const r = relay({ proxyProtocol: v });
      await r.apply(
        updateOf(
          makeTable(['pp'], () => 0),
          [{ id: 'pp', host: nodeHost(0) }],
        ),
      );
      await r.start();
      const c = await openClient(vip, vport, `${prefix}.123`);
      sockets.push(c);
      const clientPort = c.localPort;
      const got = readAll(c);
      c.end('GET / HTTP/1.0\r\n\r\n');
      const { header, rest } = JSON.parse(await got);
      expect(rest).toBe('GET / HTTP/1.0\r\n\r\n');
      expect(header).toEqual({
        version: v === 'v1' ? 1 : 2,
        command: 'proxy',
        addresses: {
          family: 'tcp4',
          sourceAddress: `${prefix}.123`,
          sourcePort: clientPort,
          destinationAddress: vip,
          destinationPort: vport,
        },
        tlvs: [],
      });
    });
  });

  describe('RelayDataPlane on IPv6', () => {
    it('listens on an IPv6 address and routes by the IPv6 client address', async () => {
      const port6 = await freePort('::1');
      const node6 = await freePort('::1');
      nodes.push(await startNode('six', '::1', node6));
      const r = new RelayDataPlane(
        { ...settingsOf(vip, port6, node6), virtualIps: ['::1/128'] },
        { proxyProtocol: 'v1', engine },
      );
      relays.push(r);
      await r.apply(
        updateOf(
          makeTable(['six'], () => 0),
          [{ id: 'six', host: '::1' }],
        ),
      );
      await r.start();
      expect(r.stats().listening).toEqual([`[::1]:${port6}`]);
      const answer = await exchange('::1', port6, '::1', 'v6');
      expect(answer).toMatch(/^six:PROXY TCP6 ::1 ::1 \d+ \d+\r\nv6$/);
    });
  });

  describe('RelayDataPlane streams', () => {
    it('forwards a client half-close; the node keeps sending afterwards', async () => {
      nodes.push(
        await startNode('slow', nodeHost(0), dport, (s) => {
          s.on('data', () => undefined);
          s.on('end', () => {
            let k = 0;
            const more = () => {
              if (k === 5) s.end('done');
              else {
                s.write(`part${k++} `);
                setImmediate(more);
              }
            };
            more();
          });
        }),
      );
      const r = relay();
      await r.apply(
        updateOf(
          makeTable(['slow'], () => 0),
          [{ id: 'slow', host: nodeHost(0) }],
        ),
      );
      await r.start();
      const c = await openClient(vip, vport, `${prefix}.100`);
      sockets.push(c);
      const got = readAll(c);
      c.end('request');
      expect(await got).toBe('part0 part1 part2 part3 part4 done');
    });

    it('forwards a node half-close; the client keeps sending afterwards', async () => {
      const received: string[] = [];
      nodes.push(
        await startNode('first', nodeHost(0), dport, (s) => {
          s.end('bye early');
          s.on('data', (c: Buffer) => received.push(c.toString()));
          s.on('end', () => received.push('<fin>'));
        }),
      );
      const r = relay();
      await r.apply(
        updateOf(
          makeTable(['first'], () => 0),
          [{ id: 'first', host: nodeHost(0) }],
        ),
      );
      await r.start();
      const c = await openClient(vip, vport, `${prefix}.100`);
      sockets.push(c);
      const got = readAll(c);
      await once(c, 'end');
      c.write('still ');
      c.end('talking');
      expect(await got).toBe('bye early');
      await until(() => received.includes('<fin>'), 'node saw the FIN');
      expect(received.join('')).toBe('still talking<fin>');
    });

    it('moves 50 MB with backpressure: the relay pauses instead of buffering', async () => {
      const total = 50 * 1024 * 1024;
      const chunk = Buffer.alloc(64 * 1024, 7);
      let nodeSocket: Socket | undefined;
      const hash = createHash('sha256');
      let receivedBytes = 0;
      nodes.push(
        await startNode('sink', nodeHost(0), dport, (s) => {
          nodeSocket = s;
          s.on('data', (c: Buffer) => {
            hash.update(c);
            receivedBytes += c.length;
          });
          s.on('end', () => s.end(`${receivedBytes}`));
          s.pause(); // a node that does not read yet
        }),
      );
      const r = relay();
      await r.apply(
        updateOf(
          makeTable(['sink'], () => 0),
          [{ id: 'sink', host: nodeHost(0) }],
        ),
      );
      await r.start();
      const c = await openClient(vip, vport, `${prefix}.100`);
      sockets.push(c);
      let sent = 0;
      const expected = createHash('sha256');
      const source = Readable.from(
        (function* () {
          while (sent < total) {
            sent += chunk.length;
            expected.update(chunk);
            yield chunk;
          }
        })(),
      );
      const answer = readAll(c);
      let maxBuffered = 0;
      const sample = () => {
        maxBuffered = Math.max(maxBuffered, r.stats().bufferedBytes);
      };
      source.pipe(c);
      // the node reads nothing: the client must end up blocked well before 50 MB, the relay holding little
      await until(() => nodeSocket !== undefined, 'node connected');
      let stable = 0;
      let last = -1;
      await until(
        () => {
          sample();
          stable = sent === last ? stable + 1 : 0;
          last = sent;
          return stable >= 20;
        },
        'the client is blocked',
        10,
      );
      expect(sent).toBeLessThan(total);
      expect(r.stats().bufferedBytes).toBeLessThan(1024 * 1024);
      // now the node reads, in bursts: the transfer completes and the relay never holds much
      const timer = setInterval(sample, 2);
      const s = nodeSocket as Socket;
      const bursts = setInterval(() => (s.isPaused() ? s.resume() : s.pause()), 3);
      s.resume();
      const result = await answer;
      clearInterval(bursts);
      clearInterval(timer);
      sample();
      expect(result).toBe(`${total}`);
      expect(hash.digest('hex')).toBe(expected.digest('hex'));
      expect(maxBuffered).toBeLessThan(1024 * 1024);
    });

    it('closes an idle connection', async () => {
      await startNodes(1);
      const r = relay({ idleTimeoutMs: 100 });
      await r.apply(
        updateOf(
          makeTable(['node-a'], () => 0),
          hosts().slice(0, 1),
        ),
      );
      await r.start();
      const c = await openClient(vip, vport, `${prefix}.100`);
      sockets.push(c);
      c.write('one message, then silence');
      await until(() => nodes[0]?.sockets.length === 1, 'node connected');
      const nodeSide = nodes[0]?.sockets[0] as Socket;
      // the relay closes both sides: the client sees the FIN, the node sees it and closes
      await Promise.all([event(c, 'end'), nodeSide.closed ? undefined : event(nodeSide, 'close')]);
      await r.whenIdle();
      expect(r.stats()).toMatchObject({ idleTimeouts: 1, open: 0, activeByNode: new Map() });
    });
  });

  describe('RelayDataPlane failures', () => {
    it('tries the next choice when a node refuses, and reports the refusal first', async () => {
      await startNodes();
      await nodes[0]?.close(); // node-a refuses
      const table = makeTable(IDS, round);
      const r = relay();
      const order: string[] = [];
      r.on('nodeRefused', (id, address, reason) => order.push(`refused ${id} ${address} ${reason}`));
      await r.apply(updateOf(table, hosts()));
      await r.start();
      const routing = new RoutingTable(updateOf(table, hosts()), MASK);
      for (const client of clientsOf(table, 0, 3)) {
        const next = routing.route(client, new Set(['node-a']));
        expect(next === 'node-b' || next === 'node-c').toBe(true);
        const answer = await exchange(vip, vport, client, 'x');
        order.push(`answer ${answer}`);
        expect(order.slice(-2)).toEqual([`refused node-a ${nodeHost(0)} ECONNREFUSED`, `answer ${next}:x`]);
      }
      expect(r.stats()).toMatchObject({ refused: 3, failed: 0 });
    });

    it('the next choice is deterministic per bucket and weighted by the table', () => {
      // node-a owns 2/3 of the buckets, node-b 1/3, node-c none: after node-a refuses, c is never chosen
      const table = makeTable(IDS, (b) => (b % 3 === 2 ? 1 : 0), 3001);
      const routing = new RoutingTable(updateOf(table, hosts()), MASK);
      const counts = new Map<string | undefined, number>();
      for (let b = 0; b < table.size; b++) {
        const a = routing.choose(b, new Set(['node-b']));
        expect(routing.choose(b, new Set(['node-b']))).toBe(a);
        counts.set(a, (counts.get(a) ?? 0) + 1);
      }
      expect(counts).toEqual(new Map([['node-a', 3001]]));
      expect(routing.choose(0, new Set(['node-a', 'node-b']))).toBeUndefined();
    });

    it('closes the client and counts a failure when every node refuses', async () => {
      const table = makeTable(IDS, round);
      const r = relay();
      const refused: string[] = [];
      r.on('nodeRefused', (id) => refused.push(id));
      await r.apply(updateOf(table, hosts()));
      await r.start();
      expect(await exchange(vip, vport, `${prefix}.100`, 'x')).toBe('');
      expect([...refused].sort()).toEqual(IDS);
      expect(r.stats()).toMatchObject({ accepted: 1, failed: 1, refused: 3, open: 0 });
    });

    it('closes the client at once when no node can take clients, or before any table', async () => {
      await startNodes();
      const r = relay();
      await r.start();
      expect(await exchange(vip, vport, `${prefix}.100`, 'x')).toBe('');
      await r.apply(
        updateOf(
          makeTable(IDS, () => undefined),
          hosts(),
        ),
      );
      expect(await exchange(vip, vport, `${prefix}.100`, 'x')).toBe('');
      expect(r.stats()).toMatchObject({ accepted: 2, failed: 2, refused: 0 });
      expect(nodes.every((n) => n.sockets.length === 0)).toBe(true);
    });

    it('counts a client reset as a socket error and closes the node side', async () => {
      await startNodes(1);
      const log = new MemoryLogger();
      const r = relay({ logger: log });
      await r.apply(
        updateOf(
          makeTable(['node-a'], () => 0),
          hosts().slice(0, 1),
        ),
      );
      await r.start();
      const c = await openClient(vip, vport, `${prefix}.100`);
      c.write('x');
      await until(() => nodes[0]?.sockets.length === 1, 'node connected');
      const nodeSide = nodes[0]?.sockets[0] as Socket;
      c.resetAndDestroy();
      if (!nodeSide.closed) await once(nodeSide, 'close');
      await until(() => r.stats().open === 0, 'relay released the connection');
      expect(r.stats().socketErrors).toBeGreaterThanOrEqual(1);
      expect(log.entries.some((e) => e.level === 'debug' && /socket error: ECONNRESET/.test(e.message))).toBe(
        true,
      );
    });

    it('rejects a listen address in use with LB_RELAY_LISTEN_FAILED and leaves nothing listening', async () => {
      await startNodes(1);
      // listen on two addresses; the second one's port is taken by node-a
      const r = new RelayDataPlane(settingsOf(vip, dport, dport), {
        listenAddresses: [vip, nodeHost(0)],
        engine,
      });
      relays.push(r);
      const e = await r.start().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(LbError);
      expect((e as LbError).code).toBe('LB_RELAY_LISTEN_FAILED');
      expect((e as LbError).details).toMatchObject({ address: nodeHost(0), port: dport, code: 'EADDRINUSE' });
      expect(r.stats().listening).toEqual([]);
      const probe = connect({ host: vip, port: dport });
      const [err] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
      expect(err.code).toBe('ECONNREFUSED');
    });

    it('validates its options', () => {
      expect(() => relay({ idleTimeoutMs: -1, listenAddresses: ['nope'] })).toThrow(
        /idleTimeoutMs.*\n?.*listenAddresses|listenAddresses[\s\S]*idleTimeoutMs/,
      );
    });
  });

  describe('RelayDataPlane stop', () => {
    async function refusedAt(host: string, port: number): Promise<string | undefined> {
      const probe = connect({ host, port });
      const [err] = (await Promise.race([
        once(probe, 'error'),
        once(probe, 'connect').then(() => [undefined]),
      ])) as [NodeJS.ErrnoException | undefined];
      probe.destroy();
      return err?.code;
    }

    it('closes its listeners, lets open connections finish (drain), and is idempotent', async () => {
      await startNodes(1);
      const r = relay();
      await r.apply(
        updateOf(
          makeTable(['node-a'], () => 0),
          hosts().slice(0, 1),
        ),
      );
      await r.start();
      expect(r.stats().listening).toEqual([`${vip}:${vport}`]);
      const c = await openClient(vip, vport, `${prefix}.100`);
      sockets.push(c);
      const answer = readAll(c);
      c.write('open ');
      await until(() => nodes[0]?.sockets.length === 1, 'node connected');
      await r.stop();
      await r.stop();
      expect(r.stats().listening).toEqual([]);
      expect(await refusedAt(vip, vport)).toBe('ECONNREFUSED');
      c.end('and finished');
      expect(await answer).toBe('node-a:open and finished');
      expect(r.stats().open).toBe(0);
    });

    it('destroys open connections when asked', async () => {
      await startNodes(1);
      const r = relay({ stopMode: 'destroy' });
      await r.apply(
        updateOf(
          makeTable(['node-a'], () => 0),
          hosts().slice(0, 1),
        ),
      );
      await r.start();
      const c = await openClient(vip, vport, `${prefix}.100`);
      sockets.push(c);
      c.write('open');
      await until(() => nodes[0]?.sockets.length === 1, 'node connected');
      const closed = event(c, 'end');
      await r.stop();
      await closed;
      expect(r.stats()).toMatchObject({ open: 0, listening: [], activeByNode: new Map() });
      expect(await refusedAt(vip, vport)).toBe('ECONNREFUSED');
      // it starts again
      await r.start();
      expect(await exchange(vip, vport, `${prefix}.100`, 'again')).toBe('node-a:again');
    });
  });
});

describe('RelayDataPlane engine option', () => {
  it('auto takes the native engine where netio has it; node and native are taken as asked', () => {
    const auto = relay({ engine: undefined });
    expect(auto.engine).toBe(NATIVE_RELAY.available ? 'native' : 'node');
    expect(auto.stats().engine).toBe(auto.engine);
    expect(relay({ engine: 'node' }).stats().engine).toBe('node');
    if (NATIVE_RELAY.available) expect(relay({ engine: 'native' }).engine).toBe('native');
  });

  it('refuses an unknown engine with LB_INVALID_ARGUMENT naming the option', () => {
    const e = (() => {
      try {
        relay({ engine: 'uring' as never });
      } catch (x) {
        return x as LbError;
      }
    })();
    expect(e).toBeInstanceOf(LbError);
    expect(e?.code).toBe('LB_INVALID_ARGUMENT');
    expect(e?.message).toMatch(/engine: must be auto, native or node \(got "uring"\)/);
  });
});

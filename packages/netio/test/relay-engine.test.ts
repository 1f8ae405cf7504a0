// The TCP relay engine (native/relay.cc, src/linux/relay-engine.ts) on loopback, against Node's own sockets
// as clients and nodes: what the handler hears and in what order, bytes both ways (read/write and splice),
// half-close, refusals and the connect timeout, idle timeout, resets, backpressure, destroy/reject, IPv6,
// wildcard listeners, the event loop kept alive only while there is work, and file descriptors: none left
// behind (the /proc/self/fd count before and after).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sourceNodeArgs } from '@proxyha/testlab';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  NetioError,
  openTcpRelayEngine,
  type TcpRelayClosed,
  type TcpRelayEngine,
  type TcpRelayHandler,
  tcpRelayEngineStatus,
} from '../src/index';
import type { AddonLoader } from '../src/linux/addon';
import { openRelayEngine, relayEngineStatus } from '../src/linux/relay-engine';

const fdCount = () => readdirSync('/proc/self/fd').length;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const tick = () => new Promise((r) => setImmediate(r));

/** A random 127.a.b prefix per test, so that files running in parallel do not meet. */
function loopbackPrefix(): string {
  return `127.${100 + Math.floor(Math.random() * 150)}.${Math.floor(Math.random() * 256)}`;
}

async function until(check: () => boolean, what: string, ms = 5): Promise<void> {
  for (let i = 0; i < 4000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, ms));
  }
  throw new Error(`never happened: ${what}`);
}

/** Every handler call as a line, in order; `route` decides what to do with an accepted client. */
class Recorder implements TcpRelayHandler {
  readonly log: string[] = [];
  readonly closedInfo = new Map<number, TcpRelayClosed>();
  readonly accepts: { conn: number; client: string; clientPort: number; local: string; localPort: number }[] =
    [];
  engine!: TcpRelayEngine;
  route: (conn: number, attempt: number) => { host: string; port: number; header?: Uint8Array } | undefined =
    () => undefined;
  options: { connectTimeoutMs?: number; idleTimeoutMs?: number } = {};
  readonly attempts = new Map<number, number>();

  accepted(
    conn: number,
    listener: number,
    client: string,
    clientPort: number,
    local: string,
    localPort: number,
  ) {
    this.log.push(`accepted ${conn} on ${listener}`);
    this.accepts.push({ conn, client, clientPort, local, localPort });
    this.#next(conn);
  }
  connected(conn: number) {
    this.log.push(`connected ${conn}`);
  }
  connectFailed(conn: number, code: string, timedOut: boolean) {
    this.log.push(`failed ${conn} ${code}${timedOut ? ' timeout' : ''}`);
    this.#next(conn);
  }
  closed(conn: number, info: TcpRelayClosed) {
    this.log.push(
      `closed ${conn} ${info.reason}${info.errorSide ? ` ${info.errorSide} ${info.errorCode}` : ''}`,
    );
    this.closedInfo.set(conn, info);
  }
  #next(conn: number) {
    const attempt = (this.attempts.get(conn) ?? 0) + 1;
    this.attempts.set(conn, attempt);
    const to = this.route(conn, attempt);
    if (to === undefined) {
      this.log.push(`reject ${conn}`);
      this.engine.reject(conn);
    } else this.engine.connect(conn, to.host, to.port, { ...this.options, header: to.header });
  }
  /** The log lines of one connection, with its id replaced by `#`. */
  of(conn: number): string[] {
    return this.log
      .filter((l) => l.split(' ')[1] === String(conn))
      .map((l) => l.replace(` ${conn}`, ' #').replace(/ on \d+$/, ''));
  }
}

let prefix: string;
let engines: TcpRelayEngine[];
let servers: Server[];
let sockets: Socket[];
let children: ChildProcess[];

beforeEach(() => {
  prefix = loopbackPrefix();
  engines = [];
  servers = [];
  sockets = [];
  children = [];
});

afterEach(async () => {
  for (const s of sockets) s.destroy();
  for (const e of engines) e.close();
  for (const s of servers) {
    s.close();
    if (s.listening) await once(s, 'close');
  }
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function open(rec = new Recorder()): Recorder {
  rec.engine = openTcpRelayEngine(rec);
  engines.push(rec.engine);
  return rec;
}

/** A node: a server that reads until the client's FIN, then answers `reply(received)` and closes. */
async function startNode(
  host: string,
  handler?: (s: Socket) => void,
  reply: (got: Buffer) => Buffer = (got) => Buffer.concat([Buffer.from('echo:'), got]),
): Promise<{ server: Server; port: number; conns: Socket[] }> {
  const conns: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (s) => {
    conns.push(s);
    s.on('error', () => undefined);
    if (handler) return handler(s);
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => s.end(reply(Buffer.concat(chunks))));
  });
  server.listen(0, host);
  await once(server, 'listening');
  servers.push(server);
  return { server, port: (server.address() as { port: number }).port, conns };
}

/** A node that reads and never answers; it closes when the relay closes its side. */
const quietNode = (s: Socket) => {
  s.on('data', () => undefined);
  s.on('end', () => s.end());
};

/** The local port of the last client socket `exchange` opened. */
let lastClientPort = 0;

/** Connects from `localAddress`, sends `payload` in `pieces`, half-closes; resolves with what came back. */
async function exchange(
  host: string,
  port: number,
  payload: Buffer,
  localAddress?: string,
  pieces = 1,
): Promise<Buffer> {
  const s = connect({ host, port, localAddress, allowHalfOpen: true });
  sockets.push(s);
  s.on('error', () => undefined);
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  await once(s, 'connect');
  lastClientPort = s.localPort ?? 0;
  const step = Math.max(1, Math.ceil(payload.length / pieces));
  for (let o = 0; o < payload.length; o += step) s.write(payload.subarray(o, o + step));
  s.end();
  if (!s.closed) await once(s, 'close');
  return Buffer.concat(chunks);
}

describe('relay engine: availability and arguments', () => {
  it('is available with this package’s binary', () => {
    expect(tcpRelayEngineStatus()).toEqual({ available: true });
  });

  it('reports a binary without the engine, and no binary, as unavailable with the reason', () => {
    const old: AddonLoader = () => ({ available: true, addon: {} as never, path: '/x/old.node' });
    expect(relayEngineStatus(old)).toEqual({
      available: false,
      reason: '/x/old.node is a build of the addon without the relay engine',
    });
    const none: AddonLoader = () => ({ available: false, reason: 'no prebuilt binary for linux-riscv64' });
    expect(relayEngineStatus(none)).toEqual({
      available: false,
      reason: 'no prebuilt binary for linux-riscv64',
    });
    const e = (() => {
      try {
        openRelayEngine(none, new Recorder());
      } catch (x) {
        return x;
      }
    })() as NetioError;
    expect(e).toBeInstanceOf(NetioError);
    expect(e.code).toBe('NETIO_ADDON_UNAVAILABLE');
    expect(e.details).toEqual({ reason: 'no prebuilt binary for linux-riscv64' });
  });

  it('validates its arguments with NETIO_INVALID_ARGUMENT naming the argument', () => {
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (x) {
        const e = x as NetioError;
        return `${e.code} ${(e.details as { argument?: string }).argument}`;
      }
      return 'no error';
    };
    expect(codeOf(() => openTcpRelayEngine({} as TcpRelayHandler))).toBe(
      'NETIO_INVALID_ARGUMENT handler.accepted',
    );
    const { engine } = open();
    expect(codeOf(() => engine.listen('localhost', 1))).toBe('NETIO_INVALID_ARGUMENT host');
    expect(codeOf(() => engine.listen('127.0.0.1', 70000))).toBe('NETIO_INVALID_ARGUMENT port');
    expect(codeOf(() => engine.listen('127.0.0.1', 0, { backlog: 0 }))).toBe(
      'NETIO_INVALID_ARGUMENT options.backlog',
    );
    expect(codeOf(() => engine.connect(0, '127.0.0.1', 1))).toBe('NETIO_INVALID_ARGUMENT conn');
    expect(codeOf(() => engine.connect(1, '127.0.0.1', 0))).toBe('NETIO_INVALID_ARGUMENT port');
    expect(codeOf(() => engine.connect(1, 'node-a', 80))).toBe('NETIO_INVALID_ARGUMENT host');
    expect(codeOf(() => engine.connect(1, '127.0.0.1', 80, { idleTimeoutMs: -1 }))).toBe(
      'NETIO_INVALID_ARGUMENT options.idleTimeoutMs',
    );
    expect(codeOf(() => engine.connect(1, '127.0.0.1', 80, { header: Buffer.alloc(70000) }))).toBe(
      'NETIO_INVALID_ARGUMENT options.header',
    );
    // a connection id nobody accepted: nothing to connect (false), not an error
    expect(engine.connect(12345, '127.0.0.1', 80)).toBe(false);
    expect(engine.reject(12345)).toBe(false);
    expect(engine.destroy(12345)).toBeUndefined();
    expect(engine.closeListener(99)).toBe(false);
  });

  it('turns a port in use into NETIO_SYSTEM with the errno, and keeps working', async () => {
    const host = `${prefix}.1`;
    const taken = await startNode(host);
    const { engine } = open();
    let error: NetioError | undefined;
    try {
      engine.listen(host, taken.port);
    } catch (x) {
      error = x as NetioError;
    }
    expect(error?.code).toBe('NETIO_SYSTEM');
    expect(error?.details).toEqual({
      operation: `listen on ${host} port ${taken.port}`,
      errno: 'EADDRINUSE',
      syscall: 'bind',
    });
    expect(engine.listen(host, 0).port).toBeGreaterThan(0);
    expect(engine.stats()).toMatchObject({ listeners: 1, connections: 0 });
  });

  it('close() is idempotent; afterwards every call throws NETIO_CLOSED', () => {
    const { engine } = open();
    engine.listen(`${prefix}.1`, 0);
    engine.close();
    engine.close();
    expect(engine.closed).toBe(true);
    expect(() => engine.listen(`${prefix}.1`, 0)).toThrow(expect.objectContaining({ code: 'NETIO_CLOSED' }));
    expect(() => engine.stats()).toThrow(expect.objectContaining({ code: 'NETIO_CLOSED' }));
  });
});

describe('relay engine: connections', () => {
  it('relays a request and its answer through both half-closes, in order, with a header first', async () => {
    const node = await startNode(`${prefix}.11`);
    const rec = open();
    rec.route = () => ({ host: `${prefix}.11`, port: node.port, header: Buffer.from('HEADER\r\n') });
    const l = rec.engine.listen(`${prefix}.1`, 0);
    expect(l).toMatchObject({ address: `${prefix}.1` });
    const answer = await exchange(`${prefix}.1`, l.port, Buffer.from('hello'), `${prefix}.100`);
    expect(answer.toString()).toBe('echo:HEADER\r\nhello');
    await until(() => rec.closedInfo.size === 1, 'closed');
    const [a] = rec.accepts;
    expect(a).toMatchObject({ client: `${prefix}.100`, local: `${prefix}.1`, localPort: l.port });
    expect(a?.clientPort).toBe(lastClientPort);
    expect(rec.of(a?.conn as number)).toEqual(['accepted #', 'connected #', 'closed # end']);
    // the header is not counted; the answer is
    expect(rec.closedInfo.get(a?.conn as number)).toEqual({
      reason: 'end',
      bytesToNode: 5,
      bytesToClient: 'echo:HEADER\r\nhello'.length,
    });
    expect(rec.engine.stats()).toMatchObject({ connections: 0, bufferedBytes: 0 });
  });

  it('tells the local address of a wildcard listener, and relays IPv6', async () => {
    const node4 = await startNode(`${prefix}.11`);
    const node6 = await startNode('::1');
    const rec = open();
    rec.route = (conn) =>
      rec.accepts.find((a) => a.conn === conn)?.client === '::1'
        ? { host: '::1', port: node6.port }
        : { host: `${prefix}.11`, port: node4.port };
    const any = rec.engine.listen('0.0.0.0', 0);
    const six = rec.engine.listen('::1', 0);
    expect((await exchange(`${prefix}.7`, any.port, Buffer.from('v4'), `${prefix}.100`)).toString()).toBe(
      'echo:v4',
    );
    expect((await exchange('::1', six.port, Buffer.from('v6'))).toString()).toBe('echo:v6');
    expect(rec.accepts.map((a) => [a.client, a.local, a.localPort])).toEqual([
      [`${prefix}.100`, `${prefix}.7`, any.port],
      ['::1', '::1', six.port],
    ]);
  });

  it('forwards a node half-close while the client keeps sending, and the other way round', async () => {
    const received: string[] = [];
    const early = await startNode(`${prefix}.11`, (s) => {
      s.end('bye early');
      s.on('data', (c: Buffer) => received.push(c.toString()));
      s.on('end', () => received.push('<fin>'));
    });
    const late = await startNode(`${prefix}.12`, (s) => {
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
    });
    const rec = open();
    const l = rec.engine.listen(`${prefix}.1`, 0);
    rec.route = () => ({ host: `${prefix}.11`, port: early.port });
    const c = connect({ host: `${prefix}.1`, port: l.port, allowHalfOpen: true });
    sockets.push(c);
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    await once(c, 'end');
    c.write('still ');
    c.end('talking');
    await once(c, 'close');
    expect(Buffer.concat(got).toString()).toBe('bye early');
    await until(() => received.includes('<fin>'), 'node saw the FIN');
    expect(received.join('')).toBe('still talking<fin>');

    rec.route = () => ({ host: `${prefix}.12`, port: late.port });
    expect((await exchange(`${prefix}.1`, l.port, Buffer.from('request'))).toString()).toBe(
      'part0 part1 part2 part3 part4 done',
    );
  });

  it('reports a refused node with its errno and connects the next choice; the client never notices', async () => {
    const node = await startNode(`${prefix}.12`);
    const rec = open();
    rec.route = (_conn, attempt) =>
      attempt === 1 ? { host: `${prefix}.11`, port: node.port } : { host: `${prefix}.12`, port: node.port };
    const l = rec.engine.listen(`${prefix}.1`, 0);
    expect((await exchange(`${prefix}.1`, l.port, Buffer.from('x'))).toString()).toBe('echo:x');
    await until(() => rec.closedInfo.size === 1, 'closed');
    expect(rec.of(rec.accepts[0]?.conn as number)).toEqual([
      'accepted #',
      'failed # ECONNREFUSED',
      'connected #',
      'closed # end',
    ]);
  });

  it('rejects: the client is closed without an answer and no closed call follows', async () => {
    const rec = open();
    const l = rec.engine.listen(`${prefix}.1`, 0);
    expect((await exchange(`${prefix}.1`, l.port, Buffer.from('x'))).toString()).toBe('');
    await tick();
    expect(rec.log.map((x) => x.replace(/\d+/g, 'N'))).toEqual(['accepted N on N', 'reject N']);
    expect(rec.engine.stats().connections).toBe(0);
  });

  it('times out a node that does not accept, as a connect failure with timedOut', async () => {
    const hole = await blackHole(`${prefix}.11`);
    const node = await startNode(`${prefix}.12`);
    const rec = open();
    rec.options = { connectTimeoutMs: 100 };
    rec.route = (_conn, attempt) =>
      attempt === 1 ? { host: `${prefix}.11`, port: hole } : { host: `${prefix}.12`, port: node.port };
    const l = rec.engine.listen(`${prefix}.1`, 0);
    expect((await exchange(`${prefix}.1`, l.port, Buffer.from('late'))).toString()).toBe('echo:late');
    await until(() => rec.closedInfo.size === 1, 'closed');
    expect(rec.of(rec.accepts[0]?.conn as number)).toEqual([
      'accepted #',
      'failed # ETIMEDOUT timeout',
      'connected #',
      'closed # end',
    ]);
  });

  it('closes a connection idle for idleTimeoutMs: the client sees the FIN, the node the close', async () => {
    const node = await startNode(`${prefix}.11`, quietNode);
    const rec = open();
    rec.options = { idleTimeoutMs: 100 };
    rec.route = () => ({ host: `${prefix}.11`, port: node.port });
    const l = rec.engine.listen(`${prefix}.1`, 0);
    const c = connect({ host: `${prefix}.1`, port: l.port, allowHalfOpen: true });
    sockets.push(c);
    c.on('error', () => undefined);
    c.write('one message, then silence');
    await until(() => node.conns.length === 1, 'node connected');
    const nodeSide = node.conns[0] as Socket;
    await Promise.all([once(c, 'end'), nodeSide.closed ? undefined : once(nodeSide, 'close')]);
    await until(() => rec.closedInfo.size === 1, 'closed');
    expect(rec.of(rec.accepts[0]?.conn as number)).toEqual(['accepted #', 'connected #', 'closed # idle']);
    expect(rec.closedInfo.get(rec.accepts[0]?.conn as number)).toMatchObject({
      bytesToNode: 25,
      bytesToClient: 0,
    });
  });

  it('reports a client reset as an error of the client side and closes the node side', async () => {
    const node = await startNode(`${prefix}.11`, quietNode);
    const rec = open();
    rec.route = () => ({ host: `${prefix}.11`, port: node.port });
    const l = rec.engine.listen(`${prefix}.1`, 0);
    const c = connect({ host: `${prefix}.1`, port: l.port });
    c.on('error', () => undefined);
    await once(c, 'connect');
    c.write('x');
    await until(() => node.conns.length === 1, 'node connected');
    const nodeSide = node.conns[0] as Socket;
    c.resetAndDestroy();
    if (!nodeSide.closed) await once(nodeSide, 'close');
    await until(() => rec.closedInfo.size === 1, 'closed');
    expect(rec.of(rec.accepts[0]?.conn as number)).toEqual([
      'accepted #',
      'connected #',
      'closed # error client ECONNRESET',
    ]);
  });

  it('destroy closes both sides at once and returns the bytes; no closed call follows', async () => {
    const node = await startNode(`${prefix}.11`, (s) => s.on('data', () => s.write('pong')));
    const rec = open();
    rec.route = () => ({ host: `${prefix}.11`, port: node.port });
    const l = rec.engine.listen(`${prefix}.1`, 0);
    const c = connect({ host: `${prefix}.1`, port: l.port });
    sockets.push(c);
    c.on('error', () => undefined);
    c.write('ping');
    await once(c, 'data');
    const conn = rec.accepts[0]?.conn as number;
    expect(rec.engine.bytes()).toEqual(new Map([[conn, { bytesToNode: 4, bytesToClient: 4 }]]));
    const ended = once(c, 'end');
    expect(rec.engine.destroy(conn)).toEqual({ bytesToNode: 4, bytesToClient: 4 });
    await ended;
    await tick();
    expect(rec.of(conn)).toEqual(['accepted #', 'connected #']);
    expect(rec.engine.stats()).toMatchObject({ connections: 0 });
  });
});

describe('relay engine: bulk data', () => {
  it('moves 24 MiB each way (splice), intact and counted, then returns its pipes to the pool', async () => {
    const up = randomBytes(24 * 1024 * 1024);
    const node = await startNode(`${prefix}.11`, undefined, (got) =>
      Buffer.concat([got.subarray(12), got.subarray(0, 12)]),
    );
    const rec = open();
    rec.route = () => ({ host: `${prefix}.11`, port: node.port });
    const l = rec.engine.listen(`${prefix}.1`, 0);
    let splicing = 0;
    const watch = setInterval(() => {
      splicing = Math.max(splicing, rec.engine.stats().splicing);
    }, 2);
    const answer = await exchange(`${prefix}.1`, l.port, up, undefined, 50);
    clearInterval(watch);
    expect(sha(answer)).toBe(sha(Buffer.concat([up.subarray(12), up.subarray(0, 12)])));
    await until(() => rec.closedInfo.size === 1, 'closed');
    expect(rec.closedInfo.get(rec.accepts[0]?.conn as number)).toEqual({
      reason: 'end',
      bytesToNode: up.length,
      bytesToClient: up.length,
    });
    expect(splicing).toBeGreaterThanOrEqual(1);
    expect(rec.engine.stats()).toMatchObject({
      connections: 0,
      bufferedBytes: 0,
      splicing: 0,
      pooledPipes: 2,
    });
  });

  it('holds little when the receiver does not read: the sender ends up blocked (backpressure), then all arrives', async () => {
    const total = 40 * 1024 * 1024;
    let nodeSocket: Socket | undefined;
    const hash = createHash('sha256');
    let received = 0;
    const node = await startNode(`${prefix}.11`, (s) => {
      nodeSocket = s;
      s.pause(); // a node that does not read yet
      s.on('data', (c: Buffer) => {
        hash.update(c);
        received += c.length;
      });
      s.on('end', () => s.end(String(received)));
    });
    const rec = open();
    rec.route = () => ({ host: `${prefix}.11`, port: node.port });
    const l = rec.engine.listen(`${prefix}.1`, 0);
    const c = connect({ host: `${prefix}.1`, port: l.port, allowHalfOpen: true });
    sockets.push(c);
    const chunk = randomBytes(64 * 1024);
    const expected = createHash('sha256');
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        expected.update(chunk);
        if (!c.write(chunk)) return void c.once('drain', pump);
      }
      c.end();
    };
    const answer: Buffer[] = [];
    c.on('data', (d: Buffer) => answer.push(d));
    await once(c, 'connect');
    pump();
    await until(() => nodeSocket !== undefined, 'node connected');
    let stable = 0;
    let last = -1;
    let maxHeld = 0;
    await until(
      () => {
        maxHeld = Math.max(maxHeld, rec.engine.stats().bufferedBytes);
        stable = sent === last ? stable + 1 : 0;
        last = sent;
        return stable >= 20;
      },
      'the client is blocked',
      10,
    );
    expect(sent).toBeLessThan(total);
    const timer = setInterval(() => {
      maxHeld = Math.max(maxHeld, rec.engine.stats().bufferedBytes);
    }, 2);
    nodeSocket?.resume();
    await once(c, 'close');
    clearInterval(timer);
    expect(Buffer.concat(answer).toString()).toBe(String(total));
    expect(hash.digest('hex')).toBe(expected.digest('hex'));
    expect(maxHeld).toBeLessThanOrEqual(1024 * 1024);
  });

  it('property: any split of the bytes each way, either side closing first, arrives intact and counted', async () => {
    const rec = open();
    const l = rec.engine.listen(`${prefix}.1`, 0);
    let plan = { down: [] as number[], nodeFirst: false };
    const node = await startNode(`${prefix}.11`, (s) => {
      const got: Buffer[] = [];
      const send = () => {
        for (const n of plan.down) s.write(Buffer.alloc(n, n & 0xff));
        s.end();
      };
      if (plan.nodeFirst) send();
      s.on('data', (c: Buffer) => got.push(c));
      s.on('end', () => {
        (s as Socket & { got?: Buffer }).got = Buffer.concat(got);
        if (!plan.nodeFirst) send();
      });
    });
    rec.route = () => ({ host: `${prefix}.11`, port: node.port });
    const size = fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 16 * 1024, max: 300 * 1024 }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(size, { maxLength: 6 }),
        fc.array(size, { maxLength: 6 }),
        fc.boolean(),
        async (upSizes, downSizes, nodeFirst) => {
          plan = { down: downSizes, nodeFirst };
          const up = Buffer.concat(upSizes.map((n) => randomBytes(n)));
          const before = rec.closedInfo.size;
          const answer = await exchange(`${prefix}.1`, l.port, up, undefined, upSizes.length || 1);
          const want = Buffer.concat(downSizes.map((n) => Buffer.alloc(n, n & 0xff)));
          expect(sha(answer)).toBe(sha(want));
          const nodeGot = () => (node.conns.at(-1) as Socket & { got?: Buffer }).got;
          await until(() => rec.closedInfo.size === before + 1 && nodeGot() !== undefined, 'closed');
          expect(sha(nodeGot() as Buffer)).toBe(sha(up));
          const conn = rec.accepts.at(-1)?.conn as number;
          expect(rec.closedInfo.get(conn)).toEqual({
            reason: 'end',
            bytesToNode: up.length,
            bytesToClient: want.length,
          });
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('relay engine: resources', () => {
  it('leaves no file descriptor behind: 600 connections (answered, bulk, refused, rejected, reset, destroyed) and close()', async () => {
    const node = await startNode(`${prefix}.11`, undefined, (got) =>
      got.length > 10 ? Buffer.concat([got, got]) : Buffer.from('ok'),
    );
    const silent = await startNode(`${prefix}.12`, (s) => s.on('data', () => undefined));
    await tick();
    const before = fdCount();
    const rec = open();
    rec.options = { connectTimeoutMs: 2000, idleTimeoutMs: 60_000 };
    rec.route = (conn, attempt) => {
      const k = rec.accepts.findIndex((a) => a.conn === conn);
      if (k % 6 === 2 && attempt === 1) return { host: `${prefix}.13`, port: node.port }; // refused first
      if (k % 6 === 3) return undefined; // rejected
      if (k % 6 === 5) return { host: `${prefix}.12`, port: silent.port }; // destroyed below
      return { host: `${prefix}.11`, port: node.port };
    };
    const l = rec.engine.listen(`${prefix}.1`, 0);
    const bulk = randomBytes(300 * 1024);
    const runs: Promise<unknown>[] = [];
    for (let k = 0; k < 600; k++) {
      if (k % 6 === 5 || k % 6 === 4) {
        const c = connect({ host: `${prefix}.1`, port: l.port });
        c.on('error', () => undefined);
        runs.push(
          (async () => {
            await once(c, 'connect');
            c.write('x');
            await until(
              () => rec.log.some((x) => x.startsWith(`connected ${rec.accepts[k]?.conn}`)),
              'connected',
            );
            if (k % 6 === 4) {
              c.resetAndDestroy();
            } else {
              rec.engine.destroy(rec.accepts[k]?.conn as number);
              c.destroy();
            }
          })(),
        );
      } else runs.push(exchange(`${prefix}.1`, l.port, k % 6 === 1 ? bulk : Buffer.from('small')));
      if (k % 20 === 19) await Promise.all(runs.splice(0));
    }
    await Promise.all(runs);
    await until(() => rec.engine.stats().connections === 0, 'all closed');
    expect(rec.engine.stats().pooledPipes).toBeGreaterThan(0);
    rec.engine.close();
    for (const s of sockets) s.destroy();
    for (const n of [node, silent]) for (const s of n.conns) s.destroy();
    await until(() => fdCount() === before, `fd count back to ${before} (is ${fdCount()})`, 10);
    expect(fdCount()).toBe(before);
  });

  it('keeps the process alive while it listens or relays, and not after (a child process)', async () => {
    const script = join(import.meta.dirname, 'fixtures', 'relay-engine-alive.ts');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [...sourceNodeArgs(script), `${prefix}.1`],
      {
        cwd: join(import.meta.dirname, '..'),
        timeout: 20_000,
      },
    );
    expect(stdout).toBe('alive\nexited\n');
  });
});

/** A listener whose accept queue is full in a child process that never accepts: connects to it hang. */
async function blackHole(host: string): Promise<number> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('node:net').createServer();
       s.listen({ host: ${JSON.stringify(host)}, port: 0, backlog: 1 }, () => {
         process.stdout.write(s.address().port + '\\n');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
       });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`black hole exited ${code}`)));
  });
  let connected = 0;
  for (let i = 0; i < 8; i++) {
    const s = connect({ host, port });
    s.on('error', () => undefined);
    s.on('connect', () => connected++);
    sockets.push(s);
  }
  await until(() => connected >= 2, 'accept queue filled');
  return port;
}

import * as net from 'node:net';
import * as tls from 'node:tls';
import { type Clock, MemoryLogger, systemClock } from '@proxyha/common';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type CmEnvelope,
  encodeCmFrame,
  encodeCmMessage,
  MessageDecoder,
  MessageRegistry,
} from '../src/codec/index';
import type { CmError } from '../src/errors';
import {
  type CertificateAndKey,
  createClusterCa,
  issueNodeCertificate,
  type NodeTlsIdentity,
} from '../src/identity/index';
import type { NodeIdentity } from '../src/machine/types';
import {
  CmServer,
  type CmServerOptions,
  type ConnectPeerOptions,
  connectPeer,
  formatNodeRequestFailed,
  type PeerConnection,
} from '../src/transport/index';

const A: NodeIdentity = {
  uuid: '11111111-1111-4111-8111-111111111111',
  name: 'gw-a',
  priority: 1,
  version: '0.1.0',
};
const B: NodeIdentity = {
  uuid: '22222222-2222-4222-8222-222222222222',
  name: 'gw-b',
  priority: 2,
  version: '0.1.0',
};
const C: NodeIdentity = {
  uuid: '33333333-3333-4333-8333-333333333333',
  name: 'gw-c',
  priority: 3,
  version: '0.1.0',
};

interface Pki {
  ca: CertificateAndKey;
  a: NodeTlsIdentity;
  b: NodeTlsIdentity;
  c: NodeTlsIdentity;
}

async function pki(algorithm: 'P-256' | 'Ed25519', name: string): Promise<Pki> {
  const ca = await createClusterCa({ algorithm, name });
  const issue = async (n: NodeIdentity, ip: string): Promise<NodeTlsIdentity> => ({
    caPems: [ca.certPem],
    ...(await issueNodeCertificate({ ca, node: n, addresses: [ip, 'localhost'] })),
  });
  return {
    ca,
    a: await issue(A, '127.0.0.1'),
    b: await issue(B, '127.0.0.2'),
    c: await issue(C, '127.0.0.3'),
  };
}

const registry = () => new MessageRegistry().register('push');

let p256: Pki;
let ed: Pki;
let foreign: Pki;
beforeAll(async () => {
  [p256, ed, foreign] = await Promise.all([
    pki('P-256', 'Cluster CA one'),
    pki('Ed25519', 'Cluster CA two'),
    pki('P-256', 'Other CA'),
  ]);
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

interface Started {
  server: CmServer;
  port: number;
  log: MemoryLogger;
  peers: PeerConnection[];
}

async function startServer(
  identity: NodeTlsIdentity,
  extra: Partial<CmServerOptions> = {},
): Promise<Started> {
  const log = new MemoryLogger();
  const peers: PeerConnection[] = [];
  const server = new CmServer({
    identity,
    node: A,
    addresses: ['127.0.0.1'],
    host: '127.0.0.1',
    port: 0,
    registry: registry(),
    logger: log,
    onPeer: (c) => peers.push(c),
    ...extra,
  });
  const { port } = await server.listen();
  cleanups.push(() => server.close());
  return { server, port, log, peers };
}

async function connect(port: number, identity: NodeTlsIdentity, extra: Partial<ConnectPeerOptions> = {}) {
  const log = new MemoryLogger();
  const conn = await connectPeer(`127.0.0.1:${port}`, {
    identity,
    node: B,
    addresses: ['127.0.0.2'],
    localAddress: '127.0.0.2',
    registry: registry(),
    logger: log,
    ...extra,
  });
  cleanups.push(() => conn.close());
  return { conn, log };
}

async function refused(p: Promise<unknown>): Promise<CmError> {
  try {
    await p;
  } catch (e) {
    return e as CmError;
  }
  throw new Error('expected a rejection');
}

function nextMessage(conn: PeerConnection): Promise<CmEnvelope> {
  return new Promise((resolve) => {
    const off = conn.onMessage((m) => {
      off();
      resolve(m);
    });
  });
}

/** A raw TLS client with a valid certificate, for speaking bytes the real client never sends. */
async function rawClient(port: number, identity: NodeTlsIdentity) {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    key: identity.keyPem,
    cert: identity.certPem,
    ca: [...identity.caPems],
    minVersion: 'TLSv1.3',
    checkServerIdentity: () => undefined,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const decoder = new MessageDecoder({ registry: registry() });
  const received: CmEnvelope[] = [];
  let closed = false;
  socket.on('data', (d: Buffer) => received.push(...decoder.push(d).messages));
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  cleanups.push(() => {
    socket.destroy();
  });
  const helloFrame = (node: NodeIdentity = B, clock = Date.now()) =>
    encodeCmMessage({ type: 'hello', clock, body: { protocol: 1, node, addresses: [] } });
  return { socket, received, isClosed: () => closed, helloFrame };
}

describe('mutual TLS and the hello exchange', () => {
  it.each([
    ['P-256', () => p256],
    ['Ed25519', () => ed],
  ])('connects with %s certificates and carries messages both ways', async (_alg, get) => {
    const k = get();
    const s = await startServer(k.a);
    const { conn, log } = await connect(s.port, k.b, { expectedUuid: A.uuid, expectedName: A.name });
    expect(conn.role).toBe('client');
    expect(conn.peer.node).toEqual(A);
    expect(conn.peer.certificate.uuid).toBe(A.uuid);
    expect(conn.peer.addresses).toEqual(['127.0.0.1']);
    // the hello carried the server's clock (the 405 refusals of a shifted clock are tested below)
    expect(Number.isFinite(conn.peer.clockOffsetMs)).toBe(true);
    await vi.waitFor(() => expect(s.peers).toHaveLength(1));
    const server = s.peers[0] as PeerConnection;
    expect(server.role).toBe('server');
    expect(server.peer.node).toEqual(B);
    expect(server.peer.remoteAddress).toBe('127.0.0.2');
    expect(s.server.connections).toHaveLength(1);

    const atServer = nextMessage(server);
    await conn.send({ type: 'push', id: 'r1', body: { hello: 'world' } });
    expect(await atServer).toMatchObject({ type: 'push', id: 'r1', body: { hello: 'world' } });
    const atClient = nextMessage(conn);
    await server.send({ type: 'push', body: { n: 1 } });
    expect((await atClient).body).toEqual({ n: 1 });
    expect(log.lines('error')).toEqual([]);

    conn.close();
    expect(await server.closed).toBeUndefined();
    expect(await conn.closed).toBeUndefined();
    await expect(conn.send({ type: 'push', body: {} })).rejects.toMatchObject({ code: 'CM_CANNOT_CONNECT' });
  });

  it('keeps messages that arrive before the first listener', async () => {
    const s = await startServer(p256.a);
    const { conn } = await connect(s.port, p256.b);
    await vi.waitFor(() => expect(s.peers).toHaveLength(1));
    const server = s.peers[0] as PeerConnection;
    await conn.send({ type: 'push', body: { i: 1 } });
    await conn.send({ type: 'push', body: { i: 2 } });
    await vi.waitFor(() => expect(server.bufferedBytes).toBe(0));
    await new Promise((r) => setTimeout(r, 50));
    const got: unknown[] = [];
    server.onMessage((m) => got.push(m.body));
    await vi.waitFor(() => expect(got).toEqual([{ i: 1 }, { i: 2 }]));
    await expect(conn.send({ type: 'hello', body: {} })).rejects.toMatchObject({
      code: 'CM_INVALID_ARGUMENT',
    });
  });

  it('refuses a client whose certificate comes from another CA on both sides (301, ssl failure logged)', async () => {
    const s = await startServer(p256.a);
    const clientIdentity = { ...foreign.b, caPems: [p256.ca.certPem] };
    const log = new MemoryLogger();
    const e = await refused(
      connectPeer(`127.0.0.1:${s.port}`, {
        identity: clientIdentity,
        node: B,
        logger: log,
        expectedUuid: A.uuid,
        expectedName: A.name,
      }),
    );
    expect(e.code).toBe('CM_CANNOT_CONNECT');
    expect(e.details).toMatchObject({ wire: 301, reason: 'certificate' });
    const line = log.lines('error')[0] ?? '';
    expect(line).toMatch(
      /^\[Coordinator\] \[NodeRequestFailed\] Message '<hello>' on node 11111111-1111-4111-8111-111111111111 \(gw-a\) failed with error '\(301 - 'cannot connect'\) - "hello: ssl failure on message socket .* last action: certificate verification/,
    );
    await vi.waitFor(() =>
      expect(s.log.lines('error').join('\n')).toMatch(
        /\[SslFailure\] ssl failure on message socket from 127\.0\.0\.1:\d+ while receiving request - last action: certificate verification - 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'/,
      ),
    );
    expect(s.peers).toHaveLength(0);
  });

  it('refuses a server whose certificate comes from another CA; the server logs the ssl failure', async () => {
    const s = await startServer({ ...foreign.a, caPems: [p256.ca.certPem, foreign.ca.certPem] });
    const log = new MemoryLogger();
    const e = await refused(
      connectPeer({ host: '127.0.0.1', port: s.port }, { identity: p256.b, node: B, logger: log }),
    );
    expect(e.code).toBe('CM_CANNOT_CONNECT');
    expect(e.details).toMatchObject({ reason: 'certificate' });
    expect((e.cause as CmError).code).toBe('CM_CERTIFICATE');
    expect(log.lines('error')[0]).toContain(
      `on node 127.0.0.1:${s.port} (127.0.0.1:${s.port}) failed with error '(301 - 'cannot connect') - "hello: ssl failure on message socket while sending request - last action: certificate verification`,
    );
    await vi.waitFor(() =>
      expect(s.log.lines('warn').join('\n')).toMatch(
        /ssl failure on message socket from 127\.0\.0\.1:\d+ .*certificate verification/,
      ),
    );
  });

  it('refuses a peer whose certificate names another UUID than expected', async () => {
    const s = await startServer(p256.a);
    const log = new MemoryLogger();
    const e = await refused(
      connectPeer(`127.0.0.1:${s.port}`, {
        identity: p256.b,
        node: B,
        logger: log,
        expectedUuid: C.uuid,
        expectedName: 'gw-c',
      }),
    );
    expect(e.code).toBe('CM_CANNOT_CONNECT');
    expect(e.details).toMatchObject({ reason: 'identity', certificateUuid: A.uuid });
    expect(log.lines('error')[0]).toContain(
      `on node ${C.uuid} (gw-c) failed with error '(301 - 'cannot connect')`,
    );
  });

  it('refuses a hello whose UUID is not its certificate’s, and one meant for another node', async () => {
    const s = await startServer(p256.a);
    const raw = await rawClient(s.port, p256.b);
    raw.socket.write(raw.helloFrame(C));
    await vi.waitFor(() => expect(raw.isClosed()).toBe(true));
    expect(raw.received[0]).toMatchObject({ type: 'error', body: { code: 403, text: 'identity mismatch' } });
    const other = await rawClient(s.port, p256.b);
    other.socket.write(
      encodeCmMessage({
        type: 'hello',
        clock: Date.now(),
        body: { protocol: 1, node: B, addresses: [], to: C.uuid },
      }),
    );
    await vi.waitFor(() => expect(other.isClosed()).toBe(true));
    expect(other.received[0]).toMatchObject({ type: 'error', body: { code: 403 } });
    expect(s.peers).toHaveLength(0);
    expect(s.log.lines('warn').join('\n')).toContain(
      `[IncomingRequestRefused] Message '<hello>' from node ${B.uuid} (gw-b)`,
    );
  });

  it('refuses a peer whose clock is too far off with 405 on both sides', async () => {
    const s = await startServer(p256.a, { maxClockSkewMs: 60_000 });
    const ahead: Clock = { ...systemClock, wallTime: () => systemClock.wallTime() + 3_600_000 };
    const log = new MemoryLogger();
    const e = await refused(
      connectPeer(`127.0.0.1:${s.port}`, {
        identity: p256.b,
        node: B,
        clock: ahead,
        logger: log,
        expectedUuid: A.uuid,
        expectedName: A.name,
      }),
    );
    expect(e.code).toBe('CM_TIME_DIFFERENCE_TOO_HIGH');
    expect(e.details).toMatchObject({ wire: 405 });
    expect(log.lines('error')[0]).toMatch(
      /^\[Coordinator\] \[NodeRequestFailed\] Message '<hello>' on node 11111111-1111-4111-8111-111111111111 \(gw-a\) failed with error '\(405 - 'time difference too high'\) - "hello: the clock of node 22222222-2222-4222-8222-222222222222 \(gw-b\) is 3600\.\d s ahead of this node's \(limit 60\.0 s\)"'$/,
    );
    await vi.waitFor(() =>
      expect(s.log.lines('warn').join('\n')).toContain(
        "refused with error '(405 - 'time difference too high')",
      ),
    );
    expect(s.peers).toHaveLength(0);
  });

  it('refuses an incompatible protocol version with CM_INCOMPATIBLE_VERSION', async () => {
    const s = await startServer(p256.a);
    const e = await refused(
      connectPeer(`127.0.0.1:${s.port}`, { identity: p256.b, node: B, protocols: [2] }),
    );
    expect(e.code).toBe('CM_INCOMPATIBLE_VERSION');
    expect(s.peers).toHaveLength(0);
  });

  it('lets the application refuse a peer (acceptPeer)', async () => {
    const { CmError } = await import('../src/errors');
    const s = await startServer(p256.a, {
      acceptPeer: (p) =>
        p.node.version === '0.1.0'
          ? new CmError('CM_INCOMPATIBLE_VERSION', `version ${p.node.version} is too old`)
          : undefined,
    });
    const e = await refused(connectPeer(`127.0.0.1:${s.port}`, { identity: p256.b, node: B }));
    expect(e.code).toBe('CM_INCOMPATIBLE_VERSION');
    expect(e.message).toContain('too old');
  });

  it('maps ECONNREFUSED to 301 with errno 111 and logs the seed line exactly', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const log = new MemoryLogger();
    const e = await refused(
      connectPeer(`127.0.0.1:${port}`, {
        identity: p256.b,
        node: B,
        logger: log,
        expectedUuid: '564dad79-a7bb-bcc2-55c0-58383c9557c7',
        expectedName: 'mwg75-2',
        messageName: 'co_distribute_add_cluster_node',
      }),
    );
    expect(e.code).toBe('CM_CANNOT_CONNECT');
    expect(e.details).toMatchObject({ wire: 301, reason: 'refused', errno: 'ECONNREFUSED' });
    expect(log.lines()).toEqual([
      `[Coordinator] [NodeRequestFailed] Message '<co_distribute_add_cluster_node>' on node 564dad79-a7bb-bcc2-55c0-58383c9557c7 (mwg75-2) failed with error '(301 - 'cannot connect') - "co_distribute_add_cluster_node: failure 'errno: 111 - 'Connection refused'' while sending request - last action: connect"'`,
    ]);
  });

  it('rotates the trusted CAs and the certificate with setSecureContext', async () => {
    // server: CA one only; a node of CA two is refused
    const s = await startServer(p256.a);
    const twoClient = { ...ed.b, caPems: [p256.ca.certPem, ed.ca.certPem] };
    expect((await refused(connectPeer(`127.0.0.1:${s.port}`, { identity: twoClient, node: B }))).code).toBe(
      'CM_CANNOT_CONNECT',
    );
    // trust both CAs: both nodes get in
    s.server.setSecureContext({ ...p256.a, caPems: [p256.ca.certPem, ed.ca.certPem] });
    const one = await connect(s.port, p256.b);
    const two = await connect(s.port, twoClient);
    expect(one.conn.peer.node.uuid).toBe(A.uuid);
    expect(two.conn.peer.node.uuid).toBe(A.uuid);
    // move to CA two entirely: the CA-one client is refused, open connections stay
    s.server.setSecureContext({ ...ed.a, caPems: [ed.ca.certPem] });
    expect((await refused(connectPeer(`127.0.0.1:${s.port}`, { identity: p256.b, node: B }))).code).toBe(
      'CM_CANNOT_CONNECT',
    );
    const again = await connect(s.port, { ...ed.b, caPems: [ed.ca.certPem] });
    expect(again.conn.peer.certificate.uuid).toBe(A.uuid);
    expect(one.conn.state).toBe('open');
    // an identity for another node is refused
    expect(() => s.server.setSecureContext(p256.b)).toThrow(
      expect.objectContaining({ code: 'CM_CERTIFICATE' }),
    );
  });
});

describe('bad peers', () => {
  it('reads frames split across chunks, byte by byte', async () => {
    const s = await startServer(p256.a);
    const raw = await rawClient(s.port, p256.b);
    const bytes = Buffer.concat([
      raw.helloFrame(),
      encodeCmMessage({ type: 'push', clock: Date.now(), body: { x: 'y'.repeat(300) } }),
    ]);
    for (let i = 0; i < bytes.length; i += 7) {
      raw.socket.write(bytes.subarray(i, i + 7));
      await new Promise((r) => setImmediate(r));
    }
    await vi.waitFor(() => expect(s.peers).toHaveLength(1));
    expect(raw.received[0]?.type).toBe('hello-ack');
    const got = await nextMessage(s.peers[0] as PeerConnection);
    expect(got.body).toEqual({ x: 'y'.repeat(300) });
  });

  it('closes a connection with an oversized frame or garbage and keeps serving others', async () => {
    const s = await startServer(p256.a, { maxFrameBytes: 1024 });
    const good = await connect(s.port, p256.c, { node: C, localAddress: '127.0.0.3' });

    const big = await rawClient(s.port, p256.b);
    big.socket.write(big.helloFrame());
    await vi.waitFor(() => expect(big.received[0]?.type).toBe('hello-ack'));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(1_000_000);
    big.socket.write(head);
    await vi.waitFor(() => expect(big.isClosed()).toBe(true));
    expect(big.received[1]).toMatchObject({ type: 'error', body: { code: 413 } });

    const junk = await rawClient(s.port, p256.b);
    junk.socket.write(junk.helloFrame());
    await vi.waitFor(() => expect(junk.received[0]?.type).toBe('hello-ack'));
    junk.socket.write(encodeCmFrame(Buffer.from('{"type":"launch-missiles","clock":1,"body":{}}')));
    await vi.waitFor(() => expect(junk.isClosed()).toBe(true));
    expect(junk.received[1]).toMatchObject({ type: 'error', body: { code: 400, text: 'bad message' } });

    const text = await rawClient(s.port, p256.b);
    text.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await vi.waitFor(() => expect(text.isClosed()).toBe(true));

    const closes = await Promise.all(s.peers.filter((p) => p.peer.node.uuid === B.uuid).map((p) => p.closed));
    expect(closes.map((e) => e?.code).sort()).toEqual(['CM_BAD_FRAME', 'CM_BAD_MESSAGE']);
    expect(s.log.lines('warn').join('\n')).toContain('[BadPeerMessage]');

    // the good peer is still served, and new peers get in
    const server = s.peers.find((p) => p.peer.node.uuid === C.uuid) as PeerConnection;
    const got = nextMessage(server);
    await good.conn.send({ type: 'push', body: { still: 'here' } });
    expect((await got).body).toEqual({ still: 'here' });
    await connect(s.port, p256.b);
  });

  it('drops a peer that stalls mid-frame, and one that never says hello', async () => {
    const s = await startServer(p256.a, { stallTimeoutMs: 200, handshakeTimeoutMs: 300 });
    const raw = await rawClient(s.port, p256.b);
    raw.socket.write(raw.helloFrame());
    await vi.waitFor(() => expect(s.peers).toHaveLength(1));
    const frame = encodeCmMessage({ type: 'push', clock: Date.now(), body: { big: 'z'.repeat(1000) } });
    raw.socket.write(frame.subarray(0, 100));
    const e = await (s.peers[0] as PeerConnection).closed;
    expect(e?.code).toBe('CM_CANNOT_CONNECT');
    expect(e?.details).toMatchObject({ reason: 'stalled', wire: 301 });
    await vi.waitFor(() => expect(raw.isClosed()).toBe(true));
    expect(raw.received.at(-1)).toMatchObject({ type: 'error', body: { code: 301 } });
    expect(s.log.lines('warn').join('\n')).toContain('[PeerStalled]');

    const mute = await rawClient(s.port, p256.b);
    await vi.waitFor(() => expect(mute.isClosed()).toBe(true));
    expect(mute.received.at(-1)).toMatchObject({ type: 'error', body: { code: 301 } });
    expect(s.log.lines('warn').join('\n')).toContain('closed before its hello');
  });

  it('drops a peer that stops reading (send waits for the drain, then fails)', async () => {
    const s = await startServer(p256.a, { stallTimeoutMs: 300 });
    const raw = await rawClient(s.port, p256.b);
    raw.socket.write(raw.helloFrame());
    await vi.waitFor(() => expect(s.peers).toHaveLength(1));
    raw.socket.pause();
    const server = s.peers[0] as PeerConnection;
    const body = { blob: 'q'.repeat(1 << 20) };
    let pending: Promise<void> | undefined;
    for (let i = 0; i < 200 && pending === undefined; i++) {
      const p = server.send({ type: 'push', body });
      const settled = await Promise.race([
        p.then(() => true),
        new Promise((r) => setTimeout(() => r(false), 20)),
      ]);
      if (!settled) pending = p;
    }
    expect(pending).toBeDefined();
    expect(server.bufferedBytes).toBeGreaterThan(0);
    await expect(pending).rejects.toMatchObject({ code: 'CM_CANNOT_CONNECT' });
    expect((await server.closed)?.details).toMatchObject({ reason: 'stalled' });
  });

  it('drops an idle peer that does not answer pings; live peers keep each other alive', async () => {
    const s = await startServer(p256.a, { idleTimeoutMs: 300, keepaliveMs: 100 });
    const live = await connect(s.port, p256.c, {
      node: C,
      localAddress: '127.0.0.3',
      idleTimeoutMs: 300,
      keepaliveMs: 100,
    });
    const raw = await rawClient(s.port, p256.b);
    raw.socket.write(raw.helloFrame());
    await vi.waitFor(() => expect(s.peers).toHaveLength(2));
    const rawPeer = s.peers.find((p) => p.peer.node.uuid === B.uuid) as PeerConnection;
    raw.socket.pause();
    const e = await rawPeer.closed;
    expect(e?.details).toMatchObject({ reason: 'idle' });
    expect(live.conn.state).toBe('open');
  });

  it('refuses a second hello after the handshake', async () => {
    const s = await startServer(p256.a);
    const raw = await rawClient(s.port, p256.b);
    raw.socket.write(Buffer.concat([raw.helloFrame(), raw.helloFrame()]));
    await vi.waitFor(() => expect(raw.isClosed()).toBe(true));
    expect(raw.received.map((m) => m.type)).toEqual(['hello-ack', 'error']);
  });
});

describe('formatNodeRequestFailed', () => {
  it('yields the seed line for 301 and 405', () => {
    expect(
      formatNodeRequestFailed({
        message: 'co_distribute_shared_data_raw',
        uuid: '564DAD79-A7BB-BCC2-55C0-58383C9557C7',
        name: 'mwg75-2',
        code: 301,
        detail:
          "co_distribute_shared_data_raw: failure 'errno: 107 - 'Transport endpoint is not connected'' while sending request - last action: connect",
      }),
    ).toBe(
      `[Coordinator] [NodeRequestFailed] Message '<co_distribute_shared_data_raw>' on node 564DAD79-A7BB-BCC2-55C0-58383C9557C7 (mwg75-2) failed with error '(301 - 'cannot connect') - "co_distribute_shared_data_raw: failure 'errno: 107 - 'Transport endpoint is not connected'' while sending request - last action: connect"'`,
    );
    expect(formatNodeRequestFailed({ message: 'hello', uuid: A.uuid, name: 'gw-a', code: 405 })).toBe(
      `[Coordinator] [NodeRequestFailed] Message '<hello>' on node ${A.uuid} (gw-a) failed with error '(405 - 'time difference too high')'`,
    );
  });
});

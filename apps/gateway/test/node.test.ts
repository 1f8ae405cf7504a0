// The gateway node itself (GatewayNode): every part started and wired together, without root. VRRP runs
// over the loopback transport and the director's messages over UDP on loopback, the data plane is the
// relay, central management speaks mutual TLS; every node has its own 127.x address in a /24 of 127/8 that
// no other test uses. The proxies' health is a fake prober the test switches, the time-skew check a fake
// that returns the verdict the test wants. Every wait polls for an outcome (generous limit); nothing asserts
// how long anything took.
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClusterCa, writeClusterCa } from '@proxyha/cm-coordinator';
import { MemoryLogger, ProxyhaError } from '@proxyha/common';
import type { Prober } from '@proxyha/health-mon';
import type { SkewReport } from '@proxyha/ntp-check';
import { afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { parseGatewayConfig } from '../src/config/config';
import type { GatewayConfig } from '../src/config/types';
import { GatewayNode, type GatewayNodeOptions } from '../src/node/node';
import type { SkewCheck } from '../src/node/ntp-guard';
import type { GatewayStatus } from '../src/node/types';
import type { Doc } from './helpers';

// a /24 of 127/8 of this test file: 127.<150..199>.<pid>.x (the demo test takes 127.<200..249>; run.test.ts
// takes the hosts .130 to .199). Each test takes ten hosts of its own below .130 (nodes at .N1, .N2, the VIP
// at .N9); the clients are .200 to .211
const NET = `127.${150 + (process.pid % 50)}.${process.pid % 250}`;
const ip = (host: number): string => `${NET}.${host}`;
// a test waits for several outcomes, each within its own limit (see until)
vi.setConfig({ testTimeout: 60_000 });
const PROXY_PORT = 3128;
const VRRP_PORT = 5112; // vrrpd's loopback transport
const LB_PORT = 5253; // the director protocol on loopback
const CM_PORT = 12346;
const MANAGEMENT_PORT = 8443;

/** Polls `fn` until it holds; fails naming `what` (and the last thrown error) after `ms`. */
async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for: ${what}${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The error `fn` throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): ProxyhaError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProxyhaError);
    return e as ProxyhaError;
  }
  throw new Error('it did not throw');
}

/** The error a promise rejects with. */
async function rejected(p: Promise<unknown>): Promise<ProxyhaError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ProxyhaError);
    return e as ProxyhaError;
  }
  throw new Error('it did not reject');
}

/** A time-skew report with `verdict` and `offsetMs`, as `checkSkew` would make it. */
function skew(verdict: 'ok' | 'warn' | 'fail', offsetMs: number): SkewReport {
  const message =
    verdict === 'fail'
      ? `time difference too high: offset ${offsetMs} ms exceeds max 1000 ms`
      : verdict === 'warn'
        ? `offset ${offsetMs} ms is near the limit of 1000 ms`
        : `offset ${offsetMs} ms within 1000 ms`;
  return {
    verdict,
    panic: false,
    offsetMs,
    rootDistanceMs: 1,
    jitterMs: 0,
    reasons: [
      {
        level: verdict,
        code:
          verdict === 'fail'
            ? 'NTP_TIME_DIFFERENCE_TOO_HIGH'
            : verdict === 'warn'
              ? 'NTP_OFFSET_NEAR_LIMIT'
              : 'NTP_OK',
        message,
      },
    ],
    servers: [],
    truechimers: [],
    falsetickers: [],
    rejected: [],
    limits: { maxOffsetMs: 1000, warnOffsetMs: 500, panicThresholdMs: 1_000_000 },
  };
}

/** How a test node is made. */
interface NodeSpec {
  readonly name: string;
  /** Its host number in {@link NET}. */
  readonly host: number;
  /** The other nodes' host numbers. */
  readonly peers: readonly number[];
  /** The VIP's host number. */
  readonly vip: number;
  readonly priority: number;
  /** `ha.onHealthFailure` (default fault). */
  readonly onHealthFailure?: 'fault' | { weight: number };
  /** Central management: the CA directory and this node's cm priority; peers are the other nodes'. */
  readonly cm?: { readonly caDir: string; readonly priority: number };
  /** An `ntp` section (the check is the test's fake). */
  readonly ntp?: { readonly maxOffset: string };
  /** A `management` section on this node's address (and serve it). */
  readonly management?: boolean;
}

/** One test node: the node, its log, the switch of its proxy's health and its fake time-skew verdict. */
interface TestNode {
  readonly spec: NodeSpec;
  readonly dir: string;
  readonly doc: Doc;
  readonly config: GatewayConfig;
  readonly node: GatewayNode;
  readonly log: MemoryLogger;
  /** The fake prober answers ok while true. */
  proxyUp: boolean;
  /** What the fake time-skew check reports. */
  ntp: SkewReport;
  /** How many checks the fake ran. */
  ntpChecks: number;
  /** How many probes the fake prober answered. */
  probes: number;
  /** A new GatewayNode on the same configuration (and data directory), sharing log and fakes. */
  again(): GatewayNode;
}

const scratch: string[] = [];
const running: GatewayNode[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'proxyha-gw-node-'));
  scratch.push(dir);
  return dir;
}

afterEach(async () => {
  for (const n of running.splice(0).reverse()) await n.stop();
  for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The configuration file of `spec`, as an operator would write it. */
function docOf(spec: NodeSpec, dir: string): Doc {
  const doc: Doc = {
    node: { name: spec.name, dataDir: join(dir, 'data') },
    ha: {
      interface: 'lo',
      managementIp: ip(spec.host),
      virtualIps: [`${ip(spec.vip)}/32`],
      vrid: 51,
      priority: spec.priority,
      advertInterval: '200ms',
      group: 51,
      redirects: [{ originalPort: 9090, destinationPort: PROXY_PORT }],
      dataPlane: 'relay',
      transport: 'loopback',
      peers: spec.peers.map(ip),
      loadAware: false,
      ...(spec.onHealthFailure ? { onHealthFailure: spec.onHealthFailure } : {}),
    },
    health: { interval: '100ms', fall: 1, rise: 1 },
    management: {
      listen: `${ip(spec.host)}:${MANAGEMENT_PORT}`,
      tokenFile: join(dir, 'admin.token'),
    },
  };
  if (spec.ntp) doc.ntp = { servers: [ip(spec.host + 5)], maxOffset: spec.ntp.maxOffset };
  if (spec.cm)
    doc.cm = {
      listen: `${ip(spec.host)}:${CM_PORT}`,
      ca: { cert: join(spec.cm.caDir, 'cluster-ca.pem'), key: join(spec.cm.caDir, 'cluster-ca.key') },
      priority: spec.cm.priority,
      peers: spec.peers.map((p) => `${ip(p)}:${CM_PORT}`),
    };
  return doc;
}

/** Makes (does not start) a test node; `running` stops it after the test. */
function makeNode(spec: NodeSpec, extra: GatewayNodeOptions = {}): TestNode {
  const dir = tempDir();
  const doc = docOf(spec, dir);
  const config = parseGatewayConfig(doc, `${spec.name}.yaml`);
  const log = new MemoryLogger();
  const t: TestNode = {
    spec,
    dir,
    doc,
    config,
    log,
    proxyUp: true,
    ntp: skew('ok', 3),
    ntpChecks: 0,
    probes: 0,
    node: undefined as unknown as GatewayNode,
    again: () => newNode(),
  };
  const prober: Prober = async () =>
    ++t.probes && t.proxyUp
      ? { ok: true, latencyMs: 0.1 }
      : { ok: false, reason: 'refused', detail: 'ECONNREFUSED', latencyMs: 0.1 };
  const ntpCheck: SkewCheck = async () => {
    t.ntpChecks++;
    return t.ntp;
  };
  const newNode = (): GatewayNode => {
    const node = new GatewayNode(config, {
      logger: log,
      prober,
      ntpCheck,
      management: spec.management ?? false,
      ...extra,
    });
    running.push(node);
    return node;
  };
  (t as { node: GatewayNode }).node = newNode();
  return t;
}

/** A cluster CA in a new directory. */
async function clusterCa(): Promise<string> {
  const dir = join(tempDir(), 'ca');
  await writeClusterCa(dir, await createClusterCa({ name: 'proxyha node test CA' }));
  return dir;
}

const state = (n: GatewayNode): string => n.status().vrrp.state;
const nodeIn = (s: GatewayStatus, name: string) => s.director.nodes.find((x) => x.name === name);

/** Two nodes `a` (the higher priority) and `b` on hosts base+1, base+2, VIP base+9; both started. */
async function pair(
  base: number,
  a: Partial<NodeSpec>,
  b: Partial<NodeSpec>,
  extra: { a?: GatewayNodeOptions; b?: GatewayNodeOptions } = {},
): Promise<[TestNode, TestNode]> {
  const na = makeNode(
    { name: 'mwg1', host: base + 1, peers: [base + 2], vip: base + 9, priority: 200, ...a },
    extra.a,
  );
  const nb = makeNode(
    { name: 'mwg2', host: base + 2, peers: [base + 1], vip: base + 9, priority: 100, ...b },
    extra.b,
  );
  await Promise.all([na.node.start(), nb.node.start()]);
  return [na, nb];
}

/** Both see each other: `master` directs and lists both nodes healthy, `backup` follows it. */
async function formed(master: TestNode, backup: TestNode): Promise<void> {
  await until(`${master.spec.name} directs, ${backup.spec.name} follows`, () => {
    const m = master.node.status();
    const b = backup.node.status();
    return (
      m.vrrp.state === 'master' &&
      m.node.role === 'director' &&
      b.vrrp.state === 'backup' &&
      b.node.role === 'scanner' &&
      b.director.director?.name === master.spec.name &&
      nodeIn(m, master.spec.name)?.health === 'ok' &&
      nodeIn(m, backup.spec.name)?.health === 'ok'
    );
  });
}

describe('GatewayNode start and stop', () => {
  it('a started node fills every section of the status; stop is idempotent', async () => {
    const t = makeNode({ name: 'solo', host: 11, peers: [12], vip: 19, priority: 150 });
    const changes: string[] = [];
    t.node.onChange(() => changes.push(t.node.status().vrrp.state));
    await t.node.start();
    await until('the lone node directs', () => t.node.status().node.role === 'director');
    const s = t.node.status();
    expect(s.node).toMatchObject({ name: 'solo', maintenance: false, role: 'director' });
    expect(s.node.startedAt).toBeGreaterThan(0);
    expect(s.node.now).toBeGreaterThanOrEqual(s.node.startedAt);
    expect(s.vrrp).toMatchObject({
      instance: 'VI_1',
      vrid: 51,
      interface: 'lo',
      state: 'master',
      basePriority: 150,
      effectivePriority: 150,
      virtualIps: [`${ip(19)}/32`],
      vipOwner: ip(11),
      faultReasons: [],
      becameMaster: 1,
    });
    expect(s.vrrp.transitions.map((x) => `${x.from}->${x.to}`)).toEqual([
      'initialize->backup',
      'backup->master',
    ]);
    expect(s.vrrp.advertsSent).toBeGreaterThan(0);
    expect(s.director).toMatchObject({
      role: 'director',
      group: 51,
      dataPlane: 'relay',
      redirects: [{ originalPort: 9090, destinationPort: PROXY_PORT }],
      director: { name: 'solo', address: ip(11) },
    });
    expect(s.director.nodes.map((n) => [n.name, n.address, n.health, n.self])).toEqual([
      ['solo', ip(11), 'ok', true],
    ]);
    expect(s.director.nodes[0]?.share).toBe(1);
    expect(s.health).toMatchObject({ status: 'ok', host: ip(11) });
    expect(s.health.ports).toEqual([
      { port: PROXY_PORT, status: 'ok', since: expect.any(Number), reason: null },
    ]);
    expect(s.ntp).toEqual({ verdict: 'off', offsetMs: null, servers: [], message: null, checkedAt: null });
    expect(s.cm).toBeNull();
    expect(t.node.policy()).toBeNull();
    expect(changes).toContain('master');
    // the log names the node's parts as they start, and the seed's director lines
    expect(t.log.lines().join('\n')).toMatch(/set lbnetwork 1/);

    // a second stop while the first runs returns when the node has stopped: the ports are free then
    // (VRRP, the director protocol, the relay on the VIP)
    const first = t.node.stop();
    await t.node.stop();
    await expect(portsFree(11)).resolves.toBe(true);
    await expect(tcpFree(ip(19), 9090)).resolves.toBe(true);
    await first;
    await t.node.stop();
    expect(t.log.lines().filter((l) => l.includes('Entering INIT STATE'))).toHaveLength(1);
  });

  it('a management address in use: GATEWAY_START_FAILED naming the part, and nothing left running', async () => {
    const blocker = await listen(ip(21), MANAGEMENT_PORT);
    const t = makeNode({ name: 'blocked', host: 21, peers: [22], vip: 29, priority: 150, management: true });
    const e = await rejected(t.node.start());
    expect(e.code).toBe('GATEWAY_START_FAILED');
    expect(e.details).toEqual({ part: 'management API' });
    expect(e.message).toMatch(/cannot start the management API: .*EADDRINUSE/);
    expect(t.log.lines('error')).toContainEqual(expect.stringMatching(/cannot start the management API/));
    // VRRP and the director released their sockets; the health monitor probes no more (five intervals)
    await expect(portsFree(21)).resolves.toBe(true);
    const probes = t.probes;
    await new Promise((r) => setTimeout(r, 500));
    expect(t.probes).toBe(probes);
    await close(blocker);
    // another node starts on the same addresses and data directory, and directs
    const again = t.again();
    await again.start();
    await until('the second node directs', () => again.status().node.role === 'director');
    expect(again.managementUrl).toBe(`http://${ip(21)}:${MANAGEMENT_PORT}`);
    // the API serves this node's status and metrics with the token the node wrote
    const token = readFileSync(join(t.dir, 'admin.token'), 'utf8').trim();
    const headers = { authorization: `Bearer ${token}` };
    const res = await fetch(`${again.managementUrl}/api/v1/status`, { headers });
    expect(res.status).toBe(200);
    const body = (await res.json()) as GatewayStatus;
    expect(body.node).toMatchObject({ name: 'blocked', role: 'director' });
    expect(body.vrrp.state).toBe('master');
    const metrics = await (await fetch(`${again.managementUrl}/metrics`, { headers })).text();
    expect(metrics).toMatch(/^proxyha_vrrp_state\{instance="VI_1"\} 2$/m);
    expect((await fetch(`${again.managementUrl}/api/v1/status`)).status).toBe(401);
    await expect(tcpFree(ip(29), 9090)).resolves.toBe(false); // the relay listens on the VIP
  });

  it.each([
    ['vrrp', VRRP_PORT, LB_PORT],
    ['director', LB_PORT, VRRP_PORT],
  ] as const)('the %s port in use: GATEWAY_START_FAILED naming it, the other port free again', async (part, taken, other) => {
    const host = part === 'vrrp' ? 121 : 125;
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind({ address: ip(host), port: taken, exclusive: true }, r));
    try {
      const t = makeNode({ name: part, host, peers: [host + 1], vip: host + 3, priority: 150 });
      const e = await rejected(t.node.start());
      expect(e.code).toBe('GATEWAY_START_FAILED');
      expect(e.details).toEqual({ part });
      expect(e.message).toMatch(new RegExp(`cannot start the ${part}: .*EADDRINUSE`));
      await expect(udpFree(ip(host), other)).resolves.toBe(true);
    } finally {
      await new Promise<void>((r) => socket.close(() => r()));
    }
  });

  it('a missing cluster CA file: GATEWAY_START_FAILED naming central management, nothing left running', async () => {
    const missing = join(tempDir(), 'no-such-ca');
    const t = makeNode({
      name: 'noca',
      host: 31,
      peers: [32],
      vip: 39,
      priority: 150,
      cm: { caDir: missing, priority: 1 },
    });
    const e = await rejected(t.node.start());
    expect(e.code).toBe('GATEWAY_START_FAILED');
    expect(e.details).toEqual({ part: 'central management' });
    expect(e.message).toMatch(/cannot start the central management: /);
    await expect(portsFree(31)).resolves.toBe(true);
    await expect(tcpFree(ip(31), CM_PORT)).resolves.toBe(true);
    // with the CA in place, a node on the same addresses and data starts
    await writeClusterCa(missing, await createClusterCa({ name: 'late CA' }));
    const again = t.again();
    await again.start();
    await until('the second node directs', () => again.status().node.role === 'director');
    expect(again.status().cm?.self.name).toBe('noca');
  });
});

describe('GatewayNode failover', () => {
  it('the higher priority directs; its health failing faults it and the other takes over; health back, it returns', async () => {
    const [a, b] = await pair(40, {}, {});
    await formed(a, b);
    expect(
      a.node
        .status()
        .director.nodes.map((n) => n.name)
        .sort(),
    ).toEqual(['mwg1', 'mwg2']);
    expect(b.node.status().vrrp.vipOwner).toBe(ip(41));

    a.proxyUp = false;
    await until('mwg1 faults and mwg2 directs', () => {
      const sb = b.node.status();
      return state(a.node) === 'fault' && sb.vrrp.state === 'master' && sb.node.role === 'director';
    });
    const sa = a.node.status();
    expect(sa.node.role).toBe('scanner');
    expect(sa.health.status).toBe('failure');
    expect(sa.health.ports[0]).toMatchObject({
      status: 'failure',
      reason: expect.stringMatching(/ECONNREFUSED|refused/),
    });
    expect(sa.vrrp.faultReasons).toEqual([expect.stringMatching(/health/)]);
    expect(sa.vrrp.transitions.at(-1)).toMatchObject({ from: 'master', to: 'fault' });
    // the new director drains the failing node
    await until('mwg2 sees mwg1 failing', () => nodeIn(b.node.status(), 'mwg1')?.health === 'failure');
    expect(nodeIn(b.node.status(), 'mwg1')?.share).toBe(0);

    a.proxyUp = true;
    await formed(a, b);
    const path = a.node.status().vrrp.transitions.map((x) => `${x.from}->${x.to}`);
    expect(path).toEqual([
      'initialize->backup',
      'backup->master',
      'master->fault',
      'fault->backup',
      'backup->master',
    ]);
    expect(
      b.node
        .status()
        .vrrp.transitions.map((x) => `${x.from}->${x.to}`)
        .slice(-2),
    ).toEqual(['backup->master', 'master->backup']);
  });

  it('onHealthFailure { weight: -60 }: the priority drops, the other preempts; health back, it preempts again', async () => {
    const [a, b] = await pair(
      50,
      { priority: 150, onHealthFailure: { weight: -60 } },
      { onHealthFailure: { weight: -60 } },
    );
    await formed(a, b);
    a.proxyUp = false;
    await until('mwg2 preempts mwg1', () => state(b.node) === 'master' && state(a.node) === 'backup');
    const sa = a.node.status();
    expect(sa.vrrp).toMatchObject({ basePriority: 150, effectivePriority: 90, faultReasons: [] });
    expect(sa.vrrp.transitions.some((x) => x.to === 'fault')).toBe(false);
    await until('mwg2 directs and drains mwg1', () => {
      const sb = b.node.status();
      return sb.node.role === 'director' && nodeIn(sb, 'mwg1')?.health === 'failure';
    });

    a.proxyUp = true;
    await formed(a, b);
    expect(a.node.status().vrrp.effectivePriority).toBe(150);
  });
});

describe('GatewayNode maintenance mode', () => {
  it('drains the master and hands the VIP over; survives a restart; off undoes it', async () => {
    // a proxy per node that names itself, and clients that connect through the VIP
    const proxies = [await namedProxy(ip(61), 'mwg1'), await namedProxy(ip(62), 'mwg2')];
    onTestFinished(async () => {
      for (const p of proxies) await close(p);
    });
    const [a, b] = await pair(60, {}, {});
    await formed(a, b);
    const vip = ip(69);
    await until('clients reach both proxies through the VIP', async () => {
      const names = await spread(vip);
      return names.includes('mwg1') && names.includes('mwg2');
    });
    const flag = join(a.config.node.dataDir, 'maintenance');
    expect(existsSync(flag)).toBe(false);

    await a.node.setMaintenance(true);
    expect(existsSync(flag)).toBe(true);
    expect(a.node.status().node.maintenance).toBe(true);
    await until(
      'mwg2 takes over from mwg1 in maintenance',
      () => state(b.node) === 'master' && state(a.node) === 'backup',
    );
    const sa = a.node.status();
    expect(sa.vrrp).toMatchObject({ basePriority: 200, effectivePriority: 1, faultReasons: [] });
    expect(sa.vrrp.transitions.some((x) => x.to === 'fault')).toBe(false);
    await until('mwg2 directs with mwg1 drained', () => {
      const sb = b.node.status();
      const m = nodeIn(sb, 'mwg1');
      return sb.node.role === 'director' && m?.health === 'failure' && m.share === 0;
    });
    expect(a.log.lines('warn')).toContainEqual(expect.stringMatching(/maintenance mode on/));
    // no client gets the drained node
    await until('every client is served by mwg2', async () => (await spread(vip)).every((n) => n === 'mwg2'));

    // a restart on the same data directory starts in maintenance: it stays a drained backup
    await a.node.stop();
    const restarted = a.again();
    await restarted.start();
    expect(restarted.status().node.maintenance).toBe(true);
    await until('the restarted mwg1 follows mwg2, drained', () => {
      const s = restarted.status();
      const sb = b.node.status();
      return (
        s.vrrp.state === 'backup' &&
        s.vrrp.effectivePriority === 1 &&
        nodeIn(sb, 'mwg1')?.health === 'failure'
      );
    });
    expect(state(b.node)).toBe('master');

    await restarted.setMaintenance(false);
    expect(existsSync(flag)).toBe(false);
    expect(restarted.status().node.maintenance).toBe(false);
    await until('mwg1 directs again, both healthy with a share each', () => {
      const s = restarted.status();
      return (
        s.node.role === 'director' &&
        state(b.node) === 'backup' &&
        s.director.nodes.length === 2 &&
        s.director.nodes.every((n) => n.health === 'ok' && n.share > 0)
      );
    });
    expect(restarted.status().vrrp.effectivePriority).toBe(200);
    // it takes new connections again
    await until('clients reach mwg1 again', async () => (await spread(vip)).includes('mwg1'));
  });
});

describe('GatewayNode time-skew guard', () => {
  it('a failing verdict refuses a save and saves nothing; ok saves; the status and the log show it', async () => {
    const caDir = await clusterCa();
    const t = makeNode({
      name: 'clock',
      host: 71,
      peers: [72],
      vip: 79,
      priority: 150,
      cm: { caDir, priority: 1 },
      ntp: { maxOffset: '1s' },
    });
    t.ntp = skew('fail', 5000);
    await t.node.start();
    await until('the guard fails', () => t.node.status().ntp.verdict === 'fail');
    expect(t.node.status().ntp).toEqual({
      verdict: 'fail',
      offsetMs: 5000,
      servers: [`${ip(76)}:123`],
      message: 'time difference too high: offset 5000 ms exceeds max 1000 ms',
      checkedAt: expect.any(Number),
    });
    const e = thrown(() => t.node.savePolicy([{ name: 'squid.conf', content: 'acl a\n' }]));
    expect(e.code).toBe('GATEWAY_CLOCK_SKEW');
    expect(e.message).toMatch(/time difference too high/);
    expect(t.node.policy()).toBeNull();
    expect(t.node.status().cm?.policy).toBeNull();
    const policyDir = join(t.config.node.dataDir, 'cm', 'policy');
    expect(existsSync(join(policyDir, 'squid.conf'))).toBe(false);

    // a changed ntp section restarts the guard: it checks again at once
    t.ntp = skew('ok', 12);
    const checks = t.ntpChecks;
    const next = parseGatewayConfig({ ...t.doc, ntp: { ...t.doc.ntp, maxOffset: '2s' } }, 'clock.yaml');
    await t.node.reload(next);
    await until('the new guard says ok', () => t.node.status().ntp.verdict === 'ok');
    expect(t.ntpChecks).toBe(checks + 1);
    expect(t.node.status().ntp).toMatchObject({ offsetMs: 12, message: 'offset 12 ms within 1000 ms' });
    const saved = t.node.savePolicy([{ name: 'squid.conf', content: 'acl a\n' }], { comment: 'first' });
    expect(t.node.policy()).toMatchObject({ id: saved.version, origin: 'clock', comment: 'first' });
    await until('the policy file is in place', () => existsSync(join(policyDir, 'squid.conf')));
    // every verdict change is logged, in order
    const lines = t.log.lines().filter((l) => l.startsWith('time-skew guard:'));
    expect(lines).toEqual([
      'time-skew guard: fail (offset +5000.0 ms): time difference too high: offset 5000 ms exceeds max 1000 ms',
      'time-skew guard: ok (offset +12.0 ms): offset 12 ms within 1000 ms',
    ]);
  });
});

describe('GatewayNode central management', () => {
  let caDir: string;
  beforeAll(async () => {
    caDir = join(mkdtempSync(join(tmpdir(), 'proxyha-gw-node-ca-')), 'ca');
    await writeClusterCa(caDir, await createClusterCa({ name: 'proxyha node test CA' }));
    return () => rmSync(join(caDir, '..'), { recursive: true, force: true });
  });

  it('replicates a save, holds the admin lock cluster-wide, refuses a bad address', async () => {
    const [a, b] = await pair(80, { cm: { caDir, priority: 1 } }, { cm: { caDir, priority: 2 } });
    await until('both cm nodes reach each other', () =>
      [a, b].every(
        (t) => t.node.status().cm?.nodes.every((n) => n.reachable) && t.node.status().cm?.nodes.length === 2,
      ),
    );
    const doc = { name: 'squid.conf', content: 'acl blocked dstdomain blocked.example\n' };
    const saved = a.node.savePolicy([doc], { comment: 'block', session: 'alice' });
    expect(a.node.policy()).toMatchObject({ id: saved.version, origin: 'mwg1', comment: 'block' });
    await until('mwg2 has the policy', () => b.node.policy()?.id === saved.version);
    expect(b.node.policy()?.documents).toEqual([expect.objectContaining({ name: 'squid.conf' })]);
    const policyDir = join(b.config.node.dataDir, 'cm', 'policy');
    await until('mwg2 has the file', () => existsSync(join(policyDir, 'squid.conf')));
    expect(readFileSync(join(policyDir, 'squid.conf'), 'utf8')).toBe(doc.content);
    await until(
      'both in sync',
      () => a.node.status().cm?.inSync === true && b.node.status().cm?.inSync === true,
    );

    // the save's session was detached again: another one attaches on the same node
    a.node.attachAdmin('bob');
    // ... and holds the lock for the cluster: mwg2 refuses another session once it heard of it
    await until('mwg2 refuses carol', () => {
      try {
        b.node.attachAdmin('carol');
      } catch (e) {
        return (e as ProxyhaError).code === 'CM_GUI_ATTACH';
      }
      b.node.detachAdmin('carol'); // not heard yet: give it back
      return false;
    });
    const refused = thrown(() => b.node.savePolicy([doc], { session: 'carol' }));
    expect(refused.code).toBe('CM_GUI_ATTACH');
    expect(refused.message).toMatch(/mwg1/);
    // a save without a session (the CLI's) is refused too while another session holds the lock, on either node
    expect(thrown(() => b.node.savePolicy([{ name: 'x.conf', content: 'x' }])).code).toBe('CM_GUI_ATTACH');
    expect(thrown(() => a.node.savePolicy([{ name: 'x.conf', content: 'x' }])).code).toBe('CM_GUI_ATTACH');
    expect(b.node.policy()?.id).toBe(saved.version);
    expect(a.node.policy()?.id).toBe(saved.version);
    // the holder itself saves, and keeps its lock afterwards
    const second = a.node.savePolicy([doc, { name: 'more.conf', content: 'm' }], { session: 'bob' });
    expect(thrown(() => a.node.attachAdmin('dave')).code).toBe('CM_GUI_ATTACH');
    await until('mwg2 has the second version', () => b.node.policy()?.id === second.version);

    a.node.detachAdmin('bob');
    await until('mwg2 attaches carol once bob detached', () => {
      b.node.attachAdmin('carol');
      return true;
    });
    b.node.detachAdmin('carol');

    const bad = await rejected(a.node.addNode('300.1.2.3:99999'));
    expect(bad.code).toBe('CM_INVALID_ARGUMENT');
  });

  it('every node backs up its configuration file; every node holds every backup', async () => {
    const files: string[] = [];
    const withFile = (name: string): GatewayNodeOptions => {
      const file = join(tempDir(), `${name}.yaml`);
      files.push(file);
      writeFileSync(file, `# ${name}'s configuration\n`);
      return { configFile: file };
    };
    const [a, b] = await pair(
      84,
      { cm: { caDir, priority: 1 } },
      { cm: { caDir, priority: 2 } },
      { a: withFile('mwg1'), b: withFile('mwg2') },
    );
    const names = (t: TestNode) => (t.node.status().cm?.backups ?? []).map((x) => x.node).sort();
    await until('both nodes hold both backups', () => [a, b].every((t) => names(t).join() === 'mwg1,mwg2'));
    // applied on its own node only, in central management's node-config directory
    const own = join(a.config.node.dataDir, 'cm', 'node-config', 'proxyha.yaml');
    await until('mwg1 has its own file applied', () => existsSync(own));
    expect(readFileSync(own, 'utf8')).toBe("# mwg1's configuration\n");
    expect(a.log.entries.map((e) => e.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^configuration backed up to central management \(version [0-9a-f]{12}\)$/),
      ]),
    );
    // an unchanged file is not saved again at a reload
    const before = a.node.status().cm?.backups?.find((x) => x.node === 'mwg1')?.version;
    await a.node.reload(a.config);
    expect(a.node.status().cm?.backups?.find((x) => x.node === 'mwg1')?.version).toBe(before);
  });

  it('without cm: GATEWAY_CM_DISABLED', async () => {
    const t = makeNode({ name: 'nocm', host: 91, peers: [92], vip: 99, priority: 150 });
    await t.node.start();
    expect(thrown(() => t.node.savePolicy([{ name: 'a', content: 'b' }])).code).toBe('GATEWAY_CM_DISABLED');
    expect(thrown(() => t.node.attachAdmin('s')).code).toBe('GATEWAY_CM_DISABLED');
    expect((await rejected(t.node.addNode(`${ip(92)}:${CM_PORT}`))).code).toBe('GATEWAY_CM_DISABLED');
  });
});

describe('GatewayNode reload', () => {
  it('a new ha.priority applies in place; the director’s priority waits for a restart', async () => {
    const t = makeNode({ name: 'reload', host: 101, peers: [102], vip: 109, priority: 150 });
    await t.node.start();
    await until('it directs', () => t.node.status().node.role === 'director');
    const before = t.node.status().vrrp;
    const next = parseGatewayConfig({ ...t.doc, ha: { ...t.doc.ha, priority: 120 } }, 'reload.yaml');
    const pending = await t.node.reload(next);
    expect(pending).toEqual(["the director's priority"]);
    const after = t.node.status().vrrp;
    expect(after).toMatchObject({ state: 'master', basePriority: 120, effectivePriority: 120 });
    expect(after.transitionCount).toBe(before.transitionCount);
    expect(t.node.status().node.role).toBe('director');
    expect(t.node.config.vrrpd.instances[0]?.priority).toBe(120);
    // the director keeps the priority it started with
    expect(t.node.config.lb.priority).toBe(150);
    expect(t.log.lines('warn')).toContain(
      "reload: the director's priority changed: takes effect at the next restart",
    );
    // the same file again: the director's priority still waits, nothing else changes
    expect(await t.node.reload(next)).toEqual(["the director's priority"]);
  });
});

describe('GatewayNode onChange', () => {
  it('fires on a VRRP transition and on maintenance; unsubscribing stops it', async () => {
    const events: string[] = [];
    const t = makeNode(
      { name: 'watch', host: 111, peers: [112], vip: 119, priority: 150 },
      { vrrpd: { onTransition: (x) => events.push(`transition ${x.from}->${x.to}`) } },
    );
    const off = t.node.onChange(() =>
      events.push(`change ${t.node.status().node.maintenance ? 'maintenance' : ''}`.trim()),
    );
    await t.node.start();
    await until('it directs', () => t.node.status().vrrp.state === 'master');
    // every transition is followed at once (synchronously) by a change
    for (const [i, e] of events.entries())
      if (e.startsWith('transition')) expect(events[i + 1]).toBe('change');
    expect(events.filter((e) => e.startsWith('transition'))).toEqual([
      'transition initialize->backup',
      'transition backup->master',
    ]);
    events.length = 0;
    const p = t.node.setMaintenance(true);
    events.push('set');
    await p;
    expect(events).toContain('change maintenance');
    expect(events.indexOf('change maintenance')).toBeGreaterThan(events.indexOf('set'));
    off();
    events.length = 0;
    await t.node.setMaintenance(false);
    expect(events).toEqual([]);
  });
});

// ---- sockets --------------------------------------------------------------------------------------

/** A stand-in proxy on `host`:{@link PROXY_PORT} that answers every connection with its name. */
function namedProxy(host: string, name: string): Promise<Server> {
  const server = createServer((socket) => socket.end(`${name}\n`));
  return new Promise((resolve, reject) =>
    server.once('error', reject).listen(PROXY_PORT, host, () => resolve(server)),
  );
}

/** The name of the proxy a client on `source` reaches through `vip`:9090 (throws when none answers). */
function servedTo(source: string, vip: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: vip, port: 9090, localAddress: source });
    let text = '';
    socket.setTimeout(3000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (d) => {
      text += d;
    });
    socket.once('error', reject);
    socket.once('close', () => (text.endsWith('\n') ? resolve(text.trim()) : reject(new Error('no answer'))));
  });
}

/** Twelve clients (hosts 200..211 of {@link NET}): the proxy each reaches through `vip`. */
async function spread(vip: string): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < 12; i++) names.push(await servedTo(ip(200 + i), vip));
  return names;
}

async function listen(host: string, port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return server;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** True when nothing listens on TCP `host:port` (it can be bound). */
async function tcpFree(host: string, port: number): Promise<boolean> {
  try {
    await close(await listen(host, port));
    return true;
  } catch {
    return false;
  }
}

/** True when UDP `host:port` can be bound (exclusively). */
function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket({ type: 'udp4', reuseAddr: false });
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind({ address: host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** VRRP's and the director's UDP ports of the node on `host` are free. */
async function portsFree(host: number): Promise<boolean> {
  return (await udpFree(ip(host), VRRP_PORT)) && (await udpFree(ip(host), LB_PORT));
}

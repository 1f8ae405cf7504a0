// proxyha-lb end to end with each data plane (nftables, relay, direct), one lab each: the daemon on d, n1,
// n2 and (later) n3, real proxies (tinyproxy on d, n1, n3; squid on n2), a client c with 48 source
// addresses fetching http://origin/who through VIP:9090 from an origin web server in c that answers with
// the address the request came from, i.e. which node's proxy served it. Node ids are fixed, so the table
// (and every client's node) is known: the test rebuilds it from the director's status with the scheduler.
//
// The story: (nftables, direct: n2 starts with the stale table of a crashed director, which its daemon
// removes); three equal nodes share the clients a third each, the same source always on the same node;
// n3 joins with weight 200 and takes twice the share; (relay, with auth keys: a forged and a replayed
// report sent from c change nothing); n2's squid stops while a long transfer runs through it: n2 is
// drained, new clients go elsewhere, the transfer completes; n3's daemon is SIGKILLed: it is removed and
// its still-running proxy gets no client; the VIP moves to n1, which directs from then on; n3 comes back
// (direct: its daemon takes over what the killed one left on lo); every daemon stops (SIGTERM) and nothing
// of ours is left: no table, no VIP on lo, no listener on the VIP, every sysctl as it was.
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeNet, type Lab, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../src/codec/index';
import type { LoadReport } from '../src/codec/types';
import { counts, expectedOwners, ProxyCluster, re, SOURCES } from './dataplanes-lab';
import {
  type LbNodeOpts,
  type LbStatusDoc,
  lbStatus,
  logLines,
  PROXY_PORT,
  pcapPayloads,
  type RunningLb,
  sendRaw,
  startLb,
  until,
  VIP,
} from './lb-lab';

type Plane = 'nftables' | 'relay' | 'direct';

const INTERVAL = 300;
const NODES = ['d', 'n1', 'n2', 'n3'] as const;
type NodeName = (typeof NODES)[number];
/** Fixed node ids: the table is a function of them (and the weights), so the test knows every client's node. */
const IDS: Record<NodeName, string> = {
  d: '0d000000-0000-4000-8000-000000000001',
  n1: '0d000000-0000-4000-8000-000000000002',
  n2: '0d000000-0000-4000-8000-000000000003',
  n3: '0d000000-0000-4000-8000-000000000004',
};
const KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const WRONG = 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100';

class Scenario {
  readonly lab: Lab;
  readonly plane: Plane;
  readonly auth: boolean;
  readonly lbs = new Map<NodeName, RunningLb>();
  readonly dirs = new Map<NodeName, string>();
  cluster!: ProxyCluster;

  constructor(lab: Lab, plane: Plane, auth: boolean) {
    this.lab = lab;
    this.plane = plane;
    this.auth = auth;
  }

  ip(n: NodeName | 'c'): string {
    return this.lab.node(n).ipv4;
  }

  lb(n: NodeName): RunningLb {
    const lb = this.lbs.get(n);
    if (!lb) throw new Error(`no daemon on ${n}`);
    return lb;
  }

  /** Starts (or restarts, same data directory and node id) the daemon on `n`. */
  async start(n: NodeName, o: LbNodeOpts = {}): Promise<RunningLb> {
    let dataDir = this.dirs.get(n);
    if (dataDir === undefined) {
      dataDir = await this.lab.runDir(`lb-${n}`);
      await writeFile(join(dataDir, 'node-id'), `${IDS[n]}\n`);
      this.dirs.set(n, dataDir);
    }
    const lb = await startLb(this.lab, n, {
      dataPlane: this.plane,
      intervalMs: INTERVAL,
      healthIntervalMs: INTERVAL,
      loadAware: false,
      dataDir,
      ...(this.auth ? { keys: `1 hex:${KEY}\n` } : {}),
      ...o,
    });
    this.lbs.set(n, lb);
    return lb;
  }

  /** The director's status once `ok` holds for it. */
  async statusWhen(director: NodeName, what: string, ok: (s: LbStatusDoc) => boolean): Promise<LbStatusDoc> {
    let last: LbStatusDoc | undefined;
    await until(
      `${this.plane}: ${what}`,
      async () => {
        last = await lbStatus(this.lab, director, this.lb(director));
        return last.role === 'director' && ok(last);
      },
      20_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nlast status: ${JSON.stringify(last?.nodes)}`);
    });
    return last as LbStatusDoc;
  }

  /**
   * Fetches from every source until each lands on the node the director's table names (a new table is
   * installed right after the status shows it); returns the status and source -> node.
   */
  async servedByTable(director: NodeName, what: string) {
    let status: LbStatusDoc | undefined;
    let served = new Map<string, string>();
    let expected = new Map<string, string>();
    await until(
      `${this.plane}: ${what}: every client lands on the table's node`,
      async () => {
        status = await lbStatus(this.lab, director, this.lb(director));
        expected = expectedOwners(status);
        served = await this.cluster.served();
        return [...expected].every(([src, n]) => served.get(src) === n);
      },
      30_000,
    ).catch((e: Error) => {
      const wrong = [...expected].filter(([src, n]) => served.get(src) !== n);
      throw new Error(
        `${e.message}\n${wrong.map(([s, n]) => `${s}: want ${n}, got ${served.get(s)}`).join('\n')}`,
      );
    });
    expect(served).toEqual(expected);
    return { status: status as LbStatusDoc, served };
  }

  /** Data plane state of a node: is it directing (its table or its listener on the VIP)? */
  async directing(n: NodeName): Promise<boolean> {
    if (this.plane === 'relay') {
      const r = await this.lab.exec(n, 'ss', ['-Hltn', `src ${VIP}:${PROXY_PORT}`]);
      return r.stdout.trim() !== '';
    }
    const table = this.plane === 'nftables' ? ['inet', 'proxyha_lb_51'] : ['netdev', 'proxyha_lb_direct'];
    const r = await this.lab.exec(n, 'nft', ['list', 'table', ...table], { allowFailure: true });
    return r.code === 0;
  }

  async sysctl(n: NodeName, key: string): Promise<string> {
    return (await this.lab.exec(n, 'sysctl', ['-n', key])).stdout.trim();
  }

  async vipOnLo(n: NodeName): Promise<boolean> {
    return (await this.lab.exec(n, 'ip', ['-4', 'addr', 'show', 'dev', 'lo'])).stdout.includes(`${VIP}/32`);
  }
}

const DIRECT_SYSCTLS = [
  'net.ipv4.conf.all.arp_ignore',
  'net.ipv4.conf.all.arp_announce',
  'net.ipv4.conf.eth0.arp_ignore',
  'net.ipv4.conf.eth0.arp_announce',
];

async function run(lab: Lab, plane: Plane, auth: boolean): Promise<void> {
  const sc = new Scenario(lab, plane, auth);
  try {
    await story(sc);
  } catch (e) {
    // the daemons' last log lines tell what happened
    const tails = [...sc.lbs].map(
      ([n, lb]) => `--- ${n}:\n${lb.proc.output().split('\n').slice(-25).join('\n')}`,
    );
    (e as Error).message += `\n${tails.join('\n')}`;
    throw e;
  } finally {
    const keep = process.env.PROXYHA_TEST_LOGS; // a directory: every daemon's whole log is written there
    if (keep)
      for (const [n, lb] of sc.lbs) await writeFile(join(keep, `${plane}-${n}.log`), lb.proc.output());
  }
}

async function story(sc: Scenario): Promise<void> {
  const { lab, plane, auth } = sc;
  // relay: the director's own proxy must leave VIP:9090 to the relay, so every proxy binds its management
  // address; the kernel data planes deliver to VIP:9090 (direct) or node:9090 (nftables): any address
  sc.cluster = await ProxyCluster.create(lab, {
    tinyproxies: ['d', 'n1', 'n3'],
    squidNode: 'n2',
    bind: (n) => (plane === 'relay' ? lab.node(n).ipv4 : '0.0.0.0'),
  });
  const { cluster } = sc;
  const before = new Map<NodeName, Record<string, string>>();
  for (const n of NODES)
    before.set(
      n,
      Object.fromEntries(
        await Promise.all(
          [...DIRECT_SYSCTLS, 'net.ipv4.ip_forward'].map(async (k) => [k, await sc.sysctl(n, k)] as const),
        ),
      ),
    );
  const cap = auth ? await lab.capture('bridge', 'ip proto 253') : undefined;

  // 0. n2 was a director that crashed: its data plane's table is still there (here: one that would drop
  //    the VIP's traffic); the daemon removes it at start, whatever role it takes
  if (plane !== 'relay')
    await lab.exec('n2', 'nft', ['-f', '-'], {
      input:
        plane === 'direct'
          ? `table netdev proxyha_lb_direct {
  chain ingress { type filter hook ingress device "eth0" priority -150; policy accept; ip daddr ${VIP} tcp dport ${PROXY_PORT} drop; }
}\n`
          : `table inet proxyha_lb_51 {
  chain prerouting { type nat hook prerouting priority dstnat; policy accept; ip daddr ${VIP} tcp dport ${PROXY_PORT} dnat ip to 10.9.9.9; }
}\n`,
    });

  // 1. d, n1, n2 with equal weights; the VIP on d: d directs, a third of the clients each
  // nftables: n1 keeps the director's announced table loaded, to take over without a load
  await Promise.all(
    (['d', 'n1', 'n2'] as const).map((n) =>
      sc.start(n, n === 'n1' && plane === 'nftables' ? { extra: 'handover: { keepLoaded: true }' } : {}),
    ),
  );
  expect((await lab.exec('n2', 'nft', ['list', 'ruleset'])).stdout, 'a stale table on n2').not.toContain(
    'proxyha',
  );
  await lab.exec('d', 'ip', ['addr', 'add', `${VIP}/24`, 'dev', 'eth0']);
  const d = sc.lb('d');
  await d.proc.waitForOutput(/"msg":"state=master previous=backup"/, 15_000);
  await d.proc.waitForOutput(new RegExp(`"msg":"data plane ${plane}: directing"`), 15_000);
  const equal = await sc.statusWhen(
    'd',
    'd lists d, n1, n2, healthy, a third each',
    (s) =>
      s.nodes.length === 3 && s.nodes.every((n) => n.health === 'ok' && Math.abs(n.share - 1 / 3) < 0.01),
  );
  expect(equal.nodes.map((n) => n.name).sort()).toEqual(['d', 'n1', 'n2']);
  const first = await sc.servedByTable('d', 'three equal nodes');
  const c1 = counts(first.served);
  for (const n of ['d', 'n1', 'n2']) expect(c1.get(n), `${n} serves clients`).toBeGreaterThanOrEqual(8);
  if (plane === 'direct') {
    // scanners carry the VIP on lo and do not answer ARP for it; the director does not
    for (const n of ['n1', 'n2'] as const) {
      expect(await sc.vipOnLo(n)).toBe(true);
      expect(await sc.sysctl(n, 'net.ipv4.conf.all.arp_ignore')).toBe('1');
    }
    expect(await sc.vipOnLo('d')).toBe(false);
  }
  expect(await sc.directing('d')).toBe(true);
  // n1 (nftables, keepLoaded) stands by with its table loaded; n2 has nothing
  expect(await sc.directing('n1'), 'n1').toBe(plane === 'nftables');
  expect(await sc.directing('n2'), 'n2').toBe(false);
  if (plane === 'nftables')
    expect(logLines(sc.lb('n1').proc).map((l) => l.msg)).toContain(
      'data plane nftables: standing by (loaded, not directing)',
    );

  // the same source lands on the same node again
  expect(await cluster.served()).toEqual(first.served);

  // 2. n3 joins with weight 200: twice the share of each other node
  await sc.start('n3', { weight: 200 });
  await d.proc.waitForOutput(new RegExp(`Scanning partner has joined ${re(sc.ip('n3'))} \\(n3\\)`), 15_000);
  const weighted = await sc.statusWhen(
    'd',
    'n3 takes twice the share',
    (s) => s.nodes.length === 4 && s.nodes.every((n) => n.health === 'ok'),
  );
  const share = new Map(weighted.nodes.map((n) => [n.name, n.share]));
  for (const n of ['d', 'n1', 'n2']) {
    expect(share.get(n)).toBeCloseTo(0.2, 2);
    expect((share.get('n3') as number) / (share.get(n) as number)).toBeCloseTo(2, 1);
  }
  const second = await sc.servedByTable('d', 'n3 with weight 200');
  const c2 = counts(second.served);
  const others = ['d', 'n1', 'n2'].map((n) => c2.get(n) ?? 0);
  for (const x of others) expect(x).toBeGreaterThan(0);
  expect(c2.get('n3') ?? 0).toBeGreaterThan((1.5 * others.reduce((a, b) => a + b, 0)) / others.length);

  // 2b. with auth: a forged report (wrong key) and a replayed genuine one, sent from c, change nothing
  if (cap) {
    await cap.stop();
    const genuine = pcapPayloads(await readFile(cap.file)).filter(
      (p) => p.source === sc.ip('n1') && p.destination === sc.ip('d'),
    );
    expect(genuine.length).toBeGreaterThan(0);
    const replay = genuine[0]?.payload as Buffer;
    const decoded = decodeMessage(replay);
    if (!decoded.ok || decoded.value.type !== 'report') throw new Error('no report of n1 captured');
    const real = decoded.value;
    const forged = (over: Partial<LoadReport>): LoadReport => ({
      ...real,
      timestamp: Date.now(),
      sequence: real.sequence + 1000,
      health: { status: 'failure', failingPorts: [PROXY_PORT] },
      ...over,
    });
    const wrongKey = { key: { id: 1, secret: Buffer.from(WRONG, 'hex') } };
    const rejectedBefore = weighted.counters.rejected;
    await sendRaw(lab, 'c', sc.ip('d'), [
      encodeMessage(forged({}), wrongKey), // n1 "fails"
      encodeMessage(
        forged({ nodeId: randomUUID(), name: 'intruder', address: sc.ip('c'), weight: 65535 }),
        wrongKey,
      ),
      replay, // n1's own report, byte for byte, again
    ]);
    const after = await sc.statusWhen('d', 'd counts the forgery and the replay', (s) => {
      const r = s.counters.rejected;
      return (
        (r.LB_AUTH_BAD_MAC ?? 0) >= (rejectedBefore.LB_AUTH_BAD_MAC ?? 0) + 2 &&
        (r.LB_AUTH_REPLAY ?? 0) + (r.LB_AUTH_STALE ?? 0) >=
          (rejectedBefore.LB_AUTH_REPLAY ?? 0) + (rejectedBefore.LB_AUTH_STALE ?? 0) + 1
      );
    });
    expect(after.nodes.map((n) => [n.id, n.health, n.share])).toEqual(
      weighted.nodes.map((n) => [n.id, n.health, n.share]),
    );
    expect(d.proc.stdout()).toMatch(
      new RegExp(`rejected a report from ${re(sc.ip('c'))} \\(node [0-9a-f-]+\\): LB_AUTH_BAD_MAC`),
    );
    expect(d.proc.stdout()).not.toMatch(/is draining|intruder/);
    expect(await cluster.served()).toEqual(second.served);
  }

  // 3. a long transfer through n2, then n2's squid stops (SIGTERM: it stops listening, open transfers go
  //    on): n2 is drained, no new client reaches it, the transfer completes
  const viaN2 = SOURCES.find((s) => second.served.get(s) === 'n2') as string;
  const transfer = await cluster.startTransfer(viaN2);
  expect(transfer.node).toBe('n2');
  const mark = d.proc.output().length;
  cluster.proxies.get('n2')?.signal('SIGTERM');
  await d.proc.waitForOutput(
    new RegExp(
      `Scanning partner ${re(sc.ip('n2'))} \\(n2\\) is draining: current state: failure \\(port ${PROXY_PORT}\\)`,
    ),
    15_000,
    mark,
  );
  const drained = await sc.statusWhen('d', 'n2 shows failure and no share', (s) =>
    s.nodes.some((n) => n.name === 'n2' && n.health === 'failure' && n.share === 0),
  );
  expect(drained.nodes.find((n) => n.name === 'n2')?.failingPorts).toEqual([PROXY_PORT]);
  const third = await sc.servedByTable('d', 'n2 drained');
  expect([...third.served.values()]).not.toContain('n2');
  expect(third.served.get(viaN2)).not.toBe('n2'); // the transfer's own client: new connections elsewhere
  expect(transfer.running(), 'the transfer through n2 is still open').toBe(true);
  expect(await transfer.release()).toBe('released');
  expect(await transfer.result()).toMatch(/^done \d+ complete$/);

  // 4. n3's daemon dies (its proxy keeps running): removed after failAfter silent intervals, no new client
  await sc.lb('n3').proc.kill('SIGKILL');
  await d.proc.waitForOutput(new RegExp(`Scanning partner has failed ${re(sc.ip('n3'))}"`), 15_000);
  await sc.statusWhen('d', 'n3 is gone', (s) => !s.nodes.some((n) => n.name === 'n3'));
  const fourth = await sc.servedByTable('d', 'n3 failed');
  expect(new Set(fourth.served.values())).toEqual(new Set(['d', 'n1']));
  expect(cluster.proxies.get('n3')?.running).toBe(true);

  // the director's log, in order
  const dLog = logLines(d.proc).map((l) => l.msg);
  const at = (pattern: RegExp) => dLog.findIndex((m) => pattern.test(m));
  const order = [
    /^state=master previous=backup$/,
    new RegExp(`^Scanning partner has joined ${re(sc.ip('n3'))} \\(n3\\)$`),
    new RegExp(`^Scanning partner ${re(sc.ip('n2'))} \\(n2\\) is draining`),
    new RegExp(`^Scanning partner has failed ${re(sc.ip('n3'))}$`),
  ].map(at);
  expect(order.every((i) => i >= 0)).toBe(true);
  expect([...order].sort((a, b) => a - b)).toEqual(order);

  // 4b. nftables: standing by, n1 holds d's very bucket map (rebuilt from d's announcements)
  if (plane === 'nftables') {
    const elements = async (n: NodeName) =>
      JSON.stringify(
        (
          JSON.parse(
            (await lab.exec(n, 'nft', ['-j', 'list', 'map', 'inet', 'proxyha_lb_51', `b4_${PROXY_PORT}`]))
              .stdout,
          ) as { nftables: { map?: { elem?: unknown } }[] }
        ).nftables.find((x) => x.map)?.map?.elem ?? null,
      );
    await until(
      'n1 holds the map d directs with',
      async () => (await elements('n1')) === (await elements('d')),
      15_000,
    );
    expect(JSON.parse(await elements('n1'))).not.toBeNull();
  }

  // 5. the VIP moves from d to n1 (the neighbours learn it, as a VRRP daemon's gratuitous ARP would tell
  //    them): n1 directs with the table it adopted from d, d stops directing, no client changes node
  await lab.exec('d', 'ip', ['addr', 'del', `${VIP}/24`, 'dev', 'eth0']);
  await d.proc.waitForOutput(/"msg":"state=backup previous=master"/, 15_000);
  await d.proc.waitForOutput(new RegExp(`"msg":"data plane ${plane}: stopped directing"`), 15_000);
  const n1 = sc.lb('n1');
  await lab.exec('n1', 'ip', ['addr', 'add', `${VIP}/24`, 'dev', 'eth0']);
  await n1.proc.waitForOutput(/"msg":"state=master previous=backup"/, 15_000);
  await n1.proc.waitForOutput(new RegExp(`"msg":"data plane ${plane}: directing"`), 15_000);
  for (const n of [...NODES, 'c']) await lab.exec(n, 'ip', ['neigh', 'flush', 'to', VIP]);
  await sc.statusWhen('n1', 'n1 lists d, n1 and n2 (drained)', (s) => {
    const names = s.nodes.map((n) => `${n.name}:${n.health}`).sort();
    return names.join(',') === 'd:ok,n1:ok,n2:failure';
  });
  const fifth = await sc.servedByTable('n1', 'n1 directs');
  expect(new Set(fifth.served.values())).toEqual(new Set(['d', 'n1']));
  expect(fifth.served).toEqual(fourth.served); // every client stays on its node
  expect(logLines(n1.proc).map((l) => l.msg)).toContainEqual(
    expect.stringMatching(new RegExp(`^took over the table of ${re(sc.ip('d'))} \\(d\\): 3 nodes`)),
  );
  expect(await sc.directing('n1')).toBe(true);
  for (const n of ['d', 'n2'] as const) expect(await sc.directing(n), n).toBe(false);
  if (plane === 'direct') {
    expect(await sc.vipOnLo('d')).toBe(true); // a scanning node now
    expect(await sc.vipOnLo('n1')).toBe(false);
  }

  // 6. n3 comes back (same node id): it joins n1's group with its weight
  await sc.start('n3', { weight: 200 });
  await n1.proc.waitForOutput(new RegExp(`Scanning partner has joined ${re(sc.ip('n3'))} \\(n3\\)`), 15_000);
  await sc.statusWhen('n1', 'n3 is back', (s) => s.nodes.some((n) => n.name === 'n3' && n.health === 'ok'));
  const sixth = await sc.servedByTable('n1', 'n3 is back');
  expect(new Set(sixth.served.values())).toEqual(new Set(['d', 'n1', 'n3']));

  // 7. every daemon stops (SIGTERM): nothing of ours is left in any namespace
  const exits = await Promise.all([...sc.lbs.values()].map((lb) => lb.proc.kill('SIGTERM', 15_000)));
  for (const e of exits) expect(e).toEqual({ code: 0, signal: null });
  for (const lb of sc.lbs.values()) expect(logLines(lb.proc).some((l) => l.msg === 'Stopped')).toBe(true);
  for (const n of [...NODES, 'c'] as const) {
    const ruleset = (await lab.exec(n, 'nft', ['list', 'ruleset'])).stdout;
    expect(ruleset, `nft ruleset of ${n}`).not.toContain('proxyha');
  }
  for (const n of NODES) {
    expect(await sc.vipOnLo(n), `VIP on lo of ${n}`).toBe(false);
    const now = Object.fromEntries(
      await Promise.all(
        [...DIRECT_SYSCTLS, 'net.ipv4.ip_forward'].map(async (k) => [k, await sc.sysctl(n, k)]),
      ),
    );
    expect(now, `sysctls of ${n}`).toEqual(before.get(n));
    const listeners = (await lab.exec(n, 'ss', ['-Hltn', `src ${VIP}`])).stdout.trim();
    expect(listeners, `listeners on the VIP in ${n}`).toBe('');
  }
}

describeNet('proxyha-lb end to end with each data plane (namespaces, real proxies)', () => {
  for (const [plane, auth] of [
    ['nftables', false],
    ['relay', true],
    ['direct', false],
  ] as const)
    it(
      `${plane}: spread and weight follow the table, sticky, drain with a transfer open, a dead daemon, the director moves, nothing left${auth ? ', forged and replayed reports change nothing' : ''}`,
      () =>
        withLab({ nodes: [...NODES, 'c'], ipv6: false, timeoutMs: 170_000 }, (lab) => run(lab, plane, auth)),
      180_000,
    );
});

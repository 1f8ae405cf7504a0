// The guide's larger layout (reference "Central Management" best practices, README "Network groups") as real
// CmNodes over mutual TLS on loopback, with a cluster CA made for the test: Tokyo (network groups toknet1 and
// toknet2), New York (nynet1, nynet2) and Paderborn (paderborn); each network has a transit node in
// [<network>, transit], toknet1 a second one; update groups and runtime groups tokyo, newyork and paderborn.
//
// 16 nodes, not the guide's 45 or the bench's 50: every feature of the layout is here (two networks per site
// for Tokyo and New York, a network that is also a site, a network with two transit nodes, leaves behind
// each), with 2 leaves per network, and all 16 start, converge and restart in a few seconds on a busy 2-core CI
// machine. The 50-node figures are bench/groups.mjs's job.
//
// Addresses 127.0.14.10..25 (14: the issue), used by no other test file; every node on port 24014 (one CM port
// on every node, like 12346 in the guide); the update server on 127.0.0.1, an ephemeral port.
//
// (a) a save on a Tokyo leaf reaches every node of New York and Paderborn, along the path (the transit node
//     of a network has it before the network's leaves), and each node's status shows the path its messages
//     take to every node; (b) a stopped transit node holds a save of its network until it is started again,
//     while toknet1, with its second transit node, is carried by that one; (c) runtime data set in Tokyo
//     reaches every Tokyo node and no other; (d) an update list downloaded in Tokyo reaches the Tokyo nodes
//     only. Outcomes and order are asserted, never durations.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@proxyha/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CmNode, formatCmStatus, networkPath, parseCmConfig, type RuntimeChange } from '../src/index';
import { waitUntil, writeTestCa } from './fixtures/tls-cluster';

const PORT = 24_014;

interface Spec {
  readonly name: string;
  readonly address: string;
  readonly site: 'tokyo' | 'newyork' | 'paderborn';
  readonly network: string;
  readonly transit: boolean;
  readonly groups: readonly string[];
}

/** The layout: network -> site, transit nodes, leaves. */
const LAYOUT: Spec[] = (() => {
  const out: Spec[] = [];
  const net = (network: string, site: Spec['site'], transits: string[], leaves: number) => {
    for (const name of transits)
      out.push({ name, address: '', site, network, transit: true, groups: [network, 'transit'] });
    for (let i = 1; i <= leaves; i++)
      out.push({ name: `${network}-mwg${i}`, address: '', site, network, transit: false, groups: [network] });
  };
  net('toknet1', 'tokyo', ['toknet1-transit', 'toknet1-transit-2'], 2);
  net('toknet2', 'tokyo', ['toknet2-transit'], 2);
  net('nynet1', 'newyork', ['nynet1-transit'], 2);
  net('nynet2', 'newyork', ['nynet2-transit'], 2);
  net('paderborn', 'paderborn', ['paderborn-transit'], 2);
  return out.map((s, i) => ({ ...s, address: `127.0.14.${10 + i}` }));
})();
const NAMES = LAYOUT.map((s) => s.name);
const spec = (name: string) => LAYOUT.find((s) => s.name === name) as Spec;
const site = (x: Spec['site']) => LAYOUT.filter((s) => s.site === x).map((s) => s.name);
const TOKYO = site('tokyo');
const ABROAD = [...site('newyork'), ...site('paderborn')];
const shares = (a: Spec, b: Spec) => a.groups.some((g) => b.groups.includes(g));

const root = mkdtempSync(join(tmpdir(), 'cm-paderborn-test-'));
let caDir: string;
let server: Server | undefined;
let base: string;
/** Every request the update server saw, in order. */
const requests: string[] = [];
const LIST = Buffer.alloc(96 * 1024);
for (let i = 0; i < LIST.length; i++) LIST[i] = (i * 131 + (i >> 9)) & 0xff;
const LIST_SHA = createHash('sha256').update(LIST).digest('hex');

/** Every log line of every node, in the order they were written (one process: one order). */
const timeline: { node: string; level: string; message: string }[] = [];
const mark = (message: string) => timeline.push({ node: 'test', level: 'info', message });

function recorder(node: string): Logger {
  const push = (level: string) => (message: string) => {
    timeline.push({ node, level, message });
  };
  return { debug() {}, info: push('info'), warn: push('warn'), error: push('error') };
}

/** Where in the timeline a node's current policy became a version (-1: not yet). */
const arrival = (node: string, id: string, after = 0) =>
  timeline.findIndex(
    (e, i) =>
      i >= after && e.node === node && e.message.startsWith(`[Coordinator] policy is now ${id.slice(0, 12)}`),
  );

const running = new Map<string, CmNode>();
const get = (name: string) => {
  const n = running.get(name);
  if (n === undefined) throw new Error(`${name} is not running`);
  return n;
};

function makeNode(name: string, o: { download?: boolean } = {}): CmNode {
  const me = spec(name);
  const config = parseCmConfig({
    name,
    listen: `${me.address}:${PORT}`,
    dataDir: join(root, name),
    ca: { cert: join(caDir, 'ca.crt'), key: join(caDir, 'ca.key') },
    // the nodes of its groups before it in the layout: one dial makes each link (as the bench does)
    peers: LAYOUT.slice(0, LAYOUT.indexOf(me))
      .filter((x) => shares(x, me))
      .map((x) => `${x.address}:${PORT}`),
    groups: { network: [...me.groups], update: me.site, runtime: me.site },
    updates: {
      interval: '1h',
      downloadFromInternet: o.download ?? false,
      sources: [{ name: 'urlfilter', url: `${base}/urlfilter.db`, sha256: LIST_SHA, version: '2026.12.1' }],
    },
  });
  return new CmNode(config, {
    logger: recorder(name),
    softwareVersion: '1.0.0',
    controlSocket: false,
    // the interval check runs when the test asks (checkUpdates), not on its own
    updateTimings: { firstCheckMs: 3_600_000, collectMs: 500, retryMs: 1500 },
  });
}

async function start(name: string, o: { download?: boolean } = {}): Promise<CmNode> {
  const n = makeNode(name, o);
  mark(`start ${name}`);
  running.set(name, n);
  await n.start();
  return n;
}

async function stop(name: string): Promise<void> {
  const n = running.get(name);
  running.delete(name);
  mark(`stop ${name}`);
  await n?.stop();
}

const until = (what: string, fn: () => boolean, ms = 30_000) => waitUntil(what, fn, ms);

const pathOf = (from: string, to: string) =>
  get(from)
    .status()
    .nodes.find((n) => n.name === to)?.path;
const policyOf = (name: string) => get(name).current()?.id;
const doc = (content: string) => [{ name: 'policy.xml', content }];
const listOf = (name: string) =>
  get(name)
    .status()
    .updates?.lists.find((l) => l.name === 'urlfilter');

/** Every node of `names` (running) holds the version as its current policy. */
const allHave = (names: readonly string[], id: string) => names.every((n) => policyOf(n) === id);

beforeAll(async () => {
  caDir = await writeTestCa(join(root, 'ca'));
  const srv = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url !== '/urlfilter.db') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': LIST.length });
    res.end(LIST);
  });
  server = srv;
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  // in layout order: each node dials the nodes of its groups started before it
  for (const s of LAYOUT) await start(s.name, { download: s.name === 'toknet2-mwg1' });
  // up: every node reaches the 15 others, and every direct link (a shared group) is open
  await until(
    'every node reaches every node, every direct link open',
    () =>
      LAYOUT.every((me) => {
        const others = get(me.name).status().nodes.slice(1);
        const direct = LAYOUT.filter((x) => x !== me && shares(x, me)).map((x) => x.name);
        return (
          others.filter((x) => x.reachable).length === LAYOUT.length - 1 &&
          direct.every((d) => others.some((x) => x.name === d && x.reachable && x.path?.length === 2))
        );
      }),
    45_000,
  );
}, 60_000);

afterAll(async () => {
  // every node that still runs, also after a failure; then the directories and the update server
  for (const name of [...running.keys()].reverse()) await stop(name).catch(() => {});
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  rmSync(root, { recursive: true, force: true });
});

describe('network groups over mutual TLS: Tokyo, New York and Paderborn (toknet1, toknet2, nynet1, nynet2, paderborn)', () => {
  it('(a) a save on a Tokyo leaf reaches every node, along the path; every status shows the path to every node', async () => {
    const before = timeline.length;
    const v = get('toknet1-mwg1').save(doc('<policy site="tokyo" rev="1"/>'), {
      comment: 'from a Tokyo leaf',
    });
    await until('every node has the Tokyo save', () => allHave(NAMES, v.version));
    expect(new Set(NAMES.map((n) => get(n).storageTimestamp))).toEqual(new Set([v.storageTimestamp]));
    // storage facts: a New York leaf, two transit nodes away, sees the Tokyo leaf's Current Storage Timestamp
    // (passed on with the summaries, not read from a shared group), learned through its transit node
    const far = () =>
      get('nynet1-mwg2')
        .status()
        .nodes.find((n) => n.name === 'toknet1-mwg1');
    await until(
      'nynet1-mwg2 sees the Tokyo leaf at the save',
      () => far()?.storageTimestamp === v.storageTimestamp,
    );
    expect(far()?.storageTimestampSource?.via).toBe('nynet1-transit');
    await until('nynet1-mwg2 says the cluster is in sync', () => get('nynet1-mwg2').status().inSync);
    expect(formatCmStatus(get('nynet1-mwg2').status())).toMatch(
      new RegExp(
        `toknet1-mwg1 .*Current Storage Timestamp: ${v.storageTimestamp.replace(/\./g, '\\.')} \\(reported .*, via nynet1-transit`,
      ),
    );
    // along the path: in every other network its transit node has it before the network's leaves, and after
    // a transit node of toknet1 (the only way out of toknet1)
    const at = (n: string) => arrival(n, v.version, before);
    for (const n of NAMES) expect(at(n), n).toBeGreaterThanOrEqual(0);
    const firstOut = Math.min(at('toknet1-transit'), at('toknet1-transit-2'));
    for (const network of ['toknet2', 'nynet1', 'nynet2', 'paderborn']) {
      const transit = `${network}-transit`;
      expect(at(transit), transit).toBeGreaterThan(firstOut);
      for (const leaf of LAYOUT.filter((s) => s.network === network && !s.transit))
        expect(at(leaf.name), leaf.name).toBeGreaterThan(at(transit));
    }
    // status: each node, the path its messages take to every node, as short as the groups allow, each step
    // between two nodes of a shared group
    const groups = LAYOUT.map((s) => ({ name: s.name, groups: s.groups }));
    for (const from of NAMES) {
      const s = get(from).status();
      expect(s.nodes.map((n) => n.name).sort(), from).toEqual([...NAMES].sort());
      for (const to of NAMES) {
        const path = s.nodes.find((n) => n.name === to)?.path;
        const expected = networkPath(groups, from, to) as string[];
        expect(path?.length, `${from} -> ${to}`).toBe(expected.length);
        expect(path?.[0]).toBe(from);
        expect(path?.at(-1)).toBe(to);
        for (let i = 1; i < (path?.length ?? 0); i++)
          expect(shares(spec(path?.[i - 1] as string), spec(path?.[i] as string)), `${path}`).toBe(true);
      }
    }
    // where the shortest path is unique, exactly it
    expect(pathOf('paderborn-mwg1', 'nynet2-mwg2')).toEqual([
      'paderborn-mwg1',
      'paderborn-transit',
      'nynet2-transit',
      'nynet2-mwg2',
    ]);
    expect(pathOf('toknet2-mwg1', 'toknet2-mwg2')).toEqual(['toknet2-mwg1', 'toknet2-mwg2']);
    expect(pathOf('nynet1-mwg2', 'nynet2-transit')).toEqual([
      'nynet1-mwg2',
      'nynet1-transit',
      'nynet2-transit',
    ]);
    // toknet1's leaves go out through either of their two transit nodes
    expect(['toknet1-transit', 'toknet1-transit-2']).toContain(pathOf('toknet1-mwg1', 'paderborn-mwg2')?.[1]);
    expect(formatCmStatus(get('paderborn-mwg1').status())).toContain(
      'path: paderborn-mwg1 -> paderborn-transit -> nynet2-transit -> nynet2-mwg2',
    );
  }, 45_000);

  it('(c) runtime data set in Tokyo reaches every Tokyo node and never a node of New York or Paderborn', async () => {
    const abroadChanges: RuntimeChange[] = [];
    for (const n of ABROAD) get(n).runtime.onChange((c) => abroadChanges.push(c));
    // two Tokyo nodes of different networks count at once; a coaching value on a toknet1 leaf
    let sum = 0;
    for (let i = 1; i <= 10; i++) {
      get('toknet1-mwg1').runtime.increment('quota:alice', i, { period: '1d' });
      get('toknet2-mwg2').runtime.increment('quota:alice', 2 * i, { period: '1d' });
      sum += 3 * i;
    }
    get('toknet1-mwg1').runtime.set('coach:alice', { page: 'gambling', until: '18:00' }, { ttl: '1h' });
    // New York and Paderborn have data of their own
    get('nynet2-mwg1').runtime.set('override:bob', 'granted', { ttl: '10m' });
    get('paderborn-mwg2').runtime.increment('quota:alice', 5, { period: '1d' });
    await until('every Tokyo node has the exact sum and the coaching value', () =>
      TOKYO.every(
        (n) =>
          get(n).runtime.counter('quota:alice') === sum && get(n).runtime.get('coach:alice') !== undefined,
      ),
    );
    await until(
      'every New York node has the override, every Paderborn node its count',
      () =>
        site('newyork').every((n) => get(n).runtime.get('override:bob') === 'granted') &&
        site('paderborn').every((n) => get(n).runtime.counter('quota:alice') === 5),
    );
    // the Tokyo data went everywhere it could by now (every Tokyo node has it): none of it abroad
    for (const n of site('newyork')) expect(get(n).runtime.keys(), n).toEqual(['override:bob']);
    for (const n of site('paderborn')) expect(get(n).runtime.keys(), n).toEqual(['quota:alice']);
    for (const n of TOKYO) expect(get(n).runtime.keys(), n).toEqual(['coach:alice', 'quota:alice']);
    expect(abroadChanges.some((c) => c.key === 'coach:alice')).toBe(false);
    expect(abroadChanges.every((c) => c.key !== 'quota:alice' || c.value === 5)).toBe(true);
    // the members each node sees: its own site's nodes only (toknet1 and toknet2 together)
    expect(
      get('toknet2-mwg1')
        .status()
        .runtime?.members.map((m) => m.name)
        .sort(),
    ).toEqual([...TOKYO].sort());
    expect(
      get('nynet1-transit')
        .status()
        .runtime?.members.map((m) => m.name)
        .sort(),
    ).toEqual([...site('newyork')].sort());
  }, 45_000);

  it('(d) an update list downloaded in Tokyo reaches the Tokyo nodes only, downloaded once', async () => {
    get('toknet2-mwg1').checkUpdates();
    await until('every Tokyo node has the list', () =>
      TOKYO.every((n) => listOf(n)?.version === '2026.12.1'),
    );
    expect(requests.filter((r) => r === '/urlfilter.db')).toHaveLength(1);
    expect(listOf('toknet2-mwg1')).toMatchObject({ from: 'internet', sha256: LIST_SHA, size: LIST.length });
    for (const n of TOKYO.filter((x) => x !== 'toknet2-mwg1')) expect(TOKYO, n).toContain(listOf(n)?.from);
    // the Tokyo nodes are done; nothing of it abroad, though the transit nodes of all sites talk
    for (const n of ABROAD) {
      expect(listOf(n)?.version, n).toBeNull();
      expect(listOf(n)?.busy, n).toBeNull();
      expect(
        get(n)
          .status()
          .updates?.members.map((m) => m.name),
      ).not.toContain('toknet1-transit');
    }
    expect(
      timeline.some((e) => ABROAD.includes(e.node) && /Update(Installed|Download)/.test(e.message)),
    ).toBe(false);
  }, 45_000);

  it('(b) a stopped transit node holds the saves of its network until it returns; a second transit node carries them', async () => {
    // toknet2 has one transit node: stopped, a save on a toknet2 leaf stays in toknet2
    await stop('toknet2-transit');
    await until(
      'toknet2-mwg1 sees its transit node down',
      () => pathOf('toknet2-mwg1', 'nynet1-mwg1') === null,
    );
    const w = get('toknet2-mwg1').save(doc('<policy site="tokyo" network="toknet2"/>'));
    await until('toknet2-mwg2 has it (same network)', () => policyOf('toknet2-mwg2') === w.version);
    // anti-entropy rounds could not carry it either: there is no way out while the transit node is down
    await new Promise((r) => setTimeout(r, 1500));
    const others = NAMES.filter((n) => spec(n).network !== 'toknet2');
    for (const n of others) expect(policyOf(n), n).not.toBe(w.version);
    // it returns (same data directory and address): the save leaves through it, and only then
    const back = timeline.length;
    await start('toknet2-transit');
    await until('every node has the toknet2 save', () => allHave(NAMES, w.version));
    const returned = arrival('toknet2-transit', w.version, back);
    expect(returned).toBeGreaterThan(back);
    for (const n of others) expect(arrival(n, w.version, back), n).toBeGreaterThan(returned);

    // toknet1 has two transit nodes: with the first stopped, a save on a toknet1 leaf goes out through the second
    await stop('toknet1-transit');
    await until('the toknet1 leaf and nynet1-transit see it down', () =>
      [pathOf('toknet1-mwg1', 'toknet1-transit'), pathOf('nynet1-transit', 'toknet1-transit')].every(
        (p) => p === null,
      ),
    );
    expect(pathOf('toknet1-mwg1', 'nynet1-mwg2')).toEqual([
      'toknet1-mwg1',
      'toknet1-transit-2',
      'nynet1-transit',
      'nynet1-mwg2',
    ]);
    expect(pathOf('nynet1-transit', 'toknet1-mwg2')).toEqual([
      'nynet1-transit',
      'toknet1-transit-2',
      'toknet1-mwg2',
    ]);
    const up = NAMES.filter((n) => n !== 'toknet1-transit');
    const x = get('toknet1-mwg2').save(doc('<policy site="tokyo" network="toknet1" via="second transit"/>'));
    await until('every running node has it', () => allHave(up, x.version));
    // the first transit node catches up when it returns
    await start('toknet1-transit');
    await until('the first transit node caught up', () => policyOf('toknet1-transit') === x.version);
    await until('paths through it again', () => pathOf('nynet1-transit', 'toknet1-transit')?.length === 2);
    expect(new Set(NAMES.map((n) => get(n).storageTimestamp))).toEqual(new Set([x.storageTimestamp]));
  }, 60_000);
});

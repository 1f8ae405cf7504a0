// The nftables data plane in network namespaces (root): a director `d` holding the VIP, three nodes with
// real proxies (tinyproxy on n1 and n2, squid on n3; tinyproxy on d for its own share), and a client `c`
// with hundreds of source addresses and the origin web server the proxies fetch from (it answers with the
// address the request came from, i.e. which proxy served it).
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CommandRunner, runCommand } from '@proxyha/common';
import { describeNet, Lab, type ManagedProcess } from '@proxyha/testlab';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DataPlaneNode, type DataPlaneSettings, NftablesDataPlane } from '../src/dataplane/index';
import { clientBucket } from '../src/scheduler/scheduler';
import { buildOwners, NO_OWNER } from '../src/scheduler/table';
import type { BucketTable } from '../src/scheduler/types';
import { CLIENT_JS } from './dataplanes-lab';

const VIP = '192.168.77.74';
const PORT = 9090;
const ORIGIN_PORT = 8000;
const SOURCES = 300;
const NAMES = ['d', 'n1', 'n2', 'n3'] as const;

/** 10.77.<i / 250>.<1 + i % 250> */
const source = (i: number) => `10.77.${Math.floor(i / 250)}.${1 + (i % 250)}`;
/** Extra /24s for the persistence-mask test: 10.77.<10..17>.<1..4> */
const MASKED = Array.from({ length: 32 }, (_, i) => `10.77.${10 + Math.floor(i / 4)}.${1 + (i % 4)}`);

let lab: Lab;
let origin: string;
let clientScript: string;
const procs: ManagedProcess[] = [];
const byAddress = new Map<string, string>();

const ORIGIN_JS = `
const http = require('node:http');
http.createServer((req, res) => {
  const who = req.socket.remoteAddress.replace(/^::ffff:/, '');
  if (req.url.startsWith('/slow')) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(who + '\\n');
    let n = 0;
    const t = setInterval(() => {
      res.write('x'.repeat(1000));
      if (++n === 40) { clearInterval(t); res.end(); }
    }, 100);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
  res.end(who + '\\n');
}).listen(${ORIGIN_PORT}, process.argv[2], () => console.log('origin listening'));
`;

interface Probe {
  src: string;
  status?: number;
  body?: string;
  error?: string;
}

/** Fetches through the VIP from each source; returns the node name that served each (or the error). */
async function probe(sources: readonly string[], path = '/who', concurrency = 16): Promise<Probe[]> {
  const r = await lab.exec(
    'c',
    process.execPath,
    [clientScript, JSON.stringify({ vip: VIP, port: PORT, origin, path, sources, concurrency })],
    { timeoutMs: 60_000 },
  );
  return JSON.parse(r.stdout) as Probe[];
}

const servedBy = (p: Probe) =>
  p.body === undefined ? undefined : byAddress.get(p.body.split('\n')[0] ?? '');

const inD: CommandRunner = (file, args, options) =>
  runCommand('ip', ['netns', 'exec', lab.node('d').netns, file, ...args], options);

const settings = (prefix = 32): DataPlaneSettings => ({
  virtualIps: [`${VIP}/24`],
  redirects: [{ originalPort: PORT, destinationPort: PORT }],
  persistence: { ipv4PrefixLength: prefix, ipv6PrefixLength: 128 },
  interface: 'eth0',
  managementIp: lab.node('d').ipv4,
});

function nodesMap(): Map<string, DataPlaneNode> {
  return new Map(NAMES.map((n) => [n, { id: n, address: lab.node(n).ipv4, self: n === 'd' }]));
}

function makeTable(weights: readonly number[], size = 32749, seed = 0x70726f78): BucketTable {
  return { size, seed, nodes: [...NAMES], owners: buildOwners(NAMES, weights, size) };
}

const ownerOf = (t: BucketTable, src: string, prefix = 32): string | undefined => {
  const b = clientBucket(src, t, { ipv4PrefixLength: prefix, ipv6PrefixLength: 128 }) as number;
  const o = t.owners[b] as number;
  return o === NO_OWNER ? undefined : t.nodes[o];
};

/** conntrack entries of connections to VIP:PORT on d: client source, the reply's source (node), mark. */
async function conntrack(): Promise<{ src: string; replySrc: string; mark: number }[]> {
  const r = await lab.exec(
    'd',
    'conntrack',
    ['-L', '-p', 'tcp', '--orig-dst', VIP, '--dport', String(PORT)],
    {
      allowFailure: true,
    },
  );
  const out: { src: string; replySrc: string; mark: number }[] = [];
  for (const line of r.stdout.split('\n')) {
    const srcs = [...line.matchAll(/\bsrc=(\S+)/g)].map((m) => m[1] as string);
    const mark = /\bmark=(\d+)/.exec(line);
    if (srcs.length >= 2 && mark)
      out.push({ src: srcs[0] as string, replySrc: srcs[1] as string, mark: Number(mark[1]) });
  }
  return out;
}

async function withDataPlane<T>(
  s: DataPlaneSettings,
  body: (dp: NftablesDataPlane) => Promise<T>,
  group = 51,
): Promise<T> {
  const dp = new NftablesDataPlane({ settings: s, group, run: inD });
  try {
    return await body(dp);
  } finally {
    await dp.stop();
  }
}

async function squid(node: string, port: number): Promise<ManagedProcess> {
  const dir = await lab.runDir('squid');
  await mkdir(join(dir, 'logs'), { recursive: true });
  await chmod(dir, 0o777);
  await chmod(join(dir, 'logs'), 0o777);
  const conf = join(dir, 'squid.conf');
  await writeFile(
    conf,
    [
      `http_port ${port}`,
      'http_access allow all',
      'cache deny all',
      `pid_filename ${dir}/squid.pid`,
      `access_log none`,
      `cache_log ${dir}/logs/cache.log`,
      `coredump_dir ${dir}`,
      `visible_hostname ${node}`,
      'dns_nameservers 127.0.0.1',
      'shutdown_lifetime 0 seconds',
      'forwarded_for delete',
      '',
    ].join('\n'),
  );
  const p = lab.spawn(node, '/usr/sbin/squid', ['-N', '-f', conf], { name: `squid:${node}` });
  await lab.waitForTcp(node, lab.node(node).ipv4, port, 30_000, p);
  return p;
}

describeNet('nftables data plane (namespaces)', () => {
  beforeAll(async () => {
    lab = await Lab.create({ nodes: ['d', 'n1', 'n2', 'n3', 'c'], ipv6: false });
    origin = `${lab.node('c').ipv4}:${ORIGIN_PORT}`;
    for (const n of NAMES) byAddress.set(lab.node(n).ipv4, n);
    const dir = await lab.runDir('nft-client');
    clientScript = join(dir, 'client.cjs');
    await writeFile(clientScript, CLIENT_JS);
    await writeFile(join(dir, 'origin.cjs'), ORIGIN_JS);
    await lab.exec('d', 'ip', ['addr', 'add', `${VIP}/24`, 'dev', 'eth0']);
    await lab.exec('d', 'ip', ['route', 'add', '10.77.0.0/16', 'via', lab.node('c').ipv4]);
    const batch = [...Array.from({ length: SOURCES }, (_, i) => source(i)), ...MASKED]
      .map((a) => `addr add ${a}/32 dev eth0`)
      .join('\n');
    await lab.exec('c', 'ip', ['-batch', '-'], { input: `${batch}\n` });
    const o = lab.spawn('c', process.execPath, [join(dir, 'origin.cjs'), lab.node('c').ipv4], {
      name: 'origin',
    });
    await o.waitForOutput(/origin listening/, 10_000);
    procs.push(o);
    for (const n of ['d', 'n1', 'n2'])
      procs.push(await lab.tinyproxy({ node: n, port: PORT, address: '0.0.0.0' }));
    procs.push(await squid('n3', PORT));
  }, 120_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it('lands every client on the node the table says: the kernel jhash equals clientBucket; same source, same node; the director serves its share', async () => {
    await withDataPlane(settings(), async (dp) => {
      await dp.start();
      const t = makeTable([1, 2, 2, 3]);
      await dp.apply({ table: t, nodes: nodesMap(), changedBuckets: 'all' });
      expect(dp.lastApply?.mode).toBe('full');
      /* read back: every bucket has its element */
      const state = await dp.readState();
      const elements = state.maps.get('b4_9090')?.elements;
      expect(elements?.size).toBe(t.size);
      for (let b = 0; b < t.size; b += 97)
        expect(elements?.get(b)?.address).toBe(lab.node(t.nodes[t.owners[b] as number] as string).ipv4);

      await lab.exec('d', 'conntrack', ['-F'], { allowFailure: true });
      const sources = Array.from({ length: SOURCES }, (_, i) => source(i));
      const results = await probe(sources);
      const expected = new Map<string, number>();
      const got = new Map<string, number>();
      for (const r of results) {
        expect(r.error, r.src).toBeUndefined();
        expect(r.status).toBe(200);
        const want = ownerOf(t, r.src) as string;
        expect(servedBy(r), r.src).toBe(want);
        expected.set(want, (expected.get(want) ?? 0) + 1);
        const g = servedBy(r) as string;
        got.set(g, (got.get(g) ?? 0) + 1);
      }
      /* the spread follows the table, and every node (the director itself included) served clients */
      expect(got).toEqual(expected);
      for (const n of NAMES) expect(got.get(n) ?? 0).toBeGreaterThan(0);

      /* the bucket the kernel computed (ct mark) is clientBucket's for every source */
      const ct = await conntrack();
      const seen = new Set<string>();
      for (const e of ct) {
        if (!e.src.startsWith('10.77.')) continue;
        seen.add(e.src);
        expect(e.mark, e.src).toBe(clientBucket(e.src, t, { ipv4PrefixLength: 32, ipv6PrefixLength: 128 }));
        expect(byAddress.get(e.replySrc), e.src).toBe(ownerOf(t, e.src));
      }
      expect(seen.size).toBe(SOURCES);

      /* the same source lands on the same node again */
      const again = await probe(sources.slice(0, 80));
      for (const r of again) expect(servedBy(r), r.src).toBe(ownerOf(t, r.src));

      const stats = await dp.refreshStats();
      expect(stats.accepted).toBe(SOURCES + 80);
      expect(stats.failed).toBe(0);
    });
  });

  it('keys clients by their /24 with a persistence mask', async () => {
    await withDataPlane(
      settings(24),
      async (dp) => {
        await dp.start();
        const t = makeTable([1, 1, 1, 1], 4093, 12345);
        await dp.apply({ table: t, nodes: nodesMap(), changedBuckets: 'all' });
        await lab.exec('d', 'conntrack', ['-F'], { allowFailure: true });
        const results = await probe(MASKED);
        const per24 = new Map<string, Set<string>>();
        for (const r of results) {
          expect(r.error, r.src).toBeUndefined();
          expect(servedBy(r), r.src).toBe(ownerOf(t, r.src, 24));
          const net = r.src.split('.').slice(0, 3).join('.');
          per24.set(net, (per24.get(net) ?? new Set()).add(servedBy(r) as string));
        }
        for (const nodes of per24.values()) expect(nodes.size).toBe(1);
        expect(new Set([...per24.values()].map((s) => [...s][0])).size).toBeGreaterThan(1);
        for (const e of await conntrack())
          if (e.src.startsWith('10.77.'))
            expect(e.mark, e.src).toBe(
              clientBucket(e.src, t, { ipv4PrefixLength: 24, ipv6PrefixLength: 128 }),
            );
      },
      52,
    );
  });

  it('a delta moves only the changed buckets; a long transfer through a node that lost its buckets completes', async () => {
    await withDataPlane(settings(), async (dp) => {
      await dp.start();
      const t1 = makeTable([1, 1, 1, 1]);
      await dp.apply({ table: t1, nodes: nodesMap(), changedBuckets: 'all' });
      const sources = Array.from({ length: 120 }, (_, i) => source(i));
      const longSrc = sources.find((s) => ownerOf(t1, s) === 'n1') as string;
      /* start a 4 s transfer through n1 */
      const long = probe([longSrc], '/slow', 1);
      await new Promise((r) => setTimeout(r, 500));
      /* n1 loses every bucket to n2 */
      const owners = t1.owners.slice();
      const n1 = NAMES.indexOf('n1');
      const n2 = NAMES.indexOf('n2');
      const changed: number[] = [];
      owners.forEach((o, b) => {
        if (o === n1) {
          owners[b] = n2;
          changed.push(b);
        }
      });
      const t2: BucketTable = { ...t1, owners };
      await dp.apply({ table: t2, nodes: nodesMap(), changedBuckets: changed });
      expect(dp.lastApply).toMatchObject({ mode: 'delta', changedBuckets: changed.length });
      const after = await probe(sources);
      for (const r of after) {
        expect(r.error, r.src).toBeUndefined();
        const before = ownerOf(t1, r.src);
        expect(servedBy(r), r.src).toBe(before === 'n1' ? 'n2' : before);
      }
      const [l] = await long;
      expect(l?.error).toBeUndefined();
      expect(servedBy(l as Probe)).toBe('n1');
      expect(l?.body?.length).toBe(lab.node('n1').ipv4.length + 1 + 40_000);
    });
  });

  it('drops no connection while deltas are applied under a probe loop', async () => {
    await withDataPlane(settings(), async (dp) => {
      await dp.start();
      const weights = [
        [1, 1, 1, 1],
        [1, 2, 1, 1],
        [1, 2, 0, 1],
        [2, 1, 1, 3],
        [1, 1, 1, 0],
      ];
      const tables = weights.map((w) => makeTable(w));
      await dp.apply({ table: tables[0] as BucketTable, nodes: nodesMap(), changedBuckets: 'all' });
      const sources = Array.from({ length: 120 }, (_, i) => source((i * 7) % SOURCES));
      const probes = probe(sources, '/who', 2);
      let deltas = 0;
      let done = false;
      void probes.finally(() => {
        done = true;
      });
      for (let i = 1; !done && i < 200; i++) {
        await dp.apply({
          table: tables[i % tables.length] as BucketTable,
          nodes: nodesMap(),
          changedBuckets: 'all',
        });
        if (dp.lastApply?.mode === 'delta') deltas++;
      }
      const results = await probes;
      expect(deltas).toBeGreaterThan(2);
      const failed = results.filter((r) => r.error !== undefined || r.status !== 200);
      expect(failed).toEqual([]);
      for (const r of results) expect(NAMES).toContain(servedBy(r));
    });
  });

  it('start replaces a stale table, resets clients of buckets without owner, sets ip_forward; stop leaves nothing of ours', async () => {
    await lab.exec('d', 'sysctl', ['-qw', 'net.ipv4.ip_forward=0']);
    await lab.exec('d', 'nft', ['-f', '-'], {
      input: `table inet proxyha_lb_51 {
  map b4_9090 { type mark : ipv4_addr . inet_service; elements = { 1 : 10.9.9.9 . 1 } }
  chain stale { type nat hook prerouting priority dstnat; policy accept; tcp dport 9090 dnat ip to 10.9.9.9; }
}
table ip someone_else {
  chain keep { type filter hook input priority 0; policy accept; counter; }
}
`,
    });
    const dp = new NftablesDataPlane({ settings: settings(), group: 51, run: inD });
    await dp.start();
    expect((await lab.exec('d', 'sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe('1');
    const state = await dp.readState();
    expect(state.maps.size).toBe(0);
    expect(state.chains.map((c) => c.name).sort()).toEqual(['postrouting', 'prerouting']);
    /* before the first table and for buckets without owner: a TCP reset */
    const early = await probe([source(0)]);
    expect(early[0]?.error).toBe('ECONNREFUSED');
    const none = makeTable([0, 0, 0, 0]);
    expect(none.owners.every((o) => o === NO_OWNER)).toBe(true);
    const half = makeTable([0, 1, 0, 0]);
    /* n1 owns everything except the buckets we clear */
    const owners = half.owners.slice();
    const cleared = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const b = clientBucket(source(i), half, { ipv4PrefixLength: 32, ipv6PrefixLength: 128 }) as number;
      if (i % 2 === 0) {
        owners[b] = NO_OWNER;
        cleared.add(source(i));
      }
    }
    await dp.apply({ table: { ...half, owners }, nodes: nodesMap(), changedBuckets: 'all' });
    const results = await probe(Array.from({ length: 20 }, (_, i) => source(i)));
    for (const r of results)
      if (cleared.has(r.src)) expect(r.error, r.src).toBe('ECONNREFUSED');
      else expect(servedBy(r), r.src).toBe('n1');
    expect((await dp.refreshStats()).failed).toBe(cleared.size + 1);

    await dp.stop();
    const ruleset = (await lab.exec('d', 'nft', ['list', 'ruleset'])).stdout;
    expect(ruleset).not.toContain('proxyha');
    expect(ruleset).toContain('table ip someone_else');
    expect((await lab.exec('d', 'sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe('0');
    /* idempotent */
    await dp.stop();
    await lab.exec('d', 'nft', ['delete', 'table', 'ip', 'someone_else']);
  });
});

describeNet('nftables data plane, IPv6 VIP (namespaces)', () => {
  it('lands IPv6 clients on the table’s node: the kernel jhash of 16 bytes equals clientBucket', async () => {
    const v6 = await Lab.create({ nodes: ['d', 'n1', 'n2', 'c'] });
    try {
      const VIP6 = 'fd77::74';
      const names = ['d', 'n1', 'n2'];
      await v6.exec('d', 'ip', ['addr', 'add', `${VIP6}/64`, 'dev', 'eth0', 'nodad']);
      const sources = Array.from({ length: 40 }, (_, i) => `fd77::1:${(i + 1).toString(16)}`);
      await v6.exec('c', 'ip', ['-batch', '-'], {
        input: `${sources.map((a) => `addr add ${a}/128 dev eth0 nodad`).join('\n')}\n`,
      });
      for (const n of names)
        v6.spawn(n, 'socat', [`TCP6-LISTEN:${PORT},reuseaddr,fork`, `SYSTEM:echo ${n}`], {
          name: `echo:${n}`,
        });
      for (const n of names) await v6.waitForTcp('c', v6.node(n).ipv6, PORT);
      const run: CommandRunner = (file, args, options) =>
        runCommand('ip', ['netns', 'exec', v6.node('d').netns, file, ...args], options);
      const dp = new NftablesDataPlane({
        settings: {
          virtualIps: [`${VIP6}/64`],
          redirects: [{ originalPort: PORT, destinationPort: PORT }],
          persistence: { ipv4PrefixLength: 32, ipv6PrefixLength: 128 },
          interface: 'eth0',
          managementIp: v6.node('d').ipv6,
        },
        group: 53,
        run,
      });
      try {
        await dp.start();
        expect((await v6.exec('d', 'sysctl', ['-n', 'net.ipv6.conf.all.forwarding'])).stdout.trim()).toBe(
          '1',
        );
        const t: BucketTable = {
          size: 4093,
          seed: 0xdeadbeef,
          nodes: names,
          owners: buildOwners(names, [1, 1, 1], 4093),
        };
        const nodes = new Map(names.map((n) => [n, { id: n, address: v6.node(n).ipv6, self: n === 'd' }]));
        await dp.apply({ table: t, nodes, changedBuckets: 'all' });
        const seen = new Set<string>();
        for (const src of sources) {
          const r = await v6.exec(
            'c',
            'socat',
            ['-u', `TCP6:[${VIP6}]:${PORT},bind=[${src}],connect-timeout=5`, '-'],
            {
              timeoutMs: 10_000,
            },
          );
          const b = clientBucket(src, t, { ipv4PrefixLength: 32, ipv6PrefixLength: 128 }) as number;
          expect(r.stdout.trim(), src).toBe(t.nodes[t.owners[b] as number]);
          seen.add(r.stdout.trim());
        }
        expect(seen.size).toBe(3);
        const ct = await v6.exec(
          'd',
          'conntrack',
          ['-L', '-f', 'ipv6', '-p', 'tcp', '--dport', String(PORT)],
          {
            allowFailure: true,
          },
        );
        let checked = 0;
        for (const line of ct.stdout.split('\n')) {
          const src = /\bsrc=(\S+)/.exec(line)?.[1];
          const mark = /\bmark=(\d+)/.exec(line)?.[1];
          if (src === undefined || mark === undefined || !src.startsWith('fd77::1:')) continue;
          expect(Number(mark), src).toBe(
            clientBucket(src, t, { ipv4PrefixLength: 32, ipv6PrefixLength: 128 }),
          );
          checked++;
        }
        expect(checked).toBe(sources.length);
      } finally {
        await dp.stop();
      }
      expect((await v6.exec('d', 'nft', ['list', 'ruleset'])).stdout).not.toContain('proxyha');
      expect((await v6.exec('d', 'sysctl', ['-n', 'net.ipv6.conf.all.forwarding'])).stdout.trim()).toBe('0');
    } finally {
      await v6.destroy();
    }
  });
});

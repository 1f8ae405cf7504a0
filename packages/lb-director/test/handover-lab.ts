// The handover lab of bench/handover.mjs and test/handover.net.test.ts (root, network namespaces): client
// `c` with 2N source addresses, directors `a` and `b` running the nftables data plane with the same table
// and seed, nodes n1..n3 running a line server on :9090. The client opens N request/response connections
// (it sends a line every 250 ms, the node answers) and N server-speaks-first connections (after one PUSH
// line the node sends a line every 250 ms and the client never writes again) through VIP:9090 on `a`;
// then the VIP moves to `b` and the client reports which connections still work.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CommandRunner, runCommand } from '@proxyha/common';
import { Lab } from '@proxyha/testlab';
import { ConntrackSync } from '../src/dataplane/conntrack-sync';
import { NftablesDataPlane } from '../src/dataplane/nftables';
import type { DataPlaneNode } from '../src/dataplane/types';
import { buildOwners } from '../src/scheduler/table';
import type { BucketTable } from '../src/scheduler/types';

/**
 * - `baseline`: b loads its table when it becomes director (start + apply after the VIP arrived);
 * - `preload`: b's table is loaded before the move (kept loaded on every candidate);
 * - `loose=0`: preload, with net.netfilter.nf_conntrack_tcp_loose=0 on b (no mid-stream pickup);
 * - `conntrackd`: preload + conntrackd FTFW between a and b over the LAN; b runs `-c -f -R -B`
 *   (ConntrackSync.takeOver) right after the VIP arrived, a runs `-t -n` (standBy) on a planned move.
 */
export type HandoverVariant = 'baseline' | 'preload' | 'loose=0' | 'conntrackd';
/**
 * `planned`: a deletes the VIP (table and conntrackd stay), b adds it and sends gratuitous ARP;
 * `crash`: a's link goes down with everything in place (its conntrackd SIGKILLed), b takes the VIP 1 s later.
 */
export type HandoverMove = 'planned' | 'crash';

export interface HandoverConn {
  kind: 'rr' | 'push';
  src: string;
  error: string | null;
  /** No error, a message in the last 1.5 s, and at least one since the move. */
  alive: boolean;
  /** ms from the move to the first message after it. */
  gapMs: number;
}

export interface HandoverResult {
  variant: HandoverVariant;
  move: HandoverMove;
  n: number;
  /** Request/response connections that survived. */
  rr: number;
  /** Server-speaks-first connections that survived. */
  push: number;
  /** Connections that failed before the move. */
  failedBefore: number;
  /** How the lost ones ended, per kind (`ECONNRESET 3, silent 2`). */
  rrLost: string;
  pushLost: string;
  /** ms from the move's start until b had taken over (VIP, table load, commit). */
  takeoverMs: number;
  /** Median ms from the move to the first message of a surviving connection. */
  medianGapMs: number | undefined;
  /** Entries for :9090 in b's conntrackd external cache before the move. */
  synced: number;
  conns: HandoverConn[];
}

export const VIP = '192.168.77.74';
const PORT = 9090;
const NODES = ['n1', 'n2', 'n3'];
const SEED = 0x70726f78;

const SERVER_JS = `
const net = require('node:net');
net.createServer((s) => {
  let buf = '', timer;
  s.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\\n')) >= 0) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1);
      if (line === 'PUSH') { let k = 0; timer = setInterval(() => s.write('TICK ' + k++ + '\\n'), 250); }
      else s.write('PONG ' + line + '\\n');
    }
  });
  s.on('error', () => {}); s.on('close', () => clearInterval(timer));
}).listen(${PORT}, '0.0.0.0', () => console.log('listening'));
`;

/** argv[2] = JSON { vip, port, rr: [src], push: [src] }; SIGUSR1 marks the move, SIGUSR2 prints a JSON report. */
const CLIENT_JS = `
const net = require('node:net');
const o = JSON.parse(process.argv[2]);
const conns = [];
let mark = 0;
function open(kind, src) {
  const c = { kind, src, error: null, last: 0, afterMark: 0, firstAfterMark: 0, ready: false };
  conns.push(c);
  const s = net.connect({ host: o.vip, port: o.port, localAddress: src });
  let n = 0, timer;
  s.setEncoding('utf8');
  s.on('connect', () => {
    if (kind === 'push') s.write('PUSH\\n');
    else timer = setInterval(() => s.write('P' + n++ + '\\n'), 250);
  });
  s.on('data', () => {
    const now = Date.now();
    c.ready = true; c.last = now;
    if (mark && now > mark) { c.afterMark++; if (!c.firstAfterMark) c.firstAfterMark = now - mark; }
  });
  s.on('error', (e) => { c.error = c.error || e.code || String(e); clearInterval(timer); });
  s.on('close', () => { c.error = c.error || 'closed'; clearInterval(timer); });
}
o.rr.forEach((s) => open('rr', s));
o.push.forEach((s) => open('push', s));
const ready = setInterval(() => {
  if (conns.every((c) => c.ready || c.error)) { clearInterval(ready); console.log('READY ' + conns.filter((c) => c.error).length); }
}, 50);
process.on('SIGUSR1', () => { mark = Date.now(); });
process.on('SIGUSR2', () => {
  const now = Date.now();
  console.log('REPORT ' + JSON.stringify(conns.map((c) => ({ kind: c.kind, src: c.src, error: c.error,
    alive: !c.error && now - c.last < 1500 && c.afterMark > 0, gapMs: c.firstAfterMark }))));
});
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const source = (i: number) => `10.77.${Math.floor(i / 250)}.${1 + (i % 250)}`;

/** Runs one handover in a lab of its own (created and destroyed here). */
export async function runHandover(o: {
  variant: HandoverVariant;
  move: HandoverMove;
  /** Connections of each kind; default 30. */
  n?: number;
  /** Buckets of the table; default 32749. */
  tableSize?: number;
  /** How long after the move the client reports; default 6000 ms. */
  settleMs?: number;
}): Promise<HandoverResult> {
  const { variant, move } = o;
  const n = o.n ?? 30;
  const size = o.tableSize ?? 32749;
  const lab = await Lab.create({ nodes: ['a', 'b', 'n1', 'n2', 'n3', 'c'], ipv6: false });
  try {
    const dir = await lab.runDir('handover');
    await writeFile(join(dir, 'server.cjs'), SERVER_JS);
    await writeFile(join(dir, 'client.cjs'), CLIENT_JS);
    const inNs =
      (node: string): CommandRunner =>
      (file, args, options) =>
        runCommand('ip', ['netns', 'exec', lab.node(node).netns, file, ...args], options);
    const nodes = new Map<string, DataPlaneNode>(
      NODES.map((id) => [id, { id, address: lab.node(id).ipv4, self: false }]),
    );
    const table: BucketTable = {
      size,
      seed: SEED,
      nodes: [...NODES],
      owners: buildOwners(NODES, [1, 1, 1], size),
    };
    const plane = (d: string) =>
      new NftablesDataPlane({
        settings: {
          virtualIps: [`${VIP}/24`],
          redirects: [{ originalPort: PORT, destinationPort: PORT }],
          persistence: { ipv4PrefixLength: 32, ipv6PrefixLength: 128 },
          interface: 'eth0',
          managementIp: lab.node(d).ipv4,
        },
        group: 51,
        run: inNs(d),
      });
    const load = async (p: NftablesDataPlane) => {
      await p.start();
      await p.apply({ table, nodes, changedBuckets: 'all' });
    };
    const batch = Array.from({ length: 2 * n }, (_, i) => `addr add ${source(i)}/32 dev eth0`).join('\n');
    await lab.exec('c', 'ip', ['-batch', '-'], { input: `${batch}\n` });
    for (const d of ['a', 'b'])
      await lab.exec(d, 'ip', ['route', 'add', '10.77.0.0/16', 'via', lab.node('c').ipv4]);
    for (const id of NODES) {
      const p = lab.spawn(id, process.execPath, [join(dir, 'server.cjs')], { name: `server:${id}` });
      await p.waitForOutput(/listening/, 10_000);
    }
    const pa = plane('a');
    const pb = plane('b');
    await load(pa);
    if (variant !== 'baseline') await load(pb);
    if (variant === 'loose=0')
      await lab.exec('b', 'sysctl', ['-qw', 'net.netfilter.nf_conntrack_tcp_loose=0']);
    const sync = new Map<string, ConntrackSync>();
    const ctd = new Map<string, ReturnType<Lab['spawn']>>();
    if (variant === 'conntrackd') {
      for (const [d, peer] of [
        ['a', 'b'],
        ['b', 'a'],
      ] as const) {
        const configFile = join(dir, `conntrackd-${d}.conf`);
        const s = new ConntrackSync({
          localAddress: lab.node(d).ipv4,
          peerAddress: lab.node(peer).ipv4,
          interface: 'eth0',
          ignoreAddresses: [lab.node('a').ipv4, lab.node('b').ipv4],
          socketPath: join(dir, `conntrackd-${d}.ctl`),
          lockFile: join(dir, `conntrackd-${d}.lock`),
          logFile: join(dir, `conntrackd-${d}.log`),
          configFile,
          run: inNs(d),
        });
        sync.set(d, s);
        await writeFile(configFile, s.config());
        ctd.set(d, lab.spawn(d, 'conntrackd', ['-C', configFile], { name: `conntrackd:${d}` }));
      }
      await sleep(500);
    }
    const garp = (d: string) =>
      lab.exec(d, 'arping', ['-q', '-U', '-c', '1', '-I', 'eth0', '-s', VIP, VIP], { allowFailure: true });
    await lab.exec('a', 'ip', ['addr', 'add', `${VIP}/24`, 'dev', 'eth0']);
    await garp('a');
    const rr = Array.from({ length: n }, (_, i) => source(i));
    const push = Array.from({ length: n }, (_, i) => source(n + i));
    const client = lab.spawn(
      'c',
      process.execPath,
      [join(dir, 'client.cjs'), JSON.stringify({ vip: VIP, port: PORT, rr, push })],
      { name: 'client' },
    );
    const ready = await client.waitForOutput(/READY (\d+)/, 20_000);
    const failedBefore = Number(ready[1]);
    await sleep(1000); // some traffic; conntrackd has sent the entries
    const synced =
      variant === 'conntrackd'
        ? (
            await lab.exec('b', 'conntrackd', ['-C', join(dir, 'conntrackd-b.conf'), '-e'], {
              allowFailure: true,
            })
          ).stdout
            .split('\n')
            .filter((l) => l.includes(`dport=${PORT}`)).length
        : 0;
    client.signal('SIGUSR1');
    const t0 = Date.now();
    let takeoverMs = 0;
    const takeOver = async () => {
      await lab.exec('b', 'ip', ['addr', 'add', `${VIP}/24`, 'dev', 'eth0']);
      const arp = garp('b');
      if (variant === 'baseline') await load(pb);
      const steps = (await sync.get('b')?.takeOver()) ?? [];
      for (const s of steps) if (!s.ok) console.error(`b: conntrackd ${s.flag}: ${s.message}`);
      takeoverMs = Date.now() - t0;
      await arp;
    };
    if (move === 'planned') {
      await lab.exec('a', 'ip', ['addr', 'del', `${VIP}/24`, 'dev', 'eth0']);
      await takeOver();
      await sync.get('a')?.standBy();
    } else {
      await lab.exec('a', 'ip', ['link', 'set', 'eth0', 'down']);
      await ctd.get('a')?.kill('SIGKILL');
      await sleep(1000);
      await takeOver();
    }
    await sleep(o.settleMs ?? 6000);
    const at = client.stdout().length;
    client.signal('SIGUSR2');
    const m = await client.waitForOutput(/REPORT (.*)\n/, 10_000, at);
    const conns = JSON.parse(m[1] as string) as HandoverConn[];
    const count = (kind: string) => conns.filter((c) => c.kind === kind && c.alive).length;
    const lost = (kind: string) => {
      const e = new Map<string, number>();
      for (const c of conns)
        if (c.kind === kind && !c.alive) e.set(c.error ?? 'silent', (e.get(c.error ?? 'silent') ?? 0) + 1);
      return [...e].map(([k, v]) => `${k} ${v}`).join(', ');
    };
    const gaps = conns
      .filter((c) => c.alive)
      .map((c) => c.gapMs)
      .sort((x, y) => x - y);
    return {
      variant,
      move,
      n,
      rr: count('rr'),
      push: count('push'),
      failedBefore,
      rrLost: lost('rr'),
      pushLost: lost('push'),
      takeoverMs,
      medianGapMs: gaps[Math.floor(gaps.length / 2)],
      synced,
      conns,
    };
  } finally {
    await lab.destroy();
  }
}

#!/usr/bin/env node
// The unprivileged VRRP demo: three proxyha-vrrpd routers on loopback (127.0.0.11-13,
// VRRP messages over UDP) share the VIP 127.0.0.74. The master listens on
// 127.0.0.74:<ownerPort> and answers with its name, so anyone can see who holds the VIP.
// The demo checks each step and exits non-zero if the cluster does not behave:
//   1. election: the highest priority (router-a, 150) becomes master
//   2. SIGTERM router-a: it sends priority 0, router-b (100) takes over after Skew_Time
//   3. router-a returns and preempts router-b
//   4. SIGKILL router-a (no priority 0): router-b takes over after Master_Down_Interval
// Usage: node loopback-cluster.mjs [--interval 1s|100ms] [--port 5112] [--owner-port 8074] [--quiet]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    interval: { type: 'string', default: '1s' },
    port: { type: 'string', default: '5112' },
    'owner-port': { type: 'string', default: '8074' },
    quiet: { type: 'boolean', default: false },
  },
});
// the built daemon; PROXYHA_VRRPD_COMMAND (a JSON array: program and arguments) runs another, as the
// package's tests do to run it from its sources
const command = process.env.PROXYHA_VRRPD_COMMAND
  ? JSON.parse(process.env.PROXYHA_VRRPD_COMMAND)
  : [process.execPath, join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js')];
const VIP = '127.0.0.74';
const ownerPort = Number(args['owner-port']);
const routers = [
  { name: 'router-a', address: '127.0.0.11', priority: 150 },
  { name: 'router-b', address: '127.0.0.12', priority: 100 },
  { name: 'router-c', address: '127.0.0.13', priority: 50 },
];
const dir = mkdtempSync(join(tmpdir(), 'proxyha-demo-'));
const procs = new Map();
const say = (line) => process.stdout.write(`demo: ${line}\n`);

for (const r of routers) {
  r.config = join(dir, `${r.name}.yaml`);
  writeFileSync(
    r.config,
    `# ${r.name}: proxyha-vrrpd on loopback
transport: loopback
loopback: { port: ${Number(args.port)}, ownerPort: ${ownerPort} }
instances:
  - name: VI_1
    interface: lo
    vrid: 51
    priority: ${r.priority}
    version: 3
    advertInterval: "${args.interval}"
    virtualIps: ["${VIP}/8"]
    sourceAddress: ${r.address}
    unicastPeers: [${routers
      .filter((o) => o !== r)
      .map((o) => o.address)
      .join(', ')}]
`,
  );
}

function start(r) {
  const p = spawn(command[0], [...command.slice(1), '--config', r.config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buf = '';
  const onData = (d) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!args.quiet) process.stdout.write(`${r.name.padEnd(9)}| ${line}\n`);
    }
  };
  p.stdout.setEncoding('utf8').on('data', onData);
  p.stderr.setEncoding('utf8').on('data', onData);
  p.exited = new Promise((res) => p.once('exit', (code, signal) => res({ code, signal })));
  procs.set(r.name, p);
  return p;
}

/** Who answers on the VIP: the master's name, or undefined when nobody holds it. */
function owner() {
  return new Promise((resolve) => {
    const s = connect({ host: VIP, port: ownerPort, timeout: 500 });
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (d) => {
      data += d;
    });
    s.on('end', () => resolve(data.trim() || undefined));
    s.on('error', () => resolve(undefined));
    s.on('timeout', () => {
      s.destroy();
      resolve(undefined);
    });
  });
}

async function waitForOwner(expectedAddress, withinMs) {
  const started = Date.now();
  for (;;) {
    const o = await owner();
    if (o?.endsWith(expectedAddress)) return { owner: o, ms: Date.now() - started };
    if (Date.now() - started > withinMs)
      throw new Error(`VIP owner is ${o ?? 'nobody'} after ${withinMs} ms, expected ${expectedAddress}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stop(name, signal) {
  const p = procs.get(name);
  p.kill(signal);
  await p.exited;
  procs.delete(name);
}

// interrupted (Ctrl-C, a test timeout): take the routers down too, then leave
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    for (const p of procs.values()) p.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
}

const intervalMs = args.interval.endsWith('ms')
  ? Number.parseFloat(args.interval)
  : Number.parseFloat(args.interval) * 1000;
// How long to wait for each step before giving up: generous, because a router started from source on a
// busy machine can take seconds before its first advert. The times printed are what was measured; the
// VRRP timers themselves are checked on a virtual clock by the package's tests.
const slack = 30_000;
let failed = false;
try {
  say(
    `three routers on loopback, VIP ${VIP}, adverts every ${args.interval}; owner answers on ${VIP}:${ownerPort}`,
  );
  for (const r of routers) start(r);
  let w = await waitForOwner('127.0.0.11', 3 * intervalMs + slack);
  say(`1. elected: VIP ${VIP} is held by "${w.owner}"`);

  await stop('router-a', 'SIGTERM');
  w = await waitForOwner('127.0.0.12', slack);
  say(`2. router-a stopped (SIGTERM, priority 0): "${w.owner}" holds the VIP ${w.ms} ms later`);

  start(routers[0]);
  w = await waitForOwner('127.0.0.11', 3 * intervalMs + slack);
  say(`3. router-a is back and preempted: "${w.owner}" holds the VIP`);

  await stop('router-a', 'SIGKILL');
  w = await waitForOwner('127.0.0.12', 3 * intervalMs + slack);
  say(`4. router-a killed (SIGKILL, no goodbye): "${w.owner}" holds the VIP ${w.ms} ms later`);
  say('all steps passed');
} catch (e) {
  failed = true;
  say(`FAILED: ${e.message}`);
} finally {
  await Promise.all([...procs.keys()].map((n) => stop(n, 'SIGTERM')));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

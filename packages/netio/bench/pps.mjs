#!/usr/bin/env node
// Packets per second, sent and received, for 40-byte payloads: raw IP protocol 253 through
// @proxyha/netio versus a plain node:dgram UDP socket (the baseline), between two network
// namespaces joined by a veth pair that this script creates and removes. Needs root and a
// built package (`pnpm --filter @proxyha/netio build`). Usage: node bench/pps.mjs [seconds] [rounds]
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

const seconds = Number(process.argv[2] ?? 3);
const rounds = Number(process.argv[3] ?? 3);
const worker = join(import.meta.dirname, 'worker.mjs');
const tag = `nb${process.pid}`;
const [nsA, nsB, ifA, ifB] = [`${tag}-a`, `${tag}-b`, `${tag}a`, `${tag}b`];
const [ipA, ipB] = ['10.253.0.1', '10.253.0.2'];

function sh(...args) {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}
function cleanup() {
  spawnSync('ip', ['netns', 'del', nsA]);
  spawnSync('ip', ['netns', 'del', nsB]);
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

function start(ns, args) {
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, worker, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  p.stdout.on('data', (d) => {
    out += d;
  });
  return { p, output: () => out };
}

async function waitFor(proc, re) {
  while (!re.test(proc.output())) {
    if (proc.p.exitCode !== null) throw new Error(`worker exited: ${proc.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function measure(mode) {
  const rx = start(nsB, ['recv', mode, ifB, ipB, String(seconds)]);
  await waitFor(rx, /READY/);
  const tx = start(nsA, ['send', mode, ifA, ipB, String(seconds)]);
  await once(tx.p, 'exit');
  const { sent, elapsed } = JSON.parse(tx.output().trim().split('\n').pop());
  await new Promise((r) => setTimeout(r, 300));
  rx.p.stdin.write('stop\n');
  await once(rx.p, 'exit');
  const { received } = JSON.parse(rx.output().trim().split('\n').pop());
  return { sentPps: sent / elapsed, recvPps: received / elapsed, loss: 1 - received / sent };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  if (process.getuid?.() !== 0) throw new Error('needs root (namespaces, raw sockets)');
  cleanup();
  sh('netns', 'add', nsA);
  sh('netns', 'add', nsB);
  sh('link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB);
  for (const [ns, ifname, ip] of [
    [nsA, ifA, ipA],
    [nsB, ifB, ipB],
  ]) {
    sh('-n', ns, 'addr', 'add', `${ip}/24`, 'dev', ifname);
    sh('-n', ns, 'link', 'set', ifname, 'up');
    sh('-n', ns, 'link', 'set', 'lo', 'up');
  }
  await new Promise((r) => setTimeout(r, 500));
  const results = { udp: [], raw: [] };
  for (let i = 0; i < rounds; i++) {
    for (const mode of ['udp', 'raw']) results[mode].push(await measure(mode));
  }
  const summary = {};
  for (const mode of ['udp', 'raw']) {
    summary[mode] = {
      sentPps: median(results[mode].map((r) => r.sentPps)),
      recvPps: median(results[mode].map((r) => r.recvPps)),
      loss: median(results[mode].map((r) => r.loss)),
    };
  }
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  console.log(`40-byte payloads over veth between two namespaces, ${rounds} rounds of ${seconds} s, medians`);
  console.log('| transport | sent pps | received pps | loss |');
  console.log('|---|---|---|---|');
  for (const [label, mode] of [
    ['node:dgram UDP (baseline)', 'udp'],
    ['@proxyha/netio raw IP proto 253', 'raw'],
  ]) {
    const s = summary[mode];
    console.log(`| ${label} | ${fmt(s.sentPps)} | ${fmt(s.recvPps)} | ${(s.loss * 100).toFixed(1)}% |`);
  }
  console.log(
    `ratio raw/UDP: send ${(summary.raw.sentPps / summary.udp.sentPps).toFixed(2)}, ` +
      `receive ${(summary.raw.recvPps / summary.udp.recvPps).toFixed(2)}`,
  );
} finally {
  cleanup();
}

#!/usr/bin/env node
// Offset accuracy against a real chronyd on loopback (same host, same clock: the true
// offset is 0), side by side with chronyd's own client mode (`chronyd -Q`) as the
// baseline. Prints median and max |offset| and the ratio ours / baseline.
// Needs root (chronyd) and a build: pnpm --filter @proxyha/ntp-check build && node bench/accuracy.mjs
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NtpClient } from '../dist/index.js';

const RUNS = Number(process.env.RUNS ?? 40);
const BASELINE_RUNS = Number(process.env.BASELINE_RUNS ?? 5);
const PORT = Number(process.env.PORT ?? 11193);

if (process.getuid?.() !== 0) {
  console.error('bench/accuracy.mjs needs root (it runs chronyd)');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'ntp-bench-'));
const conf = join(dir, 'chrony.conf');
writeFileSync(
  conf,
  `port ${PORT}\nbindaddress 127.0.0.1\nallow 127.0.0.1\ncmdport 0\npidfile ${dir}/server.pid\nlocal stratum 8\n`,
);
const server = spawn('chronyd', ['-d', '-x', '-u', 'root', '-f', conf], { stdio: 'ignore' });
const serverExited = new Promise((r) => server.once('exit', r));
async function stop() {
  if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
  await serverExited;
  rmSync(dir, { recursive: true, force: true });
}
try {
  await new Promise((r) => setTimeout(r, 1500));
  await main();
} finally {
  await stop();
}

async function main() {
  const stats = (xs) => {
    const a = xs.map(Math.abs).sort((x, y) => x - y);
    const at = (q) => a[Math.min(a.length - 1, Math.floor(q * a.length))];
    return { median: at(0.5), p95: at(0.95), max: a[a.length - 1], n: a.length };
  };

  const ours = [];
  const delays = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < RUNS; i++) {
    // A fresh client per run: this is our own server, so the 16 s poll interval is not owed.
    const r = await new NtpClient({ timeout: 2000 }).query(`127.0.0.1:${PORT}`);
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    ours.push(r.sample.offsetMs);
    delays.push(r.sample.delayMs);
  }
  const oursMs = Number(process.hrtime.bigint() - t0) / 1e6 / RUNS;

  const baseline = [];
  for (let i = 0; i < BASELINE_RUNS; i++) {
    const out = await new Promise((resolve, reject) =>
      execFile(
        'chronyd',
        [
          '-Q',
          '-u',
          'root',
          '-f',
          '/dev/null',
          `server 127.0.0.1 port ${PORT} iburst maxsamples 4`,
          `pidfile ${dir}/q.pid`,
          'cmdport 0',
        ],
        { timeout: 30_000 },
        (e, stdout, stderr) => (e ? reject(e) : resolve(stdout + stderr)),
      ),
    );
    const m = /System clock wrong by (-?[0-9.]+) seconds/.exec(out);
    if (!m) throw new Error(`chronyd -Q printed no offset:\n${out}`);
    baseline.push(Number(m[1]) * 1000); // chronyd prints local error; the sign does not matter for |offset|
  }

  const a = stats(ours);
  const b = stats(baseline);
  const d = stats(delays);
  console.log(
    `ntp-check   |offset| median ${a.median.toFixed(3)} ms, p95 ${a.p95.toFixed(3)} ms, max ${a.max.toFixed(3)} ms over ${a.n} single exchanges (delay median ${d.median.toFixed(3)} ms, ${oursMs.toFixed(1)} ms per query)`,
  );
  console.log(
    `chronyd -Q  |offset| median ${b.median.toFixed(3)} ms, max ${b.max.toFixed(3)} ms over ${b.n} runs of 4 samples (baseline)`,
  );
  console.log(
    `ratio ntp-check / chronyd -Q: median ${(a.median / Math.max(b.median, 0.001)).toFixed(2)}, max ${(a.max / Math.max(b.max, 0.001)).toFixed(2)} (chronyd prints µs; floor 0.001 ms)`,
  );
}

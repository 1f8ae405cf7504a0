// Probe cost against a baseline run side by side: the library's probes vs the least a probe can do with
// node:net (connect and destroy; connect, write, read the first chunk, destroy). Loopback only.
// Run: pnpm --filter @proxyha/health-mon build && node packages/health-mon/bench/probe.mjs
import { readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { HealthMonitor, probePort } from '../dist/index.js';

// Every probe leaves a TIME_WAIT entry on the closing side; tens of thousands of them make connect()
// itself slow (ephemeral port search), which would dominate both sides. Keep N modest and start clean.
const N = Number(process.env.BENCH_N ?? 300);
const timeWait = () => Number(/tw (\d+)/.exec(readFileSync('/proc/net/sockstat', 'utf8'))?.[1] ?? 0);
const ROUNDS = 7;

function listen(onSocket) {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.resume();
    onSocket(s);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// Connections rotate over 32 listeners of each kind: the kernel then finds a free ephemeral port at once
// although earlier probes left TIME_WAIT entries (those block only the same 4-tuple).
const SPREAD = 32;
const servers = [];
for (let i = 0; i < SPREAD * 2; i++) {
  servers.push(
    await listen(
      i < SPREAD ? () => {} : (s) => s.once('data', () => s.end('HTTP/1.1 204 No Content\r\n\r\n')),
    ),
  );
}
const tcpPorts = servers.slice(0, SPREAD).map((s) => s.address().port);
const httpPorts = servers.slice(SPREAD).map((s) => s.address().port);
let turn = 0;
const next = (ports) => ports[turn++ % ports.length];

const rawTcp = () =>
  new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port: next(tcpPorts), noDelay: true });
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });

const rawHttp = () =>
  new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port: next(httpPorts), noDelay: true });
    s.once('connect', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.once('data', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });

const libTcp = async () => {
  const r = await probePort({ host: '127.0.0.1', port: next(tcpPorts), probe: 'tcp', timeoutMs: 1000 });
  if (!r.ok) throw new Error(r.detail);
};
const libHttp = async () => {
  const r = await probePort({ host: '127.0.0.1', port: next(httpPorts), probe: 'http', timeoutMs: 1000 });
  if (!r.ok) throw new Error(r.detail);
};

// A full monitor cycle over 16 ports (concurrency 16) vs 16 raw connects in parallel.
const monitors = [0, 16].map((i) => new HealthMonitor({ ports: tcpPorts.slice(i, i + 16), concurrency: 16 }));
let cycles = 0;
const rawCycle = () => Promise.all(Array.from({ length: 16 }, () => rawTcp()));
const libCycle = () => monitors[cycles++ % 2].runCycle();

async function time(fn, n) {
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return performance.now() - start;
}

// Rounds alternate which side runs first (TIME_WAIT build-up and machine load drift favour whoever runs
// first); the result is the median over rounds of each side's time and of the per-round ratio.
async function compare(name, baseline, candidate, n) {
  await time(baseline, 100);
  await time(candidate, 100);
  const b = [];
  const c = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      b.push(await time(baseline, n));
      c.push(await time(candidate, n));
    } else {
      c.push(await time(candidate, n));
      b.push(await time(baseline, n));
    }
  }
  const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const ratio = med(c.map((ci, i) => ci / b[i]));
  console.log(
    `${name.padEnd(34)} baseline ${((med(b) * 1000) / n).toFixed(1).padStart(7)} us/op   ` +
      `proxyha ${((med(c) * 1000) / n).toFixed(1).padStart(7)} us/op   ratio ${ratio.toFixed(2)}`,
  );
}

console.log(
  `health-mon probe bench: ${N} ops x ${ROUNDS} rounds (median), loopback, node ${process.version}`,
);
if (timeWait() > 5000)
  console.log(`warning: ${timeWait()} sockets in TIME_WAIT; wait a minute for a clean run`);
await compare('tcp probe vs connect+destroy', rawTcp, libTcp, N);
await compare('http probe vs connect+write+read', rawHttp, libHttp, N);
await compare('16-port cycle vs 16 raw connects', rawCycle, libCycle, Math.max(50, Math.floor(N / 16)));
console.log(`TIME_WAIT sockets now: ${timeWait()}`);
for (const s of servers) s.close();

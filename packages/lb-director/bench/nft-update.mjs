// How long the nftables data plane takes to install a table: a full load (the whole `inet` table replaced
// in one `nft -f -` transaction) and a 1 % delta (delete + add of the changed elements in one
// transaction), for 4093, 32749 and 65521 buckets, with the texts the data plane generates
// (src/dataplane/nft-ruleset.ts). Runs in a throwaway network namespace (root), removed at the end.
// A bench, not a test: it prints a Markdown table (median of the runs, and nft's peak RSS of a full load).
// Run (root): node --import tsx --conditions=@proxyha/source packages/lb-director/bench/nft-update.mjs
import { execFileSync, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { nftDelta, nftRuleset, nftSpec, nftTargets } from '../src/dataplane/nft-ruleset.ts';
import { buildOwners } from '../src/scheduler/table.ts';

const SIZES = [4093, 32749, 65521];
const NODES = 8;
const FULL_RUNS = 5;
const DELTA_RUNS = 10;

if (process.argv[2] !== '--inner') {
  const ns = `proxyha-nftbench-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const r = spawnSync(
      'ip',
      ['netns', 'exec', ns, process.execPath, ...process.execArgv, import.meta.filename, '--inner'],
      { stdio: 'inherit' },
    );
    process.exitCode = r.status ?? 1;
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
} else {
  inner();
}

function nft(text) {
  const t0 = performance.now();
  const r = spawnSync('nft', ['-f', '-'], { input: text, encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`nft failed: ${r.stderr.slice(0, 2000)}`);
  return ms;
}

/** Peak RSS (MiB) of one `nft -f -` run, via GNU time. */
function nftPeakMiB(text) {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', 'nft', '-f', '-'], {
    input: text,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) return Number.NaN;
  const kb = Number(r.stderr.trim().split('\n').at(-1));
  return kb / 1024;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function inner() {
  const spec = nftSpec(
    {
      virtualIps: ['192.168.77.74'],
      redirects: [{ originalPort: 9090, destinationPort: 9090 }],
      persistence: { ipv4PrefixLength: 32, ipv6PrefixLength: 128 },
      interface: 'eth0',
      managementIp: '192.168.77.11',
    },
    'proxyha_lb_bench',
  );
  const ids = Array.from({ length: NODES }, (_, i) => `node-${String(i).padStart(2, '0')}`);
  const nodes = new Map(ids.map((id, i) => [id, { id, address: `10.0.0.${i + 1}`, self: i === 0 }]));
  const rows = [];
  for (const size of SIZES) {
    const owners = buildOwners(
      ids,
      ids.map(() => 1),
      size,
    );
    const table = { size, seed: 0x70726f78, nodes: ids, owners };
    const base = nftTargets(spec, table, nodes).targets;
    const full = nftRuleset(spec, base);
    const fullMs = [];
    for (let i = 0; i < FULL_RUNS; i++) fullMs.push(nft(full));
    const peak = nftPeakMiB(full);
    /* 1 % deltas: move 1 % of the buckets (spread over the table) to the next node, and back */
    const step = 100;
    const deltaMs = [];
    let current = base;
    let deltaBytes = 0;
    let changed = 0;
    for (let i = 0; i < DELTA_RUNS; i++) {
      const moved = owners.slice();
      for (let b = i % step; b < size; b += step)
        moved[b] = (((moved[b] ?? 0) + 1 + (i % 2)) % NODES) & 0xffff;
      const next = nftTargets(spec, { ...table, owners: moved }, nodes).targets;
      const text = nftDelta(spec, current, next);
      deltaBytes = text.length;
      changed = Math.ceil(size / step);
      deltaMs.push(nft(text));
      current = next;
    }
    rows.push({
      size,
      fullMs: median(fullMs),
      fullBytes: full.length,
      peak,
      changed,
      deltaMs: median(deltaMs),
      deltaBytes,
    });
  }
  nft('add table inet proxyha_lb_bench\ndelete table inet proxyha_lb_bench\n');
  const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  const version = execFileSync('nft', ['--version'], { encoding: 'utf8' }).trim();
  console.log(
    `nftables data plane: install times (${version}, kernel ${kernel}, ${NODES} nodes, 1 redirect, IPv4; median of ${FULL_RUNS} full loads / ${DELTA_RUNS} deltas)\n`,
  );
  console.log(
    '| buckets | full load ms | full text KiB | nft peak RSS MiB | 1 % delta buckets | 1 % delta ms | delta text KiB |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows)
    console.log(
      `| ${r.size} | ${r.fullMs.toFixed(1)} | ${(r.fullBytes / 1024).toFixed(0)} | ${r.peak.toFixed(0)} | ${r.changed} | ${r.deltaMs.toFixed(1)} | ${(r.deltaBytes / 1024).toFixed(1)} |`,
    );
}

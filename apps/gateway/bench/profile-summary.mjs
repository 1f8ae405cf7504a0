#!/usr/bin/env node
// Summarises what idle.mjs --cpu-prof / --heap-snapshot collected from a gateway process, to say where its
// CPU and memory go:
//   FILE.cpuprofile   (node --cpu-prof) CPU time by package/module and the hottest functions (self time)
//   FILE.heapsnapshot (node --heapsnapshot-signal) V8 heap by node type and constructor (self size)
// Usage: node bench/profile-summary.mjs [--top 20] [--from S --to S] FILE...
//   (--from/--to: CPU samples between these offsets from the start of the profile only, e.g. the window
//   that idle.mjs prints)
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opt, positionals: files } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '20' },
    // only the samples between these offsets (s after the profile started), e.g. idle.mjs's window
    from: { type: 'string', default: '0' },
    to: { type: 'string', default: 'Infinity' },
  },
});
const top = Number(opt.top);
const pct = (x, total) => `${((100 * x) / total).toFixed(1)} %`;

/** The package a script URL belongs to: `@proxyha/vrrp`, `fastify`, `node:internal`, ... */
function packageOf(url) {
  if (!url) return '(native / VM)';
  if (url.startsWith('node:')) return 'node (built-in modules)';
  const pnpm = url.match(/node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (pnpm) return pnpm[1];
  const ws = url.match(/\/(packages|apps)\/([^/]+)\//);
  if (ws) return ws[1] === 'apps' ? `apps/${ws[2]}` : `@proxyha/${ws[2]}`;
  const nm = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  return nm ? nm[1] : url;
}

function cpuProfile(file) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const from = Number(opt.from) * 1e6;
  const to = Number(opt.to) * 1e6;
  let t = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    first = Math.min(first, t);
    last = Math.max(last, t);
    const dt = p.timeDeltas[i + 1] ?? 0;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  const total = (last - first) / 1000;
  let busy = 0;
  const pkgs = new Map();
  const fns = new Map();
  for (const [id, us] of self) {
    const { callFrame: f } = byId.get(id);
    if (f.functionName === '(idle)') continue;
    busy += us;
    const special = ['(program)', '(garbage collector)'].includes(f.functionName);
    const pkg = special ? f.functionName : packageOf(f.url);
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us);
    const key = `${f.functionName || '(anonymous)'} ${f.url ? `${f.url.replace(/^.*\/(node_modules|packages|apps)\//, '$1/')}:${f.lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  console.log(
    `\n${file}: ${(total / 1000).toFixed(1)} s profiled (${(first / 1e6).toFixed(1)} to ${(last / 1e6).toFixed(1)} s after its start), ${(busy / 1000).toFixed(0)} ms on the CPU in JS/VM samples (${pct(busy / 1000, total)} of one core; the profiler's own cost not included)`,
  );
  console.log('\n| where (package / VM) | CPU ms | share of busy |');
  console.log('|---|---|---|');
  for (const [k, us] of [...pkgs].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`| ${k} | ${(us / 1000).toFixed(0)} | ${pct(us, busy)} |`);
  console.log('\n| function (self time) | CPU ms | share of busy |');
  console.log('|---|---|---|');
  for (const [k, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`| ${k.replaceAll('|', '\\|')} | ${(us / 1000).toFixed(0)} | ${pct(us, busy)} |`);
}

function heapSnapshot(file) {
  const s = JSON.parse(readFileSync(file, 'utf8'));
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const [ti, ni, si] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const byType = new Map();
  const byName = new Map();
  let total = 0;
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + ti]];
    const size = s.nodes[i + si];
    total += size;
    byType.set(type, (byType.get(type) ?? 0) + size);
    const name =
      type === 'object' || type === 'closure' || type === 'hidden' || type === 'array' || type === 'native'
        ? `${type}: ${String(s.strings[s.nodes[i + ni]]).slice(0, 60)}`
        : `(${type})`;
    const e = byName.get(name) ?? { size: 0, count: 0 };
    e.size += size;
    e.count++;
    byName.set(name, e);
  }
  const MiB = (b) => (b / 2 ** 20).toFixed(2);
  console.log(`\n${file}: ${MiB(total)} MiB in ${s.snapshot.node_count} heap objects (self sizes)`);
  console.log('\n| node type | MiB | share |');
  console.log('|---|---|---|');
  for (const [k, v] of [...byType].sort((a, b) => b[1] - a[1]))
    console.log(`| ${k} | ${MiB(v)} | ${pct(v, total)} |`);
  console.log('\n| constructor / kind | objects | MiB | share |');
  console.log('|---|---|---|---|');
  for (const [k, v] of [...byName].sort((a, b) => b[1].size - a[1].size).slice(0, top))
    console.log(`| ${k.replaceAll('|', '\\|')} | ${v.count} | ${MiB(v.size)} | ${pct(v.size, total)} |`);
}

for (const f of files) {
  if (f.endsWith('.cpuprofile')) cpuProfile(f);
  else if (f.endsWith('.heapsnapshot')) heapSnapshot(f);
  else console.error(`${f}: neither .cpuprofile nor .heapsnapshot`);
}

#!/usr/bin/env node
// Idle cost of a gateway node at 1 s adverts (issue 16 target: RSS < 80 MB, CPU < 1 % of one core), side by
// side with keepalived + HAProxy doing the same job in the same lab (see lab.mjs for both stacks).
//
// One testlab lab: a, b, c (cluster nodes, tinyproxy on :3128 each), o (origin web server, chronyd). For each
// round and stack: start the stack on a, b and c, wait until a directs three healthy proxies and b and c are
// backups, let it run `--warmup` s, then for `--window` s sample once a second, per node, the memory of
// the stack's processes (the gateway process, or keepalived's two processes plus HAProxy; with their
// children): VmRSS (max, mean), RssAnon / RssFile and Pss (smaps_rollup); and their CPU time over the
// window as a percent of one core: the threads' time on the CPU (/proc/PID/task/*/schedstat, ns), checked
// against utime + stime + cutime + cstime of /proc/PID/stat (10 ms ticks; includes the children the process
// waited for, such as `nft`), and split into the main thread and the other threads (user + system). No
// traffic and no API request during the window; after it, the gateway's /metrics (heap figures) is read.
// Before the lab, what Node and the gateway's modules cost by themselves (`hold.mjs`: a Node process that
// imported them and idles), to say where the memory goes (--no-modules skips it).
//
// Needs root. Build first: TURBO_TELEMETRY_DISABLED=1 pnpm exec turbo run build --filter @proxyha/gateway...
// Usage (from apps/gateway): node bench/idle.mjs [--rounds 1] [--warmup 10] [--window 60]
//   [--impls proxyha,baseline] [--node /path/to/node] [--json FILE] [--no-modules] [--module-seconds 10]
//   [--ha 'loadAware: false'] (extra lines for the gateways' `ha` section: variants)
//   [--node-args '--max-semi-space-size=1'] (Node options for the gateways: variants)
// Diagnostics (the profiled run's own figures are not representative: the profiler costs CPU and memory):
//   --cpu-prof DIR       runs the gateways with `--cpu-prof --cpu-prof-dir DIR` (written when they stop)
//   --heap-snapshot DIR  runs them with `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir DIR` and takes a heap
//                        snapshot of a and b after the window
//   then: node bench/profile-summary.mjs DIR/*.cpuprofile DIR/*.heapsnapshot
//   --strace SECONDS     after the window, counts the system calls of the gateways on a and b for that long
//                        (`strace -c -f -p PID`)
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { withLab } from '@proxyha/testlab';
import {
  CLI,
  CLUSTER,
  cpuNs,
  cpuTicks,
  gatewayMetrics,
  gatewayStatus,
  HERE,
  load,
  memory,
  memorySum,
  setupShared,
  sleep,
  startStack,
  stopStack,
  threadTicks,
  waitSteady,
} from './lab.mjs';

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '10' },
    window: { type: 'string', default: '60' },
    impls: { type: 'string', default: 'proxyha,baseline' },
    node: { type: 'string' },
    json: { type: 'string' },
    'no-modules': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'heap-snapshot': { type: 'string' },
    strace: { type: 'string' },
    ha: { type: 'string' },
    'node-args': { type: 'string' },
    'module-seconds': { type: 'string', default: '10' },
  },
});
const CLK_TCK = 100;
const MiB = (kb) => kb / 1024;
const f1 = (x) => x.toFixed(1);
const log = (...a) => console.log(...a);
const nodeBin = opt.node ?? process.execPath;
const nodeArgs = (opt['node-args'] ?? '').split(/\s+/).filter(Boolean);
for (const dir of [opt['cpu-prof'], opt['heap-snapshot']].filter(Boolean))
  mkdirSync(dir, { recursive: true });
if (opt['cpu-prof']) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', opt['cpu-prof']);
if (opt['heap-snapshot'])
  nodeArgs.push('--heapsnapshot-signal=SIGUSR2', '--diagnostic-dir', opt['heap-snapshot']);
const impls = opt.impls.split(',').filter(Boolean);
const results = [];
const modules = [];

// ---- what Node and the modules cost by themselves ---------------------------------------------------------

/**
 * Memory of a Node process that imported `mods` (`args`: hold.mjs's), 3 s after it said ready, and (`cpu`)
 * its CPU over the next `--module-seconds` s: only for the bare process and its event-loop-delay monitor
 * (after importing modules, V8's background compilation and GC of the first seconds blur an idle figure).
 */
async function holdCost(label, args, cpu) {
  const { spawn } = await import('node:child_process');
  const p = spawn(nodeBin, [join(HERE, 'hold.mjs'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    p.stdout.on('data', (d) => String(d).includes('ready') && resolve());
    p.once('exit', (c) => reject(new Error(`hold ${label} exited ${c}`)));
  });
  await sleep(3000);
  const m = memory(p.pid);
  let cpuPercent = null;
  if (cpu) {
    const ns0 = cpuNs(p.pid);
    const t0 = performance.now();
    await sleep(Number(opt['module-seconds']) * 1000);
    cpuPercent = ((cpuNs(p.pid) - ns0) / 1e6 / (performance.now() - t0)) * 100;
  }
  p.kill('SIGKILL');
  return { label, args, ...m, cpuPercent };
}

if (!opt['no-modules']) {
  const sets = [
    ['node (nothing imported)', [], true],
    ['node + monitorEventLoopDelay({ resolution: 10 }) (prom-client default metrics)', ['--eld', '10'], true],
    ['zod', ['zod']],
    ['pino', ['pino']],
    ['fastify', ['fastify']],
    ['prom-client', ['prom-client']],
    ['yaml + commander', ['yaml', 'commander']],
    ['@proxyha/netio (native addon)', ['@proxyha/netio']],
    ['@proxyha/vrrpd (+ vrrp, garp)', ['@proxyha/vrrpd']],
    ['@proxyha/lb-director (+ health-mon)', ['@proxyha/lb-director']],
    ['@proxyha/cm-coordinator (+ @peculiar/x509)', ['@proxyha/cm-coordinator']],
    ['@proxyha/ntp-check', ['@proxyha/ntp-check']],
    ['the gateway (dist/cli.js modules, not started)', [join(HERE, '..', 'dist', 'index.js')]],
  ];
  for (const [label, mods, cpu] of sets) {
    const r = await holdCost(label, mods, cpu);
    modules.push(r);
    log(
      `module cost: ${label}: RSS ${f1(MiB(r.rss))} MiB (anon ${f1(MiB(r.anon))}, file ${f1(MiB(r.file))})${r.cpuPercent === null ? '' : `, CPU ${r.cpuPercent.toFixed(3)} %`}`,
    );
  }
}

// ---- the lab ------------------------------------------------------------------------------------------

/** Samples the stacks of a, b, c for `seconds`: memory every second, CPU over the whole window. */
async function sampleWindow(stacks, seconds) {
  const per = Object.fromEntries(stacks.map((s) => [s.node, { mem: [], threads: 0, procs: 0 }]));
  const cpu = (s) => {
    const pids = s.pids();
    return { ticks: pids.reduce((a, p) => a + cpuTicks(p), 0), ns: pids.reduce((a, p) => a + cpuNs(p), 0) };
  };
  const cpu0 = Object.fromEntries(stacks.map((s) => [s.node, cpu(s)]));
  // by thread (the main thread runs JavaScript; libuv workers do file I/O; V8 workers GC and compile)
  const threads = (s) => {
    const sum = {};
    for (const pid of s.pids())
      for (const [name, t] of Object.entries(threadTicks(pid))) {
        const e = sum[name] ?? { user: 0, system: 0, threads: 0 };
        e.user += t.user;
        e.system += t.system;
        e.threads += t.threads;
        sum[name] = e;
      }
    return sum;
  };
  const threads0 = Object.fromEntries(stacks.map((s) => [s.node, threads(s)]));
  const t0 = performance.now();
  for (let i = 0; i < seconds; i++) {
    await sleep(1000 - ((performance.now() - t0) % 1000));
    for (const s of stacks) {
      const pids = s.pids();
      per[s.node].mem.push(memorySum(pids));
      per[s.node].procs = Math.max(per[s.node].procs, pids.length);
    }
  }
  const elapsed = (performance.now() - t0) / 1000;
  const out = {};
  for (const s of stacks) {
    const c = cpu(s);
    const ticks = c.ticks - cpu0[s.node].ticks;
    const ns = c.ns - cpu0[s.node].ns;
    const mem = per[s.node].mem;
    const byThread = {};
    for (const [name, t] of Object.entries(threads(s))) {
      const b = threads0[s.node][name] ?? { user: 0, system: 0 };
      byThread[name] = {
        threads: t.threads,
        userPercent: ((t.user - b.user) / CLK_TCK / elapsed) * 100,
        systemPercent: ((t.system - b.system) / CLK_TCK / elapsed) * 100,
      };
    }
    const mean = (k) => mem.reduce((a, m) => a + m[k], 0) / mem.length;
    out[s.node] = {
      seconds: elapsed,
      cpuPercent: (ns / 1e9 / elapsed) * 100,
      cpuTicksPercent: (ticks / CLK_TCK / elapsed) * 100,
      cpuTicks: ticks,
      rssMaxKb: Math.max(...mem.map((m) => m.rss)),
      rssMeanKb: mean('rss'),
      anonMeanKb: mean('anon'),
      fileMeanKb: mean('file'),
      pssMeanKb: mean('pss'),
      processes: per[s.node].procs,
      samples: mem.length,
      byThread,
    };
  }
  return out;
}

/** The heap figures of the gateway's /metrics (prom-client's default metrics), in bytes. */
function heapFigures(text) {
  const get = (re) => Number(text.match(re)?.[1] ?? Number.NaN);
  const spaces = {};
  for (const m of text.matchAll(/^nodejs_heap_space_size_used_bytes\{space="(\w+)"\} (\S+)$/gm))
    spaces[m[1]] = Number(m[2]);
  return {
    rss: get(/^process_resident_memory_bytes (\S+)$/m),
    heapTotal: get(/^nodejs_heap_size_total_bytes (\S+)$/m),
    heapUsed: get(/^nodejs_heap_size_used_bytes (\S+)$/m),
    external: get(/^nodejs_external_memory_bytes (\S+)$/m),
    spaces,
  };
}

/** Makes the gateway of `stack` write a heap snapshot into `dir`; resolves once the file is complete. */
async function heapSnapshot(stack, dir) {
  const mine = () =>
    readdirSync(dir).filter((f) => f.includes(`.${stack.proc.pid}.`) && f.endsWith('.heapsnapshot'));
  const before = mine().length;
  process.kill(stack.proc.pid, 'SIGUSR2');
  let size = -1;
  for (let i = 0; i < 120; i++) {
    await sleep(500);
    const files = mine();
    if (files.length <= before) continue;
    const now = statSync(join(dir, files.at(-1))).size;
    if (now > 0 && now === size) {
      log(`  heap snapshot of ${stack.node}: ${join(dir, files.at(-1))}`);
      return;
    }
    size = now;
  }
  throw new Error(`no heap snapshot of ${stack.node} in ${dir}`);
}

const started = new Date();
log(
  `\nidle bench ${started.toISOString()}, load ${load()}, node ${nodeBin}, gateway ${CLI}${opt.ha ? `, extra ha settings: ${opt.ha}` : ''}${nodeArgs.length ? `, node options: ${nodeArgs.join(' ')}` : ''}`,
);
await withLab({ nodes: ['a', 'b', 'c', 'o'], ipv6: false, timeoutMs: 4 * 3600_000 }, async (lab) => {
  const shared = await setupShared(lab);
  for (let round = 0; round < Number(opt.rounds); round++) {
    const order = round % 2 ? [...impls].reverse() : impls;
    for (const impl of order) {
      const loadBefore = load();
      log(`\nround ${round + 1}, ${impl}: starting on a, b, c (load ${loadBefore})`);
      const startedAt = performance.now();
      const stacks = await startStack(lab, impl, {
        intervalMs: 1000,
        ntp: shared.ntp,
        ca: shared.ca,
        nodeBin,
        nodeArgs,
        ...(opt.ha ? { extraHa: `${opt.ha.replace(/^/gm, '  ')}\n` } : {}),
      });
      if (impl === 'proxyha' && (opt['cpu-prof'] || opt['heap-snapshot']))
        log(`  profiled processes: ${stacks.map((st) => `${st.node} pid ${st.proc.pid}`).join(', ')}`);
      try {
        await waitSteady(lab, impl, stacks);
        log(`  steady; warm-up ${opt.warmup} s, then ${opt.window} s of samples`);
        await sleep(Number(opt.warmup) * 1000);
        const windowStart = performance.now();
        const window = await sampleWindow(stacks, Number(opt.window));
        if (opt['cpu-prof'] || opt['heap-snapshot'])
          log(
            `  window: ${((windowStart - startedAt) / 1000).toFixed(1)} to ${((performance.now() - startedAt) / 1000).toFixed(1)} s after the stack was started`,
          );
        const loadAfter = load();
        // still the same roles after the window (nothing flapped while we measured)
        await waitSteady(lab, impl, stacks, 5_000);
        const heap = {};
        const transitions = {};
        if (impl === 'proxyha')
          for (const n of ['a', 'b']) {
            heap[n] = heapFigures(await gatewayMetrics(lab, n));
            transitions[n] = (await gatewayStatus(lab, n)).vrrp.transitionCount;
          }
        for (const { name } of CLUSTER) {
          const w = window[name];
          log(
            `  ${name}: RSS max ${f1(MiB(w.rssMaxKb))} MiB, mean ${f1(MiB(w.rssMeanKb))} (anon ${f1(MiB(w.anonMeanKb))}, file ${f1(MiB(w.fileMeanKb))}, Pss ${f1(MiB(w.pssMeanKb))}), CPU ${w.cpuPercent.toFixed(3)} % (schedstat; /proc/PID/stat: ${w.cpuTicks} ticks in ${f1(w.seconds)} s = ${w.cpuTicksPercent.toFixed(3)} %), ${w.processes} process(es)`,
          );
        }
        for (const { name } of CLUSTER)
          log(
            `  ${name} CPU by thread (user + system % of one core): ${Object.entries(window[name].byThread)
              .filter(([, t]) => t.userPercent + t.systemPercent > 0)
              .map(
                ([k, t]) => `${k} ×${t.threads} ${t.userPercent.toFixed(2)} + ${t.systemPercent.toFixed(2)}`,
              )
              .join(', ')}`,
          );
        for (const [n, h] of Object.entries(heap))
          log(
            `  ${n} /metrics: rss ${f1(h.rss / 2 ** 20)} MiB, heap used ${f1(h.heapUsed / 2 ** 20)} of ${f1(h.heapTotal / 2 ** 20)} MiB, external ${f1(h.external / 2 ** 20)} MiB`,
          );
        results.push({ round, impl, window, heap, transitions, loadBefore, loadAfter });
        if (impl === 'proxyha' && opt.strace)
          for (const st of stacks.slice(0, 2)) {
            const r = await lab.exec(
              null,
              'timeout',
              ['-s', 'INT', opt.strace, 'strace', '-c', '-f', '-p', String(st.proc.pid)],
              { allowFailure: true, timeoutMs: Number(opt.strace) * 1000 + 10_000 },
            );
            const lines = r.stderr
              .split('\n')
              .filter((l) => /^\s*[\d.]+\s+[\d.]+/.test(l) || /total/.test(l));
            log(
              `  ${st.node}: system calls in ${opt.strace} s (strace -c -f):\n${lines.slice(0, 16).join('\n')}`,
            );
          }
        if (impl === 'proxyha' && opt['heap-snapshot'])
          for (const st of stacks.slice(0, 2)) await heapSnapshot(st, opt['heap-snapshot']);
      } finally {
        await stopStack(lab, stacks);
      }
    }
  }
});

// ---- report ---------------------------------------------------------------------------------------------

const ROLES = { a: 'director / master', b: 'backup', c: 'lowest-priority backup' };
const avg = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
const rows = [];
const summary = {};
for (const impl of impls)
  for (const { name } of CLUSTER) {
    const ws = results.filter((r) => r.impl === impl).map((r) => r.window[name]);
    if (ws.length === 0) continue;
    const s = {
      rssMax: Math.max(...ws.map((w) => w.rssMaxKb)),
      rssMean: avg(ws.map((w) => w.rssMeanKb)),
      anon: avg(ws.map((w) => w.anonMeanKb)),
      file: avg(ws.map((w) => w.fileMeanKb)),
      pss: avg(ws.map((w) => w.pssMeanKb)),
      cpu: avg(ws.map((w) => w.cpuPercent)),
      cpuTicks: avg(ws.map((w) => w.cpuTicksPercent)),
      procs: Math.max(...ws.map((w) => w.processes)),
    };
    summary[`${impl}:${name}`] = s;
    rows.push(
      `| ${impl === 'proxyha' ? 'proxyha gateway' : 'keepalived + HAProxy'} | ${name} (${ROLES[name]}) | ${s.procs} | ${f1(MiB(s.rssMax))} | ${f1(MiB(s.rssMean))} | ${f1(MiB(s.anon))} / ${f1(MiB(s.file))} | ${f1(MiB(s.pss))} | ${s.cpu.toFixed(3)} | ${s.cpuTicks.toFixed(3)} |`,
    );
  }
log(
  `\n${results.length} window(s) of ${opt.window} s after ${opt.warmup} s warm-up; loads: ${results
    .map((r) => `${r.impl} ${r.loadBefore} -> ${r.loadAfter}`)
    .join('; ')}\n`,
);
log(
  '| stack | node | processes | RSS max MiB | RSS mean MiB | anon / file MiB | Pss MiB | CPU % of one core (schedstat) | CPU % (stat ticks) |',
);
log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) log(r);
if (impls.includes('proxyha') && impls.includes('baseline')) {
  log('\n| node | RSS mean ratio proxyha / baseline | Pss ratio | CPU ratio |');
  log('|---|---|---|---|');
  for (const { name } of CLUSTER) {
    const p = summary[`proxyha:${name}`];
    const k = summary[`baseline:${name}`];
    if (p && k)
      log(
        `| ${name} (${ROLES[name]}) | ${(p.rssMean / k.rssMean).toFixed(2)} | ${(p.pss / k.pss).toFixed(2)} | ${(p.cpu / k.cpu).toFixed(2)} |`,
      );
  }
}
if (modules.length) {
  log(
    '\n| imported by an idle Node process | RSS MiB | anon MiB | file MiB | RSS over bare node MiB | CPU % of one core |',
  );
  log('|---|---|---|---|---|---|');
  const floor = modules[0].rss;
  for (const m of modules)
    log(
      `| ${m.label} | ${f1(MiB(m.rss))} | ${f1(MiB(m.anon))} | ${f1(MiB(m.file))} | ${f1(MiB(m.rss - floor))} | ${m.cpuPercent === null ? '-' : m.cpuPercent.toFixed(3)} |`,
    );
}
const heaps = results.filter((r) => r.impl === 'proxyha').flatMap((r) => Object.entries(r.heap));
if (heaps.length) {
  log(
    '\n| gateway node | RSS MiB | V8 heap used / total MiB | external MiB | largest heap spaces used (MiB) |',
  );
  log('|---|---|---|---|---|');
  for (const [n, h] of heaps)
    log(
      `| ${n} | ${f1(h.rss / 2 ** 20)} | ${f1(h.heapUsed / 2 ** 20)} / ${f1(h.heapTotal / 2 ** 20)} | ${f1(h.external / 2 ** 20)} | ${Object.entries(
        h.spaces,
      )
        .sort((x, y) => y[1] - x[1])
        .slice(0, 4)
        .map(([k, v]) => `${k} ${f1(v / 2 ** 20)}`)
        .join(', ')} |`,
    );
}
if (opt.json)
  await writeFile(
    opt.json,
    JSON.stringify({ started, options: opt, node: nodeBin, modules, results, summary }, null, 2),
  );

#!/usr/bin/env node
// VRRP failover benchmark: proxyha-vrrpd against keepalived 2.2.7, side by side in one testlab lab.
//
// Nodes a and b are the two routers (VRRPv3, VRID 51, VIP 192.168.77.74/24; a priority 150, b priority
// 100, the same settings for both implementations), c is the client. For each implementation, advert
// interval and event it measures, from the signal to the master a to the first TCP answer from b through
// the VIP as seen by a probe process in c:
//   - failover after SIGKILL of a's process group (the VIP stays configured on a, as on a crashed host
//     whose kernel still runs: the client keeps reaching a until b's gratuitous ARPs arrive), and
//   - handover after SIGTERM (priority 0 advert, VIPs removed).
// Before each run both routers are freshly started, a is master and the client gets 'a' through the
// VIP; after it everything is stopped and a stale VIP is removed from a.
// The implementation `proxyha-slow-notify` is proxyha-vrrpd with notify scripts that sleep 30 s
// (`notifyMaster`, `notify`) and a notify FIFO with a reader: its failover figure next to the plain
// one shows what the scripts cost the takeover (they must cost nothing: they are never waited for).
//
// Soak mode (--soak 20ms --minutes 10): proxyha master a and backup b at the given advert interval while
// busy loops load the CPU; counts spurious state transitions (any "Entering" line after the initial
// election), records the master's advert gaps on the wire and a timer-lateness canary, then measures
// the failover and handover time reached at that interval.
//
// Needs root. Build first: pnpm --filter @proxyha/testlab build && pnpm --filter @proxyha/vrrp build
// Usage (from packages/vrrp):
//   node bench/failover.mjs                      # default: 10 runs at 100 ms, 5 at 1 s, each event
//   node bench/failover.mjs --quick              # smoke run (1 run of each)
//   node bench/failover.mjs --runs 3 --intervals 100ms --impls proxyha
//   node bench/failover.mjs --soak 20ms --minutes 10 [--load 2] [--soak-runs 5] [--soak-impl keepalived]
//   (--soak-runs 0 skips the failover runs after the soak; --soak-impls chooses who runs them)
//   add --json FILE to write every measurement as JSON, --trace for a per-run wire timeline,
//   --rt-priority N: SCHED_RR for both daemons (proxyha `realtimePriority`, keepalived `vrrp_rt_priority`)
//   --daemon-prefix 'chrt -r 10' / --node-flags=--trace-gc to run proxyha-vrrpd differently,
//   --save-logs DIR to keep both routers' full soak output
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '@proxyha/common';
import { run, tsharkField, withLab } from '@proxyha/testlab';

const HERE = import.meta.dirname;
const CLI = join(HERE, '..', 'dist', 'cli.js');
const PROBE = join(HERE, 'probe.mjs');
const NAME_SERVER = join(HERE, 'name-server.mjs');
const CANARY = join(HERE, 'canary.mjs');
const VIP = '192.168.77.74';
const PRIO_A = 150;
const PRIO_B = 100;

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
    intervals: { type: 'string', default: '1s,100ms' },
    impls: { type: 'string', default: 'proxyha,proxyha-slow-notify,keepalived' },
    events: { type: 'string', default: 'SIGKILL,SIGTERM' },
    soak: { type: 'string' },
    minutes: { type: 'string', default: '10' },
    load: { type: 'string', default: '2' },
    'soak-runs': { type: 'string', default: '5' },
    'soak-impls': { type: 'string', default: 'proxyha,keepalived' },
    'soak-impl': { type: 'string', default: 'proxyha' },
    gap: { type: 'string', default: '1' },
    timeout: { type: 'string', default: '50' },
    json: { type: 'string' },
    trace: { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' },
    'daemon-prefix': { type: 'string', default: '' },
    'rt-priority': { type: 'string' },
    'save-logs': { type: 'string' },
  },
});

const now = () => performance.timeOrigin + performance.now();
const sleep = (t) => new Promise((r) => setTimeout(r, t));
const toMs = (s) => {
  const v = parseDuration(s, { min: 1 });
  if (!v.ok) throw new Error(v.error);
  return v.value;
};
const list = (s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const list2 = (s) => s.split(/\s+/).filter(Boolean);
const log = (...a) => console.log(...a);

// ---- routers -------------------------------------------------------------------------------------

/** Notify settings of `proxyha-slow-notify`: scripts that sleep 30 s, and a FIFO read by `cat`. */
const slowNotifyYaml = (fifo) => `    notifyMaster: ["/bin/sh", "-c", "sleep 30"]
    notify: ["/bin/sh", "-c", "sleep 30"]
notifyFifo: "${fifo}"
notifyFifoScript: ["/bin/sh", "-c", "exec cat \\"$1\\" > /dev/null", "reader"]
`;

function proxyhaYaml(priority, intervalMs, fifo) {
  const rt = opt['rt-priority'] ? `realtimePriority: ${Number(opt['rt-priority'])}\n` : '';
  return `${rt}instances:
  - name: VI_1
    interface: eth0
    vrid: 51
    priority: ${priority}
    version: 3
    advertInterval: "${intervalMs}ms"
    virtualIps: ["${VIP}/24"]
    preempt: true
${fifo ? slowNotifyYaml(fifo) : ''}`;
}

function keepalivedConf(node, priority, intervalMs) {
  return `global_defs {
  router_id ka_${node}
  vrrp_garp_master_delay 5${opt['rt-priority'] ? `\n  vrrp_rt_priority ${Number(opt['rt-priority'])}` : ''}
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  version 3
  priority ${priority}
  advert_int ${(intervalMs / 1000).toFixed(2)}
  virtual_ipaddress {
    ${VIP}/24
  }
}
`;
}

/** Starts one router and resolves once it has started (logged its first state). */
async function startRouter(lab, impl, node, priority, intervalMs) {
  if (impl === 'keepalived') return lab.keepalived(node, keepalivedConf(node, priority, intervalMs));
  const dir = await lab.runDir(`vrrpd-${node}`);
  const file = join(dir, 'vrrpd.yaml');
  const fifo = impl === 'proxyha-slow-notify' ? join(dir, 'vrrp.fifo') : undefined;
  await writeFile(file, proxyhaYaml(priority, intervalMs, fifo));
  // --daemon-prefix 'chrt -r 10' / 'nice -n -10' and --node-flags '--trace-gc' try out remedies
  const argv = [...list2(opt['daemon-prefix']), process.execPath, ...list2(opt['node-flags']), CLI];
  const p = lab.spawn(node, argv[0], [...argv.slice(1), '--config', file], { name: `proxyha:${node}` });
  await p.waitForOutput(/Entering (BACKUP|MASTER) STATE/, 20_000);
  return p;
}

/** The state of the router's last "Entering ... STATE" line. */
function lastState(p) {
  const all = [...p.output().matchAll(/\(VI_1\) Entering (\w+) STATE/g)];
  return all.at(-1)?.[1];
}

/** The name in the probe's last "answer" line. */
function lastAnswer(p) {
  return [...p.output().matchAll(/^answer (\w+) /gm)].at(-1)?.[1];
}

async function clearVips(lab) {
  for (const n of ['a', 'b'])
    await lab.exec(n, 'ip', ['addr', 'del', `${VIP}/24`, 'dev', 'eth0'], { allowFailure: true });
}

async function holdsVip(lab, node) {
  const r = await lab.exec(node, 'ip', ['-o', 'addr', 'show', 'dev', 'eth0']);
  return r.stdout.includes(` ${VIP}/`);
}

// ---- one measurement -----------------------------------------------------------------------------

/**
 * Starts a (master) and b (backup), waits until the client reaches a through the VIP, signals a and
 * measures the time to the client's first answer from b. Returns { ms, masterMs } (masterMs: signal to
 * the moment b's "Entering MASTER STATE" line reached this process, a diagnostic).
 */
async function measure(lab, impl, intervalMs, event) {
  const slack = 4 * intervalMs + 10_000;
  await clearVips(lab);
  const procs = [];
  try {
    const a = await startRouter(lab, impl, 'a', PRIO_A, intervalMs);
    procs.push(a);
    const b = await startRouter(lab, impl, 'b', PRIO_B, intervalMs);
    procs.push(b);
    await a.waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack);
    const probe = lab.spawn('c', process.execPath, [PROBE, VIP, '7000', opt.gap, opt.timeout], {
      name: 'probe',
    });
    procs.push(probe);
    await probe.waitForOutput(/^answer a /m, slack);
    const wire = opt.trace ? undefined : await lab.capture('bridge', 'vrrp');
    // b has heard a few adverts; a random extra delay spreads the signal over the advert phase
    for (let attempt = 0; ; attempt++) {
      await sleep(intervalMs * (1 + Math.random()) + 50);
      const ok =
        lastState(a) === 'MASTER' &&
        lastState(b) === 'BACKUP' &&
        lastAnswer(probe) === 'a' &&
        !(await holdsVip(lab, 'b'));
      if (ok) break;
      if (attempt >= 3 * Math.ceil(5000 / intervalMs))
        throw new Error(
          `no stable start: a ${lastState(a)}, b ${lastState(b)}, client ${lastAnswer(probe)}\n${a.output()}\n${b.output()}`,
        );
    }
    const trace = opt.trace ? await startTrace(lab, procs, intervalMs, event) : undefined;
    const probeMark = probe.output().length;
    const bMark = b.output().length;
    const bMaster = b
      .waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack, bMark)
      .then(() => now())
      .catch(() => Number.NaN);
    const t0 = now();
    a.signal(event); // the whole process group (keepalived's VRRP child too)
    const m = await probe.waitForOutput(/^answer b (\d+\.\d+)/m, slack, probeMark);
    const tb = Number(m[1]);
    const tm = await bMaster;
    if (trace) await trace.report(t0, tb, tm);
    const timer = wire ? await timerReference(lab, wire, t0, intervalMs, event) : {};
    const past = (t) => (timer.expected === undefined || t === undefined ? Number.NaN : t - timer.expected);
    // past the RFC timer: answer / b's first advert minus (a's last advert + Master_Down_Interval)
    // after SIGKILL, minus (a's priority 0 advert + Skew_Time) after SIGTERM; free of the advert phase
    return { ms: tb - t0, masterMs: tm - t0, overMs: past(tb), detectMs: past(timer.firstB) };
  } finally {
    for (const p of procs.reverse()) await p.kill('SIGTERM', 3_000);
    await clearVips(lab);
  }
}

/**
 * When b's timer should expire by the RFC, from the adverts on the wire (tcpdump on the bridge): after
 * SIGKILL a's last advert before the signal + b's Master_Down_Interval, after SIGTERM a's priority 0
 * advert + b's Skew_Time. Also b's first advert after the signal.
 */
async function timerReference(lab, cap, t0, intervalMs, event) {
  await cap.stop();
  const r = await run('tcpdump', ['-r', cap.file, '-tt', '-n'], { allowFailure: true });
  const ipA = lab.node('a').ipv4;
  const ipB = lab.node('b').ipv4;
  let lastA;
  let prio0;
  let firstB;
  for (const line of r.stdout.split('\n')) {
    const m = line.match(/^(\d+\.\d+) IP (\S+) > 224\.0\.0\.18: VRRPv3, Advertisement, vrid 51, prio (\d+)/);
    if (!m) continue;
    const t = Number(m[1]) * 1000;
    const prio = Number(m[3]);
    if (m[2] === ipA && prio > 0 && t < t0 + 1) lastA = t;
    if (m[2] === ipA && prio === 0 && t >= t0) prio0 ??= t;
    if (m[2] === ipB && t >= t0) firstB ??= t;
  }
  const skew = ((256 - PRIO_B) * intervalMs) / 256;
  const base = event === 'SIGKILL' ? lastA : prio0;
  return {
    expected: base === undefined ? undefined : base + (event === 'SIGKILL' ? 3 * intervalMs + skew : skew),
    firstB,
  };
}

/**
 * --trace: a capture on the bridge (VRRP, ARP, SYN-ACKs from the VIP) and `ip -ts monitor address` in
 * b, printed after the run as a timeline relative to the signal (same wall clock).
 */
async function startTrace(lab, procs, intervalMs, event) {
  const macB = lab.node('b').mac;
  const cap = await lab.capture(
    'bridge',
    `vrrp or arp or ( src host ${VIP} and ether src ${macB} and tcp[tcpflags] & tcp-syn != 0 )`,
  );
  const mon = lab.spawn('b', 'ip', ['-ts', 'monitor', 'address'], { name: 'ip-monitor:b' });
  procs.push(mon);
  await sleep(100);
  return {
    async report(t0, tb, tm) {
      await sleep(30);
      const frames = await cap.dissect();
      await mon.kill('SIGTERM', 1000);
      const rel = (t) => `${(t - t0).toFixed(1).padStart(8)} ms`;
      const lines = [];
      const f = (fr, k) => tsharkField(fr, k);
      let firstB;
      let firstGarp;
      let firstSynAck;
      let prio0;
      let lastA;
      for (const fr of frames) {
        const t = Number(f(fr, 'frame.time_epoch')) * 1000;
        if (fr.vrrp && f(fr, 'ip.src') === lab.node('a').ipv4 && f(fr, 'vrrp.prio') !== '0' && t < t0 + 1)
          lastA = t;
        if (t < t0 - 1) continue;
        if (fr.vrrp && f(fr, 'ip.src') === lab.node('a').ipv4 && f(fr, 'vrrp.prio') === '0') prio0 ??= t;
        if (fr.vrrp && f(fr, 'ip.src') === lab.node('b').ipv4) firstB ??= t;
        if (fr.arp && f(fr, 'arp.src.proto_ipv4') === VIP && f(fr, 'arp.src.hw_mac') === macB)
          firstGarp ??= t;
        if (fr.tcp) firstSynAck ??= t;
      }
      for (const m of mon
        .output()
        .matchAll(/^\[?(\d{4}-\d\d-\d\dT[\d:.]+)\]?\s+(.*inet 192\.168\.77\.74.*)$/gm)) {
        const t = new Date(`${m[1]}Z`).getTime();
        lines.push([t, `b: VIP added (ip monitor): ${m[2].trim().slice(0, 40)}`]);
      }
      if (prio0) lines.push([prio0, 'wire: a sends priority 0']);
      // the instant b's timer expires by the RFC (as in timerReference)
      const skew = ((256 - PRIO_B) * intervalMs) / 256;
      if (event === 'SIGKILL' && lastA) {
        lines.push([lastA, "wire: a's last advert"]);
        lines.push([lastA + 3 * intervalMs + skew, "RFC: b's Master_Down_Interval ends"]);
      }
      if (event === 'SIGTERM' && prio0) lines.push([prio0 + skew, "RFC: b's Skew_Time ends"]);
      if (firstB) lines.push([firstB, "wire: b's first advert"]);
      if (firstGarp) lines.push([firstGarp, "wire: b's first gratuitous ARP for the VIP"]);
      if (firstSynAck) lines.push([firstSynAck, "wire: first SYN-ACK from the VIP with b's MAC"]);
      lines.push([tm, "bench: b's 'Entering MASTER STATE' line read"]);
      lines.push([tb, "probe: first answer 'b'"]);
      lines.sort((x, y) => x[0] - y[0]);
      for (const [t, what] of lines) log(`      ${rel(t)}  ${what}`);
    },
  };
}

// ---- statistics and tables -----------------------------------------------------------------------

function stats(xs) {
  const s = [...xs].filter(Number.isFinite).sort((x, y) => x - y);
  const n = s.length;
  if (!n) return { n: 0, median: Number.NaN, p90: Number.NaN, min: Number.NaN, max: Number.NaN };
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const p90 = s[Math.min(n - 1, Math.ceil(0.9 * n) - 1)]; // nearest rank
  return { n, median, p90, min: s[0], max: s[n - 1] };
}

const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const intervalName = (iv) => (iv >= 1000 ? `${iv / 1000} s` : `${iv} ms`);

function printTables(results, impls, intervals, events) {
  const pick = (impl, iv, ev) =>
    results.filter((x) => x.impl === impl && x.intervalMs === iv && x.event === ev);
  const col = (r, k) => stats(r.map((x) => x[k]));
  log(
    '\n| implementation | adverts | event | runs | median ms | p90 ms | min ms | max ms | b MASTER log (median) | b advert past RFC timer (median) | answer past RFC timer (median) |',
  );
  log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const iv of intervals)
    for (const ev of events)
      for (const impl of impls) {
        const r = pick(impl, iv, ev);
        if (!r.length) continue;
        const s = col(r, 'ms');
        log(
          `| ${impl} | ${intervalName(iv)} | ${ev} | ${s.n} | ${f0(s.median)} | ${f0(s.p90)} | ${f0(s.min)} | ${f0(s.max)} | ${f0(col(r, 'masterMs').median)} | ${f1(col(r, 'detectMs').median)} | ${f1(col(r, 'overMs').median)} |`,
        );
      }
  if (impls.includes('proxyha') && impls.includes('proxyha-slow-notify')) {
    log(
      '\n| adverts | event | proxyha median ms | with slow notify scripts median ms | ratio slow-notify/proxyha |',
    );
    log('|---|---|---|---|---|');
    for (const iv of intervals)
      for (const ev of events) {
        const p = col(pick('proxyha', iv, ev), 'ms').median;
        const n = col(pick('proxyha-slow-notify', iv, ev), 'ms').median;
        if (Number.isFinite(p) && Number.isFinite(n))
          log(`| ${intervalName(iv)} | ${ev} | ${f0(p)} | ${f0(n)} | **${(n / p).toFixed(3)}** |`);
      }
  }
  if (!(impls.includes('proxyha') && impls.includes('keepalived'))) return;
  log(
    '\n| adverts | event | proxyha median ms | keepalived median ms | ratio proxyha/keepalived | answer past RFC timer, proxyha − keepalived (ms) |',
  );
  log('|---|---|---|---|---|---|');
  for (const iv of intervals)
    for (const ev of events) {
      const p = col(pick('proxyha', iv, ev), 'ms').median;
      const k = col(pick('keepalived', iv, ev), 'ms').median;
      if (!Number.isFinite(p) || !Number.isFinite(k)) continue;
      const d =
        col(pick('proxyha', iv, ev), 'overMs').median - col(pick('keepalived', iv, ev), 'overMs').median;
      log(`| ${intervalName(iv)} | ${ev} | ${f0(p)} | ${f0(k)} | **${(p / k).toFixed(3)}** | ${f1(d)} |`);
    }
}

function machineLine() {
  const cpu = os.cpus();
  return `${cpu[0]?.model ?? '?'} × ${cpu.length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}`;
}
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** Runs the measurement series: for each interval, run i, event, both implementations (alternating order). */
async function series(lab, impls, intervals, events, runsFor, results) {
  for (const iv of intervals) {
    const n = runsFor(iv);
    for (let i = 0; i < n; i++)
      for (const ev of events) {
        const order = i % 2 ? [...impls].reverse() : impls;
        for (const impl of order) {
          let r;
          for (let tries = 0; ; tries++) {
            try {
              r = await measure(lab, impl, iv, ev);
              break;
            } catch (e) {
              if (tries >= 1) throw e;
              log(
                `  ! ${impl} ${intervalName(iv)} ${ev} run ${i + 1} failed, retrying: ${e.message.split('\n')[0]}`,
              );
            }
          }
          results.push({ impl, intervalMs: iv, event: ev, run: i + 1, ...r, at: new Date().toISOString() });
          log(
            `  ${impl.padEnd(10)} ${intervalName(iv).padEnd(6)} ${ev} run ${i + 1}/${n}: ${r.ms.toFixed(1)} ms (b MASTER log at ${r.masterMs.toFixed(1)} ms; past the RFC timer: b advert ${f1(r.detectMs)}, answer ${f1(r.overMs)} ms) load ${loadavg()}`,
          );
        }
      }
  }
}

// ---- the default bench ---------------------------------------------------------------------------

async function bench() {
  const intervals = list(opt.intervals).map(toMs);
  const impls = list(opt.impls);
  const events = list(opt.events);
  const runsFor = (iv) => (opt.runs ? Number(opt.runs) : opt.quick ? 1 : iv >= 1000 ? 5 : 10);
  log(`# VRRP failover bench, ${new Date().toISOString()}`);
  log(`machine: ${machineLine()}; load average at start ${loadavg()}`);
  log(
    `VRRPv3, a priority ${PRIO_A} (master), b priority ${PRIO_B}; intervals ${intervals.map(intervalName).join(', ')}; probe every ${opt.gap} ms, connect timeout ${opt.timeout} ms`,
  );
  const results = [];
  const started = Date.now();
  await withLab({ nodes: ['a', 'b', 'c'], ipv6: false, timeoutMs: 60 * 60_000 }, async (lab) => {
    await startNameServers(lab);
    await series(lab, impls, intervals, events, runsFor, results);
  });
  log(`\ndone in ${((Date.now() - started) / 1000).toFixed(0)} s; load average at end ${loadavg()}`);
  printTables(results, impls, intervals, events);
  if (opt.json)
    await writeFile(opt.json, `${JSON.stringify({ machine: machineLine(), results }, null, 2)}\n`);
}

async function startNameServers(lab) {
  for (const n of ['a', 'b']) {
    const p = lab.spawn(n, process.execPath, [NAME_SERVER, n, '7000'], { name: `name:${n}` });
    await p.waitForOutput(/listening/, 10_000);
  }
}

// ---- soak ----------------------------------------------------------------------------------------

async function advertGaps(file, intervalMs) {
  const r = await run(
    'tshark',
    ['-r', file, '-Y', 'vrrp && ip.src == 192.168.77.11', '-T', 'fields', '-e', 'frame.time_epoch'],
    { timeoutMs: 120_000 },
  );
  const t = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((x) => Number(x) * 1000);
  const gaps = [];
  for (let i = 1; i < t.length; i++) gaps.push({ at: t[i], gap: t[i] - t[i - 1] });
  const s = gaps.map((g) => g.gap).sort((x, y) => x - y);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  const mdi = 3 * intervalMs + ((256 - PRIO_B) * intervalMs) / 256;
  return {
    adverts: t.length,
    median: q(0.5),
    p99: q(0.99),
    p999: q(0.999),
    max: s.at(-1),
    over2x: s.filter((g) => g > 2 * intervalMs).length,
    over3x: s.filter((g) => g > 3 * intervalMs).length,
    overMasterDown: s.filter((g) => g > mdi).length,
    worst: [...gaps]
      .sort((x, y) => y.gap - x.gap)
      .slice(0, 5)
      .map((g) => `${new Date(g.at).toISOString()} ${g.gap.toFixed(1)} ms`),
  };
}

async function soak() {
  const intervalMs = toMs(opt.soak);
  const minutes = Number(opt.minutes);
  const loadCount = Number(opt.load);
  const soakRuns = Number(opt['soak-runs']);
  const impls = list(opt['soak-impls']);
  const soakImpl = opt['soak-impl'];
  const mdi = 3 * intervalMs + ((256 - PRIO_B) * intervalMs) / 256;
  log(`# VRRP soak, ${new Date().toISOString()}`);
  log(`machine: ${machineLine()}; load average at start ${loadavg()}`);
  log(
    `${soakImpl} a (priority ${PRIO_A}) and b (priority ${PRIO_B}), VRRPv3 adverts every ${intervalMs} ms (b's Master_Down_Interval ${mdi.toFixed(1)} ms), ${minutes} min, ${loadCount} busy loop(s) at nice 0`,
  );
  const results = [];
  const summary = {};
  await withLab({ nodes: ['a', 'b', 'c'], ipv6: false, timeoutMs: (minutes + 20) * 60_000 }, async (lab) => {
    await startNameServers(lab);
    const load = [];
    try {
      for (let i = 0; i < loadCount; i++)
        load.push(
          lab.spawn(null, 'nice', ['-n', '0', process.execPath, '-e', 'for(;;){}'], { name: `busy${i}` }),
        );
      const cap = await lab.capture('bridge', 'vrrp');
      const canary = lab.spawn('c', process.execPath, [CANARY, String(intervalMs), '10000'], {
        name: 'canary',
      });
      await clearVips(lab);
      const a = await startRouter(lab, 'proxyha', 'a', PRIO_A, intervalMs);
      const b = await startRouter(lab, 'proxyha', 'b', PRIO_B, intervalMs);
      await a.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 10_000);
      await sleep(1000);
      if (lastState(a) !== 'MASTER' || lastState(b) !== 'BACKUP')
        throw new Error(`no stable start:\n${a.output()}\n${b.output()}`);
      const marks = { a: a.output().length, b: b.output().length };
      const t0 = Date.now();
      const end = t0 + minutes * 60_000;
      const spurious = () =>
        [a, b].flatMap((p, i) =>
          p
            .output()
            .slice(i ? marks.b : marks.a)
            .split('\n')
            .filter((l) => /Entering \w+ STATE/.test(l))
            .map((l) => `${i ? 'b' : 'a'}: ${l}`),
        );
      while (Date.now() < end) {
        await sleep(Math.min(30_000, end - Date.now()));
        if (!a.running || !b.running) throw new Error(`a router exited:\n${a.output()}\n${b.output()}`);
        const lat = [...canary.output().matchAll(/^lateness .*$/gm)].at(-1)?.[0] ?? '';
        log(
          `  ${((Date.now() - t0) / 60_000).toFixed(1)} min: ${spurious().length} spurious transition(s); load ${loadavg()}; canary ${lat}`,
        );
      }
      const found = spurious();
      const context = [a, b].flatMap((p, i) =>
        p
          .output()
          .slice(i ? marks.b : marks.a)
          .split('\n')
          .filter(Boolean)
          .map((l) => `${i ? 'b' : 'a'}: ${l}`),
      );
      for (const p of [b, a]) await p.kill('SIGTERM', 3_000);
      if (opt['save-logs']) {
        await writeFile(join(opt['save-logs'], 'soak-a.log'), a.output());
        await writeFile(join(opt['save-logs'], 'soak-b.log'), b.output());
      }
      canary.signal('SIGTERM');
      await canary.exited;
      await cap.stop();
      const gaps = await advertGaps(cap.file, intervalMs);
      const lateness = [...canary.output().matchAll(/^lateness (.*)$/gm)].map((m) => m[1]);
      Object.assign(summary, {
        intervalMs,
        minutes,
        loadCount,
        spurious: found,
        logAfterElection: context.slice(0, 200),
        wireGapsOfMaster: gaps,
        canaryWorst: canary.output().match(/^worst (.*)$/m)?.[1],
        canaryWindows: lateness,
        loadAverageAtEnd: loadavg(),
      });
      log(`\nsoak: ${found.length} spurious transition(s) in ${minutes} min`);
      for (const l of found) log(`  ${l}`);
      if (found.length) for (const l of context.slice(0, 60)) log(`    | ${l}`);
      log(
        `master a's adverts on the wire: ${gaps.adverts}, gap median ${gaps.median?.toFixed(1)} ms, p99 ${gaps.p99?.toFixed(1)}, p99.9 ${gaps.p999?.toFixed(1)}, max ${gaps.max?.toFixed(1)}; gaps > 2× interval: ${gaps.over2x}, > 3×: ${gaps.over3x}, > Master_Down_Interval: ${gaps.overMasterDown}`,
      );
      log(`  largest gaps: ${gaps.worst.join('; ')}`);
      log(`canary timer lateness (10 s windows, worst ${summary.canaryWorst} ms):`);
      for (const l of lateness) log(`  ${l}`);
    } finally {
      for (const p of load) await p.kill('SIGKILL', 1_000);
    }
    log(
      `\nload stopped; failover at ${intervalMs} ms adverts, ${soakRuns} run(s) per event (load ${loadavg()}):`,
    );
    await clearVips(lab);
    await series(lab, impls, [intervalMs], list(opt.events), () => soakRuns, results);
  });
  printTables(results, impls, [intervalMs], list(opt.events));
  if (opt.json)
    await writeFile(opt.json, `${JSON.stringify({ machine: machineLine(), summary, results }, null, 2)}\n`);
}

if (process.getuid?.() !== 0) {
  console.error('failover bench: needs root (network namespaces, raw sockets)');
  process.exit(2);
}
await run('keepalived', ['--version'], { allowFailure: true }).then((r) =>
  log(`keepalived: ${(r.stderr || r.stdout).split('\n')[0]}`),
);
if (opt.soak) await soak();
else await bench();

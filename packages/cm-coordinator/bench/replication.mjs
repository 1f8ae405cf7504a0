// Replication benchmark of CmNode over real mutual TLS on loopback (a script, not a test).
//
// 1. Save-to-everywhere latency: full mesh of N nodes (each on its own 127.0.0.x, every node lists every
//    other as a peer); a save on one node (round robin), timed until every node's current policy version
//    is the saved one (taken from the node's "policy is now <id>" line, emitted right after the version was
//    persisted). Several saves per case; median / p90 / max, plus messages, bytes and CPU per save.
// 2. Idle cost: after the saves and a settling pause, messages, bytes and CPU per node per minute.
//
// Nodes run in the main thread (`--workers 0`) or spread round robin over K worker threads (each its own
// event loop, V8 heap and SQLite connection; `--workers N` = one thread per node). CPU comes from
// process.cpuUsage() (the whole process: every thread) divided by the nodes.
//
// From the repository root, from the TypeScript sources:
//   node --import tsx --conditions=@proxyha/source packages/cm-coordinator/bench/replication.mjs [options]
// Options:
//   --cases 3:50k,10:50k,10:1m,50:50k   nodes:policy size of each case (default these four)
//   --saves 20          saves per case (1 MB cases: half, at least 5)
//   --workers auto      0 = one thread; K = K worker threads; auto = one per node up to 10 nodes, else 0
//   --idle 60           seconds of idle measurement per case (0: skip)
//   --gap 300           ms of quiet after each save converged, before the next
//   --settle S          seconds after the mesh is up before the first save (default 5; 35 above 10 nodes)
//   --profile PREFIX    write PREFIX-<nodes>-<size>.cpuprofile of the main thread over the saves
//   --json              print the results as JSON too
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

// Node 20 does not hand the tsx loader of `--import tsx` to worker threads: a worker registers it itself
if (!isMainThread && process.execArgv.some((a) => a.includes('tsx')))
  (await import('tsx/esm/api')).register();
const { CmNode, createClusterCa, parseCmConfig } = await import('@proxyha/cm-coordinator');

const PORT = 23_460;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A realistic-looking policy text of about `bytes` bytes, different for each `seq`. */
function policy(bytes, seq) {
  const lines = [`# policy revision ${seq} saved ${new Date().toISOString()}`];
  let size = lines[0].length + 1;
  for (let i = 0; size < bytes; i++) {
    const line =
      i % 4 === 0
        ? `acl rule_${seq}_${i} dstdomain .example-${i % 997}.com .cdn-${(i * 7) % 503}.example.net`
        : i % 4 === 1
          ? `http_access ${i % 3 ? 'allow' : 'deny'} rule_${seq}_${i - 1} src_net_${i % 31} "time ${i % 24}:00-${(i % 24) + 1}:00"`
          : i % 4 === 2
            ? `<rule id="${i}" name="Block category ${i % 113}" enabled="true"><condition property="URL.Categories" op="in">${i % 71},${i % 59}</condition><action>Block</action></rule>`
            : `cache_peer parent-${i % 17}.proxy.example 3128 0 no-query weight=${i % 9} login=PASS`;
    lines.push(line);
    size += line.length + 1;
  }
  return [{ name: 'policy.conf', content: lines.join('\n') }];
}

// ---- a host of nodes (the main thread or a worker) -------------------------------------------------

class Host {
  nodes = new Map(); // index -> CmNode
  onArrived = () => {};

  async start({ root, ca, n, indexes }) {
    const all = Array.from({ length: n }, (_, i) => i);
    for (const i of indexes) {
      const logger = {
        debug() {},
        info: (m) => {
          if (m.startsWith('[Coordinator] policy is now ')) {
            const at = now();
            const id = this.nodes.get(i)?.current()?.id;
            if (id) this.onArrived({ index: i, id, at });
          }
        },
        warn() {},
        error() {},
      };
      const config = parseCmConfig({
        name: `bench-${i}`,
        listen: `${addr(i)}:${PORT}`,
        dataDir: join(root, `node-${i}`),
        ca,
        peers: all.filter((j) => j !== i).map((j) => `${addr(j)}:${PORT}`),
        maxClockSkew: '10s',
      });
      const node = new CmNode(config, { logger, softwareVersion: '1.0.0', controlSocket: false });
      this.nodes.set(i, node);
    }
    // one after the other: each node finds the nodes before it listening (one direction makes the link), and
    // no node meets dozens of refused dials and their backoff at once
    for (const node of this.nodes.values()) await node.start();
  }

  connected() {
    let c = 0;
    for (const node of this.nodes.values())
      c += node.status().nodes.filter((x, k) => k > 0 && x.reachable).length;
    return c;
  }

  save(index, bytes, seq) {
    const docs = policy(bytes, seq);
    const t0 = now();
    const r = this.nodes.get(index).save(docs, { comment: `bench ${seq}` });
    return { id: r.version, t0, saveMs: now() - t0 };
  }

  currents() {
    return [...this.nodes].map(([i, x]) => [i, x.current()?.id]);
  }

  stats() {
    const s = { messagesSent: 0, messagesReceived: 0, bytesSent: 0, bytesReceived: 0 };
    for (const node of this.nodes.values()) {
      const t = node.stats();
      for (const k of Object.keys(s)) s[k] += t[k];
    }
    return s;
  }

  async stop() {
    await Promise.all([...this.nodes.values()].map((x) => x.stop()));
  }
}

function addr(i) {
  return `127.0.0.${10 + i}`;
}

/** A host in a worker thread, with the same (async) methods. */
class WorkerHost {
  #w;
  #next = 0;
  #waiting = new Map();
  onArrived = () => {};
  constructor() {
    this.#w = new Worker(new URL(import.meta.url), { workerData: {} });
    this.#w.on('message', (m) => {
      if (m.event === 'arrived') this.onArrived(m);
      else {
        const p = this.#waiting.get(m.reply);
        this.#waiting.delete(m.reply);
        if (m.error) p.reject(new Error(m.error));
        else p.resolve(m.value);
      }
    });
    this.#w.on('error', (e) => console.error('worker error', e));
  }
  #call(call, ...args) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#w.postMessage({ call, id, args });
    });
  }
  start(o) {
    return this.#call('start', o);
  }
  connected() {
    return this.#call('connected');
  }
  save(...a) {
    return this.#call('save', ...a);
  }
  currents() {
    return this.#call('currents');
  }
  stats() {
    return this.#call('stats');
  }
  async stop() {
    await this.#call('stop');
    await this.#w.terminate();
  }
}

// ---- the runner --------------------------------------------------------------------------------------

function parseArgs(argv) {
  const o = {
    cases: '3:50k,10:50k,10:1m,50:50k',
    saves: 20,
    workers: 'auto',
    idle: 60,
    gap: 300,
    settle: undefined,
    profile: undefined,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (k === 'json') o.json = true;
    else o[k] = argv[++i];
  }
  const size = (t) => {
    const m = /^(\d+)([km]?)$/i.exec(t);
    return Number(m[1]) * (m[2].toLowerCase() === 'm' ? 1 << 20 : m[2] ? 1024 : 1);
  };
  o.cases = String(o.cases)
    .split(',')
    .map((c) => {
      const [n, s] = c.split(':');
      return { n: Number(n), label: s ?? '50k', bytes: size(s ?? '50k') };
    });
  o.saves = Number(o.saves);
  o.idle = Number(o.idle);
  o.gap = Number(o.gap);
  return o;
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f1 = (x) => (x === undefined ? '-' : x.toFixed(1));

/** --profile PREFIX: a CPU profile of the main thread over the saves of each case (nodes in the main thread). */
async function startProfile() {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

function cpuMs(from) {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000;
}

function sumStats(list) {
  const s = { messagesSent: 0, messagesReceived: 0, bytesSent: 0, bytesReceived: 0 };
  for (const t of list) for (const k of Object.keys(s)) s[k] += t[k];
  return s;
}
const diff = (a, b) => Object.fromEntries(Object.keys(a).map((k) => [k, a[k] - b[k]]));

async function runCase(root, ca, c, o) {
  const workers = o.workers === 'auto' ? (c.n <= 10 ? c.n : 0) : Math.min(Number(o.workers), c.n);
  const saves = c.bytes >= 1 << 20 && o.saves >= 10 ? Math.max(5, Math.floor(o.saves / 2)) : o.saves;
  const dir = join(root, `case-${c.n}-${c.label}`);
  mkdirSync(dir);
  const hosts = workers === 0 ? [new Host()] : Array.from({ length: workers }, () => new WorkerHost());
  const hostOf = (i) => hosts[i % hosts.length];
  const arrivals = new Map(); // id -> Map(index -> at)
  for (const h of hosts)
    h.onArrived = ({ index, id, at }) => {
      const m = arrivals.get(id) ?? new Map();
      arrivals.set(id, m);
      if (!m.has(index)) m.set(index, at);
    };
  const t = now();
  await Promise.all(
    hosts.map((h, k) =>
      h.start({
        root: dir,
        ca,
        n: c.n,
        indexes: Array.from({ length: c.n }, (_, i) => i).filter((i) => i % hosts.length === k),
      }),
    ),
  );
  // full mesh up: every node sees n-1 reachable peers
  for (;;) {
    const links = (await Promise.all(hosts.map((h) => h.connected()))).reduce((a, b) => a + b, 0);
    if (links === c.n * (c.n - 1)) break;
    if (now() - t > 300_000) throw new Error(`mesh of ${c.n} not up after 300 s (${links} links)`);
    await sleep(100);
  }
  const meshMs = now() - t;
  console.error(`${c.n} nodes: full mesh of ${c.n * (c.n - 1)} links up in ${Math.round(meshMs)} ms`);
  // let the start-up traffic settle: the dials of the first nodes to the last ones back off up to 30 s
  await sleep((o.settle === undefined ? (c.n > 10 ? 35 : 5) : Number(o.settle)) * 1000);
  const results = [];
  const profiler = o.profile ? await startProfile() : undefined;
  const cpu0 = process.cpuUsage();
  const stats0 = sumStats(await Promise.all(hosts.map((h) => h.stats())));
  for (let s = 0; s < saves; s++) {
    const origin = s % c.n;
    const cpuBefore = process.cpuUsage();
    const before = sumStats(await Promise.all(hosts.map((h) => h.stats())));
    const r = await hostOf(origin).save(origin, c.bytes, s);
    const deadline = now() + 60_000;
    while ((arrivals.get(r.id)?.size ?? 0) < c.n) {
      if (now() > deadline) throw new Error(`save ${s} of case ${c.n}:${c.label} did not reach every node`);
      await sleep(2);
    }
    const times = [...arrivals.get(r.id).values()].map((at) => at - r.t0).sort((a, b) => a - b);
    await sleep(o.gap);
    const after = sumStats(await Promise.all(hosts.map((h) => h.stats())));
    results.push({
      allMs: times[times.length - 1],
      medianNodeMs: median(times),
      saveMs: r.saveMs,
      traffic: diff(after, before),
      cpuMs: cpuMs(cpuBefore),
    });
  }
  const savesCpuMs = cpuMs(cpu0);
  if (profiler) await profiler.stop(`${o.profile}-${c.n}-${c.label}.cpuprofile`);
  const savesTraffic = diff(sumStats(await Promise.all(hosts.map((h) => h.stats()))), stats0);
  // every node's current is the last save
  const last = [...arrivals.keys()].pop();
  const currents = (await Promise.all(hosts.map((h) => h.currents()))).flat();
  const wrong = currents.filter(([, id]) => id !== last);
  if (wrong.length > 0) throw new Error(`${wrong.length} node(s) not on the last version`);
  // idle
  let idle;
  if (o.idle > 0) {
    await sleep(5000);
    const s0 = sumStats(await Promise.all(hosts.map((h) => h.stats())));
    const c0 = process.cpuUsage();
    const i0 = now();
    await sleep(o.idle * 1000);
    const minutes = (now() - i0) / 60_000;
    const cpu = cpuMs(c0);
    const d = diff(sumStats(await Promise.all(hosts.map((h) => h.stats()))), s0);
    idle = {
      seconds: o.idle,
      messagesPerNodeMin: d.messagesSent / c.n / minutes,
      bytesPerNodeMin: d.bytesSent / c.n / minutes,
      cpuMsPerNodeMin: cpu / c.n / minutes,
    };
  }
  await Promise.all(hosts.map((h) => h.stop()));
  const all = results.map((x) => x.allMs).sort((a, b) => a - b);
  return {
    nodes: c.n,
    policy: c.label,
    bytes: c.bytes,
    workers,
    saves,
    meshMs,
    allMedian: median(all),
    allP90: pct(all, 90),
    allMax: all[all.length - 1],
    medianNode: median(results.map((x) => x.medianNodeMs)),
    saveMs: median(results.map((x) => x.saveMs)),
    messagesPerSave: median(results.map((x) => x.traffic.messagesSent)),
    mbPerSave: median(results.map((x) => x.traffic.bytesSent)) / 1e6,
    cpuMsPerSave: median(results.map((x) => x.cpuMs)),
    savesCpuMs,
    savesTraffic,
    idle,
    runs: results.map((x) => Math.round(x.allMs * 10) / 10),
  };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const root = mkdtempSync(join(tmpdir(), 'cm-bench-'));
  const cleanup = () => rmSync(root, { recursive: true, force: true });
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const caPair = await createClusterCa({ algorithm: 'P-256' });
    mkdirSync(join(root, 'ca'));
    writeFileSync(join(root, 'ca', 'ca.crt'), caPair.certPem);
    writeFileSync(join(root, 'ca', 'ca.key'), caPair.keyPem, { mode: 0o600 });
    const ca = { cert: join(root, 'ca', 'ca.crt'), key: join(root, 'ca', 'ca.key') };
    const out = [];
    for (const c of o.cases) {
      const r = await runCase(root, ca, c, o);
      out.push(r);
      console.error(
        `${r.nodes} nodes, ${r.policy}, ${r.workers || 'no'} workers: all ${f1(r.allMedian)} / p90 ${f1(r.allP90)} / max ${f1(r.allMax)} ms; runs ${r.runs.join(' ')}`,
      );
    }
    console.log(
      '| nodes | policy | threads | saves | save→all median ms | p90 ms | max ms | median node ms | save() ms | msgs / save | MB sent / save | CPU ms / save | idle msgs / node / min | idle KB / node / min | idle CPU ms / node / min |',
    );
    console.log(
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const r of out)
      console.log(
        `| ${r.nodes} | ${r.policy} | ${r.workers ? `${r.workers} workers` : 'main'} | ${r.saves} | ${f1(r.allMedian)} | ${f1(r.allP90)} | ${f1(r.allMax)} | ${f1(r.medianNode)} | ${f1(r.saveMs)} | ${r.messagesPerSave} | ${r.mbPerSave.toFixed(2)} | ${f1(r.cpuMsPerSave)} | ${f1(r.idle?.messagesPerNodeMin)} | ${f1(r.idle ? r.idle.bytesPerNodeMin / 1024 : undefined)} | ${f1(r.idle?.cpuMsPerNodeMin)} |`,
      );
    if (o.json) console.log(JSON.stringify(out, null, 2));
  } finally {
    cleanup();
  }
}

if (!isMainThread) {
  // worker: RPC over the parent port
  const host = new Host();
  host.onArrived = (a) => parentPort.postMessage({ event: 'arrived', ...a });
  parentPort.on('message', async ({ call, id, args }) => {
    try {
      const value = await host[call](...(args ?? []));
      parentPort.postMessage({ reply: id, value });
    } catch (e) {
      parentPort.postMessage({ reply: id, error: String(e?.stack ?? e) });
    }
  });
  void workerData;
} else {
  await main();
}

// The data planes side by side in one testlab lab (namespaces c, d, n1, n2, n3 on one bridge): connections
// per second, CPU per connection, latency and bulk throughput of
//   direct     the client connects to the nodes itself (no director): the baseline
//   haproxy    HAProxy on d (mode tcp, balance source, hash-type consistent, nbthread 1)
//   nft-static a hand-written nftables NAT bucket map on d (the shape of ours, loaded once by hand)
//   nftables   our NftablesDataPlane (driven directly, table from createScheduler)
//   relay      our RelayDataPlane on node:net (engine: 'node'; a Node process of its own on d, so its CPU
//              can be read)
//   relay-native  the same RelayDataPlane on @proxyha/netio's native TCP relay engine (engine: 'native')
//   dr         our DirectRoutingDataPlane (netdev ingress L2 forwarding; nodes answer the client)
// and, in a separate step, how long NftablesDataPlane.apply takes with 4, 16 and 64 nodes (full load and a
// one-node-fails delta). A bench, not a test: it prints Markdown tables (medians of the rounds).
//
// Run (root), after `pnpm --filter @proxyha/lb-director build`, from packages/lb-director:
//   node --import tsx --conditions=@proxyha/source bench/dataplane.mjs [--rounds 5] [--seconds 5]
//     [--planes direct,haproxy,nft-static,nftables,relay,dr] [--no-updates] [--json out.json]
//     [--relay-prof DIR]   (runs the relay with --cpu-prof, profiles written to DIR)
//     [--quick [--bulk]]   (rate runs (and one bulk transfer) only, one line per run: for profiling, A/B)
// Extra planes: relay-base (the relay of another build: DPBENCH_BASE_DIST=/abs/path/dist/index.js, extra node
// options in DPBENCH_BASE_NODE_ARGS; for before/after), node-floor (a bare Node pipe relay: what Node's
// sockets cost), node-floor-raw (the same on libuv's TCP handles without net.Socket: an experiment through
// Node's internal bindings, not something to ship), and relay-alt / node-floor-alt (the relay and
// node-floor under another Node binary: DPBENCH_ALT_NODE=/abs/path/bin/node, e.g. Node 24; options for the
// relay processes in DPBENCH_RELAY_NODE_ARGS; relay-native-alt: relay-native under that binary). Exact
// commands of the published figures: bench/RESULTS.md.
// The lab (namespaces, processes, temp files, nft tables) is removed at the end, also on failure/interrupt.
//
// The helper processes (node servers, load generator, relay, table updates) are this file in another mode:
//   --node NAME PORT | --gen JSON | --relay JSON | --floor JSON | --floor-raw JSON | --updates JSON;
//   `--report FILE` re-renders a --json file.
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

const VIP = '192.168.77.74';
const SEED = 0x70726f78;
const NODE_PORT = 9000; /* the nodes' server; also the DR port (DR cannot rewrite ports) */
const PORTS = {
  haproxy: 9001,
  relay: 9002,
  'nft-static': 9003,
  nftables: 9004,
  dr: NODE_PORT,
  'relay-base': 9005,
  'node-floor': 9006,
  'relay-alt': 9007,
  'node-floor-alt': 9008,
  'node-floor-raw': 9009,
  'relay-native': 9010,
  'relay-native-alt': 9011,
};
const NODES = ['n1', 'n2', 'n3'];
const SOURCES = Array.from({ length: 30 }, (_, i) => `192.168.77.${100 + i}`);
const ALL_PLANES = ['direct', 'haproxy', 'nft-static', 'nftables', 'relay', 'dr']; /* and relay-base */
const CONCURRENCY = 32;
const PACED_RATE = 1000; /* conn/s for the fixed-rate CPU measurement: below every plane's ceiling */
const LATENCY_N = 1000;
const BULK_ONE = 512 * 2 ** 20;
const BULK_FOUR = 128 * 2 ** 20;
const CLK_TCK = 100;

const mode = process.argv[2];
if (mode === '--node') nodeServer(process.argv[3], Number(process.argv[4]));
else if (mode === '--gen') await generator(JSON.parse(process.argv[3]));
else if (mode === '--relay') await relayProcess(JSON.parse(process.argv[3]));
else if (mode === '--updates') await updates(JSON.parse(process.argv[3]));
else if (mode === '--floor') nodeFloor(JSON.parse(process.argv[3]));
else if (mode === '--floor-raw') nodeFloorRaw(JSON.parse(process.argv[3]));
else if (mode === '--report') {
  /* re-render the tables from a --json file */
  const { results, updateRows, options } = JSON.parse(readFileSync(process.argv[3], 'utf8'));
  report(
    results,
    updateRows,
    options ?? { rounds: 0, seconds: 0, planes: [...new Set(results.map((r) => r.plane))] },
  );
} else await main();

// ---------------------------------------------------------------------------------------------------------
// node server: a short answer and close, or `B <bytes>`: that many bytes, then close (the server closes
// first, so the client side keeps no TIME_WAIT)

function nodeServer(name, port) {
  const short = Buffer.from(`${name} ${'x'.repeat(60)}\n`);
  const chunk = Buffer.alloc(64 * 1024, 120);
  createServer({ noDelay: true }, (s) => {
    s.on('error', () => undefined);
    s.once('data', (d) => {
      if (d[0] !== 66 /* B */) {
        s.end(short);
        return;
      }
      let left = Number(d.toString('latin1', 2).trim());
      const pump = () => {
        while (left > 0) {
          const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= c.length;
          if (!s.write(c)) {
            s.once('drain', pump);
            return;
          }
        }
        s.end();
      };
      pump();
    });
  }).listen({ port, host: '0.0.0.0', backlog: 4096 }, () => console.log(`${name} listening`));
}

// ---------------------------------------------------------------------------------------------------------
// CPU snapshots: /proc/stat (the machine) and /proc/<pid>/stat (utime+stime of all threads, in ticks)

function procTicks(pid, userOnly = false) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + (userOnly ? 0 : Number(f[12])); /* utime, stime (fields 14, 15) */
  } catch {
    return 0;
  }
}

function cpuSnapshot(watch) {
  const line = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line;
  const groups = {};
  for (const [k, pids] of Object.entries(watch)) groups[k] = pids.reduce((a, p) => a + procTicks(p), 0);
  groups.client = procTicks(process.pid);
  groups.directorUser = (watch.director ?? []).reduce((a, p) => a + procTicks(p, true), 0);
  return {
    t: performance.now(),
    busy: user + nice + system + irq + softirq + steal,
    sys: system + irq + softirq,
    softirq,
    total: user + nice + system + idle + iowait + irq + softirq + steal,
    groups,
  };
}

function cpuDelta(a, b) {
  const groups = {};
  for (const k of Object.keys(b.groups)) groups[k] = ((b.groups[k] - a.groups[k]) / CLK_TCK) * 1e6; /* µs */
  return {
    ms: b.t - a.t,
    busyUs: ((b.busy - a.busy) / CLK_TCK) * 1e6,
    sysUs: ((b.sys - a.sys) / CLK_TCK) * 1e6,
    softirqUs: ((b.softirq - a.softirq) / CLK_TCK) * 1e6,
    groups,
  };
}

// ---------------------------------------------------------------------------------------------------------
// load generator (runs in c): modes rate (closed loops), paced (fixed rate), latency (one at a time), bulk

function once(target, src, request) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let bytes = 0;
    let settled = false;
    const s = connect({ host: target.host, port: target.port, localAddress: src, noDelay: true });
    const timer = setTimeout(() => s.destroy(new Error('timeout')), 20_000);
    s.on('connect', () => s.write(request));
    s.on('data', (d) => {
      bytes += d.length;
    });
    s.on('error', () => undefined);
    s.on('close', (hadError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ok: !hadError && bytes > 0, bytes, ms: performance.now() - t0 });
    });
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function generator(o) {
  const short = Buffer.from('S\n');
  let si = 0;
  let ti = 0;
  const next = () => [o.targets[ti++ % o.targets.length], o.sources[si++ % o.sources.length]];
  const lat = [];
  let ok = 0;
  let failed = 0;
  let counting = false;
  let stopped = false;
  const record = (r) => {
    if (!counting) return;
    if (r.ok) {
      ok++;
      lat.push(r.ms);
    } else failed++;
  };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  let cpu;
  if (o.mode === 'rate' || o.mode === 'paced') {
    const inflight = new Set();
    let capped = 0;
    if (o.mode === 'rate') {
      for (let i = 0; i < o.concurrency; i++)
        inflight.add(
          (async () => {
            while (!stopped) {
              const [t, s] = next();
              record(await once(t, s, short));
            }
          })(),
        );
    } else {
      const start = performance.now();
      let started = 0;
      let open = 0;
      const timer = setInterval(() => {
        if (stopped) return;
        const due = Math.floor(((performance.now() - start) * o.rate) / 1000) - started;
        for (let i = 0; i < due; i++) {
          started++;
          if (open >= o.concurrency) {
            if (counting) capped++;
            continue;
          }
          open++;
          const [t, s] = next();
          void once(t, s, short).then((r) => {
            open--;
            record(r);
          });
        }
      }, 1);
      inflight.add(
        (async () => {
          while (!stopped) await sleep(50);
          clearInterval(timer);
          while (open > 0) await sleep(10);
        })(),
      );
    }
    await sleep(o.warmupMs);
    const a = cpuSnapshot(o.watch);
    counting = true;
    await sleep(o.seconds * 1000);
    counting = false;
    const b = cpuSnapshot(o.watch);
    stopped = true;
    await Promise.all(inflight);
    cpu = cpuDelta(a, b);
    lat.sort((x, y) => x - y);
    out({
      ok,
      failed,
      capped,
      rate: ok / (cpu.ms / 1000),
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      cpu,
    });
  } else if (o.mode === 'latency') {
    for (let i = 0; i < 50; i++) {
      const [t, s] = next();
      await once(t, s, short);
    }
    counting = true;
    const a = cpuSnapshot(o.watch);
    for (let i = 0; i < o.count; i++) {
      const [t, s] = next();
      record(await once(t, s, short));
    }
    const b = cpuSnapshot(o.watch);
    cpu = cpuDelta(a, b);
    lat.sort((x, y) => x - y);
    out({ ok, failed, p50: percentile(lat, 50), p90: percentile(lat, 90), p99: percentile(lat, 99), cpu });
  } else if (o.mode === 'bulk') {
    const a = cpuSnapshot(o.watch);
    const rs = await Promise.all(
      Array.from({ length: o.streams }, () => {
        const [t, s] = next();
        return once(t, s, Buffer.from(`B ${o.bytes}\n`));
      }),
    );
    const b = cpuSnapshot(o.watch);
    cpu = cpuDelta(a, b);
    const bytes = rs.reduce((x, r) => x + r.bytes, 0);
    out({
      ok: rs.filter((r) => r.ok && r.bytes === o.bytes).length,
      bytes,
      mbps: bytes / 2 ** 20 / (cpu.ms / 1000),
      cpu,
    });
  }
}

function out(x) {
  process.stdout.write(`${JSON.stringify(x)}\n`);
}

// ---------------------------------------------------------------------------------------------------------
// the relay, in a process of its own on d (so /proc/<pid>/stat is the relay's CPU)

function benchSettings(vip, port, managementIp) {
  return {
    virtualIps: [`${vip}/24`],
    redirects: [{ originalPort: port, destinationPort: NODE_PORT }],
    persistence: { ipv4PrefixLength: 32, ipv6PrefixLength: 128 },
    interface: 'eth0',
    managementIp,
  };
}

function schedulerTable(createScheduler, nodes, at = 0, unhealthy = undefined, sched = undefined) {
  const s = sched ?? createScheduler({ seed: SEED, loadAware: false });
  const u = s.update(
    at,
    nodes.map((n) => ({ id: n.id, capacity: 100, healthy: n.id !== unhealthy, activeConnections: 0 })),
  );
  return { sched: s, update: u };
}

async function relayProcess(o) {
  const { RelayDataPlane, createScheduler } = await import(o.dist ?? '../dist/index.js');
  /* o.engine: 'node' (relay, relay-alt) or 'native' (relay-native*); absent for relay-base (older builds) */
  const dp = new RelayDataPlane(benchSettings(o.vip, o.port, o.self), o.engine ? { engine: o.engine } : {});
  const { update } = schedulerTable(createScheduler, o.nodes);
  await dp.start();
  await dp.apply({
    table: update.table,
    nodes: new Map(o.nodes.map((n) => [n.id, { id: n.id, address: n.address, self: false }])),
    changedBuckets: 'all',
  });
  console.log(`relay ready pid ${process.pid} engine ${dp.engine ?? 'node'}`);
  const stop = async () => {
    const st = dp.stats();
    console.log(`relay stats accepted ${st.accepted} failed ${st.failed} errors ${st.socketErrors}`);
    await dp.stop('destroy');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * node-floor: the least a Node.js TCP relay does (accept, connect to the next node round-robin, pipe both
 * ways, destroy both on error): no table, no timeouts, no half-close, no counters. What Node itself costs.
 */
function nodeFloor(o) {
  let i = 0;
  createServer((c) => {
    const n = o.nodes[i++ % o.nodes.length];
    const u = connect({ host: n.address, port: NODE_PORT });
    const kill = () => {
      c.destroy();
      u.destroy();
    };
    c.on('error', kill);
    u.on('error', kill);
    c.pipe(u);
    u.pipe(c);
  }).listen({ host: o.vip, port: o.port }, () => console.log('floor ready'));
}

/**
 * node-floor-raw: the node-floor relay on libuv's TCP handles directly (Node's internal `tcp_wrap` and
 * `stream_wrap` bindings through the deprecated `process.binding`, DEP0111), without net.Socket and its
 * streams: accept, connect round-robin, copy both ways, forward each FIN, close both when both ended. An
 * experiment that shows how much of Node's per-connection cost is net.Socket; no backpressure, no timeouts.
 */
function nodeFloorRaw(o) {
  const { TCP, TCPConnectWrap, constants } = process.binding('tcp_wrap');
  const {
    WriteWrap,
    ShutdownWrap,
    streamBaseState,
    kReadBytesOrError,
    kArrayBufferOffset,
    kLastWriteWasAsync,
  } = process.binding('stream_wrap');
  const UV_EOF = -4095;
  const noop = () => undefined;
  const close = (c) => {
    if (c.closed) return;
    c.closed = true;
    c.a.close(noop);
    c.b.close(noop);
  };
  function onread(ab) {
    const n = streamBaseState[kReadBytesOrError];
    if (n > 0) {
      const buf = new Uint8Array(ab, streamBaseState[kArrayBufferOffset], n);
      const w = new WriteWrap();
      w.handle = this.peer;
      w.oncomplete = noop;
      w.async = false;
      if (this.peer.writeBuffer(w, buf) !== 0) close(this.c);
      else if (streamBaseState[kLastWriteWasAsync]) w.buffer = buf;
    } else if (n === UV_EOF) {
      this.eof = true;
      if (this.peer.eof) close(this.c);
      else {
        const r = new ShutdownWrap();
        r.handle = this.peer;
        r.oncomplete = noop;
        this.peer.shutdown(r);
      }
    } else if (n < 0) close(this.c);
  }
  let i = 0;
  const server = new TCP(constants.SERVER);
  if (server.bind(o.vip, o.port) !== 0 || server.listen(511) !== 0)
    throw new Error('floor-raw cannot listen');
  server.onconnection = (err, client) => {
    if (err) return;
    const up = new TCP(constants.SOCKET);
    const c = { a: client, b: up, closed: false };
    for (const [h, peer] of [
      [client, up],
      [up, client],
    ]) {
      h.c = c;
      h.peer = peer;
      h.eof = false;
      h.onread = onread;
    }
    const n = o.nodes[i++ % o.nodes.length];
    const req = new TCPConnectWrap();
    req.oncomplete = (status) => {
      if (status < 0) return close(c);
      client.readStart();
      up.readStart();
    };
    req.address = n.address;
    req.port = NODE_PORT;
    if (up.connect(req, n.address, NODE_PORT) !== 0) close(c);
  };
  console.log('floor ready');
}

// ---------------------------------------------------------------------------------------------------------
// table updates through NftablesDataPlane.apply (runs in d, so nft runs there without `ip netns exec`)

async function updates(o) {
  const { NftablesDataPlane, createScheduler } = await import('../dist/index.js');
  const rows = [];
  for (const n of o.counts) {
    const nodes = Array.from({ length: n }, (_, i) => ({
      id: `node-${String(i).padStart(3, '0')}`,
      address: i === 0 ? o.self : `10.99.${Math.floor(i / 250)}.${1 + (i % 250)}`,
    }));
    const nodeMap = new Map(nodes.map((x, i) => [x.id, { id: x.id, address: x.address, self: i === 0 }]));
    const full = [];
    const delta = [];
    let info;
    for (let r = 0; r < o.runs; r++) {
      const dp = new NftablesDataPlane({
        settings: benchSettings(o.vip, 9500, o.self),
        group: 200,
        forwarding: 'check',
      });
      await dp.start();
      try {
        const { sched, update: u0 } = schedulerTable(createScheduler, nodes);
        let t = performance.now();
        await dp.apply({ table: u0.table, nodes: nodeMap, changedBuckets: 'all' });
        full.push(performance.now() - t);
        const f = dp.lastApply;
        const failing = nodes[1 + (r % (n - 1))].id;
        const { update: u1 } = schedulerTable(createScheduler, nodes, 1000, failing, sched);
        t = performance.now();
        await dp.apply({ table: u1.table, nodes: nodeMap, changedBuckets: u1.changedBuckets });
        delta.push(performance.now() - t);
        info = {
          size: u0.table.size,
          fullMode: f.mode,
          fullBytes: f.bytes,
          deltaMode: dp.lastApply.mode,
          deltaBuckets: dp.lastApply.changedBuckets,
          deltaBytes: dp.lastApply.bytes,
          schedulerChanged: u1.changedBuckets.length,
        };
      } finally {
        await dp.stop();
      }
    }
    rows.push({ nodes: n, full, delta, ...info });
  }
  out(rows);
}

// ---------------------------------------------------------------------------------------------------------
// the bench

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
}

function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  const loadStart = os.loadavg()[0];
  const rounds = Number(arg('rounds', 3));
  const seconds = Number(arg('seconds', 5));
  const planes = arg('planes', ALL_PLANES.join(',')).split(',');
  const jsonOut = arg('json', undefined);
  const relayProf = arg('relay-prof', undefined);
  const quick = process.argv.includes('--quick'); /* rate runs only, no report (for profiling) */
  const withUpdates = !quick && !process.argv.includes('--no-updates');
  const { Lab } = await import('@proxyha/testlab');
  const dist = await import('../dist/index.js');
  const self = new URL(import.meta.url).pathname;
  const node = process.execPath;

  const lab = await Lab.create({ nodes: ['c', 'd', ...NODES], ipv6: false });
  const results = []; /* { round, plane, rate, paced, latency, bulk1, bulk4 } */
  let updateRows;
  try {
    const runner = (where) => (file, args, o) =>
      lab.exec(where, file, args, {
        allowFailure: true,
        timeoutMs: o?.timeoutMs ?? 60_000,
        ...(o?.input === undefined ? {} : { input: o.input }),
      });
    const d = lab.node('d');
    const sh = (where, cmd) => lab.exec(where, 'sh', ['-c', cmd]);
    await lab.exec('d', 'ip', ['addr', 'add', `${VIP}/24`, 'dev', 'eth0']);
    await sh(
      'd',
      'sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0 "net.ipv4.ip_local_port_range=1024 65535"',
    );
    await lab.exec('c', 'ip', ['-batch', '-'], {
      input: SOURCES.map((a) => `addr add ${a}/24 dev eth0`).join('\n'),
    });
    await sh('c', 'sysctl -qw "net.ipv4.ip_local_port_range=1024 65535"');
    const nodePids = [];
    for (const n of NODES) {
      const p = lab.spawn(n, node, [self, '--node', n, String(NODE_PORT)], { name: `server:${n}` });
      await p.waitForOutput(/listening/, 20_000);
      nodePids.push(p.pid);
    }
    const nodeList = NODES.map((n) => ({ id: n, address: lab.node(n).ipv4 }));
    const dpNodes = new Map(nodeList.map((n) => [n.id, { id: n.id, address: n.address, self: false }]));
    const { update } = schedulerTable(dist.createScheduler, nodeList);
    const table = update.table;

    // HAProxy and the relay run all along (idle when not measured); the kernel planes are installed per run
    const dir = await lab.runDir('dpbench');
    const { writeFile } = await import('node:fs/promises');
    const cfg = `${dir}/haproxy.cfg`;
    await writeFile(
      cfg,
      [
        'global',
        '  nbthread 1',
        '  maxconn 8000',
        'defaults',
        '  mode tcp',
        '  maxconn 8000',
        '  timeout connect 5s',
        '  timeout client 30s',
        '  timeout server 30s',
        'frontend fe',
        `  bind ${VIP}:${PORTS.haproxy}`,
        '  default_backend be',
        'backend be',
        '  balance source',
        '  hash-type consistent',
        ...nodeList.map((n) => `  server ${n.id} ${n.address}:${NODE_PORT}`),
        '',
      ].join('\n'),
    );
    const haproxy = planes.includes('haproxy')
      ? lab.spawn('d', 'haproxy', ['-db', '-f', cfg], { name: 'haproxy' })
      : undefined;
    if (haproxy) await lab.waitForTcp('c', VIP, PORTS.haproxy, 20_000, haproxy);
    // relay-alt / node-floor-alt: the same under another Node binary (DPBENCH_ALT_NODE, e.g. Node 24);
    // DPBENCH_RELAY_NODE_ARGS: extra node options for relay and relay-alt
    const altNode = process.env.DPBENCH_ALT_NODE;
    if (planes.some((p) => p.endsWith('-alt')) && !altNode)
      throw new Error('the -alt planes need DPBENCH_ALT_NODE');
    const relayArgs = (process.env.DPBENCH_RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const relayOf = (plane, bin, engine) =>
      planes.includes(plane)
        ? lab.spawn(
            'd',
            bin,
            [
              ...relayArgs,
              ...(relayProf ? ['--cpu-prof', `--cpu-prof-dir=${relayProf}`] : []),
              self,
              '--relay',
              JSON.stringify({ vip: VIP, port: PORTS[plane], self: d.ipv4, nodes: nodeList, engine }),
            ],
            { name: plane },
          )
        : undefined;
    const relay = relayOf('relay', node, 'node');
    if (relay) await relay.waitForOutput(/relay ready/, 20_000);
    const relayAlt = relayOf('relay-alt', altNode, 'node');
    if (relayAlt) await relayAlt.waitForOutput(/relay ready/, 20_000);
    const relayNative = relayOf('relay-native', node, 'native');
    if (relayNative) await relayNative.waitForOutput(/relay ready .* engine native/, 20_000);
    const relayNativeAlt = relayOf('relay-native-alt', altNode, 'native');
    if (relayNativeAlt) await relayNativeAlt.waitForOutput(/relay ready .* engine native/, 20_000);
    // relay-base: the relay from another build (DPBENCH_BASE_DIST=/path/to/dist/index.js), for before/after;
    // DPBENCH_BASE_NODE_ARGS: extra node options for it (e.g. --max-semi-space-size=32)
    const baseDist = process.env.DPBENCH_BASE_DIST;
    if (planes.includes('relay-base') && !baseDist) throw new Error('relay-base needs DPBENCH_BASE_DIST');
    const relayBase = planes.includes('relay-base')
      ? lab.spawn(
          'd',
          node,
          [
            ...(process.env.DPBENCH_BASE_NODE_ARGS ?? '').split(' ').filter(Boolean),
            self,
            '--relay',
            JSON.stringify({
              vip: VIP,
              port: PORTS['relay-base'],
              self: d.ipv4,
              nodes: nodeList,
              dist: baseDist,
            }),
          ],
          { name: 'relay-base' },
        )
      : undefined;
    if (relayBase) await relayBase.waitForOutput(/relay ready/, 20_000);
    const floorOf = (plane, bin, how) =>
      planes.includes(plane)
        ? lab.spawn(
            'd',
            bin,
            [self, how, JSON.stringify({ vip: VIP, port: PORTS[plane], nodes: nodeList })],
            {
              name: plane,
            },
          )
        : undefined;
    const floor = floorOf('node-floor', node, '--floor');
    const floorAlt = floorOf('node-floor-alt', altNode, '--floor');
    const floorRaw = floorOf('node-floor-raw', node, '--floor-raw');
    for (const p of [floor, floorAlt, floorRaw].filter(Boolean)) await p.waitForOutput(/floor ready/, 20_000);
    const procs = { haproxy, relay, 'relay-base': relayBase, 'relay-alt': relayAlt };
    Object.assign(procs, { 'relay-native': relayNative, 'relay-native-alt': relayNativeAlt });
    Object.assign(procs, { 'node-floor': floor, 'node-floor-alt': floorAlt, 'node-floor-raw': floorRaw });
    for (const p of Object.values(procs).filter(Boolean)) {
      const comm = readFileSync(`/proc/${p.pid}/comm`, 'latin1').trim();
      /* Node 24 names its main thread MainThread */
      if (!/haproxy|node|MainThread/.test(comm)) throw new Error(`pid ${p.pid} of ${p.name} is ${comm}`);
    }
    const ksoftirqd = listKsoftirqd();

    const staticRuleset = () => {
      // hand-written: the same shape as NftablesDataPlane's (ct mark = jhash bucket, DNAT through a map,
      // SNAT to the VIP), no counters, no reset rule; buckets dealt round-robin over the three nodes
      const els = [];
      for (let b = 0; b < table.size; b++) els.push(`${b} : ${nodeList[b % 3].address} . ${NODE_PORT}`);
      return `table inet bench_static {
  map b4 {
    type mark : ipv4_addr . inet_service
    elements = { ${els.join(', ')} }
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr ${VIP} tcp dport ${PORTS['nft-static']} ct state new ct mark set jhash ip saddr mod ${table.size} seed ${SEED} dnat ip to ct mark map @b4
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ct status dnat ct original ip daddr ${VIP} meta l4proto tcp ct original proto-dst ${PORTS['nft-static']} snat ip to ${VIP}
  }
}
`;
    };

    /** Sets a plane up; returns { targets, watch, teardown }. */
    const setUp = async (plane) => {
      const vipTarget = [{ host: VIP, port: PORTS[plane] }];
      switch (plane) {
        case 'direct':
          return {
            targets: nodeList.map((n) => ({ host: n.address, port: NODE_PORT })),
            director: [],
            teardown: async () => {},
          };
        case 'haproxy':
        case 'relay':
        case 'relay-base':
        case 'relay-alt':
        case 'relay-native':
        case 'relay-native-alt':
        case 'node-floor':
        case 'node-floor-alt':
        case 'node-floor-raw':
          return { targets: vipTarget, director: [procs[plane].pid], teardown: async () => {} };
        case 'nft-static': {
          const r = await lab.exec('d', 'nft', ['-f', '-'], { input: staticRuleset(), timeoutMs: 60_000 });
          if (r.code !== 0) throw new Error(r.stderr);
          return {
            targets: vipTarget,
            director: [],
            teardown: async () => {
              await lab.exec('d', 'nft', ['delete', 'table', 'inet', 'bench_static']);
            },
          };
        }
        case 'nftables': {
          const dp = new dist.NftablesDataPlane({
            settings: { ...benchSettings(VIP, PORTS.nftables, d.ipv4) },
            group: 51,
            run: runner('d'),
            forwarding: 'check',
          });
          await dp.start();
          await dp.apply({ table, nodes: dpNodes, changedBuckets: 'all' });
          return {
            targets: vipTarget,
            director: [],
            teardown: async () => {
              const st = await dp.refreshStats?.().catch(() => undefined);
              if (st && st.failed > 0) console.error(`nftables plane: ${st.failed} resets`);
              await dp.stop();
            },
          };
        }
        case 'dr': {
          const setups = [];
          for (const n of NODES) {
            const s = new dist.DirectRoutingNodeSetup({
              virtualIps: [`${VIP}/24`],
              interface: 'eth0',
              run: runner(n),
            });
            await s.start();
            setups.push(s);
          }
          const dp = new dist.DirectRoutingDataPlane(
            {
              virtualIps: [`${VIP}/24`],
              redirects: [{ originalPort: NODE_PORT, destinationPort: NODE_PORT }],
              persistence: { ipv4PrefixLength: 32, ipv6PrefixLength: 128 },
              interface: 'eth0',
              managementIp: d.ipv4,
            },
            { run: runner('d') },
          );
          await dp.start();
          await dp.apply({ table, nodes: dpNodes, changedBuckets: 'all' });
          return {
            targets: vipTarget,
            director: [],
            teardown: async () => {
              await dp.stop();
              for (const s of setups) await s.stop();
            },
          };
        }
        default:
          throw new Error(`unknown plane ${plane}`);
      }
    };

    const gen = async (o) => {
      const r = await lab.exec('c', node, [self, '--gen', JSON.stringify(o)], { timeoutMs: 120_000 });
      return JSON.parse(r.stdout.trim().split('\n').at(-1));
    };

    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? planes : [...planes].reverse();
      for (const plane of order) {
        const p = await setUp(plane);
        try {
          const base = {
            targets: p.targets,
            sources: SOURCES,
            watch: { director: p.director, nodes: nodePids, ksoftirqd },
          };
          const rate = await gen({
            ...base,
            mode: 'rate',
            concurrency: CONCURRENCY,
            seconds,
            warmupMs: 700,
          });
          if (quick) {
            // rate and bulk only, one line each (for profiling and A/B runs)
            const bulk1 = process.argv.includes('--bulk')
              ? await gen({ ...base, mode: 'bulk', streams: 1, bytes: BULK_ONE })
              : undefined;
            results.push({ round, plane, rate, bulk1 });
            console.error(
              `round ${round} ${plane.padEnd(10)} ${rate.rate.toFixed(0)} conn/s (failed ${rate.failed}), director ${(rate.cpu.groups.director / rate.ok).toFixed(1)} µs/conn (user ${(rate.cpu.groups.directorUser / rate.ok).toFixed(1)})` +
                (bulk1
                  ? `, bulk ${bulk1.mbps.toFixed(0)} MiB/s, director ${(bulk1.cpu.groups.director / 1000 / (bulk1.bytes / 2 ** 30)).toFixed(0)} ms/GiB`
                  : ''),
            );
            continue;
          }
          const paced = await gen({
            ...base,
            mode: 'paced',
            rate: PACED_RATE,
            concurrency: 256,
            seconds: Math.max(2, Math.round(seconds * 0.6)),
            warmupMs: 500,
          });
          const latency = await gen({ ...base, mode: 'latency', count: LATENCY_N });
          const bulk1 = await gen({ ...base, mode: 'bulk', streams: 1, bytes: BULK_ONE });
          const bulk4 = await gen({ ...base, mode: 'bulk', streams: 4, bytes: BULK_FOUR });
          const row = { round, plane, rate, paced, latency, bulk1, bulk4 };
          results.push(row);
          console.error(
            `round ${round} ${plane.padEnd(10)} ${rate.rate.toFixed(0)} conn/s (failed ${rate.failed}), ` +
              `director ${(rate.cpu.groups.director / rate.ok).toFixed(1)} µs/conn, paced lab ${(labUs(paced) / paced.ok).toFixed(0)} µs/conn (capped ${paced.capped}), ` +
              `lat p50 ${latency.p50.toFixed(3)} p99 ${latency.p99.toFixed(3)} ms, bulk ${bulk1.mbps.toFixed(0)} / ${bulk4.mbps.toFixed(0)} MiB/s`,
          );
        } finally {
          await p.teardown();
        }
      }
    }
    for (const r of [relay, relayBase, relayAlt, relayNative, relayNativeAlt].filter(Boolean)) {
      await r.kill('SIGTERM', 10_000);
      const m = r.output().match(/relay stats .*/);
      if (m) console.error(`${r.name}: ${m[0]}`);
    }
    if (withUpdates) {
      const r = await lab.exec(
        'd',
        node,
        [self, '--updates', JSON.stringify({ vip: VIP, self: d.ipv4, counts: [4, 16, 64], runs: 5 })],
        { timeoutMs: 300_000 },
      );
      updateRows = JSON.parse(r.stdout.trim().split('\n').at(-1));
    }
  } finally {
    await lab.destroy();
  }
  if (!quick) report(results, updateRows, { rounds, seconds, planes, load: [loadStart, os.loadavg()[0]] });
  if (jsonOut) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      jsonOut,
      JSON.stringify(
        { results, updateRows, options: { rounds, seconds, planes, load: [loadStart, os.loadavg()[0]] } },
        null,
        1,
      ),
    );
  }
}

function listKsoftirqd() {
  const pids = [];
  for (const e of readdirSync('/proc'))
    if (/^\d+$/.test(e)) {
      try {
        if (readFileSync(`/proc/${e}/comm`, 'latin1').startsWith('ksoftirqd/')) pids.push(Number(e));
      } catch {
        /* gone */
      }
    }
  return pids;
}

/** CPU of the lab's processes (client, nodes, director process) and ksoftirqd, µs. */
function labUs(r) {
  const g = r.cpu.groups;
  return g.client + g.nodes + g.director + g.ksoftirqd;
}

function fmt(x, digits = 0) {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}

function report(results, updateRows, { rounds, seconds, planes, load }) {
  const by = (plane) => results.filter((r) => r.plane === plane);
  const perRound = (plane, f, basePlane = 'direct') => {
    // ratio per round against the same round's run of basePlane
    const xs = [];
    for (const r of by(plane)) {
      const base = results.find((x) => x.plane === basePlane && x.round === r.round);
      if (base) xs.push(f(r, base));
    }
    return median(xs);
  };
  const lines = [];
  if (load)
    lines.push(`Load average (1 min) at start / end: ${load[0].toFixed(2)} / ${load[1].toFixed(2)}.`, '');
  lines.push(
    `Data planes side by side (${rounds} rounds, ${seconds} s rate runs, ${CONCURRENCY} loops over ${SOURCES.length} sources, 3 nodes; medians; ratios per round against direct):`,
  );
  lines.push('');
  lines.push(
    '| plane | conn/s (min–max) | × direct | director process µs/conn (user) | conn per director CPU-s | lab CPU µs/conn at 1000/s | extra vs direct µs/conn | p50 ms | p99 ms | added p50 / p99 ms | 1 × 512 MiB MiB/s | 4 × 128 MiB MiB/s | × direct (1 / 4) | director CPU ms per GiB |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const plane of planes) {
    const rs = by(plane);
    if (rs.length === 0) continue;
    const rates = rs.map((r) => r.rate.rate);
    const dirUs = median(rs.map((r) => r.rate.cpu.groups.director / r.rate.ok));
    const dirUser = median(rs.map((r) => r.rate.cpu.groups.directorUser / r.rate.ok));
    const hasProc = plane === 'haproxy' || plane.startsWith('relay') || plane.startsWith('node-floor');
    const labPaced = median(rs.map((r) => labUs(r.paced) / r.paced.ok));
    const extra = perRound(plane, (r, b) => labUs(r.paced) / r.paced.ok - labUs(b.paced) / b.paced.ok);
    const gib = median(rs.map((r) => r.bulk1.cpu.groups.director / 1000 / (r.bulk1.bytes / 2 ** 30)));
    lines.push(
      `| ${plane} | ${fmt(median(rates))} (${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}) | ${fmt(
        perRound(plane, (r, b) => r.rate.rate / b.rate.rate),
        2,
      )} | ${hasProc ? `${fmt(dirUs)} (${fmt(dirUser)})` : 'none'} | ${hasProc ? fmt(1e6 / dirUs) : '∞'} | ${fmt(labPaced)} | ${plane === 'direct' ? '–' : fmt(extra)} | ${fmt(median(rs.map((r) => r.latency.p50)), 3)} | ${fmt(median(rs.map((r) => r.latency.p99)), 3)} | ${
        plane === 'direct'
          ? '–'
          : `${fmt(
              perRound(plane, (r, b) => r.latency.p50 - b.latency.p50),
              3,
            )} / ${fmt(
              perRound(plane, (r, b) => r.latency.p99 - b.latency.p99),
              3,
            )}`
      } | ${fmt(median(rs.map((r) => r.bulk1.mbps)))} | ${fmt(median(rs.map((r) => r.bulk4.mbps)))} | ${fmt(
        perRound(plane, (r, b) => r.bulk1.mbps / b.bulk1.mbps),
        2,
      )} / ${fmt(
        perRound(plane, (r, b) => r.bulk4.mbps / b.bulk4.mbps),
        2,
      )} | ${hasProc ? fmt(gib) : 'none'} |`,
    );
  }
  const failures = results.filter(
    (r) => r.rate.failed + r.paced.failed + r.latency.failed > 0 || r.bulk1.ok !== 1 || r.bulk4.ok !== 4,
  );
  lines.push('');
  lines.push(
    failures.length === 0
      ? 'Every connection and transfer completed.'
      : `Failures: ${failures.map((r) => `${r.plane}#${r.round} rate ${r.rate.failed} paced ${r.paced.failed} latency ${r.latency.failed} bulk ${r.bulk1.ok}/1 ${r.bulk4.ok}/4`).join('; ')}`,
  );
  const machine = planes
    .filter((p) => by(p).length > 0)
    .map((p) => {
      const rs = by(p);
      return `${p} ${fmt(median(rs.map((r) => r.rate.cpu.busyUs / r.rate.ok)))} (sys+softirq ${fmt(median(rs.map((r) => r.rate.cpu.sysUs / r.rate.ok)))})`;
    });
  lines.push('');
  lines.push(
    `Machine CPU (/proc/stat, all processes) µs per connection in the rate runs: ${machine.join(', ')}.`,
  );
  const ratios = [];
  const h = by('haproxy');
  const rl = by('relay');
  const cps = (rs) => median(rs.map((r) => r.rate.ok / (r.rate.cpu.groups.director / 1e6)));
  const mbps = (rs, k) => median(rs.map((r) => r[k].mbps));
  for (const p of [
    'relay',
    'relay-base',
    'relay-alt',
    'relay-native',
    'relay-native-alt',
    'node-floor',
    'node-floor-alt',
    'node-floor-raw',
  ]) {
    const rs = by(p);
    if (!h.length || !rs.length) continue;
    ratios.push(
      `${p} / HAProxy conn per CPU-s ${fmt(cps(rs) / cps(h), 2)}, throughput ${fmt(mbps(rs, 'bulk1') / mbps(h, 'bulk1'), 2)} (1 stream) ${fmt(mbps(rs, 'bulk4') / mbps(h, 'bulk4'), 2)} (4 streams), conn/s ${fmt(
        perRound(p, (r, b) => r.rate.rate / b.rate.rate, 'haproxy'),
        2,
      )}`,
    );
  }
  const rn = by('relay-native');
  if (rl.length && rn.length) {
    const us = (rs) => median(rs.map((r) => r.rate.cpu.groups.director / r.rate.ok));
    const gib = (rs) => median(rs.map((r) => r.bulk1.cpu.groups.director / 1000 / (r.bulk1.bytes / 2 ** 30)));
    ratios.push(
      `relay-native / relay director CPU per connection ${fmt(us(rn) / us(rl), 2)} (per round ${fmt(
        perRound(
          'relay-native',
          (r, b) => r.rate.cpu.groups.director / r.rate.ok / (b.rate.cpu.groups.director / b.rate.ok),
          'relay',
        ),
        2,
      )}), per GiB ${fmt(gib(rn) / gib(rl), 2)}`,
    );
  }
  const rb = by('relay-base');
  if (rl.length && rb.length) {
    const us = (rs) => median(rs.map((r) => r.rate.cpu.groups.director / r.rate.ok));
    const gib = (rs) => median(rs.map((r) => r.bulk1.cpu.groups.director / 1000 / (r.bulk1.bytes / 2 ** 30)));
    ratios.push(
      `relay / relay-base director CPU per connection ${fmt(us(rl) / us(rb), 2)} (per round ${fmt(
        perRound(
          'relay',
          (r, b) => r.rate.cpu.groups.director / r.rate.ok / (b.rate.cpu.groups.director / b.rate.ok),
          'relay-base',
        ),
        2,
      )}), per GiB ${fmt(gib(rl) / gib(rb), 2)}`,
    );
  }
  const st = by('nft-static');
  const nf = by('nftables');
  if (st.length && nf.length)
    ratios.push(
      `nftables / nft-static conn/s ${fmt(
        perRound('nftables', (r, b) => r.rate.rate / b.rate.rate, 'nft-static'),
        2,
      )}, lab CPU per connection at 1000/s ${fmt(
        perRound(
          'nftables',
          (r, b) => labUs(r.paced) / r.paced.ok / (labUs(b.paced) / b.paced.ok),
          'nft-static',
        ),
        2,
      )}`,
    );
  if (h.length && nf.length)
    ratios.push(
      `nftables / HAProxy conn/s ${fmt(
        perRound('nftables', (r, b) => r.rate.rate / b.rate.rate, 'haproxy'),
        2,
      )}`,
    );
  if (ratios.length) {
    lines.push('');
    lines.push(`Ratios (conn/s: median of the per-round ratios): ${ratios.join('; ')}.`);
  }
  if (updateRows) {
    lines.push('');
    lines.push(
      'NftablesDataPlane.apply (in the director namespace, median of 5; table from createScheduler, 1 redirect, IPv4):',
    );
    lines.push('');
    lines.push(
      '| nodes | buckets | full load ms | full text KiB | one node fails: buckets changed | delta ms | delta text KiB |',
    );
    lines.push('|---|---|---|---|---|---|---|');
    for (const u of updateRows)
      lines.push(
        `| ${u.nodes} | ${u.size} | ${fmt(median(u.full), 1)} (${fmt(Math.min(...u.full))}–${fmt(Math.max(...u.full))}) | ${fmt(u.fullBytes / 1024)} | ${u.deltaBuckets} (${u.deltaMode}) | ${fmt(median(u.delta), 1)} (${fmt(Math.min(...u.delta))}–${fmt(Math.max(...u.delta))}) | ${fmt(u.deltaBytes / 1024, 1)} |`,
      );
  }
  console.log(lines.join('\n'));
}

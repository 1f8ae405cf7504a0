// Network-groups benchmark of CmNode over real mutual TLS on loopback (issue 14; a script, not a test).
//
// The guide's larger layout (reference "Central Management" best practices, README "Network groups"): three
// sites, Tokyo (networks toknet1, toknet2), New York (nynet1, nynet2) and Paderborn (paderborn). Each network
// has a transit node in [<network>, transit] and leaves in [<network>] only (at most 10 nodes behind one
// transit node); every node is a real CmNode on its own 127.0.1.x. Three layouts of the same nodes (same
// names, addresses and sites), each on fresh stores:
//   groups   one transit node per network (5 transit nodes in `transit`)
//   groups2  the same with a second transit node for one network (--two-transit, default toknet1): both in
//            [toknet1, transit]; the leaves of toknet1 reach the other networks through either
//   mesh     the baseline: every node in one network group (`default`), so every node talks to every node and
//            a save goes from its node directly to every node abroad
//
// 1. Save-to-all time: saves on leaf nodes, round robin over the sites (Tokyo, New York, Paderborn; within a
//    site round robin over its leaves), timed from `save()` until every node's current policy is the saved
//    version (its "policy is now <id>" line, logged right after the version was persisted). median / p90 / max.
// 2. WAN bytes per save: bytes on the TCP connections whose two ends are in different sites (and, finer, in
//    different networks), per save, against the full mesh of the same nodes. Counted at the socket level: every
//    connection has its accepting end in this process, and the raw TCP socket under the server's TLSSocket
//    counts the bytes that crossed the wire both ways (TLS records included). The server's TLSSocket is caught
//    by wrapping tls.Server.prototype.emit('secureConnection'); the client end binds the node's own 127.0.1.x
//    (CmNode dials from its listen address), so both ends of a connection name their nodes. The count of a
//    save runs from just before `save()` until --gap ms after the last node had it; the background of the
//    same window (anti-entropy summaries every 30 s per link) is measured while idle and shown beside it.
//
// Nodes run in the main thread (`--workers 0`) or spread round robin over K worker threads (each its own
// event loop, heap and SQLite connection). CPU from process.cpuUsage() (every thread).
//
// From the repository root, from the TypeScript sources:
//   node --import tsx --conditions=@proxyha/source packages/cm-coordinator/bench/groups.mjs [options]
// Options:
//   --nodes 50          nodes, spread over the 5 networks (at least 2 per network)
//   --layouts groups,groups2,mesh   the layouts to run, in this order
//   --two-transit toknet1           the network with two transit nodes in `groups2`
//   --saves 21          saves per layout (a multiple of 3: as many per site)
//   --size 50k          policy size (bytes; k, m suffixes)
//   --workers 0         0 = every node in the main thread; K = K worker threads
//   --gap 500           ms of quiet after each save reached every node, before the next (its bytes count)
//   --settle 5          seconds after every link is up before the idle measurement and the first save
//   --idle 31           seconds of idle traffic measured before the saves (anti-entropy: one summary per link
//                       and direction every 30 s; the background of a save's window)
//   --dir DIR           where the nodes' stores go (default the OS temp dir; /dev/shm takes the disk out)
//   --json              print the results as JSON too
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import * as tls from 'node:tls';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';

// Node 20 does not hand the tsx loader of `--import tsx` to worker threads: a worker registers it itself
if (!isMainThread && process.execArgv.some((a) => a.includes('tsx')))
  (await import('tsx/esm/api')).register();
const { CmNode, createClusterCa, parseCmConfig } = await import('@proxyha/cm-coordinator');

const PORT = 23_480;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the layout --------------------------------------------------------------------------------------

/** The guide's larger cluster: network -> site. */
const NETWORKS = [
  ['toknet1', 'tokyo'],
  ['toknet2', 'tokyo'],
  ['nynet1', 'newyork'],
  ['nynet2', 'newyork'],
  ['paderborn', 'paderborn'],
];
const SITES = ['tokyo', 'newyork', 'paderborn'];

/**
 * The nodes of a layout: `{ index, name, address, site, network, transit, groups }`. The same names, addresses,
 * sites and networks in every layout; only the groups (and in `groups2` which node of the --two-transit network
 * is its second transit node) differ.
 */
function layoutNodes(kind, n, twoTransit) {
  if (n < 2 * NETWORKS.length) throw new Error(`--nodes must be at least ${2 * NETWORKS.length}`);
  const nodes = [];
  NETWORKS.forEach(([network, site], k) => {
    const count = Math.floor(n / NETWORKS.length) + (k < n % NETWORKS.length ? 1 : 0);
    const transits = kind === 'groups2' && network === twoTransit ? 2 : 1;
    for (let j = 0; j < count; j++) {
      const transit = j < transits;
      const index = nodes.length;
      nodes.push({
        index,
        name: transit ? `${network}-transit${transits > 1 ? `-${j + 1}` : ''}` : `${network}-mwg${j}`,
        address: `127.0.1.${10 + index}`,
        site,
        network,
        transit,
        groups: kind === 'mesh' ? ['default'] : transit ? [network, 'transit'] : [network],
      });
    }
    if (count - transits > 10)
      console.error(
        `note: ${count - transits} leaves behind the transit node(s) of ${network} (guide: at most 10)`,
      );
  });
  if (!nodes.some((x) => x.network === twoTransit))
    throw new Error(`--two-transit ${twoTransit}: no such network`);
  return nodes;
}

const shares = (a, b) => a.groups.some((g) => b.groups.includes(g));

// ---- bytes on the wire, per connection ------------------------------------------------------------

/**
 * Every TLS connection accepted by a CmNode of this thread: its two addresses and the raw TCP socket under the
 * TLSSocket, whose counters are the bytes on the wire (TLS records, handshake included). Closed connections
 * keep their last counts.
 */
const accepted = [];
const originalEmit = tls.Server.prototype.emit;
tls.Server.prototype.emit = function emit(event, socket, ...rest) {
  if (event === 'secureConnection' && socket?._parent) {
    const raw = socket._parent;
    const c = { a: socket.localAddress, b: socket.remoteAddress, raw, read: 0, written: 0 };
    const sample = () => {
      c.read = Math.max(c.read, raw.bytesRead ?? 0);
      c.written = Math.max(c.written, raw.bytesWritten ?? 0);
    };
    c.sample = sample;
    raw.once('close', sample);
    accepted.push(c);
  }
  return originalEmit.call(this, event, socket, ...rest);
};

/** Bytes per unordered pair of addresses (`a|b`, a < b), since the thread started. */
function wireBytes() {
  const out = {};
  for (const c of accepted) {
    if (!c.raw.destroyed) c.sample();
    const key = c.a < c.b ? `${c.a}|${c.b}` : `${c.b}|${c.a}`;
    out[key] = (out[key] ?? 0) + c.read + c.written;
  }
  return out;
}

// ---- a host of nodes (the main thread or a worker) -------------------------------------------------

/** A realistic-looking policy text of about `bytes` bytes, different for each `seq` (as replication.mjs). */
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

class Host {
  nodes = new Map(); // index -> CmNode
  onArrived = () => {};
  /** The longest stall of this thread's event loop since the last stats() (ms): a save waits for it too. */
  #loop = monitorEventLoopDelay({ resolution: 5 });

  /** Starts the nodes `indexes` of `layout`, one after the other; each lists its earlier neighbours as peers. */
  async start({ root, ca, layout, indexes }) {
    this.#loop.enable();
    for (const i of indexes) {
      const me = layout[i];
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
        name: me.name,
        listen: `${me.address}:${PORT}`,
        dataDir: join(root, `node-${i}`),
        ca,
        // the nodes of its groups started before it (they listen already): one dial makes each link, and no
        // node meets refused dials and their backoff; the later ones dial it
        peers: layout.filter((x) => x.index < i && shares(x, me)).map((x) => `${x.address}:${PORT}`),
        groups: { network: me.groups },
        maxClockSkew: '10s',
      });
      const node = new CmNode(config, { logger, softwareVersion: '1.0.0', controlSocket: false });
      this.nodes.set(i, node);
      await node.start();
    }
  }

  /** Per node: how many nodes it reaches (directly or through transit nodes), how many directly. */
  links() {
    return [...this.nodes].map(([i, node]) => {
      const others = node.status().nodes.slice(1);
      return {
        index: i,
        reachable: others.filter((x) => x.reachable).length,
        direct: others.filter((x) => x.reachable && x.path?.length === 2).length,
      };
    });
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
    const s = { messagesSent: 0, bytesSent: 0 };
    for (const node of this.nodes.values()) {
      const t = node.stats();
      s.messagesSent += t.messagesSent;
      s.bytesSent += t.bytesSent;
    }
    const stallMs = this.#loop.max / 1e6;
    this.#loop.reset();
    return { ...s, wire: wireBytes(), stallMs };
  }

  async stop() {
    await Promise.all([...this.nodes.values()].map((x) => x.stop()));
    this.nodes.clear();
  }
}

/** A host in a worker thread, with the same (async) methods. */
class WorkerHost {
  #w;
  #next = 0;
  #waiting = new Map();
  onArrived = () => {};
  constructor() {
    this.#w = new Worker(new URL(import.meta.url));
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
  links() {
    return this.#call('links');
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
    nodes: 50,
    layouts: 'groups,groups2,mesh',
    'two-transit': 'toknet1',
    saves: 21,
    size: '50k',
    workers: 0,
    gap: 500,
    settle: 5,
    idle: 31,
    dir: tmpdir(),
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in o)) throw new Error(`unknown option ${argv[i]}`);
    if (k === 'json') o.json = true;
    else o[k] = argv[++i];
  }
  const m = /^(\d+)([km]?)$/i.exec(String(o.size));
  if (!m) throw new Error(`--size ${o.size}: a number of bytes, with k or m`);
  o.bytes = Number(m[1]) * (m[2].toLowerCase() === 'm' ? 1 << 20 : m[2] ? 1024 : 1);
  for (const k of ['nodes', 'saves', 'workers', 'gap', 'settle', 'idle']) o[k] = Number(o[k]);
  o.layouts = String(o.layouts).split(',');
  for (const l of o.layouts)
    if (!['groups', 'groups2', 'mesh'].includes(l)) throw new Error(`unknown layout ${l}`);
  return o;
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const phases = (results, k) => (results[0].phases ? median(results.map((x) => x.phases[k])) : undefined);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const f1 = (x) => (x === undefined ? '-' : x.toFixed(1));
const kb = (x) => (x / 1024).toFixed(1);

function cpuMs(from) {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000;
}

/** Sums the hosts' stats: messages, bytes from CmNode.stats(), wire bytes per pair of addresses. */
function sumStats(list) {
  const s = { messagesSent: 0, bytesSent: 0, wire: {}, stallMs: 0 };
  for (const t of list) {
    s.stallMs = Math.max(s.stallMs, t.stallMs);
    s.messagesSent += t.messagesSent;
    s.bytesSent += t.bytesSent;
    for (const [k, v] of Object.entries(t.wire)) s.wire[k] = (s.wire[k] ?? 0) + v;
  }
  return s;
}

/** Traffic between two snapshots, split by where the two ends of each connection are. */
function traffic(after, before, byAddress) {
  const t = {
    messages: after.messagesSent - before.messagesSent,
    frameBytes: after.bytesSent - before.bytesSent,
    wire: 0,
    interNetwork: 0,
    wan: 0,
    wanBySitePair: {},
  };
  for (const [key, v] of Object.entries(after.wire)) {
    const d = v - (before.wire[key] ?? 0);
    if (d === 0) continue;
    const [a, b] = key.split('|').map((x) => byAddress.get(x));
    if (!a || !b) continue; // not a node of this run
    t.wire += d;
    if (a.network !== b.network) t.interNetwork += d;
    if (a.site !== b.site) {
      t.wan += d;
      const pair = [a.site, b.site].sort().join('-');
      t.wanBySitePair[pair] = (t.wanBySitePair[pair] ?? 0) + d;
    }
  }
  return t;
}

async function runLayout(root, ca, kind, o) {
  const layout = layoutNodes(kind, o.nodes, o['two-transit']);
  const n = layout.length;
  const byAddress = new Map(layout.map((x) => [x.address, x]));
  const dir = join(root, kind);
  mkdirSync(dir);
  const hosts =
    o.workers === 0 ? [new Host()] : Array.from({ length: Math.min(o.workers, n) }, () => new WorkerHost());
  const hostOf = (i) => hosts[i % hosts.length];
  const arrivals = new Map(); // id -> Map(index -> at)
  for (const h of hosts)
    h.onArrived = ({ index, id, at }) => {
      const m = arrivals.get(id) ?? new Map();
      arrivals.set(id, m);
      if (!m.has(index)) m.set(index, at);
    };
  const expectedDirect = layout.reduce((s, x) => s + layout.filter((y) => y !== x && shares(x, y)).length, 0);
  const t = now();
  // the hosts start their nodes in index order: a node's earlier neighbours of another host may not listen
  // yet when it dials them (a retry after a backoff then makes the link, or they dial it from the membership)
  await Promise.all(
    hosts.map((h, k) =>
      h.start({
        root: dir,
        ca,
        layout,
        indexes: layout.map((x) => x.index).filter((i) => i % hosts.length === k),
      }),
    ),
  );
  const startMs = now() - t;
  // up: every node reaches the n-1 others (directly or through transit nodes) and every direct link is open
  for (;;) {
    const links = (await Promise.all(hosts.map((h) => h.links()))).flat();
    const reach = links.reduce((s, x) => s + x.reachable, 0);
    const direct = links.reduce((s, x) => s + x.direct, 0);
    if (reach === n * (n - 1) && direct === expectedDirect) break;
    if (now() - t > 300_000)
      throw new Error(
        `${kind}: not up after 300 s (${reach}/${n * (n - 1)} reachable, ${direct}/${expectedDirect} direct)`,
      );
    await sleep(100);
  }
  const upMs = now() - t;
  console.error(
    `${kind}: ${n} nodes started in ${Math.round(startMs)} ms, up in ${Math.round(upMs)} ms (${expectedDirect / 2} links)`,
  );
  await sleep(o.settle * 1000);
  const snap = async () => sumStats(await Promise.all(hosts.map((h) => h.stats())));

  // idle background: wire bytes per second, WAN and all
  let idle;
  if (o.idle > 0) {
    const s0 = await snap();
    const i0 = now();
    await sleep(o.idle * 1000);
    const d = traffic(await snap(), s0, byAddress);
    const seconds = (now() - i0) / 1000;
    idle = {
      seconds,
      wirePerS: d.wire / seconds,
      wanPerS: d.wan / seconds,
      messagesPerS: d.messages / seconds,
    };
  }

  // the sockets: no connection between nodes that share no group (checked on the wire counters)
  const stray = Object.keys((await snap()).wire).filter((key) => {
    const [a, b] = key.split('|').map((x) => byAddress.get(x));
    return a && b && !shares(a, b);
  });

  // the leaves of each site, alternating over its networks (toknet1-mwg1, toknet2-mwg1, toknet1-mwg2, ...)
  const leaves = SITES.map((site) => {
    const nets = NETWORKS.filter(([, s]) => s === site).map(([net]) =>
      layout.filter((x) => x.network === net && !x.transit),
    );
    const out = [];
    for (let j = 0; out.length < nets.reduce((a, b) => a + b.length, 0); j++)
      for (const net of nets) if (j < net.length) out.push(net[j]);
    return out;
  });
  const results = [];
  const cpu0 = process.cpuUsage();
  for (let s = 0; s < o.saves; s++) {
    const site = s % SITES.length;
    const origin = leaves[site][Math.floor(s / SITES.length) % leaves[site].length];
    const cpuBefore = process.cpuUsage();
    const before = await snap();
    const r = await hostOf(origin.index).save(origin.index, o.bytes, s);
    const deadline = now() + 60_000;
    while ((arrivals.get(r.id)?.size ?? 0) < n) {
      if (now() > deadline)
        throw new Error(
          `${kind}: save ${s} on ${origin.name} reached ${arrivals.get(r.id)?.size ?? 0} of ${n} nodes in 60 s`,
        );
      await sleep(2);
    }
    const at = arrivals.get(r.id);
    const times = [...at.values()].map((x) => x - r.t0).sort((a, b) => a - b);
    // when the last node of each site had it
    const siteMs = Object.fromEntries(
      SITES.map((x) => [
        x,
        Math.max(...layout.filter((y) => y.site === x).map((y) => at.get(y.index) - r.t0)),
      ]),
    );
    // where the time goes (network-group layouts): the first transit node of the origin's network has it
    // (push from the leaf), every transit node has it (offer, fetch across `transit`), every node has it
    // (offer, fetch from the transit nodes to their leaves)
    const transitMs = (xs) => xs.map((y) => at.get(y.index) - r.t0);
    const phases =
      kind === 'mesh'
        ? undefined
        : {
            ownTransitMs: Math.min(
              ...transitMs(layout.filter((y) => y.transit && y.network === origin.network)),
            ),
            transitsMs: Math.max(...transitMs(layout.filter((y) => y.transit))),
          };
    await sleep(o.gap);
    const after = await snap();
    const tr = traffic(after, before, byAddress);
    results.push({
      origin: origin.name,
      site: origin.site,
      phases,
      stallMs: after.stallMs,
      allMs: times[times.length - 1],
      medianNodeMs: median(times),
      siteMs,
      saveMs: r.saveMs,
      traffic: tr,
      cpuMs: cpuMs(cpuBefore),
      windowMs: now() - r.t0,
    });
    console.error(
      `${kind} save ${s} on ${origin.name}: ${phases ? `own transit ${f1(phases.ownTransitMs)}, transits ${f1(phases.transitsMs)}, ` : ''}all ${f1(times[times.length - 1])} ms (longest event-loop stall ${f1(after.stallMs)} ms), wire ${kb(tr.wire)} KB, WAN ${kb(tr.wan)} KB`,
    );
  }
  const savesCpuMs = cpuMs(cpu0);
  // every node's current is the last save
  const last = [...arrivals.keys()].pop();
  const wrong = (await Promise.all(hosts.map((h) => h.currents()))).flat().filter(([, id]) => id !== last);
  if (wrong.length > 0) throw new Error(`${kind}: ${wrong.length} node(s) not on the last version`);
  await Promise.all(hosts.map((h) => h.stop()));

  const all = results.map((x) => x.allMs).sort((a, b) => a - b);
  const bySite = Object.fromEntries(
    SITES.map((site) => {
      const rs = results.filter((x) => x.site === site);
      return [site, { saves: rs.length, wanBytes: rs.length ? mean(rs.map((x) => x.traffic.wan)) : 0 }];
    }),
  );
  return {
    layout: kind,
    nodes: n,
    transitNodes: layout.filter((x) => x.transit && kind !== 'mesh').map((x) => x.name),
    links: expectedDirect / 2,
    strayConnections: stray,
    policyBytes: o.bytes,
    workers: o.workers,
    saves: o.saves,
    upMs,
    allMedian: median(all),
    allP90: pct(all, 90),
    allMax: all[all.length - 1],
    medianNode: median(results.map((x) => x.medianNodeMs)),
    ownTransitMedian: phases(results, 'ownTransitMs'),
    transitsMedian: phases(results, 'transitsMs'),
    stallMedian: median(results.map((x) => x.stallMs)),
    stallMax: Math.max(...results.map((x) => x.stallMs)),
    saveMs: median(results.map((x) => x.saveMs)),
    messagesPerSave: mean(results.map((x) => x.traffic.messages)),
    wireBytesPerSave: mean(results.map((x) => x.traffic.wire)),
    interNetworkBytesPerSave: mean(results.map((x) => x.traffic.interNetwork)),
    wanBytesPerSave: mean(results.map((x) => x.traffic.wan)),
    wanBytesPerSaveBySite: bySite,
    windowMs: mean(results.map((x) => x.windowMs)),
    cpuMsPerSave: median(results.map((x) => x.cpuMs)),
    savesCpuMs,
    idle,
    runs: results.map((x) => ({
      origin: x.origin,
      allMs: Math.round(x.allMs * 10) / 10,
      ...(x.phases ?? {}),
      stallMs: Math.round(x.stallMs * 10) / 10,
      siteMs: Object.fromEntries(Object.entries(x.siteMs).map(([k, v]) => [k, Math.round(v * 10) / 10])),
      wanBytes: x.traffic.wan,
      wireBytes: x.traffic.wire,
      wanBySitePair: x.traffic.wanBySitePair,
    })),
  };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const root = mkdtempSync(join(o.dir, 'cm-groups-bench-'));
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
    for (const kind of o.layouts) {
      const r = await runLayout(root, ca, kind, o);
      out.push(r);
      console.error(
        `${kind}: all ${f1(r.allMedian)} / p90 ${f1(r.allP90)} / max ${f1(r.allMax)} ms; WAN ${kb(r.wanBytesPerSave)} KB / save`,
      );
    }
    const mesh = out.find((x) => x.layout === 'mesh');
    console.log(
      '| layout | nodes | links | saves | save→all median ms | p90 ms | max ms | median node ms | own transit / all transits median ms | event-loop stall median / max ms | msgs / save | KB on the wire / save | KB between networks / save | WAN KB / save | mesh WAN ÷ this | idle WAN KB / s | CPU ms / save |',
    );
    console.log(
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const r of out)
      console.log(
        `| ${r.layout} | ${r.nodes} | ${r.links} | ${r.saves} | ${f1(r.allMedian)} | ${f1(r.allP90)} | ${f1(r.allMax)} | ${f1(r.medianNode)} | ${r.ownTransitMedian === undefined ? '-' : `${f1(r.ownTransitMedian)} / ${f1(r.transitsMedian)}`} | ${f1(r.stallMedian)} / ${f1(r.stallMax)} | ${Math.round(r.messagesPerSave)} | ${kb(r.wireBytesPerSave)} | ${kb(r.interNetworkBytesPerSave)} | ${kb(r.wanBytesPerSave)} | ${mesh ? (mesh.wanBytesPerSave / r.wanBytesPerSave).toFixed(1) : '-'} | ${r.idle ? (r.idle.wanPerS / 1024).toFixed(2) : '-'} | ${f1(r.cpuMsPerSave)} |`,
      );
    console.log('');
    console.log(`WAN KB per save by the site of the save (${SITES.join(' / ')}):`);
    for (const r of out)
      console.log(`  ${r.layout}: ${SITES.map((s) => kb(r.wanBytesPerSaveBySite[s].wanBytes)).join(' / ')}`);
    for (const r of out)
      if (r.strayConnections.length > 0)
        console.log(
          `  ${r.layout}: connections between nodes of no shared group: ${r.strayConnections.join(', ')}`,
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
} else {
  await main();
}

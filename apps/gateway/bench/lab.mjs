// Shared parts of the gateway benches (idle.mjs, failover.mjs): one testlab lab with the cluster nodes
// a, b, c (each a proxy host: tinyproxy on ADDRESS:3128), an origin web server and an NTP server (chronyd)
// in o, and the two stacks that do the same job on those nodes:
//   proxyha   `proxyha run` (bin/proxyha on dist/proxyha.mjs, as installed) on each node: raw VRRP, the nftables data plane
//             (VIP:9090 -> node:3128), the health monitor on port 3128, central management over mutual TLS,
//             the time-skew guard against o, the management API on 127.0.0.1:8443
//   baseline  keepalived 2.2.7 (one vrrp_instance: the VIP) + HAProxy 2.6 (one frontend *:9090, the three
//             proxies as servers with health checks every second, balance source) on each node
// Every process runs from its build/package in the node's namespace; the lab removes everything at the end.
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClusterCa, writeClusterCa } from '@proxyha/cm-coordinator';

export const HERE = import.meta.dirname;
/** What runs a node: the installed command (bin/proxyha, as /usr/bin/proxyha) on this checkout's build. */
export const CLI = join(HERE, '..', 'bin', 'proxyha');
/** The gateway as the launcher runs it (dist/proxyha.mjs, one file). */
export const BUNDLE = join(HERE, '..', 'dist', 'proxyha.mjs');
export const ORIGIN_SCRIPT = join(HERE, 'origin.mjs');
export const VIP = '192.168.77.74';
export const VIP_PORT = 9090;
export const PROXY_PORT = 3128;
export const ORIGIN_PORT = 8080;
export const TOKEN = 'bench-token';
/** The cluster nodes: a directs (highest priority), b takes over from a, c is the third proxy. */
export const CLUSTER = [
  { name: 'a', priority: 150 },
  { name: 'b', priority: 100 },
  { name: 'c', priority: 50 },
];

export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until `fn()` is truthy (polling every `every` ms); throws naming `what` after `ms`. */
export async function until(what, fn, ms = 30_000, every = 200) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for: ${what}${last ? ` (${last.message})` : ''}`);
    await sleep(every);
  }
}

/**
 * Sets up what both stacks share: origin and chronyd in o, tinyproxy on a, b, c, the cluster CA.
 * Returns { origin, ntp, ca } (ca: the directory with cluster-ca.pem / cluster-ca.key).
 */
export async function setupShared(lab) {
  const o = lab.node('o');
  const origin = lab.spawn('o', process.execPath, [ORIGIN_SCRIPT, o.ipv4, String(ORIGIN_PORT)], {
    name: 'origin',
  });
  await lab.waitForTcp('o', o.ipv4, ORIGIN_PORT, 10_000, origin);
  await lab.chronyd({ node: 'o', port: 123, address: o.ipv4 });
  for (const { name } of CLUSTER)
    await lab.tinyproxy({ node: name, port: PROXY_PORT, address: lab.node(name).ipv4 });
  const ca = await lab.runDir('ca');
  await writeClusterCa(ca, await createClusterCa({ name: 'proxyha bench cluster CA' }));
  return { ntp: `${o.ipv4}:123`, ca };
}

// ---- proxyha --------------------------------------------------------------------------------------------

/** The gateway configuration of `node` (every setting the issue's example has, on lab addresses). */
export function gatewayYaml(lab, node, o) {
  const self = lab.node(node.name);
  const peers = o.cmPeers.map((n) => `"${lab.node(n).ipv4}:12346"`).join(', ');
  return `# bench node ${node.name}
node: { name: ${node.name}, dataDir: ${o.dataDir} }
ha:
  interface: eth0
  managementIp: ${self.ipv4}
  virtualIps: ["${VIP}/24"]
  vrid: 51
  priority: ${node.priority}
  advertInterval: "${o.intervalMs}ms"
  group: 51
  redirects:
    - { originalPort: ${VIP_PORT}, destinationPort: ${PROXY_PORT} }
  dataPlane: nftables
${o.extraHa ?? ''}health: { interval: "1s", fall: 3, rise: 2 }
ntp: { servers: ["${o.ntp}"], maxOffset: "1s" }
cm:
  listen: "${self.ipv4}:12346"
  ca: { cert: ${join(o.ca, 'cluster-ca.pem')}, key: ${join(o.ca, 'cluster-ca.key')} }
  priority: ${CLUSTER.indexOf(node) + 1}
  peers: [${peers}]
management:
  listen: "127.0.0.1:8443"
  tokenFile: ${join(o.dataDir, 'admin.token')}
`;
}

/**
 * Starts `proxyha run` on `node` from the build (o: { intervalMs, ntp, ca, cmPeers, nodeBin?, nodeArgs?,
 * extraHa? }); resolves once its management API listens. Returns { kind, node, proc, pids() }.
 */
export async function startGateway(lab, node, o) {
  const dataDir = await lab.runDir(`gw-${node.name}`);
  const file = join(dataDir, 'proxyha.yaml');
  await writeFile(join(dataDir, 'admin.token'), `${TOKEN}\n`, { mode: 0o600 });
  await writeFile(file, gatewayYaml(lab, node, { ...o, dataDir }));
  // the launcher execs node: the process is the gateway itself
  const proc = lab.spawn(node.name, '/bin/sh', [CLI, 'run', '--config', file], {
    name: `proxyha:${node.name}`,
    env: {
      PROXYHA_HOME: join(HERE, '..'),
      PROXYHA_NODE: o.nodeBin ?? process.execPath,
      PROXYHA_NODE_OPTIONS: (o.nodeArgs ?? []).join(' '),
    },
  });
  await proc.waitForOutput(/management: status page and API on/, 30_000);
  return { kind: 'proxyha', node: node.name, proc, procs: [proc], pids: () => tree([proc.pid]) };
}

/** The gateway's status document, read through its management API from inside its namespace. */
export async function gatewayStatus(lab, name) {
  const r = await lab.exec(
    name,
    'curl',
    ['-sf', '-m', '3', '-H', `authorization: Bearer ${TOKEN}`, 'http://127.0.0.1:8443/api/v1/status'],
    { timeoutMs: 5_000 },
  );
  return JSON.parse(r.stdout);
}

/** The gateway's /metrics text. */
export async function gatewayMetrics(lab, name) {
  const r = await lab.exec(
    name,
    'curl',
    ['-sf', '-m', '3', '-H', `authorization: Bearer ${TOKEN}`, 'http://127.0.0.1:8443/metrics'],
    { timeoutMs: 5_000 },
  );
  return r.stdout;
}

/** True when a directs the three nodes (all healthy, each with a share) and b and c are backups. */
export async function gatewaySteady(lab) {
  const a = await gatewayStatus(lab, 'a');
  if (a.node.role !== 'director' || a.vrrp.state !== 'master') return false;
  if (a.director.nodes.length !== CLUSTER.length) return false;
  if (!a.director.nodes.every((n) => n.health === 'ok' && n.share > 0)) return false;
  for (const n of CLUSTER.slice(1)) {
    const s = await gatewayStatus(lab, n.name);
    if (s.vrrp.state !== 'backup' || s.node.role !== 'scanner') return false;
  }
  return true;
}

// ---- keepalived + HAProxy -------------------------------------------------------------------------------

export function keepalivedConf(node, intervalMs) {
  return `global_defs {
  router_id ka_${node.name}
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  version 3
  priority ${node.priority}
  advert_int ${(intervalMs / 1000).toFixed(2)}
  virtual_ipaddress {
    ${VIP}/24
  }
}
`;
}

/**
 * HAProxy on every node: *:9090 to the three proxies, health checks every `checkMs` (default every second),
 * fall 3, rise 2.
 */
export function haproxyConf(lab, socket, checkMs = 1000) {
  const servers = CLUSTER.map(
    (n) => `  server ${n.name} ${lab.node(n.name).ipv4}:${PROXY_PORT} check inter ${checkMs}ms fall 3 rise 2`,
  ).join('\n');
  return `global
  maxconn 4000
  stats socket ${socket} mode 600 level admin
defaults
  mode tcp
  timeout connect 1s
  timeout client 30s
  timeout server 30s
frontend proxies
  bind :${VIP_PORT}
  default_backend proxies
backend proxies
  balance source
  hash-type consistent
${servers}
`;
}

/**
 * Starts keepalived and HAProxy on `node` (o: { intervalMs, checkMs? }); resolves once both run. Returns
 * { kind, node, procs, pids() }.
 */
export async function startBaseline(lab, node, o) {
  const dir = await lab.runDir(`haproxy-${node.name}`);
  const socket = join(dir, 'haproxy.sock');
  const cfg = join(dir, 'haproxy.cfg');
  await writeFile(cfg, haproxyConf(lab, socket, o.checkMs));
  const hap = lab.spawn(node.name, 'haproxy', ['-db', '-f', cfg], { name: `haproxy:${node.name}` });
  await lab.waitForTcp(node.name, '127.0.0.1', VIP_PORT, 10_000, hap);
  const ka = await lab.keepalived(node.name, keepalivedConf(node, o.intervalMs));
  return {
    kind: 'baseline',
    node: node.name,
    keepalived: ka,
    haproxy: hap,
    socket,
    procs: [ka, hap],
    pids: () => tree([ka.pid, hap.pid]),
  };
}

/** HAProxy's view of its servers on `stack`'s node: { name: 'UP' | 'DOWN' | ... }. */
export async function haproxyServers(lab, stack) {
  const r = await lab.exec(stack.node, 'socat', ['-', `UNIX-CONNECT:${stack.socket}`], {
    input: 'show stat\n',
    timeoutMs: 5_000,
  });
  const out = {};
  for (const line of r.stdout.split('\n')) {
    const f = line.split(',');
    if (f[0] === 'proxies' && f[1] !== 'BACKEND' && f[1] !== 'FRONTEND' && f[17]) out[f[1]] = f[17];
  }
  return out;
}

/** The state of the last "(VI_1) Entering ... STATE" line of a process's output. */
export function lastVrrpState(proc) {
  return [...proc.output().matchAll(/\(VI_1\) Entering (\w+) STATE/g)].at(-1)?.[1];
}

/** True when keepalived a is master, b and c backups, and every HAProxy sees the three proxies UP. */
export async function baselineSteady(lab, stacks) {
  for (const s of stacks) {
    const want = s.node === 'a' ? 'MASTER' : 'BACKUP';
    if (lastVrrpState(s.keepalived) !== want) return false;
    const servers = await haproxyServers(lab, s);
    if (Object.keys(servers).length !== CLUSTER.length) return false;
    if (!Object.values(servers).every((st) => st === 'UP')) return false;
  }
  return true;
}

// ---- both -----------------------------------------------------------------------------------------------

/** Starts the stack `impl` ('proxyha' | 'baseline') on the cluster nodes (o: see startGateway). */
export async function startStack(lab, impl, o) {
  if (impl === 'baseline') return Promise.all(CLUSTER.map((n) => startBaseline(lab, n, o)));
  return Promise.all(
    CLUSTER.map((n) =>
      startGateway(lab, n, {
        ...o,
        cmPeers: CLUSTER.filter((p) => p !== n).map((p) => p.name),
      }),
    ),
  );
}

/** Waits until the stack is in its steady state (a directs, b and c back it up, all proxies healthy). */
export function waitSteady(lab, impl, stacks, ms = 60_000) {
  return until(
    `${impl}: a directs, b and c are backups, three healthy proxies`,
    () => (impl === 'baseline' ? baselineSteady(lab, stacks) : gatewaySteady(lab)),
    ms,
    500,
  );
}

/**
 * Stops every process of the stack (SIGTERM, SIGKILL after 5 s) and removes what a killed one leaves in
 * the nodes: the VIP, the director's nftables table, conntrack entries.
 */
export async function stopStack(lab, stacks) {
  await Promise.all(stacks.flatMap((s) => s.procs.map((p) => p.kill('SIGTERM', 5_000))));
  for (const { name } of CLUSTER) {
    await lab.exec(name, 'ip', ['addr', 'del', `${VIP}/24`, 'dev', 'eth0'], { allowFailure: true });
    await lab.exec(name, 'nft', ['delete', 'table', 'inet', 'proxyha_lb_51'], { allowFailure: true });
    await lab.exec(name, 'conntrack', ['-F'], { allowFailure: true });
  }
}

// ---- /proc ----------------------------------------------------------------------------------------------

/** `roots` and all their descendants that are alive now. */
export function tree(roots) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const stat = readProc(`/proc/${d}/stat`);
    if (!stat) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(d));
  }
  const out = [];
  const stack = roots.filter((p) => p > 0 && readProc(`/proc/${p}/stat`));
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

function readProc(file) {
  try {
    return readFileSync(file, 'latin1');
  } catch {
    return '';
  }
}

/** CPU ticks of `pid`: utime + stime + cutime + cstime (its threads and the children it waited for). */
export function cpuTicks(pid) {
  const s = readProc(`/proc/${pid}/stat`);
  if (!s) return 0;
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

/**
 * CPU time of `pid` in ns, summed over its threads (/proc/PID/task/TID/schedstat: time on the CPU): finer
 * than the 10 ms ticks of /proc/PID/stat, but without the children it waited for.
 */
export function cpuNs(pid) {
  let sum = 0;
  let tasks = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const t of tasks) sum += Number(readProc(`/proc/${pid}/task/${t}/schedstat`).split(' ')[0] || 0);
  return sum;
}

/**
 * CPU ticks (utime, stime) of the threads of `pid`: `main thread` (the event loop: JavaScript and the I/O it
 * does itself) and the other threads by name (Node 20 names them all `node`: libuv's workers doing file I/O
 * for fs.promises, V8's workers collecting garbage and compiling; keepalived and HAProxy by their names).
 */
export function threadTicks(pid) {
  const out = {};
  let tasks = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    const s = readProc(`/proc/${pid}/task/${t}/stat`);
    if (!s) continue;
    const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
    const name = t === String(pid) ? 'main thread' : `other ${comm} threads`;
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const e = out[name] ?? { user: 0, system: 0, threads: 0 };
    e.user += Number(f[11]);
    e.system += Number(f[12]);
    e.threads++;
    out[name] = e;
  }
  return out;
}

/** Memory of `pid` in KiB: VmRSS, RssAnon, RssFile, RssShmem (status) and Pss (smaps_rollup). */
export function memory(pid) {
  const status = readProc(`/proc/${pid}/status`);
  const kb = (text, key) => Number(text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0);
  const rollup = readProc(`/proc/${pid}/smaps_rollup`);
  return {
    rss: kb(status, 'VmRSS'),
    anon: kb(status, 'RssAnon'),
    file: kb(status, 'RssFile'),
    shmem: kb(status, 'RssShmem'),
    pss: kb(rollup, 'Pss'),
  };
}

/** Sum of {@link memory} over `pids`. */
export function memorySum(pids) {
  const sum = { rss: 0, anon: 0, file: 0, shmem: 0, pss: 0 };
  for (const p of pids) for (const [k, v] of Object.entries(memory(p))) sum[k] += v;
  return sum;
}

export function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function load() {
  return readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ');
}

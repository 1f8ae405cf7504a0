#!/usr/bin/env node
// The whole product on one machine, without root: three gateway nodes on loopback (mwg1-3 on
// 127.0.0.71-73), VRRP over the loopback transport electing the director of the VIP 127.0.0.74, the relay
// data plane on 127.0.0.74:9090, central management over mutual TLS, and a small demo proxy per node
// (examples/demo-proxy.mjs on port 3128 of the node's address) in front of one origin web server. The
// demo checks each step and exits non-zero if the cluster does not behave:
//   1. the cluster forms: mwg1 (highest priority) directs, all three nodes healthy with a third each
//   2. clients from 12 source addresses (127.0.0.101-112) send requests through the VIP: they spread over the three proxies,
//      each source always to the same one
//   3. the director mwg1 crashes (its gateway SIGKILLed, its proxy's port closed): mwg2 takes the VIP over
//      and requests keep being served; mwg1 comes back and takes over again (it has the highest priority)
//   4. mwg3's proxy stops: mwg3 is drained (no new clients), and returns when its proxy is back
//   5. a policy (a blocked domain) saved on mwg2 reaches every node: each proxy refuses the domain
// Then it prints the status page's address and keeps running until Ctrl-C (or exits with --once),
// removing everything it started.
// Usage: node demo-cluster.mjs [--once] [--verbose] [--net 127.0.0]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClusterCa, writeClusterCa } from '@proxyha/cm-coordinator';

const { values: args } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    // the first three octets of every address of the demo (nodes .71-.73, VIP .74, origin .80, clients
    // .101-.112): tests move it out of the way of other tests
    net: { type: 'string', default: '127.0.0' },
    verbose: { type: 'boolean', default: false },
  },
});
const here = dirname(fileURLToPath(import.meta.url));
// the built command; PROXYHA_COMMAND (a JSON array: program and arguments) runs another (the tests run it
// from the sources)
const command = process.env.PROXYHA_COMMAND
  ? JSON.parse(process.env.PROXYHA_COMMAND)
  : [process.execPath, join(here, '..', 'dist', 'cli.js')];
const net = args.net;
const VIP = `${net}.74`;
const ORIGIN = { host: `${net}.80`, port: 8080 };
const nodes = [
  { name: 'mwg1', address: `${net}.71`, priority: 150 },
  { name: 'mwg2', address: `${net}.72`, priority: 100 },
  { name: 'mwg3', address: `${net}.73`, priority: 50 },
];
const dir = mkdtempSync(join(tmpdir(), 'proxyha-demo-'));
const say = (line) => process.stdout.write(`\ndemo: ${line}\n`);
// the lines worth seeing without --verbose: elections, roles, drains, failures, policy
const NOTABLE =
  /Entering|lbnetwork|state=|Scanning partner|draining|recovered|took over|cannot reach|refused|policy|maintenance|Coordinator|management:|Starting|Stopping|error|proxy:/i;
const children = new Set();

function spawnChild(label, program, argv) {
  const proc = spawn(program, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.output = '';
  proc.once('exit', () => children.delete(proc));
  for (const stream of [proc.stdout, proc.stderr])
    stream.on('data', (chunk) => {
      proc.output += chunk;
      for (const l of String(chunk).trimEnd().split('\n'))
        if (args.verbose || NOTABLE.test(l)) process.stdout.write(`  ${label.padEnd(11)}| ${l}\n`);
    });
  return proc;
}

function startProxy(node) {
  node.proxy = spawnChild(`${node.name} proxy`, process.execPath, [
    join(here, 'demo-proxy.mjs'),
    '--name',
    node.name,
    '--listen',
    `${node.address}:3128`,
    '--policy',
    node.policyDir,
  ]);
}

function writeConfig(node) {
  const others = nodes.filter((n) => n !== node).map((n) => n.address);
  writeFileSync(
    node.config,
    `# ${node.name}: a gateway node of the loopback demo cluster
node: { name: ${node.name}, dataDir: ${node.dataDir} }
ha:
  interface: lo
  managementIp: ${node.address}
  virtualIps: ["${VIP}/32"]
  vrid: 51
  priority: ${node.priority}
  advertInterval: "500ms"
  group: 51
  redirects:
    - { originalPort: 9090, destinationPort: 3128 }
  dataPlane: relay
  transport: loopback           # VRRP and the director's messages over UDP on loopback: no root
  peers: [${others.join(', ')}]
  loadAware: false              # the three nodes share this host: its CPU says nothing about one of them
health: { interval: "500ms", fall: 2, rise: 1 }
cm:
  listen: "${node.address}:12346"
  ca: { cert: ${join(dir, 'ca', 'cluster-ca.pem')}, key: ${join(dir, 'ca', 'cluster-ca.key')} }
  priority: ${nodes.indexOf(node) + 1}
  peers: [${others.map((a) => `"${a}:12346"`).join(', ')}]
policy:
  dir: ${node.policyDir}
  apply: ["kill", "-HUP", "${node.proxy.pid}"]   # the demo proxy reads its policy again, as squid -k reconfigure
management:
  listen: "${node.address}:8443"
  tokenFile: ${node.tokenFile}
`,
  );
}

function startNode(node) {
  const [program, ...rest] = command;
  node.proc = spawnChild(node.name, program, [...rest, 'run', '--config', node.config]);
}

/** The node's management API. */
async function api(node, path, init = {}) {
  const res = await fetch(`http://${node.address}:8443${path}`, {
    ...init,
    headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' },
  });
  if (!res.ok) throw new Error(`${node.name} ${path}: HTTP ${res.status}`);
  return res.json();
}

/** A request through the VIP from `source`, as a client of the proxy: which node served it, and the status. */
function get(source, url = `http://${ORIGIN.host}:${ORIGIN.port}/`) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: VIP, port: 9090, path: url, localAddress: source, agent: false, timeout: 3000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ node: res.headers['x-served-by'], status: res.statusCode }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function until(what, fn, ms = 30_000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for: ${what}${last ? ` (${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const clients = Array.from({ length: 12 }, (_, i) => `${net}.${101 + i}`);
async function spread() {
  const served = new Map();
  const counts = {};
  for (const c of clients) {
    const { node } = await get(c);
    served.set(c, node);
    counts[node] = (counts[node] ?? 0) + 1;
  }
  return { served, counts };
}

const origin = createServer((req, res) => res.end(`hello from the origin (${req.url})\n`));
let exitCode = 0;
try {
  await new Promise((r, j) => origin.once('error', j).listen(ORIGIN.port, ORIGIN.host, r));
  await writeClusterCa(join(dir, 'ca'), await createClusterCa({ name: 'proxyha demo cluster CA' }));
  for (const n of nodes) {
    n.dataDir = join(dir, n.name);
    n.policyDir = join(n.dataDir, 'policy');
    n.config = join(dir, `${n.name}.yaml`);
    n.tokenFile = join(n.dataDir, 'admin.token');
    n.token = `demo-token-${n.name}`;
    mkdirSync(n.dataDir, { recursive: true }); // policy/ is central management's (a link to the version)
    writeFileSync(n.tokenFile, `${n.token}\n`, { mode: 0o600 });
    startProxy(n);
  }
  for (const n of nodes) {
    writeConfig(n);
    startNode(n);
  }
  const [mwg1, mwg2, mwg3] = nodes;

  say('1. three gateway nodes start; mwg1 (priority 150) becomes the director');
  await until('mwg1 directs three healthy nodes', async () => {
    const s = await api(mwg1, '/api/v1/status');
    return (
      s.node.role === 'director' &&
      s.director.nodes.length === 3 &&
      s.director.nodes.every((n) => n.health === 'ok' && n.share > 0.3)
    );
  });
  for (const n of (await api(mwg1, '/api/v1/status')).director.nodes)
    process.stdout.write(`  ${n.name} ${n.address}: ${n.health}, share ${(n.share * 100).toFixed(0)}%\n`);

  say(`2. ${clients.length} clients send requests through the VIP ${VIP}:9090`);
  const first = await spread();
  for (const [c, n] of first.served) process.stdout.write(`  client ${c} -> served by ${n}\n`);
  if (Object.keys(first.counts).length < 2)
    throw new Error(`the clients did not spread: ${JSON.stringify(first.counts)}`);
  const again = await spread();
  for (const [c, n] of first.served)
    if (again.served.get(c) !== n) throw new Error(`client ${c} moved from ${n} to ${again.served.get(c)}`);
  say(
    `spread ${JSON.stringify(first.counts)}; every client got the same proxy again (source-address sticky)`,
  );

  say('3. the director mwg1 crashes (gateway SIGKILLed, proxy port closed): mwg2 takes the VIP over');
  mwg1.proc.kill('SIGKILL');
  mwg1.proxy.kill('SIGUSR2');
  let failed = 0;
  await until('a request through the VIP succeeds again, mwg2 directing', async () => {
    try {
      await get(clients[0]);
    } catch {
      failed++;
      return false;
    }
    return (await api(mwg2, '/api/v1/status')).node.role === 'director';
  });
  say(`mwg2 directs; requests are served again (${failed} request(s) failed during the takeover)`);
  await until('the director drops mwg1', async () =>
    (await api(mwg2, '/api/v1/status')).director.nodes.every((n) => n.name !== 'mwg1' || n.health !== 'ok'),
  );
  const after = await spread();
  say(`spread with mwg1 down: ${JSON.stringify(after.counts)}`);
  if (after.counts.mwg1) throw new Error('clients were sent to the crashed node');
  for (const [c, n] of first.served)
    if (n !== 'mwg1' && after.served.get(c) !== n)
      throw new Error(`client ${c} moved from ${n} to ${after.served.get(c)} although ${n} stayed up`);
  say('the clients of mwg2 and mwg3 stayed where they were; those of mwg1 moved');
  mwg1.proxy.kill('SIGUSR2');
  startNode(mwg1);
  await until(
    'mwg1 is back as the director',
    async () => (await api(mwg1, '/api/v1/status')).node.role === 'director',
  );
  say('mwg1 is back and directs again (highest priority, preempt)');

  say('4. mwg3’s proxy stops: the director drains mwg3');
  mwg3.proxy.kill('SIGUSR2'); // the demo proxy closes its port
  await until('mwg3 drained', async () => {
    const s = await api(mwg1, '/api/v1/status');
    const n = s.director.nodes.find((x) => x.name === 'mwg3');
    return n?.health === 'failure' && n.share === 0;
  });
  const drained = await spread();
  say(`spread while mwg3 is drained: ${JSON.stringify(drained.counts)}`);
  if (drained.counts.mwg3) throw new Error('a drained node got new clients');
  mwg3.proxy.kill('SIGUSR2'); // and opens it again
  await until('mwg3 back', async () => {
    const s = await api(mwg1, '/api/v1/status');
    return s.director.nodes.find((x) => x.name === 'mwg3')?.health === 'ok';
  });
  say('mwg3’s proxy is back: it takes new clients again');

  say('5. a policy saved on mwg2 (blocked.txt: blocked.example) reaches every node');
  const saved = await api(mwg2, '/api/v1/policy', {
    method: 'PUT',
    body: JSON.stringify({
      documents: [{ name: 'blocked.txt', content: 'blocked.example\n' }],
      comment: 'demo',
    }),
  });
  say(`saved version ${saved.version.slice(0, 12)} at ${saved.storageTimestamp}`);
  await until('every node has the policy', () =>
    nodes.every((n) => existsSync(join(n.policyDir, 'blocked.txt'))),
  );
  await until('every proxy refuses blocked.example', async () => {
    for (const c of clients) if ((await get(c, 'http://blocked.example/')).status !== 403) return false;
    return true;
  });
  for (const n of nodes)
    process.stdout.write(`  ${n.name}: ${readFileSync(join(n.policyDir, 'blocked.txt'), 'utf8').trim()}\n`);
  say('every proxy refuses blocked.example (403)');

  say(`the cluster behaved as expected. Status page: http://${mwg1.address}:8443/#token=${mwg1.token}`);
  for (const n of nodes) process.stdout.write(`  ${n.name}: http://${n.address}:8443/#token=${n.token}\n`);
  process.stdout.write(`  requests: curl -x http://${VIP}:9090 http://${ORIGIN.host}:${ORIGIN.port}/ -i\n`);
  if (!args.once) {
    say('running until Ctrl-C');
    await new Promise((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
} catch (e) {
  exitCode = 1;
  say(`FAILED: ${e.message}`);
} finally {
  const all = [...children];
  for (const p of all) p.kill('SIGTERM');
  await Promise.all(
    all.map((p) =>
      p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : undefined,
    ),
  );
  origin.close();
  rmSync(dir, { recursive: true, force: true });
  say('stopped; everything it started is removed');
}
process.exit(exitCode);

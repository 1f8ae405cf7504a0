#!/usr/bin/env node
// The unprivileged director demo: three proxyha-lb nodes on loopback (127.0.0.21-23, the protocol-253
// messages over UDP) form group 51; node-a is the director and relays clients of the VIP 127.0.0.74:9090
// (the userspace data plane). Each node has a stand-in proxy on port <proxy-port> of its own address (a
// TCP listener in this process that answers with the node's name). The demo checks each step and exits
// non-zero if the group does not behave:
//   1. discovery: the director lists all three nodes, healthy, each with a third of the table
//   2. clients: 60 clients (source addresses 127.1.0.1-60) connect to the VIP and spread over the three
//      nodes; each client gets the same node again
//   3. node-b's proxy stops: node-b is drained (no share, no new clients) and comes back when it listens
//   4. SIGKILL node-c: after three silent intervals the director logs "Scanning partner has failed 127.0.0.23"
// Usage: node loopback-group.mjs [--interval 500ms] [--port 5253] [--proxy-port 19090] [--quiet]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    interval: { type: 'string', default: '500ms' },
    port: { type: 'string', default: '5253' },
    'proxy-port': { type: 'string', default: '19090' },
    quiet: { type: 'boolean', default: false },
  },
});
// the built command; PROXYHA_LB_COMMAND (a JSON array: program and arguments) runs another, as the
// package's tests do to run it from its sources
const command = process.env.PROXYHA_LB_COMMAND
  ? JSON.parse(process.env.PROXYHA_LB_COMMAND)
  : [process.execPath, join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js')];
const proxyPort = Number(args['proxy-port']);
const nodes = [
  { name: 'node-a', address: '127.0.0.21', role: 'director' },
  { name: 'node-b', address: '127.0.0.22', role: 'scanner' },
  { name: 'node-c', address: '127.0.0.23', role: 'scanner' },
];
const dir = mkdtempSync(join(tmpdir(), 'proxyha-lb-demo-'));
const say = (line) => process.stdout.write(`demo: ${line}\n`);

function proxy(node) {
  const server = createServer((socket) => {
    socket.on('error', () => {}); // a client that resets is not the demo's concern
    socket.end(`${node.name}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(proxyPort, node.address, () => resolve(server));
  });
}

function start(node) {
  node.dataDir = join(dir, node.name);
  node.config = join(dir, `${node.name}.yaml`);
  writeFileSync(
    node.config,
    `# ${node.name}: proxyha-lb on loopback
group: 51
name: ${node.name}
interface: lo
managementIp: ${node.address}
virtualIps: ["127.0.0.74"]
redirects:
  - { originalPort: 9090, destinationPort: ${proxyPort} }
interval: "${args.interval}"
role: ${node.role}
dataPlane: relay
loadAware: false      # the three nodes share this host: its CPU says nothing about one of them
transport: loopback
port: ${Number(args.port)}
peers: [${nodes
      .filter((n) => n !== node)
      .map((n) => n.address)
      .join(', ')}]
health: { interval: "${args.interval}", fall: 2, rise: 1 }
dataDir: ${node.dataDir}
`,
  );
  const [program, ...rest] = command;
  node.output = '';
  node.proc = spawn(program, [...rest, '--config', node.config], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [node.proc.stdout, node.proc.stderr])
    stream.on('data', (chunk) => {
      node.output += chunk;
      if (!args.quiet)
        for (const l of String(chunk).trimEnd().split('\n')) process.stdout.write(`  ${node.name} | ${l}\n`);
    });
}

function status(node, json = true) {
  const [program, ...rest] = command;
  const out = execFileSync(program, [...rest, '--config', node.config, '-s', ...(json ? ['--json'] : [])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return json ? JSON.parse(out) : out;
}

/** Which node answers a client from `source` on the VIP. */
function ask(source) {
  return new Promise((resolve, reject) => {
    let answer = '';
    const s = connect({ host: '127.0.0.74', port: 9090, localAddress: source });
    s.on('data', (d) => {
      answer += d;
    });
    s.on('end', () => resolve(answer.trim()));
    s.on('error', reject);
  });
}

async function spread() {
  const served = new Map();
  const counts = {};
  for (let i = 1; i <= 60; i++) {
    const node = await ask(`127.1.0.${i}`);
    served.set(i, node);
    counts[node] = (counts[node] ?? 0) + 1;
  }
  return { served, counts };
}

async function until(what, fn, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let exitCode = 0;
const servers = new Map();
try {
  for (const n of nodes) servers.set(n.name, await proxy(n));
  for (const n of nodes) start(n);
  const [a, b, c] = nodes;

  say('1. discovery: node-a directs, node-b and node-c report to it');
  await until('node-a lists three healthy nodes sharing the table', () => {
    const s = status(a);
    return s.nodes.length === 3 && s.nodes.every((n) => n.health === 'ok' && n.share > 0.3);
  });
  process.stdout.write(status(a, false));

  say('2. 60 clients connect to the VIP 127.0.0.74:9090 through the director');
  const first = await spread();
  say(`spread: ${JSON.stringify(first.counts)}`);
  if (Object.keys(first.counts).length !== 3) throw new Error('the clients did not reach all three nodes');
  const again = await spread();
  for (const [i, node] of first.served)
    if (again.served.get(i) !== node)
      throw new Error(`client 127.1.0.${i} moved from ${node} to ${again.served.get(i)}`);
  say('every client got the same node again (source-IP sticky)');

  say('3. node-b’s proxy stops: node-b is drained, then returns');
  await new Promise((r) => servers.get('node-b').close(r));
  await until('node-b drained', () => /node-b\) is draining/.test(a.output));
  await until('node-b without a share', () => status(a).nodes.find((n) => n.name === 'node-b')?.share === 0);
  const drained = await spread();
  say(`spread while node-b is drained: ${JSON.stringify(drained.counts)}`);
  if (drained.counts['node-b']) throw new Error('a drained node got new clients');
  servers.set('node-b', await proxy(b));
  await until('node-b recovered', () => /node-b\) has recovered/.test(a.output));

  say('4. SIGKILL node-c: the director declares it failed');
  c.proc.kill('SIGKILL');
  await until('node-c failed', () => /Scanning partner has failed 127\.0\.0\.23/.test(a.output));
  await until('two nodes left', () => status(a).nodes.length === 2);
  process.stdout.write(status(a, false));
  say('the director group behaved as expected');
} catch (e) {
  exitCode = 1;
  say(`FAILED: ${e.message}`);
} finally {
  for (const n of nodes) n.proc?.kill('SIGTERM');
  await Promise.all(
    nodes.map((n) =>
      n.proc && n.proc.exitCode === null && n.proc.signalCode === null
        ? new Promise((r) => n.proc.once('exit', r))
        : undefined,
    ),
  );
  for (const s of servers.values()) s.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);

#!/usr/bin/env node
// A small HTTP forward proxy for the demo cluster, standing in for squid or tinyproxy on each node: it
// forwards `GET http://host:port/path` requests (absolute URI, as clients send to a proxy), adds
// `X-Served-By: <name>` to every answer, and refuses the domains listed in the policy's `blocked.txt`
// (403). On SIGHUP it reads the policy again, as `squid -k reconfigure` does: central management runs
// `kill -HUP <pid>` after writing a new policy. SIGUSR2 closes the listening port (the proxy "stops"), the
// next SIGUSR2 opens it again.
// Usage: node demo-proxy.mjs --name mwg1 --listen 127.0.0.71:3128 --policy DIR
import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    name: { type: 'string' },
    listen: { type: 'string' },
    policy: { type: 'string' },
  },
});
const [host, port] = args.listen.split(':');
let blocked = new Set();

function loadPolicy() {
  try {
    const text = readFileSync(join(args.policy, 'blocked.txt'), 'utf8');
    blocked = new Set(
      text
        .split('\n')
        .map((l) => l.trim().toLowerCase())
        .filter((l) => l && !l.startsWith('#')),
    );
  } catch {
    blocked = new Set();
  }
  process.stdout.write(`${args.name} proxy: policy loaded (${blocked.size} blocked domain(s))\n`);
}

const server = createServer((req, res) => {
  const served = { 'x-served-by': args.name };
  let target;
  try {
    target = new URL(req.url);
  } catch {
    res.writeHead(400, served).end(`${args.name}: not a proxy request\n`);
    return;
  }
  if (blocked.has(target.hostname.toLowerCase())) {
    res.writeHead(403, { ...served, 'content-type': 'text/plain' });
    res.end(`${args.name}: ${target.hostname} is blocked by the policy\n`);
    return;
  }
  const upstream = request(
    {
      host: target.hostname,
      port: target.port || 80,
      path: `${target.pathname}${target.search}`,
      method: req.method,
      headers: { ...req.headers, host: target.host },
    },
    (up) => {
      res.writeHead(up.statusCode ?? 502, { ...up.headers, ...served, via: `1.1 ${args.name}` });
      up.pipe(res);
    },
  );
  upstream.on('error', (e) => res.writeHead(502, served).end(`${args.name}: ${e.message}\n`));
  req.pipe(upstream);
});
server.keepAliveTimeout = 1000;
process.on('SIGHUP', loadPolicy);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
// while the port is closed nothing else keeps the process alive
setInterval(() => {}, 1 << 30);
process.on('SIGUSR2', () => {
  if (!server.listening) return listen();
  server.close();
  server.closeAllConnections();
  process.stdout.write(`${args.name} proxy: stopped listening\n`);
});
function listen() {
  server.listen(Number(port), host, () =>
    process.stdout.write(`${args.name} proxy: listening on ${args.listen}\n`),
  );
}
loadPolicy();
listen();

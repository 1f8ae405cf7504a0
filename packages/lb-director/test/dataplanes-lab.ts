// Helpers of the end-to-end data plane test (dataplanes.net.test.ts): real proxies (tinyproxy, squid) on
// the nodes, an origin web server in the client namespace that answers with the address the request came
// from (the proxy's node), a client fetching through the VIP from many source addresses, and a long
// transfer the test releases when it wants.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Lab, ManagedProcess } from '@proxyha/testlab';
import { createScheduler } from '../src/scheduler/scheduler';
import { type LbStatusDoc, PROXY_PORT, VIP } from './lb-lab';

export const ORIGIN_PORT = 8000;

/** The client's source addresses, on the lab LAN (so direct routing's nodes answer them directly). */
export const SOURCES = Array.from({ length: 48 }, (_, i) => `192.168.77.${100 + i}`);

// /who: the requester's address (the proxy's node); /slow/ID: that line, then 1000 bytes every 50 ms until
// /release/ID, then END
const ORIGIN_JS = `
const http = require('node:http');
const slow = new Map();
http.createServer((req, res) => {
  const who = req.socket.remoteAddress.replace(/^::ffff:/, '');
  const m = /^\\/(slow|release)\\/(\\w+)$/.exec(req.url);
  if (m && m[1] === 'slow') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(who + '\\n');
    const t = setInterval(() => res.write('x'.repeat(1000)), 50);
    slow.set(m[2], () => { clearInterval(t); res.end('END\\n'); });
    console.log('slow ' + m[2] + ' from ' + who);
    return;
  }
  if (m && m[1] === 'release') {
    const end = slow.get(m[2]);
    slow.delete(m[2]);
    if (end) end();
    res.writeHead(end ? 200 : 404, { connection: 'close' });
    res.end(end ? 'released\\n' : 'unknown\\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
  res.end(who + '\\n');
}).listen(${ORIGIN_PORT}, process.argv[2], () => console.log('origin listening'));
`;

/**
 * The HTTP client of the namespace tests (also used by nftables.net.test.ts): argv = JSON { vip, port, origin,
 * path, sources, concurrency }; prints JSON [{ src, status, body } | { src, error }].
 */
export const CLIENT_JS = `
const http = require('node:http');
const o = JSON.parse(process.argv[2]);
function one(src) {
  return new Promise((resolve) => {
    const req = http.request({ host: o.vip, port: o.port, path: 'http://' + o.origin + o.path, localAddress: src,
      agent: false, headers: { connection: 'close', host: o.origin } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ src, status: res.statusCode, body }));
      res.on('error', (e) => resolve({ src, error: String(e) }));
    });
    req.setTimeout(15000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ src, error: e.code || String(e) }));
    req.end();
  });
}
(async () => {
  const out = new Array(o.sources.length);
  let next = 0;
  await Promise.all(Array.from({ length: o.concurrency }, async () => {
    while (next < o.sources.length) { const i = next++; out[i] = await one(o.sources[i]); }
  }));
  process.stdout.write(JSON.stringify(out));
})();
`;

// argv: src, url path; prints "first <who>" on the first line of the body, "done <bytes> <END?>" at the end
const TRANSFER_JS = `
const http = require('node:http');
const [src, origin, path] = process.argv.slice(2);
const req = http.request({ host: ${JSON.stringify(VIP)}, port: ${PROXY_PORT}, path: 'http://' + origin + path,
  localAddress: src, agent: false, headers: { host: origin } }, (res) => {
  let body = '';
  let first = false;
  res.setEncoding('utf8');
  res.on('data', (d) => {
    body += d;
    if (!first && body.includes('\\n')) { first = true; console.log('first ' + body.split('\\n')[0]); }
  });
  res.on('end', () => console.log('done ' + body.length + ' ' + (body.endsWith('END\\n') ? 'complete' : 'truncated')));
  res.on('error', (e) => console.log('error ' + e.message));
});
req.on('error', (e) => console.log('error ' + (e.code || e.message)));
req.end();
`;

/** The outcome of one fetch through the VIP. */
export interface Probe {
  src: string;
  status?: number;
  body?: string;
  error?: string;
}

/** Everything the data plane test sets up besides the daemons. */
export class ProxyCluster {
  readonly lab: Lab;
  readonly origin: string;
  readonly #dir: string;
  /** The proxy of each node. */
  readonly proxies = new Map<string, ManagedProcess>();
  /** Node name by management address. */
  readonly byAddress = new Map<string, string>();
  #transfers = 0;

  private constructor(lab: Lab, dir: string) {
    this.lab = lab;
    this.#dir = dir;
    this.origin = `${lab.node('c').ipv4}:${ORIGIN_PORT}`;
  }

  /**
   * Client addresses and the origin in `c`; tinyproxy on `tinyproxies`, squid on `squidNode`, listening on
   * `bind(node)` (the management address or 0.0.0.0).
   */
  static async create(
    lab: Lab,
    o: { tinyproxies: readonly string[]; squidNode: string; bind: (node: string) => string },
  ): Promise<ProxyCluster> {
    const dir = await lab.runDir('dataplanes');
    const c = new ProxyCluster(lab, dir);
    for (const n of [...o.tinyproxies, o.squidNode]) c.byAddress.set(lab.node(n).ipv4, n);
    await writeFile(join(dir, 'origin.cjs'), ORIGIN_JS);
    await writeFile(join(dir, 'client.cjs'), CLIENT_JS);
    await writeFile(join(dir, 'transfer.cjs'), TRANSFER_JS);
    await lab.exec('c', 'ip', ['-batch', '-'], {
      input: `${SOURCES.map((a) => `addr add ${a}/32 dev eth0`).join('\n')}\n`,
    });
    const origin = lab.spawn('c', process.execPath, [join(dir, 'origin.cjs'), lab.node('c').ipv4], {
      name: 'origin',
    });
    await origin.waitForOutput(/origin listening/, 15_000);
    const squid = c.#squid(o.squidNode, o.bind(o.squidNode));
    for (const n of o.tinyproxies)
      c.proxies.set(n, await lab.tinyproxy({ node: n, port: PROXY_PORT, address: o.bind(n) }));
    c.proxies.set(o.squidNode, await squid);
    return c;
  }

  async #squid(node: string, address: string): Promise<ManagedProcess> {
    const dir = await this.lab.runDir('squid');
    await mkdir(join(dir, 'logs'), { recursive: true });
    await chmod(dir, 0o777);
    await chmod(join(dir, 'logs'), 0o777);
    const conf = join(dir, 'squid.conf');
    await writeFile(
      conf,
      [
        `http_port ${address === '0.0.0.0' ? '' : `${address}:`}${PROXY_PORT}`,
        'http_access allow all',
        'cache deny all',
        `pid_filename ${dir}/squid.pid`,
        'access_log none',
        `cache_log ${dir}/logs/cache.log`,
        `coredump_dir ${dir}`,
        `visible_hostname ${node}`,
        'dns_nameservers 127.0.0.1',
        // SIGTERM: stop listening at once, let open transfers finish (up to a minute)
        'shutdown_lifetime 60 seconds',
        'forwarded_for delete',
        '',
      ].join('\n'),
    );
    const p = this.lab.spawn(node, '/usr/sbin/squid', ['-N', '-f', conf], { name: `squid:${node}` });
    const probeAt = address === '0.0.0.0' ? this.lab.node(node).ipv4 : address;
    await this.lab.waitForTcp(node, probeAt, PROXY_PORT, 30_000, p);
    return p;
  }

  /** Fetches /who through the VIP from each source (a few at a time: two shared cores). */
  async probe(sources: readonly string[] = SOURCES, concurrency = 6): Promise<Probe[]> {
    const r = await this.lab.exec(
      'c',
      process.execPath,
      [
        join(this.#dir, 'client.cjs'),
        JSON.stringify({
          vip: VIP,
          port: PROXY_PORT,
          origin: this.origin,
          path: '/who',
          sources,
          concurrency,
        }),
      ],
      { timeoutMs: 60_000 },
    );
    return JSON.parse(r.stdout) as Probe[];
  }

  /** The node that served a fetch (from the origin's answer), or the error. */
  servedBy(p: Probe): string {
    if (p.error !== undefined) return `error ${p.error}`;
    if (p.status !== 200) return `status ${p.status}`;
    const who = p.body?.split('\n')[0] ?? '';
    return this.byAddress.get(who) ?? `unknown ${who}`;
  }

  /** Fetches from every source and returns source -> node name (or the error). */
  async served(sources: readonly string[] = SOURCES): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const p of await this.probe(sources)) out.set(p.src, this.servedBy(p));
    return out;
  }

  /**
   * Starts a long transfer from `src` through the VIP; resolves once its first line arrived (naming the
   * node that serves it). `release()` lets the origin finish it; `result()` waits for the end.
   */
  async startTransfer(src: string) {
    const id = `t${++this.#transfers}`;
    const p = this.lab.spawn(
      'c',
      process.execPath,
      [join(this.#dir, 'transfer.cjs'), src, this.origin, `/slow/${id}`],
      {
        name: `transfer:${id}`,
      },
    );
    const m = await p.waitForOutput(/^(first|error) (\S+)/m, 20_000);
    if (m[1] === 'error') throw new Error(`the transfer from ${src} failed: ${m[2]}`);
    const node = this.byAddress.get(m[2] as string) ?? `unknown ${m[2]}`;
    return {
      node,
      /** True while the transfer has not ended. */
      running: () => !/^(done|error) /m.test(p.stdout()),
      release: async () => {
        const r = await this.lab.exec('c', 'curl', [
          '-sS',
          '--max-time',
          '10',
          `http://${this.origin}/release/${id}`,
        ]);
        return r.stdout.trim();
      },
      result: async () => {
        const e = await p.waitForOutput(/^(done \d+ \w+|error .*)$/m, 30_000);
        return e[1] as string;
      },
    };
  }
}

/**
 * Who the director's table gives each source: the scheduler rebuilt from the director's status (ids,
 * weights, health; `loadAware: false` as configured, so capacity x health are the weights), the kernel's
 * jhash of the address as the bucket. Node ids map to names through the status.
 */
export function expectedOwners(
  status: LbStatusDoc,
  sources: readonly string[] = SOURCES,
): Map<string, string> {
  const s = createScheduler({ loadAware: false });
  s.update(
    0,
    status.nodes.map((n) => ({
      id: n.id,
      capacity: n.weight,
      healthy: n.health === 'ok',
      activeConnections: 0,
    })),
  );
  const names = new Map(status.nodes.map((n) => [n.id, n.name]));
  return new Map(sources.map((src) => [src, names.get(s.lookup(src) ?? '') ?? 'nobody']));
}

/** How many sources each node serves. */
export function counts(served: ReadonlyMap<string, string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of served.values()) out.set(n, (out.get(n) ?? 0) + 1);
  return out;
}

/** A regular expression source matching `s` literally. */
export const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

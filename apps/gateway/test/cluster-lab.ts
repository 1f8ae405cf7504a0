// The lab of the gateway's end-to-end namespace test (cluster.net.test.ts): three gateway nodes (gw1..gw3)
// on one bridge, each running `proxyha run` from the sources with the raw VRRP transport, the nftables data
// plane and central management over mutual TLS, each with a real proxy on port 9090 of its own address
// (tinyproxy on gw1 and gw2, squid on gw3); an origin web server and an NTP server (chronyd) in `web`; a
// client namespace `c` with 24 source addresses that sends proxy requests through VIP:9090.
//
// Names resolve in the proxies from a hosts file of the lab (squid: `hosts_file`; tinyproxy: the file
// bind-mounted on /etc/hosts in a private mount namespace of its own), so that `origin.lab` and
// `blocked.example` are the origin and a request for the blocked domain really reaches it until the policy
// blocks it. The proxies read the blocked domains from the policy directory of their node
// (`<policy.dir>/blocked-domains.txt`: tinyproxy's `Filter` with `FilterType fnmatch`, squid's
// `dstdomain` ACL: the same one-domain-a-line file serves both) and reload it when the node applies a new
// policy (tinyproxy 1.11: SIGUSR1 re-reads the configuration and the filter file; squid: `-k reconfigure`).
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClusterCa, writeClusterCa } from '@proxyha/cm-coordinator';
import { type ExecResult, type Lab, type ManagedProcess, sourceNodeArgs } from '@proxyha/testlab';
import { stringify } from 'yaml';
import type { GatewayStatus } from '../src/node/types';
import { appDir } from './helpers';

export const VIP = '192.168.77.74';
export const PROXY_PORT = 9090;
export const ORIGIN_PORT = 8000;
/** The origin's name (in the proxies' hosts file). */
export const ORIGIN_NAME = 'origin.lab';
/** The domain the policy blocks (also the origin, until then). */
export const BLOCKED = 'blocked.example';
/** The policy document the proxies read. */
export const BLOCKLIST = 'blocked-domains.txt';
const MANAGEMENT_PORT = 8443;
const CM_PORT = 12346;

/** The client's source addresses (on the lab LAN, /32 on c's eth0). */
export const SOURCES = Array.from({ length: 24 }, (_, i) => `192.168.77.${100 + i}`);

/** A gateway node of the lab. */
export interface GatewaySpec {
  readonly name: 'gw1' | 'gw2' | 'gw3';
  /** VRRP priority (`ha.priority`). */
  readonly priority: number;
  /** Central management priority (`cm.priority`). */
  readonly cmPriority: number;
  readonly proxy: 'tinyproxy' | 'squid';
}

export const GATEWAYS: readonly GatewaySpec[] = [
  { name: 'gw1', priority: 150, cmPriority: 1, proxy: 'tinyproxy' },
  { name: 'gw2', priority: 100, cmPriority: 2, proxy: 'tinyproxy' },
  { name: 'gw3', priority: 50, cmPriority: 3, proxy: 'squid' },
];
export type GatewayName = GatewaySpec['name'];

/** The lab's nodes, in order (addresses 192.168.77.11 ...). */
export const LAB_NODES = ['gw1', 'gw2', 'gw3', 'c', 'web'] as const;

/** The outcome of one request through the VIP. */
export interface Fetched {
  src: string;
  /** Wall-clock start and end, ms. */
  t0: number;
  t1: number;
  /** The client's TCP port (to find the connection in a director's conntrack table). */
  port?: number;
  status?: number;
  /** The status line's reason phrase (tinyproxy's refusal: `Filtered`). */
  reason?: string;
  /** The proxy's `Via` header. */
  via?: string | null;
  /** squid's `X-Squid-Error` header (its refusal: `ERR_ACCESS_DENIED 0`). */
  squidError?: string | null;
  body?: string;
  error?: string;
}

// The origin: /who answers "<address the request came from> <host header>"; /slow/ID answers that line,
// then 1000 bytes every 50 ms until /release/ID, then END.
const ORIGIN_JS = `
const http = require('node:http');
const slow = new Map();
http.createServer((req, res) => {
  const who = req.socket.remoteAddress.replace(/^::ffff:/, '');
  const m = /^\\/(slow|release)\\/(\\w+)$/.exec(req.url);
  if (m && m[1] === 'slow') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(who + ' ' + req.headers.host + '\\n');
    const t = setInterval(() => res.write('x'.repeat(1000)), 50);
    slow.set(m[2], () => { clearInterval(t); res.end('END\\n'); });
    req.socket.on('close', () => clearInterval(t));
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
  res.end(who + ' ' + req.headers.host + '\\n');
}).listen(${ORIGIN_PORT}, process.argv[2], () => console.log('origin listening'));
`;

// The client: argv = JSON { vip, port, url, sources, concurrency, timeoutMs, loop?, pauseMs? }. Without
// loop: one request per source, prints a JSON array of results. With loop: requests from sources[0] one
// after the other until killed, one JSON line per result.
const CLIENT_JS = `
const http = require('node:http');
const o = JSON.parse(process.argv[2]);
const host = new URL(o.url).host;
function one(src) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let port;
    const done = (r) => resolve({ src, t0, t1: Date.now(), port, ...r });
    const req = http.request({ host: o.vip, port: o.port, path: o.url, localAddress: src, agent: false,
      headers: { connection: 'close', host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => done({ status: res.statusCode, reason: res.statusMessage, via: res.headers.via ?? null,
        squidError: res.headers['x-squid-error'] ?? null, body: body.slice(0, 300) }));
      res.on('error', (e) => done({ error: e.code || String(e) }));
    });
    req.on('socket', (s) => s.once('connect', () => { port = s.localPort; }));
    // a deadline for the whole request, connecting included (a socket timeout starts only once connected)
    const timer = setTimeout(() => req.destroy(new Error('timeout')), o.timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (e) => done({ error: e.code || e.message }));
    req.end();
  });
}
(async () => {
  if (o.loop) {
    for (;;) {
      const r = await one(o.sources[0]);
      process.stdout.write(JSON.stringify(r) + '\\n');
      await new Promise((w) => setTimeout(w, r.error ? 20 : o.pauseMs));
    }
  }
  const out = new Array(o.sources.length);
  let next = 0;
  await Promise.all(Array.from({ length: o.concurrency }, async () => {
    while (next < o.sources.length) { const i = next++; out[i] = await one(o.sources[i]); }
  }));
  process.stdout.write(JSON.stringify(out));
})();
`;

// A long download: argv = vip, src, url; prints "first <via>|<who>" once the first line arrived and
// "done <bytes> complete|truncated" (or "error ...") at the end.
const TRANSFER_JS = `
const http = require('node:http');
const [vip, src, url] = process.argv.slice(2);
const req = http.request({ host: vip, port: ${PROXY_PORT}, path: url, localAddress: src, agent: false,
  headers: { host: new URL(url).host } }, (res) => {
  let body = '';
  let first = false;
  res.setEncoding('utf8');
  res.on('data', (d) => {
    body += d;
    if (!first && body.includes('\\n')) { first = true; console.log('first ' + (res.headers.via || '') + '|' + body.split(' ')[0]); }
  });
  res.on('end', () => console.log('done ' + body.length + ' ' + (body.endsWith('END\\n') ? 'complete' : 'truncated')));
  res.on('error', (e) => console.log('error ' + e.message));
});
req.on('error', (e) => console.log('error ' + (e.code || e.message)));
req.end();
`;

// One HTTP request (the management API, the origin's release): argv = JSON { url, method?, headers?, body? };
// prints the status code, a newline, then the body; exit 1 and the error when it fails.
const HTTP_JS = `
const o = JSON.parse(process.argv[2]);
fetch(o.url, { method: o.method || 'GET', headers: o.headers || {}, body: o.body, signal: AbortSignal.timeout(10000) })
  .then(async (res) => { process.stdout.write(res.status + '\\n' + (await res.text())); })
  .catch((e) => { console.error(String(e && e.cause ? e.cause : e)); process.exit(1); });
`;

/** Polls `fn` every 200 ms until it is true; throws naming `what` after `ms`. */
export async function until(what: string, fn: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if (await fn()) return;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for: ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A regular expression source matching `s` literally. */
export const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A running (or stopped) gateway of the lab. */
export interface LabGateway {
  readonly spec: GatewaySpec;
  readonly config: string;
  readonly dataDir: string;
  readonly policyDir: string;
  readonly token: string;
  /** The current `proxyha run` process (replaced by a restart). */
  proc: ManagedProcess;
  /** Earlier processes of this node (killed), for the logs. */
  readonly previous: ManagedProcess[];
}

/** A running proxy of the lab. */
export interface LabProxy {
  proc: ManagedProcess;
  readonly kind: 'tinyproxy' | 'squid';
  /** squid: its configuration file and access log. */
  readonly conf: string;
  readonly accessLog: string;
}

/** The whole lab: proxies, origin, client addresses and the three gateways. */
export class GatewayCluster {
  readonly lab: Lab;
  readonly dir: string;
  readonly gateways = new Map<GatewayName, LabGateway>();
  readonly proxies = new Map<GatewayName, LabProxy>();
  /** Node name by address. */
  readonly byAddress = new Map<string, GatewayName>();
  readonly hostsFile: string;
  #transfers = 0;

  private constructor(lab: Lab, dir: string) {
    this.lab = lab;
    this.dir = dir;
    this.hostsFile = join(dir, 'hosts');
    for (const g of GATEWAYS) this.byAddress.set(lab.node(g.name).ipv4, g.name);
  }

  ip(n: GatewayName | 'c' | 'web'): string {
    return this.lab.node(n).ipv4;
  }

  gateway(n: GatewayName): LabGateway {
    const g = this.gateways.get(n);
    if (!g) throw new Error(`no gateway ${n}`);
    return g;
  }

  proxy(n: GatewayName): LabProxy {
    const p = this.proxies.get(n);
    if (!p) throw new Error(`no proxy on ${n}`);
    return p;
  }

  /**
   * Sets the lab up: CA, origin, NTP server, client addresses, the proxies, then the three gateways;
   * resolves once they run (not yet once they agree: see the test).
   */
  static async create(lab: Lab): Promise<GatewayCluster> {
    const dir = await lab.runDir('gateway-cluster');
    // squid drops to its own user: it must reach its configuration, logs and the policy directories
    await chmod(dir, 0o755);
    const c = new GatewayCluster(lab, dir);
    await writeClusterCa(join(dir, 'ca'), await createClusterCa({ name: 'proxyha lab cluster CA' }));
    await writeFile(join(dir, 'origin.cjs'), ORIGIN_JS);
    await writeFile(join(dir, 'client.cjs'), CLIENT_JS);
    await writeFile(join(dir, 'transfer.cjs'), TRANSFER_JS);
    await writeFile(join(dir, 'http.cjs'), HTTP_JS);
    await writeFile(c.hostsFile, `127.0.0.1 localhost\n${c.ip('web')} ${ORIGIN_NAME} ${BLOCKED}\n`, {
      mode: 0o644,
    });
    await lab.exec('c', 'ip', ['-batch', '-'], {
      input: `${SOURCES.map((a) => `addr add ${a}/32 dev eth0`).join('\n')}\n`,
    });
    const origin = lab.spawn('web', process.execPath, [join(dir, 'origin.cjs'), c.ip('web')], {
      name: 'origin',
    });
    await origin.waitForOutput(/origin listening/, 15_000);
    await lab.chronyd({ node: 'web', port: 123, address: c.ip('web') });
    for (const g of GATEWAYS) {
      const dataDir = join(dir, g.name);
      const policyDir = join(dataDir, 'policy');
      // the proxies' policy before any was saved: no blocked domain (central management moves this
      // directory aside at its first policy and puts its link in its place)
      await mkdir(policyDir, { recursive: true });
      await chmod(dataDir, 0o755);
      await writeFile(join(policyDir, BLOCKLIST), '', { mode: 0o644 });
      const token = `lab-token-${g.name}-${lab.id}`;
      await writeFile(join(dataDir, 'admin.token'), `${token}\n`, { mode: 0o600 });
      const proxyDir = join(dir, `${g.name}-${g.proxy}`);
      await mkdir(join(proxyDir, 'logs'), { recursive: true });
      await chmod(proxyDir, 0o777);
      await chmod(join(proxyDir, 'logs'), 0o777);
      const config = join(dir, `${g.name}.yaml`);
      c.gateways.set(g.name, {
        spec: g,
        config,
        dataDir,
        policyDir,
        token,
        proc: undefined as unknown as ManagedProcess,
        previous: [],
      });
      await writeFile(config, c.#config(g, dataDir, policyDir, proxyDir));
      await c.startProxy(g.name);
    }
    for (const g of GATEWAYS) c.startGateway(g.name);
    return c;
  }

  #proxyDir(n: GatewayName): string {
    return join(this.dir, `${n}-${this.gateway(n).spec.proxy}`);
  }

  #config(g: GatewaySpec, dataDir: string, policyDir: string, proxyDir: string): string {
    const me = this.ip(g.name);
    const others = GATEWAYS.filter((o) => o !== g).map((o) => `${this.ip(o.name)}:${CM_PORT}`);
    const apply =
      g.proxy === 'squid'
        ? ['/usr/sbin/squid', '-k', 'reconfigure', '-f', join(proxyDir, 'squid.conf')]
        : // tinyproxy 1.11 re-reads its configuration and its filter file on SIGUSR1; its pid file survives a
          // restart of the proxy, a pid in the configuration would not
          ['/bin/sh', '-c', 'exec kill -USR1 "$(cat "$0")"', join(proxyDir, 'tinyproxy.pid')];
    const doc = {
      node: { name: g.name, dataDir },
      ha: {
        interface: 'eth0',
        managementIp: me,
        virtualIps: [`${VIP}/24`],
        vrid: 51,
        priority: g.priority,
        advertInterval: '1s',
        group: 51,
        redirects: [{ originalPort: PROXY_PORT, destinationPort: PROXY_PORT }],
        dataPlane: 'nftables',
        // the three nodes share this host: its CPU and memory say nothing about one of them, and a table
        // that follows their noise would move clients between the test's rounds
        loadAware: false,
      },
      health: { interval: '500ms', fall: 3, rise: 2 },
      ntp: { servers: [`${this.ip('web')}:123`], maxOffset: '1s' },
      cm: {
        listen: `${me}:${CM_PORT}`,
        ca: { cert: join(this.dir, 'ca', 'cluster-ca.pem'), key: join(this.dir, 'ca', 'cluster-ca.key') },
        priority: g.cmPriority,
        peers: others,
      },
      policy: { dir: policyDir, apply },
      management: {
        listen: `127.0.0.1:${MANAGEMENT_PORT}`,
        tokenFile: join(dataDir, 'admin.token'),
      },
    };
    return `# ${g.name}: a node of the gateway's namespace test (cluster.net.test.ts)\n${stringify(doc)}`;
  }

  /**
   * Starts (or restarts) `proxyha run` on node `n` as an installed node runs it: the launcher
   * (bin/proxyha, /usr/bin/proxyha once installed) on the one-file build with its V8 options (the suite
   * builds before the namespace tests run).
   */
  startGateway(n: GatewayName): ManagedProcess {
    const g = this.gateway(n);
    if (g.proc) g.previous.push(g.proc);
    g.proc = this.lab.spawn(n, '/bin/sh', [join(appDir, 'bin', 'proxyha'), 'run', '--config', g.config], {
      name: `proxyha:${n}`,
      env: { PROXYHA_HOME: appDir, PROXYHA_NODE: process.execPath },
    });
    return g.proc;
  }

  /** Starts (or restarts) the proxy of node `n` and waits until it accepts connections. */
  async startProxy(n: GatewayName): Promise<LabProxy> {
    const g = this.gateway(n);
    const dir = this.#proxyDir(n);
    const me = this.ip(n);
    const blocklist = join(g.policyDir, BLOCKLIST);
    let proc: ManagedProcess;
    let conf: string;
    if (g.spec.proxy === 'tinyproxy') {
      conf = join(dir, 'tinyproxy.conf');
      await writeFile(
        conf,
        [
          `Port ${PROXY_PORT}`,
          `Listen ${me}`,
          'Timeout 60',
          'LogLevel Info',
          'MaxClients 100',
          `PidFile "${dir}/tinyproxy.pid"`,
          // which proxy served: `Via: 1.1 gw1 (tinyproxy/1.11.1)`
          `ViaProxyName "${n}"`,
          `Filter "${blocklist}"`,
          'FilterType fnmatch',
          // no `User`: it stays root, so that a reload can read the configuration in the lab's directories
          '',
        ].join('\n'),
      );
      // names from the lab's hosts file: bind-mounted on /etc/hosts in a mount namespace of its own (only
      // this process sees it)
      proc = this.lab.spawn(
        n,
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          '/bin/sh',
          '-c',
          'mount --bind "$0" /etc/hosts && exec tinyproxy -d -c "$1"',
          this.hostsFile,
          conf,
        ],
        { name: `tinyproxy:${n}` },
      );
    } else {
      conf = join(dir, 'squid.conf');
      await writeFile(
        conf,
        [
          `http_port ${me}:${PROXY_PORT}`,
          `acl blocked dstdomain "${blocklist}"`,
          'http_access deny blocked',
          'http_access allow all',
          'cache deny all',
          `pid_filename ${dir}/squid.pid`,
          `access_log stdio:${dir}/logs/access.log`,
          `cache_log ${dir}/logs/cache.log`,
          `coredump_dir ${dir}`,
          `visible_hostname ${n}`,
          `hosts_file ${this.hostsFile}`,
          'dns_nameservers 127.0.0.1',
          // SIGTERM: stop listening at once, let open transfers finish (up to a minute)
          'shutdown_lifetime 60 seconds',
          'forwarded_for delete',
          '',
        ].join('\n'),
      );
      proc = this.lab.spawn(n, '/usr/sbin/squid', ['-N', '-f', conf], { name: `squid:${n}` });
    }
    await this.lab.waitForTcp(n, me, PROXY_PORT, 30_000, proc);
    const p: LabProxy = { proc, kind: g.spec.proxy, conf, accessLog: join(dir, 'logs', 'access.log') };
    this.proxies.set(n, p);
    return p;
  }

  /** squid's access log of node `n` ('' before the first line). */
  async accessLog(n: GatewayName): Promise<string> {
    return readFile(this.proxy(n).accessLog, 'utf8').catch(() => '');
  }

  /** One HTTP request from node `n`: the status code and the body. */
  async http(
    n: GatewayName | 'c' | 'web',
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<{ status: number; body: string }> {
    const r = await this.lab.exec(
      n,
      process.execPath,
      [join(this.dir, 'http.cjs'), JSON.stringify({ url, ...init })],
      {
        allowFailure: true,
        timeoutMs: 15_000,
      },
    );
    if (r.code !== 0)
      throw new Error(`${n}: ${init.method ?? 'GET'} ${url}: ${r.stderr.trim() || `exit ${r.code}`}`);
    const nl = r.stdout.indexOf('\n');
    return { status: Number(r.stdout.slice(0, nl)), body: r.stdout.slice(nl + 1) };
  }

  /** A management API call inside node `n`'s namespace (127.0.0.1:8443, with the node's token). */
  async api<T>(n: GatewayName, path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    const r = await this.http(n, `http://127.0.0.1:${MANAGEMENT_PORT}${path}`, {
      ...(init.method ? { method: init.method } : {}),
      headers: {
        authorization: `Bearer ${this.gateway(n).token}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    if (r.status !== 200) throw new Error(`${n} ${path}: HTTP ${r.status}: ${r.body}`);
    return JSON.parse(r.body) as T;
  }

  /** `GET /api/v1/status` of node `n`. */
  status(n: GatewayName): Promise<GatewayStatus> {
    return this.api<GatewayStatus>(n, '/api/v1/status');
  }

  /** Runs `proxyha ARGS -c <n's file>` in node `n`'s namespace, from the sources. */
  cli(n: GatewayName, args: readonly string[]): Promise<ExecResult> {
    return this.lab.exec(
      n,
      process.execPath,
      [...sourceNodeArgs(join(appDir, 'src', 'cli.ts')), ...args, '-c', this.gateway(n).config],
      { allowFailure: true, timeoutMs: 60_000 },
    );
  }

  /** One request through VIP:9090 per source, a few at a time. */
  async fetchAll(
    url = `http://${ORIGIN_NAME}:${ORIGIN_PORT}/who`,
    sources: readonly string[] = SOURCES,
  ): Promise<Fetched[]> {
    const r = await this.lab.exec(
      'c',
      process.execPath,
      [
        join(this.dir, 'client.cjs'),
        JSON.stringify({ vip: VIP, port: PROXY_PORT, url, sources, concurrency: 6, timeoutMs: 10_000 }),
      ],
      { timeoutMs: 60_000 },
    );
    return JSON.parse(r.stdout) as Fetched[];
  }

  /**
   * The proxy that served a request, from its `Via` header, checked against the address the origin saw
   * (the proxy's node); or what went wrong.
   */
  servedBy(f: Fetched): string {
    if (f.error !== undefined) return `error ${f.error}`;
    if (f.status !== 200) return `status ${f.status}`;
    const via = /^1\.1 (\S+) \((tinyproxy|squid)\//.exec(f.via ?? '')?.[1];
    const who = this.byAddress.get(f.body?.split(' ')[0] ?? '');
    if (via === undefined || via !== who) return `unclear (via ${f.via}, origin saw ${f.body?.trim()})`;
    return via;
  }

  /** Requests `/who` from every source: source -> proxy (or what went wrong). */
  async served(sources: readonly string[] = SOURCES): Promise<Map<string, string>> {
    return new Map((await this.fetchAll(undefined, sources)).map((f) => [f.src, this.servedBy(f)]));
  }

  /** Requests through the VIP from `src`, one after the other, until stopped; results as they come. */
  startPinger(src: string) {
    const p = this.lab.spawn(
      'c',
      process.execPath,
      [
        join(this.dir, 'client.cjs'),
        JSON.stringify({
          vip: VIP,
          port: PROXY_PORT,
          url: `http://${ORIGIN_NAME}:${ORIGIN_PORT}/who`,
          sources: [src],
          timeoutMs: 1000,
          loop: true,
          pauseMs: 100,
        }),
      ],
      { name: `pinger:${src}` },
    );
    const results = (): Fetched[] =>
      p
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{') && l.endsWith('}'))
        .map((l) => JSON.parse(l) as Fetched);
    return { proc: p, results, stop: () => p.kill('SIGTERM', 2_000) };
  }

  /**
   * Starts a long download from `src` through the VIP (the origin streams until released); resolves once
   * its first line arrived, naming the proxy that serves it.
   */
  async startTransfer(src: string) {
    const id = `t${++this.#transfers}`;
    const p = this.lab.spawn(
      'c',
      process.execPath,
      [join(this.dir, 'transfer.cjs'), VIP, src, `http://${ORIGIN_NAME}:${ORIGIN_PORT}/slow/${id}`],
      { name: `transfer:${id}` },
    );
    const m = await p.waitForOutput(/^(first|error) (.*)$/m, 20_000);
    if (m[1] === 'error') throw new Error(`the download from ${src} failed: ${m[2]}`);
    const [via, who] = (m[2] as string).split('|');
    const node = /^1\.1 (\S+) /.exec(via ?? '')?.[1] ?? `unknown (${via})`;
    return {
      node,
      /** The address the origin saw: the proxy's node. */
      who: this.byAddress.get(who ?? '') ?? `unknown ${who}`,
      running: () => !/^(done|error) /m.test(p.stdout()),
      release: async () =>
        (await this.http('web', `http://${this.ip('web')}:${ORIGIN_PORT}/release/${id}`)).body.trim(),
      result: async () => (await p.waitForOutput(/^(done \d+ \w+|error .*)$/m, 60_000))[1] as string,
    };
  }

  /**
   * Counts the connection attempts (SYN) that reach node `n`'s proxy port from the network: an nftables
   * table of the test's own in `n`'s namespace; returns a reader of the counter.
   */
  async countSyns(n: GatewayName): Promise<() => Promise<number>> {
    await this.lab.exec(n, 'nft', ['-f', '-'], {
      input: `table inet labcount {
  chain input {
    type filter hook input priority -310; policy accept;
    iifname "eth0" tcp dport ${PROXY_PORT} tcp flags & (syn | ack) == syn counter
  }
}\n`,
    });
    return async () => {
      const out = (await this.lab.exec(n, 'nft', ['list', 'chain', 'inet', 'labcount', 'input'])).stdout;
      const m = /counter packets (\d+)/.exec(out);
      if (!m) throw new Error(`no counter in:\n${out}`);
      return Number(m[1]);
    };
  }

  /**
   * Watches node `n`'s kernel for new connections to VIP:9090 (conntrack events; its table counts
   * connections only while it directs): which director carried a request. `carried(f)` is true when a
   * connection from the request's source address and port appeared while the request ran.
   */
  async watchConnections(n: GatewayName) {
    const p = this.lab.spawn(
      n,
      'conntrack',
      ['-E', '-e', 'NEW', '-p', 'tcp', '--orig-dst', VIP, '--dport', String(PROXY_PORT), '-o', 'timestamp'],
      { name: `conntrack:${n}` },
    );
    // conntrack prints nothing when it is ready: give it a moment to subscribe
    await new Promise((r) => setTimeout(r, 300));
    if (!p.running) throw new Error(`conntrack -E in ${n} exited:\n${p.output()}`);
    const events = () =>
      [...p.stdout().matchAll(/^\[(\d+)\.(\d+)\]\s+\[NEW\] .*?\bsrc=(\S+) .*?\bsport=(\d+)/gm)].map((m) => ({
        at: Number(m[1]) * 1000 + Number(`0.${m[2]}`) * 1000,
        src: m[3] as string,
        port: Number(m[4]),
      }));
    return {
      events,
      carried: (f: Fetched) =>
        f.port !== undefined &&
        events().some((e) => e.src === f.src && e.port === f.port && e.at >= f.t0 - 50 && e.at <= f.t1 + 50),
      output: () => p.output().slice(-3000),
      stop: () => p.kill('SIGTERM', 2_000),
    };
  }

  /** The last lines of every process of the lab worth reading after a failure. */
  tails(lines = 30): string {
    const out: string[] = [];
    for (const [n, g] of this.gateways)
      for (const p of [...g.previous, g.proc])
        out.push(`--- ${n} (pid ${p.pid}):\n${p.output().split('\n').slice(-lines).join('\n')}`);
    for (const [n, p] of this.proxies)
      out.push(`--- ${p.kind} on ${n}:\n${p.proc.output().split('\n').slice(-10).join('\n')}`);
    return out.join('\n');
  }

  /** Writes every gateway's whole log to `dir` (PROXYHA_TEST_LOGS). */
  async writeLogs(dir: string): Promise<void> {
    for (const [n, g] of this.gateways)
      for (const [i, p] of [...g.previous, g.proc].entries())
        await writeFile(join(dir, `gateway-cluster-${n}-${i}.log`), p.output());
  }
}

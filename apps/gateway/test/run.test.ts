// `proxyha run` (runCommand): the node in the foreground, its signals (an EventEmitter stands in for the
// process), SIGHUP reloads and the log it writes. Without root: VRRP over the loopback transport on 127.x
// addresses of this file's own /24, the relay data plane, a fake prober for the proxy's health. Every wait
// polls for an outcome; nothing asserts how long anything took.
import { createSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryIo } from '@proxyha/common/cli';
import type { Prober } from '@proxyha/health-mon';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { type RunSignals, runCommand } from '../src/cli/run';
import { GatewayError } from '../src/errors';
import type { GatewayNode } from '../src/node/node';
import type { Doc } from './helpers';

// a /24 of 127/8: 127.<150..199>.<pid>.x as node.test.ts, which uses the hosts below .130; this file
// takes .130 to .199, ten per test (the node at .N1, its absent peer at .N2, the VIP at .N9)
const NET = `127.${150 + (process.pid % 50)}.${process.pid % 250}`;
const ip = (host: number): string => `${NET}.${host}`;
// a test waits for several outcomes, each within its own limit (see until)
vi.setConfig({ testTimeout: 60_000 });

/** Polls `fn` until it holds; fails naming `what` after `ms`. */
async function until(what: string, fn: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const scratch: string[] = [];
const running: GatewayNode[] = [];
afterEach(async () => {
  for (const n of running.splice(0)) await n.stop();
  for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A node's configuration file (one node; its peer on `base + 2` is not running). */
function configDoc(base: number, dir: string, priority = 150): Doc {
  return {
    node: { name: `run${base}`, dataDir: join(dir, 'data') },
    ha: {
      interface: 'lo',
      managementIp: ip(base + 1),
      virtualIps: [`${ip(base + 9)}/32`],
      vrid: 51,
      priority,
      advertInterval: '200ms',
      redirects: [{ originalPort: 9090, destinationPort: 3128 }],
      dataPlane: 'relay',
      transport: 'loopback',
      peers: [ip(base + 2)],
      loadAware: false,
    },
    health: { interval: '100ms', fall: 1, rise: 1 },
    management: { listen: `${ip(base + 1)}:8443`, tokenFile: join(dir, 'admin.token') },
  };
}

/** A scratch directory with the configuration file of `base`. */
function setup(base: number): { dir: string; file: string; write(doc: Doc | string): void } {
  const dir = mkdtempSync(join(tmpdir(), 'proxyha-gw-run-'));
  scratch.push(dir);
  const file = join(dir, 'proxyha.yaml');
  const write = (doc: Doc | string) => writeFileSync(file, typeof doc === 'string' ? doc : stringify(doc));
  write(configDoc(base, dir));
  return { dir, file, write };
}

/** The process's signals, as the test sends them. */
function fakeSignals(): EventEmitter & RunSignals {
  return new EventEmitter() as EventEmitter & RunSignals;
}

const okProber: Prober = async () => ({ ok: true, latencyMs: 0.1 });

/** The lines of the log, without their time stamps and levels. */
function lines(io: MemoryIo): string[] {
  return io.out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^\[[^\]]*\] [A-Z]+: /, ''));
}

/** Index of the first line matching `re` at or after `from` (-1 when none). */
function find(ls: readonly string[], re: RegExp, from = 0): number {
  const i = ls.slice(from).findIndex((l) => re.test(l));
  return i < 0 ? -1 : i + from;
}

/** True when UDP `host:port` can be bound. */
function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind({ address: host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

describe('proxyha run', () => {
  it('runs until SIGTERM; SIGHUP reloads, an invalid file is refused and the node keeps running', async () => {
    const { dir, file, write } = setup(130);
    const io = new MemoryIo();
    const signals = fakeSignals();
    let node: GatewayNode | undefined;
    const done = runCommand(file, io, {
      signals,
      node: { prober: okProber, management: false },
      onStarted: (n) => {
        node = n;
        running.push(n); // stopped after the test if it fails before SIGTERM
      },
    });
    await until('the node directs', () => node?.status().node.role === 'director');
    const n = node as GatewayNode;

    // an invalid file: refused with every bad path, the running configuration stays
    write(stringify({ ...configDoc(130, dir), ha: { ...configDoc(130, dir).ha, vrid: 300 } }));
    signals.emit('SIGHUP');
    await until('the reload is refused', () => io.out.includes('Reload refused'));
    expect(io.out).toMatch(/Reload refused, the running configuration stays: .*ha\.vrid/s);
    expect(n.status().vrrp).toMatchObject({ state: 'master', vrid: 51, basePriority: 150 });
    // not even YAML
    write('ha: [\n');
    signals.emit('SIGHUP');
    await until('the second reload is refused', () => io.out.split('Reload refused').length === 3);
    expect(n.status().vrrp.state).toBe('master');

    // a valid file with a new priority: applied in place, the director's copy waits for a restart
    write(configDoc(130, dir, 120));
    signals.emit('SIGHUP');
    await until('the reload finishes', () => io.out.includes('Reload finished'));
    expect(io.out).toMatch(/Reload finished \(1 change\(s\) wait for a restart\)/);
    expect(n.status().vrrp).toMatchObject({ state: 'master', basePriority: 120, effectivePriority: 120 });
    expect(n.status().vrrp.transitions.map((t) => t.to)).toEqual(['backup', 'master']);

    signals.emit('SIGTERM');
    await expect(done).resolves.toBe(0);
    const ls = lines(io);
    const order = [
      /^Starting proxyha v\S+ \(run130, configuration .*proxyha\.yaml\)$/,
      /^set lbnetwork 1$/,
      /^Reloading /,
      /^Reload refused/,
      /^Reloading /,
      /^Reload refused/,
      /^Reloading /,
      /^Reload finished/,
      /^Stopping \(SIGTERM\)$/,
      /^Stopped$/,
    ];
    let at = 0;
    for (const re of order) {
      const i = find(ls, re, at);
      expect(i, `${re} after line ${at} of:\n${ls.join('\n')}`).toBeGreaterThanOrEqual(0);
      at = i + 1;
    }
    expect(ls.at(-1)).toBe('Stopped');
    // the familiar lines, as operators grep for them
    expect(ls).toContain('(VI_1) Entering MASTER STATE');
    expect(ls).toContain('state=master previous=backup');
    // the node is gone: its VRRP and director sockets are free
    expect(await udpFree(ip(131), 5112)).toBe(true);
    expect(await udpFree(ip(131), 5253)).toBe(true);
  });

  it('a SIGHUP that arrives while the node starts is not lost; SIGINT stops', async () => {
    const { file } = setup(140);
    const io = new MemoryIo();
    const signals = fakeSignals();
    let sent = false;
    // the first probe runs while the node starts (its first verdict decides the health tracker)
    const prober: Prober = async () => {
      if (!sent) {
        sent = true;
        signals.emit('SIGHUP');
      }
      return { ok: true, latencyMs: 0.1 };
    };
    let node: GatewayNode | undefined;
    const done = runCommand(file, io, {
      signals,
      node: { prober, management: false },
      onStarted: (n) => {
        node = n;
        running.push(n); // stopped after the test if it fails before SIGTERM
      },
    });
    await until('the node runs', () => node !== undefined);
    await until('the reload ran', () => io.out.includes('Reload finished'));
    const ls = lines(io);
    expect(find(ls, /^Reloading /)).toBeGreaterThan(find(ls, /^Starting proxyha/));
    signals.emit('SIGINT');
    await expect(done).resolves.toBe(0);
    const after = lines(io);
    expect(find(after, /^Stopping \(SIGINT\)$/)).toBeGreaterThan(find(after, /^Reload finished/));
    expect(after.at(-1)).toBe('Stopped');
  });

  it('an invalid file: GATEWAY_CONFIG_INVALID before anything starts', async () => {
    const { dir, write, file } = setup(150);
    write(stringify({ ...configDoc(150, dir), ha: { ...configDoc(150, dir).ha, priority: 0 } }));
    const io = new MemoryIo();
    const e = await runCommand(file, io, { signals: fakeSignals(), node: { prober: okProber } }).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).code).toBe('GATEWAY_CONFIG_INVALID');
    expect((e as GatewayError).message).toMatch(/ha\.priority/);
    expect(io.out).toBe('');
  });

  it('a part that cannot start: GATEWAY_START_FAILED, logged, the others stopped', async () => {
    const { file } = setup(160);
    const io = new MemoryIo();
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(8443, ip(161), r));
    try {
      const e = await runCommand(file, io, { signals: fakeSignals(), node: { prober: okProber } }).catch(
        (x: unknown) => x,
      );
      expect((e as GatewayError).code).toBe('GATEWAY_START_FAILED');
      expect((e as GatewayError).details).toEqual({ part: 'management API' });
      expect(io.out).toMatch(/cannot start the management API/);
      expect(await udpFree(ip(161), 5112)).toBe(true);
      expect(await udpFree(ip(161), 5253)).toBe(true);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});

// LbDaemon's hooks for a process that composes it (the gateway): a health monitor owned by the caller
// (used, never started or stopped), a function overriding the reported health (maintenance), and the data
// plane's counters. The reports are read off the wire: a fake transport decodes what the node sends to a
// director it heard.

import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, MemoryLogger } from '@proxyha/common';
import { HealthMonitor, type ProbeResult } from '@proxyha/health-mon';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryDataPlane } from '../src/dataplane/index';
import {
  createWire,
  LbDaemon,
  type LbDaemonOptions,
  type LbReceiveMeta,
  type LbTransport,
  type LoadReport,
  parseLbDaemonConfig,
  type ReportedHealth,
  reportedHealth,
} from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'lb-hooks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const INTERVAL = 1000;
const SELF = '192.0.2.11';
const DIRECTOR = '192.0.2.12';
const wire = createWire();

/** A transport that keeps what the node sends and lets the test deliver messages to it. */
class FakeTransport implements LbTransport {
  readonly family = 'ipv4' as const;
  readonly sent: { readonly bytes: Uint8Array; readonly to: string | undefined }[] = [];
  #deliver: ((bytes: Uint8Array, meta: LbReceiveMeta) => void) | undefined;

  async open(onMessage: (bytes: Uint8Array, meta: LbReceiveMeta) => void): Promise<void> {
    this.#deliver = onMessage;
  }
  async broadcast(bytes: Uint8Array): Promise<void> {
    this.sent.push({ bytes, to: undefined });
  }
  async send(bytes: Uint8Array, to: string): Promise<void> {
    this.sent.push({ bytes, to });
  }
  async close(): Promise<void> {
    this.#deliver = undefined;
  }
  deliver(bytes: Uint8Array, source: string): void {
    this.#deliver?.(bytes, { source, destination: '255.255.255.255' });
  }
  /** The health of every report sent to `to`, in order. */
  reportedHealth(to: string): ReportedHealth[] {
    return this.sent
      .filter((s) => s.to === to)
      .map((s) => wire.decode(s.bytes))
      .flatMap((d) => (d.ok && d.value.type === 'report' ? [(d.value as LoadReport).health] : []));
  }
}

const directorId = randomUUID();
let sequence = 0;
/** An announcement of a director of group 51 at {@link DIRECTOR}, stamped with the clock's wall time. */
function announcement(clock: ManualClock): Uint8Array {
  return wire.encode({
    type: 'announcement',
    group: 51,
    nodeId: directorId,
    address: DIRECTOR,
    sequence: ++sequence,
    timestamp: Math.floor(clock.wallTime()),
    intervalMs: INTERVAL,
    name: 'director',
    priority: 200,
    redirects: [{ originalPort: 9090, destinationPort: 9090 }],
  });
}

const ok: ProbeResult = { ok: true, latencyMs: 1 };
const refused: ProbeResult = { ok: false, reason: 'refused', detail: 'ECONNREFUSED', latencyMs: 1 };

/**
 * A monitor of ports 9090 and 3128 whose probes answer what `results` holds for the port (ok otherwise),
 * recording every probed port in `probed`.
 */
function fakeMonitor(
  clock: ManualClock,
  results: Map<number, ProbeResult>,
  probed: number[] = [],
): HealthMonitor {
  return new HealthMonitor({
    host: SELF,
    ports: [9090, 3128],
    intervalMs: INTERVAL,
    rise: 1,
    fall: 1,
    jitter: 0,
    clock,
    prober: async (target) => {
      probed.push(target.port);
      return results.get(target.port) ?? ok;
    },
  });
}

const daemons: LbDaemon[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop();
  for (const s of servers.splice(0)) if (s.listening) await new Promise((r) => s.close(r));
});

function scannerDaemon(
  clock: ManualClock,
  transport: FakeTransport,
  options: LbDaemonOptions,
  probe?: { host: string; port: number },
): LbDaemon {
  const dataDir = mkdtempSync(join(dir, 'node-'));
  const config = parseLbDaemonConfig({
    interface: 'eth0',
    managementIp: SELF,
    virtualIps: ['192.0.2.74/24'],
    // with `probe`, one redirect to that port (the daemon's own monitor probes it there)
    redirects: probe
      ? [{ originalPort: 9090, destinationPort: probe.port }]
      : [
          { originalPort: 9090, destinationPort: 9090 },
          { originalPort: 8080, destinationPort: 3128 },
        ],
    interval: INTERVAL,
    dataDir,
    role: 'scanner',
    health: { host: probe?.host ?? SELF, interval: INTERVAL, rise: 1, fall: 1 },
  });
  const daemon = new LbDaemon(config, {
    logger: new MemoryLogger(),
    clock,
    transport,
    dataPlane: new MemoryDataPlane(),
    statusSocket: false,
    resources: async (ports) => ({
      resources: { cpu: 0, memory: 0, load: 0 },
      connections: ports.map((port) => ({ port, active: 0 })),
    }),
    ...options,
  });
  daemons.push(daemon);
  return daemon;
}

/** One report interval with the director heard: the next report goes to it. */
async function nextReport(clock: ManualClock, transport: FakeTransport): Promise<void> {
  transport.deliver(announcement(clock), DIRECTOR);
  await clock.advanceAsync(INTERVAL);
}

/** A TCP server on 127.0.0.1 counting the connections it accepts (a port the health monitor probes). */
async function probeTarget(): Promise<{ server: Server; port: number; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((s) => {
    accepted++;
    s.destroy();
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, accepted: () => accepted };
}

describe('LbDaemon hooks', () => {
  it("reports what the caller's health monitor says, without starting or stopping it", async () => {
    const clock = new ManualClock();
    const transport = new FakeTransport();
    const results = new Map<number, ProbeResult>();
    const monitor = fakeMonitor(clock, results);
    const daemon = scannerDaemon(clock, transport, { healthMonitor: monitor });
    await daemon.start();
    expect(monitor.running).toBe(false); // the daemon did not start it

    await nextReport(clock, transport); // unknown: every port counts as failing
    await monitor.runCycle();
    expect(monitor.state.status).toBe('ok');
    await nextReport(clock, transport);
    results.set(3128, refused);
    await monitor.runCycle();
    await nextReport(clock, transport);
    results.set(3128, ok);
    await monitor.runCycle();
    await nextReport(clock, transport);

    expect(transport.reportedHealth(DIRECTOR)).toEqual([
      { status: 'failure', failingPorts: [9090, 3128] },
      { status: 'ok', failingPorts: [] },
      { status: 'failure', failingPorts: [3128] },
      { status: 'ok', failingPorts: [] },
    ]);
    expect(daemon.status()?.nodes[0]?.health).toBe('ok');
  });

  it("leaves a running caller's monitor running after stop", async () => {
    const clock = new ManualClock();
    const transport = new FakeTransport();
    const probed: number[] = [];
    const monitor = fakeMonitor(clock, new Map(), probed);
    monitor.start();
    const daemon = scannerDaemon(clock, transport, { healthMonitor: monitor });
    await daemon.start();
    await nextReport(clock, transport);
    await daemon.stop();
    expect(monitor.running).toBe(true);
    // it still probes on its own schedule
    const before = probed.length;
    await clock.advanceAsync(2 * INTERVAL);
    expect(probed.length).toBeGreaterThan(before);
    await monitor.stop();
    expect(transport.reportedHealth(DIRECTOR)).toEqual([{ status: 'ok', failingPorts: [] }]);
  });

  it('reports what the health override says (maintenance) while the monitor says ok', async () => {
    const clock = new ManualClock();
    const transport = new FakeTransport();
    const monitor = fakeMonitor(clock, new Map());
    let maintenance = false;
    const daemon = scannerDaemon(clock, transport, {
      healthMonitor: monitor,
      health: () => (maintenance ? { status: 'failure', failingPorts: [] } : reportedHealth(monitor.state)),
    });
    await monitor.runCycle();
    await daemon.start();
    await nextReport(clock, transport);
    maintenance = true;
    await nextReport(clock, transport);
    maintenance = false;
    await nextReport(clock, transport);
    expect(monitor.state.status).toBe('ok');
    expect(transport.reportedHealth(DIRECTOR)).toEqual([
      { status: 'ok', failingPorts: [] },
      { status: 'failure', failingPorts: [] },
      { status: 'ok', failingPorts: [] },
    ]);
  });

  it('without hooks probes the destination ports with a monitor of its own, and stops it', async () => {
    const target = await probeTarget();
    const clock = new ManualClock();
    const transport = new FakeTransport();
    const daemon = scannerDaemon(clock, transport, {}, { host: '127.0.0.1', port: target.port });
    await daemon.start();
    // the first probe cycle starts at once: the destination port is probed, found open, reported ok
    for (let i = 0; i < 1000 && target.accepted() === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(target.accepted()).toBeGreaterThan(0);
    await nextReport(clock, transport);
    expect(transport.reportedHealth(DIRECTOR)).toEqual([{ status: 'ok', failingPorts: [] }]);
    await daemon.stop();
    expect(clock.pending).toBe(0); // its monitor's next cycle was cancelled with the node's timers
  });

  it('with a health override and no monitor, creates none (nothing probes the ports)', async () => {
    const target = await probeTarget();
    const clock = new ManualClock();
    const transport = new FakeTransport();
    const daemon = scannerDaemon(
      clock,
      transport,
      { health: () => ({ status: 'ok', failingPorts: [] }) },
      { host: '127.0.0.1', port: target.port },
    );
    await daemon.start();
    await nextReport(clock, transport);
    await nextReport(clock, transport);
    // a monitor would have probed at start and at each interval; give a connect the time to land
    await new Promise((r) => setTimeout(r, 50));
    expect(target.accepted()).toBe(0);
    expect(transport.reportedHealth(DIRECTOR)).toEqual([
      { status: 'ok', failingPorts: [] },
      { status: 'ok', failingPorts: [] },
    ]);
  });

  it("returns the data plane's counters once started", async () => {
    const clock = new ManualClock();
    const plane = new MemoryDataPlane();
    const dataDir = mkdtempSync(join(dir, 'director-'));
    const daemon = new LbDaemon(
      parseLbDaemonConfig({
        interface: 'eth0',
        managementIp: SELF,
        virtualIps: ['192.0.2.74/24'],
        redirects: [{ originalPort: 9090, destinationPort: 9090 }],
        interval: INTERVAL,
        dataDir,
        role: 'director',
      }),
      {
        clock,
        transport: new FakeTransport(),
        dataPlane: plane,
        statusSocket: false,
        health: () => ({ status: 'ok', failingPorts: [] }),
        resources: async (ports) => ({
          resources: { cpu: 0, memory: 0, load: 0 },
          connections: ports.map((port) => ({ port, active: 0 })),
        }),
      },
    );
    daemons.push(daemon);
    expect(daemon.dataPlaneStats()).toBeUndefined();
    await daemon.start();
    for (let i = 0; i < 10 && plane.table === undefined; i++) await clock.advanceAsync(INTERVAL);
    expect(plane.table).toBeDefined();
    const self = daemon.status()?.self.id as string;
    expect(plane.connect('198.51.100.7')).toBe(self);
    expect(plane.connect('198.51.100.8')).toBe(self);
    plane.disconnect(self);
    expect(daemon.dataPlaneStats()).toEqual({
      activeByNode: new Map([[self, 1]]),
      accepted: 2,
      failed: 0,
    });
    // the memory twin does not count bytes, as the kernel planes do not
    expect(daemon.dataPlaneStats()?.bytesByNode).toBeUndefined();
    await daemon.stop();
    expect(daemon.dataPlaneStats()).toMatchObject({ accepted: 2 });
  });
});

// The driver over real sockets on 127.0.0.1 (ephemeral ports, no root).
import { afterEach, describe, expect, it } from 'vitest';
import { type HealthChange, HealthMonitor } from '../src/index';
import { closedPort, eventually, openResources, startServer, type TestServer } from './helpers';

const servers: TestServer[] = [];
const monitors: HealthMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(behaviour: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const s = await startServer(behaviour);
  servers.push(s);
  return s;
}

describe('monitor over real sockets', () => {
  it('a closed listener turns the node to failure after `fall` probes, a reopened one to ok after `rise`', async () => {
    const proxy = await server('accept');
    const ftp = await server('accept');
    const mon = new HealthMonitor({ ports: [proxy.port, ftp.port], rise: 2, fall: 3, timeoutMs: 500 });
    const lines: string[] = [];
    mon.on('change', (c) => lines.push(c.line));

    await mon.runCycle();
    expect(mon.state.status).toBe('ok');

    await ftp.close();
    for (let i = 1; i <= 3; i++) {
      await mon.runCycle();
      expect(mon.state.status).toBe(i < 3 ? 'ok' : 'failure');
    }
    const failureLine = `current state: failure (port ${ftp.port}: connection refused)`;
    expect(mon.line).toBe(failureLine);
    // The port that still listens does not keep the node in service.
    expect(mon.state.ports.find((p) => p.port === proxy.port)?.status).toBe('ok');

    await ftp.reopen();
    for (let i = 1; i <= 2; i++) {
      await mon.runCycle();
      expect(mon.state.status).toBe(i < 2 ? 'failure' : 'ok');
    }
    expect(lines).toEqual(['current state: ok', failureLine, 'current state: ok']);
  });

  it('a port that accepts but never answers the HTTP probe times out', async () => {
    const silent = await server('silent');
    const mon = new HealthMonitor({
      ports: [{ port: silent.port, probe: 'http' }],
      rise: 1,
      fall: 1,
      timeoutMs: 100,
    });
    await mon.runCycle();
    expect(silent.accepted()).toBe(1);
    expect(mon.line).toBe(`current state: failure (port ${silent.port}: timeout)`);
    expect(mon.state.failing[0]?.detail).toBe('no HTTP status line within 100 ms');
  });

  it('runs on its own schedule with real timers and reports changes', async () => {
    const s = await server('http');
    const mon = new HealthMonitor({
      ports: [{ port: s.port, probe: 'http' }],
      intervalMs: 20,
      timeoutMs: 200,
      rise: 2,
      fall: 2,
    });
    monitors.push(mon);
    const changes: HealthChange[] = [];
    mon.on('change', (c) => changes.push(c));
    mon.start();
    await eventually(() => changes.length >= 1);
    expect(changes[0]?.line).toBe('current state: ok');
    await s.close();
    await eventually(() => changes.length >= 2);
    expect(changes[1]?.line).toBe(`current state: failure (port ${s.port}: connection refused)`);
    const before = s.accepted();
    await mon.stop();
    await new Promise((r) => setTimeout(r, 60));
    expect(s.accepted()).toBe(before);
  });

  it('1 000 probe cycles leave no socket and no file descriptor behind', async () => {
    const fast = [
      await server('accept'),
      await server('http'),
      await server('garbage'),
      await server('reset'),
    ];
    const silent = await server('silent');
    const refused = await closedPort();
    const baseline = openResources();

    const mon = new HealthMonitor({
      ports: [
        fast[0]!.port,
        { port: fast[1]!.port, probe: 'http' },
        { port: fast[2]!.port, probe: 'http' },
        { port: fast[3]!.port, probe: 'http' },
        refused,
      ],
      timeoutMs: 1000,
      concurrency: 3,
    });
    let probes = 0;
    mon.on('probe', () => probes++);
    for (let i = 0; i < 1000; i++) await mon.runCycle();
    expect(probes).toBe(5000);
    expect(fast[0]!.accepted()).toBe(1000);

    // And timeouts: 100 cycles against a listener that never answers.
    const slow = new HealthMonitor({ ports: [{ port: silent.port, probe: 'http' }], timeoutMs: 5 });
    for (let i = 0; i < 100; i++) await slow.runCycle();
    expect(slow.state.failing[0]?.reason).toBe('timeout');
    expect(silent.accepted()).toBe(100);

    await eventually(() => {
      const now = openResources();
      return now.tcpSockets === baseline.tcpSockets && now.fds === baseline.fds;
    });
    expect(openResources()).toEqual(baseline);
    expect(mon.line).toBe(
      `current state: failure (port ${fast[2]!.port}: bad response, port ${fast[3]!.port}: connection reset, port ${refused}: connection refused)`,
    );
  });
});

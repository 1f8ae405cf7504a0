// proxyha-mon in-process: `main` with a buffer io, against loopback listeners (-c) or on a ManualClock with
// a fake prober (continuous mode); errors it throws are reported as @proxyha/common/cli's runCli does.
// One test runs the bin itself from its sources (no dist/ needed).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@proxyha/common';
import { type CliIo, describeCliError } from '@proxyha/common/cli';
import { sourceNodeArgs } from '@proxyha/testlab';
import { afterEach, describe, expect, it } from 'vitest';
import { type MainOptions, main } from '../src/cli/main';
import type { ProbeResult, Prober } from '../src/index';
import { closedPort, eventually, startServer, type TestServer } from './helpers';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const servers: TestServer[] = [];
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function bufferIo(): { io: CliIo; stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  return {
    io: {
      stdout: {
        write: (text: string) => {
          stdout += text;
          return true;
        },
      },
      stderr: {
        write: (text: string) => {
          stderr += text;
          return true;
        },
      },
    },
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

/** Runs `main` as runCli would: a thrown error becomes `proxyha-mon: message` on stderr and its exit code. */
async function runMain(
  args: string[],
  options: MainOptions = {},
  buffers = bufferIo(),
): Promise<Run & { buffers: ReturnType<typeof bufferIo> }> {
  let code: number;
  try {
    code = await main(args, buffers.io, options);
  } catch (error) {
    const described = describeCliError('proxyha-mon', error);
    if (described.line) buffers.io.stderr.write(`${described.line}\n`);
    code = described.exitCode;
  }
  return { code, stdout: buffers.stdout(), stderr: buffers.stderr(), buffers };
}

const cli = async (args: string[], options?: MainOptions): Promise<Run> => {
  const { code, stdout, stderr } = await runMain(args, options);
  return { code, stdout, stderr };
};

async function listener(): Promise<TestServer> {
  const s = await startServer('accept');
  servers.push(s);
  return s;
}

async function file(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'health-mon-cli-'));
  dirs.push(dir);
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('proxyha-mon -c', () => {
  it('exits 0 and prints `current state: ok` when every port listens', async () => {
    const a = await listener();
    const b = await listener();
    const r = await cli(['-c', '--port', String(a.port), '--port', String(b.port)]);
    expect(r).toEqual({ code: 0, stdout: 'current state: ok\n', stderr: '' });
  });

  it('exits 1 and names the failing port and reason when one port does not listen', async () => {
    const a = await listener();
    const down = await closedPort();
    const r = await cli(['-c', '--host', '127.0.0.1', '--port', String(a.port), '--port', String(down)]);
    expect(r).toEqual({
      code: 1,
      stdout: `current state: failure (port ${down}: connection refused)\n`,
      stderr: '',
    });
  });

  it('-v lists every port with its result and latency', async () => {
    const a = await listener();
    const down = await closedPort();
    const r = await cli(['-c', '-v', '--port', String(a.port), '--port', String(down)]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^port ${a.port} \\(tcp\\): ok, \\d+(\\.\\d+)? ms$`));
    expect(lines[1]).toMatch(
      new RegExp(`^port ${down} \\(tcp\\): connection refused \\(ECONNREFUSED\\), \\d+(\\.\\d+)? ms$`),
    );
    expect(lines[2]).toBe(`current state: failure (port ${down}: connection refused)`);
  });

  it('--json prints one JSON document, stamped with the wall clock', async () => {
    const a = await listener();
    const down = await closedPort();
    const clock = new ManualClock({ wallAtStart: Date.UTC(2026, 2, 4, 5, 6, 7) });
    const r = await cli(['-c', '--json', '--port', String(a.port), '--http-port', String(down)], { clock });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      status: 'failure',
      host: '127.0.0.1',
      line: `current state: failure (port ${down}: connection refused)`,
      checkedAt: '2026-03-04T05:06:07.000Z',
      ports: [
        { port: a.port, probe: 'tcp', ok: true },
        { port: down, probe: 'http', ok: false, reason: 'refused', reasonText: 'connection refused' },
      ],
    });
    expect(typeof doc.ports[0].latencyMs).toBe('number');
    expect(r.stdout.endsWith('}\n')).toBe(true);
  });

  it('reads a YAML configuration file', async () => {
    const a = await listener();
    const down = await closedPort();
    const config = await file(
      'mon.yaml',
      `host: 127.0.0.1\ntimeout: 500ms\nports:\n  - ${a.port}\n  - port: ${down}\n`,
    );
    const r = await cli(['-c', '--config', config]);
    expect(r).toEqual({
      code: 1,
      stdout: `current state: failure (port ${down}: connection refused)\n`,
      stderr: '',
    });
  });

  it('flags override the file; the prober is what main is given', async () => {
    const config = await file('mon.yaml', 'ports: [1, 2]\nhost: 10.0.0.1\n');
    const seen: string[] = [];
    const prober: Prober = async (t) => {
      seen.push(`${t.host}:${t.port}/${t.timeoutMs}`);
      return { ok: true, latencyMs: 1 };
    };
    const r = await cli(['-c', '--config', config, '--host', '::1', '--timeout', '2s'], { prober });
    expect(r.code).toBe(0);
    expect(seen).toEqual(['::1:1/2000', '::1:2/2000']);
  });
});

describe('proxyha-mon bad arguments exit 2 and say what is wrong', () => {
  it.each([
    [['-c', '--port', 'abc'], /option '-p, --port <port>' argument 'abc' is invalid\. not a port number/],
    [['-c', '--port', '70000'], /not a port number \(1-65535\)/],
    [['-c'], /^proxyha-mon: no ports: give --port P/],
    [['-c', '--port', '1', '--bogus'], /unknown option '--bogus'/],
    [['-c', '--port', '1', '--fall', '0'], /option '--fall <n>' argument '0' is invalid/],
    [['-c', '--port', '1', '--timeout', 'soon'], /not a duration: "soon"/],
    [['-c', '--port', '1', '--interval', '0'], /must be at least 1ms \(got 0s\)/],
    [['-c', '--port', '1', '--port', '1'], /ports\[1\]: port 1 is listed twice/],
    [['-c', '--port', '1', '--http-url', 'http://x/'], /--http-url and --http-method apply to --http-port/],
    [['-c', '--port', '1', '--config', 'x.yaml'], /--port\/--http-port and --config are mutually exclusive/],
    [['-c', '--config', '/nonexistent/mon.yaml'], /\/nonexistent\/mon\.yaml: cannot read: ENOENT/],
  ])('%j', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  it('a bad configuration file: names the file, each path and the problem', async () => {
    const config = await file('bad.yaml', 'ports:\n  - 9090\n  - port: 70000\nrise: 0\ninterval: soon\n');
    const r = await cli(['-c', '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `proxyha-mon: ${config}: invalid configuration:\n` +
        '  ports[1].port: must be <= 65535 (got 70000)\n' +
        '  rise: must be >= 1 (got 0)\n' +
        '  interval: not a duration: "soon" (use e.g. 500ms, 2s, 1m30s)\n',
    );
  });

  it('--help and --version exit 0 on stdout', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: proxyha-mon -c [-v] [--json] [--host H] --port P');
    const version = await cli(['--version']);
    expect(version).toEqual({ code: 0, stdout: '0.0.0\n', stderr: '' });
  });
});

/** A prober that answers at once: refused for the ports in `down`, ok otherwise. */
function fakeProber(down: Set<number>): { prober: Prober; probes: () => number } {
  let probes = 0;
  const prober: Prober = async (t): Promise<ProbeResult> => {
    probes++;
    return down.has(t.port)
      ? { ok: false, reason: 'refused', detail: 'ECONNREFUSED', latencyMs: 0.1 }
      : { ok: true, latencyMs: 0.1 };
  };
  return { prober, probes: () => probes };
}

describe('proxyha-mon continuous', () => {
  it('prints one line per change until stopped, then exits 0', async () => {
    const clock = new ManualClock();
    const down = new Set<number>();
    const fake = fakeProber(down);
    const stop = new AbortController();
    const buffers = bufferIo();
    const args = ['--port', '9090', '--port', '2121', '--interval', '50ms', '--fall', '2', '--rise', '2'];
    const running = runMain(
      args,
      { clock, prober: fake.prober, random: () => 0.5, stop: stop.signal },
      buffers,
    );
    await clock.until(() => buffers.stdout().includes('current state: ok'), 1000);
    down.add(2121);
    const failure = 'current state: failure (port 2121: connection refused)';
    await clock.until(() => buffers.stdout().includes(failure), 1000);
    down.delete(2121);
    await clock.until(() => buffers.stdout().split('\n').length >= 4, 1000);
    // Several more cycles without any change print nothing more.
    const probes = fake.probes();
    await clock.advanceAsync(500);
    expect(fake.probes()).toBeGreaterThanOrEqual(probes + 2 * 9);
    stop.abort('SIGTERM');
    const r = await running;
    expect(r).toMatchObject({
      code: 0,
      stdout: `current state: ok\n${failure}\ncurrent state: ok\n`,
      stderr: '',
    });
    expect(clock.pending).toBe(0);
  });

  it('--json -v prints port and state changes as JSON lines and notes start and stop on stderr', async () => {
    const clock = new ManualClock({ wallAtStart: Date.UTC(2026, 0, 1) });
    const fake = fakeProber(new Set([2121]));
    const stop = new AbortController();
    const buffers = bufferIo();
    const args = ['--json', '-v', '--port', '2121', '--interval', '50ms'];
    const running = runMain(args, { clock, prober: fake.prober, stop: stop.signal }, buffers);
    await clock.until(() => buffers.stdout().split('\n').length >= 3, 1000);
    stop.abort('SIGINT');
    const r = await running;
    expect(r.code).toBe(0);
    const events = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events).toEqual([
      {
        event: 'port',
        at: '2026-01-01T00:00:00.000Z',
        port: 2121,
        from: 'unknown',
        to: 'failure',
        reason: 'refused',
        detail: 'ECONNREFUSED',
      },
      {
        event: 'state',
        at: '2026-01-01T00:00:00.000Z',
        status: 'failure',
        since: '2026-01-01T00:00:00.000Z',
        line: 'current state: failure (port 2121: connection refused)',
        failing: [
          {
            port: 2121,
            reason: 'refused',
            reasonText: 'connection refused',
            detail: 'ECONNREFUSED',
            since: '2026-01-01T00:00:00.000Z',
          },
        ],
      },
    ]);
    expect(r.stderr).toBe(
      'proxyha-mon: monitoring 127.0.0.1 ports 2121/tcp every 50 ms (timeout 1000 ms, rise 2, fall 3)\n' +
        'proxyha-mon: stopped (SIGINT)\n',
    );
  });

  it('-v prints port transitions as text lines', async () => {
    const clock = new ManualClock();
    const down = new Set([2121]);
    const fake = fakeProber(down);
    const stop = new AbortController();
    const buffers = bufferIo();
    const args = ['-v', '--port', '2121', '--interval', '50ms', '--rise', '1'];
    const running = runMain(args, { clock, prober: fake.prober, stop: stop.signal }, buffers);
    await clock.until(() => buffers.stdout().includes('current state: failure'), 1000);
    down.clear();
    await clock.until(() => buffers.stdout().includes('current state: ok'), 1000);
    stop.abort('SIGTERM');
    const r = await running;
    expect(r.stdout).toBe(
      'port 2121: unknown -> failure (connection refused: ECONNREFUSED)\n' +
        'current state: failure (port 2121: connection refused)\n' +
        'port 2121: failure -> ok\n' +
        'current state: ok\n',
    );
  });
});

describe('the proxyha-mon bin, run from its sources', () => {
  it('checks once, and monitors until SIGTERM, then exits 0', async () => {
    const bin = join(import.meta.dirname, '..', 'src', 'cli.ts');
    const run = (args: string[]) => {
      const child = spawn(process.execPath, [...sourceNodeArgs(bin), ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
      });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      return { child, done, stdout: () => stdout };
    };
    const a = await listener();
    const down = await closedPort();
    expect(await run(['-c', '--port', String(a.port), '--port', String(down)]).done).toEqual({
      code: 1,
      stdout: `current state: failure (port ${down}: connection refused)\n`,
      stderr: '',
    });
    expect(await run(['-c']).done).toMatchObject({ code: 2, stderr: expect.stringMatching(/no ports/) });
    const watching = run(['--port', String(a.port), '--interval', '50ms']);
    await eventually(() => watching.stdout().includes('current state: ok'), 15_000);
    watching.child.kill('SIGTERM');
    expect(await watching.done).toEqual({ code: 0, stdout: 'current state: ok\n', stderr: '' });
  });
});

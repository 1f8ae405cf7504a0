// The built CLI (run `pnpm --filter @proxyha/health-mon build` first), against loopback listeners.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, eventually, startServer, type TestServer } from './helpers';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children: ChildProcess[] = [];
const servers: TestServer[] = [];
const dirs: string[] = [];

beforeAll(() => {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: run pnpm --filter @proxyha/health-mon build first`);
});

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function start(args: string[]): { child: ChildProcess; done: Promise<Run>; stdout: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<Run>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, stdout: () => stdout };
}

const cli = (args: string[]) => start(args).done;

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
    expect(r).toMatchObject({ code: 0, stdout: 'current state: ok\n', stderr: '' });
  });

  it('exits 1 and names the failing port and reason when one port does not listen', async () => {
    const a = await listener();
    const down = await closedPort();
    const r = await cli(['-c', '--host', '127.0.0.1', '--port', String(a.port), '--port', String(down)]);
    expect(r).toMatchObject({
      code: 1,
      stdout: `current state: failure (port ${down}: connection refused)\n`,
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

  it('--json prints one JSON document', async () => {
    const a = await listener();
    const down = await closedPort();
    const r = await cli(['-c', '--json', '--port', String(a.port), '--http-port', String(down)]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      status: 'failure',
      host: '127.0.0.1',
      line: `current state: failure (port ${down}: connection refused)`,
      ports: [
        { port: a.port, probe: 'tcp', ok: true },
        { port: down, probe: 'http', ok: false, reason: 'refused', reasonText: 'connection refused' },
      ],
    });
    expect(typeof doc.ports[0].latencyMs).toBe('number');
    expect(new Date(doc.checkedAt).getTime()).not.toBeNaN();
  });

  it('reads a YAML configuration file', async () => {
    const a = await listener();
    const down = await closedPort();
    const config = await file(
      'mon.yaml',
      `host: 127.0.0.1\ntimeout: 500ms\nports:\n  - ${a.port}\n  - port: ${down}\n`,
    );
    const r = await cli(['-c', '--config', config]);
    expect(r).toMatchObject({
      code: 1,
      stdout: `current state: failure (port ${down}: connection refused)\n`,
    });
  });
});

describe('proxyha-mon bad arguments exit 2 and say what is wrong', () => {
  it.each([
    [['-c', '--port', 'abc'], /option '-p, --port <port>' argument 'abc' is invalid\. not a port number/],
    [['-c', '--port', '70000'], /not a port number \(1-65535\)/],
    [['-c'], /no ports: give --port P/],
    [['-c', '--port', '1', '--bogus'], /unknown option '--bogus'/],
    [['-c', '--port', '1', '--fall', '0'], /option '--fall <n>' argument '0' is invalid/],
    [['-c', '--port', '1', '--timeout', 'soon'], /not a duration/],
    [['-c', '--port', '1', '--port', '1'], /ports\.1: port 1 is listed twice/],
    [['-c', '--port', '1', '--http-url', 'http://x/'], /--http-url and --http-method apply to --http-port/],
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
    expect(r.stderr).toContain(`${config}: invalid configuration:`);
    expect(r.stderr).toContain('ports.1.port: must be <= 65535 (got 70000)');
    expect(r.stderr).toContain('rise: must be >= 1 (got 0)');
    expect(r.stderr).toContain('interval: must be a positive duration such as 500ms, 2s or 1m (got "soon")');
  });

  it('--help exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: proxyha-mon -c [-v] [--json] [--host H] --port P');
  });
});

describe('proxyha-mon continuous', () => {
  it('logs one line per change until SIGTERM, then exits 0', async () => {
    const a = await listener();
    const b = await listener();
    const run = start([
      '--port',
      String(a.port),
      '--port',
      String(b.port),
      '--interval',
      '50ms',
      '--fall',
      '2',
      '--rise',
      '2',
    ]);
    await eventually(() => run.stdout().includes('current state: ok'), 5000);
    await b.close();
    const failure = `current state: failure (port ${b.port}: connection refused)`;
    await eventually(() => run.stdout().includes(failure), 5000);
    await b.reopen();
    await eventually(() => run.stdout().split('\n').length >= 4, 5000);
    // Several more cycles without any change print nothing more.
    await new Promise((r) => setTimeout(r, 300));
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`current state: ok\n${failure}\ncurrent state: ok\n`);
  });

  it('--json -v logs port and state changes as JSON lines; SIGINT stops it', async () => {
    const down = await closedPort();
    const run = start(['--json', '-v', '--port', String(down), '--interval', '50ms']);
    await eventually(() => run.stdout().split('\n').length >= 3, 5000);
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(0);
    const events = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events).toEqual([
      expect.objectContaining({
        event: 'port',
        port: down,
        from: 'unknown',
        to: 'failure',
        reason: 'refused',
      }),
      expect.objectContaining({
        event: 'state',
        status: 'failure',
        line: `current state: failure (port ${down}: connection refused)`,
      }),
    ]);
    expect(r.stderr).toContain('proxyha-mon: stopped (SIGINT)');
  });
});

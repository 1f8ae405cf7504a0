// `proxyha mon -c [-v] [--json]` on real sockets: the configuration's redirect destination ports on the
// management address (127.0.0.1, a listening port and a closed one), printed and exited exactly as
// `proxyha-mon -c [-v] [--json]` does for the same ports.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { CliRun } from '@proxyha/common/cli';
import { sourceNodeArgs } from '@proxyha/testlab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { proxyha, scratch, stopAll } from './cli-harness';
import { appDir, example, set } from './helpers';

/** The real `proxyha-mon` process, from its sources. */
function proxyhaMon(...args: string[]): Promise<CliRun> {
  const bin = join(appDir, '..', '..', 'packages', 'health-mon', 'src', 'cli.ts');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...sourceNodeArgs(bin), ...args],
      { timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let listening: Server;
let open: number;
let closed: number;

async function listen(): Promise<Server> {
  const s = createServer((c) => c.destroy());
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s;
}

beforeAll(async () => {
  listening = await listen();
  open = (listening.address() as { port: number }).port;
  // a port that was free a moment ago and is closed now: connecting is refused
  const gone = await listen();
  closed = (gone.address() as { port: number }).port;
  await new Promise((r) => gone.close(r));
});
afterAll(async () => {
  await new Promise((r) => listening.close(r));
  await stopAll();
});

/** A gateway configuration whose redirects go to `ports` on 127.0.0.1 (loopback transport). */
function config(ports: number[]): string {
  const doc = example();
  for (const section of ['cm', 'policy', 'ntp']) set(doc, section, undefined);
  set(doc, 'node.dataDir', '/var/lib/proxyha-test');
  set(doc, 'ha', {
    ...doc.ha,
    interface: 'lo',
    managementIp: '127.0.0.1',
    virtualIps: ['127.0.0.74/32'],
    transport: 'loopback',
    peers: ['127.0.0.2'],
    dataPlane: 'relay',
    redirects: ports.map((p, i) => ({ originalPort: 9090 + i, destinationPort: p })),
  });
  set(doc, 'health', { interval: '1s', timeout: '1s', fall: 3, rise: 2 });
  const file = join(scratch(), 'proxyha.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}

/** Latencies and check times differ between two runs: blank them. */
const steady = (text: string) =>
  text
    .replace(/, [\d.]+ ms$/gm, ', N ms')
    .replace(/"latencyMs": [\d.]+/g, '"latencyMs": N')
    .replace(/"checkedAt": "[^"]+"/g, '"checkedAt": T');

describe('proxyha mon -c', () => {
  it('all ports answer: current state: ok, exit 0, as proxyha-mon -c', async () => {
    const file = config([open]);
    const mine = await proxyha('mon', '-c', '-f', file);
    expect(mine).toEqual({ code: 0, stdout: 'current state: ok\n', stderr: '' });
    const theirs = await proxyhaMon('-c', '--host', '127.0.0.1', '--port', String(open));
    expect(mine).toEqual(theirs);
  });

  it('one port refused: current state: failure naming it, exit 1, as proxyha-mon -c', async () => {
    const file = config([open, closed]);
    const mine = await proxyha('mon', '-c', '--config', file);
    expect(mine).toEqual({
      code: 1,
      stdout: `current state: failure (port ${closed}: connection refused)\n`,
      stderr: '',
    });
    const theirs = await proxyhaMon(
      '-c',
      '--host',
      '127.0.0.1',
      '--port',
      String(open),
      '--port',
      String(closed),
    );
    expect(mine).toEqual(theirs);
  });

  it('-v lists every port with its result first; --json is the same document', async () => {
    const file = config([open, closed]);
    const args = ['--host', '127.0.0.1', '--port', String(open), '--port', String(closed)];
    const mine = await proxyha('mon', '-c', '-v', '-f', file);
    const theirs = await proxyhaMon('-c', '-v', ...args);
    expect(mine.code).toBe(1);
    expect(steady(mine.stdout)).toBe(
      `port ${open} (tcp): ok, N ms\nport ${closed} (tcp): connection refused (ECONNREFUSED), N ms\n` +
        `current state: failure (port ${closed}: connection refused)\n`,
    );
    expect(steady(mine.stdout)).toBe(steady(theirs.stdout));
    expect(theirs.code).toBe(1);

    const json = await proxyha('mon', '-c', '--json', '-f', file);
    const theirJson = await proxyhaMon('-c', '--json', ...args);
    expect(json.code).toBe(1);
    expect(steady(json.stdout)).toBe(steady(theirJson.stdout));
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'failure', host: '127.0.0.1' });
  });

  it('-c is check here: without it, or with a file after it, a usage error (exit 2)', async () => {
    const file = config([open]);
    const none = await proxyha('mon', '-f', file);
    expect(none).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'proxyha: mon needs -c (check once); the running node monitors continuously: see proxyha status\n',
    });
    const mistaken = await proxyha('mon', '-c', file);
    expect(mistaken.code).toBe(2);
    expect(mistaken.stderr).toContain('too many arguments');
    const help = await proxyha('mon', '--help');
    expect(help.stdout).toContain('Careful: -c here');
    expect(help.stdout).toContain('-f, --config <file>');
  });

  it('an invalid configuration: exit 2 with the path', async () => {
    const file = join(scratch(), 'bad.yaml');
    writeFileSync(file, 'ha: { interface: eth0 }\n');
    const run = await proxyha('mon', '-c', '-f', file);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^proxyha: ${file}: invalid configuration:\n`));
    expect(run.stderr).toContain('\n  ha.managementIp: Invalid input: expected string, received undefined\n');
    expect(run.stdout).toBe('');
  });
});

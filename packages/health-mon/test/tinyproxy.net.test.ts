// The HTTP probe through a real proxy (tinyproxy on loopback, managed by @proxyha/testlab).
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { describeNet, withScope } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { HealthMonitor } from '../src/index';
import { closedPort } from './helpers';

async function origin(): Promise<{ server: Server; port: number; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('healthy\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { server, port: address.port, requests };
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'dist', 'cli.js'), ...args]);
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout })));
}

describeNet('HTTP probe through a real tinyproxy', () => {
  it('succeeds through the running proxy and fails once the proxy is stopped', async () => {
    const up = await origin();
    try {
      await withScope(async (scope) => {
        const port = await closedPort();
        const proxy = await scope.tinyproxy({ port, address: '127.0.0.1' });
        const url = `http://127.0.0.1:${up.port}/health`;
        const mon = new HealthMonitor({
          ports: [{ port, probe: 'http', http: { url, expectStatus: [200] } }],
          rise: 1,
          fall: 2,
          timeoutMs: 2000,
        });
        const lines: string[] = [];
        mon.on('change', (c) => lines.push(c.line));

        await mon.runCycle();
        expect(mon.state.ports[0]?.lastResult).toMatchObject({ ok: true, httpStatus: 200 });
        expect(mon.line).toBe('current state: ok');
        // The request really went through the proxy to the origin.
        expect(up.requests.map((r) => r.url)).toEqual(['/health']);
        expect(up.requests[0]?.headers['user-agent']).toBe('proxyha-mon');

        // The default probe (origin-form GET /) is answered by tinyproxy itself: any status line is fine.
        const plain = new HealthMonitor({ ports: [{ port, probe: 'http' }], rise: 1, fall: 1 });
        await plain.runCycle();
        expect(plain.state.ports[0]?.lastResult).toMatchObject({ ok: true, httpStatus: 400 });

        // A dead origin behind a live proxy: tinyproxy answers 500, which expectStatus rejects.
        const deadOrigin = await closedPort();
        const strict = new HealthMonitor({
          ports: [{ port, http: { url: `http://127.0.0.1:${deadOrigin}/`, expectStatus: [200] } }],
          rise: 1,
          fall: 1,
        });
        await strict.runCycle();
        expect(strict.state.failing[0]).toMatchObject({
          reason: 'bad-response',
          detail: 'status 500, expected 200',
        });

        const checkArgs = ['-c', '--http-port', String(port), '--http-url', url];
        expect(await cli(checkArgs)).toEqual({ code: 0, stdout: 'current state: ok\n' });

        await proxy.kill('SIGTERM');
        await mon.runCycle();
        expect(mon.state.status).toBe('ok'); // one failure, fall is 2
        await mon.runCycle();
        expect(mon.state.status).toBe('failure');
        expect(lines).toEqual([
          'current state: ok',
          `current state: failure (port ${port}: connection refused)`,
        ]);
        expect(await cli(checkArgs)).toEqual({
          code: 1,
          stdout: `current state: failure (port ${port}: connection refused)\n`,
        });
      });
    } finally {
      await new Promise((resolve) => up.server.close(resolve));
    }
  });
});

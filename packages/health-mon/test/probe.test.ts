import { afterEach, describe, expect, it } from 'vitest';
import { buildHttpRequest } from '../src/driver/probe';
import { type ProbeKind, probePort } from '../src/index';
import { type Behaviour, closedPort, startServer, type TestServer } from './helpers';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function probeBehaviour(behaviour: Behaviour, probe: ProbeKind, timeoutMs = 1000) {
  const s = await startServer(behaviour);
  servers.push(s);
  return probePort({ host: '127.0.0.1', port: s.port, probe, timeoutMs });
}

describe('TCP probe', () => {
  it('succeeds on a listening port', async () => {
    const r = await probeBehaviour('accept', 'tcp');
    expect(r).toEqual({ ok: true, latencyMs: expect.any(Number) });
  });

  it('reports refused on a closed port', async () => {
    const r = await probePort({ host: '127.0.0.1', port: await closedPort(), probe: 'tcp', timeoutMs: 1000 });
    expect(r).toMatchObject({ ok: false, reason: 'refused', detail: 'ECONNREFUSED' });
  });

  it('resolves at once with "aborted" when the signal is already aborted, and on abort in flight', async () => {
    const s = await startServer('silent');
    servers.push(s);
    const pre = AbortSignal.abort();
    expect(
      await probePort({ host: '127.0.0.1', port: s.port, probe: 'http', timeoutMs: 5000 }, pre),
    ).toMatchObject({ ok: false, detail: 'aborted' });
    const ac = new AbortController();
    const pending = probePort({ host: '127.0.0.1', port: s.port, probe: 'http', timeoutMs: 5000 }, ac.signal);
    await new Promise<void>((resolve) => s.server.once('connection', () => resolve()));
    ac.abort();
    // Resolved by the abort, not by the 5 s timeout: the reason says which.
    expect(await pending).toMatchObject({ ok: false, reason: 'error', detail: 'aborted' });
  });
});

describe('HTTP probe', () => {
  it('succeeds on a valid status line and reports the status', async () => {
    expect(await probeBehaviour('http', 'http')).toMatchObject({ ok: true, httpStatus: 204 });
  });

  it('times out on a port that accepts but never answers', async () => {
    const r = await probeBehaviour('silent', 'http', 150);
    expect(r).toMatchObject({ ok: false, reason: 'timeout', detail: 'no HTTP status line within 150 ms' });
  });

  it('rejects something that is not HTTP as a bad response', async () => {
    expect(await probeBehaviour('garbage', 'http')).toMatchObject({
      ok: false,
      reason: 'bad-response',
      detail: 'not HTTP: "SSH-2.0-OpenSSH_9.6\\r"',
    });
  });

  it('rejects a truncated status line as a bad response', async () => {
    expect(await probeBehaviour('partial', 'http')).toMatchObject({ ok: false, reason: 'bad-response' });
  });

  it('reports closed when the peer closes before answering', async () => {
    expect(await probeBehaviour('close', 'http')).toMatchObject({ ok: false, reason: 'closed' });
  });

  it('reports reset when the peer resets the connection', async () => {
    expect(await probeBehaviour('reset', 'http')).toMatchObject({
      ok: false,
      reason: 'reset',
      detail: 'ECONNRESET',
    });
  });

  it('judges the status against expectStatus', async () => {
    const s = await startServer('http');
    servers.push(s);
    const target = { host: '127.0.0.1', port: s.port, probe: 'http' as const, timeoutMs: 1000 };
    expect(await probePort({ ...target, http: { expectStatus: [200] } })).toMatchObject({
      ok: false,
      reason: 'bad-response',
      detail: 'status 204, expected 200',
    });
    expect(await probePort({ ...target, http: { expectStatus: [200, 204] } })).toMatchObject({ ok: true });
  });

  it('builds an origin-form request by default and an absolute-form one for a URL', () => {
    expect(buildHttpRequest({ host: '127.0.0.1', port: 9090 })).toBe(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1:9090\r\nUser-Agent: proxyha-mon\r\nAccept: */*\r\nConnection: close\r\n\r\n',
    );
    expect(buildHttpRequest({ host: '::1', port: 9090 })).toContain('Host: [::1]:9090\r\n');
    expect(
      buildHttpRequest({
        host: '127.0.0.1',
        port: 9090,
        http: { url: 'http://example.test:8080/x?y', method: 'HEAD' },
      }),
    ).toMatch(/^HEAD http:\/\/example\.test:8080\/x\?y HTTP\/1\.1\r\nHost: example\.test:8080\r\n/);
  });
});

// The management server over real sockets on 127.0.0.1: the page, the bearer token, every route, the
// error answers, the event stream (first event, changes, coalescing, keepalive, cleanup) and HTTPS.
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { CmError, createClusterCa, issueNodeCertificate } from '@proxyha/cm-coordinator';
import { ManualClock, MemoryLogger } from '@proxyha/common';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../src/errors';
import { NODES_CSV_COLUMNS, nodesCsv } from '../src/management/csv';
import { openStatusStream } from '../src/management/events';
import {
  type ManagementServer,
  type ManagementServerOptions,
  startManagementServer,
} from '../src/management/server';
import type { GatewayStatus } from '../src/node/types';
import { type FakeControl, fakeControl, sampleStatus } from './fake-control';
import { openEvents, request, type StreamItem } from './http-client';

const TOKEN = 'test-admin-token-0123456789abcdef';

const servers: ManagementServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(
  control: FakeControl = fakeControl(),
  more: Partial<ManagementServerOptions> = {},
): Promise<{ server: ManagementServer; control: FakeControl; url: string }> {
  const server = await startManagementServer({
    control,
    listen: { host: '127.0.0.1', port: 0 },
    token: TOKEN,
    ...more,
  });
  servers.push(server);
  return { server, control, url: server.url };
}

/** The `{ error }` body of an answer. */
function errorOf(answer: { json<T>(): T }): {
  code: string;
  message: string;
  details?: Record<string, unknown>;
} {
  return answer.json<{ error: { code: string; message: string; details?: Record<string, unknown> } }>().error;
}

/** A minimal RFC 4180 reader: rows of fields (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

function statusEvents(items: readonly StreamItem[]): GatewayStatus[] {
  return items.flatMap((i) => (i.kind === 'event' && i.event === 'status' ? [JSON.parse(i.data)] : []));
}

describe('the status page', () => {
  it('GET / is HTML without a token, with security headers', async () => {
    const { url, control } = await start();
    const page = await request(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toMatch(/<html/i);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/default-src '(self|none)'/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    // the page holds no data: nothing was read from the node
    expect(control.statusReads).toBe(0);
    const head = await request(`${url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });
});

describe('the bearer token', () => {
  const guarded: [string, string, unknown?][] = [
    ['GET', '/api/v1/status'],
    ['GET', '/api/v1/nodes.csv'],
    ['GET', '/api/v1/events'],
    ['GET', '/api/v1/policy'],
    ['PUT', '/api/v1/policy', { documents: [{ name: 'a.txt', content: 'x' }] }],
    ['POST', '/api/v1/admin/attach', { session: 's1' }],
    ['POST', '/api/v1/admin/detach', { session: 's1' }],
    ['POST', '/api/v1/maintenance', { on: true }],
    ['POST', '/api/v1/cm/nodes', { address: '10.0.0.9' }],
    ['GET', '/metrics'],
    ['GET', '/no/such/route'],
  ];

  it('every route but the page answers 401 GATEWAY_UNAUTHORIZED without it or with a wrong one, and does nothing', async () => {
    const { url, control } = await start();
    for (const [method, path, json] of guarded) {
      for (const auth of [
        {},
        { token: 'wrong' },
        { token: `${TOKEN}x` },
        { token: TOKEN.slice(0, -1) },
        { headers: { authorization: TOKEN } },
        { headers: { authorization: `Basic ${TOKEN}` } },
      ]) {
        const answer = await request(`${url}${path}`, {
          method,
          ...(json === undefined ? {} : { json }),
          ...auth,
        });
        expect(answer.status, `${method} ${path} ${JSON.stringify(auth)}`).toBe(401);
        expect(answer.headers['www-authenticate']).toMatch(/^Bearer/);
        expect(errorOf(answer).code).toBe('GATEWAY_UNAUTHORIZED');
      }
    }
    expect(control.calls).toEqual([]);
    expect(control.statusReads).toBe(0);
    expect(control.listenerCount()).toBe(0);
    expect(control.current.node.maintenance).toBe(false);
  });

  it('property: any token but the right one is refused, and no command runs', async () => {
    const { url, control } = await start();
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[\x21-\x7e]{1,64}$/), async (guess) => {
        fc.pre(guess !== TOKEN);
        const answer = await request(`${url}/api/v1/maintenance`, {
          method: 'POST',
          token: guess,
          json: { on: true },
        });
        expect(answer.status).toBe(401);
      }),
      { numRuns: 40 },
    );
    expect(control.calls).toEqual([]);
  });

  it('the scheme is case-insensitive; the token file’s final newline is ignored', async () => {
    const { url } = await start(fakeControl(), { token: `${TOKEN}\n` });
    const answer = await request(`${url}/api/v1/status`, { headers: { authorization: `bearer ${TOKEN}` } });
    expect(answer.status).toBe(200);
  });
});

describe('reading', () => {
  it('GET /api/v1/status is control.status(), not cached', async () => {
    const { url, control } = await start();
    const answer = await request(`${url}/api/v1/status`, { token: TOKEN });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.json()).toEqual(control.current);
    control.setStatus({ vrrp: { state: 'backup' } });
    expect((await request(`${url}/api/v1/status`, { token: TOKEN })).json<GatewayStatus>().vrrp.state).toBe(
      'backup',
    );
  });

  it('GET /api/v1/nodes.csv is the director’s nodes, one row each', async () => {
    const { url, control } = await start();
    const answer = await request(`${url}/api/v1/nodes.csv`, { token: TOKEN });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/csv/);
    const rows = parseCsv(answer.body);
    expect(rows[0]).toEqual([...NODES_CSV_COLUMNS]);
    expect(rows.slice(1)).toEqual(
      control.current.director.nodes.map((n) => [
        n.name,
        n.address,
        n.health,
        String(n.weight),
        n.effectiveWeight === undefined ? '' : String(n.effectiveWeight),
        String(n.share),
        String(n.activeConnections),
        String(n.lastReportAgeMs),
        String(n.self),
      ]),
    );
    expect(rows[3]?.slice(0, 3)).toEqual(['mwg3', '10.10.74.87', 'failure']);
  });

  it('property: CSV fields survive any node name (quotes, commas, line breaks); formulas are neutralised', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 20 }), { minLength: 1, maxLength: 5 }), (names) => {
        const s = sampleStatus();
        const base = s.director.nodes[0] as GatewayStatus['director']['nodes'][number];
        const status: GatewayStatus = {
          ...s,
          director: {
            ...s.director,
            nodes: names.map((name) => ({ ...base, name, effectiveWeight: undefined })),
          },
        };
        const rows = parseCsv(nodesCsv(status));
        expect(rows).toHaveLength(names.length + 1);
        rows.slice(1).forEach((row, i) => {
          const name = names[i] as string;
          expect(row).toHaveLength(NODES_CSV_COLUMNS.length);
          expect(row[0]).toBe(/^[=+\-@\t\r]/.test(name) ? `'${name}` : name);
          expect(row[4]).toBe('');
        });
      }),
    );
  });

  it('GET /api/v1/policy answers { policy }, null when none', async () => {
    const { url, control } = await start();
    const answer = await request(`${url}/api/v1/policy`, { token: TOKEN });
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual({ policy: control.policy() });
    control.setPolicy(null);
    expect((await request(`${url}/api/v1/policy`, { token: TOKEN })).json()).toEqual({ policy: null });
  });
});

describe('commands', () => {
  it('PUT /api/v1/policy saves the documents with comment and session', async () => {
    const { url, control } = await start();
    const documents = [
      { name: 'squid.conf', content: 'http_port 9090\n' },
      { name: 'lists/blocked.bin', content: 'AAEC', encoding: 'base64' },
    ];
    const answer = await request(`${url}/api/v1/policy`, {
      method: 'PUT',
      token: TOKEN,
      json: { documents, comment: 'block more', session: 'admin-1' },
    });
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual({ version: 'v-saved-1', storageTimestamp: expect.any(String) });
    expect(control.calls).toEqual([
      { method: 'savePolicy', args: [documents, { comment: 'block more', session: 'admin-1' }] },
    ]);
    const shown = (await request(`${url}/api/v1/policy`, { token: TOKEN })).json<{
      policy: { id: string };
    }>();
    expect(shown.policy.id).toBe('v-saved-1');
  });

  it('PUT /api/v1/policy takes a policy larger than the default body limit (up to 64 MiB)', async () => {
    const { url, control } = await start();
    const content = 'x'.repeat(3 * 1024 * 1024);
    const answer = await request(`${url}/api/v1/policy`, {
      method: 'PUT',
      token: TOKEN,
      json: { documents: [{ name: 'big.txt', content }] },
    });
    expect(answer.status).toBe(200);
    expect((control.calls[0]?.args[0] as { content: string }[])[0]?.content).toHaveLength(content.length);
  });

  it('a bad body is 400 GATEWAY_BAD_REQUEST naming each path, and nothing is saved', async () => {
    const { url, control } = await start();
    const cases: [unknown, string[]][] = [
      [{ documents: [{ name: '', content: 'x' }] }, ['documents[0].name']],
      [
        { documents: [{ name: 'a', content: 5, encoding: 'hex' }] },
        ['documents[0].content', 'documents[0].encoding'],
      ],
      [{ documents: 'x' }, ['documents']],
      [{ documents: [], comment: 7, extra: true }, ['comment', '(root)']],
      [{}, ['documents']],
      [[], ['(root)']],
    ];
    for (const [json, paths] of cases) {
      const answer = await request(`${url}/api/v1/policy`, { method: 'PUT', token: TOKEN, json });
      expect(answer.status, JSON.stringify(json)).toBe(400);
      const error = errorOf(answer);
      expect(error.code).toBe('GATEWAY_BAD_REQUEST');
      const issues = error.details?.issues as { path: string; message: string }[];
      expect(issues.map((i) => i.path).sort()).toEqual([...paths].sort());
      for (const i of issues) expect(error.message).toContain(i.path);
    }
    const noBody = await request(`${url}/api/v1/maintenance`, { method: 'POST', token: TOKEN });
    expect(noBody.status).toBe(400);
    expect(errorOf(noBody).code).toBe('GATEWAY_BAD_REQUEST');
    const wrongType = await request(`${url}/api/v1/maintenance`, {
      method: 'POST',
      token: TOKEN,
      json: { on: 'yes' },
    });
    expect((errorOf(wrongType).details?.issues as { path: string }[])[0]?.path).toBe('on');
    expect(control.calls).toEqual([]);
  });

  it('malformed JSON and a too large body are refused with GATEWAY_BAD_REQUEST', async () => {
    const { url, control } = await start();
    const broken = await request(`${url}/api/v1/policy`, {
      method: 'PUT',
      token: TOKEN,
      headers: { 'content-type': 'application/json' },
      body: '{"documents": [',
    });
    expect(broken.status).toBe(400);
    expect(errorOf(broken).code).toBe('GATEWAY_BAD_REQUEST');
    const big = await request(`${url}/api/v1/admin/attach`, {
      method: 'POST',
      token: TOKEN,
      json: { session: 'x'.repeat(100_000) },
    });
    expect(big.status).toBe(413);
    expect(errorOf(big).code).toBe('GATEWAY_BAD_REQUEST');
    const text = await request(`${url}/api/v1/maintenance`, {
      method: 'POST',
      token: TOKEN,
      headers: { 'content-type': 'text/plain' },
      body: 'on',
    });
    expect(text.status).toBe(415);
    expect(errorOf(text).code).toBe('GATEWAY_BAD_REQUEST');
    expect(control.calls).toEqual([]);
  });

  it('attach, detach, maintenance and add-node call the node, in order', async () => {
    const { url, control } = await start();
    const post = (path: string, json: unknown) =>
      request(`${url}${path}`, { method: 'POST', token: TOKEN, json });
    const a = await post('/api/v1/admin/attach', { session: 's1' });
    expect([a.status, a.json()]).toEqual([200, { session: 's1', attached: true }]);
    const m = await post('/api/v1/maintenance', { on: true });
    expect([m.status, m.json()]).toEqual([200, { maintenance: true }]);
    const n = await post('/api/v1/cm/nodes', { address: '10.10.74.87:12346' });
    expect(n.status).toBe(200);
    expect(n.json()).toEqual({ uuid: expect.any(String), name: 'mwg3' });
    const d = await post('/api/v1/admin/detach', { session: 's1' });
    expect([d.status, d.json()]).toEqual([200, { session: 's1', attached: false }]);
    expect(control.calls).toEqual([
      { method: 'attachAdmin', args: ['s1'] },
      { method: 'setMaintenance', args: [true] },
      { method: 'addNode', args: ['10.10.74.87:12346'] },
      { method: 'detachAdmin', args: ['s1'] },
    ]);
    expect(control.current.node.maintenance).toBe(true);
    const bad = await post('/api/v1/cm/nodes', { address: 'https://x/y' });
    expect(bad.status).toBe(400);
    expect(control.calls).toHaveLength(4);
  });
});

describe('errors', () => {
  it('maps the node’s error codes to HTTP statuses, with code, message and details', async () => {
    const logger = new MemoryLogger();
    const { url, control } = await start(fakeControl(), { logger });
    const save = () =>
      request(`${url}/api/v1/policy`, {
        method: 'PUT',
        token: TOKEN,
        json: { documents: [{ name: 'a.txt', content: 'x' }] },
      });
    const cases: [Error, number, string][] = [
      [new GatewayError('GATEWAY_CM_DISABLED', 'no cm section'), 409, 'GATEWAY_CM_DISABLED'],
      [new GatewayError('GATEWAY_CLOCK_SKEW', 'time difference too high'), 409, 'GATEWAY_CLOCK_SKEW'],
      [
        new CmError('CM_GUI_ATTACH', 'mwg2 holds the lock', { details: { holder: 'mwg2' } }),
        409,
        'CM_GUI_ATTACH',
      ],
      [
        new CmError('CM_INVALID_ARGUMENT', 'bad name', { details: { issues: [] } }),
        400,
        'CM_INVALID_ARGUMENT',
      ],
      [new CmError('CM_CANNOT_CONNECT', 'no answer'), 502, 'CM_CANNOT_CONNECT'],
      [new CmError('CM_STORE', 'disk full'), 500, 'CM_STORE'],
      [new Error('boom'), 500, 'GATEWAY_INTERNAL_ERROR'],
    ];
    for (const [error, status, code] of cases) {
      control.throwOn('savePolicy', error);
      const answer = await save();
      expect(answer.status, code).toBe(status);
      const body = errorOf(answer);
      expect(body.code).toBe(code);
      expect(body.message).toContain(error.message);
    }
    control.throwOn('savePolicy', cases[2]?.[0]);
    expect(errorOf(await save()).details).toEqual({ holder: 'mwg2' });
    // only the 500s are logged as errors
    const errors = logger.entries.filter((e) => e.level === 'error').map((e) => e.message);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain('CM_STORE');
    expect(errors[1]).toContain('GATEWAY_INTERNAL_ERROR');
    control.throwOn('addNode', new CmError('CM_CANNOT_CONNECT', 'cannot connect to 10.0.0.9:12346'));
    const add = await request(`${url}/api/v1/cm/nodes`, {
      method: 'POST',
      token: TOKEN,
      json: { address: '10.0.0.9' },
    });
    expect(add.status).toBe(502);
    control.throwOn('status', new Error('status broke'));
    const st = await request(`${url}/api/v1/status`, { token: TOKEN });
    expect([st.status, errorOf(st).code]).toEqual([500, 'GATEWAY_INTERNAL_ERROR']);
  });

  it('an unknown route with the token is 404 GATEWAY_NOT_FOUND', async () => {
    const { url } = await start();
    const answer = await request(`${url}/api/v1/nope?x=1`, { token: TOKEN });
    expect(answer.status).toBe(404);
    expect(errorOf(answer)).toMatchObject({
      code: 'GATEWAY_NOT_FOUND',
      details: { method: 'GET', url: '/api/v1/nope' },
    });
  });

  it('refuses bad options with GATEWAY_INVALID_ARGUMENT, and a busy port with GATEWAY_START_FAILED', async () => {
    const bad = [
      { token: '' },
      { token: 'two words' },
      { listen: { host: '127.0.0.1', port: 70000 } },
      { listen: { host: '', port: 0 } },
      { tls: { cert: 'nope', key: 'nope' } },
      { control: {} as FakeControl },
    ];
    for (const more of bad) {
      await expect(
        startManagementServer({
          control: fakeControl(),
          listen: { host: '127.0.0.1', port: 0 },
          token: TOKEN,
          ...more,
        } as ManagementServerOptions),
      ).rejects.toMatchObject({ code: 'GATEWAY_INVALID_ARGUMENT' });
    }
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(
        startManagementServer({ control: fakeControl(), listen: { host: '127.0.0.1', port }, token: TOKEN }),
      ).rejects.toMatchObject({ code: 'GATEWAY_START_FAILED', details: { part: 'management', port } });
    } finally {
      blocker.close();
    }
  });
});

describe('the event stream over a real socket', () => {
  it('sends the status at connect, after a change, coalesced, with keepalives; cleans up on disconnect', async () => {
    const clock = new ManualClock();
    const { url, control } = await start(fakeControl(), { clock });
    const reader = openEvents(`${url}/api/v1/events`, { token: TOKEN });
    const res = await reader.response;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.headers['cache-control']).toBe('no-store');

    let items = await reader.waitForItems(1);
    expect(statusEvents(items)).toEqual([control.current]);
    expect(control.listenerCount()).toBe(1);

    // one change within the first 250 ms: sent when they are over
    control.setStatus({ vrrp: { state: 'backup' } });
    clock.advance(249);
    clock.advance(1);
    items = await reader.waitForItems(2);
    expect(statusEvents(items)[1]?.vrrp.state).toBe('backup');

    // three changes in one interval: one event, with the last state
    control.setStatus({ vrrp: { state: 'fault' } });
    control.setStatus({ vrrp: { effectivePriority: 50 } });
    control.setStatus({ node: { maintenance: true } });
    clock.advance(250);
    const last = statusEvents(await reader.waitForItems(3))[2] as GatewayStatus;
    expect([last.vrrp.state, last.vrrp.effectivePriority, last.node.maintenance]).toEqual([
      'fault',
      50,
      true,
    ]);

    // long after the last event, a change goes out at once (after the change's own turn)...
    clock.advance(14_900 - clock.now());
    control.setStatus({ vrrp: { state: 'master' } });
    clock.advance(0);
    // ...and the next one 250 ms after it: behind the keepalive due at 15 s (the stream's order shows it)
    control.setStatus({ vrrp: { state: 'backup' } });
    clock.advance(300);
    items = await reader.waitForItems(6);
    expect(items.map((i) => (i.kind === 'event' ? i.event : `:${i.text}`))).toEqual([
      'status',
      'status',
      'status',
      'status',
      ':keepalive',
      'status',
    ]);
    expect(statusEvents(items).map((s) => s.vrrp.state)).toEqual([
      'master',
      'backup',
      'fault',
      'master',
      'backup',
    ]);
    expect(statusEvents(items)[4]).toEqual(control.current);

    reader.close();
    await vi.waitFor(() => expect(control.listenerCount()).toBe(0), { timeout: 10_000, interval: 10 });
    // no timer of the gone stream is left: advancing sends nothing and throws nothing
    control.setStatus({ vrrp: { state: 'backup' } });
    clock.advance(60_000);
  });

  it('closing the server ends every stream and unsubscribes', async () => {
    const clock = new ManualClock();
    const { server, url, control } = await start(fakeControl(), { clock });
    const readers = [
      openEvents(`${url}/api/v1/events`, { token: TOKEN }),
      openEvents(`${url}/api/v1/events`, { token: TOKEN }),
    ];
    await Promise.all(readers.map((r) => r.waitForItems(1)));
    expect(control.listenerCount()).toBe(2);
    await server.close();
    await Promise.all(readers.map((r) => r.ended));
    expect(control.listenerCount()).toBe(0);
  });
});

describe('the event stream, unit', () => {
  /** A response that records what is written; `full` makes write() report a full buffer. */
  class FakeResponse extends EventEmitter {
    chunks: string[] = [];
    full = false;
    ended = false;
    write(chunk: string): boolean {
      this.chunks.push(chunk);
      return !this.full;
    }
    end(): void {
      this.ended = true;
      this.emit('close');
    }
  }
  const states = (r: FakeResponse) =>
    r.chunks.map((c) =>
      c.startsWith('event: status') ? JSON.parse(c.split('data: ')[1] as string).vrrp.state : c.trim(),
    );

  function open(control: FakeControl, clock: ManualClock, logger = new MemoryLogger()) {
    const response = new FakeResponse();
    const onEnd = vi.fn();
    const stream = openStatusStream({
      control,
      response: response as unknown as ServerResponse,
      clock,
      logger,
      coalesceMs: 250,
      keepaliveMs: 15_000,
      onEnd,
    });
    return { response, stream, onEnd };
  }

  it('waits out the interval exactly, and sends the state read when it ends', () => {
    const clock = new ManualClock();
    const control = fakeControl();
    const { response } = open(control, clock);
    expect(states(response)).toEqual(['master']);
    clock.advance(100);
    control.setStatus({ vrrp: { state: 'backup' } });
    clock.advance(149);
    expect(states(response)).toEqual(['master']);
    control.setStatus({ vrrp: { state: 'fault' } });
    clock.advance(1);
    expect(states(response)).toEqual(['master', 'fault']);
    // at t=300 a change: the next may go at 500
    clock.advance(50);
    control.setStatus({ vrrp: { state: 'initialize' } });
    clock.advance(199);
    expect(states(response)).toHaveLength(2);
    clock.advance(1);
    expect(states(response)).toEqual(['master', 'fault', 'initialize']);
  });

  it('a slow reader gets the latest state once drained, not every state', () => {
    const clock = new ManualClock();
    const control = fakeControl();
    const { response } = open(control, clock);
    response.full = true;
    clock.advance(1000);
    control.setStatus({ vrrp: { state: 'backup' } });
    clock.advance(0); // written; the buffer is now full
    for (const s of ['fault', 'master', 'initialize'] as const) {
      control.setStatus({ vrrp: { state: s } });
      clock.advance(300);
    }
    clock.advance(15_000); // no keepalive while full either
    expect(states(response)).toEqual(['master', 'backup']);
    // drained: the state as it is now, once
    response.full = false;
    response.emit('drain');
    clock.advance(0);
    expect(states(response)).toEqual(['master', 'backup', 'initialize']);
    clock.advance(15_000);
    expect(states(response)).toEqual(['master', 'backup', 'initialize', ': keepalive']);
  });

  it('keepalive every 15 s; a failing status() is logged and the stream goes on; close() ends it once', () => {
    const clock = new ManualClock();
    const control = fakeControl();
    const logger = new MemoryLogger();
    const { response, stream, onEnd } = open(control, clock, logger);
    clock.advance(45_000);
    expect(states(response)).toEqual(['master', ': keepalive', ': keepalive', ': keepalive']);
    control.throwOn('status', new Error('not now'));
    control.setStatus({ vrrp: { state: 'backup' } });
    clock.advance(0);
    expect(logger.lines('warn')).toEqual([expect.stringContaining('not now')]);
    control.throwOn('status', undefined);
    control.setStatus({ vrrp: { state: 'fault' } });
    clock.advance(250);
    expect(states(response).at(-1)).toBe('fault');
    stream.close();
    stream.close();
    expect(response.ended).toBe(true);
    expect(onEnd).toHaveBeenCalledTimes(1);
    expect(control.listenerCount()).toBe(0);
    const before = response.chunks.length;
    control.setStatus({ vrrp: { state: 'master' } });
    clock.advance(60_000);
    expect(response.chunks).toHaveLength(before);
  });
});

describe('HTTPS', () => {
  it('serves the API over TLS with the given certificate', async () => {
    const ca = await createClusterCa();
    const cert = await issueNodeCertificate({
      ca,
      node: { uuid: '44444444-4444-4444-8444-444444444444', name: 'mwg1' },
      addresses: ['127.0.0.1', 'localhost'],
    });
    const { url, control } = await start(fakeControl(), { tls: { cert: cert.certPem, key: cert.keyPem } });
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const answer = await request(`${url}/api/v1/status`, { token: TOKEN, ca: ca.certPem });
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual(control.current);
    const refused = await request(`${url}/api/v1/status`, { ca: ca.certPem });
    expect(refused.status).toBe(401);
    // a client that does not trust the certificate does not get through
    await expect(request(`${url}/api/v1/status`, { token: TOKEN })).rejects.toThrow();
    const reader = openEvents(`${url}/api/v1/events`, { token: TOKEN, ca: ca.certPem });
    expect(statusEvents(await reader.waitForItems(1))).toEqual([control.current]);
    reader.close();
    await vi.waitFor(() => expect(control.listenerCount()).toBe(0), { timeout: 10_000, interval: 10 });
  });
});

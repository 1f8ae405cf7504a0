// The gateway's logger: the daemons' familiar text lines or pino JSON lines, the level filter, the fields,
// a file descriptor or a stream as destination, and invalid options refused with every problem named.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Logger } from '@proxyha/common';
import { createLogger } from '@proxyha/common/cli';
import { afterAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors';
import { createGatewayLogger } from '../src/log/logger';

const dir = mkdtempSync(join(tmpdir(), 'proxyha-gateway-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TIME = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] /;

/** A stream that collects what it gets; `lines(n)` waits until n complete lines arrived. */
function sink(): { stream: PassThrough; lines: (count: number) => Promise<string[]> } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return {
    stream,
    async lines(count: number) {
      for (let i = 0; i < 1000 && text.split('\n').length - 1 < count; i++)
        await new Promise((r) => setImmediate(r));
      return text.split('\n').slice(0, -1);
    },
  };
}

/** The operator lines of a node's life, as the packages log them (with fields, as they pass them). */
function story(log: Logger): void {
  log.debug('(VI_1) sent advert', { vrid: 51, priority: 99 });
  log.info('(VI_1) Entering MASTER STATE', { vrid: 51 });
  log.info('set lbnetwork 1');
  log.warn('current state: failure (port 9090: connection refused)', { ports: [9090] });
  log.error('Scanning partner has failed', { node: 'mwg2', address: '10.10.74.86' });
  log.error('[Coordinator] [NodeRequestFailed] 10.10.74.86:12346: connection refused');
}

describe('createGatewayLogger', () => {
  it('text: the lines operators grep for, at info and above, without the fields', async () => {
    const out = sink();
    story(createGatewayLogger({ format: 'text', destination: out.stream, name: 'proxyha' }));
    const lines = await out.lines(5);
    expect(lines).toHaveLength(5);
    for (const l of lines) expect(l).toMatch(TIME);
    expect(lines.map((l) => l.replace(TIME, ''))).toEqual([
      'INFO: (VI_1) Entering MASTER STATE',
      'INFO: set lbnetwork 1',
      'WARN: current state: failure (port 9090: connection refused)',
      'ERROR: Scanning partner has failed',
      'ERROR: [Coordinator] [NodeRequestFailed] 10.10.74.86:12346: connection refused',
    ]);
  });

  it('text: exactly what the package daemons print (their createLogger), debug lines included', async () => {
    const gateway = sink();
    const daemon = sink();
    story(createGatewayLogger({ format: 'text', level: 'debug', destination: gateway.stream }));
    story(createLogger({ level: 'debug', stream: daemon.stream }));
    const strip = (lines: string[]) => lines.map((l) => l.replace(TIME, ''));
    const ours = strip(await gateway.lines(6));
    expect(ours[0]).toBe('DEBUG: (VI_1) sent advert');
    expect(ours).toEqual(strip(await daemon.lines(6)));
  });

  it('json: one object per line with level, time, msg, the name and the fields; the level filters', async () => {
    const out = sink();
    story(createGatewayLogger({ format: 'json', level: 'warn', destination: out.stream, name: 'proxyha' }));
    const entries = (await out.lines(3)).map((l) => JSON.parse(l));
    expect(entries).toEqual([
      {
        level: 40,
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        pid: process.pid,
        name: 'proxyha',
        ports: [9090],
        msg: 'current state: failure (port 9090: connection refused)',
      },
      expect.objectContaining({
        level: 50,
        node: 'mwg2',
        address: '10.10.74.86',
        msg: 'Scanning partner has failed',
      }),
      expect.objectContaining({
        level: 50,
        msg: '[Coordinator] [NodeRequestFailed] 10.10.74.86:12346: connection refused',
      }),
    ]);
  });

  it('json at debug: every line, in order; no name unless given', async () => {
    const out = sink();
    story(createGatewayLogger({ format: 'json', level: 'debug', destination: out.stream }));
    const entries = (await out.lines(6)).map((l) => JSON.parse(l));
    expect(entries.map((e) => [e.level, e.msg])).toEqual([
      [20, '(VI_1) sent advert'],
      [30, '(VI_1) Entering MASTER STATE'],
      [30, 'set lbnetwork 1'],
      [40, 'current state: failure (port 9090: connection refused)'],
      [50, 'Scanning partner has failed'],
      [50, '[Coordinator] [NodeRequestFailed] 10.10.74.86:12346: connection refused'],
    ]);
    expect(entries[0]).toMatchObject({ vrid: 51, priority: 99 });
    expect(entries.some((e) => 'name' in e)).toBe(false);
  });

  it('writes to a file descriptor synchronously: the lines are there when the call returns', () => {
    for (const format of ['text', 'json'] as const) {
      const file = join(dir, `gateway.${format}.log`);
      const fd = openSync(file, 'w');
      const log = createGatewayLogger({ format, destination: fd });
      log.info('(VI_1) Entering BACKUP STATE', { vrid: 51 });
      log.debug('hidden');
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      closeSync(fd);
      expect(lines).toHaveLength(1);
      if (format === 'text') expect(lines[0]).toMatch(/\] INFO: \(VI_1\) Entering BACKUP STATE$/);
      else expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 30, vrid: 51 });
    }
  });

  it('refuses invalid options, naming every one', () => {
    let error: unknown;
    try {
      createGatewayLogger({
        format: 'xml' as 'json',
        level: 'trace' as 'debug',
        destination: '/var/log/proxyha.log' as unknown as number,
        name: '',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GatewayError);
    const e = error as GatewayError<{ issues: { path: string; message: string }[] }>;
    expect(e.code).toBe('GATEWAY_INVALID_ARGUMENT');
    expect(e.details.issues.map((i) => i.path)).toEqual(['format', 'level', 'destination', 'name']);
    expect(e.message).toMatch(/format: must be text or json \(got "xml"\)/);
    expect(e.message).toMatch(/destination: must be a file descriptor or a writable stream/);
    expect(() => createGatewayLogger({ format: 'text', destination: -3 })).toThrow(
      /destination: must be a file descriptor or a writable stream \(got -3\)/,
    );
  });
});

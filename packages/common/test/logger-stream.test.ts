// createLogger writing to a stream (instead of a file descriptor), with a name, and refusing bad options.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/cli/index';
import { CommonError } from '../src/index';

/** A stream that keeps what it receives, and the lines once `count` complete lines arrived. */
function sink(): { stream: PassThrough; lines: (count: number) => Promise<string[]> } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => {
    text += c.toString();
  });
  const lines = async (count: number) => {
    for (let i = 0; i < 1000 && text.split('\n').length - 1 < count; i++)
      await new Promise((r) => setImmediate(r));
    return text.split('\n').slice(0, -1);
  };
  return { stream, lines };
}

describe('createLogger to a stream', () => {
  it('writes the familiar text lines, without the fields or the name', async () => {
    const out = sink();
    const log = createLogger({ stream: out.stream, level: 'debug', name: 'vrrp' });
    log.info('(VI_1) Entering MASTER STATE', { vrid: 51 });
    log.debug('detail');
    const lines = await out.lines(2);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: \(VI_1\) Entering MASTER STATE$/,
    );
    expect(lines[1]).toMatch(/\] DEBUG: detail$/);
  });

  it('stamps text lines with the local time of the write, to the millisecond, and keeps the level', async () => {
    const out = sink();
    const log = createLogger({ stream: out.stream, level: 'warn' });
    const before = Date.now();
    log.info('below warn');
    log.warn('current state: failure');
    log.error('Scanning partner has failed');
    const after = Date.now();
    const lines = await out.lines(2);
    expect(lines.map((l) => l.replace(/^\[[^\]]+\] /, ''))).toEqual([
      'WARN: current state: failure',
      'ERROR: Scanning partner has failed',
    ]);
    for (const line of lines) {
      const m = /^\[(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})\]/.exec(line);
      expect(m).not.toBeNull();
      const [y, mo, d, h, mi, sec, ms] = (m as RegExpExecArray).slice(1).map(Number) as number[];
      // local time, as the operator's other logs (syslog, journald) show it
      const at = new Date(y as number, (mo as number) - 1, d, h, mi, sec, ms).getTime();
      expect(at).toBeGreaterThanOrEqual(before);
      expect(at).toBeLessThanOrEqual(after);
    }
  });

  it('writes JSON lines with the name and the fields, above the level', async () => {
    const out = sink();
    const log = createLogger({ stream: out.stream, json: true, level: 'warn', name: 'proxyha' });
    log.info('below warn');
    log.warn('current state: failure', { port: 9090 });
    log.error('Scanning partner has failed');
    const entries = (await out.lines(2)).map((l) => JSON.parse(l));
    expect(entries).toEqual([
      expect.objectContaining({ level: 40, name: 'proxyha', port: 9090, msg: 'current state: failure' }),
      expect.objectContaining({ level: 50, name: 'proxyha', msg: 'Scanning partner has failed' }),
    ]);
    expect(entries[0].time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('refuses invalid options, naming each', () => {
    let error: unknown;
    try {
      createLogger({
        level: 'verbose' as 'info',
        fd: -1,
        stream: {} as NodeJS.WritableStream,
        name: '',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CommonError);
    expect(error).toMatchObject({ code: 'COMMON_INVALID_ARGUMENT' });
    const issues = (error as CommonError<{ issues: { path: string }[] }>).details.issues;
    expect(issues.map((i) => i.path)).toEqual(['level', 'fd', 'stream', 'name']);
    expect((error as Error).message).toMatch(/level: must be debug, info, warn, error \(got "verbose"\)/);
  });
});

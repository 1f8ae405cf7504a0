// runPortCheck, formatCheckReport and checkReportDocument: the check-once mode of proxyha-mon as other
// programs reuse it (the gateway's `proxyha mon -c`), with a fake prober and a manual clock.
import { ManualClock } from '@proxyha/common';
import { MemoryIo } from '@proxyha/common/cli';
import { describe, expect, it } from 'vitest';
import { type Prober, resolveSettings, runPortCheck } from '../src/index';

const settings = resolveSettings({
  host: '127.0.0.1',
  ports: [
    { port: 9090, probe: 'tcp' },
    { port: 2121, probe: 'tcp' },
    { port: 8080, probe: 'http' },
  ],
});
const prober =
  (failing: number[]): Prober =>
  async (t) =>
    failing.includes(t.port)
      ? { ok: false, reason: 'refused', detail: 'ECONNREFUSED', latencyMs: 0.1314 }
      : { ok: true, latencyMs: 0.2141, ...(t.probe === 'http' ? { httpStatus: 400 } : {}) };
const clock = new ManualClock({ wallAtStart: Date.UTC(2025, 8, 28, 5, 53, 1, 120) });

describe('runPortCheck', () => {
  it('prints the verdict line and returns 0 when every port answers', async () => {
    const io = new MemoryIo();
    expect(await runPortCheck(settings, io, { prober: prober([]), clock })).toBe(0);
    expect(io.out).toBe('current state: ok\n');
  });

  it('-v: one line per port first; 1 on failure', async () => {
    const io = new MemoryIo();
    expect(await runPortCheck(settings, io, { verbose: true, prober: prober([2121]), clock })).toBe(1);
    expect(io.out).toBe(
      'port 9090 (tcp): ok, 0.214 ms\n' +
        'port 2121 (tcp): connection refused (ECONNREFUSED), 0.131 ms\n' +
        'port 8080 (http): ok (HTTP 400), 0.214 ms\n' +
        'current state: failure (port 2121: connection refused)\n',
    );
  });

  it('--json: the documented document', async () => {
    const io = new MemoryIo();
    expect(await runPortCheck(settings, io, { json: true, prober: prober([2121]), clock })).toBe(1);
    expect(JSON.parse(io.out)).toEqual({
      status: 'failure',
      line: 'current state: failure (port 2121: connection refused)',
      host: '127.0.0.1',
      checkedAt: '2025-09-28T05:53:01.120Z',
      ports: [
        { port: 9090, probe: 'tcp', ok: true, latencyMs: 0.214 },
        {
          port: 2121,
          probe: 'tcp',
          ok: false,
          reason: 'refused',
          reasonText: 'connection refused',
          detail: 'ECONNREFUSED',
          latencyMs: 0.131,
        },
        { port: 8080, probe: 'http', ok: true, latencyMs: 0.214, httpStatus: 400 },
      ],
    });
  });
});

import { describe, expect, it } from 'vitest';
import { NtpError } from '../src/errors';
import type { NtpSample } from '../src/machine/reply';
import { evaluateSkew, type NtpServerResult } from '../src/machine/skew';

function sample(offsetMs: number, extra: Partial<NtpSample> = {}): NtpSample {
  return {
    offsetMs,
    delayMs: 1,
    dispersionMs: 0.01,
    rootDelayMs: 1,
    rootDispersionMs: 1,
    rootDistanceMs: 6,
    stratum: 2,
    leap: 0,
    version: 4,
    precision: -20,
    poll: 4,
    referenceId: '192.0.2.1',
    ...extra,
  };
}
const good = (server: string, offsetMs: number, extra: Partial<NtpSample> = {}): NtpServerResult => ({
  server,
  ok: true,
  sample: sample(offsetMs, extra),
  fresh: true,
  ageMs: 0,
  discarded: 0,
});
const bad = (server: string, code: NtpError['code'], message: string, details = {}): NtpServerResult => ({
  server,
  ok: false,
  error: new NtpError(code, message, { details }),
  discarded: 0,
});

describe('evaluateSkew', () => {
  it('is ok within the limit, naming the figures', () => {
    const r = evaluateSkew([good('a:123', 2)], { maxOffsetMs: 500 });
    expect(r.verdict).toBe('ok');
    expect(r.offsetMs).toBe(2);
    expect(r.rootDistanceMs).toBe(6);
    expect(r.reasons).toEqual([
      { level: 'ok', code: 'NTP_OK', message: 'offset +2.000 ms (±6.000 ms) within max 500 ms' },
    ]);
    expect(r.servers[0]).toMatchObject({ server: 'a:123', verdict: 'ok', role: 'truechimer', reason: 'ok' });
    expect(r.limits).toEqual({ maxOffsetMs: 500, warnOffsetMs: 250, panicThresholdMs: 1_000_000 });
  });

  it('fails with "time difference too high" above maxOffset', () => {
    const r = evaluateSkew([good('a:123', -120_000)], { maxOffsetMs: 500 });
    expect(r.verdict).toBe('fail');
    expect(r.panic).toBe(false);
    expect(r.reasons[0]!.code).toBe('NTP_TIME_DIFFERENCE_TOO_HIGH');
    expect(r.reasons[0]!.message).toBe(
      'time difference too high: offset -120000.0 ms (±6.000 ms) exceeds max 500 ms',
    );
    expect(r.servers[0]!.reason).toBe('time difference too high');
  });

  it('warns above warnOffset (default half of max) and when the error bound reaches past max', () => {
    expect(evaluateSkew([good('a', 300)], { maxOffsetMs: 500 }).verdict).toBe('warn');
    expect(evaluateSkew([good('a', 300)], { maxOffsetMs: 500, warnOffsetMs: 400 }).verdict).toBe('ok');
    const r = evaluateSkew([good('a', 40, { rootDistanceMs: 20 })], { maxOffsetMs: 50, warnOffsetMs: 45 });
    expect(r.verdict).toBe('warn');
    expect(r.reasons[0]!.code).toBe('NTP_OFFSET_UNCERTAIN');
  });

  it('panics beyond the panic threshold (default 1000 s): set the clock by hand', () => {
    const r = evaluateSkew([good('a', 1_200_000), good('b', 1_200_001)], { maxOffsetMs: 500 });
    expect(r.verdict).toBe('fail');
    expect(r.panic).toBe(true);
    expect(r.reasons[0]!.code).toBe('NTP_PANIC');
    expect(r.reasons[0]!.message).toMatch(/exceeds the panic threshold of 1000 s: .*set it by hand/);
    expect(
      evaluateSkew([good('a', 1_200_000)], { maxOffsetMs: 500, panicThresholdMs: 2_000_000 }).panic,
    ).toBe(false);
  });

  it('fails when no server is usable, naming each reason', () => {
    const r = evaluateSkew(
      [
        bad('a:1', 'NTP_UNSYNCHRONIZED', 'unsynchronized (leap indicator 3)'),
        bad('b:2', 'NTP_KISS_OF_DEATH', "Kiss-o'-Death RATE", { kissCode: 'RATE' }),
      ],
      { maxOffsetMs: 500 },
    );
    expect(r.verdict).toBe('fail');
    expect(r.offsetMs).toBeUndefined();
    expect(r.reasons[0]).toEqual({
      level: 'fail',
      code: 'NTP_NO_USABLE_SERVER',
      message: "no usable server: a:1 unsynchronized (leap indicator 3); b:2 Kiss-o'-Death RATE",
    });
    expect(r.servers[1]).toMatchObject({
      verdict: 'fail',
      role: 'rejected',
      reason: "Kiss-o'-Death RATE",
      error: { code: 'NTP_KISS_OF_DEATH', kissCode: 'RATE' },
    });
    expect(r.rejected).toEqual(['a:1', 'b:2']);
  });

  it('names a falseticker and follows the other two', () => {
    const r = evaluateSkew([good('a', 0.5), good('b', 120_000), good('c', -0.3)], { maxOffsetMs: 500 });
    expect(r.verdict).toBe('ok');
    expect(r.falsetickers).toEqual(['b']);
    expect(r.truechimers).toEqual(['a', 'c']);
    expect(r.servers[1]).toMatchObject({ verdict: 'fail', role: 'falseticker', reason: 'falseticker' });
    expect(r.reasons.find((x) => x.code === 'NTP_FALSETICKER')?.message).toMatch(/^b: falseticker/);
    const bad2 = evaluateSkew([good('a', 0.5), good('b', 120_000), good('c', 120_000.2)], {
      maxOffsetMs: 500,
    });
    expect(bad2.verdict).toBe('fail');
    expect(bad2.falsetickers).toEqual(['a']);
  });

  it('fails without a majority', () => {
    const r = evaluateSkew([good('a', 0), good('b', 120_000)], { maxOffsetMs: 500 });
    expect(r.verdict).toBe('fail');
    expect(r.reasons[0]!.code).toBe('NTP_NO_MAJORITY');
    expect(r.servers.map((s) => s.reason)).toEqual(['no majority', 'no majority']);
  });

  it('warns when fewer than a majority of the queried servers are usable', () => {
    const r = evaluateSkew(
      [good('a', 0), bad('b', 'NTP_TIMEOUT', 'no reply'), bad('c', 'NTP_TIMEOUT', 'no reply')],
      { maxOffsetMs: 500 },
    );
    expect(r.verdict).toBe('warn');
    expect(r.reasons[0]!.code).toBe('NTP_FEW_SERVERS');
    expect(
      evaluateSkew([good('a', 0), good('c', 1), bad('b', 'NTP_TIMEOUT', 'x')], { maxOffsetMs: 500 }).verdict,
    ).toBe('ok');
  });

  it('notes a pending leap second', () => {
    const r = evaluateSkew([good('a', 0, { leap: 1 })], { maxOffsetMs: 500 });
    expect(r.verdict).toBe('ok');
    expect(r.reasons.map((x) => x.code)).toContain('NTP_LEAP_PENDING');
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../src/index';

const value = (v: unknown, limits?: { min?: number; max?: number }) => {
  const r = parseDuration(v, limits);
  return r.ok ? r.value : r.error;
};

describe('parseDuration', () => {
  it('reads numbers of milliseconds, digit strings and unit parts', () => {
    expect(value(250)).toBe(250);
    expect(value('250')).toBe(250);
    expect(value('100ms')).toBe(100);
    expect(value('1.5s')).toBe(1500);
    expect(value('2m')).toBe(120_000);
    expect(value('1h30m')).toBe(5_400_000);
    expect(value('1d')).toBe(86_400_000);
    expect(value(' 1s ')).toBe(1000);
    expect(value('0s')).toBe(0);
    expect(value(0)).toBe(0);
  });

  it('names the value and the accepted forms when it is not a duration', () => {
    for (const bad of [
      'soon',
      '',
      '1 s',
      '-1s',
      '1x',
      's',
      '1s2',
      Number.NaN,
      -5,
      Number.POSITIVE_INFINITY,
      null,
      {},
    ])
      expect(value(bad)).toMatch(/^not a duration: .* \(use e\.g\. 500ms, 2s, 1m30s\)$/);
    expect(value('soon')).toBe('not a duration: "soon" (use e.g. 500ms, 2s, 1m30s)');
  });

  it('applies inclusive bounds with a message in durations', () => {
    expect(value('0s', { min: 1 })).toBe('must be at least 1ms (got 0s)');
    expect(value('2h', { max: 3_600_000 })).toBe('must be at most 1h (got 2h)');
    expect(value('1h', { max: 3_600_000 })).toBe(3_600_000);
  });

  it('reads back what formatDuration writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 86_400_000 }), (ms) => {
        expect(value(formatDuration(ms))).toBe(ms);
      }),
    );
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(1500)).toBe('1500ms');
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        expect(typeof parseDuration(v).ok).toBe('boolean');
      }),
    );
  });
});

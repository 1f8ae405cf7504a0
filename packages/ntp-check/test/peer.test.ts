import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimatePeerSkew, judgePeerSkew } from '../src/machine/peer';

describe('peer skew', () => {
  it('estimates a peer offset with error bound delay/2 plus precision', () => {
    const r = estimatePeerSkew({ t1: 1000, t2: 1505, t3: 1507, t4: 1012 }, { precisionMs: 0.5 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.offsetMs).toBeCloseTo(500, 9);
    expect(r.value.delayMs).toBeCloseTo(10, 9);
    expect(r.value.errorBoundMs).toBeCloseTo(5 + 1, 9);
    expect(r.value.lowMs).toBeCloseTo(494, 9);
    expect(r.value.highMs).toBeCloseTo(506, 9);
  });

  it('contains the true offset whatever the path asymmetry (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e7, max: 1e7, noNaN: true }),
        fc.double({ min: 0, max: 1000, noNaN: true }),
        fc.double({ min: 0, max: 1000, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (offset, out, back, proc) => {
          const t1 = 1.7e12;
          const t2 = t1 + out + offset;
          const t3 = t2 + proc;
          const t4 = t1 + out + proc + back;
          const r = estimatePeerSkew({ t1, t2, t3, t4 }, { precisionMs: 0.01 });
          expect(r.ok).toBe(true);
          if (r.ok) expect(offset).toBeGreaterThanOrEqual(r.value.lowMs - 1e-3);
          if (r.ok) expect(offset).toBeLessThanOrEqual(r.value.highMs + 1e-3);
        },
      ),
    );
  });

  it('refuses exchanges that cannot have happened', () => {
    const bad = [
      { t1: 1000, t2: 5, t3: 6, t4: 999 }, // received before sent
      { t1: 1000, t2: 5, t3: 50, t4: 1010 }, // peer took 45 ms of a 10 ms round trip
      { t1: 1000, t2: 50, t3: 5, t4: 1010 }, // peer answered before it was asked
      { t1: Number.NaN, t2: 5, t3: 6, t4: 1010 },
    ];
    for (const x of bad) {
      const r = estimatePeerSkew(x);
      expect(r.ok ? 'ok' : r.error.code).toBe('NTP_BAD_EXCHANGE');
    }
  });

  it('judges: ok inside, warn when the bound straddles the limit, fail when certainly beyond', () => {
    const est = (offsetMs: number, errorBoundMs: number) => ({
      offsetMs,
      errorBoundMs,
      delayMs: errorBoundMs * 2,
      lowMs: offsetMs - errorBoundMs,
      highMs: offsetMs + errorBoundMs,
    });
    expect(judgePeerSkew(est(100, 10), 1000).verdict).toBe('ok');
    expect(judgePeerSkew(est(995, 10), 1000).verdict).toBe('warn');
    expect(judgePeerSkew(est(-995, 10), 1000).code).toBe('NTP_PEER_SKEW_UNCERTAIN');
    const f = judgePeerSkew(est(-1500, 10), 1000);
    expect(f.verdict).toBe('fail');
    expect(f.code).toBe('NTP_TIME_DIFFERENCE_TOO_HIGH');
    expect(f.message).toMatch(/^time difference too high: peer clock -1500 ms/);
  });
});

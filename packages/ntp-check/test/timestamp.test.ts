import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fromNtpTimestamp,
  ntpDifferenceMs,
  ntpEra,
  ntpTimestampToUnixMs,
  toNtpTimestamp,
  unixMsToNtpTimestamp,
} from '../src/codec/timestamp';

const S = 1_000_000_000n;
// 2036-02-07T06:28:16Z: NTP era 1 starts here.
const ERA1_UNIX_S = 2_085_978_496n;

describe('NTP timestamps', () => {
  it('maps the Unix epoch to 2208988800 NTP seconds', () => {
    expect(toNtpTimestamp(0n)).toBe(2_208_988_800n << 32n);
  });

  it('encodes the fraction in units of 2^-32 s', () => {
    expect(toNtpTimestamp(500_000_000n) & 0xffffffffn).toBe(1n << 31n);
    expect(toNtpTimestamp(250_000_000n) & 0xffffffffn).toBe(1n << 30n);
  });

  it('wraps to seconds 0 at the start of era 1 (2036-02-07T06:28:16Z)', () => {
    expect(new Date(Number(ERA1_UNIX_S) * 1000).toISOString()).toBe('2036-02-07T06:28:16.000Z');
    expect(toNtpTimestamp(ERA1_UNIX_S * S)).toBe(0n);
    expect(toNtpTimestamp(ERA1_UNIX_S * S - S) >> 32n).toBe(0xffffffffn);
    expect(ntpEra(ERA1_UNIX_S * S - 1n)).toBe(0);
    expect(ntpEra(ERA1_UNIX_S * S)).toBe(1);
  });

  it('decodes era-1 timestamps with a pivot near them', () => {
    const t = (ERA1_UNIX_S + 3600n) * S; // 2036-02-07T07:28:16Z
    const wire = toNtpTimestamp(t);
    expect(wire >> 32n).toBe(3600n);
    expect(fromNtpTimestamp(wire, (ERA1_UNIX_S - 86_400n) * S)).toBe(t); // pivot in era 0
    expect(fromNtpTimestamp(wire, t + 30n * 365n * 86_400n * S)).toBe(t);
    // Without the era rule a naive decoder would answer 1900-01-01T01:00:00Z.
  });

  it('decodes era-0 timestamps with a pivot in era 1', () => {
    const t = (ERA1_UNIX_S - 10n) * S;
    expect(fromNtpTimestamp(toNtpTimestamp(t), (ERA1_UNIX_S + 10n) * S)).toBe(t);
  });

  it('takes differences across the era boundary', () => {
    const before = toNtpTimestamp((ERA1_UNIX_S - 1n) * S);
    const after = toNtpTimestamp((ERA1_UNIX_S + 1n) * S + 250_000_000n);
    expect(ntpDifferenceMs(after, before)).toBeCloseTo(2250, 6);
    expect(ntpDifferenceMs(before, after)).toBeCloseTo(-2250, 6);
  });

  it('round-trips any time within 68 years of the pivot to within 1 ns', () => {
    const span = 68n * 365n * 86_400n * S;
    fc.assert(
      fc.property(
        fc.bigInt({ min: -2_000_000_000n * S, max: 5_000_000_000n * S }),
        fc.bigInt({ min: -span, max: span }),
        (pivot, delta) => {
          const t = pivot + delta;
          const back = fromNtpTimestamp(toNtpTimestamp(t), pivot);
          expect(back - t <= 1n && t - back <= 1n).toBe(true);
        },
      ),
    );
  });

  it('differences match real time differences anywhere, including across eras', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 6_000_000_000n * S }),
        fc.bigInt({ min: -1_000_000n * S, max: 1_000_000n * S }),
        (a, d) => {
          const ms = ntpDifferenceMs(toNtpTimestamp(a + d), toNtpTimestamp(a));
          expect(Math.abs(ms - Number(d) / 1e6)).toBeLessThan(1e-5);
        },
      ),
    );
  });

  it("converts a Clock's fractional milliseconds exactly as nanoseconds would be", () => {
    expect(unixMsToNtpTimestamp(0)).toBe(toNtpTimestamp(0n));
    expect(unixMsToNtpTimestamp(1_790_000_000_123.25)).toBe(toNtpTimestamp(1_790_000_000_123_250_000n));
    expect(unixMsToNtpTimestamp(-0.5)).toBe(toNtpTimestamp(-500_000n));
    expect(() => unixMsToNtpTimestamp(Number.NaN)).toThrowError(
      expect.objectContaining({ code: 'NTP_INVALID_ARGUMENT' }),
    );
  });

  it('round-trips wall-clock milliseconds to within a microsecond, across the 2036 era boundary', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 4e12, noNaN: true }),
        fc.double({ min: -1e9, max: 1e9, noNaN: true }),
        (ms, pivotDelta) => {
          const back = ntpTimestampToUnixMs(unixMsToNtpTimestamp(ms), ms + pivotDelta);
          expect(Math.abs(back - ms)).toBeLessThan(1e-3);
        },
      ),
    );
    const era1 = Number(ERA1_UNIX_S) * 1000 + 0.25;
    expect(ntpTimestampToUnixMs(unixMsToNtpTimestamp(era1), era1 - 86_400_000)).toBe(era1);
  });
});

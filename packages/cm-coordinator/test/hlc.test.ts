import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CmError,
  compareHlc,
  formatHlc,
  HLC_MAX_LOGICAL,
  type Hlc,
  hlcReceive,
  hlcSend,
  parseHlc,
} from '../src/index';

const A = '00000000-0000-4000-8000-000000000001';
const B = '00000000-0000-4000-8000-000000000002';
const T = Date.UTC(2025, 0, 1);

describe('hlcSend', () => {
  it('takes the wall clock when it moves forward', () => {
    expect(hlcSend(undefined, T, A)).toEqual({ wall: T, logical: 0, node: A });
    expect(hlcSend({ wall: T, logical: 4, node: A }, T + 1, A)).toEqual({ wall: T + 1, logical: 0, node: A });
  });

  it('counts on when the wall clock stands still or goes backwards', () => {
    const s1 = hlcSend(undefined, T, A);
    const s2 = hlcSend(s1, T, A);
    const s3 = hlcSend(s2, T - 60_000, A);
    expect(s2).toEqual({ wall: T, logical: 1, node: A });
    expect(s3).toEqual({ wall: T, logical: 2, node: A });
    expect(compareHlc(s1, s2)).toBeLessThan(0);
    expect(compareHlc(s2, s3)).toBeLessThan(0);
  });

  it('bounds the logical counter by borrowing the next millisecond', () => {
    const s = hlcSend({ wall: T, logical: HLC_MAX_LOGICAL, node: A }, T - 5, A);
    expect(s).toEqual({ wall: T + 1, logical: 0, node: A });
  });

  it('rejects a non-finite wall time', () => {
    expect(() => hlcSend(undefined, Number.NaN, A)).toThrow(CmError);
  });
});

describe('hlcReceive', () => {
  it('moves past the remote stamp when it is ahead', () => {
    const r = hlcReceive({ wall: T, logical: 3, node: A }, { wall: T + 50, logical: 7, node: B }, T + 10, A);
    expect(r).toEqual({ wall: T + 50, logical: 8, node: A });
  });

  it('takes the larger counter plus one on equal walls', () => {
    const r = hlcReceive({ wall: T, logical: 3, node: A }, { wall: T, logical: 9, node: B }, T - 100, A);
    expect(r).toEqual({ wall: T, logical: 10, node: A });
    const r2 = hlcReceive(
      { wall: T, logical: 12, node: A },
      { wall: T - 1, logical: 9, node: B },
      T - 100,
      A,
    );
    expect(r2).toEqual({ wall: T, logical: 13, node: A });
  });

  it('takes the wall clock when it is ahead of both', () => {
    expect(hlcReceive({ wall: T, logical: 3, node: A }, { wall: T, logical: 9, node: B }, T + 5, A)).toEqual({
      wall: T + 5,
      logical: 0,
      node: A,
    });
  });

  it('is always later than both stamps (property)', () => {
    const stamp = fc.record({
      wall: fc.integer({ min: T, max: T + 1000 }),
      logical: fc.integer({ min: 0, max: HLC_MAX_LOGICAL }),
      node: fc.constantFrom(A, B),
    });
    fc.assert(
      fc.property(stamp, stamp, fc.integer({ min: T - 1000, max: T + 2000 }), (last, remote, now) => {
        const r = hlcReceive(last, remote, now, A);
        const after = (x: Hlc, y: Hlc) => x.wall > y.wall || (x.wall === y.wall && x.logical > y.logical);
        expect(after(r, last)).toBe(true);
        expect(after(r, remote)).toBe(true);
        expect(r.logical).toBeLessThanOrEqual(HLC_MAX_LOGICAL);
        const s = hlcSend(r, now, A);
        expect(compareHlc(r, s)).toBeLessThan(0);
      }),
    );
  });
});

describe('formatHlc / parseHlc', () => {
  it('formats the Current Storage Timestamp text', () => {
    expect(formatHlc({ wall: T + 1234, logical: 3, node: A })).toBe(`2025-01-01T00:00:01.234Z.00003.${A}`);
  });

  it('round-trips and sorts as compareHlc orders (property)', () => {
    const stamp = fc.record({
      wall: fc.integer({ min: 0, max: 253_402_300_799_999 }),
      logical: fc.integer({ min: 0, max: HLC_MAX_LOGICAL }),
      node: fc.constantFrom(A, B),
    });
    fc.assert(
      fc.property(stamp, stamp, (a: Hlc, b: Hlc) => {
        const ta = formatHlc(a);
        const tb = formatHlc(b);
        const parsed = parseHlc(ta);
        expect(parsed).toEqual({ ok: true, value: a });
        expect(Math.sign(ta < tb ? -1 : ta > tb ? 1 : 0)).toBe(Math.sign(compareHlc(a, b)));
      }),
    );
  });

  it('rejects malformed text and out-of-range stamps', () => {
    expect(parseHlc('yesterday').ok).toBe(false);
    expect(parseHlc(`2025-02-30T00:00:00.000Z.00000.${A}`).ok).toBe(false);
    expect(parseHlc(`2025-01-01T00:00:00.000Z.99999.${A}`).ok).toBe(false);
    expect(parseHlc(`2025-01-01T00:00:00.000Z.00000.564D0FA3-6391-4B1C-8CDD-18116FD8DADD`).ok).toBe(false);
    expect(() => formatHlc({ wall: -1, logical: 0, node: A })).toThrow(/stamp.wall/);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { selectSources } from '../src/machine/select';

const c = (id: string, offsetMs: number, rootDistanceMs = 10) => ({ id, offsetMs, rootDistanceMs });

describe('selectSources (intersection of correctness intervals)', () => {
  it('names the one server 120 s off as falseticker and combines the other two', () => {
    const r = selectSources([c('a', 1.2), c('b', 120_000.4), c('c', -0.8)]);
    expect(r.ok).toBe(true);
    expect(r.falsetickers).toEqual(['b']);
    expect(r.truechimers).toEqual(['a', 'c']);
    expect(r.offsetMs).toBeCloseTo(0.2, 9);
    // [1.2 ± 10] ∩ [-0.8 ± 10] = [-8.8, 9.2]
    expect(r.intersection!.lowMs).toBeCloseTo(-8.8, 9);
    expect(r.intersection!.highMs).toBeCloseTo(9.2, 9);
  });

  it('follows the majority even when the majority is the shifted one', () => {
    const r = selectSources([c('a', 0), c('b', 120_000), c('c', 120_001)]);
    expect(r.falsetickers).toEqual(['a']);
    expect(r.offsetMs).toBeCloseTo(120_000.5, 9);
  });

  it('finds no majority when two servers disagree', () => {
    const r = selectSources([c('a', 0), c('b', 1000)]);
    expect(r.ok).toBe(false);
    expect(r.truechimers).toEqual([]);
  });

  it('accepts a single server and overlapping pairs', () => {
    expect(selectSources([c('a', 5)]).truechimers).toEqual(['a']);
    expect(selectSources([c('a', 0), c('b', 15)]).truechimers).toEqual(['a', 'b']);
    // touching intervals [−10, 10] and [10, 30] still intersect (closed intervals)
    expect(selectSources([c('a', 0), c('b', 20)]).ok).toBe(true);
  });

  it('tolerates two falsetickers among five', () => {
    const r = selectSources([c('a', 0), c('b', 3), c('c', 500), c('d', -2), c('e', -700)]);
    expect(r.ok).toBe(true);
    expect(r.falsetickers.sort()).toEqual(['c', 'e']);
  });

  it('weights the combined offset by 1/root distance', () => {
    const r = selectSources([c('a', 0, 10), c('b', 9, 30)]);
    expect(r.offsetMs).toBeCloseTo((0 / 10 + 9 / 30) / (1 / 10 + 1 / 30), 9);
    expect(r.rootDistanceMs).toBe(10);
  });

  it('returns nothing for no candidates', () => {
    expect(selectSources([])).toEqual({ ok: false, truechimers: [], falsetickers: [] });
  });

  it('never lets a minority outvote an agreeing majority (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.array(fc.double({ min: 1000, max: 1e6, noNaN: true }), { maxLength: 5 }),
        (good, truth, shifts) => {
          const bad = shifts.slice(0, good - 1); // strict minority
          const cands = [
            ...Array.from({ length: good }, (_, i) => c(`g${i}`, truth + (i % 3) - 1, 5)),
            ...bad.map((s, i) => c(`b${i}`, truth + (i % 2 ? s : -s), 5)),
          ];
          const r = selectSources(cands);
          expect(r.ok).toBe(true);
          for (let i = 0; i < good; i++) expect(r.truechimers).toContain(`g${i}`);
          expect(r.falsetickers.sort()).toEqual(bad.map((_, i) => `b${i}`).sort());
          expect(Math.abs(r.offsetMs! - truth)).toBeLessThan(5);
        },
      ),
    );
  });
});

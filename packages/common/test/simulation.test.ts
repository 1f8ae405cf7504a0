// The discrete-event queue of the simulators: time order, insertion order at one instant, and runUntil.
import { describe, expect, it } from 'vitest';
import { createPrng, EventQueue } from '../src/index';

describe('EventQueue', () => {
  it('runUntil runs the entries due, earliest first, ties in insertion order, and moves the clock to each', () => {
    const q = new EventQueue();
    const ran: string[] = [];
    const clock: number[] = [];
    q.push(30, () => ran.push('c'));
    q.push(10, () => ran.push('a1'));
    q.push(10, () => ran.push('a2'));
    q.push(20, () => {
      ran.push('b');
      q.push(25, () => ran.push('b+5')); // added while running, due within the time: runs too
      q.push(50, () => ran.push('late'));
    });
    q.runUntil(30, (at) => clock.push(at));
    expect(ran).toEqual(['a1', 'a2', 'b', 'b+5', 'c']);
    expect(clock).toEqual([10, 10, 20, 25, 30]);
    expect(q.size).toBe(1);
    expect(q.peekTime()).toBe(50);
  });

  it('pops in (time, insertion) order whatever the order of the pushes (200 seeded runs)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = createPrng(seed);
      const times = Array.from({ length: Math.floor(random() * 60) }, () => Math.floor(random() * 20));
      const q = new EventQueue();
      const out: [number, number][] = [];
      for (const [i, t] of times.entries()) q.push(t, () => out.push([t, i]));
      q.runUntil(Number.POSITIVE_INFINITY, () => {});
      const want = times.map((t, i): [number, number] => [t, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      expect(out, `seed ${seed}`).toEqual(want);
    }
  });
});

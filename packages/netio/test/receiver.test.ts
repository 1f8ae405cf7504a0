import { describe, expect, it } from 'vitest';
import { NetioError } from '../src/errors';
import { ReceiverHub } from '../src/receiver';

function hub() {
  const states: boolean[] = [];
  const h = new ReceiverHub<number>((on) => states.push(on));
  return { h, states };
}

describe('ReceiverHub', () => {
  it('reads only while someone listens', () => {
    const { h, states } = hub();
    const got: number[] = [];
    const off = h.onPacket((n) => got.push(n));
    h.deliver(1);
    off();
    h.deliver(2);
    expect(got).toEqual([1]);
    expect(states).toEqual([true, false]);
  });

  it('iterates in order and ends after close, draining the queue first', async () => {
    const { h } = hub();
    const it = h[Symbol.asyncIterator]();
    h.deliver(1);
    h.deliver(2);
    h.end();
    expect(await it.next()).toEqual({ value: 1, done: false });
    expect(await it.next()).toEqual({ value: 2, done: false });
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('resolves a waiting next() on delivery and supports for-await with break', async () => {
    const { h, states } = hub();
    const seen: number[] = [];
    const loop = (async () => {
      for await (const n of h) {
        seen.push(n);
        if (n === 3) break;
      }
    })();
    for (const n of [1, 2, 3]) {
      await Promise.resolve();
      h.deliver(n);
    }
    await loop;
    expect(seen).toEqual([1, 2, 3]);
    expect(states.at(-1)).toBe(false);
  });

  it('pauses reading while the slowest iterator is 1024 behind and resumes as it drains', async () => {
    const { h, states } = hub();
    const it = h[Symbol.asyncIterator]();
    for (let i = 0; i < 1024; i++) h.deliver(i);
    expect(states).toEqual([true, false]);
    expect((await it.next()).value).toBe(0);
    expect(states).toEqual([true, false, true]);
  });

  it('keeps delivering when a listener throws and rethrows asynchronously', async () => {
    const { h } = hub();
    const got: number[] = [];
    h.onPacket(() => {
      throw new Error('listener bug');
    });
    h.onPacket((n) => got.push(n));
    const thrown = new Promise<unknown>((resolve) => {
      const original = queueMicrotask;
      globalThis.queueMicrotask = (fn) => {
        globalThis.queueMicrotask = original;
        try {
          fn();
        } catch (e) {
          resolve(e);
        }
      };
    });
    h.deliver(7);
    expect(got).toEqual([7]);
    expect(((await thrown) as Error).message).toBe('listener bug');
  });

  it('sends receive errors to error listeners and rejects iterators', async () => {
    const { h } = hub();
    const errors: string[] = [];
    h.onError((e) => errors.push(e.code));
    const it = h[Symbol.asyncIterator]();
    h.fail(new NetioError('NETIO_SYSTEM', 'boom'));
    expect(errors).toEqual(['NETIO_SYSTEM']);
    await expect(it.next()).rejects.toThrow('boom');
  });
});

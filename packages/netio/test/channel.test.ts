import { describe, expect, it, vi } from 'vitest';
import { NetioError } from '../src/errors';
import type { NativeItem, NativeSocket } from '../src/linux/addon';
import { NativeChannel } from '../src/linux/channel';

const EAGAIN = 11;
const ENOBUFS = 105;

/** A scripted native socket: `results` are the return values of successive send() calls. */
function fakeSocket(results: number[]) {
  const sent: string[] = [];
  let writable: (() => void) | undefined;
  let reader: ((batch: NativeItem[]) => void) | undefined;
  const socket: NativeSocket = {
    setInt: () => {},
    getInt: () => 0,
    bindDevice: () => {},
    membership: () => {},
    multicastInterface: () => {},
    bindPacket: () => {},
    bindNetlink: () => {},
    send(data) {
      const r = results.length ? (results.shift() as number) : data.length;
      if (r >= 0) sent.push(Buffer.from(data).toString());
      return r;
    },
    startReading(onRead) {
      reader = onRead;
    },
    stopReading() {
      reader = undefined;
    },
    awaitWritable(cb) {
      writable = cb;
    },
    close: vi.fn(),
  };
  return {
    socket,
    sent,
    fireWritable: () => {
      const w = writable;
      writable = undefined;
      w?.();
    },
    read: (batch: NativeItem[]) => reader?.(batch),
    isReading: () => reader !== undefined,
  };
}

function channel(results: number[]) {
  const f = fakeSocket(results);
  const ch = new NativeChannel<string>(
    f.socket,
    { EAGAIN, ENOBUFS },
    (item) => item[0].toString(),
    'test socket',
    'CAP_NET_RAW',
    (e) => new NetioError('NETIO_SYSTEM', String(e)),
  );
  return { ch, ...f };
}

describe('NativeChannel sends', () => {
  it('sends immediately when the kernel takes it', async () => {
    const { ch, sent } = channel([]);
    await ch.send(Buffer.from('a'), '1.2.3.4', 1, undefined);
    expect(sent).toEqual(['a']);
  });

  it('queues on EAGAIN, keeps order, and flushes when writable; nothing is dropped', async () => {
    const { ch, sent, fireWritable } = channel([-EAGAIN]);
    const buf = Buffer.from('a');
    const done: string[] = [];
    const p1 = ch.send(buf, 'x', 1, undefined).then(() => done.push('a'));
    buf.write('z'); // the caller may reuse its buffer: the queued copy is unaffected
    const p2 = ch.send(Buffer.from('b'), 'x', 1, undefined).then(() => done.push('b'));
    await Promise.resolve();
    expect(done).toEqual([]);
    fireWritable();
    await Promise.all([p1, p2]);
    expect(sent).toEqual(['a', 'b']);
    expect(done).toEqual(['a', 'b']);
  });

  it('retries ENOBUFS with backoff', async () => {
    vi.useFakeTimers();
    try {
      const { ch, sent } = channel([-ENOBUFS, -ENOBUFS]);
      const p = ch.send(Buffer.from('a'), 'x', 1, undefined);
      await vi.advanceTimersByTimeAsync(10);
      await p;
      expect(sent).toEqual(['a']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives up on ENOBUFS after 5 s with a typed error', async () => {
    vi.useFakeTimers();
    try {
      const { ch } = channel(Array(1000).fill(-ENOBUFS));
      const p = ch.send(Buffer.from('a'), 'x', 1, undefined);
      const check = expect(p).rejects.toMatchObject({ code: 'NETIO_SYSTEM', details: { errno: 'ENOBUFS' } });
      await vi.advanceTimersByTimeAsync(6000);
      await check;
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects queued sends with NETIO_CLOSED on close, and later sends too', async () => {
    const { ch, socket } = channel([-EAGAIN]);
    const p = ch.send(Buffer.from('a'), 'x', 1, undefined);
    ch.close();
    ch.close();
    await expect(p).rejects.toMatchObject({ code: 'NETIO_CLOSED' });
    await expect(ch.send(Buffer.from('b'), 'x', 1, undefined)).rejects.toMatchObject({
      code: 'NETIO_CLOSED',
    });
    expect(socket.close).toHaveBeenCalledTimes(1);
  });

  it('maps a throwing send to the typed error', async () => {
    const { ch, socket } = channel([]);
    socket.send = () => {
      throw Object.assign(new Error('x'), { code: 'ENETDOWN' });
    };
    await expect(ch.send(Buffer.from('a'), 'x', 1, undefined)).rejects.toBeInstanceOf(NetioError);
  });
});

describe('NativeChannel reads', () => {
  it('polls only while there are readers and decodes batches', () => {
    const { ch, read, isReading } = channel([]);
    expect(isReading()).toBe(false);
    const got: string[] = [];
    const off = ch.hub.onPacket((s) => got.push(s));
    expect(isReading()).toBe(true);
    read([[Buffer.from('p1')], [Buffer.from('p2')]]);
    off();
    expect(isReading()).toBe(false);
    expect(got).toEqual(['p1', 'p2']);
  });
});

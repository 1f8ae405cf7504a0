import { err, ok } from '@proxyha/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  bodyValidator,
  type CmEnvelope,
  cmCodeOfWire,
  decodeCmMessage,
  encodeCmFrame,
  encodeCmMessage,
  FrameDecoder,
  MessageDecoder,
  MessageRegistry,
  wireCodeOf,
} from '../src/codec/index';

const UUID = '564dad79-a7bb-bcc2-55c0-58383c9557c7';
const hello: CmEnvelope = {
  type: 'hello',
  clock: 1_700_000_000_000,
  body: {
    protocol: 1,
    node: { uuid: UUID, name: 'mwg75-2', priority: 1, version: '0.1.0' },
    addresses: ['192.0.2.1'],
  },
};

function registry(): MessageRegistry {
  return new MessageRegistry()
    .register('push')
    .register('ask', (b) =>
      typeof (b as { n?: unknown }).n === 'number'
        ? ok(b)
        : err([{ path: 'n', message: 'must be a number' }]),
    );
}

/** Cuts bytes into chunks at the given positions. */
function chunks(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  return out;
}

const jsonValue = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<unknown>;
const message = fc
  .record(
    {
      type: fc.constantFrom('push', 'ping', 'pong'),
      id: fc.string({ minLength: 1, maxLength: 20 }),
      clock: fc.integer({ min: 0, max: 2 ** 45 }),
      body: fc.dictionary(
        fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'),
        jsonValue,
        { maxKeys: 5 },
      ),
    },
    { requiredKeys: ['type', 'clock', 'body'] },
  )
  .map((m) => (m.type === 'push' ? m : { ...m, body: {} })) as fc.Arbitrary<CmEnvelope>;

describe('frames', () => {
  it('round-trips messages cut anywhere, several per chunk (property)', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (msgs, cuts) => {
          const bytes = Buffer.concat(msgs.map((m) => encodeCmMessage(m)));
          const d = new MessageDecoder({ registry: registry() });
          const got: CmEnvelope[] = [];
          for (const c of chunks(bytes, cuts)) {
            const r = d.push(c);
            expect(r.error).toBeUndefined();
            got.push(...r.messages);
          }
          expect(got).toEqual(JSON.parse(JSON.stringify(msgs)));
          expect(d.midFrame).toBe(false);
        },
      ),
    );
  });

  it('decodes byte by byte and reports a partial frame', () => {
    const bytes = encodeCmMessage(hello);
    const d = new MessageDecoder();
    for (let i = 0; i < bytes.length - 1; i++) expect(d.push(bytes.subarray(i, i + 1)).messages).toEqual([]);
    expect(d.midFrame).toBe(true);
    expect(d.buffered).toBe(bytes.length - 1 - 4);
    expect(d.push(bytes.subarray(bytes.length - 1)).messages).toEqual([hello]);
    expect(d.midFrame).toBe(false);
  });

  it('refuses an oversized length from the prefix alone, and a zero length, and stays broken', () => {
    const d = new FrameDecoder({ maxFrameBytes: 1024 });
    const head = Buffer.alloc(4);
    head.writeUInt32BE(1025);
    const r = d.push(head);
    expect(r.error?.code).toBe('CM_BAD_FRAME');
    expect(r.error?.details).toMatchObject({ length: 1025, maxFrameBytes: 1024 });
    expect(d.push(encodeCmFrame(Buffer.from('{}'))).error?.code).toBe('CM_BAD_FRAME');
    expect(new FrameDecoder().push(Buffer.alloc(4)).error?.code).toBe('CM_BAD_FRAME');
    // the default limit is 64 MiB
    const big = Buffer.alloc(4);
    big.writeUInt32BE(64 * 1024 * 1024 + 1);
    expect(new FrameDecoder().push(big).error?.code).toBe('CM_BAD_FRAME');
    big.writeUInt32BE(64 * 1024 * 1024);
    expect(new FrameDecoder().push(big).error).toBeUndefined();
  });

  it('returns the messages before a bad frame, then the error', () => {
    const bytes = Buffer.concat([
      encodeCmMessage(hello),
      encodeCmFrame(Buffer.from('not json')),
      encodeCmMessage(hello),
    ]);
    const r = new MessageDecoder().push(bytes);
    expect(r.messages).toHaveLength(1);
    expect(r.error?.code).toBe('CM_BAD_FRAME');
  });

  it('encodeCmMessage refuses a message over the limit and a body JSON cannot hold', () => {
    expect(() =>
      encodeCmMessage({ type: 'push', clock: 1, body: { s: 'x'.repeat(2000) } }, { maxFrameBytes: 1000 }),
    ).toThrow(expect.objectContaining({ code: 'CM_BAD_FRAME' }));
    expect(() => encodeCmMessage({ type: 'push', clock: 1, body: { n: 1n } })).toThrow(
      expect.objectContaining({ code: 'CM_BAD_MESSAGE' }),
    );
    expect(() => new FrameDecoder({ maxFrameBytes: 0 })).toThrow(
      expect.objectContaining({ code: 'CM_INVALID_ARGUMENT' }),
    );
  });
});

describe('messages', () => {
  const dec = (v: unknown, r?: MessageRegistry) => decodeCmMessage(Buffer.from(JSON.stringify(v)), r);

  it('accepts the handshake messages and refuses an unknown type with CM_BAD_MESSAGE', () => {
    expect(dec(hello)).toEqual({ ok: true, value: hello });
    const ack = { type: 'hello-ack', clock: 5, body: { ...(hello.body as object), helloClock: 4 } };
    expect(dec(ack).ok).toBe(true);
    expect(dec({ type: 'error', clock: 5, body: { code: 405, text: 'time difference too high' } }).ok).toBe(
      true,
    );
    const r = dec({ type: 'push', clock: 1, body: {} });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('CM_BAD_MESSAGE');
      expect(r.error.details).toMatchObject({ type: 'push' });
    }
    expect(dec({ type: 'push', clock: 1, body: {} }, registry()).ok).toBe(true);
  });

  it('names the path of a bad field', () => {
    const bad = {
      ...hello,
      body: { ...(hello.body as object), node: { uuid: 'X', name: 'n', priority: 1, version: '1' } },
    };
    const r = dec(bad);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('CM_BAD_MESSAGE');
      expect((r.error.details as { issues: { path: string }[] }).issues[0]?.path).toBe('body.node.uuid');
    }
    for (const v of [
      { type: 'hello', body: hello.body },
      { ...hello, clock: -1 },
      { ...hello, body: [] },
      { ...hello, body: null },
      { ...hello, type: 'Hello!' },
      [],
      'text',
      42,
      null,
    ]) {
      const x = dec(v);
      expect(x.ok ? 'ok' : x.error.code).toBe('CM_BAD_MESSAGE');
    }
  });

  it('runs registered validators; a schema becomes one through bodyValidator', () => {
    const reg = registry().register('sized', bodyValidator(z.object({ size: z.number().int() })));
    expect(dec({ type: 'ask', clock: 1, body: { n: 2 } }, reg).ok).toBe(true);
    const a = dec({ type: 'ask', clock: 1, body: { n: 'x' } }, reg);
    expect(!a.ok && (a.error.details as { issues: { path: string }[] }).issues[0]?.path).toBe('body.n');
    const s = dec({ type: 'sized', clock: 1, body: { size: 1.5 } }, reg);
    expect(!s.ok && (s.error.details as { issues: { path: string }[] }).issues[0]?.path).toBe('body.size');
    const thrower = new MessageRegistry().register('boom', () => {
      throw new Error('bug');
    });
    expect(dec({ type: 'boom', clock: 1, body: {} }, thrower)).toMatchObject({
      ok: false,
      error: { code: 'CM_BAD_MESSAGE' },
    });
    expect(() => new MessageRegistry().register('hello')).toThrow(
      expect.objectContaining({ code: 'CM_INVALID_ARGUMENT' }),
    );
    expect(() => new MessageRegistry().register('Bad Name')).toThrow(
      expect.objectContaining({ code: 'CM_INVALID_ARGUMENT' }),
    );
    expect(reg.has('sized')).toBe(true);
  });

  it('refuses a payload that is not UTF-8 JSON with CM_BAD_FRAME', () => {
    expect(decodeCmMessage(Buffer.from([0xff, 0xfe, 0x7b]))).toMatchObject({
      ok: false,
      error: { code: 'CM_BAD_FRAME' },
    });
    expect(decodeCmMessage(Buffer.from('{"type":'))).toMatchObject({
      ok: false,
      error: { code: 'CM_BAD_FRAME' },
    });
  });

  it('maps wire numbers and codes both ways', () => {
    expect(wireCodeOf('CM_CANNOT_CONNECT')).toBe(301);
    expect(wireCodeOf('CM_TIME_DIFFERENCE_TOO_HIGH')).toBe(405);
    expect(wireCodeOf('CM_STORE')).toBe(500);
    expect(cmCodeOfWire(405)).toBe('CM_TIME_DIFFERENCE_TOO_HIGH');
    expect(cmCodeOfWire(426)).toBe('CM_INCOMPATIBLE_VERSION');
    expect(cmCodeOfWire(999)).toBe('CM_CANNOT_CONNECT');
  });

  it('never throws on random bytes: messages or a typed error (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }), (parts) => {
        const d = new MessageDecoder({ registry: registry(), maxFrameBytes: 4096 });
        for (const p of parts) {
          const r = d.push(p);
          if (r.error) expect(['CM_BAD_FRAME', 'CM_BAD_MESSAGE']).toContain(r.error.code);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on mutated valid frames (property)', () => {
    const base = Buffer.concat([
      encodeCmMessage(hello),
      encodeCmMessage({ type: 'push', id: 'r1', clock: 9, body: { a: [1, 2] } }),
    ]);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        (muts) => {
          const bytes = Buffer.from(base);
          for (const [at, v] of muts) bytes[at] = v;
          const r = new MessageDecoder({ registry: registry(), maxFrameBytes: 1 << 20 }).push(bytes);
          if (r.error) expect(['CM_BAD_FRAME', 'CM_BAD_MESSAGE']).toContain(r.error.code);
          for (const m of r.messages) expect(typeof m.type).toBe('string');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('random JSON values as envelopes are typed errors, never throws (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = decodeCmMessage(Buffer.from(JSON.stringify(v) ?? 'null'), registry());
        if (!r.ok) expect(['CM_BAD_FRAME', 'CM_BAD_MESSAGE']).toContain(r.error.code);
      }),
      { numRuns: 300 },
    );
  });
});

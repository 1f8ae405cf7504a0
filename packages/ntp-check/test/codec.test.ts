import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createRequest,
  decodePacket,
  describeReferenceId,
  encodePacket,
  type NtpPacket,
  referenceIdAscii,
} from '../src/codec/packet';
import { NtpError } from '../src/errors';

const vector = JSON.parse(
  readFileSync(new URL('./vectors/chrony-4.3-local-stratum-8.json', import.meta.url), 'utf8'),
) as { request: string; reply: string };

// A real chronyd 4.3 reply (local stratum 8), see vectors/.
const chronyReply = Buffer.from(vector.reply, 'hex');

const packetArb: fc.Arbitrary<NtpPacket> = fc.record({
  leap: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const),
  version: fc.integer({ min: 0, max: 7 }),
  mode: fc.integer({ min: 0, max: 7 }),
  stratum: fc.integer({ min: 0, max: 255 }),
  poll: fc.integer({ min: -128, max: 127 }),
  precision: fc.integer({ min: -128, max: 127 }),
  rootDelay: fc.integer({ min: 0, max: 0xffffffff }).map((r) => r / 65536),
  rootDispersion: fc.integer({ min: 0, max: 0xffffffff }).map((r) => r / 65536),
  referenceId: fc.integer({ min: 0, max: 0xffffffff }),
  referenceTimestamp: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  originateTimestamp: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  receiveTimestamp: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  transmitTimestamp: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  trailer: fc.integer({ min: 0, max: 6 }).chain((w) => fc.uint8Array({ minLength: w * 4, maxLength: w * 4 })),
});

describe('codec', () => {
  it('decodes every header field of a real chronyd reply', () => {
    const r = decodePacket(chronyReply);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toEqual({
      leap: 0,
      version: 4,
      mode: 4,
      stratum: 8,
      poll: 0,
      precision: -26,
      rootDelay: 0,
      rootDispersion: 0,
      referenceId: 0x7f7f0101,
      referenceTimestamp: 0xeeabcc0ecb675d60n,
      originateTimestamp: 0x1122334455667788n,
      receiveTimestamp: 0xeeabcc10254e820fn,
      transmitTimestamp: 0xeeabcc102552925an,
      trailer: new Uint8Array(0),
    });
    expect(describeReferenceId(r.value)).toBe('127.127.1.1');
  });

  it('encodes the request of the captured exchange byte for byte', () => {
    expect(Buffer.from(encodePacket(createRequest(0x1122334455667788n))).toString('hex')).toBe(
      vector.request,
    );
  });

  it('round-trips any packet byte for byte', () => {
    fc.assert(
      fc.property(packetArb, (p) => {
        const bytes = encodePacket(p);
        expect(bytes.length).toBe(48 + p.trailer.length);
        const back = decodePacket(bytes);
        expect(back.ok).toBe(true);
        if (back.ok) {
          expect(back.value).toEqual(p);
          expect(Buffer.from(encodePacket(back.value)).equals(Buffer.from(bytes))).toBe(true);
        }
      }),
    );
  });

  it('re-encodes a real reply byte for byte', () => {
    const r = decodePacket(chronyReply);
    expect(r.ok && Buffer.from(encodePacket(r.value)).equals(chronyReply)).toBe(true);
  });

  it('rejects short packets with NTP_TRUNCATED and their length in details', () => {
    for (const n of [0, 1, 47]) {
      const r = decodePacket(new Uint8Array(n));
      expect(r.ok ? 'ok' : r.error.code).toBe('NTP_TRUNCATED');
      expect(r.ok ? undefined : r.error.details).toEqual({ length: n });
    }
  });

  it('rejects lengths that are not a multiple of 4 with NTP_BAD_LENGTH', () => {
    for (const n of [49, 50, 51, 69]) {
      const r = decodePacket(new Uint8Array(n));
      expect(r.ok ? 'ok' : r.error.code).toBe('NTP_BAD_LENGTH');
    }
  });

  it('never throws on arbitrary bytes, and mutated packets decode or fail with a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = decodePacket(bytes);
        if (!r.ok) expect(r.error).toBeInstanceOf(NtpError);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 47 }), fc.integer({ min: 0, max: 255 }), (i, v) => {
        const b = Buffer.from(chronyReply);
        b[i] = v;
        expect(decodePacket(b).ok).toBe(true);
      }),
    );
  });

  it('decodes a subarray view at a non-zero offset', () => {
    const big = new Uint8Array(100);
    big.set(chronyReply, 4);
    const r = decodePacket(big.subarray(4, 52));
    expect(r.ok && r.value.stratum).toBe(8);
  });

  it('refuses out-of-range fields when encoding, with NTP_INVALID_ARGUMENT naming the field', () => {
    const base = createRequest(1n);
    const bad: Partial<NtpPacket>[] = [
      { version: 8 },
      { mode: -1 },
      { stratum: 256 },
      { poll: 128 },
      { precision: 1.5 },
      { rootDelay: 65536 },
      { rootDispersion: -1 },
      { referenceId: 2 ** 32 },
      { transmitTimestamp: 1n << 64n },
      { trailer: new Uint8Array(3) },
    ];
    for (const patch of bad) {
      const field = Object.keys(patch)[0] as string;
      expect(() => encodePacket({ ...base, ...patch })).toThrowError(
        expect.objectContaining({
          code: 'NTP_INVALID_ARGUMENT',
          details: expect.objectContaining({
            field,
            issues: [{ path: field, message: expect.stringMatching(/^(must|length must)/) }],
          }),
        }),
      );
    }
  });

  it('builds a client request: mode 3, version 4, only the nonce set', () => {
    const bytes = encodePacket(createRequest(0x0102030405060708n));
    expect(bytes[0]).toBe(0x23); // LI 0, VN 4, mode 3
    expect(Buffer.from(bytes.subarray(1, 40)).every((b) => b === 0)).toBe(true);
    expect(Buffer.from(bytes.subarray(40)).toString('hex')).toBe('0102030405060708');
    expect(encodePacket(createRequest(5n, 3))[0]).toBe(0x1b);
    expect(() => createRequest(0n)).toThrowError(
      expect.objectContaining({
        code: 'NTP_INVALID_ARGUMENT',
        message: 'invalid NTP packet field: nonce: must not be zero',
      }),
    );
    expect(() => createRequest(0n)).toThrow(NtpError);
  });

  it('renders reference IDs', () => {
    expect(referenceIdAscii(0x52415445)).toBe('RATE');
    expect(referenceIdAscii(0x47505300)).toBe('GPS');
    expect(referenceIdAscii(0x00000001)).toBeUndefined();
    expect(describeReferenceId({ stratum: 1, referenceId: 0x4c4f434c })).toBe('LOCL');
    expect(describeReferenceId({ stratum: 3, referenceId: 0xc0000201 })).toBe('192.0.2.1');
    expect(describeReferenceId({ stratum: 0, referenceId: 1 })).toBe('0x00000001');
  });
});

import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import type { Result } from '@proxyha/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeVrrp,
  decodeVrrpIpPacket,
  encodeVrrp,
  encodeVrrpIpPacket,
  VRRP_DROP_CODES,
  type VrrpAdvert,
  type VrrpChecksumMode,
  type VrrpDecodeContext,
  VrrpError,
  type VrrpIpDecoded,
  type VrrpIpEncodeOptions,
} from '../src/index';

/* ------------------------------------ arbitraries ------------------------------------ */

const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6();
const norm6 = (a: string) => new SocketAddress({ address: a, family: 'ipv6' }).address;
/** Same address? (compares bytes through Node's inet_pton/inet_ntop) */
const sameAddr = (family: 'ipv4' | 'ipv6', a: string, b: string) =>
  family === 'ipv4' ? a === b : norm6(a) === norm6(b);

const password = fc
  .uint8Array({ minLength: 0, maxLength: 8 })
  .filter((p) => p.length === 0 || p[p.length - 1] !== 0); // zero padding is stripped on decode

const v2Advert: fc.Arbitrary<VrrpAdvert> = fc.record({
  version: fc.constant(2 as const),
  family: fc.constant('ipv4' as const),
  vrid: fc.integer({ min: 1, max: 255 }),
  priority: fc.integer({ min: 0, max: 255 }),
  addresses: fc.array(ipv4, { maxLength: 255, size: 'small' }),
  advertIntervalSec: fc.integer({ min: 1, max: 255 }),
  auth: fc.oneof(
    fc.constant({ type: 'none' as const }),
    password.map((p) => ({ type: 'simple' as const, password: p })),
  ),
});

const v3Advert = (family: 'ipv4' | 'ipv6'): fc.Arbitrary<VrrpAdvert> =>
  fc.record({
    version: fc.constant(3 as const),
    family: fc.constant(family),
    vrid: fc.integer({ min: 1, max: 255 }),
    priority: fc.integer({ min: 0, max: 255 }),
    addresses: fc.array(family === 'ipv4' ? ipv4 : ipv6, { maxLength: 255, size: 'small' }),
    maxAdvertIntervalCs: fc.integer({ min: 1, max: 4095 }),
  });

interface Case {
  advert: VrrpAdvert;
  source: string;
  destination: string;
  checksumMode: VrrpChecksumMode;
}

const caseArb: fc.Arbitrary<Case> = fc.oneof(
  fc.record({
    advert: v2Advert,
    source: ipv4,
    destination: fc.oneof(fc.constant('224.0.0.18'), ipv4),
    checksumMode: fc.constant('vrrp-only' as const),
  }),
  fc.record({
    advert: v3Advert('ipv4'),
    source: ipv4,
    destination: fc.oneof(fc.constant('224.0.0.18'), ipv4),
    checksumMode: fc.constantFrom(
      'pseudo-header' as const,
      'vrrp-only' as const,
      'pseudo-header-group' as const,
    ),
  }),
  fc.record({
    advert: v3Advert('ipv6'),
    source: ipv6,
    destination: fc.oneof(fc.constant('ff02::12'), ipv6),
    checksumMode: fc.constant('pseudo-header' as const),
  }),
);

const ipOptions = (c: Case): fc.Arbitrary<VrrpIpEncodeOptions> =>
  fc.record({
    source: fc.constant(c.source),
    destination: fc.constant(c.destination),
    checksumMode: fc.constant(c.checksumMode),
    tos: fc.integer({ min: 0, max: 255 }),
    id: fc.integer({ min: 0, max: 0xffff }),
    dontFragment: fc.boolean(),
    trafficClass: fc.integer({ min: 0, max: 255 }),
    flowLabel: fc.integer({ min: 0, max: 0xfffff }),
  });

/* ------------------------------------- helpers ------------------------------------- */

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function expectAddressesEqual(family: 'ipv4' | 'ipv6', got: readonly string[], want: readonly string[]) {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    expect(sameAddr(family, g, want[i]!)).toBe(true);
  });
}

function expectSameAdvert(got: VrrpAdvert, want: VrrpAdvert) {
  const { addresses: ga, ...gRest } = got;
  const { addresses: wa, ...wRest } = want;
  expect(gRest).toEqual(wRest.version === 2 ? { ...wRest, auth: wRest.auth ?? { type: 'none' } } : wRest);
  expectAddressesEqual(want.family, ga, wa);
}

/** The decoder contract: a result, and on failure a VrrpError with a known code, never BAD_CONTEXT. */
function expectTyped<T>(run: () => Result<T, VrrpError>): Result<T, VrrpError> {
  let r: Result<T, VrrpError>;
  try {
    r = run();
  } catch (e) {
    throw new Error(`decoder threw: ${String(e)}`);
  }
  if (!r.ok) {
    expect(r.error).toBeInstanceOf(VrrpError);
    expect(VRRP_DROP_CODES).toContain(r.error.code);
    expect(r.error.code).not.toBe('VRRP_BAD_CONTEXT'); // the contexts here are valid: this would be a decoder bug
  }
  return r;
}

/** Whether the fields the decoder ignores (v3 reserved bits, v2 auth data with type 0) are zero. */
function ignoredFieldsZero(msg: Uint8Array): boolean {
  if (msg.length < 8) return true;
  if (msg[0]! >> 4 === 3) return (msg[4]! & 0xf0) === 0;
  if (msg[0]! >> 4 === 2 && msg[4] === 0) return msg.subarray(msg.length - 8).every((b) => b === 0);
  return true;
}

/** Anything the IP decoder accepts must re-encode to exactly the bytes it read (bar ignored fields). */
function expectReencodes(input: Uint8Array, d: VrrpIpDecoded) {
  const ipLen = d.ip.version === 4 ? d.ip.totalLength : 40 + d.ip.payloadLength;
  const hdr = d.ip.version === 4 ? d.ip.headerLength : 40;
  const again = encodeVrrpIpPacket(d.advert, { ...d.ip, checksumMode: d.checksumMode });
  if (hdr === 20 || hdr === 40) {
    if (ignoredFieldsZero(input.subarray(hdr, ipLen))) expect(hex(again)).toBe(hex(input.subarray(0, ipLen)));
    else expect(again.length).toBe(ipLen);
  }
}

/* -------------------------------------- properties -------------------------------------- */

describe('round trip of random valid adverts', () => {
  it('decodeVrrp(encodeVrrp(a)) === a, v2 and v3, IPv4 and IPv6, 0..255 addresses, every checksum form', () => {
    let differentForm = 0;
    fc.assert(
      fc.property(caseArb, (c) => {
        const bytes = encodeVrrp(c.advert, c);
        const ctx: VrrpDecodeContext = {
          family: c.advert.family,
          source: c.source,
          destination: c.destination,
          ttl: 255,
        };
        const r = decodeVrrp(bytes, ctx);
        if (!r.ok) throw r.error;
        expectSameAdvert(r.value.advert, c.advert);
        expect(r.value.checksum).toBe((bytes[6]! << 8) | bytes[7]!);
        // The reported form is one the bytes verify under (several can coincide, e.g. the group
        // form when sent to the group): re-encoding with it reproduces the bytes exactly.
        if (r.value.checksumMode !== c.checksumMode) differentForm++;
        expect(hex(encodeVrrp(r.value.advert, { ...c, checksumMode: r.value.checksumMode }))).toBe(
          hex(bytes),
        );
      }),
      { numRuns: 400 },
    );
    expect(differentForm).toBeLessThan(400);
  });

  it('decodeVrrpIpPacket(encodeVrrpIpPacket(a)) gives back the advert and every header field', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) => fc.tuple(fc.constant(c), ipOptions(c))),
        ([c, opts]) => {
          const pkt = encodeVrrpIpPacket(c.advert, opts);
          const r = decodeVrrpIpPacket(pkt);
          if (!r.ok) throw r.error;
          const d = r.value;
          expectSameAdvert(d.advert, c.advert);
          expect(sameAddr(c.advert.family, d.source, c.source)).toBe(true);
          expect(sameAddr(c.advert.family, d.destination, c.destination)).toBe(true);
          if (d.ip.version === 4) {
            expect(d.ip).toMatchObject({
              tos: opts.tos,
              id: opts.id,
              dontFragment: opts.dontFragment,
              ttl: 255,
            });
          } else {
            expect(d.ip).toMatchObject({
              trafficClass: opts.trafficClass,
              flowLabel: opts.flowLabel,
              hopLimit: 255,
            });
          }
          expectReencodes(pkt, d);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('formats IPv6 addresses as inet_ntop does (RFC 5952)', () => {
    fc.assert(
      fc.property(ipv6, (a) => {
        const bytes = encodeVrrp(
          { version: 3, family: 'ipv6', vrid: 1, priority: 1, addresses: [a], maxAdvertIntervalCs: 1 },
          { source: '::1' },
        );
        const r = decodeVrrp(bytes, { family: 'ipv6', source: '::1', destination: 'ff02::12' });
        if (!r.ok) throw r.error;
        const mine = r.value.advert.addresses[0]!;
        const oracle = norm6(a);
        // libuv also prints the deprecated IPv4-compatible ::a.b.c.d form; RFC 5952 and tshark do not.
        if (!/^::\d+\.\d+\.\d+\.\d+$/.test(oracle)) expect(mine).toBe(oracle);
        expect(norm6(mine)).toBe(oracle);
      }),
      { numRuns: 500 },
    );
  });
  it('accepts exactly the address texts Node accepts (net.isIPv6 / net.isIPv4)', () => {
    const accepts = (family: 'ipv4' | 'ipv6', text: string) => {
      try {
        encodeVrrp(
          family === 'ipv4'
            ? { version: 2, family, vrid: 1, priority: 1, addresses: [text], advertIntervalSec: 1 }
            : { version: 3, family, vrid: 1, priority: 1, addresses: [text], maxAdvertIntervalCs: 1 },
          { source: family === 'ipv4' ? '10.0.0.1' : '::1' },
        );
        return true;
      } catch {
        return false;
      }
    };
    const text6 = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:::...'), maxLength: 45 });
    fc.assert(
      fc.property(
        fc.oneof(
          text6,
          ipv6,
          ipv6.map((a) => a.replace(':', '::')),
        ),
        (t) => {
          expect(accepts('ipv6', t)).toBe(isIPv6(t));
        },
      ),
      { numRuns: 5000 },
    );
    const text4 = fc.string({ unit: fc.constantFrom(...'0123456789.'), maxLength: 16 });
    fc.assert(
      fc.property(fc.oneof(text4, ipv4, fc.ipV4Extended()), (t) => {
        expect(accepts('ipv4', t)).toBe(isIPv4(t));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('hostile input only ever produces typed errors', () => {
  const anyCtx: fc.Arbitrary<VrrpDecodeContext> = fc.oneof(
    fc.record({
      family: fc.constant('ipv4' as const),
      source: ipv4,
      destination: ipv4,
      ttl: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
      v3Ipv4Checksum: fc.constantFrom(
        'any' as const,
        'pseudo-header' as const,
        'vrrp-only' as const,
        'pseudo-header-group' as const,
      ),
    }),
    fc.record({
      family: fc.constant('ipv6' as const),
      source: ipv6,
      destination: ipv6,
      ttl: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    }),
  );

  it('random bytes as a VRRP payload', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), anyCtx, (b, ctx) => {
        expectTyped(() => decodeVrrp(b, ctx));
      }),
      { numRuns: 1000 },
    );
  });

  it('random bytes as an IP packet, including ones that look like IPv4/IPv6 + VRRP', () => {
    const looksLikeIp = fc
      .tuple(fc.constantFrom(0x45, 0x46, 0x60, 0x6c), fc.uint8Array({ minLength: 20, maxLength: 200 }))
      .map(([first, rest]) => {
        const b = Uint8Array.from(rest);
        b[0] = first;
        return b;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), looksLikeIp), (b) => {
        const r = expectTyped(() => decodeVrrpIpPacket(b));
        if (r.ok) expectReencodes(b, r.value);
      }),
      { numRuns: 1000 },
    );
  });

  it('VRRP messages with random header fields and a correct checksum: accepted ones re-encode exactly', () => {
    // Reaches the checks behind the checksum: version, type, count vs length, VRID, interval, auth.
    const raw = fc.record({
      first: fc.oneof(fc.constantFrom(0x21, 0x31), fc.integer({ min: 0, max: 255 })),
      vrid: fc.integer({ min: 0, max: 255 }),
      prio: fc.integer({ min: 0, max: 255 }),
      count: fc.integer({ min: 0, max: 4 }),
      b4: fc.oneof(fc.constantFrom(0, 1, 2, 3), fc.integer({ min: 0, max: 255 })),
      b5: fc.integer({ min: 0, max: 255 }),
      body: fc.uint8Array({ maxLength: 80 }),
      lengthFix: fc.boolean(),
      family: fc.constantFrom('ipv4' as const, 'ipv6' as const),
      checksumMode: fc.constantFrom('pseudo-header' as const, 'vrrp-only' as const),
    });
    fc.assert(
      fc.property(raw, (o) => {
        const addrLen = o.family === 'ipv4' ? 4 : 16;
        const expectedLen = 8 + o.count * addrLen + (o.first >> 4 === 2 ? 8 : 0);
        const len = o.lengthFix ? expectedLen : 8 + o.body.length;
        const msg = new Uint8Array(len);
        msg.set([o.first, o.vrid, o.prio, o.count, o.b4, o.b5, 0, 0]);
        msg.set(o.body.subarray(0, len - 8), 8);
        const source = o.family === 'ipv4' ? '10.0.0.1' : 'fe80::1';
        const destination = o.family === 'ipv4' ? '224.0.0.18' : 'ff02::12';
        // Set a checksum the way a sender would, with an independent implementation.
        const pseudo =
          o.checksumMode === 'vrrp-only' && o.family === 'ipv4'
            ? []
            : o.family === 'ipv4'
              ? [10, 0, 0, 1, 224, 0, 0, 18, 0, 112, len >> 8, len & 0xff]
              : [
                  ...[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                  ...[0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12],
                  ...[0, 0, len >> 8, len & 0xff, 0, 0, 0, 112],
                ];
        const all = [...pseudo, ...msg];
        let s = 0;
        for (let i = 0; i < all.length; i += 2) s += (all[i]! << 8) | (all[i + 1] ?? 0);
        while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
        const ck = ~s & 0xffff;
        msg[6] = ck >> 8;
        msg[7] = ck & 0xff;
        const r = expectTyped(() => decodeVrrp(msg, { family: o.family, source, destination }));
        if (r.ok && ignoredFieldsZero(msg)) {
          const again = encodeVrrp(r.value.advert, {
            source,
            destination,
            checksumMode: r.value.checksumMode,
          });
          expect(hex(again)).toBe(hex(msg));
        }
      }),
      { numRuns: 2000 },
    );
  });

  const validPacket = caseArb.chain((c) => ipOptions(c).map((o) => encodeVrrpIpPacket(c.advert, o)));

  it('bit flips of valid packets', () => {
    fc.assert(
      fc.property(validPacket, fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), (pkt, flips) => {
        const b = Uint8Array.from(pkt);
        for (const f of flips) b[(f >> 3) % b.length]! ^= 1 << (f & 7);
        const r = expectTyped(() => decodeVrrpIpPacket(b));
        if (r.ok) expectReencodes(b, r.value);
      }),
      { numRuns: 1000 },
    );
  });

  it('a single bit flip in an IPv4 VRRP packet is always caught (both checksums cover every bit)', () => {
    const v4Packet = caseArb
      .filter((c) => c.advert.family === 'ipv4')
      .chain((c) =>
        ipOptions(c).map((o) =>
          encodeVrrpIpPacket(c.advert, {
            ...o,
            checksumMode: c.advert.version === 3 ? 'pseudo-header' : 'vrrp-only',
          }),
        ),
      );
    fc.assert(
      fc.property(v4Packet, fc.nat(), (pkt, f) => {
        const b = Uint8Array.from(pkt);
        b[(f >> 3) % b.length]! ^= 1 << (f & 7);
        const r = expectTyped(() => decodeVrrpIpPacket(b, { v3Ipv4Checksum: 'pseudo-header' }));
        expect(r.ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('truncated and extended valid packets', () => {
    fc.assert(
      fc.property(
        validPacket,
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        (pkt, cut, extra) => {
          const truncated = pkt.subarray(0, cut % pkt.length);
          expect(expectTyped(() => decodeVrrpIpPacket(truncated)).ok).toBe(false);
          // Trailing bytes after the IP length are link padding and ignored; inside the VRRP payload they are not.
          const padded = Buffer.concat([pkt, extra]);
          expect(expectTyped(() => decodeVrrpIpPacket(padded)).ok).toBe(true);
          const hdr = pkt[0]! >> 4 === 4 ? 20 : 40;
          const payload = pkt.subarray(hdr);
          const family = pkt[0]! >> 4 === 4 ? ('ipv4' as const) : ('ipv6' as const);
          const d = decodeVrrpIpPacket(pkt);
          if (!d.ok) throw d.error;
          const ctx = { family, source: d.value.source, destination: d.value.destination };
          const longer = expectTyped(() => decodeVrrp(Buffer.concat([payload, extra]), ctx));
          expect(longer.ok ? 'accepted' : longer.error.code).toBe('VRRP_BAD_LENGTH');
          const shorter = expectTyped(() => decodeVrrp(payload.subarray(0, cut % payload.length), ctx));
          expect(shorter.ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});

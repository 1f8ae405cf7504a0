import type { Result } from '@proxyha/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ArpPacket,
  decodeArp,
  decodeEthernet,
  decodeFrame,
  decodeNeighborAdvertisement,
  encodeArp,
  encodeEthernet,
  encodeFrame,
  encodeNeighborAdvertisement,
  GarpError,
  type GarpFrame,
  gratuitousArp,
  isGratuitousArp,
  unsolicitedNeighborAdvertisement,
} from '../src/index';
import { fromHex, vector } from './helpers';

const mac = fc
  .uint8Array({ minLength: 6, maxLength: 6 })
  .map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
const ipv4 = fc.ipV4();
const unicastV6 = fc
  .uint8Array({ minLength: 16, maxLength: 16 })
  .filter((b) => b[0] !== 0xff)
  .map((b) => {
    const g: string[] = [];
    for (let i = 0; i < 16; i += 2) g.push((((b[i] as number) << 8) | (b[i + 1] as number)).toString(16));
    return g.join(':');
  });

const arpPacket: fc.Arbitrary<ArpPacket> = fc.record({
  operation: fc.constantFrom('request' as const, 'reply' as const),
  senderMac: mac,
  senderIp: ipv4,
  targetMac: mac,
  targetIp: ipv4,
});

const naFrame = fc.record({
  dstMac: mac,
  srcMac: mac,
  src: unicastV6,
  dst: fc.oneof(unicastV6, fc.constant('ff02::1')),
  trafficClass: fc.integer({ min: 0, max: 255 }),
  flowLabel: fc.integer({ min: 0, max: 0xfffff }),
  router: fc.boolean(),
  solicited: fc.boolean(),
  override: fc.boolean(),
  target: unicastV6,
  tlla: fc.option(mac, { nil: undefined }),
});

function expectOk<T>(r: Result<T, GarpError>): T {
  if (!r.ok) throw r.error;
  return r.value;
}

function expectCode(r: Result<unknown, GarpError>, code: string) {
  if (r.ok) throw new Error(`decoded, expected ${code}`);
  expect(r.error).toBeInstanceOf(GarpError);
  expect(r.error.code).toBe(code);
  expect(typeof r.error.details.offset).toBe('number');
}

/** Decoding must never throw, and a failure must be a GarpError with a GARP_ code. */
function decodesSafely(bytes: Uint8Array) {
  for (const decode of [decodeFrame, decodeArp, decodeNeighborAdvertisement, decodeEthernet] as const) {
    const r = decode(bytes);
    if (!r.ok) {
      expect(r.error).toBeInstanceOf(GarpError);
      expect(r.error.code).toMatch(/^GARP_[A-Z_]+$/);
    }
  }
}

describe('ARP codec', () => {
  it('round-trips any Ethernet/IPv4 ARP packet, alone and in a frame', () => {
    fc.assert(
      fc.property(arpPacket, mac, mac, (p, dst, src) => {
        expect(expectOk(decodeArp(encodeArp(p)))).toEqual(p);
        const f = expectOk(decodeFrame(encodeFrame({ kind: 'arp', ethernet: { dst, src }, arp: p })));
        expect(f).toEqual({ kind: 'arp', ethernet: { dst, src }, arp: p });
      }),
    );
  });

  it('accepts Ethernet padding up to 60 bytes but not trailing bytes in longer frames', () => {
    const bytes = fromHex(vector('ka-garp-request').hex);
    const padded = new Uint8Array(60);
    padded.set(bytes);
    padded.fill(0xaa, 42);
    expect(expectOk(decodeFrame(padded))).toEqual(expectOk(decodeFrame(bytes)));
    const long = new Uint8Array(61);
    long.set(bytes);
    expectCode(decodeFrame(long), 'GARP_TRAILING_BYTES');
    expectCode(decodeArp(padded.subarray(14)), 'GARP_TRAILING_BYTES');
  });

  it('rejects each malformed header field with its own code and offset', () => {
    const good = fromHex(vector('ka-garp-request').hex);
    const cases: [number, number, string][] = [
      [15, 6, 'GARP_BAD_HARDWARE'], // htype 6 (IEEE 802)
      [17, 0xdd, 'GARP_BAD_PROTOCOL'], // ptype 0x08dd
      [18, 8, 'GARP_BAD_HARDWARE'], // hlen
      [19, 16, 'GARP_BAD_PROTOCOL'], // plen
      [21, 3, 'GARP_BAD_OPCODE'], // RARP request
    ];
    for (const [offset, value, code] of cases) {
      const b = Uint8Array.from(good);
      b[offset] = value;
      const r = decodeFrame(b);
      expectCode(r, code);
      expect(r.ok ? -1 : r.error.details.offset).toBeLessThanOrEqual(offset);
      expect(r.ok ? -1 : r.error.details.offset).toBeGreaterThanOrEqual(14);
    }
    expectCode(decodeFrame(good.subarray(0, 41)), 'GARP_TRUNCATED');
    expectCode(decodeFrame(good.subarray(0, 13)), 'GARP_TRUNCATED');
    const ipv4Type = Uint8Array.from(good);
    ipv4Type[13] = 0x00; // 0x0800 IPv4
    expectCode(decodeFrame(ipv4Type), 'GARP_BAD_ETHERTYPE');
    const lengthField = Uint8Array.from(good);
    lengthField[12] = 0x00; // 802.3 length
    lengthField[13] = 0x2e;
    expectCode(decodeEthernet(lengthField), 'GARP_BAD_ETHERTYPE');
  });

  it('tells gratuitous ARP requests and replies from ordinary ones as Linux does', () => {
    const req = gratuitousArp({ mac: '02:00:00:00:00:01', ip: '10.0.0.1' }).arp;
    const rep = gratuitousArp({ mac: '02:00:00:00:00:01', ip: '10.0.0.1', operation: 'reply' }).arp;
    expect(isGratuitousArp(req)).toBe(true);
    expect(isGratuitousArp(rep)).toBe(true);
    expect(rep.targetMac).toBe('02:00:00:00:00:01');
    expect(isGratuitousArp({ ...rep, targetMac: 'ff:ff:ff:ff:ff:ff' })).toBe(false);
    expect(isGratuitousArp({ ...req, targetIp: '10.0.0.2' })).toBe(false);
  });

  it('throws typed errors for invalid input to the encoder', () => {
    const p = gratuitousArp({ mac: '02:00:00:00:00:01', ip: '10.0.0.1' }).arp;
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(GarpError);
        return (e as GarpError).code;
      }
      return 'no error';
    };
    expect(codeOf(() => encodeArp({ ...p, senderMac: '02:00:00:00:00' }))).toBe('GARP_BAD_MAC');
    expect(codeOf(() => encodeArp({ ...p, senderIp: '10.0.0.256' }))).toBe('GARP_BAD_IPV4');
    expect(codeOf(() => encodeArp({ ...p, targetIp: '010.0.0.1' }))).toBe('GARP_BAD_IPV4');
    expect(codeOf(() => encodeArp({ ...p, operation: 'nak' as never }))).toBe('GARP_BAD_OPCODE');
    expect(
      codeOf(() => encodeEthernet({ dst: 'ff:ff:ff:ff:ff:ff', src: 'x' }, 0x0806, new Uint8Array())),
    ).toBe('GARP_BAD_MAC');
    expect(
      codeOf(() =>
        encodeEthernet({ dst: 'ff:ff:ff:ff:ff:ff', src: 'ff:ff:ff:ff:ff:ff' }, 46, new Uint8Array()),
      ),
    ).toBe('GARP_INVALID_ARGUMENT');
    expect(codeOf(() => gratuitousArp({ mac: '02:00:00:00:00:01', ip: 'fd77::1' }))).toBe('GARP_BAD_IPV4');
  });
});

describe('Neighbor Advertisement codec', () => {
  it('round-trips any advertisement, and the checksum it computes verifies', () => {
    fc.assert(
      fc.property(naFrame, (n) => {
        fc.pre(!(n.solicited && n.dst === 'ff02::1'));
        const init = {
          src: n.src,
          dst: n.dst,
          hopLimit: 255,
          trafficClass: n.trafficClass,
          flowLabel: n.flowLabel,
          router: n.router,
          solicited: n.solicited,
          override: n.override,
          target: n.target,
          targetLinkLayerAddress: n.tlla,
        };
        const ip = encodeNeighborAdvertisement(init);
        const back = expectOk(decodeNeighborAdvertisement(ip));
        const { checksum, ...rest } = back;
        const canon = (a: string) =>
          expectOk(decodeNeighborAdvertisement(encodeNeighborAdvertisement({ target: 'fd00::1', src: a })))
            .src;
        expect(rest).toEqual({ ...init, src: canon(n.src), dst: canon(n.dst), target: canon(n.target) });
        expect(checksum).toBe((ip[42] as number) * 256 + (ip[43] as number));
        const frame: GarpFrame = expectOk(
          decodeFrame(encodeFrame({ kind: 'na', ethernet: { dst: n.dstMac, src: n.srcMac }, na: init })),
        );
        expect(frame.kind === 'na' && frame.na).toEqual(back);
      }),
    );
  });

  it('formats addresses in RFC 5952 canonical form', () => {
    const cases: [string, string][] = [
      ['FD77:0000:0000:0000:0000:0000:0000:0074', 'fd77::74'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::', 'fe80::'],
      ['::ffff:192.168.77.74', '::ffff:192.168.77.74'], // IPv4-mapped: mixed notation (RFC 5952 section 5)
      ['::FFFF:C0A8:4D4A', '::ffff:192.168.77.74'],
    ];
    for (const [input, want] of cases)
      expect(
        expectOk(decodeNeighborAdvertisement(encodeNeighborAdvertisement({ target: input, src: 'fe80::1' })))
          .target,
      ).toBe(want);
  });

  it('rejects bad IPv6 text with GARP_BAD_IPV6', () => {
    for (const bad of [
      'fd77::74::1',
      'fd77:74',
      '1:2:3:4:5:6:7:8:9',
      'fe80::1%eth0',
      'g::1',
      '12345::',
      ':1::',
      '::1.2.3.256',
    ])
      expect(() => encodeNeighborAdvertisement({ target: bad })).toThrow(
        expect.objectContaining({ code: 'GARP_BAD_IPV6' }),
      );
  });

  it('rejects each RFC 4861 validation failure with its own code', () => {
    const frame = fromHex(vector('ka-ipv6-unsolicited-na').hex);
    const ip = frame.subarray(14);
    const mutate = (f: (b: Uint8Array) => void) => {
      const b = Uint8Array.from(ip);
      f(b);
      return b;
    };
    /** re-computes the checksum so that the check under test is the one that fails */
    const resum = (b: Uint8Array) => {
      b[42] = 0;
      b[43] = 0;
      let s = 0;
      for (let i = 8; i < 40; i += 2) s += ((b[i] as number) << 8) | (b[i + 1] as number);
      const plen = ((b[4] as number) << 8) | (b[5] as number);
      s += plen + 58;
      for (let i = 40; i < 40 + plen; i += 2) s += ((b[i] as number) << 8) | ((b[i + 1] ?? 0) as number);
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      const c = ~s & 0xffff;
      b[42] = c >> 8;
      b[43] = c & 0xff;
      return b;
    };
    expectCode(
      decodeNeighborAdvertisement(
        mutate((b) => {
          b[0] = 0x40;
        }),
      ),
      'GARP_BAD_IP_VERSION',
    );
    expectCode(
      decodeNeighborAdvertisement(
        mutate((b) => {
          b[6] = 0;
        }),
      ),
      'GARP_BAD_NEXT_HEADER',
    );
    expectCode(
      decodeNeighborAdvertisement(
        mutate((b) => {
          b[43] = (b[43] as number) ^ 1;
        }),
      ),
      'GARP_BAD_CHECKSUM',
    );
    expectCode(
      decodeNeighborAdvertisement(
        mutate((b) => {
          b[55] = (b[55] as number) ^ 1;
        }),
      ),
      'GARP_BAD_CHECKSUM',
    ); // target
    expectCode(
      decodeNeighborAdvertisement(
        mutate((b) => {
          b[23] = (b[23] as number) ^ 1;
        }),
      ),
      'GARP_BAD_CHECKSUM',
    ); // pseudo-header src
    expectCode(
      decodeNeighborAdvertisement(mutate((b) => resum(Object.assign(b, { 40: 135 })))),
      'GARP_BAD_ICMP_TYPE',
    );
    expectCode(
      decodeNeighborAdvertisement(mutate((b) => resum(Object.assign(b, { 41: 1 })))),
      'GARP_BAD_ICMP_CODE',
    );
    expectCode(
      decodeNeighborAdvertisement(
        mutate((b) => {
          b[7] = 64;
        }),
      ),
      'GARP_BAD_HOP_LIMIT',
    );
    expectCode(
      decodeNeighborAdvertisement(mutate((b) => resum(Object.assign(b, { 48: 0xff })))),
      'GARP_BAD_TARGET',
    );
    expectCode(
      decodeNeighborAdvertisement(mutate((b) => resum(Object.assign(b, { 44: 0x60 })))),
      'GARP_BAD_FLAGS',
    );
    expectCode(
      decodeNeighborAdvertisement(mutate((b) => resum(Object.assign(b, { 65: 0 })))),
      'GARP_BAD_OPTION',
    );
    expectCode(
      decodeNeighborAdvertisement(mutate((b) => resum(Object.assign(b, { 65: 2 })))),
      'GARP_BAD_OPTION',
    );
    expectCode(decodeNeighborAdvertisement(ip.subarray(0, 39)), 'GARP_TRUNCATED');
    expectCode(decodeNeighborAdvertisement(ip.subarray(0, 70)), 'GARP_TRUNCATED');
    const longer = new Uint8Array(ip.length + 2);
    longer.set(ip);
    expectCode(decodeNeighborAdvertisement(longer), 'GARP_TRAILING_BYTES');
    expectCode(decodeFrame(Uint8Array.from([...frame, 0, 0])), 'GARP_TRAILING_BYTES');
    // an unknown option is skipped; a solicited advertisement to a unicast address is fine
    const withUnknown = new Uint8Array(ip.length + 8);
    withUnknown.set(ip);
    withUnknown[5] = 40;
    withUnknown.set([14, 1, 1, 2, 3, 4, 5, 6], ip.length);
    expect(expectOk(decodeNeighborAdvertisement(resum(withUnknown))).targetLinkLayerAddress).toBe(
      '46:cb:2c:84:db:0f',
    );
  });

  it('reports error offsets from the start of the frame', () => {
    const frame = fromHex(vector('ka-ipv6-unsolicited-na').hex);
    frame[14 + 7] = 1;
    const r = decodeFrame(frame);
    expectCode(r, 'GARP_BAD_HOP_LIMIT');
    expect(r.ok ? 0 : r.error.details.offset).toBe(21);
  });

  it('builds unsolicited advertisements as RFC 4861 7.2.6 says', () => {
    const f = unsolicitedNeighborAdvertisement({ mac: '02:00:00:00:00:09', ip: 'fd00::9' });
    expect(f.ethernet.dst).toBe('33:33:00:00:00:01');
    expect(f.na).toMatchObject({
      dst: 'ff02::1',
      hopLimit: 255,
      override: true,
      solicited: false,
      router: false,
    });
  });
});

describe('decoders on hostile input', () => {
  it('never throw on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => decodesSafely(b)),
      { numRuns: 2000 },
    );
  });

  it('never throw on random bytes behind a plausible header', () => {
    const prefixes = ['ffffffffffff46cb2c84db0f0806', '33330000000146cb2c84db0f86dd60000000'].map(fromHex);
    fc.assert(
      fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 120 }), (p, rest) => {
        const b = new Uint8Array(p.length + rest.length);
        b.set(p);
        b.set(rest, p.length);
        decodesSafely(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throw on mutated vectors (bit flips, truncation, extension) and catch every flip in the NA checksum span', () => {
    const names = ['ka-garp-request', 'frr-garp', 'ka-ipv6-unsolicited-na', 'frr-unsolicited-na'];
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: -20, max: 20 }),
        (name, flips, resize) => {
          const orig = fromHex(vector(name).hex);
          const b = Uint8Array.from(orig);
          for (const [i, bit] of flips) b[i % b.length] = (b[i % b.length] as number) ^ (1 << bit);
          decodesSafely(b);
          const sized = new Uint8Array(Math.max(0, b.length + resize));
          sized.set(b.subarray(0, sized.length));
          decodesSafely(sized);
          // a single bit flip anywhere in the IPv6 addresses or the ICMPv6 message must not decode as valid
          if (name.includes('na') && flips.length === 1) {
            const one = Uint8Array.from(orig);
            const i = 22 + ((flips[0] as [number, number])[0] % (orig.length - 22));
            one[i] = (one[i] as number) ^ (1 << (flips[0] as [number, number])[1]);
            expect(decodeFrame(one).ok).toBe(false);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('does not throw on things that are not byte arrays', () => {
    for (const junk of [undefined, null, 'ffff', 42, {}, [1, 2, 3]])
      expect(decodeFrame(junk as unknown as Uint8Array).ok).toBe(false);
  });
});

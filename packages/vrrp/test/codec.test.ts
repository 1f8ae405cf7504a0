import { SocketAddress } from 'node:net';
import type { Result } from '@proxyha/common';
import { describe, expect, it } from 'vitest';
import {
  advertIntervalMs,
  decodeVrrp,
  decodeVrrpIpPacket,
  encodeVrrp,
  encodeVrrpIpPacket,
  VRRP_DROP_CATEGORY,
  VRRP_DROP_CODES,
  type VrrpDecodeContext,
  type VrrpDropCode,
  VrrpError,
  type VrrpErrorCode,
  type VrrpV2Advert,
  type VrrpV3Advert,
  vrrpMessageLength,
} from '../src/index';

/* ---------- an independent oracle: RFC 1071 checksum and hand-built packets ---------- */

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function inetChecksum(...parts: Uint8Array[]): number {
  const all = Buffer.concat(parts);
  let s = 0;
  for (let i = 0; i < all.length; i += 2) s += (all[i]! << 8) | (all[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

const ip4 = (t: string) => Uint8Array.from(t.split('.').map(Number));
const ip6 = (t: string) => {
  const buf = new Uint8Array(16);
  const sa = new SocketAddress({ address: t, family: 'ipv6' }); // validates
  const [head, tail] = sa.address.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const tl = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl];
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    buf[2 * i] = v >> 8;
    buf[2 * i + 1] = v & 0xff;
  });
  return buf;
};

function pseudo4(src: string, dst: string, len: number) {
  return Buffer.concat([ip4(src), ip4(dst), Uint8Array.from([0, 112, len >> 8, len & 0xff])]);
}
function pseudo6(src: string, dst: string, len: number) {
  return Buffer.concat([ip6(src), ip6(dst), Uint8Array.from([0, 0, len >> 8, len & 0xff, 0, 0, 0, 112])]);
}

/** Sets the checksum at bytes 6..7 of a VRRP message over `covered` (extra leading bytes). */
function withChecksum(msg: Uint8Array, prefix?: Uint8Array): Uint8Array {
  const out = Uint8Array.from(msg);
  out[6] = 0;
  out[7] = 0;
  const ck = prefix ? inetChecksum(prefix, out) : inetChecksum(out);
  out[6] = ck >> 8;
  out[7] = ck & 0xff;
  return out;
}

const SRC = '192.168.77.11';
const GROUP = '224.0.0.18';
const ctx4: VrrpDecodeContext = { family: 'ipv4', source: SRC, destination: GROUP, ttl: 255 };
const ctx6: VrrpDecodeContext = { family: 'ipv6', source: 'fe80::1', destination: 'ff02::12', ttl: 255 };

/** A raw VRRPv2 message: header fields as given, addresses, auth data; checksum fixed. */
function rawV2(o: {
  ver?: number;
  type?: number;
  vrid?: number;
  prio?: number;
  count?: number;
  authType?: number;
  interval?: number;
  addrs?: string[];
  auth?: number[];
}): Uint8Array {
  const addrs = o.addrs ?? ['192.168.77.74'];
  const head = [
    ((o.ver ?? 2) << 4) | (o.type ?? 1),
    o.vrid ?? 51,
    o.prio ?? 99,
    o.count ?? addrs.length,
    o.authType ?? 0,
    o.interval ?? 1,
    0,
    0,
  ];
  const auth = o.auth ?? [0, 0, 0, 0, 0, 0, 0, 0];
  return withChecksum(Buffer.concat([Uint8Array.from(head), ...addrs.map(ip4), Uint8Array.from(auth)]));
}

/** A raw VRRPv3 IPv4 message with the pseudo-header checksum (or none). */
function rawV3(
  o: { vrid?: number; prio?: number; count?: number; rsvd?: number; interval?: number; addrs?: string[] },
  checksum: 'pseudo-header' | 'vrrp-only' = 'pseudo-header',
  dst = GROUP,
): Uint8Array {
  const addrs = o.addrs ?? ['192.168.77.74'];
  const interval = o.interval ?? 100;
  const head = [
    0x31,
    o.vrid ?? 51,
    o.prio ?? 99,
    o.count ?? addrs.length,
    ((o.rsvd ?? 0) << 4) | (interval >> 8),
    interval & 0xff,
    0,
    0,
  ];
  const msg = Buffer.concat([Uint8Array.from(head), ...addrs.map(ip4)]);
  return withChecksum(msg, checksum === 'pseudo-header' ? pseudo4(SRC, dst, msg.length) : undefined);
}

function expectError<T>(r: Result<T, VrrpError>, code: VrrpErrorCode): VrrpError {
  if (r.ok) throw new Error(`expected ${code}, got a packet`);
  expect(r.error).toBeInstanceOf(VrrpError);
  expect(r.error.code).toBe(code);
  expect(VRRP_DROP_CATEGORY[code as VrrpDropCode]).toBeDefined();
  return r.error;
}
function expectOk<T>(r: Result<T, VrrpError>): T {
  if (!r.ok) throw r.error;
  return r.value;
}

const v2: VrrpV2Advert = {
  version: 2,
  family: 'ipv4',
  vrid: 51,
  priority: 99,
  addresses: ['192.168.77.74'],
  advertIntervalSec: 1,
};
const v3: VrrpV3Advert = {
  version: 3,
  family: 'ipv4',
  vrid: 51,
  priority: 99,
  addresses: ['192.168.77.74'],
  maxAdvertIntervalCs: 100,
};
const v3six: VrrpV3Advert = { ...v3, family: 'ipv6', addresses: ['fd77::74'] };

/* ------------------------------------------ encoding ------------------------------------------ */

describe('encodeVrrp', () => {
  it('writes the RFC 3768 §5.1 layout for v2 with the checksum over the message only (§5.3.8)', () => {
    const b = encodeVrrp(v2);
    // 0x21 ver/type, vrid 0x33, prio 0x63, count 1, auth 0, adver 1, checksum, address, 8 auth bytes
    expect(hex(b)).toBe(hex(rawV2({})));
    expect(hex(b)).toBe('2133630100016dd7c0a84d4a0000000000000000'); // keepalived's bytes
    expect(inetChecksum(b)).toBe(0);
  });

  it('writes v3 over IPv4 with the pseudo-header by default (RFC 5798 §5.2.8, keepalived, FRR)', () => {
    const b = encodeVrrp(v3, { source: SRC });
    expect(hex(b)).toBe('3133630100646f31c0a84d4a'); // keepalived's bytes
    expect(inetChecksum(pseudo4(SRC, GROUP, b.length), b)).toBe(0);
  });

  it("writes v3 over IPv4 without the pseudo-header on request (RFC 9568 style, 'vrrp-only')", () => {
    const b = encodeVrrp(v3, { checksumMode: 'vrrp-only' });
    expect(hex(b)).toBe(hex(rawV3({}, 'vrrp-only')));
    expect(inetChecksum(b)).toBe(0);
    expect(hex(b)).not.toBe(hex(encodeVrrp(v3, { source: SRC })));
  });

  it("uses the unicast destination in the pseudo-header, or the group with 'pseudo-header-group'", () => {
    const peer = '192.168.77.12';
    const uni = encodeVrrp(v3, { source: SRC, destination: peer });
    expect(inetChecksum(pseudo4(SRC, peer, uni.length), uni)).toBe(0);
    const compat = encodeVrrp(v3, { source: SRC, destination: peer, checksumMode: 'pseudo-header-group' });
    expect(inetChecksum(pseudo4(SRC, GROUP, compat.length), compat)).toBe(0);
  });

  it('writes v3 over IPv6 with the IPv6 pseudo-header (RFC 5798 §5.2.8, RFC 8200 §8.1)', () => {
    const src = 'fe80::44cb:2cff:fe84:db0f';
    const b = encodeVrrp(v3six, { source: src });
    expect(hex(b)).toBe('31336301006423fefd770000000000000000000000000074'); // keepalived's bytes
    expect(inetChecksum(pseudo6(src, 'ff02::12', b.length), b)).toBe(0);
  });

  it('writes 12-bit centisecond intervals and zero reserved bits (RFC 5798 §5.2.6, §5.2.7)', () => {
    const b = encodeVrrp({ ...v3, maxAdvertIntervalCs: 4095 }, { source: SRC });
    expect(b[4]).toBe(0x0f);
    expect(b[5]).toBe(0xff);
    expect(encodeVrrp({ ...v3, maxAdvertIntervalCs: 1 }, { source: SRC })[5]).toBe(1);
  });

  it('writes a zero-padded simple password (v2 auth type 1, as keepalived auth_type PASS)', () => {
    const b = encodeVrrp({ ...v2, auth: { type: 'simple', password: 'secret' } });
    expect(b[4]).toBe(1);
    expect(Buffer.from(b.subarray(12)).toString('latin1')).toBe('secret\0\0');
    const full = encodeVrrp({
      ...v2,
      auth: { type: 'simple', password: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) },
    });
    expect(hex(full.subarray(12))).toBe('0102030405060708');
    expect(inetChecksum(full)).toBe(0);
  });

  it('encodes 0 and 255 addresses and sizes the message', () => {
    expect(encodeVrrp({ ...v2, addresses: [] }).length).toBe(16);
    const many = Array.from({ length: 255 }, (_, i) => `fd00::${i.toString(16)}`);
    const b = encodeVrrp({ ...v3six, addresses: many }, { source: 'fe80::1' });
    expect(b.length).toBe(8 + 255 * 16);
    expect(b[3]).toBe(255);
    expect(vrrpMessageLength({ ...v3six, addresses: many })).toBe(b.length);
  });

  const invalid: [string, () => unknown, string][] = [
    ['vrid 0', () => encodeVrrp({ ...v2, vrid: 0 }), 'vrid'],
    ['vrid 256', () => encodeVrrp({ ...v2, vrid: 256 }), 'vrid'],
    ['priority -1', () => encodeVrrp({ ...v2, priority: -1 }), 'priority'],
    ['priority 1.5', () => encodeVrrp({ ...v2, priority: 1.5 }), 'priority'],
    ['v2 interval 0', () => encodeVrrp({ ...v2, advertIntervalSec: 0 }), 'advertIntervalSec'],
    ['v2 interval 0.5 s', () => encodeVrrp({ ...v2, advertIntervalSec: 0.5 }), 'advertIntervalSec'],
    ['v2 interval 256', () => encodeVrrp({ ...v2, advertIntervalSec: 256 }), 'advertIntervalSec'],
    [
      'v3 interval 0',
      () => encodeVrrp({ ...v3, maxAdvertIntervalCs: 0 }, { source: SRC }),
      'maxAdvertIntervalCs',
    ],
    [
      'v3 interval 4096',
      () => encodeVrrp({ ...v3, maxAdvertIntervalCs: 4096 }, { source: SRC }),
      'maxAdvertIntervalCs',
    ],
    ['v2 over IPv6', () => encodeVrrp({ ...v2, family: 'ipv6' } as unknown as VrrpV2Advert), 'family'],
    ['version 4', () => encodeVrrp({ ...v2, version: 4 } as unknown as VrrpV2Advert), 'version'],
    ['IPv6 address in IPv4 advert', () => encodeVrrp({ ...v2, addresses: ['fd77::74'] }), 'addresses[0]'],
    ['bad IPv4 address', () => encodeVrrp({ ...v2, addresses: ['1.2.3.4', '1.2.3.256'] }), 'addresses[1]'],
    ['256 addresses', () => encodeVrrp({ ...v2, addresses: Array(256).fill('10.0.0.1') }), 'addresses'],
    [
      '9-byte password',
      () => encodeVrrp({ ...v2, auth: { type: 'simple', password: '123456789' } }),
      'auth.password',
    ],
    ['v3 without source', () => encodeVrrp(v3), 'source'],
    [
      'v2 with pseudo-header',
      () => encodeVrrp(v2, { checksumMode: 'pseudo-header', source: SRC }),
      'checksumMode',
    ],
    ['v3/IPv6 vrrp-only', () => encodeVrrp(v3six, { checksumMode: 'vrrp-only' }), 'checksumMode'],
    ['bad source', () => encodeVrrp(v3, { source: '192.168.77' }), 'source'],
  ];
  it.each(invalid)('rejects %s with VrrpError', (_name, run, field) => {
    let thrown: unknown;
    try {
      run();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(VrrpError);
    expect((thrown as VrrpError).code).toBe('VRRP_INVALID_ARGUMENT');
    expect((thrown as VrrpError).details.field).toBe(field);
  });
});

describe('encodeVrrpIpPacket', () => {
  it('builds the IPv4 header keepalived sends: TOS 0xc0, TTL 255, protocol 112, header checksum', () => {
    const p = encodeVrrpIpPacket(v2, { source: SRC, id: 1 });
    expect(hex(p)).toBe('45c0002800010000ff70ccdec0a84d0be00000122133630100016dd7c0a84d4a0000000000000000');
    expect(inetChecksum(p.subarray(0, 20))).toBe(0);
  });

  it("sets DF as FRR's kernel does, and other TOS/TTL values on request", () => {
    const p = encodeVrrpIpPacket(v3, {
      source: '192.168.77.12',
      id: 0x0db7,
      dontFragment: true,
      priority: 89,
    } as never);
    expect(p[6]).toBe(0x40);
    const q = encodeVrrpIpPacket(v2, { source: SRC, tos: 0, ttl: 64 });
    expect(q[1]).toBe(0);
    expect(q[8]).toBe(64);
    expect(inetChecksum(q.subarray(0, 20))).toBe(0);
  });

  it('builds the IPv6 header: traffic class, flow label, payload length, next header 112, hop limit 255', () => {
    const p = encodeVrrpIpPacket(v3six, { source: 'fe80::44cb:2cff:fe84:db0f', flowLabel: 0x079ae2 });
    expect(hex(p)).toBe(
      '6c079ae2001870fffe8000000000000044cb2cfffe84db0fff02000000000000000000000000001231336301006423fefd770000000000000000000000000074',
    );
  });

  it('rejects out-of-range header fields', () => {
    expect(() => encodeVrrpIpPacket(v2, { source: SRC, id: 0x10000 })).toThrow(VrrpError);
    expect(() => encodeVrrpIpPacket(v3six, { source: 'fe80::1', flowLabel: 0x100000 })).toThrow(VrrpError);
    expect(() => encodeVrrpIpPacket(v3six, { source: SRC })).toThrow(/source/);
  });
});

/* ------------------------------------------ decoding ------------------------------------------ */

describe('decodeVrrp', () => {
  it('decodes v2 with auth none and reports the checksum form', () => {
    const d = expectOk(decodeVrrp(rawV2({}), ctx4));
    expect(d.advert).toEqual({ ...v2, auth: { type: 'none' } });
    expect(d.checksumMode).toBe('vrrp-only');
    expect(d.checksum).toBe(0x6dd7);
    expect(d).toMatchObject({ source: SRC, destination: GROUP, ttl: 255 });
    expect(advertIntervalMs(d.advert)).toBe(1000);
  });

  it('ignores v2 auth data with auth type 0 (RFC 3768 §5.3.10)', () => {
    const d = expectOk(decodeVrrp(rawV2({ auth: [1, 2, 3, 4, 5, 6, 7, 8] }), ctx4));
    expect(d.advert).toEqual({ ...v2, auth: { type: 'none' } });
  });

  it('decodes a v2 simple password without its zero padding', () => {
    const d = expectOk(
      decodeVrrp(rawV2({ authType: 1, auth: [...Buffer.from('pw'), 0, 0, 0, 0, 0, 0] }), ctx4),
    );
    expect(d.advert.version === 2 && d.advert.auth).toEqual({
      type: 'simple',
      password: Uint8Array.from(Buffer.from('pw')),
    });
  });

  it('accepts v3/IPv4 with and without the pseudo-header and says which (RFC 5798 vs RFC 9568)', () => {
    const a = expectOk(decodeVrrp(rawV3({}, 'pseudo-header'), ctx4));
    expect(a.checksumMode).toBe('pseudo-header');
    expect(a.advert).toEqual(v3);
    const b = expectOk(decodeVrrp(rawV3({}, 'vrrp-only'), ctx4));
    expect(b.checksumMode).toBe('vrrp-only');
    expect(b.advert).toEqual(v3);
    expect(advertIntervalMs(b.advert)).toBe(1000);
  });

  it('accepts the old keepalived unicast form (group address in the pseudo-header)', () => {
    const msg = rawV3({}, 'pseudo-header', GROUP); // computed for the group ...
    const d = expectOk(decodeVrrp(msg, { ...ctx4, destination: '192.168.77.12' })); // ... sent unicast
    expect(d.checksumMode).toBe('pseudo-header-group');
    expect(d.destination).toBe('192.168.77.12');
  });

  it('restricts the accepted v3/IPv4 checksum forms on request', () => {
    expectError(
      decodeVrrp(rawV3({}, 'vrrp-only'), { ...ctx4, v3Ipv4Checksum: 'pseudo-header' }),
      'VRRP_BAD_CHECKSUM',
    );
    expectError(
      decodeVrrp(rawV3({}, 'pseudo-header'), { ...ctx4, v3Ipv4Checksum: 'vrrp-only' }),
      'VRRP_BAD_CHECKSUM',
    );
    expectOk(decodeVrrp(rawV3({}, 'vrrp-only'), { ...ctx4, v3Ipv4Checksum: 'vrrp-only' }));
    const compat = rawV3({}, 'pseudo-header', GROUP);
    const uni = { ...ctx4, destination: '192.168.77.12' };
    expectOk(decodeVrrp(compat, { ...uni, v3Ipv4Checksum: 'pseudo-header-group' }));
    expectError(decodeVrrp(compat, { ...uni, v3Ipv4Checksum: 'pseudo-header' }), 'VRRP_BAD_CHECKSUM');
    const other = rawV3({}, 'pseudo-header', '239.1.1.1');
    expectOk(decodeVrrp(other, { ...uni, multicastGroup: '239.1.1.1' }));
    expectError(decodeVrrp(other, uni), 'VRRP_BAD_CHECKSUM');
  });

  it('ignores the v3 reserved bits on receipt (RFC 5798 §5.2.6)', () => {
    const d = expectOk(decodeVrrp(rawV3({ rsvd: 0xf }), ctx4));
    expect(d.advert).toEqual(v3);
  });

  it('decodes v3 over IPv6 (checksum always with the pseudo-header)', () => {
    const b = encodeVrrp(v3six, { source: 'fe80::1' });
    const d = expectOk(decodeVrrp(b, ctx6));
    expect(d.advert).toEqual(v3six);
    expect(d.checksumMode).toBe('pseudo-header');
    expectOk(decodeVrrp(b, { ...ctx6, source: 'fe80::1%eth0' })); // zone ignored
    expectError(decodeVrrp(b, { ...ctx6, source: 'fe80::2' }), 'VRRP_BAD_CHECKSUM');
  });

  it('allows zero addresses', () => {
    const d = expectOk(decodeVrrp(rawV2({ addrs: [] }), ctx4));
    expect(d.advert.addresses).toEqual([]);
  });

  // Each RFC 3768 / RFC 5798 §7.1 structural check, with everything else valid.
  const cases: [string, () => Result<unknown, VrrpError>, VrrpErrorCode][] = [
    ['TTL 64 (§7.1 MUST verify TTL 255)', () => decodeVrrp(rawV2({}), { ...ctx4, ttl: 64 }), 'VRRP_BAD_TTL'],
    [
      'hop limit 1',
      () => decodeVrrp(encodeVrrp(v3six, { source: 'fe80::1' }), { ...ctx6, ttl: 1 }),
      'VRRP_BAD_TTL',
    ],
    ['empty payload', () => decodeVrrp(new Uint8Array(0), ctx4), 'VRRP_BAD_LENGTH'],
    ['7 bytes', () => decodeVrrp(rawV2({}).subarray(0, 7), ctx4), 'VRRP_BAD_LENGTH'],
    ['version 1', () => decodeVrrp(rawV2({ ver: 1 }), ctx4), 'VRRP_BAD_VERSION'],
    ['version 4', () => decodeVrrp(rawV2({ ver: 4 }), ctx4), 'VRRP_BAD_VERSION'],
    ['version 2 over IPv6', () => decodeVrrp(rawV2({}), ctx6), 'VRRP_BAD_VERSION'],
    ['type 2', () => decodeVrrp(rawV2({ type: 2 }), ctx4), 'VRRP_BAD_TYPE'],
    ['type 0', () => decodeVrrp(rawV2({ type: 0 }), ctx4), 'VRRP_BAD_TYPE'],
    [
      'count 2 with one address (§7.1 complete packet)',
      () => decodeVrrp(rawV2({ count: 2 }), ctx4),
      'VRRP_BAD_LENGTH',
    ],
    ['count 0 with one address', () => decodeVrrp(rawV2({ count: 0 }), ctx4), 'VRRP_BAD_LENGTH'],
    ['v2 without auth data', () => decodeVrrp(rawV2({}).subarray(0, 12), ctx4), 'VRRP_BAD_LENGTH'],
    [
      'one trailing byte',
      () => decodeVrrp(Buffer.concat([rawV2({}), Uint8Array.of(0)]), ctx4),
      'VRRP_BAD_LENGTH',
    ],
    ['v3 with count 2, one address', () => decodeVrrp(rawV3({ count: 2 }), ctx4), 'VRRP_BAD_LENGTH'],
    ['IPv4-sized v3 message over IPv6', () => decodeVrrp(rawV3({}), ctx6), 'VRRP_BAD_LENGTH'],
    [
      'v2 checksum off by one (§7.1 MUST verify checksum)',
      () => {
        const b = rawV2({});
        b[7] = (b[7]! + 1) & 0xff;
        return decodeVrrp(b, ctx4);
      },
      'VRRP_BAD_CHECKSUM',
    ],
    [
      'v3/IPv4 from another source than the checksum covers',
      () => decodeVrrp(rawV3({}), { ...ctx4, source: '192.168.77.13' }),
      'VRRP_BAD_CHECKSUM',
    ],
    ['VRID 0', () => decodeVrrp(rawV2({ vrid: 0 }), ctx4), 'VRRP_BAD_VRID'],
    ['v2 interval 0', () => decodeVrrp(rawV2({ interval: 0 }), ctx4), 'VRRP_BAD_INTERVAL'],
    ['v3 interval 0', () => decodeVrrp(rawV3({ interval: 0 }), ctx4), 'VRRP_BAD_INTERVAL'],
    [
      'v3 interval 0 with reserved bits set',
      () => decodeVrrp(rawV3({ interval: 0, rsvd: 1 }), ctx4),
      'VRRP_BAD_INTERVAL',
    ],
    [
      'v2 auth type 3 (§5.3.6 unknown type)',
      () => decodeVrrp(rawV2({ authType: 3 }), ctx4),
      'VRRP_BAD_AUTH_TYPE',
    ],
    ['v2 auth type 2 (IPsec AH)', () => decodeVrrp(rawV2({ authType: 2 }), ctx4), 'VRRP_AUTH_AH_UNSUPPORTED'],
    ['unparseable source', () => decodeVrrp(rawV2({}), { ...ctx4, source: 'fe80::1' }), 'VRRP_BAD_CONTEXT'],
    [
      'unparseable destination',
      () => decodeVrrp(rawV2({}), { ...ctx4, destination: 'x' }),
      'VRRP_BAD_CONTEXT',
    ],
    ['unknown family', () => decodeVrrp(rawV2({}), { ...ctx4, family: 'ipx' as 'ipv4' }), 'VRRP_BAD_CONTEXT'],
    ['payload not bytes', () => decodeVrrp('21' as unknown as Uint8Array, ctx4), 'VRRP_BAD_CONTEXT'],
  ];
  it.each(cases)('drops %s', (_name, run, code) => {
    const err = expectError(run(), code);
    expect(err.stack ?? '').not.toMatch(/\n\s+at /); // data errors carry no stack trace
  });

  it('puts the offending values in the error details', () => {
    const e = expectError(decodeVrrp(rawV2({}), { ...ctx4, ttl: 64 }), 'VRRP_BAD_TTL');
    expect(e.details).toEqual({ field: 'ttl', actual: 64, expected: 255 });
    const l = expectError(decodeVrrp(rawV2({ count: 3 }), ctx4), 'VRRP_BAD_LENGTH');
    expect(l.details).toEqual({ field: 'length', actual: 20, expected: 28 });
  });

  it('every error code is categorised', () => {
    expect(VRRP_DROP_CODES.length).toBe(Object.keys(VRRP_DROP_CATEGORY).length);
    for (const c of VRRP_DROP_CODES) expect(VRRP_DROP_CATEGORY[c]).toBeTypeOf('string');
  });
});

describe('decodeVrrpIpPacket', () => {
  const good = () => encodeVrrpIpPacket(v2, { source: SRC, id: 1 });
  /** Applies `edit` to a good IPv4 packet, fixing the header checksum unless told not to. */
  const edited = (edit: (b: Uint8Array) => void, fixIpChecksum = true) => {
    const b = good();
    edit(b);
    if (fixIpChecksum) {
      const ihl = (b[0]! & 0xf) * 4;
      b[10] = 0;
      b[11] = 0;
      const ck = inetChecksum(b.subarray(0, Math.min(ihl, b.length)));
      b[10] = ck >> 8;
      b[11] = ck & 0xff;
    }
    return b;
  };

  it('decodes the header fields', () => {
    const d = expectOk(decodeVrrpIpPacket(good()));
    expect(d.ip).toEqual({
      version: 4,
      headerLength: 20,
      tos: 0xc0,
      totalLength: 40,
      id: 1,
      dontFragment: false,
      ttl: 255,
      protocol: 112,
      checksum: 0xccde,
      source: SRC,
      destination: GROUP,
    });
    expect(d.ttl).toBe(255);
  });

  it('ignores link-layer padding after the total length', () => {
    const padded = Buffer.concat([good(), new Uint8Array(6)]);
    expect(expectOk(decodeVrrpIpPacket(padded)).advert.vrid).toBe(51);
  });

  it('skips IPv4 options', () => {
    const p = good();
    const withOpt = Buffer.concat([p.subarray(0, 20), Uint8Array.of(1, 1, 1, 0), p.subarray(20)]);
    withOpt[0] = 0x46;
    withOpt[3] = 44;
    withOpt[10] = 0;
    withOpt[11] = 0;
    const ck = inetChecksum(withOpt.subarray(0, 24));
    withOpt[10] = ck >> 8;
    withOpt[11] = ck & 0xff;
    const d = expectOk(decodeVrrpIpPacket(withOpt));
    expect(d.ip).toMatchObject({ headerLength: 24, totalLength: 44 });
  });

  it('allows TTL < 255 when asked (unicast peers, as keepalived)', () => {
    const b = edited((x) => {
      x[8] = 61;
    });
    expectError(decodeVrrpIpPacket(b), 'VRRP_BAD_TTL');
    expect(expectOk(decodeVrrpIpPacket(b, { checkTtl: false })).ttl).toBe(61);
  });

  const cases: [string, () => Uint8Array, VrrpErrorCode][] = [
    ['an empty buffer', () => new Uint8Array(0), 'VRRP_BAD_IP_HEADER'],
    [
      'IP version 5',
      () =>
        edited((b) => {
          b[0] = 0x55;
        }),
      'VRRP_BAD_IP_HEADER',
    ],
    [
      'IHL 4',
      () =>
        edited((b) => {
          b[0] = 0x44;
        }),
      'VRRP_BAD_IP_HEADER',
    ],
    ['19 bytes', () => good().subarray(0, 19), 'VRRP_BAD_IP_HEADER'],
    [
      'a total length beyond the buffer',
      () =>
        edited((b) => {
          b[3] = 41;
        }),
      'VRRP_BAD_IP_HEADER',
    ],
    [
      'a total length below the header',
      () =>
        edited((b) => {
          b[3] = 19;
        }),
      'VRRP_BAD_IP_HEADER',
    ],
    [
      'a first fragment (MF)',
      () =>
        edited((b) => {
          b[6] = 0x20;
        }),
      'VRRP_BAD_IP_HEADER',
    ],
    [
      'a later fragment',
      () =>
        edited((b) => {
          b[7] = 1;
        }),
      'VRRP_BAD_IP_HEADER',
    ],
    [
      'a wrong IPv4 header checksum',
      () =>
        edited((b) => {
          b[11]! ^= 1;
        }, false),
      'VRRP_BAD_IP_CHECKSUM',
    ],
    [
      'protocol 17',
      () =>
        edited((b) => {
          b[9] = 17;
        }),
      'VRRP_BAD_PROTOCOL',
    ],
    [
      'IPsec AH (protocol 51)',
      () =>
        edited((b) => {
          b[9] = 51;
        }),
      'VRRP_AUTH_AH_UNSUPPORTED',
    ],
    [
      'TTL 254 (RFC 3768 §7.1)',
      () =>
        edited((b) => {
          b[8] = 254;
        }),
      'VRRP_BAD_TTL',
    ],
    [
      'a shorter total length (VRRP truncated)',
      () =>
        edited((b) => {
          b[3] = 36;
        }),
      'VRRP_BAD_LENGTH',
    ],
    [
      'a corrupted VRRP byte',
      () =>
        edited((b) => {
          b[22]! ^= 0x10;
        }),
      'VRRP_BAD_CHECKSUM',
    ],
    [
      'IPv6 hop limit 64 (RFC 5798 §7.1)',
      () => encodeVrrpIpPacket(v3six, { source: 'fe80::1', hopLimit: 64 }),
      'VRRP_BAD_TTL',
    ],
    [
      'IPv6 next header 0 (hop-by-hop)',
      () => {
        const b = encodeVrrpIpPacket(v3six, { source: 'fe80::1' });
        b[6] = 0;
        return b;
      },
      'VRRP_BAD_PROTOCOL',
    ],
    [
      'IPv6 payload length beyond the buffer',
      () => {
        const b = encodeVrrpIpPacket(v3six, { source: 'fe80::1' });
        b[5] = 25;
        return b;
      },
      'VRRP_BAD_IP_HEADER',
    ],
    [
      '39 bytes of IPv6',
      () => encodeVrrpIpPacket(v3six, { source: 'fe80::1' }).subarray(0, 39),
      'VRRP_BAD_IP_HEADER',
    ],
    [
      'an IPv6 packet whose pseudo-header does not match',
      () => {
        const b = encodeVrrpIpPacket(v3six, { source: 'fe80::1' });
        b[23]! ^= 1; // source address, not covered by any IPv6 header checksum
        return b;
      },
      'VRRP_BAD_CHECKSUM',
    ],
  ];
  it.each(cases)('drops %s', (_name, make, code) => {
    expectError(decodeVrrpIpPacket(make()), code);
  });
});

/* ------------------------------------------ addresses ------------------------------------------ */

describe('address text', () => {
  const roundTrip = (a: string) => {
    const adv: VrrpV3Advert = { ...v3six, addresses: [a] };
    return expectOk(decodeVrrp(encodeVrrp(adv, { source: 'fe80::1' }), ctx6)).advert.addresses[0];
  };
  it.each([
    ['fd77:0:0:0:0:0:0:74', 'fd77::74'],
    ['FE80::44CB:2CFF:FE84:DB0F', 'fe80::44cb:2cff:fe84:db0f'],
    ['fe80:0000::0009:b3:5510', 'fe80::9:b3:5510'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], // longest run wins
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'], // first on a tie
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'], // a single zero group is not compressed (RFC 5952 §4.2.2)
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ])('%s is written and read back as %s (RFC 5952)', (input, canonical) => {
    expect(roundTrip(input)).toBe(canonical);
    expect(canonical).toBe(new SocketAddress({ address: input, family: 'ipv6' }).address);
  });

  it.each([
    '',
    ':',
    ':::',
    '1:::2',
    '1::2::3',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
    'g::1',
    '1:2:3:4:5:6:7::8:9',
    '::1.2.3',
    '%eth0',
  ])('rejects IPv6 %j', (text) => {
    expect(() => encodeVrrp({ ...v3six, addresses: [text] }, { source: 'fe80::1' })).toThrow(VrrpError);
  });
  it.each([
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.4 ',
    '1..2.3',
    'a.b.c.d',
  ])('rejects IPv4 %j', (text) => {
    expect(() => encodeVrrp({ ...v2, addresses: [text] })).toThrow(VrrpError);
  });
});

describe('IPv4 header flags (found by the bit-flip property)', () => {
  it('RFC 791: a packet with the reserved flag bit set is dropped, not silently re-encoded without it', () => {
    const pkt = encodeVrrpIpPacket(
      { version: 3, family: 'ipv4', vrid: 1, priority: 1, maxAdvertIntervalCs: 100, addresses: ['0.0.0.1'] },
      { source: '0.0.128.0' },
    );
    pkt[6] = (pkt[6] as number) | 0x80;
    // fix the header checksum so that only the flag is wrong
    pkt[10] = 0;
    pkt[11] = 0;
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += ((pkt[i] as number) << 8) | (pkt[i + 1] as number);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    pkt[10] = (~sum >> 8) & 0xff;
    pkt[11] = ~sum & 0xff;
    const r = decodeVrrpIpPacket(pkt);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('VRRP_BAD_IP_HEADER');
  });
});

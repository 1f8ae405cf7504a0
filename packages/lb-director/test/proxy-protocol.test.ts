import { canonicalIp } from '@proxyha/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeProxyHeader,
  encodeProxyHeader,
  LbError,
  PROXY_V1_MAX_LENGTH,
  PROXY_V2_SIGNATURE,
  type ProxyHeader,
} from '../src/index';

const text = new TextEncoder();
const bytes = (s: string) => text.encode(s);
const hex = (h: string) =>
  Uint8Array.from(h.replace(/\s+/g, '').match(/../g) ?? [], (x) => Number.parseInt(x, 16));

function decoded(input: Uint8Array) {
  const r = decodeProxyHeader(input);
  if (!r.ok) throw r.error;
  if (!r.value.complete) throw new Error(`incomplete, needs ${r.value.minLength}`);
  return r.value;
}

function errorOf(input: Uint8Array) {
  const r = decodeProxyHeader(input);
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error('decoded');
  expect(r.error).toBeInstanceOf(LbError);
  return r.error;
}

const tcp4 = {
  family: 'tcp4',
  sourceAddress: '192.0.2.10',
  sourcePort: 51000,
  destinationAddress: '198.51.100.1',
  destinationPort: 8080,
} as const;
const tcp6 = {
  family: 'tcp6',
  sourceAddress: '2001:db8::10',
  sourcePort: 1,
  destinationAddress: '2001:db8:0:1::1',
  destinationPort: 65535,
} as const;

describe('PROXY protocol v1', () => {
  it('encodes TCP4, TCP6 and UNKNOWN lines as the spec shows them', () => {
    const s = (h: ProxyHeader) => new TextDecoder().decode(encodeProxyHeader(h));
    expect(s({ version: 1, command: 'proxy', addresses: tcp4, tlvs: [] })).toBe(
      'PROXY TCP4 192.0.2.10 198.51.100.1 51000 8080\r\n',
    );
    expect(s({ version: 1, command: 'proxy', addresses: tcp6, tlvs: [] })).toBe(
      'PROXY TCP6 2001:db8::10 2001:db8:0:1::1 1 65535\r\n',
    );
    expect(s({ version: 1, command: 'proxy', tlvs: [] })).toBe('PROXY UNKNOWN\r\n');
    expect(s({ version: 1, command: 'local', addresses: tcp4, tlvs: [] })).toBe('PROXY UNKNOWN\r\n');
  });

  it('decodes a line and reports where the payload starts', () => {
    const d = decoded(bytes('PROXY TCP4 192.0.2.10 198.51.100.1 51000 8080\r\nGET / HTTP/1.0\r\n'));
    expect(d.length).toBe(47);
    expect(d.header).toEqual({ version: 1, command: 'proxy', addresses: tcp4, tlvs: [] });
  });

  it('canonicalises IPv6 addresses and ignores the rest of an UNKNOWN line', () => {
    const d = decoded(bytes('PROXY TCP6 2001:DB8:0:0:0:0:0:10 2001:db8:0:1:0:0:0:1 1 65535\r\n'));
    expect(d.header.addresses).toEqual(tcp6);
    const u = decoded(bytes('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nxyz'));
    expect(u.header).toEqual({ version: 1, command: 'proxy', addresses: undefined, tlvs: [] });
    expect(u.length).toBe(35);
  });

  it('accepts the longest line (107 bytes with CRLF) and no longer', () => {
    const full = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    const longest = `PROXY UNKNOWN ${full} ${full} 65535 65535\r\n`;
    expect(longest.length).toBeLessThanOrEqual(PROXY_V1_MAX_LENGTH);
    const padded = `PROXY UNKNOWN ${'x'.repeat(PROXY_V1_MAX_LENGTH - 16)}\r\n`;
    expect(padded.length).toBe(PROXY_V1_MAX_LENGTH);
    expect(decoded(bytes(padded)).length).toBe(PROXY_V1_MAX_LENGTH);
    expect(errorOf(bytes(`PROXY UNKNOWN ${'x'.repeat(PROXY_V1_MAX_LENGTH - 15)}\r\n`)).code).toBe(
      'LB_PROXY_BAD_LENGTH',
    );
  });

  it('asks for more bytes while the input is a prefix of a line', () => {
    const line = bytes('PROXY TCP4 192.0.2.10 198.51.100.1 51000 8080\r\n');
    for (let n = 0; n < line.length; n++) {
      const r = decodeProxyHeader(line.subarray(0, n));
      expect(r.ok && !r.value.complete && r.value.minLength > n).toBe(true);
    }
  });

  it.each([
    ['PROXY TCP4 192.0.2.10 198.51.100.1 51000 8080\n', 'LB_PROXY_BAD_LINE', 'crlf'],
    ['PROXY TCP5 192.0.2.10 198.51.100.1 51000 8080\r\n', 'LB_PROXY_BAD_LINE', 'protocol'],
    ['PROXY  TCP4 192.0.2.10 198.51.100.1 51000 8080\r\n', 'LB_PROXY_BAD_LINE', 'protocol'],
    ['PROXY TCP4 192.0.2.10  198.51.100.1 51000 8080\r\n', 'LB_PROXY_BAD_LINE', 'fields'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 51000 8080 \r\n', 'LB_PROXY_BAD_LINE', 'fields'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 51000\r\n', 'LB_PROXY_BAD_LINE', 'fields'],
    ['PROXY TCP4 2001:db8::1 198.51.100.1 51000 8080\r\n', 'LB_PROXY_BAD_LINE', 'sourceAddress'],
    ['PROXY TCP6 2001:db8::1 198.51.100.1 51000 8080\r\n', 'LB_PROXY_BAD_LINE', 'destinationAddress'],
    ['PROXY TCP4 192.0.2.010 198.51.100.1 51000 8080\r\n', 'LB_PROXY_BAD_LINE', 'sourceAddress'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 65536 8080\r\n', 'LB_PROXY_BAD_LINE', 'sourcePort'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 51000 08080\r\n', 'LB_PROXY_BAD_LINE', 'destinationPort'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 51000 +80\r\n', 'LB_PROXY_BAD_LINE', 'destinationPort'],
    ['proxy TCP4 192.0.2.10 198.51.100.1 51000 8080\r\n', 'LB_PROXY_BAD_SIGNATURE', undefined],
    ['GET / HTTP/1.0\r\n', 'LB_PROXY_BAD_SIGNATURE', undefined],
  ])('rejects %j with %s', (line, code, field) => {
    const e = errorOf(bytes(line));
    expect(e.code).toBe(code);
    expect((e.details as { field?: string }).field).toBe(field);
  });
});

describe('PROXY protocol v2', () => {
  it('encodes the spec layout: signature, 0x21, family, length, addresses, ports, TLVs', () => {
    const h = encodeProxyHeader({
      version: 2,
      command: 'proxy',
      addresses: tcp4,
      tlvs: [{ type: 0x02, value: bytes('vip.example') }],
    });
    expect(h).toEqual(
      hex(
        `0d0a0d0a000d0a515549540a 21 11 001a c000020a c6336401 c738 1f90 02 000b ${Buffer.from('vip.example').toString('hex')}`,
      ),
    );
    expect(encodeProxyHeader({ version: 2, command: 'local', tlvs: [] })).toEqual(
      hex('0d0a0d0a000d0a515549540a 20 00 0000'),
    );
    expect(encodeProxyHeader({ version: 2, command: 'proxy', tlvs: [] })).toEqual(
      hex('0d0a0d0a000d0a515549540a 21 00 0000'),
    );
    expect(encodeProxyHeader({ version: 2, command: 'proxy', addresses: tcp6, tlvs: [] }).length).toBe(
      16 + 36,
    );
  });

  it('decodes TCP6 with TLVs and leaves the payload', () => {
    const h: ProxyHeader = {
      version: 2,
      command: 'proxy',
      addresses: tcp6,
      tlvs: [
        { type: 0x05, value: bytes('id-1') },
        { type: 0x04, value: new Uint8Array(0) },
      ],
    };
    const enc = encodeProxyHeader(h);
    const d = decoded(new Uint8Array([...enc, 1, 2, 3]));
    expect(d.length).toBe(enc.length);
    expect(d.header).toEqual(h);
  });

  it('decodes LOCAL without addresses whatever the family, keeping well-formed TLVs', () => {
    const local = decoded(hex('0d0a0d0a000d0a515549540a 20 11 000c c000020a c6336401 c738 1f90'));
    expect(local.header).toEqual({ version: 2, command: 'local', addresses: undefined, tlvs: [] });
    const odd = decoded(hex('0d0a0d0a000d0a515549540a 20 ff 0003 010203'));
    expect(odd.header.command).toBe('local');
    expect(odd.length).toBe(19);
    const tlv = decoded(hex('0d0a0d0a000d0a515549540a 20 00 0004 01 0001 68'));
    expect(tlv.header.tlvs).toEqual([{ type: 1, value: bytes('h') }]);
  });

  it('accepts UNSPEC with PROXY and ignores no bytes of the length', () => {
    const d = decoded(hex('0d0a0d0a000d0a515549540a 21 00 0000 ff'));
    expect(d).toEqual({ complete: true, length: 16, header: { version: 2, command: 'proxy', tlvs: [] } });
  });

  it('asks for more bytes: the 16-byte header first, then its announced length', () => {
    const enc = encodeProxyHeader({ version: 2, command: 'proxy', addresses: tcp4, tlvs: [] });
    for (let n = 0; n < enc.length; n++) {
      const r = decodeProxyHeader(enc.subarray(0, n));
      if (!r.ok || r.value.complete) throw new Error(`prefix ${n} not incomplete`);
      expect(r.value.minLength).toBe(n === 0 ? 15 : n < 16 ? 16 : enc.length); /* 15: the shortest v1 line */
    }
  });

  it.each([
    ['0d0a0d0a000d0a515549540b 21 11 000c', 'LB_PROXY_BAD_SIGNATURE', 11],
    ['0d0a0d0a000d0a515549540a 11 11 000c', 'LB_PROXY_BAD_VERSION', 12],
    ['0d0a0d0a000d0a515549540a 22 11 000c', 'LB_PROXY_BAD_COMMAND', 12],
    ['0d0a0d0a000d0a515549540a 21 12 000c 000000000000000000000000', 'LB_PROXY_BAD_FAMILY', 13],
    ['0d0a0d0a000d0a515549540a 21 31 000c 000000000000000000000000', 'LB_PROXY_BAD_FAMILY', 13],
    ['0d0a0d0a000d0a515549540a 21 41 000c 000000000000000000000000', 'LB_PROXY_BAD_FAMILY', 13],
    ['0d0a0d0a000d0a515549540a 21 11 000b 0000000000000000000000', 'LB_PROXY_BAD_LENGTH', 14],
    ['0d0a0d0a000d0a515549540a 21 21 000c 000000000000000000000000', 'LB_PROXY_BAD_LENGTH', 14],
    ['0d0a0d0a000d0a515549540a 21 11 000e 000000000000000000000000 0500', 'LB_PROXY_BAD_TLV', 28],
    ['0d0a0d0a000d0a515549540a 21 11 0010 000000000000000000000000 05000268', 'LB_PROXY_BAD_TLV', 28],
  ])('rejects %s with %s at offset %d', (h, code, offset) => {
    const e = errorOf(hex(h));
    expect(e.code).toBe(code);
    expect((e.details as { offset: number }).offset).toBe(offset);
  });

  it('starts every v2 header with the signature', () => {
    expect(encodeProxyHeader({ version: 2, command: 'proxy', tlvs: [] }).subarray(0, 12)).toEqual(
      PROXY_V2_SIGNATURE,
    );
  });
});

describe('encodeProxyHeader validation', () => {
  it('names every invalid field', () => {
    try {
      encodeProxyHeader({
        version: 1,
        command: 'proxy',
        addresses: { ...tcp4, sourceAddress: '2001:db8::1', destinationPort: 70000 },
        tlvs: [{ type: 1, value: bytes('x') }],
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LbError);
      const err = e as LbError<{ issues: { path: string }[] }>;
      expect(err.code).toBe('LB_INVALID_ARGUMENT');
      expect(err.details.issues.map((i) => i.path).sort()).toEqual([
        'addresses.destinationPort',
        'addresses.sourceAddress',
        'tlvs',
      ]);
    }
  });

  it('refuses TLVs that do not fit the 16-bit length', () => {
    const big = { type: 1, value: new Uint8Array(65533) };
    expect(() => encodeProxyHeader({ version: 2, command: 'proxy', addresses: tcp4, tlvs: [big] })).toThrow(
      /65535/,
    );
    expect(
      encodeProxyHeader({ version: 2, command: 'proxy', tlvs: [{ type: 1, value: new Uint8Array(65532) }] })
        .length,
    ).toBe(16 + 65535);
  });
});

const port = fc.integer({ min: 0, max: 65535 });
const addresses = fc.oneof(
  fc.record({
    family: fc.constant('tcp4' as const),
    sourceAddress: fc.ipV4(),
    sourcePort: port,
    destinationAddress: fc.ipV4(),
    destinationPort: port,
  }),
  fc
    .record({
      family: fc.constant('tcp6' as const),
      sourceAddress: fc.ipV6(),
      sourcePort: port,
      destinationAddress: fc.ipV6(),
      destinationPort: port,
    })
    .map((a) => ({
      ...a,
      sourceAddress: canonicalIp(a.sourceAddress) as string,
      destinationAddress: canonicalIp(a.destinationAddress) as string,
    })),
);
const tlv = fc.record({ type: fc.integer({ min: 0, max: 255 }), value: fc.uint8Array({ maxLength: 40 }) });
const header: fc.Arbitrary<ProxyHeader> = fc.oneof(
  fc.record({
    version: fc.constant(1 as const),
    command: fc.constant('proxy' as const),
    addresses: fc.option(addresses, { nil: undefined }),
    tlvs: fc.constant([]),
  }),
  fc.record({
    version: fc.constant(2 as const),
    command: fc.constantFrom('proxy' as const, 'local' as const),
    addresses: fc.option(addresses, { nil: undefined }),
    tlvs: fc.array(tlv, { maxLength: 4 }),
  }),
);
/** What decoding an encoded header gives: LOCAL carries no addresses. */
const expected = (h: ProxyHeader): ProxyHeader => ({
  ...h,
  addresses: h.command === 'local' ? undefined : h.addresses,
});

describe('PROXY protocol properties', () => {
  it('decode(encode(h)) is h, whatever follows the header', () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 20 }), (h, tail) => {
        const enc = encodeProxyHeader(h);
        const d = decoded(new Uint8Array([...enc, ...tail]));
        expect(d.length).toBe(enc.length);
        expect({ ...d.header, addresses: d.header.addresses }).toEqual(expected(h));
      }),
    );
  });

  it('every proper prefix of a header asks for more bytes, and never for fewer than it has', () => {
    fc.assert(
      fc.property(header, fc.nat(), (h, cut) => {
        const enc = encodeProxyHeader(h);
        const n = cut % enc.length;
        const r = decodeProxyHeader(enc.subarray(0, n));
        expect(r.ok && !r.value.complete && r.value.minLength > n && r.value.minLength <= enc.length).toBe(
          true,
        );
      }),
    );
  });

  it('random bytes never throw and give a header, a prefix or a typed error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.uint8Array({ maxLength: 200 }).map((b) => new Uint8Array([...PROXY_V2_SIGNATURE, ...b])),
          fc.string({ maxLength: 120 }).map((s) => bytes(`PROXY ${s}`)),
        ),
        (input) => {
          const r = decodeProxyHeader(input);
          if (r.ok) {
            if (r.value.complete) expect(r.value.length).toBeLessThanOrEqual(input.length);
            else expect(r.value.minLength).toBeGreaterThan(input.length);
          } else {
            expect(r.error).toBeInstanceOf(LbError);
            expect(r.error.code).toMatch(/^LB_PROXY_/);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a mutated header either fails, is incomplete, or decodes to a header that re-encodes to its bytes', () => {
    fc.assert(
      fc.property(
        header,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (h, flips) => {
          const enc = encodeProxyHeader(h).slice();
          for (const [at, v] of flips) enc[at % enc.length] = v;
          const r = decodeProxyHeader(enc);
          if (!r.ok) {
            expect(r.error.code).toMatch(/^LB_PROXY_/);
            return;
          }
          if (!r.value.complete) return;
          const d = r.value.header;
          // a decoded PROXY header with addresses re-encodes to the same address bytes
          if (d.version === 2 && d.command === 'proxy') {
            const again = encodeProxyHeader(d);
            expect(again).toEqual(enc.subarray(0, r.value.length));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalIp,
  canonicalMac,
  compareIp,
  formatIp,
  formatMac,
  ipFamily,
  ipInPrefix,
  isLinkLocalIp,
  isMulticastIp,
  type ParsedIp,
  parseCidr,
  parseIp,
  parseMac,
} from '../src/index';

describe('IP addresses', () => {
  it('formats IPv6 as RFC 5952 (and as tshark and inet_ntop print it)', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['FD77::74', 'fd77::74'],
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['::ffff:c000:0201', '::ffff:192.0.2.1'],
      ['fe80::0:0:1', 'fe80::1'],
      ['0:0:1:0:0:0:1:0', '0:0:1::1:0'],
    ];
    for (const [input, want] of cases) expect(canonicalIp(input), input).toBe(want);
  });

  it('refuses what is not an address: zones, prefixes, leading zeros, junk', () => {
    for (const bad of [
      'fe80::1%eth0',
      '10.0.0.1/24',
      '010.0.0.1',
      '1.2.3',
      '1.2.3.256',
      ':::',
      '1::2::3',
      'g::1',
      '',
      5,
    ])
      expect(parseIp(bad), String(bad)).toBeUndefined();
    expect(parseIp('10.0.0.1', 'ipv6')).toBeUndefined();
    expect(parseIp('::1', 'ipv4')).toBeUndefined();
  });

  it('round-trips any 4 or 16 bytes and agrees with node:net on validity', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = formatIp(bytes);
        expect(isIPv6(text)).toBe(true);
        expect(parseIp(text)?.bytes).toEqual(bytes);
        expect(canonicalIp(text.toUpperCase())).toBe(text);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
        const text = formatIp(bytes);
        expect(isIPv4(text)).toBe(true);
        expect(parseIp(text)?.bytes).toEqual(bytes);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 46 }), (s) => {
        const p = parseIp(s);
        if (p) expect(p.family === 'ipv4' ? isIPv4(s) : isIPv6(s)).toBe(true);
      }),
    );
  });

  it('compares as unsigned integers in network order', () => {
    const p = (t: string) => parseIp(t) as ParsedIp;
    expect(compareIp(p('192.168.77.12'), p('192.168.77.11'))).toBeGreaterThan(0);
    expect(compareIp(p('10.0.0.1'), p('9.255.255.255'))).toBeGreaterThan(0);
    expect(compareIp(p('fe80::1'), p('fe80::1'))).toBe(0);
    expect(compareIp(p('::1'), p('fe80::1'))).toBeLessThan(0);
  });

  it('reads prefixes and classifies addresses', () => {
    expect(parseCidr('192.168.77.74/24')).toMatchObject({ text: '192.168.77.74', prefixLength: 24 });
    expect(parseCidr('fd77::74')).toMatchObject({ family: 'ipv6', prefixLength: undefined });
    for (const bad of ['10.0.0.1/33', 'fd77::1/129', '10.0.0.1/', '10.0.0.1/024', '10.0.0.1/-1'])
      expect(parseCidr(bad), bad).toBeUndefined();
    expect(isMulticastIp(parseIp('224.0.0.18') as ParsedIp)).toBe(true);
    expect(isMulticastIp(parseIp('ff02::12') as ParsedIp)).toBe(true);
    expect(isMulticastIp(parseIp('192.168.77.1') as ParsedIp)).toBe(false);
    expect(isLinkLocalIp(parseIp('fe80::1') as ParsedIp)).toBe(true);
    expect(isLinkLocalIp(parseIp('fec0::1') as ParsedIp)).toBe(false);
    expect(ipInPrefix(parseIp('192.168.77.200') as ParsedIp, parseIp('192.168.77.0') as ParsedIp, 24)).toBe(
      true,
    );
    expect(ipInPrefix(parseIp('192.168.78.1') as ParsedIp, parseIp('192.168.77.0') as ParsedIp, 23)).toBe(
      false,
    );
    expect(ipFamily('fd77::1')).toBe('ipv6');
  });
});

describe('MAC addresses', () => {
  it('parses colon and dash forms in any case and formats lower case with colons', () => {
    expect(canonicalMac('00-00-5E-00-01-33')).toBe('00:00:5e:00:01:33');
    expect(formatMac(Uint8Array.from([2, 0, 0, 0, 1, 0xff]))).toBe('02:00:00:00:01:ff');
    for (const bad of ['00:00:5e:00:01', '00:00:5e-00:01:33', 'zz:00:5e:00:01:33', 7])
      expect(parseMac(bad), String(bad)).toBeUndefined();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (b) => {
        expect(parseMac(formatMac(b))).toEqual(b);
      }),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatServerAddress, parseServerAddress } from '../src/address';

const ok = (s: string) => {
  const r = parseServerAddress(s);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};
const bad = (s: string) => {
  const r = parseServerAddress(s);
  return r.ok ? 'ok' : r.error.message;
};

describe('parseServerAddress', () => {
  it('parses host names, IPv4 and IPv6 with and without port', () => {
    expect(ok('time.example.net')).toEqual({ host: 'time.example.net', port: 123 });
    expect(ok('time.example.net:1123')).toEqual({ host: 'time.example.net', port: 1123 });
    expect(ok('192.0.2.1')).toEqual({ host: '192.0.2.1', port: 123 });
    expect(ok('192.0.2.1:123')).toEqual({ host: '192.0.2.1', port: 123 });
    expect(ok('[2001:db8::1]:4123')).toEqual({ host: '2001:db8::1', port: 4123 });
    expect(ok('[::1]')).toEqual({ host: '::1', port: 123 });
    expect(ok('2001:db8::1')).toEqual({ host: '2001:db8::1', port: 123 });
    expect(ok('[fe80::123%eth0]:123')).toEqual({ host: 'fe80::123%eth0', port: 123 });
  });

  it('names the input and the problem when it cannot parse', () => {
    expect(bad('')).toBe("invalid server '': empty");
    expect(bad('host:0')).toBe("invalid server 'host:0': port must be 1-65535");
    expect(bad('host:65536')).toBe("invalid server 'host:65536': port must be 1-65535");
    expect(bad('host:12a')).toBe("invalid server 'host:12a': port must be 1-65535");
    expect(bad('[192.0.2.1]:123')).toMatch(/brackets are for IPv6/);
    expect(bad('2001:db8::1:123:zz')).toMatch(/not an IPv6 address/);
    expect(bad('bad_host!')).toMatch(/not a host name or IP address/);
    expect(bad(':123')).toMatch(/empty host/);
    // not IP addresses in common's strict reading, and not host names either (numeric top-level label)
    expect(bad('192.0.2.01')).toBe("invalid server '192.0.2.01': not a host name or IP address");
    expect(bad('1.2.3')).toMatch(/not a host name or IP address/);
    expect(bad('[fe80::1%bad zone]')).toMatch(/brackets are for IPv6/);
  });

  it('round-trips through formatServerAddress', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()),
        fc.integer({ min: 1, max: 65535 }),
        (host, port) => {
          expect(ok(formatServerAddress({ host, port }))).toEqual({ host, port });
        },
      ),
    );
  });
});

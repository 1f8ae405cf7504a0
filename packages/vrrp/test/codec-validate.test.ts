import { describe, expect, it } from 'vitest';
import {
  decodeVrrp,
  decodeVrrpIpPacket,
  encodeVrrp,
  encodeVrrpIpPacket,
  VRRP_DROP_CATEGORIES,
  VRRP_DROP_CODES,
  type VrrpAdvert,
  type VrrpDecoded,
  type VrrpDropCode,
  type VrrpErrorCode,
  type VrrpInstanceCheckConfig,
  VrrpRxStats,
  validateAgainstInstance,
} from '../src/index';

const SRC = '192.168.77.12';

function received(advert: VrrpAdvert, source = SRC): VrrpDecoded {
  const family = advert.family;
  const destination = family === 'ipv4' ? '224.0.0.18' : 'ff02::12';
  const r = decodeVrrp(encodeVrrp(advert, { source }), { family, source, destination, ttl: 255 });
  if (!r.ok) throw r.error;
  return r.value;
}

const v2Advert: VrrpAdvert = {
  version: 2,
  family: 'ipv4',
  vrid: 51,
  priority: 99,
  addresses: ['192.168.77.74', '192.168.77.75'],
  advertIntervalSec: 1,
};
const v3Advert: VrrpAdvert = {
  version: 3,
  family: 'ipv4',
  vrid: 51,
  priority: 99,
  addresses: ['192.168.77.74'],
  maxAdvertIntervalCs: 100,
};
const v2Local: VrrpInstanceCheckConfig = {
  version: 2,
  vrid: 51,
  priority: 89,
  virtualIps: ['192.168.77.75/24', '192.168.77.74/24'], // order and prefix do not matter
  advertIntervalMs: 1000,
};
const v3Local: VrrpInstanceCheckConfig = {
  version: 3,
  vrid: 51,
  priority: 89,
  virtualIps: ['192.168.77.74'],
  advertIntervalMs: 100, // v3 learns the master's interval: no mismatch check
};

function expectDrop(p: VrrpDecoded, cfg: VrrpInstanceCheckConfig, code: VrrpErrorCode) {
  const r = validateAgainstInstance(p, cfg);
  expect(r.ok ? 'accepted' : r.error.code).toBe(code);
}

describe('validateAgainstInstance', () => {
  it('accepts a matching v2 and v3 advert', () => {
    expect(validateAgainstInstance(received(v2Advert), v2Local)).toEqual({
      ok: true,
      value: { addressListMatches: true },
    });
    expect(validateAgainstInstance(received(v3Advert), v3Local).ok).toBe(true);
  });

  it('RFC 3768 §7.1 / RFC 5798 §7.1: MUST verify the version (a v2 advert to a v3 instance)', () => {
    expectDrop(received(v2Advert), { ...v3Local, virtualIps: v2Local.virtualIps }, 'VRRP_VERSION_MISMATCH');
    expectDrop(received(v3Advert), { ...v2Local, virtualIps: ['192.168.77.74'] }, 'VRRP_VERSION_MISMATCH');
  });

  it('RFC 3768 §7.1 / RFC 5798 §7.1: MUST verify that the VRID is configured on the receiving interface', () => {
    expectDrop(received({ ...v3Advert, vrid: 52 }), v3Local, 'VRRP_VRID_MISMATCH');
  });

  it('RFC 3768 §7.1 / RFC 5798 §7.1: MUST verify that the local router is not the address owner', () => {
    expectDrop(received(v3Advert), { ...v3Local, priority: 255 }, 'VRRP_LOCAL_OWNER');
  });

  it('RFC 3768 §7.1 / §5.3.6: MUST discard a packet whose Auth Type does not match the local method', () => {
    expectDrop(
      received({ ...v2Advert, auth: { type: 'simple', password: 'pw' } }),
      v2Local,
      'VRRP_AUTH_MISMATCH',
    );
    expectDrop(
      received(v2Advert),
      { ...v2Local, auth: { type: 'simple', password: 'pw' } },
      'VRRP_AUTH_MISMATCH',
    );
  });

  it('RFC 2338 §7.1 simple password (keepalived auth_type PASS): a wrong password is an auth failure', () => {
    const withPw = received({ ...v2Advert, auth: { type: 'simple', password: 'secret' } });
    expect(
      validateAgainstInstance(withPw, { ...v2Local, auth: { type: 'simple', password: 'secret' } }).ok,
    ).toBe(true);
    expect(
      validateAgainstInstance(withPw, {
        ...v2Local,
        auth: { type: 'simple', password: Uint8Array.from(Buffer.from('secret')) },
      }).ok,
    ).toBe(true);
    expectDrop(withPw, { ...v2Local, auth: { type: 'simple', password: 'secreT' } }, 'VRRP_AUTH_FAILURE');
    expectDrop(withPw, { ...v2Local, auth: { type: 'simple', password: 'secret1' } }, 'VRRP_AUTH_FAILURE');
  });

  it('RFC 3768 §7.1 / RFC 5798 §7.1: an address list mismatch is dropped unless the sender is the owner', () => {
    const other = received({ ...v3Advert, addresses: ['192.168.77.99'] });
    expectDrop(other, v3Local, 'VRRP_ADDRESS_LIST_MISMATCH');
    // RFC 9568 §5.2.5: no address at all is dropped before the list is compared
    expectDrop(received({ ...v3Advert, addresses: [] }), v3Local, 'VRRP_NO_ADDRESS');
    expectDrop(
      received({ ...v3Advert, addresses: ['192.168.77.74', '192.168.77.74'] }),
      v3Local,
      'VRRP_ADDRESS_LIST_MISMATCH',
    );
    // From the address owner the packet is processed, and the caller is told to log it.
    const owner = received({ ...v3Advert, priority: 255, addresses: ['192.168.77.99'] });
    expect(validateAgainstInstance(owner, v3Local)).toEqual({
      ok: true,
      value: { addressListMatches: false },
    });
  });

  it('compares IPv6 address lists in canonical form', () => {
    const six: VrrpAdvert = { ...v3Advert, family: 'ipv6', addresses: ['fd77::74'] };
    const p = received(six, 'fe80::1');
    expect(validateAgainstInstance(p, { ...v3Local, virtualIps: ['fd77:0:0::0074/64'] }).ok).toBe(true);
    expectDrop(p, { ...v3Local, virtualIps: ['fd77::75'] }, 'VRRP_ADDRESS_LIST_MISMATCH');
    expectDrop(p, v3Local, 'VRRP_BAD_SOURCE'); // an IPv4 instance: the source is not of its family
  });

  it('RFC 3768 §7.1: MUST verify that the v2 Adver Interval is the locally configured one', () => {
    expectDrop(received({ ...v2Advert, advertIntervalSec: 2 }), v2Local, 'VRRP_INTERVAL_MISMATCH');
  });

  it('RFC 5798 §7.1 has no interval check: a v3 backup learns the master interval', () => {
    expect(validateAgainstInstance(received({ ...v3Advert, maxAdvertIntervalCs: 7 }), v3Local).ok).toBe(true);
  });

  it('unicast peers (keepalived vrrp_check_unicast_src): the source must be a configured peer', () => {
    const p = received(v3Advert, '192.168.77.12');
    expect(
      validateAgainstInstance(p, { ...v3Local, unicastPeers: ['192.168.77.13', '192.168.77.12'] }).ok,
    ).toBe(true);
    expectDrop(p, { ...v3Local, unicastPeers: ['192.168.77.13'] }, 'VRRP_UNKNOWN_PEER');
    expect(validateAgainstInstance(p, { ...v3Local, unicastPeers: [] }).ok).toBe(true); // multicast mode
  });
});

describe('VrrpRxStats', () => {
  it('counts drops by stable code and by keepalived-style category', () => {
    const stats = new VrrpRxStats();
    const good = encodeVrrpIpPacket(v3Advert, { source: SRC });
    const badTtl = encodeVrrpIpPacket(v3Advert, { source: SRC, ttl: 1 });
    const badSum = Uint8Array.from(good);
    badSum[27] = (badSum[27] ?? 0) ^ 0xff;
    for (const pkt of [good, badTtl, badSum, badSum, good.subarray(0, 25)]) {
      const r = stats.observe(decodeVrrpIpPacket(pkt));
      if (r.ok) {
        const v = stats.observe(validateAgainstInstance(r.value, v3Local));
        if (v.ok) stats.accept();
      }
    }
    stats.drop('VRRP_VRID_MISMATCH');
    const s = stats.snapshot();
    expect(s.received).toBe(1);
    expect(s.dropped).toBe(5);
    expect(stats.dropped).toBe(5);
    expect(s.byCode.VRRP_BAD_TTL).toBe(1);
    expect(s.byCode.VRRP_BAD_CHECKSUM).toBe(2);
    expect(stats.count('VRRP_BAD_IP_HEADER')).toBe(1);
    expect(s.byCategory).toMatchObject({ ttl: 1, checksum: 2, ip: 1, vrid: 1, auth: 0 });
    expect(stats.countCategory('checksum')).toBe(2);
    expect(Object.keys(s.byCode)).toEqual([...VRRP_DROP_CODES]);
    expect(Object.keys(s.byCategory)).toEqual([...VRRP_DROP_CATEGORIES]);
    expect(JSON.parse(JSON.stringify(stats))).toEqual(s);
    stats.reset();
    expect(stats.snapshot().dropped + stats.received).toBe(0);
  });

  it('rejects codes it does not know', () => {
    expect(() => new VrrpRxStats().drop('VRRP_NOPE' as VrrpDropCode)).toThrow(TypeError);
  });
});

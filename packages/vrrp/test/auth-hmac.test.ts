import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock, MemoryLogger } from '@proxyha/common';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeVrrp,
  encodeVrrp,
  MemoryAdvertBus,
  MemoryVipManager,
  type RouterTransition,
  sealVrrpHmac,
  splitVrrpHmac,
  VRRP_DROP_CATEGORY,
  VRRP_HMAC_TRAILER_LENGTH,
  type VrrpAdvert,
  VrrpError,
  VrrpHmac,
  type VrrpHmacBinding,
  type VrrpHmacKey,
  VrrpMachine,
  VrrpRouter,
  verifyVrrpHmac,
} from '../src/index';

// The HMAC authentication trailer of draft-cassen-vrrp-auth-hmac (keepalived's auth_hmac). The two
// appendix vectors (key 00..1f, VRID 51, priority 200, sequence 0x6800000080000000) are matched byte for
// byte, checksums included; see vectors/auth-hmac.json for where they come from.

interface Vector {
  name: string;
  family: 'ipv4' | 'ipv6';
  version: 2 | 3;
  vrid: number;
  priority: number;
  maxAdvertIntervalCs?: number;
  advertIntervalSec?: number;
  addresses: string[];
  source: string;
  destination?: string;
  messageLength: number;
  hex: string;
  hmac: string;
}
const file = JSON.parse(readFileSync(join(import.meta.dirname, 'vectors', 'auth-hmac.json'), 'utf8')) as {
  key: string;
  keyId: number;
  sequence: string;
  vectors: Vector[];
};
const KEY: VrrpHmacKey = { id: file.keyId, key: Buffer.from(file.key, 'hex') };
const SEQ = BigInt(`0x${file.sequence}`);
const vector = (name: string) => file.vectors.find((v) => v.name === name) as Vector;
const wire = (v: Vector) => new Uint8Array(Buffer.from(v.hex + v.hmac, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bindingOf = (v: Vector): VrrpHmacBinding => ({
  family: v.family,
  version: v.version,
  vrid: v.vrid,
  source: v.source,
});
const advertOf = (v: Vector): VrrpAdvert =>
  v.version === 2
    ? {
        version: 2,
        family: 'ipv4',
        vrid: v.vrid,
        priority: v.priority,
        addresses: v.addresses,
        advertIntervalSec: v.advertIntervalSec as number,
      }
    : {
        version: 3,
        family: v.family,
        vrid: v.vrid,
        priority: v.priority,
        addresses: v.addresses,
        maxAdvertIntervalCs: v.maxAdvertIntervalCs as number,
      };
/** The vector's message as our encoder writes it (the checksum form of the vector). */
function messageOf(v: Vector): Uint8Array {
  if (v.family === 'ipv6')
    return encodeVrrp(advertOf(v), { source: v.source, destination: v.destination as string });
  return encodeVrrp(advertOf(v), v.version === 3 ? { checksumMode: 'vrrp-only' } : {});
}

describe('appendix vectors, byte for byte', () => {
  for (const name of ['ipv4', 'ipv6', 'ipv4-v2-self-generated']) {
    it(`${name}: our encoder and sealer write exactly the vector, and it verifies`, () => {
      const v = vector(name);
      const sealed = sealVrrpHmac(messageOf(v), {
        binding: bindingOf(v),
        key: KEY,
        sequence: SEQ,
        ...(v.destination ? { destination: v.destination } : {}),
      });
      expect(hex(sealed)).toBe(v.hex + v.hmac);
      expect(sealed.length).toBe(v.messageLength + VRRP_HMAC_TRAILER_LENGTH);
      const { message, trailer } = splitVrrpHmac(wire(v), v.family);
      expect(message.length).toBe(v.messageLength);
      const r = verifyVrrpHmac(message, trailer as Uint8Array, bindingOf(v), [KEY]);
      expect(r).toEqual({
        ok: true,
        value: { keyId: 1, seconds: 0x68000000, fraction: 0x8000, counter: 0, sequence: SEQ },
      });
    });
  }

  it('the IPv6 vector decodes with its checksum over the whole payload; the IPv4 one over the message', () => {
    const v6 = vector('ipv6');
    const ctx6 = { family: 'ipv6', source: 'fe80::10', destination: 'fe80::20' } as const;
    const d6 = decodeVrrp(wire(v6), { ...ctx6, trailerLength: VRRP_HMAC_TRAILER_LENGTH });
    expect(d6.ok && d6.value.advert).toMatchObject({ vrid: 51, priority: 200, addresses: ['fe80::100'] });
    expect(d6.ok && d6.value.checksum).toBe(0xa2e9);
    // the message alone does not verify: the checksum covers the trailer
    expect(decodeVrrp(wire(v6).subarray(0, 24), ctx6)).toMatchObject({ ok: false });
    // without trailerLength the payload is too long for one address
    expect(decodeVrrp(wire(v6), ctx6)).toMatchObject({ ok: false, error: { code: 'VRRP_BAD_LENGTH' } });
    const v4 = vector('ipv4');
    const d4 = decodeVrrp(wire(v4), {
      family: 'ipv4',
      source: v4.source,
      destination: '224.0.0.18',
      trailerLength: VRRP_HMAC_TRAILER_LENGTH,
    });
    expect(d4.ok && d4.value.checksumMode).toBe('vrrp-only');
    expect(d4.ok && d4.value.advert).toMatchObject({ vrid: 51, priority: 200, addresses: ['192.0.2.100'] });
  });

  // one flipped bit per field of the IPv6 image, as keepalived's own test does
  const at = (trailerOffset: number) => 24 + trailerOffset;
  const mutations: [string, number, string | 'ok'][] = [
    ['priority', 2, 'VRRP_HMAC_INVALID'],
    ['advert interval', 5, 'VRRP_HMAC_INVALID'],
    ['checksum (not signed: read as zero)', 6, 'ok'],
    ['virtual address', 8 + 15, 'VRRP_HMAC_INVALID'],
    ['extension type', at(0), 'VRRP_HMAC_MALFORMED'],
    ['key id', at(1), 'VRRP_HMAC_UNKNOWN_KEY'],
    ['reserved', at(2), 'VRRP_HMAC_MALFORMED'],
    ['seconds', at(4), 'VRRP_HMAC_INVALID'],
    ['fraction', at(8), 'VRRP_HMAC_INVALID'],
    ['counter', at(10), 'VRRP_HMAC_INVALID'],
    ['hmac', at(12), 'VRRP_HMAC_INVALID'],
  ];
  for (const [field, off, want] of mutations) {
    it(`flipping the ${field} gives ${want}`, () => {
      const buf = wire(vector('ipv6'));
      buf[off]! ^= 0x01;
      const { message, trailer } = splitVrrpHmac(buf, 'ipv6');
      const r = verifyVrrpHmac(message, trailer as Uint8Array, bindingOf(vector('ipv6')), [KEY]);
      if (want === 'ok') expect(r.ok).toBe(true);
      else expect(r).toMatchObject({ ok: false, error: { code: want } });
    });
  }

  it('the pseudo-header binds source, VRID and version', () => {
    const v = vector('ipv6');
    const { message, trailer } = splitVrrpHmac(wire(v), 'ipv6');
    const b = bindingOf(v);
    for (const other of [
      { ...b, source: 'fe80::20' },
      { ...b, vrid: 52 },
      { ...b, version: 2 as const },
    ])
      expect(verifyVrrpHmac(message, trailer as Uint8Array, other, [KEY])).toMatchObject({
        ok: false,
        error: { code: 'VRRP_HMAC_INVALID' },
      });
    // a zone suffix of a link-local source is not part of the address
    expect(verifyVrrpHmac(message, trailer as Uint8Array, { ...b, source: 'fe80::10%eth0' }, [KEY]).ok).toBe(
      true,
    );
    // the same key bytes under another id do not verify a trailer naming id 1
    expect(verifyVrrpHmac(message, trailer as Uint8Array, b, [{ id: 2, key: KEY.key }])).toMatchObject({
      ok: false,
      error: { code: 'VRRP_HMAC_UNKNOWN_KEY' },
    });
  });
});

describe('tampering and hostile bytes (property)', () => {
  const codes = new Set(['VRRP_HMAC_INVALID', 'VRRP_HMAC_MALFORMED', 'VRRP_HMAC_UNKNOWN_KEY']);

  it('changing any signed byte of an authenticated advert is refused', () => {
    const adverts = fc.record({
      family: fc.constantFrom('ipv4' as const, 'ipv6' as const),
      vrid: fc.integer({ min: 1, max: 255 }),
      priority: fc.integer({ min: 0, max: 255 }),
      count: fc.integer({ min: 1, max: 4 }),
      seq: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      key: fc.uint8Array({ minLength: 32, maxLength: 64 }),
    });
    fc.assert(
      fc.property(adverts, fc.nat(), fc.integer({ min: 1, max: 255 }), (a, pos, xor) => {
        const v6 = a.family === 'ipv6';
        const addresses = Array.from({ length: a.count }, (_, i) =>
          v6 ? `fd77::${i + 1}` : `10.0.0.${i + 1}`,
        );
        const source = v6 ? 'fe80::1' : '10.0.0.9';
        const msg = encodeVrrp(
          {
            version: 3,
            family: a.family,
            vrid: a.vrid,
            priority: a.priority,
            addresses,
            maxAdvertIntervalCs: 100,
          },
          { source },
        );
        const key = { id: 7, key: a.key };
        const binding = { family: a.family, version: 3 as const, vrid: a.vrid, source };
        const sealed = sealVrrpHmac(msg, { binding, key, sequence: a.seq, destination: 'ff02::12' });
        const i = pos % sealed.length;
        if (i === 6 || i === 7) return; // the checksum is not signed (read as zero)
        const bad = Uint8Array.from(sealed);
        bad[i]! ^= xor;
        const { message, trailer } = splitVrrpHmac(bad, a.family);
        if (!trailer) return; // the count byte changed: no longer a message with a trailer
        const r = verifyVrrpHmac(message, trailer, binding, [key]);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(codes.has(r.error.code)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('random payloads never throw and never verify', () => {
    const hmac = new VrrpHmac({ keys: [KEY], activeKey: 1, mode: 'permissive' });
    const binding = { family: 'ipv4', version: 3, vrid: 51, source: '10.0.0.9' } as const;
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 120 }),
        fc.constantFrom('ipv4' as const, 'ipv6' as const),
        (bytes, family) => {
          const { message, trailer } = splitVrrpHmac(bytes, family);
          if (trailer) {
            const r = verifyVrrpHmac(message, trailer, binding, [KEY]);
            expect(r.ok).toBe(false);
            if (!r.ok) expect(r.error).toBeInstanceOf(VrrpError);
            const c = hmac.check(message, trailer, binding, Date.UTC(2026, 0, 1));
            expect(c.ok).toBe(false);
          }
          // and any 28 bytes as a trailer
          if (bytes.length >= 36) {
            const r = verifyVrrpHmac(bytes.subarray(0, bytes.length - 28), bytes.subarray(-28), binding, [
              KEY,
            ]);
            expect(r.ok).toBe(false);
            if (!r.ok)
              expect(VRRP_DROP_CATEGORY[r.error.code as keyof typeof VRRP_DROP_CATEGORY]).toBeDefined();
          }
        },
      ),
      { numRuns: 500 },
    );
    // wrong types and lengths are typed drops too
    expect(verifyVrrpHmac(new Uint8Array(12), new Uint8Array(27), binding, [KEY])).toMatchObject({
      ok: false,
      error: { code: 'VRRP_BAD_LENGTH' },
    });
    expect(
      verifyVrrpHmac(
        new Uint8Array(12),
        Uint8Array.of(1, 1, ...new Uint8Array(26)),
        { ...binding, source: 'nonsense' },
        [KEY],
      ),
    ).toMatchObject({ ok: false, error: { code: 'VRRP_BAD_CONTEXT' } });
    expect(verifyVrrpHmac('x' as unknown as Uint8Array, new Uint8Array(28), binding, [KEY])).toMatchObject({
      ok: false,
      error: { code: 'VRRP_BAD_CONTEXT' },
    });
  });
});

describe('VrrpHmac: sequence numbers, freshness, replays, modes, rotation', () => {
  const T0 = Date.UTC(2026, 6, 20, 12, 0, 0);
  const b4 = { family: 'ipv4', version: 3, vrid: 51, source: '192.168.77.11' } as const;
  const msg = encodeVrrp(
    {
      version: 3,
      family: 'ipv4',
      vrid: 51,
      priority: 200,
      addresses: ['192.168.77.74'],
      maxAdvertIntervalCs: 100,
    },
    { source: b4.source },
  );
  const K1: VrrpHmacKey = { id: 1, key: new Uint8Array(32).fill(1) };
  const K2: VrrpHmacKey = { id: 2, key: new Uint8Array(48).fill(2) };
  const open = (h: VrrpHmac, sealed: Uint8Array, at: number, binding: VrrpHmacBinding = b4) => {
    const { message, trailer } = splitVrrpHmac(sealed, binding.family);
    return h.check(message, trailer, binding, at);
  };

  it('sequence numbers are the clock (seconds, 1/65536 s), strictly growing within one reading', () => {
    const h = new VrrpHmac({ keys: [K1], activeKey: 1 });
    const s1 = h.nextSequence(T0 + 500);
    expect(s1).toBe((BigInt(T0 / 1000) << 32n) | (0x8000n << 16n));
    expect(h.nextSequence(T0 + 500)).toBe(s1 + 1n);
    expect(h.nextSequence(T0 + 499)).toBe(s1 + 2n); // the clock went back a little: still growing
    expect(h.nextSequence(T0 + 1500)).toBe((BigInt(T0 / 1000 + 1) << 32n) | (0x8000n << 16n));
  });

  it('a clock stepped back restarts the sequence from the clock past the window (time), never (monotonic)', () => {
    const t = new VrrpHmac({ keys: [K1], activeKey: 1, timeWindowSec: 5 });
    const m = new VrrpHmac({ keys: [K1], activeKey: 1, antiReplay: 'monotonic', timeWindowSec: 5 });
    const ahead = T0 + 3_600_000;
    t.nextSequence(ahead);
    m.nextSequence(ahead);
    expect(Number(t.nextSequence(T0) >> 32n)).toBe(T0 / 1000);
    expect(m.nextSequence(T0)).toBe((BigInt(ahead / 1000) << 32n) + 1n);
    // within the window a step back keeps growing
    const u = new VrrpHmac({ keys: [K1], activeKey: 1, timeWindowSec: 5 });
    const s = u.nextSequence(T0 + 3000);
    expect(u.nextSequence(T0)).toBe(s + 1n);
  });

  it('a replayed advert is refused; the same advert at a second receiver is accepted', () => {
    const sender = new VrrpHmac({ keys: [K1], activeKey: 1 });
    const a = new VrrpHmac({ keys: [K1], activeKey: 1 });
    const b = new VrrpHmac({ keys: [K1], activeKey: 1 });
    const first = sender.seal(msg, b4, sender.nextSequence(T0));
    const second = sender.seal(msg, b4, sender.nextSequence(T0 + 1000));
    expect(open(a, first, T0 + 10)).toMatchObject({ ok: true, value: { authenticated: true, skewSec: 0 } });
    expect(open(a, first, T0 + 20)).toMatchObject({ ok: false, error: { code: 'VRRP_HMAC_REPLAY' } });
    expect(open(b, first, T0 + 30).ok).toBe(true);
    expect(open(a, second, T0 + 1010).ok).toBe(true);
    // an older capture after a newer advert: a replay, however it is timed within the window
    expect(open(a, first, T0 + 1020)).toMatchObject({ ok: false, error: { code: 'VRRP_HMAC_REPLAY' } });
    // forged adverts do not move the mark: after a flood of them the next genuine advert is accepted
    for (let i = 0; i < 5; i++) {
      const forged = sealVrrpHmac(msg, {
        binding: b4,
        key: { id: 1, key: new Uint8Array(32) },
        sequence: (1n << 63n) + BigInt(i),
      });
      expect(open(a, forged, T0 + 1100)).toMatchObject({ ok: false });
    }
    expect(open(a, sender.seal(msg, b4, sender.nextSequence(T0 + 2000)), T0 + 2010).ok).toBe(true);
  });

  it('time: an advert outside the freshness window is stale (before any HMAC); monotonic does not look', () => {
    const sender = new VrrpHmac({ keys: [K1], activeKey: 1 });
    const sealed = sender.seal(msg, b4, sender.nextSequence(T0));
    const time = () => new VrrpHmac({ keys: [K1], activeKey: 1, timeWindowSec: 5 });
    expect(open(time(), sealed, T0 + 5999).ok).toBe(true);
    expect(open(time(), sealed, T0 + 6000)).toMatchObject({
      ok: false,
      error: { code: 'VRRP_HMAC_STALE', details: { actual: 6, expected: 5 } },
    });
    expect(open(time(), sealed, T0 - 6000)).toMatchObject({
      ok: false,
      error: { code: 'VRRP_HMAC_STALE', details: { actual: -6 } },
    });
    // stale is decided before the HMAC: even a wrong key gives STALE
    const other = new VrrpHmac({ keys: [K2], activeKey: 2 });
    expect(open(other, sealed, T0 + 60_000)).toMatchObject({ ok: false, error: { code: 'VRRP_HMAC_STALE' } });
    const mono = new VrrpHmac({ keys: [K1], activeKey: 1, antiReplay: 'monotonic' });
    expect(open(mono, sealed, T0 + 86_400_000)).toMatchObject({ ok: true, value: { authenticated: true } });
    expect(open(mono, sealed, T0 + 86_400_000)).toMatchObject({
      ok: false,
      error: { code: 'VRRP_HMAC_REPLAY' },
    });
  });

  it('time: a replay mark outside the window expires (a sender whose clock was stepped back gets in again)', () => {
    const sender = new VrrpHmac({ keys: [K1], activeKey: 1, timeWindowSec: 5 });
    const r = new VrrpHmac({ keys: [K1], activeKey: 1, timeWindowSec: 5 });
    // both clocks ran an hour ahead, then NTP stepped them back
    expect(open(r, sender.seal(msg, b4, sender.nextSequence(T0 + 3_600_000)), T0 + 3_600_000).ok).toBe(true);
    const back = sender.seal(msg, b4, sender.nextSequence(T0 + 10_000));
    expect(Number(splitVrrpHmac(back, 'ipv4').trailer![7])).toBe((T0 / 1000 + 10) & 0xff); // restarted from the clock
    // the old mark lies outside the window of the receiver's clock: forgotten, the advert is accepted
    expect(open(r, back, T0 + 10_000).ok).toBe(true);
    // and is the new mark
    expect(open(r, back, T0 + 10_000)).toMatchObject({ ok: false, error: { code: 'VRRP_HMAC_REPLAY' } });
    // monotonic keeps its mark: the stepped-back sender is refused until it catches up
    const m = new VrrpHmac({ keys: [K1], activeKey: 1, antiReplay: 'monotonic' });
    const ahead = new VrrpHmac({ keys: [K1], activeKey: 1, antiReplay: 'monotonic' });
    expect(open(m, ahead.seal(msg, b4, ahead.nextSequence(T0 + 3_600_000)), T0).ok).toBe(true);
    const fresh = new VrrpHmac({ keys: [K1], activeKey: 1 });
    expect(open(m, fresh.seal(msg, b4, fresh.nextSequence(T0 + 10_000)), T0 + 10_000)).toMatchObject({
      ok: false,
      error: { code: 'VRRP_HMAC_REPLAY' },
    });
  });

  it('modes: enforce needs a trailer; permissive and receive-only accept adverts without one; all refuse a bad one', () => {
    const plain = msg;
    const forged = sealVrrpHmac(msg, { binding: b4, key: K2, sequence: BigInt(T0 / 1000) << 32n });
    for (const mode of ['enforce', 'permissive', 'receive-only'] as const) {
      const h = new VrrpHmac({ keys: [K1, { id: 2, key: new Uint8Array(32).fill(9) }], activeKey: 1, mode });
      expect(h.signs).toBe(mode !== 'receive-only');
      const r = h.check(plain, undefined, b4, T0);
      if (mode === 'enforce') expect(r).toMatchObject({ ok: false, error: { code: 'VRRP_HMAC_MISSING' } });
      else expect(r).toEqual({ ok: true, value: { authenticated: false } });
      expect(open(h, forged, T0)).toMatchObject({ ok: false, error: { code: 'VRRP_HMAC_INVALID' } });
    }
  });

  it('rotation: both keys verify during the overlap; update keeps the sequence and the replay marks', () => {
    const a = new VrrpHmac({ keys: [K1], activeKey: 1 });
    const b = new VrrpHmac({ keys: [K1], activeKey: 1 });
    const at = (s: number) => T0 + s * 1000;
    expect(open(b, a.seal(msg, b4, a.nextSequence(at(0))), at(0)).ok).toBe(true);
    // 1. every node learns key 2, still signing with 1
    a.update({ keys: [K1, K2], activeKey: 1 });
    b.update({ keys: [K1, K2], activeKey: 1 });
    const old = a.seal(msg, b4, a.nextSequence(at(1)));
    expect(open(b, old, at(1))).toMatchObject({ ok: true, value: { trailer: { keyId: 1 } } });
    // 2. a signs with key 2 first: b, still signing with 1, accepts it
    a.update({ keys: [K1, K2], activeKey: 2 });
    expect(a.settings).toEqual({
      mode: 'enforce',
      antiReplay: 'time',
      timeWindowSec: 5,
      activeKey: 2,
      keyIds: [1, 2],
    });
    const s2 = a.seal(msg, b4, a.nextSequence(at(2)));
    expect(open(b, s2, at(2))).toMatchObject({ ok: true, value: { trailer: { keyId: 2 } } });
    // the replay mark survived the update: the key-1 capture stays refused
    expect(open(b, old, at(2))).toMatchObject({ ok: false, error: { code: 'VRRP_HMAC_REPLAY' } });
    // 3. key 1 retired: adverts signed with it are refused as an unknown key
    b.update({ keys: [K2], activeKey: 2 });
    const late = sealVrrpHmac(msg, { binding: b4, key: K1, sequence: a.nextSequence(at(3)) });
    expect(open(b, late, at(3))).toMatchObject({ ok: false, error: { code: 'VRRP_HMAC_UNKNOWN_KEY' } });
    expect(open(b, a.seal(msg, b4, a.nextSequence(at(4))), at(4)).ok).toBe(true);
  });

  it('bad options are VRRP_INVALID_ARGUMENT naming the option; a bad update changes nothing', () => {
    const bad: [object, string][] = [
      [{ keys: [], activeKey: 1 }, 'keys'],
      [{ keys: [{ id: 1, key: new Uint8Array(31) }], activeKey: 1 }, 'keys[0].key'],
      [{ keys: [{ id: 0, key: new Uint8Array(32) }], activeKey: 0 }, 'keys[0].id'],
      [{ keys: [K1, { ...K2, id: 1 }], activeKey: 1 }, 'keys[1].id'],
      [{ keys: [K1], activeKey: 2 }, 'activeKey'],
      [{ keys: [K1], activeKey: 1, mode: 'loose' }, 'mode'],
      [{ keys: [K1], activeKey: 1, timeWindowSec: 301 }, 'timeWindowSec'],
      [{ keys: [K1], activeKey: 1, antiReplay: 'never' }, 'antiReplay'],
    ];
    for (const [o, field] of bad) {
      let e: unknown;
      try {
        new VrrpHmac(o as never);
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(VrrpError);
      expect((e as VrrpError).code).toBe('VRRP_INVALID_ARGUMENT');
      expect((e as VrrpError).details).toMatchObject({ field });
    }
    const h = new VrrpHmac({ keys: [K1], activeKey: 1 });
    expect(() => h.update({ keys: [K1], activeKey: 9 })).toThrow(VrrpError);
    expect(h.settings.activeKey).toBe(1);
    expect(() =>
      sealVrrpHmac(msg, { binding: { ...b4, family: 'ipv6', source: 'fe80::1' }, key: K1, sequence: 1n }),
    ).toThrow(/destination/);
    expect(() => sealVrrpHmac(msg, { binding: b4, key: K1, sequence: -1n })).toThrow(/sequence/);
  });
});

describe('VrrpRouter with HMAC (in-memory bus, manual clock)', () => {
  const routers: VrrpRouter[] = [];
  let clock = new ManualClock();
  afterEach(async () => {
    const stopping = Promise.all(routers.splice(0).map((r) => r.stop()));
    await clock.advanceAsync(10);
    await stopping;
    clock = new ManualClock();
  });
  const K = { id: 1, key: new Uint8Array(32).fill(7) };

  function router(
    bus: MemoryAdvertBus,
    address: string,
    priority: number,
    hmac: VrrpHmac | undefined,
    log: MemoryLogger,
  ) {
    const v6 = address.includes(':');
    const r = new VrrpRouter({
      machine: new VrrpMachine({
        name: 'VI_1',
        vrid: 51,
        version: 3,
        priority,
        advertIntervalMs: 100,
        primaryAddress: address,
        virtualIps: [v6 ? 'fd77::74/64' : '192.168.77.74/24'],
      }),
      interface: 'eth0',
      transport: bus.transport(address),
      vips: new MemoryVipManager(),
      clock,
      logger: log,
      ...(hmac ? { hmac } : {}),
    });
    routers.push(r);
    return r;
  }

  for (const family of ['ipv4', 'ipv6'] as const) {
    it(`${family}: signed adverts elect; a forger with priority 254 and a wrong key changes nothing`, async () => {
      const bus = new MemoryAdvertBus(clock);
      const addr =
        family === 'ipv4'
          ? ['192.168.77.11', '192.168.77.12', '192.168.77.99']
          : ['fe80::11', 'fe80::12', 'fe80::99'];
      const logA = new MemoryLogger();
      const a = router(bus, addr[0]!, 200, new VrrpHmac({ keys: [K], activeKey: 1 }), logA);
      const b = router(bus, addr[1]!, 100, new VrrpHmac({ keys: [K], activeKey: 1 }), new MemoryLogger());
      const transitions: RouterTransition[] = [];
      for (const r of [a, b]) r.on('transition', (t) => transitions.push(t));
      await a.start();
      await b.start();
      await clock.until(() => a.snapshot().state === 'master' && b.snapshot().state === 'backup', 5000);
      const settled = transitions.length;
      expect(b.rxStats.received).toBeGreaterThan(0);
      // the attacker: its own VrrpHmac with another key, sending priority 254 to the group
      const x = bus.transport(addr[2]!);
      await x.open(() => {});
      const forger = new VrrpHmac({ keys: [{ id: 1, key: new Uint8Array(32).fill(8) }], activeKey: 1 });
      const group = family === 'ipv4' ? '224.0.0.18' : 'ff02::12';
      const binding = { family, version: 3 as const, vrid: 51, source: addr[2]! };
      for (let i = 0; i < 20; i++) {
        const m = encodeVrrp(
          {
            version: 3,
            family,
            vrid: 51,
            priority: 254,
            addresses: [family === 'ipv4' ? '192.168.77.74' : 'fd77::74'],
            maxAdvertIntervalCs: 10,
          },
          { source: addr[2]!, destination: group },
        );
        await x.send(forger.seal(m, binding, forger.nextSequence(clock.wallTime()), group), group);
        // and the same without a trailer (enforce: missing)
        await x.send(m, group);
        await clock.advanceAsync(50);
      }
      await clock.advanceAsync(500);
      expect(a.snapshot().state).toBe('master');
      expect(transitions.length).toBe(settled);
      expect(a.rxStats.count('VRRP_HMAC_INVALID')).toBe(20);
      expect(a.rxStats.count('VRRP_HMAC_MISSING')).toBe(20);
      expect(a.rxStats.countCategory('auth')).toBe(40);
      // logged once per sender and reason within the minute
      const warned = logA.lines('warn');
      expect(warned.filter((l) => l.includes('invalid authentication HMAC'))).toEqual([
        `(VI_1) invalid authentication HMAC from ${addr[2]}`,
      ]);
      expect(warned.filter((l) => l.includes('missing authentication trailer'))).toEqual([
        `(VI_1) missing authentication trailer from ${addr[2]}`,
      ]);
      // a minute later the next one is reported with the count held back
      clock.advance(60_000);
      await x.send(
        forger.seal(
          encodeVrrp(
            {
              version: 3,
              family,
              vrid: 51,
              priority: 254,
              addresses: [family === 'ipv4' ? '192.168.77.74' : 'fd77::74'],
              maxAdvertIntervalCs: 10,
            },
            { source: addr[2]!, destination: group },
          ),
          binding,
          forger.nextSequence(clock.wallTime()),
          group,
        ),
        group,
      );
      await clock.advanceAsync(10);
      expect(logA.lines('warn').at(-1)).toBe(
        `(VI_1) invalid authentication HMAC from ${addr[2]} (19 more since the last report)`,
      );
      expect(a.snapshot().state).toBe('master');
    });
  }

  it('an unauthenticated router and an enforcing one do not hear each other (both master); receive-only hears both', async () => {
    const bus = new MemoryAdvertBus(clock);
    const a = router(
      bus,
      '192.168.77.11',
      200,
      new VrrpHmac({ keys: [K], activeKey: 1 }),
      new MemoryLogger(),
    );
    const b = router(bus, '192.168.77.12', 100, undefined, new MemoryLogger());
    await a.start();
    await b.start();
    await clock.until(() => a.snapshot().state === 'master' && b.snapshot().state === 'master', 5000);
    // b has no auth_hmac: the trailer makes a's adverts too long (as keepalived without auth_hmac)
    expect(b.rxStats.count('VRRP_BAD_LENGTH')).toBeGreaterThan(0);
    expect(a.rxStats.count('VRRP_HMAC_MISSING')).toBeGreaterThan(0);
    b.setHmac(new VrrpHmac({ keys: [K], activeKey: 1, mode: 'receive-only' }));
    await clock.until(() => b.snapshot().state === 'backup', 5000);
    expect(a.snapshot().state).toBe('master');
  });
});

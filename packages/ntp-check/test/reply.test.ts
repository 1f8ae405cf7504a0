import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePacket, type NtpPacket } from '../src/codec/packet';
import { toNtpTimestamp } from '../src/codec/timestamp';
import { checkSource, NTP_MIN_DISPERSION_MS, offsetAndDelay, validateReply } from '../src/machine/reply';

const MS = 1_000_000n;
const NOW = 1_790_000_000_000n * MS; // 2026-09
const NONCE = 0x0123456789abcdefn;

/**
 * A genuine reply for a request sent at `NOW` (local), served by a clock that is
 * `offsetMs` ahead, with one-way delays `out` and `back` and server processing `proc`.
 */
function exchange(
  opts: { offsetMs?: number; out?: number; back?: number; proc?: number; at?: bigint } = {},
  patch: Partial<NtpPacket> = {},
) {
  const { offsetMs = 0, out = 1, back = 1, proc = 0.1, at = NOW } = opts;
  const ns = (ms: number) => BigInt(Math.round(ms * 1e6));
  const t1 = at;
  const t2 = at + ns(out) + ns(offsetMs);
  const t3 = t2 + ns(proc);
  const t4 = at + ns(out + proc + back);
  const reply: NtpPacket = {
    leap: 0,
    version: 4,
    mode: 4,
    stratum: 2,
    poll: 6,
    precision: -20,
    rootDelay: 0.002,
    rootDispersion: 0.003,
    referenceId: 0xc0000201,
    referenceTimestamp: toNtpTimestamp(at - 10_000n * MS),
    originateTimestamp: NONCE,
    receiveTimestamp: toNtpTimestamp(t2),
    transmitTimestamp: toNtpTimestamp(t3),
    trailer: new Uint8Array(0),
    ...patch,
  };
  return { reply, ctx: { nonce: NONCE, t1: toNtpTimestamp(t1), t4: toNtpTimestamp(t4) } };
}

function code(r: ReturnType<typeof validateReply>) {
  return r.ok ? 'ok' : r.error.code;
}

describe('validateReply: accepted replies', () => {
  it('computes offset and delay by the standard formulas', () => {
    const { reply, ctx } = exchange({ offsetMs: 37.5, out: 2, back: 2, proc: 0.5 });
    const r = validateReply(reply, ctx);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.offsetMs).toBeCloseTo(37.5, 5);
    expect(r.value.delayMs).toBeCloseTo(4, 5);
    expect(r.value.stratum).toBe(2);
    expect(r.value.referenceId).toBe('192.0.2.1');
    expect(r.value.rootDelayMs).toBeCloseTo(2, 9);
    expect(r.value.rootDispersionMs).toBeCloseTo(3, 9);
    // λ = max(MINDISP, rootDelay + δ)/2 + rootDisp + ε
    const eps = 2 * 2 ** -20 * 1000 + 15e-6 * 4.5;
    expect(r.value.dispersionMs).toBeCloseTo(eps, 9);
    expect(r.value.rootDistanceMs).toBeCloseTo(Math.max(NTP_MIN_DISPERSION_MS, 6) / 2 + 3 + eps, 9);
  });

  it('splits an asymmetric path into an offset error of half the asymmetry', () => {
    const { reply, ctx } = exchange({ offsetMs: 0, out: 9, back: 1, proc: 0 });
    const r = validateReply(reply, ctx);
    expect(r.ok && r.value.offsetMs).toBeCloseTo(4, 5);
  });

  it('accepts version 3 replies and leap indicators 1 and 2', () => {
    expect(code(validateReply(...args(exchange({}, { version: 3 }))))).toBe('ok');
    expect(code(validateReply(...args(exchange({}, { leap: 1 }))))).toBe('ok');
    expect(code(validateReply(...args(exchange({}, { leap: 2 }))))).toBe('ok');
    expect(code(validateReply(...args(exchange({}, { stratum: 15 }))))).toBe('ok');
  });

  it('works across the 2036 era boundary', () => {
    const era1 = 2_085_978_496_000n * MS;
    const { reply, ctx } = exchange({ at: era1 - 1n * MS, offsetMs: 250, out: 3, back: 3 });
    expect(reply.receiveTimestamp >> 32n).toBeLessThan(10n); // server time already in era 1
    expect(ctx.t1 >> 32n).toBe(0xffffffffn); // local time still in era 0
    const r = validateReply(reply, ctx);
    expect(r.ok && r.value.offsetMs).toBeCloseTo(250, 4);
    expect(r.ok && r.value.delayMs).toBeCloseTo(6, 4);
  });

  it('recovers any true offset to within half the round trip (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 500, noNaN: true }),
        fc.double({ min: 0, max: 500, noNaN: true }),
        fc.double({ min: 0, max: 50, noNaN: true }),
        (offsetMs, out, back, proc) => {
          const r = validateReply(...args(exchange({ offsetMs, out, back, proc })));
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          expect(Math.abs(r.value.offsetMs - offsetMs)).toBeLessThanOrEqual(r.value.delayMs / 2 + 1e-3);
          // δ is floored at the local precision (2^-20 s, about 1 µs).
          expect(Math.abs(r.value.delayMs - Math.max(out + back, 2 ** -20 * 1000))).toBeLessThan(1e-3);
        },
      ),
    );
  });
});

function args(x: ReturnType<typeof exchange>): [NtpPacket, ReturnType<typeof exchange>['ctx']] {
  return [x.reply, x.ctx];
}

describe('validateReply: every rejection path', () => {
  it('rejects a mode other than 4 (server)', () => {
    for (const mode of [0, 1, 2, 3, 5, 6, 7]) {
      expect(code(validateReply(...args(exchange({}, { mode }))))).toBe('NTP_BAD_MODE');
    }
  });

  it('rejects versions other than 3 and 4', () => {
    for (const version of [0, 1, 2, 5, 6, 7]) {
      expect(code(validateReply(...args(exchange({}, { version }))))).toBe('NTP_BAD_VERSION');
    }
  });

  it('rejects a forged originate timestamp', () => {
    const r = validateReply(...args(exchange({}, { originateTimestamp: NONCE ^ 1n })));
    expect(code(r)).toBe('NTP_BOGUS_ORIGINATE');
    expect(!r.ok && r.error.message).toBe('forged reply (originate timestamp does not match the request)');
    expect(code(validateReply(...args(exchange({}, { originateTimestamp: 0n }))))).toBe(
      'NTP_BOGUS_ORIGINATE',
    );
  });

  it("reports Kiss-o'-Death codes from stratum 0 replies", () => {
    for (const kiss of ['RATE', 'DENY', 'RSTR', 'INIT']) {
      const id = Buffer.from(kiss, 'ascii').readUInt32BE(0);
      const r = validateReply(...args(exchange({}, { stratum: 0, referenceId: id })));
      expect(code(r)).toBe('NTP_KISS_OF_DEATH');
      expect(!r.ok && r.error.details.kissCode).toBe(kiss);
      expect(!r.ok && r.error.message).toBe(`Kiss-o'-Death ${kiss}`);
    }
  });

  it('takes a kiss with leap indicator 3 (as ntpd sends it) as a kiss', () => {
    const id = Buffer.from('RATE', 'ascii').readUInt32BE(0);
    const r = validateReply(...args(exchange({}, { stratum: 0, leap: 3, referenceId: id })));
    expect(code(r)).toBe('NTP_KISS_OF_DEATH');
  });

  it('takes stratum 0 without a kiss code as unsynchronized, not as a kiss', () => {
    const li3 = validateReply(...args(exchange({}, { stratum: 0, leap: 3, referenceId: 0 })));
    expect(code(li3)).toBe('NTP_UNSYNCHRONIZED');
    expect(!li3.ok && li3.error.message).toBe('unsynchronized (leap indicator 3)');
    const li0 = validateReply(...args(exchange({}, { stratum: 0, leap: 0, referenceId: 0x7f000001 })));
    expect(!li0.ok && li0.error.message).toBe('unsynchronized (stratum 0)');
  });

  it('reads the real reply of an unsynchronized chronyd as unsynchronized', () => {
    const v = JSON.parse(
      readFileSync(new URL('./vectors/chrony-4.3-unsynchronized.json', import.meta.url), 'utf8'),
    ) as { reply: string };
    const d = decodePacket(Buffer.from(v.reply, 'hex'));
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.value).toMatchObject({ leap: 3, stratum: 0, referenceId: 0 });
    const t1 = d.value.receiveTimestamp - 1000n;
    const r = validateReply(d.value, {
      nonce: 0x1122334455667788n,
      t1,
      t4: d.value.transmitTimestamp + 1000n,
    });
    expect(code(r)).toBe('NTP_UNSYNCHRONIZED');
    expect(!r.ok && r.error.message).toBe('unsynchronized (leap indicator 3)');
  });

  it('checks the nonce before the kiss code, so a forged kiss is just a forged reply', () => {
    const id = Buffer.from('DENY', 'ascii').readUInt32BE(0);
    const r = validateReply(...args(exchange({}, { stratum: 0, referenceId: id, originateTimestamp: 42n })));
    expect(code(r)).toBe('NTP_BOGUS_ORIGINATE');
  });

  it('rejects leap indicator 3 as unsynchronized', () => {
    const r = validateReply(...args(exchange({}, { leap: 3 })));
    expect(code(r)).toBe('NTP_UNSYNCHRONIZED');
    expect(!r.ok && r.error.message).toBe('unsynchronized (leap indicator 3)');
  });

  it('rejects stratum 16 and above as unsynchronized', () => {
    for (const stratum of [16, 17, 255]) {
      const r = validateReply(...args(exchange({}, { stratum })));
      expect(code(r)).toBe('NTP_UNSYNCHRONIZED');
      expect(!r.ok && r.error.message).toBe(`unsynchronized (stratum ${stratum})`);
    }
  });

  it('rejects zero receive or transmit timestamps', () => {
    expect(code(validateReply(...args(exchange({}, { receiveTimestamp: 0n }))))).toBe('NTP_ZERO_TIMESTAMP');
    expect(code(validateReply(...args(exchange({}, { transmitTimestamp: 0n }))))).toBe('NTP_ZERO_TIMESTAMP');
  });

  it('rejects a server transmit before its receive', () => {
    const x = exchange();
    x.reply.transmitTimestamp = x.reply.receiveTimestamp - (1n << 26n); // 15.6 ms earlier
    expect(code(validateReply(...args(x)))).toBe('NTP_BAD_TIMESTAMPS');
  });

  it('rejects a server processing time longer than the round trip', () => {
    const x = exchange({ out: 1, back: 1, proc: 0 });
    x.reply.transmitTimestamp = x.reply.receiveTimestamp + (1n << 32n) / 100n; // 10 ms > 2 ms round trip
    expect(code(validateReply(...args(x)))).toBe('NTP_BAD_TIMESTAMPS');
  });

  it('rejects a root distance above the limit (default 1.5 s, configurable)', () => {
    expect(code(validateReply(...args(exchange({}, { rootDispersion: 1.6 }))))).toBe('NTP_ROOT_DISTANCE');
    expect(code(validateReply(...args(exchange({}, { rootDelay: 3.1 }))))).toBe('NTP_ROOT_DISTANCE');
    expect(code(validateReply(...args(exchange({}, { rootDispersion: 1.4 }))))).toBe('ok');
    const x = exchange({}, { rootDispersion: 0.2 });
    expect(code(validateReply(x.reply, { ...x.ctx, maxRootDistanceMs: 100 }))).toBe('NTP_ROOT_DISTANCE');
    // A long round trip alone counts too: 4 s of delay is 2 s of distance.
    expect(code(validateReply(...args(exchange({ out: 2000, back: 2000 }))))).toBe('NTP_ROOT_DISTANCE');
  });
});

describe('checkSource', () => {
  it('accepts only the queried address and port', () => {
    const q = { address: '127.0.0.1', port: 123 };
    expect(checkSource(q, { address: '127.0.0.1', port: 123 }).ok).toBe(true);
    expect(checkSource(q, { address: '::ffff:127.0.0.1', port: 123 }).ok).toBe(true);
    const wrongPort = checkSource(q, { address: '127.0.0.1', port: 124 });
    expect(!wrongPort.ok && wrongPort.error.code).toBe('NTP_WRONG_SOURCE');
    expect(checkSource(q, { address: '127.0.0.2', port: 123 }).ok).toBe(false);
    expect(checkSource({ address: '::1', port: 123 }, { address: '::1', port: 123 }).ok).toBe(true);
  });
});

describe('offsetAndDelay', () => {
  it('uses θ = ((T2 - T1) + (T3 - T4)) / 2 and δ = (T4 - T1) - (T3 - T2)', () => {
    const t = (ms: number) => toNtpTimestamp(NOW + BigInt(ms) * MS);
    const r = offsetAndDelay(t(0), t(110), t(112), t(20));
    expect(r.offsetMs).toBeCloseTo((110 + (112 - 20)) / 2, 6);
    expect(r.delayMs).toBeCloseTo(20 - 2, 6);
  });
});

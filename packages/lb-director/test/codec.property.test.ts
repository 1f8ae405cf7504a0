import { canonicalIp, internetChecksum } from '@proxyha/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Announcement,
  decodeMessage,
  encodeMessage,
  LB_REJECT_CODES,
  LbError,
  type LbKey,
  type LbMessage,
  type LoadReport,
} from '../src/index';

const utf8 = new TextEncoder();
const text = (maxBytes: number) =>
  fc.string({ unit: 'binary', maxLength: maxBytes }).filter((s) => utf8.encode(s).length <= maxBytes);
const port = fc.integer({ min: 1, max: 65535 });
const uniquePorts = fc.uniqueArray(port, { maxLength: 64, size: 'small' });

const header = {
  group: fc.integer({ min: 1, max: 255 }),
  nodeId: fc.uuid(),
  address: fc.oneof(fc.ipV4(), fc.ipV6()),
  sequence: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  timestamp: fc.oneof(
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    fc.integer({ min: 1.6e12, max: 2e12 }),
  ),
  intervalMs: fc.integer({ min: 1, max: 65535 }),
};

const announcement: fc.Arbitrary<Announcement> = fc.record({
  type: fc.constant('announcement' as const),
  ...header,
  name: text(64),
  priority: fc.integer({ min: 0, max: 255 }),
  redirects: fc.uniqueArray(fc.record({ originalPort: port, destinationPort: port }), {
    maxLength: 64,
    size: 'small',
    selector: (r) => r.originalPort,
  }),
});

const report: fc.Arbitrary<LoadReport> = fc.record({
  type: fc.constant('report' as const),
  ...header,
  name: text(64),
  softwareVersion: text(32),
  health: fc.oneof(
    fc.constant({ status: 'ok' as const, failingPorts: [] }),
    uniquePorts.map((failingPorts) => ({ status: 'failure' as const, failingPorts })),
  ),
  weight: fc.integer({ min: 0, max: 65535 }),
  resources: fc.record({
    cpu: fc.integer({ min: 0, max: 1000 }).map((v) => v / 1000),
    memory: fc.integer({ min: 0, max: 1000 }).map((v) => v / 1000),
    load: fc.integer({ min: 0, max: 65535 }).map((v) => v / 100),
  }),
  connections: fc.uniqueArray(fc.record({ port, active: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }), {
    maxLength: 64,
    size: 'small',
    selector: (c) => c.port,
  }),
});

const message: fc.Arbitrary<LbMessage> = fc.oneof(announcement, report);
const key: fc.Arbitrary<LbKey | undefined> = fc.option(
  fc.record({
    id: fc.integer({ min: 1, max: 255 }),
    secret: fc.uint8Array({ minLength: 16, maxLength: 64 }),
  }),
  { nil: undefined },
);

/** The decoder contract: never throws; a message, or an LbError with a known decode code and an offset. */
function decodeChecked(bytes: Uint8Array) {
  let r: ReturnType<typeof decodeMessage>;
  try {
    r = decodeMessage(bytes);
  } catch (e) {
    throw new Error(`decodeMessage threw: ${String(e)}`);
  }
  if (!r.ok) {
    expect(r.error).toBeInstanceOf(LbError);
    expect(LB_REJECT_CODES.slice(0, 8)).toContain(r.error.code);
    expect(Number.isInteger(r.error.details.offset)).toBe(true);
    expect(r.error.details.offset).toBeGreaterThanOrEqual(0);
    expect(r.error.details.offset).toBeLessThanOrEqual(bytes.length);
  }
  return r;
}

function fixChecksum(b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  if (out.length < 8) return out;
  out[6] = 0;
  out[7] = 0;
  const ck = internetChecksum(out);
  out[6] = ck >> 8;
  out[7] = ck & 0xff;
  return out;
}

describe('codec properties', () => {
  it('round trip: decode(encode(m)) is m, address canonical; re-encoding gives the same bytes', () => {
    fc.assert(
      fc.property(message, key, (m, k) => {
        const bytes = encodeMessage(m, k === undefined ? {} : { key: k });
        expect(internetChecksum(bytes)).toBe(0);
        const r = decodeChecked(bytes);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.value).toEqual({ ...m, address: canonicalIp(m.address) });
        expect(Buffer.from(encodeMessage(r.value, k === undefined ? {} : { key: k })).equals(bytes)).toBe(
          true,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 800 }), (b) => {
        decodeChecked(b);
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes behind a plausible header (checksum fixed) never throw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom(4, 6, 5),
        fc.uint8Array({ minLength: 40, maxLength: 700 }),
        (type, flags, family, rest) => {
          const b = Uint8Array.from(rest);
          b[0] = 1;
          b[1] = type;
          b[2] = b[2] || 1;
          b[3] = flags;
          b[4] = b.length >> 8;
          b[5] = b.length & 0xff;
          b[28] = 0;
          b[36] = b[36] || 1;
          b[38] = family;
          b[39] = 0;
          decodeChecked(fixChecksum(b));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('mutated valid encodings (bytes changed, checksum fixed or not) never throw', () => {
    fc.assert(
      fc.property(
        message,
        key,
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.boolean(),
        (m, k, changes, fixIt) => {
          const b = Uint8Array.from(encodeMessage(m, k === undefined ? {} : { key: k }));
          for (const c of changes) b[c.at % b.length] = c.value;
          decodeChecked(fixIt ? fixChecksum(b) : b);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('every truncation fails, and so do appended bytes', () => {
    fc.assert(
      fc.property(
        message,
        key,
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        (m, k, cut, extra) => {
          const b = encodeMessage(m, k === undefined ? {} : { key: k });
          const short = decodeChecked(b.subarray(0, cut % b.length));
          expect(short.ok).toBe(false);
          if (!short.ok) expect(short.error.code).toBe('LB_TRUNCATED');
          const long = decodeChecked(Uint8Array.from([...b, ...extra]));
          expect(long.ok).toBe(false);
          if (!long.ok) expect(long.error.code).toBe('LB_TRAILING_BYTES');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a single flipped bit is always detected (by the checksum or a field check)', () => {
    fc.assert(
      fc.property(message, fc.nat(), fc.integer({ min: 0, max: 7 }), (m, at, bit) => {
        const b = Uint8Array.from(encodeMessage(m));
        b[at % b.length]! ^= 1 << bit;
        expect(decodeChecked(b).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

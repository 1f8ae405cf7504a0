import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checksumAdd,
  checksumFinish,
  checksumVerifies,
  internetChecksum,
  pseudoHeaderSum,
} from '../src/index';

/** RFC 1071 written the slow, obvious way. */
function naive(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += ((bytes[i] as number) << 8) + (bytes[i + 1] ?? 0);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return ~sum & 0xffff;
}

describe('Internet checksum', () => {
  it('matches RFC 1071 computed naively, and a packet carrying it verifies', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1600 }), (bytes) => {
        const ck = internetChecksum(bytes);
        expect(ck).toBe(naive(bytes));
        const even = bytes.length % 2 === 0 ? bytes : Uint8Array.from([...bytes, 0]);
        const withSum = Uint8Array.from([...even, ck >> 8, ck & 0xff]);
        expect(checksumVerifies(checksumAdd(withSum, 0, withSum.length))).toBe(true);
      }),
    );
  });

  it('checks the RFC 1071 example', () => {
    const bytes = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(checksumFinish(checksumAdd(bytes, 0, bytes.length))).toBe(~0xddf2 & 0xffff);
  });

  it('adds a pseudo-header as its words', () => {
    const src = Uint8Array.from([192, 168, 77, 11]);
    const dst = Uint8Array.from([224, 0, 0, 18]);
    const words = Uint8Array.from([...src, ...dst, 0, 112, 0, 20]);
    expect(pseudoHeaderSum(src, 0, dst, 0, 4, 112, 20)).toBe(checksumAdd(words, 0, words.length));
  });
});

/**
 * The Internet checksum (RFC 1071). Internal to the codec.
 */

/** Adds the big-endian 16-bit words of `buf[off .. off+len)` to `acc` (odd tail padded with zero). */
export function sumWords(buf: Uint8Array, off: number, len: number, acc: number): number {
  let sum = acc;
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (len & 1) sum += buf[off + len - 1]! << 8;
  return sum;
}

/** Folds a running sum to 16 bits (one's complement addition). */
export function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The checksum to put on the wire for a running sum (taken with the checksum field zero). */
export function finish(sum: number): number {
  return ~fold(sum) & 0xffff;
}

/** True if a running sum that includes the checksum field verifies. */
export function verifies(sum: number): boolean {
  return fold(sum) === 0xffff;
}

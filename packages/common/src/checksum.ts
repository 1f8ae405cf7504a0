// The Internet checksum (RFC 1071), with the IPv4/IPv6 pseudo-header of RFC 768 / RFC 8200 §8.1.

/**
 * Adds the big-endian 16-bit words of `buf[off .. off+len)` to a running sum (an odd last byte is padded
 * with zero). Start with 0; fold and complement with {@link checksumFinish}, or check with
 * {@link checksumVerifies}.
 *
 * @param buf - the bytes
 * @param off - first byte
 * @param len - number of bytes
 * @param acc - the running sum so far
 */
export function checksumAdd(buf: Uint8Array, off: number, len: number, acc = 0): number {
  let sum = acc;
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) sum += ((buf[i] as number) << 8) | (buf[i + 1] as number);
  if (len & 1) sum += (buf[off + len - 1] as number) << 8;
  return sum;
}

/**
 * The running sum of a pseudo-header: source and destination address (4 or 16 bytes each, at the given
 * offsets), the upper-layer protocol and its length.
 *
 * @param src - buffer holding the source address
 * @param srcOff - its offset
 * @param dst - buffer holding the destination address
 * @param dstOff - its offset
 * @param addressLength - 4 (IPv4) or 16 (IPv6)
 * @param protocol - the IP protocol / next header number
 * @param length - the upper-layer length in bytes
 */
export function pseudoHeaderSum(
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  addressLength: 4 | 16,
  protocol: number,
  length: number,
): number {
  const sum = protocol + (length >>> 16) + (length & 0xffff);
  return checksumAdd(src, srcOff, addressLength, checksumAdd(dst, dstOff, addressLength, sum));
}

/**
 * Folds a running sum to 16 bits (one's complement addition).
 *
 * @param sum - the running sum
 */
export function checksumFold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/**
 * The checksum to put on the wire for a running sum taken with the checksum field set to zero.
 *
 * @param sum - the running sum
 */
export function checksumFinish(sum: number): number {
  return ~checksumFold(sum) & 0xffff;
}

/**
 * True when a running sum that includes the checksum field verifies.
 *
 * @param sum - the running sum
 */
export function checksumVerifies(sum: number): boolean {
  return checksumFold(sum) === 0xffff;
}

/**
 * The Internet checksum of `buf[off .. off+len)`.
 *
 * @param buf - the bytes
 * @param off - first byte (default 0)
 * @param len - number of bytes (default to the end)
 */
export function internetChecksum(buf: Uint8Array, off = 0, len = buf.length - off): number {
  return checksumFinish(checksumAdd(buf, off, len));
}

// The Linux kernel's jhash (include/linux/jhash.h: Bob Jenkins' lookup3, 2006) and reciprocal_scale
// (include/linux/kernel.h), so that a client lands in the same bucket here as in nftables'
// `jhash ip saddr mod M seed S` (net/netfilter/nft_hash.c: reciprocal_scale(jhash(data, len, seed), M)).
//
// Byte order: the kernel reads the whole 12-byte blocks with __get_unaligned_cpu32, i.e. in host order, and
// assembles the tail bytes explicitly little-endian. On little-endian hosts (x86, arm64, most others) the
// result equals lookup3's hashlittle(); this implementation reads little-endian words throughout, so it
// matches little-endian kernels (a big-endian kernel hashes keys longer than 12 bytes differently).

/** JHASH_INITVAL of include/linux/jhash.h. */
const JHASH_INITVAL = 0xdeadbeef;

function rol(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function le32(key: Uint8Array, off: number): number {
  return (
    ((key[off] as number) |
      ((key[off + 1] as number) << 8) |
      ((key[off + 2] as number) << 16) |
      ((key[off + 3] as number) << 24)) >>>
    0
  );
}

/** __jhash_final on a 3-word state; returns c (u32). */
function finalC(a0: number, b0: number, c0: number): number {
  let a = a0 | 0;
  let b = b0 | 0;
  let c = c0 | 0;
  c ^= b;
  c = (c - rol(b, 14)) | 0;
  a ^= c;
  a = (a - rol(c, 11)) | 0;
  b ^= a;
  b = (b - rol(a, 25)) | 0;
  c ^= b;
  c = (c - rol(b, 16)) | 0;
  a ^= c;
  a = (a - rol(c, 4)) | 0;
  b ^= a;
  b = (b - rol(a, 14)) | 0;
  c ^= b;
  c = (c - rol(b, 24)) | 0;
  return c >>> 0;
}

/**
 * The kernel's jhash(key, length, initval) over `length` bytes of `key` from `offset`.
 *
 * @param key - the bytes
 * @param length - how many bytes to hash
 * @param initval - the seed (u32)
 * @param offset - where the bytes start in `key`
 */
export function jhash(key: Uint8Array, length: number, initval: number, offset = 0): number {
  let a = (JHASH_INITVAL + length + initval) | 0;
  let b = a;
  let c = a;
  let k = offset;
  let len = length;
  while (len > 12) {
    a = (a + le32(key, k)) | 0;
    b = (b + le32(key, k + 4)) | 0;
    c = (c + le32(key, k + 8)) | 0;
    /* __jhash_mix */
    a = (a - c) | 0;
    a ^= rol(c, 4);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rol(a, 6);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rol(b, 8);
    b = (b + a) | 0;
    a = (a - c) | 0;
    a ^= rol(c, 16);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rol(a, 19);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rol(b, 4);
    b = (b + a) | 0;
    len -= 12;
    k += 12;
  }
  if (len === 0) return c >>> 0;
  /* the tail, assembled little-endian whatever the host (the kernel's switch with fall-through) */
  for (let i = len - 1; i >= 0; i--) {
    const v = (key[k + i] as number) << ((i & 3) * 8);
    if (i >= 8) c = (c + v) | 0;
    else if (i >= 4) b = (b + v) | 0;
    else a = (a + v) | 0;
  }
  return finalC(a, b, c);
}

/**
 * jhash of a 4-byte key given as the u32 whose big-endian bytes are the key (an IPv4 address as a number:
 * 192.0.2.1 is 0xc0000201). Allocation-free fast path; equals `jhash(bytes, 4, initval)`.
 *
 * @param word - the key, network order as a number
 * @param initval - the seed (u32)
 */
export function jhashIpv4(word: number, initval: number): number {
  const a0 = (JHASH_INITVAL + 4 + initval) | 0;
  /* the key's bytes read little-endian: a byte swap of the network-order number */
  const le = (word >>> 24) | ((word >>> 8) & 0xff00) | ((word & 0xff00) << 8) | (word << 24) | 0;
  return finalC((a0 + le) | 0, a0, a0);
}

/**
 * The kernel's reciprocal_scale(h, m): `(u64)h * m >> 32`, a value in 0..m-1 (m <= 2^32). Exact in
 * doubles for m < 2^21 (the product stays below 2^53); computed in two halves otherwise.
 *
 * @param hash - the u32 hash
 * @param m - the range
 */
export function reciprocalScale(hash: number, m: number): number {
  const h = hash >>> 0;
  if (m < 0x200000) return Math.floor((h * m) / 4294967296);
  const hi = Math.floor(h / 65536) * m;
  const lo = (h & 0xffff) * m;
  return Math.floor((hi + Math.floor(lo / 65536)) / 65536);
}

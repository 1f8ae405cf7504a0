/**
 * IPv4/IPv6 text <-> bytes, allocation-free on the hot path. Internal to the codec.
 *
 * Formatting follows RFC 5952 (lower case, no leading zeros, the longest run of two or
 * more zero groups compressed, the first on a tie, IPv4-mapped addresses in mixed
 * notation), which is also how tshark and inet_ntop print addresses.
 */

/** Writes a dotted-quad IPv4 address at `off`; false if `text` is not one. */
export function writeIpv4(text: string, out: Uint8Array, off: number): boolean {
  const n = text.length;
  if (n < 7 || n > 15) return false;
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 46; /* '.' terminates the last part */
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[off + part] = value;
      part++;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return false; /* leading zero: "01" (inet_pton rejects it) */
      value = value * 10 + (c - 48);
      digits++;
      if (value > 255) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Scratch for {@link writeIpv6}: the groups parsed so far. Safe: parsing is synchronous. */
const groups = new Uint16Array(8);
const v4tail = new Uint8Array(4);

/**
 * Writes an IPv6 address (with optional "::", trailing dotted quad and "%zone", the zone
 * being ignored) as 16 bytes at `off`; false if `text` is not one. One pass, no allocation
 * except for a dotted-quad tail.
 */
export function writeIpv6(text: string, out: Uint8Array, off: number): boolean {
  let n = text.length;
  const pct = text.indexOf('%');
  if (pct >= 0) {
    if (pct === n - 1) return false;
    n = pct;
  }
  if (n < 2 || n > 45) return false;
  let count = 0; /* groups parsed */
  let gap = -1; /* index in groups where "::" stands */
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return false; /* a lone leading ':' */
    gap = 0;
    i = 2;
    if (i === n) {
      out.fill(0, off, off + 16);
      return true;
    }
  }
  for (;;) {
    /* one group, or a dotted quad ending the address */
    const start = i;
    let value = 0;
    while (i < n) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      value = (value << 4) | h;
      i++;
    }
    const digits = i - start;
    if (i < n && text.charCodeAt(i) === 46) {
      /* dotted quad: must be last, and needs room for two groups */
      if (count > 6 || !writeIpv4(text.slice(start, n), v4tail, 0)) return false;
      groups[count++] = (v4tail[0]! << 8) | v4tail[1]!;
      groups[count++] = (v4tail[2]! << 8) | v4tail[3]!;
      i = n;
      break;
    }
    if (digits === 0 || digits > 4 || count === 8) return false;
    groups[count++] = value;
    if (i === n) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < n && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false; /* a second "::" */
      gap = count;
      i++;
      if (i === n) break; /* trailing "::" */
    } else if (i === n) {
      return false; /* a lone trailing ':' */
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  const zeros = 8 - count;
  let g = 0;
  for (let k = 0; k < 8; k++) {
    let v = 0;
    if (gap < 0 || k < gap) v = groups[g++]!;
    else if (k >= gap + zeros) v = groups[g++]!;
    out[off + 2 * k] = v >> 8;
    out[off + 2 * k + 1] = v & 0xff;
  }
  return true;
}

/** Formats 4 bytes at `off` as a dotted quad. */
export function formatIpv4(buf: Uint8Array, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** Formats 16 bytes at `off` as an RFC 5952 IPv6 address. */
export function formatIpv6(buf: Uint8Array, off: number): string {
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let k = 0; k < 8; k++) {
    const zero = buf[off + 2 * k] === 0 && buf[off + 2 * k + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = k;
      if (k - runStart + 1 > bestLen) {
        bestStart = runStart;
        bestLen = k - runStart + 1;
      }
    } else {
      runStart = -1;
    }
  }
  if (bestStart === 0 && bestLen === 5 && buf[off + 10] === 0xff && buf[off + 11] === 0xff) {
    return `::ffff:${formatIpv4(buf, off + 12)}`; /* IPv4-mapped, RFC 5952 §5 */
  }
  if (bestLen < 2) bestStart = -1; /* a single zero group is not compressed (RFC 5952 §4.2.2) */
  let text = '';
  for (let k = 0; k < 8; k++) {
    if (k === bestStart) {
      text += '::';
      k += bestLen - 1;
      continue;
    }
    if (text.length > 0 && !text.endsWith(':')) text += ':';
    text += ((buf[off + 2 * k]! << 8) | buf[off + 2 * k + 1]!).toString(16);
  }
  return text;
}

/** Canonical text of an address of the given family, or undefined if it does not parse. */
export function canonicalAddress(text: string, family: 'ipv4' | 'ipv6'): string | undefined {
  const buf = new Uint8Array(16);
  if (family === 'ipv4') return writeIpv4(text, buf, 0) ? formatIpv4(buf, 0) : undefined;
  return writeIpv6(text, buf, 0) ? formatIpv6(buf, 0) : undefined;
}

/** Family of an address text, or undefined if it is neither. */
export function addressFamily(text: string): 'ipv4' | 'ipv6' | undefined {
  const buf = new Uint8Array(16);
  if (writeIpv4(text, buf, 0)) return 'ipv4';
  if (writeIpv6(text, buf, 0)) return 'ipv6';
  return undefined;
}

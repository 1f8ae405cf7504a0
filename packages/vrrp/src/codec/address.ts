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

/** Parses colon-separated hex groups (no "::") into `groups` from `at`; -1 on error, else count. */
function parseGroups(text: string, groups: number[], at: number, allowV4Tail: boolean): number {
  if (text.length === 0) return 0;
  const parts = text.split(':');
  let count = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (allowV4Tail && i === parts.length - 1 && part.includes('.')) {
      const v4 = new Uint8Array(4);
      if (!writeIpv4(part, v4, 0)) return -1;
      groups[at + count++] = (v4[0]! << 8) | v4[1]!;
      groups[at + count++] = (v4[2]! << 8) | v4[3]!;
      continue;
    }
    if (part.length === 0 || part.length > 4) return -1;
    let value = 0;
    for (let j = 0; j < part.length; j++) {
      const h = hexValue(part.charCodeAt(j));
      if (h < 0) return -1;
      value = (value << 4) | h;
    }
    groups[at + count++] = value;
    if (at + count > 8) return -1;
  }
  return count;
}

/**
 * Writes an IPv6 address (with optional "::", trailing dotted quad and "%zone", the zone
 * being ignored) as 16 bytes at `off`; false if `text` is not one.
 */
export function writeIpv6(text: string, out: Uint8Array, off: number): boolean {
  let t = text;
  const pct = t.indexOf('%');
  if (pct >= 0) {
    if (pct === t.length - 1) return false;
    t = t.slice(0, pct);
  }
  if (t.length < 2 || t.length > 45) return false;
  const groups: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  const dbl = t.indexOf('::');
  if (dbl < 0) {
    if (parseGroups(t, groups, 0, true) !== 8) return false;
  } else {
    if (t.indexOf('::', dbl + 1) >= 0) return false;
    const head = t.slice(0, dbl);
    const tail = t.slice(dbl + 2);
    const headGroups: number[] = [];
    const tailGroups: number[] = [];
    const h = parseGroups(head, headGroups, 0, false);
    const k = parseGroups(tail, tailGroups, 0, true);
    if (h < 0 || k < 0 || h + k > 7) return false;
    for (let i = 0; i < h; i++) groups[i] = headGroups[i]!;
    for (let i = 0; i < k; i++) groups[8 - k + i] = tailGroups[i]!;
  }
  for (let i = 0; i < 8; i++) {
    out[off + 2 * i] = groups[i]! >> 8;
    out[off + 2 * i + 1] = groups[i]! & 0xff;
  }
  return true;
}

/** Formats 4 bytes at `off` as a dotted quad. */
export function formatIpv4(buf: Uint8Array, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** Formats 16 bytes at `off` as an RFC 5952 IPv6 address. */
export function formatIpv6(buf: Uint8Array, off: number): string {
  const g: number[] = new Array(8);
  for (let i = 0; i < 8; i++) g[i] = (buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${formatIpv4(buf, off + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return g.map((x) => x.toString(16)).join(':');
  const head = g.slice(0, bestStart).map((x) => x.toString(16));
  const tail = g.slice(bestStart + bestLen).map((x) => x.toString(16));
  return `${head.join(':')}::${tail.join(':')}`;
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

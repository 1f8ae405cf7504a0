// IPv4 and IPv6 addresses: text <-> bytes (allocation-free on the hot path for codecs), canonical text
// (RFC 5952), comparison, prefixes. Hand-written: strict (no zone ids, no octal-looking IPv4 octets, which
// node:net's helpers accept) and fast enough for per-packet use.

/** An address family, spelled the same in every package. */
export type IpFamily = 'ipv4' | 'ipv6';

/** Byte length of an address of each family. */
export const IP_LENGTH: Readonly<Record<IpFamily, number>> = Object.freeze({ ipv4: 4, ipv6: 16 });

/**
 * Writes a dotted-quad IPv4 address as 4 bytes at `off`; false (and `out` partly written) if `text` is not
 * one. Each part is 0..255 without leading zeros, as inet_pton accepts.
 *
 * @param text - the address
 * @param out - destination buffer
 * @param off - offset in `out`
 */
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
      if (digits > 0 && value === 0) return false; /* leading zero: "01" */
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
 * Writes an IPv6 address (RFC 4291 text: hex groups, at most one `::`, an optional trailing dotted quad)
 * as 16 bytes at `off`; false if `text` is not one. Zone ids (`%eth0`) are refused. One pass, no
 * allocation except for a dotted-quad tail.
 *
 * @param text - the address
 * @param out - destination buffer
 * @param off - offset in `out`
 */
export function writeIpv6(text: string, out: Uint8Array, off: number): boolean {
  const n = text.length;
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
      groups[count++] = ((v4tail[0] as number) << 8) | (v4tail[1] as number);
      groups[count++] = ((v4tail[2] as number) << 8) | (v4tail[3] as number);
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
    if (gap < 0 || k < gap || k >= gap + zeros) v = groups[g++] as number;
    out[off + 2 * k] = v >> 8;
    out[off + 2 * k + 1] = v & 0xff;
  }
  return true;
}

/**
 * Formats 4 bytes at `off` as a dotted quad.
 *
 * @param buf - source bytes
 * @param off - offset in `buf`
 */
export function formatIpv4(buf: Uint8Array, off = 0): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/**
 * Formats 16 bytes at `off` as RFC 5952 text, as inet_ntop and tshark print it: lower case, no leading
 * zeros, the longest run of two or more zero groups as `::` (the first on a tie), IPv4-mapped addresses in
 * mixed notation (`::ffff:192.0.2.1`).
 *
 * @param buf - source bytes
 * @param off - offset in `buf`
 */
export function formatIpv6(buf: Uint8Array, off = 0): string {
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
    text += (((buf[off + 2 * k] as number) << 8) | (buf[off + 2 * k + 1] as number)).toString(16);
  }
  return text;
}

/** A parsed IP address. */
export interface ParsedIp {
  /** The family. */
  readonly family: IpFamily;
  /** The 4 or 16 bytes in network order. */
  readonly bytes: Uint8Array;
  /** Canonical text: dotted quad, or RFC 5952 IPv6. */
  readonly text: string;
}

/**
 * Parses an IPv4 or IPv6 address; `undefined` for anything else (including zone ids and prefixes).
 *
 * @param text - the address
 * @param family - accept only this family
 */
export function parseIp(text: unknown, family?: IpFamily): ParsedIp | undefined {
  if (typeof text !== 'string') return undefined;
  if (family !== 'ipv6') {
    const bytes = new Uint8Array(4);
    if (writeIpv4(text, bytes, 0)) return { family: 'ipv4', bytes, text: formatIpv4(bytes) };
  }
  if (family !== 'ipv4') {
    const bytes = new Uint8Array(16);
    if (writeIpv6(text, bytes, 0)) return { family: 'ipv6', bytes, text: formatIpv6(bytes) };
  }
  return undefined;
}

/**
 * The family of an address, or `undefined` when the text is not one.
 *
 * @param text - the address
 */
export function ipFamily(text: unknown): IpFamily | undefined {
  return parseIp(text)?.family;
}

/**
 * The canonical text of an address (dotted quad, RFC 5952), or `undefined` when it is not one.
 *
 * @param text - the address
 * @param family - accept only this family
 */
export function canonicalIp(text: unknown, family?: IpFamily): string | undefined {
  return parseIp(text, family)?.text;
}

/**
 * The text of 4 or 16 address bytes ({@link formatIpv4} / {@link formatIpv6}).
 *
 * @param bytes - 4 or 16 bytes
 * @throws TypeError for another length
 */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIpv4(bytes);
  if (bytes.length === 16) return formatIpv6(bytes);
  throw new TypeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
}

/**
 * Compares two addresses as unsigned integers in network byte order (RFC 5798 §6.4.3's tie-break: the
 * higher address wins). IPv4 sorts before IPv6.
 *
 * @returns negative, zero or positive as `a` is lower than, equal to or higher than `b`
 */
export function compareIp(a: ParsedIp, b: ParsedIp): number {
  if (a.bytes.length !== b.bytes.length) return a.bytes.length - b.bytes.length;
  for (let i = 0; i < a.bytes.length; i++) {
    const d = (a.bytes[i] as number) - (b.bytes[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** An address with an optional prefix length (`192.168.77.74/24`). */
export interface ParsedCidr extends ParsedIp {
  /** The prefix length, or `undefined` when none was given. */
  readonly prefixLength: number | undefined;
}

/**
 * Parses `address[/prefix]`; `undefined` when the address or prefix is invalid (a prefix is 0..32 for
 * IPv4, 0..128 for IPv6, decimal without sign or leading zeros).
 *
 * @param text - the address with an optional prefix length
 * @param family - accept only this family
 */
export function parseCidr(text: unknown, family?: IpFamily): ParsedCidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash), family);
  if (!ip) return undefined;
  if (slash < 0) return { ...ip, prefixLength: undefined };
  const prefix = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(prefix)) return undefined;
  const prefixLength = Number(prefix);
  if (prefixLength > IP_LENGTH[ip.family] * 8) return undefined;
  return { ...ip, prefixLength };
}

/**
 * True for multicast addresses: 224.0.0.0/4 and ff00::/8.
 *
 * @param ip - a parsed address
 */
export function isMulticastIp(ip: ParsedIp): boolean {
  const first = ip.bytes[0] as number;
  return ip.family === 'ipv4' ? first >= 224 && first <= 239 : first === 0xff;
}

/**
 * True for IPv6 link-local unicast (fe80::/10). Always false for IPv4.
 *
 * @param ip - a parsed address
 */
export function isLinkLocalIp(ip: ParsedIp): boolean {
  return ip.family === 'ipv6' && ip.bytes[0] === 0xfe && ((ip.bytes[1] as number) & 0xc0) === 0x80;
}

/**
 * True when `ip` lies in `network/prefixLength`.
 *
 * @param ip - the address
 * @param network - the network address
 * @param prefixLength - the prefix length
 */
export function ipInPrefix(ip: ParsedIp, network: ParsedIp, prefixLength: number): boolean {
  if (ip.family !== network.family) return false;
  let bits = prefixLength;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((ip.bytes[i] as number) & mask) !== ((network.bytes[i] as number) & mask)) return false;
  }
  return true;
}

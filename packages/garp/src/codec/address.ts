// Address text <-> bytes. Hand-written: tiny, allocation-light, and strict (no zone ids, no
// octal-looking IPv4 octets), which node:net's isIP* helpers are not.
import { GarpError } from '../errors';

const HEX = '0123456789abcdef';

/** Parses `aa:bb:cc:dd:ee:ff` (or dash-separated, any case) into 6 bytes; throws GARP_BAD_MAC. */
export function macToBytes(mac: string, field = 'mac'): Uint8Array {
  const m =
    /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(
      typeof mac === 'string' ? mac : '',
    );
  if (!m) throw new GarpError('GARP_BAD_MAC', `${field}: not a MAC address (got ${JSON.stringify(mac)})`);
  const out = new Uint8Array(6);
  const groups = [m[1], m[3], m[4], m[5], m[6], m[7]];
  for (let i = 0; i < 6; i++) out[i] = Number.parseInt(groups[i] as string, 16);
  return out;
}

/** Formats 6 bytes at `offset` as lower-case `aa:bb:cc:dd:ee:ff`. */
export function bytesToMac(b: Uint8Array, offset = 0): string {
  let s = '';
  for (let i = 0; i < 6; i++) {
    const v = b[offset + i] as number;
    s += (i ? ':' : '') + HEX[v >> 4] + HEX[v & 15];
  }
  return s;
}

/** Canonical form of a MAC address string (lower case, colons); throws GARP_BAD_MAC. */
export function canonicalMac(mac: string, field = 'mac'): string {
  return bytesToMac(macToBytes(mac, field));
}

/** Parses a dotted-quad IPv4 address; throws GARP_BAD_IPV4. */
export function ipv4ToBytes(ip: string, field = 'ipv4'): Uint8Array {
  const parts = typeof ip === 'string' ? ip.split('.') : [];
  const out = new Uint8Array(4);
  const ok =
    parts.length === 4 &&
    parts.every((p, i) => {
      if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return false;
      const v = Number(p);
      out[i] = v;
      return v <= 255;
    });
  if (!ok) throw new GarpError('GARP_BAD_IPV4', `${field}: not an IPv4 address (got ${JSON.stringify(ip)})`);
  return out;
}

/** Formats 4 bytes at `offset` as a dotted quad. */
export function bytesToIpv4(b: Uint8Array, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

function parseGroups(part: string): number[] | undefined {
  if (part === '') return [];
  const groups: number[] = [];
  const pieces = part.split(':');
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i] as string;
    if (i === pieces.length - 1 && p.includes('.')) {
      let v4: Uint8Array;
      try {
        v4 = ipv4ToBytes(p);
      } catch {
        return undefined;
      }
      groups.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      continue;
    }
    if (!/^[0-9a-f]{1,4}$/i.test(p)) return undefined;
    groups.push(Number.parseInt(p, 16));
  }
  return groups;
}

/** Parses an IPv6 address (RFC 4291 text forms, no zone id); throws GARP_BAD_IPV6. */
export function ipv6ToBytes(ip: string, field = 'ipv6'): Uint8Array {
  const bad = () =>
    new GarpError('GARP_BAD_IPV6', `${field}: not an IPv6 address (got ${JSON.stringify(ip)})`);
  if (typeof ip !== 'string' || ip.length > 45) throw bad();
  const halves = ip.split('::');
  if (halves.length > 2) throw bad();
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0] as string);
    const tail = parseGroups(halves[1] as string);
    if (!head || !tail || head.length + tail.length > 7) throw bad();
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(ip);
    if (!all || all.length !== 8) throw bad();
    groups = all;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Formats 16 bytes at `offset` in the RFC 5952 canonical text form (lower case, longest zero run as `::`). */
export function bytesToIpv6(b: Uint8Array, offset = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++)
    g.push(((b[offset + 2 * i] as number) << 8) | (b[offset + 2 * i + 1] as number));
  let bestStart = -1;
  let bestLen = 1;
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
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Canonical (RFC 5952) form of an IPv6 address string; throws GARP_BAD_IPV6. */
export function canonicalIpv6(ip: string, field = 'ipv6'): string {
  return bytesToIpv6(ipv6ToBytes(ip, field));
}

/** Canonical form of an IPv4 address string; throws GARP_BAD_IPV4. */
export function canonicalIpv4(ip: string, field = 'ipv4'): string {
  return bytesToIpv4(ipv4ToBytes(ip, field));
}

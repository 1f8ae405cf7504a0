// IPv4/IPv6 text <-> unsigned integer, for the RFC 5798 §6.4.3 tie-break ("unsigned integer
// comparison of the IPvX addresses in network byte order") and for comparing address lists.
// Parsing and canonical text come from the codec's address routines (one parser per package).

import { formatIpv4, formatIpv6, writeIpv4, writeIpv6 } from '../codec/address';

/** A parsed IP address: its family, its value as an unsigned integer in network byte order, and its canonical text. */
export interface ParsedIp {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** The address as an unsigned integer (32 or 128 bits). */
  readonly value: bigint;
  /** Canonical text: dotted quad, or RFC 5952 compressed lower-case IPv6 (no zone). */
  readonly text: string;
}

function toBigInt(buf: Uint8Array, length: number): bigint {
  let v = 0n;
  for (let i = 0; i < length; i++) v = (v << 8n) | BigInt(buf[i] as number);
  return v;
}

/**
 * Parses an IPv4 or IPv6 address (an IPv6 zone such as `%eth0` is ignored). Returns `undefined` for
 * anything else.
 */
export function parseIp(text: string): ParsedIp | undefined {
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  const buf = new Uint8Array(16);
  if (writeIpv4(trimmed, buf, 0)) return { family: 4, value: toBigInt(buf, 4), text: formatIpv4(buf, 0) };
  if (writeIpv6(trimmed, buf, 0)) return { family: 6, value: toBigInt(buf, 16), text: formatIpv6(buf, 0) };
  return undefined;
}

/** Parses an address that may carry a prefix length (`192.168.77.74/24`); the prefix is dropped. */
export function parseIpWithPrefix(text: string): ParsedIp | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return parseIp(text);
  const prefix = text.slice(slash + 1);
  const ip = parseIp(text.slice(0, slash));
  if (ip === undefined || !/^\d{1,3}$/.test(prefix)) return undefined;
  if (Number(prefix) > (ip.family === 4 ? 32 : 128)) return undefined;
  return ip;
}

/** Unsigned comparison of two addresses of the same family: negative, zero or positive. */
export function compareIp(a: ParsedIp, b: ParsedIp): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

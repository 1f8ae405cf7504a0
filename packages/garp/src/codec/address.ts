// Address text for the encoders, the builders and the schedule: @proxyha/common's parsers, with garp's
// error codes (GARP_BAD_MAC, GARP_BAD_IPV4, GARP_BAD_IPV6) for bad input.
import {
  canonicalIp,
  canonicalMac,
  describeValue,
  type IpFamily,
  parseMac,
  writeIpv4,
  writeIpv6,
} from '@proxyha/common';
import { fieldError } from '../errors';

function badMac(text: unknown, path: string, what?: string) {
  return fieldError('GARP_BAD_MAC', path, `not a MAC address (got ${describeValue(text)})`, what);
}

function badIp(family: IpFamily, text: unknown, path: string, what?: string) {
  return fieldError(
    family === 'ipv4' ? 'GARP_BAD_IPV4' : 'GARP_BAD_IPV6',
    path,
    `not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address (got ${describeValue(text)})`,
    what,
  );
}

/**
 * Writes a MAC address as 6 bytes at `off`.
 *
 * @throws GarpError `GARP_BAD_MAC`
 */
export function putMac(text: string, out: Uint8Array, off: number, path: string): void {
  const bytes = parseMac(text);
  if (!bytes) throw badMac(text, path);
  out.set(bytes, off);
}

/**
 * Writes an IPv4 address as 4 bytes at `off`.
 *
 * @throws GarpError `GARP_BAD_IPV4`
 */
export function putIpv4(text: string, out: Uint8Array, off: number, path: string): void {
  if (typeof text !== 'string' || !writeIpv4(text, out, off)) throw badIp('ipv4', text, path);
}

/**
 * Writes an IPv6 address as 16 bytes at `off`.
 *
 * @throws GarpError `GARP_BAD_IPV6`
 */
export function putIpv6(text: string, out: Uint8Array, off: number, path: string): void {
  if (typeof text !== 'string' || !writeIpv6(text, out, off)) throw badIp('ipv6', text, path);
}

/**
 * The canonical form of a MAC address (lower case, colons).
 *
 * @param what - what the path is relative to, for the message
 * @throws GarpError `GARP_BAD_MAC`
 */
export function macText(text: string, path: string, what?: string): string {
  const mac = canonicalMac(text);
  if (mac === undefined) throw badMac(text, path, what);
  return mac;
}

/**
 * The canonical form of an address of `family` (dotted quad, RFC 5952).
 *
 * @param what - what the path is relative to, for the message
 * @throws GarpError `GARP_BAD_IPV4` / `GARP_BAD_IPV6`
 */
export function ipText(family: IpFamily, text: string, path: string, what?: string): string {
  const ip = canonicalIp(text, family);
  if (ip === undefined) throw badIp(family, text, path, what);
  return ip;
}

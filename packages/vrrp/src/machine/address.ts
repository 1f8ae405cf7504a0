import { compareIp, parseIp } from './ip';

/**
 * Compares two IP addresses of the same family as unsigned integers in network byte order, the
 * RFC 5798 §6.4.3 tie-break between equal priorities (the higher address wins).
 *
 * @param a - an IPv4 or IPv6 address
 * @param b - an address of the same family
 * @returns negative, zero or positive as `a` is lower than, equal to or higher than `b`
 * @throws TypeError when either is not an address, or the families differ
 */
export function compareAddresses(a: string, b: string): number {
  const pa = parseIp(a);
  const pb = parseIp(b);
  if (pa === undefined || pb === undefined) throw new TypeError(`not an IP address: ${pa ? b : a}`);
  if (pa.family !== pb.family) throw new TypeError(`address families differ: ${a} vs ${b}`);
  return compareIp(pa, pb);
}

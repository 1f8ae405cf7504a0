// The split-brain rule: which of several directors announcing one group the scanners follow.
import { compareIp, parseIp } from '@proxyha/common';

/** What {@link compareDirectors} looks at. */
export interface RankedDirector {
  /** Node id (UUID text). */
  readonly id: string;
  /** Management address (IPv4 or IPv6 text). */
  readonly address: string;
  /** Announced priority. */
  readonly priority: number;
}

/**
 * Compares two addresses for the split-brain rule: every IPv4 address ranks below every IPv6 address,
 * within a family the address bytes compare as an unsigned big-endian number; text that is no address
 * ranks below both (and such texts compare as strings, for a total order).
 *
 * @param a - first address
 * @param b - second address
 * @returns negative when `a` ranks lower, positive when higher, 0 when equal
 */
export function compareAddresses(a: string, b: string): number {
  const pa = parseIp(a);
  const pb = parseIp(b);
  if (pa !== undefined && pb !== undefined) return compareIp(pa, pb);
  if (pa !== undefined) return 1;
  if (pb !== undefined) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The split-brain rule as a comparator: the director with the highest announced priority ranks first;
 * on equal priorities the highest management address (see {@link compareAddresses}: IPv6 above IPv4,
 * bytes big-endian within a family); then the highest node id (canonical lower-case UUID text, compared
 * as a string, which is its numeric order).
 *
 * @param a - first director
 * @param b - second director
 * @returns positive when `a` ranks higher (is followed rather than `b`), negative when lower, 0 when the same
 */
export function compareDirectors(a: RankedDirector, b: RankedDirector): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const byAddress = compareAddresses(a.address, b.address);
  if (byAddress !== 0) return byAddress;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

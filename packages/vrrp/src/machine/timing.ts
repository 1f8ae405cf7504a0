// The RFC timer formulas, in milliseconds, exact.
//
// Rounding: none. Every term is an integer number of milliseconds times (256 - priority) / 256, so
// every value is a multiple of 1/256 ms and is represented exactly by a float64 (for any time below
// about 2^44 ms, i.e. 557 years). v3 with a 1 s interval and priority 89:
// 3 * 1000 + (256 - 89) * 1000 / 256 = 3652.34375 ms exactly. A driver rounds due times up to its
// timer resolution, which never fires a timer early; keepalived truncates to whole microseconds
// (3652.343 ms here), 0.75 µs earlier.

/**
 * Skew_Time in milliseconds.
 *
 * - Version 2 (RFC 3768 §6.1): `(256 - priority) / 256` seconds.
 * - Version 3 (RFC 5798 §6.1): `((256 - priority) * Master_Adver_Interval) / 256`.
 *
 * @param version - 2 or 3
 * @param priority - the local (effective) priority, 1..255
 * @param masterAdverIntervalMs - Master_Adver_Interval in ms (ignored for version 2)
 */
export function skewTimeMs(version: 2 | 3, priority: number, masterAdverIntervalMs: number): number {
  return version === 2 ? ((256 - priority) * 1000) / 256 : ((256 - priority) * masterAdverIntervalMs) / 256;
}

/**
 * Master_Down_Interval in milliseconds: `3 × Master_Adver_Interval + Skew_Time` (RFC 5798 §6.1;
 * RFC 3768 §6.1 with Advertisement_Interval, which a version 2 Master must share with its Backups).
 *
 * @param version - 2 or 3
 * @param priority - the local (effective) priority, 1..255
 * @param masterAdverIntervalMs - Master_Adver_Interval in ms
 */
export function masterDownIntervalMs(
  version: 2 | 3,
  priority: number,
  masterAdverIntervalMs: number,
): number {
  return 3 * masterAdverIntervalMs + skewTimeMs(version, priority, masterAdverIntervalMs);
}

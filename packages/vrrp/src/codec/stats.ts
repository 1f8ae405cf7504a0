/**
 * Receive statistics: dropped packets counted by reason, as keepalived keeps them.
 */

import {
  VRRP_DROP_CATEGORIES,
  VRRP_ERROR_CATEGORY,
  VRRP_ERROR_CODES,
  type VrrpDecodeError,
  type VrrpDropCategory,
  type VrrpErrorCode,
  type VrrpResult,
} from './errors';

/** A point-in-time copy of {@link VrrpRxStats}, JSON-serialisable. */
export interface VrrpRxStatsSnapshot {
  /** Adverts accepted (keepalived's `advert_rcvd`). */
  readonly received: number;
  /** Packets dropped, all reasons. */
  readonly dropped: number;
  /** Drops per stable code; every code present, zero if none. */
  readonly byCode: Readonly<Record<VrrpErrorCode, number>>;
  /** Drops per category (keepalived's counters); every category present. */
  readonly byCategory: Readonly<Record<VrrpDropCategory, number>>;
}

/**
 * Counters of received VRRP packets: accepted ones, and dropped ones keyed by the stable
 * {@link VrrpErrorCode} (grouped by {@link VrrpDropCategory}: TTL, checksum, version,
 * VRID, address list, interval, auth, length, ...). One per instance or per interface,
 * as the driver sees fit.
 *
 * @example
 * ```ts
 * const stats = new VrrpRxStats();
 * const r = decodeVrrpIpPacket(bytes);
 * if (!r.ok) stats.drop(r.error);
 * else stats.accept();
 * stats.snapshot().byCategory.checksum;
 * ```
 */
export class VrrpRxStats {
  #received = 0;
  #byCode = new Map<VrrpErrorCode, number>();

  /** Counts one accepted advert. */
  accept(): void {
    this.#received++;
  }

  /**
   * Counts one dropped packet.
   *
   * @param reason - the error from a decoder or {@link validateAgainstInstance}, or its code
   */
  drop(reason: VrrpDecodeError | VrrpErrorCode): void {
    const code = typeof reason === 'string' ? reason : reason.code;
    if (!(code in VRRP_ERROR_CATEGORY)) throw new TypeError(`unknown VRRP error code ${String(code)}`);
    this.#byCode.set(code, (this.#byCode.get(code) ?? 0) + 1);
  }

  /**
   * Counts a result: a drop if it failed, nothing if it succeeded (acceptance is decided
   * later, after {@link validateAgainstInstance}; call {@link VrrpRxStats.accept} then).
   *
   * @param result - any decoder or validator result
   * @returns the same result, for chaining
   */
  observe<T>(result: VrrpResult<T>): VrrpResult<T> {
    if (!result.ok) this.drop(result.error);
    return result;
  }

  /** Adverts accepted. */
  get received(): number {
    return this.#received;
  }

  /** Packets dropped, all reasons. */
  get dropped(): number {
    let n = 0;
    for (const v of this.#byCode.values()) n += v;
    return n;
  }

  /**
   * Drops with one code.
   *
   * @param code - the stable code
   */
  count(code: VrrpErrorCode): number {
    return this.#byCode.get(code) ?? 0;
  }

  /**
   * Drops in one category.
   *
   * @param category - for example `'checksum'` or `'ttl'`
   */
  countCategory(category: VrrpDropCategory): number {
    let n = 0;
    for (const [code, v] of this.#byCode) if (VRRP_ERROR_CATEGORY[code] === category) n += v;
    return n;
  }

  /** A copy of all counters. */
  snapshot(): VrrpRxStatsSnapshot {
    const byCode = {} as Record<VrrpErrorCode, number>;
    for (const code of VRRP_ERROR_CODES) byCode[code] = this.count(code);
    const byCategory = {} as Record<VrrpDropCategory, number>;
    for (const c of VRRP_DROP_CATEGORIES) byCategory[c] = 0;
    for (const [code, v] of this.#byCode) byCategory[VRRP_ERROR_CATEGORY[code]] += v;
    return { received: this.#received, dropped: this.dropped, byCode, byCategory };
  }

  /** Same as {@link VrrpRxStats.snapshot}, so `JSON.stringify(stats)` works. */
  toJSON(): VrrpRxStatsSnapshot {
    return this.snapshot();
  }

  /** Sets every counter to zero. */
  reset(): void {
    this.#received = 0;
    this.#byCode.clear();
  }
}

/**
 * Receive statistics: dropped packets counted by reason, as keepalived keeps them.
 */

import type { Result } from '@proxyha/common';
import {
  VRRP_DROP_CATEGORIES,
  VRRP_DROP_CATEGORY,
  VRRP_DROP_CODES,
  type VrrpDropCategory,
  type VrrpDropCode,
  type VrrpError,
} from './errors';

/** A point-in-time copy of {@link VrrpRxStats}, JSON-serialisable. */
export interface VrrpRxStatsSnapshot {
  /** Adverts accepted (keepalived's `advert_rcvd`). */
  readonly received: number;
  /** Packets dropped, all reasons. */
  readonly dropped: number;
  /** Drops per stable code; every code present, zero if none. */
  readonly byCode: Readonly<Record<VrrpDropCode, number>>;
  /** Drops per category (keepalived's counters); every category present. */
  readonly byCategory: Readonly<Record<VrrpDropCategory, number>>;
}

/**
 * Counters of received VRRP packets: accepted ones, and dropped ones keyed by the stable
 * {@link VrrpDropCode} (grouped by {@link VrrpDropCategory}: TTL, checksum, version,
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
  #byCode = new Map<VrrpDropCode, number>();

  /** Counts one accepted advert. */
  accept(): void {
    this.#received++;
  }

  /**
   * Counts one dropped packet.
   *
   * @param reason - the error from a decoder or {@link validateAgainstInstance}, or its code
   */
  drop(reason: VrrpError | VrrpDropCode): void {
    const code = (typeof reason === 'string' ? reason : reason.code) as VrrpDropCode;
    if (!(code in VRRP_DROP_CATEGORY)) throw new TypeError(`unknown VRRP error code ${String(code)}`);
    this.#byCode.set(code, (this.#byCode.get(code) ?? 0) + 1);
  }

  /**
   * Counts a result: a drop if it failed, nothing if it succeeded (acceptance is decided
   * later, after {@link validateAgainstInstance}; call {@link VrrpRxStats.accept} then).
   *
   * @param result - any decoder or validator result
   * @returns the same result, for chaining
   */
  observe<T>(result: Result<T, VrrpError>): Result<T, VrrpError> {
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
  count(code: VrrpDropCode): number {
    return this.#byCode.get(code) ?? 0;
  }

  /**
   * Drops in one category.
   *
   * @param category - for example `'checksum'` or `'ttl'`
   */
  countCategory(category: VrrpDropCategory): number {
    let n = 0;
    for (const [code, v] of this.#byCode) if (VRRP_DROP_CATEGORY[code] === category) n += v;
    return n;
  }

  /** A copy of all counters. */
  snapshot(): VrrpRxStatsSnapshot {
    const byCode = {} as Record<VrrpDropCode, number>;
    for (const code of VRRP_DROP_CODES) byCode[code] = this.count(code);
    const byCategory = {} as Record<VrrpDropCategory, number>;
    for (const c of VRRP_DROP_CATEGORIES) byCategory[c] = 0;
    for (const [code, v] of this.#byCode) byCategory[VRRP_DROP_CATEGORY[code]] += v;
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

// Log lines of adverts dropped by the HMAC authentication (keepalived's wording), rate limited per sender
// and reason: a forger or a replaying host gets one line at once, then at most one a minute.
import type { VrrpError } from '../codec/errors';

/** Minimum time between two lines for one sender and reason, ms. */
const INTERVAL_MS = 60_000;
/** Senders x reasons remembered; the oldest is forgotten first (spoofed sources cannot grow the map). */
const MAX_ENTRIES = 256;

/**
 * The rate limiter: `admit` says whether a line for (sender, reason) may be written now, and how many were
 * held back since the last one. Time is an input (the router's clock). @internal
 */
export class HmacDropLog {
  readonly #seen = new Map<string, { at: number; held: number }>();

  /** `undefined`: hold the line back; a number: write it, with that many held back before it. */
  admit(sender: string, reason: string, now: number): number | undefined {
    const key = `${sender} ${reason}`;
    const e = this.#seen.get(key);
    if (e && now - e.at < INTERVAL_MS) {
      e.held++;
      return undefined;
    }
    const held = e?.held ?? 0;
    this.#seen.delete(key);
    this.#seen.set(key, { at: now, held: 0 });
    if (this.#seen.size > MAX_ENTRIES) this.#seen.delete(this.#seen.keys().next().value as string);
    return held;
  }
}

/** keepalived's line for an advert the authentication refused (without the instance prefix). @internal */
export function hmacDropLine(error: VrrpError, source: string): string {
  const d = error.details;
  switch (error.code) {
    case 'VRRP_HMAC_MISSING':
      return `missing authentication trailer from ${source}`;
    case 'VRRP_HMAC_MALFORMED':
      return `malformed authentication trailer from ${source}`;
    case 'VRRP_HMAC_UNKNOWN_KEY':
      return `unknown authentication key id ${String(d.actual)} from ${source}`;
    case 'VRRP_HMAC_INVALID':
      return `invalid authentication HMAC from ${source}`;
    case 'VRRP_HMAC_STALE':
      return `stale authentication trailer from ${source}, clock skew ${String(d.actual)} sec exceeds window ${String(d.expected)} sec`;
    case 'VRRP_HMAC_REPLAY':
      return `replayed authentication trailer from ${source}`;
    default:
      return `dropped advert from ${source}: ${error.message}`;
  }
}

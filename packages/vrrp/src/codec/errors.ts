/**
 * Stable error codes, drop categories and the result type of the VRRP codec.
 */

/**
 * Why a received VRRP packet was dropped. Stable: operators grep for these and the
 * driver counts drops by them; new codes may be added, existing ones never change meaning.
 *
 * Raised by the decoders (the packet itself is wrong):
 * - `VRRP_BAD_IP_HEADER`: not IPv4/IPv6, bad header length, total length larger than the
 *   buffer, or a fragment.
 * - `VRRP_BAD_IP_CHECKSUM`: the IPv4 header checksum does not verify.
 * - `VRRP_BAD_PROTOCOL`: the IP protocol / next header is not 112.
 * - `VRRP_BAD_TTL`: IPv4 TTL or IPv6 hop limit is not 255 (RFC 3768 §7.1, RFC 5798 §7.1).
 * - `VRRP_BAD_LENGTH`: shorter than the VRRP header, or the length does not match
 *   "Count IP Addrs" (plus the 8 authentication bytes in v2).
 * - `VRRP_BAD_VERSION`: version is not 2 or 3, or version 2 over IPv6.
 * - `VRRP_BAD_TYPE`: type is not 1 (advertisement).
 * - `VRRP_BAD_CHECKSUM`: the VRRP checksum does not verify in any accepted form.
 * - `VRRP_BAD_VRID`: virtual router id 0 (valid ids are 1..255).
 * - `VRRP_BAD_INTERVAL`: advertisement interval 0.
 * - `VRRP_BAD_AUTH_TYPE`: v2 authentication type other than 0, 1 or 2.
 * - `VRRP_AUTH_AH_UNSUPPORTED`: v2 authentication type 2 (IPsec AH, removed by RFC 3768)
 *   or an IPv4 packet carrying AH (protocol 51).
 * - `VRRP_BAD_CONTEXT`: the caller passed an unusable decode context (an address that
 *   does not parse, an unknown family); a bug in the caller, never in the packet.
 *
 * Raised by {@link validateAgainstInstance} (the packet is well formed but does not
 * belong to, or disagrees with, the local instance; RFC 3768 §7.1, RFC 5798 §7.1):
 * - `VRRP_VERSION_MISMATCH`, `VRRP_VRID_MISMATCH`,
 * - `VRRP_LOCAL_OWNER`: the local router is the address owner (priority 255) and
 *   must not accept adverts for its VRID,
 * - `VRRP_ADDRESS_LIST_MISMATCH`, `VRRP_INTERVAL_MISMATCH` (v2 only),
 * - `VRRP_AUTH_MISMATCH` (type differs), `VRRP_AUTH_FAILURE` (password differs),
 * - `VRRP_UNKNOWN_PEER`: unicast mode and the source is not a configured peer.
 */
export type VrrpErrorCode =
  | 'VRRP_BAD_IP_HEADER'
  | 'VRRP_BAD_IP_CHECKSUM'
  | 'VRRP_BAD_PROTOCOL'
  | 'VRRP_BAD_TTL'
  | 'VRRP_BAD_LENGTH'
  | 'VRRP_BAD_VERSION'
  | 'VRRP_BAD_TYPE'
  | 'VRRP_BAD_CHECKSUM'
  | 'VRRP_BAD_VRID'
  | 'VRRP_BAD_INTERVAL'
  | 'VRRP_BAD_AUTH_TYPE'
  | 'VRRP_AUTH_AH_UNSUPPORTED'
  | 'VRRP_BAD_CONTEXT'
  | 'VRRP_VERSION_MISMATCH'
  | 'VRRP_VRID_MISMATCH'
  | 'VRRP_LOCAL_OWNER'
  | 'VRRP_ADDRESS_LIST_MISMATCH'
  | 'VRRP_INTERVAL_MISMATCH'
  | 'VRRP_AUTH_MISMATCH'
  | 'VRRP_AUTH_FAILURE'
  | 'VRRP_UNKNOWN_PEER';

/**
 * Drop categories, the counters keepalived keeps per instance (`packet_len_err`,
 * `ip_ttl_err`, `advert_interval_err`, `addr_list_err`, `invalid_type_rcvd`, the auth
 * counters, and the RFC 6527 checksum / version / VRID error counters), plus `ip`
 * for IP-layer problems, `peer` for unicast source checks and `other` for
 * {@link VrrpErrorCode | VRRP_BAD_CONTEXT}.
 */
export type VrrpDropCategory =
  | 'ttl'
  | 'checksum'
  | 'version'
  | 'vrid'
  | 'addressList'
  | 'interval'
  | 'auth'
  | 'length'
  | 'type'
  | 'ip'
  | 'peer'
  | 'other';

/** The category each {@link VrrpErrorCode} is counted under. */
export const VRRP_ERROR_CATEGORY: Readonly<Record<VrrpErrorCode, VrrpDropCategory>> = Object.freeze({
  VRRP_BAD_IP_HEADER: 'ip',
  VRRP_BAD_IP_CHECKSUM: 'checksum',
  VRRP_BAD_PROTOCOL: 'ip',
  VRRP_BAD_TTL: 'ttl',
  VRRP_BAD_LENGTH: 'length',
  VRRP_BAD_VERSION: 'version',
  VRRP_BAD_TYPE: 'type',
  VRRP_BAD_CHECKSUM: 'checksum',
  VRRP_BAD_VRID: 'vrid',
  VRRP_BAD_INTERVAL: 'interval',
  VRRP_BAD_AUTH_TYPE: 'auth',
  VRRP_AUTH_AH_UNSUPPORTED: 'auth',
  VRRP_BAD_CONTEXT: 'other',
  VRRP_VERSION_MISMATCH: 'version',
  VRRP_VRID_MISMATCH: 'vrid',
  VRRP_LOCAL_OWNER: 'vrid',
  VRRP_ADDRESS_LIST_MISMATCH: 'addressList',
  VRRP_INTERVAL_MISMATCH: 'interval',
  VRRP_AUTH_MISMATCH: 'auth',
  VRRP_AUTH_FAILURE: 'auth',
  VRRP_UNKNOWN_PEER: 'peer',
});

/** Every {@link VrrpErrorCode}, in a stable order. */
export const VRRP_ERROR_CODES: readonly VrrpErrorCode[] = Object.freeze(
  Object.keys(VRRP_ERROR_CATEGORY) as VrrpErrorCode[],
);

/** Every {@link VrrpDropCategory}, in a stable order. */
export const VRRP_DROP_CATEGORIES: readonly VrrpDropCategory[] = Object.freeze([
  'ttl',
  'checksum',
  'version',
  'vrid',
  'addressList',
  'interval',
  'auth',
  'length',
  'type',
  'ip',
  'peer',
  'other',
] as VrrpDropCategory[]);

/** Machine-readable facts about a rejected packet, for logs (`actual` vs `expected`). */
export interface VrrpErrorDetails {
  /** The offending field, for example `ttl`, `version`, `checksum`, `length`. */
  readonly field?: string;
  /** The value found in the packet. */
  readonly actual?: number | string;
  /** The value that was required. */
  readonly expected?: number | string;
}

/**
 * A received packet was rejected. The only error the decoders and
 * {@link validateAgainstInstance} produce; it is returned inside a {@link VrrpResult},
 * never thrown.
 *
 * It carries no stack trace: it describes bad input, not a bug, and skipping the stack
 * keeps dropping a flood of bad packets cheap.
 */
export class VrrpDecodeError extends Error {
  /** Stable reason code. */
  readonly code: VrrpErrorCode;
  /** The counter this drop belongs to. */
  readonly category: VrrpDropCategory;
  /** What was wrong, as data. */
  readonly details: VrrpErrorDetails;

  /**
   * @param code - stable reason code
   * @param message - human-readable explanation (the code is prefixed automatically)
   * @param details - offending field and values
   */
  constructor(code: VrrpErrorCode, message: string, details: VrrpErrorDetails = {}) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(`${code}: ${message}`);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = 'VrrpDecodeError';
    this.code = code;
    this.category = VRRP_ERROR_CATEGORY[code];
    this.details = details;
  }
}

/**
 * An advertisement could not be encoded because the input is invalid (a field out of
 * range, an address that does not parse). Thrown by the encoders: encoder input comes
 * from validated configuration, so this signals a programming error.
 */
export class VrrpEncodeError extends Error {
  /** Always `VRRP_ENCODE_INVALID`. */
  readonly code = 'VRRP_ENCODE_INVALID' as const;
  /** The offending input field, for example `vrid` or `addresses[2]`. */
  readonly field: string;

  /**
   * @param field - the offending input field
   * @param message - what is wrong with it
   */
  constructor(field: string, message: string) {
    super(`VRRP_ENCODE_INVALID: ${field}: ${message}`);
    this.name = 'VrrpEncodeError';
    this.field = field;
  }
}

/**
 * Outcome of decoding or validating: the value, or the reason the packet must be dropped.
 * Decoding never throws; check `ok`.
 */
export type VrrpResult<T> =
  | {
      /** Success. */
      readonly ok: true;
      /** The decoded or validated value. */
      readonly value: T;
    }
  | {
      /** The packet must be dropped. */
      readonly ok: false;
      /** Why; count it with {@link VrrpRxStats.drop}. */
      readonly error: VrrpDecodeError;
    };

/** @internal */
export function fail(code: VrrpErrorCode, message: string, details?: VrrpErrorDetails): VrrpResult<never> {
  return { ok: false, error: new VrrpDecodeError(code, message, details) };
}

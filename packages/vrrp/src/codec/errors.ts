/**
 * Stable error codes of `@proxyha/vrrp`, the drop categories received packets are counted under, and the
 * one error class.
 */

import { defineErrors, err, ProxyhaError } from '@proxyha/common';

/**
 * Every error code of `@proxyha/vrrp` with its meaning (`docs/errors.md` lists them all). Stable:
 * operators grep for them and the driver counts drops by them; new codes may be added, existing ones
 * never change meaning.
 */
export const VRRP_ERRORS = defineErrors('VRRP', {
  // raised by the decoders: the packet itself is wrong
  VRRP_BAD_IP_HEADER:
    'not IPv4/IPv6, a bad header length, a total length larger than the buffer, a fragment, or a reserved flag set',
  VRRP_BAD_IP_CHECKSUM: 'the IPv4 header checksum does not verify',
  VRRP_BAD_PROTOCOL: 'the IP protocol / next header is not 112',
  VRRP_BAD_TTL: 'the IPv4 TTL or IPv6 hop limit is not 255 (RFC 3768 §7.1, RFC 5798 §7.1)',
  VRRP_BAD_LENGTH:
    'shorter than the VRRP header, or the length does not match "Count IP Addrs" (plus 8 auth bytes in v2)',
  VRRP_BAD_VERSION: 'the version is not 2 or 3, or version 2 arrived over IPv6',
  VRRP_BAD_TYPE: 'the type is not 1 (advertisement)',
  VRRP_BAD_CHECKSUM: 'the VRRP checksum does not verify in any accepted form',
  VRRP_BAD_VRID: 'virtual router id 0 (valid ids are 1..255)',
  VRRP_BAD_INTERVAL: 'advertisement interval 0, or out of the 12-bit range of v3',
  VRRP_BAD_AUTH_TYPE: 'v2 authentication type other than 0, 1 or 2',
  VRRP_AUTH_AH_UNSUPPORTED:
    'v2 authentication type 2 (IPsec AH, removed by RFC 3768) or an IPv4 packet carrying AH',
  VRRP_BAD_CONTEXT:
    'the caller passed an unusable decode context (an address that does not parse): a bug in the caller',
  // raised by the receive checks against the local instance (RFC 3768 §7.1, RFC 5798 §7.1)
  VRRP_VERSION_MISMATCH: 'the advert is of another VRRP version than the instance runs',
  VRRP_VRID_MISMATCH: 'the advert is for another virtual router id',
  VRRP_BAD_SOURCE: 'the IP source of the advert is not an address of the instance family',
  VRRP_LOCAL_OWNER: 'this router owns the addresses (priority 255) and processes no adverts for its VRID',
  VRRP_OWN_ADVERT: 'the advert carries our own primary address as source (looped back)',
  VRRP_UNKNOWN_PEER: 'unicast peers are configured and the source is not one of them',
  VRRP_BAD_PRIORITY: 'the priority field is not an integer 0..255',
  VRRP_AUTH_MISMATCH:
    'v2 authentication type differs from the configured one (keepalived: "received a 0 auth, expecting 1!")',
  VRRP_AUTH_FAILURE:
    'v2 simple password differs from the configured one (keepalived: "received an invalid passwd!")',
  VRRP_INTERVAL_MISMATCH: 'v2 advertisement interval differs from the configured one',
  VRRP_NO_ADDRESS: 'the advert carries no virtual address (RFC 9568 §5.2.5)',
  VRRP_BAD_ADDRESS: 'a listed virtual address is not an address of the instance family',
  VRRP_ADDRESS_LIST_MISMATCH:
    "the advert's address list differs from the configured one and the sender is not the owner",
  // raised by the HMAC authentication trailer (draft-cassen-vrrp-auth-hmac, keepalived's auth_hmac)
  VRRP_HMAC_MISSING:
    'mode enforce and the advert carries no authentication trailer (keepalived: "missing authentication trailer")',
  VRRP_HMAC_MALFORMED:
    'the authentication trailer has an unknown extension type (not 1, HMAC-SHA256-128) or a non-zero reserved field',
  VRRP_HMAC_UNKNOWN_KEY: 'the authentication trailer names a key id that is not configured',
  VRRP_HMAC_INVALID:
    'the HMAC does not verify: another key, an altered advert, or another source / VRID / version (forged)',
  VRRP_HMAC_STALE:
    'the trailer timestamp lies outside the freshness window (anti-replay time): an old capture or clock skew',
  VRRP_HMAC_REPLAY: 'the sequence number is not above the last one accepted from this sender (replayed)',
  // raised (thrown) for bad programmatic input
  VRRP_INVALID_ARGUMENT:
    'an advert to encode or an argument is out of range or does not parse: a bug in the caller',
  VRRP_CONFIG_INVALID: 'a MachineConfig failed validation; details.issues names each path and value',
  VRRP_INVALID_EVENT:
    'an event given to VrrpMachine.handle is malformed (unknown type, time not a finite number)',
  VRRP_INVALID_SYNC_GROUP: 'a SyncGroup was built or addressed wrongly (duplicate or unknown member)',
});

/** A code of {@link VRRP_ERRORS}. */
export type VrrpErrorCode = keyof typeof VRRP_ERRORS;

/**
 * Why a received VRRP packet was dropped: the decoders' codes and the receive checks' codes (all of
 * {@link VrrpErrorCode} but the ones thrown for bad programmatic input).
 */
export type VrrpDropCode = Exclude<
  VrrpErrorCode,
  'VRRP_INVALID_ARGUMENT' | 'VRRP_CONFIG_INVALID' | 'VRRP_INVALID_EVENT' | 'VRRP_INVALID_SYNC_GROUP'
>;

/**
 * Drop categories, the counters keepalived keeps per instance (`packet_len_err`, `ip_ttl_err`,
 * `advert_interval_err`, `addr_list_err`, `invalid_type_rcvd`, the auth counters, and the RFC 6527
 * checksum / version / VRID error counters), plus `ip` for IP-layer problems, `peer` for unicast source
 * checks and `other` for `VRRP_BAD_CONTEXT`.
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

/** The category each {@link VrrpDropCode} is counted under. */
export const VRRP_DROP_CATEGORY: Readonly<Record<VrrpDropCode, VrrpDropCategory>> = Object.freeze({
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
  VRRP_BAD_SOURCE: 'ip',
  VRRP_LOCAL_OWNER: 'vrid',
  VRRP_OWN_ADVERT: 'ip',
  VRRP_UNKNOWN_PEER: 'peer',
  VRRP_BAD_PRIORITY: 'other',
  VRRP_AUTH_MISMATCH: 'auth',
  VRRP_AUTH_FAILURE: 'auth',
  VRRP_INTERVAL_MISMATCH: 'interval',
  VRRP_NO_ADDRESS: 'addressList',
  VRRP_BAD_ADDRESS: 'addressList',
  VRRP_ADDRESS_LIST_MISMATCH: 'addressList',
  VRRP_HMAC_MISSING: 'auth',
  VRRP_HMAC_MALFORMED: 'auth',
  VRRP_HMAC_UNKNOWN_KEY: 'auth',
  VRRP_HMAC_INVALID: 'auth',
  VRRP_HMAC_STALE: 'auth',
  VRRP_HMAC_REPLAY: 'auth',
});

/** Every {@link VrrpDropCode}, in a stable order. */
export const VRRP_DROP_CODES: readonly VrrpDropCode[] = Object.freeze(
  Object.keys(VRRP_DROP_CATEGORY) as VrrpDropCode[],
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

/** Machine-readable facts about a rejected packet or argument, for logs (`actual` vs `expected`). */
export interface VrrpErrorDetails {
  /** The offending field, for example `ttl`, `version`, `checksum`, `addresses[2]`. */
  readonly field?: string;
  /** The value found. */
  readonly actual?: number | string;
  /** The value that was required. */
  readonly expected?: number | string;
}

/**
 * The one error class of `@proxyha/vrrp`. The decoders and the receive checks return it inside a
 * `Result` (never thrown; created without a stack trace, so that dropping a flood of bad packets stays
 * cheap); the encoders, the machine and sync groups throw it for bad programmatic input.
 */
export class VrrpError<D extends object = VrrpErrorDetails> extends ProxyhaError<VrrpErrorCode, D> {}

/** A failed result for a dropped packet (no stack trace). */
export function drop(code: VrrpDropCode, message: string, details: VrrpErrorDetails = {}) {
  return err(new VrrpError(code, message, { details, stack: false }));
}

/** Throws `VRRP_INVALID_ARGUMENT` naming the field. */
export function invalidArgument(field: string, message: string): never {
  throw new VrrpError('VRRP_INVALID_ARGUMENT', `${field}: ${message}`, { details: { field } });
}

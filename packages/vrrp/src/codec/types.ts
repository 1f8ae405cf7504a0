/**
 * VRRP advertisement types and protocol constants.
 */

import type { IpFamily } from '@proxyha/common';

/** IP protocol number of VRRP (RFC 3768 §5.2.4, RFC 5798 §5.1.1.3). */
export const VRRP_PROTOCOL = 112;
/** IP protocol number of IPsec AH, used by the removed VRRPv2 authentication type 2. */
export const IPSEC_AH_PROTOCOL = 51;
/** IPv4 multicast group of VRRP. */
export const VRRP_MULTICAST_IPV4 = '224.0.0.18';
/** IPv6 multicast group of VRRP. */
export const VRRP_MULTICAST_IPV6 = 'ff02::12';
/** The only TTL / hop limit VRRP sends and accepts. */
export const VRRP_TTL = 255;
/** The only VRRP packet type: advertisement. */
export const VRRP_TYPE_ADVERTISEMENT = 1;
/** IPv4 TOS / IPv6 traffic class that keepalived and FRR send: DSCP CS6 (network control). */
export const VRRP_TOS_CS6 = 0xc0;
/** Priority of the address owner. */
export const VRRP_PRIORITY_OWNER = 255;
/** Priority a master sends when it resigns. */
export const VRRP_PRIORITY_RESIGN = 0;
/** Largest VRRPv3 Max Advertise Interval, in centiseconds (12 bits). */
export const VRRP_V3_MAX_INTERVAL_CS = 4095;
/** Length of the VRRPv2 authentication data field. */
export const VRRP_V2_AUTH_LENGTH = 8;

/**
 * VRRPv2 authentication (RFC 2338 §5.3.6; RFC 3768 keeps the field for compatibility).
 *
 * - `none`: type 0; the 8 authentication bytes are sent as zeros and ignored on receipt.
 * - `simple`: type 1, a clear-text password of up to 8 bytes, zero padded (keepalived
 *   `auth_type PASS`). A string is encoded as UTF-8. Decoding yields the bytes with the
 *   zero padding removed, always as a `Uint8Array`.
 *
 * Type 2 (IPsec AH) is not supported: decoding yields `VRRP_AUTH_AH_UNSUPPORTED`.
 */
export type VrrpV2Auth =
  | {
      /** Authentication type 0. */
      readonly type: 'none';
    }
  | {
      /** Authentication type 1. */
      readonly type: 'simple';
      /** Up to 8 bytes (a string counts as its UTF-8 bytes). */
      readonly password: Uint8Array | string;
    };

/** Fields shared by both versions. */
export interface VrrpAdvertBase {
  /** Virtual router id, 1..255. */
  readonly vrid: number;
  /** Priority, 0..255: 255 address owner, 0 master resigning. */
  readonly priority: number;
  /**
   * The virtual addresses, as text of the advert's family ("192.168.77.74", "fd77::74").
   * Decoded IPv6 addresses are in RFC 5952 form. At most 255.
   */
  readonly addresses: readonly string[];
}

/** A VRRPv2 advertisement (RFC 3768); IPv4 only. */
export interface VrrpV2Advert extends VrrpAdvertBase {
  /** VRRP version. */
  readonly version: 2;
  /** Always IPv4: RFC 3768 defines no IPv6 transport. */
  readonly family: 'ipv4';
  /** Advertisement interval in whole seconds, 1..255. */
  readonly advertIntervalSec: number;
  /** Authentication; omitted means `{ type: 'none' }`. Always present after decoding. */
  readonly auth?: VrrpV2Auth;
}

/** A VRRPv3 advertisement (RFC 5798, RFC 9568) over IPv4 or IPv6. */
export interface VrrpV3Advert extends VrrpAdvertBase {
  /** VRRP version. */
  readonly version: 3;
  /** IPv4 or IPv6 (the address family of `addresses`). */
  readonly family: IpFamily;
  /** Max Advertise Interval in centiseconds, 1..4095. */
  readonly maxAdvertIntervalCs: number;
}

/** A VRRP advertisement of either version. */
export type VrrpAdvert = VrrpV2Advert | VrrpV3Advert;

/**
 * Which bytes a VRRP checksum covers.
 *
 * - `vrrp-only`: the VRRP message alone. Always for v2 (RFC 3768 §5.3.8); for v3 over
 *   IPv4 what RFC 9568 and several routers do.
 * - `pseudo-header`: the IPv4/IPv6 pseudo-header (source, destination, zero, protocol
 *   112, VRRP length) and the message. Always for v3 over IPv6; for v3 over IPv4 what
 *   RFC 5798, keepalived and FRR do.
 * - `pseudo-header-group`: the IPv4 pseudo-header with the multicast group as
 *   destination even though the packet was sent to a unicast peer: what older
 *   keepalived releases did for VRRPv3 unicast peers (keepalived's
 *   `unicast_checksum_compat` option still sends it). v3 over IPv4 only.
 */
export type VrrpChecksumMode = 'vrrp-only' | 'pseudo-header' | 'pseudo-header-group';

/** The Max Advertise Interval (v3) or Advertisement Interval (v2) of an advert, in milliseconds. */
export function advertIntervalMs(advert: VrrpAdvert): number {
  return advert.version === 2 ? advert.advertIntervalSec * 1000 : advert.maxAdvertIntervalCs * 10;
}

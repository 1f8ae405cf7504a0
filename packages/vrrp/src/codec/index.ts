/**
 * VRRP codec: bytes <-> typed advertisements, with full structural validation. The receive checks that
 * depend on the local instance are `validateAgainstInstance` (beside the state machine, which runs the
 * same checks).
 */

export {
  sealVrrpHmac,
  splitVrrpHmac,
  VRRP_HMAC_TRAILER_LENGTH,
  VRRP_HMAC_TYPE_SHA256_128,
  VrrpHmac,
  type VrrpHmacAccepted,
  type VrrpHmacAntiReplay,
  type VrrpHmacBinding,
  type VrrpHmacKey,
  type VrrpHmacMode,
  type VrrpHmacOptions,
  type VrrpHmacSealOptions,
  type VrrpHmacSettings,
  type VrrpHmacTrailer,
  verifyVrrpHmac,
} from './auth-hmac';
export {
  VRRP_DROP_CATEGORIES,
  VRRP_DROP_CATEGORY,
  VRRP_DROP_CODES,
  VRRP_ERRORS,
  type VrrpDropCategory,
  type VrrpDropCode,
  VrrpError,
  type VrrpErrorCode,
  type VrrpErrorDetails,
} from './errors';
export {
  decodeVrrpIpPacket,
  encodeVrrpIpPacket,
  type VrrpIpDecoded,
  type VrrpIpDecodeOptions,
  type VrrpIpEncodeOptions,
  type VrrpIpv4Header,
  type VrrpIpv6Header,
} from './ip';
export { VrrpRxStats, type VrrpRxStatsSnapshot } from './stats';
export {
  advertIntervalMs,
  IPSEC_AH_PROTOCOL,
  VRRP_MULTICAST_IPV4,
  VRRP_MULTICAST_IPV6,
  VRRP_PRIORITY_OWNER,
  VRRP_PRIORITY_RESIGN,
  VRRP_PROTOCOL,
  VRRP_TOS_CS6,
  VRRP_TTL,
  VRRP_TYPE_ADVERTISEMENT,
  VRRP_V2_AUTH_LENGTH,
  VRRP_V3_MAX_INTERVAL_CS,
  type VrrpAdvert,
  type VrrpAdvertBase,
  type VrrpChecksumMode,
  type VrrpV2Advert,
  type VrrpV2Auth,
  type VrrpV3Advert,
} from './types';
export { defaultVmacName, parseVirtualMac, type VirtualMacInfo, virtualMac } from './vmac';
export {
  decodeVrrp,
  encodeVrrp,
  type VrrpDecodeContext,
  type VrrpDecoded,
  type VrrpDecodeOptions,
  type VrrpEncodeOptions,
  vrrpMessageLength,
} from './vrrp';

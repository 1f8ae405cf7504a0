// The IPv6 Neighbor Advertisement (RFC 4861 section 4.4) with its IPv6 header and ICMPv6 checksum.
import {
  checksumAdd,
  checksumFinish,
  checksumVerifies,
  formatIpv6,
  formatMac,
  ok,
  pseudoHeaderSum,
  type Result,
} from '@proxyha/common';
import { decodeError, type GarpDecodeDetails, type GarpError } from '../errors';
import { putIpv6, putMac } from './address';
import { checkInt, hex4, u16, u32 } from './bytes';
import { ALL_NODES_IPV6 } from './ethernet';

/** Length of the IPv6 header. */
export const IPV6_HEADER = 40;
const NA_MIN = 24; // ICMPv6 header (4) + flags/reserved (4) + target (16)
const ICMPV6 = 58;
const ICMPV6_NA = 136;

/**
 * An IPv6 Neighbor Advertisement (RFC 4861 section 4.4) with the IPv6 header fields it travels in.
 * Reserved bits are sent as zero and ignored on receipt; unknown options are skipped.
 */
export interface NeighborAdvertisement {
  /** IPv6 source address. */
  readonly src: string;
  /** IPv6 destination address (ff02::1 for unsolicited advertisements). */
  readonly dst: string;
  /** IPv6 hop limit; always 255 here (decode rejects anything else, RFC 4861 7.1.2). */
  readonly hopLimit: number;
  /** IPv6 traffic class (0..255). */
  readonly trafficClass: number;
  /** IPv6 flow label (0..0xfffff). */
  readonly flowLabel: number;
  /** R flag: the sender is a router. */
  readonly router: boolean;
  /** S flag: sent in response to a solicitation (never for unsolicited advertisements). */
  readonly solicited: boolean;
  /** O flag: the advertisement should override an existing cache entry. */
  readonly override: boolean;
  /** Target address: the address whose link-layer address is advertised. */
  readonly target: string;
  /** Target link-layer address option (type 2), if present. */
  readonly targetLinkLayerAddress: string | undefined;
  /** ICMPv6 checksum as found on the wire (decode) or as computed (encode). */
  readonly checksum: number;
}

/** Input of {@link encodeNeighborAdvertisement}: the checksum is computed, everything else has a default. */
export type NeighborAdvertisementInit = Partial<Omit<NeighborAdvertisement, 'checksum' | 'target'>> & {
  /** Target address: the address whose link-layer address is advertised. */
  readonly target: string;
};

/**
 * Encodes an IPv6 packet holding an ICMPv6 Neighbor Advertisement, computing payload length and the
 * ICMPv6 checksum over the IPv6 pseudo-header (RFC 4443 section 2.3).
 *
 * Defaults: `src` = `target`, `dst` = ff02::1, `hopLimit` 255, traffic class and flow label 0, `router`
 * and `solicited` false, `override` true, no target link-layer address option.
 *
 * @throws GarpError `GARP_BAD_IPV6`, `GARP_BAD_MAC`, `GARP_INVALID_ARGUMENT`
 */
export function encodeNeighborAdvertisement(na: NeighborAdvertisementInit): Uint8Array {
  const hopLimit = na.hopLimit ?? 255;
  const trafficClass = na.trafficClass ?? 0;
  const flowLabel = na.flowLabel ?? 0;
  checkInt('na.hopLimit', hopLimit, 0, 255);
  checkInt('na.trafficClass', trafficClass, 0, 255);
  checkInt('na.flowLabel', flowLabel, 0, 0xfffff);
  const tlla = na.targetLinkLayerAddress;
  const plen = NA_MIN + (tlla === undefined ? 0 : 8);
  const out = new Uint8Array(IPV6_HEADER + plen);
  const icmp = IPV6_HEADER;
  putIpv6(na.target, out, icmp + 8, 'na.target');
  if (na.src === undefined) out.copyWithin(8, icmp + 8, icmp + 24);
  else putIpv6(na.src, out, 8, 'na.src');
  putIpv6(na.dst ?? ALL_NODES_IPV6, out, 24, 'na.dst');
  if (tlla !== undefined) {
    out[icmp + 24] = 2;
    out[icmp + 25] = 1;
    putMac(tlla, out, icmp + 26, 'na.targetLinkLayerAddress');
  }
  const vtf = ((6 << 28) | (trafficClass << 20) | flowLabel) >>> 0;
  out[0] = vtf >>> 24;
  out[1] = (vtf >>> 16) & 0xff;
  out[2] = (vtf >>> 8) & 0xff;
  out[3] = vtf & 0xff;
  out[4] = plen >> 8;
  out[5] = plen & 0xff;
  out[6] = ICMPV6;
  out[7] = hopLimit;
  out[icmp] = ICMPV6_NA;
  out[icmp + 4] = (na.router ? 0x80 : 0) | (na.solicited ? 0x40 : 0) | ((na.override ?? true) ? 0x20 : 0);
  const sum = checksumFinish(icmpv6Sum(out, plen));
  out[icmp + 2] = sum >> 8;
  out[icmp + 3] = sum & 0xff;
  return out;
}

/**
 * Decodes an IPv6 packet holding an ICMPv6 Neighbor Advertisement and validates it as RFC 4861 section
 * 7.1.2 asks (hop limit 255, code 0, checksum, non-multicast target, S clear for multicast destination,
 * option lengths). Extension headers are not accepted.
 *
 * @param bytes - exactly the IPv6 packet (40-byte header + payload length)
 */
export function decodeNeighborAdvertisement(
  bytes: Uint8Array,
): Result<NeighborAdvertisement, GarpError<GarpDecodeDetails>> {
  if (!(bytes instanceof Uint8Array))
    return decodeError('GARP_TRUNCATED', 'ipv6: input is not a byte array', 0);
  if (bytes.length < IPV6_HEADER)
    return decodeError('GARP_TRUNCATED', `ipv6: ${bytes.length} bytes, header needs ${IPV6_HEADER}`, 0);
  const version = (bytes[0] as number) >> 4;
  if (version !== 6) return decodeError('GARP_BAD_IP_VERSION', `ipv6.version: ${version}, expected 6`, 0);
  const plen = u16(bytes, 4);
  if (IPV6_HEADER + plen > bytes.length)
    return decodeError(
      'GARP_TRUNCATED',
      `ipv6.plen: ${plen} but only ${bytes.length - IPV6_HEADER} payload bytes`,
      4,
    );
  if (IPV6_HEADER + plen < bytes.length)
    return decodeError(
      'GARP_TRAILING_BYTES',
      `ipv6: ${bytes.length - IPV6_HEADER - plen} bytes after the payload`,
      40 + plen,
    );
  if (bytes[6] !== ICMPV6)
    return decodeError(
      'GARP_BAD_NEXT_HEADER',
      `ipv6.nxt: ${bytes[6]}, expected ICMPv6 (58) with no extension headers`,
      6,
    );
  if (plen < 4) return decodeError('GARP_TRUNCATED', `icmpv6: ${plen} bytes, header needs 4`, IPV6_HEADER);
  const icmp = IPV6_HEADER;
  if (bytes[icmp] !== ICMPV6_NA)
    return decodeError(
      'GARP_BAD_ICMP_TYPE',
      `icmpv6.type: ${bytes[icmp]}, expected Neighbor Advertisement (136)`,
      icmp,
    );
  if (bytes[icmp + 1] !== 0)
    return decodeError('GARP_BAD_ICMP_CODE', `icmpv6.code: ${bytes[icmp + 1]}, expected 0`, icmp + 1);
  if (plen < NA_MIN)
    return decodeError('GARP_TRUNCATED', `icmpv6: ${plen} bytes, an advertisement needs ${NA_MIN}`, icmp);
  const checksum = u16(bytes, icmp + 2);
  if (!checksumVerifies(icmpv6Sum(bytes, plen)))
    return decodeError('GARP_BAD_CHECKSUM', `icmpv6.checksum: 0x${hex4(checksum)} does not verify`, icmp + 2);
  const hopLimit = bytes[7] as number;
  if (hopLimit !== 255)
    return decodeError('GARP_BAD_HOP_LIMIT', `ipv6.hlim: ${hopLimit}, neighbour discovery requires 255`, 7);
  if (bytes[icmp + 8] === 0xff)
    return decodeError(
      'GARP_BAD_TARGET',
      `icmpv6.nd.na.target_address: ${formatIpv6(bytes, icmp + 8)} is multicast`,
      icmp + 8,
    );
  const flags = bytes[icmp + 4] as number;
  const solicited = (flags & 0x40) !== 0;
  if (solicited && bytes[24] === 0xff)
    return decodeError(
      'GARP_BAD_FLAGS',
      'icmpv6.nd.na.flag.s: set on an advertisement to a multicast address',
      icmp + 4,
    );
  let tlla: string | undefined;
  for (let o = icmp + NA_MIN; o < bytes.length; ) {
    if (o + 2 > bytes.length) return decodeError('GARP_BAD_OPTION', 'icmpv6.opt: truncated option header', o);
    const type = bytes[o] as number;
    const len = (bytes[o + 1] as number) * 8;
    if (len === 0) return decodeError('GARP_BAD_OPTION', `icmpv6.opt.length: 0 (type ${type})`, o + 1);
    if (o + len > bytes.length)
      return decodeError('GARP_BAD_OPTION', `icmpv6.opt: type ${type} overruns the packet`, o);
    if (type === 2) {
      if (len !== 8)
        return decodeError(
          'GARP_BAD_OPTION',
          `icmpv6.opt.linkaddr: ${len - 2} bytes, Ethernet needs 6`,
          o + 1,
        );
      tlla ??= formatMac(bytes, o + 2);
    }
    o += len;
  }
  const vtf = u32(bytes, 0);
  return ok({
    src: formatIpv6(bytes, 8),
    dst: formatIpv6(bytes, 24),
    hopLimit,
    trafficClass: (vtf >>> 20) & 0xff,
    flowLabel: vtf & 0xfffff,
    router: (flags & 0x80) !== 0,
    solicited,
    override: (flags & 0x20) !== 0,
    target: formatIpv6(bytes, icmp + 8),
    targetLinkLayerAddress: tlla,
    checksum,
  });
}

/**
 * The running sum of the IPv6 pseudo-header (RFC 8200 section 8.1) and `plen` bytes of ICMPv6 at offset 40
 * of an IPv6 packet, checksum field included as it stands.
 */
function icmpv6Sum(pkt: Uint8Array, plen: number): number {
  return checksumAdd(pkt, IPV6_HEADER, plen, pseudoHeaderSum(pkt, 8, pkt, 24, 16, ICMPV6, plen));
}

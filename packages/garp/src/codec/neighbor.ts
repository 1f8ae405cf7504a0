// The IPv6 Neighbor Advertisement (RFC 4861 section 4.4) with its IPv6 header and ICMPv6 checksum.

import { type DecodeResult, fail } from '../errors';
import { bytesToIpv6, bytesToMac, ipv6ToBytes, macToBytes } from './address';
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
 * @throws GarpError `GARP_BAD_IPV6`, `GARP_BAD_MAC`, `GARP_BAD_FIELD`
 */
export function encodeNeighborAdvertisement(na: NeighborAdvertisementInit): Uint8Array {
  const target = ipv6ToBytes(na.target, 'na.target');
  const src = na.src === undefined ? target : ipv6ToBytes(na.src, 'na.src');
  const dst = ipv6ToBytes(na.dst ?? ALL_NODES_IPV6, 'na.dst');
  const hopLimit = na.hopLimit ?? 255;
  const trafficClass = na.trafficClass ?? 0;
  const flowLabel = na.flowLabel ?? 0;
  checkInt('na.hopLimit', hopLimit, 0, 255);
  checkInt('na.trafficClass', trafficClass, 0, 255);
  checkInt('na.flowLabel', flowLabel, 0, 0xfffff);
  const tlla =
    na.targetLinkLayerAddress === undefined ? undefined : macToBytes(na.targetLinkLayerAddress, 'na.tlla');
  const plen = NA_MIN + (tlla ? 8 : 0);
  const out = new Uint8Array(IPV6_HEADER + plen);
  const vtf = ((6 << 28) | (trafficClass << 20) | flowLabel) >>> 0;
  out[0] = vtf >>> 24;
  out[1] = (vtf >>> 16) & 0xff;
  out[2] = (vtf >>> 8) & 0xff;
  out[3] = vtf & 0xff;
  out[4] = plen >> 8;
  out[5] = plen & 0xff;
  out[6] = ICMPV6;
  out[7] = hopLimit;
  out.set(src, 8);
  out.set(dst, 24);
  const icmp = IPV6_HEADER;
  out[icmp] = ICMPV6_NA;
  out[icmp + 4] = (na.router ? 0x80 : 0) | (na.solicited ? 0x40 : 0) | ((na.override ?? true) ? 0x20 : 0);
  out.set(target, icmp + 8);
  if (tlla) {
    out[icmp + 24] = 2;
    out[icmp + 25] = 1;
    out.set(tlla, icmp + 26);
  }
  const sum = ~icmpv6Sum(out, plen) & 0xffff;
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
export function decodeNeighborAdvertisement(bytes: Uint8Array): DecodeResult<NeighborAdvertisement> {
  if (!(bytes instanceof Uint8Array)) return fail('GARP_TRUNCATED', 'ipv6: input is not a byte array', 0);
  if (bytes.length < IPV6_HEADER)
    return fail('GARP_TRUNCATED', `ipv6: ${bytes.length} bytes, header needs ${IPV6_HEADER}`, 0);
  const version = (bytes[0] as number) >> 4;
  if (version !== 6) return fail('GARP_BAD_IP_VERSION', `ipv6.version: ${version}, expected 6`, 0);
  const plen = u16(bytes, 4);
  if (IPV6_HEADER + plen > bytes.length)
    return fail(
      'GARP_TRUNCATED',
      `ipv6.plen: ${plen} but only ${bytes.length - IPV6_HEADER} payload bytes`,
      4,
    );
  if (IPV6_HEADER + plen < bytes.length)
    return fail(
      'GARP_TRAILING_BYTES',
      `ipv6: ${bytes.length - IPV6_HEADER - plen} bytes after the payload`,
      40 + plen,
    );
  if (bytes[6] !== ICMPV6)
    return fail(
      'GARP_BAD_NEXT_HEADER',
      `ipv6.nxt: ${bytes[6]}, expected ICMPv6 (58) with no extension headers`,
      6,
    );
  if (plen < 4) return fail('GARP_TRUNCATED', `icmpv6: ${plen} bytes, header needs 4`, IPV6_HEADER);
  const icmp = IPV6_HEADER;
  if (bytes[icmp] !== ICMPV6_NA)
    return fail(
      'GARP_BAD_ICMP_TYPE',
      `icmpv6.type: ${bytes[icmp]}, expected Neighbor Advertisement (136)`,
      icmp,
    );
  if (bytes[icmp + 1] !== 0)
    return fail('GARP_BAD_ICMP_CODE', `icmpv6.code: ${bytes[icmp + 1]}, expected 0`, icmp + 1);
  if (plen < NA_MIN)
    return fail('GARP_TRUNCATED', `icmpv6: ${plen} bytes, an advertisement needs ${NA_MIN}`, icmp);
  const checksum = u16(bytes, icmp + 2);
  if (icmpv6Sum(bytes, plen) !== 0xffff)
    return fail('GARP_BAD_CHECKSUM', `icmpv6.checksum: 0x${hex4(checksum)} does not verify`, icmp + 2);
  const hopLimit = bytes[7] as number;
  if (hopLimit !== 255)
    return fail('GARP_BAD_HOP_LIMIT', `ipv6.hlim: ${hopLimit}, neighbour discovery requires 255`, 7);
  if (bytes[icmp + 8] === 0xff)
    return fail(
      'GARP_BAD_TARGET',
      `icmpv6.nd.na.target_address: ${bytesToIpv6(bytes, icmp + 8)} is multicast`,
      icmp + 8,
    );
  const flags = bytes[icmp + 4] as number;
  const solicited = (flags & 0x40) !== 0;
  if (solicited && bytes[24] === 0xff)
    return fail(
      'GARP_BAD_FLAGS',
      'icmpv6.nd.na.flag.s: set on an advertisement to a multicast address',
      icmp + 4,
    );
  let tlla: string | undefined;
  for (let o = icmp + NA_MIN; o < bytes.length; ) {
    if (o + 2 > bytes.length) return fail('GARP_BAD_OPTION', 'icmpv6.opt: truncated option header', o);
    const type = bytes[o] as number;
    const len = (bytes[o + 1] as number) * 8;
    if (len === 0) return fail('GARP_BAD_OPTION', `icmpv6.opt.length: 0 (type ${type})`, o + 1);
    if (o + len > bytes.length)
      return fail('GARP_BAD_OPTION', `icmpv6.opt: type ${type} overruns the packet`, o);
    if (type === 2) {
      if (len !== 8)
        return fail('GARP_BAD_OPTION', `icmpv6.opt.linkaddr: ${len - 2} bytes, Ethernet needs 6`, o + 1);
      tlla ??= bytesToMac(bytes, o + 2);
    }
    o += len;
  }
  const vtf = u32(bytes, 0);
  return {
    ok: true,
    value: {
      src: bytesToIpv6(bytes, 8),
      dst: bytesToIpv6(bytes, 24),
      hopLimit,
      trafficClass: (vtf >>> 20) & 0xff,
      flowLabel: vtf & 0xfffff,
      router: (flags & 0x80) !== 0,
      solicited,
      override: (flags & 0x20) !== 0,
      target: bytesToIpv6(bytes, icmp + 8),
      targetLinkLayerAddress: tlla,
      checksum,
    },
  };
}

/**
 * One's-complement sum (folded to 16 bits) of the IPv6 pseudo-header and `plen` bytes of ICMPv6 at
 * offset 40 of an IPv6 packet, checksum field included as it stands.
 */
function icmpv6Sum(pkt: Uint8Array, plen: number): number {
  let sum = 0;
  for (let i = 8; i < 40; i += 2) sum += u16(pkt, i); // source + destination
  sum += (plen >>> 16) + (plen & 0xffff) + ICMPV6;
  const end = IPV6_HEADER + plen;
  let i = IPV6_HEADER;
  for (; i + 1 < end; i += 2) sum += u16(pkt, i);
  if (i < end) sum += (pkt[i] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

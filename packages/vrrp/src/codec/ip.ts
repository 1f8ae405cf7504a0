/**
 * Whole IPv4/IPv6 packets carrying VRRP: the layer the vectors, pcaps and IPv4 raw
 * sockets (which deliver the IP header) work at.
 */

import {
  checksumAdd,
  checksumFinish,
  checksumVerifies,
  formatIpv4,
  formatIpv6,
  ok,
  type Result,
} from '@proxyha/common';
import { drop, invalidArgument, type VrrpError } from './errors';
import {
  IPSEC_AH_PROTOCOL,
  VRRP_MULTICAST_IPV4,
  VRRP_MULTICAST_IPV6,
  VRRP_PROTOCOL,
  VRRP_TOS_CS6,
  VRRP_TTL,
  type VrrpAdvert,
} from './types';
import {
  badTtl,
  decoded,
  decodeMessage,
  encodeAddress,
  planChecksum,
  type VrrpDecoded,
  type VrrpDecodeOptions,
  type VrrpEncodeOptions,
  vrrpMessageLength,
  writeVrrp,
} from './vrrp';

/** The IPv4 header of a received VRRP packet, as on the wire. */
export interface VrrpIpv4Header {
  /** IP version. */
  readonly version: 4;
  /** Header length in bytes (20 without options). */
  readonly headerLength: number;
  /** TOS / DS field byte (DSCP << 2 | ECN); keepalived and FRR send 0xc0. */
  readonly tos: number;
  /** Total length in bytes. */
  readonly totalLength: number;
  /** Identification. */
  readonly id: number;
  /** Don't Fragment flag (FRR sets it, keepalived does not). */
  readonly dontFragment: boolean;
  /** TTL (always 255 once decoded, unless the TTL check was disabled). */
  readonly ttl: number;
  /** Protocol (always 112 once decoded). */
  readonly protocol: number;
  /** Header checksum as received. */
  readonly checksum: number;
  /** Source address. */
  readonly source: string;
  /** Destination address. */
  readonly destination: string;
}

/** The IPv6 header of a received VRRP packet, as on the wire. */
export interface VrrpIpv6Header {
  /** IP version. */
  readonly version: 6;
  /** Traffic class byte; keepalived and FRR send 0xc0. */
  readonly trafficClass: number;
  /** Flow label (20 bits); keepalived sends a non-zero one. */
  readonly flowLabel: number;
  /** Payload length in bytes. */
  readonly payloadLength: number;
  /** Next header (always 112 once decoded). */
  readonly nextHeader: number;
  /** Hop limit (always 255 once decoded, unless the TTL check was disabled). */
  readonly hopLimit: number;
  /** Source address, RFC 5952 text. */
  readonly source: string;
  /** Destination address, RFC 5952 text. */
  readonly destination: string;
}

/** A decoded VRRP packet with its IP header. */
export interface VrrpIpDecoded extends VrrpDecoded {
  /** The IP header. */
  readonly ip: VrrpIpv4Header | VrrpIpv6Header;
  /** TTL / hop limit from the header. */
  readonly ttl: number;
}

/** Options for {@link decodeVrrpIpPacket}. */
export interface VrrpIpDecodeOptions extends VrrpDecodeOptions {
  /**
   * Require TTL / hop limit 255 (RFC 3768 §7.1, RFC 5798 §7.1); default true. keepalived
   * skips this check for unicast peers, which may be routed.
   */
  readonly checkTtl?: boolean;
}

/**
 * IP header fields for {@link encodeVrrpIpPacket}. Defaults give what keepalived sends.
 * The field names match {@link VrrpIpv4Header} and {@link VrrpIpv6Header}, so a decoded
 * packet re-encodes byte for byte with `encodeVrrpIpPacket(d.advert, { ...d.ip, checksumMode: d.checksumMode })`.
 */
export interface VrrpIpEncodeOptions extends VrrpEncodeOptions {
  /** Source address (required). */
  readonly source: string;
  /** IPv4 TOS byte; default 0xc0 (DSCP CS6). */
  readonly tos?: number;
  /** IPv4 identification; default 0 (a kernel with IP_HDRINCL fills in an id for 0). */
  readonly id?: number;
  /** IPv4 Don't Fragment flag; default false. */
  readonly dontFragment?: boolean;
  /** IPv4 TTL; default 255. */
  readonly ttl?: number;
  /** IPv6 traffic class; default 0xc0. */
  readonly trafficClass?: number;
  /** IPv6 flow label; default 0. */
  readonly flowLabel?: number;
  /** IPv6 hop limit; default 255. */
  readonly hopLimit?: number;
}

function field(value: number | undefined, fallback: number, name: string, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 0 || v > max) invalidArgument(name, `must be 0..${max}, got ${v}`);
  return v;
}

/**
 * Encodes an advertisement as a whole IPv4 or IPv6 packet (header included, checksums
 * filled in). Useful for tests, simulations, pcaps and packet sockets; a raw socket
 * without IP_HDRINCL sends just {@link encodeVrrp}'s payload.
 *
 * @param advert - the advertisement (its `family` selects IPv4 or IPv6)
 * @param options - header fields; `destination` defaults to the VRRP multicast group
 * @returns the packet bytes
 * @throws {@link VrrpError} `VRRP_INVALID_ARGUMENT` on invalid input
 */
export function encodeVrrpIpPacket(advert: VrrpAdvert, options: VrrpIpEncodeOptions): Uint8Array {
  const family = advert.family;
  if (family !== 'ipv4' && family !== 'ipv6') {
    invalidArgument('family', `must be 'ipv4' or 'ipv6', got ${String(family)}`);
  }
  const destination = options.destination ?? (family === 'ipv4' ? VRRP_MULTICAST_IPV4 : VRRP_MULTICAST_IPV6);
  const src = encodeAddress(family, options.source, 'source');
  const dst = encodeAddress(family, destination, 'destination');
  const plan = planChecksum(advert, {
    source: options.source,
    destination,
    checksumMode: options.checksumMode,
    multicastGroup: options.multicastGroup,
  });
  const msgLen = vrrpMessageLength(advert);
  if (family === 'ipv4') {
    const tos = field(options.tos, VRRP_TOS_CS6, 'tos', 0xff);
    const id = field(options.id, 0, 'id', 0xffff);
    const ttl = field(options.ttl, VRRP_TTL, 'ttl', 0xff);
    const out = new Uint8Array(20 + msgLen);
    out[0] = 0x45;
    out[1] = tos;
    out[2] = (20 + msgLen) >> 8;
    out[3] = (20 + msgLen) & 0xff;
    out[4] = id >> 8;
    out[5] = id & 0xff;
    out[6] = options.dontFragment ? 0x40 : 0;
    out[7] = 0;
    out[8] = ttl;
    out[9] = VRRP_PROTOCOL;
    for (let i = 0; i < 4; i++) {
      out[12 + i] = src[i]!;
      out[16 + i] = dst[i]!;
    }
    const ck = checksumFinish(checksumAdd(out, 0, 20, 0));
    out[10] = ck >> 8;
    out[11] = ck & 0xff;
    writeVrrp(advert, plan, out, 20);
    return out;
  }
  const tc = field(options.trafficClass, VRRP_TOS_CS6, 'trafficClass', 0xff);
  const flow = field(options.flowLabel, 0, 'flowLabel', 0xfffff);
  const hop = field(options.hopLimit, VRRP_TTL, 'hopLimit', 0xff);
  const out = new Uint8Array(40 + msgLen);
  out[0] = 0x60 | (tc >> 4);
  out[1] = ((tc & 0x0f) << 4) | (flow >> 16);
  out[2] = (flow >> 8) & 0xff;
  out[3] = flow & 0xff;
  out[4] = msgLen >> 8;
  out[5] = msgLen & 0xff;
  out[6] = VRRP_PROTOCOL;
  out[7] = hop;
  for (let i = 0; i < 16; i++) {
    out[8 + i] = src[i]!;
    out[24 + i] = dst[i]!;
  }
  writeVrrp(advert, plan, out, 40);
  return out;
}

function decodeIpv4(buf: Uint8Array, options: VrrpIpDecodeOptions): Result<VrrpIpDecoded, VrrpError> {
  const n = buf.length;
  if (n < 20) {
    return drop('VRRP_BAD_IP_HEADER', `${n} bytes is shorter than an IPv4 header`, {
      field: 'length',
      actual: n,
    });
  }
  const ihl = (buf[0]! & 0x0f) * 4;
  if (ihl < 20 || ihl > n) {
    return drop('VRRP_BAD_IP_HEADER', `IPv4 header length ${ihl} (packet ${n} bytes)`, {
      field: 'headerLength',
      actual: ihl,
    });
  }
  const totalLength = (buf[2]! << 8) | buf[3]!;
  if (totalLength < ihl || totalLength > n) {
    return drop('VRRP_BAD_IP_HEADER', `IPv4 total length ${totalLength}, but ${n} bytes received`, {
      field: 'totalLength',
      actual: totalLength,
      expected: n,
    });
  }
  const flagsFrag = (buf[6]! << 8) | buf[7]!;
  if ((flagsFrag & 0x3fff) !== 0) {
    return drop('VRRP_BAD_IP_HEADER', 'IPv4 fragment (VRRP is never fragmented)', {
      field: 'fragment',
      actual: flagsFrag,
    });
  }
  if ((flagsFrag & 0x8000) !== 0) {
    // RFC 791: the first flag bit is reserved and must be zero
    return drop('VRRP_BAD_IP_HEADER', 'IPv4 reserved flag bit set', { field: 'flags', actual: flagsFrag });
  }
  const checksum = (buf[10]! << 8) | buf[11]!;
  if (!checksumVerifies(checksumAdd(buf, 0, ihl, 0))) {
    return drop(
      'VRRP_BAD_IP_CHECKSUM',
      `IPv4 header checksum 0x${checksum.toString(16).padStart(4, '0')} is wrong`,
      {
        field: 'ipChecksum',
        actual: checksum,
      },
    );
  }
  const protocol = buf[9]!;
  if (protocol === IPSEC_AH_PROTOCOL) {
    return drop('VRRP_AUTH_AH_UNSUPPORTED', 'IPsec AH (VRRPv2 authentication type 2) is not supported', {
      field: 'protocol',
      actual: protocol,
    });
  }
  if (protocol !== VRRP_PROTOCOL) {
    return drop('VRRP_BAD_PROTOCOL', `IP protocol ${protocol}, expected 112`, {
      field: 'protocol',
      actual: protocol,
      expected: VRRP_PROTOCOL,
    });
  }
  const ttl = buf[8]!;
  if (options.checkTtl !== false && ttl !== VRRP_TTL) return badTtl('ipv4', ttl);
  const r = decodeMessage(buf, ihl, totalLength - ihl, 'ipv4', buf, 12, buf, 16, options);
  if (!r.ok) return r;
  const source = formatIpv4(buf, 12);
  const destination = formatIpv4(buf, 16);
  return ok({
    ...decoded(r.value, source, destination, ttl),
    ttl,
    ip: {
      version: 4,
      headerLength: ihl,
      tos: buf[1]!,
      totalLength,
      id: (buf[4]! << 8) | buf[5]!,
      dontFragment: (flagsFrag & 0x4000) !== 0,
      ttl,
      protocol,
      checksum,
      source,
      destination,
    },
  });
}

function decodeIpv6(buf: Uint8Array, options: VrrpIpDecodeOptions): Result<VrrpIpDecoded, VrrpError> {
  const n = buf.length;
  if (n < 40) {
    return drop('VRRP_BAD_IP_HEADER', `${n} bytes is shorter than an IPv6 header`, {
      field: 'length',
      actual: n,
    });
  }
  const payloadLength = (buf[4]! << 8) | buf[5]!;
  if (40 + payloadLength > n) {
    return drop('VRRP_BAD_IP_HEADER', `IPv6 payload length ${payloadLength}, but ${n - 40} bytes received`, {
      field: 'payloadLength',
      actual: payloadLength,
      expected: n - 40,
    });
  }
  const nextHeader = buf[6]!;
  if (nextHeader !== VRRP_PROTOCOL) {
    return drop('VRRP_BAD_PROTOCOL', `IPv6 next header ${nextHeader}, expected 112`, {
      field: 'nextHeader',
      actual: nextHeader,
      expected: VRRP_PROTOCOL,
    });
  }
  const hopLimit = buf[7]!;
  if (options.checkTtl !== false && hopLimit !== VRRP_TTL) return badTtl('ipv6', hopLimit);
  const r = decodeMessage(buf, 40, payloadLength, 'ipv6', buf, 8, buf, 24, options);
  if (!r.ok) return r;
  const source = formatIpv6(buf, 8);
  const destination = formatIpv6(buf, 24);
  return ok({
    ...decoded(r.value, source, destination, hopLimit),
    ttl: hopLimit,
    ip: {
      version: 6,
      trafficClass: ((buf[0]! & 0x0f) << 4) | (buf[1]! >> 4),
      flowLabel: ((buf[1]! & 0x0f) << 16) | (buf[2]! << 8) | buf[3]!,
      payloadLength,
      nextHeader,
      hopLimit,
      source,
      destination,
    },
  });
}

/**
 * Decodes a whole IPv4 or IPv6 packet carrying VRRP, starting at the IP header (what an
 * IPv4 raw socket delivers, and the vectors' `layer: "ip"`). Checks the IP header
 * (version, lengths, no fragment, IPv4 header checksum, protocol 112, TTL 255), then the
 * VRRP message as {@link decodeVrrp} does. Bytes after the IP total / payload length
 * (link-layer padding) are ignored. IPv6 extension headers are not followed
 * (`VRRP_BAD_PROTOCOL`).
 *
 * Never throws: any input yields a `Result` (check `ok`).
 *
 * @param packet - the bytes from the IP header on
 * @param options - TTL check and accepted v3-over-IPv4 checksum forms
 * @returns the advert with its IP header, or the typed reason to drop it
 */
export function decodeVrrpIpPacket(
  packet: Uint8Array,
  options: VrrpIpDecodeOptions = {},
): Result<VrrpIpDecoded, VrrpError> {
  try {
    if (!(packet instanceof Uint8Array)) return drop('VRRP_BAD_CONTEXT', 'packet is not a Uint8Array');
    if (packet.length < 1) return drop('VRRP_BAD_IP_HEADER', 'empty packet', { field: 'length', actual: 0 });
    const version = packet[0]! >> 4;
    if (version === 4) return decodeIpv4(packet, options);
    if (version === 6) return decodeIpv6(packet, options);
    return drop('VRRP_BAD_IP_HEADER', `IP version ${version}`, { field: 'ipVersion', actual: version });
  } catch (e) {
    /* Unreachable by design (property-tested); keeps the never-throws contract even so. */
    return drop('VRRP_BAD_CONTEXT', `unexpected decoder failure: ${String(e)}`);
  }
}

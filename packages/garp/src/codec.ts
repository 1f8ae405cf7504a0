// Wire codecs: Ethernet II framing, ARP (RFC 826) for Ethernet/IPv4, and the IPv6 Neighbor Advertisement
// (RFC 4861 section 4.4) with its IPv6 header and ICMPv6 checksum. Decoders return DecodeResult and never
// throw; encoders throw GarpError on invalid input.
import { bytesToIpv4, bytesToIpv6, bytesToMac, ipv4ToBytes, ipv6ToBytes, macToBytes } from './addr';
import { type DecodeResult, fail, GarpError } from './errors';

/** Ethernet type of ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** Ethernet type of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
/** The Ethernet broadcast address, also the target hardware address of a gratuitous ARP request. */
export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
/** The IPv6 all-nodes multicast address, destination of unsolicited neighbour advertisements. */
export const ALL_NODES_IPV6 = 'ff02::1';
/** The Ethernet address IPv6 multicast to ff02::1 maps to (RFC 2464 section 7). */
export const ALL_NODES_MAC = '33:33:00:00:00:01';

const ETH_HEADER = 14;
const MIN_FRAME = 60; // without FCS: shorter frames are padded up to this on the wire
const ARP_LEN = 28;
const IPV6_HEADER = 40;
const NA_MIN = 24; // ICMPv6 header (4) + flags/reserved (4) + target (16)
const ICMPV6 = 58;
const ICMPV6_NA = 136;

/** Ethernet II header fields. */
export interface EthernetHeader {
  /** Destination MAC address, lower-case `aa:bb:cc:dd:ee:ff`. */
  readonly dst: string;
  /** Source MAC address. */
  readonly src: string;
}

/** A decoded Ethernet II frame: addresses, type and the bytes after the 14-byte header. */
export interface EthernetFrame extends EthernetHeader {
  /** Ethernet type (0x0806 ARP, 0x86dd IPv6, ...). */
  readonly etherType: number;
  /** Bytes after the header, including any padding up to the 60-byte minimum. */
  readonly payload: Uint8Array;
}

/** ARP operation: `request` (ar$op 1) or `reply` (ar$op 2). */
export type ArpOperation = 'request' | 'reply';

/** An ARP packet for Ethernet hardware and IPv4 (RFC 826: htype 1, ptype 0x0800, hlen 6, plen 4). */
export interface ArpPacket {
  /** Request or reply. */
  readonly operation: ArpOperation;
  /** Sender hardware address (ar$sha). */
  readonly senderMac: string;
  /** Sender protocol address (ar$spa). */
  readonly senderIp: string;
  /** Target hardware address (ar$tha). */
  readonly targetMac: string;
  /** Target protocol address (ar$tpa). */
  readonly targetIp: string;
}

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

/** A complete Ethernet frame carrying either an ARP packet or an IPv6 Neighbor Advertisement. */
export type GarpFrame =
  | {
      /** ARP inside (Ethernet type 0x0806). */
      readonly kind: 'arp';
      /** Ethernet addresses. */
      readonly ethernet: EthernetHeader;
      /** The ARP packet. */
      readonly arp: ArpPacket;
    }
  | {
      /** IPv6 Neighbor Advertisement inside (Ethernet type 0x86dd). */
      readonly kind: 'na';
      /** Ethernet addresses. */
      readonly ethernet: EthernetHeader;
      /** The advertisement with its IPv6 header fields. */
      readonly na: NeighborAdvertisement;
    };

/** Input of {@link encodeFrame}: a {@link GarpFrame} whose advertisement may leave defaults out. */
export type GarpFrameInit =
  | {
      /** ARP inside (Ethernet type 0x0806). */
      readonly kind: 'arp';
      /** Ethernet addresses. */
      readonly ethernet: EthernetHeader;
      /** The ARP packet. */
      readonly arp: ArpPacket;
    }
  | {
      /** IPv6 Neighbor Advertisement inside (Ethernet type 0x86dd). */
      readonly kind: 'na';
      /** Ethernet addresses. */
      readonly ethernet: EthernetHeader;
      /** The advertisement; the checksum is computed and other fields have defaults. */
      readonly na: NeighborAdvertisementInit;
    };

// ---------------------------------------------------------------------------------------------------------
// Ethernet

/**
 * Encodes an Ethernet II frame (no FCS, no padding: the kernel pads short frames on real NICs).
 *
 * @param header - destination and source MAC
 * @param etherType - Ethernet type, 0x0600..0xffff
 * @param payload - bytes after the header
 * @throws GarpError `GARP_BAD_MAC`, `GARP_BAD_FIELD`
 */
export function encodeEthernet(header: EthernetHeader, etherType: number, payload: Uint8Array): Uint8Array {
  checkInt('etherType', etherType, 0x0600, 0xffff);
  const out = new Uint8Array(ETH_HEADER + payload.length);
  out.set(macToBytes(header.dst, 'ethernet.dst'), 0);
  out.set(macToBytes(header.src, 'ethernet.src'), 6);
  out[12] = etherType >> 8;
  out[13] = etherType & 0xff;
  out.set(payload, ETH_HEADER);
  return out;
}

/**
 * Decodes an Ethernet II header. VLAN tags are not interpreted (the type would be 0x8100).
 *
 * @param bytes - a frame without FCS
 * @returns the frame, or `GARP_TRUNCATED` / `GARP_BAD_ETHERTYPE` (an 802.3 length field, below 0x0600)
 */
export function decodeEthernet(bytes: Uint8Array): DecodeResult<EthernetFrame> {
  if (!(bytes instanceof Uint8Array)) return fail('GARP_TRUNCATED', 'ethernet: input is not a byte array', 0);
  if (bytes.length < ETH_HEADER)
    return fail('GARP_TRUNCATED', `ethernet: ${bytes.length} bytes, header needs ${ETH_HEADER}`, 0);
  const etherType = ((bytes[12] as number) << 8) | (bytes[13] as number);
  if (etherType < 0x0600)
    return fail(
      'GARP_BAD_ETHERTYPE',
      `ethernet.type: 0x${hex4(etherType)} is an 802.3 length, not a type`,
      12,
    );
  return {
    ok: true,
    value: {
      dst: bytesToMac(bytes, 0),
      src: bytesToMac(bytes, 6),
      etherType,
      payload: bytes.subarray(ETH_HEADER),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// ARP

/**
 * Encodes a 28-byte ARP packet for Ethernet/IPv4.
 *
 * @throws GarpError `GARP_BAD_MAC`, `GARP_BAD_IPV4`, `GARP_BAD_OPCODE`
 */
export function encodeArp(p: ArpPacket): Uint8Array {
  if (p.operation !== 'request' && p.operation !== 'reply')
    throw new GarpError(
      'GARP_BAD_OPCODE',
      `arp.operation: must be request or reply (got ${String(p.operation)})`,
    );
  const out = new Uint8Array(ARP_LEN);
  out[1] = 1; // htype Ethernet
  out[2] = 0x08; // ptype IPv4
  out[4] = 6;
  out[5] = 4;
  out[7] = p.operation === 'request' ? 1 : 2;
  out.set(macToBytes(p.senderMac, 'arp.senderMac'), 8);
  out.set(ipv4ToBytes(p.senderIp, 'arp.senderIp'), 14);
  out.set(macToBytes(p.targetMac, 'arp.targetMac'), 18);
  out.set(ipv4ToBytes(p.targetIp, 'arp.targetIp'), 24);
  return out;
}

/**
 * Decodes an ARP packet; only Ethernet/IPv4 ARP is accepted.
 *
 * @param bytes - exactly the 28 ARP bytes (strip Ethernet padding first, as {@link decodeFrame} does)
 */
export function decodeArp(bytes: Uint8Array): DecodeResult<ArpPacket> {
  if (!(bytes instanceof Uint8Array)) return fail('GARP_TRUNCATED', 'arp: input is not a byte array', 0);
  if (bytes.length < ARP_LEN) return fail('GARP_TRUNCATED', `arp: ${bytes.length} bytes, need ${ARP_LEN}`, 0);
  if (bytes.length > ARP_LEN)
    return fail('GARP_TRAILING_BYTES', `arp: ${bytes.length - ARP_LEN} bytes after the packet`, ARP_LEN);
  const htype = u16(bytes, 0);
  const ptype = u16(bytes, 2);
  if (htype !== 1)
    return fail('GARP_BAD_HARDWARE', `arp.hw.type: ${htype}, only Ethernet (1) is supported`, 0);
  if (ptype !== 0x0800)
    return fail('GARP_BAD_PROTOCOL', `arp.proto.type: 0x${hex4(ptype)}, only IPv4 (0x0800) is supported`, 2);
  if (bytes[4] !== 6) return fail('GARP_BAD_HARDWARE', `arp.hw.size: ${bytes[4]}, Ethernet needs 6`, 4);
  if (bytes[5] !== 4) return fail('GARP_BAD_PROTOCOL', `arp.proto.size: ${bytes[5]}, IPv4 needs 4`, 5);
  const op = u16(bytes, 6);
  if (op !== 1 && op !== 2)
    return fail('GARP_BAD_OPCODE', `arp.opcode: ${op}, only request (1) and reply (2) are supported`, 6);
  return {
    ok: true,
    value: {
      operation: op === 1 ? 'request' : 'reply',
      senderMac: bytesToMac(bytes, 8),
      senderIp: bytesToIpv4(bytes, 14),
      targetMac: bytesToMac(bytes, 18),
      targetIp: bytesToIpv4(bytes, 24),
    },
  };
}

/**
 * Whether an ARP packet is gratuitous in the sense Wireshark and the Linux kernel use: sender and target
 * protocol address are the same, and for a reply the target hardware address is the sender's too.
 */
export function isGratuitousArp(p: ArpPacket): boolean {
  if (p.senderIp !== p.targetIp) return false;
  return p.operation === 'request' || p.targetMac.toLowerCase() === p.senderMac.toLowerCase();
}

// ---------------------------------------------------------------------------------------------------------
// IPv6 Neighbor Advertisement

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

// ---------------------------------------------------------------------------------------------------------
// Whole frames

/**
 * Encodes a whole Ethernet frame with an ARP packet or a Neighbor Advertisement inside.
 *
 * @throws GarpError for invalid addresses or fields
 */
export function encodeFrame(frame: GarpFrameInit): Uint8Array {
  if (frame.kind === 'arp') return encodeEthernet(frame.ethernet, ETHERTYPE_ARP, encodeArp(frame.arp));
  if (frame.kind === 'na')
    return encodeEthernet(frame.ethernet, ETHERTYPE_IPV6, encodeNeighborAdvertisement(frame.na));
  throw new GarpError(
    'GARP_BAD_FIELD',
    `frame.kind: must be arp or na (got ${String((frame as { kind: unknown }).kind)})`,
  );
}

/**
 * Decodes a whole Ethernet frame (no FCS) carrying ARP or an IPv6 Neighbor Advertisement. Frames up to
 * the 60-byte Ethernet minimum may carry padding after the packet; longer frames must end with it.
 * Never throws: any input gives a value or a {@link GarpError} with a stable code, whose `offset` counts
 * from the start of the frame.
 */
export function decodeFrame(bytes: Uint8Array): DecodeResult<GarpFrame> {
  const eth = decodeEthernet(bytes);
  if (!eth.ok) return eth;
  const { dst, src, etherType, payload } = eth.value;
  const padded = bytes.length <= MIN_FRAME;
  if (etherType === ETHERTYPE_ARP) {
    const body = padded && payload.length > ARP_LEN ? payload.subarray(0, ARP_LEN) : payload;
    const arp = decodeArp(body);
    if (!arp.ok) return shifted(arp.error);
    return { ok: true, value: { kind: 'arp', ethernet: { dst, src }, arp: arp.value } };
  }
  if (etherType === ETHERTYPE_IPV6) {
    let body = payload;
    if (padded && payload.length >= IPV6_HEADER) {
      const end = IPV6_HEADER + u16(payload, 4);
      if (end < payload.length) body = payload.subarray(0, end);
    }
    const na = decodeNeighborAdvertisement(body);
    if (!na.ok) return shifted(na.error);
    return { ok: true, value: { kind: 'na', ethernet: { dst, src }, na: na.value } };
  }
  return fail('GARP_BAD_ETHERTYPE', `ethernet.type: 0x${hex4(etherType)}, expected ARP or IPv6`, 12);
}

// ---------------------------------------------------------------------------------------------------------
// helpers

function shifted(e: GarpError): { ok: false; error: GarpError } {
  return {
    ok: false,
    error: new GarpError(e.code, e.message, e.offset === undefined ? {} : { offset: e.offset + ETH_HEADER }),
  };
}

function u16(b: Uint8Array, o: number): number {
  return ((b[o] as number) << 8) | (b[o + 1] as number);
}

function u32(b: Uint8Array, o: number): number {
  return (
    (((b[o] as number) << 24) |
      ((b[o + 1] as number) << 16) |
      ((b[o + 2] as number) << 8) |
      (b[o + 3] as number)) >>>
    0
  );
}

function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}

function checkInt(field: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new GarpError('GARP_BAD_FIELD', `${field}: must be an integer ${min}..${max} (got ${String(v)})`);
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

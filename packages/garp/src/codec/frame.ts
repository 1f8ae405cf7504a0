// Whole Ethernet frames carrying ARP or an IPv6 Neighbor Advertisement. Decoders return a Result and
// never throw; encoders throw GarpError on invalid input.
import { describeValue, ok, type Result } from '@proxyha/common';
import { decodeError, fieldError, type GarpDecodeDetails, type GarpError } from '../errors';
import { ARP_LEN, type ArpPacket, decodeArp, encodeArp } from './arp';
import { hex4, u16 } from './bytes';
import {
  decodeEthernet,
  ETH_HEADER,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV6,
  type EthernetHeader,
  encodeEthernet,
  MIN_FRAME,
} from './ethernet';
import {
  decodeNeighborAdvertisement,
  encodeNeighborAdvertisement,
  IPV6_HEADER,
  type NeighborAdvertisement,
  type NeighborAdvertisementInit,
} from './neighbor';

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

/**
 * Encodes a whole Ethernet frame with an ARP packet or a Neighbor Advertisement inside.
 *
 * @throws GarpError for invalid addresses or fields
 */
export function encodeFrame(frame: GarpFrameInit): Uint8Array {
  if (frame.kind === 'arp') return encodeEthernet(frame.ethernet, ETHERTYPE_ARP, encodeArp(frame.arp));
  if (frame.kind === 'na')
    return encodeEthernet(frame.ethernet, ETHERTYPE_IPV6, encodeNeighborAdvertisement(frame.na));
  throw fieldError(
    'GARP_INVALID_ARGUMENT',
    'frame.kind',
    `must be arp or na (got ${describeValue((frame as { kind: unknown }).kind)})`,
  );
}

/**
 * Decodes a whole Ethernet frame (no FCS) carrying ARP or an IPv6 Neighbor Advertisement. Frames up to
 * the 60-byte Ethernet minimum may carry padding after the packet; longer frames must end with it.
 * Never throws: any input gives a value or a {@link GarpError} with a stable code, whose `details.offset`
 * counts from the start of the frame.
 */
export function decodeFrame(bytes: Uint8Array): Result<GarpFrame, GarpError<GarpDecodeDetails>> {
  const eth = decodeEthernet(bytes);
  if (!eth.ok) return eth;
  const { dst, src, etherType, payload } = eth.value;
  const padded = bytes.length <= MIN_FRAME;
  if (etherType === ETHERTYPE_ARP) {
    const body = padded && payload.length > ARP_LEN ? payload.subarray(0, ARP_LEN) : payload;
    const arp = decodeArp(body);
    if (!arp.ok) return shifted(arp.error);
    return ok({ kind: 'arp', ethernet: { dst, src }, arp: arp.value });
  }
  if (etherType === ETHERTYPE_IPV6) {
    let body = payload;
    if (padded && payload.length >= IPV6_HEADER) {
      const end = IPV6_HEADER + u16(payload, 4);
      if (end < payload.length) body = payload.subarray(0, end);
    }
    const na = decodeNeighborAdvertisement(body);
    if (!na.ok) return shifted(na.error);
    return ok({ kind: 'na', ethernet: { dst, src }, na: na.value });
  }
  return decodeError('GARP_BAD_ETHERTYPE', `ethernet.type: 0x${hex4(etherType)}, expected ARP or IPv6`, 12);
}

/** A decode error of the packet inside, with its offset counted from the start of the frame. */
function shifted(e: GarpError<GarpDecodeDetails>) {
  return decodeError(e.code, e.message, e.details.offset + ETH_HEADER);
}

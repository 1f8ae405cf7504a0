// Ethernet II framing (no VLAN tags, no FCS).
import { formatMac, ok, type Result } from '@proxyha/common';
import { decodeError, type GarpDecodeDetails, type GarpError } from '../errors';
import { putMac } from './address';
import { checkInt, hex4 } from './bytes';

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

/** Length of an Ethernet II header. */
export const ETH_HEADER = 14;
/** Minimum Ethernet frame length without FCS: shorter frames are padded up to this on the wire. */
export const MIN_FRAME = 60;

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

/**
 * Encodes an Ethernet II frame (no FCS, no padding: the kernel pads short frames on real NICs).
 *
 * @param header - destination and source MAC
 * @param etherType - Ethernet type, 0x0600..0xffff
 * @param payload - bytes after the header
 * @throws GarpError `GARP_BAD_MAC`, `GARP_INVALID_ARGUMENT`
 */
export function encodeEthernet(header: EthernetHeader, etherType: number, payload: Uint8Array): Uint8Array {
  checkInt('etherType', etherType, 0x0600, 0xffff);
  const out = new Uint8Array(ETH_HEADER + payload.length);
  putMac(header.dst, out, 0, 'ethernet.dst');
  putMac(header.src, out, 6, 'ethernet.src');
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
export function decodeEthernet(bytes: Uint8Array): Result<EthernetFrame, GarpError<GarpDecodeDetails>> {
  if (!(bytes instanceof Uint8Array))
    return decodeError('GARP_TRUNCATED', 'ethernet: input is not a byte array', 0);
  if (bytes.length < ETH_HEADER)
    return decodeError('GARP_TRUNCATED', `ethernet: ${bytes.length} bytes, header needs ${ETH_HEADER}`, 0);
  const etherType = ((bytes[12] as number) << 8) | (bytes[13] as number);
  if (etherType < 0x0600)
    return decodeError(
      'GARP_BAD_ETHERTYPE',
      `ethernet.type: 0x${hex4(etherType)} is an 802.3 length, not a type`,
      12,
    );
  return ok({
    dst: formatMac(bytes, 0),
    src: formatMac(bytes, 6),
    etherType,
    payload: bytes.subarray(ETH_HEADER),
  });
}

// ARP (RFC 826) for Ethernet hardware and IPv4.

import { describeValue, formatIpv4, formatMac, ok, type Result } from '@proxyha/common';
import { decodeError, fieldError, type GarpDecodeDetails, type GarpError } from '../errors';
import { putIpv4, putMac } from './address';
import { hex4, u16 } from './bytes';

/** Length of an ARP packet for Ethernet/IPv4. */
export const ARP_LEN = 28;

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
 * Encodes a 28-byte ARP packet for Ethernet/IPv4.
 *
 * @throws GarpError `GARP_BAD_MAC`, `GARP_BAD_IPV4`, `GARP_BAD_OPCODE`
 */
export function encodeArp(p: ArpPacket): Uint8Array {
  if (p.operation !== 'request' && p.operation !== 'reply')
    throw fieldError(
      'GARP_BAD_OPCODE',
      'arp.operation',
      `must be request or reply (got ${describeValue(p.operation)})`,
    );
  const out = new Uint8Array(ARP_LEN);
  out[1] = 1; // htype Ethernet
  out[2] = 0x08; // ptype IPv4
  out[4] = 6;
  out[5] = 4;
  out[7] = p.operation === 'request' ? 1 : 2;
  putMac(p.senderMac, out, 8, 'arp.senderMac');
  putIpv4(p.senderIp, out, 14, 'arp.senderIp');
  putMac(p.targetMac, out, 18, 'arp.targetMac');
  putIpv4(p.targetIp, out, 24, 'arp.targetIp');
  return out;
}

/**
 * Decodes an ARP packet; only Ethernet/IPv4 ARP is accepted.
 *
 * @param bytes - exactly the 28 ARP bytes (strip Ethernet padding first, as {@link decodeFrame} does)
 */
export function decodeArp(bytes: Uint8Array): Result<ArpPacket, GarpError<GarpDecodeDetails>> {
  if (!(bytes instanceof Uint8Array))
    return decodeError('GARP_TRUNCATED', 'arp: input is not a byte array', 0);
  if (bytes.length < ARP_LEN)
    return decodeError('GARP_TRUNCATED', `arp: ${bytes.length} bytes, need ${ARP_LEN}`, 0);
  if (bytes.length > ARP_LEN)
    return decodeError(
      'GARP_TRAILING_BYTES',
      `arp: ${bytes.length - ARP_LEN} bytes after the packet`,
      ARP_LEN,
    );
  const htype = u16(bytes, 0);
  const ptype = u16(bytes, 2);
  if (htype !== 1)
    return decodeError('GARP_BAD_HARDWARE', `arp.hw.type: ${htype}, only Ethernet (1) is supported`, 0);
  if (ptype !== 0x0800)
    return decodeError(
      'GARP_BAD_PROTOCOL',
      `arp.proto.type: 0x${hex4(ptype)}, only IPv4 (0x0800) is supported`,
      2,
    );
  if (bytes[4] !== 6)
    return decodeError('GARP_BAD_HARDWARE', `arp.hw.size: ${bytes[4]}, Ethernet needs 6`, 4);
  if (bytes[5] !== 4) return decodeError('GARP_BAD_PROTOCOL', `arp.proto.size: ${bytes[5]}, IPv4 needs 4`, 5);
  const op = u16(bytes, 6);
  if (op !== 1 && op !== 2)
    return decodeError(
      'GARP_BAD_OPCODE',
      `arp.opcode: ${op}, only request (1) and reply (2) are supported`,
      6,
    );
  return ok({
    operation: op === 1 ? 'request' : 'reply',
    senderMac: formatMac(bytes, 8),
    senderIp: formatIpv4(bytes, 14),
    targetMac: formatMac(bytes, 18),
    targetIp: formatIpv4(bytes, 24),
  });
}

/**
 * Whether an ARP packet is gratuitous in the sense Wireshark and the Linux kernel use: sender and target
 * protocol address are the same, and for a reply the target hardware address is the sender's too.
 */
export function isGratuitousArp(p: ArpPacket): boolean {
  if (p.senderIp !== p.targetIp) return false;
  return p.operation === 'request' || p.targetMac.toLowerCase() === p.senderMac.toLowerCase();
}

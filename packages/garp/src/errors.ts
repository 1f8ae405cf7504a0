// The error catalogue and the error class of @proxyha/garp.
import { type ConfigIssue, defineErrors, err, formatIssues, ProxyhaError } from '@proxyha/common';

/**
 * Every error code `@proxyha/garp` raises or returns, with what it means. Decoders return the decode codes
 * (`GARP_TRUNCATED` ... `GARP_BAD_OPTION`) in a `Result` with `details.offset`; encoders, the schedule and
 * the drivers throw the others, validation codes with `details.issues`.
 */
export const GARP_ERRORS = defineErrors('GARP', {
  GARP_TRUNCATED: 'fewer bytes than the header or the announced length needs',
  GARP_TRAILING_BYTES: 'bytes follow the packet that cannot be Ethernet padding',
  GARP_BAD_ETHERTYPE:
    'the Ethernet type is an 802.3 length, neither ARP (0x0806) nor IPv6 (0x86dd), or does not match the packet',
  GARP_BAD_HARDWARE: 'the ARP hardware type is not Ethernet (1) or the hardware length is not 6',
  GARP_BAD_PROTOCOL: 'the ARP protocol type is not IPv4 (0x0800) or the protocol length is not 4',
  GARP_BAD_OPCODE: 'the ARP operation is neither request (1) nor reply (2)',
  GARP_BAD_IP_VERSION: "the IPv6 header's version field is not 6",
  GARP_BAD_NEXT_HEADER: 'the IPv6 next header is not ICMPv6 (58); extension headers are not accepted',
  GARP_BAD_ICMP_TYPE: 'the ICMPv6 message is not a Neighbor Advertisement (136)',
  GARP_BAD_ICMP_CODE: 'the ICMPv6 code of a Neighbor Advertisement is not 0 (RFC 4861 §7.1.2)',
  GARP_BAD_HOP_LIMIT:
    'the IPv6 hop limit is not 255, so the advertisement may come from off-link (RFC 4861 §7.1.2)',
  GARP_BAD_CHECKSUM: 'the ICMPv6 checksum over the IPv6 pseudo-header does not verify',
  GARP_BAD_TARGET: "the Neighbor Advertisement's target address is multicast",
  GARP_BAD_FLAGS: 'the Solicited flag is set on a Neighbor Advertisement sent to a multicast address',
  GARP_BAD_OPTION:
    'an NDP option has length 0 or overruns the packet, or a target link-layer address option is not 6 bytes',
  GARP_BAD_MAC: 'a MAC address to encode or announce is not six colon- or dash-separated hex octets',
  GARP_BAD_IPV4: 'an IPv4 address to encode or announce is not a dotted quad',
  GARP_BAD_IPV6: 'an IPv6 address to encode or announce is not valid (zone ids are not accepted)',
  GARP_INVALID_ARGUMENT:
    'an announcement policy or request, a field to encode or a time given to the schedule failed validation',
  GARP_CLOSED: 'a frame was handed to a PacketSocketSender after it was closed',
});

/** A code of {@link GARP_ERRORS}. */
export type GarpErrorCode = keyof typeof GARP_ERRORS;

/**
 * The error class of `@proxyha/garp`: every error it throws or returns is one. Branch on `code` (listed
 * in {@link GARP_ERRORS}, stable across releases); `details` carries the context: {@link GarpDecodeDetails}
 * for decode errors, {@link GarpIssueDetails} for validation errors; the message is for humans and names
 * the offending field and value.
 *
 * @typeParam D - the shape of `details`
 */
export class GarpError<D extends object = Readonly<Record<string, unknown>>> extends ProxyhaError<
  GarpErrorCode,
  D
> {}

/** Details of a decode error. */
export type GarpDecodeDetails = {
  /** Byte offset, from the start of the decoded buffer, where the problem was found. */
  readonly offset: number;
};

/** Details of a validation error (`GARP_INVALID_ARGUMENT`, `GARP_BAD_MAC`, `GARP_BAD_IPV4`, `GARP_BAD_IPV6`). */
export type GarpIssueDetails = {
  /** One entry per problem: where (`repeat`, `ipv4[1]`, `na.hopLimit`) and what, naming the value. */
  readonly issues: readonly ConfigIssue[];
};

/** A failed decode: a cheap error (no stack trace) with the offset. */
export function decodeError(
  code: GarpErrorCode,
  message: string,
  offset: number,
): { readonly ok: false; readonly error: GarpError<GarpDecodeDetails> } {
  return err(new GarpError<GarpDecodeDetails>(code, message, { details: { offset }, stack: false }));
}

/**
 * A validation error about one value: `[what: ]path: message`, with the issue in `details.issues`.
 *
 * @param code - `GARP_INVALID_ARGUMENT` or an address code
 * @param path - where: `ethernet.src`, `ipv4[1]`
 * @param message - what is wrong, naming the value
 * @param what - what was validated, when the path is relative to it (`announcement request`)
 */
export function fieldError(
  code: GarpErrorCode,
  path: string,
  message: string,
  what?: string,
): GarpError<GarpIssueDetails> {
  const text = `${what === undefined ? '' : `${what}: `}${path}: ${message}`;
  return new GarpError<GarpIssueDetails>(code, text, { details: { issues: [{ path, message }] } });
}

/**
 * `GARP_INVALID_ARGUMENT` for an options object or request that failed validation; the message is
 * `formatIssues`' rendering under `what`.
 *
 * @param what - what was validated (`announcement policy`, `announcement request`)
 * @param issues - the problems
 */
export function invalidArgument(what: string, issues: readonly ConfigIssue[]): GarpError<GarpIssueDetails> {
  return new GarpError<GarpIssueDetails>('GARP_INVALID_ARGUMENT', formatIssues(what, issues), {
    details: { issues },
  });
}

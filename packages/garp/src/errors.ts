/**
 * Stable error codes of `@proxyha/garp`.
 *
 * Decoding (returned inside a {@link DecodeResult}, never thrown):
 * - `GARP_TRUNCATED`: fewer bytes than the header or the announced length needs.
 * - `GARP_TRAILING_BYTES`: bytes after the packet that cannot be Ethernet padding.
 * - `GARP_BAD_ETHERTYPE`: the Ethernet type is neither ARP (0x0806) nor IPv6 (0x86dd), or does not
 *   match the packet inside.
 * - `GARP_BAD_HARDWARE`: ARP hardware type is not Ethernet (1) or hardware length is not 6.
 * - `GARP_BAD_PROTOCOL`: ARP protocol type is not IPv4 (0x0800) or protocol length is not 4.
 * - `GARP_BAD_OPCODE`: ARP operation is neither request (1) nor reply (2).
 * - `GARP_BAD_IP_VERSION`: the IPv6 header's version field is not 6.
 * - `GARP_BAD_NEXT_HEADER`: the IPv6 next header is not ICMPv6 (58); extension headers are not accepted.
 * - `GARP_BAD_ICMP_TYPE`: the ICMPv6 message is not a Neighbor Advertisement (136).
 * - `GARP_BAD_ICMP_CODE`: the ICMPv6 code is not 0 (RFC 4861 section 7.1.2).
 * - `GARP_BAD_HOP_LIMIT`: the hop limit is not 255, so the message may come from off-link (RFC 4861 7.1.2).
 * - `GARP_BAD_CHECKSUM`: the ICMPv6 checksum over the IPv6 pseudo-header does not verify.
 * - `GARP_BAD_TARGET`: the Neighbor Advertisement's target address is multicast.
 * - `GARP_BAD_FLAGS`: the Solicited flag is set on an advertisement sent to a multicast address.
 * - `GARP_BAD_OPTION`: an NDP option has length 0, overruns the packet, or a target link-layer
 *   address option is not 6 bytes of Ethernet address.
 *
 * Encoding and configuration (thrown):
 * - `GARP_BAD_MAC`: a MAC address string is not six colon- or dash-separated hex octets.
 * - `GARP_BAD_IPV4`: an IPv4 address string is not dotted-quad.
 * - `GARP_BAD_IPV6`: an IPv6 address string is not valid (zone ids are not accepted).
 * - `GARP_BAD_FIELD`: a numeric field to encode is out of its range.
 * - `GARP_BAD_POLICY`: an announcement policy failed validation.
 * - `GARP_BAD_REQUEST`: an announcement request failed validation.
 */
export type GarpErrorCode =
  | 'GARP_TRUNCATED'
  | 'GARP_TRAILING_BYTES'
  | 'GARP_BAD_ETHERTYPE'
  | 'GARP_BAD_HARDWARE'
  | 'GARP_BAD_PROTOCOL'
  | 'GARP_BAD_OPCODE'
  | 'GARP_BAD_IP_VERSION'
  | 'GARP_BAD_NEXT_HEADER'
  | 'GARP_BAD_ICMP_TYPE'
  | 'GARP_BAD_ICMP_CODE'
  | 'GARP_BAD_HOP_LIMIT'
  | 'GARP_BAD_CHECKSUM'
  | 'GARP_BAD_TARGET'
  | 'GARP_BAD_FLAGS'
  | 'GARP_BAD_OPTION'
  | 'GARP_BAD_MAC'
  | 'GARP_BAD_IPV4'
  | 'GARP_BAD_IPV6'
  | 'GARP_BAD_FIELD'
  | 'GARP_BAD_POLICY'
  | 'GARP_BAD_REQUEST';

/**
 * The one error class of `@proxyha/garp`. Branch on {@link GarpError.code}, which is stable across
 * releases; the message is for humans and names the offending field and value.
 */
export class GarpError extends Error {
  /** Stable machine-readable code. */
  readonly code: GarpErrorCode;
  /** For decode errors: byte offset (from the start of the decoded buffer) where the problem was found. */
  readonly offset: number | undefined;
  /** For validation errors: one entry per problem, each `path: message`. */
  readonly problems: readonly string[];

  /**
   * @param code - stable code
   * @param message - human-readable message naming the field and value
   * @param details - byte offset of a decode error, individual validation problems
   */
  constructor(
    code: GarpErrorCode,
    message: string,
    details: { offset?: number; problems?: readonly string[] } = {},
  ) {
    super(message);
    this.name = 'GarpError';
    this.code = code;
    this.offset = details.offset;
    this.problems = details.problems ?? [];
  }
}

/**
 * Outcome of a decode: the value, or a {@link GarpError} with a stable code. Decoders return this for any
 * input bytes and never throw.
 *
 * @typeParam T - the decoded type
 */
export type DecodeResult<T> =
  | {
      /** Decoding succeeded. */
      readonly ok: true;
      /** The decoded value. */
      readonly value: T;
    }
  | {
      /** Decoding failed. */
      readonly ok: false;
      /** Why, with a stable code and the byte offset. */
      readonly error: GarpError;
    };

/** @internal */
export function fail(code: GarpErrorCode, message: string, offset?: number): { ok: false; error: GarpError } {
  return { ok: false, error: new GarpError(code, message, offset === undefined ? {} : { offset }) };
}

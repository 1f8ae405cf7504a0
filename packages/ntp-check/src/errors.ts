// The one error catalogue and error class of @proxyha/ntp-check.
import { defineErrors, ProxyhaError } from '@proxyha/common';

/**
 * Every error code of `@proxyha/ntp-check` with its meaning. Programs branch on the code (stable across
 * releases); the message names the offending value and may gain detail. Context is in `details`: the
 * kiss code of a Kiss-o'-Death (`details.kissCode`), the `issues` of a validation error, the server.
 */
export const NTP_ERRORS = defineErrors('NTP', {
  NTP_TRUNCATED: 'an NTP packet is shorter than the 48-byte header',
  NTP_BAD_LENGTH: 'an NTP packet length is not a multiple of 4 (extension fields and MACs are word aligned)',
  NTP_INVALID_ARGUMENT:
    'an argument or option object failed validation (details.issues names path and value)',
  NTP_BAD_MODE: 'a reply whose mode is not 4 (server)',
  NTP_BAD_VERSION: 'a reply whose version is not 3 or 4',
  NTP_WRONG_SOURCE: 'a datagram came from another address or port than the server queried',
  NTP_BOGUS_ORIGINATE:
    "a reply's originate timestamp is not our request's random nonce (forged, replayed or stale)",
  NTP_KISS_OF_DEATH: 'a stratum 0 reply carrying a kiss code (RATE, DENY, RSTR, ...) in details.kissCode',
  NTP_UNSYNCHRONIZED:
    'the server is unsynchronized: leap indicator 3, or stratum 0 without a kiss code, or 16 and above',
  NTP_ZERO_TIMESTAMP: "a reply's receive or transmit timestamp is zero",
  NTP_BAD_TIMESTAMPS: "the server's timestamps are inconsistent with the round trip",
  NTP_ROOT_DISTANCE: "a reply's root distance exceeds the configured limit",
  NTP_TIMEOUT: 'no valid reply arrived before the timeout',
  NTP_SOCKET_ERROR: 'the socket failed, for example ICMP port unreachable',
  NTP_RESOLVE_FAILED: "the server's host name did not resolve",
  NTP_BAD_SERVER: 'a SERVER[:PORT] string cannot be parsed',
  NTP_POLL_TOO_SOON:
    'the server was asked too recently (RFC 4330 minimum poll interval or a RATE back-off) and no earlier sample exists',
  NTP_SERVER_STOPPED: 'the server answered DENY or RSTR earlier and is not asked again',
  NTP_BAD_EXCHANGE: 'peer-skew timestamps that cannot come from one real exchange',
});

/** A code of {@link NTP_ERRORS}. */
export type NtpErrorCode = keyof typeof NTP_ERRORS;

/**
 * The one error class of `@proxyha/ntp-check`. Decoders and checks return it in a `Result` (never
 * thrown); functions given invalid arguments throw it with code `NTP_INVALID_ARGUMENT` and
 * `details.issues`.
 *
 * @typeParam D - the shape of `details`
 */
export class NtpError<D extends object = Readonly<Record<string, unknown>>> extends ProxyhaError<
  NtpErrorCode,
  D
> {}

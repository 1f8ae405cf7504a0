/**
 * Stable error codes of `@proxyha/ntp-check`. Operators and programs match on
 * these; the accompanying messages are for humans and may gain detail.
 *
 * - `NTP_SHORT_PACKET`: fewer than 48 bytes.
 * - `NTP_BAD_LENGTH`: length not a multiple of 4 (extension fields and MACs are word aligned).
 * - `NTP_INVALID_FIELD`: a field given to the encoder is out of range.
 * - `NTP_BAD_MODE`: a reply whose mode is not 4 (server).
 * - `NTP_BAD_VERSION`: a reply whose version is not 3 or 4.
 * - `NTP_WRONG_SOURCE`: a datagram from another address or port than the one queried.
 * - `NTP_BOGUS_ORIGINATE`: the reply's originate timestamp is not our request's transmit
 *   timestamp (nonce): a forged, replayed or stale reply.
 * - `NTP_KISS_OF_DEATH`: stratum 0 reply carrying a kiss code (`RATE`, `DENY`, `RSTR`, ...).
 * - `NTP_UNSYNCHRONIZED`: leap indicator 3 or stratum 16 and above.
 * - `NTP_ZERO_TIMESTAMP`: the reply's receive or transmit timestamp is zero.
 * - `NTP_BAD_TIMESTAMPS`: the server's timestamps are inconsistent with the round trip.
 * - `NTP_ROOT_DISTANCE`: the root distance exceeds the configured limit.
 * - `NTP_TIMEOUT`: no valid reply before the timeout.
 * - `NTP_SOCKET_ERROR`: the socket failed (for example ICMP port unreachable).
 * - `NTP_RESOLVE_FAILED`: the server's host name did not resolve.
 * - `NTP_BAD_SERVER`: a `SERVER[:PORT]` string that cannot be parsed.
 * - `NTP_POLL_TOO_SOON`: the server was asked too recently (RFC 4330 minimum poll interval,
 *   or a `RATE` back-off) and no earlier sample exists.
 * - `NTP_SERVER_STOPPED`: the server answered `DENY` or `RSTR` earlier; it is not asked again.
 * - `NTP_INVALID_OPTIONS`: options failed validation (the message names path and value).
 * - `NTP_BAD_EXCHANGE`: peer-skew timestamps that cannot come from one real exchange.
 */
export type NtpErrorCode =
  | 'NTP_SHORT_PACKET'
  | 'NTP_BAD_LENGTH'
  | 'NTP_INVALID_FIELD'
  | 'NTP_BAD_MODE'
  | 'NTP_BAD_VERSION'
  | 'NTP_WRONG_SOURCE'
  | 'NTP_BOGUS_ORIGINATE'
  | 'NTP_KISS_OF_DEATH'
  | 'NTP_UNSYNCHRONIZED'
  | 'NTP_ZERO_TIMESTAMP'
  | 'NTP_BAD_TIMESTAMPS'
  | 'NTP_ROOT_DISTANCE'
  | 'NTP_TIMEOUT'
  | 'NTP_SOCKET_ERROR'
  | 'NTP_RESOLVE_FAILED'
  | 'NTP_BAD_SERVER'
  | 'NTP_POLL_TOO_SOON'
  | 'NTP_SERVER_STOPPED'
  | 'NTP_INVALID_OPTIONS'
  | 'NTP_BAD_EXCHANGE';

/**
 * The one error class of this package. `code` is stable (see {@link NtpErrorCode});
 * `details` carries the figures needed to act on it (for a Kiss-o'-Death, `kissCode`).
 */
export class NtpError extends Error {
  /** Stable machine-readable code. */
  readonly code: NtpErrorCode;
  /** Context: offending values, server, kiss code, limits. */
  readonly details: Readonly<Record<string, unknown>>;

  /**
   * @param code - stable error code
   * @param message - human-readable reason (names the offending value)
   * @param details - structured context
   */
  constructor(code: NtpErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'NtpError';
    this.code = code;
    this.details = details;
  }

  /** Plain-object form for JSON output and logs. */
  toJSON(): {
    /** Stable code. */
    code: NtpErrorCode;
    /** Human-readable reason. */
    message: string;
    /** Structured context. */
    details: Readonly<Record<string, unknown>>;
  } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** A value or a typed error; decoders and validators return this and never throw. */
export type Result<T, E = NtpError> =
  | {
      /** Success. */
      ok: true;
      /** The value. */
      value: T;
    }
  | {
      /** Failure. */
      ok: false;
      /** The typed error. */
      error: E;
    };

/** @internal */
export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

/** @internal */
export function err<E>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}

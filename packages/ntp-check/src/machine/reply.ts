// Reply checks of an SNTP client (RFC 4330 section 5, RFC 5905 sections 8 and 9): pure, no I/O, no clock.
import { canonicalIp, err, ok, type Result } from '@proxyha/common';
import { describeReferenceId, NtpMode, type NtpPacket, referenceIdAscii } from '../codec/packet';
import { fixedToMs, type NtpTimestamp, ntpDiff } from '../codec/timestamp';
import { NtpError } from '../errors';
import { exactMs } from './figures';

/** Frequency tolerance PHI of RFC 5905: 15 ppm. */
export const NTP_PHI = 15e-6;
/** RFC 5905 MINDISP: the root delay term of the root distance is at least this (10 ms). */
export const NTP_MIN_DISPERSION_MS = 10;
/** Default root-distance limit: 1.5 s, ntpd's `tos maxdist` default. */
export const DEFAULT_MAX_ROOT_DISTANCE_MS = 1500;
/** Default precision exponent of the local clock (about 1 µs). */
export const DEFAULT_LOCAL_PRECISION = -20;

/** What the client knows about its own request when a reply arrives. */
export interface ReplyContext {
  /** The transmit timestamp we sent (random nonce); the reply must echo it as originate. */
  nonce: NtpTimestamp;
  /** Local clock when the request left (T1). */
  t1: NtpTimestamp;
  /** Local clock when the reply arrived (T4). */
  t4: NtpTimestamp;
  /** Precision exponent of the local clock, log2 seconds (default -20). */
  localPrecision?: number;
  /** Reject replies whose root distance exceeds this (default 1500 ms). */
  maxRootDistanceMs?: number;
}

/**
 * One valid measurement against one server. Offsets are `server - local`: a positive
 * offset means the server is ahead, i.e. the local clock is behind.
 */
export interface NtpSample {
  /** Clock offset θ = ((T2 - T1) + (T3 - T4)) / 2, in ms. */
  offsetMs: number;
  /** Round-trip delay δ = (T4 - T1) - (T3 - T2), in ms (never below the local precision). */
  delayMs: number;
  /** Dispersion ε of this sample: both precisions plus PHI times the round trip, in ms. */
  dispersionMs: number;
  /** Server's root delay, in ms. */
  rootDelayMs: number;
  /** Server's root dispersion, in ms. */
  rootDispersionMs: number;
  /**
   * Root distance λ = max(MINDISP, root delay + δ) / 2 + root dispersion + ε, in ms:
   * the half-width of this sample's correctness interval [θ - λ, θ + λ].
   */
  rootDistanceMs: number;
  /** Server stratum (1-15). */
  stratum: number;
  /** Leap indicator (0-2; 3 is rejected). */
  leap: 0 | 1 | 2;
  /** Reply version (3 or 4). */
  version: number;
  /** Server precision exponent (log2 seconds). */
  precision: number;
  /** Server poll exponent (log2 seconds). */
  poll: number;
  /** Reference ID in human form (`LOCL`, `GPS`, `192.0.2.1`). */
  referenceId: string;
}

/**
 * The standard offset and delay of one exchange (RFC 5905 section 8), era-safe:
 * T1 and T4 are local clock readings, T2 and T3 are the other side's.
 *
 * @param t1 - request sent (local)
 * @param t2 - request received (remote)
 * @param t3 - reply sent (remote)
 * @param t4 - reply received (local)
 * @returns offset θ (remote minus local) and raw delay δ (may be negative for bogus data), in ms
 */
export function offsetAndDelay(
  t1: NtpTimestamp,
  t2: NtpTimestamp,
  t3: NtpTimestamp,
  t4: NtpTimestamp,
): {
  /** θ, ms. */
  offsetMs: number;
  /** δ, ms. */
  delayMs: number;
} {
  const a = ntpDiff(t2, t1);
  const b = ntpDiff(t3, t4);
  return { offsetMs: fixedToMs(a + b) / 2, delayMs: fixedToMs(ntpDiff(t4, t1) - ntpDiff(t3, t2)) };
}

/**
 * Human reason for a Kiss-o'-Death code, as printed by the CLI.
 * @internal
 */
export function kissMessage(code: string): string {
  return `Kiss-o'-Death ${code}`;
}

/**
 * Validates an SNTP reply against the request it should answer and computes the
 * sample (RFC 4330 section 5, RFC 5905 sections 8 and 9). Never throws. The checks, in
 * order (the nonce is checked before the kiss code, so a forged Kiss-o'-Death cannot
 * silence a server):
 *
 * 1. mode 4, else `NTP_BAD_MODE`; version 3 or 4, else `NTP_BAD_VERSION`
 * 2. originate timestamp equals the nonce, else `NTP_BOGUS_ORIGINATE` ("forged reply")
 * 3. stratum 0 with an ASCII code in the reference ID is a Kiss-o'-Death:
 *    `NTP_KISS_OF_DEATH` with `details.kissCode` (checked before the leap indicator, as
 *    ntpd sends its kisses with LI 3)
 * 4. leap indicator 3, stratum 0 without a kiss code, or stratum 16 and above: `NTP_UNSYNCHRONIZED`
 * 5. receive and transmit timestamps non-zero, else `NTP_ZERO_TIMESTAMP`
 * 6. server timestamps consistent with the round trip, else `NTP_BAD_TIMESTAMPS`
 * 7. root distance within the limit, else `NTP_ROOT_DISTANCE`
 *
 * @param reply - decoded reply
 * @param ctx - nonce, local send and receive times, limits
 */
export function validateReply(reply: NtpPacket, ctx: ReplyContext): Result<NtpSample, NtpError> {
  if (reply.mode !== NtpMode.Server) {
    return err(
      new NtpError('NTP_BAD_MODE', `bad reply: mode ${reply.mode}, expected 4 (server)`, {
        details: {
          mode: reply.mode,
        },
        stack: false,
      }),
    );
  }
  if (reply.version !== 3 && reply.version !== 4) {
    return err(
      new NtpError('NTP_BAD_VERSION', `bad reply: version ${reply.version}, expected 3 or 4`, {
        details: {
          version: reply.version,
        },
        stack: false,
      }),
    );
  }
  if (reply.originateTimestamp !== ctx.nonce) {
    return err(
      new NtpError('NTP_BOGUS_ORIGINATE', 'forged reply (originate timestamp does not match the request)', {
        details: {
          expected: ctx.nonce.toString(16),
          got: reply.originateTimestamp.toString(16),
        },
        stack: false,
      }),
    );
  }
  if (reply.stratum === 0) {
    // A kiss code is four ASCII letters. Stratum 0 without one is how an unsynchronized
    // server (chrony without sources: LI 3, reference ID 0) answers: not a kiss.
    const kissCode = referenceIdAscii(reply.referenceId);
    if (kissCode !== undefined && /^[A-Z]+$/.test(kissCode)) {
      return err(
        new NtpError('NTP_KISS_OF_DEATH', kissMessage(kissCode), { details: { kissCode }, stack: false }),
      );
    }
    const why = reply.leap === 3 ? 'leap indicator 3' : 'stratum 0';
    return err(
      new NtpError('NTP_UNSYNCHRONIZED', `unsynchronized (${why})`, {
        details: { leap: reply.leap, stratum: 0 },
        stack: false,
      }),
    );
  }
  if (reply.leap === 3) {
    return err(
      new NtpError('NTP_UNSYNCHRONIZED', 'unsynchronized (leap indicator 3)', {
        details: { leap: 3 },
        stack: false,
      }),
    );
  }
  if (reply.stratum >= 16) {
    return err(
      new NtpError('NTP_UNSYNCHRONIZED', `unsynchronized (stratum ${reply.stratum})`, {
        details: {
          stratum: reply.stratum,
        },
        stack: false,
      }),
    );
  }
  if (reply.receiveTimestamp === 0n || reply.transmitTimestamp === 0n) {
    const which = reply.receiveTimestamp === 0n ? 'receive' : 'transmit';
    return err(
      new NtpError('NTP_ZERO_TIMESTAMP', `bad reply: ${which} timestamp is zero`, {
        details: { field: which },
        stack: false,
      }),
    );
  }
  const localPrecision = ctx.localPrecision ?? DEFAULT_LOCAL_PRECISION;
  const serverPrecisionMs = 2 ** reply.precision * 1000;
  const localPrecisionMs = 2 ** localPrecision * 1000;
  const processingMs = fixedToMs(ntpDiff(reply.transmitTimestamp, reply.receiveTimestamp));
  const roundTripMs = fixedToMs(ntpDiff(ctx.t4, ctx.t1));
  const { offsetMs, delayMs: rawDelayMs } = offsetAndDelay(
    ctx.t1,
    reply.receiveTimestamp,
    reply.transmitTimestamp,
    ctx.t4,
  );
  if (processingMs < -serverPrecisionMs) {
    return err(
      new NtpError(
        'NTP_BAD_TIMESTAMPS',
        `bad reply: server transmit is ${-processingMs} ms before its receive`,
        {
          details: {
            processingMs,
          },
          stack: false,
        },
      ),
    );
  }
  if (rawDelayMs < -(serverPrecisionMs + localPrecisionMs)) {
    return err(
      new NtpError(
        'NTP_BAD_TIMESTAMPS',
        `bad reply: server processing ${processingMs} ms exceeds the round trip ${roundTripMs} ms`,
        { details: { processingMs, roundTripMs }, stack: false },
      ),
    );
  }
  const delayMs = Math.max(rawDelayMs, localPrecisionMs);
  const dispersionMs = serverPrecisionMs + localPrecisionMs + NTP_PHI * Math.max(roundTripMs, 0);
  const rootDelayMs = reply.rootDelay * 1000;
  const rootDispersionMs = reply.rootDispersion * 1000;
  const rootDistanceMs =
    Math.max(NTP_MIN_DISPERSION_MS, rootDelayMs + delayMs) / 2 + rootDispersionMs + dispersionMs;
  const limit = ctx.maxRootDistanceMs ?? DEFAULT_MAX_ROOT_DISTANCE_MS;
  if (rootDistanceMs > limit) {
    return err(
      new NtpError(
        'NTP_ROOT_DISTANCE',
        `root distance ${exactMs(rootDistanceMs)} ms exceeds the limit of ${exactMs(limit)} ms`,
        { details: { rootDistanceMs, limitMs: limit }, stack: false },
      ),
    );
  }
  return ok({
    offsetMs,
    delayMs,
    dispersionMs,
    rootDelayMs,
    rootDispersionMs,
    rootDistanceMs,
    stratum: reply.stratum,
    leap: reply.leap,
    version: reply.version,
    precision: reply.precision,
    poll: reply.poll,
    referenceId: describeReferenceId(reply),
  });
}

/** Canonical text of an address (RFC 5952), IPv4-mapped IPv6 as plain IPv4. */
function sourceKey(address: string): string {
  const text = canonicalIp(address) ?? address.toLowerCase();
  return text.startsWith('::ffff:') && text.includes('.') ? text.slice(7) : text;
}

/**
 * Checks that a datagram came from the queried address and port (IPv4-mapped IPv6
 * addresses compare equal to their IPv4 form). Returns `NTP_WRONG_SOURCE` otherwise.
 *
 * @param expected - the server that was queried
 * @param actual - the datagram's source
 */
export function checkSource(
  expected: { address: string; port: number },
  actual: { address: string; port: number },
): Result<true, NtpError> {
  if (sourceKey(expected.address) === sourceKey(actual.address) && expected.port === actual.port) {
    return ok(true);
  }
  return err(
    new NtpError(
      'NTP_WRONG_SOURCE',
      `reply from ${actual.address}:${actual.port}, expected ${expected.address}:${expected.port}`,
      { details: { expected, actual }, stack: false },
    ),
  );
}

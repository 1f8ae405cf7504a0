import { describeReferenceId, NtpMode, type NtpPacket, referenceIdAscii } from './codec';
import { err, NtpError, ok, type Result } from './errors';
import { fixedToMs, type NtpTimestamp, ntpDiff } from './timestamp';

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
export function validateReply(reply: NtpPacket, ctx: ReplyContext): Result<NtpSample> {
  if (reply.mode !== NtpMode.Server) {
    return err(
      new NtpError('NTP_BAD_MODE', `bad reply: mode ${reply.mode}, expected 4 (server)`, {
        mode: reply.mode,
      }),
    );
  }
  if (reply.version !== 3 && reply.version !== 4) {
    return err(
      new NtpError('NTP_BAD_VERSION', `bad reply: version ${reply.version}, expected 3 or 4`, {
        version: reply.version,
      }),
    );
  }
  if (reply.originateTimestamp !== ctx.nonce) {
    return err(
      new NtpError('NTP_BOGUS_ORIGINATE', 'forged reply (originate timestamp does not match the request)', {
        expected: ctx.nonce.toString(16),
        got: reply.originateTimestamp.toString(16),
      }),
    );
  }
  if (reply.stratum === 0) {
    // A kiss code is four ASCII letters. Stratum 0 without one is how an unsynchronized
    // server (chrony without sources: LI 3, reference ID 0) answers: not a kiss.
    const kissCode = referenceIdAscii(reply.referenceId);
    if (kissCode !== undefined && /^[A-Z]+$/.test(kissCode)) {
      return err(new NtpError('NTP_KISS_OF_DEATH', kissMessage(kissCode), { kissCode }));
    }
    const why = reply.leap === 3 ? 'leap indicator 3' : 'stratum 0';
    return err(
      new NtpError('NTP_UNSYNCHRONIZED', `unsynchronized (${why})`, { leap: reply.leap, stratum: 0 }),
    );
  }
  if (reply.leap === 3) {
    return err(new NtpError('NTP_UNSYNCHRONIZED', 'unsynchronized (leap indicator 3)', { leap: 3 }));
  }
  if (reply.stratum >= 16) {
    return err(
      new NtpError('NTP_UNSYNCHRONIZED', `unsynchronized (stratum ${reply.stratum})`, {
        stratum: reply.stratum,
      }),
    );
  }
  if (reply.receiveTimestamp === 0n || reply.transmitTimestamp === 0n) {
    const which = reply.receiveTimestamp === 0n ? 'receive' : 'transmit';
    return err(new NtpError('NTP_ZERO_TIMESTAMP', `bad reply: ${which} timestamp is zero`, { field: which }));
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
          processingMs,
        },
      ),
    );
  }
  if (rawDelayMs < -(serverPrecisionMs + localPrecisionMs)) {
    return err(
      new NtpError(
        'NTP_BAD_TIMESTAMPS',
        `bad reply: server processing ${processingMs} ms exceeds the round trip ${roundTripMs} ms`,
        { processingMs, roundTripMs },
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
        `root distance ${fmt(rootDistanceMs)} ms exceeds the limit of ${fmt(limit)} ms`,
        { rootDistanceMs, limitMs: limit },
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

function fmt(x: number): string {
  return Number(x.toFixed(3)).toString();
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
): Result<true> {
  const norm = (a: string) => a.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  if (norm(expected.address) === norm(actual.address) && expected.port === actual.port) return ok(true);
  return err(
    new NtpError(
      'NTP_WRONG_SOURCE',
      `reply from ${actual.address}:${actual.port}, expected ${expected.address}:${expected.port}`,
      { expected, actual },
    ),
  );
}

/** Four timestamps of one request/response exchange with another node, in Unix milliseconds. */
export interface PeerExchange {
  /** Our clock when the request left. */
  t1: number;
  /** The peer's clock when the request arrived. */
  t2: number;
  /** The peer's clock when the response left. */
  t3: number;
  /** Our clock when the response arrived. */
  t4: number;
}

/** Estimated offset of a peer's clock against ours, with its error bound. */
export interface PeerSkewEstimate {
  /** Peer clock minus our clock, ms (positive: the peer is ahead). */
  offsetMs: number;
  /** Round-trip delay excluding the peer's processing time, ms. */
  delayMs: number;
  /** The true offset lies within offsetMs ± errorBoundMs: delay / 2 plus both precisions. */
  errorBoundMs: number;
  /** offsetMs - errorBoundMs. */
  lowMs: number;
  /** offsetMs + errorBoundMs. */
  highMs: number;
}

/**
 * Estimates another node's clock offset from the four timestamps of one exchange
 * (the NTP on-wire formulas). Whatever the path asymmetry, the true offset lies within
 * `offsetMs ± delayMs / 2` (plus clock precision), which is the returned error bound.
 * Returns `NTP_BAD_EXCHANGE` for non-finite values, a reply received before it was
 * sent, or a peer processing time longer than the round trip.
 *
 * @param x - the four timestamps (ms)
 * @param options - `precisionMs`: resolution of both clocks' readings (default 1 ms, `Date.now()`)
 */
export function estimatePeerSkew(
  x: PeerExchange,
  options: { precisionMs?: number } = {},
): Result<PeerSkewEstimate> {
  const precisionMs = options.precisionMs ?? 1;
  for (const k of ['t1', 't2', 't3', 't4'] as const) {
    if (typeof x[k] !== 'number' || !Number.isFinite(x[k])) {
      return err(
        new NtpError('NTP_BAD_EXCHANGE', `${k} must be a finite number of ms, got ${String(x[k])}`, {
          [k]: x[k],
        }),
      );
    }
  }
  if (!(precisionMs >= 0) || !Number.isFinite(precisionMs)) {
    return err(
      new NtpError('NTP_BAD_EXCHANGE', `precisionMs must be >= 0, got ${precisionMs}`, { precisionMs }),
    );
  }
  const roundTrip = x.t4 - x.t1;
  const processing = x.t3 - x.t2;
  if (roundTrip < 0) {
    return err(
      new NtpError(
        'NTP_BAD_EXCHANGE',
        `response received ${-roundTrip} ms before the request left`,
        x as never,
      ),
    );
  }
  if (processing < -precisionMs || processing > roundTrip + 2 * precisionMs) {
    return err(
      new NtpError(
        'NTP_BAD_EXCHANGE',
        `peer processing time ${processing} ms is impossible for a round trip of ${roundTrip} ms`,
        { ...x },
      ),
    );
  }
  const delayMs = Math.max(0, roundTrip - processing);
  const offsetMs = (x.t2 - x.t1 + (x.t3 - x.t4)) / 2;
  const errorBoundMs = delayMs / 2 + 2 * precisionMs;
  return ok({
    offsetMs,
    delayMs,
    errorBoundMs,
    lowMs: offsetMs - errorBoundMs,
    highMs: offsetMs + errorBoundMs,
  });
}

/** Verdict on a peer's clock: `ok` within the limit even at the worst end of the error bound, `fail` beyond it even at the best end, `warn` in between. */
export interface PeerSkewVerdict {
  /** ok | warn | fail. */
  verdict: 'ok' | 'warn' | 'fail';
  /** Stable code: `NTP_PEER_SKEW_OK`, `NTP_PEER_SKEW_UNCERTAIN` or `NTP_TIME_DIFFERENCE_TOO_HIGH`. */
  code: 'NTP_PEER_SKEW_OK' | 'NTP_PEER_SKEW_UNCERTAIN' | 'NTP_TIME_DIFFERENCE_TOO_HIGH';
  /** Human reason ("time difference too high: ..."). */
  message: string;
}

/**
 * Judges a peer-skew estimate against a limit, for central management to refuse
 * peers whose clocks are too far off. The `fail` message starts with
 * "time difference too high", the line operators know.
 *
 * @param estimate - from {@link estimatePeerSkew}
 * @param maxOffsetMs - largest tolerated |offset|, ms
 */
export function judgePeerSkew(estimate: PeerSkewEstimate, maxOffsetMs: number): PeerSkewVerdict {
  const abs = Math.abs(estimate.offsetMs);
  const desc = `peer clock ${sign(estimate.offsetMs)} ms (±${fmt(estimate.errorBoundMs)} ms), limit ${fmt(maxOffsetMs)} ms`;
  if (abs - estimate.errorBoundMs > maxOffsetMs) {
    return {
      verdict: 'fail',
      code: 'NTP_TIME_DIFFERENCE_TOO_HIGH',
      message: `time difference too high: ${desc}`,
    };
  }
  if (abs + estimate.errorBoundMs > maxOffsetMs) {
    return {
      verdict: 'warn',
      code: 'NTP_PEER_SKEW_UNCERTAIN',
      message: `time difference uncertain: ${desc}`,
    };
  }
  return { verdict: 'ok', code: 'NTP_PEER_SKEW_OK', message: `time difference ok: ${desc}` };
}

function sign(x: number): string {
  return `${x >= 0 ? '+' : ''}${fmt(x)}`;
}

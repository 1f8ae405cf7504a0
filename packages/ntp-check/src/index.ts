/**
 * NTP time-skew guard.
 *
 * A strict SNTPv4 client on `node:dgram` (RFC 4330 / RFC 5905: random-nonce originate
 * check, source check, mode/version/leap/stratum checks, Kiss-o'-Death handling,
 * root-distance limit, NTP era handling), falseticker rejection across several servers
 * by intersecting correctness intervals, a skew guard (`checkSkew`: ok | warn | fail,
 * with ntpd's 1000 s panic threshold) and peer clock-offset estimation for central
 * management (`estimatePeerSkew`, `judgePeerSkew`).
 *
 * Layers:
 * - codec (`src/codec/`): {@link decodePacket}, {@link encodePacket}, NTP timestamps;
 * - machine (`src/machine/`, pure, time as input): {@link validateReply}, {@link selectSources},
 *   {@link evaluateSkew}, {@link estimatePeerSkew}, and the per-server poll-interval and
 *   Kiss-o'-Death state;
 * - driver (`src/driver/`): {@link NtpClient} and {@link checkSkew}, on a `Clock` of `@proxyha/common`.
 *
 * Errors are {@link NtpError} with a code from {@link NTP_ERRORS}.
 *
 * @packageDocumentation
 */

export { NTP_PORT, type NtpServerAddress, parseServerAddress } from './address';
export {
  createRequest,
  decodePacket,
  describeReferenceId,
  encodePacket,
  NTP_HEADER_LENGTH,
  NtpMode,
  type NtpPacket,
  referenceIdAscii,
} from './codec/packet';
export {
  fromNtpTimestamp,
  NTP_UNIX_EPOCH_OFFSET_SECONDS,
  type NtpTimestamp,
  ntpDifferenceMs,
  ntpEra,
  ntpTimestampToUnixMs,
  toNtpTimestamp,
  unixMsToNtpTimestamp,
} from './codec/timestamp';
export { type CheckSkewOptions, checkSkew } from './driver/check-skew';
export { DEFAULT_NTP_TIMEOUT_MS, NtpClient, type NtpClientOptions } from './driver/client';
export { NTP_ERRORS, NtpError, type NtpErrorCode } from './errors';
export {
  estimatePeerSkew,
  judgePeerSkew,
  type PeerExchange,
  type PeerSkewEstimate,
  type PeerSkewVerdict,
} from './machine/peer';
export { DEFAULT_MIN_POLL_INTERVAL_MS, MIN_POLL_INTERVAL_FLOOR_MS } from './machine/poll';
export {
  DEFAULT_LOCAL_PRECISION,
  DEFAULT_MAX_ROOT_DISTANCE_MS,
  NTP_MIN_DISPERSION_MS,
  NTP_PHI,
  type NtpSample,
  offsetAndDelay,
  type ReplyContext,
  validateReply,
} from './machine/reply';
export { type SelectionCandidate, type SelectionResult, selectSources } from './machine/select';
export {
  DEFAULT_PANIC_THRESHOLD_MS,
  evaluateSkew,
  NTP_VERDICT_CODES,
  type NtpServerResult,
  type NtpServerVerdict,
  type NtpVerdictCode,
  type SkewLevel,
  type SkewPolicy,
  type SkewReason,
  type SkewReasonCode,
  type SkewReport,
} from './machine/skew';

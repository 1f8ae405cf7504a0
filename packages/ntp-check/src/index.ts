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
 * Layers: codec (`decodePacket`, `encodePacket`), pure checks (`validateReply`,
 * `selectSources`, `evaluateSkew`), driver (`NtpClient`).
 *
 * @packageDocumentation
 */

export { NTP_PORT, type NtpServerAddress, parseServerAddress } from './address';
export { type CheckSkewOptions, checkSkew } from './check-skew';
export {
  DEFAULT_LOCAL_PRECISION,
  DEFAULT_MAX_ROOT_DISTANCE_MS,
  estimatePeerSkew,
  judgePeerSkew,
  NTP_MIN_DISPERSION_MS,
  NTP_PHI,
  type NtpSample,
  offsetAndDelay,
  type PeerExchange,
  type PeerSkewEstimate,
  type PeerSkewVerdict,
  type ReplyContext,
  validateReply,
} from './checks';
export { DEFAULT_TIMEOUT_MS, NtpClient, type NtpClientOptions } from './client';
export { type Clock, createSystemClock } from './clock';
export {
  createRequest,
  decodePacket,
  describeReferenceId,
  encodePacket,
  NTP_HEADER_LENGTH,
  NtpMode,
  type NtpPacket,
  referenceIdAscii,
} from './codec';
export { NtpError, type NtpErrorCode, type Result } from './errors';
export {
  DEFAULT_PANIC_THRESHOLD_MS,
  evaluateSkew,
  type ServerResult,
  type ServerVerdict,
  type SkewLevel,
  type SkewPolicy,
  type SkewReason,
  type SkewReport,
} from './guard';
export { DEFAULT_MIN_POLL_INTERVAL_MS, MIN_POLL_INTERVAL_FLOOR_MS } from './poll';
export { type SelectionCandidate, type SelectionResult, selectSources } from './select';
export {
  fromNtpTimestamp,
  NTP_UNIX_EPOCH_OFFSET_SECONDS,
  type NtpTimestamp,
  ntpDifferenceMs,
  ntpEra,
  toNtpTimestamp,
} from './timestamp';

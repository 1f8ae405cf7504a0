// The clock check between peers: the peer's clock offset, estimated allowing for the round trip, and
// whether it is within the allowed skew (else 405 - 'time difference too high').
import { CmError } from '../errors';

/** The input of {@link checkPeerClock}: one request/response exchange, times in ms. */
export interface PeerClockSample {
  /** This node's wall clock when it sent the request. */
  readonly sentAt: number;
  /** This node's wall clock when the response arrived (>= `sentAt`). */
  readonly receivedAt: number;
  /** The peer's wall clock as written in its response. */
  readonly peerClock: number;
  /** The largest allowed offset, ms (>= 0). */
  readonly maxSkewMs: number;
}

/** The verdict of {@link checkPeerClock}. */
export interface PeerClockCheck {
  /** Estimated offset of the peer's clock: `peerClock - (sentAt + receivedAt) / 2` (positive: ahead). */
  readonly offsetMs: number;
  /** Half the round trip: the true offset is within `offsetMs ± uncertaintyMs`. */
  readonly uncertaintyMs: number;
  /** The round trip, `receivedAt - sentAt`. */
  readonly rttMs: number;
  /**
   * `too-high` when even the most favourable offset inside the uncertainty exceeds the limit
   * (`|offsetMs| - uncertaintyMs > maxSkewMs`): the peer is refused with 405 - 'time difference too high';
   * else `ok`.
   */
  readonly verdict: 'ok' | 'too-high';
}

/**
 * Estimates a peer's clock offset from one exchange and judges it (NTP's offset formula with the peer's
 * processing time counted as part of the round trip). Nothing from a peer judged `too-high` may be
 * applied until a later check says `ok`: the driver does not feed its messages to the machines, so its
 * stamps cannot drag this node's hybrid clock ahead.
 *
 * @param sample - the times of the exchange and the limit
 * @throws {@link CmError} `CM_INVALID_ARGUMENT` for a non-finite time, `receivedAt < sentAt` or a negative limit
 */
export function checkPeerClock(sample: PeerClockSample): PeerClockCheck {
  const { sentAt, receivedAt, peerClock, maxSkewMs } = sample;
  const issues: { path: string; message: string }[] = [];
  for (const [k, v] of Object.entries({ sentAt, receivedAt, peerClock, maxSkewMs })) {
    if (typeof v !== 'number' || !Number.isFinite(v))
      issues.push({ path: k, message: `must be a finite number (got ${String(v)})` });
  }
  if (issues.length === 0 && receivedAt < sentAt)
    issues.push({ path: 'receivedAt', message: `must not be before sentAt ${sentAt} (got ${receivedAt})` });
  if (issues.length === 0 && maxSkewMs < 0)
    issues.push({ path: 'maxSkewMs', message: `must be >= 0 (got ${maxSkewMs})` });
  if (issues.length > 0) {
    throw new CmError(
      'CM_INVALID_ARGUMENT',
      `invalid clock sample: ${issues[0]?.path}: ${issues[0]?.message}`,
      {
        details: { issues },
      },
    );
  }
  const rttMs = receivedAt - sentAt;
  const uncertaintyMs = rttMs / 2;
  const offsetMs = peerClock - (sentAt + receivedAt) / 2;
  return {
    offsetMs,
    uncertaintyMs,
    rttMs,
    verdict: Math.abs(offsetMs) - uncertaintyMs > maxSkewMs ? 'too-high' : 'ok',
  };
}

// Per-server poll-interval and Kiss-o'-Death state (RFC 4330 section 10, RFC 5905 section 7.4). Pure: time
// (monotonic milliseconds) is an input.
import { NtpError } from '../errors';

/** RFC 4330 section 10: a client MUST NOT poll a server more often than every 15 s. */
export const MIN_POLL_INTERVAL_FLOOR_MS = 15_000;
/** Default minimum poll interval: 2^MINPOLL = 16 s (RFC 5905). */
export const DEFAULT_MIN_POLL_INTERVAL_MS = 16_000;
/** Longest back-off after repeated `RATE` kisses: 2^MAXPOLL = 36.4 h (RFC 5905). */
export const MAX_POLL_INTERVAL_MS = 131_072_000;

/** Per-server polling state (pure data; `at` values are monotonic milliseconds). @internal */
export interface PollState {
  /** Current minimum spacing between two requests to this server. */
  intervalMs: number;
  /** Earliest time the next request may leave; undefined before the first one. */
  nextAllowedAt?: number;
  /** Set after DENY or RSTR: the server is never asked again. */
  stoppedBy?: string;
  /** Number of RATE kisses received. */
  rateKisses: number;
}

/** @internal */
export type PollDecision = { send: true } | { send: false; error: NtpError; retryAt?: number };

/** @internal */
export function initialPollState(minIntervalMs: number): PollState {
  return { intervalMs: minIntervalMs, rateKisses: 0 };
}

/**
 * May a request leave now? Pure: `at` is the monotonic time of the decision.
 * @internal
 */
export function pollDecision(state: PollState, at: number, server: string): PollDecision {
  if (state.stoppedBy) {
    return {
      send: false,
      error: new NtpError(
        'NTP_SERVER_STOPPED',
        `Kiss-o'-Death ${state.stoppedBy}: not asking ${server} again`,
        { details: { kissCode: state.stoppedBy, server }, stack: false },
      ),
    };
  }
  if (state.nextAllowedAt !== undefined && at < state.nextAllowedAt) {
    const waitS = Math.ceil((state.nextAllowedAt - at) / 1000);
    const why =
      state.rateKisses > 0
        ? `backing off after Kiss-o'-Death RATE (interval ${state.intervalMs / 1000} s)`
        : `minimum poll interval ${state.intervalMs / 1000} s`;
    return {
      send: false,
      retryAt: state.nextAllowedAt,
      error: new NtpError('NTP_POLL_TOO_SOON', `not polling ${server} for another ${waitS} s (${why})`, {
        details: { server, retryInMs: state.nextAllowedAt - at, intervalMs: state.intervalMs },
        stack: false,
      }),
    };
  }
  return { send: true };
}

/** A request left at `at`. @internal */
export function onPollSent(state: PollState, at: number): PollState {
  return { ...state, nextAllowedAt: at + state.intervalMs };
}

/**
 * A genuine (nonce-checked) Kiss-o'-Death arrived at `at`. RATE doubles the interval
 * (up to MAXPOLL) and pushes the next request out by it; DENY and RSTR stop the server
 * for good (RFC 5905 section 7.4). Other codes change nothing.
 * @internal
 */
export function onKiss(state: PollState, code: string, at: number): PollState {
  if (code === 'DENY' || code === 'RSTR') return { ...state, stoppedBy: code };
  if (code === 'RATE') {
    const intervalMs = Math.min(state.intervalMs * 2, MAX_POLL_INTERVAL_MS);
    return { ...state, intervalMs, nextAllowedAt: at + intervalMs, rateKisses: state.rateKisses + 1 };
  }
  return state;
}

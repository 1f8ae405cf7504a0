// What one probe of one port found: the input of the pure core, produced by the driver's prober.

/**
 * Why a probe failed. Stable strings; {@link reasonText} gives the phrase used in log lines.
 *
 * - `refused`: the TCP connection was refused (nothing listening).
 * - `timeout`: no connection, or no HTTP status line, within the probe timeout.
 * - `reset`: the peer reset the connection.
 * - `closed`: the peer closed the connection before sending anything (HTTP probe).
 * - `bad-response`: the HTTP probe got something that is not a valid `HTTP/1.x NNN` status line,
 *   or a status that is not expected.
 * - `unreachable`: no route to the host, address not available, or the name does not resolve.
 * - `error`: any other socket error (the detail carries the errno code).
 */
export type ProbeFailureReason =
  | 'refused'
  | 'timeout'
  | 'reset'
  | 'closed'
  | 'bad-response'
  | 'unreachable'
  | 'error';

const REASON_TEXT: Record<ProbeFailureReason, string> = {
  refused: 'connection refused',
  timeout: 'timeout',
  reset: 'connection reset',
  closed: 'connection closed',
  'bad-response': 'bad response',
  unreachable: 'unreachable',
  error: 'error',
};

/**
 * The stable phrase for a failure reason, as it appears in log lines
 * (`refused` -> `connection refused`, `bad-response` -> `bad response`).
 *
 * @param reason - the failure reason
 * @returns the phrase
 */
export function reasonText(reason: ProbeFailureReason): string {
  return REASON_TEXT[reason];
}

/** A successful probe. */
export interface ProbeSuccess {
  /** Always `true`. */
  readonly ok: true;
  /** Time from starting the connection to the verdict, in milliseconds. */
  readonly latencyMs: number;
  /** For HTTP probes: the status code of the status line. */
  readonly httpStatus?: number;
}

/** A failed probe. */
export interface ProbeFailure {
  /** Always `false`. */
  readonly ok: false;
  /** Why it failed. */
  readonly reason: ProbeFailureReason;
  /** Human-readable detail (errno code, what was received, which stage timed out). */
  readonly detail: string;
  /** Time from starting the connection to the verdict, in milliseconds. */
  readonly latencyMs: number;
}

/** The outcome of one probe of one port. */
export type ProbeResult = ProbeSuccess | ProbeFailure;

// The operators' log lines, in the seed's format (mwg-coordinator.errors.log).

import { WIRE_ERROR_TEXTS, type WireErrorCode, wireCodeOf } from '../codec/messages';
import { CmError, type CmErrorCode } from '../errors';

/** What {@link formatNodeRequestFailed} reports. */
export interface NodeRequestFailure {
  /** The message (request) that failed, e.g. `hello`; printed in angle brackets as the seed does. */
  readonly message: string;
  /** UUID of the node it was sent to (or its address when the UUID is not known yet). */
  readonly uuid: string;
  /** Name of that node (or its address). */
  readonly name: string;
  /** The numbered error: 301 (`cannot connect`), 405 (`time difference too high`), or another wire code. */
  readonly code: WireErrorCode | number;
  /** What happened, e.g. `hello: failure 'errno: 111 - 'Connection refused'' while sending request - last action: connect`. */
  readonly detail?: string;
}

/**
 * Formats the seed's log line for a request to a node that failed:
 *
 * ```text
 * [Coordinator] [NodeRequestFailed] Message '<hello>' on node 564dad79-... (gw-2) failed with error '(301 - 'cannot connect') - "hello: failure 'errno: 111 - 'Connection refused'' while sending request - last action: connect"'
 * ```
 *
 * Without a detail the line ends after the code: `failed with error '(405 - 'time difference too high')'`.
 *
 * @param failure - message, node, code and detail
 */
export function formatNodeRequestFailed(failure: NodeRequestFailure): string {
  const text = (WIRE_ERROR_TEXTS as Readonly<Record<number, string>>)[failure.code] ?? 'error';
  const detail = failure.detail === undefined || failure.detail === '' ? '' : ` - "${failure.detail}"`;
  return `[Coordinator] [NodeRequestFailed] Message '<${failure.message}>' on node ${failure.uuid} (${failure.name}) failed with error '(${failure.code} - '${text}')${detail}'`;
}

/** Linux errno numbers and texts of the socket errors a peer connection meets. */
const ERRNO: Readonly<Record<string, readonly [number, string]>> = {
  EPIPE: [32, 'Broken pipe'],
  EADDRINUSE: [98, 'Address already in use'],
  EADDRNOTAVAIL: [99, 'Cannot assign requested address'],
  ENETDOWN: [100, 'Network is down'],
  ENETUNREACH: [101, 'Network is unreachable'],
  ECONNABORTED: [103, 'Software caused connection abort'],
  ECONNRESET: [104, 'Connection reset by peer'],
  ENOTCONN: [107, 'Transport endpoint is not connected'],
  ETIMEDOUT: [110, 'Connection timed out'],
  ECONNREFUSED: [111, 'Connection refused'],
  EHOSTDOWN: [112, 'Host is down'],
  EHOSTUNREACH: [113, 'No route to host'],
};

/**
 * The `errno: N - 'text'` of a socket error code (`ECONNREFUSED` is `errno: 111 - 'Connection refused'`),
 * or the error's own words for other errors (DNS failures). Internal.
 */
export function describeErrno(code: string | undefined, fallback: string): string {
  const known = code === undefined ? undefined : ERRNO[code];
  return known ? `errno: ${known[0]} - '${known[1]}'` : fallback;
}

/** Why a connection failed, for `details.reason` of a `CM_CANNOT_CONNECT`. */
export type ConnectFailureReason =
  | 'refused'
  | 'unreachable'
  | 'timeout'
  | 'certificate'
  | 'identity'
  | 'closed'
  | 'reset'
  | 'stalled'
  | 'idle'
  | 'tls';

/** A 301 error with the seed's detail. Internal. */
export function cannotConnect(
  detail: string,
  reason: ConnectFailureReason,
  context: Readonly<Record<string, unknown>>,
  cause?: unknown,
): CmError {
  return new CmError('CM_CANNOT_CONNECT', detail, {
    details: { wire: 301, reason, ...context },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The wire number of an error (301 for errors without one). Internal. */
export function wireOf(error: CmError): number {
  const wire = (error.details as { wire?: unknown }).wire;
  if (typeof wire === 'number') return wire;
  return wireCodeOf(error.code as CmErrorCode);
}

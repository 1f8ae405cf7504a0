// The pure core: per-port hysteresis and the aggregate ok | failure state.
// Time is an input (`at` on every event); no timers, sockets or Date.now() in here.
import { HealthMonError } from '../errors';

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

/** Status of one port: `unknown` until its first verdict. */
export type PortStatus = 'unknown' | 'ok' | 'failure';

/**
 * Status of the node as a whole: `failure` when any port is in failure, `ok` when every port is ok,
 * `unknown` otherwise (only before every port has a verdict).
 */
export type AggregateStatus = 'unknown' | 'ok' | 'failure';

/**
 * How a port leaves `unknown`:
 * - `first-result` (default): the first probe result decides at once, so a node has a state after one cycle;
 * - `counted`: it needs `rise` consecutive successes to become ok, or `fall` consecutive failures to
 *   become failure, like any other change (conservative: a freshly started node takes no traffic before
 *   it proved itself `rise` times).
 */
export type InitialMode = 'first-result' | 'counted';

/** Hysteresis settings of the pure core. */
export interface HysteresisOptions {
  /** Consecutive successes needed to go from failure to ok (>= 1). */
  readonly rise: number;
  /** Consecutive failures needed to go from ok to failure (>= 1). */
  readonly fall: number;
  /** How a port leaves `unknown`; default `first-result`. */
  readonly initial?: InitialMode;
}

/** State of one port. */
export interface PortState {
  /** The port number. */
  readonly port: number;
  /** Current status after hysteresis. */
  readonly status: PortStatus;
  /** Time (ms, the clock of the events) the current status was entered; the creation time while unknown. */
  readonly since: number;
  /** Consecutive successful probes, up to and including the last result. */
  readonly successes: number;
  /** Consecutive failed probes, up to and including the last result. */
  readonly failures: number;
  /** While in failure: the reason of the most recent failed probe; otherwise `null`. */
  readonly reason: ProbeFailureReason | null;
  /** While in failure: the detail of the most recent failed probe; otherwise `null`. */
  readonly detail: string | null;
  /** The most recent probe result, or `null` before the first one. */
  readonly lastResult: ProbeResult | null;
  /** Time of the most recent probe result, or `null` before the first one. */
  readonly lastAt: number | null;
}

/** One failing port in the aggregate state. */
export interface PortFailureSummary {
  /** The port number. */
  readonly port: number;
  /** Reason of the most recent failed probe. */
  readonly reason: ProbeFailureReason;
  /** Detail of the most recent failed probe. */
  readonly detail: string;
  /** Time the port entered failure. */
  readonly since: number;
}

/** The whole state of the pure core: immutable, replaced on every step. */
export interface HealthState {
  /** Aggregate status of the node. */
  readonly status: AggregateStatus;
  /** Time the aggregate status was entered (the creation time while unknown). */
  readonly since: number;
  /** The ports in failure with their reasons, in configured order. */
  readonly failing: readonly PortFailureSummary[];
  /** Every port, in configured order. */
  readonly ports: readonly PortState[];
  /** The hysteresis settings this state evolves with. */
  readonly hysteresis: Required<HysteresisOptions>;
}

/** Input of the pure core: the result of probing one port at time `at`. */
export interface ProbeResultEvent {
  /** Discriminator. */
  readonly type: 'probe-result';
  /** Time of the result (ms). */
  readonly at: number;
  /** The probed port; must be one of the state's ports. */
  readonly port: number;
  /** The probe outcome. */
  readonly result: ProbeResult;
}

/** A port that changed status in one step. */
export interface PortChange {
  /** The port number. */
  readonly port: number;
  /** Status before. */
  readonly from: PortStatus;
  /** Status after. */
  readonly to: PortStatus;
  /** Time of the change. */
  readonly at: number;
  /** The reason when `to` is failure, else `null`. */
  readonly reason: ProbeFailureReason | null;
  /** The detail when `to` is failure, else `null`. */
  readonly detail: string | null;
}

/** Output of one step of the pure core. */
export interface HealthStep {
  /** The new state (the same object as the input when nothing at all changed). */
  readonly state: HealthState;
  /** Ports whose status changed in this step (zero or one entry). */
  readonly portChanges: readonly PortChange[];
  /**
   * True when the operator-visible summary changed: the aggregate status, the set of failing ports or
   * the reason of a failing port; exactly when {@link formatStateLine} of the new state differs from the
   * old one.
   */
  readonly changed: boolean;
}

function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new HealthMonError(
      'HEALTH_CONFIG_INVALID',
      `${name}: must be an integer >= 1 (got ${String(value)})`,
      [`${name}: must be an integer >= 1 (got ${String(value)})`],
    );
  }
}

/**
 * Creates the initial state: every port `unknown`, aggregate `unknown`, both since `at`.
 *
 * @param ports - the ports to track, unique, in the order to report them
 * @param hysteresis - rise/fall counts and initial mode
 * @param at - creation time (ms)
 * @returns the initial state
 * @throws {@link HealthMonError} `HEALTH_CONFIG_INVALID` on duplicate ports or invalid counts
 */
export function initialHealthState(
  ports: readonly number[],
  hysteresis: HysteresisOptions,
  at: number,
): HealthState {
  checkCount('rise', hysteresis.rise);
  checkCount('fall', hysteresis.fall);
  const seen = new Set<number>();
  for (const port of ports) {
    if (seen.has(port)) {
      const msg = `ports: port ${port} is listed twice`;
      throw new HealthMonError('HEALTH_CONFIG_INVALID', msg, [msg]);
    }
    seen.add(port);
  }
  return {
    status: 'unknown',
    since: at,
    failing: [],
    ports: ports.map((port) => ({
      port,
      status: 'unknown',
      since: at,
      successes: 0,
      failures: 0,
      reason: null,
      detail: null,
      lastResult: null,
      lastAt: null,
    })),
    hysteresis: {
      rise: hysteresis.rise,
      fall: hysteresis.fall,
      initial: hysteresis.initial ?? 'first-result',
    },
  };
}

function nextPortStatus(p: PortState, result: ProbeResult, h: Required<HysteresisOptions>): PortStatus {
  const successes = result.ok ? p.successes + 1 : 0;
  const failures = result.ok ? 0 : p.failures + 1;
  if (p.status === 'unknown' && h.initial === 'first-result') return result.ok ? 'ok' : 'failure';
  if (p.status !== 'ok' && successes >= h.rise) return 'ok';
  if (p.status !== 'failure' && failures >= h.fall) return 'failure';
  return p.status;
}

function aggregateOf(ports: readonly PortState[]): AggregateStatus {
  if (ports.some((p) => p.status === 'failure')) return 'failure';
  return ports.every((p) => p.status === 'ok') ? 'ok' : 'unknown';
}

/**
 * Applies one probe result: the pure transition function of the health monitor.
 *
 * A port in ok goes to failure after `fall` consecutive failed probes; a port in failure goes to ok after
 * `rise` consecutive successful probes; a port in unknown follows {@link InitialMode}. The aggregate is
 * failure iff any port is in failure. Nothing changes without a probe result.
 *
 * @param state - the current state
 * @param event - the probe result
 * @returns the new state, the port changes and whether the summary line changed
 * @throws {@link HealthMonError} `HEALTH_UNKNOWN_PORT` when the port is not tracked
 */
export function applyProbeResult(state: HealthState, event: ProbeResultEvent): HealthStep {
  const index = state.ports.findIndex((p) => p.port === event.port);
  const old = state.ports[index];
  if (old === undefined) {
    throw new HealthMonError('HEALTH_UNKNOWN_PORT', `port ${event.port} is not monitored`);
  }
  const { result, at } = event;
  const status = nextPortStatus(old, result, state.hysteresis);
  const inFailure = status === 'failure';
  const updated: PortState = {
    port: old.port,
    status,
    since: status === old.status ? old.since : at,
    successes: result.ok ? old.successes + 1 : 0,
    failures: result.ok ? 0 : old.failures + 1,
    // While in failure, a success that does not yet reach `rise` keeps the last failure's reason.
    reason: inFailure ? (result.ok ? old.reason : result.reason) : null,
    detail: inFailure ? (result.ok ? old.detail : result.detail) : null,
    lastResult: result,
    lastAt: at,
  };
  const ports = state.ports.slice();
  ports[index] = updated;
  const aggregate = aggregateOf(ports);
  const failing = ports.flatMap((p): PortFailureSummary[] =>
    p.status === 'failure'
      ? [{ port: p.port, reason: p.reason ?? 'error', detail: p.detail ?? '', since: p.since }]
      : [],
  );
  const next: HealthState = {
    status: aggregate,
    since: aggregate === state.status ? state.since : at,
    failing,
    ports,
    hysteresis: state.hysteresis,
  };
  const portChanges: PortChange[] =
    status === old.status
      ? []
      : [
          {
            port: old.port,
            from: old.status,
            to: status,
            at,
            reason: updated.reason,
            detail: updated.detail,
          },
        ];
  return { state: next, portChanges, changed: formatStateLine(next) !== formatStateLine(state) };
}

/**
 * The operator-facing summary line, stable and documented:
 * `current state: ok`, `current state: unknown`, or
 * `current state: failure (port 2121: connection refused, port 9090: timeout)` listing every failing port
 * in configured order with {@link reasonText} of its most recent failure.
 *
 * @param state - an aggregate state (only `status` and `failing` are read)
 * @returns the line, without trailing newline
 */
export function formatStateLine(state: Pick<HealthState, 'status' | 'failing'>): string {
  if (state.status !== 'failure') return `current state: ${state.status}`;
  const list = state.failing.map((f) => `port ${f.port}: ${reasonText(f.reason)}`).join(', ');
  return `current state: failure (${list})`;
}

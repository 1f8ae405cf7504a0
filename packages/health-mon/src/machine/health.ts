// The pure core: per-port hysteresis and the aggregate ok | failure state.
// Time is an input (`at` on every event); no timers, sockets or Date.now() in here.
import {
  type ConfigIssue,
  type HysteresisOptions,
  type HysteresisStatus,
  stepHysteresis,
} from '@proxyha/common';
import { HealthMonError } from '../errors';
import { type ProbeFailureReason, type ProbeResult, reasonText } from './result';

/** Status of one port: `unknown` until its first verdict. */
export type PortStatus = 'unknown' | 'ok' | 'failure';

/**
 * Status of the node as a whole: `failure` when any port is in failure, `ok` when every port is ok,
 * `unknown` otherwise (only before every port has a verdict).
 */
export type AggregateStatus = 'unknown' | 'ok' | 'failure';

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
  /**
   * The rise/fall settings this state evolves with (`@proxyha/common`'s hysteresis), `initial` filled
   * in: `first-result` lets a port's first probe result decide its first status at once; `counted` makes
   * it prove itself `rise` (or `fall`) times like any other change.
   */
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

function countIssue(name: string, value: number): ConfigIssue[] {
  return Number.isInteger(value) && value >= 1
    ? []
    : [{ path: name, message: `must be an integer >= 1 (got ${String(value)})` }];
}

/**
 * Creates the initial state: every port `unknown`, aggregate `unknown`, both since `at`.
 *
 * @param ports - the ports to track, unique, in the order to report them
 * @param hysteresis - rise/fall counts and how a port leaves `unknown` (`@proxyha/common`'s
 *   `HysteresisOptions`; `initial` defaults to `first-result`)
 * @param at - creation time (ms)
 * @returns the initial state
 * @throws {@link HealthMonError} `HEALTH_INVALID_ARGUMENT` on duplicate ports or invalid counts, with
 *   `details.issues`
 */
export function initialHealthState(
  ports: readonly number[],
  hysteresis: HysteresisOptions,
  at: number,
): HealthState {
  const issues = [...countIssue('rise', hysteresis.rise), ...countIssue('fall', hysteresis.fall)];
  const seen = new Set<number>();
  ports.forEach((port, i) => {
    if (seen.has(port)) issues.push({ path: `ports[${i}]`, message: `port ${port} is listed twice` });
    seen.add(port);
  });
  if (issues.length > 0) {
    const text = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new HealthMonError('HEALTH_INVALID_ARGUMENT', text, { details: { issues } });
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

const TO_HYSTERESIS: Readonly<Record<PortStatus, HysteresisStatus>> = {
  unknown: 'unknown',
  ok: 'up',
  failure: 'down',
};
const FROM_HYSTERESIS: Readonly<Record<HysteresisStatus, PortStatus>> = {
  unknown: 'unknown',
  up: 'ok',
  down: 'failure',
};

function aggregateOf(ports: readonly PortState[]): AggregateStatus {
  if (ports.some((p) => p.status === 'failure')) return 'failure';
  return ports.every((p) => p.status === 'ok') ? 'ok' : 'unknown';
}

/**
 * Applies one probe result: the pure transition function of the health monitor.
 *
 * A port in ok goes to failure after `fall` consecutive failed probes; a port in failure goes to ok after
 * `rise` consecutive successful probes (`@proxyha/common`'s `stepHysteresis`, with up/down read as
 * ok/failure); a port in unknown follows {@link HealthState.hysteresis}'s `initial`. The aggregate is
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
    throw new HealthMonError('HEALTH_UNKNOWN_PORT', `port ${event.port} is not monitored`, {
      details: { port: event.port },
    });
  }
  const { result, at } = event;
  const step = stepHysteresis(
    { status: TO_HYSTERESIS[old.status], successes: old.successes, failures: old.failures },
    result.ok,
    state.hysteresis,
  );
  const status = FROM_HYSTERESIS[step.status];
  const inFailure = status === 'failure';
  const updated: PortState = {
    port: old.port,
    status,
    since: status === old.status ? old.since : at,
    successes: step.successes,
    failures: step.failures,
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

/**
 * The line for one port's change, stable and documented: `port 2121: ok -> failure (connection refused:
 * ECONNREFUSED)`, or `port 2121: failure -> ok` (the CLI's `-v` lines; the monitor logs it at `debug`).
 *
 * @param change - a port change of {@link HealthStep.portChanges}
 * @returns the line, without trailing newline
 */
export function formatPortChange(change: PortChange): string {
  const why = change.reason === null ? '' : ` (${reasonText(change.reason)}: ${change.detail})`;
  return `port ${change.port}: ${change.from} -> ${change.to}${why}`;
}

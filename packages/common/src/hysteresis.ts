// Rise/fall hysteresis: a check must pass `rise` times in a row to count as up and fail `fall` times in a
// row to count as down. Pure: the caller feeds results in order.

/** The state of a check after hysteresis: `unknown` only before its first verdict. */
export type HysteresisStatus = 'unknown' | 'up' | 'down';

/** A check's status and its current run of results. */
export interface HysteresisState {
  /** Status after hysteresis. */
  readonly status: HysteresisStatus;
  /** Consecutive successes, up to and including the last result. */
  readonly successes: number;
  /** Consecutive failures, up to and including the last result. */
  readonly failures: number;
}

/**
 * How a check leaves `unknown`: `first-result` lets the first result decide at once; `counted` needs
 * `rise` successes or `fall` failures like any other change.
 */
export type HysteresisInitial = 'first-result' | 'counted';

/** Rise/fall settings. */
export interface HysteresisOptions {
  /** Consecutive successes from down (or unknown) to up, at least 1. */
  readonly rise: number;
  /** Consecutive failures from up (or unknown) to down, at least 1. */
  readonly fall: number;
  /** How `unknown` is left; default `first-result`. */
  readonly initial?: HysteresisInitial;
}

/**
 * A fresh state.
 *
 * @param status - where to start: `unknown` (default), or `up`/`down` for a check assumed good or bad
 */
export function initialHysteresis(status: HysteresisStatus = 'unknown'): HysteresisState {
  return { status, successes: 0, failures: 0 };
}

/**
 * Applies one result.
 *
 * @param state - the state before
 * @param success - whether the check passed
 * @param options - rise, fall and how to leave `unknown`
 * @returns the state after (the status changes only when a run reaches `rise` or `fall`)
 */
export function stepHysteresis(
  state: HysteresisState,
  success: boolean,
  options: HysteresisOptions,
): HysteresisState {
  const successes = success ? state.successes + 1 : 0;
  const failures = success ? 0 : state.failures + 1;
  let status = state.status;
  if (status === 'unknown' && (options.initial ?? 'first-result') === 'first-result')
    status = success ? 'up' : 'down';
  else if (status !== 'up' && successes >= options.rise) status = 'up';
  else if (status !== 'down' && failures >= options.fall) status = 'down';
  return { status, successes, failures };
}

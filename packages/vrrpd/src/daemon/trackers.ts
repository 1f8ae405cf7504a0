// keepalived's vrrp_script and track_file: they report up/down to an instance's machine.
import { readFile } from 'node:fs/promises';
import {
  type Clock,
  type CommandRunner,
  type HysteresisState,
  initialHysteresis,
  type Logger,
  stepHysteresis,
} from '@proxyha/common';
import type { TrackFileConfig, TrackScriptConfig } from '../config/config';

/** A running tracker. */
export interface RunningTracker {
  /** Stops it; no report after this. */
  stop(): void;
}

/** Where a tracker reports a change of its state. */
export type TrackerReport = (state: 'up' | 'down') => void;

/** What trackers need from the daemon. */
export interface TrackerContext {
  readonly clock: Clock;
  readonly run: CommandRunner;
  readonly logger: Logger;
}

/**
 * Runs a track script every `interval` (the next run starts `interval` after the previous one ends), with
 * keepalived's rise/fall and its log lines: ``Script `chk` now returning 1`` when the exit status changes,
 * ``Script `chk` timed out``, and `(VI_1) VRRP_Script(chk) failed (exited with status 1)` /
 * `(VI_1) VRRP_Script(chk) succeeded` when the tracker's state changes. A script that hangs is killed
 * after `timeout` and counts as failed; it never delays the machine or the adverts.
 */
export function startTrackScript(
  instance: string,
  s: TrackScriptConfig,
  report: TrackerReport,
  ctx: TrackerContext,
): RunningTracker {
  let state: HysteresisState = initialHysteresis('up');
  let lastStatus: number | null | undefined = 0;
  let stopped = false;
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  const [file, ...args] = s.command as [string, ...string[]];
  const once = async () => {
    const r = await ctx.run(file, args, { timeoutMs: s.timeout });
    if (stopped) return;
    const status = r.timedOut ? null : r.code;
    if (status !== lastStatus) {
      lastStatus = status;
      ctx.logger.info(
        status === null ? `Script \`${s.name}\` timed out` : `Script \`${s.name}\` now returning ${status}`,
      );
    }
    const before = state.status;
    state = stepHysteresis(state, r.code === 0, { rise: s.rise, fall: s.fall });
    if (state.status !== before && state.status !== 'unknown') {
      ctx.logger.info(
        state.status === 'up'
          ? `(${instance}) VRRP_Script(${s.name}) succeeded`
          : `(${instance}) VRRP_Script(${s.name}) failed (${status === null ? 'timed out' : `exited with status ${status}`})`,
      );
      report(state.status);
    }
    timer = ctx.clock.setTimeout(() => void once(), s.interval);
  };
  void once();
  return {
    stop: () => {
      stopped = true;
      if (timer) ctx.clock.clearTimeout(timer);
    },
  };
}

/** How often a track file is read. */
const TRACK_FILE_POLL_MS = 1000;

/**
 * Polls a track file every second (keepalived's `track_file`: the file holds an integer; 0, an empty file
 * or no file means healthy) and reports each change.
 */
export function startTrackFile(
  f: TrackFileConfig,
  report: TrackerReport,
  ctx: TrackerContext,
): RunningTracker {
  let last: 'up' | 'down' | undefined;
  let stopped = false;
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  const poll = async () => {
    const text = await readFile(f.path, 'utf8').catch(() => '0');
    if (stopped) return;
    const value = Number.parseInt(text.trim() || '0', 10);
    const state = Number.isFinite(value) && value === 0 ? 'up' : 'down';
    if (state !== last) {
      last = state;
      report(state);
    }
    timer = ctx.clock.setTimeout(() => void poll(), TRACK_FILE_POLL_MS);
  };
  void poll();
  return {
    stop: () => {
      stopped = true;
      if (timer) ctx.clock.clearTimeout(timer);
    },
  };
}

// Shared fixtures of the daemon's unit tests.
import { type ConfigIssue, ManualClock } from '@proxyha/common';
import { afterEach, expect } from 'vitest';
import { parseVrrpDaemonConfig, type VrrpDaemon, VrrpdError } from '../src/index';

/** The `path: message` lines of a config the parser refuses (fails the test if it accepts it). */
export function configIssues(data: unknown): string[] {
  try {
    parseVrrpDaemonConfig(data);
  } catch (e) {
    expect(e).toBeInstanceOf(VrrpdError);
    expect((e as VrrpdError).code).toBe('VRRPD_CONFIG_INVALID');
    return (e as VrrpdError<{ issues: ConfigIssue[] }>).details.issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('config was accepted');
}

/** Virtual time for a test file: a fresh manual clock per test; daemons kept in `daemons` are stopped after each. */
export interface VirtualTime {
  /** This test's clock. */
  readonly clock: ManualClock;
  /** Daemons to stop after the test. */
  readonly daemons: VrrpDaemon[];
  /** Stops a daemon while virtual time runs (its last adverts and log lines need the event loop). */
  stop(d: VrrpDaemon): Promise<void>;
  /** Advances virtual time until `cond` holds (at most `ms`). */
  until(what: string, cond: () => boolean | undefined, ms?: number): Promise<number>;
}

/** Sets up {@link VirtualTime} for the calling test file (call at module level). */
export function useVirtualTime(onReset?: (clock: ManualClock) => void): VirtualTime {
  let clock = new ManualClock();
  const daemons: VrrpDaemon[] = [];
  const time: VirtualTime = {
    get clock() {
      return clock;
    },
    daemons,
    async stop(d) {
      const stopping = d.stop();
      await clock.advanceAsync(5);
      await stopping;
    },
    until: (_what, cond, ms = 10_000) => clock.until(() => cond() === true, ms),
  };
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => time.stop(d)));
    clock = new ManualClock();
    onReset?.(clock);
  });
  return time;
}

// The time-skew guard of a node: checks the configured servers every interval and keeps the last verdict.

import { formatEndpoint } from '@proxyha/cm-coordinator';
import { type Clock, type Logger, noopLogger, systemClock, type TimerHandle } from '@proxyha/common';
import { checkSkew, NtpClient, type SkewReport } from '@proxyha/ntp-check';
import type { GatewayNtpConfig } from '../config/types';
import type { GatewayNtpStatus } from './types';

/** Runs one check; the default queries the servers with `@proxyha/ntp-check`'s `checkSkew`. */
export type SkewCheck = (config: GatewayNtpConfig, client: NtpClient) => Promise<SkewReport>;

const defaultCheck: SkewCheck = (c, client) =>
  checkSkew({
    servers: c.servers,
    maxOffset: c.maxOffsetMs,
    warnOffset: c.warnOffsetMs,
    panicThreshold: c.panicThresholdMs,
    client,
  });

/**
 * Checks the clock at start and then every `intervalMs`; logs each change of verdict (`time-skew guard:
 * fail (time difference too high: ...)`) and calls `onChange` after it.
 */
export class NtpGuard {
  readonly #config: GatewayNtpConfig | undefined;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #check: SkewCheck;
  readonly #onChange: () => void;
  readonly #client: NtpClient | undefined;
  #timer: TimerHandle | undefined;
  #report: SkewReport | undefined;
  #checkedAt: number | null = null;
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(
    config: GatewayNtpConfig | undefined,
    options: { clock?: Clock; logger?: Logger; check?: SkewCheck; onChange?: () => void } = {},
  ) {
    this.#config = config;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger ?? noopLogger;
    this.#check = options.check ?? defaultCheck;
    this.#onChange = options.onChange ?? (() => {});
    this.#client = config ? new NtpClient({ timeout: config.timeoutMs, clock: this.#clock }) : undefined;
  }

  /** Starts checking (the first check runs now, in the background). */
  start(): void {
    if (!this.#config) return;
    this.#tick();
  }

  /** The verdict as the status shows it. */
  status(): GatewayNtpStatus {
    const c = this.#config;
    if (!c) return { verdict: 'off', offsetMs: null, servers: [], message: null, checkedAt: null };
    const r = this.#report;
    return {
      verdict: r ? r.verdict : 'unknown',
      offsetMs: r?.offsetMs ?? null,
      servers: c.servers.map((s) => formatEndpoint(s)),
      message: r?.reasons[0]?.message ?? null,
      checkedAt: this.#checkedAt,
    };
  }

  /** True while the last check failed (a save stamped by this clock would be wrong). */
  get failing(): boolean {
    return this.#report?.verdict === 'fail';
  }

  /** Stops checking; waits for a check under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #tick(): void {
    const c = this.#config;
    if (!c || this.#stopped) return;
    this.#running = this.#check(c, this.#client as NtpClient)
      .then((report) => this.#record(report))
      .catch((e: unknown) => this.#log.error(`time-skew guard: check failed: ${(e as Error).message}`))
      .finally(() => {
        if (!this.#stopped) this.#timer = this.#clock.setTimeout(() => this.#tick(), c.intervalMs);
      });
  }

  #record(report: SkewReport): void {
    if (this.#stopped) return;
    const before = this.#report;
    this.#report = report;
    this.#checkedAt = this.#clock.wallTime();
    const offset =
      report.offsetMs === undefined
        ? 'unknown'
        : `${report.offsetMs >= 0 ? '+' : ''}${report.offsetMs.toFixed(1)} ms`;
    const changed =
      before?.verdict !== report.verdict || before?.reasons[0]?.code !== report.reasons[0]?.code;
    if (changed) {
      const line = `time-skew guard: ${report.verdict} (offset ${offset}): ${report.reasons[0]?.message ?? 'ok'}`;
      if (report.verdict === 'fail') this.#log.error(line);
      else if (report.verdict === 'warn') this.#log.warn(line);
      else this.#log.info(line);
    }
    this.#onChange();
  }
}

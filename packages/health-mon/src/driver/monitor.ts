// The driver: schedules probe cycles (interval, jitter, bounded concurrency) on a Clock, feeds the
// results into the pure core and emits events. It knows nothing about who consumes them.
import { EventEmitter, setMaxListeners } from 'node:events';
import { type Clock, type Logger, noopLogger, systemClock, type TimerHandle } from '@proxyha/common';
import {
  type MonitorSettings,
  type ResolvedPortCheck,
  resolveSettings,
  type SettingsInput,
} from '../config/config';
import {
  applyProbeResult,
  formatPortChange,
  formatStateLine,
  type HealthState,
  initialHealthState,
  type PortChange,
  type PortFailureSummary,
  type ProbeResult,
} from '../machine/index';
import { type ProbeKind, type Prober, probePort } from './probe';

/** Options of {@link HealthMonitor} and {@link checkPorts}: settings plus injectable I/O. */
export interface HealthMonitorOptions extends SettingsInput {
  /**
   * Clock and timers (`@proxyha/common`'s `Clock`; default its `systemClock`). Cycles are scheduled on
   * its monotonic `now()`; the times in states and events are its `wallTime()` (ms since the epoch).
   */
  clock?: Clock | undefined;
  /**
   * Where the monitor logs (`@proxyha/common`'s `Logger`; default `noopLogger`): every summary change
   * as its {@link formatStateLine} line (`info`, or `warn` for failure) and every port change as its
   * {@link formatPortChange} line (`debug`).
   */
  logger?: Logger | undefined;
  /** Source of jitter, uniform in [0, 1); default `Math.random`. */
  random?: (() => number) | undefined;
  /** The probe function; default {@link probePort} (real sockets). */
  prober?: Prober | undefined;
}

/** One probe result as emitted by the monitor. */
export interface ProbeEvent {
  /** The port. */
  readonly port: number;
  /** The probe kind. */
  readonly probe: ProbeKind;
  /** Wall-clock time of the result (ms since the epoch). */
  readonly at: number;
  /** The result. */
  readonly result: ProbeResult;
}

/** A change of the operator-visible summary (see {@link HealthStep.changed}). */
export interface HealthChange {
  /** State before. */
  readonly previous: HealthState;
  /** State after. */
  readonly current: HealthState;
  /** {@link formatStateLine} of `current`, e.g. `current state: failure (port 2121: connection refused)`. */
  readonly line: string;
  /** Wall-clock time of the change (ms since the epoch). */
  readonly at: number;
}

/** Events of {@link HealthMonitor}, for `on`/`once`/`off`. */
export interface HealthMonitorEvents {
  /** The summary changed: aggregate status, failing ports or their reasons. One log line per event. */
  change: [HealthChange];
  /** One port changed status. */
  port: [PortChange];
  /** Every probe result (before it is applied). */
  probe: [ProbeEvent];
}

/** A listener of {@link HealthMonitor.subscribe}. */
export type HealthListener = (state: HealthState, change: HealthChange | null) => void;

/** An AbortController whose signal may carry one listener per probe in flight without a leak warning. */
function newController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

function rethrowLater(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

async function runPool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function probeAll(
  settings: MonitorSettings,
  prober: Prober,
  signal: AbortSignal,
  onResult: (check: ResolvedPortCheck, result: ProbeResult) => void,
): Promise<void> {
  await runPool(settings.ports, settings.concurrency, async (check) => {
    if (signal.aborted) return;
    let result: ProbeResult;
    try {
      result = await prober(
        {
          host: settings.host,
          port: check.port,
          probe: check.probe,
          timeoutMs: settings.timeoutMs,
          http: check.http,
        },
        signal,
      );
    } catch (err) {
      result = {
        ok: false,
        reason: 'error',
        detail: `prober threw: ${(err as Error).message}`,
        latencyMs: 0,
      };
    }
    if (!signal.aborted) onResult(check, result);
  });
}

/**
 * The port health monitor: probes every configured port each interval (with jitter, at most
 * `concurrency` probes in flight, a new cycle only after the previous one finished), applies rise/fall
 * hysteresis per port and reports the node as a whole.
 *
 * Use it as a tracker: read {@link HealthMonitor.state}, and {@link HealthMonitor.subscribe} to changes
 * (or listen to the `change`, `port` and `probe` events). A listener that throws does not disturb the
 * monitor: its error is rethrown from a microtask (an uncaught exception, so it is not lost).
 *
 * @example
 * ```ts
 * const mon = new HealthMonitor({ host: '192.168.77.11', ports: [9090, 2121] });
 * mon.on('change', (c) => console.log(c.line)); // current state: failure (port 2121: connection refused)
 * mon.start();
 * // ...
 * await mon.stop();
 * ```
 */
export class HealthMonitor extends EventEmitter<HealthMonitorEvents> {
  /** The validated settings in use. */
  readonly settings: MonitorSettings;
  #state: HealthState;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #random: () => number;
  readonly #prober: Prober;
  #running = false;
  #timer: TimerHandle | undefined;
  #abort = newController();
  #chain: Promise<void> = Promise.resolve();
  #cycleStart = 0;
  #generation = 0;

  /**
   * @param options - settings and injectable I/O
   * @throws {@link HealthMonError} `HEALTH_CONFIG_INVALID` when the settings do not validate
   */
  constructor(options: HealthMonitorOptions) {
    super();
    const { clock, logger, random, prober, ...settings } = options;
    this.settings = resolveSettings(settings);
    this.#clock = clock ?? systemClock;
    this.#logger = logger ?? noopLogger;
    this.#random = random ?? Math.random;
    this.#prober = prober ?? probePort;
    this.#state = initialHealthState(
      this.settings.ports.map((p) => p.port),
      { rise: this.settings.rise, fall: this.settings.fall, initial: this.settings.initial },
      this.#clock.wallTime(),
    );
  }

  /** The current state (immutable snapshot; a new object after every change). */
  get state(): HealthState {
    return this.#state;
  }

  /** The current summary line, e.g. `current state: ok`. */
  get line(): string {
    return formatStateLine(this.#state);
  }

  /** Whether {@link HealthMonitor.start} was called and {@link HealthMonitor.stop} not yet. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Calls `listener` on every summary change, and once right away with the current state (change
   * `null`) unless `immediate` is false.
   *
   * @param listener - called with the new state and the change
   * @param immediate - also call it now with the current state (default true)
   * @returns a function that unsubscribes
   */
  subscribe(listener: HealthListener, immediate = true): () => void {
    const onChange = (change: HealthChange) => listener(change.current, change);
    this.on('change', onChange);
    if (immediate) listener(this.#state, null);
    return () => {
      this.off('change', onChange);
    };
  }

  /** Starts probing: the first cycle at once, then every interval (± jitter). Idempotent. */
  start(): this {
    if (this.#running) return this;
    this.#running = true;
    this.#generation++;
    if (this.#abort.signal.aborted) this.#abort = newController();
    this.#scheduleCycle(this.#generation);
    return this;
  }

  /**
   * Stops probing: cancels the next cycle, aborts probes in flight (their results are discarded) and
   * resolves when the current cycle has ended. The state is kept; {@link HealthMonitor.start} resumes.
   */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#chain;
  }

  /**
   * Runs one probe cycle now (after any cycle in progress) and applies the results, independent of the
   * schedule. Useful for tests and for an immediate re-check.
   *
   * @returns resolves when the cycle has ended
   */
  runCycle(): Promise<void> {
    if (this.#abort.signal.aborted) this.#abort = newController();
    return this.#enqueue();
  }

  #enqueue(): Promise<void> {
    const signal = this.#abort.signal;
    const cycle = this.#chain.then(async () => {
      if (signal.aborted) return;
      await probeAll(this.settings, this.#prober, signal, (check, result) => this.#apply(check, result));
    });
    this.#chain = cycle.catch(rethrowLater);
    return this.#chain;
  }

  #scheduleCycle(generation: number): void {
    this.#timer = undefined;
    if (!this.#running || generation !== this.#generation) return;
    this.#cycleStart = this.#clock.now();
    void this.#enqueue().then(() => {
      if (!this.#running || generation !== this.#generation) return;
      const { intervalMs, jitter } = this.settings;
      const target = intervalMs * (1 + jitter * (2 * this.#random() - 1));
      // Monotonic time: a wall clock stepped by NTP neither postpones nor hastens the next cycle.
      const delay = Math.max(0, target - (this.#clock.now() - this.#cycleStart));
      this.#timer = this.#clock.setTimeout(() => this.#scheduleCycle(generation), delay);
    });
  }

  #emit<K extends keyof HealthMonitorEvents>(event: K, ...args: HealthMonitorEvents[K]): void {
    try {
      // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's generic emit signature is not inferable here
      (this.emit as any)(event, ...args);
    } catch (err) {
      rethrowLater(err); // a throwing listener must not break the monitor's loop
    }
  }

  #apply(check: ResolvedPortCheck, result: ProbeResult): void {
    const at = this.#clock.wallTime();
    this.#emit('probe', { port: check.port, probe: check.probe, at, result });
    const previous = this.#state;
    const step = applyProbeResult(previous, { type: 'probe-result', at, port: check.port, result });
    this.#state = step.state;
    for (const change of step.portChanges) {
      this.#logger.debug(formatPortChange(change), {
        port: change.port,
        from: change.from,
        to: change.to,
        reason: change.reason,
        detail: change.detail,
      });
      this.#emit('port', change);
    }
    if (step.changed) {
      const line = formatStateLine(step.state);
      const fields = { status: step.state.status, failing: step.state.failing.map((f) => f.port) };
      if (step.state.status === 'failure') this.#logger.warn(line, fields);
      else this.#logger.info(line, fields);
      this.#emit('change', { previous, current: step.state, line, at });
    }
  }
}

/** One port's result in a {@link CheckReport}. */
export interface PortCheckResult {
  /** The port. */
  readonly port: number;
  /** The probe kind. */
  readonly probe: ProbeKind;
  /** The result of the single probe. */
  readonly result: ProbeResult;
}

/** The outcome of {@link checkPorts}: one probe per port, no hysteresis. */
export interface CheckReport {
  /** `ok` when every port answered, else `failure`. */
  readonly status: 'ok' | 'failure';
  /** Wall-clock time when the check finished (ms since the epoch). */
  readonly at: number;
  /** The probed address. */
  readonly host: string;
  /** Every port with its result, in configured order. */
  readonly ports: readonly PortCheckResult[];
  /** The failing ports (see {@link PortFailureSummary}; `since` is the check time). */
  readonly failing: readonly PortFailureSummary[];
  /** The summary line, e.g. `current state: failure (port 2121: connection refused)`. */
  readonly line: string;
}

/**
 * Checks every port once (the `-c` mode of the CLI): one probe per port with bounded concurrency, no
 * hysteresis; the node is ok iff every port answered.
 *
 * @param options - settings and injectable I/O (`clock` only stamps the report; nothing is logged)
 * @returns the report
 * @throws {@link HealthMonError} `HEALTH_CONFIG_INVALID` when the settings do not validate
 */
export async function checkPorts(options: HealthMonitorOptions): Promise<CheckReport> {
  const { clock, prober, random: _random, logger: _logger, ...input } = options;
  const settings = resolveSettings(input);
  const results = new Map<number, ProbeResult>();
  await probeAll(settings, prober ?? probePort, newController().signal, (check, result) => {
    results.set(check.port, result);
  });
  const at = (clock ?? systemClock).wallTime();
  const ports = settings.ports.map((c) => ({ port: c.port, probe: c.probe, result: results.get(c.port)! }));
  const failing = ports.flatMap(({ port, result }): PortFailureSummary[] =>
    result.ok ? [] : [{ port, reason: result.reason, detail: result.detail, since: at }],
  );
  const status = failing.length === 0 ? 'ok' : 'failure';
  return { status, at, host: settings.host, ports, failing, line: formatStateLine({ status, failing }) };
}

// The body of proxyha-mon: check the redirect ports once (-c, like `mwg-mon -v -c`) or monitor them
// continuously and print one line per change. Exit codes: 0 ok (or a clean stop), 1 failure (-c), 2 bad
// arguments or configuration (usage and configuration errors are thrown; @proxyha/common/cli's runCli
// prints them and exits 2). Everything is written through `io`.
import { type Clock, parseDuration } from '@proxyha/common';
import { type CliIo, EXIT_OK, EXIT_USAGE, usageError } from '@proxyha/common/cli';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { version } from '../../package.json';
import {
  DURATION_LIMITS,
  loadMonitorConfig,
  type MonitorSettings,
  type PortCheck,
  resolveSettings,
} from '../config/config';
import { HealthMonitor } from '../driver/monitor';
import type { Prober } from '../driver/probe';
import {
  formatPortChange,
  formatStateLine,
  type HealthState,
  type PortChange,
  reasonText,
} from '../machine/index';
import { runPortCheck } from './check';

/** What {@link main} runs on besides its arguments: injectable for in-process tests. */
export interface MainOptions {
  /** Clock of the monitor and of the timestamps; default `@proxyha/common`'s `systemClock`. */
  readonly clock?: Clock;
  /** The probe function; default the real prober. */
  readonly prober?: Prober;
  /** Source of jitter; default `Math.random`. */
  readonly random?: () => number;
  /**
   * Ends continuous mode (its reason, such as `'SIGTERM'`, is named in the `-v` stop note); default: the
   * process's SIGINT or SIGTERM.
   */
  readonly stop?: AbortSignal;
}

interface CliOptions {
  check?: boolean;
  verbose?: boolean;
  json?: boolean;
  host?: string;
  port?: number[];
  httpPort?: number[];
  httpUrl?: string;
  httpMethod?: string;
  config?: string;
  interval?: number;
  timeout?: number;
  rise?: number;
  fall?: number;
  concurrency?: number;
  jitter?: number;
  initial?: 'first-result' | 'counted';
}

function portArg(value: string, previous: number[] | undefined): number[] {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535)
    throw new InvalidArgumentError('not a port number (1-65535).');
  return [...(previous ?? []), n];
}

function countArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000)
    throw new InvalidArgumentError('not an integer from 1 to 1000.');
  return n;
}

function durationArg(value: string): number {
  const parsed = parseDuration(value, DURATION_LIMITS);
  if (!parsed.ok) throw new InvalidArgumentError(`${parsed.error}.`);
  return parsed.value;
}

function jitterArg(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 0.5) {
    throw new InvalidArgumentError('not a fraction from 0 to 0.5.');
  }
  return n;
}

function initialArg(value: string): 'first-result' | 'counted' {
  if (value !== 'first-result' && value !== 'counted') {
    throw new InvalidArgumentError("must be 'first-result' or 'counted'.");
  }
  return value;
}

function program(io: CliIo): Command {
  return new Command()
    .name('proxyha-mon')
    .description(
      'Port health monitor: all redirect ports as a whole. The node is ok when every port answers and in ' +
        'failure when any one does not. Without -c it runs until SIGINT/SIGTERM and prints one line per change.',
    )
    .usage('-c [-v] [--json] [--host H] --port P [--port P ...] | --config FILE [options]')
    .option('-c, --check', 'check every port once and exit: 0 when all are ok, 1 on failure')
    .option('-v, --verbose', 'list every port with its result and latency (-c); also log port changes')
    .option('--json', 'print one JSON document (-c), or one JSON object per line (continuous)')
    .option('--host <address>', 'address of the node to probe (default 127.0.0.1)')
    .option('-p, --port <port>', 'TCP port to probe; repeat for several', portArg)
    .option('--http-port <port>', 'port to probe with an HTTP request through the proxy; repeatable', portArg)
    .option('--http-url <url>', 'absolute URL the HTTP probe requests through the proxy (default: GET /)')
    .option('--http-method <method>', 'method of the HTTP probe (default GET)')
    .option('--config <file>', 'YAML or JSON configuration file (flags override its settings)')
    .option('--interval <duration>', 'time between probe cycles (default 2s)', durationArg)
    .option('--timeout <duration>', 'timeout of one probe (default 1s)', durationArg)
    .option('--rise <n>', 'consecutive successes from failure to ok (default 2)', countArg)
    .option('--fall <n>', 'consecutive failures from ok to failure (default 3)', countArg)
    .option('--concurrency <n>', 'maximum probes in flight (default 16)', countArg)
    .option('--jitter <fraction>', 'random spread of the interval, 0 to 0.5 (default 0.1)', jitterArg)
    .option('--initial <mode>', "how ports leave 'unknown': first-result or counted", initialArg)
    .version(version, '-V, --version')
    .helpOption('-h, --help', 'show this help')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`proxyha-mon: ${text}`),
    })
    .showHelpAfterError('(run proxyha-mon --help for usage)')
    .exitOverride();
}

async function settingsFrom(opts: CliOptions): Promise<MonitorSettings> {
  const http = {
    ...(opts.httpUrl === undefined ? {} : { url: opts.httpUrl }),
    ...(opts.httpMethod === undefined ? {} : { method: opts.httpMethod }),
  };
  const cliPorts: PortCheck[] = [
    ...(opts.port ?? []).map((port) => ({ port, probe: 'tcp' as const })),
    ...(opts.httpPort ?? []).map((port) => ({ port, probe: 'http' as const, http })),
  ];
  if ((opts.httpUrl !== undefined || opts.httpMethod !== undefined) && (opts.httpPort ?? []).length === 0) {
    usageError('--http-url and --http-method apply to --http-port ports; none given');
  }
  const scalars = {
    host: opts.host,
    rise: opts.rise,
    fall: opts.fall,
    concurrency: opts.concurrency,
    jitter: opts.jitter,
    initial: opts.initial,
  };
  if (opts.config !== undefined) {
    if (cliPorts.length > 0) {
      usageError('--port/--http-port and --config are mutually exclusive: list the ports in the file');
    }
    return loadMonitorConfig(opts.config, { ...scalars, interval: opts.interval, timeout: opts.timeout });
  }
  if (cliPorts.length === 0) usageError('no ports: give --port P (repeatable) or --config FILE');
  return resolveSettings(
    { ...scalars, ports: cliPorts, intervalMs: opts.interval, timeoutMs: opts.timeout },
    'command line',
  );
}

const iso = (ms: number) => new Date(ms).toISOString();

function stateJson(state: HealthState, at: number): Record<string, unknown> {
  return {
    event: 'state',
    at: iso(at),
    status: state.status,
    since: iso(state.since),
    line: formatStateLine(state),
    failing: state.failing.map((f) => ({
      port: f.port,
      reason: f.reason,
      reasonText: reasonText(f.reason),
      detail: f.detail,
      since: iso(f.since),
    })),
  };
}

function portJson(change: PortChange): Record<string, unknown> {
  return {
    event: 'port',
    at: iso(change.at),
    port: change.port,
    from: change.from,
    to: change.to,
    reason: change.reason,
    detail: change.detail,
  };
}

/** An AbortSignal aborted (with the signal's name as reason) by the process's first SIGINT or SIGTERM. */
function processSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    dispose();
    controller.abort(name);
  };
  const dispose = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signal: controller.signal, dispose };
}

async function runContinuously(
  settings: MonitorSettings,
  opts: CliOptions,
  io: CliIo,
  options: MainOptions,
): Promise<number> {
  const signals = options.stop === undefined ? processSignals() : undefined;
  const stop = options.stop ?? (signals as { signal: AbortSignal }).signal;
  try {
    const mon = new HealthMonitor({
      ...settings,
      clock: options.clock,
      prober: options.prober,
      random: options.random,
    });
    const out = (text: string) => io.stdout.write(`${text}\n`);
    mon.on('change', (c) => out(opts.json ? JSON.stringify(stateJson(c.current, c.at)) : c.line));
    if (opts.verbose) {
      mon.on('port', (c) => out(opts.json ? JSON.stringify(portJson(c)) : formatPortChange(c)));
      const ports = settings.ports.map((p) => `${p.port}/${p.probe}`).join(', ');
      io.stderr.write(
        `proxyha-mon: monitoring ${settings.host} ports ${ports} every ${settings.intervalMs} ms ` +
          `(timeout ${settings.timeoutMs} ms, rise ${settings.rise}, fall ${settings.fall})\n`,
      );
    }
    await new Promise<void>((resolve) => {
      if (stop.aborted) resolve();
      else stop.addEventListener('abort', () => resolve(), { once: true });
      mon.start();
    });
    await mon.stop();
    if (opts.verbose) io.stderr.write(`proxyha-mon: stopped (${String(stop.reason)})\n`);
    return EXIT_OK;
  } finally {
    signals?.dispose();
  }
}

/**
 * The `proxyha-mon` command: parses `argv` (the arguments after the program name), checks once (`-c`) or
 * monitors until stopped, and returns the exit status: 0 ok (or a clean stop), 1 failure (`-c`), 2 for
 * an argument commander rejects. A usage error (`COMMON_USAGE`), an invalid configuration
 * (`HEALTH_CONFIG_INVALID`) or an unreadable file (`COMMON_CONFIG_READ`) is thrown for
 * `@proxyha/common/cli`'s `runCli`, which prints it and exits 2.
 *
 * @param argv - the arguments after the program name
 * @param io - where output goes
 * @param options - clock, prober and stop signal (tests)
 * @returns the exit status
 */
export async function main(argv: readonly string[], io: CliIo, options: MainOptions = {}): Promise<number> {
  const cmd = program(io);
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    throw err;
  }
  const opts = cmd.opts<CliOptions>();
  const settings = await settingsFrom(opts);
  if (opts.check)
    return runPortCheck(settings, io, { ...opts, clock: options.clock, prober: options.prober });
  return runContinuously(settings, opts, io, options);
}

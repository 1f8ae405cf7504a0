// The check-once mode (`proxyha-mon -c [-v] [--json]`, as `mwg-mon -v -c`): probe every port once, print
// the verdict as the CLI prints it, and return the exit status. Exported, so that a program that embeds
// the monitor (the gateway's `proxyha mon -c`) prints exactly what `proxyha-mon -c` prints.
import type { Clock } from '@proxyha/common';
import { type CliIo, EXIT_FAILURE, EXIT_OK, printJson } from '@proxyha/common/cli';
import type { MonitorSettings } from '../config/config';
import { type CheckReport, checkPorts } from '../driver/monitor';
import type { ProbeKind, Prober } from '../driver/probe';
import { type ProbeResult, reasonText } from '../machine/index';

/** Options of {@link runPortCheck}. */
export interface PortCheckCommandOptions {
  /** `-v`: one line per port with its result and latency before the verdict. */
  readonly verbose?: boolean | undefined;
  /** `--json`: one JSON document (see {@link checkReportDocument}) instead of text. */
  readonly json?: boolean | undefined;
  /** Stamps the report; default `@proxyha/common`'s `systemClock`. */
  readonly clock?: Clock | undefined;
  /** The probe function; default the real prober. */
  readonly prober?: Prober | undefined;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
const iso = (ms: number) => new Date(ms).toISOString();

function resultText(result: ProbeResult): string {
  if (result.ok) return result.httpStatus === undefined ? 'ok' : `ok (HTTP ${result.httpStatus})`;
  return `${reasonText(result.reason)} (${result.detail})`;
}

function resultJson(port: number, probe: ProbeKind, result: ProbeResult): Record<string, unknown> {
  return result.ok
    ? { port, probe, ok: true, latencyMs: round(result.latencyMs), httpStatus: result.httpStatus }
    : {
        port,
        probe,
        ok: false,
        reason: result.reason,
        reasonText: reasonText(result.reason),
        detail: result.detail,
        latencyMs: round(result.latencyMs),
      };
}

/**
 * The `--json` document of `proxyha-mon -c`: `status`, `line`, `host`, `checkedAt` (ISO time) and every
 * port with `port`, `probe`, `ok`, `latencyMs` (and `httpStatus`, or `reason`, `reasonText`, `detail`).
 *
 * @param report - what {@link checkPorts} returned
 */
export function checkReportDocument(report: CheckReport): Record<string, unknown> {
  return {
    status: report.status,
    line: report.line,
    host: report.host,
    checkedAt: iso(report.at),
    ports: report.ports.map((p) => resultJson(p.port, p.probe, p.result)),
  };
}

/**
 * The text of `proxyha-mon -c`: the verdict line (`current state: ok`, `current state: failure (port
 * 2121: connection refused)`), after one line per port with `-v` (`port 9090 (tcp): ok, 0.214 ms`).
 *
 * @param report - what {@link checkPorts} returned
 * @param verbose - list every port first
 */
export function formatCheckReport(report: CheckReport, verbose = false): string {
  const lines = verbose
    ? report.ports.map(
        ({ port, probe, result }) =>
          `port ${port} (${probe}): ${resultText(result)}, ${round(result.latencyMs)} ms`,
      )
    : [];
  lines.push(report.line);
  return `${lines.join('\n')}\n`;
}

/**
 * `proxyha-mon -c [-v] [--json]` on validated settings: probes every port once (no hysteresis), prints the
 * verdict to `io.stdout` and returns the exit status, 0 when every port answered, 1 on failure.
 *
 * @param settings - the monitor's settings (host and ports; `timeoutMs` and `concurrency` apply)
 * @param io - where the output goes
 * @param options - `-v`, `--json`, and an injectable clock and prober
 */
export async function runPortCheck(
  settings: MonitorSettings,
  io: CliIo,
  options: PortCheckCommandOptions = {},
): Promise<number> {
  const report = await checkPorts({ ...settings, clock: options.clock, prober: options.prober });
  if (options.json) printJson(io, checkReportDocument(report));
  else io.stdout.write(formatCheckReport(report, options.verbose === true));
  return report.status === 'ok' ? EXIT_OK : EXIT_FAILURE;
}

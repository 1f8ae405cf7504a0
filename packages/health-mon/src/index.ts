/**
 * Port health monitor.
 *
 * Probes every redirect port of a node (TCP connect, or an HTTP request through the proxy that must get a
 * valid status line) and reports the node as a whole: `ok` when all ports answer, `failure` when any one
 * does not, with rise/fall hysteresis per port, the failing ports, their reasons and since when.
 *
 * Layers (folders of `src/`): the pure core in `machine/` ({@link initialHealthState},
 * {@link applyProbeResult}; time is an input; rise/fall is `@proxyha/common`'s `stepHysteresis`), the
 * driver in `driver/` (the real prober {@link probePort}, and {@link HealthMonitor} and
 * {@link checkPorts}, which schedule probes on `@proxyha/common`'s `Clock`), the settings in `config/`
 * ({@link resolveSettings}, {@link parseMonitorConfig}, {@link loadMonitorConfig}) and the `proxyha-mon`
 * command in `cli/`, whose check-once mode ({@link runPortCheck}, {@link formatCheckReport}) other programs
 * reuse. The operator log line is {@link formatStateLine}:
 * `current state: failure (port 2121: connection refused)` / `current state: ok`.
 *
 * @packageDocumentation
 */

export {
  checkReportDocument,
  formatCheckReport,
  type PortCheckCommandOptions,
  runPortCheck,
} from './cli/check';
export * from './config/index';
export * from './driver/index';
export { HEALTH_ERRORS, type HealthIssueDetails, HealthMonError, type HealthMonErrorCode } from './errors';
export * from './machine/index';

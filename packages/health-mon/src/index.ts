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
 * command in `cli/`. The operator log line is {@link formatStateLine}:
 * `current state: failure (port 2121: connection refused)` / `current state: ok`.
 *
 * @packageDocumentation
 */

export {
  DEFAULT_SETTINGS,
  loadMonitorConfig,
  type MonitorConfigFile,
  type MonitorSettings,
  type PortCheck,
  parseMonitorConfig,
  type ResolvedPortCheck,
  resolveSettings,
  type SettingsInput,
} from './config/index';
export {
  type CheckReport,
  checkPorts,
  type HealthChange,
  type HealthListener,
  HealthMonitor,
  type HealthMonitorEvents,
  type HealthMonitorOptions,
  type HttpProbeOptions,
  type PortCheckResult,
  type ProbeEvent,
  type ProbeKind,
  type Prober,
  type ProbeTarget,
  probePort,
} from './driver/index';
export { HEALTH_ERRORS, type HealthIssueDetails, HealthMonError, type HealthMonErrorCode } from './errors';
export {
  type AggregateStatus,
  applyProbeResult,
  formatPortChange,
  formatStateLine,
  type HealthState,
  type HealthStep,
  initialHealthState,
  type PortChange,
  type PortFailureSummary,
  type PortState,
  type PortStatus,
  type ProbeFailure,
  type ProbeFailureReason,
  type ProbeResult,
  type ProbeResultEvent,
  type ProbeSuccess,
  reasonText,
} from './machine/index';

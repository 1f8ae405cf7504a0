/**
 * Port health monitor.
 *
 * Probes every redirect port of a node (TCP connect, or an HTTP request through the proxy that must get a
 * valid status line) and reports the node as a whole: `ok` when all ports answer, `failure` when any one
 * does not, with rise/fall hysteresis per port, the failing ports, their reasons and since when.
 *
 * Layers: a pure core ({@link initialHealthState}, {@link applyProbeResult}; time is an input), the real
 * prober ({@link probePort}), and the driver ({@link HealthMonitor}, {@link checkPorts}) that schedules
 * probes on a {@link Clock}. The operator log line is {@link formatStateLine}:
 * `current state: failure (port 2121: connection refused)` / `current state: ok`.
 *
 * @packageDocumentation
 */

export { type Clock, ManualClock, systemClock, type TimerHandle } from './clock';
export {
  DEFAULT_SETTINGS,
  loadMonitorConfig,
  type MonitorConfigFile,
  type MonitorSettings,
  type PortCheck,
  parseDuration,
  parseMonitorConfig,
  type ResolvedPortCheck,
  resolveSettings,
  type SettingsInput,
} from './config/config';
export {
  type CheckReport,
  checkPorts,
  type HealthChange,
  type HealthListener,
  HealthMonitor,
  type HealthMonitorEvents,
  type HealthMonitorOptions,
  type PortCheckResult,
  type ProbeEvent,
} from './driver/monitor';
export {
  type HttpProbeOptions,
  type ProbeKind,
  type Prober,
  type ProbeTarget,
  probePort,
} from './driver/probe';
export { HealthMonError, type HealthMonErrorCode } from './errors';
export {
  type AggregateStatus,
  applyProbeResult,
  formatStateLine,
  type HealthState,
  type HealthStep,
  type HysteresisOptions,
  type InitialMode,
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
} from './machine/health';

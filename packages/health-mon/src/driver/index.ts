// The driver: real sockets (the prober) and the monitor that schedules probe cycles on a Clock.
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
} from './monitor';
export { type HttpProbeOptions, type ProbeKind, type Prober, type ProbeTarget, probePort } from './probe';

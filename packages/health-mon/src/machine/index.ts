// The pure core: probe results in, per-port rise/fall and the node's ok | failure out; time is an input.
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
  type ProbeResultEvent,
} from './health';
export {
  type ProbeFailure,
  type ProbeFailureReason,
  type ProbeResult,
  type ProbeSuccess,
  reasonText,
} from './result';

/**
 * The director-protocol simulator: a group of nodes running the real membership machine on a virtual
 * clock ({@link LbSimulation}), with per-link delay, jitter, loss and partitions, scripted inputs
 * (health, load, capacity), director moves and split brains, and a trace of every action; plus
 * builders of protocol messages for tests and examples.
 *
 * @packageDocumentation
 */
export {
  type AnnouncementFields,
  buildAnnouncement,
  buildReport,
  type ReportFields,
  simNodeId,
} from './messages';
export {
  type LbSimEventRecord,
  type LbSimInputs,
  type LbSimLink,
  type LbSimNodeSpec,
  type LbSimOptions,
  type LbSimStats,
  type LbSimTraceEntry,
  LbSimulation,
} from './network';

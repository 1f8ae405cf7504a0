/**
 * The central-management simulator: a cluster of up to 50 nodes running the real replica machine on a
 * virtual clock ({@link CmSimulation}), with per-link delay, jitter and loss, partitions, crashes that
 * lose what was not yet written, restarts from the durable store, and clock skew (peers too far off are
 * refused); plus a trace of every action and the list of acknowledged saves.
 *
 * @packageDocumentation
 */
export {
  type CmSimAck,
  type CmSimConflict,
  type CmSimLink,
  type CmSimNodeSpec,
  type CmSimOptions,
  type CmSimStats,
  type CmSimTraceEntry,
  CmSimulation,
  simNodeUuid,
  storageTimestampOf,
} from './network';

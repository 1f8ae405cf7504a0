/**
 * The central-management simulator: a cluster of up to 50 nodes running the real replica machine on a
 * virtual clock ({@link CmSimulation}), with per-link delay, jitter and loss, partitions, crashes that
 * lose what was not yet written, restarts from the durable store, and clock skew (peers too far off are
 * refused), network groups per node (nodes connect within their groups; transit nodes relay; a layout with
 * unreachable nodes is refused); plus a trace of every action, the list of acknowledged saves, the path each
 * node sees to another, and the bytes and messages between groups of nodes (e.g. sites); and runtime groups
 * ({@link CmRuntimeSimulation}): the runtime machines over the same network groups, with cut links and crashes.
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
export {
  type CmRuntimeSimAlert,
  type CmRuntimeSimDelivery,
  type CmRuntimeSimNodeSpec,
  type CmRuntimeSimOptions,
  CmRuntimeSimulation,
} from './runtime';

export { createDataPlane, LbDaemon, type LbDaemonOptions, reportedHealth } from './daemon';
export { DataPlaneBinding, type DataPlaneBindingOptions, type ScannerSetup } from './dataplane-binding';
export {
  type LbDirectorRef,
  LbNode,
  type LbNodeEvents,
  type LbNodeIdentity,
  type LbNodeOptions,
  type LbNodeRef,
  type LbReceiveCounters,
  type LbStatus,
  type LbStatusNode,
} from './node';
export { loadNodeId } from './node-id';
export {
  establishedConnections,
  type ResourceSample,
  type ResourceSampler,
  systemResources,
} from './resources';
export { heldVips, VipRoleWatcher, type VipRoleWatcherOptions } from './role';
export { formatStatus, readStatus, serveStatus, statusDocument, statusSocketPath } from './status';
export {
  LB_BROADCAST_IPV4,
  LB_BROADCAST_IPV6,
  type LbReceiveMeta,
  type LbTransport,
  LoopbackLbTransport,
  type LoopbackLbTransportOptions,
  RawLbTransport,
  type RawLbTransportOptions,
} from './transport';
export { createWire, loadWireKeys, type MessageWire, type WireOptions } from './wire';

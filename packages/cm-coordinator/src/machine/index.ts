// Public surface of the replication machine: the data model, the hybrid logical clock, versions, the
// conflict rule, the replica and admin-lock machines, the clock check and the messages.

export { checkPeerClock, type PeerClockCheck, type PeerClockSample } from './clock';
export {
  compareVersions,
  currentVersion,
  digestVersionIds,
  EMPTY_DIGEST,
  leafVersions,
  type OpenConflict,
  resolveScope,
  type ScopeResolution,
  type VersionMeta,
} from './dag';
export {
  type ClusterMember,
  checkNodePathMatrix,
  DEFAULT_MAX_HOPS,
  DEFAULT_NETWORK_GROUP,
  type NetworkGroupNode,
  type NodePathMatrix,
  networkPath,
  nodePathMatrix,
  sharesNetworkGroup,
  UNREACHABLE_NODES_STATUS,
} from './groups';
export {
  compareHlc,
  formatHlc,
  HLC_MAX_LOGICAL,
  HLC_MAX_WALL,
  hlcReceive,
  hlcSend,
  isCanonicalUuid,
  maxHlc,
  parseHlc,
} from './hlc';
export {
  AdminLock,
  type AdminLockAction,
  type AdminLockConfig,
  type AdminLockEvent,
  compareLeases,
  DEFAULT_LEASE_TTL_MS,
  guiAttachError,
} from './lock';
export {
  type AckMessage,
  type AdminLease,
  type CmMessage,
  checkCmMessage,
  type InventoryMessage,
  type LeaseHolder,
  type LeaseMessage,
  type LeaseReleaseMessage,
  type LockMessage,
  type MembersMessage,
  type OfferMessage,
  type PushMessage,
  type ReplicationMessage,
  type RequestMessage,
  type ScopeSummary,
  type SummaryMessage,
} from './messages';
export { DEFAULT_RETRY_MS, DEFAULT_SYNC_INTERVAL_MS, ReplicaMachine, versionRef } from './replica';
export type * from './types';
export {
  canonicalJson,
  checkVersion,
  compareText,
  isDocumentName,
  isScope,
  MAX_DOCUMENTS,
  MAX_PARENTS,
  makeVersion,
  VERSION_ID_PREFIX,
  type VersionFields,
  type VersionInput,
  versionId,
} from './version';

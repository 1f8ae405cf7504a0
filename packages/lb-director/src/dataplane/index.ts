// Public API of the data planes: the contract, relay, nftables, direct routing and the in-memory twin.
export {
  CONNTRACK_STANDBY_FLAGS,
  CONNTRACK_TAKEOVER_FLAGS,
  type ConntrackStep,
  ConntrackSync,
  type ConntrackSyncOptions,
  type ConntrackSyncRunOptions,
  conntrackdConfig,
} from './conntrack-sync';
export {
  DirectRoutingDataPlane,
  DirectRoutingNodeSetup,
  type DirectRoutingNodeSetupOptions,
  type DirectRoutingOptions,
  type DirectRoutingState,
  directNodeSysctls,
  type MacResolver,
  neighbourMacResolver,
} from './direct';
export {
  DIRECT_DEFAULTS,
  DIRECT_TABLE,
  type DirectBucketDelta,
  type DirectBucketMap,
  type DirectRulesInput,
  directBucketDelta,
  directBucketMap,
  directDeltaScript,
  directIpv6Vips,
  directRedirectIssues,
  directRehashScript,
  directRuleset,
  parseDirectBuckets,
  parseDirectPinValues,
  validateDirectRedirects,
} from './direct-rules';
export {
  diffTables,
  MemoryDataPlane,
  type MemoryDataPlaneOptions,
  type MemoryDataPlaneRecord,
} from './memory';
export {
  NFT_COMMENT_DNAT,
  NFT_COMMENT_NO_OWNER,
  NFT_COMMENT_SNAT,
  NFT_FAMILY,
  type NftChainState,
  type NftCounters,
  type NftElement,
  type NftIpFamily,
  type NftMapState,
  type NftRuleState,
  type NftSpec,
  type NftTableState,
  type NftTargetProblem,
  type NftTargets,
  nftChangedBuckets,
  nftCounters,
  nftDelta,
  nftFamilies,
  nftHashExpression,
  nftInstalledTargets,
  nftMapName,
  nftRemoveTable,
  nftRuleset,
  nftSpec,
  nftTableName,
  nftTargets,
  parseNftRules,
  parseNftTable,
} from './nft-ruleset';
export {
  NFT_FORWARDING_SYSCTL,
  type NftApplyResult,
  NftablesDataPlane,
  type NftablesDataPlaneOptions,
  type NftForwardingMode,
} from './nftables';
export {
  RELAY_DEFAULTS,
  RelayDataPlane,
  type RelayOptions,
  type RelayStats,
  type RelayStopMode,
} from './relay';
export { normalizeClientAddress, RoutingTable } from './routing';
export type * from './types';

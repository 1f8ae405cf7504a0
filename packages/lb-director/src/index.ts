/**
 * The proxyha director.
 *
 * The node that holds the VIP (the director) spreads client connections over every node of its group
 * (the scanning nodes, itself included): source-IP sticky and load aware, redirecting each configured
 * original port to the chosen node's destination port. Nodes find each other over IP protocol 253: the
 * director broadcasts announcements, every scanning node unicasts load reports to it.
 *
 * Layers (folders of `src/`): the wire codec in `codec/` (announcements, load reports, HMAC-SHA256
 * authentication with replay protection), the pure machines in `machine/` (membership: events with
 * their time in, actions out) and `scheduler/` (a weighted Maglev-style bucket table, load aware,
 * damped, with bounded loads), the drivers in `driver/` (transports, the {@link LbNode} that runs a
 * node), the settings in `config/` and the `proxyha-lb` command in `cli/`. The `./sim` entry point
 * simulates a group of nodes with a virtual clock.
 *
 * @packageDocumentation
 */

export * from './codec/index';
export * from './config/index';
// the data planes' public surface (their rule generators and parsers stay internal)
export {
  type ConntrackStep,
  ConntrackSync,
  type ConntrackSyncOptions,
  type ConntrackSyncRunOptions,
  conntrackdConfig,
  type DirectBucketMap,
  DirectRoutingDataPlane,
  DirectRoutingNodeSetup,
  type DirectRoutingNodeSetupOptions,
  type DirectRoutingOptions,
  type DirectRoutingState,
  type MacResolver,
  MemoryDataPlane,
  type MemoryDataPlaneOptions,
  type MemoryDataPlaneRecord,
  type NftApplyResult,
  NftablesDataPlane,
  type NftablesDataPlaneOptions,
  type NftChainState,
  type NftElement,
  type NftForwardingMode,
  type NftIpFamily,
  type NftMapState,
  type NftRuleState,
  type NftSpec,
  type NftTableState,
  type NftTargets,
  neighbourMacResolver,
  RELAY_DEFAULTS,
  RelayDataPlane,
  type RelayEngineChoice,
  type RelayOptions,
  type RelayStats,
  type RelayStopMode,
  RoutingTable,
  validateDirectRedirects,
} from './dataplane/index';
export type * from './dataplane/types';
export * from './driver/index';
export { LB_ERRORS, LbError, type LbErrorCode } from './errors';
export * from './machine/index';
export * from './scheduler/index';

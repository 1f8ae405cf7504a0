/**
 * `proxyha-vrrpd`, the VRRP daemon, as a library: the configuration (`parseVrrpDaemonConfig`,
 * `loadVrrpDaemonConfig`), {@link VrrpDaemon} (one `@proxyha/vrrp` router per instance, shared
 * transports, sync groups, track scripts, track files and track interfaces, virtual MACs, Accept_Mode),
 * the Linux components it wires (raw-socket transport, rtnetlink VIPs, nftables filter) and the
 * gratuitous ARP / NA announcer over `@proxyha/garp`. The gateway app reuses all of it.
 *
 * @packageDocumentation
 */

export type { AuthHmacConfig, AuthHmacKeyConfig } from './config/auth-hmac';
export {
  announceInterfaceOf,
  type GarpConfig,
  garpBurstPolicyOf,
  garpInterfaceRatesOf,
  type LoopbackPorts,
  loadVrrpDaemonConfig,
  type NotifyCommandConfig,
  type NotifySettings,
  parseVrrpDaemonConfig,
  type SyncGroupConfig,
  type TrackFileConfig,
  type TrackInterfaceConfig,
  type TrackScriptConfig,
  toMachineConfig,
  trackersOf,
  type VmacConfig,
  type VmacOption,
  type VrrpDaemonConfig,
  type VrrpInstanceConfig,
  vmacOf,
} from './config/config';
export { createAnnouncer, type DaemonAnnouncer } from './daemon/announce';
export {
  type DaemonAnnounceHook,
  type DaemonAnnounceRequest,
  type DaemonVmacManager,
  primaryAddressOf,
  type ReloadStats,
  type TransportFactory,
  VrrpDaemon,
  type VrrpDaemonOptions,
} from './daemon/daemon';
export type { InstanceRestart, InstanceUpdate, ReloadPlan, TrackerChanges } from './daemon/reload';
export { NftAcceptModeFilter } from './driver/accept-filter';
export { LoopbackTransport, type LoopbackTransportOptions } from './driver/loopback-transport';
export { RawTransport, type RawTransportOptions } from './driver/raw-transport';
export { LoopbackOwnerVipManager, StackVipManager } from './driver/vips';
export { VRRPD_ERRORS, VrrpdError, type VrrpdErrorCode } from './errors';
export {
  formatKeepalivedImportReport,
  importKeepalivedConfig,
  importKeepalivedFile,
  type KeepalivedBlockSource,
  type KeepalivedImport,
  type KeepalivedImportNote,
  type KeepalivedImportOptions,
  type KeepalivedIncludedFile,
  type KeepalivedIncludeReader,
} from './import/import';

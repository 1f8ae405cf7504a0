export {
  type GarpBurstPolicy,
  loadVrrpDaemonConfig,
  parseVrrpDaemonConfig,
  type VmacConfig,
  VrrpConfigError,
  type VrrpDaemonConfig,
  type VrrpInstanceConfig,
  vrrpDaemonConfigSchema,
} from './config';
export {
  type DaemonAnnounceHook,
  type DaemonAnnounceRequest,
  type DaemonVmacManager,
  type TransportFactory,
  VrrpDaemon,
  type VrrpDaemonOptions,
} from './daemon';

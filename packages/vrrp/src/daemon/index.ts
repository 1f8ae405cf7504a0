export {
  announceInterfaceOf,
  type GarpBurstPolicy,
  garpBurstPolicyOf,
  garpInterfaceRatesOf,
  loadVrrpDaemonConfig,
  parseVrrpDaemonConfig,
  type VmacConfig,
  VrrpConfigError,
  type VrrpDaemonConfig,
  type VrrpInstanceConfig,
  vmacOf,
  vrrpDaemonConfigSchema,
} from './config';
export {
  type DaemonAnnounceHook,
  type DaemonAnnounceRequest,
  type DaemonVmacManager,
  primaryAddressOf,
  type TransportFactory,
  toMachineConfig,
  VrrpDaemon,
  type VrrpDaemonOptions,
} from './daemon';

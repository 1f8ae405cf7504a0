export {
  loadVrrpDaemonConfig,
  parseVrrpDaemonConfig,
  VrrpConfigError,
  type VrrpDaemonConfig,
  type VrrpInstanceConfig,
  vrrpDaemonConfigSchema,
} from './config';
export {
  primaryAddressOf,
  type TransportFactory,
  toMachineConfig,
  VrrpDaemon,
  type VrrpDaemonOptions,
} from './daemon';

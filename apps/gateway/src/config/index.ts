export { DEFAULT_GATEWAY_DATA_DIR, loadGatewayConfig, parseGatewayConfig } from './config';
export type {
  GatewayCmFile,
  GatewayConfig,
  GatewayConfigFile,
  GatewayDuration,
  GatewayHaFile,
  GatewayHealthFailureFile,
  GatewayHealthFile,
  GatewayHealthTrackerConfig,
  GatewayMaintenanceConfig,
  GatewayManagementConfig,
  GatewayManagementFile,
  GatewayNodeConfig,
  GatewayNodeFile,
  GatewayNtpConfig,
  GatewayNtpFile,
  GatewayPolicyFile,
} from './types';

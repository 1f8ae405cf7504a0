export {
  type LbAuthConfig,
  type LbDaemonConfig,
  type LbHandoverConfig,
  type LbHealthConfig,
  loadLbDaemonConfig,
  parseLbDaemonConfig,
  type RoleMode,
  type TransportKind,
} from './config';

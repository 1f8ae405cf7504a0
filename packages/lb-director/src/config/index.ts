export {
  type LbAuthConfig,
  type LbDaemonConfig,
  type LbHealthConfig,
  loadLbDaemonConfig,
  parseLbDaemonConfig,
  type RoleMode,
  type TransportKind,
} from './config';

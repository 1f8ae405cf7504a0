export {
  type CmConfig,
  type CmGroupsConfig,
  type Endpoint,
  formatEndpoint,
  loadCmConfig,
  parseCmConfig,
} from './config';
export { type CmUpdatesConfig, DEFAULT_UPDATES_CONFIG, type UpdateSourceConfig } from './updates';

export {
  type CmConfig,
  type CmGroupsConfig,
  type Endpoint,
  formatEndpoint,
  loadCmConfig,
  parseCmConfig,
} from './config';

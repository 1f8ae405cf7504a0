export {
  type OpenStoreOptions,
  openStore,
  SqliteStore,
  STORE_FILE_NAME,
  STORE_SCHEMA_VERSION,
  type StoreSettings,
} from './sqlite-store';
export type * from './types';

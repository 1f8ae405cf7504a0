// Public API of the scheduler.

export { jhash, jhashIpv4, reciprocalScale } from './jhash';
export {
  clientBucket,
  createScheduler,
  DEFAULT_SCHEDULER_SEED,
  type PersistenceMask,
  SCHEDULER_DEFAULTS,
  tableFromInputs,
} from './scheduler';
export { NO_OWNER, TABLE_SIZES, tableSizeFor } from './table';
export type * from './types';

// Public surface of the membership machine.

export {
  DEFAULT_ADOPT_TABLE_WITHIN,
  DEFAULT_ANNOUNCE_INTERVAL_MS,
  DEFAULT_ANNOUNCE_PRIORITY,
  DEFAULT_FAIL_AFTER_INTERVALS,
  type LbConfigIssueDetails,
} from './config';
export { formatLbAction } from './log';
export { LbMachine } from './machine';
export { compareAddresses, compareDirectors, type RankedDirector } from './rules';
export type * from './types';

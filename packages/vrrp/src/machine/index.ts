// Public surface of the VRRP state machine.

export { VrrpMachine } from './machine';
export {
  VRRP_RECEIVE_CODES,
  type VrrpInstanceCheck,
  type VrrpInstanceCheckConfig,
  type VrrpReceiveCode,
  validateAgainstInstance,
} from './receive';
export { SyncGroup, type SyncGroupAction } from './sync-group';
export { masterDownIntervalMs, skewTimeMs } from './timing';
export type * from './types';

// Public surface of the VRRP state machine.
export { VrrpMachineError, type VrrpMachineErrorCode } from './errors';
export { compareAddresses } from './address';
export { VrrpMachine } from './machine';
export { SyncGroup, type SyncGroupAction } from './sync-group';
export { masterDownIntervalMs, skewTimeMs } from './timing';
export type * from './types';

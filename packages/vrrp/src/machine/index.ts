// Public surface of the VRRP state machine.

export { compareAddresses } from './address';
export { VrrpMachineError, type VrrpMachineErrorCode } from './errors';
export { VrrpMachine } from './machine';
export { SyncGroup, type SyncGroupAction } from './sync-group';
export { masterDownIntervalMs, skewTimeMs } from './timing';
export type * from './types';

/**
 * Central management: master-less replication of one policy over mutual TLS, with nothing lost.
 *
 * Every node takes a save; a save becomes a version stamped by a hybrid logical clock, written durably,
 * then pushed to every node it may talk to. Conflicts: lower priority value wins, then the newest; the
 * loser is kept and reported. A node that was away catches up by itself. Peers whose clocks differ too
 * much are refused (405).
 *
 * @packageDocumentation
 */

export * from './codec/index';
export * from './config/index';
export * from './driver/index';
export { CM_ERRORS, CmError, type CmErrorCode } from './errors';
export * from './identity/index';
export * from './machine/index';
export * from './store/index';
export * from './transport/index';

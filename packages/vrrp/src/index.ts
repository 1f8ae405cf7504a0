/**
 * VRRP v2/v3 for Node.
 *
 * A byte-exact VRRP codec (RFC 3768, RFC 5798, RFC 9568), a pure deterministic
 * state machine, a router driver and the `proxyha-vrrpd` daemon.
 *
 * @packageDocumentation
 */

export * from './codec/index';
export * from './daemon/index';
export * from './driver/index';
export * from './machine/index';
export * from './sim/index';

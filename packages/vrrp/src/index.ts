/**
 * VRRP v2/v3 for Node.
 *
 * - codec: byte-exact VRRP adverts (RFC 3768, RFC 5798, RFC 9568) and whole IP packets, decoders that
 *   never throw;
 * - machine: the pure, deterministic state machine (time is an input) with the one receive validator
 *   of RFC 3768 §7.1 / RFC 5798 §7.1 (`validateAgainstInstance` runs the same checks on a decoded packet);
 * - driver: {@link VrrpRouter}, the machine bound to small structural components (an
 *   {@link AdvertTransport}, a {@link VipManager}, a `Clock`, a `Logger`), with in-memory twins.
 *
 * The simulator is the `@proxyha/vrrp/sim` entry point; the daemon, its Linux transports, VIPs and
 * gratuitous ARPs are `@proxyha/vrrpd`. Importing this package pulls in nothing Linux-specific.
 *
 * @packageDocumentation
 */

export * from './codec/index';
export * from './driver/index';
export * from './machine/index';

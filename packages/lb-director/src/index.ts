/**
 * The proxyha director.
 *
 * Spreads client connections over the scanning nodes of a cluster: source-IP sticky,
 * load aware, with port redirects and node discovery over IP protocol 253.
 *
 * Status: the control protocol, membership, scheduler and data planes arrive with the
 * director issue; this release contains no API yet.
 *
 * @packageDocumentation
 */

export {};

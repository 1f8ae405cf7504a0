/**
 * The proxyha reference gateway node.
 *
 * Composes the proxyha packages into one node: VRRP director election, gratuitous
 * ARP, the load-sharing director, the port health monitor, central management and
 * the time-skew guard, with one config file, the `proxyha` CLI, a status page,
 * metrics and logs.
 *
 * Status: the configuration ({@link parseGatewayConfig}, {@link loadGatewayConfig}: one file, each
 * package's configuration derived from it and validated by the package's own parser, every problem named
 * on the file's path) and `proxyha check`. The running node arrives next.
 *
 * @packageDocumentation
 */

export * from './config/index';
export { GATEWAY_ERRORS, GatewayError, type GatewayErrorCode, type GatewayIssueDetails } from './errors';

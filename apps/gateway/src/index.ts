/**
 * The proxyha reference gateway node.
 *
 * Composes the proxyha packages into one node: VRRP director election, gratuitous
 * ARP, the load-sharing director, the port health monitor, central management and
 * the time-skew guard, with a config file, the `proxyha` CLI, a status page,
 * metrics and logs.
 *
 * Status: the composition arrives with the gateway issue; this release contains only
 * the CLI entry point.
 *
 * @packageDocumentation
 */

export {};

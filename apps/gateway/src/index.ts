/**
 * The proxyha reference gateway node.
 *
 * Composes the proxyha packages into one node: VRRP director election, gratuitous
 * ARP, the load-sharing director, the port health monitor, central management and
 * the time-skew guard, with one config file, the `proxyha` CLI, a status page,
 * metrics and logs.
 *
 * The configuration ({@link parseGatewayConfig}, {@link loadGatewayConfig}: one file, each package's
 * configuration derived from it and validated by the package's own parser, every problem named on the
 * file's path), the node ({@link GatewayNode}: what `proxyha run` runs, and the {@link GatewayControl} the
 * management API serves), the management API ({@link startManagementServer}) and the logger.
 *
 * @packageDocumentation
 */

export * from './config/index';
export { GATEWAY_ERRORS, GatewayError, type GatewayErrorCode, type GatewayIssueDetails } from './errors';
export { createGatewayLogger, type GatewayLoggerOptions } from './log/logger';
export {
  type ManagementServer,
  type ManagementServerOptions,
  startManagementServer,
} from './management/server';
export { type ExplainNode, explainUnevenLoad, type UnevenLoadInput } from './node/explain';
export { GatewayNode, type GatewayNodeOptions } from './node/node';
export type { SkewCheck } from './node/ntp-guard';
export type * from './node/types';

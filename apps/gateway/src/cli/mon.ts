// `proxyha mon -c [-v] [--json]`: the port check of `proxyha-mon -c` (as `mwg-mon -v -c`) on this node's
// health settings (every redirect's destination port on the management address), without a running node.

import { type CliIo, usageError } from '@proxyha/common/cli';
import { runPortCheck } from '@proxyha/health-mon';
import { loadGatewayConfig } from '../config/config';

/** Options of {@link monCommand}. */
export interface MonCommandOptions {
  /** `-c`: check once (required: the running node monitors continuously, see `proxyha status`). */
  readonly check?: boolean;
  /** `-v`: every port with its result and latency. */
  readonly verbose?: boolean;
  /** `--json`: one JSON document. */
  readonly json?: boolean;
}

/**
 * Probes every port of the health settings of `file` once and prints what `proxyha-mon -c [-v] [--json]`
 * prints; exit 0 when every port answers, 1 on failure.
 *
 * @param file - the node's configuration file
 * @param options - `-c`, `-v`, `--json`
 * @param io - where to write
 */
export async function monCommand(file: string, options: MonCommandOptions, io: CliIo): Promise<number> {
  if (!options.check)
    usageError('mon needs -c (check once); the running node monitors continuously: see proxyha status');
  const config = await loadGatewayConfig(file);
  return runPortCheck(config.health, io, { verbose: options.verbose, json: options.json });
}

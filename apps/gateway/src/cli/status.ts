// `proxyha status [--json]`: the running node's status document, as text or JSON.
import { type CliIo, EXIT_OK, printJson } from '@proxyha/common/cli';
import { connect } from './client';
import { formatGatewayStatus } from './format-status';

/**
 * Prints the status of the node that `file` configures: its document as JSON (`--json`) or as text
 * ({@link formatGatewayStatus}). Exit 0; a node that does not answer throws `GATEWAY_NOT_RUNNING` (exit 1).
 *
 * @param file - the node's configuration file
 * @param options - `json`: print the document
 * @param io - where to write
 */
export async function statusCommand(
  file: string,
  options: { readonly json?: boolean },
  io: CliIo,
): Promise<number> {
  const status = await (await connect(file)).status();
  if (options.json) printJson(io, status);
  else io.stdout.write(formatGatewayStatus(status));
  return EXIT_OK;
}

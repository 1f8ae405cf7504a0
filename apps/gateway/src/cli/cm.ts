// `proxyha cm status [--json]` (as `proxyha-cm status`) and `proxyha cm add-node HOST[:PORT]`, through the
// running node's management API.
import { formatCmStatus } from '@proxyha/cm-coordinator';
import { type CliIo, EXIT_OK, printJson } from '@proxyha/common/cli';
import { cmOf, connect } from './client';

/**
 * Prints central management as the node that `file` configures sees it: every node with its Current
 * Storage Timestamp, in sync or not, the conflicts (the text of `proxyha-cm status`), or the JSON document
 * (`--json`: cm's status with the policy version, replication errors and storage timestamp age).
 *
 * @param file - the node's configuration file
 * @param options - `json`
 * @param io - where to write
 * @throws GatewayError `GATEWAY_CM_DISABLED` when the node runs without central management
 */
export async function cmStatusCommand(
  file: string,
  options: { readonly json?: boolean },
  io: CliIo,
): Promise<number> {
  const cm = cmOf(await (await connect(file)).status(), file);
  if (options.json) printJson(io, cm);
  else io.stdout.write(formatCmStatus(cm));
  return EXIT_OK;
}

/**
 * Adds the node at `address` (`HOST[:PORT]`, port 12346 by default) to the cluster of the node that `file`
 * configures; the added node's policy is replaced by the cluster's. Prints `added NAME (UUID)`.
 *
 * @param file - the node's configuration file
 * @param address - the node to add
 * @param io - where to write
 */
export async function cmAddNodeCommand(file: string, address: string, io: CliIo): Promise<number> {
  const added = await (await connect(file)).addNode(address);
  io.stdout.write(`added ${added.name} (${added.uuid})\n`);
  return EXIT_OK;
}

// `proxyha maintenance on|off`: drains this node (and hands the VIPs over) until turned off; then prints
// the state the node reports.
import { type CliIo, EXIT_OK } from '@proxyha/common/cli';
import { connect } from './client';

/**
 * Turns maintenance mode of the node that `file` configures on or off, then prints its state as the node
 * reports it (`maintenance: on` / `maintenance: off`, with its role).
 *
 * @param file - the node's configuration file
 * @param on - the new state
 * @param io - where to write
 */
export async function maintenanceCommand(file: string, on: boolean, io: CliIo): Promise<number> {
  const client = await connect(file);
  await client.setMaintenance(on);
  const { node, vrrp } = await client.status();
  io.stdout.write(
    `maintenance: ${node.maintenance ? 'on' : 'off'} (node ${node.name}: ${node.role}, VRRP ${vrrp.state}, priority ${vrrp.effectivePriority})\n`,
  );
  if (node.maintenance)
    io.stdout.write(
      'this node takes no new connections as a scanning node and does not hold the VIPs; it stays so across restarts until: proxyha maintenance off\n',
    );
  return EXIT_OK;
}

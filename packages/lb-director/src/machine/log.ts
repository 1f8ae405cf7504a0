// The log line of each action, as the driver prints it (MWG "Proxy HA" wording where it has one).
import type { DirectorSnapshot, LbAction, MemberSnapshot } from './types';

const named = (n: MemberSnapshot | DirectorSnapshot) =>
  n.name === '' ? n.address : `${n.address} (${n.name})`;

function ports(list: readonly number[]): string {
  return list.length === 0 ? '' : ` (port ${list.join(', ')})`;
}

/**
 * The log line the driver prints for an action, for example `Scanning partner has joined 10.0.0.2
 * (proxy-b)` or `split brain: 2 directors announce group 51: 10.0.0.1 (proxy-a), 10.0.0.2 (proxy-b);
 * following 10.0.0.2`. The README's membership section lists them all.
 *
 * @param action - an action of the {@link LbMachine}
 * @param group - the load-balancing group (named by the split-brain line)
 */
export function formatLbAction(action: LbAction, group: number): string {
  switch (action.type) {
    case 'roleChanged':
      return `role changed from ${action.previous} to ${action.role}`;
    case 'nodeJoined':
      return `Scanning partner has joined ${named(action.node)}`;
    case 'nodeFailed':
      return `Scanning partner has failed ${action.node.address}`;
    case 'nodeDrained':
      return `Scanning partner ${named(action.node)} is draining: current state: failure${ports(action.node.health.failingPorts)}`;
    case 'nodeRestored':
      return `Scanning partner ${named(action.node)} has recovered`;
    case 'nodeRefused':
      return `Scanning partner ${named(action.node)} refused a connection (${action.reason}): no new clients until its next good report`;
    case 'nodeAddressChanged':
      return `Scanning partner ${action.node.name} changed its address from ${action.previousAddress} to ${action.node.address}`;
    case 'tableChanged':
      return `table updated (${action.reason}): ${action.changedBuckets.length} of ${action.table.size} buckets moved`;
    case 'tableAdopted':
      return `took over the table of ${named(action.from)}: ${action.members} nodes, every client stays on its node`;
    case 'directorTable':
      return `director ${named(action.director)} announced its table: ${action.table.nodes.length} nodes, ${action.table.size} buckets`;
    case 'directorFound':
      return `director is ${named(action.director)}`;
    case 'directorChanged':
      return `director changed from ${named(action.previous)} to ${named(action.director)}`;
    case 'directorLost':
      return `lost director ${named(action.director)}`;
    case 'splitBrain':
      return `split brain: ${action.directors.length} directors announce group ${group}: ${action.directors
        .map(named)
        .join(', ')}; following ${action.following.address}`;
    case 'splitBrainHealed':
      return `split brain healed: one director ${named(action.director)}`;
  }
}

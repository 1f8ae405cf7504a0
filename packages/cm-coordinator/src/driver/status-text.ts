// The text of a node's status as `proxyha-cm status` prints it; exported for programs that embed a node
// (the gateway's `proxyha cm status` and `proxyha status`).
import type { CmStatus } from './cm-node';

/**
 * The text of `proxyha-cm status`: this node, whether the cluster is in sync, one line per node with its
 * Current Storage Timestamp, reachability, the path its messages take from this node (`path: mwg1 ->
 * tokyo-transit -> ny-transit -> mwg9`) and last error (`*` marks this node), then the conflicts.
 *
 * @param s - the node's status ({@link CmNode.status})
 */
export function formatCmStatus(s: CmStatus): string {
  const lines = [
    `node ${s.self.name} (${s.self.uuid})`,
    `cluster ${s.inSync ? 'in sync' : 'NOT in sync'}`,
    '',
  ];
  for (const n of s.nodes)
    lines.push(
      `${n.uuid === s.self.uuid ? '*' : ' '} ${n.name}  ${n.address}  v${n.version}  Current Storage Timestamp: ${
        n.storageTimestamp ?? '-'
      }  ${n.reachable ? 'reachable' : 'unreachable'}${
        n.uuid !== s.self.uuid && n.path && n.path.length > 1 ? `  path: ${n.path.join(' -> ')}` : ''
      }${n.lastError ? `  last error: ${n.lastError}` : ''}`,
    );
  if (s.conflicts.length > 0) {
    lines.push('', 'conflicts (the loser is kept: save it again to restore it):');
    for (const c of s.conflicts)
      lines.push(
        `  ${c.scope}: ${c.winner.id.slice(0, 12)} (${c.winner.origin}, ${c.winner.storageTimestamp}) won over ${c.loser.id.slice(0, 12)} (${c.loser.origin}, ${c.loser.storageTimestamp})`,
      );
  }
  return `${lines.join('\n')}\n`;
}

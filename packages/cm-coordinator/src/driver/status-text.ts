// The text of a node's status as `proxyha-cm status` prints it; exported for programs that embed a node
// (the gateway's `proxyha cm status` and `proxyha status`).
import type { CmStatus } from './cm-node';

/**
 * The text of `proxyha-cm status`: this node, whether the cluster is in sync, one line per node with its
 * Current Storage Timestamp (for a node behind transit nodes: when it reported it and through which peer this
 * node heard it, `(reported 2026-11-30T21:55:02.101Z, via tokyo-transit 12 s ago)`), reachability, the path its messages take from this node (`path: mwg1 ->
 * tokyo-transit -> ny-transit -> mwg9`) and last error (`*` marks this node), then the conflicts, then the
 * update lists (version, SHA-256, from where, when), then the runtime group (members, entries, last sync per
 * member, the "Shared data not synchronized" alert).
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
      }${
        n.storageTimestampSource
          ? ` (reported ${n.storageTimestampSource.reportedAt}, via ${n.storageTimestampSource.via} ${ago(n.storageTimestampSource.learnedAgoMs)})`
          : ''
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
  if (s.updates && s.updates.lists.length > 0) lines.push(...updateLines(s.updates));
  if (s.runtime) lines.push(...runtimeLines(s.runtime));
  return `${lines.join('\n')}\n`;
}

/** How long ago, in whole seconds (`12 s ago`) or minutes past 2 minutes (`5 min ago`). */
function ago(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 120 ? `${s} s ago` : `${Math.floor(s / 60)} min ago`;
}

/** The update groups' part of the status: one line per list (version, SHA-256, from where, when). */
function updateLines(u: NonNullable<CmStatus['updates']>): string[] {
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const lines = [
    '',
    `updates: groups ${u.groups.join(', ')}; download from internet: ${yes(u.downloadFromInternet)}; from other nodes: ${yes(u.acceptFromNodes)}; last check ${u.lastCheck ?? '-'}; next check ${u.nextCheck ?? '-'}`,
  ];
  for (const l of u.lists)
    lines.push(
      `  ${l.name}  ${l.version ?? '-'}${l.sha256 ? `  sha256 ${l.sha256.slice(0, 16)}…  ${l.size} bytes  from ${l.from}  at ${l.at}` : ''}${
        l.published && l.published !== l.version ? `  published ${l.published}` : ''
      }${l.busy ? `  ${l.busy}` : ''}${l.lastError ? `  last error: ${l.lastError}` : ''}`,
    );
  if (u.members.length > 0)
    lines.push(
      `  members: ${u.members.map((m) => `${m.name}${m.direct ? '' : ' (via members)'}${m.accept ? '' : ' (does not accept)'}`).join(', ')}`,
    );
  return lines;
}

/**
 * The runtime group's part of the status: members, entries, then each directly connected member with its last
 * sync and the "Shared data not synchronized" alert about it.
 */
function runtimeLines(r: NonNullable<CmStatus['runtime']>): string[] {
  const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  const lines = [
    '',
    `runtime group ${r.group}: ${r.alert ? 'Shared data NOT synchronized' : 'shared data synchronized'}; ${plural(r.counters, 'counter')}, ${plural(r.values, 'value')}; members ${r.members.map((m) => m.name).join(', ')}`,
  ];
  for (const p of r.peers)
    lines.push(
      `  ${p.name}  ${p.connected ? 'connected' : 'not connected'}  last sync ${p.lastSync ?? '-'}${p.pending ? '  pending' : ''}${
        p.alert
          ? `  ALERT Shared data not synchronized since ${p.alert.since}: ${p.alert.reason} (${p.alert.failures} failed, next try ${p.alert.nextRetry})`
          : ''
      }`,
    );
  return lines;
}

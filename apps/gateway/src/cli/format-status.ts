// The text of `proxyha status`: what `mfend-lb -s` shows (lb-director's own table), then this node's VRRP
// instance, health per port, the time offset, central management (as `proxyha-cm status` shows it),
// maintenance and why the load may be uneven. Times are shown against the document's own `node.now`.
import { formatCmStatus } from '@proxyha/cm-coordinator';
import { formatDuration } from '@proxyha/common';
import { formatStatus } from '@proxyha/lb-director';
import type { GatewayHealthStatus, GatewayNtpStatus, GatewayStatus, GatewayVrrpStatus } from '../node/types';

const indent = (text: string, by = '  ') =>
  text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => (l === '' ? l : `${by}${l}`));

/** `12s`, `1h2m3s`, `350ms`: a duration rounded to whole seconds from one second on. */
export function formatSpan(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const abs = Math.abs(ms);
  const text = abs < 1000 ? `${Math.round(abs)}ms` : formatDuration(Math.round(abs / 1000) * 1000);
  return ms < 0 ? `-${text}` : text;
}

/** `2026-01-01T11:00:01Z (59m59s ago)`. */
function when(at: number, now: number): string {
  const iso = Number.isFinite(at) ? new Date(at).toISOString().replace('.000Z', 'Z') : '?';
  return `${iso} (${formatSpan(now - at)} ago)`;
}

/** `+12 ms`, `-1.5 s`. */
export function formatOffset(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  const abs = Math.abs(ms);
  return abs >= 1000
    ? `${sign}${(abs / 1000).toFixed(3).replace(/\.?0+$/, '')} s`
    : `${sign}${Number(abs.toFixed(1))} ms`;
}

function vrrpLines(v: GatewayVrrpStatus, now: number): string[] {
  const prio =
    v.effectivePriority === v.basePriority
      ? `priority ${v.effectivePriority}`
      : `priority ${v.effectivePriority} (configured ${v.basePriority})`;
  const owner =
    v.state === 'master'
      ? `held by this node${v.vipOwner ? ` (${v.vipOwner})` : ''}`
      : v.vipOwner
        ? `held by ${v.vipOwner}`
        : 'owner unknown';
  const dropped = Object.entries(v.dropped ?? {})
    .filter(([, n]) => n > 0)
    .map(([code, n]) => `${code} ${n}`);
  const lines = [
    `VRRP: ${v.instance} on ${v.interface}, VRID ${v.vrid}: ${v.state.toUpperCase()}, ${prio}`,
    `  VIPs ${v.virtualIps.join(', ')}: ${owner}`,
  ];
  if (v.faultReasons.length > 0) lines.push(`  fault: ${v.faultReasons.join(', ')}`);
  lines.push(
    `  adverts: ${v.advertsSent} sent, ${v.advertsReceived} received, ${dropped.length > 0 ? dropped.join(', ') : 'none'} dropped; ` +
      `became master ${v.becameMaster} time${v.becameMaster === 1 ? '' : 's'}`,
  );
  if (v.transitions.length > 0) {
    lines.push('  last transitions:');
    for (const t of v.transitions.slice(-5))
      lines.push(`    ${when(t.at, now)}  ${t.from} -> ${t.to}  (${t.reason}, priority ${t.priority})`);
  }
  return lines;
}

/** `current state: failure (port 2121: connection refused)`, as the health monitor logs it. */
function healthLine(h: GatewayHealthStatus): string {
  if (h.status !== 'failure') return `current state: ${h.status}`;
  const failing = h.ports.filter((p) => p.status === 'failure');
  return `current state: failure (${failing.map((p) => `port ${p.port}: ${p.reason ?? 'failure'}`).join(', ')})`;
}

function healthLines(h: GatewayHealthStatus, now: number): string[] {
  const lines = [`health: ${healthLine(h)}, since ${when(h.since, now)}; ports on ${h.host}`];
  for (const p of h.ports)
    lines.push(
      `  port ${p.port}: ${p.status} since ${when(p.since, now)}${p.reason ? ` (${p.reason})` : ''}`,
    );
  return lines;
}

function ntpLine(n: GatewayNtpStatus, now: number): string {
  if (n.verdict === 'off') return 'time: no NTP check (no ntp section)';
  const offset = n.offsetMs === null ? 'offset unknown' : `offset ${formatOffset(n.offsetMs)}`;
  const checked = n.checkedAt === null ? 'not checked yet' : `checked ${formatSpan(now - n.checkedAt)} ago`;
  return `time: ${n.verdict}, ${offset} against ${n.servers.join(', ')}, ${checked}${n.message ? `: ${n.message}` : ''}`;
}

/**
 * The text of `proxyha status` for a status document.
 *
 * @param s - the node's status (`GET /api/v1/status`)
 */
export function formatGatewayStatus(s: GatewayStatus): string {
  const now = s.node.now;
  const lines: string[] = [
    `node ${s.node.name} (proxyha ${s.node.version}): ${s.node.role}, up ${formatSpan(now - s.node.startedAt)}`,
    s.node.maintenance
      ? 'maintenance: ON (drained as a scanning node; no VIPs while it lasts; proxyha maintenance off ends it)'
      : 'maintenance: off',
    '',
    ...formatStatus(s.director).replace(/\n$/, '').split('\n'),
    `data plane ${s.director.dataPlane}; redirects ${
      s.director.redirects.length > 0
        ? s.director.redirects.map((r) => `${r.originalPort} -> ${r.destinationPort}`).join(', ')
        : 'none'
    }; connections ${s.director.connections.accepted} accepted, ${s.director.connections.failed} failed`,
    '',
    ...vrrpLines(s.vrrp, now),
    '',
    ...healthLines(s.health, now),
    '',
    ntpLine(s.ntp, now),
    '',
  ];
  if (s.cm) {
    lines.push('central management:', ...indent(formatCmStatus(s.cm)));
    const p = s.cm.policy;
    lines.push(
      p
        ? `  policy ${p.id} saved on ${p.origin}, Current Storage Timestamp ${p.storageTimestamp}${
            s.cm.storageTimestampAgeMs === null ? '' : ` (${formatSpan(s.cm.storageTimestampAgeMs)} old)`
          }`
        : '  policy: none saved yet',
      `  replication errors since start: ${s.cm.errors}`,
    );
    if (s.cm.backups !== undefined)
      lines.push(
        s.cm.backups.length > 0
          ? `  configuration backups held: ${s.cm.backups.map((b) => `${b.node} (${b.storageTimestamp})`).join(', ')}`
          : '  configuration backups held: none',
      );
  } else lines.push('central management: off (no cm section)');
  lines.push('');
  if (s.explanations.length === 0) lines.push('uneven load: nothing suggests it');
  else {
    lines.push('uneven load:');
    for (const e of s.explanations) lines.push(`  - ${e.cause}: ${e.message}`);
  }
  return `${lines.join('\n')}\n`;
}

// `GET /api/v1/nodes.csv`: the director's nodes as CSV (RFC 4180), as HAProxy's stats page exports them.
import type { GatewayStatus } from '../node/types';

/** The header row of {@link nodesCsv}, in column order. */
export const NODES_CSV_COLUMNS = [
  'name',
  'address',
  'health',
  'weight',
  'effective_weight',
  'share',
  'active_connections',
  'last_report_age_ms',
  'self',
] as const;

/**
 * One CSV field: quoted when it holds a comma, a quote or a line break (quotes doubled); a text starting
 * with `=`, `+`, `-`, `@`, tab or CR (a spreadsheet would take it for a formula: node names come from the
 * network) is prefixed with `'`.
 */
function field(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The director's nodes as CSV: the header row, then one row per node (`status.director.nodes`, in order),
 * lines ended by CRLF. `effective_weight` is empty where the node does not know it (a scanner), `self` is
 * `true` for this node.
 *
 * @param status - the status document
 */
export function nodesCsv(status: GatewayStatus): string {
  const rows = [NODES_CSV_COLUMNS.join(',')];
  for (const n of status.director.nodes) {
    rows.push(
      [
        n.name,
        n.address,
        n.health,
        n.weight,
        n.effectiveWeight,
        n.share,
        n.activeConnections,
        Math.round(n.lastReportAgeMs),
        n.self,
      ]
        .map(field)
        .join(','),
    );
  }
  return `${rows.join('\r\n')}\r\n`;
}

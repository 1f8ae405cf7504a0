// Builders of protocol messages with defaults, for the simulator, tests and examples.
import type { Announcement, LoadReport } from '@proxyha/lb-director';

/**
 * A deterministic node id for simulated node number `n` (1-based):
 * `00000000-0000-4000-8000-00000000000n` in hex, so ids sort in node order.
 *
 * @param n - the node number, 1..2^48-1
 */
export function simNodeId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** The fields of a {@link LoadReport} that {@link buildReport} fills in unless given. */
export type ReportFields = Partial<Omit<LoadReport, 'type'>>;

/**
 * A load report with defaults: group 51, node {@link simNodeId}(1) at `10.0.0.1` named `node-1`,
 * version `0.1.0`, interval 1000 ms, health ok, weight 100, idle resources, no connections.
 *
 * @param fields - the fields to set
 */
export function buildReport(fields: ReportFields = {}): LoadReport {
  return {
    type: 'report',
    group: 51,
    nodeId: simNodeId(1),
    address: '10.0.0.1',
    sequence: 0,
    timestamp: 0,
    intervalMs: 1000,
    name: 'node-1',
    softwareVersion: '0.1.0',
    health: { status: 'ok', failingPorts: [] },
    weight: 100,
    resources: { cpu: 0.1, memory: 0.2, load: 0.1 },
    connections: [],
    ...fields,
  };
}

/** The fields of an {@link Announcement} that {@link buildAnnouncement} fills in unless given. */
export type AnnouncementFields = Partial<Omit<Announcement, 'type'>>;

/**
 * A director announcement with defaults: group 51, node {@link simNodeId}(1) at `10.0.0.1` named
 * `node-1`, interval 1000 ms, priority 100, redirect 8080 -> 9090.
 *
 * @param fields - the fields to set
 */
export function buildAnnouncement(fields: AnnouncementFields = {}): Announcement {
  return {
    type: 'announcement',
    group: 51,
    nodeId: simNodeId(1),
    address: '10.0.0.1',
    sequence: 0,
    timestamp: 0,
    intervalMs: 1000,
    name: 'node-1',
    priority: 100,
    redirects: [{ originalPort: 8080, destinationPort: 9090 }],
    ...fields,
  };
}

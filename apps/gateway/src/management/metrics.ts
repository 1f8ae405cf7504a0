// The management server's `/metrics`: a private prom-client registry whose values are read from the node's
// status document at scrape time (one status() call per scrape), plus prom-client's process metrics.
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { GatewayControl, GatewayStatus, GatewayVrrpState } from '../node/types';

/** The VRRP state as a metric value (keepalived exporters' numbering): a value, not a churning label. */
const VRRP_STATE_VALUE: Readonly<Record<GatewayVrrpState, number>> = {
  initialize: 0,
  backup: 1,
  master: 2,
  fault: 3,
};

/** The time-skew guard's verdict as a value; `off` and `unknown` leave the metric out. */
const NTP_VERDICT_VALUE: Readonly<Record<string, number>> = { ok: 0, warn: 1, fail: 2 };

/** What the management server needs of its metrics. */
export interface GatewayMetrics {
  /** The registry (private to one server). */
  readonly registry: Registry;
  /** The Content-Type of {@link GatewayMetrics.render}'s text. */
  readonly contentType: string;
  /** The exposition text, every value read from one `control.status()` taken now. */
  render(): Promise<string>;
}

/**
 * Creates the metrics of one management server on a new private registry (never prom-client's global
 * one): the node's metrics, read from `control.status()` at scrape time, and prom-client's default
 * process collectors.
 *
 * @param control - the running node
 */
export function createGatewayMetrics(control: GatewayControl): GatewayMetrics {
  const registry = new Registry();
  // the snapshot of one scrape: every collect() below reads the same status document
  let snapshot: GatewayStatus | undefined;
  const status = (): GatewayStatus => {
    snapshot ??= control.status();
    return snapshot;
  };
  const registers = [registry];

  /** A gauge set from the status at each scrape (`set` gets the status and the gauge, reset before). */
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    set: (s: GatewayStatus, g: Gauge<L>) => void,
  ): void => {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        if (labelNames.length === 0) this.remove(); // absent unless set
        set(status(), this);
      },
    });
  };
  /** A counter whose totals come from the status: reset and set at each scrape, still TYPE counter. */
  const counter = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    set: (
      s: GatewayStatus,
      add: (labels: Partial<Record<L, string | number>>, value: number) => void,
    ) => void,
  ): void => {
    new Counter<L>({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        if (labelNames.length === 0) this.remove();
        set(status(), (labels, value) => {
          if (Number.isFinite(value) && value >= 0) this.inc(labels, value);
        });
      },
    });
  };
  const flag = (b: boolean): number => (b ? 1 : 0);

  // --- node
  gauge('proxyha_node_info', 'This node: name and software version (value 1).', ['name', 'version'], (s, g) =>
    g.set({ name: s.node.name, version: s.node.version }, 1),
  );
  gauge('proxyha_maintenance', 'Maintenance mode: 1 on (drained, VIP handed over), 0 off.', [], (s, g) =>
    g.set(flag(s.node.maintenance)),
  );

  // --- VRRP
  gauge(
    'proxyha_vrrp_state',
    'VRRP state of the instance: 0 initialize, 1 backup, 2 master, 3 fault.',
    ['instance'],
    (s, g) => g.set({ instance: s.vrrp.instance }, VRRP_STATE_VALUE[s.vrrp.state] ?? 0),
  );
  gauge(
    'proxyha_vrrp_priority',
    'Effective VRRP priority (after trackers and maintenance), as advertised.',
    ['instance'],
    (s, g) => g.set({ instance: s.vrrp.instance }, s.vrrp.effectivePriority),
  );
  gauge('proxyha_vrrp_base_priority', 'Configured VRRP priority.', ['instance'], (s, g) =>
    g.set({ instance: s.vrrp.instance }, s.vrrp.basePriority),
  );
  counter('proxyha_vrrp_transitions_total', 'VRRP state changes since start.', ['instance'], (s, add) =>
    add({ instance: s.vrrp.instance }, s.vrrp.transitionCount ?? s.vrrp.transitions.length),
  );
  counter(
    'proxyha_vrrp_became_master_total',
    'VRRP transitions into master since start.',
    ['instance'],
    (s, add) => add({ instance: s.vrrp.instance }, s.vrrp.becameMaster),
  );
  counter('proxyha_vrrp_adverts_sent_total', 'VRRP advertisements sent.', ['instance'], (s, add) =>
    add({ instance: s.vrrp.instance }, s.vrrp.advertsSent),
  );
  counter(
    'proxyha_vrrp_adverts_received_total',
    'Valid VRRP advertisements received.',
    ['instance'],
    (s, add) => add({ instance: s.vrrp.instance }, s.vrrp.advertsReceived),
  );
  counter(
    'proxyha_vrrp_adverts_dropped_total',
    'Received VRRP packets dropped, by reason code (VRRP_BAD_TTL, VRRP_AUTH_MISMATCH, ...).',
    ['instance', 'reason'],
    (s, add) => {
      for (const [reason, n] of Object.entries(s.vrrp.dropped)) add({ instance: s.vrrp.instance, reason }, n);
    },
  );

  // --- director
  gauge(
    'proxyha_lb_director',
    'This node is the director (holds the VIPs and directs): 1, else 0.',
    [],
    (s, g) => g.set(flag(s.director.role === 'director')),
  );
  gauge('proxyha_lb_nodes', 'Scanning nodes the director sees (this node included).', [], (s, g) =>
    g.set(s.director.nodes.length),
  );
  // one series per node of the director's view: the value, or undefined for none
  const perNode = (
    name: string,
    help: string,
    value: (n: GatewayStatus['director']['nodes'][number]) => number | undefined,
  ) =>
    gauge(name, help, ['node'], (s, g) => {
      for (const n of s.director.nodes) {
        const v = value(n);
        if (v !== undefined) g.set({ node: n.name }, v);
      }
    });
  perNode('proxyha_lb_node_weight', 'Configured capacity weight of each node.', (n) => n.weight);
  perNode(
    'proxyha_lb_node_effective_weight',
    'Weight the director computed its table with (director only).',
    (n) => n.effectiveWeight,
  );
  perNode('proxyha_lb_node_share', 'Share of the director table of each node, 0..1.', (n) => n.share);
  perNode(
    'proxyha_lb_node_active_connections',
    'Active connections of each node, as it reports them.',
    (n) => n.activeConnections,
  );
  perNode('proxyha_lb_node_healthy', 'Health of each node as reported: 1 ok, 0 failure.', (n) =>
    flag(n.health === 'ok'),
  );
  gauge(
    'proxyha_lb_node_last_report_age_seconds',
    'Age of the last load report of each node.',
    ['node'],
    (s, g) => {
      for (const n of s.director.nodes) g.set({ node: n.name }, n.lastReportAgeMs / 1000);
    },
  );
  counter(
    'proxyha_lb_connections_accepted_total',
    'Client connections the data plane accepted while directing.',
    [],
    (s, add) => add({}, s.director.connections.accepted),
  );
  counter(
    'proxyha_lb_connections_failed_total',
    'Client connections the data plane could not carry to a node.',
    [],
    (s, add) => add({}, s.director.connections.failed),
  );
  counter(
    'proxyha_lb_bytes_total',
    'Bytes carried per node (relay data plane): direction to_node (client to node) or to_client.',
    ['node', 'direction'],
    (s, add) => {
      const names = new Map(s.director.nodes.map((n) => [n.id, n.name]));
      for (const [id, bytes] of Object.entries(s.director.bytesByNode)) {
        const node = names.get(id) ?? id;
        add({ node, direction: 'to_node' }, bytes.toNode);
        add({ node, direction: 'to_client' }, bytes.toClient);
      }
    },
  );

  // --- health
  gauge(
    'proxyha_health_status',
    'Health of each redirect port: 1 ok, 0 failure; absent while unknown (see proxyha_health_known).',
    ['port'],
    (s, g) => {
      for (const p of s.health.ports)
        if (p.status !== 'unknown') g.set({ port: p.port }, flag(p.status === 'ok'));
    },
  );
  gauge(
    'proxyha_health_known',
    'The health monitor has a verdict for the port: 1, else 0 (no verdict yet).',
    ['port'],
    (s, g) => {
      for (const p of s.health.ports) g.set({ port: p.port }, flag(p.status !== 'unknown'));
    },
  );
  gauge(
    'proxyha_health_aggregate_status',
    'Health of every redirect port as a whole: 1 ok, 0 failure; absent while unknown.',
    [],
    (s, g) => {
      if (s.health.status !== 'unknown') g.set(flag(s.health.status === 'ok'));
    },
  );

  // --- time-skew guard
  gauge(
    'proxyha_ntp_offset_seconds',
    'Offset of the local clock against the NTP servers (server minus local); absent when unknown.',
    [],
    (s, g) => {
      if (s.ntp.offsetMs !== null) g.set(s.ntp.offsetMs / 1000);
    },
  );
  gauge(
    'proxyha_ntp_verdict',
    'Verdict of the time-skew guard: 0 ok, 1 warn, 2 fail; absent when off or before the first check.',
    [],
    (s, g) => {
      const v = NTP_VERDICT_VALUE[s.ntp.verdict];
      if (v !== undefined) g.set(v);
    },
  );

  // --- central management (absent without cm)
  gauge(
    'proxyha_cm_storage_timestamp_age_seconds',
    "Age of this node's Current Storage Timestamp; absent before the first version.",
    [],
    (s, g) => {
      if (s.cm && s.cm.storageTimestampAgeMs !== null) g.set(s.cm.storageTimestampAgeMs / 1000);
    },
  );
  counter(
    'proxyha_cm_replication_errors_total',
    'Central-management replication errors since start (failed sends, refused peers, failed applies).',
    [],
    (s, add) => {
      if (s.cm) add({}, s.cm.errors);
    },
  );
  gauge(
    'proxyha_cm_in_sync',
    'Every known node is reachable with the same policy versions: 1, else 0.',
    [],
    (s, g) => {
      if (s.cm) g.set(flag(s.cm.inSync));
    },
  );
  gauge('proxyha_cm_peers', 'Central-management peers known (this node excluded).', [], (s, g) => {
    if (s.cm) g.set(peers(s).length);
  });
  gauge('proxyha_cm_peers_reachable', 'Central-management peers connected now.', [], (s, g) => {
    if (s.cm) g.set(peers(s).filter((n) => n.reachable).length);
  });
  gauge('proxyha_cm_conflicts', 'Conflicts this node saw (the losing versions are kept).', [], (s, g) => {
    if (s.cm) g.set(s.cm.conflicts.length);
  });
  gauge(
    'proxyha_cm_shared_data_unsynchronized',
    'The "Shared data not synchronized" alert about a member of the runtime group: 1 raised, 0 clear.',
    ['node'],
    (s, g) => {
      for (const p of s.cm?.runtime?.peers ?? []) g.set({ node: p.name }, flag(p.alert !== null));
    },
  );
  gauge(
    'proxyha_cm_update_list_age_seconds',
    'Age of the version of each update list this node holds; absent for a list it has none of.',
    ['list'],
    (s, g) => {
      const now = Date.now();
      for (const l of s.cm?.updates?.lists ?? [])
        if (l.at !== null) g.set({ list: l.name }, Math.max(0, (now - Date.parse(l.at)) / 1000));
    },
  );

  // the event-loop delay histogram samples every 100 ms instead of prom-client's 10: its timer alone was a
  // third of an idle node's CPU (bench/RESULTS.md, "The gateway node")
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });

  return {
    registry,
    contentType: registry.contentType,
    async render() {
      snapshot = undefined;
      try {
        // every collect() above runs synchronously inside metrics() before it first awaits: one status
        return await registry.metrics();
      } finally {
        snapshot = undefined;
      }
    },
  };
}

/** The cm peers: every node but this one. */
function peers(s: GatewayStatus): NonNullable<GatewayStatus['cm']>['nodes'] {
  const cm = s.cm;
  if (!cm) return [];
  return cm.nodes.filter((n) => n.uuid !== cm.self.uuid);
}

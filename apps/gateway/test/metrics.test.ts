// /metrics: the values read from the status at scrape time, the metric types, absent values, the private
// registry, and the route behind the token (over a real socket).
import { register as globalRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createGatewayMetrics } from '../src/management/metrics';
import { type ManagementServer, startManagementServer } from '../src/management/server';
import type { GatewayStatus } from '../src/node/types';
import { type FakeControl, fakeControl } from './fake-control';
import { request } from './http-client';

const TOKEN = 'metrics-token-0123456789';

/** One sample of the exposition text. */
interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A small reader of Prometheus' text format: the samples, and each metric's TYPE. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

/** Scrapes a fresh metrics object over `control`. */
async function scrape(control: FakeControl) {
  return parseExposition(await createGatewayMetrics(control).render());
}

/** The value of the one sample of `name` whose labels include `labels` (undefined when absent). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

describe('metric values from the status', () => {
  it('VRRP: the state as a value, priority, transitions, adverts, drops by reason', async () => {
    const control = fakeControl();
    const metrics = createGatewayMetrics(control);
    const read = async () => parseExposition(await metrics.render());
    let { samples, types } = await read();
    const vi1 = { instance: 'VI_1' };
    expect(value(samples, 'proxyha_vrrp_state', vi1)).toBe(2);
    expect(samples.filter((s) => s.name === 'proxyha_vrrp_state')).toHaveLength(1);
    expect(value(samples, 'proxyha_vrrp_priority', vi1)).toBe(99);
    expect(value(samples, 'proxyha_vrrp_transitions_total', vi1)).toBe(2);
    expect(value(samples, 'proxyha_vrrp_became_master_total', vi1)).toBe(1);
    expect(value(samples, 'proxyha_vrrp_adverts_sent_total', vi1)).toBe(3596);
    expect(value(samples, 'proxyha_vrrp_adverts_received_total', vi1)).toBe(120);
    expect(value(samples, 'proxyha_vrrp_adverts_dropped_total', { reason: 'VRRP_BAD_TTL' })).toBe(2);
    expect(value(samples, 'proxyha_vrrp_adverts_dropped_total', { reason: 'VRRP_AUTH_MISMATCH' })).toBe(1);
    for (const name of [
      'proxyha_vrrp_transitions_total',
      'proxyha_vrrp_adverts_sent_total',
      'proxyha_vrrp_adverts_received_total',
      'proxyha_vrrp_adverts_dropped_total',
    ])
      expect(types.get(name), name).toBe('counter');
    expect(types.get('proxyha_vrrp_state')).toBe('gauge');

    // the same registry, scraped again after changes: values follow the status, no label churns
    for (const [state, v] of [
      ['backup', 1],
      ['fault', 3],
      ['initialize', 0],
      ['master', 2],
    ] as const) {
      control.setStatus({ vrrp: { state, effectivePriority: 49, dropped: { VRRP_BAD_TTL: 5 } } });
      ({ samples } = await read());
      expect(value(samples, 'proxyha_vrrp_state', vi1), state).toBe(v);
      expect(samples.filter((s) => s.name === 'proxyha_vrrp_state')).toHaveLength(1);
    }
    expect(value(samples, 'proxyha_vrrp_priority', vi1)).toBe(49);
    // a reason no longer reported is gone
    expect(
      value(samples, 'proxyha_vrrp_adverts_dropped_total', { reason: 'VRRP_AUTH_MISMATCH' }),
    ).toBeUndefined();
    expect(value(samples, 'proxyha_vrrp_adverts_dropped_total', { reason: 'VRRP_BAD_TTL' })).toBe(5);

    // without transitionCount: the transitions kept
    control.setStatus((s) => ({ ...s, vrrp: { ...s.vrrp, transitionCount: undefined } }));
    ({ samples, types } = await read());
    expect(value(samples, 'proxyha_vrrp_transitions_total', vi1)).toBe(2);
  });

  it('director: role, per-node weight, share, connections, health, bytes; connection counters', async () => {
    const control = fakeControl();
    const { samples, types } = await scrape(control);
    expect(value(samples, 'proxyha_lb_director')).toBe(1);
    expect(value(samples, 'proxyha_lb_node_weight', { node: 'mwg2' })).toBe(100);
    expect(value(samples, 'proxyha_lb_node_effective_weight', { node: 'mwg1' })).toBe(96);
    expect(value(samples, 'proxyha_lb_node_share', { node: 'mwg1' })).toBe(0.5);
    expect(value(samples, 'proxyha_lb_node_share', { node: 'mwg3' })).toBe(0);
    expect(value(samples, 'proxyha_lb_node_active_connections', { node: 'mwg2' })).toBe(38);
    expect(value(samples, 'proxyha_lb_node_healthy', { node: 'mwg1' })).toBe(1);
    expect(value(samples, 'proxyha_lb_node_healthy', { node: 'mwg3' })).toBe(0);
    expect(value(samples, 'proxyha_lb_connections_accepted_total')).toBe(1500);
    expect(value(samples, 'proxyha_lb_connections_failed_total')).toBe(3);
    expect(value(samples, 'proxyha_lb_bytes_total', { node: 'mwg1', direction: 'to_node' })).toBe(1_000_000);
    expect(value(samples, 'proxyha_lb_bytes_total', { node: 'mwg2', direction: 'to_client' })).toBe(
      48_000_000,
    );
    expect(samples.filter((s) => s.name === 'proxyha_lb_bytes_total')).toHaveLength(4);
    for (const name of [
      'proxyha_lb_connections_accepted_total',
      'proxyha_lb_connections_failed_total',
      'proxyha_lb_bytes_total',
    ])
      expect(types.get(name), name).toBe('counter');

    // a scanner sees itself only, without an effective weight; nodes that left are gone
    control.setStatus((s) => ({
      ...s,
      node: { ...s.node, role: 'scanner' },
      director: {
        ...s.director,
        role: 'scanner',
        nodes: [
          {
            ...(s.director.nodes[1] as GatewayStatus['director']['nodes'][number]),
            effectiveWeight: undefined,
          },
        ],
        bytesByNode: {},
      },
    }));
    const after = (await scrape(control)).samples;
    expect(value(after, 'proxyha_lb_director')).toBe(0);
    expect(after.filter((s) => s.name === 'proxyha_lb_node_weight').map((s) => s.labels.node)).toEqual([
      'mwg2',
    ]);
    expect(after.filter((s) => s.name === 'proxyha_lb_node_effective_weight')).toEqual([]);
    expect(after.filter((s) => s.name === 'proxyha_lb_bytes_total')).toEqual([]);
  });

  it('health per port (status and known), maintenance', async () => {
    const control = fakeControl();
    let { samples } = await scrape(control);
    expect(value(samples, 'proxyha_health_status', { port: '9090' })).toBe(1);
    expect(value(samples, 'proxyha_health_known', { port: '9090' })).toBe(1);
    expect(value(samples, 'proxyha_health_aggregate_status')).toBe(1);
    expect(value(samples, 'proxyha_maintenance')).toBe(0);

    control.setStatus({
      node: { maintenance: true },
      health: {
        status: 'failure',
        ports: [
          { port: 9090, status: 'failure', since: 0, reason: 'connection refused' },
          { port: 3128, status: 'unknown', since: 0, reason: null },
        ],
      },
    });
    ({ samples } = await scrape(control));
    expect(value(samples, 'proxyha_health_status', { port: '9090' })).toBe(0);
    expect(value(samples, 'proxyha_health_status', { port: '3128' })).toBeUndefined();
    expect(value(samples, 'proxyha_health_known', { port: '3128' })).toBe(0);
    expect(value(samples, 'proxyha_health_aggregate_status')).toBe(0);
    expect(value(samples, 'proxyha_maintenance')).toBe(1);

    control.setStatus({ health: { status: 'unknown' } });
    ({ samples } = await scrape(control));
    expect(value(samples, 'proxyha_health_aggregate_status')).toBeUndefined();
  });

  it('ntp: offset in seconds and verdict; absent when unknown or off', async () => {
    const control = fakeControl();
    let { samples } = await scrape(control);
    expect(value(samples, 'proxyha_ntp_offset_seconds')).toBeCloseTo(0.012, 9);
    expect(value(samples, 'proxyha_ntp_verdict')).toBe(0);
    control.setStatus({ ntp: { verdict: 'warn', offsetMs: -600 } });
    ({ samples } = await scrape(control));
    expect(value(samples, 'proxyha_ntp_offset_seconds')).toBeCloseTo(-0.6, 9);
    expect(value(samples, 'proxyha_ntp_verdict')).toBe(1);
    control.setStatus({ ntp: { verdict: 'fail', offsetMs: 5000 } });
    ({ samples } = await scrape(control));
    expect(value(samples, 'proxyha_ntp_verdict')).toBe(2);
    for (const verdict of ['unknown', 'off'] as const) {
      control.setStatus({ ntp: { verdict, offsetMs: null } });
      ({ samples } = await scrape(control));
      expect(value(samples, 'proxyha_ntp_offset_seconds'), verdict).toBeUndefined();
      expect(value(samples, 'proxyha_ntp_verdict'), verdict).toBeUndefined();
    }
  });

  it('central management: storage timestamp age, errors, sync, peers, conflicts; none without cm', async () => {
    const control = fakeControl();
    let { samples, types } = await scrape(control);
    expect(value(samples, 'proxyha_cm_storage_timestamp_age_seconds')).toBe(60);
    expect(value(samples, 'proxyha_cm_replication_errors_total')).toBe(0);
    expect(types.get('proxyha_cm_replication_errors_total')).toBe('counter');
    expect(value(samples, 'proxyha_cm_in_sync')).toBe(1);
    expect(value(samples, 'proxyha_cm_peers')).toBe(1);
    expect(value(samples, 'proxyha_cm_peers_reachable')).toBe(1);
    expect(value(samples, 'proxyha_cm_conflicts')).toBe(0);

    control.setStatus((s) => {
      const cm = s.cm as NonNullable<GatewayStatus['cm']>;
      const ref = { id: 'v1', origin: 'mwg2', storageTimestamp: 'x' };
      return {
        ...s,
        cm: {
          ...cm,
          inSync: false,
          errors: 7,
          storageTimestampAgeMs: null,
          nodes: cm.nodes.map((n, i) => (i === 0 ? n : { ...n, reachable: false, lastError: 'refused' })),
          conflicts: [{ scope: 'policy', winner: ref, loser: { ...ref, id: 'v2' } }],
        },
      };
    });
    ({ samples } = await scrape(control));
    expect(value(samples, 'proxyha_cm_storage_timestamp_age_seconds')).toBeUndefined();
    expect(value(samples, 'proxyha_cm_replication_errors_total')).toBe(7);
    expect(value(samples, 'proxyha_cm_in_sync')).toBe(0);
    expect(value(samples, 'proxyha_cm_peers_reachable')).toBe(0);
    expect(value(samples, 'proxyha_cm_conflicts')).toBe(1);

    control.setStatus({ cm: null });
    ({ samples, types } = await scrape(control));
    expect(samples.filter((s) => s.name.startsWith('proxyha_cm_'))).toEqual([]);
  });

  it('runtime groups: the shared-data alert per member; update groups: the age of each list held', async () => {
    const control = fakeControl();
    let { samples } = await scrape(control);
    expect(samples.filter((s) => s.name === 'proxyha_cm_shared_data_unsynchronized')).toEqual([]);
    const at = new Date(Date.now() - 120_000).toISOString();
    const peer = { uuid: 'u2', connected: true, lastSync: at, pending: false };
    control.setStatus((s) => {
      const cm = s.cm as NonNullable<GatewayStatus['cm']>;
      return {
        ...s,
        cm: {
          ...cm,
          runtime: {
            group: 'tokyo',
            members: [],
            counters: 1,
            values: 0,
            alert: true,
            peers: [
              { ...peer, name: 'tokyo-2', alert: null },
              { ...peer, name: 'tokyo-3', alert: { since: at, reason: 'not connected' } },
            ],
          },
          updates: {
            groups: ['tokyo'],
            downloadFromInternet: true,
            acceptFromNodes: true,
            lastCheck: null,
            nextCheck: null,
            members: [],
            lists: [
              { name: 'urllists', version: '7', sha256: 'a', size: 1, from: 'internet', at },
              { name: 'av', version: null, sha256: null, size: null, from: null, at: null },
            ].map((l) => ({ ...l, published: null, busy: null, lastError: null })),
          },
        },
      } as GatewayStatus;
    });
    ({ samples } = await scrape(control));
    const of = (name: string) =>
      samples.filter((s) => s.name === name).map((s) => [JSON.stringify(s.labels), s.value]);
    expect(of('proxyha_cm_shared_data_unsynchronized')).toEqual([
      ['{"node":"tokyo-2"}', 0],
      ['{"node":"tokyo-3"}', 1],
    ]);
    const age = of('proxyha_cm_update_list_age_seconds');
    expect(age.map((a) => a[0])).toEqual(['{"list":"urllists"}']);
    expect(age[0]?.[1]).toBeGreaterThanOrEqual(120);
  });

  it('process metrics on the private registry; the global registry is untouched; one status() per scrape', async () => {
    const control = fakeControl();
    const a = createGatewayMetrics(control);
    const b = createGatewayMetrics(fakeControl()); // a second server in the same process: no name clash
    const before = control.statusReads;
    const { samples, types } = parseExposition(await a.render());
    expect(control.statusReads - before).toBe(1);
    expect(types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(types.has('nodejs_eventloop_lag_seconds')).toBe(true);
    expect(a.registry).not.toBe(globalRegistry);
    expect(a.registry).not.toBe(b.registry);
    expect(await globalRegistry.metrics()).not.toContain('proxyha_');
    expect(await b.render()).toContain('proxyha_vrrp_state');
    expect(a.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});

describe('GET /metrics', () => {
  let server: ManagementServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers the exposition text with the token, 401 without', async () => {
    const control = fakeControl();
    server = await startManagementServer({ control, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN });
    const refused = await request(`${server.url}/metrics`);
    expect(refused.status).toBe(401);
    expect(control.statusReads).toBe(0);
    const answer = await request(`${server.url}/metrics`, { token: TOKEN });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const { samples } = parseExposition(answer.body);
    expect(value(samples, 'proxyha_vrrp_state', { instance: 'VI_1' })).toBe(2);
    control.setStatus({ vrrp: { state: 'backup' } });
    const again = parseExposition((await request(`${server.url}/metrics`, { token: TOKEN })).body);
    expect(value(again.samples, 'proxyha_vrrp_state', { instance: 'VI_1' })).toBe(1);
    expect(value(again.samples, 'proxyha_node_info', { name: 'mwg1', version: '0.0.0-test' })).toBe(1);
  });
});

// A fake running node for the management server's tests (API, events, metrics, status page): a complete
// sample status that a test changes with `setStatus(patch)` (which calls the onChange listeners, as the node
// does), and every command recorded in order.
import type { PolicyDocument } from '@proxyha/cm-coordinator';
import type { GatewayControl, GatewayPolicy, GatewaySaveResult, GatewayStatus } from '../src/node/types';

/** Wall-clock time of the sample: 2026-01-01T12:00:00Z. */
export const SAMPLE_NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

/** Node ids of the sample's director group. */
export const SAMPLE_IDS = { mwg1: 'a1b2c3d4', mwg2: 'b2c3d4e5', mwg3: 'c3d4e5f6' } as const;

/** UUIDs of the sample's central-management nodes. */
export const SAMPLE_UUIDS = {
  mwg1: '11111111-1111-4111-8111-111111111111',
  mwg2: '22222222-2222-4222-8222-222222222222',
} as const;

/** The sample's Current Storage Timestamp (cm's format: ISO time, logical counter, origin UUID). */
export const SAMPLE_STORAGE_TIMESTAMP = `2026-01-01T11:59:00.000Z.00000.${SAMPLE_UUIDS.mwg1}`;

/**
 * A complete status: node mwg1 is the VRRP master and director of three nodes (mwg3 failing on port 9090
 * and drained), health ok, ntp ok at +12 ms, central management with two nodes in sync. Every field of
 * {@link GatewayStatus} is set, so a consumer can render all of it.
 */
export function sampleStatus(): GatewayStatus {
  const t = SAMPLE_NOW;
  return {
    node: {
      name: 'mwg1',
      version: '0.0.0-test',
      startedAt: t - 3_600_000,
      now: t,
      maintenance: false,
      role: 'director',
    },
    vrrp: {
      instance: 'VI_1',
      vrid: 51,
      interface: 'eth0',
      state: 'master',
      basePriority: 99,
      effectivePriority: 99,
      virtualIps: ['10.10.74.74/24'],
      vipOwner: '10.10.74.70',
      faultReasons: [],
      transitions: [
        { at: t - 3_599_000, from: 'initialize', to: 'backup', reason: 'startup', priority: 99 },
        { at: t - 3_596_000, from: 'backup', to: 'master', reason: 'masterDown', priority: 99 },
      ],
      advertsReceived: 120,
      advertsSent: 3596,
      dropped: { VRRP_BAD_TTL: 2, VRRP_AUTH_MISMATCH: 1 },
      becameMaster: 1,
      transitionCount: 2,
    },
    director: {
      role: 'director',
      group: 51,
      self: { id: SAMPLE_IDS.mwg1, name: 'mwg1', address: '10.10.74.70' },
      director: { id: SAMPLE_IDS.mwg1, name: 'mwg1', address: '10.10.74.70' },
      directors: [{ id: SAMPLE_IDS.mwg1, name: 'mwg1', address: '10.10.74.70', priority: 99 }],
      nodes: [
        {
          id: SAMPLE_IDS.mwg1,
          name: 'mwg1',
          address: '10.10.74.70',
          version: '0.0.0-test',
          health: 'ok',
          failingPorts: [],
          weight: 100,
          effectiveWeight: 96,
          share: 0.5,
          activeConnections: 40,
          resources: { cpu: 0.2, memory: 0.4, load: 0.3 },
          lastReportAgeMs: 120,
          self: true,
        },
        {
          id: SAMPLE_IDS.mwg2,
          name: 'mwg2',
          address: '10.10.74.86',
          version: '0.0.0-test',
          health: 'ok',
          failingPorts: [],
          weight: 100,
          effectiveWeight: 100,
          share: 0.5,
          activeConnections: 38,
          resources: { cpu: 0.25, memory: 0.35, load: 0.2 },
          lastReportAgeMs: 640,
          self: false,
        },
        {
          id: SAMPLE_IDS.mwg3,
          name: 'mwg3',
          address: '10.10.74.87',
          version: '0.0.0-test',
          health: 'failure',
          failingPorts: [9090],
          weight: 100,
          effectiveWeight: 0,
          share: 0,
          activeConnections: 0,
          resources: { cpu: 0.01, memory: 0.3, load: 0.01 },
          lastReportAgeMs: 900,
          self: false,
        },
      ],
      table: { size: 65537, seed: 0 },
      heldTable: undefined,
      counters: {
        accepted: 7200,
        otherGroup: 0,
        own: 3600,
        rejected: {},
        announcementsSent: 3596,
        tablesNotAnnounced: 0,
        reportsSent: 3600,
        sendErrors: 0,
      },
      dataPlane: 'relay',
      connections: { accepted: 1500, failed: 3 },
      bytesByNode: {
        [SAMPLE_IDS.mwg1]: { toNode: 1_000_000, toClient: 52_000_000 },
        [SAMPLE_IDS.mwg2]: { toNode: 900_000, toClient: 48_000_000 },
      },
      redirects: [{ originalPort: 9090, destinationPort: 9090 }],
    },
    health: {
      status: 'ok',
      since: t - 3_590_000,
      host: '10.10.74.70',
      ports: [{ port: 9090, status: 'ok', since: t - 3_590_000, reason: null }],
    },
    ntp: {
      verdict: 'ok',
      offsetMs: 12,
      servers: ['10.10.74.1:123'],
      message: null,
      checkedAt: t - 30_000,
    },
    cm: {
      self: { uuid: SAMPLE_UUIDS.mwg1, name: 'mwg1' },
      inSync: true,
      nodes: [
        {
          uuid: SAMPLE_UUIDS.mwg1,
          name: 'mwg1',
          address: '10.10.74.70:12346',
          version: '0.0.0-test',
          storageTimestamp: SAMPLE_STORAGE_TIMESTAMP,
          reachable: true,
          lastError: null,
        },
        {
          uuid: SAMPLE_UUIDS.mwg2,
          name: 'mwg2',
          address: '10.10.74.86:12346',
          version: '0.0.0-test',
          storageTimestamp: SAMPLE_STORAGE_TIMESTAMP,
          reachable: true,
          lastError: null,
        },
      ],
      conflicts: [],
      policy: { id: 'v-sample-1', origin: 'mwg1', storageTimestamp: SAMPLE_STORAGE_TIMESTAMP },
      errors: 0,
      storageTimestampAgeMs: 60_000,
    },
    explanations: [],
  };
}

/** The sample's current policy (one document). */
export function samplePolicy(): GatewayPolicy {
  return {
    id: 'v-sample-1',
    origin: 'mwg1',
    storageTimestamp: SAMPLE_STORAGE_TIMESTAMP,
    comment: 'initial',
    documents: [{ name: 'blocked.txt', content: 'example.com\n' }],
  };
}

/** A change to the status: each section given is merged one level deep (`cm: null` removes cm). */
export type StatusPatch = {
  readonly [K in keyof GatewayStatus]?: GatewayStatus[K] extends infer V
    ? V extends null
      ? null
      : Partial<V>
    : never;
};

/** The methods of {@link GatewayControl} that a {@link FakeControl} records. */
export type ControlMethod = 'savePolicy' | 'attachAdmin' | 'detachAdmin' | 'addNode' | 'setMaintenance';

/** One recorded command: the method and its arguments, in call order. */
export interface ControlCall {
  /** The method called. */
  readonly method: ControlMethod;
  /** Its arguments. */
  readonly args: readonly unknown[];
}

/** A {@link GatewayControl} whose state a test sets and whose commands it reads back. */
export interface FakeControl extends GatewayControl {
  /** Every command, in order (status, onChange and policy reads are not recorded). */
  readonly calls: ControlCall[];
  /** How many times status() was called. */
  readonly statusReads: number;
  /** The status document as it stands (a fresh copy of it is what status() returns). */
  readonly current: GatewayStatus;
  /** Changes the status (see {@link StatusPatch}, or a function of the current one) and calls every listener. */
  setStatus(patch: StatusPatch | ((s: GatewayStatus) => GatewayStatus)): void;
  /** Sets the current policy (no listener call). */
  setPolicy(policy: GatewayPolicy | null): void;
  /** Makes every later call of `method` throw `error` (`undefined`: behave again). */
  throwOn(method: ControlMethod | 'status' | 'policy', error: Error | undefined): void;
  /** Number of onChange listeners subscribed now. */
  listenerCount(): number;
}

/**
 * A fake running node: {@link sampleStatus} and {@link samplePolicy} to start with (or the given ones).
 * Commands behave like a node's: `savePolicy` makes a new current policy and returns its version,
 * `setMaintenance` sets `node.maintenance` and calls the listeners, `addNode` answers a new node.
 */
export function fakeControl(
  options: { readonly status?: GatewayStatus; readonly policy?: GatewayPolicy | null } = {},
): FakeControl {
  let status = options.status ?? sampleStatus();
  let policy = options.policy === undefined ? samplePolicy() : options.policy;
  const listeners = new Set<() => void>();
  const failures = new Map<string, Error>();
  const calls: ControlCall[] = [];
  let statusReads = 0;
  let saves = 0;

  const emit = () => {
    for (const l of [...listeners]) l();
  };
  const record = (method: ControlMethod, args: unknown[]) => {
    calls.push({ method, args });
    const failure = failures.get(method);
    if (failure) throw failure;
  };

  return {
    calls,
    get statusReads() {
      return statusReads;
    },
    get current() {
      return status;
    },
    status() {
      statusReads++;
      const failure = failures.get('status');
      if (failure) throw failure;
      return structuredClone(status);
    },
    onChange(listener) {
      const wrapped = () => listener();
      listeners.add(wrapped);
      return () => {
        listeners.delete(wrapped);
      };
    },
    policy() {
      const failure = failures.get('policy');
      if (failure) throw failure;
      return policy === null ? null : structuredClone(policy);
    },
    savePolicy(documents: readonly PolicyDocument[], opts) {
      record('savePolicy', opts === undefined ? [documents] : [documents, opts]);
      saves++;
      const storageTimestamp = `2026-01-01T12:0${saves}:00.000Z.00000.${SAMPLE_UUIDS.mwg1}`;
      const version = `v-saved-${saves}`;
      policy = {
        id: version,
        origin: status.node.name,
        storageTimestamp,
        comment: opts?.comment ?? null,
        documents: structuredClone([...documents]),
      };
      const result: GatewaySaveResult = { version, storageTimestamp };
      return result;
    },
    attachAdmin(session) {
      record('attachAdmin', [session]);
    },
    detachAdmin(session) {
      record('detachAdmin', [session]);
    },
    async addNode(address) {
      record('addNode', [address]);
      return { uuid: '33333333-3333-4333-8333-333333333333', name: 'mwg3' };
    },
    async setMaintenance(on) {
      record('setMaintenance', [on]);
      status = { ...status, node: { ...status.node, maintenance: on } };
      emit();
    },
    setStatus(patch) {
      if (typeof patch === 'function') status = patch(status);
      else {
        const next: Record<string, unknown> = { ...status };
        for (const [key, value] of Object.entries(patch)) {
          const old = (status as unknown as Record<string, unknown>)[key];
          next[key] =
            value === null || old === null || typeof value !== 'object' || Array.isArray(value)
              ? value
              : { ...(old as object), ...value };
        }
        status = next as unknown as GatewayStatus;
      }
      emit();
    },
    setPolicy(p) {
      policy = p;
    },
    throwOn(method, error) {
      if (error === undefined) failures.delete(method);
      else failures.set(method, error);
    },
    listenerCount() {
      return listeners.size;
    },
  };
}

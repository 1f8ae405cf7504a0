// The gateway node: one VRRP instance elects the director, the load-sharing node directs while this node
// is master and reports to the director otherwise, one port health monitor feeds both (the director's
// reports and the VRRP health tracker), the time-skew guard watches the clock, central management keeps
// the policy, and the management API shows it all. Every part is a package; this file only wires them.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  CmNode,
  type CmNodeOptions,
  formatHlc,
  type PolicyDocument,
  parsePeerAddress,
} from '@proxyha/cm-coordinator';
import { type Clock, type Logger, noopLogger, systemClock } from '@proxyha/common';
import { HealthMonitor, type HealthState, type Prober } from '@proxyha/health-mon';
import { LbDaemon, type LbDaemonOptions, reportedHealth } from '@proxyha/lb-director';
import { LinuxMacvlanManager, linuxStack } from '@proxyha/netio';
import type { RouterTransition, VrrpRouter } from '@proxyha/vrrp';
import { createAnnouncer, type DaemonAnnouncer, VrrpDaemon, type VrrpDaemonOptions } from '@proxyha/vrrpd';
import { version as packageVersion } from '../../package.json';
import { HEALTH_TRACKER_NAME, INSTANCE_NAME, MAINTENANCE_TRACKER_NAME } from '../config/derive';
import type { GatewayConfig } from '../config/types';
import { GatewayError } from '../errors';
import { type ManagementServer, startManagementServer } from '../management/server';
import { loadOrCreateToken } from '../management/token';
import { explainUnevenLoad } from './explain';
import { NtpGuard, type SkewCheck } from './ntp-guard';
import type {
  GatewayControl,
  GatewayDirectorStatus,
  GatewayHealthStatus,
  GatewayPolicy,
  GatewaySaveResult,
  GatewayStatus,
  GatewayTransition,
  GatewayVrrpStatus,
} from './types';

/** Injectable parts of a {@link GatewayNode} (tests); every default is the real one. */
export interface GatewayNodeOptions {
  /** Operator log (default none). */
  readonly logger?: Logger;
  /** Clock (default the system clock). */
  readonly clock?: Clock;
  /** The version shown and reported (default the gateway's). */
  readonly softwareVersion?: string;
  /** Options for the VRRP daemon (transports, VIP manager, ...); the gateway adds logger, clock and hooks. */
  readonly vrrpd?: VrrpDaemonOptions;
  /** Options for the director (transport, data plane, resources, ...); the gateway adds the health parts. */
  readonly lb?: LbDaemonOptions;
  /** Options for central management. */
  readonly cm?: CmNodeOptions;
  /** The port prober of the health monitor (default TCP connects). */
  readonly prober?: Prober;
  /** The time-skew check (default `@proxyha/ntp-check`). */
  readonly ntpCheck?: SkewCheck;
  /** Serve the management API (default true). */
  readonly management?: boolean;
  /**
   * The configuration file: central management keeps it as this node's own settings (scope `node:<uuid>`),
   * so that every node holds a backup of every node's file. Without it nothing is backed up.
   */
  readonly configFile?: string;
}

/** Transitions kept for the status. */
const TRANSITIONS_KEPT = 20;

/** Writes `value` to a keepalived-style track file (0 healthy). */
async function writeTrackFile(file: string, down: boolean): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, down ? '1\n' : '0\n');
}

/**
 * One gateway node. {@link GatewayNode.start} starts every part (and stops what started if one fails),
 * {@link GatewayNode.stop} stops them in the reverse order (a master sends priority 0 first, so that a
 * backup takes over at once). It implements {@link GatewayControl}, which the management API uses.
 */
export class GatewayNode implements GatewayControl {
  #config: GatewayConfig;
  readonly #o: GatewayNodeOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #version: string;
  readonly #listeners = new Set<() => void>();
  readonly #transitions: GatewayTransition[] = [];
  #transitionCount = 0;
  #monitor: HealthMonitor | undefined;
  #vrrpd: VrrpDaemon | undefined;
  #announcer: DaemonAnnouncer | undefined;
  #lb: LbDaemon | undefined;
  #cm: CmNode | undefined;
  #cmErrors = 0;
  /** Admin sessions attached with {@link GatewayNode.attachAdmin}: a save in one of them keeps it attached. */
  readonly #adminSessions = new Set<string>();
  #ntp: NtpGuard;
  #management: ManagementServer | undefined;
  #maintenance = false;
  #healthDown: boolean | undefined;
  #trackWrites: Promise<void> = Promise.resolve();
  #startedAt = 0;
  #stopping: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param config - a validated configuration (`loadGatewayConfig`)
   * @param options - injectable parts
   */
  constructor(config: GatewayConfig, options: GatewayNodeOptions = {}) {
    this.#config = config;
    this.#o = options;
    this.#log = options.logger ?? noopLogger;
    this.#clock = options.clock ?? systemClock;
    this.#version = options.softwareVersion ?? packageVersion;
    this.#ntp = this.#newNtpGuard(config);
  }

  /** The configuration in force. */
  get config(): GatewayConfig {
    return this.#config;
  }

  /** The management API's address (`http://127.0.0.1:8443`), once started. */
  get managementUrl(): string | undefined {
    return this.#management?.url;
  }

  /** The VRRP router of the instance, once started. */
  get router(): VrrpRouter | undefined {
    return this.#vrrpd?.routers.get(INSTANCE_NAME);
  }

  #newNtpGuard(config: GatewayConfig): NtpGuard {
    return new NtpGuard(config.ntp, {
      clock: this.#clock,
      logger: this.#log,
      ...(this.#o.ntpCheck ? { check: this.#o.ntpCheck } : {}),
      onChange: () => this.#changed(),
    });
  }

  /**
   * Starts the node: health monitor (its first verdict decides the health tracker before VRRP starts, so
   * that a node whose proxy is down never wins an election), the director's node, VRRP, central
   * management, the time-skew guard and the management API.
   *
   * @throws {@link GatewayError} `GATEWAY_START_FAILED` naming the part that failed (the others are stopped)
   */
  async start(): Promise<void> {
    const c = this.#config;
    this.#startedAt = this.#clock.wallTime();
    await mkdir(c.node.dataDir, { recursive: true });
    this.#maintenance = await readFile(c.maintenance.stateFile, 'utf8').then(
      (t) => t.trim() !== '0',
      () => false,
    );
    if (this.#maintenance) this.#log.warn('maintenance mode is on (proxyha maintenance off ends it)');
    try {
      await this.#part('health monitor', () => this.#startHealth());
      await this.#part('director', () => this.#startLb());
      await this.#part('vrrp', () => this.#startVrrp());
      if (c.cm) await this.#part('central management', () => this.#startCm());
      this.#ntp.start();
      if (this.#o.management ?? true) await this.#part('management API', () => this.#startManagement());
    } catch (e) {
      await this.stop().catch(() => {});
      throw e;
    }
    // ages and connection counts change without events: the page and the stream see them every second
    this.#timer = setInterval(() => this.#changed(), 1000);
    this.#timer.unref();
  }

  async #part(part: string, start: () => Promise<void>): Promise<void> {
    try {
      await start();
    } catch (e) {
      const message = `cannot start the ${part}: ${(e as Error).message}`;
      this.#log.error(message);
      throw new GatewayError('GATEWAY_START_FAILED', message, { details: { part }, cause: e });
    }
  }

  async #startHealth(): Promise<void> {
    const c = this.#config;
    const monitor = new HealthMonitor({
      ...c.health,
      clock: this.#clock,
      logger: this.#log,
      ...(this.#o.prober ? { prober: this.#o.prober } : {}),
    });
    this.#monitor = monitor;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    let off: (() => void) | undefined;
    const first = new Promise<void>((resolve) => {
      // a probe that never answers still ends within its timeout; wait no longer than one cycle more
      timer = this.#clock.setTimeout(resolve, c.health.intervalMs + c.health.timeoutMs + 1000);
      off = monitor.subscribe((state) => {
        if (state.status !== 'unknown') resolve();
      }, false);
    }).finally(() => {
      off?.();
      if (timer) this.#clock.clearTimeout(timer);
    });
    monitor.subscribe((state) => this.#healthChanged(state), true);
    monitor.start();
    await first;
  }

  #healthChanged(state: HealthState): void {
    // unknown counts as down until proven: the tracker lets an election be won only with a working proxy
    const down = state.status !== 'ok';
    if (down !== this.#healthDown) {
      this.#healthDown = down;
      // the instance polls the file every second: tell it now
      this.router?.trackerChanged(`file:${HEALTH_TRACKER_NAME}`, down ? 'down' : 'up');
      void this.#writeHealthFile(down);
    }
    this.#changed();
  }

  /** Writes the health track file; writes happen one after another, so the last state is the file's. */
  #writeHealthFile(down: boolean): Promise<void> {
    const file = this.#config.healthTracker.file;
    this.#trackWrites = this.#trackWrites
      .then(() => writeTrackFile(file, down))
      .catch((e: unknown) => this.#log.error(`cannot write ${file}: ${(e as Error).message}`));
    return this.#trackWrites;
  }

  async #startLb(): Promise<void> {
    const monitor = this.#monitor as HealthMonitor;
    const lb = new LbDaemon(this.#config.lb, {
      ...this.#o.lb,
      logger: this.#log,
      clock: this.#clock,
      softwareVersion: this.#version,
      healthMonitor: monitor,
      // maintenance drains this node: it reports failure while the monitor may still say ok
      health: () =>
        this.#maintenance ? { status: 'failure', failingPorts: [] } : reportedHealth(monitor.state),
    });
    this.#lb = lb;
    await lb.start();
    const node = lb.node;
    node?.on('role', () => this.#changed());
    node?.on('action', () => this.#changed());
  }

  async #startVrrp(): Promise<void> {
    const c = this.#config;
    const raw = c.vrrpd.transport === 'raw';
    const injected = this.#o.vrrpd ?? {};
    // gratuitous ARP / NA after every VIP move and virtual MACs, when the VIPs are real
    const announcer =
      raw && !injected.announce ? createAnnouncer(linuxStack, this.#log, c.vrrpd, this.#clock) : undefined;
    this.#announcer = announcer;
    await this.#writeHealthFile(this.#healthDown ?? true);
    const daemon = new VrrpDaemon(c.vrrpd, {
      ...(raw ? { vmacs: new LinuxMacvlanManager() } : {}),
      ...(announcer ? { announce: announcer.hook } : {}),
      ...injected,
      logger: this.#log,
      clock: this.#clock,
      onTransition: (t) => {
        announcer?.onTransition(t);
        injected.onTransition?.(t);
        this.#transition(t);
      },
    });
    this.#vrrpd = daemon;
    await daemon.start();
    await announcer?.warm([c.vrrpd.instances[0]?.interface ?? '']);
  }

  #transition(t: RouterTransition): void {
    this.#transitionCount++;
    this.#transitions.push({
      at: this.#clock.wallTime(),
      from: t.from,
      to: t.to,
      reason: t.reason,
      priority: t.priority,
    });
    if (this.#transitions.length > TRANSITIONS_KEPT) this.#transitions.shift();
    const node = this.#lb?.node;
    // the director's node logs the seed product's lines (`set lbnetwork 1`, `state=master previous=backup`)
    if (t.to === 'master') node?.setRole('director');
    else if (t.from === 'master') node?.setRole('scanner');
    this.#changed();
  }

  async #startCm(): Promise<void> {
    const c = this.#config.cm;
    if (!c) return;
    const log = this.#log;
    // replication errors are what central management logs as errors
    const counting: Logger = {
      debug: (m, f) => log.debug(m, f),
      info: (m, f) => log.info(m, f),
      warn: (m, f) => log.warn(m, f),
      error: (m, f) => {
        this.#cmErrors++;
        log.error(m, f);
      },
    };
    const cm = new CmNode(c, {
      ...this.#o.cm,
      logger: counting,
      clock: this.#clock,
      softwareVersion: this.#version,
    });
    this.#cm = cm;
    await cm.start();
    await this.#backupConfig();
  }

  /**
   * Saves this node's configuration file as its own settings in central management when it differs from
   * the last one saved: per-node settings stay per node (they are not applied elsewhere), and every node
   * keeps every node's backup. A failure is logged; the node runs on.
   */
  async #backupConfig(): Promise<void> {
    const cm = this.#cm;
    const file = this.#o.configFile;
    if (!cm || !file) return;
    try {
      const content = await readFile(file, 'utf8');
      const name = 'proxyha.yaml';
      const current = cm.current(`node:${cm.self.uuid}`);
      const same =
        current?.documents.length === 1 &&
        current.documents[0]?.name === name &&
        current.documents[0].content === content;
      if (same) return;
      const r = cm.save([{ name, content }], { scope: 'node', comment: `configuration of ${cm.self.name}` });
      this.#log.info(`configuration backed up to central management (version ${r.version.slice(0, 12)})`);
    } catch (e) {
      this.#log.error(`cannot back up the configuration to central management: ${(e as Error).message}`);
    }
  }

  async #startManagement(): Promise<void> {
    const m = this.#config.management;
    const token = await loadOrCreateToken(m.tokenFile, this.#log);
    const tls = m.tls
      ? { cert: await readFile(m.tls.cert, 'utf8'), key: await readFile(m.tls.key, 'utf8') }
      : undefined;
    this.#management = await startManagementServer({
      control: this,
      listen: m.listen,
      token,
      ...(tls ? { tls } : {}),
      logger: this.#log,
    });
    this.#log.info(`management: status page and API on ${this.#management.url}/`);
  }

  /**
   * Stops every part, in the reverse order of the start. Idempotent: a call while a stop runs returns when
   * that stop has finished.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    // priority 0 first: a backup takes over at once
    const vrrp = this.#vrrpd?.stop();
    await this.#management?.close().catch(() => {});
    await vrrp?.catch((e: unknown) => this.#log.error(`vrrp: ${(e as Error).message}`));
    await this.#announcer?.close();
    await this.#ntp.stop();
    await this.#cm?.stop().catch((e: unknown) => this.#log.error(`cm: ${(e as Error).message}`));
    await this.#lb?.stop().catch((e: unknown) => this.#log.error(`director: ${(e as Error).message}`));
    await this.#monitor?.stop();
  }

  /**
   * Applies a new configuration (SIGHUP). The VRRP instance takes the difference in place (a master
   * stays master unless its interface, VRID or transport changed) and the time-skew guard restarts with
   * its new settings; the director, the health monitor and central management keep running as they are:
   * a change of theirs is named in the log and takes effect at the next restart (restarting them would
   * drop the table or the connections a reload must keep).
   *
   * @returns the changes that wait for a restart (empty when everything was applied)
   */
  async reload(next: GatewayConfig): Promise<string[]> {
    const before = this.#config;
    const pending: string[] = [];
    const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
    const lbKeys = (Object.keys(next.lb) as (keyof GatewayConfig['lb'])[]).filter((k) =>
      differs(before.lb[k], next.lb[k]),
    );
    if (lbKeys.length > 0) pending.push(`the director's ${lbKeys.join(', ')}`);
    if (differs(before.cm, next.cm)) pending.push('central management (cm, policy)');
    if (differs(before.management, next.management)) pending.push('the management API (management)');
    if (differs(before.node, next.node)) pending.push('the node (node)');
    if (differs(before.health, next.health))
      pending.push('the health monitor (health; the director and the VRRP tracker share it)');
    const vrrp = await this.#vrrpd?.reload(next.vrrpd, 'reload');
    if (vrrp && !vrrp.ok) throw vrrp.error;
    if (differs(before.ntp, next.ntp)) {
      await this.#ntp.stop();
      this.#ntp = this.#newNtpGuard(next);
      this.#ntp.start();
    }
    // what was applied is in force; the rest keeps its old value until a restart
    this.#config = {
      ...next,
      lb: before.lb,
      cm: before.cm,
      management: before.management,
      node: before.node,
      health: before.health,
      healthTracker: before.healthTracker,
      maintenance: before.maintenance,
    };
    for (const p of pending) this.#log.warn(`reload: ${p} changed: takes effect at the next restart`);
    this.#changed();
    await this.#backupConfig();
    return pending;
  }

  #changed(): void {
    for (const l of [...this.#listeners]) {
      try {
        l();
      } catch (e) {
        this.#log.error(`status listener failed: ${(e as Error).message}`);
      }
    }
  }

  /** See {@link GatewayControl.onChange}. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** See {@link GatewayControl.status}. */
  status(): GatewayStatus {
    const c = this.#config;
    const now = this.#clock.wallTime();
    const vrrp = this.#vrrpStatus();
    const director = this.#directorStatus();
    const cm = this.#cmStatus(now);
    const health = this.#healthStatus();
    const base = {
      node: {
        name: c.node.name,
        version: this.#version,
        startedAt: this.#startedAt,
        now,
        maintenance: this.#maintenance,
        role: director.role,
      },
      vrrp,
      director,
      health,
      ntp: this.#ntp.status(),
      cm,
    };
    return { ...base, explanations: explainUnevenLoad(base) };
  }

  #vrrpStatus(): GatewayVrrpStatus {
    const inst = this.#config.vrrpd.instances[0];
    const router = this.router;
    const snap = router?.snapshot();
    const rx = router?.rxStats.snapshot();
    const state = snap?.state ?? 'initialize';
    const self = inst?.sourceAddress ?? null;
    return {
      instance: INSTANCE_NAME,
      vrid: inst?.vrid ?? 0,
      interface: inst?.interface ?? '',
      state,
      basePriority: snap?.basePriority ?? inst?.priority ?? 0,
      effectivePriority: snap?.effectivePriority ?? inst?.priority ?? 0,
      virtualIps: inst?.virtualIps ?? [],
      vipOwner:
        state === 'master'
          ? (self ?? this.#config.lb.managementIp)
          : state === 'backup'
            ? (snap?.master?.address ?? null)
            : null,
      faultReasons: snap?.faultReasons ?? [],
      transitions: [...this.#transitions],
      transitionCount: this.#transitionCount,
      advertsReceived: snap?.stats.advertsReceived ?? 0,
      advertsSent: snap?.stats.advertsSent ?? 0,
      dropped: Object.fromEntries(
        Object.entries((rx?.byCode ?? {}) as Record<string, number>).filter(([, n]) => n > 0),
      ),
      becameMaster: snap?.stats.becameMaster ?? 0,
    };
  }

  #directorStatus(): GatewayDirectorStatus {
    const c = this.#config.lb;
    const lb = this.#lb?.status();
    const stats = this.#lb?.dataPlaneStats();
    const bytes: Record<string, { toNode: number; toClient: number }> = {};
    for (const [id, b] of stats?.bytesByNode ?? []) bytes[id] = { toNode: b.toNode, toClient: b.toClient };
    const fallback = {
      role: 'scanner' as const,
      group: c.group,
      self: { id: '', name: c.name, address: c.managementIp },
      director: undefined,
      directors: [],
      nodes: [],
      table: undefined,
      heldTable: undefined,
      counters: {
        accepted: 0,
        otherGroup: 0,
        own: 0,
        rejected: {},
        announcementsSent: 0,
        tablesNotAnnounced: 0,
        reportsSent: 0,
        sendErrors: 0,
      },
    };
    return {
      ...(lb ?? fallback),
      dataPlane: c.dataPlane,
      connections: { accepted: stats?.accepted ?? 0, failed: stats?.failed ?? 0 },
      bytesByNode: bytes,
      redirects: c.redirects.map((r) => ({
        originalPort: r.originalPort,
        destinationPort: r.destinationPort,
      })),
    };
  }

  #healthStatus(): GatewayHealthStatus {
    const c = this.#config.health;
    const s = this.#monitor?.state;
    return {
      status: s?.status ?? 'unknown',
      since: s?.since ?? this.#startedAt,
      host: c.host,
      ports: (
        s?.ports ??
        c.ports.map((p) => ({
          port: p.port,
          status: 'unknown' as const,
          since: this.#startedAt,
          reason: null,
          detail: null,
        }))
      ).map((p) => ({
        port: p.port,
        status: p.status,
        since: p.since,
        reason: p.status === 'failure' ? (p.detail ?? p.reason ?? 'failure') : null,
      })),
    };
  }

  #cmStatus(now: number): GatewayStatus['cm'] {
    const cm = this.#cm;
    if (!cm) return null;
    const s = cm.status();
    const current = cm.current();
    return {
      ...s,
      policy: current
        ? { id: current.id, origin: current.origin.name, storageTimestamp: formatHlc(current.stamp) }
        : null,
      errors: this.#cmErrors,
      storageTimestampAgeMs: current ? Math.max(0, now - current.stamp.wall) : null,
      backups: s.nodes.flatMap((n) => {
        const v = n.uuid ? cm.current(`node:${n.uuid}`) : undefined;
        return v && n.uuid
          ? [{ node: n.name, uuid: n.uuid, version: v.id, storageTimestamp: formatHlc(v.stamp) }]
          : [];
      }),
    };
  }

  /** See {@link GatewayControl.policy}. */
  policy(): GatewayPolicy | null {
    const v = this.#cm?.current();
    if (!v) return null;
    return {
      id: v.id,
      origin: v.origin.name,
      storageTimestamp: formatHlc(v.stamp),
      comment: v.comment ?? null,
      documents: v.documents,
    };
  }

  #requireCm(): CmNode {
    if (!this.#cm)
      throw new GatewayError('GATEWAY_CM_DISABLED', 'central management is not configured (no cm section)');
    return this.#cm;
  }

  /** See {@link GatewayControl.savePolicy}. */
  savePolicy(
    documents: readonly PolicyDocument[],
    options: { readonly comment?: string; readonly session?: string } = {},
  ): GatewaySaveResult {
    const cm = this.#requireCm();
    if (this.#ntp.failing)
      throw new GatewayError(
        'GATEWAY_CLOCK_SKEW',
        `policy save refused: the time-skew guard fails (${this.#ntp.status().message ?? 'clock off'})`,
      );
    // a save holds the cluster's admin lock while it runs (a session of its own when none is given), so that
    // it is refused while another admin session holds it; a session attached before stays attached
    const session = options.session ?? `save-${randomBytes(8).toString('hex')}`;
    const attachedBefore = this.#adminSessions.has(session);
    cm.attachAdmin(session);
    try {
      const r = cm.save(documents, options.comment !== undefined ? { comment: options.comment } : {});
      this.#log.info(`policy saved: version ${r.version.slice(0, 12)} (${documents.length} document(s))`);
      this.#changed();
      return { version: r.version, storageTimestamp: r.storageTimestamp };
    } finally {
      if (!attachedBefore) cm.detachAdmin(session);
    }
  }

  /** See {@link GatewayControl.attachAdmin}. */
  attachAdmin(session: string): void {
    this.#requireCm().attachAdmin(session);
    this.#adminSessions.add(session);
  }

  /** See {@link GatewayControl.detachAdmin}. */
  detachAdmin(session: string): void {
    this.#requireCm().detachAdmin(session);
    this.#adminSessions.delete(session);
  }

  /** See {@link GatewayControl.addNode}. */
  async addNode(address: string): Promise<{ readonly uuid: string; readonly name: string }> {
    const cm = this.#requireCm();
    // a malformed address: CM_INVALID_ARGUMENT
    const node = await cm.addNode(parsePeerAddress(address));
    this.#changed();
    return { uuid: node.uuid, name: node.name };
  }

  /** See {@link GatewayControl.setMaintenance}. */
  async setMaintenance(on: boolean): Promise<void> {
    const file = this.#config.maintenance.stateFile;
    if (on) await writeTrackFile(file, true);
    else await rm(file, { force: true });
    if (on === this.#maintenance) return;
    this.#maintenance = on;
    this.#log.warn(
      on
        ? 'maintenance mode on: this node is drained and hands the VIP over'
        : 'maintenance mode off: this node takes new connections again',
    );
    this.router?.trackerChanged(`file:${MAINTENANCE_TRACKER_NAME}`, on ? 'down' : 'up');
    this.#changed();
  }
}

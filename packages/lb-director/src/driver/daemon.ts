// The proxyha-lb daemon as a library: a validated configuration in, a running node out (identity on
// disk, transport, health monitor on the destination ports, resource sampler, role from VIP ownership,
// status socket). The command line is a thin layer over it.
import { type ChildProcess, spawn as spawnChild } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, type CommandRunner, type Logger, noopLogger, systemClock } from '@proxyha/common';
import { HealthMonitor, type HealthState } from '@proxyha/health-mon';
import type { NetworkStack } from '@proxyha/netio';
import type { ReportedHealth } from '../codec/types';
import type { LbDaemonConfig } from '../config/config';
import { ConntrackSync } from '../dataplane/conntrack-sync';
import { DirectRoutingDataPlane, DirectRoutingNodeSetup } from '../dataplane/direct';
import { NftablesDataPlane } from '../dataplane/nftables';
import { RelayDataPlane } from '../dataplane/relay';
import type { DataPlane, DataPlaneSettings, DataPlaneStats } from '../dataplane/types';
import type { LbRole } from '../machine/types';
import { DataPlaneBinding } from './dataplane-binding';
import { LbNode, type LbStatus } from './node';
import { loadNodeId } from './node-id';
import { type ResourceSampler, systemResources } from './resources';
import { VipRoleWatcher } from './role';
import { serveStatus, statusSocketPath } from './status';
import { type LbTransport, LoopbackLbTransport, RawLbTransport } from './transport';
import { createWire, loadWireKeys } from './wire';

/** Injectable parts of {@link LbDaemon} (tests; the defaults are the real ones). */
export interface LbDaemonOptions {
  /** Operator log (default none). */
  readonly logger?: Logger | undefined;
  /** Clock (default the system clock). */
  readonly clock?: Clock | undefined;
  /** Network stack for the raw transport and the VIP watch (default Linux). */
  readonly stack?: NetworkStack | undefined;
  /** The transport (default from `config.transport`). */
  readonly transport?: LbTransport | undefined;
  /** Resource sampler (default {@link systemResources}). */
  readonly resources?: ResourceSampler | undefined;
  /** Software version reported (default this package's). */
  readonly softwareVersion?: string | undefined;
  /** Serve the status socket (default true). */
  readonly statusSocket?: boolean | undefined;
  /** The data plane (default from `config.dataPlane`; tests pass a `MemoryDataPlane`). */
  readonly dataPlane?: DataPlane | undefined;
  /** Runs conntrackd's commands (default `runCommand`). */
  readonly run?: CommandRunner | undefined;
  /** Starts conntrackd with a config file (default: spawns `conntrackd -C FILE` in the foreground). */
  readonly spawnConntrackd?: ((configFile: string) => ChildProcess) | undefined;
  /**
   * A health monitor owned by the caller (default: the daemon creates one on the redirects' destination
   * ports from `config.health`). The daemon reads its state for the load reports but neither starts nor
   * stops it: the caller does, so that one monitor can also feed something else (the gateway's VRRP health
   * tracker) without probing the ports twice. It should probe the redirects' destination ports.
   */
  readonly healthMonitor?: HealthMonitor | undefined;
  /**
   * What the node reports as its health, asked at every report (default: {@link reportedHealth} of the
   * monitor's state). An override reports `failure` to be drained while the ports are fine (the gateway's
   * maintenance mode). Given without {@link LbDaemonOptions.healthMonitor}, the daemon creates no monitor
   * of its own: the function alone decides.
   */
  readonly health?: (() => ReportedHealth) | undefined;
}

/**
 * The data plane a configuration asks for: `NftablesDataPlane` (its own table `proxyha_lb_<group>`),
 * `RelayDataPlane` (listening on the VIPs) or `DirectRoutingDataPlane`.
 *
 * @param config - the validated configuration
 * @param logger - operator log
 * @param clock - clock
 */
export function createDataPlane(
  config: LbDaemonConfig,
  logger: Logger,
  clock: Clock = systemClock,
): DataPlane {
  const settings: DataPlaneSettings = {
    virtualIps: config.virtualIps,
    redirects: config.redirects,
    persistence: config.persistence,
    interface: config.interface,
    managementIp: config.managementIp,
  };
  switch (config.dataPlane) {
    case 'nftables':
      return new NftablesDataPlane({
        settings,
        group: config.group,
        logger,
        clock,
        // the forwarding sysctls it turned on, so that a run after a SIGKILL turns them off again
        stateFile: join(config.dataDir, 'nftables-state.json'),
      });
    case 'direct':
      return new DirectRoutingDataPlane(settings, { logger });
    case 'relay':
      return new RelayDataPlane(settings, { logger, proxyProtocol: config.proxyProtocol });
  }
}

/** What the health monitor's state means for a report: unknown counts as failure (not proven yet). */
export function reportedHealth(state: HealthState): ReportedHealth {
  if (state.status === 'ok') return { status: 'ok', failingPorts: [] };
  const failing = state.failing.map((f) => f.port);
  return {
    status: 'failure',
    failingPorts: state.status === 'unknown' ? state.ports.map((p) => p.port) : failing,
  };
}

/**
 * A running `proxyha-lb`: one {@link LbNode} with everything around it. Start with {@link LbDaemon.start},
 * stop with {@link LbDaemon.stop} (also on a failed start).
 */
export class LbDaemon {
  readonly #config: LbDaemonConfig;
  readonly #o: LbDaemonOptions;
  readonly #log: Logger;
  #node: LbNode | undefined;
  /** The monitor the daemon created, started and stops (not the caller's {@link LbDaemonOptions.healthMonitor}). */
  #monitor: HealthMonitor | undefined;
  #plane: DataPlane | undefined;
  #watcher: VipRoleWatcher | undefined;
  #closeStatus: (() => Promise<void>) | undefined;
  #binding: DataPlaneBinding | undefined;
  #conntrackd: ChildProcess | undefined;

  /**
   * @param config - a validated configuration (`parseLbDaemonConfig`, `loadLbDaemonConfig`)
   * @param options - injectable parts
   */
  constructor(config: LbDaemonConfig, options: LbDaemonOptions = {}) {
    this.#config = config;
    this.#o = options;
    this.#log = options.logger ?? noopLogger;
  }

  /** The node, once started. */
  get node(): LbNode | undefined {
    return this.#node;
  }

  /** The node's status (see {@link LbNode.status}). */
  status(): LbStatus | undefined {
    return this.#node?.status();
  }

  /**
   * The data plane's counters (its `stats()`: connections, and bytes per node for the relay); `undefined`
   * before {@link LbDaemon.start}. After {@link LbDaemon.stop}, the last counters.
   */
  dataPlaneStats(): DataPlaneStats | undefined {
    return this.#plane?.stats();
  }

  /**
   * Loads the identity and keys, starts the health monitor (unless the caller owns it), the node, the VIP
   * watch and the status socket.
   */
  async start(): Promise<void> {
    const c = this.#config;
    const clock = this.#o.clock ?? systemClock;
    const nodeId = await loadNodeId(c.dataDir);
    const keys = c.auth ? await loadWireKeys(c.auth.keyFile) : undefined;
    const wire = createWire({ keys, windowMs: c.auth?.window });
    const ports = [...new Set(c.redirects.map((r) => r.destinationPort))];
    // the health the reports carry: the caller's function, or the state of a monitor (the caller's, or one
    // of the daemon's own, created only when needed)
    let health = this.#o.health;
    let own: HealthMonitor | undefined;
    if (health === undefined) {
      const monitor =
        this.#o.healthMonitor ??
        new HealthMonitor({
          host: c.health.host,
          ports,
          intervalMs: c.health.intervalMs,
          timeoutMs: c.health.timeoutMs,
          fall: c.health.fall,
          rise: c.health.rise,
          clock,
          logger: this.#log,
        });
      if (monitor !== this.#o.healthMonitor) own = monitor;
      health = () => reportedHealth(monitor.state);
    }
    this.#monitor = own;
    const transport =
      this.#o.transport ??
      (c.transport === 'loopback'
        ? new LoopbackLbTransport({ address: c.managementIp, peers: c.peers, port: c.port })
        : new RawLbTransport({
            interface: c.interface,
            source: c.managementIp,
            ...(this.#o.stack ? { stack: this.#o.stack } : {}),
          }));
    const node = new LbNode({
      group: c.group,
      nodeId,
      name: c.name,
      managementIp: c.managementIp,
      softwareVersion: this.#o.softwareVersion ?? '0.0.0',
      redirects: c.redirects,
      intervalMs: c.intervalMs,
      failAfter: c.failAfter,
      ...(c.adoptTable ? {} : { adoptTableWithin: 0 }),
      weight: c.weight,
      priority: c.priority,
      scheduler: {
        ipv4PrefixLength: c.persistence.ipv4PrefixLength,
        ipv6PrefixLength: c.persistence.ipv6PrefixLength,
        balanceFactor: c.balanceFactor,
        loadAware: c.loadAware,
        ...(c.tableSize !== undefined ? { tableSize: c.tableSize } : {}),
        ...(c.seed !== undefined ? { seed: c.seed } : {}),
      },
      transport,
      wire,
      health,
      resources: this.#o.resources ?? systemResources(),
      role: c.role === 'director' ? 'director' : 'scanner',
      clock,
      logger: this.#log,
    });
    this.#node = node;
    const plane = this.#o.dataPlane ?? createDataPlane(c, this.#log, clock);
    this.#plane = plane;
    this.#binding = new DataPlaneBinding(node, plane, {
      logger: this.#log,
      clock,
      keepLoaded: c.handover.keepLoaded,
      scanner:
        c.dataPlane === 'direct' && !this.#o.dataPlane
          ? new DirectRoutingNodeSetup({
              virtualIps: c.virtualIps,
              interface: c.interface,
              logger: this.#log,
              // what this node changed, so that a restart after a crash can undo it
              stateFile: join(c.dataDir, 'direct-node-state.json'),
            })
          : undefined,
    });
    // a run that crashed (SIGKILL) while directing left its table (nftables, direct routing): remove it
    // before taking a role, or a scanning node keeps intercepting the VIP's traffic with a stale table
    if (!this.#o.dataPlane)
      await plane.stop().catch((e: unknown) => {
        this.#log.warn(
          `data plane ${plane.kind}: cannot remove what a previous run left: ${(e as Error).message}`,
        );
      });
    if (c.handover.conntrackSync) await this.#startConntrackd(node);
    own?.start();
    await node.start();
    await this.#binding.sync();
    if (c.role === 'auto') {
      this.#watcher = new VipRoleWatcher({
        virtualIps: c.virtualIps,
        // direct routing puts the VIPs on lo of every scanning node: only other interfaces make a director
        ...(c.dataPlane === 'direct' ? { ignoreInterfaces: ['lo'] } : {}),
        ...(this.#o.stack ? { stack: this.#o.stack } : {}),
        onRole: (role: LbRole, holding) => {
          if (role === 'director') this.#log.info(`holding virtual IP ${holding.join(', ')}`);
          node.setRole(role);
        },
      });
      await this.#watcher.start();
    }
    if (this.#o.statusSocket ?? true)
      this.#closeStatus = await serveStatus(statusSocketPath(c.dataDir), () => node.status());
  }

  /**
   * conntrackd shares the connection table with the other director candidates: the daemon writes its
   * config, runs it (foreground, as a child) and drives it at every role change (commit on takeover).
   */
  async #startConntrackd(node: LbNode): Promise<void> {
    const c = this.#config;
    const sync = c.handover.conntrackSync;
    if (!sync) return;
    const configFile = join(c.dataDir, 'conntrackd.conf');
    const conntrack = new ConntrackSync({
      configFile,
      localAddress: c.managementIp,
      interface: sync.interface,
      peerAddress: sync.peer,
      port: sync.port,
      ignoreAddresses: [c.managementIp, ...(sync.peer ? [sync.peer] : [])],
      socketPath: join(c.dataDir, 'conntrackd.ctl'),
      lockFile: join(c.dataDir, 'conntrackd.lock'),
      run: this.#o.run,
      logger: this.#log,
    });
    await mkdir(c.dataDir, { recursive: true });
    await writeFile(configFile, conntrack.config());
    const spawnConntrackd =
      this.#o.spawnConntrackd ?? ((file: string) => spawnChild('conntrackd', ['-C', file]));
    const child = spawnConntrackd(configFile);
    this.#conntrackd = child;
    child.once('exit', (code, signal) => {
      if (this.#conntrackd === child)
        this.#log.error(`conntrackd exited (${code ?? signal}): connections will not be handed over`);
    });
    node.on('role', (role) => void conntrack.onRole(role));
    this.#log.info(
      `conntrackd: sharing connections over ${sync.interface}${sync.peer ? ` with ${sync.peer}` : ''}`,
    );
  }

  /**
   * Stops everything started (the data plane removes what it added; a caller's health monitor keeps
   * running). Idempotent.
   */
  async stop(): Promise<void> {
    const ct = this.#conntrackd;
    this.#conntrackd = undefined;
    if (ct && ct.exitCode === null) {
      const exited = new Promise((r) => ct.once('exit', r));
      ct.kill('SIGTERM');
      await exited;
    }
    this.#watcher?.stop();
    this.#watcher = undefined;
    await this.#binding?.close();
    this.#binding = undefined;
    await this.#closeStatus?.();
    this.#closeStatus = undefined;
    await this.#node?.stop();
    await this.#monitor?.stop();
    this.#monitor = undefined;
  }
}

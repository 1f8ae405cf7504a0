import { networkInterfaces } from 'node:os';
import {
  type Clock,
  type CommandRunner,
  err,
  formatIssues,
  type IpFamily,
  type Logger,
  noopLogger,
  ok,
  parseCidr,
  type Result,
  runCommand,
  systemClock,
} from '@proxyha/common';
import type { BurstPolicyInput } from '@proxyha/garp';
import { linuxStack, type MacvlanSpec, type NetworkStack } from '@proxyha/netio';
import {
  type AcceptModeFilter,
  type AdvertMeta,
  type AdvertTransport,
  type MachineAction,
  type RouterTransition,
  SyncGroup,
  type VipAnnouncement,
  type VipManager,
  VrrpMachine,
  VrrpRouter,
} from '@proxyha/vrrp';
import {
  announceInterfaceOf,
  garpBurstPolicyOf,
  toMachineConfig,
  type VmacConfig,
  type VrrpDaemonConfig,
  type VrrpInstanceConfig,
  vmacOf,
} from '../config/config';
import { NftAcceptModeFilter } from '../driver/accept-filter';
import { LoopbackTransport } from '../driver/loopback-transport';
import { RawTransport } from '../driver/raw-transport';
import { LoopbackOwnerVipManager, StackVipManager } from '../driver/vips';
import { VrrpdError } from '../errors';
import { applyAuthHmac, instanceHmac } from './auth-hmac';
import { Notifier } from './notify';
import { describeReloadPlan, type InstanceUpdate, planReload, type ReloadPlan } from './reload';
import { type RunningTracker, startTrackFile, startTrackScript, type TrackerContext } from './trackers';

/** Builds the transport of one instance; the daemon shares it between instances of one link. */
export type TransportFactory = (instance: VrrpInstanceConfig, primaryAddress: string) => AdvertTransport;

/**
 * What the daemon's announcement hook receives: the router's request (the interface is the
 * instance's VMAC interface when it has one), plus the virtual MAC to announce and the
 * instance's `garp` burst settings.
 */
export interface DaemonAnnounceRequest extends VipAnnouncement {
  /** The virtual MAC (00:00:5e:00:01:VRID / 00:00:5e:00:02:VRID) when the instance uses one. */
  readonly vmac?: string;
  /** The instance's `garp` burst settings, in `@proxyha/garp`'s names (milliseconds). */
  readonly policy?: BurstPolicyInput;
}

/** The daemon's announcement hook (`@proxyha/garp`'s Announcer behind it in proxyha-vrrpd). */
export type DaemonAnnounceHook = (request: DaemonAnnounceRequest) => void;

/**
 * Creates and removes the macvlan interfaces of instances with `vmac` set: `@proxyha/netio`'s
 * `LinuxMacvlanManager` (or its `MemoryMacvlanManager` twin).
 */
export interface DaemonVmacManager {
  /** Creates the macvlan (or adopts a matching one left by a crashed run). */
  create(spec: MacvlanSpec): Promise<void>;
  /** Removes it; removing an absent one is not an error. */
  remove(name: string): Promise<void>;
  /** Brings it up (before the VIPs are added on entering Master) or down (before they are removed). */
  setUp(name: string, up: boolean): Promise<void>;
}

/** Options of {@link VrrpDaemon}. */
export interface VrrpDaemonOptions {
  /** Operator log lines (keepalived's wording). Default: none. */
  readonly logger?: Logger;
  /** Time and timers of the routers, trackers and announcement waits (default the system clock). */
  readonly clock?: Clock;
  /**
   * Runs track scripts, and `getent` and `mkfifo` for the notify settings (default `@proxyha/common`'s
   * runner; tests inject one). Notify scripts themselves are spawned directly (own process group, user).
   */
  readonly run?: CommandRunner;
  /**
   * Gratuitous ARP / NA hook, called on entering Master once the VIPs are in place, and when
   * a lower-priority advert shows another Master (see `@proxyha/garp`).
   */
  readonly announce?: DaemonAnnounceHook;
  /** Creates the macvlans of instances with `vmac` set (required for them). */
  readonly vmacs?: DaemonVmacManager;
  /**
   * Builds the transports (shared by the instances of one interface and source address). Default: a raw
   * IP protocol 112 socket ({@link RawTransport}) for `transport: raw`, UDP on loopback
   * ({@link LoopbackTransport}) for `transport: loopback`; tests pass `MemoryAdvertBus` transports.
   */
  readonly transports?: TransportFactory;
  /**
   * Where link states come from (`transport: raw`): the instance's own interface going down
   * means Fault, `trackInterfaces` move the priority. Default `@proxyha/netio`'s Linux stack
   * (rtnetlink events); a `MemoryNetwork` host in tests.
   */
  readonly links?: Pick<NetworkStack, 'watchInterfaces' | 'interfaces'>;
  /**
   * Accept_Mode filter used when the config says `strict: true` (raw transport); default
   * nftables ({@link NftAcceptModeFilter}).
   */
  readonly acceptFilter?: AcceptModeFilter;
  /** VIP manager; default rtnetlink ({@link StackVipManager}) for `transport: raw`, {@link LoopbackOwnerVipManager} for `loopback`. */
  readonly vips?: VipManager;
  /** Called on every state change of every instance. */
  readonly onTransition?: (t: RouterTransition) => void;
}

/** Counts of {@link VrrpDaemon.reload}s since start (`proxyha-vrrpd` logs them on SIGUSR2). */
export interface ReloadStats {
  /** Reloads carried out. */
  readonly applied: number;
  /** Reloads refused before anything changed (unreadable or invalid file, a setting that needs a restart). */
  readonly refused: number;
  /** Reloads that failed part way (a VMAC that could not be created, for example); logged. */
  readonly failed: number;
}

/** One running instance: what a reload keeps, changes in place, or replaces. */
interface RunningInstance {
  /** Its configuration (replaced by a reload that changes it in place). */
  inst: VrrpInstanceConfig;
  /** The address its adverts are sent from. */
  readonly primary: string;
  readonly machine: VrrpMachine;
  readonly router: VrrpRouter;
  readonly wiring: InstanceWiring;
  /** Running track scripts and files by tracker name (`script:chk`, `file:prio`). */
  readonly trackers: Map<string, RunningTracker>;
  /** The macvlan it created, if any. */
  readonly vmac: string | undefined;
}

/** Fans one transport out to every instance on the same interface and family. */
class SharedTransport {
  readonly family: IpFamily;
  #listeners = new Set<(p: Uint8Array, m: AdvertMeta) => void>();
  #opened: Promise<void> | undefined;
  #users = 0;
  constructor(private readonly inner: AdvertTransport) {
    this.family = inner.family;
  }
  /** A per-instance view whose open/close are reference-counted. */
  view(): AdvertTransport {
    let mine: ((p: Uint8Array, m: AdvertMeta) => void) | undefined;
    return {
      family: this.family,
      open: async (cb) => {
        mine = cb;
        this.#listeners.add(cb);
        this.#users++;
        this.#opened ??= this.inner.open((p, m) => {
          for (const l of this.#listeners) l(p, m);
        });
        await this.#opened;
      },
      send: (p, d) => this.inner.send(p, d),
      close: async () => {
        if (mine) this.#listeners.delete(mine);
        if (--this.#users === 0) {
          this.#opened = undefined;
          await this.inner.close();
        }
      },
    };
  }
}

/**
 * The `proxyha-vrrpd` daemon as a class: builds one {@link VrrpRouter} per configured
 * instance, shares a transport between instances on one link, joins sync groups, runs
 * track scripts and track files, applies a changed configuration in place with
 * {@link VrrpDaemon.reload} (SIGHUP), and on {@link VrrpDaemon.stop} sends priority 0 and
 * removes the VIPs of every Master.
 */
export class VrrpDaemon {
  #config: VrrpDaemonConfig;
  readonly #o: VrrpDaemonOptions;
  readonly #routers = new Map<string, VrrpRouter>();
  /** Every running instance by name (what a reload keeps, changes or replaces). */
  readonly #instances = new Map<string, RunningInstance>();
  /** Transports by interface and source address, shared by the instances there. */
  readonly #shared = new Map<string, SharedTransport>();
  /** The loopback transport's VIP "owners", one per source address. */
  readonly #loopbackVips = new Map<string, VipManager>();
  readonly #groups = new Map<string, SyncGroup>();
  /** Daemon-wide watchers (the link watcher). */
  readonly #trackers: RunningTracker[] = [];
  readonly #vmacsCreated: string[] = [];
  readonly #acceptFilter: AcceptModeFilter | undefined;
  readonly #log: Logger;
  readonly #clock: Clock;
  /** Notify scripts and the notify FIFO (keepalived's notify_*, vrrp_notify_fifo). */
  readonly #notifier: Notifier;
  /** Link state (up and running) of the interfaces the instances use or track, once known. */
  readonly #links = new Map<string, boolean>();
  #linksWatched = false;
  #started = false;
  #startup: Promise<void> | undefined;
  #stopped = false;
  /** Reloads run one after another; stop() waits for the one under way. */
  #reloads: Promise<unknown> = Promise.resolve();
  #reloadsPending = 0;
  readonly #reloadCounts = { applied: 0, refused: 0, failed: 0 };

  /**
   * @param config - a validated configuration (`parseVrrpDaemonConfig`, `loadVrrpDaemonConfig`)
   * @param options - the components; every one has a Linux default
   */
  constructor(config: VrrpDaemonConfig, options: VrrpDaemonOptions = {}) {
    this.#config = config;
    this.#o = options;
    this.#log = options.logger ?? noopLogger;
    this.#clock = options.clock ?? systemClock;
    this.#notifier = new Notifier(config, {
      logger: this.#log,
      clock: this.#clock,
      run: options.run ?? runCommand,
    });
    this.#acceptFilter =
      config.strict && config.transport === 'raw'
        ? (options.acceptFilter ?? new NftAcceptModeFilter())
        : undefined;
  }

  /** The routers by instance name (after {@link start}). */
  get routers(): ReadonlyMap<string, VrrpRouter> {
    return this.#routers;
  }

  /**
   * Builds every instance and starts them.
   *
   * @throws {@link VrrpdError} `VRRPD_CONFIG_INVALID` for an interface this host lacks or that has no
   *   address to send from; `VRRPD_MISSING_COMPONENT` for `vmac` without a VMAC manager
   */
  async start(): Promise<void> {
    if (this.#started) return this.#startup;
    this.#started = true;
    this.#startup = this.#start();
    return this.#startup;
  }

  async #start(): Promise<void> {
    const cfg = this.#config;
    for (const inst of cfg.instances) {
      const vm = vmacOf(inst);
      if (vm && !this.#o.vmacs)
        throw new VrrpdError('VRRPD_MISSING_COMPONENT', `instance ${inst.name}: vmac needs a VMAC manager`);
    }
    await this.#notifier.start(cfg);
    const built: RunningInstance[] = [];
    for (const inst of cfg.instances)
      built.push(await this.#build(inst, inst.sourceAddress ?? primaryAddressOf(inst)));
    this.#formGroups(cfg.syncGroups.map((g) => g.name));
    for (const r of built) await r.router.start();
    // the takeover's code compiled now, not during the first takeover (VrrpRouter.warmUp)
    for (const r of built) await r.router.warmUp();
    for (const r of built) this.#startTrackers(r);
    if (cfg.transport === 'raw') await this.#watchLinks();
  }

  /** Builds one instance (machine, router on the shared transport, VIP manager, VMAC); not started yet. */
  async #build(inst: VrrpInstanceConfig, primary: string): Promise<RunningInstance> {
    const cfg = this.#config;
    const log = this.#log;
    const machine = this.#notifier.machine(toMachineConfig(inst, primary));
    const key = `${inst.interface}|${primary}`;
    let transport = this.#shared.get(key);
    if (!transport) {
      transport = new SharedTransport(this.#makeTransport(inst, primary));
      this.#shared.set(key, transport);
    }
    let vips = this.#o.vips;
    if (cfg.transport === 'loopback') {
      vips = this.#loopbackVips.get(primary);
      if (!vips) {
        vips = new LoopbackOwnerVipManager(cfg.loopback.ownerPort, `${inst.name} master ${primary}`);
        this.#loopbackVips.set(primary, vips);
      }
    }
    const vm = vmacOf(inst);
    if (vm) {
      const vmacs = this.#o.vmacs as DaemonVmacManager;
      await vmacs.create({ parent: vm.parent, name: vm.name, mac: vm.mac, family: vm.family });
      this.#vmacsCreated.push(vm.name);
      log.info(`(${inst.name}) using VMAC ${vm.name} (${vm.mac}) on ${vm.parent}`);
    }
    const wiring = new InstanceWiring(inst, vm, vips ?? new StackVipManager(), this.#o, log);
    const hmac = instanceHmac(inst, log);
    const router = new VrrpRouter({
      machine,
      // the VIPs live (and are announced) on the VMAC when there is one; adverts use the parent
      interface: announceInterfaceOf(inst),
      transport: transport.view(),
      vips: wiring.vips,
      logger: log,
      clock: this.#clock,
      ...(this.#o.announce ? { announce: wiring.announce } : {}),
      ...(inst.checksum ? { checksumMode: inst.checksum } : {}),
      ...(this.#acceptFilter ? { acceptFilter: this.#acceptFilter } : {}),
      ...(hmac ? { hmac } : {}),
      ...(inst.releaseVipsAfterSuccessor > 0
        ? { releaseVipsAfterSuccessorMs: inst.releaseVipsAfterSuccessor }
        : {}),
    });
    router.on('transition', (t) => wiring.transition(t, router));
    router.on('transition', (t) => this.#notifier.transition(t));
    if (this.#o.onTransition) router.on('transition', this.#o.onTransition);
    this.#routers.set(inst.name, router);
    const running: RunningInstance = {
      inst,
      primary,
      machine,
      router,
      wiring,
      trackers: new Map(),
      vmac: vm?.name,
    };
    this.#instances.set(inst.name, running);
    return running;
  }

  /** Forms these sync groups of the configuration over the running machines, and levels their faults. */
  #formGroups(names: readonly string[]) {
    for (const g of this.#config.syncGroups) {
      if (!names.includes(g.name)) continue;
      const members = g.instances.map((n) => this.#instances.get(n) as RunningInstance);
      const group = new SyncGroup(
        g.name,
        members.map((m) => m.machine),
      );
      this.#groups.set(g.name, group);
      for (const member of g.instances) {
        // the member's events go through the group, which answers with every member's actions
        (this.#routers.get(member) as VrrpRouter).setRoute((event) => {
          this.#executeGroup(group.handle(member, event));
        });
      }
      this.#executeGroup(group.resync(this.#clock.now()));
    }
  }

  /** Each member's actions as one batch, in the group's order of members. */
  #executeGroup(out: readonly { instance: string; action: MachineAction }[]) {
    const batches = new Map<string, MachineAction[]>();
    for (const { instance, action } of out) {
      const batch = batches.get(instance) ?? [];
      batch.push(action);
      batches.set(instance, batch);
    }
    for (const [instance, actions] of batches) this.#routers.get(instance)?.execute(actions);
  }

  /**
   * Follows link state (rtnetlink): an instance whose interface loses its link (down, or no
   * carrier) enters Fault and leaves it when the link returns (keepalived does the same);
   * `trackInterfaces` report up/down to the machine with their weights.
   */
  async #watchLinks() {
    const stack = this.#o.links ?? linuxStack;
    const watcher = stack.watchInterfaces(
      (e) => {
        if (!this.#watchedLinks().has(e.interface.name)) return;
        this.#applyLink(e.interface.name, e.type !== 'removed' && e.interface.up && e.interface.running);
      },
      { onError: (err) => this.#log.warn(`interface watch: ${err.message}`) },
    );
    this.#trackers.push({ stop: () => watcher.close() });
    this.#linksWatched = true;
    await watcher.ready;
    await this.#refreshLinks();
  }

  /** The interfaces the running configuration uses or tracks. */
  #watchedLinks(): Set<string> {
    return new Set(
      this.#config.instances.flatMap((i) => [i.interface, ...i.trackInterfaces.map((t) => t.name)]),
    );
  }

  /** Reads the state of the watched interfaces not known yet (at start, and after a reload). */
  async #refreshLinks() {
    if (!this.#linksWatched) return;
    const unknown = [...this.#watchedLinks()].filter((n) => !this.#links.has(n));
    if (unknown.length === 0) return;
    const now = await (this.#o.links ?? linuxStack).interfaces().catch(() => undefined);
    if (!now) return;
    for (const name of unknown) {
      const info = now.find((i) => i.name === name);
      this.#applyLink(name, info?.up === true && info.running);
    }
  }

  #applyLink(name: string, up: boolean) {
    if (this.#links.get(name) === up) return;
    const first = !this.#links.has(name);
    this.#links.set(name, up);
    if (first && up) return; // the machines start with their links up
    for (const { inst, router } of this.#instances.values()) {
      if (inst.interface === name) {
        this.#log.info(`(${inst.name}) Interface ${name} ${up ? 'up' : 'down'}`);
        router.interfaceChanged(up);
      }
      if (inst.trackInterfaces.some((t) => t.name === name))
        router.trackerChanged(`interface:${name}`, up ? 'up' : 'down');
    }
  }

  /** Stops every instance: priority 0 from Masters, VIPs removed, trackers stopped, VMACs removed. */
  async stop(): Promise<void> {
    // a reload under way finishes first (its instances are then stopped too)
    if (this.#reloadsPending > 0) await this.#reloads;
    this.#stopped = true;
    // priority 0 first: each router sends it before its first await; then the trackers go quiet
    const stopping = [...this.#routers.values()].map((r) => r.stop());
    for (const t of this.#trackers.splice(0)) t.stop();
    for (const r of this.#instances.values()) for (const t of r.trackers.values()) t.stop();
    await Promise.all(stopping);
    await this.#acceptFilter?.close().catch((e) => {
      this.#log.error(`cannot remove the accept-mode filter: ${(e as Error).message}`);
    });
    for (const name of this.#vmacsCreated.splice(0).reverse()) {
      await this.#o.vmacs?.remove(name).catch((e) => {
        this.#log.error(`cannot remove VMAC ${name}: ${(e as Error).message}`);
      });
      this.#log.info(`removed VMAC ${name}`);
    }
    // notify_stop scripts and the STOP lines, then the FIFO and its reader
    await this.#notifier.stop();
  }

  #makeTransport(inst: VrrpInstanceConfig, primary: string): AdvertTransport {
    if (this.#o.transports) return this.#o.transports(inst, primary);
    if (this.#config.transport === 'loopback')
      return new LoopbackTransport({ address: primary, port: this.#config.loopback.port });
    return new RawTransport({
      interface: inst.interface,
      family: parseCidr(inst.virtualIps[0])?.family ?? 'ipv4',
      source: primary,
      multicast: inst.unicastPeers.length === 0,
    });
  }

  /**
   * Starts an instance's track scripts and files (all, or those named: `script:chk`, `file:prio`), and
   * reports the track interfaces (of those named) whose link is known to be down.
   */
  #startTrackers(r: RunningInstance, only?: readonly string[]) {
    const { inst, router } = r;
    const wanted = (name: string) => only === undefined || only.includes(name);
    const ctx: TrackerContext = { clock: this.#clock, run: this.#o.run ?? runCommand, logger: this.#log };
    for (const s of inst.trackScripts) {
      const name = `script:${s.name}`;
      if (!wanted(name)) continue;
      r.trackers.get(name)?.stop();
      r.trackers.set(
        name,
        startTrackScript(inst.name, s, (state) => router.trackerChanged(name, state), ctx),
      );
    }
    for (const f of inst.trackFiles) {
      const name = `file:${f.name ?? f.path}`;
      if (!wanted(name)) continue;
      r.trackers.get(name)?.stop();
      r.trackers.set(
        name,
        startTrackFile(f, (state) => router.trackerChanged(name, state), ctx),
      );
    }
    for (const t of inst.trackInterfaces) {
      const name = `interface:${t.name}`;
      if (wanted(name) && this.#links.get(t.name) === false) router.trackerChanged(name, 'down');
    }
  }

  /** Counts of {@link VrrpDaemon.reload}s: applied, refused (the running configuration stayed), failed part way. */
  get reloadStats(): ReloadStats {
    return { ...this.#reloadCounts };
  }

  /**
   * Re-reads the configuration, as keepalived does on SIGHUP, and applies the difference (instances
   * matched by name):
   *
   * - an instance whose settings are the same is untouched: state, timers, VIPs, trackers and counters
   *   stay (a Master stays Master, sends no priority 0 advert, keeps its VIPs);
   * - priority, advert interval, preempt and its delay, VIPs (a Master adds and removes only the
   *   difference), unicast peers, Accept_Mode, lower-priority response, password, trackers (added,
   *   removed, replaced, new weights), `garp` and `higherPrioritySendAdvert` change in place, at once;
   * - a changed interface, VRID, version, address family, source address, checksum form or VMAC (or
   *   multicast to unicast) restarts just that instance: stopped as on SIGTERM and started again; the
   *   log says why;
   * - added instances start, removed ones stop as on SIGTERM; sync groups are formed again where
   *   their members changed.
   *
   * Logs `Reloading: <changes>` (for example `Reloading: instance VI_2 added, instance VI_3 removed,
   * VI_1 priority 100 -> 90`) and `Reload finished in N usec`. A configuration that cannot be read or
   * does not validate, or that changes `transport`, `strict` or `loopback` (a restart of the daemon),
   * or names an interface this host lacks, is refused as a whole before anything changes: the error is
   * logged with its path-precise message (`instances[0].vrid: ...`), counted in
   * {@link VrrpDaemon.reloadStats}, and the running configuration keeps running. Reloads run one after
   * another. Before {@link VrrpDaemon.start} the new configuration simply replaces the old one.
   *
   * @param next - the new, validated configuration, or a function that reads it (`() =>
   *   loadVrrpDaemonConfig(file)`): its errors refuse the reload
   * @param source - how to name the configuration in messages (the file name). Default `reload`.
   * @returns the plan carried out, or why the reload was refused (never throws)
   */
  reload(
    next: VrrpDaemonConfig | (() => VrrpDaemonConfig | Promise<VrrpDaemonConfig>),
    source = 'reload',
  ): Promise<Result<ReloadPlan, Error>> {
    this.#reloadsPending++;
    const run = this.#reloads
      .then(() => this.#reload(next, source))
      .catch((e: unknown) => {
        // not expected (#reload reports its failures): still a result, never a rejection
        this.#reloadCounts.failed++;
        this.#log.error(`Reload failed: ${(e as Error).message}`);
        return err(e as Error);
      })
      .finally(() => this.#reloadsPending--);
    this.#reloads = run;
    return run;
  }

  async #reload(
    next: VrrpDaemonConfig | (() => VrrpDaemonConfig | Promise<VrrpDaemonConfig>),
    source: string,
  ): Promise<Result<ReloadPlan, Error>> {
    const log = this.#log;
    const began = this.#clock.now();
    await this.#startup?.catch(() => undefined);
    let config: VrrpDaemonConfig;
    try {
      config = typeof next === 'function' ? await next() : next;
    } catch (e) {
      return this.#refuse(e as Error);
    }
    const planned = planReload(this.#config, config);
    if (!planned.ok) {
      const issues = planned.error;
      return this.#refuse(
        new VrrpdError('VRRPD_CONFIG_INVALID', formatIssues(source, issues), { details: { issues } }),
      );
    }
    const plan = planned.value;
    if (!this.#started || this.#stopped) {
      this.#config = config;
      this.#reloadCounts.applied++;
      return ok(plan);
    }
    // everything that can refuse the new configuration, before anything changes
    const byName = new Map(config.instances.map((i) => [i.name, i]));
    const primaries = new Map<string, string>();
    try {
      for (const name of [...plan.added, ...plan.restarted.map((r) => r.name)]) {
        const inst = byName.get(name) as VrrpInstanceConfig;
        if (vmacOf(inst) && !this.#o.vmacs)
          throw new VrrpdError('VRRPD_MISSING_COMPONENT', `instance ${inst.name}: vmac needs a VMAC manager`);
        const primary = inst.sourceAddress ?? primaryAddressOf(inst);
        new VrrpMachine(toMachineConfig(inst, primary)); // validates it
        primaries.set(name, primary);
      }
      for (const u of plan.changed) {
        const running = this.#instances.get(u.name) as RunningInstance;
        new VrrpMachine(toMachineConfig(byName.get(u.name) as VrrpInstanceConfig, running.primary));
      }
    } catch (e) {
      return this.#refuse(e as Error);
    }

    log.info(`Reloading: ${describeReloadPlan(plan)}`);
    for (const note of plan.notes) log.warn(note);
    this.#config = config;
    try {
      await this.#notifier.reconfigure(config);
      for (const r of plan.restarted) log.info(`(${r.name}) restarting: ${r.reasons.join(', ')}`);
      await Promise.all(
        [...plan.removed, ...plan.restarted.map((r) => r.name)].map((n) => this.#stopInstance(n)),
      );
      for (const u of plan.changed) this.#update(u, byName.get(u.name) as VrrpInstanceConfig);
      const starting = new Set([...plan.added, ...plan.restarted.map((r) => r.name)]);
      const built: RunningInstance[] = [];
      for (const inst of config.instances)
        if (starting.has(inst.name)) built.push(await this.#build(inst, primaries.get(inst.name) as string));
      this.#regroup(plan);
      for (const r of built) {
        await r.router.start();
        if (this.#links.get(r.inst.interface) === false) {
          log.info(`(${r.inst.name}) Interface ${r.inst.interface} down`);
          r.router.interfaceChanged(false);
        }
      }
      for (const r of built) this.#startTrackers(r);
      await this.#refreshLinks();
    } catch (e) {
      this.#reloadCounts.failed++;
      log.error(`Reload failed part way: ${(e as Error).message}`);
      return err(e as Error);
    }
    this.#reloadCounts.applied++;
    log.info(`Reload finished in ${Math.round((this.#clock.now() - began) * 1000)} usec`);
    return ok(plan);
  }

  #refuse(e: Error): Result<ReloadPlan, Error> {
    this.#reloadCounts.refused++;
    this.#log.error(`Reload refused, keeping the running configuration: ${e.message}`);
    return err(e);
  }

  /** Stops an instance as on SIGTERM (priority 0 from a Master, VIPs removed), its trackers and its VMAC. */
  async #stopInstance(name: string) {
    const r = this.#instances.get(name);
    if (!r) return;
    for (const t of r.trackers.values()) t.stop();
    r.trackers.clear();
    await r.router.stop();
    this.#instances.delete(name);
    this.#routers.delete(name);
    // its transport is closed once no instance uses it: a later instance there opens a new one
    const key = `${r.inst.interface}|${r.primary}`;
    if (![...this.#instances.values()].some((o) => `${o.inst.interface}|${o.primary}` === key))
      this.#shared.delete(key);
    if (r.vmac) {
      const i = this.#vmacsCreated.indexOf(r.vmac);
      if (i >= 0) this.#vmacsCreated.splice(i, 1);
      await this.#o.vmacs?.remove(r.vmac).catch((e) => {
        this.#log.error(`cannot remove VMAC ${r.vmac}: ${(e as Error).message}`);
      });
      this.#log.info(`removed VMAC ${r.vmac}`);
    }
  }

  /** Changes a running instance in place. */
  #update(u: InstanceUpdate, inst: VrrpInstanceConfig) {
    const r = this.#instances.get(u.name) as RunningInstance;
    r.inst = inst;
    r.wiring.update(inst);
    applyAuthHmac(r.router, inst, this.#log); // a key rotation or mode change: in place, no flap
    for (const name of [...u.trackers.removed, ...u.trackers.replaced]) {
      r.trackers.get(name)?.stop();
      r.trackers.delete(name);
    }
    if (u.machine) r.router.reconfigure(toMachineConfig(inst, r.primary), u.trackers.reset);
    this.#startTrackers(r, [...u.trackers.added, ...u.trackers.replaced]);
  }

  /** Sync groups after a reload: removed ones let go of their members, changed ones are formed again. */
  #regroup(plan: ReloadPlan) {
    const grouped = new Set(this.#config.syncGroups.flatMap((g) => g.instances));
    for (const name of [...plan.syncGroups.removed, ...plan.syncGroups.rebuilt]) {
      const group = this.#groups.get(name);
      this.#groups.delete(name);
      for (const member of group?.instances ?? []) {
        if (grouped.has(member)) continue;
        const r = this.#instances.get(member);
        if (!r) continue;
        r.router.setRoute(undefined);
        // no group holds it in Fault any more
        if (r.machine.snapshot().faultReasons.includes('syncGroup'))
          r.router.execute(
            r.machine.handle({ type: 'syncGroup', at: this.#clock.now(), group: name, to: 'faultCleared' }),
          );
      }
    }
    this.#formGroups(plan.syncGroups.rebuilt);
  }
}

/**
 * Per-instance glue between the router and the daemon's options: brings a VMAC up and down around the
 * VIPs, adds the VMAC and burst policy to announcement requests (the router calls the hook once the VIPs
 * are in place), and sends the advert of `higherPrioritySendAdvert`.
 */
class InstanceWiring {
  readonly vips: VipManager;
  readonly announce: (req: VipAnnouncement) => void;
  /** The VIPs in canonical text, as adverts list them. */
  #addresses: readonly string[];

  constructor(
    private inst: VrrpInstanceConfig,
    vm: VmacConfig | undefined,
    inner: VipManager,
    private readonly o: VrrpDaemonOptions,
    private readonly log: Logger,
  ) {
    this.#addresses = inst.virtualIps.map((v) => parseCidr(v)?.text ?? v);
    const links = vm ? o.vmacs : undefined;
    this.vips = {
      add: async (ifname, addrs) => {
        if (vm && links) await links.setUp(vm.name, true);
        await inner.add(ifname, addrs);
      },
      remove: async (ifname, addrs) => {
        // down first: an IPv6 VIP removed from a VMAC that is up would send an MLD report from
        // the virtual MAC and pull the switch's entry for it back to this (former) Master
        if (vm && links) await links.setUp(vm.name, false);
        await inner.remove(ifname, addrs);
      },
    };
    this.announce = (req) => {
      const policy = garpBurstPolicyOf(this.inst); // the settings of the last reload
      this.o.announce?.({ ...req, ...(vm ? { vmac: vm.mac } : {}), ...(policy ? { policy } : {}) });
    };
  }

  /** A reload changed the instance in place (its VIPs, `garp`, `higherPrioritySendAdvert`, ...). */
  update(inst: VrrpInstanceConfig): void {
    this.inst = inst;
    this.#addresses = inst.virtualIps.map((v) => parseCidr(v)?.text ?? v);
  }

  transition(t: RouterTransition, router: VrrpRouter): void {
    if (
      this.inst.higherPrioritySendAdvert &&
      t.from === 'master' &&
      (t.reason === 'higherPriority' || t.reason === 'higherAddress')
    ) {
      // keepalived's higher_prio_send_advert: one advert at our (lower) priority before we go,
      // so that the other Master re-announces (garp_lower_prio_repeat) and neighbour caches
      // that followed our announcements during a split brain come back to it
      this.log.debug(
        `(${this.inst.name}) sending an advert with priority ${t.priority} before leaving MASTER`,
      );
      router.execute([
        {
          type: 'send',
          at: t.at,
          priority: t.priority,
          intervalMs: this.inst.advertInterval,
          addresses: this.#addresses,
          reason: 'adverTimer',
        },
      ]);
    }
  }
}

/**
 * The address adverts are sent from: the interface's first IPv4 address, or for IPv6
 * its link-local address (RFC 5798 §5.1.2.1). Throws when the interface has none.
 */
export function primaryAddressOf(inst: VrrpInstanceConfig): string {
  const v6 = parseCidr(inst.virtualIps[0])?.family === 'ipv6';
  const addrs = networkInterfaces()[inst.interface];
  if (!addrs) throw hostMismatch(`instance ${inst.name}: interface ${inst.interface} does not exist`);
  const pick = v6
    ? addrs.find((a) => a.family === 'IPv6' && a.address.startsWith('fe80:'))
    : addrs.find((a) => a.family === 'IPv4');
  if (!pick)
    throw hostMismatch(
      `instance ${inst.name}: interface ${inst.interface} has no ${v6 ? 'IPv6 link-local' : 'IPv4'} address to send from`,
    );
  return pick.address;
}

function hostMismatch(message: string): VrrpdError {
  return new VrrpdError('VRRPD_CONFIG_INVALID', message, { details: { issues: [] } });
}

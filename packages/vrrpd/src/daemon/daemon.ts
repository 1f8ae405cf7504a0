import { networkInterfaces } from 'node:os';
import {
  type Clock,
  type CommandRunner,
  type IpFamily,
  type Logger,
  noopLogger,
  parseCidr,
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
  /** Runs track scripts (default `@proxyha/common`'s runner; tests inject one). */
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
 * track scripts and track files, and on {@link VrrpDaemon.stop} sends priority 0 and
 * removes the VIPs of every Master.
 */
export class VrrpDaemon {
  readonly #config: VrrpDaemonConfig;
  readonly #o: VrrpDaemonOptions;
  readonly #routers = new Map<string, VrrpRouter>();
  readonly #trackers: RunningTracker[] = [];
  readonly #vmacsCreated: string[] = [];
  readonly #acceptFilter: AcceptModeFilter | undefined;
  readonly #log: Logger;
  readonly #clock: Clock;
  #started = false;

  /**
   * @param config - a validated configuration (`parseVrrpDaemonConfig`, `loadVrrpDaemonConfig`)
   * @param options - the components; every one has a Linux default
   */
  constructor(config: VrrpDaemonConfig, options: VrrpDaemonOptions = {}) {
    this.#config = config;
    this.#o = options;
    this.#log = options.logger ?? noopLogger;
    this.#clock = options.clock ?? systemClock;
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
    if (this.#started) return;
    this.#started = true;
    const cfg = this.#config;
    const log = this.#log;
    const shared = new Map<string, SharedTransport>();
    const machines = new Map<string, VrrpMachine>();
    const loopbackVips = new Map<string, VipManager>();

    for (const inst of cfg.instances) {
      const vm = vmacOf(inst);
      if (vm && !this.#o.vmacs)
        throw new VrrpdError('VRRPD_MISSING_COMPONENT', `instance ${inst.name}: vmac needs a VMAC manager`);
    }
    for (const inst of cfg.instances) {
      const primary = inst.sourceAddress ?? primaryAddressOf(inst);
      const machine = new VrrpMachine(toMachineConfig(inst, primary));
      machines.set(inst.name, machine);
      const key = `${inst.interface}|${primary}`;
      let transport = shared.get(key);
      if (!transport) {
        transport = new SharedTransport(this.#makeTransport(inst, primary));
        shared.set(key, transport);
      }
      let vips = this.#o.vips;
      if (cfg.transport === 'loopback') {
        vips = loopbackVips.get(primary);
        if (!vips) {
          vips = new LoopbackOwnerVipManager(cfg.loopback.ownerPort, `${inst.name} master ${primary}`);
          loopbackVips.set(primary, vips);
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
      });
      router.on('transition', (t) => wiring.transition(t, router));
      if (this.#o.onTransition) router.on('transition', this.#o.onTransition);
      this.#routers.set(inst.name, router);
    }

    for (const g of cfg.syncGroups) {
      const group = new SyncGroup(
        g.name,
        g.instances.map((n) => machines.get(n) as VrrpMachine),
      );
      for (const member of g.instances) {
        // the member's events go through the group, which answers with every member's actions
        (this.#routers.get(member) as VrrpRouter).setRoute((event) => {
          // each member's actions as one batch, in the group's order of members
          const batches = new Map<string, MachineAction[]>();
          for (const { instance, action } of group.handle(member, event)) {
            const batch = batches.get(instance) ?? [];
            batch.push(action);
            batches.set(instance, batch);
          }
          for (const [instance, actions] of batches) this.#routers.get(instance)?.execute(actions);
        });
      }
    }

    for (const inst of cfg.instances) await (this.#routers.get(inst.name) as VrrpRouter).start();
    for (const inst of cfg.instances) this.#startTrackers(inst, this.#routers.get(inst.name) as VrrpRouter);
    if (cfg.transport === 'raw') await this.#watchLinks();
  }

  /**
   * Follows link state (rtnetlink): an instance whose interface loses its link (down, or no
   * carrier) enters Fault and leaves it when the link returns (keepalived does the same);
   * `trackInterfaces` report up/down to the machine with their weights.
   */
  async #watchLinks() {
    const cfg = this.#config;
    const state = new Map<string, boolean>();
    const apply = (name: string, up: boolean) => {
      if (state.get(name) === up) return;
      const first = !state.has(name);
      state.set(name, up);
      for (const inst of cfg.instances) {
        const router = this.#routers.get(inst.name) as VrrpRouter;
        if (inst.interface === name && !(first && up)) {
          this.#log.info(`(${inst.name}) Interface ${name} ${up ? 'up' : 'down'}`);
          router.interfaceChanged(up);
        }
        if (inst.trackInterfaces.some((t) => t.name === name) && !(first && up))
          router.trackerChanged(`interface:${name}`, up ? 'up' : 'down');
      }
    };
    const watched = new Set(
      cfg.instances.flatMap((i) => [i.interface, ...i.trackInterfaces.map((t) => t.name)]),
    );
    const stack = this.#o.links ?? linuxStack;
    const watcher = stack.watchInterfaces(
      (e) => {
        if (!watched.has(e.interface.name)) return;
        apply(e.interface.name, e.type !== 'removed' && e.interface.up && e.interface.running);
      },
      { onError: (err) => this.#log.warn(`interface watch: ${err.message}`) },
    );
    this.#trackers.push({ stop: () => watcher.close() });
    await watcher.ready;
    const now = await stack.interfaces().catch(() => undefined);
    if (!now) return;
    for (const name of watched) {
      const info = now.find((i) => i.name === name);
      apply(name, info?.up === true && info.running);
    }
  }

  /** Stops every instance: priority 0 from Masters, VIPs removed, trackers stopped, VMACs removed. */
  async stop(): Promise<void> {
    for (const t of this.#trackers.splice(0)) t.stop();
    await Promise.all([...this.#routers.values()].map((r) => r.stop()));
    await this.#acceptFilter?.close().catch((e) => {
      this.#log.error(`cannot remove the accept-mode filter: ${(e as Error).message}`);
    });
    for (const name of this.#vmacsCreated.splice(0).reverse()) {
      await this.#o.vmacs?.remove(name).catch((e) => {
        this.#log.error(`cannot remove VMAC ${name}: ${(e as Error).message}`);
      });
      this.#log.info(`removed VMAC ${name}`);
    }
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

  #startTrackers(inst: VrrpInstanceConfig, router: VrrpRouter) {
    const ctx: TrackerContext = { clock: this.#clock, run: this.#o.run ?? runCommand, logger: this.#log };
    for (const s of inst.trackScripts)
      this.#trackers.push(
        startTrackScript(inst.name, s, (state) => router.trackerChanged(`script:${s.name}`, state), ctx),
      );
    for (const f of inst.trackFiles)
      this.#trackers.push(
        startTrackFile(f, (state) => router.trackerChanged(`file:${f.name ?? f.path}`, state), ctx),
      );
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
  readonly #addresses: readonly string[];

  constructor(
    private readonly inst: VrrpInstanceConfig,
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
    const policy = garpBurstPolicyOf(inst);
    this.announce = (req) =>
      this.o.announce?.({ ...req, ...(vm ? { vmac: vm.mac } : {}), ...(policy ? { policy } : {}) });
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

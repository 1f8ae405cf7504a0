import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { linuxStack, type NetworkStack } from '@proxyha/netio';
import { type AcceptModeFilter, NftAcceptModeFilter } from '../driver/accept-filter';
import { RawTransport } from '../driver/raw-transport';
import { type AnnounceRequest, type RouterTransition, type VrrpLogger, VrrpRouter } from '../driver/router';
import { type AdvertMeta, type AdvertTransport, LoopbackTransport } from '../driver/transport';
import { LoopbackOwnerVipManager, StackVipManager, type VipManager } from '../driver/vips';
import { VrrpMachine } from '../machine/machine';
import { SyncGroup } from '../machine/sync-group';
import type { MachineAction, MachineConfig, TrackerConfig } from '../machine/types';
import {
  announceInterfaceOf,
  type GarpBurstPolicy,
  garpBurstPolicyOf,
  type VmacConfig,
  VrrpConfigError,
  type VrrpDaemonConfig,
  type VrrpInstanceConfig,
  vmacOf,
} from './config';

/** Builds the transport of one instance; the daemon shares it between instances of one link. */
export type TransportFactory = (instance: VrrpInstanceConfig, primaryAddress: string) => AdvertTransport;

/**
 * What the daemon's announcement hook receives: the router's request (the interface is the
 * instance's VMAC interface when it has one), plus the virtual MAC to announce and the
 * instance's `garp` burst settings.
 */
export interface DaemonAnnounceRequest extends AnnounceRequest {
  /** The virtual MAC (00:00:5e:00:01:VRID / 00:00:5e:00:02:VRID) when the instance uses one. */
  readonly vmac?: string;
  /** The instance's `garp` burst settings, in `@proxyha/garp`'s names (milliseconds). */
  readonly policy?: GarpBurstPolicy;
}

/** The daemon's announcement hook (`@proxyha/garp`'s Announcer behind it in proxyha-vrrpd). */
export type DaemonAnnounceHook = (request: DaemonAnnounceRequest) => void;

/**
 * Creates and removes the macvlan interfaces of instances with `vmac` set. `@proxyha/garp`'s
 * `LinuxVmacManager` and `MemoryVmacManager` fit (proxyha-vrrpd adds `setUp` on Linux).
 */
export interface DaemonVmacManager {
  /** Creates the macvlan (or adopts a matching one left by a crashed run). */
  create(spec: { parent: string; name: string; mac: string }): Promise<void>;
  /** Removes it; removing an absent one is not an error. */
  remove(name: string): Promise<void>;
  /**
   * Brings the macvlan up (before the VIPs are added on entering Master) or down (before
   * they are removed). Optional: without it the macvlan stays up from creation.
   */
  setUp?(name: string, up: boolean): Promise<void>;
}

/** Options of {@link VrrpDaemon}. */
export interface VrrpDaemonOptions {
  /** Operator log lines. */
  readonly logger?: VrrpLogger;
  /**
   * Gratuitous ARP / NA hook, called on entering Master once the VIPs are in place, and when
   * a lower-priority advert shows another Master (see `@proxyha/garp`).
   */
  readonly announce?: DaemonAnnounceHook;
  /** Creates the macvlans of instances with `vmac` set (required for them). */
  readonly vmacs?: DaemonVmacManager;
  /** Transport for `transport: raw` configs; default a raw IP protocol 112 socket ({@link RawTransport}). */
  readonly rawTransport?: TransportFactory;
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
  /** VIP manager for `transport: raw` configs; default rtnetlink ({@link StackVipManager}). */
  readonly vips?: VipManager;
  /** Called on every state change of every instance. */
  readonly onTransition?: (t: RouterTransition) => void;
}

/** Fans one transport out to every instance on the same interface and family. */
class SharedTransport {
  readonly family: 'ipv4' | 'ipv6';
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

/** A tracker the daemon runs for one instance. */
interface RunningTracker {
  stop(): void;
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
  #started = false;

  constructor(config: VrrpDaemonConfig, options: VrrpDaemonOptions = {}) {
    this.#config = config;
    this.#o = options;
    this.#acceptFilter =
      config.strict && config.transport === 'raw'
        ? (options.acceptFilter ?? new NftAcceptModeFilter())
        : undefined;
  }

  /** The routers by instance name (after {@link start}). */
  get routers(): ReadonlyMap<string, VrrpRouter> {
    return this.#routers;
  }

  /** Builds every instance and starts them. Throws {@link VrrpConfigError} for what the config cannot give. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const cfg = this.#config;
    const log = this.#o.logger;
    const shared = new Map<string, SharedTransport>();
    const machines = new Map<string, VrrpMachine>();
    const loopbackVips = new Map<string, VipManager>();

    for (const inst of cfg.instances) {
      const vm = vmacOf(inst);
      if (vm && !this.#o.vmacs)
        throw new VrrpConfigError(`instance ${inst.name}: vmac needs a VMAC manager (install @proxyha/garp)`);
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
        await vmacs.create({ parent: vm.parent, name: vm.name, mac: vm.mac });
        this.#vmacsCreated.push(vm.name);
        log?.info(`(${inst.name}) using VMAC ${vm.name} (${vm.mac}) on ${vm.parent}`);
      }
      const wiring = new InstanceWiring(inst, vm, vips ?? new StackVipManager(), this.#o, log);
      const router = new VrrpRouter({
        machine,
        // the VIPs live (and are announced) on the VMAC when there is one; adverts use the parent
        interface: announceInterfaceOf(inst),
        transport: transport.view(),
        vips: wiring.vips,
        ...(log ? { logger: log } : {}),
        ...(this.#o.announce ? { announce: wiring.announce } : {}),
        ...(inst.checksum ? { checksumMode: inst.checksum } : {}),
        ...(inst.authPassword ? { authPassword: inst.authPassword } : {}),
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
          this.#o.logger?.info(`(${inst.name}) Interface ${name} ${up ? 'up' : 'down'}`);
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
      { onError: (err) => this.#o.logger?.warn(`interface watch: ${err.message}`) },
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
      this.#o.logger?.error(`cannot remove the accept-mode filter: ${(e as Error).message}`);
    });
    for (const name of this.#vmacsCreated.splice(0).reverse()) {
      await this.#o.vmacs?.remove(name).catch((e) => {
        this.#o.logger?.error(`cannot remove VMAC ${name}: ${(e as Error).message}`);
      });
      this.#o.logger?.info(`removed VMAC ${name}`);
    }
  }

  #makeTransport(inst: VrrpInstanceConfig, primary: string): AdvertTransport {
    if (this.#config.transport === 'loopback')
      return new LoopbackTransport({ address: primary, port: this.#config.loopback.port });
    if (this.#o.rawTransport) return this.#o.rawTransport(inst, primary);
    return new RawTransport({
      interface: inst.interface,
      family: primary.includes(':') ? 6 : 4,
      source: primary,
      multicast: inst.unicastPeers.length === 0,
    });
  }

  #startTrackers(inst: VrrpInstanceConfig, router: VrrpRouter) {
    for (const s of inst.trackScripts) {
      let good = 0;
      let bad = 0;
      let state: 'up' | 'down' = 'up';
      let lastStatus: number | undefined = 0;
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      const runOnce = () => {
        const [cmd, ...args] = s.command as [string, ...string[]];
        execFile(cmd, args, { timeout: s.timeout }, (err) => {
          if (stopped) return;
          // keepalived's lines: the exit status when it changes, and the tracker's state changes
          const status = !err ? 0 : typeof err.code === 'number' ? err.code : undefined;
          if (status !== lastStatus) {
            lastStatus = status;
            this.#o.logger?.info(
              status === undefined
                ? `Script \`${s.name}\` timed out`
                : `Script \`${s.name}\` now returning ${status}`,
            );
          }
          if (err) {
            bad++;
            good = 0;
          } else {
            good++;
            bad = 0;
          }
          const next =
            state === 'up' && bad >= s.fall ? 'down' : state === 'down' && good >= s.rise ? 'up' : state;
          if (next !== state) {
            state = next;
            this.#o.logger?.info(
              next === 'up'
                ? `(${inst.name}) VRRP_Script(${s.name}) succeeded`
                : `(${inst.name}) VRRP_Script(${s.name}) failed (${status === undefined ? 'timed out' : `exited with status ${status}`})`,
            );
            router.trackerChanged(`script:${s.name}`, state);
          }
          timer = setTimeout(runOnce, s.interval);
        });
      };
      runOnce();
      this.#trackers.push({
        stop: () => {
          stopped = true;
          clearTimeout(timer);
        },
      });
    }
    for (const f of inst.trackFiles) {
      const name = `file:${f.name ?? f.path}`;
      let last: 'up' | 'down' | undefined;
      const poll = async () => {
        // keepalived's track_file: the file holds an integer; 0 (or no file) means healthy
        const text = await readFile(f.path, 'utf8').catch(() => '0');
        const value = Number.parseInt(text.trim() || '0', 10);
        const state = Number.isFinite(value) && value === 0 ? 'up' : 'down';
        if (state !== last) {
          last = state;
          router.trackerChanged(name, state);
        }
      };
      void poll();
      const timer = setInterval(() => void poll(), 1000);
      this.#trackers.push({ stop: () => clearInterval(timer) });
    }
  }
}

/** How long an announcement waits at most for the VIPs to be added before it goes anyway. */
const VIP_WAIT_MS = 1000;

/**
 * Per-instance glue between the router and the daemon's options: brings a VMAC up and down
 * around the VIPs, holds the announcement on entering Master until the VIPs are in place (as
 * keepalived: addresses first, then gratuitous ARPs, so a client that follows the ARP at once
 * finds the address), adds the VMAC and burst policy to announcement requests, and sends the
 * advert of `higherPrioritySendAdvert`.
 */
class InstanceWiring {
  readonly vips: VipManager;
  readonly announce: (req: AnnounceRequest) => void;
  #vipsAdded: { promise: Promise<void>; resolve: () => void } | undefined;
  #addresses: readonly string[] | undefined;

  constructor(
    private readonly inst: VrrpInstanceConfig,
    vm: VmacConfig | undefined,
    inner: VipManager,
    private readonly o: VrrpDaemonOptions,
    private readonly log: VrrpLogger | undefined,
  ) {
    const links = vm ? o.vmacs : undefined;
    this.vips = {
      add: async (ifname, addrs) => {
        try {
          if (vm && links?.setUp) await links.setUp(vm.name, true);
          await inner.add(ifname, addrs);
        } finally {
          this.#vipsAdded?.resolve();
        }
      },
      remove: async (ifname, addrs) => {
        // down first: an IPv6 VIP removed from a VMAC that is up would send an MLD report from
        // the virtual MAC and pull the switch's entry for it back to this (former) Master
        if (vm && links?.setUp) await links.setUp(vm.name, false);
        await inner.remove(ifname, addrs);
      },
    };
    const policy = garpBurstPolicyOf(inst);
    this.announce = (req) => {
      this.#addresses = req.addresses;
      const hook = this.o.announce;
      if (!hook) return;
      const full: DaemonAnnounceRequest = {
        ...req,
        ...(vm ? { vmac: vm.mac } : {}),
        ...(policy ? { policy } : {}),
      };
      const waiting = req.reason === 'becomeMaster' ? this.#vipsAdded : undefined;
      if (!waiting) return hook(full);
      let timer: NodeJS.Timeout | undefined;
      void Promise.race([
        waiting.promise,
        new Promise<void>((r) => {
          timer = setTimeout(r, VIP_WAIT_MS);
        }),
      ]).then(() => {
        clearTimeout(timer);
        // still the same mastership? (a quick step-down has stopped the announcer already)
        if (this.#vipsAdded === waiting) hook(full);
      });
    };
  }

  transition(t: RouterTransition, router: VrrpRouter): void {
    if (t.to === 'master') {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#vipsAdded = { promise, resolve };
      return;
    }
    this.#vipsAdded?.resolve();
    this.#vipsAdded = undefined;
    if (
      this.inst.higherPrioritySendAdvert &&
      t.from === 'master' &&
      (t.reason === 'higherPriority' || t.reason === 'higherAddress') &&
      this.#addresses
    ) {
      // keepalived's higher_prio_send_advert: one advert at our (lower) priority before we go,
      // so that the other Master re-announces (garp_lower_prio_repeat) and neighbour caches
      // that followed our announcements during a split brain come back to it
      this.log?.debug(
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

/** The MachineConfig of a validated instance. */
export function toMachineConfig(inst: VrrpInstanceConfig, primaryAddress: string): MachineConfig {
  const trackers: TrackerConfig[] = [
    ...inst.trackScripts.map((s) => ({
      name: `script:${s.name}`,
      kind: 'script' as const,
      weight: s.weight,
    })),
    ...inst.trackFiles.map((f) => ({
      name: `file:${f.name ?? f.path}`,
      kind: 'file' as const,
      weight: f.weight,
    })),
    ...inst.trackInterfaces.map((t) => ({
      name: `interface:${t.name}`,
      kind: 'interface' as const,
      weight: t.weight,
    })),
  ];
  return {
    name: inst.name,
    vrid: inst.vrid,
    version: inst.version,
    priority: inst.priority,
    advertIntervalMs: inst.advertInterval,
    primaryAddress,
    virtualIps: inst.virtualIps,
    preempt: inst.preempt,
    preemptDelayMs: inst.preemptDelay,
    accept: inst.accept,
    unicastPeers: inst.unicastPeers,
    lowerPriorityResponse: inst.lowerPriorityResponse,
    authType: inst.authPassword ? 1 : 0,
    trackers,
  };
}

/**
 * The address adverts are sent from: the interface's first IPv4 address, or for IPv6
 * its link-local address (RFC 5798 §5.1.2.1). Throws when the interface has none.
 */
export function primaryAddressOf(inst: VrrpInstanceConfig): string {
  const v6 = inst.virtualIps[0]?.includes(':') ?? false;
  const addrs = networkInterfaces()[inst.interface];
  if (!addrs) throw new VrrpConfigError(`instance ${inst.name}: interface ${inst.interface} does not exist`);
  const pick = v6
    ? addrs.find((a) => a.family === 'IPv6' && a.address.startsWith('fe80:'))
    : addrs.find((a) => a.family === 'IPv4');
  if (!pick)
    throw new VrrpConfigError(
      `instance ${inst.name}: interface ${inst.interface} has no ${v6 ? 'IPv6 link-local' : 'IPv4'} address to send from`,
    );
  return pick.address;
}

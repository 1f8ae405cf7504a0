import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { RawTransport } from '../driver/raw-transport';
import { type AnnounceHook, type RouterTransition, type VrrpLogger, VrrpRouter } from '../driver/router';
import { type AdvertMeta, type AdvertTransport, LoopbackTransport } from '../driver/transport';
import { IprouteVipManager, LoopbackOwnerVipManager, type VipManager } from '../driver/vips';
import { VrrpMachine } from '../machine/machine';
import { SyncGroup } from '../machine/sync-group';
import type { MachineConfig, TrackerConfig } from '../machine/types';
import { VrrpConfigError, type VrrpDaemonConfig, type VrrpInstanceConfig } from './config';

/** Builds the transport of one instance; the daemon shares it between instances of one link. */
export type TransportFactory = (instance: VrrpInstanceConfig, primaryAddress: string) => AdvertTransport;

/** Options of {@link VrrpDaemon}. */
export interface VrrpDaemonOptions {
  /** Operator log lines. */
  readonly logger?: VrrpLogger;
  /** Gratuitous ARP / NA hook, called on entering Master (see `@proxyha/garp`). */
  readonly announce?: AnnounceHook;
  /** Transport for `transport: raw` configs; default a raw IP protocol 112 socket ({@link RawTransport}). */
  readonly rawTransport?: TransportFactory;
  /** VIP manager for `transport: raw` configs; default iproute2. */
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
  #started = false;

  constructor(config: VrrpDaemonConfig, options: VrrpDaemonOptions = {}) {
    this.#config = config;
    this.#o = options;
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
      const router = new VrrpRouter({
        machine,
        interface: inst.interface,
        transport: transport.view(),
        vips: vips ?? new IprouteVipManager(),
        ...(log ? { logger: log } : {}),
        ...(this.#o.announce ? { announce: this.#o.announce } : {}),
        ...(inst.checksum ? { checksumMode: inst.checksum } : {}),
        ...(inst.authPassword ? { authPassword: inst.authPassword } : {}),
      });
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
          for (const { instance, action } of group.handle(member, event))
            this.#routers.get(instance)?.execute([action]);
        });
      }
    }

    for (const inst of cfg.instances) await (this.#routers.get(inst.name) as VrrpRouter).start();
    for (const inst of cfg.instances) this.#startTrackers(inst, this.#routers.get(inst.name) as VrrpRouter);
  }

  /** Stops every instance: priority 0 from Masters, VIPs removed, trackers stopped. */
  async stop(): Promise<void> {
    for (const t of this.#trackers.splice(0)) t.stop();
    await Promise.all([...this.#routers.values()].map((r) => r.stop()));
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
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      const runOnce = () => {
        const [cmd, ...args] = s.command as [string, ...string[]];
        execFile(cmd, args, { timeout: s.timeout }, (err) => {
          if (stopped) return;
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
              `(${inst.name}) Script \`${s.name}\` now returning ${err ? 'failure' : 'success'}`,
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

// The daemon's gratuitous ARP / unsolicited NA and virtual MACs: @proxyha/garp's Announcer
// behind the daemon's announcement hook, and its LinuxVmacManager behind the daemon's VMAC
// manager. The vrrp library never imports garp; only proxyha-vrrpd loads it, as an optional
// peer dependency, and runs without announcements (with a warning) where it is not installed.
import { readFile } from 'node:fs/promises';
import type { NetworkStack } from '@proxyha/netio';
import { garpInterfaceRatesOf, type VrrpDaemonConfig } from './daemon/config';
import type { DaemonAnnounceHook, DaemonVmacManager } from './daemon/daemon';
import type { RouterTransition, VrrpLogger } from './driver/router';

type Garp = typeof import('@proxyha/garp');

/** What the daemon needs from an announcer. */
export interface DaemonAnnouncer {
  readonly hook: DaemonAnnounceHook;
  onTransition(t: RouterTransition): void;
  /** Looks up the MACs and opens the packet sockets of these interfaces ahead of the first failover. */
  warm(interfaces: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

async function loadGarp(log: VrrpLogger, what: string): Promise<Garp | undefined> {
  try {
    return await import('@proxyha/garp');
  } catch {
    log.warn(`@proxyha/garp is not installed: ${what}`);
    return undefined;
  }
}

/**
 * Loads @proxyha/garp and builds an announcer that sends through `stack`'s packet sockets,
 * with the config's per-interface rate limits (`garp.interval`, `garp.naInterval`).
 */
export async function loadAnnouncer(
  stack: NetworkStack,
  log: VrrpLogger,
  config: Pick<VrrpDaemonConfig, 'instances'> = { instances: [] },
): Promise<DaemonAnnouncer | undefined> {
  const garp = await loadGarp(log, 'no gratuitous ARPs will be sent after VIP moves');
  if (!garp) return undefined;
  const sender = new garp.PacketSocketSender(stack);
  const announcer = new garp.Announcer({
    sender,
    policy: { interfaces: garpInterfaceRatesOf(config) },
    logger: { info: (m) => log.info(m), warn: (m) => log.warn(m), debug: (m) => log.debug(m) },
  });
  // An interface's MAC, looked up once: the first burst should not wait on netlink each time.
  const macs = new Map<string, Promise<string>>();
  const macOf = (ifname: string) => {
    let p = macs.get(ifname);
    if (!p) {
      p = stack.interfaceInfo(ifname).then((i) => i.mac);
      macs.set(ifname, p);
      p.catch(() => macs.delete(ifname));
    }
    return p;
  };
  // Bumped on every transition: an announcement whose MAC lookup finishes after the instance
  // has left Master again must not start a burst (stop() has already run for it).
  const generation = new Map<string, number>();
  return {
    hook: (req) => {
      if (req.reason === 'lowerPriorityAdvert') {
        // another node still thinks it is master: announce again (heals a split brain)
        if (announcer.reassert(req.instance)) return;
      }
      const gen = generation.get(req.instance) ?? 0;
      const start = (mac: string) => {
        if ((generation.get(req.instance) ?? 0) !== gen) return;
        announcer.announce({
          instance: req.instance,
          ifname: req.interface,
          mac,
          vmac: req.vmac,
          ipv4: req.addresses.filter((a) => !a.includes(':')),
          ipv6: req.addresses.filter((a) => a.includes(':')),
          policy: req.policy,
        });
      };
      const fail = (e: unknown) =>
        log.error(`(${req.instance}) cannot announce on ${req.interface}: ${(e as Error).message}`);
      // with a VMAC the announced address is known: no lookup, no wait
      if (req.vmac) {
        try {
          start(req.vmac);
        } catch (e) {
          fail(e);
        }
        return;
      }
      void macOf(req.interface).then(start).catch(fail);
    },
    onTransition: (t) => {
      generation.set(t.instance, (generation.get(t.instance) ?? 0) + 1);
      if (t.from === 'master') announcer.stop(t.instance);
    },
    warm: async (interfaces) => {
      await Promise.all(
        interfaces.map(async (ifname) => {
          const mac = await macOf(ifname).catch(() => undefined);
          await sender.prepare(ifname);
          // Validating a request and encoding its frames is slow the first time (JIT, schema
          // set-up): do it once now, on a throwaway schedule with documentation addresses that
          // is never polled, so the first real burst after a failover is not the first one.
          if (mac)
            new garp.AnnouncementSchedule().start(
              { instance: 'warm-up', ifname, mac, ipv4: ['192.0.2.1'], ipv6: ['2001:db8::1'] },
              0,
            );
        }),
      );
    },
    close: async () => {
      await announcer.close();
      await sender.close();
    },
  };
}

/**
 * Loads @proxyha/garp's LinuxVmacManager for instances with `vmac` (keepalived's use_vmac):
 * a private-mode macvlan with the virtual MAC, the parent's ARP isolated from the VIPs
 * (garp's arpIsolation). On top of it, as keepalived does to its VMACs, before the macvlan
 * first comes up: `arp_ignore=1` on it (it never answers ARP for the host's other addresses
 * with the virtual MAC), IPv6 off on an IPv4 VMAC and no automatic link-local address on an
 * IPv6 one; and `setUp` for the daemon to keep it down while not Master.
 */
export async function loadVmacManager(log: VrrpLogger): Promise<DaemonVmacManager | undefined> {
  const garp = await loadGarp(log, 'instances with vmac cannot start');
  if (!garp) return undefined;
  // Settings the macvlan needs before it first comes up (so that even a Backup's VMAC never
  // sends a frame: no IPv6 autoconfiguration, no ARP answers for the host's other addresses),
  // run by the manager's command runner just before its `ip link set dev NAME up`.
  const preUp = new Map<string, string[][]>();
  const runner: import('@proxyha/garp').CommandRunner = async (file, args) => {
    const steps =
      file === 'ip' && args.length === 5 && args[4] === 'up' ? preUp.get(args[3] as string) : undefined;
    for (const [f, ...a] of steps ?? []) {
      const r = await garp.execCommand(f as string, a);
      if (r.code !== 0) return { ...r, stderr: `${f} ${a.join(' ')}: ${r.stderr}` };
    }
    return garp.execCommand(file, args);
  };
  const inner = new garp.LinuxVmacManager(runner);
  const must = async (file: string, args: string[]) => {
    const r = await garp.execCommand(file, args);
    if (r.code !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  };
  return {
    create: async (spec) => {
      const key = spec.name.replaceAll('.', '/');
      const v6 = garp.parseVirtualMac(spec.mac)?.family === 'ipv6';
      preUp.set(spec.name, [
        ['sysctl', '-qw', `net.ipv4.conf.${key}.arp_ignore=1`],
        v6
          ? ['ip', 'link', 'set', 'dev', spec.name, 'addrgenmode', 'none']
          : ['sysctl', '-qw', `net.ipv6.conf.${key}.disable_ipv6=1`],
      ]);
      try {
        await inner.create(spec);
      } finally {
        preUp.delete(spec.name);
      }
    },
    remove: (name) => inner.remove(name),
    setUp: async (name, up) => {
      await must('ip', ['link', 'set', 'dev', name, up ? 'up' : 'down']);
      // The kernel gives a device that comes up a working queue only when linkwatch runs
      // (asynchronously); frames sent before that are dropped without a word. Wait for it.
      if (up) await operstateUp(name, VMAC_UP_WAIT_MS);
    },
  };
}

/** How long a VMAC coming up may take before the daemon carries on anyway. */
const VMAC_UP_WAIT_MS = 500;

/** Resolves once /sys/class/net/NAME/operstate says up (or after `ms`). */
async function operstateUp(name: string, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const state = await readFile(`/sys/class/net/${name}/operstate`, 'utf8').catch(() => '');
    if (state.trim() === 'up') return;
    await new Promise((r) => setTimeout(r, 1));
  }
}

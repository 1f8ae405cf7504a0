// Gratuitous ARP / unsolicited NA after every VIP move: @proxyha/garp's Announcer behind the daemon's
// announcement hook, sending through @proxyha/netio's packet sockets.
import type { Clock, Logger } from '@proxyha/common';
import { AnnouncementSchedule, Announcer, PacketSocketSender } from '@proxyha/garp';
import type { NetworkStack } from '@proxyha/netio';
import type { RouterTransition } from '@proxyha/vrrp';
import { garpInterfaceRatesOf, type VrrpDaemonConfig } from '../config/config';
import type { DaemonAnnounceHook } from './daemon';

/** The daemon's gratuitous ARP / NA sender: the hook, what it must hear of transitions, and its lifecycle. */
export interface DaemonAnnouncer {
  /** The announcement hook to give {@link VrrpDaemon}. */
  readonly hook: DaemonAnnounceHook;
  /** Must see every transition (a burst stops when its instance leaves Master). */
  onTransition(t: RouterTransition): void;
  /** Looks up the MACs and opens the packet sockets of these interfaces ahead of the first failover. */
  warm(interfaces: readonly string[]): Promise<void>;
  /** Stops every burst and closes the sockets. */
  close(): Promise<void>;
}

/**
 * An announcer that sends through `stack`'s packet sockets, with the config's per-interface rate limits
 * (`garp.interval`, `garp.naInterval`) and each request's burst policy.
 *
 * @param stack - the network stack (`linuxStack`, or a `MemoryNetwork` host in tests)
 * @param logger - where keepalived's `Sending/queueing gratuitous ARPs` lines go
 * @param config - the daemon configuration (for the rate limits)
 * @param clock - timers of the bursts
 */
export function createAnnouncer(
  stack: Pick<NetworkStack, 'openPacketSocket' | 'interfaceInfo'>,
  logger: Logger,
  config: Pick<VrrpDaemonConfig, 'instances'>,
  clock: Clock,
): DaemonAnnouncer {
  const sender = new PacketSocketSender(stack);
  const announcer = new Announcer({
    sender,
    policy: { interfaces: garpInterfaceRatesOf(config) },
    logger,
    clock,
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
  // Bumped on every transition: an announcement whose MAC lookup finishes after the instance has left
  // Master again must not start a burst (stop() has already run for it).
  const generation = new Map<string, number>();
  return {
    hook: (req) => {
      // another node still thinks it is master: announce again (heals a split brain)
      if (req.reason === 'lowerPriorityAdvert' && announcer.reassert(req.instance)) return;
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
        logger.error(`(${req.instance}) cannot announce on ${req.interface}: ${(e as Error).message}`);
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
          // Validating a request and encoding its frames is slow the first time (JIT, schema set-up):
          // do it once now, on a throwaway schedule with documentation addresses that is never polled,
          // so the first real burst after a failover is not the first one.
          if (mac)
            new AnnouncementSchedule().start(
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

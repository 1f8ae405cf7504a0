// The daemon's gratuitous ARP / unsolicited NA: @proxyha/garp's Announcer behind the
// router's announcement hook. The vrrp library never imports garp; only proxyha-vrrpd
// loads it, as an optional peer dependency, and runs without announcements (with a
// warning) where it is not installed.
import type { NetworkStack } from '@proxyha/netio';
import type { AnnounceHook, RouterTransition, VrrpLogger } from './driver/router';

/** What the daemon needs from an announcer. */
export interface DaemonAnnouncer {
  readonly hook: AnnounceHook;
  onTransition(t: RouterTransition): void;
  close(): Promise<void>;
}

/** Loads @proxyha/garp and builds an announcer that sends through `stack`'s packet sockets. */
export async function loadAnnouncer(
  stack: NetworkStack,
  log: VrrpLogger,
): Promise<DaemonAnnouncer | undefined> {
  let garp: typeof import('@proxyha/garp');
  try {
    garp = await import('@proxyha/garp');
  } catch {
    log.warn('@proxyha/garp is not installed: no gratuitous ARPs will be sent after VIP moves');
    return undefined;
  }
  const announcer = new garp.Announcer({
    sender: new garp.PacketSocketSender(stack),
    logger: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
  });
  return {
    hook: (req) => {
      if (req.reason === 'lowerPriorityAdvert') {
        // another node still thinks it is master: announce again (heals a split brain)
        if (announcer.reassert(req.instance)) return;
      }
      void stack
        .interfaceInfo(req.interface)
        .then((info) =>
          announcer.announce({
            instance: req.instance,
            ifname: req.interface,
            mac: info.mac,
            ipv4: req.addresses.filter((a) => !a.includes(':')),
            ipv6: req.addresses.filter((a) => a.includes(':')),
          }),
        )
        .catch((e) =>
          log.error(`(${req.instance}) cannot announce on ${req.interface}: ${(e as Error).message}`),
        );
    },
    onTransition: (t) => {
      if (t.from === 'master') announcer.stop(t.instance);
    },
    close: () => announcer.close(),
  };
}

// Gratuitous ARP / unsolicited NA after every VIP move: @proxyha/garp's Announcer behind the daemon's
// announcement hook, sending through @proxyha/netio's packet sockets.
import { type Clock, type Logger, ManualClock, parseCidr } from '@proxyha/common';
import { type AnnounceRequest, Announcer, PacketSocketSender } from '@proxyha/garp';
import type { NetworkStack } from '@proxyha/netio';
import type { RouterTransition } from '@proxyha/vrrp';
import { garpBurstPolicyOf, garpInterfaceRatesOf, type VrrpDaemonConfig, vmacOf } from '../config/config';
import type { DaemonAnnounceHook, DaemonAnnounceRequest } from './daemon';

/** The daemon's gratuitous ARP / NA sender: the hook, what it must hear of transitions, and its lifecycle. */
export interface DaemonAnnouncer {
  /** The announcement hook to give {@link VrrpDaemon}. */
  readonly hook: DaemonAnnounceHook;
  /** Must see every transition (a burst stops when its instance leaves Master). */
  onTransition(t: RouterTransition): void;
  /**
   * Ahead of the first failover, for these interfaces: looks up the MACs, opens the packet sockets, runs
   * the announcer's code once (a burst to nowhere) and validates and encodes the announcement of each
   * instance on them.
   */
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
        announcer.announce(garpRequest(req, mac));
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
          if (!mac) return;
          // V8 compiles a function when it first runs: one burst now through a throwaway announcer that
          // sends nowhere (documentation addresses), so the first real one after a failover is not the first
          await warmUpAnnouncer(ifname, mac);
          // and each instance's own announcement validated and its frames encoded (garp's prepare)
          for (const inst of config.instances) {
            if (vmacOf(inst) || inst.interface !== ifname) continue;
            const policy = garpBurstPolicyOf(inst);
            const addresses = inst.virtualIps.map((v) => parseCidr(v)?.text ?? v); // as the router has them
            try {
              announcer.prepare(
                garpRequest(
                  { instance: inst.name, interface: ifname, addresses, ...(policy ? { policy } : {}) },
                  mac,
                ),
              );
            } catch {
              // an invalid request is reported when it is announced
            }
          }
        }),
      );
    },
    close: async () => {
      await announcer.close();
      await sender.close();
    },
  };
}

/** The announcer's request for a daemon announcement sent from `mac`: the same for `prepare` and `announce`. */
function garpRequest(
  req: Pick<DaemonAnnounceRequest, 'instance' | 'interface' | 'addresses' | 'vmac' | 'policy'>,
  mac: string,
): AnnounceRequest {
  return {
    instance: req.instance,
    ifname: req.interface,
    mac,
    vmac: req.vmac,
    ipv4: req.addresses.filter((a) => !a.includes(':')),
    ipv6: req.addresses.filter((a) => a.includes(':')),
    policy: req.policy,
  };
}

/**
 * Bursts, and their end, through a throwaway announcer on its own clock whose sender drops the frames:
 * three times, as V8 gives a function its inline caches only after a few calls (the first real burst then
 * starts in about 0.2 ms instead of 0.35).
 */
async function warmUpAnnouncer(ifname: string, mac: string): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const clock = new ManualClock();
    const announcer = new Announcer({ sender: { sendFrame: async () => {} }, clock });
    announcer.announce({ instance: 'warm-up', ifname, mac, ipv4: ['192.0.2.1'], ipv6: ['2001:db8::1'] });
    await clock.advanceAsync(10_000);
    announcer.stop('warm-up');
    await announcer.close();
  }
}

// Frames as keepalived and FRR send them.
import { ipText, macText } from './address';
import type { ArpOperation } from './arp';
import { ALL_NODES_IPV6, ALL_NODES_MAC, BROADCAST_MAC } from './ethernet';
import type { GarpFrameInit } from './frame';

/** Options of {@link gratuitousArp}. */
export interface GratuitousArpOptions {
  /** MAC address that should now answer for `ip` (Ethernet source and ARP sender hardware address). */
  readonly mac: string;
  /** The IPv4 address being announced (sender and target protocol address). */
  readonly ip: string;
  /**
   * `request` (default) is what keepalived and FRR send: target MAC ff:ff:ff:ff:ff:ff. `reply` is the
   * `arping -A` form: target MAC = sender MAC, which Linux also treats as gratuitous.
   */
  readonly operation?: ArpOperation;
}

/**
 * A gratuitous ARP frame as keepalived and FRR send it: broadcast, ARP request, sender IP = target IP =
 * `ip`, target MAC ff:ff:ff:ff:ff:ff; or the reply form (target MAC = sender MAC) if asked.
 * Encode it with {@link encodeFrame}.
 *
 * @throws GarpError `GARP_BAD_MAC`, `GARP_BAD_IPV4`
 */
export function gratuitousArp(o: GratuitousArpOptions): Extract<GarpFrameInit, { kind: 'arp' }> {
  const mac = macText(o.mac, 'mac');
  const ip = ipText('ipv4', o.ip, 'ip');
  const operation = o.operation ?? 'request';
  return {
    kind: 'arp',
    ethernet: { dst: BROADCAST_MAC, src: mac },
    arp: {
      operation,
      senderMac: mac,
      senderIp: ip,
      targetMac: operation === 'request' ? BROADCAST_MAC : mac,
      targetIp: ip,
    },
  };
}

/** Options of {@link unsolicitedNeighborAdvertisement}. */
export interface UnsolicitedNaOptions {
  /** MAC address that should now answer for `ip` (Ethernet source and target link-layer address). */
  readonly mac: string;
  /** The IPv6 address being announced (target, and IPv6 source as keepalived and FRR send it). */
  readonly ip: string;
  /** Set the R (router) flag, as FRR does. Default false, as keepalived does. */
  readonly router?: boolean;
}

/**
 * An unsolicited Neighbor Advertisement frame as keepalived and FRR send it (RFC 4861 section 7.2.6):
 * from `ip` to ff02::1 (Ethernet 33:33:00:00:00:01), hop limit 255, override flag set, solicited flag
 * clear, target = `ip`, target link-layer address option = `mac`. Encode it with {@link encodeFrame}.
 *
 * @throws GarpError `GARP_BAD_MAC`, `GARP_BAD_IPV6`
 */
export function unsolicitedNeighborAdvertisement(
  o: UnsolicitedNaOptions,
): Extract<GarpFrameInit, { kind: 'na' }> {
  const mac = macText(o.mac, 'mac');
  const ip = ipText('ipv6', o.ip, 'ip');
  return {
    kind: 'na',
    ethernet: { dst: ALL_NODES_MAC, src: mac },
    na: {
      src: ip,
      dst: ALL_NODES_IPV6,
      hopLimit: 255,
      trafficClass: 0,
      flowLabel: 0,
      router: o.router ?? false,
      solicited: false,
      override: true,
      target: ip,
      targetLinkLayerAddress: mac,
    },
  };
}

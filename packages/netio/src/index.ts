/**
 * Raw packet I/O for Node on Linux.
 *
 * IPv4/IPv6 raw sockets for one IP protocol (VRRP's 112, the director's 253) bound to an
 * interface, with multicast membership, TTL / hop limit 255, broadcast, a chosen source address
 * and receive metadata (source, destination, arrival interface, TTL; the IPv4 header is parsed and
 * stripped from the payload); AF_PACKET sockets for Ethernet frames filtered by EtherType (ARP,
 * NDP); interface facts and change events from rtnetlink. All of it sits behind
 * {@link NetworkStack}: {@link linuxStack} is the real one (a small N-API addon, prebuilt for
 * linux-x64 and linux-arm64, loaded lazily), {@link MemoryNetwork} the in-memory twin for tests
 * without root. At the link layer, {@link MacvlanManager} creates macvlan interfaces carrying an extra
 * MAC address (a VRRP virtual MAC): {@link LinuxMacvlanManager} through iproute2, and its twin
 * {@link MemoryMacvlanManager}.
 *
 * Without the native addon (no prebuilt binary for the platform and no source build, or not Linux)
 * everything except opening raw/packet sockets still works; those raise
 * {@link NetioAddonUnavailableError} (`NETIO_ADDON_UNAVAILABLE`).
 *
 * ```ts
 * import { linuxStack } from '@proxyha/netio';
 *
 * const sock = await linuxStack.openIpSocket({ family: 'ipv4', protocol: 112, interface: 'eth0', ttl: 255 });
 * sock.joinGroup('224.0.0.18');
 * sock.onPacket((p) => console.log(p.source, p.ttl, p.payload));
 * await sock.send(advert, '224.0.0.18');
 * ```
 *
 * @packageDocumentation
 */

import { lazyAddon } from './linux/addon';
import { createLinuxStack } from './linux/stack';
import type { NetworkStack } from './types';

export {
  type Capability,
  NETIO_ERRORS,
  type NetioAddonUnavailableDetails,
  NetioAddonUnavailableError,
  NetioError,
  type NetioErrorCode,
  type NetioInvalidArgumentDetails,
  NetioInvalidArgumentError,
  type NetioPermissionDetails,
  NetioPermissionError,
  type NetioSystemDetails,
  NetioSystemError,
  type NetioUnknownInterfaceDetails,
  NetioUnknownInterfaceError,
} from './errors';
export {
  LinuxMacvlanManager,
  type LinuxMacvlanOptions,
  type MacvlanManager,
  type MacvlanSpec,
  MemoryMacvlanManager,
} from './macvlan';
export {
  type MemoryHost,
  type MemoryHostOptions,
  type MemoryInterfaceOptions,
  MemoryNetwork,
  type MemoryNetworkOptions,
  type MemoryNetworkStats,
} from './memory';
export type * from './types';

const loader = lazyAddon();

/** What {@link addonStatus} reports. */
export interface AddonStatus {
  /** True when the native addon loaded (raw IP and packet sockets can be opened). */
  readonly available: boolean;
  /** Why it did not load (no binary for this platform, a load error, not Linux). */
  readonly reason?: string;
  /** The file that loaded (a prebuilt binary under `prebuilds/`, or `build/Release/netio.node`). */
  readonly path?: string;
}

/**
 * Whether the native addon loaded, and why not. Loading happens on the first call of this function or the
 * first raw or packet socket, never at import.
 */
export function addonStatus(): AddonStatus {
  const state = loader();
  return state.available ? { available: true, path: state.path } : { available: false, reason: state.reason };
}

/**
 * The host's real network stack (Linux, through the native addon and rtnetlink): the one way to open raw
 * IP and packet sockets, list and watch interfaces and change addresses on this host
 * (`linuxStack.openIpSocket(...)`, `linuxStack.interfaces()`, ...).
 */
export const linuxStack: NetworkStack = createLinuxStack(loader);

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

import { NetioAddonUnavailableError } from './errors';
import { lazyAddon } from './linux/addon';
import {
  openRelayEngine,
  relayEngineStatus,
  type TcpRelayEngine,
  type TcpRelayEngineStatus,
  type TcpRelayHandler,
} from './linux/relay-engine';
import { countEstablishedTcp } from './linux/sock-diag';
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
export type {
  TcpRelayBytes,
  TcpRelayClosed,
  TcpRelayCloseReason,
  TcpRelayConnectOptions,
  TcpRelayEngine,
  TcpRelayEngineStats,
  TcpRelayEngineStatus,
  TcpRelayHandler,
  TcpRelayListener,
  TcpRelayListenOptions,
} from './linux/relay-engine';
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

/**
 * Counts the established TCP connections per local port in this process's network namespace (IPv4 and
 * IPv6) through the kernel's sock_diag netlink interface, as `ss -t state established` does: about a tenth
 * of the system time of reading `/proc/net/tcp` and `/proc/net/tcp6`, which format every socket as text.
 * No privilege needed. Loads the addon on the first call.
 *
 * ```ts
 * const counts = await establishedTcpConnections([3128, 9090]);
 * console.log(counts.get(3128)); // connections the proxy on port 3128 serves now
 * ```
 *
 * @param localPorts - the local ports to count (every other socket is skipped)
 * @returns a count for each port asked for (0 when none)
 * @throws NetioAddonUnavailableError `NETIO_ADDON_UNAVAILABLE` when the addon does not load;
 *   NetioSystemError `NETIO_SYSTEM` when the kernel refuses the dump
 */
export async function establishedTcpConnections(localPorts: readonly number[]): Promise<Map<number, number>> {
  const state = loader();
  if (!state.available) throw new NetioAddonUnavailableError(state.reason);
  return countEstablishedTcp(state.addon, localPorts);
}

/**
 * Whether this host can run a {@link TcpRelayEngine}: the native addon loads and is a build that has it
 * (a binary older than the engine, or none, makes callers fall back to `node:net`). Loads the addon on the
 * first call.
 */
export function tcpRelayEngineStatus(): TcpRelayEngineStatus {
  return relayEngineStatus(loader);
}

/**
 * Opens a TCP relay engine: listening sockets and relayed connections run by native code on this thread's
 * event loop (epoll; bytes copied with splice(2) for bulk transfers, read/write otherwise), with only the
 * choice of each client's destination left to `handler`. Connections cost no `net.Socket`s: about a tenth
 * of the JavaScript work per connection of a `node:net` relay (see the README, "TCP relay engine").
 *
 * ```ts
 * const engine = openTcpRelayEngine({
 *   accepted: (conn) => engine.connect(conn, '192.0.2.11', 3128, { connectTimeoutMs: 5000 }),
 *   connected: () => {},
 *   connectFailed: (conn) => engine.reject(conn),
 *   closed: (conn, info) => console.log(conn, info.reason, info.bytesToNode, info.bytesToClient),
 * });
 * engine.listen('192.0.2.74', 9090);
 * ```
 *
 * @param handler - receives accepted clients, connects, failures and closes
 * @throws NetioAddonUnavailableError `NETIO_ADDON_UNAVAILABLE` when the addon does not load or has no engine
 *   (see {@link tcpRelayEngineStatus}); NetioInvalidArgumentError `NETIO_INVALID_ARGUMENT` for a handler
 *   without the four functions
 */
export function openTcpRelayEngine(handler: TcpRelayHandler): TcpRelayEngine {
  return openRelayEngine(loader, handler);
}

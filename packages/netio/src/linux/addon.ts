import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetioAddonUnavailableError } from '../errors';

/** Socket kinds understood by the addon's Socket constructor. */
export const KIND = { ip4: 4, ip6: 6, netlink: 16, packet: 17 } as const;

/** A received datagram as the addon hands it over (see native/netio.cc). */
export type NativeItem = [Buffer, ...unknown[]];

/** The addon's Socket class. */
export interface NativeSocket {
  setInt(level: number, name: number, value: number): void;
  getInt(level: number, name: number): number;
  bindDevice(name: string): void;
  membership(group: string, ifindex: number, join: boolean): void;
  multicastInterface(ifindex: number): void;
  bindPacket(ifindex: number, etherType: number): void;
  bindNetlink(groups: number): void;
  /** Bytes sent, or -EAGAIN / -ENOBUFS when the kernel cannot take it now. */
  send(data: Uint8Array, destination?: string, ifindex?: number, source?: string): number;
  startReading(onRead: (batch: NativeItem[]) => void, onError: (error: unknown) => void): void;
  stopReading(): void;
  awaitWritable(callback: () => void): void;
  close(): void;
}

/** The addon's exports. */
export interface Addon {
  Socket: new (kind: number, protocol: number) => NativeSocket;
  nameToIndex(name: string): number;
  constants: Record<string, number>;
}

/** Result of trying to load the addon. */
export type AddonState =
  | { available: true; addon: Addon; path: string }
  | { available: false; reason: string };

/** Finds the package root (the directory whose package.json is @proxyha/netio) from this module's location. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === '@proxyha/netio') return dir;
      } catch {
        // keep looking
      }
    }
    dir = dirname(dir);
  }
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

/** Loads the addon from `path` (default: build/Release/netio.node in the package root); never throws. */
export function loadAddon(path?: string): AddonState {
  if (process.platform !== 'linux')
    return { available: false, reason: `platform ${process.platform} is not Linux` };
  const file = path ?? join(packageRoot(), 'build', 'Release', 'netio.node');
  if (!existsSync(file)) return { available: false, reason: `${file} was not built` };
  try {
    const addon = createRequire(import.meta.url)(file) as Addon;
    return { available: true, addon, path: file };
  } catch (error) {
    return { available: false, reason: `${file} failed to load: ${(error as Error).message}` };
  }
}

/** A memoizing loader: the addon is loaded on first use only. */
export type AddonLoader = () => AddonState;

/** Creates a lazy loader for `path`. */
export function lazyAddon(path?: string): AddonLoader {
  let state: AddonState | undefined;
  return () => {
    state ??= loadAddon(path);
    return state;
  };
}

/** Returns the addon or throws NETIO_ADDON_UNAVAILABLE. */
export function requireAddon(loader: AddonLoader): Addon {
  const state = loader();
  if (!state.available) throw new NetioAddonUnavailableError(state.reason);
  return state.addon;
}

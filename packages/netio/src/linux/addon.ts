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
  // bundled into an application's one file (the gateway's dist/proxyha.mjs): the package as installed
  // next to it
  try {
    return dirname(createRequire(import.meta.url).resolve('@proxyha/netio/package.json'));
  } catch {
    return dirname(dirname(fileURLToPath(import.meta.url)));
  }
}

/** node-gyp-build's `resolve`: the binary for this platform, build/Release first, then prebuilds/. */
type ResolveBinary = (dir: string) => string;

/**
 * Loads the addon (never throws). Without `path`, the binary is the one node-gyp-build picks for this
 * process from the package root, as every N-API package does: a source build (build/Release, made by the
 * install script only when no prebuilt binary loads) or the prebuilt one for this platform
 * (prebuilds/linux-x64, prebuilds/linux-arm64: one N-API build for every Node version).
 */
export function loadAddon(path?: string): AddonState {
  if (process.platform !== 'linux')
    return { available: false, reason: `platform ${process.platform} is not Linux` };
  let require = createRequire(import.meta.url);
  let file = path;
  if (file === undefined) {
    const root = packageRoot();
    // node-gyp-build is this package's dependency: found from its root, also when this code is bundled
    require = createRequire(join(root, 'package.json'));
    try {
      const resolve = (require('node-gyp-build') as { resolve: ResolveBinary }).resolve;
      file = resolve(root);
    } catch (error) {
      const why = (error as Error).message.split('\n')[0]?.trim() ?? String(error);
      return {
        available: false,
        reason: `no prebuilt binary for ${process.platform}-${process.arch} in ${join(root, 'prebuilds')} and no source build (${why})`,
      };
    }
  } else if (!existsSync(file)) {
    return { available: false, reason: `${file} was not built` };
  }
  try {
    const addon = require(file) as Addon;
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

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '@proxyha/testlab';
import { loadAddon } from '../src/linux/addon';

/** The package root. */
export const pkg = join(import.meta.dirname, '..');
/** The peer script run inside lab nodes (uses dist/). */
export const peerScript = join(import.meta.dirname, 'fixtures', 'peer.mjs');

/** Throws a clear error when the package was not built (network tests run the built package in namespaces). */
export function requireBuilt(): void {
  const build = 'run `pnpm --filter @proxyha/netio build` first';
  if (!existsSync(join(pkg, 'dist/index.js'))) throw new Error(`dist/index.js is missing: ${build}`);
  const addon = loadAddon();
  if (!addon.available) throw new Error(`the native addon does not load (${addon.reason}): ${build}`);
}

/** Starts the peer in `node` with `command`. */
export function peer(lab: Lab, node: string, command: object, name = `peer-${node}`) {
  return lab.spawn(node, process.execPath, [peerScript, JSON.stringify(command)], { name });
}

/** Lines of `prefix` in the output, with the rest of the line parsed as JSON (after an optional index). */
export function lines(output: string, prefix: string): { index: number; value: Record<string, unknown> }[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith(`${prefix} `))
    .map((l) => {
      const rest = l.slice(prefix.length + 1);
      const m = /^(\d+) (.*)$/.exec(rest);
      return m
        ? { index: Number(m[1]), value: JSON.parse(m[2] as string) }
        : { index: 0, value: JSON.parse(rest) };
    });
}

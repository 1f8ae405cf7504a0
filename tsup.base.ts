import { defineConfig, type Options } from 'tsup';

/**
 * The one build recipe for every workspace package: ESM + CJS + .d.ts for each
 * entry, Node 20 target, source maps. Packages pass only their entry points.
 */
export function packageBuild(entry: Record<string, string>, extra: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    // tsup's d.ts build cannot handle composite projects (TS6307); project references are for tsc -b only
    dts: { compilerOptions: { composite: false, incremental: false } },
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    shims: true,
    ...extra,
  });
}

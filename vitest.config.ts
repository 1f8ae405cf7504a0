import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Every workspace package is two vitest projects: `<dir>` (unit, property and
// simulation tests, run in parallel) and `<dir>:net` (namespace tests against real
// peers, *.net.test.ts, run one file at a time). Packages resolve each other's
// TypeScript sources through the `@proxyha/source` export condition.
const root = import.meta.dirname;
const dirs = ['packages', 'apps'].flatMap((group) =>
  existsSync(join(root, group))
    ? readdirSync(join(root, group), { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(root, group, d.name, 'package.json')))
        .map((d) => join(group, d.name))
    : [],
);

// vite's default conditions, with ours first (setting `conditions` replaces the defaults)
const resolve = { conditions: ['@proxyha/source', 'module', 'node', 'development|production'] };
const ssr = { resolve: { conditions: ['@proxyha/source', 'module', 'node', 'development|production'] } };

export default defineConfig({
  resolve,
  ssr,
  test: {
    projects: [
      {
        resolve,
        ssr,
        test: { name: 'repo', root, include: ['test/**/*.test.ts'], testTimeout: 300_000 },
      },
      ...dirs.flatMap((dir) => {
        const name = dir.split('/')[1] as string;
        return [
          {
            resolve,
            ssr,
            test: {
              name,
              root: join(root, dir),
              include: ['test/**/*.test.ts'],
              exclude: ['test/**/*.net.test.ts', '**/node_modules/**'],
              testTimeout: 20_000,
            },
          },
          {
            resolve,
            ssr,
            test: {
              name: `${name}:net`,
              root: join(root, dir),
              include: ['test/**/*.net.test.ts'],
              testTimeout: 120_000,
              hookTimeout: 120_000,
            },
          },
        ];
      }),
    ],
  },
});

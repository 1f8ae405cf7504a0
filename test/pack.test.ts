import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..');
const publicPackages = readdirSync(join(repo, 'packages'))
  .map((d) => ({
    dir: join(repo, 'packages', d),
    pkg: JSON.parse(readFileSync(join(repo, 'packages', d, 'package.json'), 'utf8')),
  }))
  .filter((p) => !p.pkg.private);

const work = mkdtempSync(join(tmpdir(), 'proxyha-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('published packages', () => {
  // the tarballs carry the build: build the packages (and what they depend on) that have none yet, so
  // that this test, like every unit test, runs on a fresh checkout; after `pnpm build` it builds nothing
  beforeAll(async () => {
    const missing = publicPackages.filter(({ dir }) => !existsSync(join(dir, 'dist', 'index.cjs')));
    if (!missing.length) return;
    const filters = missing.flatMap(({ pkg }) => ['--filter', `${pkg.name}...`]);
    await run('pnpm', ['exec', 'turbo', 'run', 'build', ...filters, '--output-logs=errors-only'], {
      cwd: repo,
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
      timeout: 600_000,
    });
  }, 660_000);

  it('every public package has exports for import and require, files, sideEffects and engines', () => {
    expect(publicPackages.length).toBeGreaterThanOrEqual(7);
    for (const { pkg } of publicPackages) {
      const dot = pkg.exports['.'];
      expect(dot.import.types, pkg.name).toBe('./dist/index.d.ts');
      expect(dot.require.default, pkg.name).toBe('./dist/index.cjs');
      expect(pkg.files, pkg.name).toContain('dist');
      expect(pkg.sideEffects, pkg.name).toBe(false);
      expect(pkg.engines.node, pkg.name).toMatch(/>=20/);
    }
  });

  it('pnpm pack tarballs install into an empty directory and load with import and require', async () => {
    for (const { dir, pkg } of publicPackages) {
      expect(existsSync(join(dir, 'dist', 'index.cjs')), `${pkg.name} is built`).toBe(true);
      await run('pnpm', ['pack', '--pack-destination', work], { cwd: dir });
    }
    const tarballs = readdirSync(work).filter((f) => f.endsWith('.tgz'));
    expect(tarballs).toHaveLength(publicPackages.length);
    const app = join(work, 'app');
    await run('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    // all tarballs in one install, so that the packages' dependencies on each other resolve locally
    await run('npm', ['install', '--no-audit', '--no-fund', ...tarballs.map((t) => join(work, t))], {
      cwd: app,
      timeout: 240_000,
    });
    for (const { pkg } of publicPackages) {
      const keys = 'Object.keys(m).filter((k) => k !== "default" && k !== "__esModule").sort()';
      const esm = await run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import('${pkg.name}'); console.log(JSON.stringify(${keys}))`,
        ],
        { cwd: app },
      );
      const cjs = await run(
        process.execPath,
        ['-e', `const m = require('${pkg.name}'); console.log(JSON.stringify(${keys}))`],
        { cwd: app },
      );
      // the same public API through both entry points
      expect(JSON.parse(cjs.stdout), `${pkg.name}: require and import export the same names`).toEqual(
        JSON.parse(esm.stdout),
      );
      for (const file of ['index.d.ts', 'index.d.cts'])
        expect(existsSync(join(app, 'node_modules', pkg.name, 'dist', file)), `${pkg.name} ${file}`).toBe(
          true,
        );
    }
  });
});

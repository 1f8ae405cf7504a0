import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

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
      expect(existsSync(join(dir, 'dist', 'index.cjs')), `${pkg.name} is built (pnpm build)`).toBe(true);
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

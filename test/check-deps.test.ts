import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const script = join(import.meta.dirname, '..', 'scripts', 'check-deps.mjs');
const check = (root: string) =>
  run(process.execPath, [script, '--root', root]).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** Writes a fake workspace: { 'packages/a/package.json': {...}, 'packages/a/src/index.ts': '...' }. */
function tree(files: Record<string, unknown>): string {
  const root = mkdtempSync(join(tmpdir(), 'proxyha-deps-'));
  dirs.push(root);
  writeFileSync(join(root, 'package.json'), JSON.stringify({ devDependencies: { vitest: '*' } }));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return root;
}

const pkg = (name: string, deps: string[] = [], dev: string[] = []) => ({
  name,
  dependencies: Object.fromEntries(deps.map((d) => [d, 'workspace:^'])),
  devDependencies: Object.fromEntries(dev.map((d) => [d, 'workspace:*'])),
});
const tsconfig = (refs: string[]) => ({ references: refs.map((r) => ({ path: `../${r}` })) });

describe('scripts/check-deps.mjs (lint)', () => {
  it('passes on this repository', async () => {
    const r = await check(join(import.meta.dirname, '..'));
    expect(r.out).toMatch(/imports declared, no cycles/);
    expect(r.code).toBe(0);
  });

  it('accepts declared imports, built-ins and dev dependencies in tests', async () => {
    const r = await check(
      tree({
        'packages/a/package.json': pkg('@x/a', ['@x/b']),
        'packages/a/tsconfig.json': tsconfig(['b']),
        'packages/a/src/index.ts':
          "import { b } from '@x/b';\nimport { join } from 'node:path';\nexport const a = b + join('x');",
        'packages/a/test/a.test.ts': "import { it } from 'vitest';\nit('x', () => {});",
        'packages/b/package.json': pkg('@x/b'),
        'packages/b/src/index.ts': 'export const b = 1;',
      }),
    );
    expect(r.out).toContain('2 workspaces');
    expect(r.code).toBe(0);
  });

  it('fails on an import of a package that is not declared', async () => {
    const r = await check(
      tree({
        'packages/a/package.json': pkg('@x/a'),
        'packages/a/src/index.ts': "export { b } from '@x/b';",
        'packages/b/package.json': pkg('@x/b'),
        'packages/b/src/index.ts': 'export const b = 1;',
      }),
    );
    expect(r.code).toBe(1);
    expect(r.out).toContain("packages/a/src/index.ts: import '@x/b': '@x/b' is not declared");
  });

  it('fails on a relative import that leaves the package', async () => {
    const r = await check(
      tree({
        'packages/a/package.json': pkg('@x/a'),
        'packages/a/src/index.ts': "export { b } from '../../b/src/index';",
        'packages/b/package.json': pkg('@x/b'),
        'packages/b/src/index.ts': 'export const b = 1;',
      }),
    );
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/leaves packages\/a/);
  });

  it('fails on a dependency cycle and on a missing project reference', async () => {
    const r = await check(
      tree({
        'packages/a/package.json': pkg('@x/a', ['@x/b']),
        'packages/a/tsconfig.json': tsconfig([]),
        'packages/a/src/index.ts': 'export const a = 1;',
        'packages/b/package.json': pkg('@x/b', ['@x/c']),
        'packages/b/src/index.ts': 'export const b = 1;',
        'packages/c/package.json': pkg('@x/c', [], ['@x/a']),
        'packages/c/src/index.ts': 'export const c = 1;',
      }),
    );
    expect(r.code).toBe(1);
    expect(r.out).toContain('dependency cycle: @x/a -> @x/b -> @x/c -> @x/a');
    expect(r.out).toContain('packages/a/tsconfig.json: depends on @x/b but has no project reference');
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

/*
 * The README's codec example is runnable: this test runs that exact block (with
 * '@proxyha/vrrp' pointed at the sources) and checks each `// ` comment after a
 * console.log against what it printed.
 */

const pkg = resolve(import.meta.dirname, '..');
const readme = readFileSync(resolve(pkg, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('\n## Codec'));
const block = /```js\n([\s\S]*?)```/.exec(section)?.[1];
const dir = mkdtempSync(join(tmpdir(), 'vrrp-readme-'));
const file = join(dir, 'example.ts');

describe('README codec example', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs and prints what its comments say', async () => {
    expect(block).toBeDefined();
    const code = block!.replace(/from '@proxyha\/vrrp'/g, `from '${resolve(pkg, 'src/index.ts')}'`);
    writeFileSync(file, code);
    const printed: string[] = [];
    const { inspect } = await import('node:util');
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      printed.push(
        args
          .map((a) => (typeof a === 'string' ? a : inspect(a, { breakLength: Number.POSITIVE_INFINITY })))
          .join(' '),
      );
    });
    try {
      await import(/* @vite-ignore */ file);
    } finally {
      spy.mockRestore();
    }
    // Every console.log in the block is followed by `// expected output`.
    const expected = [
      ...block!.matchAll(/console\.log\([^\n]*\);\s*\/\/ ([^\n]*)|console\.log\([^\n]*\);\n\/\/ ([^\n]*)/g),
    ].map((m) => (m[1] ?? m[2])!.trim());
    expect(expected.length).toBe(5);
    expect(printed).toEqual(expected);
  });
});

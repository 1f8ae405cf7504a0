import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it, vi } from 'vitest';

// The README's example runs as written (against the sources) and prints what its comments say.
describe('README example', () => {
  it('prints what its comments say', async () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const code = /## Example\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1] as string;
    const expected = [...code.matchAll(/\/\/ (.*)$/gm)].map((m) => m[1]);
    const printed: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      printed.push(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' '));
    });
    try {
      const src = code.replace(
        "from '@proxyha/common'",
        `from '${join(import.meta.dirname, '..', 'src', 'index.ts')}'`,
      );
      const file = join(import.meta.dirname, '.readme-example.ts');
      const { writeFileSync, rmSync } = await import('node:fs');
      writeFileSync(file, src);
      try {
        await import(/* @vite-ignore */ file);
      } finally {
        rmSync(file, { force: true });
      }
    } finally {
      spy.mockRestore();
    }
    expect(printed).toEqual(expected);
  });
});

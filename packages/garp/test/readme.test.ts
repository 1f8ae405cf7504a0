// The README's examples run as written (against the sources) and print what their comments say: a
// `// logs: LINE` comment for each line the announcer's logger prints, and `console.log(...); // OUTPUT`.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it, vi } from 'vitest';

const here = import.meta.dirname;

function exampleBlocks(): string[] {
  const readme = readFileSync(join(here, '..', 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Example\n');
  const end = readme.indexOf('\n## ', start + 1);
  return [...readme.slice(start, end).matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

function expectedOutput(code: string): string[] {
  return [...code.matchAll(/^\/\/ logs: (.*)$|console\.log\(.*\); \/\/ (.*)$/gm)].map(
    (m) => (m[1] ?? m[2]) as string,
  );
}

async function run(code: string, name: string): Promise<string[]> {
  const file = join(here, `.readme-${name}.ts`);
  writeFileSync(
    file,
    code.replaceAll("from '@proxyha/garp'", `from '${join(here, '..', 'src', 'index.ts')}'`),
  );
  const printed: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' '));
  });
  try {
    await import(/* @vite-ignore */ file);
  } finally {
    spy.mockRestore();
    rmSync(file, { force: true });
  }
  return printed;
}

describe('README examples', () => {
  const blocks = exampleBlocks();

  it('has the announcer and the schedule example', () => {
    expect(blocks).toHaveLength(2);
  });

  blocks.forEach((code, i) => {
    it(`example ${i + 1} prints what its comments say`, async () => {
      const expected = expectedOutput(code);
      expect(expected.length).toBeGreaterThan(0);
      expect(await run(code, `example-${i + 1}`)).toEqual(expected);
    });
  });
});

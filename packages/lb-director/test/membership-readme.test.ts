// The README's membership section: every example that is followed by an output block prints exactly
// that output (run against the sources, with '@proxyha/lb-director' and its './sim' entry pointed at them).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it, vi } from 'vitest';

const pkg = resolve(import.meta.dirname, '..');

function sectionBlocks(): { lang: string; body: string }[] {
  const readme = readFileSync(resolve(pkg, 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- membership:start -->');
  const end = readme.indexOf('<!-- membership:end -->');
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return [...readme.slice(start, end).matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({
    lang: m[1] as string,
    body: m[2] as string,
  }));
}

async function run(body: string): Promise<string[]> {
  const dir = mkdtempSync(join(pkg, 'test', '.readme-membership-'));
  const file = join(dir, 'example.ts');
  writeFileSync(
    file,
    body
      .replace(/from '@proxyha\/lb-director\/sim'/g, `from '${resolve(pkg, 'src/sim/index.ts')}'`)
      .replace(/from '@proxyha\/lb-director'/g, `from '${resolve(pkg, 'src/index.ts')}'`),
  );
  const printed: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' '));
  });
  try {
    await import(/* @vite-ignore */ file);
  } finally {
    spy.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
  return printed;
}

describe('README membership section', () => {
  const blocks = sectionBlocks();
  const examples = blocks.flatMap((b, i) => {
    const next = blocks[i + 1];
    return b.lang === 'ts' && next?.lang === 'text' ? [{ code: b.body, output: next.body }] : [];
  });

  it('has the embedding and the simulation examples', () => {
    expect(examples).toHaveLength(2);
    expect(examples[0]?.code).toContain('new LbMachine');
    expect(examples[1]?.code).toContain('new LbSimulation');
  });

  for (const [i, example] of examples.entries()) {
    it(`example ${i + 1} prints exactly the output shown after it`, async () => {
      const printed = await run(example.code);
      expect(printed.join('\n').split('\n')).toEqual(example.output.trimEnd().split('\n'));
    });
  }
});

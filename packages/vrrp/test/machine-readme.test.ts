// The README's state machine and simulator examples are runnable: this test runs those exact blocks
// (with '@proxyha/vrrp' pointed at the sources) and compares what they print with the README.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';

const pkg = resolve(import.meta.dirname, '..');
const readme = readFileSync(resolve(pkg, 'README.md'), 'utf8');
const start = readme.indexOf('\n## State machine');
const end = readme.indexOf('\n## ', start + 1);
const section = readme.slice(start, end < 0 ? undefined : end);
const blocks = [...section.matchAll(/```(js|text)\n([\s\S]*?)```/g)].map((m) => ({
  lang: m[1],
  body: m[2] as string,
}));
const dir = mkdtempSync(join(tmpdir(), 'vrrp-machine-readme-'));

async function runBlock(body: string, name: string): Promise<string[]> {
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, body.replace(/from '@proxyha\/vrrp'/g, `from '${resolve(pkg, 'src/index.ts')}'`));
  const printed: string[] = [];
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
  return printed;
}

describe('README state machine section', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the embedding example prints exactly the output shown after it', async () => {
    expect(start).toBeGreaterThan(0);
    const [code, output] = blocks;
    expect(code?.lang).toBe('js');
    expect(output?.lang).toBe('text');
    const printed = await runBlock(code?.body as string, 'machine');
    expect(printed.join('\n').split('\n')).toEqual((output?.body as string).trimEnd().split('\n'));
  });

  it('the simulator example prints what its comments say', async () => {
    const sim = blocks.find((b) => b.lang === 'js' && b.body.includes('SimNetwork'));
    expect(sim).toBeDefined();
    const printed = await runBlock(sim?.body as string, 'sim');
    const expected = [...(sim?.body as string).matchAll(/console\.log\([^\n]*\);\n\/\/ ([^\n]*)/g)].map(
      (m) => m[1],
    );
    expect(expected).toHaveLength(2);
    expect(printed).toEqual(expected);
  });
});

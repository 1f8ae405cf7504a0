// The README's examples are runnable: these helpers find a section's code blocks and run one
// (with '@proxyha/vrrp' pointed at the sources), returning what it printed with console.log.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { inspect } from 'node:util';
import { vi } from 'vitest';

const pkg = resolve(import.meta.dirname, '..');

/** The code blocks of the README section headed `## title`, with their languages. */
export function readmeBlocks(title: string): { lang: string; body: string }[] {
  const readme = readFileSync(resolve(pkg, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${title}`);
  if (start < 0) throw new Error(`README has no section "${title}"`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({
    lang: m[1] as string,
    body: m[2] as string,
  }));
}

/** Runs a README block and returns the lines it printed with console.log. */
export async function runReadmeBlock(body: string): Promise<string[]> {
  // inside the package, so that its dependencies (@proxyha/common) resolve as they would for a user
  const dir = mkdtempSync(join(pkg, 'test', '.readme-'));
  const file = join(dir, 'example.ts');
  writeFileSync(
    file,
    body
      .replace(/from '@proxyha\/vrrp\/sim'/g, `from '${resolve(pkg, 'src/sim/index.ts')}'`)
      .replace(/from '@proxyha\/vrrp'/g, `from '${resolve(pkg, 'src/index.ts')}'`),
  );
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
    rmSync(dir, { recursive: true, force: true });
  }
  return printed;
}

/** The `// expected output` comments that follow each console.log line of a block. */
export function expectedOutput(body: string): string[] {
  return [
    ...body.matchAll(/console\.log\([^\n]*\);\s*\/\/ ([^\n]*)|console\.log\([^\n]*\);\n\/\/ ([^\n]*)/g),
  ].map((m) => (m[1] ?? m[2])!.trim());
}

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// docs/errors.md lists every error code of every package, generated from the packages' catalogues
// (`<PKG>_ERRORS`, declared with @proxyha/common's defineErrors). This test fails when the file is out of
// date, and when a package's sources use a code its catalogue does not declare.
// `UPDATE_ERRORS_DOC=1 pnpm exec vitest run --project repo test/errors-doc.test.ts` rewrites the file.

const repo = join(import.meta.dirname, '..');
const doc = join(repo, 'docs', 'errors.md');

interface PackageCatalogue {
  name: string;
  dir: string;
  catalogues: [string, Record<string, string>][];
}

async function catalogues(): Promise<PackageCatalogue[]> {
  const out: PackageCatalogue[] = [];
  for (const group of ['packages', 'apps']) {
    for (const entry of readdirSync(join(repo, group)).sort()) {
      const dir = join(repo, group, entry);
      let pkg: { name: string };
      try {
        pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      } catch {
        continue;
      }
      const mod = (await import(join(dir, 'src', 'index.ts'))) as Record<string, unknown>;
      const found = Object.entries(mod)
        .filter(
          ([k, v]) =>
            /^[A-Z]+_(ERRORS|VERDICT_CODES)$/.test(k) &&
            typeof v === 'object' &&
            v !== null &&
            !Array.isArray(v),
        )
        .map(([k, v]) => [k, v as Record<string, string>] as [string, Record<string, string>]);
      out.push({ name: pkg.name, dir, catalogues: found });
    }
  }
  return out;
}

function render(all: readonly PackageCatalogue[]): string {
  const lines = [
    '# Error codes',
    '',
    'Every error a proxyha package raises or returns is a `ProxyhaError` (from `@proxyha/common`) with one',
    'of these stable codes, `<PACKAGE>_<CONDITION>`, and a `details` object with what is needed to act on',
    'it. Branch on the code; the message is for humans and may gain detail. Codes are never reused with',
    'another meaning.',
    '',
    "Generated from the packages' catalogues (`NETIO_ERRORS`, `VRRP_ERRORS`, ...) by",
    '`test/errors-doc.test.ts`; after changing a catalogue run',
    '`UPDATE_ERRORS_DOC=1 pnpm exec vitest run --project repo test/errors-doc.test.ts`.',
  ];
  for (const p of all) {
    for (const [name, codes] of p.catalogues) {
      const kind = name.endsWith('_VERDICT_CODES') ? ', verdicts rather than errors' : '';
      lines.push('', `## ${p.name} (\`${name}\`${kind})`, '', '| code | meaning |', '|---|---|');
      for (const [code, meaning] of Object.entries(codes))
        lines.push(`| \`${code}\` | ${meaning.replaceAll('|', '\\|')} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(p);
    else if (entry.name.endsWith('.ts')) yield p;
  }
}

describe('docs/errors.md', () => {
  it('lists every code of every catalogue (generated)', async () => {
    const text = render(await catalogues());
    if (process.env.UPDATE_ERRORS_DOC === '1') writeFileSync(doc, text);
    expect(
      readFileSync(doc, 'utf8'),
      'docs/errors.md is out of date: see the comment at the top of this test',
    ).toBe(text);
  });

  it('every code a package uses in its sources is in its catalogue, with its prefix', async () => {
    const all = await catalogues();
    const known = new Map<string, Set<string>>();
    for (const p of all)
      for (const [name, codes] of p.catalogues) {
        const prefix = name.replace(/_(ERRORS|VERDICT_CODES)$/, '');
        for (const code of Object.keys(codes))
          expect(code.startsWith(`${prefix}_`), `${name}: ${code}`).toBe(true);
        const set = known.get(prefix) ?? new Set<string>();
        for (const code of Object.keys(codes)) {
          expect(set.has(code), `${code} is declared twice`).toBe(false);
          set.add(code);
        }
        known.set(prefix, set);
      }
    expect([...known.keys()].sort()).toEqual(
      expect.arrayContaining(['COMMON', 'GARP', 'HEALTH', 'NETIO', 'NTP', 'VRRP', 'VRRPD']),
    );
    const unknown: string[] = [];
    for (const p of all) {
      for (const file of sources(join(p.dir, 'src'))) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/['"`]([A-Z][A-Z0-9]*)_([A-Z0-9_]+)['"`]/g)) {
          const codes = known.get(m[1] as string);
          const code = `${m[1]}_${m[2]}`;
          if (codes && !codes.has(code) && !/_(ERRORS|VERDICT_CODES)$/.test(code))
            unknown.push(`${file.slice(repo.length + 1)}: ${code}`);
        }
      }
    }
    expect(unknown, 'codes used in sources but missing from their catalogue').toEqual([]);
  });
});

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The gateway imports every package: no two packages may export the same name (a `Clock` or a
// `CommandRunner` of each package's own was the trouble this guards against). Types are checked too, by
// reading each package's index for its exported names.
const repo = join(import.meta.dirname, '..');

/** The names a package's src/index.ts exports (values and types), read from its export statements. */
function exportedNames(indexFile: string, seen = new Set<string>()): string[] {
  if (seen.has(indexFile)) return [];
  seen.add(indexFile);
  const text = readFileSync(indexFile, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  const names: string[] = [];
  for (const m of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}\s*from\s*'([^']+)'/g)) {
    for (const part of (m[1] as string).split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop()
        ?.trim();
      if (name) names.push(name);
    }
  }
  for (const m of text.matchAll(/export\s+(?:type\s+)?\*\s+from\s*'([^']+)'/g)) {
    const target = join(indexFile, '..', `${m[1]}.ts`);
    names.push(...exportedNames(target, seen), ...declaredNames(target));
  }
  names.push(...declaredNames(indexFile));
  return names;
}

function declaredNames(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return [
    ...text.matchAll(
      /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:const|let|function\*?|async\s+function|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm,
    ),
  ].map((m) => m[1] as string);
}

describe('public names', () => {
  it('no two packages export the same name', () => {
    const owners = new Map<string, string[]>();
    for (const group of ['packages', 'apps']) {
      for (const entry of readdirSync(join(repo, group))) {
        const dir = join(repo, group, entry);
        let pkg: { name: string; private?: boolean; exports?: Record<string, unknown> };
        try {
          pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        } catch {
          continue;
        }
        if (pkg.private) continue;
        const entries = Object.keys(pkg.exports ?? {}).filter((k) => k !== './package.json');
        for (const sub of entries) {
          const source = (pkg.exports?.[sub] as Record<string, string>)['@proxyha/source'];
          if (!source) continue;
          for (const name of new Set(exportedNames(join(dir, source))))
            owners.set(name, [...(owners.get(name) ?? []), `${pkg.name}${sub === '.' ? '' : sub.slice(1)}`]);
        }
      }
    }
    expect(owners.size).toBeGreaterThan(300);
    const clashes = [...owners]
      .filter(([, pkgs]) => pkgs.length > 1)
      .map(([n, pkgs]) => `${n}: ${pkgs.join(', ')}`);
    expect(clashes).toEqual([]);
  });
});

#!/usr/bin/env node
// Lint rule for the workspace graph:
//  1. a package imports another package (workspace or npm) only if its package.json
//     declares it (dependencies, peerDependencies, optionalDependencies; devDependencies
//     are allowed in test/ and bench/ only) or it is a Node built-in;
//  2. no relative import leaves the package's own directory;
//  3. the workspace dependency graph has no cycle;
//  4. every workspace dependency has a matching tsconfig project reference.
// Exits 1 and names each offending file and import. `--root DIR` checks another tree.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const rootArg = process.argv.indexOf('--root');
const root = rootArg > 0 ? resolve(process.argv[rootArg + 1]) : resolve(import.meta.dirname, '..');
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const problems = [];

const workspaces = ['packages', 'apps']
  .filter((g) => existsSync(join(root, g)))
  .flatMap((g) => readdirSync(join(root, g)).map((d) => join(root, g, d)))
  .filter((d) => existsSync(join(d, 'package.json')))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }));
const byName = new Map(workspaces.map((w) => [w.pkg.name, w]));

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist' || entry.startsWith('.')) continue;
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) yield* sourceFiles(p);
    else if (/\.(c|m)?[jt]sx?$/.test(entry) && !entry.endsWith('.d.ts')) yield p;
  }
}

const importRe =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[^.\w])(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

for (const { dir, pkg } of workspaces) {
  const runtime = new Set([
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
    ...Object.keys(pkg.optionalDependencies ?? {}),
  ]);
  const dev = new Set(Object.keys(pkg.devDependencies ?? {}));
  const rootDev = new Set(
    Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies ?? {}),
  );
  for (const sub of ['src', 'test', 'bench']) {
    if (!existsSync(join(dir, sub))) continue;
    for (const file of sourceFiles(join(dir, sub))) {
      const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
      for (const m of text.matchAll(importRe)) {
        const spec = m[1] ?? m[2] ?? m[3];
        const where = `${relative(root, file)}: import '${spec}'`;
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          if (!target.startsWith(dir + '/') && target !== dir)
            problems.push(`${where} leaves ${relative(root, dir)}`);
          continue;
        }
        if (builtins.has(spec) || builtins.has(spec.split('/')[0])) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (name === pkg.name || runtime.has(name)) continue;
        if (sub !== 'src' && (dev.has(name) || rootDev.has(name))) continue;
        problems.push(
          `${where}: '${name}' is not declared in ${relative(root, dir)}/package.json` +
            (sub === 'src' ? ' dependencies' : ''),
        );
      }
    }
  }
  // tsconfig references must mirror workspace dependencies.
  const wsDeps = [...runtime, ...dev].filter((n) => byName.has(n));
  const tsconfigPath = join(dir, 'tsconfig.json');
  if (existsSync(tsconfigPath)) {
    const refs = new Set(
      (JSON.parse(readFileSync(tsconfigPath, 'utf8')).references ?? []).map((r) => resolve(dir, r.path)),
    );
    for (const d of wsDeps) {
      if (!refs.has(byName.get(d).dir))
        problems.push(`${relative(root, tsconfigPath)}: depends on ${d} but has no project reference to it`);
    }
  }
}

// Cycle detection over workspace dependencies (runtime and dev).
const graph = new Map(
  workspaces.map(({ pkg }) => [
    pkg.name,
    [
      ...Object.keys(pkg.dependencies ?? {}),
      ...Object.keys(pkg.devDependencies ?? {}),
      ...Object.keys(pkg.peerDependencies ?? {}),
    ].filter((n) => byName.has(n)),
  ]),
);
const state = new Map();
const stack = [];
function visit(name) {
  state.set(name, 'active');
  stack.push(name);
  for (const next of graph.get(name) ?? []) {
    if (state.get(next) === 'active') {
      problems.push(`dependency cycle: ${[...stack.slice(stack.indexOf(next)), next].join(' -> ')}`);
    } else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(name, 'done');
}
for (const name of graph.keys()) if (!state.has(name)) visit(name);

if (problems.length) {
  console.error(`check-deps: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-deps: ${workspaces.length} workspaces, imports declared, no cycles`);

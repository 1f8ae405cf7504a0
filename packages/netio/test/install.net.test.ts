// Installs the way users install: the packed tarballs added with pnpm 10 to an empty project outside the
// workspace, where dependencies' build scripts do not run, and a raw IP socket opened from that install
// (the prebuilt binary, not a source build, is what makes it work).
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeNet, withLab } from '@proxyha/testlab';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pkg, requireBuilt } from './helpers';

const common = join(pkg, '..', 'common');

/** The environment of a user's shell: none of the workspace's npm_config_* / pnpm settings. */
function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|pnpm_)/i.test(k)));
}

describeNet('installed from the packed tarballs, without build scripts', () => {
  let dir = '';
  beforeAll(() => {
    requireBuilt();
    if (!existsSync(join(common, 'dist', 'index.js')))
      throw new Error('packages/common/dist is missing: run `pnpm --filter @proxyha/common build` first');
    dir = mkdtempSync(join(tmpdir(), 'netio-install-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pnpm adds the tarballs without running build scripts, and a raw IP socket opens from the prebuilt binary', () =>
    withLab({ nodes: ['a'] }, async (lab) => {
      for (const p of [common, pkg])
        execFileSync('pnpm', ['pack', '--pack-destination', dir], { cwd: p, env: userEnv(), stdio: 'pipe' });
      const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
      const netioTgz = tarballs.find((f) => f.startsWith('proxyha-netio-')) as string;
      const commonTgz = tarballs.find((f) => f.startsWith('proxyha-common-')) as string;
      const listing = execFileSync('tar', ['-tzf', join(dir, netioTgz)], { encoding: 'utf8' }).split('\n');
      expect(listing).toContain(`package/prebuilds/linux-${process.arch}/node.napi.glibc.node`);
      expect(listing.filter((f) => f.startsWith('package/build/'))).toEqual([]);

      const app = join(dir, 'app');
      mkdirSync(app);
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({
          name: 'app',
          private: true,
          type: 'module',
          // netio's dependency on @proxyha/common is this tarball too, not the registry
          pnpm: { overrides: { '@proxyha/common': `file:../${commonTgz}` } },
        }),
      );
      const added = execFileSync('pnpm', ['add', `../${netioTgz}`, `../${commonTgz}`], {
        cwd: app,
        env: userEnv(),
        encoding: 'utf8',
        stdio: 'pipe',
      });
      expect(added).toMatch(/Ignored build scripts: @proxyha\/netio/);
      const installed = realpathSync(join(app, 'node_modules', '@proxyha', 'netio'));
      expect(existsSync(join(installed, 'build'))).toBe(false); // no source build: the install script never ran

      writeFileSync(
        join(app, 'main.mjs'),
        `
        import { createRequire } from 'node:module';
        import { addonStatus, linuxStack } from '@proxyha/netio';
        const cjs = createRequire(import.meta.url)('@proxyha/netio');
        const rx = await linuxStack.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'lo' });
        const tx = await linuxStack.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'lo', ttl: 255 });
        const got = new Promise((resolve) => rx.onPacket(resolve));
        await tx.send(Buffer.from('from the tarball'), '127.0.0.1');
        const p = await got;
        rx.close();
        tx.close();
        console.log(JSON.stringify({ esm: addonStatus(), cjs: cjs.addonStatus().available, payload: p.payload.toString(), source: p.source, ttl: p.ttl }));
        `,
      );
      await lab.exec('a', 'ip', ['link', 'set', 'dev', 'lo', 'up']);
      const run = await lab.exec('a', process.execPath, ['main.mjs'], { cwd: app, env: {} });
      expect(JSON.parse(run.stdout)).toEqual({
        esm: {
          available: true,
          path: join(installed, 'prebuilds', `linux-${process.arch}`, 'node.napi.glibc.node'),
        },
        cjs: true,
        payload: 'from the tarball',
        source: '127.0.0.1',
        ttl: 255,
      });
    }));
});

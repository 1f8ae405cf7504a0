import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sourceNodeArgs } from '@proxyha/testlab';
import { describe, expect, it } from 'vitest';
import { lazyAddon, loadAddon } from '../src/linux/addon';
import { createLinuxStack } from '../src/linux/stack';

const pkg = join(import.meta.dirname, '..');

describe('without the native addon', () => {
  const stack = createLinuxStack(lazyAddon('/nonexistent/netio.node'));

  it('reports why it is unavailable', () => {
    const state = loadAddon('/nonexistent/netio.node');
    expect(state.available).toBe(false);
    expect(!state.available && state.reason).toMatch(/was not built/);
  });

  it('raises NETIO_ADDON_UNAVAILABLE only when a raw or packet socket is opened', async () => {
    await expect(
      stack.openIpSocket({ family: 'ipv4', protocol: 112, interface: 'lo' }),
    ).rejects.toMatchObject({
      code: 'NETIO_ADDON_UNAVAILABLE',
      message: expect.stringMatching(/python3, make and g\+\+/),
    });
    await expect(stack.openPacketSocket({ interface: 'lo', etherType: 0x0806 })).rejects.toMatchObject({
      code: 'NETIO_ADDON_UNAVAILABLE',
    });
  });

  it('still checks arguments first', async () => {
    await expect(stack.openIpSocket({ family: 'ipv4', protocol: 0, interface: 'lo' })).rejects.toMatchObject({
      code: 'NETIO_INVALID_ARGUMENT',
    });
  });

  it('lists interfaces through sysfs and os.networkInterfaces()', async () => {
    const list = await stack.interfaces();
    const lo = list.find((i) => i.name === 'lo');
    expect(lo).toMatchObject({ index: 1, up: true });
    expect(lo?.ipv4).toContainEqual({ address: '127.0.0.1', prefixLength: 8 });
    await expect(stack.interfaceInfo('nosuch0')).rejects.toMatchObject({ code: 'NETIO_UNKNOWN_INTERFACE' });
  });

  it('a copy of the package without any binary loads (ESM and CJS), explains why, and its twin works', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netio-noaddon-'));
    try {
      const copy = join(dir, 'node_modules', '@proxyha', 'netio');
      cpSync(join(pkg, 'package.json'), join(copy, 'package.json'));
      cpSync(join(pkg, 'src'), join(copy, 'src'), { recursive: true });
      // its dependencies (resolved to their sources through the @proxyha/source condition)
      symlinkSync(join(pkg, 'node_modules'), join(copy, 'node_modules'));
      const script = join(dir, 'main.mjs');
      writeFileSync(
        script,
        `
        const m = await import('@proxyha/netio');
        const net = new m.MemoryNetwork();
        const a = net.addHost('a', { interfaces: [{ name: 'eth0', ipv4: ['10.0.0.1/24'] }] });
        const b = net.addHost('b', { interfaces: [{ name: 'eth0', ipv4: ['10.0.0.2/24'] }] });
        const sb = await b.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' });
        const got = new Promise((r) => sb.onPacket(r));
        await (await a.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' })).send(Buffer.from('hi'), '10.0.0.2');
        const p = await got;
        let code;
        try { await m.linuxStack.openIpSocket({ family: 'ipv4', protocol: 112, interface: 'lo' }); } catch (e) { code = e.code; }
        const cjs = (await import('node:module')).createRequire(import.meta.url)('@proxyha/netio');
        console.log(JSON.stringify({ payload: p.payload.toString(), code, status: m.addonStatus(), cjs: typeof cjs.MemoryNetwork }));
      `,
      );
      const out = execFileSync(process.execPath, sourceNodeArgs(script), { cwd: dir, encoding: 'utf8' });
      const result = JSON.parse(out);
      expect(result).toMatchObject({
        payload: 'hi',
        code: 'NETIO_ADDON_UNAVAILABLE',
        status: {
          available: false,
          reason: expect.stringMatching(
            /^no prebuilt binary for linux-\w+ in .*prebuilds and no source build \(No native build was found/,
          ),
        },
        cjs: 'function',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the install script never fails the install when the build cannot run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netio-nobuild-'));
    try {
      for (const f of ['package.json', 'binding.gyp', 'native', 'scripts']) {
        cpSync(join(pkg, f), join(dir, f), { recursive: true });
      }
      // PATH without g++/make: the script must explain and exit 0 (and 1 with --strict)
      const env = { ...process.env, PATH: '/nonexistent' };
      const run = spawnSync(process.execPath, ['scripts/build-addon.mjs'], {
        cwd: dir,
        env,
        encoding: 'utf8',
      });
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/native addon NOT built: missing build tools: python3, make, g\+\+/);
      expect(run.stdout).toMatch(/NETIO_ADDON_UNAVAILABLE/);
      const strict = spawnSync(process.execPath, ['scripts/build-addon.mjs', '--strict'], {
        cwd: dir,
        env,
        encoding: 'utf8',
      });
      expect(strict.status).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describeNet } from '@proxyha/testlab';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { linuxStack } from '../src/index';
import { pkg, requireBuilt } from './helpers';

const run = promisify(execFile);

describeNet('error paths', () => {
  let dir = '';
  beforeAll(() => {
    requireBuilt();
    // a world-readable copy of the built package for the unprivileged process
    dir = mkdtempSync(join(tmpdir(), 'netio-unpriv-'));
    for (const f of ['package.json', 'dist', 'prebuilds', 'test/fixtures/peer.mjs']) {
      cpSync(join(pkg, f), join(dir, f), { recursive: true });
    }
    // its dependencies (@proxyha/common, node-gyp-build): world-readable where they are
    symlinkSync(join(pkg, 'node_modules'), join(dir, 'node_modules'));
    return run('chmod', ['-R', 'a+rX', dir]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the peer's `open` action as nobody, without capabilities. */
  async function openAsNobody(options: object) {
    const args = ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--inh-caps=-all'];
    const cmd = JSON.stringify({ action: 'open', options });
    const r = await run('setpriv', [
      ...args,
      process.execPath,
      join(dir, 'test/fixtures/peer.mjs'),
      cmd,
    ]).then(
      (ok) => ({ ...ok, code: 0 }),
      (e: { stdout: string; stderr: string; code: number }) => e,
    );
    const line = r.stdout.split('\n').find((l) => l.startsWith('ERROR '));
    return { code: r.code, stderr: r.stderr, error: line ? JSON.parse(line.slice(6)) : undefined };
  }

  it('an unprivileged process gets NETIO_PERMISSION naming CAP_NET_RAW and how to grant it', async () => {
    for (const family of ['ipv4', 'ipv6']) {
      const r = await openAsNobody({ family, protocol: 112, interface: 'lo' });
      expect(r.code, r.stderr).toBe(3);
      expect(r.error).toMatchObject({ code: 'NETIO_PERMISSION', capability: 'CAP_NET_RAW' });
      expect(r.error.message).toContain('CAP_NET_RAW');
      expect(r.error.message).toContain('setcap cap_net_raw+ep $(readlink -f $(which node))');
    }
  });

  it('an unknown interface is reported as such, before the privileged socket() call', async () => {
    const r = await openAsNobody({ family: 'ipv4', protocol: 112, interface: 'nosuch0' });
    expect(r.error).toMatchObject({ code: 'NETIO_UNKNOWN_INTERFACE' });
    await expect(
      linuxStack.openIpSocket({ family: 'ipv4', protocol: 112, interface: 'nosuch0' }),
    ).rejects.toMatchObject({
      code: 'NETIO_UNKNOWN_INTERFACE',
      details: { interface: 'nosuch0' },
    });
    await expect(
      linuxStack.openPacketSocket({ interface: 'nosuch0', etherType: 0x0806 }),
    ).rejects.toMatchObject({
      code: 'NETIO_UNKNOWN_INTERFACE',
    });
    await expect(linuxStack.interfaceInfo('nosuch0')).rejects.toMatchObject({
      code: 'NETIO_UNKNOWN_INTERFACE',
    });
  });

  it('bad arguments are rejected before any system call, even unprivileged', async () => {
    const r = await openAsNobody({ family: 'ipv4', protocol: 112, interface: 'lo', ttl: 0 });
    expect(r.error).toMatchObject({ code: 'NETIO_INVALID_ARGUMENT' });
    expect(r.error.message).toContain('options.ttl');
  });
});

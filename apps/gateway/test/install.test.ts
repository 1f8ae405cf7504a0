// scripts/install-gateway.sh: the node installed where a Debian admin expects it (into a DESTDIR here), the
// installed command works, and systemd accepts the unit.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@proxyha/testlab';
import { afterAll, describe, expect, it } from 'vitest';
import { appDir } from './helpers';

const repo = join(appDir, '..', '..');
const dest = mkdtempSync(join(tmpdir(), 'proxyha-install-'));
afterAll(() => rmSync(dest, { recursive: true, force: true }));

describe('scripts/install-gateway.sh', () => {
  it('installs the app, the command, the unit, the example configuration and the data directory', async () => {
    const r = await run('bash', [join(repo, 'scripts', 'install-gateway.sh')], {
      timeoutMs: 180_000,
      env: { ...process.env, DESTDIR: dest, NODE: process.execPath, PROXYHA_SKIP_BUILD: '1' } as Record<
        string,
        string
      >,
    });
    expect(r.stdout).toMatch(/installed: .*\/usr\/bin\/proxyha \(\d+\.\d+\.\d+\)/);
    const bin = join(dest, 'usr', 'bin', 'proxyha');
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    // the launcher of the checkout, on the Node of the install
    const launcher = readFileSync(bin, 'utf8');
    expect(launcher).toContain(
      `exec "\${PROXYHA_NODE:-${process.execPath}}" $PROXYHA_V8_OPTIONS $PROXYHA_NODE_OPTIONS "$PROXYHA_HOME/dist/proxyha.mjs" "$@"`,
    );
    expect(launcher).toMatch(
      /^PROXYHA_V8_OPTIONS="\$\{PROXYHA_V8_OPTIONS---max-semi-space-size=1 .*--lite-mode/m,
    );
    expect(statSync(join(dest, 'etc', 'proxyha', 'proxyha.yaml')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dest, 'var', 'lib', 'proxyha')).mode & 0o777).toBe(0o700);

    // the installed copy runs on its own: no link back into this checkout
    const lib = join(dest, 'usr', 'lib', 'proxyha');
    const check = await run(bin, ['check', '--config', join(dest, 'etc', 'proxyha', 'proxyha.yaml')], {
      env: { ...process.env, PROXYHA_HOME: lib } as Record<string, string>,
    });
    expect(check.stdout).toMatch(/configuration OK/);
    // one file, every dependency in it: ASCII only, so that V8 keeps its source one byte per character
    const bundle = readFileSync(join(lib, 'dist', 'proxyha.mjs'));
    expect(bundle.length).toBeGreaterThan(1_000_000);
    expect(bundle.findIndex((b) => b > 0x7f)).toBe(-1);
    // what the bundle loads at run time from the installed packages beside it: better-sqlite3 (central
    // management's store on Node 20; Node >= 22.13 has node:sqlite, and the addon is built for one ABI)
    // and netio's native addon
    const probe = await run(process.execPath, [
      '-e',
      `const { createRequire } = require('node:module');
       const { dirname } = require('node:path');
       const r = createRequire(process.argv[1]);
       const [major, minor] = process.versions.node.split('.').map(Number);
       const Db = major > 22 || (major === 22 && minor >= 13) ? require(process.argv[2]).DatabaseSync : r('better-sqlite3');
       console.log('sqlite', new Db(':memory:').prepare('select 1 as x').get().x);
       const netio = r.resolve('@proxyha/netio/package.json');
       console.log('addon', createRequire(netio)('node-gyp-build').resolve(dirname(netio)));`,
      join(lib, 'dist', 'proxyha.mjs'),
      'node:sqlite',
    ]);
    expect(probe.stdout).toMatch(/^sqlite 1\naddon .*\.node\n$/);
    expect(probe.stdout).toContain(lib);
    const links = await run('find', [lib, '-type', 'l', '-lname', `${repo}/*`]);
    expect(links.stdout.trim()).toBe('');

    // an existing configuration is kept on a second install
    writeFileSync(join(dest, 'etc', 'proxyha', 'proxyha.yaml'), '# mine\n');
    await run('bash', [join(repo, 'scripts', 'install-gateway.sh')], {
      timeoutMs: 180_000,
      env: { ...process.env, DESTDIR: dest, NODE: process.execPath, PROXYHA_SKIP_BUILD: '1' } as Record<
        string,
        string
      >,
    });
    expect(readFileSync(join(dest, 'etc', 'proxyha', 'proxyha.yaml'), 'utf8')).toBe('# mine\n');
  }, 240_000);

  it('systemd accepts the unit (systemd-analyze verify)', async () => {
    const unit = readFileSync(join(appDir, 'systemd', 'proxyha.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/proxyha run --config \/etc\/proxyha\/proxyha\.yaml$/m);
    expect(unit).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    expect(unit).toMatch(/^StateDirectory=proxyha$/m);
    if (!existsSync('/usr/bin/systemd-analyze')) {
      if (process.env.CI === 'true') throw new Error('CI=true and systemd-analyze is missing');
      return;
    }
    // verify needs the commands to exist: point them at a stand-in
    const dir = mkdtempSync(join(tmpdir(), 'proxyha-unit-'));
    try {
      const stand = join(dir, 'proxyha');
      writeFileSync(stand, '#!/bin/sh\n', { mode: 0o755 });
      const file = join(dir, 'proxyha.service');
      writeFileSync(file, unit.replaceAll('/usr/bin/proxyha', stand));
      const r = await run('systemd-analyze', ['verify', file], { allowFailure: true });
      expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

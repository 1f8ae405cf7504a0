// `proxyha` in-process (`main` with a memory io, errors reported as runCli reports them), and as a real
// process from its sources (no dist/ needed).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runCliInMemory } from '@proxyha/common/cli';
import { sourceNodeArgs } from '@proxyha/testlab';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../src/cli/main';
import { appDir, example, exampleFile, set } from './helpers';

const tmp = mkdtempSync(join(tmpdir(), 'proxyha-gw-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const proxyha = (...argv: string[]) => runCliInMemory('proxyha', main, argv);

function file(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

const { version } = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { version: string };

describe('proxyha check', () => {
  it('prints FILE: configuration OK and the summary, exit 0', async () => {
    const run = await proxyha('check', '--config', exampleFile);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.split('\n')).toEqual([
      `${exampleFile}: configuration OK`,
      '  node:        mwg1 (data in /var/lib/proxyha)',
      '  vrrp:        VI_1 on eth0, VRID 51, priority 99, advert 1s, version 3, raw transport; on health failure: fault',
      '  VIPs:        10.10.74.74/24',
      '  redirects:   9090 -> 9090',
      '  data plane:  nftables, group 51, weight 100',
      '  health:      port 9090 on 10.10.74.70, every 1s, fall 3, rise 2',
      '  ntp:         10.10.74.1:123, max offset 1s',
      '  cm:          listen 10.10.74.70:12346, priority 5, peers 10.10.74.86:12346',
      '  policy:      /etc/proxyha/policy, then squid -k reconfigure',
      '  management:  http://127.0.0.1:8443 (token /etc/proxyha/admin.token)',
      '',
    ]);
  });

  it('-c is --config; optional sections show as off', async () => {
    const doc = example();
    set(doc, 'cm', undefined);
    set(doc, 'policy', undefined);
    set(doc, 'ntp', undefined);
    set(doc, 'ha.onHealthFailure', { weight: -50 });
    const path = file('no-cm.yaml', stringify(doc));
    const run = await proxyha('check', '-c', path);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${path}: configuration OK\n`);
    expect(run.stdout).toContain('  cm:          off\n');
    expect(run.stdout).toContain('  ntp:         off\n');
    expect(run.stdout).toContain('on health failure: weight -50\n');
    expect(run.stdout).not.toContain('policy:');
  });

  it('an invalid file: every issue with its path on stderr, exit 2', async () => {
    const doc = example();
    set(doc, 'ha.vrid', 300);
    set(doc, 'ha.redirects.0.originalPort', 0);
    set(doc, 'cm.bogus', true);
    const path = file('bad.yaml', stringify(doc));
    const run = await proxyha('check', '-c', path);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toBe(
      [
        `proxyha: ${path}: invalid configuration:`,
        '  ha.vrid: Too big: expected number to be <=255 (got 300)',
        '  ha.redirects[0].originalPort: must be >= 1 (got 0)',
        '  cm.bogus: unknown setting',
        '',
      ].join('\n'),
    );
  });

  it('bad YAML: the file and the line, exit 2', async () => {
    const path = file('broken.yaml', 'ha:\n  interface: eth0\n  vrid: [1\n');
    const run = await proxyha('check', '-c', path);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^proxyha: ${path}: not valid YAML: .* at line \\d+, column \\d+`));
  });

  it('an unreadable file, exit 2', async () => {
    const path = join(tmp, 'missing.yaml');
    const run = await proxyha('check', '-c', path);
    expect(run).toMatchObject({ code: 2, stdout: '', stderr: `proxyha: ${path}: cannot read: ENOENT\n` });
  });

  it('an empty file, exit 2', async () => {
    const run = await proxyha('check', '-c', file('empty.yaml', ''));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      '(root): must be a mapping with at least an ha section (got an empty document)',
    );
  });
});

describe('proxyha', () => {
  it('--version prints the package version', async () => {
    expect(await proxyha('--version')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('--help lists the commands', async () => {
    const run = await proxyha('--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: proxyha \[options\] \[command\]/);
    expect(run.stdout).toContain('check [options]');
    const check = await proxyha('check', '--help');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('-c, --config <file>');
    expect(check.stdout).toContain('/etc/proxyha/proxyha.yaml');
  });

  it('usage errors exit 2', async () => {
    const unknown = await proxyha('start');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error: unknown command 'start'");
    const option = await proxyha('check', '--bogus');
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("error: unknown option '--bogus'");
    const missing = await proxyha('check', '-c');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("option '-c, --config <file>' argument missing");
    const none = await proxyha();
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: proxyha');
  });
});

describe('the real process', () => {
  const bin = join(appDir, 'src', 'cli.ts');
  const run = (...args: string[]) =>
    promisify(execFile)(process.execPath, [...sourceNodeArgs(bin), ...args], {
      cwd: appDir,
      timeout: 60_000,
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        stdout: e.stdout,
        stderr: e.stderr,
      }),
    );

  it('check: exit 0 with the summary, exit 2 with the paths', async () => {
    const good = await run('check', '-c', exampleFile);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(new RegExp(`^${exampleFile}: configuration OK\n  node: +mwg1`));
    const bad = await run('check', '-c', file('bad-process.yaml', stringify(set(example(), 'ha.vrid', 0))));
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain(
      'invalid configuration:\n  ha.vrid: Too small: expected number to be >=1 (got 0)\n',
    );
  }, 120_000);
});

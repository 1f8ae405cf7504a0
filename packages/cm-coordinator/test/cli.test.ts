// proxyha-cm's command line in-process: configuration errors named by path (exit 2), `ca create`, the
// commands that need a running node when none runs (exit 1), usage errors (exit 2).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliInMemory } from '@proxyha/common/cli';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main';
import { parseCmConfig } from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'proxyha-cm-cli-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (...argv: string[]) => runCliInMemory('proxyha-cm', main, argv);

function configFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const valid = (dataDir: string) => `name: mwg1
listen: "127.0.0.1:12346"
dataDir: ${dataDir}
ca: { cert: ${join(dir, 'ca', 'ca.crt')}, key: ${join(dir, 'ca', 'ca.key')} }
priority: 1
peers: ["127.0.0.2:12346"]
maxClockSkew: "10s"
adminLockTtl: "5s"
`;

describe('proxyha-cm configuration', () => {
  it('fills the defaults of a minimal file', () => {
    const c = parseCmConfig({
      name: 'mwg1',
      listen: '10.10.74.70',
      dataDir: '/d',
      ca: { cert: 'c', key: 'k' },
    });
    expect(c).toMatchObject({
      listen: { host: '10.10.74.70', port: 12346 },
      addresses: ['10.10.74.70'],
      priority: 1,
      peers: [],
      maxClockSkewMs: 10_000,
      adminLockTtlMs: 30_000,
      policyDir: '/d/policy',
      groups: { network: ['default'] },
    });
    expect(
      parseCmConfig({
        name: 'x',
        listen: 'h:1',
        dataDir: '/d',
        ca: { cert: 'c', key: 'k' },
        adminLockTtl: '5s',
      }).adminLockTtlMs,
    ).toBe(5000);
  });

  it('refuses an invalid file naming every bad path, with exit code 2', async () => {
    const file = configFile(
      'bad.yaml',
      `name: "bad name!"
listen: "nonsense:port"
dataDir: ""
ca: { cert: /c }
priority: 0
peers: ["10.0.0.1:99999"]
maxClockSkew: "5ms"
adminLockTtl: "1s"
colour: blue
`,
    );
    const r = await cli('status', '--config', file);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`proxyha-cm: ${file}: invalid configuration:
  name: must be letters, digits, ".", "-" or "_" (got "bad name!")
  listen: must be host:port (got nonsense:port)
  dataDir: must not be empty (got "")
  priority: must be >= 1 (got 0)
  peers[0]: must be host:port (got 10.0.0.1:99999)
  maxClockSkew: must be at least 100ms (got 5ms)
  adminLockTtl: must be at least 3s (got 1s)
  (root): Unrecognized key: "colour"
`);
    // the same for run (nothing is started)
    expect((await cli('run', '--config', file)).code).toBe(2);
  });

  it('asks for the CA key or a certificate (exit 2)', async () => {
    const file = configFile(
      'nokey.yaml',
      `name: n\nlisten: "127.0.0.1:1"\ndataDir: ${dir}/d\nca: { cert: /c }\n`,
    );
    const r = await cli('policy', 'show', '--config', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ca\.key.*is needed to issue this node its certificate/);
  });

  it('a missing or unparsable file is exit 2 naming the file', async () => {
    const missing = join(dir, 'nope.yaml');
    const r = await cli('status', '--config', missing);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`proxyha-cm: ${missing}: cannot read: ENOENT\n`);
    const broken = configFile('broken.yaml', 'name: [unclosed\n');
    const b = await cli('status', '--config', broken);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(new RegExp(`${broken}: not valid YAML`));
    const list = configFile('list.yaml', '- a\n- b\n');
    const l = await cli('status', '--config', list);
    expect(l.code).toBe(2);
    expect(l.stderr).toMatch(/must be a mapping of settings/);
  });
});

describe('proxyha-cm ca create', () => {
  it('writes ca.crt and ca.key (0600) and refuses to overwrite them', async () => {
    const out = join(dir, 'ca');
    const r = await cli('ca', 'create', '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${join(out, 'ca.crt')}\n${join(out, 'ca.key')}\n`);
    expect(readFileSync(join(out, 'ca.crt'), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(readFileSync(join(out, 'ca.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(statSync(join(out, 'ca.key')).mode & 0o777).toBe(0o600);
    const before = readFileSync(join(out, 'ca.key'), 'utf8');
    const again = await cli('ca', 'create', '--out', out);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/EEXIST/);
    expect(readFileSync(join(out, 'ca.key'), 'utf8')).toBe(before);
  });

  it('refuses an unknown algorithm (exit 2) and makes Ed25519', async () => {
    const bad = await cli('ca', 'create', '--out', join(dir, 'ca-bad'), '--algorithm', 'RSA');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--algorithm must be P-256 or Ed25519 \(got RSA\)/);
    expect(existsSync(join(dir, 'ca-bad', 'ca.key'))).toBe(false);
    const ed = await cli('ca', 'create', '--out', join(dir, 'ca-ed'), '--algorithm', 'Ed25519');
    expect(ed.code).toBe(0);
  });
});

describe('proxyha-cm without a running node', () => {
  const dataDir = join(dir, 'stopped');
  mkdirSync(dataDir, { recursive: true });
  const file = configFile('stopped.yaml', valid(dataDir));

  it.each([
    ['status', '--json'],
    ['policy', 'show'],
    ['add-node', '127.0.0.9'],
    ['admin', 'attach'],
    ['admin', 'detach'],
    ['status', '-'],
  ])('%s %s: exit 1, no proxyha-cm node answers', async (...args) => {
    const [cmd, ...rest] = (args as string[]).filter((a) => a !== '-');
    const r = await cli(cmd as string, ...rest, '--config', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^proxyha-cm: no proxyha-cm node answers on .*proxyha-cm\.sock \(ENOENT\)\n$/);
  });

  it('policy save: exit 1, no proxyha-cm node answers', async () => {
    const policy = join(dir, 'policy.xml');
    writeFileSync(policy, '<policy/>');
    const r = await cli('policy', 'save', '--config', file, '--file', policy);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no proxyha-cm node answers/);
  });
});

describe('proxyha-cm usage errors (exit 2)', () => {
  it.each([
    [[], /Usage: proxyha-cm/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['status'], /required option '--config <file>' not specified/],
    [['ca', 'create'], /required option '--out <dir>' not specified/],
    [['add-node', '--config', 'x.yaml'], /missing required argument 'address'/],
    [['status', '--config', 'x.yaml', '--colour'], /unknown option '--colour'/],
  ])('%j', async (argv, message) => {
    const r = await cli(...(argv as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('policy save with both --file and --dir', async () => {
    const file = configFile('usage.yaml', valid(join(dir, 'usage')));
    const r = await cli('policy', 'save', '--config', file, '--file', 'a', '--dir', 'b');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/give --file or --dir, not both/);
  });

  it('--help and --version exit 0', async () => {
    expect((await cli('--help')).code).toBe(0);
    const v = await cli('--version');
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});

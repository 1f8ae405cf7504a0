import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runCliInMemory } from '@proxyha/common/cli';
import { sourceNodeArgs } from '@proxyha/testlab';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main';
import { parseVrrpDaemonConfig } from '../src/index';
import { configIssues } from './helpers';

const run = promisify(execFile);
const pkg = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'proxyha-vrrpd-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI body in-process: its exit status (as the bin would set it) and what it wrote. */
const cli = (...argv: string[]) => runCliInMemory('proxyha-vrrpd', main, argv);

const valid = {
  instances: [
    {
      name: 'VI_1',
      interface: 'eth0',
      vrid: 51,
      priority: 99,
      version: 3,
      advertInterval: '1s',
      virtualIps: ['192.168.77.74/24'],
      preempt: true,
      preemptDelay: '0s',
      unicastPeers: [],
      accept: false,
    },
  ],
};

const issues = configIssues;

describe('proxyha-vrrpd configuration', () => {
  it('accepts the documented settings and fills defaults, durations in ms', () => {
    const c = parseVrrpDaemonConfig(valid);
    expect(c.transport).toBe('raw');
    expect(c.instances[0]).toMatchObject({
      advertInterval: 1000,
      preemptDelay: 0,
      lowerPriorityResponse: 'rfc9568',
    });
    const d = parseVrrpDaemonConfig({
      instances: [
        { name: 'VI_1', interface: 'eth0', vrid: 1, virtualIps: ['fd77::74/64'], advertInterval: '100ms' },
      ],
    });
    expect(d.instances[0]).toMatchObject({ priority: 100, version: 3, preempt: true, advertInterval: 100 });
  });

  it('names the path and the value of each problem', () => {
    const bad = structuredClone(valid) as { instances: Record<string, unknown>[] };
    Object.assign(bad.instances[0] as object, {
      vrid: 300,
      advertInterval: 'soon',
      virtualIps: ['192.168.77.300'],
    });
    const out = issues(bad);
    expect(out.find((l) => l.startsWith('instances[0].vrid:'))).toMatch(/300/);
    expect(out.find((l) => l.startsWith('instances[0].advertInterval:'))).toMatch(/not a duration: "soon"/);
    expect(out.find((l) => l.startsWith('instances[0].virtualIps[0]:'))).toMatch(/192\.168\.77\.300/);
  });

  it('rejects what VRRP cannot carry and unknown keys', () => {
    const inst = valid.instances[0] as object;
    expect(issues({ instances: [{ ...inst, version: 2, advertInterval: '100ms' }] })).toEqual([
      'instances[0].advertInterval: VRRPv2 needs whole seconds from 1s to 255s, got 100 ms',
    ]);
    expect(issues({ instances: [{ ...inst, version: 2, virtualIps: ['fd77::74'] }] })[0]).toMatch(
      /^instances\[0\]\.version: VRRPv2 carries IPv4 only/,
    );
    expect(issues({ instances: [{ ...inst, advertInterval: '5ms' }] })[0]).toMatch(/centiseconds/);
    expect(issues({ instances: [{ ...inst, prio: 5 }] })[0]).toMatch(
      /^instances\[0\]: Unrecognized key: "prio"/,
    );
    expect(issues({ instances: [inst, inst] })).toEqual(
      expect.arrayContaining([
        'instances[1].name: duplicate instance name VI_1',
        'instances[1].vrid: VRID 51 on eth0 is already used by instances[0]',
      ]),
    );
    expect(issues({ instances: [{ ...inst, unicastPeers: ['fd77::12'] }] })[0]).toMatch(
      /^instances\[0\]\.unicastPeers\[0\]/,
    );
    expect(issues({ transport: 'loopback', instances: [inst] })).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^instances\[0\]\.sourceAddress: the loopback transport/),
      ]),
    );
    expect(issues({ instances: [inst], syncGroups: [{ name: 'G', instances: ['VI_1', 'VI_9'] }] })).toEqual([
      'syncGroups[0].instances[1]: no instance named VI_9',
    ]);
  });

  it('the CLI exits 2 with the path and the problem for an invalid config, 0 for --config-test', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'instances:\n  - name: VI_1\n    interface: eth0\n    vrid: 0\n    virtualIps: ["192.168.77.74/24"]\n',
    );
    const r = await cli('--config', bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^proxyha-vrrpd: .*bad\.yaml: invalid configuration:\n {2}instances\[0\]\.vrid: Too small/,
    );
    const notYaml = join(dir, 'broken.yaml');
    writeFileSync(notYaml, 'instances: [\n');
    const r2 = await cli('--config', notYaml);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/not valid YAML/);
    const r3 = await cli();
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/--config/);
    const good = join(dir, 'good.yaml');
    writeFileSync(good, JSON.stringify(valid));
    const ok = await cli('--config', good, '--config-test');
    expect(ok).toMatchObject({ code: 0, stdout: expect.stringMatching(/configuration OK \(1 instance/) });
  });
});

describe('loopback demo cluster (README quick start 1)', () => {
  it('three proxyha-vrrpd processes elect, hand over, preempt and fail over', async () => {
    const base = 20000 + (process.pid % 20000);
    const daemon = [process.execPath, ...sourceNodeArgs(join(pkg, 'src', 'bin.ts'))];
    const { stdout } = await run(
      process.execPath,
      [
        join(pkg, 'examples', 'loopback-cluster.mjs'),
        '--interval',
        '100ms',
        '--port',
        String(base),
        '--owner-port',
        String(base + 1),
        '--quiet',
      ],
      { timeout: 60_000, env: { ...process.env, PROXYHA_VRRPD_COMMAND: JSON.stringify(daemon) } },
    );
    expect(stdout).toMatch(/1\. elected: VIP 127\.0\.0\.74 is held by "VI_1 master 127\.0\.0\.11"/);
    expect(stdout).toMatch(/2\. router-a stopped .* "VI_1 master 127\.0\.0\.12"/);
    expect(stdout).toMatch(/3\. router-a is back and preempted/);
    expect(stdout).toMatch(/4\. router-a killed .* "VI_1 master 127\.0\.0\.12"/);
    expect(stdout).toMatch(/all steps passed/);
  }, 90_000);
});

// `proxyha import-keepalived keepalived.conf [-o FILE]`: keepalived's own samples (test/fixtures/keepalived,
// see its README) and small written ones into the gateway's configuration. The YAML must pass
// parseGatewayConfig once the placeholders are filled, and refuse to pass until then.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigIssue } from '@proxyha/common';
import { importKeepalivedConfig } from '@proxyha/vrrpd';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { gatewayConfigFromKeepalived, PLACEHOLDER } from '../src/cli/import-keepalived';
import { parseGatewayConfig } from '../src/config/config';
import { GatewayError } from '../src/errors';
import { proxyha, scratch, stopAll } from './cli-harness';
import type { Doc } from './helpers';

afterAll(stopAll);

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', 'keepalived', name);

/** The YAML with the placeholders filled as an operator would. */
function filled(yaml: string, managementIp = '192.168.200.2'): Doc {
  const doc = parse(yaml) as Doc;
  if (doc.ha.managementIp === PLACEHOLDER) doc.ha.managementIp = managementIp;
  doc.ha.redirects = [{ originalPort: 9090, destinationPort: 3128 }];
  return doc;
}

function issuesOf(doc: unknown): ConfigIssue[] {
  try {
    parseGatewayConfig(doc, 'imported.yaml');
    return [];
  } catch (e) {
    if (e instanceof GatewayError && e.code === 'GATEWAY_CONFIG_INVALID')
      return (e.details as { issues: ConfigIssue[] }).issues;
    throw e;
  }
}

describe('proxyha import-keepalived', () => {
  it('keepalived.conf.vrrp.sync: the first instance becomes ha, its sync group notify scripts come along', async () => {
    const file = fixture('keepalived.conf.vrrp.sync');
    const run = await proxyha('import-keepalived', file, '--config-id', 'none');
    expect(run.code).toBe(0);
    const doc = parse(run.stdout) as Doc;
    expect(doc).toEqual({
      ha: {
        interface: 'eth0',
        vrid: 51,
        priority: 100,
        advertInterval: '1s',
        virtualIps: ['192.168.200.18/25'],
        managementIp: PLACEHOLDER,
        redirects: [{ originalPort: PLACEHOLDER, destinationPort: PLACEHOLDER }],
        version: 2,
        preempt: true,
        accept: true,
        strict: false,
        notifyMaster: ['/usr/local/bin/vrrp.mast', 'arg1', 'arg2'],
        notifyBackup: ['/usr/local/bin/vrrp.back', 'arg1', 'arg2'],
        notifyFault: ['/usr/local/bin/vrrp.fault', 'arg1', 'arg2'],
      },
    });
    // commented placeholders, and a header that says what to do
    expect(run.stdout).toContain(`# ${PLACEHOLDER}: this node's own address on eth0 (never a VIP)`);
    expect(run.stdout).toContain(`    - { originalPort: ${PLACEHOLDER}, destinationPort: ${PLACEHOLDER} }\n`);
    expect(run.stdout).toContain(
      `# Fill in every ${PLACEHOLDER} below, then: proxyha check --config THIS-FILE`,
    );

    const report = run.stderr.split('\n');
    expect(report).toContain(
      `# ${file}:3: vrrp_sync_group G1 { ... } — imported with a difference: the gateway runs one instance, so the ` +
        "group is VI_1 alone; its notifyMaster, notifyBackup, notifyFault became the instance's (they run on VI_1's transitions)",
    );
    expect(report).toContain(
      `# ${file}:18: vrrp_sync_group G2 { ... } — not imported: VI_1 is not one of its instances, and the gateway runs that one only`,
    );
    expect(report).toContain(
      `# ${file}:35: vrrp_instance VI_2 { ... } — not imported: the gateway runs one VRRP instance, VI_1, from ` +
        'vrrp_instance VI_1 (line 25); run another gateway group or proxyha-vrrpd for this one',
    );
    // vrrpd's own notes are there too, in file order
    expect(report).toContain(
      `# ${file}:27: state MASTER — no equivalent: proxyha-vrrpd has no initial state; it starts as Backup and the election decides`,
    );
    const lines = report.filter((l) => l.startsWith(`# ${file}:`)).map((l) => Number(l.split(':')[1]));
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    expect(report).toContain('# 17 keepalived setting(s) above not imported, or imported with a difference');
    expect(report).toContain(
      `# ${PLACEHOLDER} ha.redirects: the port redirects (keepalived has none): the original destination port clients ` +
        'use on the VIP -> the proxy port on every node, e.g. { originalPort: 9090, destinationPort: 3128 }',
    );

    // refused as written, on exactly the placeholders; valid once they are filled
    const unfilled = issuesOf(doc).map((i) => i.path);
    expect(unfilled.length).toBeGreaterThan(0);
    for (const path of unfilled) expect(path).toMatch(/^ha\.(managementIp|redirects)/);
    expect(issuesOf(filled(run.stdout))).toEqual([]);
  });

  it('keepalived.conf.vrrp.localcheck: vrrp_script blocks and track_interface', async () => {
    const file = fixture('keepalived.conf.vrrp.localcheck');
    const run = await proxyha('import-keepalived', file);
    expect(run.code).toBe(0);
    const doc = parse(run.stdout) as Doc;
    expect(doc.ha.trackScripts.map((t: { name: string }) => t.name)).toEqual([
      'chk_sshd',
      'chk_haproxy',
      'chk_http_port',
      'chk_https_port',
      'chk_smtp_port',
    ]);
    expect(doc.ha.trackScripts[0]).toEqual({
      name: 'chk_sshd',
      command: ['killall', '-0', 'sshd'],
      interval: '2s',
      timeout: '2s',
      weight: -4,
      rise: 2,
      fall: 2,
    });
    expect(doc.ha.trackInterfaces).toEqual([
      { name: 'eth1', weight: 2 },
      { name: 'eth2', weight: -2 },
      { name: 'eth3', weight: 0 },
    ]);
    const config = parseGatewayConfig(filled(run.stdout), 'imported.yaml');
    const instance = config.vrrpd.instances[0];
    expect(instance?.name).toBe('VI_1');
    expect(instance?.trackScripts.map((t) => t.name)).toEqual(doc.ha.trackScripts.map((t: Doc) => t.name));
    // the gateway's own trackers (health, maintenance) come after them
    expect(instance?.trackFiles.map((t) => t.name)).toContain('health');
    expect(run.stderr).toContain(
      `# ${file}:64: vrrp_instance VI_2 { ... } — not imported: the gateway runs one VRRP instance`,
    );
  });

  it('unicast_src_ip gives the management address; a track file named health and the instance name move aside', async () => {
    const dir = scratch();
    const file = join(dir, 'keepalived.conf');
    writeFileSync(
      file,
      [
        'global_defs {',
        '  router_id mwg-old',
        '}',
        'track_file health {',
        '  file /run/proxy-ok',
        '  weight -10',
        '}',
        'vrrp_instance PROXY {',
        '  interface eth0',
        '  virtual_router_id 60',
        '  priority 150',
        '  unicast_src_ip 10.0.0.5',
        '  unicast_peer {',
        '    10.0.0.6',
        '  }',
        '  virtual_ipaddress {',
        '    10.0.0.100/24',
        '  }',
        '  track_file {',
        '    health',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const out = join(dir, 'proxyha.yaml');
    const run = await proxyha('import-keepalived', file, '-o', out);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`proxyha: wrote ${out}\n`);
    const yaml = readFileSync(out, 'utf8');
    const doc = parse(yaml) as Doc;
    expect(doc.ha).toMatchObject({
      managementIp: '10.0.0.5',
      sourceAddress: '10.0.0.5',
      unicastPeers: ['10.0.0.6'],
      vrid: 60,
      priority: 150,
      trackFiles: [{ name: 'keepalived-health', path: '/run/proxy-ok', weight: -10 }],
    });
    expect(yaml).toContain(
      "# from the instance's unicast_src_ip / mcast_src_ip: this node's own address, never a VIP\n",
    );
    expect(run.stderr).toContain(
      `# ${file}:8: vrrp_instance PROXY — imported with a difference: the gateway's instance is named VI_1 (in its logs and notify arguments)`,
    );
    expect(run.stderr).toContain(
      `# ${file}:8: track_file health — imported with a difference: named keepalived-health (the gateway's own health tracker is health)`,
    );
    expect(run.stderr).not.toContain(`${PLACEHOLDER} ha.managementIp`);
    const config = parseGatewayConfig(filled(yaml), 'imported.yaml');
    const trackFiles = config.vrrpd.instances[0]?.trackFiles.map((t) => t.name) ?? [];
    expect(trackFiles[0]).toBe('keepalived-health');
    expect(trackFiles).toContain('health');
    // -o never overwrites
    const again = await proxyha('import-keepalived', file, '-o', out);
    expect(again).toEqual({
      code: 2,
      stdout: '',
      stderr: `proxyha: ${out} exists: not overwritten (remove it, or give another -o file)\n`,
    });
    expect(readFileSync(out, 'utf8')).toBe(yaml);
  });

  it('nothing to import: exit 1; a syntax error or a missing file: exit 2', async () => {
    const dir = scratch();
    const lvs = join(dir, 'lvs.conf');
    writeFileSync(lvs, 'global_defs {\n  router_id lvs1\n}\n');
    const none = await proxyha('import-keepalived', lvs);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain(`proxyha: ${lvs}: no vrrp_instance could be imported\n`);

    const broken = join(dir, 'broken.conf');
    writeFileSync(broken, 'vrrp_instance VI_1 {\n  interface eth0\n');
    const syntax = await proxyha('import-keepalived', broken);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toMatch(new RegExp(`^proxyha: ${broken}`));

    const missing = join(dir, 'missing.conf');
    expect(await proxyha('import-keepalived', missing)).toEqual({
      code: 2,
      stdout: '',
      stderr: `proxyha: ${missing}: cannot read: ENOENT\n`,
    });
    expect(existsSync(join(dir, 'proxyha.yaml'))).toBe(false);
  });

  it('a problem left apart from the placeholders is reported, exit 1', async () => {
    // a VIP that is also the unicast source: the gateway refuses its management address as a VIP
    const text = [
      'vrrp_instance VI_1 {',
      '  interface eth0',
      '  virtual_router_id 7',
      '  unicast_src_ip 10.0.0.100',
      '  virtual_ipaddress {',
      '    10.0.0.100/24',
      '  }',
      '}',
      '',
    ].join('\n');
    const result = gatewayConfigFromKeepalived(importKeepalivedConfig(text, { file: 'k.conf' }), 'k.conf');
    expect(result.issues.map((i) => i.path)).toContain('ha.virtualIps[0]');
    const file = join(scratch(), 'k.conf');
    writeFileSync(file, text);
    const run = await proxyha('import-keepalived', file);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `proxyha: the configuration imported from ${file}: invalid configuration:\n  ha.virtualIps[0]: `,
    );
    // the YAML is still printed, to be corrected by hand
    expect(parse(run.stdout).ha.managementIp).toBe('10.0.0.100');
  });
});

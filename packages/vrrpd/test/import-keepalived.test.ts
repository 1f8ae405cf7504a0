import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliInMemory } from '@proxyha/common/cli';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main';
import {
  importKeepalivedConfig,
  importKeepalivedFile,
  type KeepalivedImport,
  type KeepalivedImportOptions,
  loadVrrpDaemonConfig,
  parseVrrpDaemonConfig,
  VrrpdError,
} from '../src/index';
import { keepalivedConf } from './lab';

// keepalived.conf -> proxyha-vrrpd YAML: keepalived's own samples (test/fixtures/keepalived, see its
// README), the configs the interop tests give keepalived, keepalived's grammar, its completion rules
// (defaults, strict mode, sync groups, address owner), syntax errors and the command line.

const FIXTURES = join(import.meta.dirname, 'fixtures', 'keepalived');
const dir = mkdtempSync(join(tmpdir(), 'proxyha-import-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const imp = (text: string, o: KeepalivedImportOptions = {}) =>
  importKeepalivedConfig(text, { file: 'k.conf', ...o });
/** The notes as `LINE SETTING`. */
const noted = (r: KeepalivedImport) => r.unmapped.map((n) => `${n.line} ${n.setting}`);
/** The reason noted at a line (the only one there). */
const reasonAt = (r: KeepalivedImport, line: number, setting?: string) => {
  const at = r.unmapped.filter((n) => n.line === line && (setting === undefined || n.setting === setting));
  expect(at, `one note at line ${line}: ${JSON.stringify(r.unmapped)}`).toHaveLength(1);
  return (at[0] as { reason: string }).reason;
};
const inst = (r: KeepalivedImport, i = 0) =>
  (r.document.instances as Record<string, unknown>[])[i] as Record<string, unknown>;
/** An instance block around some lines. */
const instance = (lines: string, name = 'VI_1') =>
  `vrrp_instance ${name} {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    192.168.77.74/24\n  }\n${lines}\n}\n`;

/** The YAML written to a file and loaded as the daemon loads its configuration. */
async function loadYaml(r: KeepalivedImport, name: string) {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, r.yaml);
  return loadVrrpDaemonConfig(file);
}

const STATE = /^no equivalent: proxyha-vrrpd has no initial state/;
const EMAIL = /^no equivalent: proxyha-vrrpd sends no e-mail/;
const LVS = /^no equivalent: LVS virtual servers/;

describe("keepalived's sample configurations", () => {
  const v2 = { version: 2, advertInterval: '1s', accept: true } as const;
  const email = [
    '4 notification_email { ... }',
    '7 notification_email_from Alexandre.Cassen@firewall.loc',
    '8 smtp_server 192.168.200.1',
    '9 smtp_connect_timeout 30',
    '10 router_id LVS_DEVEL',
  ];
  const cases: {
    file: string;
    instances: Record<string, unknown>[];
    syncGroups?: Record<string, unknown>[];
    notes: string[];
    reasons?: Record<number, RegExp>;
    configId?: string;
  }[] = [
    {
      file: 'keepalived.conf.vrrp',
      instances: [
        {
          name: 'VI_1',
          interface: 'eth0',
          vrid: 51,
          priority: 100,
          ...v2,
          preempt: true,
          // the address listed twice is advertised twice, as keepalived does (same address list)
          virtualIps: ['192.168.200.16', '192.168.200.17', '192.168.200.18', '192.168.200.18'],
          authPassword: '1111',
          // garp_master_delay 10; the lower-priority delay stays keepalived's global default 5 s
          garp: { secondBurstDelay: '10s', reassertDelay: '5s' },
        },
        { name: 'VI_2', interface: 'eth0', vrid: 50, priority: 50, ...v2 },
        { name: 'VI_3', interface: 'eth1', vrid: 52, priority: 100, authPassword: '1111', ...v2 },
        { name: 'VI_4', interface: 'eth1', vrid: 53, priority: 50, ...v2 },
      ],
      notes: [
        ...email,
        '14 state MASTER',
        '17 smtp_alert',
        '32 192.168.200.18 label eth0:1',
        '38 smtp_alert',
        '50 state MASTER',
        '52 smtp_alert',
        '69 smtp_alert',
      ],
      reasons: { 4: EMAIL, 10: /no router id/, 14: STATE, 17: EMAIL, 32: /label eth0:1 not applied/ },
    },
    {
      file: 'keepalived.conf.vrrp.sync',
      instances: ['VI_1', 'VI_2', 'VI_3', 'VI_4', 'VI_5', 'VI_6', 'VI_7', 'VI_8', 'VI_9'].map((name, i) => ({
        name,
        vrid: 51 + i,
        priority: 100,
        ...v2,
      })),
      syncGroups: [
        {
          name: 'G1',
          instances: ['VI_1', 'VI_2', 'VI_5', 'VI_6', 'VI_7', 'VI_8', 'VI_9'],
          notifyBackup: ['/usr/local/bin/vrrp.back', 'arg1', 'arg2'],
          notifyMaster: ['/usr/local/bin/vrrp.mast', 'arg1', 'arg2'],
          notifyFault: ['/usr/local/bin/vrrp.fault', 'arg1', 'arg2'],
        },
        { name: 'G2', instances: ['VI_3', 'VI_4'] },
      ],
      notes: ['27', '37', '64', '74', '84', '94', '104'].map((l) => `${l} state MASTER`),
    },
    {
      file: 'keepalived.conf.vrrp.scripts',
      instances: [
        {
          name: 'VI_1',
          priority: 100,
          authPassword: '1111',
          // keepalived splits the quoted script at blanks (two blanks are one separator)
          notifyBackup: ['/usr/local/bin/vrrp.sh', 'BACKUP', 'VI_1'],
          notifyMaster: ['/usr/local/bin/vrrp.sh', 'MASTER', 'VI_1'],
          notifyFault: ['/usr/local/bin/vrrp.sh', 'FAULT', 'VI_1'],
        },
        { name: 'VI_2', vrid: 52, priority: 150, virtualIps: ['192.168.200.100/27'] },
        { name: 'VI_3', vrid: 53, priority: 150, virtualIps: ['192.168.200.101/27'] },
      ],
      syncGroups: [{ name: 'G1', instances: ['VI_2', 'VI_3'] }],
      notes: ['17 state MASTER', '19 smtp_alert', '40 state MASTER', '50 state MASTER'],
    },
    {
      file: 'keepalived.conf.vrrp.localcheck',
      instances: [
        {
          name: 'VI_1',
          virtualIps: ['192.168.200.18/25'],
          trackScripts: [
            {
              name: 'chk_sshd',
              command: ['killall', '-0', 'sshd'],
              interval: '2s',
              timeout: '2s', // keepalived's timeout defaults to the interval
              weight: -4,
              rise: 2,
              fall: 2,
            },
            { name: 'chk_haproxy', command: ['killall', '-0', 'haproxy'], weight: 2, rise: 1, fall: 1 },
            // keepalived runs a script starting with "</" through the shell
            {
              name: 'chk_http_port',
              command: ['/bin/sh', '-c', '</dev/tcp/127.0.0.1/80'],
              interval: '1s',
              weight: -2,
            },
            { name: 'chk_https_port', command: ['/bin/sh', '-c', '</dev/tcp/127.0.0.1/443'] },
            { name: 'chk_smtp_port', command: ['/bin/sh', '-c', '</dev/tcp/127.0.0.1/25'] },
          ],
          trackInterfaces: [
            { name: 'eth1', weight: 2 },
            { name: 'eth2', weight: -2 },
            { name: 'eth3', weight: 0 },
          ],
        },
        {
          name: 'VI_2',
          trackScripts: [
            { name: 'chk_haproxy', weight: 2 },
            { name: 'chk_http_port' },
            { name: 'chk_https_port' },
            { name: 'chk_smtp_port' },
          ],
        },
        ...['VI_3', 'VI_4', 'VI_5', 'VI_6', 'VI_7', 'VI_8', 'VI_9'].map((name) => ({ name })),
      ],
      notes: [
        '44 state MASTER',
        '58 chk_http_port',
        '59 chk_https_port',
        '60 chk_smtp_port',
        '66 state MASTER',
        '79 chk_http_port',
        '80 chk_https_port',
        '81 chk_smtp_port',
        '104 state MASTER',
        '115 state MASTER',
        '125 state MASTER',
        '135 state MASTER',
        '145 state MASTER',
      ],
      reasons: { 58: /^imported as \/bin\/sh -c/ },
    },
    {
      file: 'keepalived.conf.vrrp.lvs_syncd',
      instances: [
        { name: 'VI_1', priority: 150, authPassword: 'grr02' },
        { name: 'VI_2', vrid: 52 },
        { name: 'VI_3', vrid: 53, interface: 'eth1' },
      ],
      // the sample lists VG1's members without a group { } block: keepalived knows no keyword VI_2
      notes: [
        '3 vrrp_sync_group VG1 { ... }',
        '4 VI_2',
        '5 VI_3',
        '9 state MASTER',
        '11 lvs_sync_daemon_interface eth1',
        '50 virtual_server 192.168.200.19 80 { ... }',
      ],
      reasons: { 3: /lists no members/, 4: /not a vrrp_sync_group setting of keepalived/, 11: LVS, 50: LVS },
    },
    {
      file: 'keepalived.conf.vrrp.routes',
      instances: [{ name: 'VI_1', virtualIps: ['192.168.200.16', '192.168.200.17', '192.168.200.18'] }],
      notes: [
        '4 router_id LVS_DEVEL',
        '7 static_routes { ... }',
        '16 state MASTER',
        '22 192.168.200.17 dev eth1',
        '23 192.168.200.18 dev eth2',
        '25 virtual_routes { ... }',
      ],
      reasons: {
        7: /static addresses, routes and rules/,
        22: /goes on eth0, not on dev eth1/,
        25: /routes and rules/,
      },
    },
    {
      file: 'keepalived.conf.vrrp.rules',
      instances: [{ name: 'VI_1' }],
      notes: [
        '6 router_id LVS_DEVEL',
        '9 static_rules { ... }',
        '15 state MASTER',
        '21 192.168.200.17 dev eth1',
        '22 192.168.200.18 dev eth2',
        '24 virtual_rules { ... }',
      ],
    },
    {
      file: 'keepalived.conf.vrrp.static_ipaddress',
      instances: [{ name: 'VI_1', virtualIps: ['192.168.200.20'] }],
      notes: [
        '4 router_id LVS_DEVEL',
        '7 static_ipaddress { ... }',
        '14 state MASTER',
        '21 virtual_routes { ... }',
      ],
    },
    {
      file: 'keepalived.conf.track_interface',
      instances: [
        {
          name: 'VI_1',
          interface: 'eth0.1',
          trackInterfaces: [
            { name: 'eth0', weight: 0 },
            { name: 'eth1', weight: 0 },
          ],
        },
      ],
      notes: [
        '4 router_id LVS_DEVEL',
        '7 static_routes { ... }',
        '15 state MASTER',
        '25 192.168.200.17 dev eth1',
        '26 192.168.200.18 dev eth2',
        '28 virtual_routes { ... }',
      ],
    },
    {
      file: 'keepalived.conf.conditional_conf',
      configId: 'high',
      instances: [
        {
          name: 'VI_0',
          vrid: 1,
          priority: 170,
          version: 3,
          advertInterval: '12s',
          virtualIps: ['10.1.0.254/32'],
          vmac: true,
          trackScripts: [
            {
              name: 'check_VI_0',
              command: ['/etc/keepalived/scripts/check_high_VI_0.sh'],
              interval: '1s',
              timeout: '10s',
              weight: 0,
              rise: 3,
              fall: 3,
            },
          ],
          trackInterfaces: [
            { name: 'eth3', weight: 0 },
            { name: 'eth2', weight: 20 },
          ],
        },
      ],
      notes: [
        '3 net_namespace high',
        '4 @low net_namespace low',
        '8 @low script /etc/keepalived/scripts/check_low_VI_0.sh',
        '16 state BACKUP',
        '20 @low priority 85',
        '23 use_vmac',
      ],
      reasons: {
        3: /^no equivalent: run proxyha-vrrpd inside the namespace/,
        4: /^skipped: only for config id "low", and the config id is "high"/,
        23: /adverts on the parent interface/,
      },
    },
    {
      file: 'keepalived.conf.sample',
      instances: [
        {
          name: 'VI_1',
          vrid: 50,
          preempt: false,
          virtualIps: ['192.168.200.11', '192.168.200.12', '192.168.200.13'],
        },
      ],
      notes: [...email, '26 virtual_server 10.10.10.2 1358 { ... }'],
    },
    {
      file: 'keepalived.conf.SSL_GET',
      instances: [{ name: 'VI_1', priority: 100, preempt: true }],
      notes: [
        ...email,
        '14 state MASTER',
        '19 authentication { ... }',
        '30 virtual_server 192.168.200.100 443 { ... }',
        '55 virtual_server 192.168.200.100 80 { ... }',
      ],
      reasons: { 19: /no IPsec AH authentication/ },
    },
  ];

  for (const c of cases) {
    it(`${c.file}: mapped, every other setting noted with its line, and the YAML loads`, async () => {
      const r = importKeepalivedFile(join(FIXTURES, c.file), { configId: c.configId });
      expect(r.issues).toEqual([]);
      expect(r.document.instances).toHaveLength(c.instances.length);
      expect(r.document).toMatchObject({ strict: false, instances: c.instances });
      if (c.syncGroups) expect(r.document.syncGroups).toMatchObject(c.syncGroups);
      else expect(r.document.syncGroups).toBeUndefined();
      expect(noted(r)).toEqual(c.notes);
      expect(r.unmapped.every((n) => n.file === join(FIXTURES, c.file))).toBe(true);
      for (const [line, re] of Object.entries(c.reasons ?? {})) expect(reasonAt(r, Number(line))).toMatch(re);
      for (const n of r.unmapped.filter((x) => x.setting.startsWith('state ')))
        expect(n.reason).toMatch(STATE);
      // the YAML is the document, and the daemon loads it
      const loaded = await loadYaml(r, c.file);
      expect(loaded).toEqual(r.config);
      expect(loaded.instances.map((i) => i.name)).toEqual(c.instances.map((i) => i.name));
      // every instance names where it came from
      const text = readFileSync(join(FIXTURES, c.file), 'utf8').split('\n');
      for (const m of r.yaml.matchAll(/# vrrp_instance (\S+): .* line (\d+)/g))
        expect(text[Number(m[2]) - 1]).toContain(`vrrp_instance ${m[1]}`);
    });
  }

  it('keepalived.conf.conditional_conf without a config id: only the lines for no id apply', () => {
    const r = importKeepalivedFile(join(FIXTURES, 'keepalived.conf.conditional_conf'));
    expect(inst(r)).toMatchObject({ name: 'VI_0', priority: 100 });
    expect(inst(r).trackScripts).toBeUndefined();
    // without a script line the vrrp_script is removed (keepalived: "No script set ... removing")
    expect(reasonAt(r, 6)).toMatch(/it has no script \(keepalived removes it too\)/);
    expect(reasonAt(r, 25)).toMatch(/no vrrp_script check_VI_0/);
    expect(reasonAt(r, 19)).toMatch(/only for config id "high", and no config id was given/);
  });

  it('keepalived.conf.IPv6 (LVS only): nothing to import, and every block says why', () => {
    const r = importKeepalivedFile(join(FIXTURES, 'keepalived.conf.IPv6'));
    expect(r.document.instances).toEqual([]);
    expect(r.config).toBeUndefined();
    expect(r.issues.map((i) => i.path)).toEqual(['instances']);
    expect(noted(r)).toEqual([
      '4 router_id LVS_DEVEL',
      '7 virtual_server_group IPv6_group { ... }',
      '13 virtual_server ae00::1 80 { ... }',
    ]);
    expect(reasonAt(r, 13)).toMatch(LVS);
  });
});

describe('the configurations the interop tests give keepalived', () => {
  const variants = [
    { label: 'VRRPv2 at 1 s', o: { version: 2, priority: 89, intervalMs: 1000 } },
    { label: 'VRRPv3 at 1 s', o: { version: 3, priority: 89, intervalMs: 1000 } },
    { label: 'VRRPv3 at 100 ms', o: { version: 3, priority: 120, intervalMs: 100 } },
    {
      label: 'VRRPv2 with a password',
      o: { version: 2, priority: 200, intervalMs: 1000, authPass: 'secret' },
    },
    { label: 'VRRPv3 without preemption', o: { version: 3, priority: 100, intervalMs: 100, preempt: false } },
  ] as const;
  for (const { label, o } of variants) {
    it(`${label}: the instance proxyha-vrrpd runs in those tests, with keepalived's accept mode`, () => {
      const r = imp(keepalivedConf('b', o));
      // what test/lab.ts startProxyha writes for the same options
      const ours = parseVrrpDaemonConfig({
        instances: [
          {
            name: 'VI_1',
            interface: 'eth0',
            vrid: 51,
            priority: o.priority,
            version: o.version,
            advertInterval: `${o.intervalMs}ms`,
            virtualIps: ['192.168.77.74/24'],
            preempt: 'preempt' in o ? o.preempt : true,
            ...('authPass' in o ? { authPassword: o.authPass } : {}),
          },
        ],
      });
      expect(r.issues).toEqual([]);
      // keepalived's default is accept mode (unless strict); proxyha's is not: written out
      expect(r.config).toEqual({ ...ours, instances: [{ ...ours.instances[0], accept: true }] });
      expect(noted(r)).toEqual(['2 router_id ka_b', '6 state BACKUP']);
    });
  }

  it('unicast peers (interop-unicast): unicast_src_ip and unicast_peer', () => {
    const text = keepalivedConf('b', { priority: 100, intervalMs: 100 }).replace(
      '  virtual_ipaddress {',
      '  unicast_src_ip 192.168.77.12\n  unicast_peer {\n    192.168.77.11\n  }\n  virtual_ipaddress {',
    );
    const r = imp(text);
    expect(inst(r)).toMatchObject({
      sourceAddress: '192.168.77.12',
      unicastPeers: ['192.168.77.11'],
      version: 3,
    });
    expect(r.issues).toEqual([]);
    expect(noted(r)).toEqual(['2 router_id ka_b', '6 state BACKUP', '15 unicast_peer { ... }']);
    expect(reasonAt(r, 15)).toMatch(
      /accepts unicast adverts from these peers only \(keepalived does that with check_unicast_src/,
    );
    // with check_unicast_src (or the global vrrp_check_unicast_src) both do the same: nothing to note
    expect(
      noted(imp(text.replace('  unicast_peer {', '  check_unicast_src\n  unicast_peer {'))),
    ).toHaveLength(2);
  });
});

describe("keepalived's grammar", () => {
  it('comments (# and !, not inside double quotes), quotes, braces anywhere', () => {
    const r = imp(
      [
        '! a comment',
        'vrrp_script chk { script "/bin/echo #1 !2" ; interval 2 } # braces on one line',
        'vrrp_instance VI_1',
        '{',
        '  interface eth0 # trailing',
        '  virtual_router_id 51 ! bang',
        '  virtual_ipaddress { 192.168.77.74/24 }',
        '  track_script {',
        '    chk',
        '  }}',
      ].join('\n'),
    );
    expect(r.issues).toEqual([]);
    expect(inst(r)).toMatchObject({
      vrid: 51,
      virtualIps: ['192.168.77.74/24'],
      trackScripts: [{ name: 'chk', command: ['/bin/echo', '#1', '!2'], interval: '1s' }],
    });
    // `script "..." ; interval 2` on one line: keepalived's script is the quoted word; the rest is ignored
    expect(r.unmapped.map((n) => n.reason)).toContainEqual(
      expect.stringMatching(/words after the quoted script/),
    );
  });

  it('scripts split as keepalived splits them: quotes inside, escapes, and a user for notify', () => {
    const r = imp(
      instance(
        [
          `  notify_master "/usr/bin/logger -t 'vrrp master' \\"quoted\\"" proxy`,
          `  notify_backup "/usr/bin/logger a\\tb" proxy nogroup`,
          '  notify /usr/bin/notify.sh',
          '  notify_stop "</run/x"',
        ].join('\n'),
      ),
    );
    expect(r.issues).toEqual([]);
    expect(inst(r)).toMatchObject({
      notifyMaster: { command: ['/usr/bin/logger', '-t', 'vrrp master', '"quoted"'], user: 'proxy' },
      notifyBackup: { command: ['/usr/bin/logger', 'a\tb'], user: 'proxy:nogroup' },
      notify: ['/usr/bin/notify.sh'],
      notifyStop: { command: '</run/x', shell: true },
    });
    expect(r.config?.instances[0]?.notifyMaster).toEqual({
      command: ['/usr/bin/logger', '-t', 'vrrp master', '"quoted"'],
      shell: false,
      user: 'proxy',
    });
  });

  it('@id and @^id lines follow the config id', () => {
    const text = instance('@a priority 200\n@b priority 150\n@^a nopreempt');
    expect(inst(imp(text, { configId: 'a' }))).toMatchObject({ priority: 200, preempt: true });
    expect(inst(imp(text, { configId: 'b' }))).toMatchObject({ priority: 150, preempt: false });
    const none = imp(text);
    expect(inst(none)).toMatchObject({ priority: 100, preempt: false });
    expect(noted(none)).toEqual(['7 @a priority 200', '8 @b priority 150']);
  });

  it(`$NAME= definitions: $NAME and \${NAME}, recursive, at use time, in conditions, multi-line`, () => {
    const r = imp(
      [
        `$BASE=192.168.\${SUB}`,
        '$SUB=77',
        '$PRIO=120',
        '@a $IFACE=eth1',
        '$IF_A=@a',
        '$VI= \\',
        `vrrp_instance VI_\${N} { \\`,
        '  interface eth0 \\',
        `  virtual_router_id 5\${N} \\`,
        '  priority $PRIO \\',
        '  virtual_ipaddress { \\',
        `    \${BASE}.7\${N}/24 \\`,
        '  } \\',
        '}',
        '$N=1',
        '$VI',
        '$N=2',
        '$SUB=78',
        '$VI',
        '$IF_A priority 1',
        'vrrp_instance X { interface eth0',
        '  virtual_router_id 9',
        '  virtual_ipaddress { 10.0.0.1 }',
        `  notify "/bin/echo \${_HASH}1 \${_BANG}" }`,
      ].join('\n'),
      { configId: 'a' },
    );
    expect(
      (r.document.instances as Record<string, unknown>[]).map((i) => [
        i.name,
        i.vrid,
        i.virtualIps,
        i.priority,
      ]),
    ).toEqual([
      ['VI_1', 51, ['192.168.77.71/24'], 120],
      ['VI_2', 52, ['192.168.78.72/24'], 120],
      ['X', 9, ['10.0.0.1'], 100],
    ]);
    // "$IF_A priority 1" became "@a priority 1" and then "priority 1" at the top level
    expect(noted(r)).toEqual(['20 priority 1']);
    // ${_HASH} and ${_BANG} inside quotes: the characters, not comments
    expect(inst(r, 2).notify).toEqual(['/bin/echo', '#1', '!']);
  });

  it(`~SEQ / ~LST and \${_RANDOM} are noted as not supported`, () => {
    const r = imp(`~SEQ(N, 1, 3) vrrp_instance VI_$N { }\n${instance(`  priority \${_RANDOM 1 9}`)}`);
    expect(reasonAt(r, 1)).toMatch(/~SEQ and ~LST blocks are not supported/);
    // left as written, as keepalived leaves an unknown reference: the braces then split the line
    expect(reasonAt(r, 8, `priority \${_RANDOM 1 9}`)).toMatch(/\$\{_RANDOM\} is not supported/);
    expect(reasonAt(r, 8, 'priority $ { ... }')).toMatch(/priority must be 1..255/);
  });

  it('includes: relative to the including file, globs, braces, hidden files, no match', () => {
    const r = importKeepalivedFile(join(FIXTURES, 'include', 'main.conf'));
    expect(r.issues).toEqual([]);
    expect(r.document.instances).toMatchObject([
      {
        name: 'VI_1',
        version: 3,
        advertInterval: '500ms',
        trackScripts: [
          {
            name: 'chk_proxy',
            command: ['/usr/bin/pgrep', '-x', 'squid'],
            interval: '3s',
            weight: -60,
            fall: 2,
          },
        ],
      },
      {
        name: 'VI_2',
        version: 3,
        virtualIps: ['fd77::75/64'],
        trackScripts: [{ name: 'chk_dns', interval: '1s' }],
      },
    ]);
    expect(
      r.unmapped.map((n) => [n.file.slice(FIXTURES.length + 1), n.line, n.reason.split(':')[0]]),
    ).toEqual([
      ['include/main.conf', 9, 'include matched no file'],
      ['include/conf.d/20-vi2.conf', 12, 'no equivalent'],
    ]);
    expect(r.yaml).toMatch(/# vrrp_instance VI_1: .*include\/conf\.d\/10-vi1\.conf line 1\n/);
  });

  it('includes through a reader of our own; without one they are noted', () => {
    const files: Record<string, string> = { 'vi.conf': instance('  priority 42') };
    const r = imp('include vi.conf', {
      readInclude: (pattern, from) => {
        expect(from).toBe('k.conf');
        const text = files[pattern];
        return text === undefined ? [] : [{ file: pattern, text }];
      },
    });
    expect(inst(r)).toMatchObject({ priority: 42 });
    expect(reasonAt(imp('include vi.conf'), 1)).toMatch(/include not followed/);
  });
});

describe('syntax errors name the file, the line and the problem', () => {
  const cases: [string, string, number, RegExp][] = [
    ['an extra }', 'global_defs {\n}\n}\n', 3, /'}' closes no block/],
    [
      'a block never closed',
      'vrrp_instance VI_1 {\n  interface eth0\n',
      1,
      /block of 'vrrp_instance VI_1' is never closed/,
    ],
    ['a { without keyword', '{\n}\n', 1, /'{' without a keyword/],
    ['an unterminated quote', 'vrrp_script x {\n  script "/bin/true\n}\n', 2, /unterminated quote/],
    ['a definition that never ends', '$A=$A x\n$A\n', 2, /parameter substitution does not end/],
  ];
  for (const [what, text, line, problem] of cases) {
    it(what, () => {
      let error: unknown;
      try {
        imp(text);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(VrrpdError);
      const e = error as VrrpdError<{ file: string; line: number; problem: string }>;
      expect(e.code).toBe('VRRPD_KEEPALIVED_SYNTAX');
      expect(e.details).toMatchObject({ file: 'k.conf', line });
      expect(e.details.problem).toMatch(problem);
      expect(e.message).toBe(`k.conf:${line}: ${e.details.problem}`);
    });
  }

  it('an include loop', () => {
    expect(() => importKeepalivedFile(join(FIXTURES, 'include', 'loop.conf'))).toThrow(
      /loop\.conf:2: include loop: .*loop\.conf includes itself/,
    );
  });
});

describe("keepalived's completion rules", () => {
  it('state MASTER without a priority is the address owner (255); nopreempt and preempt_delay then cleared', () => {
    const r = imp(instance('  state MASTER\n  nopreempt\n  preempt_delay 5'));
    expect(inst(r)).toMatchObject({ priority: 255, preempt: true, accept: true });
    expect(inst(r).preemptDelay).toBeUndefined();
    expect(reasonAt(r, 7)).toMatch(/priority 255 taken from state MASTER/);
    expect(reasonAt(r, 8)).toMatch(/owner \(priority 255\) always preempts/);
    expect(reasonAt(r, 9)).toMatch(/clears preempt_delay with state MASTER/);
  });

  it('BACKUP with nopreempt / preempt_delay; fractional seconds', () => {
    expect(inst(imp(instance('  state BACKUP\n  priority 90\n  preempt_delay 2.5')))).toMatchObject({
      preempt: true,
      preemptDelay: '2500ms',
    });
    const r = imp(instance('  nopreempt\n  preempt_delay 2'));
    expect(inst(r)).toMatchObject({ preempt: false });
    expect(reasonAt(r, 8)).toMatch(/resets preempt_delay with nopreempt/);
  });

  it('versions and advert intervals: global vrrp_version, IPv6 always 3, keepalived rounding', () => {
    const g = (v: string) => `global_defs {\n  vrrp_version ${v}\n}\n`;
    expect(inst(imp(instance('  advert_int 0.3')))).toMatchObject({ version: 2, advertInterval: '1s' });
    expect(inst(imp(g('3') + instance('  advert_int 0.3')))).toMatchObject({
      version: 3,
      advertInterval: '300ms',
    });
    expect(inst(imp(instance('  version 3\n  advert_int 0.123')))).toMatchObject({ advertInterval: '120ms' });
    const r = imp(instance('  advert_int 2.6'));
    expect(inst(r)).toMatchObject({ version: 2, advertInterval: '3s' });
    expect(reasonAt(r, 7)).toMatch(/imported as 3s: VRRPv2 needs whole seconds/);
    const v6 = imp(
      'vrrp_instance V6 {\n interface eth0\n virtual_router_id 7\n version 2\n virtual_ipaddress {\n  FD77::74/64\n  192.168.1.1\n }\n}',
    );
    expect(inst(v6)).toMatchObject({ version: 3, virtualIps: ['fd77::74/64'] });
    expect(reasonAt(v6, 4)).toMatch(/VRRPv2 carries no IPv6/);
    expect(reasonAt(v6, 7)).toMatch(/family differs/);
  });

  it('vrrp_strict: no accept (filtered), RFC 5798 lower-priority handling, no password, no unicast', () => {
    const r = imp(
      `global_defs {\n  vrrp_strict\n}\n${instance('  authentication {\n    auth_type PASS\n    auth_pass x\n  }\n  garp_lower_prio_repeat 3')}${instance(
        '  unicast_peer {\n    192.168.77.12\n  }',
        'VI_U',
      )}`,
    );
    expect(r.document).toMatchObject({ strict: true });
    expect(r.document.instances).toHaveLength(1);
    expect(inst(r)).toMatchObject({
      accept: false,
      lowerPriorityResponse: 'rfc5798',
      garp: { reassertRepeat: 0, reassertDelay: '0s' },
    });
    expect(inst(r).authPassword).toBeUndefined();
    expect(reasonAt(r, 10)).toMatch(/no authentication in strict mode/);
    expect(reasonAt(r, 14)).toMatch(/resets it to 0 in strict mode/);
    expect(reasonAt(r, 16)).toMatch(/refuses unicast peers in strict mode/);
  });

  it('no_accept without vrrp_strict turns the filter on; the owner keeps accept', () => {
    const r = imp(
      instance('  no_accept') + instance('  priority 255\n  no_accept', 'VI_O').replace('51', '52'),
    );
    expect(r.document.strict).toBe(true);
    expect(r.config?.instances.map((i) => i.accept)).toEqual([false, false]);
    expect(inst(imp(instance('  priority 255\n  strict_mode')))).toMatchObject({ accept: true });
  });

  it('sync groups: member weights cleared as keepalived clears them, group trackers on every member', () => {
    const r = imp(
      [
        'vrrp_script w { script /bin/true\n weight 10 }',
        'vrrp_script z { script /bin/false }',
        'track_file tf { file /run/prio }',
        'vrrp_sync_group G { group { VI_1 VI_2 }\n track_interface { eth9 weight -5 }\n track_script { z } }',
        instance('  track_script { w\n z }\n  track_interface { eth1 weight 7 }\n  track_file { tf }'),
        instance('', 'VI_2').replace('51', '52'),
      ].join('\n'),
    );
    expect(r.issues).toEqual([]);
    expect(inst(r)).toMatchObject({
      trackScripts: [{ name: 'z', weight: 0 }],
      trackInterfaces: [
        { name: 'eth1', weight: 0 },
        { name: 'eth9', weight: -5 },
      ],
      trackFiles: [{ name: 'tf', path: '/run/prio', weight: 0 }],
    });
    expect(inst(r, 1)).toMatchObject({
      trackScripts: [{ name: 'z' }],
      trackInterfaces: [{ name: 'eth9', weight: -5 }],
    });
    expect(r.document.syncGroups).toEqual([{ name: 'G', instances: ['VI_1', 'VI_2'] }]);
    const reasons = r.unmapped.map((n) => `${n.setting}: ${n.reason}`);
    expect(reasons).toContainEqual(
      expect.stringMatching(/^w: not imported: keepalived drops weighted scripts of its sync group/),
    );
    expect(reasons).toContainEqual(expect.stringMatching(/^eth1 weight 7: imported with weight 0/));
    expect(reasons).toContainEqual(expect.stringMatching(/^tf: imported with weight 0/));
  });

  it('sync groups of one imported instance, unknown and doubled members', () => {
    const r = imp(
      `vrrp_sync_group G { group { VI_1 NOPE }\n notify_master /bin/m }\nvrrp_sync_group H { group { VI_1 } }\n${instance('')}`,
    );
    expect(r.document.syncGroups).toBeUndefined();
    expect(r.unmapped.map((n) => `${n.line} ${n.setting}: ${n.reason}`)).toEqual([
      '1 NOPE: NOPE is not in the group: there is no vrrp_instance NOPE (keepalived ignores it too)',
      '1 vrrp_sync_group G { ... }: not imported as a group: proxyha-vrrpd needs two members, so VI_1 runs on its own (as it would in keepalived)',
      '2 notify_master /bin/m: not imported: its sync group is not imported',
      '3 VI_1: VI_1 is not in H: it is in G already, and keepalived allows one group',
    ]);
  });

  it('track files: weight 0 and negative weights are imported, positive and reversed ones are not', () => {
    const files = ['a', 'b', 'c', 'd'].map((n) => `track_file ${n} { file /run/${n} }`).join('\n');
    const r = imp(
      `${files}\n${instance('  track_file {\n    a weight 0\n    b weight -10\n    c\n    d weight -3 reverse\n  }')}`,
    );
    expect(inst(r).trackFiles).toEqual([
      { name: 'a', path: '/run/a', weight: 0 },
      { name: 'b', path: '/run/b', weight: -10 },
    ]);
    expect(reasonAt(r, 13)).toMatch(/the same for 0\/1 files/);
    expect(reasonAt(r, 14)).toMatch(/adds the file's value times 1/);
    expect(reasonAt(r, 15)).toMatch(/no reversed weights/);
  });

  it('gratuitous ARP: globals, vrrp_min_garp, instance settings, garp_group rate limits', () => {
    const r = imp(
      `global_defs {\n vrrp_min_garp\n vrrp_garp_master_refresh 60\n vrrp_garp_interval 0.001\n}\ngarp_group {\n gna_interval 0.002\n interface eth1\n}\n${instance(
        '  garp_master_repeat 3\n  garp_lower_prio_delay 2',
      )}${instance('', 'VI_2').replace('eth0', 'eth1').replace('51', '52')}`,
    );
    expect(r.issues).toEqual([]);
    expect(inst(r).garp).toEqual({
      repeat: 3,
      secondBurstDelay: '0s',
      reassertRepeat: 1,
      reassertDelay: '2s',
      interval: '1ms',
      naInterval: '0s',
    });
    // vrrp_min_garp also sets the refresh repeat to 0 (no refresh at all); the group's NA interval, no ARP one
    expect(inst(r, 1).garp).toEqual({
      repeat: 1,
      secondBurstDelay: '0s',
      interval: '1ms',
      naInterval: '2ms',
    });
  });

  it('vmac, unicast, auth_hmac, global notify settings and scheduling', () => {
    const r = imp(
      `global_defs {\n vrrp_notify_fifo /run/vrrp.fifo\n vrrp_notify_fifo_script "/usr/bin/fifo-reader -v"\n vrrp_notify_priority_changes\n script_user proxy\n vrrp_rt_priority 10\n vrrp_priority -5\n vrrp_higher_prio_send_advert\n}\n${instance(
        [
          '  use_vmac vrrp51 00:00:5e:00:01:33',
          '  vmac_xmit_base',
          '  unicast_src_ip 192.168.77.11',
          '  unicast_peer {\n    192.168.77.12 min_ttl 250\n  }',
          '  auth_hmac {\n    key 1 0123456789abcdef0123456789abcdef\n    mode permissive\n    time_window 10\n  }',
        ].join('\n'),
      )}`,
    );
    expect(r.issues).toEqual([]);
    expect(r.document).toMatchObject({
      realtimePriority: 10,
      nice: -5,
      notifyFifo: '/run/vrrp.fifo',
      notifyFifoScript: ['/usr/bin/fifo-reader', '-v'],
      notifyPriorityChanges: true,
      scriptUser: 'proxy',
    });
    expect(inst(r)).toMatchObject({
      vmac: { name: 'vrrp51' },
      sourceAddress: '192.168.77.11',
      unicastPeers: ['192.168.77.12'],
      higherPrioritySendAdvert: true,
      authHmac: {
        keys: [{ id: 1, key: '0123456789abcdef0123456789abcdef' }],
        mode: 'permissive',
        timeWindow: '10s',
      },
    });
    expect(r.config?.instances[0]?.authHmac?.keys[0]?.key).toHaveLength(32);
    expect(noted(r)).toEqual(['16 use_vmac vrrp51 00:00:5e:00:01:33', '20 192.168.77.12 min_ttl 250']);
  });

  it('what cannot be imported at all: no interface, no VRID, no address, a VRID used twice', () => {
    const r = imp(
      'vrrp_instance A { virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 } }\nvrrp_instance B { interface eth0\n virtual_ipaddress { 10.0.0.1 } }\nvrrp_instance C { interface eth0\n virtual_router_id 3 }\n' +
        instance('') +
        instance('', 'VI_X'),
    );
    expect((r.document.instances as { name: string }[]).map((i) => i.name)).toEqual(['VI_1']);
    expect(r.unmapped.map((n) => `${n.line} ${n.reason}`)).toEqual([
      '1 not imported: it has no interface (proxyha-vrrpd sends from an interface, also with unicast peers)',
      '3 not imported: it has no virtual_router_id (keepalived refuses it too)',
      '5 not imported: it has no virtual_ipaddress (proxyha-vrrpd needs at least one)',
      '15 not imported: VI_1 uses VRID 51 on eth0 already',
    ]);
  });

  it("a setting the daemon's validator refuses is left out and noted; the rest still validates", () => {
    const r = imp(instance('  notify_master "/bin/x" bad/user\n  notify_backup /bin/y'));
    expect(r.issues).toEqual([]);
    expect(inst(r).notifyMaster).toBeUndefined();
    expect(inst(r).notifyBackup).toEqual(['/bin/y']);
    expect(reasonAt(r, 7)).toMatch(
      /^not imported: this proxyha-vrrpd does not accept instances\[0\]\.notifyMaster \(/,
    );
  });

  it('auth_hmac replaces a PASS password, as keepalived allows only one', () => {
    const r = imp(
      instance(
        '  authentication {\n    auth_type PASS\n    auth_pass pw\n  }\n  auth_hmac {\n    key 7 hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n  }',
      ),
    );
    expect(inst(r).authPassword).toBeUndefined();
    expect(r.config?.instances[0]?.authHmac).toMatchObject({
      activeKey: 7,
      mode: 'enforce',
      antiReplay: 'time',
    });
    expect(reasonAt(r, 7)).toMatch(/auth_hmac replaces it/);
  });

  it('a multi-line definition that expands itself without end is a syntax error', () => {
    expect(() => imp('$M= \\\n  priority 1 \\\n  $M\n$M\n')).toThrow(
      /k\.conf:4: parameter substitution does not end/,
    );
  });

  it('virtual_ipaddress_excluded is noted per address (it would change the advert)', () => {
    const r = imp(instance('  virtual_ipaddress_excluded {\n    10.9.9.9\n    10.9.9.10\n  }'));
    expect(inst(r).virtualIps).toEqual(['192.168.77.74/24']);
    expect(noted(r)).toEqual(['8 10.9.9.9', '9 10.9.9.10']);
    expect(reasonAt(r, 8)).toMatch(/no excluded addresses/);
  });
});

describe('properties', () => {
  it('any instance keepalived accepts is imported with its values', () => {
    const arb = fc.record({
      vrid: fc.integer({ min: 1, max: 255 }),
      priority: fc.integer({ min: 1, max: 254 }),
      version: fc.constantFrom(2, 3),
      advert: fc.integer({ min: 1, max: 4095 }),
      vips: fc.uniqueArray(fc.tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 8, max: 32 })), {
        minLength: 1,
        maxLength: 4,
        selector: (t) => t[0],
      }),
      nopreempt: fc.boolean(),
      pass: fc.option(fc.stringMatching(/^[a-zA-Z0-9]{1,8}$/), { nil: undefined }),
      state: fc.constantFrom(undefined, 'BACKUP'),
    });
    fc.assert(
      fc.property(arb, (c) => {
        // v2: whole seconds (1..255); v3: centiseconds written as seconds
        const advert = c.version === 2 ? String(1 + (c.advert % 255)) : (c.advert / 100).toFixed(2);
        const text = `vrrp_instance VI_P {
  ${c.state ? `state ${c.state}` : ''}
  interface eth0
  virtual_router_id ${c.vrid}
  priority ${c.priority}
  version ${c.version}
  advert_int ${advert}
  ${c.nopreempt ? 'nopreempt' : ''}
  ${c.pass !== undefined ? `authentication {\n    auth_type PASS\n    auth_pass ${c.pass}\n  }` : ''}
  virtual_ipaddress {
${c.vips.map(([h, p]) => `    10.1.2.${h}/${p}`).join('\n')}
  }
}`;
        const r = imp(text);
        expect(r.issues).toEqual([]);
        const i = r.config?.instances[0];
        expect(i).toMatchObject({
          vrid: c.vrid,
          priority: c.priority,
          version: c.version,
          advertInterval: Math.round(Number(advert) * 1000),
          virtualIps: c.vips.map(([h, p]) => `10.1.2.${h}/${p}`),
          preempt: !c.nopreempt,
          accept: true,
        });
        expect(i?.authPassword).toBe(c.version === 2 ? c.pass : undefined);
      }),
      { numRuns: 200 },
    );
  });

  it('any text is imported or refused with VRRPD_KEEPALIVED_SYNTAX, nothing else', () => {
    const token = fc.constantFrom(
      '{',
      '}',
      '"',
      "'",
      '#',
      '!',
      '\\',
      '@a ',
      '@^b ',
      '$X=',
      '$X',
      `\${X}`,
      '~SEQ(',
      'include x',
      'vrrp_instance',
      'VI_1',
      'interface eth0',
      'virtual_router_id 1',
      'virtual_ipaddress',
      '10.0.0.1',
      'priority',
      '300',
      'vrrp_sync_group',
      'group',
      'track_script',
      'vrrp_script',
      'script',
      ' ',
      '\t',
      '\n',
    );
    fc.assert(
      fc.property(
        fc.array(token, { maxLength: 60 }),
        fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
        (parts, id) => {
          try {
            const r = imp(parts.join(''), { configId: id, readInclude: () => [] });
            expect(Array.isArray(r.document.instances)).toBe(true);
            for (const n of r.unmapped) expect(n.line).toBeGreaterThan(0);
          } catch (e) {
            expect(e).toBeInstanceOf(VrrpdError);
            expect((e as VrrpdError).code).toBe('VRRPD_KEEPALIVED_SYNTAX');
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('proxyha-vrrpd --import-keepalived', () => {
  const cli = (...argv: string[]) => runCliInMemory('proxyha-vrrpd', main, argv);

  it('prints the YAML on stdout and the report on stderr, exit 0', async () => {
    const file = join(FIXTURES, 'keepalived.conf.vrrp');
    const r = await cli('--import-keepalived', file, '--config-id', 'n1');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(importKeepalivedFile(file, { configId: 'n1' }).yaml);
    expect(r.stdout).toMatch(
      /^# proxyha-vrrpd configuration imported from .*keepalived\.conf\.vrrp .*config id "n1"/,
    );
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(13);
    expect(lines[0]).toBe(
      `# ${file}:4: notification_email { ... } — ${EMAIL.source.slice(1).replace(/\\/g, '')} (use a notify script)`,
    );
    expect(lines[12]).toBe('# 12 keepalived setting(s) above not imported, or imported with a difference');
  });

  it('a syntax error: exit 2 naming file and line; nothing on stdout', async () => {
    const file = join(dir, 'broken.conf');
    writeFileSync(file, 'vrrp_instance VI_1 {\n  interface eth0\n}\n}\n');
    const r = await cli('--import-keepalived', file);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toBe(`proxyha-vrrpd: ${file}:4: '}' closes no block (one '}' too many)\n`);
  });

  it('nothing to import: exit 1; an unreadable file: exit 2', async () => {
    const r = await cli('--import-keepalived', join(FIXTURES, 'keepalived.conf.IPv6'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/no vrrp_instance could be imported\n$/);
    const missing = await cli('--import-keepalived', join(dir, 'nope.conf'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.conf: cannot read: ENOENT/);
  });

  it('without --import-keepalived, --config is still required', async () => {
    const r = await cli('--json');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/required option '-f, --config <file>' not specified/);
  });
});

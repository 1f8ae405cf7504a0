// `proxyha status [--json]` against a real management server on 127.0.0.1 (the fake control's sample
// status), and the management client's errors: no node, a wrong or unreadable token, API errors, a node
// that does not answer, HTTPS with the configured certificate pinned.
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createClusterCa, issueNodeCertificate } from '@proxyha/cm-coordinator';
import { formatStatus } from '@proxyha/lb-director';
import { afterEach, describe, expect, it } from 'vitest';
import { managementClient } from '../src/cli/client';
import { formatGatewayStatus, formatOffset, formatSpan } from '../src/cli/format-status';
import { loadGatewayConfig } from '../src/config/config';
import { GatewayError } from '../src/errors';
import { proxyha, startNode, stopAll } from './cli-harness';
import { fakeControl, SAMPLE_NOW, sampleStatus } from './fake-control';

afterEach(stopAll);

const SAMPLE_TEXT = `node mwg1 (proxyha 0.0.0-test): director, up 1h
maintenance: off

group 51: director (state=master), node 10.10.74.70 (mwg1)
director: 10.10.74.70 (mwg1)
nodes: 3
     ADDRESS      NAME  HEALTH          WEIGHT  SHARE  CONNS  CPU    MEM    LOAD  LAST REPORT
  *  10.10.74.70  mwg1  ok              100     50.0%  40     20.0%  40.0%  0.30  0.1s ago
     10.10.74.86  mwg2  ok              100     50.0%  38     25.0%  35.0%  0.20  0.6s ago
     10.10.74.87  mwg3  failure (9090)  100     0.0%   0      1.0%   30.0%  0.01  0.9s ago
messages: 7200 accepted, 0 of other groups ignored, none rejected
data plane relay; redirects 9090 -> 9090; connections 1500 accepted, 3 failed

VRRP: VI_1 on eth0, VRID 51: MASTER, priority 99
  VIPs 10.10.74.74/24: held by this node (10.10.74.70)
  adverts: 3596 sent, 120 received, VRRP_BAD_TTL 2, VRRP_AUTH_MISMATCH 1 dropped; became master 1 time
  last transitions:
    2026-01-01T11:00:01Z (59m59s ago)  initialize -> backup  (startup, priority 99)
    2026-01-01T11:00:04Z (59m56s ago)  backup -> master  (masterDown, priority 99)

health: current state: ok, since 2026-01-01T11:00:10Z (59m50s ago); ports on 10.10.74.70
  port 9090: ok since 2026-01-01T11:00:10Z (59m50s ago)

time: ok, offset +12 ms against 10.10.74.1:123, checked 30s ago

central management:
  node mwg1 (11111111-1111-4111-8111-111111111111)
  cluster in sync

  * mwg1  10.10.74.70:12346  v0.0.0-test  Current Storage Timestamp: 2026-01-01T11:59:00.000Z.00000.11111111-1111-4111-8111-111111111111  reachable
    mwg2  10.10.74.86:12346  v0.0.0-test  Current Storage Timestamp: 2026-01-01T11:59:00.000Z.00000.11111111-1111-4111-8111-111111111111  reachable
  policy v-sample-1 saved on mwg1, Current Storage Timestamp 2026-01-01T11:59:00.000Z.00000.11111111-1111-4111-8111-111111111111 (1m old)
  replication errors since start: 0

uneven load: nothing suggests it
`;

describe('proxyha status', () => {
  it('prints the director group as mfend-lb -s, then VRRP, health, time, central management, uneven load', async () => {
    const node = await startNode();
    const run = await node.run('status');
    expect(run).toEqual({ code: 0, stdout: SAMPLE_TEXT, stderr: '' });
    // the director's part is lb-director's own text of proxyha-lb -s, unchanged
    expect(run.stdout).toContain(formatStatus(sampleStatus().director));
    expect(node.control.statusReads).toBe(1);
  });

  it('--json prints the status document as the API returns it', async () => {
    const node = await startNode();
    const run = await node.run('status', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(node.control.current);
    expect(run.stdout).toBe(`${JSON.stringify(node.control.current, null, 2)}\n`);
  });

  it('shows a backup, a failing port, a fault, ntp trouble, no cm, maintenance and the explanations', async () => {
    const control = fakeControl();
    control.setStatus((s) => ({
      ...s,
      node: { ...s.node, role: 'scanner', maintenance: true },
      vrrp: {
        ...s.vrrp,
        state: 'backup',
        effectivePriority: 49,
        vipOwner: '10.10.74.86',
        faultReasons: ['tracker:health'],
        dropped: {},
      },
      director: {
        ...s.director,
        role: 'scanner',
        director: undefined,
        nodes: [s.director.nodes[0] as never],
      },
      health: {
        status: 'failure',
        since: SAMPLE_NOW - 5000,
        host: '10.10.74.70',
        ports: [
          { port: 9090, status: 'ok', since: SAMPLE_NOW - 60_000, reason: null },
          { port: 2121, status: 'failure', since: SAMPLE_NOW - 5000, reason: 'connection refused' },
        ],
      },
      ntp: {
        verdict: 'fail',
        offsetMs: -2500,
        servers: ['10.10.74.1:123'],
        message: 'time difference too high: 2.5 s',
        checkedAt: SAMPLE_NOW - 1000,
      },
      cm: null,
      explanations: [{ cause: 'unseen-nodes', message: 'VRRP says 10.10.74.86 is master, but ...' }],
    }));
    const node = await startNode({ control });
    const { code, stdout } = await node.run('status');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    const expected = [
      'node mwg1 (proxyha 0.0.0-test): scanner, up 1h',
      'maintenance: ON (drained as a scanning node; no VIPs while it lasts; proxyha maintenance off ends it)',
      'group 51: scanner (state=backup), node 10.10.74.70 (mwg1)',
      'VRRP: VI_1 on eth0, VRID 51: BACKUP, priority 49 (configured 99)',
      '  VIPs 10.10.74.74/24: held by 10.10.74.86',
      '  fault: tracker:health',
      '  adverts: 3596 sent, 120 received, none dropped; became master 1 time',
      'health: current state: failure (port 2121: connection refused), since 2026-01-01T11:59:55Z (5s ago); ports on 10.10.74.70',
      '  port 9090: ok since 2026-01-01T11:59:00Z (1m ago)',
      '  port 2121: failure since 2026-01-01T11:59:55Z (5s ago) (connection refused)',
      'time: fail, offset -2.5 s against 10.10.74.1:123, checked 1s ago: time difference too high: 2.5 s',
      'central management: off (no cm section)',
      'uneven load:',
      '  - unseen-nodes: VRRP says 10.10.74.86 is master, but ...',
    ];
    // every line, in this order
    let at = -1;
    for (const line of expected) {
      const i = lines.indexOf(line, at + 1);
      expect(i, line).toBeGreaterThan(at);
      at = i;
    }
  });

  it('exit 1 when no node answers: the URL and how to start one', async () => {
    const node = await startNode();
    await node.server.close();
    const run = await node.run('status');
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: `proxyha: no proxyha node answers on ${node.server.url}: is it running? (proxyha run -c ${node.configFile})\n`,
    });
  });

  it('a wrong token: 401 names the token file, and the node did nothing', async () => {
    const node = await startNode({ fileToken: 'not-the-token' });
    const run = await node.run('status');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `proxyha: the node on ${node.server.url} refused the admin token of ${node.tokenFile} (401): ` +
        "is it the token file of this node's configuration?\n",
    );
    const save = await node.run('maintenance', 'on');
    expect(save.code).toBe(1);
    expect(node.control.statusReads).toBe(0);
    expect(node.control.calls).toEqual([]);
  });

  it('an unreadable or empty token file is named', async () => {
    const node = await startNode();
    const missing = join(node.dir, 'missing.token');
    const config = await loadGatewayConfig(node.configFile);
    const client = managementClient({ ...config, management: { ...config.management, tokenFile: missing } });
    await expect(client.status()).rejects.toMatchObject({
      code: 'GATEWAY_TOKEN_UNREADABLE',
      message: `cannot read the admin token file ${missing}: ENOENT (the node writes it at its first start)`,
      details: { file: missing },
    });
    writeFileSync(node.tokenFile, '\n');
    const run = await node.run('status');
    expect(run).toMatchObject({
      code: 1,
      stderr: `proxyha: the admin token file ${node.tokenFile} is empty: it must hold the node's token\n`,
    });
    expect(node.control.statusReads).toBe(0);
  });

  it('an error answer becomes GATEWAY_API_ERROR with the server code and message', async () => {
    const node = await startNode();
    node.control.throwOn('status', new GatewayError('GATEWAY_CLOCK_SKEW', 'the clock is off by 20 s'));
    const run = await node.run('status');
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: 'proxyha: the clock is off by 20 s (GATEWAY_CLOCK_SKEW)\n',
    });
    const config = await loadGatewayConfig(node.configFile);
    const error = await managementClient(config)
      .status()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({
      code: 'GATEWAY_API_ERROR',
      details: { url: node.server.url, status: 409, code: 'GATEWAY_CLOCK_SKEW' },
    });
  });

  it('a node that accepts and never answers: GATEWAY_NOT_RUNNING after the timeout', async () => {
    const node = await startNode();
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const config = await loadGatewayConfig(node.configFile);
      const port = (silent.address() as { port: number }).port;
      const client = managementClient(
        { ...config, management: { ...config.management, listen: { host: '127.0.0.1', port } } },
        { timeoutMs: 200 },
      );
      await expect(client.status()).rejects.toMatchObject({
        code: 'GATEWAY_NOT_RUNNING',
        message: `the proxyha node on http://127.0.0.1:${port} did not answer within 200 ms`,
      });
      expect(sockets.length).toBe(1);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('a wildcard listen address is reached on loopback; an IPv6 one in brackets', async () => {
    const node = await startNode();
    const config = await loadGatewayConfig(node.configFile);
    const at = (host: string) =>
      managementClient({ ...config, management: { ...config.management, listen: { host, port: 8443 } } }).url;
    expect(at('0.0.0.0')).toBe('http://127.0.0.1:8443');
    expect(at('::')).toBe('http://[::1]:8443');
    expect(at('fd00::1')).toBe('http://[fd00::1]:8443');
  });
});

describe('proxyha status over HTTPS', () => {
  const issue = async (names: string[]) => {
    const ca = await createClusterCa();
    return issueNodeCertificate({
      ca,
      node: { uuid: '44444444-4444-4444-8444-444444444444', name: 'mwg1' },
      addresses: names,
    });
  };

  it('trusts the configured certificate file, whatever names the certificate carries', async () => {
    // not issued for 127.0.0.1: the configured file itself is what is trusted
    const cert = await issue(['proxy.example']);
    const node = await startNode({ tls: { cert: cert.certPem, key: cert.keyPem } });
    expect(node.server.url).toMatch(/^https:/);
    const run = await node.run('status', '--json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(node.control.current);
  });

  it('refuses a listener with another certificate before sending the token', async () => {
    const served = await issue(['127.0.0.1']);
    const other = await issue(['127.0.0.1']);
    const node = await startNode({ tls: { cert: served.certPem, key: served.keyPem } });
    writeFileSync(join(node.dir, 'tls.crt'), other.certPem);
    const run = await node.run('status');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `^proxyha: the listener on ${node.server.url} presented a certificate \\(.*, SHA-256 [0-9A-F:]+\\) that is not the node's ${join(node.dir, 'tls.crt')}: nothing was sent`,
      ),
    );
    expect(node.control.statusReads).toBe(0);
  });
});

describe('formatGatewayStatus pieces', () => {
  it('spans and offsets', () => {
    expect([0, 350, 999, 1000, 1499, 1500, 90_000, 3_600_000, 90_061_000].map(formatSpan)).toEqual([
      '0ms',
      '350ms',
      '999ms',
      '1s',
      '1s',
      '2s',
      '1m30s',
      '1h',
      '1d1h1m1s',
    ]);
    expect(formatSpan(-2000)).toBe('-2s');
    expect(formatSpan(Number.NaN)).toBe('?');
    expect([12, -0.25, 999.94, 1000, -2500, 1234.6].map(formatOffset)).toEqual([
      '+12 ms',
      '-0.3 ms',
      '+999.9 ms',
      '+1 s',
      '-2.5 s',
      '+1.235 s',
    ]);
  });

  it('a node before its first verdicts: unknown health, ntp off or unchecked, no policy yet', () => {
    const s = sampleStatus();
    const text = formatGatewayStatus({
      ...s,
      vrrp: { ...s.vrrp, state: 'initialize', vipOwner: null, transitions: [] },
      health: {
        ...s.health,
        status: 'unknown',
        ports: [{ port: 9090, status: 'unknown', since: SAMPLE_NOW, reason: null }],
      },
      ntp: { ...s.ntp, verdict: 'unknown', offsetMs: null, checkedAt: null },
      cm: s.cm ? { ...s.cm, policy: null, storageTimestampAgeMs: null } : null,
    });
    expect(text).toContain(
      'VRRP: VI_1 on eth0, VRID 51: INITIALIZE, priority 99\n  VIPs 10.10.74.74/24: owner unknown\n',
    );
    expect(text).not.toContain('last transitions');
    expect(text).toContain('health: current state: unknown, since');
    expect(text).toContain('time: unknown, offset unknown against 10.10.74.1:123, not checked yet\n');
    expect(text).toContain('  policy: none saved yet\n');
    expect(formatGatewayStatus({ ...s, ntp: { ...s.ntp, verdict: 'off' } })).toContain(
      'time: no NTP check (no ntp section)\n',
    );
  });
});

describe('proxyha --help', () => {
  it('lists every command; the node commands take -c FILE', async () => {
    const help = await proxyha('--help');
    expect(help.code).toBe(0);
    for (const command of [
      'check',
      'run',
      'status',
      'mon',
      'policy',
      'cm',
      'maintenance',
      'import-keepalived',
    ])
      expect(help.stdout).toMatch(new RegExp(`\\n  ${command} `));
    for (const argv of [
      ['status'],
      ['policy', 'save'],
      ['policy', 'show'],
      ['cm', 'status'],
      ['cm', 'add-node'],
      ['maintenance'],
      ['run'],
    ]) {
      const sub = await proxyha(...argv, '--help');
      expect(sub.stdout, argv.join(' ')).toContain('-c, --config <file>');
      expect(sub.stdout, argv.join(' ')).toContain('/etc/proxyha/proxyha.yaml');
    }
  });
});

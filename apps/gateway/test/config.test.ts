// The gateway's one file: the example maps onto each package's validated configuration, defaults and
// pass-through settings arrive where they belong, and every kind of error names the path of the file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mapIssuePath } from '../src/config/derive';
import { KNOWN_KEYS } from '../src/config/schema';
import { GatewayError, loadGatewayConfig, parseGatewayConfig } from '../src/index';
import { appDir, type Doc, example, exampleFile, issuesOf, SECTION_PATH, set } from './helpers';

const tmp = mkdtempSync(join(tmpdir(), 'proxyha-gw-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The smallest valid file: the `ha` settings without defaults. */
const minimal = () => ({
  ha: {
    interface: 'eth0',
    managementIp: '10.10.74.71',
    virtualIps: ['10.10.74.74/24'],
    vrid: 51,
    redirects: [{ originalPort: 9090, destinationPort: 9090 }],
  },
});

describe('the example file (examples/proxyha.yaml)', () => {
  it('derives each package configuration from the one file', async () => {
    const c = await loadGatewayConfig(exampleFile);
    expect(c.node).toEqual({ name: 'mwg1', dataDir: '/var/lib/proxyha' });

    // @proxyha/vrrpd: one instance with the health tracker (fault)
    expect(c.vrrpd.transport).toBe('raw');
    expect(c.vrrpd.instances).toHaveLength(1);
    expect(c.vrrpd.instances[0]).toMatchObject({
      name: 'VI_1',
      interface: 'eth0',
      vrid: 51,
      priority: 99,
      version: 3,
      advertInterval: 1000,
      virtualIps: ['10.10.74.74/24'],
      preempt: true,
      unicastPeers: [],
      trackScripts: [],
      trackInterfaces: [],
      trackFiles: [
        { name: 'health', path: '/var/lib/proxyha/health.track', weight: 0 },
        { name: 'maintenance', path: '/var/lib/proxyha/maintenance', weight: -253 },
      ],
    });
    expect(c.healthTracker).toEqual({ file: '/var/lib/proxyha/health.track', onFailure: 'fault', weight: 0 });

    // @proxyha/lb-director
    expect(c.lb).toMatchObject({
      group: 51,
      name: 'mwg1',
      interface: 'eth0',
      managementIp: '10.10.74.70',
      family: 'ipv4',
      virtualIps: ['10.10.74.74/24'],
      redirects: [{ originalPort: 9090, destinationPort: 9090 }],
      dataPlane: 'nftables',
      intervalMs: 1000,
      weight: 100,
      priority: 99,
      health: { host: '10.10.74.70', intervalMs: 1000, timeoutMs: 1000, fall: 3, rise: 2 },
      auth: undefined,
      dataDir: '/var/lib/proxyha/lb',
      role: 'scanner',
      transport: 'raw',
      peers: [],
    });

    // @proxyha/health-mon: every destination port, on the management address
    expect(c.health).toMatchObject({
      host: '10.10.74.70',
      ports: [{ port: 9090, probe: 'tcp' }],
      intervalMs: 1000,
      timeoutMs: 1000,
      fall: 3,
      rise: 2,
    });

    // @proxyha/ntp-check
    expect(c.ntp).toEqual({
      servers: [{ host: '10.10.74.1', port: 123 }],
      maxOffsetMs: 1000,
      warnOffsetMs: 500,
      panicThresholdMs: 1_000_000,
      timeoutMs: 2000,
      intervalMs: 64_000,
    });

    // @proxyha/cm-coordinator
    expect(c.cm).toMatchObject({
      name: 'mwg1',
      listen: { host: '10.10.74.70', port: 12346 },
      addresses: ['10.10.74.70'],
      dataDir: '/var/lib/proxyha/cm',
      ca: { cert: '/etc/proxyha/ca.crt', key: '/etc/proxyha/ca.key' },
      certificate: undefined,
      priority: 5,
      peers: [{ host: '10.10.74.86', port: 12346 }],
      policyDir: '/etc/proxyha/policy',
      applyCommand: ['squid', '-k', 'reconfigure'],
      groups: { network: ['default'] },
    });

    expect(c.management).toEqual({
      listen: { host: '127.0.0.1', port: 8443 },
      tokenFile: '/etc/proxyha/admin.token',
      tls: undefined,
    });
    expect(c.maintenance).toEqual({ stateFile: '/var/lib/proxyha/maintenance' });
  });

  it('is in the README verbatim', () => {
    const readme = readFileSync(join(appDir, 'README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`yaml\n${readFileSync(exampleFile, 'utf8')}\`\`\``);
  });
});

describe('defaults', () => {
  it('a file with only the required ha settings gets every default', () => {
    const c = parseGatewayConfig(minimal());
    expect(c.node).toEqual({ name: hostname(), dataDir: '/var/lib/proxyha' });
    expect(c.vrrpd.instances[0]).toMatchObject({ priority: 100, advertInterval: 1000, version: 3 });
    expect(c.lb).toMatchObject({ priority: 100, group: 51, dataPlane: 'nftables', intervalMs: 1000 });
    expect(c.lb.name).toBe(hostname());
    expect(c.health).toMatchObject({
      host: '10.10.74.71',
      intervalMs: 1000,
      timeoutMs: 1000,
      fall: 3,
      rise: 2,
    });
    expect(c.ntp).toBeUndefined();
    expect(c.cm).toBeUndefined();
    expect(c.management).toEqual({
      listen: { host: '127.0.0.1', port: 8443 },
      tokenFile: '/var/lib/proxyha/admin.token',
      tls: undefined,
    });
    expect(c.healthTracker.onFailure).toBe('fault');
  });

  it('the data directory moves every derived path', () => {
    const c = parseGatewayConfig(set(minimal(), 'node', { name: 'n1', dataDir: '/srv/px/' }));
    expect(c.lb.dataDir).toBe('/srv/px/lb');
    expect(c.healthTracker.file).toBe('/srv/px/health.track');
    expect(c.vrrpd.instances[0]?.trackFiles.at(-2)?.path).toBe('/srv/px/health.track');
    expect(c.vrrpd.instances[0]?.trackFiles.at(-1)?.path).toBe('/srv/px/maintenance');
    expect(c.maintenance.stateFile).toBe('/srv/px/maintenance');
    expect(c.management.tokenFile).toBe('/srv/px/admin.token');
    const withCm = parseGatewayConfig({
      ...set(minimal(), 'node', { dataDir: '/srv/px' }),
      cm: { listen: '10.10.74.71:12346', ca: { cert: '/c', key: '/k' } },
    });
    expect(withCm.cm).toMatchObject({ dataDir: '/srv/px/cm', policyDir: '/srv/px/cm/policy' });
  });

  it('a short health interval gives a short probe timeout, to both the monitor and the director', () => {
    const c = parseGatewayConfig({ ...minimal(), health: { interval: '300ms' } });
    expect(c.health).toMatchObject({ intervalMs: 300, timeoutMs: 300 });
    expect(c.lb.health).toMatchObject({ intervalMs: 300, timeoutMs: 300 });
  });
});

describe('derived settings', () => {
  it('onHealthFailure { weight } lowers the priority instead of faulting', () => {
    const c = parseGatewayConfig(set(minimal(), 'ha.onHealthFailure', { weight: -50 }));
    expect(c.healthTracker).toMatchObject({ onFailure: 'weight', weight: -50 });
    expect(c.vrrpd.instances[0]?.trackFiles).toEqual([
      { name: 'health', path: '/var/lib/proxyha/health.track', weight: -50 },
      { name: 'maintenance', path: '/var/lib/proxyha/maintenance', weight: -253 },
    ]);
  });

  it('the operator’s own track files come first, then the health and maintenance trackers', () => {
    const c = parseGatewayConfig(set(minimal(), 'ha.trackFiles', [{ path: '/run/prio', weight: -10 }]));
    expect(c.vrrpd.instances[0]?.trackFiles.map((f) => f.path)).toEqual([
      '/run/prio',
      '/var/lib/proxyha/health.track',
      '/var/lib/proxyha/maintenance',
    ]);
  });

  it('nftables: every standby keeps the director’s table loaded unless the file says otherwise', () => {
    expect(parseGatewayConfig(minimal()).lb.handover.keepLoaded).toBe(true);
    expect(
      parseGatewayConfig(set(minimal(), 'ha.handover', { keepLoaded: false })).lb.handover.keepLoaded,
    ).toBe(false);
    const sync = parseGatewayConfig(set(minimal(), 'ha.handover', { conntrackSync: { interface: 'eth1' } }));
    expect(sync.lb.handover).toMatchObject({ keepLoaded: true, conntrackSync: { interface: 'eth1' } });
    expect(parseGatewayConfig(set(minimal(), 'ha.dataPlane', 'relay')).lb.handover.keepLoaded).toBe(false);
  });

  it('a stopping director keeps the VIPs for up to two advert intervals, unless the file says otherwise', () => {
    const vips = (doc: Parameters<typeof parseGatewayConfig>[0]) =>
      parseGatewayConfig(doc).vrrpd.instances[0]?.releaseVipsAfterSuccessor;
    expect(vips(minimal())).toBe(2000);
    expect(vips(set(minimal(), 'ha.advertInterval', '100ms'))).toBe(200);
    expect(vips(set(minimal(), 'ha.releaseVipsAfterSuccessor', '0s'))).toBe(0);
    expect(vips(set(minimal(), 'ha.releaseVipsAfterSuccessor', '5s'))).toBe(5000);
  });

  it('the health monitor watches each destination port once, in order', () => {
    const c = parseGatewayConfig(
      set(minimal(), 'ha.redirects', [
        { originalPort: 80, destinationPort: 9090 },
        { originalPort: 9090, destinationPort: 9090 },
        { originalPort: 21, destinationPort: 2121 },
      ]),
    );
    expect(c.health.ports.map((p) => p.port)).toEqual([9090, 2121]);
    expect(c.lb.redirects).toHaveLength(3);
  });

  it('passes the advanced VRRP settings to vrrpd as it spells them', () => {
    const keyFile = join(tmp, 'hmac.key');
    writeFileSync(keyFile, `${'k'.repeat(32)}\n`);
    const c = parseGatewayConfig({
      ...minimal(),
      ha: {
        ...minimal().ha,
        version: 2,
        advertInterval: '2s',
        preempt: false,
        preemptDelay: '5s',
        unicastPeers: ['10.10.74.72'],
        garp: { repeat: 3, refreshInterval: '1m' },
        vmac: true,
        notifyMaster: '/usr/local/bin/on-master "VI 1"',
        authHmac: { keys: [{ id: 1, keyFile }] },
        trackInterfaces: [{ name: 'eth1', weight: -20 }],
        strict: true,
        notifyTimeout: '10s',
      },
    });
    expect(c.vrrpd).toMatchObject({ strict: true, notifyTimeout: 10_000 });
    const inst = c.vrrpd.instances[0];
    expect(inst).toMatchObject({
      version: 2,
      advertInterval: 2000,
      preempt: false,
      preemptDelay: 5000,
      unicastPeers: ['10.10.74.72'],
      garp: { repeat: 3, refreshInterval: 60_000 },
      vmac: true,
      notifyMaster: { command: ['/usr/local/bin/on-master', 'VI 1'], shell: false },
      trackInterfaces: [{ name: 'eth1', weight: -20 }],
    });
    expect(inst?.authHmac).toMatchObject({ activeKey: 1, mode: 'enforce', keys: [{ id: 1, keyFile }] });
    // the director announces at the advert interval
    expect(c.lb.intervalMs).toBe(2000);
  });

  it('passes the director, health and central-management settings through', () => {
    const c = parseGatewayConfig({
      ...minimal(),
      ha: {
        ...minimal().ha,
        dataPlane: 'relay',
        proxyProtocol: 'v2',
        weight: 250,
        failAfter: 5,
        auth: { keyFile: '/etc/proxyha/lb.key', window: '10s' },
        persistence: { ipv4PrefixLength: 24 },
        balanceFactor: 0.5,
        loadAware: false,
        adoptTable: false,
        tableSize: 65521,
        seed: 7,
      },
      health: {
        interval: '2s',
        timeout: '500ms',
        fall: 5,
        rise: 4,
        concurrency: 2,
        jitter: 0,
        initial: 'counted',
      },
      cm: {
        listen: '[fd00::71]:12346',
        ca: { cert: '/etc/proxyha/ca.crt' },
        certificate: { cert: '/etc/proxyha/node.crt', key: '/etc/proxyha/node.key' },
        addresses: ['mwg2.example'],
        maxClockSkew: '5s',
        adminLockTtl: '1m',
        groups: { network: ['dmz', 'core'], update: 'u1', runtime: 'tokyo' },
        updates: {
          interval: '1h',
          downloadFromInternet: true,
          sources: [{ name: 'urllists', url: 'https://updates.example/urllists.db', sha256: 'a'.repeat(64) }],
        },
      },
    });
    expect(c.lb).toMatchObject({
      dataPlane: 'relay',
      proxyProtocol: 'v2',
      weight: 250,
      failAfter: 5,
      auth: { keyFile: '/etc/proxyha/lb.key', window: 10_000 },
      persistence: { ipv4PrefixLength: 24, ipv6PrefixLength: 128 },
      balanceFactor: 0.5,
      loadAware: false,
      adoptTable: false,
      tableSize: 65521,
      seed: 7,
      health: { intervalMs: 2000, timeoutMs: 500, fall: 5, rise: 4 },
    });
    expect(c.health).toMatchObject({ intervalMs: 2000, timeoutMs: 500, fall: 5, rise: 4, concurrency: 2 });
    expect(c.health).toMatchObject({ jitter: 0, initial: 'counted' });
    expect(c.cm).toMatchObject({
      listen: { host: 'fd00::71', port: 12346 },
      ca: { cert: '/etc/proxyha/ca.crt', key: undefined },
      certificate: { cert: '/etc/proxyha/node.crt', key: '/etc/proxyha/node.key' },
      addresses: ['mwg2.example'],
      maxClockSkewMs: 5000,
      adminLockTtlMs: 60_000,
      groups: { network: ['dmz', 'core'], update: ['u1'], runtime: 'tokyo' },
      updates: {
        automatic: true,
        intervalMs: 3_600_000,
        downloadFromInternet: true,
        acceptFromNodes: true,
        sources: [expect.objectContaining({ name: 'urllists', url: 'https://updates.example/urllists.db' })],
      },
      applyCommand: undefined,
    });
  });

  it('the loopback transport: vrrpd’s source address is the management address, its peers the nodes', () => {
    const c = parseGatewayConfig({
      ha: {
        interface: 'lo',
        managementIp: '127.0.0.11',
        virtualIps: ['127.0.0.74/32'],
        vrid: 51,
        redirects: [{ originalPort: 19090, destinationPort: 19091 }],
        dataPlane: 'relay',
        transport: 'loopback',
        peers: ['127.0.0.12', '127.0.0.13'],
      },
    });
    expect(c.vrrpd.transport).toBe('loopback');
    expect(c.vrrpd.instances[0]).toMatchObject({
      sourceAddress: '127.0.0.11',
      unicastPeers: ['127.0.0.12', '127.0.0.13'],
    });
    expect(c.lb).toMatchObject({ transport: 'loopback', peers: ['127.0.0.12', '127.0.0.13'], port: 5253 });
  });

  it('management on a non-loopback address with TLS', () => {
    const c = parseGatewayConfig({
      ...minimal(),
      management: { listen: '[::]:8443', tls: { cert: '/etc/proxyha/api.crt', key: '/etc/proxyha/api.key' } },
    });
    expect(c.management.listen).toEqual({ host: '::', port: 8443 });
    expect(c.management.tls).toEqual({ cert: '/etc/proxyha/api.crt', key: '/etc/proxyha/api.key' });
  });
});

// [what, change the example, expected path, message fragment]
type Change = (doc: Doc) => unknown;
const BAD: [string, Change, string, string | RegExp][] = [
  ['vrid out of range', (d) => set(d, 'ha.vrid', 300), 'ha.vrid', '255'],
  ['VRRP priority 0 (vrrpd)', (d) => set(d, 'ha.priority', 0), 'ha.priority', '>=1'],
  ['priority not a number', (d) => set(d, 'ha.priority', 'high'), 'ha.priority', 'number'],
  [
    'advert interval not a duration',
    (d) => set(d, 'ha.advertInterval', 'fast'),
    'ha.advertInterval',
    'not a duration',
  ],
  [
    'VRRPv2 fractional advert interval',
    (d) => set(set(d, 'ha.version', 2), 'ha.advertInterval', '1500ms'),
    'ha.advertInterval',
    'VRRPv2 needs whole seconds',
  ],
  [
    'VRRPv2 with IPv6 VIPs',
    (d) => set(set(set(d, 'ha.version', 2), 'ha.virtualIps', ['fd00::74/64']), 'ha.managementIp', 'fd00::70'),
    'ha.version',
    'IPv4 only',
  ],
  [
    'advert interval beyond the director’s 1m',
    (d) => set(d, 'ha.advertInterval', '2m'),
    'ha.advertInterval',
    '',
  ],
  [
    'interface name too long',
    (d) => set(d, 'ha.interface', 'a-very-long-interface'),
    'ha.interface',
    'interface',
  ],
  ['interface missing', (d) => set(d, 'ha.interface', undefined), 'ha.interface', ''],
  [
    'the management address as a VIP (lb)',
    (d) => set(d, 'ha.virtualIps', ['10.10.74.70/24']),
    'ha.virtualIps[0]',
    'management address',
  ],
  [
    'a VIP that is no address',
    (d) => set(d, 'ha.virtualIps', ['10.10.74.74/24', 'vip']),
    'ha.virtualIps[1]',
    '',
  ],
  [
    'mixed VIP families',
    (d) => set(d, 'ha.virtualIps', ['10.10.74.74/24', 'fd00::74/64']),
    'ha.virtualIps',
    'mixes',
  ],
  [
    'management address no address',
    (d) => set(d, 'ha.managementIp', 'mwg1'),
    'ha.managementIp',
    'IPv4 or IPv6',
  ],
  [
    'redirect port 0',
    (d) => set(d, 'ha.redirects.0.originalPort', 0),
    'ha.redirects[0].originalPort',
    '>= 1',
  ],
  [
    'destination port out of range',
    (d) => set(d, 'ha.redirects.0.destinationPort', 70000),
    'ha.redirects[0].destinationPort',
    '65535',
  ],
  ['no redirects', (d) => set(d, 'ha.redirects', []), 'ha.redirects', 'at least one redirect'],
  [
    'a port redirected twice',
    (d) =>
      set(d, 'ha.redirects', [
        { originalPort: 9090, destinationPort: 9090 },
        { originalPort: 9090, destinationPort: 9091 },
      ]),
    'ha.redirects[1].originalPort',
    'redirected twice',
  ],
  [
    'direct routing with a port rewrite (lb)',
    (d) => set(set(d, 'ha.dataPlane', 'direct'), 'ha.redirects.0.destinationPort', 9091),
    'ha.redirects[0]',
    'cannot rewrite ports',
  ],
  ['unknown data plane', (d) => set(d, 'ha.dataPlane', 'ipvs'), 'ha.dataPlane', 'relay'],
  ['group 0', (d) => set(d, 'ha.group', 0), 'ha.group', '>= 1'],
  ['PROXY protocol without the relay', (d) => set(d, 'ha.proxyProtocol', 'v2'), 'ha.proxyProtocol', 'relay'],
  ['capacity weight negative', (d) => set(d, 'ha.weight', -1), 'ha.weight', '>= 0'],
  ['table size not a prime', (d) => set(d, 'ha.tableSize', 1000), 'ha.tableSize', 'prime'],
  ['loopback without peers', (d) => set(d, 'ha.transport', 'loopback'), 'ha.peers', 'loopback'],
  ['unknown ha setting', (d) => set(d, 'ha.prio', 1), 'ha.prio', 'unknown setting'],
  [
    'a misspelt ha setting',
    (d) => set(d, 'ha.advertIntervall', '1s'),
    'ha.advertIntervall',
    'did you mean advertInterval?',
  ],
  [
    'lb’s interval (the advert interval is used)',
    (d) => set(d, 'ha.interval', '1s'),
    'ha.interval',
    'unknown setting',
  ],
  ['an unknown section', (d) => set(d, 'vrrp', {}), 'vrrp', 'unknown setting'],
  [
    'unknown key inside a vrrpd block',
    (d) => set(d, 'ha.garp', { repeat: 2, burst: 1 }),
    'ha.garp.burst',
    'unknown setting',
  ],
  ['garp repeat out of range', (d) => set(d, 'ha.garp', { repeat: 0 }), 'ha.garp.repeat', ''],
  [
    'onHealthFailure neither fault nor weight',
    (d) => set(d, 'ha.onHealthFailure', 'drain'),
    'ha.onHealthFailure',
    'fault',
  ],
  [
    'onHealthFailure with a positive weight',
    (d) => set(d, 'ha.onHealthFailure', { weight: 10 }),
    'ha.onHealthFailure.weight',
    '<= -1',
  ],
  [
    'a track file named health',
    (d) => set(d, 'ha.trackFiles', [{ name: 'health', path: '/run/x', weight: 0 }]),
    'ha.trackFiles[0].name',
    'own health tracker',
  ],
  [
    'the gateway’s own track file',
    (d) => set(d, 'ha.trackFiles', [{ path: '/var/lib/proxyha/health.track', weight: 0 }]),
    'ha.trackFiles[0].path',
    'own health track file',
  ],
  [
    'a track file named maintenance',
    (d) => set(d, 'ha.trackFiles', [{ name: 'maintenance', path: '/run/x', weight: 0 }]),
    'ha.trackFiles[0].name',
    'own maintenance tracker',
  ],
  [
    'the gateway’s own maintenance file',
    (d) => set(d, 'ha.trackFiles', [{ path: '/var/lib/proxyha/maintenance', weight: 0 }]),
    'ha.trackFiles[0].path',
    'own maintenance track file',
  ],
  [
    'a notify command with an open quote',
    (d) => set(d, 'ha.notifyMaster', 'run "x'),
    'ha.notifyMaster.command',
    '',
  ],
  [
    'an HMAC key file that does not exist',
    (d) => set(d, 'ha.authHmac', { keys: [{ id: 1, keyFile: '/nonexistent/proxyha-test.key' }] }),
    'ha.authHmac.keys[0].keyFile',
    'cannot read key file',
  ],
  [
    'unicast peer of another family',
    (d) => set(d, 'ha.unicastPeers', ['fd00::1']),
    'ha.unicastPeers[0]',
    'family',
  ],
  ['node name with a space', (d) => set(d, 'node.name', 'mwg 1'), 'node.name', 'letters, digits'],
  ['node name too long', (d) => set(d, 'node.name', 'n'.repeat(65)), 'node.name', '64'],
  [
    'relative data directory',
    (d) => set(d, 'node.dataDir', 'var/lib/proxyha'),
    'node.dataDir',
    'absolute path',
  ],
  ['unknown node setting', (d) => set(d, 'node.id', 1), 'node.id', 'unknown setting'],
  [
    'health interval beyond the director’s limit',
    (d) => set(d, 'health.interval', '2h'),
    'health.interval',
    'at most',
  ],
  ['health fall 0', (d) => set(d, 'health.fall', 0), 'health.fall', '>= 1'],
  ['health jitter too large', (d) => set(d, 'health.jitter', 0.9), 'health.jitter', '0.5'],
  ['health ports (derived)', (d) => set(d, 'health.ports', [9090]), 'health.ports', 'unknown setting'],
  ['health not a mapping', (d) => set(d, 'health', 5), 'health', 'mapping'],
  ['no NTP server', (d) => set(d, 'ntp.servers', []), 'ntp.servers', 'at least one server'],
  [
    'NTP server not a host',
    (d) => set(d, 'ntp.servers', ['bad host']),
    'ntp.servers[0]',
    "invalid server 'bad host'",
  ],
  ['NTP max offset 0', (d) => set(d, 'ntp.maxOffset', 0), 'ntp.maxOffset', 'at least 1ms'],
  [
    'NTP warn offset above the max',
    (d) => set(d, 'ntp.warnOffset', '2s'),
    'ntp.warnOffset',
    'must not exceed maxOffset',
  ],
  [
    'NTP panic below the max',
    (d) => set(d, 'ntp.panicThreshold', '500ms'),
    'ntp.panicThreshold',
    'below maxOffset',
  ],
  ['NTP polled too often', (d) => set(d, 'ntp.interval', '5s'), 'ntp.interval', 'at least 15s'],
  [
    'cm listen without a port number',
    (d) => set(d, 'cm.listen', '10.10.74.70:http'),
    'cm.listen',
    'host:port',
  ],
  [
    'cm listening on a redirect port',
    (d) => set(d, 'cm.listen', '10.10.74.70:9090'),
    'cm.listen',
    'is a redirect port (ha.redirects[0].originalPort)',
  ],
  [
    'cm listening on a destination proxy port',
    (d) => set(d, 'ha.redirects', [{ originalPort: 80, destinationPort: 12346 }]),
    'cm.listen',
    'destination proxy port (ha.redirects[0].destinationPort)',
  ],
  ['cm priority 0', (d) => set(d, 'cm.priority', 0), 'cm.priority', '>= 1'],
  ['cm without a CA', (d) => set(d, 'cm.ca', undefined), 'cm.ca', ''],
  ['cm CA without a key or certificate', (d) => set(d, 'cm.ca.key', undefined), 'cm.ca.key', 'is needed'],
  ['cm peer with a bad port', (d) => set(d, 'cm.peers', ['10.10.74.86:0']), 'cm.peers[0]', 'host:port'],
  ['cm name (it is node.name)', (d) => set(d, 'cm.name', 'x'), 'cm.name', 'unknown setting'],
  ['cm dataDir (derived)', (d) => set(d, 'cm.dataDir', '/x'), 'cm.dataDir', 'unknown setting'],
  [
    'cm unknown group kind',
    (d) => set(d, 'cm.groups', { transit: ['a'] }),
    'cm.groups.transit',
    'unknown setting',
  ],
  [
    'cm update source without an integrity check',
    (d) => set(d, 'cm.updates', { sources: [{ name: 'urllists', url: 'https://updates.example/u.db' }] }),
    'cm.updates.sources[0].sha256',
    'needs an integrity check',
  ],
  ['empty apply command', (d) => set(d, 'policy.apply', []), 'policy.apply', 'needs a program'],
  ['relative policy directory', (d) => set(d, 'policy.dir', 'policy'), 'policy.dir', 'absolute path'],
  ['policy without cm', (d) => set(d, 'cm', undefined), 'policy', 'needs a cm section'],
  [
    'management on a host name',
    (d) => set(d, 'management.listen', 'localhost:8443'),
    'management.listen',
    'with an IP address',
  ],
  [
    'management on the network without TLS',
    (d) => set(d, 'management.listen', '0.0.0.0:8443'),
    'management.tls',
    'not a loopback address',
  ],
  [
    'management on a redirect port',
    (d) => set(d, 'management.listen', '127.0.0.1:9090'),
    'management.listen',
    'redirect port',
  ],
  [
    'management on the cm port',
    (d) =>
      set(d, 'management', {
        listen: '0.0.0.0:12346',
        tls: { cert: '/etc/proxyha/api.crt', key: '/etc/proxyha/api.key' },
      }),
    'management.listen',
    "central management's (cm.listen)",
  ],
  ['management TLS without a key', (d) => set(d, 'management.tls', { cert: '/c' }), 'management.tls.key', ''],
  [
    'relative token file',
    (d) => set(d, 'management.tokenFile', 'admin.token'),
    'management.tokenFile',
    'absolute',
  ],
  ['no ha section', (d) => set(d, 'ha', undefined), 'ha', 'is required'],
  ['ha not a mapping', (d) => set(d, 'ha', 'eth0'), 'ha', 'must be a mapping'],
];

describe('every error names the path of the file', () => {
  it.each(BAD)('%s', (_what, change, path, fragment) => {
    const doc = example();
    change(doc);
    const issues = issuesOf(doc);
    const found = issues.find((i) => i.path === path);
    expect(found, `no issue at ${path} in ${JSON.stringify(issues)}`).toBeDefined();
    expect(found?.message).toContain(fragment);
    // never a package's own path (instances[0]..., ports[0], name, dataDir)
    for (const i of issues)
      if (!i.message.startsWith('unknown setting')) expect(i.path).toMatch(SECTION_PATH);
  });

  it('an empty or non-mapping document is a root issue', () => {
    for (const doc of [null, undefined, [], 'ha', 42, 10n, () => 1])
      expect(issuesOf(doc)).toEqual([
        { path: '(root)', message: expect.stringContaining('must be a mapping') },
      ]);
  });

  it('reports every problem at once, in file order, one per path', () => {
    const doc = example();
    set(doc, 'management.tokenFile', 'relative');
    set(doc, 'ha.vrid', 0);
    set(doc, 'node.dataDir', 'relative');
    set(doc, 'ha.bogus', 1);
    set(doc, 'ha.priority', 300); // vrrpd and lb both refuse it: one issue
    const issues = issuesOf(doc);
    expect(issues.map((i) => i.path)).toEqual([
      'node.dataDir',
      'ha.vrid',
      'ha.priority',
      'ha.bogus',
      'management.tokenFile',
    ]);
  });

  it('throws GATEWAY_CONFIG_INVALID with a message naming the source and each path', () => {
    const doc = set(example(), 'ha.vrid', 300);
    let error: unknown;
    try {
      parseGatewayConfig(doc, '/etc/proxyha/proxyha.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe('GATEWAY_CONFIG_INVALID');
    expect((error as GatewayError).message).toBe(
      '/etc/proxyha/proxyha.yaml: invalid configuration:\n  ha.vrid: Too big: expected number to be <=255 (got 300)',
    );
  });
});

describe('mapIssuePath', () => {
  const rules = [
    { from: '(root)', to: 'ha' },
    { from: '', to: 'ha' },
    { from: 'instances[0]', to: 'ha' },
    { from: 'instances[0].trackFiles[2]', to: 'ha.onHealthFailure', whole: true },
    { from: 'name', to: 'node.name' },
  ];
  it.each([
    ['instances[0].priority', 'ha.priority'],
    ['instances[0].virtualIps[1]', 'ha.virtualIps[1]'],
    ['instances[0].trackFiles[1].path', 'ha.trackFiles[1].path'],
    ['instances[0].trackFiles[2].weight', 'ha.onHealthFailure'],
    ['instances[0].trackFiles[20]', 'ha.trackFiles[20]'],
    ['strict', 'ha.strict'],
    ['name', 'node.name'],
    ['names', 'ha.names'],
    ['(root)', 'ha'],
  ])('%s -> %s', (from, to) => expect(mapIssuePath(from, rules)).toBe(to));
});

describe('the README', () => {
  const readme = readFileSync(join(appDir, 'README.md'), 'utf8');
  const keys = ['node', 'ha', 'health', 'ntp', 'cm', 'policy', 'management'].flatMap((section) =>
    (KNOWN_KEYS[section] ?? []).map((k) => `${section}.${k}`),
  );
  it('lists the settings of every section', () => expect(keys.length).toBeGreaterThan(70));
  it.each(keys)('documents %s', (key) => expect(readme).toContain(`| \`${key}\``));
});

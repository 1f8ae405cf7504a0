// The proxyha-lb configuration file and command line: defaults, path-precise errors, exit codes.

import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliInMemory } from '@proxyha/common/cli';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main';
import { establishedConnections, LbError, parseLbDaemonConfig, systemResources } from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'proxyha-lb-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (...argv: string[]) => runCliInMemory('proxyha-lb', main, argv);

// the settings of the issue, spelled so
const documented = `group: 51                    # load-balancing id
interface: eth0
managementIp: 10.10.74.70    # this node's own address, never a VIP
virtualIps: ["10.10.74.74"]
redirects:
  - { originalPort: 9090, destinationPort: 9090 }
dataPlane: relay             # relay | nftables (part 2)
interval: "1s"
weight: 100                  # capacity
health: { interval: "1s", fall: 3, rise: 2 }   # probes every destination port locally
auth: { keyFile: /etc/proxyha/lb.key }         # optional
`;

function issuesOf(data: unknown): string[] {
  try {
    parseLbDaemonConfig(data);
  } catch (e) {
    expect(e).toBeInstanceOf(LbError);
    expect((e as LbError).code).toBe('LB_CONFIG_INVALID');
    return ((e as LbError<{ issues: { path: string; message: string }[] }>).details.issues ?? []).map(
      (i) => `${i.path}: ${i.message}`,
    );
  }
  throw new Error('expected LB_CONFIG_INVALID');
}

describe('proxyha-lb configuration', () => {
  it('accepts the documented file and fills the defaults', async () => {
    const file = join(dir, 'lb.yaml');
    writeFileSync(file, documented);
    const r = await cli('--config', file, '-t');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/configuration OK \(group 51, 1 redirect\(s\)\)/);
    const c = parseLbDaemonConfig({
      interface: 'eth0',
      managementIp: '10.10.74.70',
      virtualIps: ['10.10.74.74/24'],
      redirects: [{ originalPort: 9090, destinationPort: 3128 }],
    });
    expect(c).toMatchObject({
      group: 51,
      intervalMs: 1000,
      failAfter: 3,
      weight: 100,
      dataPlane: 'nftables',
      role: 'auto',
      transport: 'raw',
      health: { host: '10.10.74.70', intervalMs: 1000, fall: 3, rise: 2 },
      persistence: { ipv4PrefixLength: 32, ipv6PrefixLength: 128 },
      auth: undefined,
    });
  });

  it('names the path and the value of every problem', () => {
    const issues = issuesOf({
      group: 300,
      interface: 'eth0',
      managementIp: '10.10.74.74',
      virtualIps: ['10.10.74.74', 'nonsense'],
      redirects: [
        { originalPort: 9090, destinationPort: 70000 },
        { originalPort: 9090, destinationPort: 3128 },
      ],
      interval: '5ms',
      dataPlane: 'ipvs',
      weight: -1,
      tableSize: 4096,
      bogus: true,
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^group: .*255.*300/),
        expect.stringMatching(/^virtualIps\[1\]: must be an address/),
        expect.stringMatching(/^redirects\[0\]\.destinationPort: must be <= 65535/),
        expect.stringMatching(/^interval: /),
        expect.stringMatching(/^dataPlane: /),
        expect.stringMatching(/^weight: must be >= 0/),
        expect.stringMatching(/^tableSize|bogus|\(root\)/),
      ]),
    );
    const semantic = issuesOf({
      interface: 'eth0',
      managementIp: '10.10.74.74',
      virtualIps: ['10.10.74.74/24'],
      redirects: [
        { originalPort: 9090, destinationPort: 9090 },
        { originalPort: 9090, destinationPort: 3128 },
      ],
      tableSize: 4096,
      transport: 'loopback',
    });
    expect(semantic).toEqual([
      expect.stringMatching(/^virtualIps\[0\]: is the management address.*\(got 10\.10\.74\.74\/24\)/),
      'redirects[1].originalPort: port 9090 is redirected twice',
      'peers: the loopback transport needs the other nodes’ addresses',
      'tableSize: must be a prime (got 4096)',
    ]);
  });

  it('exits 2 with the path-precise message for an invalid file, 1 when -s finds no daemon', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, documented.replace('group: 51', 'group: 0'));
    const r = await cli('--config', bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/proxyha-lb: .*bad\.yaml.*group: must be >= 1 \(got 0\)/s);
    const good = join(dir, 'good.yaml');
    writeFileSync(good, `${documented.replace(/auth:.*\n/, '')}dataDir: ${join(dir, 'nothing-here')}\n`);
    const s = await cli('--config', good, '-s');
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/no proxyha-lb daemon answers on .*proxyha-lb\.sock/);
    const missing = await cli('--config', join(dir, 'absent.yaml'));
    expect(missing.code).toBe(2);
  });
});

describe('established connections per destination port', () => {
  it('counts ESTABLISHED sockets by local port from the kernel tables', async () => {
    const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:2382 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0B4DA8C0:2382 0C4DA8C0:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0B4DA8C0:2382 0D4DA8C0:D2F1 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0B4DA8C0:0C38 0D4DA8C0:D2F2 06 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 20 4 30 10 -1
   4: 0B4DA8C0:D2F3 0D4DA8C0:2382 01 00000000:00000000 00:00000000 00000000     0        0 5 1 0000000000000000 20 4 30 10 -1
`;
    const tcp6 = `  sl  local_address                         remote_address                        st
   0: 0000000000000000FFFF00000B4DA8C0:0C38 0000000000000000FFFF00000C4DA8C0:9C40 01 00000000:00000000
`;
    expect(await establishedConnections([9090, 3128], [tcp, tcp6])).toEqual([
      { port: 9090, active: 2 },
      { port: 3128, active: 1 },
    ]);
  });

  it('the real sampler counts the connections open on loopback now (sock_diag) and reads the host', async () => {
    const accepted: Socket[] = [];
    const server = createServer((c) => accepted.push(c));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const clients = [connect(port, '127.0.0.1'), connect(port, '127.0.0.1')];
    try {
      await Promise.all(clients.map((c) => once(c, 'connect')));
      while (accepted.length < 2) await new Promise((r) => setTimeout(r, 5));
      const sample = systemResources();
      const s = await sample([port, 1]);
      expect(s.connections).toEqual([
        { port, active: 2 },
        { port: 1, active: 0 },
      ]);
      // the same count as the text tables
      expect(await establishedConnections([port])).toEqual([{ port, active: 2 }]);
      const r = s.resources;
      for (const v of [r.cpu, r.memory]) expect(v >= 0 && v <= 1).toBe(true);
      expect(r.memory).toBeGreaterThan(0);
      expect(r.load).toBeGreaterThanOrEqual(0);
    } finally {
      for (const c of [...clients, ...accepted]) c.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});

// Unit tests of the direct-routing data plane: the generated ruleset (golden), the bucket deltas, the
// port-rewrite validation, and the data plane and node setup against a fake command runner.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandOptions, CommandResult, CommandRunner } from '@proxyha/common';
import { describe, expect, it } from 'vitest';
import {
  DirectRoutingDataPlane,
  DirectRoutingNodeSetup,
  directNodeSysctls,
  neighbourMacResolver,
} from '../src/dataplane/direct';
import {
  directBucketDelta,
  directBucketMap,
  directDeltaScript,
  directIpv6Vips,
  directRedirectIssues,
  directRehashScript,
  directRuleset,
  parseDirectBuckets,
  parseDirectPinValues,
  validateDirectRedirects,
} from '../src/dataplane/direct-rules';
import type { DataPlaneNode, DataPlaneSettings } from '../src/dataplane/types';
import { LbError } from '../src/errors';
import type { BucketTable } from '../src/scheduler/types';

const INPUT = {
  interface: 'eth0',
  directorMac: '02:00:00:00:00:01',
  virtualIps: ['192.168.77.74/24', '192.168.77.75', 'fd77::74'],
  ports: [9090, 8080],
  size: 7,
  seed: 0x70726f78,
  persistence: { ipv4PrefixLength: 32, ipv6PrefixLength: 128 },
};

const GOLDEN_RULESET = `table netdev proxyha_lb_direct
delete table netdev proxyha_lb_direct
table netdev proxyha_lb_direct {
  counter accepted {
  }
  counter unowned {
  }
  map buckets {
    typeof numgen inc mod 2 : ether daddr
    elements = { 1 : 02:00:00:00:00:03, 3 : 02:00:00:00:00:02 }
  }
  chain ingress {
    type filter hook ingress device "eth0" priority -150; policy accept;
    ip daddr { 192.168.77.74, 192.168.77.75 } tcp dport { 8080, 9090 } jump classify4
  }
  map pins4 {
    typeof ip saddr . tcp sport : ether daddr
    size 262144
    flags dynamic,timeout
    timeout 300s
  }
  map closing4 {
    typeof ip saddr . tcp sport : ether daddr
    size 262144
    flags dynamic,timeout
    timeout 60s
  }
  chain classify4 {
    tcp flags & (fin | syn | rst | ack) == syn goto new4
    ether daddr set ip saddr . tcp sport map @pins4 goto track4
    ether daddr set ip saddr . tcp sport map @closing4 goto out
    ether daddr set jhash ip saddr mod 7 seed 0x70726f78 map @buckets goto track4
  }
  chain new4 {
    ether daddr set jhash ip saddr mod 7 seed 0x70726f78 map @buckets counter name accepted delete @closing4 { ip saddr . tcp sport : ether daddr } delete @pins4 { ip saddr . tcp sport : ether daddr } goto track4
    counter name unowned
  }
  chain track4 {
    tcp flags & (fin | rst) != 0 delete @pins4 { ip saddr . tcp sport : ether daddr } add @closing4 { ip saddr . tcp sport : ether daddr } goto out
    update @pins4 { ip saddr . tcp sport : ether daddr }
    goto out
  }
  chain out {
    ether daddr 02:00:00:00:00:01 accept
    ether saddr set 02:00:00:00:00:01 fwd to "eth0"
  }
}
`;

const GOLDEN_REHASH = `flush chain netdev proxyha_lb_direct classify4
flush chain netdev proxyha_lb_direct new4
flush map netdev proxyha_lb_direct buckets
table netdev proxyha_lb_direct {
  chain classify4 {
    tcp flags & (fin | syn | rst | ack) == syn goto new4
    ether daddr set ip saddr . tcp sport map @pins4 goto track4
    ether daddr set ip saddr . tcp sport map @closing4 goto out
    ether daddr set jhash ip saddr & 255.255.255.0 mod 11 seed 0x00000001 map @buckets goto track4
  }
  chain new4 {
    ether daddr set jhash ip saddr & 255.255.255.0 mod 11 seed 0x00000001 map @buckets counter name accepted delete @closing4 { ip saddr . tcp sport : ether daddr } delete @pins4 { ip saddr . tcp sport : ether daddr } goto track4
    counter name unowned
  }
}
add element netdev proxyha_lb_direct buckets { 0 : 02:00:00:00:00:02 }
`;

const ok = (stdout = ''): CommandResult => ({ stdout, stderr: '', code: 0, signal: null, timedOut: false });
const fail = (stderr: string, code = 1): CommandResult => ({
  stdout: '',
  stderr,
  code,
  signal: null,
  timedOut: false,
});

interface Call {
  readonly line: string;
  readonly input: string | undefined;
}

/** A fake runner: records every call; `answer` decides the result (default: success, no output). */
function fakeRunner(answer: (line: string, input?: string) => CommandResult | undefined = () => undefined) {
  const calls: Call[] = [];
  const run: CommandRunner = async (file, args, options?: CommandOptions) => {
    const line = [file, ...args].join(' ');
    calls.push({ line, input: options?.input });
    return answer(line, options?.input) ?? ok();
  };
  return { run, calls, nft: () => calls.filter((c) => c.line === 'nft -f -').map((c) => c.input as string) };
}

const LINK = JSON.stringify([{ ifname: 'eth0', address: '02:00:00:00:00:01' }]);
const MACS: Record<string, string> = {
  '10.0.0.2': '02:00:00:00:00:02',
  '10.0.0.3': '02:00:00:00:00:03',
  '10.0.0.4': '02:00:00:00:00:04',
};

const SETTINGS: DataPlaneSettings = {
  virtualIps: ['10.0.0.100/24'],
  redirects: [{ originalPort: 3128, destinationPort: 3128 }],
  persistence: { ipv4PrefixLength: 32, ipv6PrefixLength: 128 },
  interface: 'eth0',
  managementIp: '10.0.0.1',
};

const NODES = new Map<string, DataPlaneNode>([
  ['a', { id: 'a', address: '10.0.0.1', self: true }],
  ['b', { id: 'b', address: '10.0.0.2', self: false }],
  ['c', { id: 'c', address: '10.0.0.3', self: false }],
  ['d', { id: 'd', address: '10.0.0.4', self: false }],
]);

/** A table of `size` buckets owned by `pattern` (node ids, cycled; null: no owner). */
function table(pattern: readonly (string | null)[], size = 7, seed = 1): BucketTable {
  const nodes = ['a', 'b', 'c', 'd'];
  const owners = new Uint16Array(size);
  for (let b = 0; b < size; b++) {
    const id = pattern[b % pattern.length] ?? null;
    owners[b] = id === null ? 0xffff : nodes.indexOf(id);
  }
  return { size, seed, nodes, owners };
}

function plane(answer?: (line: string, input?: string) => CommandResult | undefined) {
  const fake = fakeRunner(answer ?? ((line) => (line.startsWith('ip -j link') ? ok(LINK) : undefined)));
  const resolved: string[] = [];
  const dp = new DirectRoutingDataPlane(SETTINGS, {
    run: fake.run,
    resolveMac: async (address) => {
      resolved.push(address);
      return MACS[address];
    },
  });
  return { dp, fake, resolved };
}

describe('direct-routing ruleset', () => {
  it('generates the table (golden)', () => {
    expect(
      directRuleset(
        INPUT,
        new Map([
          [3, '02:00:00:00:00:02'],
          [1, '02:00:00:00:00:03'],
        ]),
      ),
    ).toBe(GOLDEN_RULESET);
  });

  it('rewrites only the hashing chains and the bucket map for a new size or seed (golden)', () => {
    const script = directRehashScript(
      { ...INPUT, size: 11, seed: 1, persistence: { ipv4PrefixLength: 24, ipv6PrefixLength: 128 } },
      new Map([[0, '02:00:00:00:00:02']]),
    );
    expect(script).toBe(GOLDEN_REHASH);
    expect(script).not.toMatch(/pins4 \{\n|flush map .* pins4|delete table/);
  });

  it('never lets a SYN follow a pin: new connections take the bucket map only', () => {
    const text = directRuleset(INPUT);
    const syn = text.split('\n').findIndex((l) => l.includes('== syn goto new4'));
    const pin = text.split('\n').findIndex((l) => l.includes('map @pins4 goto'));
    expect(syn).toBeGreaterThan(0);
    expect(syn).toBeLessThan(pin);
    const lines = text.split('\n');
    const newChain = lines[lines.indexOf('  chain new4 {') + 1] ?? '';
    expect(newChain).toContain('map @buckets');
    expect(newChain).not.toMatch(/map @pins4|map @closing4/);
  });

  it('masks the client address to the persistence prefix before hashing', () => {
    const hash = (p: number) =>
      /jhash ip saddr[^m]*mod/.exec(
        directRuleset({ ...INPUT, persistence: { ipv4PrefixLength: p, ipv6PrefixLength: 128 } }),
      )?.[0];
    expect(hash(32)).toBe('jhash ip saddr mod');
    expect(hash(24)).toBe('jhash ip saddr & 255.255.255.0 mod');
    expect(hash(20)).toBe('jhash ip saddr & 255.255.240.0 mod');
    expect(hash(0)).toBe('jhash ip saddr & 0.0.0.0 mod');
  });

  it('takes the timeouts, the table name and the pin map size', () => {
    const text = directRuleset({
      ...INPUT,
      table: 'lb2',
      pinTimeoutS: 900,
      closingTimeoutS: 10,
      maxPins: 1000,
    });
    expect(text).toContain('table netdev lb2 {');
    expect(text).toContain('timeout 900s');
    expect(text).toContain('timeout 10s');
    expect(text).toContain('size 1000');
  });

  it('refuses bad input with LB_INVALID_ARGUMENT naming each path', () => {
    const bad = () =>
      directRuleset({
        ...INPUT,
        interface: 'eth 0',
        directorMac: 'nope',
        virtualIps: ['fd77::1'],
        ports: [0],
      });
    expect(bad).toThrow(LbError);
    try {
      bad();
    } catch (e) {
      const paths = ((e as LbError).details as { issues: { path: string }[] }).issues.map((i) => i.path);
      expect((e as LbError).code).toBe('LB_INVALID_ARGUMENT');
      expect(paths).toEqual(['interface', 'directorMac', 'virtualIps', 'ports']);
    }
  });

  it('lists the IPv6 VIPs it leaves to the director', () => {
    expect(directIpv6Vips(['192.168.77.74/24', 'fd77::74/64', 'FD77::75'])).toEqual(['fd77::74', 'fd77::75']);
  });
});

describe('direct-routing bucket deltas', () => {
  const macOf = (id: string) => ({ a: 'aa:00:00:00:00:0a', b: 'aa:00:00:00:00:0b', c: undefined })[id];

  it('maps buckets to owner MACs, leaving out unowned buckets and owners without MAC', () => {
    const t = { nodes: ['a', 'b', 'c'], owners: Uint16Array.from([0, 1, 2, 0xffff, 1]) };
    expect([...directBucketMap(t, macOf)]).toEqual([
      [0, 'aa:00:00:00:00:0a'],
      [1, 'aa:00:00:00:00:0b'],
      [4, 'aa:00:00:00:00:0b'],
    ]);
  });

  it('deletes and adds changed elements only, in one transaction text', () => {
    const from = new Map([
      [0, 'aa:00:00:00:00:0a'],
      [1, 'aa:00:00:00:00:0b'],
      [2, 'aa:00:00:00:00:0b'],
    ]);
    const to = new Map([
      [0, 'aa:00:00:00:00:0a'],
      [2, 'aa:00:00:00:00:0a'],
      [3, 'aa:00:00:00:00:0b'],
    ]);
    const delta = directBucketDelta(from, to);
    expect(delta).toEqual({
      remove: [1, 2],
      add: [
        [2, 'aa:00:00:00:00:0a'],
        [3, 'aa:00:00:00:00:0b'],
      ],
    });
    expect(directDeltaScript(delta)).toBe(
      'delete element netdev proxyha_lb_direct buckets { 1, 2 }\n' +
        'add element netdev proxyha_lb_direct buckets { 2 : aa:00:00:00:00:0a, 3 : aa:00:00:00:00:0b }\n',
    );
    expect(directDeltaScript(directBucketDelta(to, to))).toBe('');
  });

  it('parses the bucket map and pins read back with nft -j', () => {
    const buckets = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        {
          map: {
            name: 'buckets',
            type: 'integer',
            map: 'ether_addr',
            elem: [
              [1, '02:00:00:00:00:02'],
              [7, '02:00:00:00:00:03'],
            ],
          },
        },
      ],
    });
    expect([...parseDirectBuckets(buckets)]).toEqual([
      [1, '02:00:00:00:00:02'],
      [7, '02:00:00:00:00:03'],
    ]);
    const pins = JSON.stringify({
      nftables: [
        {
          map: {
            name: 'pins4',
            elem: [
              [
                { elem: { val: { concat: ['192.168.77.100', 40000] }, timeout: 300, expires: 290 } },
                '02:00:00:00:00:02',
              ],
              [{ concat: ['192.168.77.101', 40001] }, '02:00:00:00:00:03'],
            ],
          },
        },
      ],
    });
    expect(parseDirectPinValues(pins)).toEqual(['02:00:00:00:00:02', '02:00:00:00:00:03']);
  });
});

describe('no port rewrite in direct routing', () => {
  it('accepts redirects that keep their port', () => {
    expect(() => validateDirectRedirects([{ originalPort: 3128, destinationPort: 3128 }])).not.toThrow();
    expect(directRedirectIssues([])).toEqual([]);
  });

  it('refuses a redirect that rewrites its port, naming its path', () => {
    const redirects = [
      { originalPort: 80, destinationPort: 80 },
      { originalPort: 8080, destinationPort: 3128 },
    ];
    expect(directRedirectIssues(redirects, 'lb.redirects')).toEqual([
      {
        path: 'lb.redirects[1]',
        message:
          'dataPlane direct cannot rewrite ports: destinationPort must equal originalPort (got 8080 -> 3128)',
      },
    ]);
    let error: unknown;
    try {
      validateDirectRedirects(redirects);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LbError);
    expect((error as LbError).code).toBe('LB_DR_PORT_REWRITE');
    expect((error as LbError).message).toContain('redirects[1]');
  });

  it('the data plane refuses such settings at construction', () => {
    expect(
      () =>
        new DirectRoutingDataPlane({
          ...SETTINGS,
          redirects: [{ originalPort: 80, destinationPort: 3128 }],
        }),
    ).toThrow(expect.objectContaining({ code: 'LB_DR_PORT_REWRITE' }));
  });
});

describe('DirectRoutingDataPlane (fake runner)', () => {
  it('starts by replacing a stale table, with the interface MAC read from ip link', async () => {
    const { dp, fake } = plane();
    await dp.start();
    await dp.start();
    expect(fake.calls.map((c) => c.line)).toEqual(['ip -j link show dev eth0', 'nft -f -']);
    const script = fake.nft()[0] as string;
    expect(script.startsWith('table netdev proxyha_lb_direct\ndelete table netdev proxyha_lb_direct\n')).toBe(
      true,
    );
    expect(script).toContain('ether saddr set 02:00:00:00:00:01 fwd to "eth0"');
    expect(script).toContain('ip daddr 10.0.0.100 tcp dport 3128 jump classify4');
    expect(dp.started).toBe(true);
  });

  it('applies the first table in full, then only the changed buckets; the director maps to itself', async () => {
    const { dp, fake, resolved } = plane();
    await dp.start();
    await dp.apply({ table: table(['a', 'b', 'c']), nodes: NODES, changedBuckets: 'all' });
    const first = fake.nft()[1] as string;
    expect(first).toContain('flush map netdev proxyha_lb_direct buckets');
    expect(first).toContain('mod 7 seed 0x00000001');
    expect(first).toContain(
      'add element netdev proxyha_lb_direct buckets { 0 : 02:00:00:00:00:01, 1 : 02:00:00:00:00:02, 2 : 02:00:00:00:00:03, 3 : 02:00:00:00:00:01, 4 : 02:00:00:00:00:02, 5 : 02:00:00:00:00:03, 6 : 02:00:00:00:00:01 }',
    );
    // bucket 1 moves from b to d
    await dp.apply({ table: table(['a', 'd', 'c', 'a', 'b', 'c', 'a']), nodes: NODES, changedBuckets: [1] });
    expect(fake.nft()[2]).toBe(
      'delete element netdev proxyha_lb_direct buckets { 1 }\nadd element netdev proxyha_lb_direct buckets { 1 : 02:00:00:00:00:04 }\n',
    );
    // the same table again: nothing to do
    await dp.apply({ table: table(['a', 'd', 'c', 'a', 'b', 'c', 'a']), nodes: NODES, changedBuckets: [] });
    expect(fake.nft()).toHaveLength(3);
    // MACs are resolved once per address (the director's own MAC is never resolved)
    expect(resolved).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4']);
    expect(dp.installed().get(1)).toBe('02:00:00:00:00:04');
  });

  it('draining a node removes its buckets at once and never touches the pins', async () => {
    const { dp, fake } = plane();
    await dp.start();
    await dp.apply({ table: table(['b', 'c']), nodes: NODES, changedBuckets: 'all' });
    await dp.apply({ table: table(['c']), nodes: NODES, changedBuckets: [0, 2, 4, 6] });
    const drain = fake.nft()[2] as string;
    expect(drain).toBe(
      'delete element netdev proxyha_lb_direct buckets { 0, 2, 4, 6 }\n' +
        'add element netdev proxyha_lb_direct buckets { 0 : 02:00:00:00:00:03, 2 : 02:00:00:00:00:03, 4 : 02:00:00:00:00:03, 6 : 02:00:00:00:00:03 }\n',
    );
    expect(fake.nft().slice(1).join('')).not.toMatch(
      /map pins4 \{|flush map netdev proxyha_lb_direct pins4|element netdev proxyha_lb_direct pins4/,
    );
    expect([...dp.installed().values()]).not.toContain('02:00:00:00:00:02');
    // a failed node with no buckets at all, and buckets without any owner
    await dp.apply({ table: table([null, 'c']), nodes: NODES, changedBuckets: 'all' });
    expect(fake.nft()[3]).toBe('delete element netdev proxyha_lb_direct buckets { 0, 2, 4, 6 }\n');
  });

  it('a new table size or seed rewrites the hashing chains, keeping the pins', async () => {
    const { dp, fake } = plane();
    await dp.start();
    await dp.apply({ table: table(['b']), nodes: NODES, changedBuckets: 'all' });
    await dp.apply({ table: table(['b'], 11, 1), nodes: NODES, changedBuckets: 'all' });
    await dp.apply({ table: table(['b'], 11, 2), nodes: NODES, changedBuckets: 'all' });
    const [, , bigger, reseeded] = fake.nft();
    expect(bigger).toContain('mod 11 seed 0x00000001');
    expect(reseeded).toContain('mod 11 seed 0x00000002');
    for (const s of [bigger, reseeded]) expect(s).not.toMatch(/delete table|pins4 \{\n/);
  });

  it('reports a node whose MAC cannot be resolved; its buckets stay with the director', async () => {
    const fake = fakeRunner((line) => (line.startsWith('ip -j link') ? ok(LINK) : undefined));
    const dp = new DirectRoutingDataPlane(SETTINGS, {
      run: fake.run,
      resolveMac: async (address) => (address === '10.0.0.3' ? undefined : MACS[address]),
    });
    const refused: string[] = [];
    const off = dp.on('nodeRefused', (id, address, reason) => refused.push(`${id} ${address} ${reason}`));
    await dp.start();
    await dp.apply({ table: table(['b', 'c']), nodes: NODES, changedBuckets: 'all' });
    expect(refused).toEqual(['c 10.0.0.3 no MAC address for 10.0.0.3 on eth0 (LB_DR_NO_MAC)']);
    expect([...dp.installed().keys()]).toEqual([0, 2, 4, 6]);
    off();
  });

  it('a failed transaction rejects, is emitted, and keeps the previous state', async () => {
    let refuse = false;
    const { dp, fake } = plane((line) => {
      if (line.startsWith('ip -j link')) return ok(LINK);
      if (refuse && line === 'nft -f -')
        return fail('Error: Could not process rule: No buffer space available');
      return undefined;
    });
    const errors: Error[] = [];
    dp.on('error', (e) => errors.push(e));
    await dp.start();
    await dp.apply({ table: table(['b']), nodes: NODES, changedBuckets: 'all' });
    refuse = true;
    await expect(
      dp.apply({ table: table(['c']), nodes: NODES, changedBuckets: 'all' }),
    ).rejects.toMatchObject({
      code: 'LB_DR_COMMAND_FAILED',
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain('No buffer space available');
    expect([...new Set(dp.installed().values())]).toEqual(['02:00:00:00:00:02']);
    refuse = false;
    await dp.apply({ table: table(['c']), nodes: NODES, changedBuckets: 'all' });
    expect(fake.nft().at(-1)).toContain(
      'delete element netdev proxyha_lb_direct buckets { 0, 1, 2, 3, 4, 5, 6 }',
    );
  });

  it('refuses a table before start and after stop; stop is idempotent', async () => {
    const { dp } = plane((line) => {
      if (line.startsWith('ip -j link')) return ok(LINK);
      if (line.startsWith('nft delete table')) return fail('Error: No such file or directory');
      return undefined;
    });
    await expect(
      dp.apply({ table: table(['b']), nodes: NODES, changedBuckets: 'all' }),
    ).rejects.toMatchObject({
      code: 'LB_DR_NOT_STARTED',
    });
    await dp.start();
    await dp.stop();
    await dp.stop();
    expect(dp.started).toBe(false);
    await expect(
      dp.apply({ table: table(['b']), nodes: NODES, changedBuckets: 'all' }),
    ).rejects.toMatchObject({
      code: 'LB_DR_NOT_STARTED',
    });
  });

  it('counts the live pins per node and the SYN counters', async () => {
    const map = (name: string, macs: string[]) =>
      ok(
        JSON.stringify({
          nftables: [
            { map: { name, elem: macs.map((m, i) => [{ concat: [`192.0.2.${i}`, 1000 + i] }, m]) } },
          ],
        }),
      );
    const counter = (packets: number) =>
      ok(JSON.stringify({ nftables: [{ counter: { packets, bytes: 0 } }] }));
    const { dp } = plane((line) => {
      if (line.startsWith('ip -j link')) return ok(LINK);
      if (line.endsWith(' buckets')) return map('buckets', []);
      if (line.endsWith(' pins4'))
        return map('pins4', [
          '02:00:00:00:00:02',
          '02:00:00:00:00:02',
          '02:00:00:00:00:01',
          '02:00:00:00:00:03',
        ]);
      if (line.endsWith(' closing4')) return map('closing4', ['02:00:00:00:00:03']);
      if (line.endsWith(' accepted')) return counter(42);
      if (line.endsWith(' unowned')) return counter(3);
      return undefined;
    });
    await dp.start();
    await dp.apply({ table: table(['a', 'b', 'c']), nodes: NODES, changedBuckets: 'all' });
    const stats = await dp.refreshStats();
    expect(Object.fromEntries(stats.activeByNode)).toEqual({ a: 1, b: 2, c: 1 });
    expect(stats.accepted).toBe(42);
    expect(stats.failed).toBe(3);
    expect(dp.stats()).toBe(stats);
    expect((await dp.readBack()).closing).toEqual(['02:00:00:00:00:03']);
  });
});

describe('neighbourMacResolver', () => {
  it('reads the neighbour table, pings once when it has no usable entry, and reads again', async () => {
    let pinged = false;
    const fake = fakeRunner((line) => {
      if (line === 'ip -j neigh show to 10.0.0.2 dev eth0')
        return ok(
          JSON.stringify(
            pinged
              ? [{ dst: '10.0.0.2', lladdr: '02:AA:00:00:00:02', state: ['REACHABLE'] }]
              : [{ dst: '10.0.0.2', state: ['FAILED'] }],
          ),
        );
      if (line.startsWith('ping')) {
        pinged = true;
        return ok();
      }
      if (line === 'ip -j neigh show to 10.0.0.9 dev eth0') return ok('[]');
      return undefined;
    });
    const resolve = neighbourMacResolver(fake.run);
    expect(await resolve('10.0.0.2', 'eth0')).toBe('02:aa:00:00:00:02');
    expect(fake.calls.map((c) => c.line)).toEqual([
      'ip -j neigh show to 10.0.0.2 dev eth0',
      'ping -c 1 -W 1 -I eth0 10.0.0.2',
      'ip -j neigh show to 10.0.0.2 dev eth0',
    ]);
    expect(await resolve('10.0.0.2', 'eth0')).toBe('02:aa:00:00:00:02');
    expect(await resolve('10.0.0.9', 'eth0')).toBeUndefined();
  });
});

describe('DirectRoutingNodeSetup (fake runner)', () => {
  function nodeRunner(values: Record<string, string>, lo: string[] = []) {
    const sysctls = { ...values };
    const addresses = new Set(lo);
    const fake = fakeRunner((line) => {
      const [file, ...args] = line.split(' ');
      if (file === 'sysctl' && args[0] === '-n') return ok(`${sysctls[args[1] as string] ?? '0'}\n`);
      if (file === 'sysctl' && args[0] === '-qw') {
        const [k, v] = (args[1] as string).split('=');
        sysctls[k as string] = v as string;
        return ok();
      }
      if (line === 'ip -j addr show dev lo')
        return ok(
          JSON.stringify([
            {
              ifname: 'lo',
              addr_info: [{ local: '127.0.0.1' }, ...[...addresses].map((a) => ({ local: a }))],
            },
          ]),
        );
      if (file === 'ip' && args[0] === 'addr' && args[1] === 'add') {
        addresses.add((args[2] as string).split('/')[0] as string);
        return ok();
      }
      if (file === 'ip' && args[0] === 'addr' && args[1] === 'del') {
        addresses.delete((args[2] as string).split('/')[0] as string);
        return ok();
      }
      return undefined;
    });
    return { fake, sysctls, addresses };
  }

  it('adds the VIPs to lo, sets arp_ignore/arp_announce, and restores everything on stop', async () => {
    const before = { 'net/ipv4/conf/all/arp_announce': '1', 'net/ipv4/conf/eth1/arp_ignore': '2' };
    const { fake, sysctls, addresses } = nodeRunner(before);
    const setup = new DirectRoutingNodeSetup({
      virtualIps: ['192.168.77.74/24', 'fd77::74'],
      interface: 'eth1',
      run: fake.run,
    });
    await setup.start();
    expect(setup.active).toBe(true);
    expect(sysctls).toEqual({ ...before, ...directNodeSysctls('eth1') });
    expect(sysctls['net/ipv4/conf/eth1/arp_ignore']).toBe('1');
    expect([...addresses].sort()).toEqual(['192.168.77.74', 'fd77::74']);
    expect(fake.calls.map((c) => c.line)).toContain('ip addr add 192.168.77.74/32 dev lo');
    expect(fake.calls.map((c) => c.line)).toContain('ip addr add fd77::74/128 dev lo nodad');
    await setup.stop();
    await setup.stop();
    expect(setup.active).toBe(false);
    expect(sysctls).toEqual({
      'net/ipv4/conf/all/arp_ignore': '0',
      'net/ipv4/conf/all/arp_announce': '1',
      'net/ipv4/conf/eth1/arp_ignore': '2',
      'net/ipv4/conf/eth1/arp_announce': '0',
    });
    expect(addresses.size).toBe(0);
  });

  it('leaves a VIP that was already on lo in place', async () => {
    const { fake, addresses } = nodeRunner({}, ['192.168.77.74']);
    const setup = new DirectRoutingNodeSetup({
      virtualIps: ['192.168.77.74'],
      interface: 'eth0',
      run: fake.run,
    });
    await setup.start();
    await setup.stop();
    expect(fake.calls.some((c) => c.line.startsWith('ip addr'))).toBe(false);
    expect([...addresses]).toEqual(['192.168.77.74']);
  });

  it('undoes what it did when a step fails, and throws LB_DR_COMMAND_FAILED', async () => {
    const { fake, sysctls } = nodeRunner({});
    const run: CommandRunner = async (file, args, o) =>
      file === 'ip' && args[1] === 'add'
        ? fail('RTNETLINK answers: Operation not permitted', 2)
        : fake.run(file, args, o);
    const setup = new DirectRoutingNodeSetup({ virtualIps: ['192.168.77.74'], interface: 'eth0', run });
    await expect(setup.start()).rejects.toMatchObject({ code: 'LB_DR_COMMAND_FAILED' });
    expect(setup.active).toBe(false);
    expect(Object.values(sysctls).every((v) => v === '0')).toBe(true);
  });

  it('with a state file, a setup started after a crash undoes what the crashed run left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proxyha-dr-state-'));
    try {
      const stateFile = join(dir, 'direct-node-state.json');
      const { fake, sysctls, addresses } = nodeRunner({ 'net/ipv4/conf/all/arp_announce': '1' });
      const options = { virtualIps: ['192.168.77.74'], interface: 'eth0', run: fake.run, stateFile };
      await new DirectRoutingNodeSetup(options).start(); // then "SIGKILL": never stopped
      expect(existsSync(stateFile)).toBe(true);
      expect([...addresses]).toEqual(['192.168.77.74']);
      const again = new DirectRoutingNodeSetup(options);
      await again.start();
      await again.stop();
      expect([...addresses]).toEqual([]);
      expect(sysctls).toEqual({
        'net/ipv4/conf/all/arp_ignore': '0',
        'net/ipv4/conf/all/arp_announce': '1',
        'net/ipv4/conf/eth0/arp_ignore': '0',
        'net/ipv4/conf/eth0/arp_announce': '0',
      });
      expect(existsSync(stateFile)).toBe(false);
      // a node that directs at once after the crash (stop without start) cleans up as well
      await new DirectRoutingNodeSetup(options).start();
      await new DirectRoutingNodeSetup(options).stop();
      expect([...addresses]).toEqual([]);
      expect(sysctls['net/ipv4/conf/all/arp_announce']).toBe('1');
      expect(existsSync(stateFile)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a VIP that is not an address', () => {
    expect(() => new DirectRoutingNodeSetup({ virtualIps: ['vip'], interface: 'eth0' })).toThrow(
      expect.objectContaining({ code: 'LB_INVALID_ARGUMENT' }),
    );
  });
});

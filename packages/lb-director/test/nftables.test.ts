// The nftables data plane without root: generated texts (golden), deltas, parsing of `nft -j` output,
// and the data plane's behaviour against a fake CommandRunner.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandOptions, CommandResult, CommandRunner } from '@proxyha/common';
import { MemoryLogger } from '@proxyha/common';
import { describe, expect, it } from 'vitest';
import {
  type DataPlaneNode,
  type DataPlaneSettings,
  NftablesDataPlane,
  nftCounters,
  nftDelta,
  nftHashExpression,
  nftRemoveTable,
  nftRuleset,
  nftSpec,
  nftTableName,
  nftTargets,
  parseNftRules,
  parseNftTable,
} from '../src/dataplane/index';
import { LbError } from '../src/errors';
import type { BucketTable } from '../src/scheduler/types';

const SETTINGS: DataPlaneSettings = {
  virtualIps: ['192.168.77.74/24'],
  redirects: [{ originalPort: 9090, destinationPort: 3128 }],
  persistence: { ipv4PrefixLength: 32, ipv6PrefixLength: 128 },
  interface: 'eth0',
  managementIp: '192.168.77.11',
};

const NODES: ReadonlyMap<string, DataPlaneNode> = new Map([
  ['a', { id: 'a', address: '192.168.77.11', self: true }],
  ['b', { id: 'b', address: '192.168.77.12', self: false }],
  ['c', { id: 'c', address: '192.168.77.13', self: false }],
]);

function table(owners: number[], seed = 0x70726f78): BucketTable {
  return { size: owners.length, seed, nodes: ['a', 'b', 'c'], owners: Uint16Array.from(owners) };
}

const GOLDEN_V4 = `add table inet proxyha_lb_51
delete table inet proxyha_lb_51
table inet proxyha_lb_51 {
\tmap b4_9090 {
\t\ttype mark : ipv4_addr . inet_service
\t\telements = {
\t\t\t0 : 192.168.77.11 . 3128,
\t\t\t1 : 192.168.77.12 . 3128,
\t\t\t2 : 192.168.77.13 . 3128,
\t\t\t4 : 192.168.77.12 . 3128
\t\t}
\t}
\tchain prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tip daddr 192.168.77.74 tcp dport 9090 ct state new ct mark set jhash ip saddr mod 5 seed 0x70726f78 counter dnat ip to ct mark map @b4_9090 comment "proxyha dnat 9090"
\t\tip daddr 192.168.77.74 tcp dport 9090 ct state new counter reject with tcp reset comment "proxyha no owner"
\t}
\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tct status dnat ct original ip daddr 192.168.77.74 meta l4proto tcp ct original proto-dst 9090 counter snat ip to 192.168.77.74 comment "proxyha snat"
\t}
}
`;

const GOLDEN_DUAL = `add table inet proxyha_lb_7
delete table inet proxyha_lb_7
table inet proxyha_lb_7 {
\tmap b4_80 {
\t\ttype mark : ipv4_addr . inet_service
\t\telements = {
\t\t\t0 : 192.168.77.11 . 8080,
\t\t\t1 : 192.168.77.12 . 8080
\t\t}
\t}
\tmap b4_9090 {
\t\ttype mark : ipv4_addr . inet_service
\t\telements = {
\t\t\t0 : 192.168.77.11 . 9090,
\t\t\t1 : 192.168.77.12 . 9090
\t\t}
\t}
\tmap b6_80 {
\t\ttype mark : ipv6_addr . inet_service
\t\telements = {
\t\t\t0 : fd77::74 . 8080,
\t\t\t2 : fd77::13 . 8080
\t\t}
\t}
\tmap b6_9090 {
\t\ttype mark : ipv6_addr . inet_service
\t\telements = {
\t\t\t0 : fd77::74 . 9090,
\t\t\t2 : fd77::13 . 9090
\t\t}
\t}
\tchain prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tip daddr { 192.168.77.74, 192.168.77.75 } tcp dport 80 ct state new ct mark set jhash ip saddr & 255.255.255.0 mod 3 seed 0x00000007 counter dnat ip to ct mark map @b4_80 comment "proxyha dnat 80"
\t\tip daddr { 192.168.77.74, 192.168.77.75 } tcp dport 9090 ct state new ct mark set jhash ip saddr & 255.255.255.0 mod 3 seed 0x00000007 counter dnat ip to ct mark map @b4_9090 comment "proxyha dnat 9090"
\t\tip daddr { 192.168.77.74, 192.168.77.75 } tcp dport { 80, 9090 } ct state new counter reject with tcp reset comment "proxyha no owner"
\t\tip6 daddr fd77::74 tcp dport 80 ct state new ct mark set jhash ip6 saddr & ffff:ffff:ffff:ffff:: mod 3 seed 0x00000007 counter dnat ip6 to ct mark map @b6_80 comment "proxyha dnat 80"
\t\tip6 daddr fd77::74 tcp dport 9090 ct state new ct mark set jhash ip6 saddr & ffff:ffff:ffff:ffff:: mod 3 seed 0x00000007 counter dnat ip6 to ct mark map @b6_9090 comment "proxyha dnat 9090"
\t\tip6 daddr fd77::74 tcp dport { 80, 9090 } ct state new counter reject with tcp reset comment "proxyha no owner"
\t}
\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tct status dnat ct original ip daddr 192.168.77.74 meta l4proto tcp ct original proto-dst 80 counter snat ip to 192.168.77.74 comment "proxyha snat"
\t\tct status dnat ct original ip daddr 192.168.77.74 meta l4proto tcp ct original proto-dst 9090 counter snat ip to 192.168.77.74 comment "proxyha snat"
\t\tct status dnat ct original ip daddr 192.168.77.75 meta l4proto tcp ct original proto-dst 80 counter snat ip to 192.168.77.75 comment "proxyha snat"
\t\tct status dnat ct original ip daddr 192.168.77.75 meta l4proto tcp ct original proto-dst 9090 counter snat ip to 192.168.77.75 comment "proxyha snat"
\t\tct status dnat ct original ip6 daddr fd77::74 meta l4proto tcp ct original proto-dst 80 counter snat ip6 to fd77::74 comment "proxyha snat"
\t\tct status dnat ct original ip6 daddr fd77::74 meta l4proto tcp ct original proto-dst 9090 counter snat ip6 to fd77::74 comment "proxyha snat"
\t}
}
`;

describe('nftables ruleset generator', () => {
  it('generates the full IPv4 ruleset (golden), without elements for buckets without owner', () => {
    const spec = nftSpec(SETTINGS, nftTableName(51));
    const { targets, problems } = nftTargets(spec, table([0, 1, 2, 0xffff, 1]), NODES);
    expect(problems).toEqual([]);
    expect(nftRuleset(spec, targets)).toBe(GOLDEN_V4);
  });

  it('generates IPv4 + IPv6 VIPs, several redirects, persistence masks; self goes to its management address or the VIP', () => {
    const spec = nftSpec(
      {
        virtualIps: ['192.168.77.74', 'fd77::74/64', '192.168.77.75/24', '192.168.77.74/24'],
        redirects: [
          { originalPort: 9090, destinationPort: 9090 },
          { originalPort: 80, destinationPort: 8080 },
        ],
        persistence: { ipv4PrefixLength: 24, ipv6PrefixLength: 64 },
        interface: 'eth0',
        managementIp: '192.168.77.11',
      },
      'proxyha_lb_7',
    );
    const nodes = new Map<string, DataPlaneNode>([
      ['a', { id: 'a', address: '192.168.77.11', self: true }],
      ['b', { id: 'b', address: '192.168.77.12', self: false }],
      ['c', { id: 'c', address: 'fd77::13', self: false }],
    ]);
    const { targets, problems } = nftTargets(
      spec,
      { size: 3, seed: 7, nodes: ['a', 'b', 'c'], owners: Uint16Array.from([0, 1, 2]) },
      nodes,
    );
    expect(problems).toEqual([
      { nodeId: 'c', family: 'ipv4', reason: 'no address of this family', buckets: 1 },
      { nodeId: 'b', family: 'ipv6', reason: 'no address of this family', buckets: 1 },
    ]);
    expect(nftRuleset(spec, targets)).toBe(GOLDEN_DUAL);
  });

  it('before the first table only resets new connections and SNATs', () => {
    const spec = nftSpec(SETTINGS, 'proxyha_lb_51');
    const text = nftRuleset(spec);
    expect(text).not.toContain('map ');
    expect(text).not.toContain('dnat ip to');
    expect(text).toContain('reject with tcp reset comment "proxyha no owner"');
    expect(text.startsWith('add table inet proxyha_lb_51\ndelete table inet proxyha_lb_51\n')).toBe(true);
  });

  it('masks the client address for prefixes shorter than the address (none at full length)', () => {
    const spec = (p4: number, p6: number) =>
      nftSpec({ ...SETTINGS, persistence: { ipv4PrefixLength: p4, ipv6PrefixLength: p6 } }, 't');
    expect(nftHashExpression(spec(32, 128), 'ipv4', 32749, 1)).toBe(
      'jhash ip saddr mod 32749 seed 0x00000001',
    );
    expect(nftHashExpression(spec(20, 128), 'ipv4', 32749, 0xffffffff)).toBe(
      'jhash ip saddr & 255.255.240.0 mod 32749 seed 0xffffffff',
    );
    expect(nftHashExpression(spec(32, 56), 'ipv6', 4093, 0)).toBe(
      'jhash ip6 saddr & ffff:ffff:ffff:ff00:: mod 4093 seed 0x00000000',
    );
    expect(nftHashExpression(spec(32, 128), 'ipv6', 4093, 0)).toBe(
      'jhash ip6 saddr mod 4093 seed 0x00000000',
    );
  });

  it('reports owners missing from the nodes and leaves their buckets out', () => {
    const spec = nftSpec(SETTINGS, 't');
    const t: BucketTable = { size: 3, seed: 1, nodes: ['a', 'zz'], owners: Uint16Array.from([1, 1, 0]) };
    const { targets, problems } = nftTargets(spec, t, NODES);
    expect(problems).toEqual([{ nodeId: 'zz', family: 'ipv4', reason: 'unknown node', buckets: 2 }]);
    expect(targets.byFamily.ipv4).toEqual([null, null, '192.168.77.11']);
  });

  it('rejects bad settings with LB_INVALID_ARGUMENT naming each path', () => {
    try {
      nftSpec(
        {
          virtualIps: ['nope'],
          redirects: [
            { originalPort: 80, destinationPort: 0 },
            { originalPort: 9090, destinationPort: 9090 },
            { originalPort: 9090, destinationPort: 1 },
          ],
          persistence: { ipv4PrefixLength: 33, ipv6PrefixLength: 128 },
          interface: 'eth0',
          managementIp: 'x',
        },
        'bad-name',
      );
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LbError);
      expect((e as LbError).code).toBe('LB_INVALID_ARGUMENT');
      const paths = ((e as LbError).details as { issues: { path: string }[] }).issues.map((i) => i.path);
      expect(paths).toEqual([
        'tableName',
        'virtualIps[0]',
        'redirects[0]',
        'redirects[2].originalPort',
        'persistence.ipv4PrefixLength',
        'managementIp',
      ]);
    }
    expect(() => nftSpec({ ...SETTINGS, virtualIps: [], redirects: [] }, 't')).toThrow(/at least one VIP/);
  });
});

describe('nftables deltas', () => {
  const spec = nftSpec(
    { ...SETTINGS, redirects: [...SETTINGS.redirects, { originalPort: 8080, destinationPort: 8080 }] },
    'proxyha_lb_51',
  );
  const t = (owners: number[]) => nftTargets(spec, table(owners), NODES).targets;

  it('deletes and adds only the changed buckets, in every redirect map, in one text', () => {
    const before = t([0, 1, 2, 0xffff, 1, 2]);
    const after = t([0, 2, 2, 1, 0xffff, 2]);
    expect(nftDelta(spec, before, after)).toBe(
      [
        'delete element inet proxyha_lb_51 b4_8080 { 1, 4 }',
        'add element inet proxyha_lb_51 b4_8080 { 1 : 192.168.77.13 . 8080, 3 : 192.168.77.12 . 8080 }',
        'delete element inet proxyha_lb_51 b4_9090 { 1, 4 }',
        'add element inet proxyha_lb_51 b4_9090 { 1 : 192.168.77.13 . 3128, 3 : 192.168.77.12 . 3128 }',
        '',
      ].join('\n'),
    );
  });

  it('is empty when nothing changed (whatever the owner indexes), and refuses size or seed changes', () => {
    const a = t([0, 1, 2]);
    expect(nftDelta(spec, a, t([0, 1, 2]))).toBe('');
    /* the same addresses through another node order */
    const reordered = nftTargets(
      spec,
      { size: 3, seed: 0x70726f78, nodes: ['c', 'b', 'a'], owners: Uint16Array.from([2, 1, 0]) },
      NODES,
    ).targets;
    expect(nftDelta(spec, a, reordered)).toBe('');
    expect(() => nftDelta(spec, a, t([0, 1, 2, 0]))).toThrow(LbError);
    expect(() => nftDelta(spec, a, nftTargets(spec, table([0, 1, 2], 1), NODES).targets)).toThrow(
      /same table size and seed/,
    );
  });

  it('splits large deltas into statements of at most 512 elements', () => {
    const n = 1500;
    const before = t(Array.from({ length: n }, () => 1));
    const after = t(Array.from({ length: n }, () => 2));
    const lines = nftDelta(spec, before, after).trimEnd().split('\n');
    /* per map: 3 delete + 3 add statements */
    expect(lines).toHaveLength(12);
    expect(lines.filter((l) => l.startsWith('delete element inet proxyha_lb_51 b4_9090')).length).toBe(3);
    const keys = lines
      .filter((l) => l.startsWith('add element inet proxyha_lb_51 b4_9090'))
      .flatMap((l) => [...l.matchAll(/(\d+) : /g)].map((m) => Number(m[1])));
    expect(keys).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('removes the table with add + delete (idempotent without destroy)', () => {
    expect(nftRemoveTable('proxyha_lb_51')).toBe(
      'add table inet proxyha_lb_51\ndelete table inet proxyha_lb_51\n',
    );
  });
});

/** A listing of nft 1.0.6 (`nft -j list table inet proxyha_lb_51`), trimmed to one map and two rules. */
const SAMPLE_JSON = `{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "proxyha_lb_51", "handle": 7}}, {"map": {"family": "inet", "name": "b4_9090", "table": "proxyha_lb_51", "type": "mark", "handle": 4, "map": "ipv4_addr . inet_service", "elem": [[0, {"concat": ["192.168.77.11", 3128]}], [1, {"concat": ["192.168.77.12", 3128]}], [4, {"concat": ["192.168.77.12", 3128]}], [5, {"concat": ["192.168.77.11", 3128]}]]}}, {"chain": {"family": "inet", "table": "proxyha_lb_51", "name": "prerouting", "handle": 1, "type": "nat", "hook": "prerouting", "prio": -100, "policy": "accept"}}, {"rule": {"family": "inet", "table": "proxyha_lb_51", "chain": "prerouting", "handle": 8, "comment": "proxyha dnat 9090", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "192.168.77.74"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 9090}}, {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "new"}}, {"mangle": {"key": {"ct": {"key": "mark"}}, "value": {"jhash": {"mod": 7, "seed": 1886547832, "expr": {"&": [{"payload": {"protocol": "ip", "field": "saddr"}}, "255.255.255.0"]}}}}}, {"counter": {"packets": 17, "bytes": 1020}}, {"dnat": {"family": "ip", "addr": {"map": {"key": {"ct": {"key": "mark"}}, "data": "@b4_9090"}}}}]}}, {"rule": {"family": "inet", "table": "proxyha_lb_51", "chain": "prerouting", "handle": 10, "comment": "proxyha no owner", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "192.168.77.74"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": {"set": [8080, 9090]}}}, {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "new"}}, {"counter": {"packets": 3, "bytes": 180}}, {"reject": {"type": "tcp reset"}}]}}]}`;

describe('nft -j parsing', () => {
  it('reads maps, chains, rules and counters', () => {
    const s = parseNftTable(SAMPLE_JSON, 'proxyha_lb_51');
    expect(s.family).toBe('inet');
    const m = s.maps.get('b4_9090');
    expect(m?.type).toBe('mark');
    expect(m?.valueType).toBe('ipv4_addr . inet_service');
    expect([...(m?.elements ?? [])]).toEqual([
      [0, { address: '192.168.77.11', port: 3128 }],
      [1, { address: '192.168.77.12', port: 3128 }],
      [4, { address: '192.168.77.12', port: 3128 }],
      [5, { address: '192.168.77.11', port: 3128 }],
    ]);
    expect(s.chains).toEqual([{ name: 'prerouting', type: 'nat', hook: 'prerouting', priority: -100 }]);
    expect(s.rules.map((r) => [r.comment, r.packets])).toEqual([
      ['proxyha dnat 9090', 17],
      ['proxyha no owner', 3],
    ]);
    expect(nftCounters(s)).toEqual({ accepted: 14, failed: 3 });
    expect(nftCounters({ rules: parseNftRules(SAMPLE_JSON) })).toEqual({ accepted: 14, failed: 3 });
  });

  it('accepts elements with attributes ({ elem: { val } })', () => {
    const json = SAMPLE_JSON.replace(
      '[[0, {"concat"',
      '[[{"elem": {"val": 0, "counter": {"packets": 1}}}, {"concat"',
    );
    expect(parseNftTable(json, 'proxyha_lb_51').maps.get('b4_9090')?.elements.get(0)?.address).toBe(
      '192.168.77.11',
    );
  });

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['no nftables array', '{"x":1}', /no "nftables" array/],
    ['no table', '{"nftables":[]}', /no table/],
    [
      'another table',
      SAMPLE_JSON.replace('"name": "proxyha_lb_51", "handle": 7', '"name": "other", "handle": 7'),
      /expected inet proxyha_lb_51/,
    ],
    [
      'a bad element',
      SAMPLE_JSON.replace('["192.168.77.11", 3128]', '["192.168.77.11", 70000]'),
      /address \. port/,
    ],
    ['a bad key', SAMPLE_JSON.replace('[[0, {"concat"', '[["x", {"concat"'), /not a bucket/],
    ['a bad counter', SAMPLE_JSON.replace('"packets": 17', '"packets": "17"'), /counter/],
  ])('rejects %s with LB_NFT_BAD_STATE', (_what, json, message) => {
    try {
      parseNftTable(json, 'proxyha_lb_51');
      expect.unreachable();
    } catch (e) {
      expect((e as LbError).code).toBe('LB_NFT_BAD_STATE');
      expect((e as Error).message).toMatch(message);
    }
  });
});

interface Call {
  file: string;
  args: readonly string[];
  input?: string;
}

/** A fake runner: records calls; `respond` decides each result (default success). */
function fakeRunner(respond: (c: Call) => Partial<CommandResult> = () => ({})) {
  const calls: Call[] = [];
  const sysctl = new Map<string, string>([
    ['net.ipv4.ip_forward', '0'],
    ['net.ipv6.conf.all.forwarding', '1'],
  ]);
  const run: CommandRunner = async (file, args, options?: CommandOptions) => {
    const call: Call = { file, args, ...(options?.input !== undefined ? { input: options.input } : {}) };
    calls.push(call);
    let stdout = '';
    if (file === 'sysctl' && args[0] === '-n') stdout = `${sysctl.get(args[1] as string) ?? ''}\n`;
    if (file === 'sysctl' && args[0] === '-qw') {
      const [k, v] = (args[1] as string).split('=');
      sysctl.set(k as string, v as string);
    }
    return { stdout, stderr: '', code: 0, signal: null, timedOut: false, ...respond(call) };
  };
  return { run, calls, sysctl, nft: () => calls.filter((c) => c.file === 'nft') };
}

const update = (owners: number[], size?: number) => ({
  table: table(
    size === undefined ? owners : Array.from({ length: size }, (_, i) => owners[i % owners.length] as number),
  ),
  nodes: NODES,
  changedBuckets: 'all' as const,
});

describe('NftablesDataPlane with a fake runner', () => {
  it('start loads the table (replacing a stale one), sets ip_forward; apply loads then deltas; stop removes and resets', async () => {
    const f = fakeRunner();
    const log = new MemoryLogger();
    const dp = new NftablesDataPlane({ settings: SETTINGS, group: 51, run: f.run, logger: log });
    expect(dp.tableName).toBe('proxyha_lb_51');
    await dp.start();
    expect(f.sysctl.get('net.ipv4.ip_forward')).toBe('1');
    expect(
      log.entries.some((e) => e.level === 'warn' && e.message.includes('net.ipv4.ip_forward was 0')),
    ).toBe(true);
    expect(f.nft()).toHaveLength(1);
    expect(f.nft()[0]?.args).toEqual(['-f', '-']);
    expect(f.nft()[0]?.input).toBe(nftRuleset(dp.spec));

    await dp.apply(update([0, 1, 2, 0xffff, 1]));
    expect(dp.lastApply?.mode).toBe('full');
    expect(f.nft().at(-1)?.input).toBe(GOLDEN_V4);

    await dp.apply(update([0, 2, 2, 0xffff, 1]));
    expect(dp.lastApply).toMatchObject({ mode: 'delta', changedBuckets: 1 });
    expect(f.nft().at(-1)?.input).toBe(
      'delete element inet proxyha_lb_51 b4_9090 { 1 }\nadd element inet proxyha_lb_51 b4_9090 { 1 : 192.168.77.13 . 3128 }\n',
    );
    const before = f.nft().length;
    await dp.apply(update([0, 2, 2, 0xffff, 1]));
    expect(dp.lastApply?.mode).toBe('none');
    expect(f.nft().length).toBe(before);

    /* a size change loads the whole table again */
    await dp.apply(update([0, 1, 2], 7));
    expect(dp.lastApply?.mode).toBe('full');
    expect(f.nft().at(-1)?.input).toContain('mod 7 seed');

    await dp.stop();
    expect(f.nft().at(-1)?.input).toBe(nftRemoveTable('proxyha_lb_51'));
    expect(f.sysctl.get('net.ipv4.ip_forward')).toBe('0');
    await dp.stop();
    expect(dp.started).toBe(false);
  });

  it('with a state file, a run after a SIGKILL turns off the forwarding the killed run turned on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nft-state-'));
    try {
      const stateFile = join(dir, 'nftables-state.json');
      const f = fakeRunner();
      const killed = new NftablesDataPlane({ settings: SETTINGS, group: 51, run: f.run, stateFile });
      await killed.start();
      expect(f.sysctl.get('net.ipv4.ip_forward')).toBe('1');
      expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({ forwardingSet: ['net.ipv4.ip_forward'] });
      // killed here: no stop. The next run's daemon calls stop() at start, whatever its role
      const log = new MemoryLogger();
      const next = new NftablesDataPlane({
        settings: SETTINGS,
        group: 51,
        run: f.run,
        stateFile,
        logger: log,
      });
      await next.stop();
      expect(f.sysctl.get('net.ipv4.ip_forward')).toBe('0');
      expect(existsSync(stateFile)).toBe(false);
      expect(log.entries.map((e) => e.message)).toContain(
        `taking over what a previous run left (${stateFile}): net.ipv4.ip_forward set to 1`,
      );
      // a run that directs at once keeps the record (the sysctl is on already) and resets it at stop
      await new NftablesDataPlane({ settings: SETTINGS, group: 51, run: f.run, stateFile }).start(); // killed too
      const third = new NftablesDataPlane({
        settings: SETTINGS,
        group: 51,
        run: f.run,
        stateFile,
        logger: log,
      });
      await third.start();
      expect(f.sysctl.get('net.ipv4.ip_forward')).toBe('1');
      expect(log.entries.filter((e) => e.message.startsWith('taking over'))).toHaveLength(2);
      expect(existsSync(stateFile)).toBe(true);
      await third.stop();
      expect(f.sysctl.get('net.ipv4.ip_forward')).toBe('0');
      expect(existsSync(stateFile)).toBe(false);
      // a file that is not ours is ignored
      writeFileSync(stateFile, '{"forwardingSet":["kernel.panic"]}\n');
      await new NftablesDataPlane({ settings: SETTINGS, group: 51, run: f.run, stateFile }).stop();
      expect(f.calls.some((c) => c.args.includes('kernel.panic=0'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('check mode only logs an error when forwarding is off', async () => {
    const f = fakeRunner();
    const log = new MemoryLogger();
    const dp = new NftablesDataPlane({
      settings: SETTINGS,
      group: 51,
      run: f.run,
      logger: log,
      forwarding: 'check',
    });
    await dp.start();
    expect(f.sysctl.get('net.ipv4.ip_forward')).toBe('0');
    expect(
      log.entries.some((e) => e.level === 'error' && e.message.includes('net.ipv4.ip_forward is 0')),
    ).toBe(true);
    await dp.stop();
  });

  it('maps a missing nft to LB_NFT_UNAVAILABLE and a refused transaction to LB_NFT_FAILED with stderr', async () => {
    const missing = fakeRunner((c) => (c.file === 'nft' ? { code: 127, stderr: 'spawn nft ENOENT' } : {}));
    const a = new NftablesDataPlane({ settings: SETTINGS, group: 51, run: missing.run });
    await expect(a.start()).rejects.toMatchObject({ code: 'LB_NFT_UNAVAILABLE' });
    expect(a.started).toBe(false);
    /* forwarding set by the failed start is reset */
    expect(missing.sysctl.get('net.ipv4.ip_forward')).toBe('0');

    const refused = fakeRunner((c) =>
      c.file === 'nft' ? { code: 1, stderr: 'Error: Could not process rule: Operation not permitted\n' } : {},
    );
    const b = new NftablesDataPlane({ settings: SETTINGS, group: 51, run: refused.run });
    const err = await b.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LbError);
    expect((err as LbError).code).toBe('LB_NFT_FAILED');
    expect((err as Error).message).toBe(
      'start: nft exit 1: Error: Could not process rule: Operation not permitted',
    );
    expect((err as LbError).details).toMatchObject({ operation: 'start', code: 1 });
  });

  it('refuses apply before start with LB_NFT_NOT_STARTED and emits it as an error event', async () => {
    const f = fakeRunner();
    const dp = new NftablesDataPlane({ settings: SETTINGS, group: 51, run: f.run });
    const errors: Error[] = [];
    const off = dp.on('error', (e) => errors.push(e));
    await expect(dp.apply(update([0]))).rejects.toMatchObject({ code: 'LB_NFT_NOT_STARTED' });
    expect(errors.map((e) => (e as LbError).code)).toEqual(['LB_NFT_NOT_STARTED']);
    (off as () => void)();
    await expect(dp.apply(update([0]))).rejects.toThrow();
    expect(errors).toHaveLength(1);
  });

  it('falls back to a full load when nft refuses a delta; keeps the old state when both fail', async () => {
    let failDeltas = false;
    let failAll = false;
    const f = fakeRunner((c) => {
      if (c.file !== 'nft' || c.input === undefined) return {};
      if (failAll || (failDeltas && c.input.startsWith('delete element')))
        return { code: 1, stderr: 'Error: Could not process rule: No such file or directory' };
      return {};
    });
    const dp = new NftablesDataPlane({ settings: SETTINGS, group: 51, run: f.run });
    await dp.start();
    await dp.apply(update([0, 1, 2, 1, 1]));
    failDeltas = true;
    await dp.apply(update([0, 2, 2, 1, 1]));
    expect(dp.lastApply?.mode).toBe('full');
    expect(dp.installed?.byFamily.ipv4?.[1]).toBe('192.168.77.13');
    failAll = true;
    await expect(dp.apply(update([1, 1, 1, 1, 1]))).rejects.toMatchObject({ code: 'LB_NFT_FAILED' });
    expect(dp.installed?.byFamily.ipv4?.[1]).toBe('192.168.77.13');
  });

  it('serialises concurrent calls in call order', async () => {
    const order: string[] = [];
    const f = fakeRunner((c) => {
      order.push(c.input?.split('\n')[0] ?? c.args.join(' '));
      return {};
    });
    const dp = new NftablesDataPlane({ settings: SETTINGS, group: 51, run: f.run, forwarding: 'check' });
    await Promise.all([dp.start(), dp.apply(update([0, 1])), dp.apply(update([1, 1])), dp.stop()]);
    expect(order.filter((l) => !l.startsWith('-n'))).toEqual([
      'add table inet proxyha_lb_51',
      '-j list chain inet proxyha_lb_51 prerouting',
      'add table inet proxyha_lb_51',
      'delete element inet proxyha_lb_51 b4_9090 { 0 }',
      'add table inet proxyha_lb_51',
    ]);
  });

  it('reads counters back from the prerouting chain', async () => {
    const f = fakeRunner((c) => (c.args[0] === '-j' ? { stdout: SAMPLE_JSON } : {}));
    const dp = new NftablesDataPlane({ settings: SETTINGS, group: 51, run: f.run });
    await dp.start();
    expect(dp.stats()).toEqual({ activeByNode: new Map(), accepted: 0, failed: 0 });
    expect(await dp.refreshStats()).toMatchObject({ accepted: 14, failed: 3 });
    expect(f.nft().at(-1)?.args).toEqual(['-j', 'list', 'chain', 'inet', 'proxyha_lb_51', 'prerouting']);
    const state = await dp.readState();
    expect(state.maps.get('b4_9090')?.elements.size).toBe(4);
  });
});

// The direct-routing (LVS-DR style) data plane's nftables ruleset: a pure generator of the table, of the
// bucket-map deltas and of the redirect validation. direct.ts runs what this file writes.
import { type ConfigIssue, canonicalMac, parseCidr } from '@proxyha/common';
import type { Redirect } from '../codec/types';
import { LbError } from '../errors';
import type { PersistenceMask } from '../scheduler/scheduler';
import { NO_OWNER } from '../scheduler/table';
import type { BucketTable } from '../scheduler/types';

/** The default name of the data plane's own nftables table (family `netdev`). */
export const DIRECT_TABLE = 'proxyha_lb_direct';

/** The defaults of {@link DirectRulesInput}'s optional settings. */
export const DIRECT_DEFAULTS = Object.freeze({
  /** Idle timeout of a connection pin, in seconds (refreshed by every packet of the connection). */
  pinTimeoutS: 300,
  /** How long a pin stays after the client sent FIN or RST, in seconds (not refreshed). */
  closingTimeoutS: 60,
  /** Most pins per address family (the dynamic maps' `size`). */
  maxPins: 262_144,
  /** Priority of the ingress chain. */
  priority: -150,
});

/** What {@link directRuleset} needs. */
export interface DirectRulesInput {
  /** Name of the table (default {@link DIRECT_TABLE}). */
  readonly table?: string;
  /** The interface facing clients and nodes (the ingress hook's device, and where packets leave again). */
  readonly interface: string;
  /** The MAC address of that interface: the source of forwarded frames, and the director's own share. */
  readonly directorMac: string;
  /** The VIPs (with or without prefix; IPv4 and IPv6). */
  readonly virtualIps: readonly string[];
  /** The TCP ports clients connect to on the VIPs (each redirect's originalPort = destinationPort). */
  readonly ports: readonly number[];
  /** Number of buckets. */
  readonly size: number;
  /** Seed of the client-address hash. */
  readonly seed: number;
  /** Persistence masks: the client address is masked to these prefixes before hashing. */
  readonly persistence: PersistenceMask;
  /** Idle timeout of a connection pin, s (default {@link DIRECT_DEFAULTS}.pinTimeoutS). */
  readonly pinTimeoutS?: number;
  /** Lifetime of a pin after FIN/RST, s (default {@link DIRECT_DEFAULTS}.closingTimeoutS). */
  readonly closingTimeoutS?: number;
  /** `size` of each pin map (default {@link DIRECT_DEFAULTS}.maxPins). */
  readonly maxPins?: number;
  /** Ingress chain priority (default {@link DIRECT_DEFAULTS}.priority). */
  readonly priority?: number;
}

/** The installed contents of the bucket map: bucket -> MAC address of the node that takes it. */
export type DirectBucketMap = ReadonlyMap<number, string>;

/** The change between two bucket maps ({@link directBucketDelta}). */
export interface DirectBucketDelta {
  /** Buckets whose element is removed (changed owners are removed, then added again). */
  readonly remove: readonly number[];
  /** Elements added: `[bucket, mac]`. */
  readonly add: readonly (readonly [number, string])[];
}

const NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,31}$/;
const IFNAME = /^[a-zA-Z0-9_.:@-]{1,15}$/;

function invalid(issues: ConfigIssue[]): never {
  throw new LbError(
    'LB_INVALID_ARGUMENT',
    `invalid direct-routing rules input: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    { details: { issues } },
  );
}

/**
 * The IPv6 VIPs of a VIP list: the direct-routing data plane does not forward them (nft 1.0.6 cannot
 * build the IPv6 pin map), so their clients are served by the director itself; the data plane warns.
 *
 * @param virtualIps - the VIPs, with or without prefix
 */
export function directIpv6Vips(virtualIps: readonly string[]): string[] {
  return splitVips(virtualIps, []).v6;
}

interface Vips {
  readonly v4: string[];
  readonly v6: string[];
}

function splitVips(virtualIps: readonly string[], issues: ConfigIssue[]): Vips {
  const v4: string[] = [];
  const v6: string[] = [];
  virtualIps.forEach((text, i) => {
    const c = parseCidr(text);
    if (!c)
      issues.push({ path: `virtualIps[${i}]`, message: `must be an address (got ${JSON.stringify(text)})` });
    else if (c.family === 'ipv4') v4.includes(c.text) || v4.push(c.text);
    else v6.includes(c.text) || v6.push(c.text);
  });
  return { v4, v6 };
}

function maskText(family: 'ipv4', prefix: number): string | undefined {
  if (family !== 'ipv4' || prefix >= 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [mask >>> 24, (mask >>> 16) & 255, (mask >>> 8) & 255, mask & 255].join('.');
}

function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

interface Resolved {
  readonly table: string;
  readonly iface: string;
  readonly mac: string;
  readonly vips: Vips;
  readonly ports: number[];
  readonly size: number;
  readonly seed: number;
  readonly persistence: PersistenceMask;
  readonly pinTimeoutS: number;
  readonly closingTimeoutS: number;
  readonly maxPins: number;
  readonly priority: number;
}

function resolve(input: DirectRulesInput): Resolved {
  const issues: ConfigIssue[] = [];
  const table = input.table ?? DIRECT_TABLE;
  if (!NAME.test(table))
    issues.push({ path: 'table', message: `must be an nftables name (got ${JSON.stringify(table)})` });
  if (typeof input.interface !== 'string' || !IFNAME.test(input.interface))
    issues.push({
      path: 'interface',
      message: `must be an interface name (got ${JSON.stringify(input.interface)})`,
    });
  const mac = canonicalMac(input.directorMac);
  if (!mac)
    issues.push({
      path: 'directorMac',
      message: `must be a MAC address (got ${JSON.stringify(input.directorMac)})`,
    });
  const vips = splitVips(input.virtualIps, issues);
  if (vips.v4.length === 0) issues.push({ path: 'virtualIps', message: 'must hold at least one IPv4 VIP' });
  const ports = [...new Set(input.ports)].sort((a, b) => a - b);
  if (ports.length === 0) issues.push({ path: 'ports', message: 'must hold at least one port' });
  for (const p of ports)
    if (!Number.isInteger(p) || p < 1 || p > 65535)
      issues.push({ path: 'ports', message: `must be ports 1..65535 (got ${p})` });
  const int = (path: string, v: number | undefined, fallback: number, min: number, max: number) => {
    const n = v ?? fallback;
    if (!Number.isInteger(n) || n < min || n > max)
      issues.push({ path, message: `must be an integer ${min}..${max} (got ${n})` });
    return n;
  };
  const size = int('size', input.size, 0, 1, 0xffffff);
  const seed = int('seed', input.seed, 0, 0, 0xffffffff);
  const pinTimeoutS = int('pinTimeoutS', input.pinTimeoutS, DIRECT_DEFAULTS.pinTimeoutS, 1, 86_400 * 7);
  const closingTimeoutS = int(
    'closingTimeoutS',
    input.closingTimeoutS,
    DIRECT_DEFAULTS.closingTimeoutS,
    1,
    86_400,
  );
  const maxPins = int('maxPins', input.maxPins, DIRECT_DEFAULTS.maxPins, 1, 0x7fffffff);
  const priority = int('priority', input.priority, DIRECT_DEFAULTS.priority, -1000, 1000);
  if (issues.length > 0) invalid(issues);
  return {
    table,
    iface: input.interface,
    mac: mac as string,
    vips,
    ports,
    size,
    seed,
    persistence: input.persistence,
    pinTimeoutS,
    closingTimeoutS,
    maxPins,
    priority,
  };
}

function list(items: readonly (string | number)[]): string {
  return items.length === 1 ? String(items[0]) : `{ ${items.join(', ')} }`;
}

interface Family {
  readonly suffix: '4';
  readonly proto: 'ip';
  readonly family: 'ipv4';
}

// IPv4 only: nft 1.0.6 cannot linearize a dynamic-map update keyed by `ip6 saddr . tcp sport` (assertion
// `dreg < ctx->reg_low` in netlink_linearize.c), so IPv6 VIPs are left to the director's own stack.
const FAMILIES: readonly Family[] = [{ suffix: '4', proto: 'ip', family: 'ipv4' }];

function familiesOf(r: Resolved): readonly Family[] {
  return r.vips.v4.length > 0 ? FAMILIES : [];
}

/** The hash expression of a family: `jhash ip saddr [& mask] mod SIZE seed SEED`. */
function hashExpr(r: Resolved, f: Family): string {
  const mask = maskText(f.family, r.persistence.ipv4PrefixLength);
  return `jhash ${f.proto} saddr${mask ? ` & ${mask}` : ''} mod ${r.size} seed ${hex32(r.seed)}`;
}

/** The rules of the chains that depend on the table's size and seed (`classify<N>`, `new<N>`). */
function tableChains(r: Resolved, f: Family): string[] {
  const s = f.suffix;
  const key = `${f.proto} saddr . tcp sport`;
  const hash = hashExpr(r, f);
  return [
    `  chain classify${s} {`,
    `    tcp flags & (fin | syn | rst | ack) == syn goto new${s}`,
    `    ether daddr set ${key} map @pins${s} goto track${s}`,
    `    ether daddr set ${key} map @closing${s} goto out`,
    `    ether daddr set ${hash} map @buckets goto track${s}`,
    '  }',
    `  chain new${s} {`,
    `    ether daddr set ${hash} map @buckets counter name accepted delete @closing${s} { ${key} : ether daddr } delete @pins${s} { ${key} : ether daddr } goto track${s}`,
    '    counter name unowned',
    '  }',
  ];
}

function familyBlock(r: Resolved, f: Family): string[] {
  const s = f.suffix;
  const key = `${f.proto} saddr . tcp sport`;
  return [
    `  map pins${s} {`,
    `    typeof ${key} : ether daddr`,
    `    size ${r.maxPins}`,
    '    flags dynamic,timeout',
    `    timeout ${r.pinTimeoutS}s`,
    '  }',
    `  map closing${s} {`,
    `    typeof ${key} : ether daddr`,
    `    size ${r.maxPins}`,
    '    flags dynamic,timeout',
    `    timeout ${r.closingTimeoutS}s`,
    '  }',
    ...tableChains(r, f),
    `  chain track${s} {`,
    `    tcp flags & (fin | rst) != 0 delete @pins${s} { ${key} : ether daddr } add @closing${s} { ${key} : ether daddr } goto out`,
    `    update @pins${s} { ${key} : ether daddr }`,
    '    goto out',
    '  }',
  ];
}

/**
 * The whole table of the direct-routing data plane, as an `nft -f -` transaction that also replaces a
 * stale table of the same name (`table ...; delete table ...; table ... { ... }`). The bucket map starts
 * empty (every client is delivered locally until the first table is applied) unless `buckets` is given.
 *
 * TCP packets to an IPv4 VIP:port entering `interface` (IPv6 VIPs are not forwarded: they stay with the
 * director's own stack, see {@link directIpv6Vips}):
 *
 * - `classify`: a SYN goes to `new`; any other packet follows its connection pin (`pins`, refreshed), else
 *   its closing pin (`closing`, not refreshed), else the bucket map (the connection is adopted: pinned);
 * - `new`: a SYN always takes the bucket map, never a pin, and replaces any pin of its (address, port):
 *   a drained or failed node, which the new table gives no buckets, gets no new connection;
 * - `track`: FIN or RST moves the pin to `closing` (released `closingTimeoutS` later); other packets
 *   refresh it (released after `pinTimeoutS` without packets);
 * - `out`: the director's own MAC is delivered locally (`accept`); any other is sent back out of
 *   `interface` with the director's MAC as source (`fwd`), so the bridge never learns the client's MAC
 *   on the director's port.
 *
 * @param input - interface, MAC, VIPs, ports, table size and seed, persistence, timeouts
 * @param buckets - initial elements of the bucket map
 * @returns the transaction text
 */
export function directRuleset(input: DirectRulesInput, buckets?: DirectBucketMap): string {
  const r = resolve(input);
  const fams = familiesOf(r);
  const t = r.table;
  const lines = [
    `table netdev ${t}`,
    `delete table netdev ${t}`,
    `table netdev ${t} {`,
    '  counter accepted {',
    '  }',
    '  counter unowned {',
    '  }',
    '  map buckets {',
    '    typeof numgen inc mod 2 : ether daddr',
    ...(buckets && buckets.size > 0 ? [`    elements = { ${elements(buckets)} }`] : []),
    '  }',
    '  chain ingress {',
    `    type filter hook ingress device "${r.iface}" priority ${r.priority}; policy accept;`,
    ...fams.map(
      (f) => `    ${f.proto} daddr ${list(r.vips.v4)} tcp dport ${list(r.ports)} jump classify${f.suffix}`,
    ),
    '  }',
    ...fams.flatMap((f) => familyBlock(r, f)),
    '  chain out {',
    `    ether daddr ${r.mac} accept`,
    `    ether saddr set ${r.mac} fwd to "${r.iface}"`,
    '  }',
    '}',
  ];
  return `${lines.join('\n')}\n`;
}

function elements(map: DirectBucketMap | readonly (readonly [number, string])[]): string {
  const entries = [...(map instanceof Map ? map.entries() : (map as readonly (readonly [number, string])[]))];
  entries.sort((a, b) => a[0] - b[0]);
  return entries.map(([b, m]) => `${b} : ${m}`).join(', ');
}

/**
 * A transaction that installs a table of another size or seed without touching the pins: the chains
 * that hash are rewritten and the bucket map is refilled, all at once.
 *
 * @param input - as for {@link directRuleset}, with the new size and seed
 * @param buckets - the complete new bucket map
 */
export function directRehashScript(input: DirectRulesInput, buckets: DirectBucketMap): string {
  const r = resolve(input);
  const t = r.table;
  const fams = familiesOf(r);
  const lines = [
    ...fams.flatMap((f) => [
      `flush chain netdev ${t} classify${f.suffix}`,
      `flush chain netdev ${t} new${f.suffix}`,
    ]),
    `flush map netdev ${t} buckets`,
    `table netdev ${t} {`,
    ...fams.flatMap((f) => tableChains(r, f)),
    '}',
    ...(buckets.size > 0 ? [`add element netdev ${t} buckets { ${elements(buckets)} }`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The bucket map a table asks for: every bucket with an owner whose MAC is known. Buckets without an owner
 * and owners without a MAC get no element (their clients are delivered locally).
 *
 * @param table - the bucket table
 * @param macOf - the MAC of a node id (the director's own MAC for itself), or undefined when unknown
 */
export function directBucketMap(
  table: Pick<BucketTable, 'nodes' | 'owners'>,
  macOf: (nodeId: string) => string | undefined,
): Map<number, string> {
  const macs = table.nodes.map((id) => macOf(id));
  const out = new Map<number, string>();
  table.owners.forEach((owner, bucket) => {
    if (owner === NO_OWNER) return;
    const mac = macs[owner];
    if (mac !== undefined) out.set(bucket, mac);
  });
  return out;
}

/**
 * The elements to remove and to add to turn bucket map `from` into `to` (a changed bucket is removed and
 * added: nftables does not replace an element's value in place).
 *
 * @param from - installed
 * @param to - wanted
 */
export function directBucketDelta(from: DirectBucketMap, to: DirectBucketMap): DirectBucketDelta {
  const remove: number[] = [];
  const add: [number, string][] = [];
  for (const [b, mac] of from) if (to.get(b) !== mac) remove.push(b);
  for (const [b, mac] of to) if (from.get(b) !== mac) add.push([b, mac]);
  remove.sort((a, b) => a - b);
  add.sort((a, b) => a[0] - b[0]);
  return { remove, add };
}

/**
 * The `nft -f -` transaction of a delta (empty text when nothing changes).
 *
 * @param delta - from {@link directBucketDelta}
 * @param table - the table name (default {@link DIRECT_TABLE})
 */
export function directDeltaScript(delta: DirectBucketDelta, table = DIRECT_TABLE): string {
  const lines: string[] = [];
  if (delta.remove.length > 0)
    lines.push(`delete element netdev ${table} buckets { ${delta.remove.join(', ')} }`);
  if (delta.add.length > 0) lines.push(`add element netdev ${table} buckets { ${elements(delta.add)} }`);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * The problems of a redirect list for the direct-routing data plane: packets reach the node unchanged
 * below layer 2, so a redirect that rewrites its port (originalPort != destinationPort) cannot work.
 *
 * @param redirects - the configured redirects
 * @param path - the config path of the list, for the issues (default `redirects`)
 * @returns one issue per rewriting redirect, naming `path[i]`
 */
export function directRedirectIssues(redirects: readonly Redirect[], path = 'redirects'): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  redirects.forEach((r, i) => {
    if (r.originalPort !== r.destinationPort)
      issues.push({
        path: `${path}[${i}]`,
        message: `dataPlane direct cannot rewrite ports: destinationPort must equal originalPort (got ${r.originalPort} -> ${r.destinationPort})`,
      });
  });
  return issues;
}

/**
 * Throws `LB_DR_PORT_REWRITE` (details.issues, one per redirect, naming `path[i]`) when a redirect
 * rewrites its port; the config calls it when `dataPlane` is `direct`.
 *
 * @param redirects - the configured redirects
 * @param path - the config path of the list (default `redirects`)
 */
export function validateDirectRedirects(redirects: readonly Redirect[], path = 'redirects'): void {
  const issues = directRedirectIssues(redirects, path);
  if (issues.length > 0)
    throw new LbError('LB_DR_PORT_REWRITE', `${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
      details: { issues },
    });
}

/**
 * Parses the bucket map out of `nft -j list map netdev <table> buckets` output.
 *
 * @param json - the command's stdout
 */
export function parseDirectBuckets(json: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const [key, value] of jsonElements(json, 'buckets')) {
    const mac = canonicalMac(value);
    if (typeof key === 'number' && mac) out.set(key, mac);
  }
  return out;
}

/**
 * The MAC values of a pin map out of `nft -j list map netdev <table> pins4` output (one per pin).
 *
 * @param json - the command's stdout
 */
export function parseDirectPinValues(json: string): string[] {
  const out: string[] = [];
  for (const [, value] of jsonElements(json)) {
    const mac = canonicalMac(value);
    if (mac) out.push(mac);
  }
  return out;
}

function jsonElements(json: string, name?: string): [unknown, unknown][] {
  const doc = JSON.parse(json) as { nftables?: Record<string, unknown>[] };
  const out: [unknown, unknown][] = [];
  for (const item of doc.nftables ?? []) {
    const map = item.map as { name?: string; elem?: unknown[] } | undefined;
    if (!map || (name !== undefined && map.name !== name)) continue;
    for (const e of map.elem ?? []) {
      if (!Array.isArray(e) || e.length !== 2) continue;
      let key = e[0];
      if (key && typeof key === 'object' && 'elem' in key) key = (key as { elem: { val: unknown } }).elem.val;
      out.push([key, e[1]]);
    }
  }
  return out;
}

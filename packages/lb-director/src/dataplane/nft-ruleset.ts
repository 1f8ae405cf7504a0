// The nftables full-NAT data plane's pure half: settings -> spec, table -> per-bucket targets, and the
// `nft -f -` texts (full load, delta, removal); plus the parser of `nft -j list table` output. No I/O.
//
// The ruleset (one `inet` table per group, see docs/nftables.md):
//
//   map b4_<originalPort> { type mark : ipv4_addr . inet_service }        bucket -> node . destinationPort
//   chain prerouting (nat, dstnat):
//     ip daddr <VIPs> tcp dport <originalPort> ct state new
//       ct mark set jhash ip saddr [& mask] mod <size> seed <seed> counter dnat ip to ct mark map @b4_<port>
//     ip daddr <VIPs> tcp dport <originalPorts> ct state new counter reject with tcp reset   (bucket without owner)
//   chain postrouting (nat, srcnat), per VIP and original port:
//     ct status dnat ct original ip daddr <VIP> meta l4proto tcp ct original proto-dst <port> counter snat ip to <VIP>
//
// and the same with `ip6` / `b6_<port>` for IPv6 VIPs.
import { type ConfigIssue, describeValue, formatIpv4, formatIpv6, parseCidr } from '@proxyha/common';
import type { Redirect } from '../codec/types';
import { LbError } from '../errors';
import type { PersistenceMask } from '../scheduler/scheduler';
import { NO_OWNER } from '../scheduler/table';
import type { BucketTable } from '../scheduler/types';
import type { DataPlaneNode, DataPlaneSettings } from './types';

/** The nftables family of the data plane's table: one `inet` table serves IPv4 and IPv6 VIPs. */
export const NFT_FAMILY = 'inet';

/** Comment of the DNAT rules (followed by ` <originalPort>`); {@link parseNftTable} counts by it. */
export const NFT_COMMENT_DNAT = 'proxyha dnat';
/** Comment of the rules that reset new connections whose bucket has no owner. */
export const NFT_COMMENT_NO_OWNER = 'proxyha no owner';
/** Comment of the SNAT rules. */
export const NFT_COMMENT_SNAT = 'proxyha snat';

/** Most elements per `add element` / `delete element` statement (keeps lines reasonable). */
const ELEMENTS_PER_STATEMENT = 512;

/** An address family of the data plane. */
export type NftIpFamily = 'ipv4' | 'ipv6';

/** The resolved settings the ruleset is generated from (the validated data plane settings and table name). */
export interface NftSpec {
  /** The table's name (family `inet`). */
  readonly tableName: string;
  /** VIPs by family, canonical text without prefix, in the order given. */
  readonly vips: Readonly<Record<NftIpFamily, readonly string[]>>;
  /** The redirects, sorted by original port (original ports are unique). */
  readonly redirects: readonly Redirect[];
  /** Persistence prefixes (the scheduler's). */
  readonly persistence: PersistenceMask;
  /**
   * Where the director's own share goes, per family: its management address when of that family, else
   * the family's first VIP (undefined when the family has no VIP).
   */
  readonly self: Readonly<Record<NftIpFamily, string | undefined>>;
}

/** The families with at least one VIP, IPv4 first. */
export function nftFamilies(spec: NftSpec): NftIpFamily[] {
  return (['ipv4', 'ipv6'] as const).filter((f) => spec.vips[f].length > 0);
}

/**
 * The data plane's table name for a load-balancing group: `proxyha_lb_<group>`.
 *
 * @param group - the group id, 1..255
 */
export function nftTableName(group: number): string {
  return `proxyha_lb_${group}`;
}

/**
 * Validates data plane settings and resolves them into an {@link NftSpec}.
 *
 * @param settings - the data plane settings
 * @param tableName - the table's name (letters, digits, `_`; at most 64 characters)
 * @throws LbError `LB_INVALID_ARGUMENT` with `details.issues` for each bad setting
 */
export function nftSpec(settings: DataPlaneSettings, tableName: string): NftSpec {
  const issues: ConfigIssue[] = [];
  if (typeof tableName !== 'string' || !/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(tableName))
    issues.push({
      path: 'tableName',
      message: `must be a letter then letters, digits or _ (got ${describeValue(tableName)})`,
    });
  const vips: Record<NftIpFamily, string[]> = { ipv4: [], ipv6: [] };
  const vipList = Array.isArray(settings?.virtualIps) ? settings.virtualIps : [];
  if (vipList.length === 0) issues.push({ path: 'virtualIps', message: 'must hold at least one VIP' });
  vipList.forEach((v, i) => {
    const c = parseCidr(v);
    if (!c) {
      issues.push({ path: `virtualIps[${i}]`, message: `must be an address (got ${describeValue(v)})` });
      return;
    }
    const list = vips[c.family];
    if (!list.includes(c.text)) list.push(c.text);
  });
  const redirects: Redirect[] = [];
  const seen = new Set<number>();
  const redirectList = Array.isArray(settings?.redirects) ? settings.redirects : [];
  if (redirectList.length === 0)
    issues.push({ path: 'redirects', message: 'must hold at least one redirect' });
  redirectList.forEach((r, i) => {
    const port = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
    if (!port(r?.originalPort) || !port(r?.destinationPort)) {
      issues.push({
        path: `redirects[${i}]`,
        message: `must have ports 1..65535 (got ${describeValue(r)})`,
      });
      return;
    }
    if (seen.has(r.originalPort)) {
      issues.push({
        path: `redirects[${i}].originalPort`,
        message: `duplicate original port (got ${r.originalPort})`,
      });
      return;
    }
    seen.add(r.originalPort);
    redirects.push({ originalPort: r.originalPort, destinationPort: r.destinationPort });
  });
  redirects.sort((a, b) => a.originalPort - b.originalPort);
  const p = settings?.persistence;
  const p4 = p?.ipv4PrefixLength;
  const p6 = p?.ipv6PrefixLength;
  if (!Number.isInteger(p4) || p4 < 0 || p4 > 32)
    issues.push({
      path: 'persistence.ipv4PrefixLength',
      message: `must be an integer 0..32 (got ${describeValue(p4)})`,
    });
  if (!Number.isInteger(p6) || p6 < 0 || p6 > 128)
    issues.push({
      path: 'persistence.ipv6PrefixLength',
      message: `must be an integer 0..128 (got ${describeValue(p6)})`,
    });
  const mgmt = parseCidr(settings?.managementIp);
  if (!mgmt)
    issues.push({
      path: 'managementIp',
      message: `must be an address (got ${describeValue(settings?.managementIp)})`,
    });
  if (issues.length > 0)
    throw new LbError(
      'LB_INVALID_ARGUMENT',
      `invalid nftables data plane settings: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      { details: { issues } },
    );
  const selfOf = (f: NftIpFamily) =>
    vips[f].length === 0 ? undefined : mgmt?.family === f ? mgmt.text : vips[f][0];
  return Object.freeze({
    tableName,
    vips: Object.freeze({ ipv4: Object.freeze(vips.ipv4), ipv6: Object.freeze(vips.ipv6) }),
    redirects: Object.freeze(redirects),
    persistence: Object.freeze({ ipv4PrefixLength: p4, ipv6PrefixLength: p6 }),
    self: Object.freeze({ ipv4: selfOf('ipv4'), ipv6: selfOf('ipv6') }),
  });
}

/**
 * What the maps hold: per family, for every bucket the address its new connections go to (`null`: no
 * element, such connections are reset). The map of each redirect holds `address . destinationPort`.
 */
export interface NftTargets {
  /** Number of buckets (the `mod` of the hash). */
  readonly size: number;
  /** Seed of the hash. */
  readonly seed: number;
  /** Per family with VIPs: bucket -> address or null. */
  readonly byFamily: Readonly<Partial<Record<NftIpFamily, readonly (string | null)[]>>>;
}

/** Why buckets got no element although the table names an owner ({@link nftTargets}). */
export interface NftTargetProblem {
  /** The node id. */
  readonly nodeId: string;
  /** The family whose map leaves the node's buckets out. */
  readonly family: NftIpFamily;
  /** What is wrong. */
  readonly reason: 'unknown node' | 'no address of this family';
  /** How many buckets it concerns. */
  readonly buckets: number;
}

/**
 * Resolves a bucket table into per-family targets: the owner's address (the director's own share goes to
 * {@link NftSpec.self}); no element for buckets without owner (0xffff), for owners missing from `nodes` and
 * for owners without an address of the family (reported in `problems`).
 *
 * @param spec - the resolved settings
 * @param table - the bucket table
 * @param nodes - the nodes the table refers to, by id
 */
export function nftTargets(
  spec: NftSpec,
  table: BucketTable,
  nodes: ReadonlyMap<string, DataPlaneNode>,
): { targets: NftTargets; problems: NftTargetProblem[] } {
  const problems: NftTargetProblem[] = [];
  const byFamily: Partial<Record<NftIpFamily, (string | null)[]>> = {};
  for (const family of nftFamilies(spec)) {
    /* owner index -> address (null: none) */
    const perOwner: (string | null)[] = table.nodes.map((id) => {
      const n = nodes.get(id);
      if (n === undefined) return null;
      if (n.self) return spec.self[family] ?? null;
      const a = parseCidr(n.address);
      return a !== undefined && a.family === family ? a.text : null;
    });
    const counts = new Map<number, number>();
    const out: (string | null)[] = new Array(table.size);
    for (let b = 0; b < table.size; b++) {
      const o = table.owners[b] as number;
      if (o === NO_OWNER || o >= perOwner.length) {
        out[b] = null;
        continue;
      }
      const t = perOwner[o] as string | null;
      out[b] = t;
      if (t === null) counts.set(o, (counts.get(o) ?? 0) + 1);
    }
    for (const [o, buckets] of counts) {
      const nodeId = table.nodes[o] as string;
      problems.push({
        nodeId,
        family,
        reason: nodes.has(nodeId) ? 'no address of this family' : 'unknown node',
        buckets,
      });
    }
    byFamily[family] = out;
  }
  return { targets: { size: table.size, seed: table.seed >>> 0, byFamily }, problems };
}

/** The map of a family and original port: `b4_<port>` / `b6_<port>`. */
export function nftMapName(family: NftIpFamily, originalPort: number): string {
  return `${family === 'ipv4' ? 'b4' : 'b6'}_${originalPort}`;
}

function maskText(family: NftIpFamily, prefix: number): string {
  const len = family === 'ipv4' ? 4 : 16;
  const bytes = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const bits = prefix - i * 8;
    bytes[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
  return family === 'ipv4' ? formatIpv4(bytes) : formatIpv6(bytes);
}

/** `jhash ip saddr [& mask] mod M seed S`: the nft expression of a client's bucket. */
export function nftHashExpression(spec: NftSpec, family: NftIpFamily, size: number, seed: number): string {
  const proto = family === 'ipv4' ? 'ip' : 'ip6';
  const full = family === 'ipv4' ? 32 : 128;
  const prefix = family === 'ipv4' ? spec.persistence.ipv4PrefixLength : spec.persistence.ipv6PrefixLength;
  const mask = prefix < full ? ` & ${maskText(family, prefix)}` : '';
  return `jhash ${proto} saddr${mask} mod ${size} seed 0x${(seed >>> 0).toString(16).padStart(8, '0')}`;
}

function setText(values: readonly (string | number)[]): string {
  return values.length === 1 ? String(values[0]) : `{ ${values.join(', ')} }`;
}

function elementText(bucket: number, address: string, port: number): string {
  return `${bucket} : ${address} . ${port}`;
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += ELEMENTS_PER_STATEMENT)
    out.push(items.slice(i, i + ELEMENTS_PER_STATEMENT));
  return out;
}

/**
 * The `nft -f -` text that removes the table if it exists (`add table` makes the `delete` succeed when it
 * does not): nft 1.0.6 has no `destroy`.
 *
 * @param tableName - the table
 */
export function nftRemoveTable(tableName: string): string {
  return `add table ${NFT_FAMILY} ${tableName}\ndelete table ${NFT_FAMILY} ${tableName}\n`;
}

/**
 * The full `nft -f -` text: removes any table of this name (a stale one left by a crash included) and
 * creates it anew, in one transaction. Without `targets` (before the first table) only the rules that
 * reset new connections to the VIPs' redirect ports and the SNAT rules are installed.
 *
 * @param spec - the resolved settings
 * @param targets - the maps' contents, from {@link nftTargets}
 */
export function nftRuleset(spec: NftSpec, targets?: NftTargets): string {
  const t = spec.tableName;
  const lines: string[] = [nftRemoveTable(t).trimEnd(), `table ${NFT_FAMILY} ${t} {`];
  const families = nftFamilies(spec);
  if (targets !== undefined)
    for (const family of families) {
      const addrs = targets.byFamily[family] ?? [];
      const type = family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr';
      for (const r of spec.redirects) {
        lines.push(`\tmap ${nftMapName(family, r.originalPort)} {`, `\t\ttype mark : ${type} . inet_service`);
        const elems: string[] = [];
        addrs.forEach((a, b) => {
          if (a !== null && a !== undefined) elems.push(elementText(b, a, r.destinationPort));
        });
        if (elems.length > 0) {
          lines.push('\t\telements = {');
          for (let i = 0; i < elems.length; i++)
            lines.push(`\t\t\t${elems[i]}${i < elems.length - 1 ? ',' : ''}`);
          lines.push('\t\t}');
        }
        lines.push('\t}');
      }
    }
  lines.push('\tchain prerouting {', '\t\ttype nat hook prerouting priority dstnat; policy accept;');
  for (const family of families) {
    const proto = family === 'ipv4' ? 'ip' : 'ip6';
    const match = `${proto} daddr ${setText(spec.vips[family])}`;
    if (targets !== undefined)
      for (const r of spec.redirects)
        lines.push(
          `\t\t${match} tcp dport ${r.originalPort} ct state new ct mark set ${nftHashExpression(spec, family, targets.size, targets.seed)} counter dnat ${proto} to ct mark map @${nftMapName(family, r.originalPort)} comment "${NFT_COMMENT_DNAT} ${r.originalPort}"`,
        );
    lines.push(
      `\t\t${match} tcp dport ${setText(spec.redirects.map((r) => r.originalPort))} ct state new counter reject with tcp reset comment "${NFT_COMMENT_NO_OWNER}"`,
    );
  }
  lines.push('\t}', '\tchain postrouting {', '\t\ttype nat hook postrouting priority srcnat; policy accept;');
  for (const family of families) {
    const proto = family === 'ipv4' ? 'ip' : 'ip6';
    /* one rule per VIP and port: nft 1.0.6 lists a set of `ct original proto-dst` as [invalid type] */
    for (const vip of spec.vips[family])
      for (const r of spec.redirects)
        lines.push(
          `\t\tct status dnat ct original ${proto} daddr ${vip} meta l4proto tcp ct original proto-dst ${r.originalPort} counter snat ${proto} to ${vip} comment "${NFT_COMMENT_SNAT}"`,
        );
  }
  lines.push('\t}', '}');
  return `${lines.join('\n')}\n`;
}

/** The buckets whose target differs between two {@link NftTargets} of the same size, per family. */
export function nftChangedBuckets(
  before: NftTargets,
  after: NftTargets,
): Partial<Record<NftIpFamily, number[]>> {
  const out: Partial<Record<NftIpFamily, number[]>> = {};
  for (const family of ['ipv4', 'ipv6'] as const) {
    const a = before.byFamily[family];
    const b = after.byFamily[family];
    if (a === undefined || b === undefined) continue;
    const changed: number[] = [];
    for (let i = 0; i < after.size; i++) if ((a[i] ?? null) !== (b[i] ?? null)) changed.push(i);
    out[family] = changed;
  }
  return out;
}

/**
 * The `nft -f -` text of a delta: for every bucket whose target changed, `delete element` (when it had
 * one) and `add element` (when it gets one), in every redirect map of its family; one transaction, so a
 * new connection sees either the old or the new owner. Empty when nothing changed. `before` and `after`
 * must have the same size and seed (a change of either needs {@link nftRuleset}).
 *
 * @param spec - the resolved settings
 * @param before - what is installed
 * @param after - what to install
 * @throws LbError `LB_INVALID_ARGUMENT` when size or seed differ
 */
export function nftDelta(spec: NftSpec, before: NftTargets, after: NftTargets): string {
  if (before.size !== after.size || before.seed !== after.seed)
    throw new LbError(
      'LB_INVALID_ARGUMENT',
      'a delta needs the same table size and seed; load the full ruleset',
      {
        details: {
          issues: [
            {
              path: 'targets',
              message: `size/seed ${before.size}/${before.seed} -> ${after.size}/${after.seed}`,
            },
          ],
        },
      },
    );
  const changed = nftChangedBuckets(before, after);
  const lines: string[] = [];
  for (const family of nftFamilies(spec)) {
    const buckets = changed[family] ?? [];
    if (buckets.length === 0) continue;
    const old = before.byFamily[family] ?? [];
    const now = after.byFamily[family] ?? [];
    const deletes = buckets.filter((b) => (old[b] ?? null) !== null);
    const adds = buckets.filter((b) => (now[b] ?? null) !== null);
    for (const r of spec.redirects) {
      const map = `${NFT_FAMILY} ${spec.tableName} ${nftMapName(family, r.originalPort)}`;
      for (const c of chunks(deletes)) lines.push(`delete element ${map} { ${c.join(', ')} }`);
      for (const c of chunks(adds))
        lines.push(
          `add element ${map} { ${c.map((b) => elementText(b, now[b] as string, r.destinationPort)).join(', ')} }`,
        );
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** One map element as read back: the node address and port a bucket's new connections go to. */
export interface NftElement {
  /** Address (canonical text as nft prints it). */
  readonly address: string;
  /** Port. */
  readonly port: number;
}

/** A map of the table as read back. */
export interface NftMapState {
  /** Key type (`mark`). */
  readonly type: string;
  /** Value type (`ipv4_addr . inet_service`). */
  readonly valueType: string;
  /** bucket -> element. */
  readonly elements: ReadonlyMap<number, NftElement>;
}

/** A rule as read back (only what the data plane uses). */
export interface NftRuleState {
  /** Chain name. */
  readonly chain: string;
  /** Rule handle. */
  readonly handle: number;
  /** Its comment, if any. */
  readonly comment?: string;
  /** Counter packets, when it has a counter. */
  readonly packets?: number;
  /** Counter bytes, when it has a counter. */
  readonly bytes?: number;
}

/** A chain as read back. */
export interface NftChainState {
  /** Name. */
  readonly name: string;
  /** Chain type (`nat`), for base chains. */
  readonly type?: string;
  /** Hook (`prerouting`), for base chains. */
  readonly hook?: string;
  /** Priority, for base chains. */
  readonly priority?: number;
}

/** The data plane's table as `nft -j list table` shows it (parsed from that JSON). */
export interface NftTableState {
  /** Family (`inet`). */
  readonly family: string;
  /** Table name. */
  readonly name: string;
  /** Maps by name. */
  readonly maps: ReadonlyMap<string, NftMapState>;
  /** Chains. */
  readonly chains: readonly NftChainState[];
  /** Rules, in listing order. */
  readonly rules: readonly NftRuleState[];
}

function bad(message: string, details: Record<string, unknown> = {}): never {
  throw new LbError('LB_NFT_BAD_STATE', `nft -j list table: ${message}`, { details });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseElement(mapName: string, raw: unknown): [number, NftElement] {
  if (!Array.isArray(raw) || raw.length !== 2)
    bad(`map ${mapName}: an element is not a [key, value] pair`, { raw });
  let key: unknown = raw[0];
  /* keys with attributes (counter, timeout) come as { elem: { val: key, ... } } */
  if (isRecord(key) && isRecord(key.elem)) key = key.elem.val;
  if (!Number.isInteger(key) || (key as number) < 0)
    bad(`map ${mapName}: element key is not a bucket`, { raw });
  const value = raw[1];
  const concat = isRecord(value) ? value.concat : undefined;
  if (!Array.isArray(concat) || concat.length !== 2)
    bad(`map ${mapName}: element value is not address . port`, { raw });
  const [address, port] = concat as unknown[];
  const a = parseCidr(address);
  if (a === undefined || !Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)
    bad(`map ${mapName}: element value is not address . port`, { raw });
  return [key as number, { address: a.text, port: port as number }];
}

interface ParsedItems {
  table: { family: string; name: string } | undefined;
  maps: Map<string, NftMapState>;
  chains: NftChainState[];
  rules: NftRuleState[];
}

function parseItems(json: string): ParsedItems {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    bad(`not JSON (${(e as Error).message})`);
  }
  const items = isRecord(doc) ? doc.nftables : undefined;
  if (!Array.isArray(items)) bad('no "nftables" array');
  const out: ParsedItems = { table: undefined, maps: new Map(), chains: [], rules: [] };
  for (const item of items as unknown[]) {
    if (!isRecord(item)) bad('an entry is not an object');
    if (isRecord(item.table)) {
      const { family, name } = item.table;
      if (typeof family !== 'string' || typeof name !== 'string') bad('table without family or name');
      out.table = { family, name };
    } else if (isRecord(item.map)) {
      const m = item.map;
      if (typeof m.name !== 'string' || typeof m.type !== 'string' || typeof m.map !== 'string')
        bad('map without name, type or value type', { map: m });
      const elements = new Map<number, NftElement>();
      if (m.elem !== undefined) {
        if (!Array.isArray(m.elem)) bad(`map ${m.name}: elem is not an array`);
        for (const raw of m.elem) {
          const [k, v] = parseElement(m.name, raw);
          elements.set(k, v);
        }
      }
      out.maps.set(m.name, { type: m.type, valueType: m.map, elements });
    } else if (isRecord(item.chain)) {
      const c = item.chain;
      if (typeof c.name !== 'string') bad('chain without name', { chain: c });
      out.chains.push({
        name: c.name,
        ...(typeof c.type === 'string' ? { type: c.type } : {}),
        ...(typeof c.hook === 'string' ? { hook: c.hook } : {}),
        ...(typeof c.prio === 'number' ? { priority: c.prio } : {}),
      });
    } else if (isRecord(item.rule)) {
      const r = item.rule;
      if (typeof r.chain !== 'string' || !Number.isInteger(r.handle) || !Array.isArray(r.expr))
        bad('rule without chain, handle or expr', { rule: r });
      let packets: number | undefined;
      let bytes: number | undefined;
      for (const e of r.expr as unknown[])
        if (isRecord(e) && isRecord(e.counter)) {
          const p = e.counter.packets;
          const b = e.counter.bytes;
          if (!Number.isInteger(p) || !Number.isInteger(b))
            bad('counter without packets or bytes', { rule: r });
          packets = p as number;
          bytes = b as number;
        }
      out.rules.push({
        chain: r.chain,
        handle: r.handle as number,
        ...(typeof r.comment === 'string' ? { comment: r.comment } : {}),
        ...(packets !== undefined ? { packets, bytes: bytes as number } : {}),
      });
    }
  }
  return out;
}

/**
 * Parses and validates the output of `nft -j list table <family> <name>`.
 *
 * @param json - the output
 * @param tableName - the table it must describe
 * @throws LbError `LB_NFT_BAD_STATE` when it is not JSON, not nft's schema, or another table
 */
export function parseNftTable(json: string, tableName: string): NftTableState {
  const { table, maps, chains, rules } = parseItems(json);
  if (table === undefined) bad('no table in the listing');
  if (table.name !== tableName || table.family !== NFT_FAMILY)
    bad(`listed ${table.family} ${table.name}, expected ${NFT_FAMILY} ${tableName}`);
  return { family: table.family, name: table.name, maps, chains, rules };
}

/**
 * Parses the rules of `nft -j list chain <family> <table> <chain>` output (for counters).
 *
 * @param json - the output
 * @throws LbError `LB_NFT_BAD_STATE` when it is not JSON or not nft's schema
 */
export function parseNftRules(json: string): readonly NftRuleState[] {
  return parseItems(json).rules;
}

/** Connection counters read from the rules' counters ({@link nftCounters}). */
export interface NftCounters {
  /** New connections DNATed to a node (DNAT rule hits minus resets). */
  readonly accepted: number;
  /** New connections reset because their bucket had no element. */
  readonly failed: number;
}

/**
 * The connection counters of a table: DNAT rule counters count every new connection that looked up a
 * bucket, the no-owner rules those reset after a miss.
 *
 * @param state - the parsed table (or just its prerouting chain)
 */
export function nftCounters(state: Pick<NftTableState, 'rules'>): NftCounters {
  let hits = 0;
  let failed = 0;
  for (const r of state.rules) {
    if (r.comment?.startsWith(NFT_COMMENT_DNAT)) hits += r.packets ?? 0;
    else if (r.comment === NFT_COMMENT_NO_OWNER) failed += r.packets ?? 0;
  }
  return { accepted: Math.max(0, hits - failed), failed };
}

/**
 * Reads the installed targets back from a parsed table (for checks): per family, bucket -> address, taken
 * from the map of the first redirect.
 *
 * @param spec - the resolved settings
 * @param state - the parsed table
 * @param size - the table size
 */
export function nftInstalledTargets(
  spec: NftSpec,
  state: NftTableState,
  size: number,
): Partial<Record<NftIpFamily, (string | null)[]>> {
  const out: Partial<Record<NftIpFamily, (string | null)[]>> = {};
  const first = spec.redirects[0];
  if (first === undefined) return out;
  for (const family of nftFamilies(spec)) {
    const m = state.maps.get(nftMapName(family, first.originalPort));
    const arr: (string | null)[] = new Array(size).fill(null);
    if (m) for (const [b, e] of m.elements) if (b < size) arr[b] = e.address;
    out[family] = arr;
  }
  return out;
}

// Network groups: who talks to whom, the node path matrix (which nodes reach which through transit nodes),
// and the cluster membership the nodes gossip. Pure functions; no I/O, no clock.
import { createHash } from 'node:crypto';
import { type ConfigIssue, describeValue, err, ok, type Result } from '@proxyha/common';
import { CmError } from '../errors';
import { isCanonicalUuid } from './hlc';
import { canonicalJson, compareText } from './version';

/** The network group of a node whose configuration names none. */
export const DEFAULT_NETWORK_GROUP = 'default';

/** The default hop limit of relayed messages ({@link ReplicaConfig.maxHops}). */
export const DEFAULT_MAX_HOPS = 8;

/**
 * A node as the cluster's membership knows it: its network groups and where it listens. Every node gossips
 * the membership it knows (summary digest, then the list), so that a node learns the nodes it never talks to
 * directly (for the path matrix and the status) and the addresses of the nodes of its groups.
 */
export interface ClusterMember {
  /** The node's UUID. */
  readonly uuid: string;
  /** Its name. */
  readonly name: string;
  /** Its network groups, sorted (a node in more than one is a transit node). */
  readonly groups: readonly string[];
  /** Where it listens (`host:port`), as it announces itself; may be empty. */
  readonly addresses: readonly string[];
  /** The node's own counter for its entry: the higher wins; it raises it when its groups or addresses change. */
  readonly seq: number;
}

/** A node for {@link nodePathMatrix}: a name (the key) and its network groups. */
export interface NetworkGroupNode {
  /** The node's name (unique in the list). */
  readonly name: string;
  /** Its network groups. */
  readonly groups: readonly string[];
}

/** The result of {@link nodePathMatrix}. */
export interface NodePathMatrix {
  /** The node names, sorted. */
  readonly nodes: readonly string[];
  /**
   * `paths[i][j]`: the names along the shortest path from `nodes[i]` to `nodes[j]` (both included; `[a]` from
   * a node to itself), or `null` when `nodes[j]` cannot be reached. Of equal paths, the one through the
   * first names in order.
   */
  readonly paths: readonly (readonly (readonly string[] | null)[])[];
  /** The pairs that cannot reach each other, each `[a, b]` with `a < b`, sorted. */
  readonly unreachable: readonly (readonly [string, string])[];
}

/** The status text operators know from the seed, for a layout in which some nodes cannot reach others. */
export const UNREACHABLE_NODES_STATUS =
  'checking new settings failed - Invalid node path matrix / unreachable nodes';

/**
 * Whether two nodes share a network group (and so talk directly).
 *
 * @param a - the groups of one node
 * @param b - the groups of the other
 */
export function sharesNetworkGroup(a: readonly string[], b: readonly string[]): boolean {
  return a.some((g) => b.includes(g));
}

function nodesIssues(nodes: unknown): ConfigIssue[] {
  if (!Array.isArray(nodes))
    return [{ path: '(root)', message: `must be an array (got ${describeValue(nodes)})` }];
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  nodes.forEach((n: Partial<NetworkGroupNode> | null, i) => {
    if (n === null || typeof n !== 'object' || typeof n.name !== 'string' || n.name === '')
      issues.push({
        path: `[${i}].name`,
        message: `must be a non-empty text (got ${describeValue(n?.name)})`,
      });
    else if (seen.has(n.name)) issues.push({ path: `[${i}].name`, message: `duplicate node ${n.name}` });
    else seen.add(n.name);
    if (!Array.isArray(n?.groups) || n.groups.some((g) => typeof g !== 'string' || g === ''))
      issues.push({
        path: `[${i}].groups`,
        message: `must be an array of group names (got ${describeValue(n?.groups)})`,
      });
  });
  return issues;
}

/** Adjacency over shared groups, neighbours sorted by name. */
function adjacency(nodes: readonly NetworkGroupNode[], names: readonly string[]): Map<string, string[]> {
  const byGroup = new Map<string, string[]>();
  for (const n of nodes)
    for (const g of new Set(n.groups)) byGroup.set(g, [...(byGroup.get(g) ?? []), n.name]);
  const adj = new Map<string, Set<string>>(names.map((n) => [n, new Set()]));
  for (const members of byGroup.values())
    for (const a of members) for (const b of members) if (a !== b) adj.get(a)?.add(b);
  return new Map([...adj].map(([k, v]) => [k, [...v].sort(compareText)]));
}

/** Breadth-first search from `from`, skipping `avoid` as intermediate nodes: the parent of each node reached. */
function bfs(adj: Map<string, string[]>, from: string, avoid: ReadonlySet<string>): Map<string, string> {
  const parent = new Map<string, string>([[from, from]]);
  let frontier = [from];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const u of frontier) {
      if (u !== from && avoid.has(u)) continue; // reached, but does not carry messages onward
      for (const v of adj.get(u) ?? []) {
        if (parent.has(v)) continue;
        parent.set(v, u);
        next.push(v);
      }
    }
    frontier = next;
  }
  return parent;
}

function pathTo(parent: Map<string, string>, to: string): string[] | null {
  if (!parent.has(to)) return null;
  const path = [to];
  let cur = to;
  while (parent.get(cur) !== cur) {
    cur = parent.get(cur) as string;
    path.push(cur);
  }
  return path.reverse();
}

/**
 * The node path matrix of a layout: for every pair of nodes the shortest path through shared network groups
 * (each hop joins two nodes that share a group; the nodes in between are transit nodes), and the pairs that
 * cannot reach each other.
 *
 * @param nodes - every node of the cluster with its network groups (names unique)
 * @param options - `down`: nodes that do not carry messages onward (paths avoid them in between; they can
 *   still be reached directly)
 * @throws {@link CmError} `CM_INVALID_ARGUMENT` for a malformed list (duplicate names, bad groups)
 */
export function nodePathMatrix(
  nodes: readonly NetworkGroupNode[],
  options: { readonly down?: readonly string[] } = {},
): NodePathMatrix {
  const issues = nodesIssues(nodes);
  if (issues.length > 0) {
    const first = issues[0] as ConfigIssue;
    throw new CmError('CM_INVALID_ARGUMENT', `invalid nodes: ${first.path}: ${first.message}`, {
      details: { issues },
    });
  }
  const names = nodes.map((n) => n.name).sort(compareText);
  const adj = adjacency(nodes, names);
  const avoid = new Set(options.down ?? []);
  const paths = names.map((from) => {
    const parent = bfs(adj, from, avoid);
    return names.map((to) => pathTo(parent, to));
  });
  const unreachable: [string, string][] = [];
  names.forEach((a, i) => {
    names.forEach((b, j) => {
      if (j > i && (paths[i]?.[j] === null || paths[j]?.[i] === null)) unreachable.push([a, b]);
    });
  });
  return { nodes: names, paths, unreachable };
}

/**
 * The path a message takes from one node to another through the network groups (names, both ends
 * included), avoiding `down` nodes in between; `undefined` when there is none.
 *
 * @param nodes - every node with its network groups
 * @param from - the sending node's name
 * @param to - the receiving node's name
 * @param down - nodes that carry nothing onward
 */
export function networkPath(
  nodes: readonly NetworkGroupNode[],
  from: string,
  to: string,
  down: readonly string[] = [],
): string[] | undefined {
  const names = nodes.map((n) => n.name).sort(compareText);
  if (!names.includes(from) || !names.includes(to)) return undefined;
  return pathTo(bfs(adjacency(nodes, names), from, new Set(down)), to) ?? undefined;
}

/** How many unreachable pairs the message of `CM_UNREACHABLE_NODES` lists (all are in `details.pairs`). */
const LISTED_PAIRS = 20;

/**
 * Checks that every node of a layout can reach every other through the network groups (directly, or
 * through transit nodes).
 *
 * @param nodes - every node of the cluster with its network groups
 * @returns the path matrix, or a {@link CmError} `CM_UNREACHABLE_NODES` whose message is the seed's
 *   (`Configuration rejected by binary 'COORDINATOR' with status 'checking new settings failed - Invalid
 *   node path matrix / unreachable nodes'`) followed by the unreachable pairs, which `details.pairs` lists
 *   (`[a, b]`, `a < b`) with `details.groups` (each node's groups)
 * @throws {@link CmError} `CM_INVALID_ARGUMENT` for a malformed list
 */
export function checkNodePathMatrix(nodes: readonly NetworkGroupNode[]): Result<NodePathMatrix, CmError> {
  const matrix = nodePathMatrix(nodes);
  if (matrix.unreachable.length === 0) return ok(matrix);
  const listed = matrix.unreachable
    .slice(0, LISTED_PAIRS)
    .map(([a, b]) => `${a} <-> ${b}`)
    .join(', ');
  const more =
    matrix.unreachable.length > LISTED_PAIRS ? ` and ${matrix.unreachable.length - LISTED_PAIRS} more` : '';
  const groups = Object.fromEntries(nodes.map((n) => [n.name, [...n.groups]]));
  return err(
    new CmError(
      'CM_UNREACHABLE_NODES',
      `[StorageConfigurationRejectedLocal] Configuration rejected by binary 'COORDINATOR' with status '${UNREACHABLE_NODES_STATUS}': unreachable ${listed}${more}`,
      { details: { wire: 422, pairs: matrix.unreachable, groups }, stack: false },
    ),
  );
}

// ---- membership (internal helpers of the machine and the driver) ------------------------------------

/** Problems of a membership entry (from a peer or the store). */
export function memberIssues(v: unknown, path: string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const m = v as Partial<Record<keyof ClusterMember, unknown>> | null;
  if (m === null || typeof m !== 'object')
    return [{ path, message: `must be an object (got ${describeValue(v)})` }];
  if (!isCanonicalUuid(m.uuid))
    out.push({ path: `${path}.uuid`, message: `must be a canonical UUID (got ${describeValue(m.uuid)})` });
  if (typeof m.name !== 'string' || m.name === '' || m.name.length > 256)
    out.push({
      path: `${path}.name`,
      message: `must be a text of 1..256 characters (got ${describeValue(m.name)})`,
    });
  if (!Array.isArray(m.groups) || m.groups.length > 64 || m.groups.some((g) => !isGroupName(g)))
    out.push({
      path: `${path}.groups`,
      message: `must be up to 64 group names (got ${describeValue(m.groups)})`,
    });
  if (
    !Array.isArray(m.addresses) ||
    m.addresses.length > 64 ||
    m.addresses.some((a) => typeof a !== 'string' || a === '' || a.length > 300)
  )
    out.push({
      path: `${path}.addresses`,
      message: `must be up to 64 addresses (got ${describeValue(m.addresses)})`,
    });
  if (typeof m.seq !== 'number' || !Number.isSafeInteger(m.seq) || m.seq < 0)
    out.push({ path: `${path}.seq`, message: `must be an integer >= 0 (got ${describeValue(m.seq)})` });
  return out;
}

/** Whether a value is a network group name: a text of 1..64 characters. */
export function isGroupName(g: unknown): g is string {
  return typeof g === 'string' && g.length > 0 && g.length <= 64;
}

/** A member entry with sorted, unique groups (the canonical form kept and sent). */
export function normalizeMember(m: ClusterMember): ClusterMember {
  return {
    uuid: m.uuid,
    name: m.name,
    groups: [...new Set(m.groups)].sort(compareText),
    addresses: [...m.addresses],
    seq: m.seq,
  };
}

/** Whether two entries say the same (name, groups, addresses), whatever their counters. */
export function sameMember(a: ClusterMember, b: ClusterMember): boolean {
  return (
    a.name === b.name &&
    canonicalJson([...a.groups].sort(compareText)) === canonicalJson([...b.groups].sort(compareText)) &&
    canonicalJson(a.addresses) === canonicalJson(b.addresses)
  );
}

/** SHA-256 (hex) of a membership (order does not matter). */
export function digestMembers(members: Iterable<ClusterMember>): string {
  const sorted = [...members].map(normalizeMember).sort((a, b) => compareText(a.uuid, b.uuid));
  return createHash('sha256').update(canonicalJson(sorted)).digest('hex');
}

// Why the load of a cluster may be uneven: the three causes the operators of the seed product keep
// hitting, read from the parts of the status document that show them. Pure: the node calls it each time
// it builds its status (the explanations are part of GatewayStatus), the tests call it with made-up parts.
import type { LbStatusNode } from '@proxyha/lb-director';
import type { GatewayCmStatus, GatewayDirectorStatus, GatewayExplanation, GatewayVrrpStatus } from './types';

/** A node of the director's group, as {@link explainUnevenLoad} reads it. */
export type ExplainNode = Pick<LbStatusNode, 'name' | 'address' | 'share' | 'activeConnections' | 'self'>;

/**
 * The parts of the status document {@link explainUnevenLoad} reads: a `GatewayStatus` (without its
 * explanations) is one.
 */
export interface UnevenLoadInput {
  /** This node's VRRP instance: its state and who holds the VIPs. */
  readonly vrrp: Pick<GatewayVrrpStatus, 'state' | 'vipOwner'>;
  /** The director group as this node sees it (every node on the director, itself on a scanner). */
  readonly director: Pick<GatewayDirectorStatus, 'role' | 'group' | 'redirects'> & {
    /** The director this node follows (itself on the director), if it hears one. */
    readonly director: { readonly name: string; readonly address: string } | undefined | null;
    /** The nodes of the group. */
    readonly nodes: readonly ExplainNode[];
  };
  /** Central management (its nodes), `null` when not configured. */
  readonly cm: { readonly nodes: GatewayCmStatus['nodes'] } | null;
}

/** Fewer active connections than this (in the whole group) say nothing about their spread. */
export const FEW_SOURCES_MIN_CONNECTIONS = 20;
/** `few-sources`: one node holds more than this fraction of the group's active connections ... */
export const FEW_SOURCES_CONCENTRATION = 0.6;
/** ... while its share of the table is below this many times an even share (1/n). */
export const FEW_SOURCES_SHARE_FACTOR = 1.5;

const pct = (v: number) => `${(v * 100).toFixed(1).replace(/\.0$/, '')}%`;
const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
const label = (n: { readonly name: string; readonly address: string }) =>
  n.name === n.address || !n.address ? n.name : `${n.name} (${n.address})`;
const list = (names: readonly string[]) =>
  names.length <= 1
    ? (names[0] ?? '')
    : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1] as string}`;
/** The host of `host:port` / `[v6]:port` (or the text itself). */
function hostOf(address: string): string {
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(address);
  if (v6) return v6[1] as string;
  const v4 = /^([^:]+):\d+$/.exec(address);
  return v4 ? (v4[1] as string) : address;
}

/**
 * Why the load of the cluster may be uneven, for `proxyha status`, the API and the status page; empty when
 * nothing suggests it. The causes, in this order:
 *
 * - `no-redirects`: this node directs and has no redirects configured: it handles the traffic locally.
 * - `few-sources`: the director's table shares are even-ish, but one node holds more than 60 % of the
 *   group's active connections (at least 20) while its share is below 1.5/n: most connections come from a
 *   few source addresses (a NAT or a downstream proxy in front), and stickiness keeps them on one node.
 * - `unseen-nodes`: central management knows nodes that the director's group does not list (on the
 *   director), or this scanner hears no director while VRRP says another node is master: another subnet,
 *   or another group id.
 *
 * Pure and total: it never throws, whatever the numbers (non-finite or negative counts are read as 0).
 *
 * @param input - the parts of the node's status it reads
 */
export function explainUnevenLoad(input: UnevenLoadInput): GatewayExplanation[] {
  const out: GatewayExplanation[] = [];
  const { director: lb, vrrp, cm } = input;
  const nodes = Array.isArray(lb.nodes) ? lb.nodes : [];
  const directing = lb.role === 'director';

  if (directing && (!Array.isArray(lb.redirects) || lb.redirects.length === 0))
    out.push({
      cause: 'no-redirects',
      message:
        `this node directs group ${lb.group} but has no redirects configured (ha.redirects): ` +
        'the connections to the VIP are not sent on to the scanning nodes, this node handles them all locally',
    });

  if (directing) {
    const inTable = nodes.filter((n) => count(n.share) > 0);
    const total = nodes.reduce((sum, n) => sum + count(n.activeConnections), 0);
    if (inTable.length >= 2 && total >= FEW_SOURCES_MIN_CONNECTIONS) {
      const even = 1 / inTable.length;
      const busiest = inTable.reduce((a, b) =>
        count(b.activeConnections) > count(a.activeConnections) ? b : a,
      );
      const held = count(busiest.activeConnections) / total;
      if (held > FEW_SOURCES_CONCENTRATION && count(busiest.share) < FEW_SOURCES_SHARE_FACTOR * even)
        out.push({
          cause: 'few-sources',
          message:
            `${label(busiest)} holds ${pct(held)} of the active connections (${count(busiest.activeConnections)} of ${total}) ` +
            `with ${pct(count(busiest.share))} of the director's table (an even share of ${inTable.length} nodes is ${pct(even)}): ` +
            'most connections come from a few source addresses (a NAT or a downstream proxy in front), ' +
            'and stickiness by source address keeps each of them on one node',
        });
    }
  }

  if (directing && cm && Array.isArray(cm.nodes)) {
    const names = new Set(nodes.map((n) => n.name));
    const addresses = new Set(nodes.map((n) => n.address));
    const unseen = cm.nodes
      .filter((n) => n && n.uuid !== null && !names.has(n.name) && !addresses.has(hostOf(String(n.address))))
      .map((n) => label({ name: n.name, address: hostOf(String(n.address)) }));
    if (unseen.length > 0)
      out.push({
        cause: 'unseen-nodes',
        message:
          `central management knows ${list(unseen)}, which the director of group ${lb.group} does not see: ` +
          (unseen.length === 1
            ? 'it is on another subnet or uses another group id (ha.group), and gets no traffic'
            : 'they are on another subnet or use another group id (ha.group), and get no traffic'),
      });
  } else if (!directing && !lb.director && vrrp.state === 'backup' && vrrp.vipOwner)
    out.push({
      cause: 'unseen-nodes',
      message:
        `VRRP says ${vrrp.vipOwner} is master, but this node hears no director of group ${lb.group}: ` +
        'the master is on another subnet or uses another group id (ha.group), and this node gets no traffic',
    });

  return out;
}

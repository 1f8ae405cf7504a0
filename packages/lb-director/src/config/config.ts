// The proxyha-lb configuration: validation at the boundary (zod, internal), the typed result with every
// default filled in, and the file loader. Every problem is reported as `path: message (got value)`.
import { hostname } from 'node:os';
import {
  type ConfigIssue,
  canonicalIp,
  formatIssues,
  type IpFamily,
  ipFamily,
  issuesFromSchema,
  parseCidr,
  parseDuration,
  ROOT_PATH,
  resultOrIssue,
} from '@proxyha/common';
import { readConfigFile } from '@proxyha/common/cli';
import { z } from 'zod';
import { DEFAULT_LB_GROUP, type Redirect } from '../codec/types';
import { directRedirectIssues } from '../dataplane/direct-rules';
import type { DataPlaneKind } from '../dataplane/types';
import { LbError } from '../errors';
import type { PersistenceMask } from '../scheduler/scheduler';

/** How this node decides whether it is the director. */
export type RoleMode = 'auto' | 'director' | 'scanner';

/** How the protocol-253 messages travel. */
export type TransportKind = 'raw' | 'loopback';

/** Health probing of the node's own destination ports (all of them as a whole). */
export interface LbHealthConfig {
  /** Address probed; default the management address. */
  readonly host: string;
  /** Probe interval, ms (default 1000). */
  readonly intervalMs: number;
  /** Probe timeout, ms (default: the interval, at most 1000). */
  readonly timeoutMs: number;
  /** Consecutive failures from ok to failure (default 3). */
  readonly fall: number;
  /** Consecutive successes from failure to ok (default 2). */
  readonly rise: number;
}

/** Authentication of the group's messages. */
export interface LbAuthConfig {
  /** The key file (one or two keys; the first signs). */
  readonly keyFile: string;
  /** Accepted clock distance of a message's timestamp, ms (default 30 s). */
  readonly window: number;
}

/** What keeps open connections going when another node becomes director (nftables). */
export interface LbHandoverConfig {
  /** Keep the data plane's table loaded while not directing, so a takeover needs no load (default false; true with `conntrackSync`). */
  readonly keepLoaded: boolean;
  /** Share connection state with the other director candidates through conntrackd (started by the daemon). */
  readonly conntrackSync:
    | {
        /** The other candidate's address on the sync link (without it: multicast). */
        readonly peer: string | undefined;
        /** The sync link's interface (default: `interface`). */
        readonly interface: string;
        /** UDP port (default 3780). */
        readonly port: number | undefined;
      }
    | undefined;
}

/** A validated proxyha-lb configuration, every default applied (durations in ms). */
export interface LbDaemonConfig {
  /** Load-balancing group id, 1..255 (default 51, the seed's MFEND_LBID). */
  readonly group: number;
  /** This node's name (default the host name), at most 64 bytes. */
  readonly name: string;
  /** The interface the protocol runs on. */
  readonly interface: string;
  /** This node's own address on that interface, never a VIP. */
  readonly managementIp: string;
  /** Its family. */
  readonly family: IpFamily;
  /** The virtual addresses: while one of them is on one of this host's interfaces, this node is the director. */
  readonly virtualIps: readonly string[];
  /** The redirects (original port on the VIP -> destination port on the chosen node). */
  readonly redirects: readonly Redirect[];
  /** The data plane: `nftables` (kernel full NAT, root), `relay` (userspace, no root), `direct` (direct routing, root). */
  readonly dataPlane: DataPlaneKind;
  /** Relay: send a PROXY protocol header of this version to the nodes (HAProxy `accept-proxy`, squid `require-proxy-header`). */
  readonly proxyProtocol: 'v1' | 'v2' | undefined;
  /** Announcement and report interval, ms (default 1000). */
  readonly intervalMs: number;
  /** A node whose reports stop for this many intervals is removed (default 3). */
  readonly failAfter: number;
  /** This node's static capacity weight, 0..65535 (default 100). */
  readonly weight: number;
  /** Director priority for the split-brain rule, 0..255 (default 100). */
  readonly priority: number;
  /** Health probing of the destination ports. */
  readonly health: LbHealthConfig;
  /** Authentication key file (one or two keys), when the group authenticates its messages. */
  readonly auth: LbAuthConfig | undefined;
  /** Directory of the node id (`node-id`) and the status socket (`proxyha-lb.sock`). */
  readonly dataDir: string;
  /** How the role is decided: from the VIPs (`auto`, default) or fixed. */
  readonly role: RoleMode;
  /** `raw` (IP protocol 253, root; default) or `loopback` (UDP between loopback addresses, no root). */
  readonly transport: TransportKind;
  /** Loopback transport: UDP port (default 5253). */
  readonly port: number;
  /** Loopback transport: the other nodes' addresses (announcements go to each of them). */
  readonly peers: readonly string[];
  /** Persistence granularity: client addresses are masked to these prefixes. */
  readonly persistence: PersistenceMask;
  /** Bounded load: the balance factor epsilon (default 0.25). */
  readonly balanceFactor: number;
  /** Weigh nodes by resource use and active connections (default true). */
  readonly loadAware: boolean;
  /**
   * Becoming director, take over the table the previous director announced, so that no client changes
   * node because the VIP moved (default true; false: build the first table from the reports).
   */
  readonly adoptTable: boolean;
  /** Number of buckets (a prime), when fixed. */
  readonly tableSize: number | undefined;
  /** Hash seed (u32), when not the default. Every node of a group must use the same. */
  readonly seed: number | undefined;
  /** Director handover (nftables). */
  readonly handover: LbHandoverConfig;
}

const DURATION = { min: 10, max: 60_000 };
const duration = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => resultOrIssue(parseDuration(v, DURATION), ctx));
const port = z.number().int('must be an integer').min(1, 'must be >= 1').max(65535, 'must be <= 65535');
const int = (min: number, max: number) =>
  z.number().int('must be an integer').min(min, `must be >= ${min}`).max(max, `must be <= ${max}`);
const address = z.string().refine((v) => ipFamily(v) !== undefined, 'must be an IPv4 or IPv6 address');
const utf8Max = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .refine((v) => Buffer.byteLength(v) <= max, `must be at most ${max} bytes`);

const fileSchema = z.strictObject({
  group: int(1, 255).optional(),
  name: utf8Max(64).optional(),
  interface: z.string().min(1, 'must not be empty').max(15, 'must be at most 15 characters'),
  managementIp: address,
  virtualIps: z
    .array(
      z.string().refine((v) => parseCidr(v) !== undefined, 'must be an address, optionally with /prefix'),
    )
    .max(64, 'at most 64 addresses'),
  redirects: z
    .array(z.strictObject({ originalPort: port, destinationPort: port }))
    .min(1, 'at least one redirect is needed')
    .max(64, 'at most 64 redirects'),
  dataPlane: z.enum(['relay', 'nftables', 'direct']).optional(),
  proxyProtocol: z.enum(['v1', 'v2']).optional(),
  interval: duration.optional(),
  failAfter: int(2, 100).optional(),
  weight: int(0, 65535).optional(),
  priority: int(0, 255).optional(),
  health: z
    .strictObject({
      host: address.optional(),
      interval: duration.optional(),
      timeout: duration.optional(),
      fall: int(1, 100).optional(),
      rise: int(1, 100).optional(),
    })
    .optional(),
  auth: z
    .strictObject({ keyFile: z.string().min(1, 'must not be empty'), window: duration.optional() })
    .optional(),
  dataDir: z.string().min(1, 'must not be empty').optional(),
  role: z.enum(['auto', 'director', 'scanner']).optional(),
  transport: z.enum(['raw', 'loopback']).optional(),
  port: port.optional(),
  peers: z.array(address).optional(),
  persistence: z
    .strictObject({ ipv4PrefixLength: int(1, 32).optional(), ipv6PrefixLength: int(1, 128).optional() })
    .optional(),
  balanceFactor: z.number().min(0.01, 'must be >= 0.01').max(10, 'must be <= 10').optional(),
  loadAware: z.boolean().optional(),
  adoptTable: z.boolean().optional(),
  tableSize: int(3, 65521).optional(),
  seed: int(0, 0xffffffff).optional(),
  handover: z
    .strictObject({
      keepLoaded: z.boolean().optional(),
      conntrackSync: z
        .strictObject({
          peer: address.optional(),
          interface: z.string().min(1).max(15).optional(),
          port: port.optional(),
        })
        .optional(),
    })
    .optional(),
});

type FileShape = z.output<typeof fileSchema>;

function semanticIssues(v: FileShape): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const family = ipFamily(v.managementIp);
  v.virtualIps.forEach((vip, i) => {
    const cidr = parseCidr(vip);
    if (cidr && canonicalIp(cidr.text) === canonicalIp(v.managementIp))
      issues.push({
        path: `virtualIps[${i}]`,
        message: `is the management address: managementIp must be the node’s own address, never a VIP (got ${vip})`,
      });
  });
  const seen = new Set<number>();
  v.redirects.forEach((r, i) => {
    if (seen.has(r.originalPort))
      issues.push({
        path: `redirects[${i}].originalPort`,
        message: `port ${r.originalPort} is redirected twice`,
      });
    seen.add(r.originalPort);
  });
  if ((v.transport ?? 'raw') === 'loopback' && (v.peers ?? []).length === 0)
    issues.push({ path: 'peers', message: 'the loopback transport needs the other nodes’ addresses' });
  (v.peers ?? []).forEach((p, i) => {
    if (ipFamily(p) !== family)
      issues.push({
        path: `peers[${i}]`,
        message: `must be ${family === 'ipv4' ? 'IPv4' : 'IPv6'} like managementIp (got ${p})`,
      });
  });
  if (v.dataPlane === 'direct') issues.push(...directRedirectIssues(v.redirects));
  if (v.proxyProtocol !== undefined && v.dataPlane !== 'relay')
    issues.push({
      path: 'proxyProtocol',
      message: `only the relay data plane sends a PROXY protocol header (dataPlane is ${v.dataPlane ?? 'nftables'})`,
    });
  if (v.handover !== undefined && (v.dataPlane ?? 'nftables') !== 'nftables')
    issues.push({
      path: 'handover',
      message: `only the nftables data plane hands connections over (dataPlane is ${v.dataPlane})`,
    });
  if (v.tableSize !== undefined && !isPrime(v.tableSize))
    issues.push({ path: 'tableSize', message: `must be a prime (got ${v.tableSize})` });
  return issues;
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

function resolve(v: FileShape): LbDaemonConfig {
  const intervalMs = v.interval ?? 1000;
  const family = ipFamily(v.managementIp) as IpFamily;
  const healthInterval = v.health?.interval ?? 1000;
  return {
    group: v.group ?? DEFAULT_LB_GROUP,
    name: v.name ?? hostname().slice(0, 64),
    interface: v.interface,
    managementIp: canonicalIp(v.managementIp) as string,
    family,
    virtualIps: v.virtualIps,
    redirects: v.redirects,
    dataPlane: v.dataPlane ?? 'nftables',
    proxyProtocol: v.proxyProtocol,
    intervalMs,
    failAfter: v.failAfter ?? 3,
    weight: v.weight ?? 100,
    priority: v.priority ?? 100,
    health: {
      host: v.health?.host ?? v.managementIp,
      intervalMs: healthInterval,
      timeoutMs: v.health?.timeout ?? Math.min(healthInterval, 1000),
      fall: v.health?.fall ?? 3,
      rise: v.health?.rise ?? 2,
    },
    auth: v.auth ? { keyFile: v.auth.keyFile, window: v.auth.window ?? 30_000 } : undefined,
    dataDir: v.dataDir ?? '/var/lib/proxyha-lb',
    role: v.role ?? 'auto',
    transport: v.transport ?? 'raw',
    port: v.port ?? 5253,
    peers: (v.peers ?? []).map((p) => canonicalIp(p) as string),
    persistence: {
      ipv4PrefixLength: v.persistence?.ipv4PrefixLength ?? 32,
      ipv6PrefixLength: v.persistence?.ipv6PrefixLength ?? 128,
    },
    balanceFactor: v.balanceFactor ?? 0.25,
    loadAware: v.loadAware ?? true,
    adoptTable: v.adoptTable ?? true,
    tableSize: v.tableSize,
    seed: v.seed,
    handover: {
      keepLoaded: v.handover?.keepLoaded ?? v.handover?.conntrackSync !== undefined,
      conntrackSync: v.handover?.conntrackSync
        ? {
            peer: v.handover.conntrackSync.peer,
            interface: v.handover.conntrackSync.interface ?? v.interface,
            port: v.handover.conntrackSync.port,
          }
        : undefined,
    },
  };
}

function invalid(
  source: string,
  issues: readonly ConfigIssue[],
): LbError<{ issues: readonly ConfigIssue[] }> {
  return new LbError('LB_CONFIG_INVALID', formatIssues(source, issues), { details: { issues } });
}

/**
 * Validates the parsed contents of a proxyha-lb configuration file and fills in the defaults.
 *
 * @param data - the parsed YAML or JSON document
 * @param source - how to name it in messages (the file name)
 * @returns the validated configuration
 * @throws {@link LbError} `LB_CONFIG_INVALID` naming every bad path in `details.issues`
 */
export function parseLbDaemonConfig(data: unknown, source = 'config'): LbDaemonConfig {
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw invalid(source, [{ path: ROOT_PATH, message: 'must be a mapping of settings' }]);
  const result = fileSchema.safeParse(data, { reportInput: true });
  if (!result.success) throw invalid(source, issuesFromSchema(result.error.issues, data));
  const issues = semanticIssues(result.data);
  if (issues.length > 0) throw invalid(source, issues);
  return resolve(result.data);
}

/**
 * Reads and validates a proxyha-lb configuration file (YAML; JSON is YAML).
 *
 * @param file - the path
 * @returns the validated configuration
 * @throws `@proxyha/common`'s `COMMON_CONFIG_READ` when it cannot be read or parsed; {@link LbError}
 *   `LB_CONFIG_INVALID` when it does not validate
 */
export async function loadLbDaemonConfig(file: string): Promise<LbDaemonConfig> {
  return parseLbDaemonConfig(await readConfigFile(file), file);
}

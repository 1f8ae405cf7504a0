// The proxyha-cm node configuration: validation at the boundary (zod, internal) and the typed result.
import { join } from 'node:path';
import {
  type ConfigIssue,
  formatIssues,
  issuesFromSchema,
  parseDuration,
  ROOT_PATH,
  resultOrIssue,
} from '@proxyha/common';
import { readConfigFile } from '@proxyha/common/cli';
import { z } from 'zod';
import { CmError } from '../errors';
import { parsePeerAddress } from '../transport/client';
import { type CmUpdatesConfig, updateGroupsSchema, updatesConfigOf, updatesSchema } from './updates';

/** A `host:port` endpoint. */
export interface Endpoint {
  /** IPv4 or IPv6 address, or a host name. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
}

/** Groups (part 2 of central management): one network group when absent. */
export interface CmGroupsConfig {
  /** Network groups this node is in (a node in several is a transit node). */
  readonly network: readonly string[];
  /**
   * Update groups (default `['default']`): the node shares engine and list updates with the nodes of these
   * groups only (see `updates`).
   */
  readonly update: readonly string[];
  /** Runtime group: runtime data is shared with its members only (default `default` when absent). */
  readonly runtime: string | undefined;
}

/** A validated proxyha-cm configuration (durations in ms, every default applied). */
export interface CmConfig {
  /** This node's name. */
  readonly name: string;
  /** Where the node listens for its peers (default port 12346). */
  readonly listen: Endpoint;
  /** Addresses and names in this node's certificate and hello (default: the listen host). */
  readonly addresses: readonly string[];
  /** Data directory: node id, database, certificates, control socket. */
  readonly dataDir: string;
  /** The cluster CA: its certificate, and its key when this node issues its own certificate. */
  readonly ca: {
    /** Path of the CA certificate (PEM). */
    readonly cert: string;
    /** Path of the CA private key (PEM), if this node issues its own certificate. */
    readonly key: string | undefined;
  };
  /** A node certificate issued elsewhere (default: issued at start with `ca.key`, kept in dataDir). */
  readonly certificate:
    | {
        /** Path of the node certificate (PEM). */
        readonly cert: string;
        /** Path of its private key (PEM). */
        readonly key: string;
      }
    | undefined;
  /** Central-management priority: on a conflict the lower value wins (1..1000, default 1). */
  readonly priority: number;
  /** Peers to reach at start (`host:port`). */
  readonly peers: readonly Endpoint[];
  /** Messages from a peer whose clock differs by more than this are refused (405), ms (default 10 s). */
  readonly maxClockSkewMs: number;
  /** Groups. */
  readonly groups: CmGroupsConfig;
  /** Where the current policy's documents are written (default dataDir/policy). */
  readonly policyDir: string;
  /** Run after a new policy was written (program and arguments, no shell), e.g. `[squid, -k, reconfigure]`. */
  readonly applyCommand: readonly string[] | undefined;
  /**
   * The admin lock's lease, ms (default 30 s): the holding node renews it every third of this while it
   * runs; when that node dies every other node lets the lease expire this long after it last heard of it.
   */
  readonly adminLockTtlMs: number;
  /** Engine and list updates shared within the update groups (the seed's "Automatic Engine Updates"). */
  readonly updates: CmUpdatesConfig;
}

/** `host:port` text of an endpoint (`[v6]:port`). */
export function formatEndpoint(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

const endpoint = z.string().transform((v, ctx): Endpoint => {
  try {
    return parsePeerAddress(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be host:port (got ${v})` });
    return z.NEVER;
  }
});
const SKEW = { min: 100, max: 86_400_000 };
const LOCK_TTL = { min: 3000, max: 86_400_000 };
const path = z.string().min(1, 'must not be empty');

const fileSchema = z.strictObject({
  name: z
    .string()
    .min(1, 'must not be empty')
    .max(64, 'must be at most 64 characters')
    .regex(/^[\w.-]+$/, 'must be letters, digits, ".", "-" or "_"'),
  // port 0: any free port (tests, embedding); peers must name a real one
  listen: z.string().transform((v, ctx): Endpoint => {
    const zero = /^(.*):0$/.exec(v);
    try {
      return zero ? { ...parsePeerAddress(zero[1] as string), port: 0 } : parsePeerAddress(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: `must be host:port (got ${v})` });
      return z.NEVER;
    }
  }),
  addresses: z.array(z.string().min(1)).optional(),
  dataDir: path,
  ca: z.strictObject({ cert: path, key: path.optional() }),
  certificate: z.strictObject({ cert: path, key: path }).optional(),
  priority: z
    .number()
    .int('must be an integer')
    .min(1, 'must be >= 1')
    .max(1000, 'must be <= 1000')
    .optional(),
  peers: z.array(endpoint).optional(),
  maxClockSkew: z
    .union([z.string(), z.number()])
    .transform((v, ctx) => resultOrIssue(parseDuration(v, SKEW), ctx))
    .optional(),
  groups: z
    .strictObject({
      network: z.array(z.string().min(1)).min(1, 'at least one network group').optional(),
      update: updateGroupsSchema,
      runtime: z.string().min(1).max(64, 'must be at most 64 characters').optional(),
    })
    .optional(),
  policyDir: path.optional(),
  applyCommand: z.array(z.string().min(1)).min(1, 'needs a program').optional(),
  adminLockTtl: z
    .union([z.string(), z.number()])
    .transform((v, ctx) => resultOrIssue(parseDuration(v, LOCK_TTL), ctx))
    .optional(),
  updates: updatesSchema,
});

function invalid(
  source: string,
  issues: readonly ConfigIssue[],
): CmError<{ issues: readonly ConfigIssue[] }> {
  return new CmError('CM_CONFIG_INVALID', formatIssues(source, issues), { details: { issues } });
}

/**
 * Validates the parsed contents of a proxyha-cm configuration file and fills in the defaults.
 *
 * @param data - the parsed YAML or JSON document
 * @param source - how to name it in messages (the file name)
 * @throws {@link CmError} `CM_CONFIG_INVALID` naming every bad path in `details.issues`
 */
export function parseCmConfig(data: unknown, source = 'config'): CmConfig {
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw invalid(source, [{ path: ROOT_PATH, message: 'must be a mapping of settings' }]);
  const r = fileSchema.safeParse(data, { reportInput: true });
  if (!r.success) throw invalid(source, issuesFromSchema(r.error.issues, data));
  const v = r.data;
  const issues: ConfigIssue[] = [];
  if (v.ca.key === undefined && v.certificate === undefined)
    issues.push({
      path: 'ca.key',
      message: 'is needed to issue this node its certificate (or give certificate: { cert, key })',
    });
  if (issues.length > 0) throw invalid(source, issues);
  return {
    name: v.name,
    listen: v.listen,
    addresses: v.addresses ?? [v.listen.host],
    dataDir: v.dataDir,
    ca: { cert: v.ca.cert, key: v.ca.key },
    certificate: v.certificate,
    priority: v.priority ?? 1,
    peers: v.peers ?? [],
    maxClockSkewMs: v.maxClockSkew ?? 10_000,
    groups: {
      network: v.groups?.network ?? ['default'],
      update:
        typeof v.groups?.update === 'string'
          ? [v.groups.update]
          : [...new Set(v.groups?.update ?? ['default'])],
      runtime: v.groups?.runtime,
    },
    policyDir: v.policyDir ?? join(v.dataDir, 'policy'),
    applyCommand: v.applyCommand,
    adminLockTtlMs: v.adminLockTtl ?? 30_000,
    updates: updatesConfigOf(v.updates),
  };
}

/**
 * Reads and validates a proxyha-cm configuration file (YAML; JSON is YAML).
 *
 * @param file - the path
 * @throws `COMMON_CONFIG_READ` when unreadable; {@link CmError} `CM_CONFIG_INVALID` when invalid
 */
export async function loadCmConfig(file: string): Promise<CmConfig> {
  return parseCmConfig(await readConfigFile(file), file);
}

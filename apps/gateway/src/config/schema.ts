// The gateway file's own schema (zod, internal): the sections and their keys (unknown keys are errors),
// and full validation of the settings only the gateway reads (node, onHealthFailure, ntp, policy.dir,
// management). Settings a package reads are `unknown` here: the package's own parser validates them on the
// derived object, and its issues are mapped back to the file's paths (derive.ts).
import {
  type ConfigIssue,
  canonicalIp,
  describeValue,
  err,
  formatDuration,
  formatPath,
  ipFamily,
  issuesFromSchema,
  ok,
  parseDuration,
  parseIp,
  type Result,
  resultOrIssue,
} from '@proxyha/common';
import { MIN_POLL_INTERVAL_FLOOR_MS, type NtpServerAddress, parseServerAddress } from '@proxyha/ntp-check';
import { z } from 'zod';

const pass = z.unknown().optional();
const section = (what: string) => ({
  error: (issue: { input?: unknown }) =>
    issue.input === undefined
      ? 'is required'
      : `must be a mapping of ${what} (got ${describeValue(issue.input)})`,
});
const absolutePath = z
  .string({ error: 'must be a path' })
  .min(1, 'must not be empty')
  .refine((p) => p.startsWith('/') && !p.includes('\0'), { message: 'must be an absolute path' });

/** The keys of the `ha` section that go to `@proxyha/vrrpd` unchanged (instance settings). */
export const VRRP_INSTANCE_KEYS = [
  'version',
  'preempt',
  'preemptDelay',
  'releaseVipsAfterSuccessor',
  'unicastPeers',
  'accept',
  'sourceAddress',
  'checksum',
  'lowerPriorityResponse',
  'authPassword',
  'trackScripts',
  'trackFiles',
  'trackInterfaces',
  'garp',
  'vmac',
  'higherPrioritySendAdvert',
  'authHmac',
  'notifyMaster',
  'notifyBackup',
  'notifyFault',
  'notifyStop',
  'notify',
] as const;

/** The keys of the `ha` section that go to `@proxyha/vrrpd` unchanged (daemon settings). */
export const VRRP_DAEMON_KEYS = [
  'strict',
  'realtimePriority',
  'nice',
  'loopback',
  'notifyFifo',
  'notifyFifoScript',
  'notifyPriorityChanges',
  'scriptUser',
  'notifyTimeout',
] as const;

/** The keys of the `ha` section that go to `@proxyha/lb-director` unchanged. */
export const LB_KEYS = [
  'group',
  'dataPlane',
  'proxyProtocol',
  'failAfter',
  'weight',
  'auth',
  'port',
  'persistence',
  'balanceFactor',
  'loadAware',
  'adoptTable',
  'tableSize',
  'seed',
  'handover',
] as const;

/** The keys of the `health` section (health-mon's; lb reads interval, timeout, fall and rise too). */
export const HEALTH_KEYS = [
  'interval',
  'timeout',
  'fall',
  'rise',
  'concurrency',
  'jitter',
  'initial',
] as const;

/** The keys of the `cm` section, passed to `@proxyha/cm-coordinator` unchanged. */
export const CM_KEYS = [
  'listen',
  'ca',
  'priority',
  'peers',
  'addresses',
  'certificate',
  'maxClockSkew',
  'groups',
  'updates',
  'adminLockTtl',
] as const;

const passAll = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, pass])) as Record<K, typeof pass>;

const healthFailure = z.union(
  [
    z.literal('fault'),
    z.strictObject({
      weight: z
        .number({ error: 'must be a number' })
        .int('must be an integer')
        .min(-253, 'must be >= -253')
        .max(-1, 'must be <= -1: a failure lowers the priority (use fault to give up the VIP)'),
    }),
  ],
  { error: 'must be fault or { weight: -1..-253 }' },
);

const nodeSchema = z.strictObject(
  {
    name: z
      .string({ error: 'must be a name' })
      .min(1, 'must not be empty')
      .max(64, 'must be at most 64 characters')
      .regex(/^[\w.-]+$/, 'must be letters, digits, ".", "-" or "_"')
      .optional(),
    dataDir: absolutePath.optional(),
  },
  section('node settings'),
);

const haSchema = z.strictObject(
  {
    interface: pass,
    managementIp: pass,
    virtualIps: pass,
    vrid: pass,
    priority: pass,
    advertInterval: pass,
    redirects: pass,
    onHealthFailure: healthFailure.optional(),
    transport: pass,
    peers: pass,
    ...passAll(VRRP_INSTANCE_KEYS),
    ...passAll(VRRP_DAEMON_KEYS),
    ...passAll(LB_KEYS),
  },
  section('ha settings'),
);

const healthSchema = z.strictObject(passAll(HEALTH_KEYS), section('health settings'));

/** A duration with bounds (common's parseDuration); `positive` refuses zero. */
const duration = (limits: { min?: number; max?: number } = {}) =>
  z
    .union([z.string(), z.number()], { error: 'must be a duration such as 500ms, 2s or 1m30s' })
    .transform((v, ctx) => resultOrIssue(parseDuration(v, limits), ctx));

const server = z.string({ error: 'must be SERVER[:PORT]' }).transform((v, ctx): NtpServerAddress => {
  const r = parseServerAddress(v);
  if (r.ok) return r.value;
  ctx.addIssue({ code: 'custom', message: r.error.message, params: { valueShown: true } });
  return z.NEVER;
});

const ntpSchema = z
  .strictObject(
    {
      servers: z
        .array(server, { error: 'must be a list of servers' })
        .min(1, 'must name at least one server'),
      maxOffset: duration({ min: 1 }).optional(),
      warnOffset: duration().optional(),
      panicThreshold: duration({ min: 1 }).optional(),
      timeout: duration({ min: 1, max: 60_000 }).optional(),
      interval: duration({ min: MIN_POLL_INTERVAL_FLOOR_MS, max: 86_400_000 }).optional(),
    },
    section('ntp settings'),
  )
  .superRefine((n, ctx) => {
    const max = n.maxOffset ?? 1000;
    if (n.warnOffset !== undefined && n.warnOffset > max)
      ctx.addIssue({
        code: 'custom',
        path: ['warnOffset'],
        message: `must not exceed maxOffset ${formatDuration(max)} (got ${formatDuration(n.warnOffset)})`,
        params: { valueShown: true },
      });
    if (n.panicThreshold !== undefined && n.panicThreshold < max)
      ctx.addIssue({
        code: 'custom',
        path: ['panicThreshold'],
        message: `must not be below maxOffset ${formatDuration(max)} (got ${formatDuration(n.panicThreshold)})`,
        params: { valueShown: true },
      });
  });

const cmSchema = z.strictObject(passAll(CM_KEYS), section('cm settings'));

const policySchema = z.strictObject(
  { dir: absolutePath.optional(), apply: pass },
  section('policy settings'),
);

/** A listening endpoint: an IP address (not a name: it is bound) and a port. */
export interface ListenEndpoint {
  /** Canonical IP address. */
  readonly host: string;
  /** TCP port 1..65535. */
  readonly port: number;
}

/** Parses `ADDRESS:PORT` / `[V6]:PORT` with an IP literal. */
export function parseListen(text: unknown): Result<ListenEndpoint, string> {
  const bad = () =>
    err(`must be ADDRESS:PORT with an IP address (127.0.0.1:8443, [::1]:8443) (got ${describeValue(text)})`);
  if (typeof text !== 'string') return bad();
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return bad();
  const host = canonicalIp(m[1]);
  const port = Number(m[2]);
  if (host === undefined || port < 1 || port > 65535) return bad();
  return ok({ host, port });
}

const managementSchema = z.strictObject(
  {
    listen: z
      .unknown()
      .transform((v, ctx) => resultOrIssue(parseListen(v), ctx))
      .optional(),
    tokenFile: absolutePath.optional(),
    tls: z
      .strictObject({ cert: absolutePath, key: absolutePath }, section('tls files (cert, key)'))
      .optional(),
  },
  section('management settings'),
);

/** The whole file (stage 1). */
export const fileSchema = z.strictObject(
  {
    node: nodeSchema.optional(),
    ha: haSchema,
    health: healthSchema.optional(),
    ntp: ntpSchema.optional(),
    cm: cmSchema.optional(),
    policy: policySchema.optional(),
    management: managementSchema.optional(),
  },
  {
    error: (issue) =>
      issue.code === 'invalid_type'
        ? `must be a mapping with at least an ha section (got ${describeValue(issue.input)})`
        : undefined,
  },
);

/** The validated stage-1 document: gateway settings typed, package settings still as written. */
export type FileShape = z.output<typeof fileSchema>;

/** The keys the gateway knows at a path (`''`: the top level), for "did you mean" hints and the README test. */
export const KNOWN_KEYS: Readonly<Record<string, readonly string[]>> = {
  '': Object.keys(fileSchema.shape),
  node: Object.keys(nodeSchema.shape),
  ha: Object.keys(haSchema.shape),
  health: Object.keys(healthSchema.shape),
  ntp: ['servers', 'maxOffset', 'warnOffset', 'panicThreshold', 'timeout', 'interval'],
  cm: Object.keys(cmSchema.shape),
  policy: Object.keys(policySchema.shape),
  management: Object.keys(managementSchema.shape),
  'management.tls': ['cert', 'key'],
  'ha.onHealthFailure': ['weight'],
};

/** `unknown setting`, with the closest known key when one is close enough to be a typo. */
export function unknownKeyIssue(parent: string, key: string): ConfigIssue {
  const path = parent ? `${parent}.${key}` : key;
  const known = KNOWN_KEYS[parent] ?? [];
  const near = known
    .map((k) => ({ k, d: distance(k.toLowerCase(), key.toLowerCase()) }))
    .filter(({ d }) => d <= Math.min(2, Math.floor(key.length / 3)))
    .sort((a, b) => a.d - b.d)[0];
  return { path, message: `unknown setting${near ? ` (did you mean ${near.k}?)` : ''}` };
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = row;
  }
  return prev[b.length] as number;
}

/** Stage-1 issues: one `unknown setting` per unknown key, the others in common's format. */
export function fileIssues(issues: readonly z.core.$ZodIssue[], input: unknown): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const parent = issue.path.filter((p) => typeof p === 'string').join('.');
      const prefix = issue.path.length === 0 ? '' : `${formatPath(issue.path)}.`;
      for (const key of issue.keys) out.push({ ...unknownKeyIssue(parent, key), path: `${prefix}${key}` });
    } else out.push(...issuesFromSchema([issue], input));
  }
  return out;
}

/** True when the address is a loopback address (127.0.0.0/8, ::1). */
export function isLoopback(host: string): boolean {
  const ip = parseIp(host);
  if (!ip) return false;
  return ip.family === 'ipv4' ? ip.bytes[0] === 127 : ip.text === '::1';
}

/** True when the address is the wildcard of its family (0.0.0.0, ::). */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || (ipFamily(host) === 'ipv6' && canonicalIp(host) === '::');
}

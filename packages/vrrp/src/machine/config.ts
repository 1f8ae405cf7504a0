// Validation and normalisation of MachineConfig (zod at the boundary, typed error out).
import { z } from 'zod';
import { VrrpMachineError } from './errors';
import { type ParsedIp, parseIp, parseIpWithPrefix } from './ip';
import type { LowerPriorityResponse, MachineConfig, TrackerConfig } from './types';

/** A tracker after defaults. */
export interface ResolvedTracker {
  readonly name: string;
  readonly kind: NonNullable<TrackerConfig['kind']>;
  readonly weight: number;
  readonly initial: 'up' | 'down';
}

/** MachineConfig after validation and defaults. */
export interface ResolvedConfig {
  readonly name: string;
  readonly vrid: number;
  readonly version: 2 | 3;
  readonly priority: number;
  readonly owner: boolean;
  readonly advertIntervalMs: number;
  readonly primary: ParsedIp;
  readonly family: 4 | 6;
  /** As configured (with prefixes), for addVips/removeVips. */
  readonly virtualIps: readonly string[];
  /** Canonical texts, for adverts and announcements. */
  readonly vipTexts: readonly string[];
  readonly vipSet: ReadonlySet<string>;
  readonly preempt: boolean;
  readonly preemptDelayMs: number;
  readonly accept: boolean;
  readonly unicastPeers: ReadonlySet<string>;
  readonly lowerPriorityResponse: LowerPriorityResponse;
  readonly checkAddressList: boolean;
  readonly authType: number;
  readonly trackers: readonly ResolvedTracker[];
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const address = z
  .string()
  .refine((s) => parseIp(s) !== undefined, { message: 'not an IPv4 or IPv6 address' });

const schema = z
  .strictObject({
    name: z.string().min(1).max(64),
    vrid: int(1, 255),
    version: z.union([z.literal(2), z.literal(3)]).default(3),
    priority: int(1, 255).default(100),
    advertIntervalMs: z.number().positive().default(1000),
    primaryAddress: address,
    virtualIps: z
      .array(
        z.string().refine((s) => parseIpWithPrefix(s) !== undefined, {
          message: 'not an IPv4 or IPv6 address (with optional /prefix)',
        }),
      )
      .min(1),
    preempt: z.boolean().default(true),
    preemptDelayMs: z.number().min(0).max(3_600_000).default(0),
    accept: z.boolean().default(false),
    unicastPeers: z.array(address).default([]),
    lowerPriorityResponse: z.enum(['rfc9568', 'rfc5798']).default('rfc9568'),
    checkAddressList: z.boolean().default(true),
    authType: int(0, 2).default(0),
    trackers: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          kind: z.enum(['interface', 'script', 'file', 'health', 'other']).default('other'),
          weight: int(-253, 253).default(0),
          initial: z.enum(['up', 'down']).default('up'),
        }),
      )
      .default([]),
  })
  .superRefine((c, ctx) => {
    const primary = parseIp(c.primaryAddress);
    if (c.version === 2) {
      if (
        !Number.isInteger(c.advertIntervalMs / 1000) ||
        c.advertIntervalMs < 1000 ||
        c.advertIntervalMs > 255_000
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['advertIntervalMs'],
          message: `version 2 needs whole seconds, 1000..255000 ms (got ${c.advertIntervalMs})`,
        });
      }
      if (primary?.family === 6) {
        ctx.addIssue({ code: 'custom', path: ['version'], message: 'VRRP version 2 is IPv4 only' });
      }
    } else if (
      !Number.isInteger(c.advertIntervalMs / 10) ||
      c.advertIntervalMs < 10 ||
      c.advertIntervalMs > 40_950
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['advertIntervalMs'],
        message: `version 3 needs whole centiseconds, 10..40950 ms (got ${c.advertIntervalMs})`,
      });
    }
    if (primary === undefined) return;
    c.virtualIps.forEach((vip, i) => {
      const ip = parseIpWithPrefix(vip);
      if (ip && ip.family !== primary.family) {
        ctx.addIssue({
          code: 'custom',
          path: ['virtualIps', i],
          message: `address family differs from primaryAddress ${c.primaryAddress} (got ${vip})`,
        });
      }
    });
    c.unicastPeers.forEach((peer, i) => {
      const ip = parseIp(peer);
      if (ip && ip.family !== primary.family) {
        ctx.addIssue({
          code: 'custom',
          path: ['unicastPeers', i],
          message: `address family differs from primaryAddress ${c.primaryAddress} (got ${peer})`,
        });
      }
    });
    const seen = new Set<string>();
    c.trackers.forEach((t, i) => {
      if (seen.has(t.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['trackers', i, 'name'],
          message: `duplicate tracker name ${t.name}`,
        });
      }
      seen.add(t.name);
    });
  });

/**
 * Validates a MachineConfig and applies defaults.
 *
 * @throws VrrpMachineError with code `VRRP_MACHINE_CONFIG`, one problem per bad path
 */
export function resolveConfig(config: MachineConfig): ResolvedConfig {
  const parsed = schema.safeParse(config);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(config)';
      let value: unknown = config;
      for (const key of issue.path) {
        value =
          value !== null && typeof value === 'object'
            ? (value as Record<PropertyKey, unknown>)[key]
            : undefined;
      }
      const shown = value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
      return `${path}: ${issue.message}${issue.message.includes('(got') ? '' : shown}`;
    });
    throw new VrrpMachineError(
      'VRRP_MACHINE_CONFIG',
      `invalid VRRP instance config: ${problems.join('; ')}`,
      problems,
    );
  }
  const c = parsed.data;
  const primary = parseIp(c.primaryAddress) as ParsedIp;
  const vipTexts = c.virtualIps.map((v) => (parseIpWithPrefix(v) as ParsedIp).text);
  return {
    name: c.name,
    vrid: c.vrid,
    version: c.version,
    priority: c.priority,
    owner: c.priority === 255,
    advertIntervalMs: c.advertIntervalMs,
    primary,
    family: primary.family,
    virtualIps: [...c.virtualIps],
    vipTexts,
    vipSet: new Set(vipTexts),
    preempt: c.preempt,
    preemptDelayMs: c.preempt ? c.preemptDelayMs : 0,
    accept: c.accept,
    unicastPeers: new Set(c.unicastPeers.map((p) => (parseIp(p) as ParsedIp).text)),
    lowerPriorityResponse: c.lowerPriorityResponse,
    checkAddressList: c.checkAddressList,
    authType: c.authType,
    trackers: c.trackers.map((t) => ({ name: t.name, kind: t.kind, weight: t.weight, initial: t.initial })),
  };
}

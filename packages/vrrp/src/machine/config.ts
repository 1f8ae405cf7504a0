// Validation and normalisation of MachineConfig (zod at the boundary, a typed error out).
import {
  formatIssues,
  issuesFromSchema,
  type ParsedCidr,
  type ParsedIp,
  parseCidr,
  parseIp,
} from '@proxyha/common';
import { z } from 'zod';
import { VrrpError } from '../codec/errors';
import { VRRP_V2_AUTH_LENGTH, type VrrpV2Auth } from '../codec/types';
import { type ReceiveRules, receiveRules } from './receive';
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
  /** As configured (with prefixes), for addVips/removeVips. */
  readonly virtualIps: readonly string[];
  /** Canonical texts, for adverts and announcements. */
  readonly vipTexts: readonly string[];
  readonly preempt: boolean;
  readonly preemptDelayMs: number;
  readonly accept: boolean;
  readonly unicastPeers: readonly string[];
  readonly lowerPriorityResponse: LowerPriorityResponse;
  readonly trackers: readonly ResolvedTracker[];
  /** v2 authentication sent in adverts. */
  readonly auth: VrrpV2Auth;
  /** What received adverts are checked against (the one §7.1 validator's input). */
  readonly rules: ReceiveRules;
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const address = z
  .string()
  .refine((s) => parseIp(s) !== undefined, { message: 'not an IPv4 or IPv6 address' });
const encoder = new TextEncoder();

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
        z.string().refine((s) => parseCidr(s) !== undefined, {
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
    auth: z
      .discriminatedUnion('type', [
        z.strictObject({ type: z.literal('none') }),
        z.strictObject({
          type: z.literal('simple'),
          password: z
            .union([z.string(), z.instanceof(Uint8Array)])
            .refine(
              (p) => (typeof p === 'string' ? encoder.encode(p).length : p.length) <= VRRP_V2_AUTH_LENGTH,
              { message: 'at most 8 bytes' },
            ),
        }),
      ])
      .default({ type: 'none' }),
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
      if (primary?.family === 'ipv6') {
        ctx.addIssue({ code: 'custom', path: ['version'], message: 'VRRP version 2 is IPv4 only' });
      }
    } else {
      if (
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
      if (c.auth.type !== 'none') {
        ctx.addIssue({ code: 'custom', path: ['auth'], message: 'VRRPv3 has no authentication' });
      }
    }
    if (primary === undefined) return;
    c.virtualIps.forEach((vip, i) => {
      const ip = parseCidr(vip);
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
 * @throws VrrpError `VRRP_CONFIG_INVALID`, with `details.issues` naming each bad path and value
 */
export function resolveConfig(config: MachineConfig): ResolvedConfig {
  const parsed = schema.safeParse(config, { reportInput: true });
  if (!parsed.success) {
    const issues = issuesFromSchema(parsed.error.issues, config);
    throw new VrrpError('VRRP_CONFIG_INVALID', formatIssues('VRRP instance config', issues), {
      details: { issues },
    });
  }
  const c = parsed.data;
  const primary = parseIp(c.primaryAddress) as ParsedIp;
  const vipTexts = c.virtualIps.map((v) => (parseCidr(v) as ParsedCidr).text);
  const unicastPeers = c.unicastPeers.map((p) => (parseIp(p) as ParsedIp).text);
  return {
    name: c.name,
    vrid: c.vrid,
    version: c.version,
    priority: c.priority,
    owner: c.priority === 255,
    advertIntervalMs: c.advertIntervalMs,
    primary,
    virtualIps: [...c.virtualIps],
    vipTexts,
    preempt: c.preempt,
    preemptDelayMs: c.preempt ? c.preemptDelayMs : 0,
    accept: c.accept,
    unicastPeers,
    lowerPriorityResponse: c.lowerPriorityResponse,
    trackers: c.trackers.map((t) => ({ name: t.name, kind: t.kind, weight: t.weight, initial: t.initial })),
    auth: c.auth,
    rules: rulesOf(c),
  };
}

function rulesOf(c: z.output<typeof schema>): ReceiveRules {
  const rules = receiveRules(c);
  // unreachable: the schema has accepted every address
  if (!rules.ok) throw new VrrpError('VRRP_CONFIG_INVALID', `${rules.error.field}: not usable`);
  return rules.value;
}

// The announcement policy: keepalived's garp_* settings, validated, with keepalived's defaults. Durations
// are milliseconds. The zod schemas are internal: callers use parseAnnouncePolicy.
import { type ConfigIssue, issuesFromSchema, type SchemaIssue } from '@proxyha/common';
import { z } from 'zod';
import { invalidArgument } from '../errors';

const count = z.number().int().min(0).max(1000);
const positiveCount = z.number().int().min(1).max(1000);
const duration = z.number().finite().min(0).max(86_400_000);

/**
 * How many announcements to send and when, for one announcement request. Field names are neutral; the
 * README maps each to its keepalived keyword.
 */
export interface BurstPolicy {
  /** Frames per address sent at once when announcing starts (keepalived `garp_master_repeat`, default 5, at least 1). */
  readonly repeat: number;
  /** Delay of the second burst after the start, in ms; 0 = none (`garp_master_delay`, default 5000). */
  readonly secondBurstDelayMs: number;
  /** Frames per address in each periodic refresh (`garp_master_refresh_repeat`, default 1, at least 1). */
  readonly refreshRepeat: number;
  /** Interval of periodic refreshes while announcing, in ms; 0 = none (`garp_master_refresh`, default 0). */
  readonly refreshIntervalMs: number;
  /**
   * Frames per address sent at once when told another node still claims the addresses (keepalived's
   * `garp_lower_prio_repeat`: a lower-priority advert seen while master); 0 disables. Default: `repeat`.
   */
  readonly reassertRepeat: number;
  /** Delay of the follow-up burst after a reassertion, in ms; 0 = none (`garp_lower_prio_delay`, default: `secondBurstDelayMs`). */
  readonly reassertDelayMs: number;
  /** ARP operation of the gratuitous ARPs: `request` (default, as keepalived and FRR) or `reply`. */
  readonly arpOperation: 'request' | 'reply';
  /** Set the router flag in neighbour advertisements (FRR does, keepalived does not; default false). */
  readonly naRouterFlag: boolean;
}

/** Minimum gaps between frames on one interface, shared by every request on it (keepalived `garp_group`). */
export interface InterfaceRate {
  /** Minimum gap between gratuitous ARPs on the interface, in ms (`garp_interval`, default 0). */
  readonly arpIntervalMs: number;
  /** Minimum gap between neighbour advertisements on the interface, in ms (`gna_interval`, default 0). */
  readonly naIntervalMs: number;
}

/** The full announcement policy of a schedule: burst defaults plus per-interface rate limits. */
export interface AnnouncePolicy extends BurstPolicy, InterfaceRate {
  /** Rate limits for named interfaces, overriding `arpIntervalMs` / `naIntervalMs` there. */
  readonly interfaces: Readonly<Record<string, InterfaceRate>>;
}

const burstShape = {
  repeat: positiveCount.optional(),
  secondBurstDelayMs: duration.optional(),
  refreshRepeat: positiveCount.optional(),
  refreshIntervalMs: duration.optional(),
  reassertRepeat: count.optional(),
  reassertDelayMs: duration.optional(),
  arpOperation: z.enum(['request', 'reply']).optional(),
  naRouterFlag: z.boolean().optional(),
};

const rateShape = { arpIntervalMs: duration.optional(), naIntervalMs: duration.optional() };

/** Schema of the input of {@link parseAnnouncePolicy} (every field optional). */
const AnnouncePolicyInputSchema: z.ZodType<AnnouncePolicyInput> = z.strictObject({
  ...burstShape,
  ...rateShape,
  interfaces: z.record(z.string().min(1), z.strictObject(rateShape)).optional(),
});

/** Schema of per-request burst overrides ({@link BurstPolicyInput}). */
const BurstPolicyInputSchema: z.ZodType<BurstPolicyInput> = z.strictObject(burstShape);

/** Per-request overrides of the schedule's burst policy: any {@link BurstPolicy} field. */
export interface BurstPolicyInput extends Partial<BurstPolicy> {}

/** Input of {@link parseAnnouncePolicy}: every field optional, defaults as keepalived's. */
export interface AnnouncePolicyInput extends Partial<BurstPolicy>, Partial<InterfaceRate> {
  /** Rate limits for named interfaces; a field left out comes from the top-level rate. */
  readonly interfaces?: Readonly<Record<string, Partial<InterfaceRate>>>;
}

/** keepalived's defaults: 5 at once, 5 more after 5 s, no refresh, no rate limit, requests. */
export const DEFAULT_ANNOUNCE_POLICY: AnnouncePolicy = Object.freeze({
  repeat: 5,
  secondBurstDelayMs: 5000,
  refreshRepeat: 1,
  refreshIntervalMs: 0,
  reassertRepeat: 5,
  reassertDelayMs: 5000,
  arpOperation: 'request',
  naRouterFlag: false,
  arpIntervalMs: 0,
  naIntervalMs: 0,
  interfaces: Object.freeze({}),
});

/** The schema's issues as ConfigIssues, with their paths under `prefix` if given (a request's `policy`). */
function issuesOf(issues: readonly SchemaIssue[], input: unknown, prefix?: string): ConfigIssue[] {
  if (prefix === undefined) return issuesFromSchema(issues, input);
  const under = issues.map((i) => ({ ...i, path: [prefix, ...i.path] }));
  return issuesFromSchema(under, { [prefix]: input });
}

/**
 * Validates a policy and fills in defaults. `reassertRepeat` defaults to `repeat` and `reassertDelayMs` to
 * `secondBurstDelayMs`, as keepalived's lower-priority settings default to the master ones.
 *
 * @param input - the policy; every field is optional
 * @throws GarpError `GARP_INVALID_ARGUMENT` with `details.issues`, one per offending field and value
 */
export function parseAnnouncePolicy(input: AnnouncePolicyInput | undefined = {}): AnnouncePolicy {
  const r = AnnouncePolicyInputSchema.safeParse(input ?? {}, { reportInput: true });
  if (!r.success) throw invalidArgument('announcement policy', issuesOf(r.error.issues, input ?? {}));
  const p = r.data;
  const d = DEFAULT_ANNOUNCE_POLICY;
  const repeat = p.repeat ?? d.repeat;
  const secondBurstDelayMs = p.secondBurstDelayMs ?? d.secondBurstDelayMs;
  const arpIntervalMs = p.arpIntervalMs ?? d.arpIntervalMs;
  const naIntervalMs = p.naIntervalMs ?? d.naIntervalMs;
  const interfaces: Record<string, InterfaceRate> = {};
  for (const [name, rate] of Object.entries(p.interfaces ?? {}))
    interfaces[name] = {
      arpIntervalMs: rate.arpIntervalMs ?? arpIntervalMs,
      naIntervalMs: rate.naIntervalMs ?? naIntervalMs,
    };
  return {
    repeat,
    secondBurstDelayMs,
    refreshRepeat: p.refreshRepeat ?? d.refreshRepeat,
    refreshIntervalMs: p.refreshIntervalMs ?? d.refreshIntervalMs,
    reassertRepeat: p.reassertRepeat ?? repeat,
    reassertDelayMs: p.reassertDelayMs ?? secondBurstDelayMs,
    arpOperation: p.arpOperation ?? d.arpOperation,
    naRouterFlag: p.naRouterFlag ?? d.naRouterFlag,
    arpIntervalMs,
    naIntervalMs,
    interfaces,
  };
}

/**
 * Merges a request's burst overrides into a burst policy; fields not given come from `base`. Not part of
 * the package's API (the schedule calls it).
 *
 * @throws GarpError `GARP_INVALID_ARGUMENT`, paths under `policy`
 */
export function mergeBurst(base: BurstPolicy, input: BurstPolicyInput | undefined): BurstPolicy {
  if (input === undefined) return base;
  const r = BurstPolicyInputSchema.safeParse(input, { reportInput: true });
  if (!r.success) throw invalidArgument('announcement request', issuesOf(r.error.issues, input, 'policy'));
  const p = r.data;
  return {
    repeat: p.repeat ?? base.repeat,
    secondBurstDelayMs: p.secondBurstDelayMs ?? base.secondBurstDelayMs,
    refreshRepeat: p.refreshRepeat ?? base.refreshRepeat,
    refreshIntervalMs: p.refreshIntervalMs ?? base.refreshIntervalMs,
    reassertRepeat: p.reassertRepeat ?? base.reassertRepeat,
    reassertDelayMs: p.reassertDelayMs ?? base.reassertDelayMs,
    arpOperation: p.arpOperation ?? base.arpOperation,
    naRouterFlag: p.naRouterFlag ?? base.naRouterFlag,
  };
}

// Validation and normalisation of LbMachineConfig (zod at the boundary, a typed error out).
import { type ConfigIssue, formatIssues, issuesFromSchema, parseIp } from '@proxyha/common';
import { z } from 'zod';
import type { Redirect } from '../codec/types';
import { LbError } from '../errors';
import { createScheduler } from '../scheduler/index';
import type { SchedulerOptions } from '../scheduler/types';
import type { LbMachineConfig, LbRole } from './types';

/** The default of `failAfterIntervals` and `directorFailAfterIntervals`. */
export const DEFAULT_FAIL_AFTER_INTERVALS = 3;
/** The default of `adoptTableWithin`. */
export const DEFAULT_ADOPT_TABLE_WITHIN = 10;
/** The default priority of this node's own announcements (`announce.priority`). */
export const DEFAULT_ANNOUNCE_PRIORITY = 100;
/** The default interval of this node's own announcements (`announce.intervalMs`). */
export const DEFAULT_ANNOUNCE_INTERVAL_MS = 1000;

/** LbMachineConfig after validation and defaults (internal). */
export interface ResolvedLbConfig {
  readonly selfId: string;
  readonly group: number;
  readonly failAfterIntervals: number;
  readonly directorFailAfterIntervals: number;
  readonly adoptTableWithin: number;
  readonly scheduler: SchedulerOptions;
  readonly role: LbRole;
  readonly announce: {
    readonly name: string | undefined;
    readonly address: string | undefined;
    readonly priority: number;
    readonly intervalMs: number;
    readonly redirects: readonly Redirect[];
  };
}

/** Details of the `LB_INVALID_ARGUMENT` error of the {@link LbMachine} constructor. */
export interface LbConfigIssueDetails {
  /** One entry per problem: where (`failAfterIntervals`, `scheduler.tableSize`) and what, naming the value. */
  readonly issues: readonly ConfigIssue[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const int = (min: number, max: number) => z.number().int().min(min).max(max);
const port = int(1, 65535);
const encoder = new TextEncoder();

const schema = z.strictObject({
  selfId: z.string().regex(UUID, { message: 'not a UUID in canonical lower-case text form' }),
  group: int(1, 255),
  failAfterIntervals: int(1, 100).default(DEFAULT_FAIL_AFTER_INTERVALS),
  directorFailAfterIntervals: int(1, 100).default(DEFAULT_FAIL_AFTER_INTERVALS),
  adoptTableWithin: int(0, 1000).default(DEFAULT_ADOPT_TABLE_WITHIN),
  scheduler: z.looseObject({}).default({}),
  role: z.enum(['director', 'scanner']).default('scanner'),
  announce: z
    .strictObject({
      name: z
        .string()
        .refine((s) => encoder.encode(s).length <= 64, { message: 'longer than 64 bytes' })
        .optional(),
      address: z
        .string()
        .refine((s) => parseIp(s) !== undefined, { message: 'not an IPv4 or IPv6 address' })
        .optional(),
      priority: int(0, 255).default(DEFAULT_ANNOUNCE_PRIORITY),
      intervalMs: int(1, 65535).default(DEFAULT_ANNOUNCE_INTERVAL_MS),
      redirects: z
        .array(z.strictObject({ originalPort: port, destinationPort: port }))
        .max(64)
        .default([]),
    })
    .default({
      priority: DEFAULT_ANNOUNCE_PRIORITY,
      intervalMs: DEFAULT_ANNOUNCE_INTERVAL_MS,
      redirects: [],
    }),
});

/**
 * Validates an LbMachineConfig and applies defaults; the scheduler options are checked by creating a
 * scheduler with them (their issues come back under `scheduler.`).
 *
 * @throws LbError `LB_INVALID_ARGUMENT`, with `details.issues` naming each bad path and value
 */
export function resolveLbConfig(config: LbMachineConfig): ResolvedLbConfig {
  const parsed = schema.safeParse(config, { reportInput: true });
  const issues: ConfigIssue[] = parsed.success ? [] : issuesFromSchema(parsed.error.issues, config);
  const schedulerOptions = (parsed.success ? parsed.data.scheduler : config?.scheduler) as
    | SchedulerOptions
    | undefined;
  if (schedulerOptions !== null && typeof schedulerOptions === 'object')
    issues.push(...schedulerIssues(schedulerOptions));
  if (!parsed.success || issues.length > 0) {
    throw new LbError<LbConfigIssueDetails>('LB_INVALID_ARGUMENT', formatIssues('LbMachine config', issues), {
      details: { issues },
    });
  }
  const c = parsed.data;
  return {
    selfId: c.selfId,
    group: c.group,
    failAfterIntervals: c.failAfterIntervals,
    directorFailAfterIntervals: c.directorFailAfterIntervals,
    adoptTableWithin: c.adoptTableWithin,
    scheduler: c.scheduler as SchedulerOptions,
    role: c.role,
    announce: {
      name: c.announce.name,
      address: c.announce.address === undefined ? undefined : parseIp(c.announce.address)?.text,
      priority: c.announce.priority,
      intervalMs: c.announce.intervalMs,
      redirects: c.announce.redirects.map((r) => ({
        originalPort: r.originalPort,
        destinationPort: r.destinationPort,
      })),
    },
  };
}

/** The scheduler's own validation, its paths under `scheduler`. */
function schedulerIssues(options: SchedulerOptions): ConfigIssue[] {
  try {
    createScheduler(options);
    return [];
  } catch (e) {
    const found = (e as { details?: { issues?: unknown } })?.details?.issues;
    if (Array.isArray(found) && found.length > 0) {
      return (found as ConfigIssue[]).map((i) => ({
        path: i.path === '(root)' ? 'scheduler' : `scheduler.${i.path}`,
        message: i.message,
      }));
    }
    return [{ path: 'scheduler', message: e instanceof Error ? e.message : String(e) }];
  }
}

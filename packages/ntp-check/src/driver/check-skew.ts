import { z } from 'zod';
import type { NtpServerAddress } from './address';
import { NtpClient, type NtpClientOptions } from './client';
import { DEFAULT_PANIC_THRESHOLD_MS, evaluateSkew, type SkewReport } from './guard';
import { durationSchema, parseOptions } from './options';

/** Options of {@link checkSkew}. Durations are milliseconds or `ms` strings ("500ms", "2s"). */
export interface CheckSkewOptions extends NtpClientOptions {
  /** Servers to query, `SERVER[:PORT]` or addresses; at least one. */
  servers: readonly (string | NtpServerAddress)[];
  /** Largest tolerated |offset| of the local clock; beyond it the verdict is `fail`. */
  maxOffset: number | string;
  /** |offset| beyond this gives `warn` (default half of maxOffset). */
  warnOffset?: number | string;
  /** Panic threshold (default 1000 s, as ntpd's): beyond it the clock must be set by hand. */
  panicThreshold?: number | string;
  /** Client to use, so that poll-interval and Kiss-o'-Death state persist across checks. */
  client?: NtpClient;
}

const CLIENT_KEYS = [
  'timeout',
  'maxRootDistance',
  'minPollInterval',
  'version',
  'localPrecision',
  'clock',
] as const;

const schema = z
  .object({
    servers: z.array(z.union([z.string(), z.object({ host: z.string(), port: z.number().int() })])).min(1),
    maxOffset: durationSchema.pipe(z.number().positive()),
    warnOffset: durationSchema.optional(),
    panicThreshold: durationSchema.optional().pipe(z.number().positive().optional()),
    client: z.instanceof(NtpClient).optional(),
  })
  .passthrough()
  .refine((o) => o.warnOffset === undefined || o.warnOffset <= o.maxOffset, {
    message: 'warnOffset must not exceed maxOffset',
    path: ['warnOffset'],
  })
  .refine((o) => (o.panicThreshold ?? DEFAULT_PANIC_THRESHOLD_MS) >= o.maxOffset, {
    message: 'panicThreshold must not be below maxOffset',
    path: ['panicThreshold'],
  });

/**
 * The skew guard: queries the servers in parallel, rejects falsetickers and returns
 * ok | warn | fail with reasons and figures (see {@link evaluateSkew}). Invalid options
 * reject with `NTP_INVALID_OPTIONS`; network failures never reject, they become reasons.
 *
 * @example
 * ```ts
 * const report = await checkSkew({ servers: ['ntp1.example:123', 'ntp2.example'], maxOffset: '500ms' });
 * if (report.verdict === 'fail') console.error(report.reasons[0]?.message);
 * ```
 * @param options - servers and limits, plus {@link NtpClientOptions} for a new client
 */
export async function checkSkew(options: CheckSkewOptions): Promise<SkewReport> {
  const o = parseOptions(schema, options, 'checkSkew options');
  const clientOptions: NtpClientOptions = {};
  for (const k of CLIENT_KEYS) {
    if (options[k] !== undefined) Object.assign(clientOptions, { [k]: options[k] });
  }
  const client = options.client ?? new NtpClient(clientOptions);
  const results = await client.queryAll(o.servers);
  return evaluateSkew(results, {
    maxOffsetMs: o.maxOffset,
    ...(o.warnOffset !== undefined ? { warnOffsetMs: o.warnOffset } : {}),
    ...(o.panicThreshold !== undefined ? { panicThresholdMs: o.panicThreshold } : {}),
  });
}

// The skew guard as one call: query the servers, then the machine's verdict.
import { z } from 'zod';
import type { NtpServerAddress } from '../address';
import { DEFAULT_PANIC_THRESHOLD_MS, evaluateSkew, type SkewReport } from '../machine/skew';
import { clientOptionsShape, NtpClient, type NtpClientOptions } from './client';
import { durationOption, parseOptions } from './options';

/** Options of {@link checkSkew}. Durations are milliseconds or duration strings (`"500ms"`, `"2s"`). */
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
] as const satisfies readonly (keyof NtpClientOptions)[];

const schema = z
  .object({
    ...clientOptionsShape,
    servers: z
      .array(z.union([z.string(), z.object({ host: z.string(), port: z.number().int() })]))
      .min(1, 'must name at least one server'),
    maxOffset: durationOption({ positive: true }),
    warnOffset: durationOption().optional(),
    panicThreshold: durationOption({ positive: true }).optional(),
    client: z.instanceof(NtpClient, { error: 'must be an NtpClient' }).optional(),
  })
  .refine((o) => o.warnOffset === undefined || o.warnOffset <= o.maxOffset, {
    message: 'must not exceed maxOffset',
    path: ['warnOffset'],
  })
  .refine((o) => (o.panicThreshold ?? DEFAULT_PANIC_THRESHOLD_MS) >= o.maxOffset, {
    message: 'must not be below maxOffset',
    path: ['panicThreshold'],
  });

/**
 * The skew guard: queries the servers in parallel, rejects falsetickers and returns
 * ok | warn | fail with reasons and figures (see {@link evaluateSkew}). Network failures
 * never reject, they become reasons.
 *
 * @example
 * ```ts
 * const report = await checkSkew({ servers: ['ntp1.example:123', 'ntp2.example'], maxOffset: '500ms' });
 * if (report.verdict === 'fail') console.error(report.reasons[0]?.message);
 * ```
 * @param options - servers and limits, plus {@link NtpClientOptions} for a new client
 * @throws NtpError `NTP_INVALID_ARGUMENT` (as a rejection) with `details.issues` when an option is invalid
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

// Validation at the boundary: constructor options, config files (YAML or JSON) and CLI flags all go
// through these zod schemas (internal: no schema is part of the API), and every problem is reported as
// `path: message (got value)` with @proxyha/common's issue format.
import {
  type DurationLimits,
  formatDuration,
  type HysteresisInitial,
  issuesFromSchema,
  parseDuration,
  ROOT_PATH,
  resultOrIssue,
} from '@proxyha/common';
import { readConfigFile } from '@proxyha/common/cli';
import { z } from 'zod';
import type { HttpProbeOptions, ProbeKind } from '../driver/probe';
import { configInvalid } from '../errors';

/** One port to monitor, with its probe. */
export interface PortCheck {
  /** TCP port (1-65535). */
  readonly port: number;
  /** Probe kind; default `tcp`, or `http` when {@link PortCheck.http} is given. */
  readonly probe?: ProbeKind | undefined;
  /** HTTP probe options; implies `probe: 'http'`. */
  readonly http?: HttpProbeOptions | undefined;
}

/** A validated port check: the probe kind is always set. */
export interface ResolvedPortCheck {
  /** TCP port (1-65535). */
  readonly port: number;
  /** Probe kind. */
  readonly probe: ProbeKind;
  /** HTTP probe options (only for `probe: 'http'`). */
  readonly http?: HttpProbeOptions | undefined;
}

/** Fully resolved, validated monitor settings (every default filled in). */
export interface MonitorSettings {
  /** Address of the node's own interface to probe. */
  readonly host: string;
  /** The ports, unique, in configured order. */
  readonly ports: readonly ResolvedPortCheck[];
  /** Time between the starts of two probe cycles, before jitter (ms). */
  readonly intervalMs: number;
  /** Timeout of one probe (ms). */
  readonly timeoutMs: number;
  /** Consecutive successes from failure to ok. */
  readonly rise: number;
  /** Consecutive failures from ok to failure. */
  readonly fall: number;
  /** Maximum probes in flight at once. */
  readonly concurrency: number;
  /** Each interval is drawn uniformly from `intervalMs * (1 ± jitter)`; 0 disables jitter. */
  readonly jitter: number;
  /** How ports leave `unknown`. */
  readonly initial: HysteresisInitial;
}

/** Defaults of {@link MonitorSettings}, as documented in the README. */
export const DEFAULT_SETTINGS: Readonly<Omit<MonitorSettings, 'ports'>> = {
  host: '127.0.0.1',
  intervalMs: 2000,
  timeoutMs: 1000,
  rise: 2,
  fall: 3,
  concurrency: 16,
  jitter: 0.1,
  initial: 'first-result',
};

const portNumber = z
  .number({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a port number') })
  .int('must be an integer')
  .min(1, 'must be >= 1')
  .max(65535, 'must be <= 65535');

const count = z.number().int('must be an integer').min(1, 'must be >= 1').max(1000, 'must be <= 1000');

const httpSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an absolute http:// URL' }).optional(),
  method: z
    .string()
    .regex(/^[A-Z]+$/, 'must be an upper-case HTTP method such as GET or HEAD')
    .optional(),
  expectStatus: z
    .array(z.number().int().min(100, 'must be >= 100').max(599, 'must be <= 599'))
    .min(1)
    .optional(),
});

const portCheckSchema = z.preprocess(
  (v) => (typeof v === 'number' ? { port: v } : v),
  z
    .strictObject({
      port: portNumber,
      probe: z.enum(['tcp', 'http']).optional(),
      http: httpSchema.optional(),
    })
    .superRefine((v, ctx) => {
      if (v.probe === 'tcp' && v.http) {
        ctx.addIssue({ code: 'custom', path: ['http'], message: 'HTTP options given for a tcp probe' });
      }
    })
    .transform(
      (v): ResolvedPortCheck => ({ port: v.port, probe: v.probe ?? (v.http ? 'http' : 'tcp'), http: v.http }),
    ),
);

const portsSchema = z
  .array(portCheckSchema)
  .min(1, 'at least one port is needed')
  .superRefine((ports, ctx) => {
    const seen = new Set<number>();
    ports.forEach((p, i) => {
      if (seen.has(p.port))
        ctx.addIssue({ code: 'custom', path: [i], message: `port ${p.port} is listed twice` });
      seen.add(p.port);
    });
  });

const common = {
  host: z.string().min(1, 'must not be empty').optional(),
  ports: portsSchema,
  rise: count.optional(),
  fall: count.optional(),
  concurrency: count.optional(),
  jitter: z.number().min(0, 'must be >= 0').max(0.5, 'must be <= 0.5').optional(),
  initial: z.enum(['first-result', 'counted']).optional(),
};

/**
 * Bounds of the interval and the timeout: more than zero (at least 1 ms, the resolution of Node's timers)
 * and at most an hour.
 */
export const DURATION_LIMITS: DurationLimits = { min: 1, max: 3_600_000 };

/** A duration in milliseconds (options) or as text such as `500ms`, `2s`, `1m` (files). */
const durationMs = z
  .number()
  .min(0, `must be at least ${formatDuration(DURATION_LIMITS.min ?? 0)}`)
  .transform((v, ctx) => resultOrIssue(parseDuration(v, DURATION_LIMITS), ctx));
const duration = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => resultOrIssue(parseDuration(v, DURATION_LIMITS), ctx));

interface ParsedCommon {
  host?: string | undefined;
  ports: ResolvedPortCheck[];
  rise?: number | undefined;
  fall?: number | undefined;
  concurrency?: number | undefined;
  jitter?: number | undefined;
  initial?: HysteresisInitial | undefined;
  intervalMs?: number | undefined;
  timeoutMs?: number | undefined;
}

function withDefaults(v: ParsedCommon): MonitorSettings {
  return {
    host: v.host ?? DEFAULT_SETTINGS.host,
    ports: v.ports,
    intervalMs: v.intervalMs ?? DEFAULT_SETTINGS.intervalMs,
    timeoutMs: v.timeoutMs ?? DEFAULT_SETTINGS.timeoutMs,
    rise: v.rise ?? DEFAULT_SETTINGS.rise,
    fall: v.fall ?? DEFAULT_SETTINGS.fall,
    concurrency: v.concurrency ?? DEFAULT_SETTINGS.concurrency,
    jitter: v.jitter ?? DEFAULT_SETTINGS.jitter,
    initial: v.initial ?? DEFAULT_SETTINGS.initial,
  };
}

const settingsSchema = z
  .strictObject({ ...common, intervalMs: durationMs.optional(), timeoutMs: durationMs.optional() })
  .transform(withDefaults);

const fileSchema = z
  .strictObject({
    ...common,
    interval: duration.optional(),
    timeout: duration.optional(),
  })
  .transform(({ interval, timeout, ...rest }) =>
    withDefaults({ ...rest, intervalMs: interval, timeoutMs: timeout }),
  );

/**
 * A configuration file (YAML or JSON) as written by operators. Durations are milliseconds or strings
 * such as `500ms`, `2s`, `1m30s` (`@proxyha/common`'s `parseDuration`), at least 1 ms and at most 1 h.
 *
 * ```yaml
 * host: 192.168.77.11
 * interval: 2s
 * timeout: 1s
 * rise: 2
 * fall: 3
 * ports:
 *   - 2121
 *   - port: 9090
 *     probe: http
 * ```
 */
export interface MonitorConfigFile {
  /** Address to probe; default `127.0.0.1`. */
  host?: string;
  /** Ports: numbers (TCP probe) or {@link PortCheck} objects. */
  ports: (number | PortCheck)[];
  /** Probe interval, e.g. `2s`; default 2 s. */
  interval?: number | string;
  /** Probe timeout, e.g. `1s`; default 1 s. */
  timeout?: number | string;
  /** Default 2. */
  rise?: number;
  /** Default 3. */
  fall?: number;
  /** Default 16. */
  concurrency?: number;
  /** Fraction 0..0.5; default 0.1. */
  jitter?: number;
  /** Default `first-result`. */
  initial?: HysteresisInitial;
}

function fail(error: z.ZodError, input: unknown, source: string): never {
  throw configInvalid(source, issuesFromSchema(error.issues, input));
}

const isMapping = (data: unknown): data is Record<string, unknown> =>
  data !== null && typeof data === 'object' && !Array.isArray(data);

function notAMapping(source: string): never {
  throw configInvalid(source, [
    { path: ROOT_PATH, message: 'must be a mapping with at least a `ports` key' },
  ]);
}

/** Programmatic settings, as accepted by {@link resolveSettings} and the monitor constructor. */
export interface SettingsInput {
  /** See {@link MonitorSettings.host}. */
  host?: string | undefined;
  /** Ports: numbers (TCP probe) or {@link PortCheck} objects. */
  ports: readonly (number | PortCheck)[];
  /** See {@link MonitorSettings.intervalMs}. */
  intervalMs?: number | undefined;
  /** See {@link MonitorSettings.timeoutMs}. */
  timeoutMs?: number | undefined;
  /** See {@link MonitorSettings.rise}. */
  rise?: number | undefined;
  /** See {@link MonitorSettings.fall}. */
  fall?: number | undefined;
  /** See {@link MonitorSettings.concurrency}. */
  concurrency?: number | undefined;
  /** See {@link MonitorSettings.jitter}. */
  jitter?: number | undefined;
  /** See {@link MonitorSettings.initial}. */
  initial?: HysteresisInitial | undefined;
}

/**
 * Validates programmatic settings and fills in defaults.
 *
 * @param input - the settings
 * @param source - how to name the input in error messages
 * @returns resolved settings
 * @throws {@link HealthMonError} `HEALTH_CONFIG_INVALID`, listing every problem in `details.issues`
 *   (`path: message (got value)`)
 */
export function resolveSettings(input: SettingsInput, source = 'options'): MonitorSettings {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const result = settingsSchema.safeParse(defined, { reportInput: true });
  if (!result.success) fail(result.error, defined, source);
  return result.data;
}

/**
 * Validates the parsed contents of a configuration file and fills in defaults.
 *
 * @param data - parsed YAML/JSON ({@link MonitorConfigFile})
 * @param source - the file name, for error messages
 * @returns resolved settings
 * @throws {@link HealthMonError} `HEALTH_CONFIG_INVALID`, listing every problem in `details.issues`
 *   (`path: message (got value)`)
 */
export function parseMonitorConfig(data: unknown, source = 'config'): MonitorSettings {
  if (!isMapping(data)) notAMapping(source);
  const result = fileSchema.safeParse(data, { reportInput: true });
  if (!result.success) fail(result.error, data, source);
  return result.data;
}

/**
 * Reads and validates a YAML or JSON configuration file (JSON is valid YAML).
 *
 * @param file - path of the file
 * @param overrides - raw values that replace the file's top-level keys before validation (CLI flags)
 * @returns resolved settings
 * @throws `@proxyha/common`'s `CommonError` `COMMON_CONFIG_READ` when the file cannot be read or parsed;
 *   {@link HealthMonError} `HEALTH_CONFIG_INVALID` (with `details.issues`) when it does not validate
 */
export async function loadMonitorConfig(
  file: string,
  overrides: Partial<MonitorConfigFile> = {},
): Promise<MonitorSettings> {
  const data = await readConfigFile(file);
  if (!isMapping(data)) notAMapping(file);
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return parseMonitorConfig({ ...data, ...defined }, file);
}

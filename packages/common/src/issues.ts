// Configuration problems, one format for every package: `path: message (got value)`.
import { err, ok, type Result } from './result';

/**
 * One problem found while validating configuration (a file, CLI flags, constructor options): where, and
 * what is wrong. `path` uses {@link formatPath}; `message` names the offending value.
 */
export interface ConfigIssue {
  /** Where: `instances[0].vrid`, `health.interval`, or `(root)` for the whole document. */
  readonly path: string;
  /** What is wrong, naming the value: `must be <= 255 (got 300)`. */
  readonly message: string;
}

/** The path of an issue about the document as a whole. */
export const ROOT_PATH = '(root)';

/**
 * Formats a path: property names joined by dots, array indexes in brackets
 * (`['instances', 0, 'vrid']` is `instances[0].vrid`); the empty path is {@link ROOT_PATH}.
 *
 * @param path - the segments
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || ROOT_PATH;
}

/**
 * A short, single-line rendering of a value for messages: strings quoted, numbers and booleans as is,
 * bigints with `n`, byte arrays by length, objects as JSON (cut at 60 characters).
 *
 * @param value - any value
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'function') return 'a function';
  if (value instanceof Uint8Array) return `${value.constructor.name}(${value.length})`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The shape of one issue of a schema library's error (zod's `ZodIssue` fits). */
export interface SchemaIssue {
  /** Path of the offending value. */
  readonly path: readonly PropertyKey[];
  /** What is wrong. */
  readonly message: string;
  /** The offending value, when the library reports it. */
  readonly input?: unknown;
  /** Custom parameters of the issue; `{ valueShown: true }` marks a message that already names the value. */
  readonly params?: Readonly<Record<string, unknown>>;
}

/**
 * Converts a schema library's issues (zod's) into {@link ConfigIssue}s: the path formatted with
 * {@link formatPath}, and ` (got VALUE)` added for a scalar value unless the message already shows it.
 *
 * @param issues - the library's issues
 * @param input - the validated input, to look the offending value up when an issue does not carry it
 */
export function issuesFromSchema(issues: readonly SchemaIssue[], input: unknown): ConfigIssue[] {
  return issues.map((issue) => {
    const value: unknown = 'input' in issue ? issue.input : lookup(input, issue.path);
    const scalar = value !== undefined && (value === null || typeof value !== 'object');
    const shown = scalar ? describeValue(value) : '';
    const said =
      issue.params?.valueShown === true ||
      issue.message.includes('(got ') ||
      (typeof value === 'string' && issue.message.includes(shown));
    const got = scalar && !said ? ` (got ${shown})` : '';
    return { path: formatPath(issue.path), message: `${issue.message}${got}` };
  });
}

function lookup(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    value =
      value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  }
  return value;
}

/**
 * Renders issues as operators read them, one per line under a heading:
 * ```
 * /etc/proxyha/vrrpd.yaml: invalid configuration:
 *   instances[0].vrid: must be <= 255 (got 300)
 * ```
 *
 * @param source - what was validated: a file name, `options`, `command line`
 * @param issues - the problems
 */
export function formatIssues(source: string, issues: readonly ConfigIssue[]): string {
  return [`${source}: invalid configuration:`, ...issues.map((i) => `  ${i.path}: ${i.message}`)].join('\n');
}

/** The part of a schema library's refinement context that {@link resultOrIssue} uses (zod's fits). */
export interface IssueSink {
  /** Records a problem with the value being checked. */
  addIssue(issue: { code: 'custom'; message: string; params?: Record<string, unknown> }): void;
}

/**
 * Bridges a {@link Result} parser into a schema library's transform: the value on success; otherwise the
 * message is added as an issue (and the returned value is ignored, as the parse has failed). Lets a
 * package write `z.union([z.string(), z.number()]).transform((v, ctx) => resultOrIssue(parseDuration(v), ctx))`
 * without a schema in any public API.
 *
 * @param result - the parser's result
 * @param sink - the transform's context
 */
export function resultOrIssue<T>(result: Result<T, string>, sink: IssueSink): T {
  if (result.ok) return result.value;
  // our parsers' messages name the value already: no second "(got ...)"
  sink.addIssue({ code: 'custom', message: result.error, params: { valueShown: true } });
  return undefined as T;
}

/**
 * Checks that `value` is an integer in `[min, max]`; the message names the value.
 *
 * @param value - the value
 * @param min - smallest allowed
 * @param max - largest allowed
 */
export function checkInteger(value: unknown, min: number, max: number): Result<number, string> {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    return err(`must be an integer ${min}..${max} (got ${describeValue(value)})`);
  return ok(value);
}

// The one error base of every proxyha package, and the catalogues of stable codes.

/**
 * A package's error codes with what each means, one line each: `{ NETIO_CLOSED: 'the socket is closed' }`.
 * Every code starts with the package's prefix and an underscore (`<PACKAGE>_<CONDITION>`); `docs/errors.md`
 * is generated from these catalogues, so a code that is not in one cannot be raised.
 *
 * @typeParam P - the package prefix, such as `NETIO`
 */
export type ErrorCatalog<P extends string> = Readonly<Record<`${P}_${string}`, string>>;

/**
 * Declares a package's error catalogue and checks it: every code must be `<prefix>_<CONDITION>` in upper
 * case, and every meaning a non-empty sentence. Returns the catalogue unchanged (frozen), typed so that
 * `keyof typeof CATALOGUE` is the package's code union.
 *
 * @param prefix - the package prefix, such as `NETIO`
 * @param codes - code to meaning
 * @throws Error when a code or meaning breaks the convention (a bug in the package, found at import)
 */
export function defineErrors<const P extends string, const C extends ErrorCatalog<P>>(
  prefix: P,
  codes: C,
): Readonly<Record<Extract<keyof C, string>, string>> {
  const pattern = new RegExp(`^${prefix}_[A-Z0-9]+(_[A-Z0-9]+)*$`);
  for (const [code, meaning] of Object.entries(codes)) {
    if (!pattern.test(code)) throw new Error(`error code ${code} does not follow ${prefix}_<CONDITION>`);
    if (typeof meaning !== 'string' || meaning.trim() === '')
      throw new Error(`error code ${code} has no meaning`);
  }
  return Object.freeze(codes);
}

/** Options of {@link ProxyhaError}. */
export interface ProxyhaErrorOptions<D> {
  /** Structured context: the offending values, limits, names, `issues` of a validation error. */
  readonly details?: D;
  /** The underlying error, if any. */
  readonly cause?: unknown;
  /**
   * Capture a stack trace (default true). Decoders pass false: their errors describe bad input, not a
   * bug, and skipping the stack keeps rejecting a flood of bad packets cheap.
   */
  readonly stack?: boolean;
}

/**
 * The base of every error a proxyha package raises or returns. Branch on {@link ProxyhaError.code}, which
 * is stable across releases and listed in `docs/errors.md`; {@link ProxyhaError.details} carries what is
 * needed to act on it; the message is for humans and may gain detail.
 *
 * Each package derives one class (`NetioError`, `VrrpError`, ...) typed with its own code union.
 *
 * @typeParam C - the code union
 * @typeParam D - the shape of `details`
 */
export class ProxyhaError<
  C extends string = string,
  D extends object = Readonly<Record<string, unknown>>,
> extends Error {
  /** Stable machine-readable code, `<PACKAGE>_<CONDITION>`. */
  readonly code: C;
  /** Structured context; `{}` when there is none. */
  readonly details: D;

  /**
   * @param code - stable code
   * @param message - what happened, naming the offending value, and what to do
   * @param options - details, cause, whether to capture a stack
   */
  constructor(code: C, message: string, options: ProxyhaErrorOptions<D> = {}) {
    const limit = Error.stackTraceLimit;
    if (options.stack === false) Error.stackTraceLimit = 0;
    try {
      super(message, options.cause === undefined ? undefined : { cause: options.cause });
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? ({} as D);
  }

  /** Plain-object form for JSON output and structured logs. */
  toJSON(): {
    /** Class name. */
    name: string;
    /** Stable code. */
    code: C;
    /** Human-readable message. */
    message: string;
    /** Structured context. */
    details: D;
  } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** Error codes of `@proxyha/common` itself. */
export const COMMON_ERRORS = defineErrors('COMMON', {
  COMMON_INVALID_ARGUMENT: 'a function of @proxyha/common was called with an argument out of its domain',
  COMMON_COMMAND_FAILED:
    'a command run through a CommandRunner exited non-zero, was killed or could not start',
  COMMON_CONFIG_READ: 'a configuration file could not be read or is not valid YAML/JSON',
  COMMON_USAGE: 'a command line is invalid: unknown option, missing or malformed argument (exit code 2)',
});

/** A code of {@link COMMON_ERRORS}. */
export type CommonErrorCode = keyof typeof COMMON_ERRORS;

/** The error class of `@proxyha/common`. */
export class CommonError<D extends object = Readonly<Record<string, unknown>>> extends ProxyhaError<
  CommonErrorCode,
  D
> {}

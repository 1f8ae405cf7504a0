// One Result type for everything that reports failure as a value (decoders, validators, parsers).

/**
 * A value, or why there is none. Decoders and validators return this and never throw; check `ok`.
 *
 * @typeParam T - the value
 * @typeParam E - the error (a package's error class, or a message string for small parsers)
 */
export type Result<T, E = Error> =
  | {
      /** Success. */
      readonly ok: true;
      /** The value. */
      readonly value: T;
    }
  | {
      /** Failure. */
      readonly ok: false;
      /** Why. */
      readonly error: E;
    };

/**
 * A successful {@link Result}.
 *
 * @param value - the value
 */
export function ok<T>(value: T): Extract<Result<T, never>, { ok: true }> {
  return { ok: true, value };
}

/**
 * A failed {@link Result}.
 *
 * @param error - why
 */
export function err<E>(error: E): Extract<Result<never, E>, { ok: false }> {
  return { ok: false, error };
}

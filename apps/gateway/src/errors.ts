// Error codes of the gateway app. Add codes here (one line each); docs/errors.md lists them all.
import { type ConfigIssue, defineErrors, ProxyhaError } from '@proxyha/common';

/** Every error code of `@proxyha/gateway` with its meaning (`docs/errors.md` lists them all). */
export const GATEWAY_ERRORS = defineErrors('GATEWAY', {
  GATEWAY_CONFIG_INVALID:
    'the gateway configuration file failed validation (its own settings, or a package setting derived from it); details.issues names each path of the file (exit code 2)',
});

/** A code of {@link GATEWAY_ERRORS}. */
export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS;

/** The `details` of `GATEWAY_CONFIG_INVALID`. */
export interface GatewayIssueDetails {
  /** Every problem found, each naming the path in the gateway's file (`ha.vrid`) and the offending value. */
  readonly issues: readonly ConfigIssue[];
}

/** The error class of `@proxyha/gateway`. Branch on `code` (see {@link GATEWAY_ERRORS}). */
export class GatewayError<D extends object = Readonly<Record<string, unknown>>> extends ProxyhaError<
  GatewayErrorCode,
  D
> {}

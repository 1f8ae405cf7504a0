// Error codes of the gateway app. Add codes here (one line each); docs/errors.md lists them all.
import { type ConfigIssue, defineErrors, ProxyhaError } from '@proxyha/common';

/** Every error code of `@proxyha/gateway` with its meaning (`docs/errors.md` lists them all). */
export const GATEWAY_ERRORS = defineErrors('GATEWAY', {
  GATEWAY_CONFIG_INVALID:
    'the gateway configuration file failed validation (its own settings, or a package setting derived from it); details.issues names each path of the file (exit code 2)',
  GATEWAY_CM_DISABLED: 'the command needs central management, and the configuration has no `cm` section',
  GATEWAY_CLOCK_SKEW:
    'refused while the time-skew guard fails: a save stamped by a clock that is off would win or lose against the other nodes wrongly',
  GATEWAY_NOT_RUNNING: 'no gateway node answers on the management address of the configuration (details.url)',
  GATEWAY_UNAUTHORIZED: 'the management API refused the request: no bearer token, or a wrong one (HTTP 401)',
  GATEWAY_BAD_REQUEST:
    'the management API refused a malformed request (details.issues names what was wrong; HTTP 400)',
  GATEWAY_API_ERROR: 'the management API answered with an error (details.status, details.code)',
  GATEWAY_TOKEN_UNREADABLE: 'the admin token file cannot be read, or is empty (details.file)',
  GATEWAY_START_FAILED:
    'the node could not start one of its parts (details.part); what had started was stopped again',
  GATEWAY_INVALID_ARGUMENT:
    'a gateway function was called with invalid options (details.issues names each path; a bug in the caller)',
  GATEWAY_NOT_FOUND: 'the management API has no such route (details.method, details.url; HTTP 404)',
  GATEWAY_INTERNAL_ERROR:
    'the management API failed unexpectedly while answering (a bug: the node logs the cause; HTTP 500)',
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

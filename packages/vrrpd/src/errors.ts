// Error codes of @proxyha/vrrpd.
import { defineErrors, ProxyhaError } from '@proxyha/common';

/** Every error code of `@proxyha/vrrpd` with its meaning (`docs/errors.md` lists them all). */
export const VRRPD_ERRORS = defineErrors('VRRPD', {
  VRRPD_CONFIG_INVALID:
    'the daemon configuration failed validation, or names an interface, a user or a notify FIFO path this host lacks or cannot use; details.issues names each path (exit code 2)',
  VRRPD_MISSING_COMPONENT:
    'an instance needs a component the daemon was not given (a VMAC manager for `vmac`)',
  VRRPD_KEEPALIVED_SYNTAX:
    'a keepalived.conf given to the import cannot be read as keepalived reads it (unbalanced braces, an unterminated quote, an include loop); details name the file, line and problem (exit code 2)',
});

/** A code of {@link VRRPD_ERRORS}. */
export type VrrpdErrorCode = keyof typeof VRRPD_ERRORS;

/** The error class of `@proxyha/vrrpd`. */
export class VrrpdError<D extends object = Readonly<Record<string, unknown>>> extends ProxyhaError<
  VrrpdErrorCode,
  D
> {}

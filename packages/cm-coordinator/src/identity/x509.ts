// @peculiar/x509 with its decorators' metadata polyfill loaded first, bound to Node's WebCrypto (internal).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

let bound = false;

/** The x509 library, with WebCrypto set as its provider on first use (kept lazy: the package has no side effects). */
export function peculiar(): typeof x509 {
  if (!bound) {
    x509.cryptoProvider.set(globalThis.crypto);
    bound = true;
  }
  return x509;
}

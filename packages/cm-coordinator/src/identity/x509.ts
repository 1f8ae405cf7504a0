// @peculiar/x509 with its decorators' metadata polyfill loaded first, bound to Node's WebCrypto (internal).
// Loaded on first use only: a running node needs it only to make certificates (a new CA, a node joining),
// and its ASN.1 schemas cost a few MiB of every node's heap once evaluated.
import type * as X509 from '@peculiar/x509';

let loading: Promise<typeof X509> | undefined;

/** The x509 library, loaded and given WebCrypto as its provider on first use. */
export function peculiar(): Promise<typeof X509> {
  loading ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(globalThis.crypto);
    return x509;
  })();
  return loading;
}

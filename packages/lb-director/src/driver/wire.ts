// The bytes of the messages as a node needs them: encode (signing with the primary key when the group
// authenticates), decode, then verify authentication and freshness of what decoded. The node checks the
// group and its own id between the two, so that another group's messages count as such, not as forgeries.
import { ok, type Result } from '@proxyha/common';
import { type LbKeyRing, LbVerifier, readKeyFile } from '../codec/auth';
import type { LbDecodeDetails } from '../codec/fail';
import { decodeMessage, encodeMessage, type LbKey } from '../codec/message';
import type { LbMessage } from '../codec/types';
import type { LbError } from '../errors';

/** Encoding, decoding and authentication of a node's messages. */
export interface MessageWire {
  /** The bytes of a message to send (with the authentication trailer when keys are configured). */
  encode(message: LbMessage): Uint8Array;
  /** Decodes received bytes (structure and checksum only). */
  decode(bytes: Uint8Array): Result<LbMessage, LbError<LbDecodeDetails>>;
  /** Checks the authentication trailer and the replay rules of a decoded message at wall time `wallAt` (ms). */
  verify(bytes: Uint8Array, message: LbMessage, wallAt: number): Result<void, LbError<LbDecodeDetails>>;
}

/** Options of {@link createWire}. */
export interface WireOptions {
  /** The group's keys (sign with the primary, accept any); none: unauthenticated. */
  readonly keys?: LbKeyRing | undefined;
  /** Accepted clock distance of a message's timestamp, ms (default the verifier's, 30 s). */
  readonly windowMs?: number | undefined;
}

/**
 * The wire of a node: `@proxyha/lb-director`'s codec and an {@link LbVerifier} with the group's keys.
 *
 * @param options - keys and time window
 */
export function createWire(options: WireOptions = {}): MessageWire {
  const keys: readonly LbKey[] = options.keys?.keys ?? [];
  const primary = options.keys?.primary;
  const verifier = new LbVerifier({
    keys,
    ...(options.windowMs !== undefined ? { windowMs: options.windowMs } : {}),
  });
  return {
    encode: (message) => encodeMessage(message, primary ? { key: primary } : {}),
    decode: (bytes) => decodeMessage(bytes),
    verify: (bytes, _message, wallAt) => {
      const r = verifier.verify(bytes, wallAt);
      return r.ok ? ok(undefined) : r;
    },
  };
}

/**
 * Reads a key file (see the README's key file format).
 *
 * @param path - the file
 * @throws {@link LbError} `LB_BAD_KEY_FILE`
 */
export function loadWireKeys(path: string): Promise<LbKeyRing> {
  return readKeyFile(path);
}

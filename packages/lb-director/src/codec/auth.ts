// Authentication of director messages: key files, and the verifier (MAC, key rotation, replay window).
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type ConfigIssue, describeValue, err, formatIssues, ok, type Result } from '@proxyha/common';
import { LbError, type LbErrorCode } from '../errors';
import { decodeError, invalidArgument, type LbDecodeDetails, type LbIssueDetails } from './fail';
import { computeMac, decodeFrame, LB_MAC_LENGTH, type LbKey } from './message';
import type { LbMessage } from './types';

/** The default accepted distance between a message's timestamp and the receiver's clock, ms (±30 s). */
export const LB_DEFAULT_AUTH_WINDOW_MS = 30_000;
/** The fewest bytes of an authentication secret. */
export const LB_MIN_SECRET_BYTES = 16;

/** The keys of a node: one to send with, and up to two to accept (for rotation). */
export interface LbKeyRing {
  /** The key messages are signed with: the first key of the key file. */
  readonly primary: LbKey;
  /** Every accepted key, the primary first (one or two keys, distinct ids). */
  readonly keys: readonly LbKey[];
}

/** Every code {@link LbVerifier.verify} can return: the decode codes and the authentication codes. */
export type LbRejectCode = Extract<
  LbErrorCode,
  | 'LB_TRUNCATED'
  | 'LB_TRAILING_BYTES'
  | 'LB_BAD_VERSION'
  | 'LB_BAD_TYPE'
  | 'LB_BAD_CHECKSUM'
  | 'LB_BAD_FIELD'
  | 'LB_BAD_ADDRESS'
  | 'LB_BAD_STRING'
  | 'LB_AUTH_MISSING'
  | 'LB_AUTH_UNEXPECTED'
  | 'LB_AUTH_UNKNOWN_KEY'
  | 'LB_AUTH_BAD_MAC'
  | 'LB_AUTH_REPLAY'
  | 'LB_AUTH_STALE'
>;

/** Every {@link LbRejectCode}, the decode codes first, in a stable order. */
export const LB_REJECT_CODES: readonly LbRejectCode[] = Object.freeze([
  'LB_TRUNCATED',
  'LB_TRAILING_BYTES',
  'LB_BAD_VERSION',
  'LB_BAD_TYPE',
  'LB_BAD_CHECKSUM',
  'LB_BAD_FIELD',
  'LB_BAD_ADDRESS',
  'LB_BAD_STRING',
  'LB_AUTH_MISSING',
  'LB_AUTH_UNEXPECTED',
  'LB_AUTH_UNKNOWN_KEY',
  'LB_AUTH_BAD_MAC',
  'LB_AUTH_REPLAY',
  'LB_AUTH_STALE',
] as LbRejectCode[]);

/** Options of {@link LbVerifier}. */
export interface LbVerifierOptions {
  /**
   * The accepted keys (none, one, or two with distinct ids during a rotation). Without keys the verifier
   * runs unauthenticated: it accepts messages without a trailer, rejects those with one
   * (`LB_AUTH_UNEXPECTED`) and does no replay or time checks.
   */
  readonly keys?: readonly LbKey[];
  /** The accepted distance between a message's timestamp and `at`, ms; default 30 000 (±30 s). */
  readonly windowMs?: number;
}

/** The counters of an {@link LbVerifier}. */
export interface LbVerifierStats {
  /** Messages accepted. */
  readonly accepted: number;
  /** Messages accepted, per key id (authenticated mode). */
  readonly acceptedByKey: Readonly<Record<number, number>>;
  /** Messages rejected, per code (every code present, zero when none). */
  readonly rejected: Readonly<Record<LbRejectCode, number>>;
  /** Node ids whose last accepted (timestamp, sequence) the verifier remembers. */
  readonly nodes: number;
}

function keyIssues(keys: unknown, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (!Array.isArray(keys)) return [{ path, message: `must be an array (got ${describeValue(keys)})` }];
  if (keys.length > 2)
    issues.push({ path, message: `at most two keys are accepted at once (got ${keys.length})` });
  const ids = new Set<unknown>();
  keys.forEach((k: unknown, i) => {
    const key = k as Partial<LbKey> | null;
    if (typeof key !== 'object' || key === null) {
      issues.push({ path: `${path}[${i}]`, message: `must be an object (got ${describeValue(k)})` });
      return;
    }
    if (typeof key.id !== 'number' || !Number.isInteger(key.id) || key.id < 1 || key.id > 255)
      issues.push({
        path: `${path}[${i}].id`,
        message: `must be an integer 1..255 (got ${describeValue(key.id)})`,
      });
    else if (ids.has(key.id))
      issues.push({ path: `${path}[${i}].id`, message: `key id ${key.id} is used twice` });
    ids.add(key.id);
    if (!(key.secret instanceof Uint8Array) || key.secret.length < LB_MIN_SECRET_BYTES)
      issues.push({
        path: `${path}[${i}].secret`,
        message: `must be a Uint8Array of at least ${LB_MIN_SECRET_BYTES} bytes (got ${describeValue(key.secret)})`,
      });
  });
  return issues;
}

/**
 * Checks received messages: decodes them (every check of {@link decodeMessage}), verifies the HMAC with
 * the key the trailer names, and refuses replays. Pure and synchronous: the receive time is an input.
 *
 * With keys configured a message is accepted when it decodes, carries a trailer whose key id is one of
 * the keys, its MAC verifies, its timestamp lies within `windowMs` of `at`, and its (timestamp, sequence)
 * is strictly newer, compared as a pair, than the last one accepted from the same node id. Only accepted
 * messages update that memory, so forged messages cannot poison it. Group filtering is the caller's job
 * (see {@link peekGroup}).
 *
 * ```ts
 * const verifier = new LbVerifier({ keys: ring.keys });
 * const r = verifier.verify(payload, Date.now());
 * if (r.ok) handle(r.value); else log.debug(r.error.code);
 * ```
 */
export class LbVerifier {
  #keys = new Map<number, Uint8Array>();
  readonly #windowMs: number;
  readonly #last = new Map<string, { timestamp: number; sequence: number }>();
  #accepted = 0;
  readonly #byKey: Record<number, number> = {};
  readonly #rejected: Record<LbRejectCode, number>;

  /**
   * @param options - the keys and the time window
   * @throws {@link LbError} `LB_INVALID_ARGUMENT` for more than two keys, a duplicate or out-of-range key id,
   *   a secret shorter than 16 bytes, or a window that is not an integer 0..86 400 000
   */
  constructor(options: LbVerifierOptions = {}) {
    const issues = options.keys === undefined ? [] : keyIssues(options.keys, 'keys');
    const w = options.windowMs ?? LB_DEFAULT_AUTH_WINDOW_MS;
    if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 86_400_000)
      issues.push({ path: 'windowMs', message: `must be an integer 0..86400000 (got ${describeValue(w)})` });
    if (issues.length > 0) throw invalidArgument('verifier options', issues);
    this.#windowMs = w;
    this.#setKeys(options.keys ?? []);
    this.#rejected = Object.fromEntries(LB_REJECT_CODES.map((c) => [c, 0])) as Record<LbRejectCode, number>;
  }

  /** True when keys are configured (messages must be authenticated). */
  get authenticated(): boolean {
    return this.#keys.size > 0;
  }

  /**
   * Replaces the accepted keys (a key file reloaded during a rotation); the replay memory is kept.
   * Passing no keys switches to unauthenticated mode.
   *
   * @param keys - zero, one or two keys with distinct ids
   * @throws {@link LbError} `LB_INVALID_ARGUMENT` as the constructor
   */
  setKeys(keys: readonly LbKey[]): void {
    const issues = keyIssues(keys, 'keys');
    if (issues.length > 0) throw invalidArgument('verifier keys', issues);
    this.#setKeys(keys);
  }

  #setKeys(keys: readonly LbKey[]): void {
    this.#keys = new Map(keys.map((k) => [k.id, Uint8Array.from(k.secret)]));
  }

  /**
   * Decodes and checks one received message. Never throws for any bytes; every rejection is counted
   * under its code in {@link LbVerifier.stats}.
   *
   * @param bytes - the IP payload
   * @param at - the receiver's wall clock, ms since the epoch
   * @returns the message, or an {@link LbError} with a code of {@link LB_REJECT_CODES} and `details.offset`
   * @throws {@link LbError} `LB_INVALID_ARGUMENT` when `at` is not a finite number (a bug in the caller)
   */
  verify(bytes: Uint8Array, at: number): Result<LbMessage, LbError<LbDecodeDetails>> {
    if (typeof at !== 'number' || !Number.isFinite(at))
      throw invalidArgument('verify', [
        { path: 'at', message: `must be a finite number (got ${describeValue(at)})` },
      ]);
    const r = this.#check(bytes, at);
    if (r.ok) this.#accepted++;
    else this.#rejected[r.error.code as LbRejectCode]++;
    return r;
  }

  #check(bytes: Uint8Array, at: number): Result<LbMessage, LbError<LbDecodeDetails>> {
    const f = decodeFrame(bytes);
    if (!f.ok) return f;
    const { message, trailer } = f.value;
    if (this.#keys.size === 0) {
      if (trailer >= 0)
        return decodeError(
          'LB_AUTH_UNEXPECTED',
          'the message is authenticated and no key is configured',
          trailer,
          'auth',
        );
      return ok(message);
    }
    if (trailer < 0)
      return decodeError('LB_AUTH_MISSING', 'the message carries no authentication trailer', 3, 'flags');
    const keyId = bytes[trailer] as number;
    const secret = this.#keys.get(keyId);
    if (secret === undefined)
      return decodeError(
        'LB_AUTH_UNKNOWN_KEY',
        `no key with id ${keyId} is configured`,
        trailer,
        'auth.keyId',
      );
    const want = computeMac(secret, bytes, trailer + 1);
    const got = bytes.subarray(trailer + 1, trailer + 1 + LB_MAC_LENGTH);
    if (!timingSafeEqual(want, got))
      return decodeError(
        'LB_AUTH_BAD_MAC',
        `the HMAC does not verify with key ${keyId}`,
        trailer + 1,
        'auth.mac',
      );
    if (Math.abs(message.timestamp - at) > this.#windowMs)
      return decodeError(
        'LB_AUTH_STALE',
        `timestamp ${message.timestamp} is ${message.timestamp - at} ms from now (window ±${this.#windowMs} ms)`,
        28,
        'timestamp',
      );
    const last = this.#last.get(message.nodeId);
    if (
      last !== undefined &&
      (message.timestamp < last.timestamp ||
        (message.timestamp === last.timestamp && message.sequence <= last.sequence))
    )
      return decodeError(
        'LB_AUTH_REPLAY',
        `(timestamp ${message.timestamp}, sequence ${message.sequence}) is not newer than (${last.timestamp}, ${last.sequence}) from node ${message.nodeId}`,
        24,
        'sequence',
      );
    this.#last.set(message.nodeId, { timestamp: message.timestamp, sequence: message.sequence });
    this.#byKey[keyId] = (this.#byKey[keyId] ?? 0) + 1;
    return ok(message);
  }

  /**
   * Forgets the last accepted (timestamp, sequence) of a node (it left the group).
   *
   * @param nodeId - the node id, canonical lower-case UUID text
   */
  forget(nodeId: string): void {
    this.#last.delete(nodeId);
  }

  /** A snapshot of the counters. */
  stats(): LbVerifierStats {
    return {
      accepted: this.#accepted,
      acceptedByKey: { ...this.#byKey },
      rejected: { ...this.#rejected },
      nodes: this.#last.size,
    };
  }
}

/* ------------------------------------------ key files ------------------------------------------ */

const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function secretBytes(text: string): Uint8Array | string {
  let kind: 'hex' | 'base64';
  let body = text;
  if (text.startsWith('hex:')) {
    kind = 'hex';
    body = text.slice(4);
  } else if (text.startsWith('base64:')) {
    kind = 'base64';
    body = text.slice(7);
  } else {
    kind = HEX.test(text) && text.length % 2 === 0 ? 'hex' : 'base64';
  }
  if (kind === 'hex') {
    if (!HEX.test(body) || body.length % 2 !== 0) return 'is not an even number of hex digits';
    return Uint8Array.from(Buffer.from(body, 'hex'));
  }
  const unpadded = body.replace(/=+$/, '');
  if (!BASE64.test(body) || (body.includes('=') ? body.length % 4 !== 0 : unpadded.length % 4 === 1))
    return 'is neither hex nor base64';
  return Uint8Array.from(Buffer.from(body, 'base64'));
}

/**
 * Parses an authentication key file: one or two keys, one per line as `<id> <secret>`, the first being
 * the primary (sent with), the second accepted as well (rotation). The id is decimal 1..255; the secret
 * is `hex:<digits>`, `base64:<text>`, or bare (hex when it is an even number of hex digits, else
 * base64), at least 16 bytes. Blank lines and lines starting with `#` are ignored.
 *
 * @param text - the file's content
 * @param source - the file name, for the message
 * @returns the key ring, or `LB_BAD_KEY_FILE` with `details.issues` (`line 3: ...`); the messages never
 *   contain a secret
 */
export function parseKeyFile(text: string, source = 'key file'): Result<LbKeyRing, LbError<LbIssueDetails>> {
  const issues: ConfigIssue[] = [];
  const keys: LbKey[] = [];
  const ids = new Set<number>();
  const lines = typeof text === 'string' ? text.split(/\r?\n/) : [];
  if (typeof text !== 'string') issues.push({ path: '(root)', message: 'must be text' });
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const path = `line ${i + 1}`;
    const parts = line.split(/\s+/);
    if (parts.length !== 2) {
      issues.push({ path, message: `must be "<id> <secret>" (got ${parts.length} words)` });
      return;
    }
    const [idText, secretText] = parts as [string, string];
    const id = /^[1-9][0-9]{0,2}$/.test(idText) ? Number(idText) : Number.NaN;
    if (!(id >= 1 && id <= 255)) {
      issues.push({ path, message: `key id must be an integer 1..255 (got ${describeValue(idText)})` });
      return;
    }
    if (ids.has(id)) {
      issues.push({ path, message: `key id ${id} is used twice` });
      return;
    }
    ids.add(id);
    const secret = secretBytes(secretText);
    if (typeof secret === 'string') issues.push({ path, message: `the secret of key ${id} ${secret}` });
    else if (secret.length < LB_MIN_SECRET_BYTES)
      issues.push({
        path,
        message: `the secret of key ${id} has ${secret.length} bytes, at least ${LB_MIN_SECRET_BYTES} are needed`,
      });
    else keys.push({ id, secret });
  });
  if (issues.length === 0 && keys.length === 0) issues.push({ path: '(root)', message: 'holds no key' });
  if (keys.length > 2)
    issues.push({ path: '(root)', message: `holds ${keys.length} keys, at most two are allowed` });
  if (issues.length > 0)
    return err(
      new LbError<LbIssueDetails>(
        'LB_BAD_KEY_FILE',
        formatIssues(source, issues).replace('invalid configuration', 'invalid key file'),
        {
          details: { issues },
        },
      ),
    );
  return ok({ primary: keys[0] as LbKey, keys });
}

/**
 * Reads and parses a key file ({@link parseKeyFile}).
 *
 * @param path - the file
 * @throws {@link LbError} `LB_BAD_KEY_FILE` when the file cannot be read (the cause attached) or is malformed
 */
export async function readKeyFile(path: string): Promise<LbKeyRing> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new LbError<LbIssueDetails>('LB_BAD_KEY_FILE', `${path}: cannot read the key file: ${message}`, {
      details: { issues: [{ path: '(root)', message: `cannot be read: ${message}` }] },
      cause,
    });
  }
  const r = parseKeyFile(text, path);
  if (!r.ok) throw r.error;
  return r.value;
}

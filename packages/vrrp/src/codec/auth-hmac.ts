/**
 * The HMAC authentication trailer of VRRP adverts: draft-cassen-vrrp-auth-hmac, as keepalived 2.4.2 and
 * later implement it (`auth_hmac`). Pure: time is an input, nothing here reads a clock or a socket.
 *
 * Wire format (28 bytes appended after the VRRP message, every field in network order):
 *
 * ```text
 *  0               1               2               3
 * +---------------+---------------+-------------------------------+
 * | Ext Type (1)  |    Key ID     |        Reserved (zero)        |
 * +---------------+---------------+-------------------------------+
 * |            Seconds (UTC, since the Unix epoch, mod 2^32)      |
 * +-------------------------------+-------------------------------+
 * |  Fraction of a second / 2^16  |            Counter            |
 * +-------------------------------+-------------------------------+
 * |      HMAC-SHA256 truncated to its first 128 bits (16 bytes)   |
 * +---------------------------------------------------------------+
 * ```
 *
 * The HMAC covers a 20-byte pseudo-header (4 or 6, VRRP version, VRID, 0, the IP source address
 * zero-padded to 16 bytes), the VRRP message with its checksum field read as zero, the first 12 trailer
 * bytes, and 16 zero bytes in place of the HMAC. Seconds, fraction and counter form one 64-bit sequence
 * number ordered with serial number arithmetic (RFC 1982). For IPv6 the VRRP checksum covers the trailer
 * too (the kernel computes it over the whole payload); for IPv4 it covers the message only.
 */

import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  checksumAdd,
  checksumFinish,
  type IpFamily,
  ok,
  parseIp,
  pseudoHeaderSum,
  type Result,
} from '@proxyha/common';
import { drop, invalidArgument, type VrrpError } from './errors';
import { VRRP_PROTOCOL, VRRP_V2_AUTH_LENGTH } from './types';

/** Length of the authentication trailer in bytes. */
export const VRRP_HMAC_TRAILER_LENGTH = 28;
/** Extension type 1 of the trailer: HMAC-SHA256 truncated to 128 bits (the only one defined). */
export const VRRP_HMAC_TYPE_SHA256_128 = 1;

const HMAC_OFFSET = 12;
const HMAC_LENGTH = 16;
const PSEUDO_LENGTH = 20;
const KEY_MIN = 32;
const KEY_MAX = 64;
const WINDOW_MAX = 300;
/** Multicast senders whose last sequence is remembered (least recently used dropped first). */
const DEFAULT_MAX_SENDERS = 16;
const U64 = 1n << 64n;
const HALF64 = 1n << 63n;

/**
 * Who signs and who must verify (keepalived's `mode`). `receive-only`: sends no trailer, verifies one when
 * present, accepts adverts without; `permissive`: signs, verifies a present trailer, accepts adverts
 * without; `enforce` (default): signs, and accepts only adverts with a valid trailer. A group migrates
 * receive-only, then permissive, then enforce, one node at a time, without dropping an advert.
 */
export type VrrpHmacMode = 'enforce' | 'permissive' | 'receive-only';

/**
 * Replay protection (keepalived's `anti_replay`). `time` (default): the trailer's timestamp must lie within
 * the freshness window of the receiver's clock (clocks in sync, NTP), and each sender's sequence must grow;
 * `monotonic`: only the growth, for nodes without a common clock (a captured advert stays valid until the
 * sender has sent a newer one to this receiver).
 */
export type VrrpHmacAntiReplay = 'time' | 'monotonic';

/** A key of the key ring (keepalived's `key <id> <value>`). */
export interface VrrpHmacKey {
  /** Key id 1..255, carried in the trailer. */
  readonly id: number;
  /** The secret: 32 to 64 bytes. */
  readonly key: Uint8Array;
}

/** What the HMAC binds besides the message (the pseudo-header): an advert cannot be moved to another instance or sender. */
export interface VrrpHmacBinding {
  /** Address family of the instance. */
  readonly family: IpFamily;
  /** VRRP version of the instance. */
  readonly version: 2 | 3;
  /** VRID of the instance, 1..255. */
  readonly vrid: number;
  /** The IP source address of the advert (a `%zone` suffix is ignored). */
  readonly source: string;
}

/** The fields of a trailer whose HMAC verified. */
export interface VrrpHmacTrailer {
  /** Key id. */
  readonly keyId: number;
  /** Seconds since the Unix epoch, mod 2^32. */
  readonly seconds: number;
  /** Fraction of the second in 1/65536 s. */
  readonly fraction: number;
  /** Counter within one timestamp. */
  readonly counter: number;
  /** The 64-bit sequence number: seconds, fraction and counter. */
  readonly sequence: bigint;
}

/** Options of {@link sealVrrpHmac}. */
export interface VrrpHmacSealOptions {
  /** Family, version, VRID and source address the HMAC binds. */
  readonly binding: VrrpHmacBinding;
  /** The signing key. */
  readonly key: VrrpHmacKey;
  /** The 64-bit sequence number (see {@link VrrpHmac.nextSequence}). */
  readonly sequence: bigint;
  /** IPv6: the destination address, which the VRRP checksum over the whole payload covers. Required for IPv6. */
  readonly destination?: string;
}

/** Options of {@link VrrpHmac}. */
export interface VrrpHmacOptions {
  /** The key ring: every key is accepted on receipt (two during a rotation). Ids unique. */
  readonly keys: readonly VrrpHmacKey[];
  /** Id of the key adverts are signed with (keepalived's `active_key`); one of `keys`. */
  readonly activeKey: number;
  /** Default `enforce`. */
  readonly mode?: VrrpHmacMode;
  /** Default `time`. */
  readonly antiReplay?: VrrpHmacAntiReplay;
  /** Freshness window in whole seconds, 1..300 (keepalived's `time_window`). Default 5. */
  readonly timeWindowSec?: number;
  /** Senders whose last sequence number is remembered, 1..4096. Default 16. */
  readonly maxSenders?: number;
}

/** An advert {@link VrrpHmac.check} let through. */
export interface VrrpHmacAccepted {
  /** True when it carried a valid trailer; false for an advert without one (receive-only, permissive). */
  readonly authenticated: boolean;
  /** The verified trailer. */
  readonly trailer?: VrrpHmacTrailer;
  /** Receiver clock minus sender timestamp, whole seconds (`time` mode, authenticated adverts). */
  readonly skewSec?: number;
}

/** The current settings of a {@link VrrpHmac} (no key material). */
export interface VrrpHmacSettings {
  /** The mode. */
  readonly mode: VrrpHmacMode;
  /** The replay protection. */
  readonly antiReplay: VrrpHmacAntiReplay;
  /** Freshness window, seconds. */
  readonly timeWindowSec: number;
  /** Id of the signing key. */
  readonly activeKey: number;
  /** Ids of the accepted keys, in configuration order. */
  readonly keyIds: readonly number[];
}

/* ---------------------------------------------------------------- helpers */

function isInt(n: unknown, min: number, max: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;
}

function withoutZone(address: string): string {
  const pct = address.indexOf('%');
  return pct < 0 ? address : address.slice(0, pct);
}

/** `a` comes after `b` in serial number arithmetic over 64 bits. */
function seqAfter(a: bigint, b: bigint): boolean {
  const d = (a - b + U64) % U64;
  return d !== 0n && d < HALF64;
}

/** `a - b` of two 32-bit second counts, as a signed 32-bit number (the wrap is a non-event). */
function secondsDelta(a: number, b: number): number {
  return ((a - b) | 0) as number;
}

/** The 32-bit seconds of a wall time in ms. */
function wallSeconds(wallMs: number): number {
  return Math.floor(wallMs / 1000) >>> 0;
}

/**
 * The sequence a clock reading gives: seconds in the high 32 bits, the fraction of the second in
 * 1/65536 s in the next 16, the counter zero.
 */
function clockSequence(wallMs: number): bigint {
  const whole = Math.floor(wallMs / 1000);
  const fraction = Math.min(0xffff, Math.floor(((wallMs - whole * 1000) * 65536) / 1000));
  return (BigInt(whole >>> 0) << 32n) | (BigInt(fraction) << 16n);
}

/** Expected VRRP message length from its header, or undefined when the header says nothing sensible. */
function messageLength(payload: Uint8Array, family: IpFamily): number | undefined {
  if (payload.length < 8) return undefined;
  const version = payload[0]! >> 4;
  if (version !== 2 && version !== 3) return undefined;
  const count = payload[3]!;
  return 8 + count * (family === 'ipv6' ? 16 : 4) + (version === 2 ? VRRP_V2_AUTH_LENGTH : 0);
}

/** The 20-byte pseudo-header, or undefined when the binding is unusable. */
function pseudoHeader(b: VrrpHmacBinding): Uint8Array | undefined {
  if (!b || (b.family !== 'ipv4' && b.family !== 'ipv6')) return undefined;
  if (b.version !== 2 && b.version !== 3) return undefined;
  if (!isInt(b.vrid, 1, 255) || typeof b.source !== 'string') return undefined;
  const src = parseIp(withoutZone(b.source), b.family);
  if (!src) return undefined;
  const out = new Uint8Array(PSEUDO_LENGTH);
  out[0] = b.family === 'ipv6' ? 6 : 4;
  out[1] = b.version;
  out[2] = b.vrid;
  out.set(src.bytes, 4);
  return out;
}

const ZERO_HMAC = new Uint8Array(HMAC_LENGTH);
const ZERO_CHECKSUM = new Uint8Array(2);

/** The truncated HMAC of a message and the first 12 bytes of its trailer. */
function digest(
  key: Uint8Array,
  pseudo: Uint8Array,
  message: Uint8Array,
  trailerHead: Uint8Array,
): Uint8Array {
  const h = createHmac('sha256', key);
  h.update(pseudo);
  h.update(message.subarray(0, 6));
  h.update(ZERO_CHECKSUM);
  h.update(message.subarray(8));
  h.update(trailerHead.subarray(0, HMAC_OFFSET));
  h.update(ZERO_HMAC);
  return new Uint8Array(h.digest().subarray(0, HMAC_LENGTH));
}

function readTrailer(trailer: Uint8Array): VrrpHmacTrailer {
  const seconds = ((trailer[4]! << 24) | (trailer[5]! << 16) | (trailer[6]! << 8) | trailer[7]!) >>> 0;
  const fraction = (trailer[8]! << 8) | trailer[9]!;
  const counter = (trailer[10]! << 8) | trailer[11]!;
  return {
    keyId: trailer[1]!,
    seconds,
    fraction,
    counter,
    sequence: (BigInt(seconds) << 32n) | (BigInt(fraction) << 16n) | BigInt(counter),
  };
}

function checkKey(k: VrrpHmacKey, field: string): void {
  if (!k || typeof k !== 'object') invalidArgument(field, 'must be { id, key }');
  if (!isInt(k.id, 1, 255)) invalidArgument(`${field}.id`, `must be 1..255, got ${String(k.id)}`);
  if (!(k.key instanceof Uint8Array) || k.key.length < KEY_MIN || k.key.length > KEY_MAX) {
    const len = k.key instanceof Uint8Array ? `${k.key.length} bytes` : typeof k.key;
    invalidArgument(`${field}.key`, `must be ${KEY_MIN} to ${KEY_MAX} bytes, got ${len}`);
  }
}

/* ------------------------------------------------------------ pure functions */

/**
 * Splits a received VRRP payload into the message and the authentication trailer: the trailer is there
 * when the payload is exactly {@link VRRP_HMAC_TRAILER_LENGTH} bytes longer than the message its header
 * describes (as keepalived detects it). Never throws.
 *
 * @param payload - the IP payload
 * @param family - the family it arrived over
 * @returns the message (a view of `payload`) and the trailer, if any
 */
export function splitVrrpHmac(
  payload: Uint8Array,
  family: IpFamily,
): {
  /** The VRRP message (a view of `payload`). */
  readonly message: Uint8Array;
  /** The authentication trailer, when there is one. */
  readonly trailer: Uint8Array | undefined;
} {
  const len = messageLength(payload, family);
  if (len !== undefined && payload.length === len + VRRP_HMAC_TRAILER_LENGTH) {
    return { message: payload.subarray(0, len), trailer: payload.subarray(len) };
  }
  return { message: payload, trailer: undefined };
}

/**
 * Appends a signed authentication trailer to an encoded VRRP message. For IPv6 the VRRP checksum is
 * recomputed over the whole payload (what the kernel does for keepalived with `IPV6_CHECKSUM`); for IPv4 the
 * message's own checksum stays. The HMAC does not depend on the destination: copies to several unicast
 * peers carry the same trailer.
 *
 * @param message - the encoded VRRP message (`encodeVrrp`)
 * @param options - binding, key, sequence number, and the IPv6 destination
 * @returns a new buffer: the message and the 28-byte trailer
 * @throws {@link VrrpError} `VRRP_INVALID_ARGUMENT` for a bad key, binding, sequence or message
 */
export function sealVrrpHmac(message: Uint8Array, options: VrrpHmacSealOptions): Uint8Array {
  if (!(message instanceof Uint8Array) || message.length < 8) {
    invalidArgument('message', 'must be an encoded VRRP message (at least 8 bytes)');
  }
  const pseudo = pseudoHeader(options.binding);
  if (!pseudo) invalidArgument('binding', 'needs family, version 2 or 3, VRID 1..255 and a source address');
  checkKey(options.key, 'key');
  const seq = options.sequence;
  if (typeof seq !== 'bigint' || seq < 0n || seq >= U64) {
    invalidArgument('sequence', 'must be a bigint 0 .. 2^64-1');
  }
  const family = options.binding.family;
  let dst: Uint8Array | undefined;
  if (family === 'ipv6') {
    const d =
      options.destination === undefined ? undefined : parseIp(withoutZone(options.destination), 'ipv6');
    if (!d) invalidArgument('destination', 'IPv6 needs the destination address for the checksum');
    dst = d.bytes;
  }
  const out = new Uint8Array(message.length + VRRP_HMAC_TRAILER_LENGTH);
  out.set(message, 0);
  const t = message.length;
  out[t] = VRRP_HMAC_TYPE_SHA256_128;
  out[t + 1] = options.key.id;
  const seconds = Number(seq >> 32n);
  const low = Number(seq & 0xffffffffn);
  out[t + 4] = seconds >>> 24;
  out[t + 5] = (seconds >>> 16) & 0xff;
  out[t + 6] = (seconds >>> 8) & 0xff;
  out[t + 7] = seconds & 0xff;
  out[t + 8] = low >>> 24;
  out[t + 9] = (low >>> 16) & 0xff;
  out[t + 10] = (low >>> 8) & 0xff;
  out[t + 11] = low & 0xff;
  out.set(digest(options.key.key, pseudo, out.subarray(0, t), out.subarray(t)), t + HMAC_OFFSET);
  if (dst) {
    out[6] = 0;
    out[7] = 0;
    const src = pseudo.subarray(4, 20);
    const sum = checksumAdd(
      out,
      0,
      out.length,
      pseudoHeaderSum(src, 0, dst, 0, 16, VRRP_PROTOCOL, out.length),
    );
    const ck = checksumFinish(sum);
    out[6] = ck >> 8;
    out[7] = ck & 0xff;
  }
  return out;
}

/**
 * Verifies an authentication trailer: extension type, reserved field, key id and HMAC (constant time). It
 * does not check freshness or replays: {@link VrrpHmac.check} does. Never throws.
 *
 * @param message - the VRRP message (without the trailer)
 * @param trailer - the 28-byte trailer
 * @param binding - family, version, VRID and IP source the HMAC must bind
 * @param keys - the accepted keys
 * @returns the trailer's fields, or `VRRP_HMAC_MALFORMED`, `VRRP_HMAC_UNKNOWN_KEY`, `VRRP_HMAC_INVALID`
 *   (`VRRP_BAD_LENGTH` / `VRRP_BAD_CONTEXT` for a wrong trailer length or an unusable binding)
 */
export function verifyVrrpHmac(
  message: Uint8Array,
  trailer: Uint8Array,
  binding: VrrpHmacBinding,
  keys: readonly VrrpHmacKey[],
): Result<VrrpHmacTrailer, VrrpError> {
  try {
    const head = malformed(message, trailer);
    if (head) return head;
    const pseudo = pseudoHeader(binding);
    if (!pseudo) return drop('VRRP_BAD_CONTEXT', 'unusable HMAC binding (family, version, VRID, source)');
    return verifyWith(message, trailer, pseudo, keys);
  } catch (e) {
    /* unreachable by design; keeps the never-throws contract */
    return drop('VRRP_BAD_CONTEXT', `unexpected HMAC verification failure: ${String(e)}`);
  }
}

function malformed(message: Uint8Array, trailer: Uint8Array): Result<never, VrrpError> | undefined {
  if (!(message instanceof Uint8Array) || !(trailer instanceof Uint8Array)) {
    return drop('VRRP_BAD_CONTEXT', 'message and trailer must be Uint8Arrays');
  }
  if (message.length < 8) {
    return drop('VRRP_BAD_LENGTH', `${message.length} bytes is shorter than the 8-byte VRRP header`, {
      field: 'length',
      actual: message.length,
      expected: 8,
    });
  }
  if (trailer.length !== VRRP_HMAC_TRAILER_LENGTH) {
    return drop('VRRP_BAD_LENGTH', `authentication trailer of ${trailer.length} bytes, expected 28`, {
      field: 'trailer',
      actual: trailer.length,
      expected: VRRP_HMAC_TRAILER_LENGTH,
    });
  }
  if (trailer[0] !== VRRP_HMAC_TYPE_SHA256_128) {
    return drop(
      'VRRP_HMAC_MALFORMED',
      `authentication trailer type ${trailer[0]}, expected 1 (HMAC-SHA256-128)`,
      {
        field: 'extType',
        actual: trailer[0]!,
        expected: VRRP_HMAC_TYPE_SHA256_128,
      },
    );
  }
  const reserved = (trailer[2]! << 8) | trailer[3]!;
  if (reserved !== 0) {
    return drop(
      'VRRP_HMAC_MALFORMED',
      `authentication trailer reserved field 0x${reserved.toString(16)}, expected 0`,
      {
        field: 'reserved',
        actual: reserved,
        expected: 0,
      },
    );
  }
  return undefined;
}

function verifyWith(
  message: Uint8Array,
  trailer: Uint8Array,
  pseudo: Uint8Array,
  keys: readonly VrrpHmacKey[],
): Result<VrrpHmacTrailer, VrrpError> {
  const fields = readTrailer(trailer);
  const key = keys.find((k) => k.id === fields.keyId);
  if (!key) {
    return drop('VRRP_HMAC_UNKNOWN_KEY', `unknown authentication key id ${fields.keyId}`, {
      field: 'keyId',
      actual: fields.keyId,
    });
  }
  const want = digest(key.key, pseudo, message, trailer);
  if (!timingSafeEqual(want, trailer.subarray(HMAC_OFFSET))) {
    return drop('VRRP_HMAC_INVALID', `invalid authentication HMAC (key id ${fields.keyId})`, {
      field: 'hmac',
      actual: fields.keyId,
    });
  }
  return ok(fields);
}

/* ------------------------------------------------------------ the stateful side */

interface HmacState {
  readonly keys: readonly VrrpHmacKey[];
  readonly active: VrrpHmacKey;
  readonly mode: VrrpHmacMode;
  readonly antiReplay: VrrpHmacAntiReplay;
  readonly windowSec: number;
  readonly maxSenders: number;
}

function validate(o: VrrpHmacOptions): HmacState {
  if (!o || typeof o !== 'object') invalidArgument('options', 'must be an object');
  if (!Array.isArray(o.keys) || o.keys.length === 0) invalidArgument('keys', 'at least one key is needed');
  const ids = new Set<number>();
  const keys: VrrpHmacKey[] = [];
  o.keys.forEach((k, i) => {
    checkKey(k, `keys[${i}]`);
    if (ids.has(k.id)) invalidArgument(`keys[${i}].id`, `key id ${k.id} is used twice`);
    ids.add(k.id);
    keys.push({ id: k.id, key: Uint8Array.from(k.key) });
  });
  const active = keys.find((k) => k.id === o.activeKey);
  if (!active) invalidArgument('activeKey', `key id ${String(o.activeKey)} is not one of the keys`);
  const mode = o.mode ?? 'enforce';
  if (mode !== 'enforce' && mode !== 'permissive' && mode !== 'receive-only') {
    invalidArgument('mode', `must be enforce, permissive or receive-only, got ${String(mode)}`);
  }
  const antiReplay = o.antiReplay ?? 'time';
  if (antiReplay !== 'time' && antiReplay !== 'monotonic') {
    invalidArgument('antiReplay', `must be time or monotonic, got ${String(antiReplay)}`);
  }
  const windowSec = o.timeWindowSec ?? 5;
  if (!isInt(windowSec, 1, WINDOW_MAX)) {
    invalidArgument('timeWindowSec', `must be whole seconds 1..${WINDOW_MAX}, got ${String(windowSec)}`);
  }
  const maxSenders = o.maxSenders ?? DEFAULT_MAX_SENDERS;
  if (!isInt(maxSenders, 1, 4096))
    invalidArgument('maxSenders', `must be 1..4096, got ${String(maxSenders)}`);
  return { keys, active, mode, antiReplay, windowSec, maxSenders };
}

/**
 * One instance's authentication state: the key ring (the active key signs, every key verifies), the send
 * sequence, and the last sequence accepted from each sender. Pure and synchronous: every method that
 * depends on time takes the wall time (ms since the Unix epoch) as an argument.
 *
 * Receive order: the trailer's type and reserved field, then (anti-replay `time`) the freshness window,
 * before any HMAC is computed (a flood of old captures costs no digest), then the key id and the HMAC,
 * and last the sender's sequence. Only an advert whose HMAC verified moves a sender's mark, so forged
 * adverts can neither poison nor evict replay state.
 *
 * @example
 * ```ts
 * const hmac = new VrrpHmac({ keys: [{ id: 1, key }], activeKey: 1 });
 * const binding = { family: 'ipv4', version: 3, vrid: 51, source: '192.168.77.11' } as const;
 * const wire = hmac.seal(encodeVrrp(advert, { source: binding.source }), binding, hmac.nextSequence(Date.now()));
 * ```
 */
export class VrrpHmac {
  #s: HmacState;
  #sendSeq = 0n;
  readonly #marks = new Map<string, bigint>();

  /**
   * @param options - keys, active key, mode, replay protection
   * @throws {@link VrrpError} `VRRP_INVALID_ARGUMENT` naming the bad option
   */
  constructor(options: VrrpHmacOptions) {
    this.#s = validate(options);
  }

  /**
   * Replaces the settings (a key rotation, a mode change) keeping the send sequence and the replay marks,
   * so that nothing a peer already accepted becomes acceptable again and no sender is refused.
   *
   * @param options - the whole new settings
   * @throws {@link VrrpError} `VRRP_INVALID_ARGUMENT` (nothing changed then)
   */
  update(options: VrrpHmacOptions): void {
    this.#s = validate(options);
    while (this.#marks.size > this.#s.maxSenders)
      this.#marks.delete(this.#marks.keys().next().value as string);
  }

  /** The current settings, without key material. */
  get settings(): VrrpHmacSettings {
    const s = this.#s;
    return {
      mode: s.mode,
      antiReplay: s.antiReplay,
      timeWindowSec: s.windowSec,
      activeKey: s.active.id,
      keyIds: s.keys.map((k) => k.id),
    };
  }

  /** Whether adverts are sent with a trailer (not in `receive-only`). */
  get signs(): boolean {
    return this.#s.mode !== 'receive-only';
  }

  /**
   * The sequence number of the next advert: the clock reading (seconds, 1/65536 s), or the previous number
   * plus one when the clock has not moved past it. In `time` mode a previous number more than the window
   * ahead of the clock (a corrected clock step) restarts from the clock; `monotonic` keeps strict growth.
   * One call per advert: its copies to several peers share the number.
   *
   * @param wallMs - wall time, ms since the Unix epoch
   */
  nextSequence(wallMs: number): bigint {
    const clk = clockSequence(Number.isFinite(wallMs) ? wallMs : 0);
    if (seqAfter(clk, this.#sendSeq)) {
      this.#sendSeq = clk;
      return clk;
    }
    const ahead = secondsDelta(Number(this.#sendSeq >> 32n), Number(clk >> 32n));
    if (this.#s.antiReplay === 'time' && ahead > this.#s.windowSec) this.#sendSeq = clk;
    else this.#sendSeq = (this.#sendSeq + 1n) % U64;
    return this.#sendSeq;
  }

  /**
   * Appends the trailer signed with the active key ({@link sealVrrpHmac}).
   *
   * @param message - the encoded VRRP message
   * @param binding - family, version, VRID and our source address
   * @param sequence - from {@link VrrpHmac.nextSequence}
   * @param destination - IPv6: the destination (the checksum covers it)
   */
  seal(message: Uint8Array, binding: VrrpHmacBinding, sequence: bigint, destination?: string): Uint8Array {
    return sealVrrpHmac(message, {
      binding,
      key: this.#s.active,
      sequence,
      ...(destination === undefined ? {} : { destination }),
    });
  }

  /**
   * Decides whether a received advert may reach the state machine. Never throws.
   *
   * @param message - the VRRP message (already decoded and valid)
   * @param trailer - its trailer ({@link splitVrrpHmac}), or undefined
   * @param binding - the instance's family, version and VRID, and the advert's IP source
   * @param wallMs - receive wall time, ms since the Unix epoch
   * @returns accepted (authenticated or not), or a drop: `VRRP_HMAC_MISSING`, `VRRP_HMAC_MALFORMED`,
   *   `VRRP_HMAC_STALE`, `VRRP_HMAC_UNKNOWN_KEY`, `VRRP_HMAC_INVALID`, `VRRP_HMAC_REPLAY`
   */
  check(
    message: Uint8Array,
    trailer: Uint8Array | undefined,
    binding: VrrpHmacBinding,
    wallMs: number,
  ): Result<VrrpHmacAccepted, VrrpError> {
    try {
      const s = this.#s;
      if (trailer === undefined) {
        if (s.mode === 'enforce') {
          return drop('VRRP_HMAC_MISSING', 'missing authentication trailer', { field: 'trailer' });
        }
        return ok({ authenticated: false });
      }
      const bad = malformed(message, trailer);
      if (bad) return bad;
      const pseudo = pseudoHeader(binding);
      if (!pseudo) return drop('VRRP_BAD_CONTEXT', 'unusable HMAC binding (family, version, VRID, source)');
      const fields = readTrailer(trailer);
      let skewSec: number | undefined;
      if (s.antiReplay === 'time') {
        skewSec = secondsDelta(wallSeconds(wallMs), fields.seconds);
        if (skewSec > s.windowSec || skewSec < -s.windowSec) {
          return drop(
            'VRRP_HMAC_STALE',
            `stale authentication trailer, clock skew ${skewSec} sec exceeds window ${s.windowSec} sec`,
            { field: 'seconds', actual: skewSec, expected: s.windowSec },
          );
        }
      }
      const v = verifyWith(message, trailer, pseudo, s.keys);
      if (!v.ok) return v;
      const sender = parseIp(withoutZone(binding.source))!.text;
      let mark = this.#marks.get(sender);
      // a mark outside the window only orders adverts the window refuses anyway: forgetting it lets a
      // sender whose clock was stepped back in
      if (mark !== undefined && s.antiReplay === 'time') {
        const age = secondsDelta(wallSeconds(wallMs), Number(mark >> 32n));
        if (age > s.windowSec || age < -s.windowSec) mark = undefined;
      }
      if (mark !== undefined && !seqAfter(fields.sequence, mark)) {
        return drop(
          'VRRP_HMAC_REPLAY',
          `replayed authentication trailer (sequence ${fields.sequence} not above ${mark})`,
          {
            field: 'sequence',
            actual: fields.sequence.toString(),
            expected: `> ${mark}`,
          },
        );
      }
      this.#marks.delete(sender);
      this.#marks.set(sender, fields.sequence);
      if (this.#marks.size > s.maxSenders) this.#marks.delete(this.#marks.keys().next().value as string);
      return ok({ authenticated: true, trailer: fields, ...(skewSec === undefined ? {} : { skewSec }) });
    } catch (e) {
      /* unreachable by design; keeps the never-throws contract */
      return drop('VRRP_BAD_CONTEXT', `unexpected HMAC check failure: ${String(e)}`);
    }
  }
}

// The NTP packet header (RFC 5905 figure 8): bytes <-> NtpPacket.
import { type ConfigIssue, describeValue, err, formatIpv4, ok, type Result } from '@proxyha/common';
import { NtpError } from '../errors';
import type { NtpTimestamp } from './timestamp';

/** Length of an NTP header without extension fields or MAC. */
export const NTP_HEADER_LENGTH = 48;

/** NTP association modes (RFC 5905 figure 10). */
export const NtpMode = {
  /** Symmetric active. */
  SymmetricActive: 1,
  /** Symmetric passive. */
  SymmetricPassive: 2,
  /** Client request. */
  Client: 3,
  /** Server reply. */
  Server: 4,
  /** Broadcast. */
  Broadcast: 5,
} as const;

/**
 * A decoded NTP packet header. Times in the short format (root delay, root
 * dispersion) are in seconds; 64-bit timestamps stay raw (see {@link NtpTimestamp}).
 */
export interface NtpPacket {
  /** Leap indicator: 0 none, 1 last minute has 61 s, 2 has 59 s, 3 unsynchronized. */
  leap: 0 | 1 | 2 | 3;
  /** Version number (3 bits). */
  version: number;
  /** Association mode (3 bits), see {@link NtpMode}. */
  mode: number;
  /** Stratum: 0 Kiss-o'-Death, 1 primary, 2-15 secondary, 16 unsynchronized. */
  stratum: number;
  /** Poll exponent (log2 seconds, signed 8 bits). */
  poll: number;
  /** Precision exponent (log2 seconds, signed 8 bits). */
  precision: number;
  /** Root delay in seconds (16.16 unsigned on the wire). */
  rootDelay: number;
  /** Root dispersion in seconds (16.16 unsigned on the wire). */
  rootDispersion: number;
  /** Reference ID, raw 32 bits (ASCII kiss code at stratum 0, source at stratum 1, IPv4 or hash above). */
  referenceId: number;
  /** Time the server's clock was last set. */
  referenceTimestamp: NtpTimestamp;
  /** Originate timestamp (in a reply: the request's transmit timestamp). */
  originateTimestamp: NtpTimestamp;
  /** Receive timestamp (server time the request arrived). */
  receiveTimestamp: NtpTimestamp;
  /** Transmit timestamp (server time the reply left; in a request: our nonce). */
  transmitTimestamp: NtpTimestamp;
  /** Bytes after the 48-byte header (extension fields, MAC), kept verbatim. */
  trailer: Uint8Array;
}

/**
 * Decodes an NTP packet. Never throws: returns `NTP_TRUNCATED` for fewer than 48
 * bytes and `NTP_BAD_LENGTH` for a length that is not a multiple of 4, with
 * `details.length`. Semantic checks of a reply (mode, version, nonce, stratum, ...)
 * are in `validateReply`.
 *
 * @param bytes - the UDP payload
 */
export function decodePacket(bytes: Uint8Array): Result<NtpPacket, NtpError> {
  if (!(bytes instanceof Uint8Array)) {
    return err(new NtpError('NTP_TRUNCATED', 'not a byte array', { details: { length: 0 }, stack: false }));
  }
  if (bytes.length < NTP_HEADER_LENGTH) {
    return err(
      new NtpError('NTP_TRUNCATED', `packet of ${bytes.length} bytes is shorter than the 48-byte header`, {
        details: { length: bytes.length },
        stack: false,
      }),
    );
  }
  if (bytes.length % 4 !== 0) {
    return err(
      new NtpError('NTP_BAD_LENGTH', `packet length ${bytes.length} is not a multiple of 4`, {
        details: { length: bytes.length },
        stack: false,
      }),
    );
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const b0 = v.getUint8(0);
  return ok({
    leap: (b0 >> 6) as 0 | 1 | 2 | 3,
    version: (b0 >> 3) & 7,
    mode: b0 & 7,
    stratum: v.getUint8(1),
    poll: v.getInt8(2),
    precision: v.getInt8(3),
    rootDelay: v.getUint32(4) / 65536,
    rootDispersion: v.getUint32(8) / 65536,
    referenceId: v.getUint32(12),
    referenceTimestamp: v.getBigUint64(16),
    originateTimestamp: v.getBigUint64(24),
    receiveTimestamp: v.getBigUint64(32),
    transmitTimestamp: v.getBigUint64(40),
    trailer: Uint8Array.from(bytes.subarray(NTP_HEADER_LENGTH)),
  });
}

/** A field given to the encoder is out of range: `NTP_INVALID_ARGUMENT` with one issue for that field. */
function invalidField(field: string, message: string, value: unknown): NtpError {
  const issues: ConfigIssue[] = [{ path: field, message }];
  return new NtpError('NTP_INVALID_ARGUMENT', `invalid NTP packet field: ${field}: ${message}`, {
    details: { issues, field, value },
  });
}

function intField(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidField(name, `must be an integer in ${min}..${max} (got ${describeValue(value)})`, value);
  }
  return value;
}

function shortField(name: string, seconds: number): number {
  const raw = Math.round(seconds * 65536);
  if (!Number.isFinite(seconds) || raw < 0 || raw > 0xffffffff) {
    throw invalidField(name, `must be in 0..65535.99998 seconds (got ${describeValue(seconds)})`, seconds);
  }
  return raw;
}

function tsField(name: string, value: bigint): bigint {
  if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n) {
    throw invalidField(name, `must be a 64-bit unsigned bigint (got ${describeValue(value)})`, String(value));
  }
  return value;
}

/**
 * Encodes an NTP packet. Throws {@link NtpError} `NTP_INVALID_ARGUMENT` (with
 * `details.issues` and `details.field`) when a field is out of range: a programming
 * error, never caused by received bytes.
 *
 * @param p - the packet; `trailer` defaults to empty
 */
export function encodePacket(p: Omit<NtpPacket, 'trailer'> & { trailer?: Uint8Array }): Uint8Array {
  const trailer = p.trailer ?? new Uint8Array(0);
  if (trailer.length % 4 !== 0) {
    throw invalidField('trailer', `length must be a multiple of 4 (got ${trailer.length})`, trailer.length);
  }
  const out = new Uint8Array(NTP_HEADER_LENGTH + trailer.length);
  const v = new DataView(out.buffer);
  v.setUint8(
    0,
    (intField('leap', p.leap, 0, 3) << 6) |
      (intField('version', p.version, 0, 7) << 3) |
      intField('mode', p.mode, 0, 7),
  );
  v.setUint8(1, intField('stratum', p.stratum, 0, 255));
  v.setInt8(2, intField('poll', p.poll, -128, 127));
  v.setInt8(3, intField('precision', p.precision, -128, 127));
  v.setUint32(4, shortField('rootDelay', p.rootDelay));
  v.setUint32(8, shortField('rootDispersion', p.rootDispersion));
  v.setUint32(12, intField('referenceId', p.referenceId, 0, 0xffffffff));
  v.setBigUint64(16, tsField('referenceTimestamp', p.referenceTimestamp));
  v.setBigUint64(24, tsField('originateTimestamp', p.originateTimestamp));
  v.setBigUint64(32, tsField('receiveTimestamp', p.receiveTimestamp));
  v.setBigUint64(40, tsField('transmitTimestamp', p.transmitTimestamp));
  out.set(trailer, NTP_HEADER_LENGTH);
  return out;
}

/**
 * Builds an SNTP client request (mode 3): every field zero except version and the
 * transmit timestamp, which carries the caller's random nonce (the server echoes it in
 * the originate field; the real send time stays local, as RFC 5905 section 9.1 allows
 * and chrony does).
 *
 * @param nonce - 64 random bits, not zero
 * @param version - 4 (default) or 3
 */
export function createRequest(nonce: NtpTimestamp, version: 3 | 4 = 4): NtpPacket {
  if (nonce === 0n) throw invalidField('nonce', 'must not be zero', '0');
  return {
    leap: 0,
    version,
    mode: NtpMode.Client,
    stratum: 0,
    poll: 0,
    precision: 0,
    rootDelay: 0,
    rootDispersion: 0,
    referenceId: 0,
    referenceTimestamp: 0n,
    originateTimestamp: 0n,
    receiveTimestamp: 0n,
    transmitTimestamp: nonce,
    trailer: new Uint8Array(0),
  };
}

/**
 * The reference ID as four ASCII characters (kiss codes at stratum 0, reference
 * source names like `GPS` or `LOCL` at stratum 1), trailing NULs removed; `undefined`
 * when it contains non-printable bytes.
 *
 * @param referenceId - raw 32-bit reference ID
 */
export function referenceIdAscii(referenceId: number): string | undefined {
  const bytes = [24, 16, 8, 0].map((s) => (referenceId >>> s) & 0xff);
  let end = 4;
  while (end > 0 && bytes[end - 1] === 0) end--;
  const used = bytes.slice(0, end);
  if (used.length === 0 || used.some((b) => b < 0x20 || b > 0x7e)) return undefined;
  return String.fromCharCode(...used);
}

/**
 * Human form of a packet's reference ID: ASCII at stratum 0 and 1, dotted IPv4 (or an
 * IPv6 address hash, shown the same way) at stratum 2 and above.
 *
 * @param packet - stratum and reference ID of a decoded packet
 */
export function describeReferenceId(packet: Pick<NtpPacket, 'stratum' | 'referenceId'>): string {
  if (packet.stratum <= 1) {
    return referenceIdAscii(packet.referenceId) ?? `0x${packet.referenceId.toString(16).padStart(8, '0')}`;
  }
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, packet.referenceId >>> 0);
  return formatIpv4(bytes);
}

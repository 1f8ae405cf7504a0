// Encoding and decoding of the director protocol messages (IP protocol 253). The byte layout is specified
// in the package README ("Wire format"); the offsets here are the ones of its tables.
import { createHmac } from 'node:crypto';
import {
  type ConfigIssue,
  checksumAdd,
  checksumFinish,
  checksumVerifies,
  describeValue,
  formatIpv4,
  formatIpv6,
  ok,
  parseIp,
  type Result,
} from '@proxyha/common';
import type { LbError } from '../errors';
import { decodeError, invalidArgument, type LbDecodeDetails } from './fail';
import {
  type AnnouncedMember,
  type AnnouncedTable,
  type Announcement,
  LB_PROTOCOL_VERSION,
  type LbMessage,
  type LoadReport,
  type PortConnections,
  type Redirect,
} from './types';

/** Message type byte of an {@link Announcement}. */
export const LB_TYPE_ANNOUNCEMENT = 1;
/** Message type byte of a {@link LoadReport}. */
export const LB_TYPE_REPORT = 2;
/** Flags bit: the message ends with an authentication trailer. */
export const LB_FLAG_AUTH = 0x01;
/** Flags bit (announcements): the body is followed by the director's table ({@link AnnouncedTable}). */
export const LB_FLAG_TABLE = 0x02;
/** Most members of an announced table. */
export const LB_MAX_TABLE_MEMBERS = 64;
/** Largest table size an announcement carries (the scheduler's largest, 2^24 - 3). */
export const LB_MAX_TABLE_SIZE = 0xfffffd;
/** Length of the fixed part of the header, up to the address (which follows: 4 or 16 bytes). */
export const LB_FIXED_HEADER_LENGTH = 40;
/** Length of the authentication trailer: key id (1 byte) and HMAC-SHA256 (32 bytes). */
export const LB_AUTH_TRAILER_LENGTH = 33;
/** Length of the HMAC-SHA256 at the end of the trailer. */
export const LB_MAC_LENGTH = 32;
/** Most UTF-8 bytes of a name. */
export const LB_MAX_NAME_BYTES = 64;
/** Most UTF-8 bytes of a software version. */
export const LB_MAX_VERSION_BYTES = 32;
/** Most entries of each list (redirects, failing ports, connections). */
export const LB_MAX_LIST_ENTRIES = 64;

/** Offsets of the header fields (internal). */
export const OFF = {
  version: 0,
  type: 1,
  group: 2,
  flags: 3,
  length: 4,
  checksum: 6,
  nodeId: 8,
  sequence: 24,
  timestamp: 28,
  interval: 36,
  family: 38,
  reserved: 39,
  address: 40,
} as const;

/** The smallest message: an announcement with an IPv4 address, no name, no redirects. */
const MIN_LENGTH = LB_FIXED_HEADER_LENGTH + 4 + 3;
const TWO32 = 0x1_0000_0000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const utf8Encoder = new TextEncoder();
/* fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: a leading U+FEFF is kept (round trip) */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** An authentication key: what {@link encodeMessage} signs with and {@link LbVerifier} checks with. */
export interface LbKey {
  /** Key id, 1..255: carried in the trailer so that the receiver picks the key. */
  readonly id: number;
  /** The secret, at least 16 bytes. */
  readonly secret: Uint8Array;
}

/** Options of {@link encodeMessage}. */
export interface LbEncodeOptions {
  /** Sign with this key: sets the AUTH flag and appends the HMAC-SHA256 trailer. Default: unsigned. */
  readonly key?: LbKey;
}

/* ---------------------------------------- validation ---------------------------------------- */

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function intIssue(issues: ConfigIssue[], path: string, v: unknown, min: number, max: number): void {
  if (!isInt(v, min, max))
    issues.push({ path, message: `must be an integer ${min}..${max} (got ${describeValue(v)})` });
}

function textBytes(issues: ConfigIssue[], path: string, v: unknown, max: number): Uint8Array {
  if (typeof v !== 'string') {
    issues.push({ path, message: `must be a string (got ${describeValue(v)})` });
    return new Uint8Array(0);
  }
  if (LONE_SURROGATE.test(v)) {
    issues.push({ path, message: `is not well-formed Unicode (a lone surrogate) (got ${describeValue(v)})` });
    return new Uint8Array(0);
  }
  const bytes = utf8Encoder.encode(v);
  if (bytes.length > max)
    issues.push({ path, message: `must be at most ${max} UTF-8 bytes (got ${bytes.length} bytes)` });
  return bytes;
}

function fraction(issues: ConfigIssue[], path: string, v: unknown, scale: number, max: number): number {
  const scaled = typeof v === 'number' && Number.isFinite(v) ? Math.round(v * scale) : Number.NaN;
  if (!(scaled >= 0 && scaled <= max)) {
    issues.push({ path, message: `must be a number 0..${max / scale} (got ${describeValue(v)})` });
    return 0;
  }
  return scaled;
}

function list<T>(issues: ConfigIssue[], path: string, v: unknown): readonly T[] {
  if (!Array.isArray(v)) {
    issues.push({ path, message: `must be an array (got ${describeValue(v)})` });
    return [];
  }
  if (v.length > LB_MAX_LIST_ENTRIES)
    issues.push({ path, message: `must have at most ${LB_MAX_LIST_ENTRIES} entries (got ${v.length})` });
  return v as readonly T[];
}

function ports(
  issues: ConfigIssue[],
  path: string,
  values: readonly unknown[],
  at: (v: unknown) => unknown,
  suffix: string,
): void {
  const seen = new Set<unknown>();
  values.forEach((entry, i) => {
    const p = `${path}[${i}]${suffix}`;
    const port = at(entry);
    if (!isInt(port, 1, 65535)) {
      issues.push({ path: p, message: `must be a port 1..65535 (got ${describeValue(port)})` });
    } else if (seen.has(port)) {
      issues.push({ path: p, message: `port ${port} is listed twice` });
    }
    seen.add(port);
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** A validated message, ready to write. */
interface Plan {
  readonly length: number;
  readonly address: Uint8Array;
  readonly name: Uint8Array;
  readonly version: Uint8Array;
  readonly cpu: number;
  readonly memory: number;
  readonly load: number;
  readonly table: TablePlan | undefined;
}

interface TablePlan {
  readonly table: AnnouncedTable;
  readonly addresses: readonly Uint8Array[];
}

function tablePlan(issues: ConfigIssue[], v: unknown): { plan: TablePlan; bytes: number } | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) {
    issues.push({ path: 'table', message: `must be an object (got ${describeValue(v)})` });
    return undefined;
  }
  intIssue(issues, 'table.size', v.size, 2, LB_MAX_TABLE_SIZE);
  intIssue(issues, 'table.seed', v.seed, 0, TWO32 - 1);
  if (!Array.isArray(v.members)) {
    issues.push({ path: 'table.members', message: `must be an array (got ${describeValue(v.members)})` });
    return undefined;
  }
  if (v.members.length > LB_MAX_TABLE_MEMBERS)
    issues.push({
      path: 'table.members',
      message: `must have at most ${LB_MAX_TABLE_MEMBERS} entries (got ${v.members.length})`,
    });
  const addresses: Uint8Array[] = [];
  let bytes = 9;
  let previous: string | undefined;
  (v.members as unknown[]).forEach((m, i) => {
    const p = `table.members[${i}]`;
    if (!isObject(m)) {
      issues.push({ path: p, message: `must be an object (got ${describeValue(m)})` });
      return;
    }
    if (typeof m.nodeId !== 'string' || !UUID.test(m.nodeId) || m.nodeId !== m.nodeId.toLowerCase())
      issues.push({
        path: `${p}.nodeId`,
        message: `must be a lower-case UUID (got ${describeValue(m.nodeId)})`,
      });
    else if (previous !== undefined && m.nodeId <= previous)
      issues.push({
        path: `${p}.nodeId`,
        message: `must sort after ${previous} (members sorted by id, once each)`,
      });
    else previous = m.nodeId;
    const ip = parseIp(m.address);
    if (!ip)
      issues.push({
        path: `${p}.address`,
        message: `must be an IPv4 or IPv6 address (got ${describeValue(m.address)})`,
      });
    addresses.push(ip ? ip.bytes : new Uint8Array(4));
    intIssue(issues, `${p}.capacity`, m.capacity, 0, 65535);
    intIssue(issues, `${p}.weight256`, m.weight256, 0, TWO32 - 1);
    for (const k of ['healthy', 'bounded'] as const)
      if (typeof m[k] !== 'boolean')
        issues.push({ path: `${p}.${k}`, message: `must be true or false (got ${describeValue(m[k])})` });
    if ((m.healthy === false || m.capacity === 0) && m.weight256 !== 0)
      issues.push({
        path: `${p}.weight256`,
        message: `must be 0 for a drained or zero-capacity member (got ${describeValue(m.weight256)})`,
      });
    bytes += 16 + 1 + (ip ? ip.bytes.length : 4) + 2 + 4 + 1;
  });
  return { plan: { table: v as unknown as AnnouncedTable, addresses }, bytes };
}

function plan(msg: LbMessage, options: LbEncodeOptions): Plan {
  const issues: ConfigIssue[] = [];
  const m = (isObject(msg) ? msg : {}) as Record<string, unknown>;
  if (!isObject(msg))
    issues.push({ path: '(root)', message: `must be an object (got ${describeValue(msg)})` });
  else if (m.type !== 'announcement' && m.type !== 'report')
    issues.push({
      path: 'type',
      message: `must be 'announcement' or 'report' (got ${describeValue(m.type)})`,
    });
  intIssue(issues, 'group', m.group, 1, 255);
  if (typeof m.nodeId !== 'string' || !UUID.test(m.nodeId))
    issues.push({ path: 'nodeId', message: `must be a UUID (got ${describeValue(m.nodeId)})` });
  const ip = parseIp(m.address);
  if (!ip)
    issues.push({
      path: 'address',
      message: `must be an IPv4 or IPv6 address (got ${describeValue(m.address)})`,
    });
  intIssue(issues, 'sequence', m.sequence, 0, TWO32 - 1);
  intIssue(issues, 'timestamp', m.timestamp, 0, Number.MAX_SAFE_INTEGER);
  intIssue(issues, 'intervalMs', m.intervalMs, 1, 65535);
  const name = textBytes(issues, 'name', m.name, LB_MAX_NAME_BYTES);
  let version: Uint8Array = new Uint8Array(0);
  let cpu = 0;
  let memory = 0;
  let load = 0;
  let body = 0;
  let table: TablePlan | undefined;
  if (m.type === 'announcement') {
    intIssue(issues, 'priority', m.priority, 0, 255);
    const redirects = list<unknown>(issues, 'redirects', m.redirects);
    redirects.forEach((r, i) => {
      if (!isObject(r))
        issues.push({ path: `redirects[${i}]`, message: `must be an object (got ${describeValue(r)})` });
      else intIssue(issues, `redirects[${i}].destinationPort`, r.destinationPort, 1, 65535);
    });
    ports(issues, 'redirects', redirects, (r) => (isObject(r) ? r.originalPort : undefined), '.originalPort');
    body = 3 + name.length + 4 * redirects.length;
    const t = tablePlan(issues, m.table);
    if (t !== undefined) {
      table = t.plan;
      body += t.bytes;
    }
  } else if (m.type === 'report') {
    version = textBytes(issues, 'softwareVersion', m.softwareVersion, LB_MAX_VERSION_BYTES);
    let failing: readonly unknown[] = [];
    if (!isObject(m.health)) {
      issues.push({ path: 'health', message: `must be an object (got ${describeValue(m.health)})` });
    } else {
      const status = m.health.status;
      if (status !== 'ok' && status !== 'failure')
        issues.push({
          path: 'health.status',
          message: `must be 'ok' or 'failure' (got ${describeValue(status)})`,
        });
      failing = list<unknown>(issues, 'health.failingPorts', m.health.failingPorts);
      ports(issues, 'health.failingPorts', failing, (p) => p, '');
      if (status === 'ok' && failing.length > 0)
        issues.push({
          path: 'health.failingPorts',
          message: `must be empty when the status is 'ok' (got ${failing.length} ports)`,
        });
    }
    intIssue(issues, 'weight', m.weight, 0, 65535);
    if (!isObject(m.resources)) {
      issues.push({ path: 'resources', message: `must be an object (got ${describeValue(m.resources)})` });
    } else {
      cpu = fraction(issues, 'resources.cpu', m.resources.cpu, 1000, 1000);
      memory = fraction(issues, 'resources.memory', m.resources.memory, 1000, 1000);
      load = fraction(issues, 'resources.load', m.resources.load, 100, 65535);
    }
    const connections = list<unknown>(issues, 'connections', m.connections);
    connections.forEach((c, i) => {
      if (!isObject(c))
        issues.push({ path: `connections[${i}]`, message: `must be an object (got ${describeValue(c)})` });
      else intIssue(issues, `connections[${i}].active`, c.active, 0, TWO32 - 1);
    });
    ports(issues, 'connections', connections, (c) => (isObject(c) ? c.port : undefined), '.port');
    body = 3 + name.length + version.length + 9 + 2 * failing.length + 1 + 6 * connections.length;
  }
  const key = options.key;
  if (key !== undefined) {
    if (!isObject(key))
      issues.push({ path: 'options.key', message: `must be an object (got ${describeValue(key)})` });
    else {
      intIssue(issues, 'options.key.id', key.id, 1, 255);
      if (!(key.secret instanceof Uint8Array) || key.secret.length < 16)
        issues.push({
          path: 'options.key.secret',
          message: `must be a Uint8Array of at least 16 bytes (got ${describeValue(key.secret)})`,
        });
    }
  }
  if (issues.length > 0) throw invalidArgument('director message', issues);
  const address = (ip as NonNullable<typeof ip>).bytes;
  const length =
    LB_FIXED_HEADER_LENGTH + address.length + body + (key === undefined ? 0 : LB_AUTH_TRAILER_LENGTH);
  return { length, address, name, version, cpu, memory, load, table };
}

/* ----------------------------------------- encoding ----------------------------------------- */

function writeUuid(uuid: string, out: Uint8Array, off: number): void {
  const hex = uuid.replace(/-/g, '');
  for (let i = 0; i < 16; i++) out[off + i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
}

/**
 * Encodes a message as the payload of an IP protocol 253 packet: every field validated, the checksum
 * filled in and, when `options.key` is given, the HMAC-SHA256 trailer appended.
 *
 * @param msg - the announcement or load report
 * @param options - the key to sign with (omit for an unauthenticated message)
 * @returns the message bytes (at most 412 bytes for an announcement without a table, which adds 9 bytes and 28 per IPv4 or 40
 *   per IPv6 member; 710 for a report; trailer included)
 * @throws {@link LbError} `LB_INVALID_ARGUMENT` when a field is out of range; `details.issues` names each
 *   bad path (`redirects[1].originalPort`, `resources.cpu`, `options.key.secret`, ...)
 */
export function encodeMessage(msg: LbMessage, options: LbEncodeOptions = {}): Uint8Array {
  const p = plan(msg, options);
  const out = new Uint8Array(p.length);
  const view = new DataView(out.buffer);
  const key = options.key;
  out[OFF.version] = LB_PROTOCOL_VERSION;
  out[OFF.type] = msg.type === 'announcement' ? LB_TYPE_ANNOUNCEMENT : LB_TYPE_REPORT;
  out[OFF.group] = msg.group;
  out[OFF.flags] = (key === undefined ? 0 : LB_FLAG_AUTH) | (p.table === undefined ? 0 : LB_FLAG_TABLE);
  view.setUint16(OFF.length, p.length);
  writeUuid(msg.nodeId, out, OFF.nodeId);
  view.setUint32(OFF.sequence, msg.sequence);
  view.setUint32(OFF.timestamp, Math.floor(msg.timestamp / TWO32));
  view.setUint32(OFF.timestamp + 4, msg.timestamp % TWO32);
  view.setUint16(OFF.interval, msg.intervalMs);
  out[OFF.family] = p.address.length === 4 ? 4 : 6;
  out.set(p.address, OFF.address);
  let o = OFF.address + p.address.length;
  const text = (bytes: Uint8Array) => {
    out[o++] = bytes.length;
    out.set(bytes, o);
    o += bytes.length;
  };
  if (msg.type === 'announcement') {
    out[o++] = msg.priority;
    text(p.name);
    out[o++] = msg.redirects.length;
    for (const r of msg.redirects) {
      view.setUint16(o, r.originalPort);
      view.setUint16(o + 2, r.destinationPort);
      o += 4;
    }
    if (p.table !== undefined) {
      const t = p.table.table;
      view.setUint32(o, t.size);
      view.setUint32(o + 4, t.seed);
      out[o + 8] = t.members.length;
      o += 9;
      t.members.forEach((m, i) => {
        const address = p.table?.addresses[i] as Uint8Array;
        writeUuid(m.nodeId, out, o);
        out[o + 16] = address.length === 4 ? 4 : 6;
        out.set(address, o + 17);
        o += 17 + address.length;
        view.setUint16(o, m.capacity);
        view.setUint32(o + 2, m.weight256);
        out[o + 6] = (m.healthy ? 1 : 0) | (m.bounded ? 2 : 0);
        o += 7;
      });
    }
  } else {
    out[o++] = msg.health.status === 'ok' ? 0 : 1;
    text(p.name);
    text(p.version);
    view.setUint16(o, msg.weight);
    view.setUint16(o + 2, p.cpu);
    view.setUint16(o + 4, p.memory);
    view.setUint16(o + 6, p.load);
    o += 8;
    out[o++] = msg.health.failingPorts.length;
    for (const port of msg.health.failingPorts) {
      view.setUint16(o, port);
      o += 2;
    }
    out[o++] = msg.connections.length;
    for (const c of msg.connections) {
      view.setUint16(o, c.port);
      view.setUint32(o + 2, c.active);
      o += 6;
    }
  }
  if (key !== undefined) {
    out[o] = key.id;
    out.set(computeMac(key.secret, out, o + 1), o + 1);
  }
  const ck = checksumFinish(checksumAdd(out, 0, p.length));
  view.setUint16(OFF.checksum, ck);
  return out;
}

/* ------------------------------------------ the MAC ------------------------------------------ */

const ZERO2 = new Uint8Array(2);

/**
 * HMAC-SHA256 of `bytes[0 .. end)` with the checksum field (bytes 6..7) taken as zero; `end` is the offset
 * of the MAC itself (just after the key id). @internal
 */
export function computeMac(secret: Uint8Array, bytes: Uint8Array, end: number): Uint8Array {
  const h = createHmac('sha256', secret);
  h.update(bytes.subarray(0, OFF.checksum));
  h.update(ZERO2);
  h.update(bytes.subarray(OFF.checksum + 2, end));
  return h.digest();
}

/* ----------------------------------------- decoding ----------------------------------------- */

/** A decoded message with where its trailer is (internal: the verifier uses it). */
export interface Frame {
  readonly message: LbMessage;
  /** Offset of the trailer's key id, or -1 when the message carries no trailer. */
  readonly trailer: number;
}

type Fail = { readonly ok: false; readonly error: LbError<LbDecodeDetails> };

/**
 * Decodes a message and locates its trailer (the MAC is not checked). @internal
 */
export function decodeFrame(bytes: Uint8Array): Result<Frame, LbError<LbDecodeDetails>> {
  if (!(bytes instanceof Uint8Array))
    return decodeError('LB_TRUNCATED', `expected a byte array, got ${describeValue(bytes)}`, 0);
  const n = bytes.length;
  if (n < OFF.checksum + 2)
    return decodeError('LB_TRUNCATED', `${n} bytes is shorter than the 8-byte header start`, n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, n);
  const version = bytes[OFF.version] as number;
  if (version !== LB_PROTOCOL_VERSION)
    return decodeError(
      'LB_BAD_VERSION',
      `version ${version}, expected ${LB_PROTOCOL_VERSION}`,
      OFF.version,
      'version',
    );
  const type = bytes[OFF.type] as number;
  if (type !== LB_TYPE_ANNOUNCEMENT && type !== LB_TYPE_REPORT)
    return decodeError(
      'LB_BAD_TYPE',
      `type ${type}, expected 1 (announcement) or 2 (report)`,
      OFF.type,
      'type',
    );
  const length = view.getUint16(OFF.length);
  if (length < MIN_LENGTH)
    return decodeError(
      'LB_BAD_FIELD',
      `length ${length} is below the ${MIN_LENGTH}-byte minimum`,
      OFF.length,
      'length',
    );
  if (length > n) return decodeError('LB_TRUNCATED', `${n} bytes, but the length field says ${length}`, n);
  if (length < n)
    return decodeError('LB_TRAILING_BYTES', `${n - length} bytes follow the ${length}-byte message`, length);
  if (!checksumVerifies(checksumAdd(bytes, 0, n))) {
    const got = view.getUint16(OFF.checksum).toString(16).padStart(4, '0');
    return decodeError('LB_BAD_CHECKSUM', `checksum 0x${got} does not verify`, OFF.checksum, 'checksum');
  }
  const group = bytes[OFF.group] as number;
  if (group === 0) return decodeError('LB_BAD_FIELD', 'group 0 (valid: 1..255)', OFF.group, 'group');
  const flags = bytes[OFF.flags] as number;
  if (
    (flags & ~(LB_FLAG_AUTH | LB_FLAG_TABLE)) !== 0 ||
    ((flags & LB_FLAG_TABLE) !== 0 && type !== LB_TYPE_ANNOUNCEMENT)
  )
    return decodeError(
      'LB_BAD_FIELD',
      `unknown flags 0x${flags.toString(16).padStart(2, '0')}`,
      OFF.flags,
      'flags',
    );
  const hi = view.getUint32(OFF.timestamp);
  if (hi > 0x1fffff)
    return decodeError('LB_BAD_FIELD', 'timestamp beyond 2^53-1 ms', OFF.timestamp, 'timestamp');
  const timestamp = hi * TWO32 + view.getUint32(OFF.timestamp + 4);
  const intervalMs = view.getUint16(OFF.interval);
  if (intervalMs === 0)
    return decodeError('LB_BAD_FIELD', 'interval 0 ms (valid: 1..65535)', OFF.interval, 'intervalMs');
  const family = bytes[OFF.family] as number;
  if (family !== 4 && family !== 6)
    return decodeError('LB_BAD_ADDRESS', `address family ${family}, expected 4 or 6`, OFF.family, 'address');
  if (bytes[OFF.reserved] !== 0)
    return decodeError('LB_BAD_FIELD', 'reserved byte is not zero', OFF.reserved, 'reserved');
  const trailer = (flags & LB_FLAG_AUTH) !== 0 ? length - LB_AUTH_TRAILER_LENGTH : -1;
  const end = trailer < 0 ? length : trailer;
  const addrLen = family === 4 ? 4 : 16;
  if (OFF.address + addrLen > end)
    return decodeError('LB_TRUNCATED', 'the message ends inside the address', end);
  const address = family === 4 ? formatIpv4(bytes, OFF.address) : formatIpv6(bytes, OFF.address);
  const nodeId = formatUuid(bytes, OFF.nodeId);
  const header = {
    group,
    nodeId,
    address,
    sequence: view.getUint32(OFF.sequence),
    timestamp,
    intervalMs,
  };
  const r = new Reader(bytes, view, OFF.address + addrLen, end);
  const body =
    type === LB_TYPE_ANNOUNCEMENT
      ? announcementBody(r, header, (flags & LB_FLAG_TABLE) !== 0)
      : reportBody(r, header);
  if (!body.ok) return body;
  if (r.off < end)
    return decodeError('LB_TRAILING_BYTES', `${end - r.off} bytes follow the message body`, r.off);
  if (trailer >= 0 && bytes[trailer] === 0)
    return decodeError('LB_BAD_FIELD', 'authentication key id 0 (valid: 1..255)', trailer, 'auth.keyId');
  return ok({ message: body.value, trailer });
}

/**
 * Decodes a message received as the payload of an IP protocol 253 packet. Strict: every field is checked
 * (ranges, lengths, reserved bytes zero, UTF-8, counts, the checksum) and nothing may follow the message.
 * An authentication trailer is located but its MAC is not checked: use {@link LbVerifier} for that.
 * Never throws.
 *
 * @param bytes - the IP payload
 * @returns the message, or an {@link LbError} with a decode code (`LB_TRUNCATED`, `LB_TRAILING_BYTES`,
 *   `LB_BAD_VERSION`, `LB_BAD_TYPE`, `LB_BAD_CHECKSUM`, `LB_BAD_FIELD`, `LB_BAD_ADDRESS`,
 *   `LB_BAD_STRING`) and `details.offset` (plus `details.field` where a field is to blame)
 */
export function decodeMessage(bytes: Uint8Array): Result<LbMessage, LbError<LbDecodeDetails>> {
  const f = decodeFrame(bytes);
  return f.ok ? ok(f.value.message) : f;
}

/**
 * The group byte of a message, for filtering other groups cheaply before decoding or verifying it;
 * `undefined` when the bytes are too short or of another version. Never throws.
 *
 * @param bytes - the IP payload
 */
export function peekGroup(bytes: Uint8Array): number | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length < OFF.checksum + 2) return undefined;
  return bytes[OFF.version] === LB_PROTOCOL_VERSION ? bytes[OFF.group] : undefined;
}

function formatUuid(b: Uint8Array, off: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += (b[off + i] as number).toString(16).padStart(2, '0');
  }
  return s;
}

class Reader {
  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
    public off: number,
    readonly end: number,
  ) {}

  /** A failure when fewer than `n` bytes remain, else undefined. */
  need(n: number, what: string): Fail | undefined {
    return this.off + n > this.end
      ? decodeError('LB_TRUNCATED', `the message ends inside ${what} (offset ${this.off})`, this.off, what)
      : undefined;
  }

  u8(): number {
    return this.bytes[this.off++] as number;
  }

  u16(): number {
    const v = this.view.getUint16(this.off);
    this.off += 2;
    return v;
  }

  u32(): number {
    const v = this.view.getUint32(this.off);
    this.off += 4;
    return v;
  }

  text(field: string, max: number): Result<string, LbError<LbDecodeDetails>> {
    const short = this.need(1, field);
    if (short) return short;
    const at = this.off;
    const len = this.u8();
    if (len > max) return decodeError('LB_BAD_STRING', `${field} of ${len} bytes exceeds ${max}`, at, field);
    const t = this.need(len, field);
    if (t) return t;
    let s: string;
    try {
      s = utf8Decoder.decode(this.bytes.subarray(this.off, this.off + len));
    } catch {
      return decodeError('LB_BAD_STRING', `${field} is not valid UTF-8`, this.off, field);
    }
    this.off += len;
    return ok(s);
  }

  count(field: string, size: number): Result<number, LbError<LbDecodeDetails>> {
    const short = this.need(1, field);
    if (short) return short;
    const at = this.off;
    const c = this.u8();
    if (c > LB_MAX_LIST_ENTRIES)
      return decodeError('LB_BAD_FIELD', `${c} ${field} (at most ${LB_MAX_LIST_ENTRIES})`, at, field);
    return this.need(c * size, field) ?? ok(c);
  }

  /** A port 1..65535 not in `seen`. */
  port(field: string, seen: Set<number>): Result<number, LbError<LbDecodeDetails>> {
    const at = this.off;
    const p = this.u16();
    if (p === 0) return decodeError('LB_BAD_FIELD', `${field} is port 0`, at, field);
    if (seen.has(p)) return decodeError('LB_BAD_FIELD', `${field}: port ${p} is listed twice`, at, field);
    seen.add(p);
    return ok(p);
  }
}

type Header = Pick<Announcement, 'group' | 'nodeId' | 'address' | 'sequence' | 'timestamp' | 'intervalMs'>;

function announcementBody(
  r: Reader,
  h: Header,
  withTable: boolean,
): Result<Announcement, LbError<LbDecodeDetails>> {
  const short = r.need(1, 'priority');
  if (short) return short;
  const priority = r.u8();
  const name = r.text('name', LB_MAX_NAME_BYTES);
  if (!name.ok) return name;
  const count = r.count('redirects', 4);
  if (!count.ok) return count;
  const redirects: Redirect[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < count.value; i++) {
    const originalPort = r.port(`redirects[${i}].originalPort`, seen);
    if (!originalPort.ok) return originalPort;
    const destinationPort = r.port(`redirects[${i}].destinationPort`, new Set());
    if (!destinationPort.ok) return destinationPort;
    redirects.push({ originalPort: originalPort.value, destinationPort: destinationPort.value });
  }
  if (!withTable) return ok({ type: 'announcement', ...h, name: name.value, priority, redirects });
  const table = tableBody(r);
  if (!table.ok) return table;
  return ok({ type: 'announcement', ...h, name: name.value, priority, redirects, table: table.value });
}

function tableBody(r: Reader): Result<AnnouncedTable, LbError<LbDecodeDetails>> {
  const short = r.need(9, 'table');
  if (short) return short;
  const sizeAt = r.off;
  const size = r.u32();
  if (size < 2 || size > LB_MAX_TABLE_SIZE)
    return decodeError(
      'LB_BAD_FIELD',
      `table size ${size} (valid: 2..${LB_MAX_TABLE_SIZE})`,
      sizeAt,
      'table.size',
    );
  const seed = r.u32();
  const countAt = r.off;
  const count = r.u8();
  if (count > LB_MAX_TABLE_MEMBERS)
    return decodeError(
      'LB_BAD_FIELD',
      `${count} table members (at most ${LB_MAX_TABLE_MEMBERS})`,
      countAt,
      'table.members',
    );
  const members: AnnouncedMember[] = [];
  for (let i = 0; i < count; i++) {
    const field = `table.members[${i}]`;
    const head = r.need(17, field);
    if (head) return head;
    const idAt = r.off;
    const nodeId = formatUuid(r.bytes, r.off);
    r.off += 16;
    const previous = members[i - 1]?.nodeId;
    if (previous !== undefined && nodeId <= previous)
      return decodeError(
        'LB_BAD_FIELD',
        `${field}.nodeId ${nodeId} does not sort after ${previous}`,
        idAt,
        `${field}.nodeId`,
      );
    const familyAt = r.off;
    const family = r.u8();
    if (family !== 4 && family !== 6)
      return decodeError(
        'LB_BAD_ADDRESS',
        `${field} address family ${family}, expected 4 or 6`,
        familyAt,
        `${field}.address`,
      );
    const len = family === 4 ? 4 : 16;
    const rest = r.need(len + 7, field);
    if (rest) return rest;
    const address = family === 4 ? formatIpv4(r.bytes, r.off) : formatIpv6(r.bytes, r.off);
    r.off += len;
    const capacity = r.u16();
    const weightAt = r.off;
    const weight256 = r.u32();
    const flagsAt = r.off;
    const flags = r.u8();
    if ((flags & ~3) !== 0)
      return decodeError(
        'LB_BAD_FIELD',
        `${field} flags 0x${flags.toString(16).padStart(2, '0')}`,
        flagsAt,
        `${field}.flags`,
      );
    const healthy = (flags & 1) !== 0;
    if ((!healthy || capacity === 0) && weight256 !== 0)
      return decodeError(
        'LB_BAD_FIELD',
        `${field} weight ${weight256} for a drained or zero-capacity member`,
        weightAt,
        `${field}.weight256`,
      );
    members.push({ nodeId, address, capacity, weight256, healthy, bounded: (flags & 2) !== 0 });
  }
  return ok({ size, seed, members });
}

function reportBody(r: Reader, h: Header): Result<LoadReport, LbError<LbDecodeDetails>> {
  const short = r.need(1, 'health.status');
  if (short) return short;
  const statusAt = r.off;
  const status = r.u8();
  if (status > 1)
    return decodeError(
      'LB_BAD_FIELD',
      `health status ${status} (0 ok, 1 failure)`,
      statusAt,
      'health.status',
    );
  const name = r.text('name', LB_MAX_NAME_BYTES);
  if (!name.ok) return name;
  const softwareVersion = r.text('softwareVersion', LB_MAX_VERSION_BYTES);
  if (!softwareVersion.ok) return softwareVersion;
  const fixed = r.need(8, 'weight and resources');
  if (fixed) return fixed;
  const weight = r.u16();
  const milli: number[] = [];
  for (const field of ['resources.cpu', 'resources.memory']) {
    const at = r.off;
    const v = r.u16();
    if (v > 1000) return decodeError('LB_BAD_FIELD', `${field} ${v} per mille exceeds 1000`, at, field);
    milli.push(v);
  }
  const load = r.u16() / 100;
  const failCountAt = r.off;
  const failCount = r.count('health.failingPorts', 2);
  if (!failCount.ok) return failCount;
  if (status === 0 && failCount.value > 0)
    return decodeError(
      'LB_BAD_FIELD',
      `health ok but ${failCount.value} failing ports`,
      failCountAt,
      'health.failingPorts',
    );
  const failingPorts: number[] = [];
  const seenFailing = new Set<number>();
  for (let i = 0; i < failCount.value; i++) {
    const p = r.port(`health.failingPorts[${i}]`, seenFailing);
    if (!p.ok) return p;
    failingPorts.push(p.value);
  }
  const connCount = r.count('connections', 6);
  if (!connCount.ok) return connCount;
  const connections: PortConnections[] = [];
  const seenConn = new Set<number>();
  for (let i = 0; i < connCount.value; i++) {
    const port = r.port(`connections[${i}].port`, seenConn);
    if (!port.ok) return port;
    connections.push({ port: port.value, active: r.u32() });
  }
  return ok({
    type: 'report',
    ...h,
    name: name.value,
    softwareVersion: softwareVersion.value,
    health: { status: status === 0 ? 'ok' : 'failure', failingPorts },
    weight,
    resources: { cpu: (milli[0] as number) / 1000, memory: (milli[1] as number) / 1000, load },
    connections,
  });
}

// PROXY protocol v1 (text) and v2 (binary) headers, after HAProxy's proxy-protocol.txt: an encoder and a
// strict decoder that handles partial input and never throws.
import { canonicalIp, formatIpv4, formatIpv6, ok, type Result, writeIpv4, writeIpv6 } from '@proxyha/common';
import type { LbError } from '../errors';
import { decodeError, invalidArgument, type LbDecodeDetails } from './fail';

/** The 12-byte signature that starts every PROXY protocol v2 header. */
export const PROXY_V2_SIGNATURE: Uint8Array = Uint8Array.of(
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
);
/** Longest PROXY protocol v1 line, CRLF included (107 bytes). */
export const PROXY_V1_MAX_LENGTH = 107;

/** The connection a PROXY header describes: the original client and the address it connected to. */
export interface ProxyAddresses {
  /** `tcp4` (IPv4 addresses) or `tcp6` (IPv6 addresses). */
  readonly family: 'tcp4' | 'tcp6';
  /** The client address (decoded: canonical text, RFC 5952 for IPv6). */
  readonly sourceAddress: string;
  /** The client port, 0..65535. */
  readonly sourcePort: number;
  /** The address the client connected to (the VIP). */
  readonly destinationAddress: string;
  /** The port the client connected to, 0..65535. */
  readonly destinationPort: number;
}

/** A v2 type-length-value extension, passed through as bytes. */
export interface ProxyTlv {
  /** Type, 0..255 (0x01 ALPN, 0x02 authority, 0x05 unique id, 0x20 SSL, ...). */
  readonly type: number;
  /** Value, at most 65535 bytes. */
  readonly value: Uint8Array;
}

/** A PROXY protocol header. */
export interface ProxyHeader {
  /** Protocol version: 1 (text) or 2 (binary). */
  readonly version: 1 | 2;
  /** `proxy`: the addresses describe the relayed client; `local` (v2 only): a connection of the sender's own (a health check), use the real endpoints. */
  readonly command: 'proxy' | 'local';
  /** The relayed connection; undefined for `local`, v1 `UNKNOWN` and v2 `UNSPEC`. */
  readonly addresses?: ProxyAddresses | undefined;
  /** v2 TLVs in header order (always empty for v1). */
  readonly tlvs: readonly ProxyTlv[];
}

/** The outcome of {@link decodeProxyHeader}: a complete header, or the bytes so far are a valid prefix. */
export type ProxyDecodeOutcome =
  | {
      /** The header is complete. */
      readonly complete: true;
      /** The header. */
      readonly header: ProxyHeader;
      /** Its length in bytes: the connection's payload starts at this offset. */
      readonly length: number;
    }
  | {
      /** More bytes are needed; those so far are a valid prefix of a header. */
      readonly complete: false;
      /** At least this many bytes in all are needed before decoding again can finish. */
      readonly minLength: number;
    };

const V1_PREFIX = 'PROXY ';
const ascii = new TextDecoder('latin1');
const utf8 = new TextEncoder();

/**
 * Encodes a PROXY protocol header. v1 encodes a `local` header, or one without addresses, as
 * `PROXY UNKNOWN\r\n`; v2 writes LOCAL or PROXY with UNSPEC, TCP4 or TCP6 and appends the TLVs.
 *
 * @param header - the header (`tlvs` must be empty for v1)
 * @returns the header bytes
 * @throws LbError `LB_INVALID_ARGUMENT` naming every invalid field
 */
export function encodeProxyHeader(header: ProxyHeader): Uint8Array {
  const a = header.addresses;
  const issues: { path: string; message: string }[] = [];
  const v6 = a?.family === 'tcp6';
  const src = new Uint8Array(16);
  const dst = new Uint8Array(16);
  if (a !== undefined) {
    const write = v6 ? writeIpv6 : writeIpv4;
    if (a.family !== 'tcp4' && a.family !== 'tcp6')
      issues.push({ path: 'addresses.family', message: 'must be tcp4 or tcp6' });
    else {
      if (!write(a.sourceAddress, src, 0))
        issues.push({
          path: 'addresses.sourceAddress',
          message: `must be an ${v6 ? 'IPv6' : 'IPv4'} address`,
        });
      if (!write(a.destinationAddress, dst, 0))
        issues.push({
          path: 'addresses.destinationAddress',
          message: `must be an ${v6 ? 'IPv6' : 'IPv4'} address`,
        });
    }
    for (const k of ['sourcePort', 'destinationPort'] as const)
      if (!Number.isInteger(a[k]) || a[k] < 0 || a[k] > 65535)
        issues.push({ path: `addresses.${k}`, message: 'must be an integer 0..65535' });
  }
  if (header.version !== 1 && header.version !== 2)
    issues.push({ path: 'version', message: 'must be 1 or 2' });
  if (header.command !== 'proxy' && header.command !== 'local')
    issues.push({ path: 'command', message: 'must be proxy or local' });
  if (header.version === 1 && header.tlvs.length > 0)
    issues.push({ path: 'tlvs', message: 'must be empty for v1' });
  let tlvBytes = 0;
  header.tlvs.forEach((t, i) => {
    if (!Number.isInteger(t.type) || t.type < 0 || t.type > 255)
      issues.push({ path: `tlvs[${i}].type`, message: 'must be an integer 0..255' });
    if (!(t.value instanceof Uint8Array) || t.value.length > 65535)
      issues.push({ path: `tlvs[${i}].value`, message: 'must be at most 65535 bytes' });
    else tlvBytes += 3 + t.value.length;
  });
  const addrBytes = header.command === 'local' || a === undefined ? 0 : v6 ? 36 : 12;
  if (addrBytes + tlvBytes > 65535)
    issues.push({ path: 'tlvs', message: 'the header must fit in 65535 bytes after its first 16' });
  if (issues.length > 0) throw invalidArgument('invalid PROXY protocol header', issues);
  if (header.version === 1) {
    if (header.command === 'local' || a === undefined) return utf8.encode('PROXY UNKNOWN\r\n');
    const [s, d] = [canonicalIp(a.sourceAddress), canonicalIp(a.destinationAddress)];
    return utf8.encode(`PROXY ${v6 ? 'TCP6' : 'TCP4'} ${s} ${d} ${a.sourcePort} ${a.destinationPort}\r\n`);
  }
  const out = new Uint8Array(16 + addrBytes + tlvBytes);
  const view = new DataView(out.buffer);
  out.set(PROXY_V2_SIGNATURE, 0);
  out[12] = header.command === 'local' ? 0x20 : 0x21;
  out[13] = addrBytes === 0 ? 0x00 : v6 ? 0x21 : 0x11;
  view.setUint16(14, addrBytes + tlvBytes);
  let o = 16;
  if (a !== undefined && addrBytes > 0) {
    const n = v6 ? 16 : 4;
    out.set(src.subarray(0, n), o);
    out.set(dst.subarray(0, n), o + n);
    view.setUint16(o + 2 * n, a.sourcePort);
    view.setUint16(o + 2 * n + 2, a.destinationPort);
    o += addrBytes;
  }
  for (const t of header.tlvs) {
    out[o] = t.type;
    view.setUint16(o + 1, t.value.length);
    out.set(t.value, o + 3);
    o += 3 + t.value.length;
  }
  return out;
}

type Decoded = Result<ProxyDecodeOutcome, LbError<LbDecodeDetails>>;

const more = (minLength: number): Decoded => ok({ complete: false, minLength });

/** The TLVs in `bytes[start, end)`, or where the one that runs past `end` starts. */
function parseTlvs(
  bytes: Uint8Array,
  view: DataView,
  start: number,
  end: number,
): ProxyTlv[] | { at: number; index: number } {
  const tlvs: ProxyTlv[] = [];
  for (let o = start; o < end; ) {
    if (o + 3 > end || o + 3 + view.getUint16(o + 1) > end) return { at: o, index: tlvs.length };
    const next = o + 3 + view.getUint16(o + 1);
    tlvs.push({ type: bytes[o]!, value: bytes.slice(o + 3, next) });
    o = next;
  }
  return tlvs;
}

/**
 * Decodes the PROXY protocol header at the start of `bytes` (the first bytes a connection received).
 * Strict: v1 needs single spaces, addresses of the named family without leading zeros, decimal ports
 * 0..65535 without leading zeros and CRLF within 107 bytes; v2 needs version 2, command LOCAL or PROXY,
 * family UNSPEC, TCP4 or TCP6 (LOCAL ignores the family), an address block that fits the length, and TLVs
 * that fit it exactly. Never throws.
 *
 * @param bytes - the bytes received so far (more may follow the header: they are not looked at)
 * @returns the header and its length, `complete: false` while `bytes` is a valid prefix, or an
 *   `LB_PROXY_*` error with the offset of the problem
 */
export function decodeProxyHeader(bytes: Uint8Array): Result<ProxyDecodeOutcome, LbError<LbDecodeDetails>> {
  const n = bytes.length;
  if (n > 0 && bytes[0] === 0x0d) {
    for (let i = 0; i < Math.min(n, 12); i++)
      if (bytes[i] !== PROXY_V2_SIGNATURE[i])
        return decodeError('LB_PROXY_BAD_SIGNATURE', 'not a PROXY protocol header', i);
    if (n < 16) return more(16);
    if (bytes[12]! >> 4 !== 2)
      return decodeError('LB_PROXY_BAD_VERSION', `PROXY v2 version ${bytes[12]! >> 4}`, 12);
    const command = bytes[12]! & 0x0f;
    if (command > 1) return decodeError('LB_PROXY_BAD_COMMAND', `PROXY v2 command ${command}`, 12);
    const length = 16 + ((bytes[14]! << 8) | bytes[15]!);
    if (n < length) return more(length);
    const fam = bytes[13]!;
    const addrBytes = fam === 0x11 ? 12 : fam === 0x21 ? 36 : 0;
    const view = new DataView(bytes.buffer, bytes.byteOffset, length);
    if (command === 0) {
      /* LOCAL: the real endpoints count and the block is discarded; its TLVs are kept when they parse */
      const tlvs = 16 + addrBytes <= length ? parseTlvs(bytes, view, 16 + addrBytes, length) : [];
      const header: ProxyHeader = {
        version: 2,
        command: 'local',
        addresses: undefined,
        tlvs: Array.isArray(tlvs) ? tlvs : [],
      };
      return ok({ complete: true, header, length });
    }
    if (fam !== 0x00 && addrBytes === 0)
      return decodeError('LB_PROXY_BAD_FAMILY', `PROXY v2 family/protocol 0x${fam.toString(16)}`, 13);
    if (16 + addrBytes > length)
      return decodeError('LB_PROXY_BAD_LENGTH', `PROXY v2 length ${length - 16} < ${addrBytes}`, 14);
    let addresses: ProxyAddresses | undefined;
    if (addrBytes > 0) {
      const k = addrBytes === 12 ? 4 : 16;
      const format = k === 4 ? formatIpv4 : formatIpv6;
      addresses = {
        family: k === 4 ? 'tcp4' : 'tcp6',
        sourceAddress: format(bytes, 16),
        sourcePort: view.getUint16(16 + 2 * k),
        destinationAddress: format(bytes, 16 + k),
        destinationPort: view.getUint16(18 + 2 * k),
      };
    }
    const tlvs = parseTlvs(bytes, view, 16 + addrBytes, length);
    if (!Array.isArray(tlvs))
      return decodeError(
        'LB_PROXY_BAD_TLV',
        'PROXY v2 TLV runs past the header',
        tlvs.at,
        `tlvs[${tlvs.index}]`,
      );
    return ok({ complete: true, header: { version: 2, command: 'proxy', addresses, tlvs }, length });
  }
  const head = Math.min(n, V1_PREFIX.length);
  for (let i = 0; i < head; i++)
    if (bytes[i] !== V1_PREFIX.charCodeAt(i))
      return decodeError('LB_PROXY_BAD_SIGNATURE', 'not a PROXY protocol header', i);
  let lf = -1;
  for (let i = 0; i < Math.min(n, PROXY_V1_MAX_LENGTH); i++)
    if (bytes[i] === 0x0a) {
      lf = i;
      break;
    }
  if (lf < 0)
    return n >= PROXY_V1_MAX_LENGTH
      ? decodeError('LB_PROXY_BAD_LENGTH', 'PROXY v1 line has no CRLF within 107 bytes', n)
      : more(Math.max(n + 1, 15));
  if (bytes[lf - 1] !== 0x0d)
    return decodeError('LB_PROXY_BAD_LINE', 'PROXY v1 line does not end with CRLF', lf, 'crlf');
  const parts = ascii.decode(bytes.subarray(V1_PREFIX.length, lf - 1)).split(' ');
  const bad = (field: string, what: string) =>
    decodeError('LB_PROXY_BAD_LINE', `PROXY v1 ${field}: ${what}`, 0, field);
  const v1 = (addresses?: ProxyAddresses): Decoded =>
    ok({ complete: true, header: { version: 1, command: 'proxy', addresses, tlvs: [] }, length: lf + 1 });
  if (parts[0] === 'UNKNOWN') return v1(); /* the rest of an UNKNOWN line is ignored */
  if (parts[0] !== 'TCP4' && parts[0] !== 'TCP6') return bad('protocol', 'neither TCP4, TCP6 nor UNKNOWN');
  if (parts.length !== 5)
    return bad('fields', `${parts.length} fields, expected 5 separated by single spaces`);
  const v6 = parts[0] === 'TCP6';
  const scratch = new Uint8Array(16);
  const [, s, d, sp, dp] = parts as [string, string, string, string, string];
  for (const [field, text] of [
    ['sourceAddress', s],
    ['destinationAddress', d],
  ] as const)
    if (!(v6 ? writeIpv6 : writeIpv4)(text, scratch, 0))
      return bad(field, `not an ${v6 ? 'IPv6' : 'IPv4'} address`);
  for (const [field, text] of [
    ['sourcePort', sp],
    ['destinationPort', dp],
  ] as const)
    if (!/^(0|[1-9][0-9]{0,4})$/.test(text) || Number(text) > 65535) return bad(field, 'not a port 0..65535');
  return v1({
    family: v6 ? 'tcp6' : 'tcp4',
    sourceAddress: canonicalIp(s) ?? s,
    sourcePort: Number(sp),
    destinationAddress: canonicalIp(d) ?? d,
    destinationPort: Number(dp),
  });
}

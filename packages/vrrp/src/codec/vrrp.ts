/**
 * Encoding and decoding of the VRRP message itself (the IP payload).
 */

import {
  checksumAdd,
  checksumFinish,
  checksumVerifies,
  formatIpv4,
  formatIpv6,
  type IpFamily,
  ok,
  pseudoHeaderSum,
  type Result,
  writeIpv4,
  writeIpv6,
} from '@proxyha/common';
import { drop, invalidArgument, type VrrpError } from './errors';
import {
  VRRP_MULTICAST_IPV4,
  VRRP_MULTICAST_IPV6,
  VRRP_PROTOCOL,
  VRRP_TTL,
  VRRP_TYPE_ADVERTISEMENT,
  VRRP_V2_AUTH_LENGTH,
  VRRP_V3_MAX_INTERVAL_CS,
  type VrrpAdvert,
  type VrrpChecksumMode,
  type VrrpV2Auth,
} from './types';

/** Options for checking received checksums. */
export interface VrrpDecodeOptions {
  /**
   * Which checksum forms to accept for VRRPv3 over IPv4: `'any'` (default) accepts
   * `pseudo-header` (RFC 5798, keepalived, FRR), `vrrp-only` (RFC 9568 and several
   * routers) and `pseudo-header-group` (older keepalived unicast); the decoded packet
   * reports which one matched. v2 always uses `vrrp-only` and v3 over IPv6 always
   * `pseudo-header`, whatever this says.
   */
  readonly v3Ipv4Checksum?: 'any' | VrrpChecksumMode;
  /** IPv4 group for the `pseudo-header-group` form; default 224.0.0.18. */
  readonly multicastGroup?: string;
  /**
   * Bytes at the end of the payload that follow the VRRP message: the authentication trailer of
   * draft-cassen-vrrp-auth-hmac (28, see `splitVrrpHmac`). They are not part of the message, but the
   * IPv6 checksum covers them (the kernel computes it over the whole payload); the IPv4 checksum does
   * not. Default 0.
   */
  readonly trailerLength?: number;
}

/**
 * What the receiver knows about a VRRP payload from the IP layer (raw sockets give the
 * payload plus these through recvmsg metadata).
 */
export interface VrrpDecodeContext extends VrrpDecodeOptions {
  /** Family of the socket the payload came from. */
  readonly family: IpFamily;
  /** IP source address (an IPv6 "%zone" suffix is ignored). */
  readonly source: string;
  /** IP destination address: the multicast group, or the local address for unicast. */
  readonly destination: string;
  /** IPv4 TTL / IPv6 hop limit if known; anything but 255 is `VRRP_BAD_TTL`. Omit to skip the check. */
  readonly ttl?: number;
}

/** A decoded, structurally valid advertisement and how it arrived. */
export interface VrrpDecoded {
  /** The advertisement. */
  readonly advert: VrrpAdvert;
  /** The checksum field as received. */
  readonly checksum: number;
  /** Which bytes the received checksum covers. */
  readonly checksumMode: VrrpChecksumMode;
  /** IP source address, canonical text. */
  readonly source: string;
  /** IP destination address, canonical text. */
  readonly destination: string;
  /** TTL / hop limit, if the caller knew it. */
  readonly ttl: number | undefined;
}

/** Options for {@link encodeVrrp}. */
export interface VrrpEncodeOptions {
  /** IP source address; required for checksums that cover the pseudo-header. */
  readonly source?: string;
  /** IP destination address; default the VRRP multicast group of the family. */
  readonly destination?: string;
  /**
   * Checksum form for VRRPv3 over IPv4; default `pseudo-header` (as keepalived and FRR).
   * v2 allows only `vrrp-only`, v3 over IPv6 only `pseudo-header`; omitted means that.
   */
  readonly checksumMode?: VrrpChecksumMode;
  /** IPv4 group used by `pseudo-header-group`; default 224.0.0.18. */
  readonly multicastGroup?: string;
}

const GROUP4 = new Uint8Array([224, 0, 0, 18]);
/* Scratch for the addresses of a decode context: decoding is synchronous and never re-entered. */
const scratchSrc = new Uint8Array(16);
const scratchDst = new Uint8Array(16);
const textEncoder = new TextEncoder();

/** Length in bytes of the encoded VRRP message of an advert. */
export function vrrpMessageLength(advert: VrrpAdvert): number {
  if (!Array.isArray(advert.addresses)) invalidArgument('addresses', 'must be an array');
  const addrLen = advert.family === 'ipv6' ? 16 : 4;
  return 8 + advert.addresses.length * addrLen + (advert.version === 2 ? VRRP_V2_AUTH_LENGTH : 0);
}

function pseudoSum(
  family: IpFamily,
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  len: number,
): number {
  return pseudoHeaderSum(src, srcOff, dst, dstOff, family === 'ipv4' ? 4 : 16, VRRP_PROTOCOL, len);
}

function isByte(n: unknown, min: number, max: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;
}

function passwordBytes(auth: VrrpV2Auth): Uint8Array {
  if (auth.type !== 'simple') return new Uint8Array(0);
  return typeof auth.password === 'string' ? textEncoder.encode(auth.password) : auth.password;
}

/** Resolved checksum inputs of an encode. @internal */
export interface ChecksumPlan {
  readonly mode: VrrpChecksumMode;
  readonly src: Uint8Array | undefined;
  readonly dst: Uint8Array | undefined;
}

/** Parses an address of `family` for the encoder, throwing {@link VrrpError} `VRRP_INVALID_ARGUMENT`. @internal */
export function encodeAddress(family: IpFamily, text: unknown, field: string): Uint8Array {
  const out = new Uint8Array(family === 'ipv4' ? 4 : 16);
  const ok =
    typeof text === 'string' && (family === 'ipv4' ? writeIpv4(text, out, 0) : writeIpv6(text, out, 0));
  if (!ok) invalidArgument(field, `${JSON.stringify(text)} is not an ${family} address`);
  return out;
}

/** Checks version and family, which everything else depends on. @internal */
function assertKind(advert: VrrpAdvert): void {
  const a = advert as { version: unknown; family: unknown };
  if (a.version !== 2 && a.version !== 3) {
    invalidArgument('version', `must be 2 or 3, got ${String(a.version)}`);
  }
  if (a.version === 2 ? a.family !== 'ipv4' : a.family !== 'ipv4' && a.family !== 'ipv6') {
    invalidArgument(
      'family',
      `VRRPv${a.version} cannot be sent over ${String(a.family)}${a.version === 2 ? ' (v2 is IPv4 only)' : ''}`,
    );
  }
}

/** Works out and validates the checksum form and pseudo-header addresses. @internal */
export function planChecksum(advert: VrrpAdvert, options: VrrpEncodeOptions): ChecksumPlan {
  assertKind(advert);
  const family = advert.family;
  const natural: VrrpChecksumMode = advert.version === 2 ? 'vrrp-only' : 'pseudo-header';
  const mode = options.checksumMode ?? natural;
  if (mode !== natural && !(advert.version === 3 && family === 'ipv4')) {
    invalidArgument(
      'checksumMode',
      `VRRPv${advert.version} over ${family} always uses '${natural}', not '${String(mode)}'`,
    );
  }
  if (mode !== 'vrrp-only' && mode !== 'pseudo-header' && mode !== 'pseudo-header-group') {
    invalidArgument('checksumMode', `unknown checksum mode ${JSON.stringify(mode)}`);
  }
  if (mode === 'vrrp-only') return { mode, src: undefined, dst: undefined };
  if (options.source === undefined) {
    invalidArgument('source', `a '${mode}' checksum needs the IP source address`);
  }
  const src = encodeAddress(family, options.source, 'source');
  const dst =
    mode === 'pseudo-header-group'
      ? encodeAddress('ipv4', options.multicastGroup ?? VRRP_MULTICAST_IPV4, 'multicastGroup')
      : encodeAddress(
          family,
          options.destination ?? (family === 'ipv4' ? VRRP_MULTICAST_IPV4 : VRRP_MULTICAST_IPV6),
          'destination',
        );
  return { mode, src, dst };
}

/**
 * Validates `advert` and writes its VRRP message at `out[off]` (the caller sized `out`
 * with {@link vrrpMessageLength}). Returns the number of bytes written. @internal
 */
export function writeVrrp(advert: VrrpAdvert, plan: ChecksumPlan, out: Uint8Array, off: number): number {
  assertKind(advert);
  if (!isByte(advert.vrid, 1, 255)) invalidArgument('vrid', `must be 1..255, got ${advert.vrid}`);
  if (!isByte(advert.priority, 0, 255)) {
    invalidArgument('priority', `must be 0..255, got ${advert.priority}`);
  }
  const addresses = advert.addresses;
  if (!Array.isArray(addresses) || addresses.length > 255) {
    invalidArgument('addresses', 'must be an array of at most 255 addresses');
  }
  const v6 = advert.family === 'ipv6';
  out[off] = (advert.version << 4) | VRRP_TYPE_ADVERTISEMENT;
  out[off + 1] = advert.vrid;
  out[off + 2] = advert.priority;
  out[off + 3] = addresses.length;
  if (advert.version === 2) {
    const auth: VrrpV2Auth = advert.auth ?? { type: 'none' };
    if (!isByte(advert.advertIntervalSec, 1, 255)) {
      invalidArgument(
        'advertIntervalSec',
        `VRRPv2 advertises whole seconds 1..255, got ${advert.advertIntervalSec}`,
      );
    }
    if (auth.type !== 'none' && auth.type !== 'simple') {
      invalidArgument(
        'auth.type',
        `must be 'none' or 'simple', got ${String((auth as { type: unknown }).type)}`,
      );
    }
    out[off + 4] = auth.type === 'simple' ? 1 : 0;
    out[off + 5] = advert.advertIntervalSec;
  } else {
    if (!isByte(advert.maxAdvertIntervalCs, 1, VRRP_V3_MAX_INTERVAL_CS)) {
      invalidArgument(
        'maxAdvertIntervalCs',
        `VRRPv3 advertises 1..4095 centiseconds, got ${advert.maxAdvertIntervalCs}`,
      );
    }
    out[off + 4] = advert.maxAdvertIntervalCs >> 8;
    out[off + 5] = advert.maxAdvertIntervalCs & 0xff;
  }
  out[off + 6] = 0;
  out[off + 7] = 0;
  let p = off + 8;
  for (let i = 0; i < addresses.length; i++) {
    const text = addresses[i];
    const ok = typeof text === 'string' && (v6 ? writeIpv6(text, out, p) : writeIpv4(text, out, p));
    if (!ok) {
      invalidArgument(`addresses[${i}]`, `${JSON.stringify(text)} is not an ${advert.family} address`);
    }
    p += v6 ? 16 : 4;
  }
  if (advert.version === 2) {
    const pw = passwordBytes(advert.auth ?? { type: 'none' });
    if (pw.length > VRRP_V2_AUTH_LENGTH) {
      invalidArgument('auth.password', `at most 8 bytes, got ${pw.length}`);
    }
    out.fill(0, p, p + VRRP_V2_AUTH_LENGTH);
    out.set(pw, p);
    p += VRRP_V2_AUTH_LENGTH;
  }
  const len = p - off;
  let sum = checksumAdd(out, off, len, 0);
  if (plan.mode !== 'vrrp-only') sum += pseudoSum(advert.family, plan.src!, 0, plan.dst!, 0, len);
  const ck = checksumFinish(sum);
  out[off + 6] = ck >> 8;
  out[off + 7] = ck & 0xff;
  return len;
}

/**
 * Encodes an advertisement as a VRRP message (the IP payload a raw socket sends).
 *
 * @param advert - the advertisement; every field is validated
 * @param options - addresses for the pseudo-header and the checksum form (v3 needs
 *   `source`, and `destination` when it is not the multicast group)
 * @returns the message bytes, checksum filled in
 * @throws {@link VrrpError} `VRRP_INVALID_ARGUMENT` if a field is out of range or an address does not parse
 */
export function encodeVrrp(advert: VrrpAdvert, options: VrrpEncodeOptions = {}): Uint8Array {
  const plan = planChecksum(advert, options);
  const out = new Uint8Array(vrrpMessageLength(advert));
  writeVrrp(advert, plan, out, 0);
  return out;
}

/** Result of decoding the VRRP message alone. @internal */
export interface MessageDecoded {
  readonly advert: VrrpAdvert;
  readonly checksum: number;
  readonly checksumMode: VrrpChecksumMode;
}

/**
 * Decodes and validates a VRRP message at `buf[off .. off+payloadLen)` (less `options.trailerLength`
 * bytes of trailer); the IP addresses (4 or 16 bytes) are at `src[srcOff]` and `dst[dstOff]`. @internal
 */
export function decodeMessage(
  buf: Uint8Array,
  off: number,
  payloadLen: number,
  family: IpFamily,
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  options: VrrpDecodeOptions,
): Result<MessageDecoded, VrrpError> {
  const trailer = options.trailerLength ?? 0;
  if (!Number.isInteger(trailer) || trailer < 0 || trailer > payloadLen) {
    return drop(
      'VRRP_BAD_CONTEXT',
      `trailerLength ${String(trailer)} does not fit a ${payloadLen}-byte payload`,
    );
  }
  const len = payloadLen - trailer;
  if (len < 8) {
    return drop('VRRP_BAD_LENGTH', `${len} bytes is shorter than the 8-byte VRRP header`, {
      field: 'length',
      actual: len,
      expected: 8,
    });
  }
  const version = buf[off]! >> 4;
  const type = buf[off]! & 0x0f;
  if (version !== 2 && version !== 3) {
    return drop('VRRP_BAD_VERSION', `version ${version}, expected 2 or 3`, {
      field: 'version',
      actual: version,
    });
  }
  if (version === 2 && family === 'ipv6') {
    return drop('VRRP_BAD_VERSION', 'VRRPv2 is not defined over IPv6', {
      field: 'version',
      actual: 2,
      expected: 3,
    });
  }
  if (type !== VRRP_TYPE_ADVERTISEMENT) {
    return drop('VRRP_BAD_TYPE', `type ${type}, expected 1 (advertisement)`, {
      field: 'type',
      actual: type,
      expected: 1,
    });
  }
  const count = buf[off + 3]!;
  const addrLen = family === 'ipv6' ? 16 : 4;
  const expected = 8 + count * addrLen + (version === 2 ? VRRP_V2_AUTH_LENGTH : 0);
  if (len !== expected) {
    return drop(
      'VRRP_BAD_LENGTH',
      `${len} bytes, but ${count} ${family} address(es) make a ${expected}-byte VRRPv${version} message`,
      { field: 'length', actual: len, expected },
    );
  }
  const checksum = (buf[off + 6]! << 8) | buf[off + 7]!;
  const sum = checksumAdd(buf, off, len, 0);
  let mode: VrrpChecksumMode | undefined;
  if (version === 2) {
    if (checksumVerifies(sum)) mode = 'vrrp-only';
  } else if (family === 'ipv6') {
    // with a trailer: over the whole payload, as the kernel computes it
    const all = trailer ? checksumAdd(buf, off, payloadLen, 0) : sum;
    if (checksumVerifies(all + pseudoSum(family, src, srcOff, dst, dstOff, payloadLen)))
      mode = 'pseudo-header';
  } else {
    const accept = options.v3Ipv4Checksum ?? 'any';
    if (
      (accept === 'any' || accept === 'pseudo-header') &&
      checksumVerifies(sum + pseudoSum(family, src, srcOff, dst, dstOff, len))
    ) {
      mode = 'pseudo-header';
    } else if ((accept === 'any' || accept === 'vrrp-only') && checksumVerifies(sum)) {
      mode = 'vrrp-only';
    } else if (accept === 'any' || accept === 'pseudo-header-group') {
      let group = GROUP4;
      if (options.multicastGroup !== undefined) {
        group = new Uint8Array(4);
        if (!writeIpv4(options.multicastGroup, group, 0)) {
          return drop(
            'VRRP_BAD_CONTEXT',
            `multicastGroup ${JSON.stringify(options.multicastGroup)} is not IPv4`,
          );
        }
      }
      if (checksumVerifies(sum + pseudoSum(family, src, srcOff, group, 0, len))) mode = 'pseudo-header-group';
    }
  }
  if (mode === undefined) {
    const forms =
      version === 2 ? 'the VRRP message' : family === 'ipv6' ? 'the IPv6 pseudo-header' : 'any accepted form';
    return drop(
      'VRRP_BAD_CHECKSUM',
      `checksum 0x${checksum.toString(16).padStart(4, '0')} does not verify over ${forms}`,
      {
        field: 'checksum',
        actual: checksum,
      },
    );
  }
  const vrid = buf[off + 1]!;
  if (vrid === 0) {
    return drop('VRRP_BAD_VRID', 'virtual router id 0 (valid: 1..255)', { field: 'vrid', actual: 0 });
  }
  const priority = buf[off + 2]!;
  const addresses: string[] = new Array(count);
  let p = off + 8;
  for (let i = 0; i < count; i++) {
    addresses[i] = family === 'ipv6' ? formatIpv6(buf, p) : formatIpv4(buf, p);
    p += addrLen;
  }
  if (version === 2) {
    const authType = buf[off + 4]!;
    const interval = buf[off + 5]!;
    if (interval === 0) {
      return drop('VRRP_BAD_INTERVAL', 'advertisement interval 0 s', {
        field: 'advertIntervalSec',
        actual: 0,
      });
    }
    let auth: VrrpV2Auth;
    if (authType === 0) {
      auth = { type: 'none' };
    } else if (authType === 1) {
      let end = p + VRRP_V2_AUTH_LENGTH;
      while (end > p && buf[end - 1] === 0) end--;
      auth = { type: 'simple', password: buf.slice(p, end) };
    } else if (authType === 2) {
      return drop('VRRP_AUTH_AH_UNSUPPORTED', 'authentication type 2 (IPsec AH) was removed by RFC 3768', {
        field: 'authType',
        actual: 2,
      });
    } else {
      return drop('VRRP_BAD_AUTH_TYPE', `unknown authentication type ${authType}`, {
        field: 'authType',
        actual: authType,
      });
    }
    return {
      ok: true,
      value: {
        advert: { version: 2, family: 'ipv4', vrid, priority, addresses, advertIntervalSec: interval, auth },
        checksum,
        checksumMode: mode,
      },
    };
  }
  const interval = ((buf[off + 4]! & 0x0f) << 8) | buf[off + 5]!;
  if (interval === 0) {
    return drop('VRRP_BAD_INTERVAL', 'max advertise interval 0 cs', {
      field: 'maxAdvertIntervalCs',
      actual: 0,
    });
  }
  return {
    ok: true,
    value: {
      advert: { version: 3, family, vrid, priority, addresses, maxAdvertIntervalCs: interval },
      checksum,
      checksumMode: mode,
    },
  };
}

/**
 * Decodes and validates a VRRP message (the IP payload), given what the IP layer said
 * about it. Checks, in order: TTL (if given), length, version, type, length against the
 * address count, checksum, VRID, interval, v2 authentication type. Checks that depend on
 * the local instance are in {@link validateAgainstInstance}.
 *
 * Never throws: any input, including garbage, yields a `Result` (check `ok`).
 *
 * @param payload - the VRRP message, exactly (no IP header, no trailing bytes)
 * @param context - family, IP source and destination (needed for the v3 pseudo-header), TTL
 * @returns the advert with its checksum form, or the typed reason to drop it
 */
export function decodeVrrp(payload: Uint8Array, context: VrrpDecodeContext): Result<VrrpDecoded, VrrpError> {
  try {
    const family = context.family;
    if (family !== 'ipv4' && family !== 'ipv6') {
      return drop('VRRP_BAD_CONTEXT', `family ${JSON.stringify(family)} is not 'ipv4' or 'ipv6'`);
    }
    const src = scratchSrc;
    const dst = scratchDst;
    const write = family === 'ipv4' ? writeIpv4 : writeIpv6;
    if (typeof context.source !== 'string' || !write(withoutZone(context.source), src, 0)) {
      return drop('VRRP_BAD_CONTEXT', `source ${JSON.stringify(context.source)} is not an ${family} address`);
    }
    if (typeof context.destination !== 'string' || !write(withoutZone(context.destination), dst, 0)) {
      return drop(
        'VRRP_BAD_CONTEXT',
        `destination ${JSON.stringify(context.destination)} is not an ${family} address`,
      );
    }
    const ttl = context.ttl;
    if (ttl !== undefined && ttl !== VRRP_TTL) return badTtl(family, ttl);
    if (!(payload instanceof Uint8Array)) return drop('VRRP_BAD_CONTEXT', 'payload is not a Uint8Array');
    const r = decodeMessage(payload, 0, payload.length, family, src, 0, dst, 0, context);
    if (!r.ok) return r;
    const format = family === 'ipv4' ? formatIpv4 : formatIpv6;
    return ok(decoded(r.value, format(src, 0), format(dst, 0), ttl));
  } catch (e) {
    /* Unreachable by design (property-tested); keeps the never-throws contract even so. */
    return drop('VRRP_BAD_CONTEXT', `unexpected decoder failure: ${String(e)}`);
  }
}

/** A socket API's link-local address may carry its zone (`fe80::1%eth0`): the packet does not. */
function withoutZone(address: string): string {
  const pct = address.indexOf('%');
  return pct < 0 ? address : address.slice(0, pct);
}

/** A decoded message with how it arrived. @internal */
export function decoded(
  m: MessageDecoded,
  source: string,
  destination: string,
  ttl: number | undefined,
): VrrpDecoded {
  return { advert: m.advert, checksum: m.checksum, checksumMode: m.checksumMode, source, destination, ttl };
}

/** The drop of a packet whose TTL / hop limit is not 255 (RFC 3768 §7.1, RFC 5798 §7.1). @internal */
export function badTtl(family: IpFamily, ttl: number): Result<never, VrrpError> {
  return drop('VRRP_BAD_TTL', `${family === 'ipv4' ? 'TTL' : 'hop limit'} ${ttl}, expected 255`, {
    field: 'ttl',
    actual: ttl,
    expected: VRRP_TTL,
  });
}

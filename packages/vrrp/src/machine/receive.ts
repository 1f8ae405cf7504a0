// The one receive validator: the checks of RFC 3768 §7.1 and RFC 5798 §7.1 that depend on the local
// instance, in one place. The state machine runs it on every advert event (so the router, the simulator
// and anyone feeding the machine get it), and the codec-level `validateAgainstInstance` runs the very same
// function on a decoded packet. Byte-level checks (length, checksums, type) are the codec's.
import { timingSafeEqual } from 'node:crypto';
import {
  compareIp,
  err,
  type IpFamily,
  ok,
  type ParsedIp,
  parseCidr,
  parseIp,
  type Result,
} from '@proxyha/common';
import { type VrrpDropCode, VrrpError, type VrrpErrorDetails } from '../codec/errors';
import {
  VRRP_PRIORITY_OWNER,
  VRRP_TTL,
  VRRP_V2_AUTH_LENGTH,
  VRRP_V3_MAX_INTERVAL_CS,
  type VrrpV2Auth,
} from '../codec/types';
import type { VrrpDecoded } from '../codec/vrrp';

/** The receive-check codes: why an advert that decoded fine is discarded by an instance. */
export type VrrpReceiveCode = Extract<
  VrrpDropCode,
  | 'VRRP_BAD_TTL'
  | 'VRRP_VERSION_MISMATCH'
  | 'VRRP_VRID_MISMATCH'
  | 'VRRP_BAD_SOURCE'
  | 'VRRP_LOCAL_OWNER'
  | 'VRRP_OWN_ADVERT'
  | 'VRRP_UNKNOWN_PEER'
  | 'VRRP_BAD_PRIORITY'
  | 'VRRP_AUTH_MISMATCH'
  | 'VRRP_AUTH_FAILURE'
  | 'VRRP_BAD_INTERVAL'
  | 'VRRP_INTERVAL_MISMATCH'
  | 'VRRP_NO_ADDRESS'
  | 'VRRP_BAD_ADDRESS'
  | 'VRRP_ADDRESS_LIST_MISMATCH'
>;

/** Every {@link VrrpReceiveCode}, in the order the checks run. */
export const VRRP_RECEIVE_CODES: readonly VrrpReceiveCode[] = Object.freeze([
  'VRRP_BAD_TTL',
  'VRRP_VERSION_MISMATCH',
  'VRRP_VRID_MISMATCH',
  'VRRP_BAD_SOURCE',
  'VRRP_LOCAL_OWNER',
  'VRRP_OWN_ADVERT',
  'VRRP_UNKNOWN_PEER',
  'VRRP_BAD_PRIORITY',
  'VRRP_AUTH_MISMATCH',
  'VRRP_AUTH_FAILURE',
  'VRRP_BAD_INTERVAL',
  'VRRP_INTERVAL_MISMATCH',
  'VRRP_NO_ADDRESS',
  'VRRP_BAD_ADDRESS',
  'VRRP_ADDRESS_LIST_MISMATCH',
] as VrrpReceiveCode[]);

/** An instance's receive rules, resolved once from its configuration. */
export interface ReceiveRules {
  readonly version: 2 | 3;
  readonly vrid: number;
  readonly family: IpFamily;
  readonly owner: boolean;
  /** Our primary address, when known (adverts from it are our own, looped back). */
  readonly primary: ParsedIp | undefined;
  readonly advertIntervalMs: number;
  readonly vipTexts: readonly string[];
  readonly vipSet: ReadonlySet<string>;
  readonly unicastPeers: ReadonlySet<string>;
  readonly checkAddressList: boolean;
  /** v2 authentication: type 0 or 1, and the 8 zero-padded password bytes of type 1. */
  readonly authType: 0 | 1;
  readonly authData: Uint8Array;
}

/** The fields of a received advert the checks look at: from the wire, or from a machine event. */
export interface ReceivedAdvert {
  /** IP source address. */
  readonly source: unknown;
  /** IPv4 TTL / IPv6 hop limit, when known. */
  readonly ttl?: number | undefined;
  /** Version field. */
  readonly version: unknown;
  /** VRID field, when not already demultiplexed. */
  readonly vrid?: number | undefined;
  /** Priority field. */
  readonly priority: unknown;
  /** Interval in centiseconds (v3 Max Adver Int; v2 seconds × 100). */
  readonly maxAdvertIntervalCs: unknown;
  /** The listed addresses. */
  readonly addresses: unknown;
  /** v2 authentication as received; absent means type 0. */
  readonly auth?: VrrpV2Auth | undefined;
}

/** What passed the checks. */
export interface ReceiveCheck {
  /** The sender's address, parsed. */
  readonly from: ParsedIp;
  /**
   * False when the address list differs from ours but was accepted because the sender is the address
   * owner (priority 255), as §7.1 requires; worth a log line.
   */
  readonly addressListMatches: boolean;
}

const encoder = new TextEncoder();

/** The 8 bytes of the v2 authentication data field for `auth` (zero padded; empty for type 0). */
export function authData(auth: VrrpV2Auth | undefined): Uint8Array {
  const out = new Uint8Array(VRRP_V2_AUTH_LENGTH);
  if (auth?.type === 'simple') {
    const pw = typeof auth.password === 'string' ? encoder.encode(auth.password) : auth.password;
    out.set(pw.subarray(0, VRRP_V2_AUTH_LENGTH));
  }
  return out;
}

function reject(
  code: VrrpReceiveCode,
  message: string,
  details: VrrpErrorDetails = {},
): Result<never, VrrpError> {
  return err(new VrrpError(code, message, { details, stack: false }));
}

/**
 * Runs the receive checks of RFC 3768 §7.1 / RFC 5798 §7.1, in this order: TTL/hop limit 255, version,
 * VRID, source of our family, we are not the address owner, not our own advert, unicast peer, priority,
 * v2 authentication type and (compared in constant time) password, interval, v2 interval equal to ours,
 * at least one address, addresses of our family, and the address list (a mismatch is dropped unless the
 * sender is the owner). Messages are keepalived's where keepalived has one (`received an invalid
 * passwd!`, `received a 0 auth, expecting 1!`, `advertisement interval mismatch mine=1 sec rcv'd=2 sec`).
 *
 * Pure; never throws.
 */
export function checkReceived(a: ReceivedAdvert, r: ReceiveRules): Result<ReceiveCheck, VrrpError> {
  const from = parseIp(a.source);
  const src = from?.text ?? String(a.source);
  if (a.ttl !== undefined && a.ttl !== VRRP_TTL) {
    return reject('VRRP_BAD_TTL', `invalid TTL/HL. Received ${a.ttl} and expect ${VRRP_TTL}`, {
      field: 'ttl',
      actual: a.ttl,
      expected: VRRP_TTL,
    });
  }
  if (a.version !== r.version) {
    return reject(
      'VRRP_VERSION_MISMATCH',
      `wrong version. Received ${String(a.version)} and expect ${r.version}`,
      {
        field: 'version',
        actual: String(a.version),
        expected: r.version,
      },
    );
  }
  if (a.vrid !== undefined && a.vrid !== r.vrid) {
    return reject(
      'VRRP_VRID_MISMATCH',
      `received VRID ${a.vrid} advert from ${src}, ours is ${r.vrid} - discarding`,
      {
        field: 'vrid',
        actual: a.vrid,
        expected: r.vrid,
      },
    );
  }
  if (from === undefined || from.family !== r.family) {
    return reject('VRRP_BAD_SOURCE', `advert source ${src} is not an ${r.family} address - discarding`, {
      field: 'source',
      actual: src,
    });
  }
  if (r.owner) {
    // RFC 5798 §7.1: the owner processes no adverts. Another owner is a configuration error that leaves
    // two Masters (keepalived lowers its priority instead; we keep the RFC and say so).
    return reject(
      'VRRP_LOCAL_OWNER',
      a.priority === VRRP_PRIORITY_OWNER
        ? `CONFIGURATION ERROR: local instance and a remote instance (${src}) are both configured as address owner (priority 255), please fix`
        : `we own the virtual addresses (priority 255); ignoring advert from ${src}`,
      { field: 'priority', actual: String(a.priority) },
    );
  }
  if (r.primary !== undefined && compareIp(from, r.primary) === 0) {
    return reject('VRRP_OWN_ADVERT', `advert from ${src} carries our own primary address - discarding`, {
      field: 'source',
      actual: src,
    });
  }
  if (r.unicastPeers.size > 0 && !r.unicastPeers.has(from.text)) {
    return reject('VRRP_UNKNOWN_PEER', `unicast source address ${src} is not a unicast peer - discarding`, {
      field: 'source',
      actual: src,
    });
  }
  const priority = a.priority;
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0 || priority > 255) {
    return reject(
      'VRRP_BAD_PRIORITY',
      `invalid priority ${String(priority)} in advert from ${src} - discarding`,
      {
        field: 'priority',
        actual: String(priority),
      },
    );
  }
  if (r.version === 2) {
    const got = a.auth?.type === 'simple' ? 1 : 0;
    if (got !== r.authType) {
      return reject('VRRP_AUTH_MISMATCH', `received a ${got} auth, expecting ${r.authType}!`, {
        field: 'authType',
        actual: got,
        expected: r.authType,
      });
    }
    // keepalived compares the 8 bytes with memcmp_constant_time: so do we
    if (r.authType === 1 && !timingSafeEqual(authData(a.auth), r.authData)) {
      return reject('VRRP_AUTH_FAILURE', 'received an invalid passwd!', { field: 'password' });
    }
  }
  const cs = a.maxAdvertIntervalCs;
  if (typeof cs !== 'number' || !Number.isInteger(cs) || cs <= 0 || cs > VRRP_V3_MAX_INTERVAL_CS) {
    return reject(
      'VRRP_BAD_INTERVAL',
      `invalid advertisement interval ${String(cs)} cs in advert from ${src} - discarding`,
      {
        field: 'maxAdvertIntervalCs',
        actual: String(cs),
      },
    );
  }
  if (r.version === 2 && cs * 10 !== r.advertIntervalMs) {
    return reject(
      'VRRP_INTERVAL_MISMATCH',
      `advertisement interval mismatch mine=${r.advertIntervalMs / 1000} sec rcv'd=${cs / 100} sec`,
      { field: 'advertIntervalSec', actual: cs / 100, expected: r.advertIntervalMs / 1000 },
    );
  }
  const list: readonly unknown[] = Array.isArray(a.addresses) ? a.addresses : [];
  if (list.length === 0) {
    return reject('VRRP_NO_ADDRESS', `advert from ${src} carries no address - discarding`, {
      field: 'addresses',
      actual: 0,
    });
  }
  const texts = new Set<string>();
  for (const entry of list) {
    const ip = parseIp(entry, r.family);
    if (ip === undefined) {
      return reject(
        'VRRP_BAD_ADDRESS',
        `advert from ${src} lists ${String(entry)}, not an ${r.family} address - discarding`,
        { field: 'addresses', actual: String(entry) },
      );
    }
    texts.add(ip.text);
  }
  const matches =
    list.length === r.vipTexts.length &&
    texts.size === r.vipSet.size &&
    [...texts].every((t) => r.vipSet.has(t));
  if (r.checkAddressList && !matches && priority !== VRRP_PRIORITY_OWNER) {
    return reject(
      'VRRP_ADDRESS_LIST_MISMATCH',
      `address list in advert from ${src} (${[...texts].join(', ')}) differs from ours (${r.vipTexts.join(', ')}) - discarding`,
      { field: 'addresses', actual: [...texts].join(','), expected: r.vipTexts.join(',') },
    );
  }
  return ok({ from, addressListMatches: matches || !r.checkAddressList });
}

/** The parts of a local instance's configuration that received adverts are checked against. */
export interface VrrpInstanceCheckConfig {
  /** VRRP version the instance runs. */
  readonly version: 2 | 3;
  /** Its virtual router id. */
  readonly vrid: number;
  /** Its configured priority; 255 makes it the address owner. */
  readonly priority: number;
  /** Its virtual addresses; a "/prefix" suffix is ignored ("192.168.77.74/24"). */
  readonly virtualIps: readonly string[];
  /** Its advertisement interval in milliseconds (compared for v2 only). */
  readonly advertIntervalMs: number;
  /** v2 authentication; omitted means none. */
  readonly auth?: VrrpV2Auth;
  /** Unicast peers; when non-empty the IP source must be one of them. */
  readonly unicastPeers?: readonly string[];
  /** Its own primary address: an advert from it is its own, looped back. */
  readonly primaryAddress?: string;
  /** Compare the address list (the optional check of RFC 5798 §7.1); default true. */
  readonly checkAddressList?: boolean;
}

/** What a successful instance check found worth logging. */
export interface VrrpInstanceCheck {
  /**
   * False when the advert's address list differs from `virtualIps` but was accepted because the sender
   * is the address owner (priority 255), as RFC 3768 / RFC 5798 §7.1 require; the caller SHOULD log it as
   * a misconfiguration.
   */
  readonly addressListMatches: boolean;
}

/**
 * Resolves receive rules from an instance's settings; `undefined` with the offending field when an
 * address does not parse or the families differ.
 */
export function receiveRules(
  c: VrrpInstanceCheckConfig,
): Result<ReceiveRules, { field: string; value: unknown }> {
  const vips = c.virtualIps.map((v) => parseCidr(v));
  const family = vips[0]?.family ?? parseIp(c.primaryAddress)?.family ?? 'ipv4';
  const badVip = vips.findIndex((v) => v === undefined || v.family !== family);
  if (badVip >= 0) return err({ field: `virtualIps[${badVip}]`, value: c.virtualIps[badVip] });
  const primary = c.primaryAddress === undefined ? undefined : parseIp(c.primaryAddress, family);
  if (c.primaryAddress !== undefined && primary === undefined)
    return err({ field: 'primaryAddress', value: c.primaryAddress });
  const peers = new Set<string>();
  for (const [i, p] of (c.unicastPeers ?? []).entries()) {
    const ip = parseIp(p, family);
    if (ip === undefined) return err({ field: `unicastPeers[${i}]`, value: p });
    peers.add(ip.text);
  }
  const vipTexts = vips.map((v) => (v as ParsedIp).text);
  return ok({
    version: c.version,
    vrid: c.vrid,
    family,
    owner: c.priority === VRRP_PRIORITY_OWNER,
    primary,
    advertIntervalMs: c.advertIntervalMs,
    vipTexts,
    vipSet: new Set(vipTexts),
    unicastPeers: peers,
    checkAddressList: c.checkAddressList ?? true,
    authType: c.auth?.type === 'simple' ? 1 : 0,
    authData: authData(c.auth),
  });
}

/**
 * Checks a decoded advert against the local instance: the receive checks of RFC 3768 §7.1 and RFC 5798
 * §7.1 that depend on local configuration. This is the very validator the state machine runs on every
 * advert (TTL, version, VRID, source, owner, own advert, unicast peer, priority, v2 authentication type and
 * password, interval, address count, addresses, address list); a packet it rejects is discarded by the machine
 * with the same code.
 *
 * Pure; never throws (an unusable `instance` gives `VRRP_BAD_CONTEXT`).
 *
 * @param packet - a packet from `decodeVrrp` or `decodeVrrpIpPacket`
 * @param instance - the local instance's configuration
 * @returns what to log on success, or the typed reason to drop (count it in `VrrpRxStats`)
 */
export function validateAgainstInstance(
  packet: VrrpDecoded,
  instance: VrrpInstanceCheckConfig,
): Result<VrrpInstanceCheck, VrrpError> {
  const rules = receiveRules(instance);
  if (!rules.ok) {
    return err(
      new VrrpError(
        'VRRP_BAD_CONTEXT',
        `instance ${rules.error.field} ${JSON.stringify(rules.error.value)} is not usable`,
        {
          details: { field: rules.error.field },
          stack: false,
        },
      ),
    );
  }
  const a = packet.advert;
  const r = checkReceived(
    {
      source: packet.source,
      ttl: packet.ttl,
      version: a.version,
      vrid: a.vrid,
      priority: a.priority,
      maxAdvertIntervalCs: a.version === 2 ? a.advertIntervalSec * 100 : a.maxAdvertIntervalCs,
      addresses: a.addresses,
      auth: a.version === 2 ? a.auth : undefined,
    },
    rules.value,
  );
  return r.ok ? ok({ addressListMatches: r.value.addressListMatches }) : r;
}

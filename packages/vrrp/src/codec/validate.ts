/**
 * Receive checks that depend on the local instance (RFC 3768 §7.1, RFC 5798 §7.1).
 */

import { canonicalAddress } from './address';
import { fail, type VrrpResult } from './errors';
import { VRRP_PRIORITY_OWNER, type VrrpV2Auth } from './types';
import type { VrrpDecoded } from './vrrp';

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
}

/** What a successful instance check found worth logging. */
export interface VrrpInstanceCheck {
  /**
   * False when the advert's address list differs from `virtualIps` but was accepted
   * because the sender is the address owner (priority 255), as RFC 3768 / RFC 5798 §7.1
   * require; the caller SHOULD log it as a misconfiguration.
   */
  readonly addressListMatches: boolean;
}

const encoder = new TextEncoder();

function authBytes(auth: VrrpV2Auth | undefined): Uint8Array {
  const out = new Uint8Array(8);
  if (auth?.type === 'simple') {
    const pw = typeof auth.password === 'string' ? encoder.encode(auth.password) : auth.password;
    out.set(pw.subarray(0, 8));
  }
  return out;
}

function sameAddressList(
  received: readonly string[],
  configured: readonly string[],
  family: 'ipv4' | 'ipv6',
): boolean {
  if (received.length !== configured.length) return false;
  const want = new Map<string, number>();
  for (const raw of configured) {
    const text = raw.includes('/') ? raw.slice(0, raw.indexOf('/')) : raw;
    const c = canonicalAddress(text, family);
    if (c === undefined) return false;
    want.set(c, (want.get(c) ?? 0) + 1);
  }
  for (const got of received) {
    const left = want.get(got) ?? 0;
    if (left === 0) return false;
    want.set(got, left - 1);
  }
  return true;
}

/**
 * Checks a decoded advert against the local instance, in the order of RFC 3768 §7.1 and
 * RFC 5798 §7.1: version, VRID, the local router is not the address owner, v2
 * authentication type and password, address list (a mismatch is dropped unless the
 * sender's priority is 255), v2 advertisement interval, and for unicast peers the source.
 *
 * Pure; never throws.
 *
 * @param packet - a packet from {@link decodeVrrp} or {@link decodeVrrpIpPacket}
 * @param instance - the local instance's configuration
 * @returns what to log on success, or the typed reason to drop (count it in {@link VrrpRxStats})
 */
export function validateAgainstInstance(
  packet: VrrpDecoded,
  instance: VrrpInstanceCheckConfig,
): VrrpResult<VrrpInstanceCheck> {
  const a = packet.advert;
  if (a.version !== instance.version) {
    return fail(
      'VRRP_VERSION_MISMATCH',
      `received VRRPv${a.version}, this instance runs VRRPv${instance.version}`,
      {
        field: 'version',
        actual: a.version,
        expected: instance.version,
      },
    );
  }
  if (a.vrid !== instance.vrid) {
    return fail('VRRP_VRID_MISMATCH', `received VRID ${a.vrid}, expected ${instance.vrid}`, {
      field: 'vrid',
      actual: a.vrid,
      expected: instance.vrid,
    });
  }
  if (instance.priority === VRRP_PRIORITY_OWNER) {
    return fail('VRRP_LOCAL_OWNER', `this router owns the addresses of VRID ${a.vrid} (priority 255)`, {
      field: 'priority',
      actual: a.priority,
    });
  }
  if (a.version === 2) {
    const got = a.auth?.type ?? 'none';
    const want = instance.auth?.type ?? 'none';
    if (got !== want) {
      return fail('VRRP_AUTH_MISMATCH', `received authentication '${got}', expected '${want}'`, {
        field: 'authType',
        actual: got,
        expected: want,
      });
    }
    if (want === 'simple') {
      const x = authBytes(a.auth);
      const y = authBytes(instance.auth);
      let same = true;
      for (let i = 0; i < 8; i++) if (x[i] !== y[i]) same = false;
      if (!same) return fail('VRRP_AUTH_FAILURE', 'received an invalid password', { field: 'password' });
    }
  }
  const matches = sameAddressList(a.addresses, instance.virtualIps, a.family);
  if (!matches && a.priority !== VRRP_PRIORITY_OWNER) {
    return fail(
      'VRRP_ADDRESS_LIST_MISMATCH',
      `advert lists [${a.addresses.join(', ')}], configured [${instance.virtualIps.join(', ')}]`,
      { field: 'addresses', actual: a.addresses.join(','), expected: instance.virtualIps.join(',') },
    );
  }
  if (a.version === 2 && a.advertIntervalSec * 1000 !== instance.advertIntervalMs) {
    return fail(
      'VRRP_INTERVAL_MISMATCH',
      `advertisement interval ${a.advertIntervalSec} s, configured ${instance.advertIntervalMs / 1000} s`,
      { field: 'advertIntervalSec', actual: a.advertIntervalSec, expected: instance.advertIntervalMs / 1000 },
    );
  }
  const peers = instance.unicastPeers;
  if (peers !== undefined && peers.length > 0) {
    const known = peers.some((p) => canonicalAddress(p, a.family) === packet.source);
    if (!known) {
      return fail('VRRP_UNKNOWN_PEER', `unicast source address ${packet.source} not a unicast peer`, {
        field: 'source',
        actual: packet.source,
      });
    }
  }
  return { ok: true, value: { addressListMatches: matches } };
}

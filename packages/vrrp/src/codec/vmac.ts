/**
 * The VRRP virtual router MAC address (RFC 5798 §7.3): 00:00:5e:00:01:VRID for IPv4,
 * 00:00:5e:00:02:VRID for IPv6.
 */

import { canonicalMac, type IpFamily } from '@proxyha/common';
import { invalidArgument } from './errors';

/**
 * The virtual router MAC address of a VRID.
 *
 * @param vrid - virtual router id, 1..255
 * @param family - address family of the virtual router (default `ipv4`)
 * @throws {@link VrrpError} `VRRP_INVALID_ARGUMENT` for a VRID outside 1..255 or an unknown family
 */
export function virtualMac(vrid: number, family: IpFamily = 'ipv4'): string {
  if (!Number.isInteger(vrid) || vrid < 1 || vrid > 255)
    invalidArgument('vrid', `must be an integer 1..255 (got ${String(vrid)})`);
  if (family !== 'ipv4' && family !== 'ipv6')
    invalidArgument('family', `must be ipv4 or ipv6 (got ${String(family)})`);
  return `00:00:5e:00:0${family === 'ipv4' ? 1 : 2}:${vrid.toString(16).padStart(2, '0')}`;
}

/** What a virtual router MAC address says. */
export interface VirtualMacInfo {
  /** Virtual router id, 1..255. */
  readonly vrid: number;
  /** Address family of the virtual router. */
  readonly family: IpFamily;
}

/**
 * The VRID and family a virtual router MAC address belongs to; `undefined` for any other address.
 *
 * @param mac - a MAC address (colons or dashes, any case)
 */
export function parseVirtualMac(mac: string): VirtualMacInfo | undefined {
  const m = /^00:00:5e:00:0([12]):([0-9a-f]{2})$/.exec(canonicalMac(mac) ?? '');
  if (!m) return undefined;
  const vrid = Number.parseInt(m[2] as string, 16);
  if (vrid === 0) return undefined;
  return { vrid, family: m[1] === '1' ? 'ipv4' : 'ipv6' };
}

/**
 * keepalived's default name for the macvlan carrying an instance's virtual MAC: `vrrp.<vrid>` (IPv4) or
 * `vrrp6.<vrid>` (IPv6).
 *
 * @param vrid - virtual router id, 1..255
 * @param family - address family (default `ipv4`)
 */
export function defaultVmacName(vrid: number, family: IpFamily = 'ipv4'): string {
  virtualMac(vrid, family);
  return `vrrp${family === 'ipv4' ? '' : '6'}.${vrid}`;
}

import { endianness } from 'node:os';
import { formatIp, formatMac, type IpFamily } from '@proxyha/common';
import type { InterfaceAddress, InterfaceInfo } from '../types';

/** rtnetlink message types and flags used here (linux/rtnetlink.h, linux/netlink.h). */
export const NL = {
  NLMSG_ERROR: 2,
  NLMSG_DONE: 3,
  RTM_NEWLINK: 16,
  RTM_DELLINK: 17,
  RTM_GETLINK: 18,
  RTM_NEWADDR: 20,
  RTM_DELADDR: 21,
  RTM_GETADDR: 22,
  NLM_F_REQUEST: 0x1,
  NLM_F_DUMP: 0x300,
  RTMGRP_LINK: 0x1,
  RTMGRP_IPV4_IFADDR: 0x10,
  RTMGRP_IPV6_IFADDR: 0x100,
} as const;

const LE = endianness() === 'LE';
const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;
const AF_INET = 2;
const AF_INET6 = 10;

/** One netlink message: header fields and the bytes after the 16-byte header. */
export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  body: Buffer;
}

function u16(b: Buffer, o: number): number {
  return LE ? b.readUInt16LE(o) : b.readUInt16BE(o);
}
function u32(b: Buffer, o: number): number {
  return LE ? b.readUInt32LE(o) : b.readUInt32BE(o);
}
function i32(b: Buffer, o: number): number {
  return LE ? b.readInt32LE(o) : b.readInt32BE(o);
}
const align4 = (n: number) => (n + 3) & ~3;

/** Splits a datagram into netlink messages; stops at the first malformed one (never throws). */
export function splitMessages(data: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off + 16 <= data.length) {
    const len = u32(data, off);
    if (len < 16 || off + len > data.length) break;
    out.push({
      type: u16(data, off + 4),
      flags: u16(data, off + 6),
      seq: u32(data, off + 8),
      body: data.subarray(off + 16, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Parses rtattr TLVs into a map of type -> value bytes (last wins; never throws). */
export function parseAttributes(data: Buffer): Map<number, Buffer> {
  const attrs = new Map<number, Buffer>();
  let off = 0;
  while (off + 4 <= data.length) {
    const len = u16(data, off);
    if (len < 4 || off + len > data.length) break;
    attrs.set(u16(data, off + 2) & 0x3fff, data.subarray(off + 4, off + len));
    off += align4(len);
  }
  return attrs;
}

/** Builds a dump request (RTM_GETLINK or RTM_GETADDR) for all families. */
export function dumpRequest(type: number, seq: number): Buffer {
  const bodyLength = type === NL.RTM_GETLINK ? 16 : 8; // ifinfomsg / ifaddrmsg
  const msg = Buffer.alloc(16 + bodyLength);
  const w32 = (v: number, o: number) => (LE ? msg.writeUInt32LE(v, o) : msg.writeUInt32BE(v, o));
  const w16 = (v: number, o: number) => (LE ? msg.writeUInt16LE(v, o) : msg.writeUInt16BE(v, o));
  w32(msg.length, 0);
  w16(type, 4);
  w16(NL.NLM_F_REQUEST | NL.NLM_F_DUMP, 6);
  w32(seq, 8);
  return msg;
}

/** A link from RTM_NEWLINK. */
export interface LinkRecord {
  index: number;
  name: string;
  mac: string;
  mtu: number;
  up: boolean;
  running: boolean;
}

/** An address from RTM_NEWADDR. */
export interface AddressRecord {
  index: number;
  family: IpFamily;
  address: InterfaceAddress;
}

/** Parses an RTM_NEWLINK body (ifinfomsg + attributes). */
export function parseLink(body: Buffer): LinkRecord | undefined {
  if (body.length < 16) return undefined;
  const attrs = parseAttributes(body.subarray(16));
  const name = attrs.get(3); // IFLA_IFNAME
  if (!name) return undefined;
  const flags = u32(body, 8);
  const mac = attrs.get(1); // IFLA_ADDRESS
  const mtu = attrs.get(4); // IFLA_MTU
  return {
    index: i32(body, 4),
    name: name.toString('utf8').replace(/\0+$/, ''),
    mac: mac && mac.length === 6 ? formatMac(mac) : '00:00:00:00:00:00',
    mtu: mtu && mtu.length >= 4 ? u32(mtu, 0) : 0,
    up: (flags & IFF_UP) !== 0,
    running: (flags & IFF_RUNNING) !== 0,
  };
}

/** Parses an RTM_NEWADDR body (ifaddrmsg + attributes). */
export function parseAddress(body: Buffer): AddressRecord | undefined {
  if (body.length < 8) return undefined;
  const family: IpFamily | undefined =
    body[0] === AF_INET ? 'ipv4' : body[0] === AF_INET6 ? 'ipv6' : undefined;
  if (!family) return undefined;
  const attrs = parseAttributes(body.subarray(8));
  // IFA_LOCAL (2) is the local address of IPv4 point-to-point links; IFA_ADDRESS (1) otherwise.
  const raw = (family === 'ipv4' ? attrs.get(2) : undefined) ?? attrs.get(1);
  if (!raw || raw.length !== (family === 'ipv4' ? 4 : 16)) return undefined;
  return {
    index: u32(body, 4),
    family,
    address: { address: formatIp(raw), prefixLength: body[1] as number },
  };
}

/** Joins link and address records into InterfaceInfo, sorted by index. */
export function assemble(links: LinkRecord[], addresses: AddressRecord[]): InterfaceInfo[] {
  const byIndex = new Map<number, InterfaceInfo>();
  for (const l of links) byIndex.set(l.index, { ...l, ipv4: [], ipv6: [] });
  for (const a of addresses) {
    const info = byIndex.get(a.index);
    if (info) (a.family === 'ipv4' ? info.ipv4 : info.ipv6).push(a.address);
  }
  return [...byIndex.values()].sort((x, y) => x.index - y.index);
}

import { endianness } from 'node:os';
import type { IpFamily } from '@proxyha/common';
import { fromNative, NetioPermissionError, NetioSystemError } from '../errors';
import type { CidrAddress } from '../validate';
import { type Addon, KIND } from './addon';
import { NL } from './netlink';
import { netlinkErrno, rtnetlinkExchange } from './rtnetlink';
import { resolveInterface } from './sockets';

const LE = endianness() === 'LE';
const NLM_F_ACK = 0x4;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_FLAGS = 8;
const IFA_F_NODAD = 0x02;
const EEXIST = 17;
const EADDRNOTAVAIL = 99;

/** One RTM_NEWADDR / RTM_DELADDR request with its attributes. */
function addressRequest(
  type: number,
  seq: number,
  ifindex: number,
  family: IpFamily,
  bytes: Uint8Array,
  prefix: number,
) {
  const attrs: [number, Uint8Array][] = [[IFA_ADDRESS, bytes]];
  if (family === 'ipv4') attrs.push([IFA_LOCAL, bytes]);
  if (family === 'ipv6' && type === NL.RTM_NEWADDR) {
    const flags = new Uint8Array(4);
    new DataView(flags.buffer).setUint32(0, IFA_F_NODAD, LE);
    attrs.push([IFA_FLAGS, flags]);
  }
  const attrLength = attrs.reduce((n, [, v]) => n + ((4 + v.length + 3) & ~3), 0);
  const msg = Buffer.alloc(16 + 8 + attrLength);
  const w32 = (v: number, o: number) => (LE ? msg.writeUInt32LE(v, o) : msg.writeUInt32BE(v, o));
  const w16 = (v: number, o: number) => (LE ? msg.writeUInt16LE(v, o) : msg.writeUInt16BE(v, o));
  w32(msg.length, 0);
  w16(type, 4);
  w16(NL.NLM_F_REQUEST | NLM_F_ACK | (type === NL.RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0), 6);
  w32(seq, 8);
  // struct ifaddrmsg: family, prefixlen, flags, scope (universe), index
  msg[16] = family === 'ipv4' ? 2 : 10;
  msg[17] = prefix;
  w32(ifindex, 20);
  let o = 24;
  for (const [kind, value] of attrs) {
    w16(4 + value.length, o);
    w16(kind, o + 2);
    msg.set(value, o + 4);
    o += (4 + value.length + 3) & ~3;
  }
  return msg;
}

/**
 * Adds (`add`) or removes an address on an interface with one rtnetlink request, as
 * `ip addr add|del` does but without starting a process (VRRP takeover time counts).
 * Adding an address that is present, or removing one that is absent, is not an error.
 * IPv6 addresses are added without duplicate address detection (usable at once).
 */
export function changeAddress(
  addon: Addon,
  op: 'add' | 'remove',
  ifname: string,
  cidr: CidrAddress,
): Promise<void> {
  const ref = resolveInterface(addon, ifname);
  const { address, prefixLength: prefix, family, bytes } = cidr;
  const what = `${op === 'add' ? 'add' : 'remove'} address ${address}/${prefix} on ${ifname}`;
  let socket: InstanceType<Addon['Socket']>;
  try {
    socket = new addon.Socket(KIND.netlink, 0);
    socket.bindNetlink(0);
  } catch (error) {
    return Promise.reject(fromNative(error, what, 'CAP_NET_ADMIN'));
  }
  const type = op === 'add' ? NL.RTM_NEWADDR : NL.RTM_DELADDR;
  return rtnetlinkExchange(
    socket,
    (seq) => addressRequest(type, seq, ref.index, family, bytes, prefix),
    what,
    (msg) => {
      if (msg.type !== NL.NLMSG_ERROR) return undefined;
      const errno = netlinkErrno(msg, LE);
      if (errno === 0 || (op === 'add' && errno === EEXIST) || (op === 'remove' && errno === EADDRNOTAVAIL))
        return 'done';
      if (errno === 1 || errno === 13) return new NetioPermissionError(what, 'CAP_NET_ADMIN');
      return new NetioSystemError(what, `errno ${errno}`, 'sendmsg');
    },
  ).finally(() => socket.close());
}

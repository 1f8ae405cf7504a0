import { isIPv4, isIPv6 } from 'node:net';
import { NetioInvalidArgumentError } from './errors';
import type { IpFamily, IpSocketOptions, PacketSocketOptions } from './types';

/** IpSocketOptions after validation, with defaults applied. */
export interface ResolvedIpOptions {
  family: IpFamily;
  protocol: number;
  interface: string;
  ttl: number | undefined;
  multicastTtl: number | undefined;
  multicastLoop: boolean;
  broadcast: boolean;
  tos: number | undefined;
  source: string | undefined;
  checksumOffset: number | undefined;
}

/** PacketSocketOptions after validation. */
export interface ResolvedPacketOptions {
  interface: string;
  etherType: number;
  includeOutgoing: boolean;
}

/** Largest IP payload we accept (a 65535-byte datagram less the smallest header). */
export const MAX_IP_PAYLOAD = 65535 - 20;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function int(path: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new NetioInvalidArgumentError(path, value, `an integer ${min}..${max}`);
  }
  return value;
}

function optionalInt(path: string, value: unknown, min: number, max: number): number | undefined {
  return value === undefined ? undefined : int(path, value, min, max);
}

function bool(path: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new NetioInvalidArgumentError(path, value, 'a boolean');
  return value;
}

/** Checks an interface name the way the kernel would (1..15 bytes, no '/', ':' or whitespace). */
export function checkInterfaceName(path: string, value: unknown): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    Buffer.byteLength(value) > 15 ||
    value === '.' ||
    value === '..' ||
    /[/:\s\0]/.test(value)
  ) {
    throw new NetioInvalidArgumentError(
      path,
      value,
      'an interface name of 1..15 bytes without "/", ":" or spaces',
    );
  }
  return value;
}

/** Checks that `value` is an address of `family`. */
export function checkAddress(path: string, value: unknown, family: IpFamily): string {
  if (typeof value !== 'string' || !(family === 4 ? isIPv4(value) : isIPv6(value) && !value.includes('%'))) {
    throw new NetioInvalidArgumentError(path, value, `an IPv${family} address`);
  }
  return value;
}

/** Checks a multicast group address of `family`. */
export function checkGroup(path: string, value: unknown, family: IpFamily): string {
  const group = checkAddress(path, value, family);
  if (!isMulticast(group, family))
    throw new NetioInvalidArgumentError(path, value, `an IPv${family} multicast address`);
  return group;
}

/** True for 224.0.0.0/4 and ff00::/8. */
export function isMulticast(address: string, family: IpFamily): boolean {
  if (family === 4) {
    const first = Number(address.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return /^ff/i.test(address);
}

/** Checks a payload or frame argument. */
export function checkBytes(path: string, value: unknown, min: number, max: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length < min || value.length > max) {
    throw new NetioInvalidArgumentError(path, value, `a Uint8Array of ${min}..${max} bytes`);
  }
  return value;
}

/** Validates {@link IpSocketOptions}; throws NETIO_INVALID_ARGUMENT naming the offending option. */
export function resolveIpOptions(options: unknown): ResolvedIpOptions {
  if (!isObject(options)) throw new NetioInvalidArgumentError('options', options, 'an options object');
  const family = options.family;
  if (family !== 4 && family !== 6) throw new NetioInvalidArgumentError('options.family', family, '4 or 6');
  const protocol = int('options.protocol', options.protocol, 1, 254);
  const iface = checkInterfaceName('options.interface', options.interface);
  const ttl = optionalInt('options.ttl', options.ttl, 1, 255);
  const multicastTtl = optionalInt('options.multicastTtl', options.multicastTtl, 1, 255) ?? ttl;
  const multicastLoop = bool('options.multicastLoop', options.multicastLoop, false);
  const broadcast = bool('options.broadcast', options.broadcast, false);
  if (broadcast && family === 6) {
    throw new NetioInvalidArgumentError('options.broadcast', true, 'false for IPv6 (use multicast)');
  }
  const tos = optionalInt('options.tos', options.tos, 0, 255);
  const source =
    options.source === undefined ? undefined : checkAddress('options.source', options.source, family);
  if (source !== undefined && isMulticast(source, family)) {
    throw new NetioInvalidArgumentError('options.source', source, 'a unicast address');
  }
  const checksumOffset = optionalInt('options.checksumOffset', options.checksumOffset, 0, 65532);
  if (checksumOffset !== undefined && (family !== 6 || checksumOffset % 2 !== 0)) {
    throw new NetioInvalidArgumentError(
      'options.checksumOffset',
      checksumOffset,
      'an even offset, IPv6 only',
    );
  }
  return {
    family,
    protocol,
    interface: iface,
    ttl,
    multicastTtl,
    multicastLoop,
    broadcast,
    tos,
    source,
    checksumOffset,
  };
}

/** Validates {@link PacketSocketOptions}. */
export function resolvePacketOptions(options: unknown): ResolvedPacketOptions {
  if (!isObject(options)) throw new NetioInvalidArgumentError('options', options, 'an options object');
  return {
    interface: checkInterfaceName('options.interface', options.interface),
    etherType: int('options.etherType', options.etherType, 1, 0xffff),
    includeOutgoing: bool('options.includeOutgoing', options.includeOutgoing, false),
  };
}

/** Formats 6 bytes as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(bytes: Uint8Array, offset = 0): string {
  let out = '';
  for (let i = 0; i < 6; i++) {
    const b = bytes[offset + i] ?? 0;
    out += (i ? ':' : '') + (b < 16 ? '0' : '') + b.toString(16);
  }
  return out;
}

const PACKET_TYPES = ['host', 'broadcast', 'multicast', 'otherhost', 'outgoing'] as const;

/** Maps the kernel's sll_pkttype (PACKET_HOST..PACKET_OUTGOING) to a name. */
export function packetTypeName(value: number): (typeof PACKET_TYPES)[number] {
  return PACKET_TYPES[value] ?? 'otherhost';
}

/** Parses `address/prefix` of `family` (the prefix is required); throws NETIO_INVALID_ARGUMENT naming `path`. */
export function parseCidr(
  path: string,
  cidr: string,
  family: IpFamily,
): { address: string; prefixLength: number } {
  const [address, prefix] = String(cidr).split('/');
  checkAddress(path, address, family);
  const prefixLength = Number(prefix);
  if (
    prefix === undefined ||
    !Number.isInteger(prefixLength) ||
    prefixLength < 0 ||
    prefixLength > (family === 4 ? 32 : 128)
  ) {
    throw new NetioInvalidArgumentError(
      path,
      cidr,
      `an IPv${family} address with a prefix length, like a/24`,
    );
  }
  return { address: address as string, prefixLength };
}

/** The 4 or 16 bytes of an address that {@link checkAddress} accepted. */
export function addressBytes(address: string, family: IpFamily): Uint8Array {
  if (family === 4) return Uint8Array.from(address.split('.').map(Number));
  let text = address;
  const out = new Uint8Array(16);
  const dotted = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const [a, b, c, d] = (dotted[1] as string).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -(dotted[1] as string).length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const words = (part: string | undefined) =>
    part ? part.split(':').map((w) => Number.parseInt(w, 16)) : [];
  const h = words(head);
  const t = words(tail);
  const all = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

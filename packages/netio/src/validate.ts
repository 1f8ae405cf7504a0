import { type IpFamily, isMulticastIp, type ParsedIp, parseCidr, parseIp } from '@proxyha/common';
import { NetioInvalidArgumentError } from './errors';
import type { IpSocketOptions, PacketSocketOptions } from './types';

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

/** `IPv4` or `IPv6`, for messages. */
export function familyLabel(family: IpFamily): string {
  return family === 'ipv4' ? 'IPv4' : 'IPv6';
}

/** Parses an address of `family`; throws NETIO_INVALID_ARGUMENT naming `path` when it is not one. */
export function checkIp(path: string, value: unknown, family: IpFamily): ParsedIp {
  const ip = parseIp(value, family);
  if (!ip) throw new NetioInvalidArgumentError(path, value, `an ${familyLabel(family)} address`);
  return ip;
}

/** Checks that `value` is an address of `family` and returns it unchanged. */
export function checkAddress(path: string, value: unknown, family: IpFamily): string {
  checkIp(path, value, family);
  return value as string;
}

/** Checks a multicast group address of `family` and returns it unchanged. */
export function checkGroup(path: string, value: unknown, family: IpFamily): string {
  if (!isMulticastIp(checkIp(path, value, family)))
    throw new NetioInvalidArgumentError(path, value, `an ${familyLabel(family)} multicast address`);
  return value as string;
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
  if (family !== 'ipv4' && family !== 'ipv6')
    throw new NetioInvalidArgumentError('options.family', family, '"ipv4" or "ipv6"');
  const protocol = int('options.protocol', options.protocol, 1, 254);
  const iface = checkInterfaceName('options.interface', options.interface);
  const ttl = optionalInt('options.ttl', options.ttl, 1, 255);
  const multicastTtl = optionalInt('options.multicastTtl', options.multicastTtl, 1, 255) ?? ttl;
  const multicastLoop = bool('options.multicastLoop', options.multicastLoop, false);
  const broadcast = bool('options.broadcast', options.broadcast, false);
  if (broadcast && family === 'ipv6') {
    throw new NetioInvalidArgumentError('options.broadcast', true, 'false for IPv6 (use multicast)');
  }
  const tos = optionalInt('options.tos', options.tos, 0, 255);
  const source = options.source === undefined ? undefined : checkIp('options.source', options.source, family);
  if (source !== undefined && isMulticastIp(source)) {
    throw new NetioInvalidArgumentError('options.source', options.source, 'a unicast address');
  }
  const checksumOffset = optionalInt('options.checksumOffset', options.checksumOffset, 0, 65532);
  if (checksumOffset !== undefined && (family !== 'ipv6' || checksumOffset % 2 !== 0)) {
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
    source: options.source as string | undefined,
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

const PACKET_TYPES = ['host', 'broadcast', 'multicast', 'otherhost', 'outgoing'] as const;

/** Maps the kernel's sll_pkttype (PACKET_HOST..PACKET_OUTGOING) to a name. */
export function packetTypeName(value: number): (typeof PACKET_TYPES)[number] {
  return PACKET_TYPES[value] ?? 'otherhost';
}

/** An address with its prefix length, as interfaces carry them. */
export interface CidrAddress {
  /** The family. */
  family: IpFamily;
  /** The 4 or 16 bytes. */
  bytes: Uint8Array;
  /** Canonical text (dotted quad, RFC 5952). */
  address: string;
  /** Prefix length. */
  prefixLength: number;
}

/**
 * Parses `address/prefix` (the prefix is required), of `family` when given; throws NETIO_INVALID_ARGUMENT
 * naming `path`.
 */
export function checkCidr(path: string, cidr: unknown, family?: IpFamily): CidrAddress {
  const parsed = parseCidr(cidr, family);
  if (!parsed || parsed.prefixLength === undefined) {
    const what = family ? `an ${familyLabel(family)} address` : 'an IPv4 or IPv6 address';
    throw new NetioInvalidArgumentError(path, cidr, `${what} with a prefix length, like 192.0.2.1/24`);
  }
  return {
    family: parsed.family,
    bytes: parsed.bytes,
    address: parsed.text,
    prefixLength: parsed.prefixLength,
  };
}

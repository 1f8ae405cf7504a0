import { formatIpv4 } from '@proxyha/common';

/** The IPv4 header fields a raw socket's receiver needs. */
export interface Ipv4Header {
  headerLength: number;
  totalLength: number;
  ttl: number;
  protocol: number;
  source: string;
  destination: string;
}

/**
 * Parses the IPv4 header the kernel hands to raw IPv4 sockets. Returns undefined for anything that
 * is not a well-formed IPv4 header (never throws).
 */
export function parseIpv4(data: Uint8Array): Ipv4Header | undefined {
  if (data.length < 20) return undefined;
  const b0 = data[0] as number;
  const headerLength = (b0 & 0x0f) * 4;
  if (b0 >> 4 !== 4 || headerLength < 20 || headerLength > data.length) return undefined;
  const total = ((data[2] as number) << 8) | (data[3] as number);
  // Linux keeps tot_len in network order for raw sockets; trust the buffer when the field is off.
  const totalLength = total >= headerLength && total <= data.length ? total : data.length;
  return {
    headerLength,
    totalLength,
    ttl: data[8] as number,
    protocol: data[9] as number,
    source: formatIpv4(data, 12),
    destination: formatIpv4(data, 16),
  };
}

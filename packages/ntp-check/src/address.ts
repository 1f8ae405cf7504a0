// SERVER[:PORT] as operators write NTP servers. IP literals are common's; host names are checked here.
import { err, type IpFamily, ipFamily, ok, type Result } from '@proxyha/common';
import { NtpError } from './errors';

/** The NTP port. */
export const NTP_PORT = 123;

/** A server to query: host name or IP literal, and UDP port. */
export interface NtpServerAddress {
  /** Host name, IPv4 or IPv6 literal (without brackets). */
  host: string;
  /** UDP port (default 123). */
  port: number;
}

/**
 * The family of an IP literal, `undefined` for anything else. IPv6 literals may carry a zone
 * (`fe80::123%eth0`), as link-local NTP servers need; the address itself is checked by common's parser.
 * @internal
 */
export function literalFamily(host: string): IpFamily | undefined {
  const zone = host.indexOf('%');
  if (zone < 0) return ipFamily(host);
  if (!/^[\w.-]+$/.test(host.slice(zone + 1))) return undefined;
  return ipFamily(host.slice(0, zone)) === 'ipv6' ? 'ipv6' : undefined;
}

/** A DNS name: labels of letters, digits and inner hyphens, at most 253 characters, optional final dot. */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * True for a host name that is not all digits and dots: `192.0.2.01` or `1.2.3` is neither an IP
 * address nor a name (a top-level domain is never numeric), and resolvers would read it as an address
 * in another notation.
 */
function isHostName(host: string): boolean {
  return HOST_NAME.test(host) && !/^[\d.]+$/.test(host);
}

/**
 * Parses `SERVER[:PORT]`: `time.example`, `192.0.2.1:123`, `[2001:db8::1]:123`, or a
 * bare IPv6 literal `2001:db8::1` (no port). Returns `NTP_BAD_SERVER` naming the input.
 *
 * @param text - the argument as typed
 */
export function parseServerAddress(text: string): Result<NtpServerAddress, NtpError> {
  const bad = (why: string) =>
    err(
      new NtpError('NTP_BAD_SERVER', `invalid server '${text}': ${why}`, {
        details: { server: text },
        stack: false,
      }),
    );
  if (typeof text !== 'string' || text.trim() === '') return bad('empty');
  const s = text.trim();
  let host: string;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (bracket) {
    host = bracket[1] as string;
    portText = bracket[2];
    if (literalFamily(host) !== 'ipv6') return bad('brackets are for IPv6 addresses');
  } else if ((s.match(/:/g) ?? []).length > 1) {
    if (literalFamily(s) !== 'ipv6') return bad('not an IPv6 address (use [addr]:port for a port)');
    host = s;
  } else {
    const i = s.indexOf(':');
    host = i < 0 ? s : s.slice(0, i);
    portText = i < 0 ? undefined : s.slice(i + 1);
  }
  if (host === '') return bad('empty host');
  if (literalFamily(host) === undefined && !isHostName(host)) return bad('not a host name or IP address');
  let port = NTP_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      return bad('port must be 1-65535');
    }
    port = Number(portText);
  }
  return ok({ host, port });
}

/** `host:port` label, with brackets for IPv6. @internal */
export function formatServerAddress(a: NtpServerAddress): string {
  return literalFamily(a.host) === 'ipv6' ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

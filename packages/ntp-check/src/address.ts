import { isIP } from 'node:net';
import { err, NtpError, ok, type Result } from './errors';

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
 * Parses `SERVER[:PORT]`: `time.example`, `192.0.2.1:123`, `[2001:db8::1]:123`, or a
 * bare IPv6 literal `2001:db8::1` (no port). Returns `NTP_BAD_SERVER` naming the input.
 *
 * @param text - the argument as typed
 */
export function parseServerAddress(text: string): Result<NtpServerAddress> {
  const bad = (why: string) =>
    err(new NtpError('NTP_BAD_SERVER', `invalid server '${text}': ${why}`, { server: text }));
  if (typeof text !== 'string' || text.trim() === '') return bad('empty');
  const s = text.trim();
  let host: string;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2];
    if (isIP(host) !== 6) return bad('brackets are for IPv6 addresses');
  } else if ((s.match(/:/g) ?? []).length > 1) {
    if (isIP(s) !== 6) return bad('not an IPv6 address (use [addr]:port for a port)');
    host = s;
  } else {
    const i = s.indexOf(':');
    host = i < 0 ? s : s.slice(0, i);
    portText = i < 0 ? undefined : s.slice(i + 1);
  }
  if (host === '') return bad('empty host');
  if (
    !isIP(host) &&
    !/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/.test(
      host,
    )
  ) {
    return bad('not a host name or IP address');
  }
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
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

// Error codes of @proxyha/lb-director. Add codes here (one line each); docs/errors.md lists them all.
import { defineErrors, ProxyhaError } from '@proxyha/common';

/**
 * Every error code of `@proxyha/lb-director` with its meaning. Decoders return the decode codes in a
 * `Result` (never throw); the authentication codes are returned by the verifier; the others are thrown.
 */
export const LB_ERRORS = defineErrors('LB', {
  LB_TRUNCATED: 'fewer bytes than the header or the announced length needs',
  LB_TRAILING_BYTES: 'bytes follow the message after its announced length',
  LB_BAD_VERSION: 'the protocol version is not one this implementation speaks (1)',
  LB_BAD_TYPE: 'the message type is neither an announcement (1) nor a load report (2)',
  LB_BAD_CHECKSUM: 'the Internet checksum over the message does not verify',
  LB_BAD_FIELD:
    'a field holds a value outside its range (group 0, interval 0, an unknown flag, ...); details.field names it',
  LB_BAD_ADDRESS: 'the address family byte is neither 4 nor 6',
  LB_BAD_STRING: 'a text field is not valid UTF-8 or is longer than its limit',
  LB_AUTH_MISSING: 'authentication is required and the message carries no authentication trailer',
  LB_AUTH_UNEXPECTED: 'the message carries an authentication trailer and this node has no key for it',
  LB_AUTH_UNKNOWN_KEY: 'the key id of the authentication trailer names no configured key',
  LB_AUTH_BAD_MAC: 'the HMAC-SHA256 of the message does not verify with the named key (forged or corrupted)',
  LB_AUTH_REPLAY: 'the message is not newer than the last one accepted from its node (replayed)',
  LB_AUTH_STALE: 'the message timestamp lies outside the accepted time window (replayed or a skewed clock)',
  LB_BAD_KEY_FILE:
    'an authentication key file is malformed: a bad line, key id or secret, a duplicate id, or more than two keys',
  LB_INVALID_ARGUMENT:
    'a value given to an encoder, the scheduler or a machine failed validation; details.issues names each path',
  LB_CONFIG_INVALID:
    'the daemon configuration failed validation; details.issues names each path (exit code 2)',
  LB_NOT_RUNNING: 'no proxyha-lb daemon answers on the status socket of this configuration',
  LB_DR_PORT_REWRITE:
    'the direct-routing data plane cannot rewrite ports: a redirect has originalPort != destinationPort; details.issues names it',
  LB_DR_COMMAND_FAILED:
    'the direct-routing data plane or node setup could not run nft, ip or sysctl (details.command, details.stderr); the previous state stays',
  LB_DR_NO_MAC: 'the MAC address of a node (or of the director interface) could not be resolved',
  LB_DR_NOT_STARTED: 'the direct-routing data plane was given a table before start() or after stop()',
  LB_NFT_UNAVAILABLE: 'the nft program could not be started (not installed or not in PATH)',
  LB_NFT_FAILED:
    'an nft transaction or listing exited non-zero; details: operation, exit status, stderr. The previous ruleset stays',
  LB_NFT_BAD_STATE:
    'the output of `nft -j list table` did not parse or does not hold what the nftables data plane installed',
  LB_NFT_NOT_STARTED: 'apply() was called on an nftables data plane that is not started (or was stopped)',
  LB_PROXY_BAD_SIGNATURE: 'the bytes start with neither the PROXY protocol v1 text nor the v2 signature',
  LB_PROXY_BAD_VERSION: 'the PROXY protocol v2 version nibble is not 2',
  LB_PROXY_BAD_COMMAND: 'the PROXY protocol v2 command is neither LOCAL (0) nor PROXY (1)',
  LB_PROXY_BAD_FAMILY:
    'the PROXY protocol v2 address family / transport byte is not UNSPEC, TCP over IPv4 or TCP over IPv6',
  LB_PROXY_BAD_LENGTH:
    'a PROXY protocol v2 length is shorter than its address block, or a v1 line has no CRLF within 107 bytes',
  LB_PROXY_BAD_TLV: 'a PROXY protocol v2 TLV runs past the end of the header',
  LB_PROXY_BAD_LINE:
    'a PROXY protocol v1 line is malformed (protocol, address, port or separators); details.field names it',
  LB_RELAY_LISTEN_FAILED: 'the relay data plane could not listen on an address and port; details names them',
});

/** A code of {@link LB_ERRORS}. */
export type LbErrorCode = keyof typeof LB_ERRORS;

/**
 * The error class of `@proxyha/lb-director`: every error it throws or returns is one. Branch on `code`
 * (listed in {@link LB_ERRORS}, stable across releases); `details` carries the context.
 *
 * @typeParam D - the shape of `details`
 */
export class LbError<D extends object = Readonly<Record<string, unknown>>> extends ProxyhaError<
  LbErrorCode,
  D
> {}

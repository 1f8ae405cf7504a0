// Error codes of @proxyha/cm-coordinator. Add codes here (one line each); docs/errors.md lists them all.
import { defineErrors, ProxyhaError } from '@proxyha/common';

/**
 * Every error code of `@proxyha/cm-coordinator` with its meaning. Decoders return their codes in a
 * `Result`; the others are thrown. The seed's numbered errors between nodes (`301 - 'cannot connect'`,
 * `405 - 'time difference too high'`) are `CM_CANNOT_CONNECT` and `CM_TIME_DIFFERENCE_TOO_HIGH`.
 */
export const CM_ERRORS = defineErrors('CM', {
  CM_INVALID_ARGUMENT: 'a value given to a function failed validation; details.issues names each path',
  CM_CONFIG_INVALID: 'the node configuration failed validation; details.issues names each path (exit code 2)',
  CM_BAD_FRAME: 'a frame from a peer is malformed (length, encoding) or exceeds the size limit',
  CM_BAD_MESSAGE: 'a message from a peer is of an unknown type or fails validation; details names the path',
  CM_CANNOT_CONNECT:
    "301 - 'cannot connect': the peer cannot be reached, refuses, or fails the TLS handshake",
  CM_TIME_DIFFERENCE_TOO_HIGH:
    "405 - 'time difference too high': the peer's clock differs by more than maxClockSkew",
  CM_INCOMPATIBLE_VERSION: 'the peer runs a software or protocol version this node does not accept',
  CM_CERTIFICATE:
    'a certificate or key cannot be created, read or verified (ssl failure ... certificate verification)',
  CM_STORE: 'the durable store cannot be opened, read or written',
  CM_STORE_UNAVAILABLE:
    'no SQLite binding is available (node:sqlite needs Node 22.13+, or install better-sqlite3)',
  CM_NO_LISTENER: 'the local node has no running listener (start it before adding nodes)',
  CM_GUI_ATTACH: 'STATUS_ERROR_GUI_ATTACH: another node holds the admin lock; details names it',
  CM_NOT_RUNNING: 'no proxyha-cm node answers on the control socket of this configuration',
  CM_NO_SHARED_NETWORK_GROUP:
    "409 - 'no shared network group': the peer shares no network group with this node, so the two do not connect (transit nodes carry their messages); details names both nodes' groups",
  CM_UNREACHABLE_NODES:
    "Configuration rejected ... 'checking new settings failed - Invalid node path matrix / unreachable nodes': some node cannot reach another through the network groups; details.pairs names them",
  CM_RUNTIME_INVALID_VALUE:
    'a runtime-group key, value, ttl, period or increment fails validation (size limits, JSON data); details.issues names each path',
  CM_RUNTIME_STORE_FULL:
    'the node holds the most runtime entries it keeps (100000): the new key is not written; details names the group and key',
  CM_RUNTIME_NOT_SYNCHRONIZED:
    "'Shared data not synchronized': runtime data could not be delivered to a member of the runtime group (no acknowledgement, not connected); retried with backoff, cleared by the next delivery; details names the peer",
  CM_RUNTIME_WRONG_GROUP:
    'runtime data of another runtime group arrived from a peer: dropped, never stored; details names both groups',
  CM_UPDATE_MANIFEST:
    "an update source's manifest cannot be fetched or read, or its Ed25519 signature does not verify; details names the source and URL (checked again at the next interval)",
  CM_UPDATE_DOWNLOAD:
    'an update cannot be downloaded (HTTP status, connection cut after the resumed attempts, larger than announced); details names the source, URL and bytes so far (retried)',
  CM_UPDATE_INTEGRITY:
    'an update (downloaded or from a peer) fails its SHA-256, size or signature check: the file is discarded, logged and fetched again; details names the expected and actual values',
  CM_UPDATE_TRANSFER:
    'an update transfer from a peer failed (refused, cut, out of order, or the peer left); details names the peer (fetched again, from another member when one has it)',
  CM_UPDATE_APPLY:
    "an update source's apply command failed or could not start; the file stays in place; details has the exit code and stderr",
});

/** A code of {@link CM_ERRORS}. */
export type CmErrorCode = keyof typeof CM_ERRORS;

/**
 * The error class of `@proxyha/cm-coordinator`. Branch on `code` (listed in {@link CM_ERRORS}, stable);
 * `details` carries the context.
 *
 * @typeParam D - the shape of `details`
 */
export class CmError<D extends object = Readonly<Record<string, unknown>>> extends ProxyhaError<
  CmErrorCode,
  D
> {}

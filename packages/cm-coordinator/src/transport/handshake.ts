// Checks both sides apply to the other's hello or hello-ack, and the TLS helpers they share (internal).
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { HelloAckBody, HelloBody } from '../codec/messages';
import { CmError } from '../errors';
import { identityOfNames } from '../identity/certificates';
import type { NodeTlsIdentity } from '../identity/files';
import type { NodeIdentity } from '../machine/types';
import type { PeerHandshake, ResolvedOptions } from './connection';

/** What a peer's certificate says, read from the TLS socket. */
export interface PeerCertificate {
  readonly uuid?: string;
  readonly name?: string;
  readonly fingerprint256: string;
}

/** The peer certificate of an authenticated TLS socket. */
export function peerCertificateOf(socket: TLSSocket): PeerCertificate {
  const cert = socket.getPeerX509Certificate();
  if (!cert) return { fingerprint256: '' };
  const ids = identityOfNames(cert.subject, cert.subjectAltName);
  return {
    ...(ids.uuid === undefined ? {} : { uuid: ids.uuid }),
    ...(ids.name === undefined ? {} : { name: ids.name }),
    fingerprint256: cert.fingerprint256,
  };
}

/** TLS options of a node identity: TLS 1.3 only, the cluster CAs as the only trust anchors. */
export function tlsContextOptions(identity: NodeTlsIdentity): {
  key: string;
  cert: string;
  ca: string[];
  minVersion: 'TLSv1.3';
  maxVersion: 'TLSv1.3';
} {
  return {
    key: identity.keyPem,
    cert: identity.certPem,
    ca: [...identity.caPems],
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
  };
}

/** Checks that the identity's certificate names this node. */
export function checkOwnIdentity(identity: NodeTlsIdentity, uuid: string): void {
  if (
    !identity ||
    typeof identity.certPem !== 'string' ||
    typeof identity.keyPem !== 'string' ||
    !Array.isArray(identity.caPems) ||
    identity.caPems.length === 0
  )
    throw new CmError(
      'CM_INVALID_ARGUMENT',
      'identity must hold certPem, keyPem and at least one CA in caPems',
    );
  let names: { uuid?: string };
  try {
    const cert = new X509Certificate(identity.certPem);
    names = identityOfNames(cert.subject, cert.subjectAltName);
  } catch (cause) {
    throw new CmError('CM_CERTIFICATE', `the node certificate cannot be read: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (names.uuid !== uuid)
    throw new CmError(
      'CM_CERTIFICATE',
      `the node certificate names node ${String(names.uuid)}, not this node ${uuid}`,
      {
        details: { certificateUuid: names.uuid, uuid },
      },
    );
}

/** A node identity as a hello carries it: uuid, name, priority, version and, when set, its network groups. */
export function nodeOfHello(n: NodeIdentity): NodeIdentity {
  return {
    uuid: n.uuid,
    name: n.name,
    priority: n.priority,
    version: n.version,
    ...(n.groups === undefined ? {} : { groups: [...n.groups] }),
  };
}

/** Formats a clock difference for the logs. */
function seconds(ms: number): string {
  return `${(Math.abs(ms) / 1000).toFixed(1)} s`;
}

/**
 * Checks a peer's hello or hello-ack against its certificate and our limits: the protocol version, the
 * UUID, the clock, and the application's `acceptPeer`. Returns the handshake, or the error to refuse it with.
 */
export function checkPeer(
  o: ResolvedOptions,
  messageName: string,
  body: HelloBody | HelloAckBody,
  peerClock: number,
  clockOffsetMs: number,
  cert: PeerCertificate,
  remote: { address: string; port: number },
): PeerHandshake | CmError {
  const who = `node ${body.node.uuid} (${body.node.name})`;
  if (!o.protocols.includes(body.protocol))
    return new CmError(
      'CM_INCOMPATIBLE_VERSION',
      `${messageName}: ${who} speaks protocol ${body.protocol}, this node ${o.protocols.join(', ')}`,
      { details: { wire: 426, protocol: body.protocol, protocols: o.protocols, uuid: body.node.uuid } },
    );
  if (body.node.uuid !== cert.uuid)
    return new CmError(
      'CM_CERTIFICATE',
      `${messageName}: ssl failure - last action: certificate verification - the message names node ${body.node.uuid}, its certificate node ${String(cert.uuid)}`,
      { details: { wire: 403, uuid: body.node.uuid, certificateUuid: cert.uuid } },
    );
  if (Math.abs(clockOffsetMs) > o.maxClockSkewMs)
    return new CmError(
      'CM_TIME_DIFFERENCE_TOO_HIGH',
      `${messageName}: the clock of ${who} is ${seconds(clockOffsetMs)} ${clockOffsetMs > 0 ? 'ahead of' : 'behind'} this node's (limit ${seconds(o.maxClockSkewMs)})`,
      { details: { wire: 405, clockOffsetMs, maxClockSkewMs: o.maxClockSkewMs, uuid: body.node.uuid } },
    );
  const peer: PeerHandshake = {
    node: nodeOfHello(body.node),
    ...('purpose' in body && body.purpose !== undefined ? { purpose: body.purpose } : {}),
    addresses: [...body.addresses],
    protocol: body.protocol,
    clock: peerClock,
    clockOffsetMs,
    certificate: {
      uuid: cert.uuid as string,
      ...(cert.name === undefined ? {} : { name: cert.name }),
      fingerprint256: cert.fingerprint256,
    },
    remoteAddress: remote.address,
    remotePort: remote.port,
  };
  let refused: CmError | undefined;
  try {
    refused = o.acceptPeer?.(peer);
  } catch (cause) {
    refused = new CmError(
      'CM_INCOMPATIBLE_VERSION',
      `${messageName}: acceptPeer failed: ${(cause as Error).message}`,
      { cause },
    );
  }
  return refused ?? peer;
}

/** Hints for the TLS verification codes, for the ssl failure lines. */
const CERT_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Whether a TLS error code is a certificate verification failure. */
export function isCertificateError(code: string | undefined): boolean {
  return code !== undefined && CERT_CODES.has(code);
}

/** What a verification code means to an operator. */
export function certificateHint(code: string): string {
  switch (code) {
    case 'CERT_NOT_YET_VALID':
      return 'the certificate is not valid yet: check the clocks (NTP)';
    case 'CERT_HAS_EXPIRED':
      return 'the certificate has expired: issue a new one';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'HOSTNAME_MISMATCH':
      return 'the certificate does not name this address';
    default:
      return 'the certificate is not signed by a cluster CA this node trusts: the nodes use different cluster CAs; import the CA in use on the other node';
  }
}

const remotes = new WeakMap<object, { address: string; port: number }>();

/** Records the peer address of an accepted TCP socket, for log lines written once its TLS socket is gone. */
export function rememberRemote(raw: Socket): void {
  if (raw.remoteAddress !== undefined)
    remotes.set(raw, { address: raw.remoteAddress, port: raw.remotePort ?? 0 });
}

/** The remote address of a TLS socket, also once it is destroyed (then as recorded for the TCP socket under it). */
export function remoteOf(socket: TLSSocket): { address: string; port: number } {
  if (socket.remoteAddress !== undefined)
    return { address: socket.remoteAddress, port: socket.remotePort ?? 0 };
  const parent = (socket as unknown as { _parent?: object })._parent;
  return (parent && remotes.get(parent)) ?? { address: '?', port: 0 };
}

/** `address:port`, with brackets around an IPv6 address. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

// The cluster CA and node certificates: ECDSA P-256 or Ed25519 keys, made with WebCrypto.
import { createPrivateKey, X509Certificate as NodeX509, randomBytes, type webcrypto } from 'node:crypto';
import { canonicalIp } from '@proxyha/common';
import { CmError } from '../errors';
import { peculiar } from './x509';

/** Key algorithm of a cluster CA or node certificate. Both work with TLS 1.3 in Node 20 and later. */
export type KeyAlgorithm = 'P-256' | 'Ed25519';

/** A certificate and its private key, both PEM (the key as unencrypted PKCS#8 `PRIVATE KEY`). */
export interface CertificateAndKey {
  /** The certificate, PEM. */
  readonly certPem: string;
  /** Its private key, PKCS#8 PEM. Keep it secret: files holding it are written with mode 0600. */
  readonly keyPem: string;
}

/** Options of {@link createClusterCa}. */
export interface ClusterCaOptions {
  /** Key algorithm; default `P-256`. */
  readonly algorithm?: KeyAlgorithm;
  /** Common name of the CA; default `proxyha Cluster CA`. */
  readonly name?: string;
  /** How long the CA is valid, in days from now; default 7300 (20 years). */
  readonly validityDays?: number;
  /** The time of issue; default now. */
  readonly now?: Date;
}

/** Options of {@link issueNodeCertificate}. */
export interface NodeCertificateOptions {
  /** The cluster CA that signs the certificate. */
  readonly ca: CertificateAndKey;
  /** The node: its UUID becomes the subject CN and a `urn:uuid:` URI SAN, its name the subject OU. */
  readonly node: {
    /** The node's UUID: the subject CN and a `urn:uuid:` URI SAN. */
    readonly uuid: string;
    /** The node's name: the subject OU. */
    readonly name: string;
  };
  /** IP addresses and DNS names of the node, written as subject alternative names. */
  readonly addresses: readonly string[];
  /** How long the certificate is valid, in days from now; default 3650 (10 years). */
  readonly validityDays?: number;
  /**
   * How many days before `now` the validity starts; default 2. A peer whose clock is behind then still
   * accepts the certificate and meets the cluster's own check, `405 - 'time difference too high'`,
   * instead of TLS's "certificate is not yet valid".
   */
  readonly backdateDays?: number;
  /** Key algorithm of the node key; default the CA's. */
  readonly algorithm?: KeyAlgorithm;
  /** The time of issue; default now. */
  readonly now?: Date;
}

/** What {@link readCertificate} finds in a certificate. */
export interface CertificateInfo {
  /** Subject, one `KEY=value` per line as Node prints it. */
  readonly subject: string;
  /** Issuer, same format. */
  readonly issuer: string;
  /** The node UUID (lower case) from the `urn:uuid:` URI SAN, else from the CN when it is a UUID. */
  readonly uuid?: string;
  /** The node name (subject OU), when present. */
  readonly name?: string;
  /** The IP addresses and DNS names of its subject alternative names. */
  readonly addresses: readonly string[];
  /** Start of validity. */
  readonly notBefore: Date;
  /** End of validity. */
  readonly notAfter: Date;
  /** Serial number, upper-case hex. */
  readonly serialNumber: string;
  /** SHA-256 fingerprint, colon-separated upper-case hex. */
  readonly fingerprint256: string;
  /** Whether it is a CA certificate. */
  readonly isCa: boolean;
  /** Its key algorithm, or the key type Node reports for another one. */
  readonly algorithm: KeyAlgorithm | string;
}

const DAY_MS = 86_400_000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DNS_RE =
  /^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

type SigningAlgorithm = { name: 'ECDSA'; namedCurve: 'P-256'; hash: 'SHA-256' } | { name: 'Ed25519' };

function webAlgorithm(algorithm: KeyAlgorithm): SigningAlgorithm {
  return algorithm === 'Ed25519'
    ? { name: 'Ed25519' }
    : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
}

function invalid(message: string, details: Record<string, unknown>): CmError {
  return new CmError('CM_INVALID_ARGUMENT', message, { details });
}

function checkDays(value: number | undefined, fallback: number, what: string): number {
  const days = value ?? fallback;
  if (!Number.isFinite(days) || days <= 0 || days > 36_500)
    throw invalid(`${what} must be a number of days in (0, 36500] (got ${String(value)})`, { [what]: value });
  return days;
}

function checkAlgorithm(value: unknown): KeyAlgorithm {
  if (value !== 'P-256' && value !== 'Ed25519')
    throw invalid(`algorithm must be 'P-256' or 'Ed25519' (got ${String(value)})`, { algorithm: value });
  return value;
}

/** A positive random 128-bit serial number, hex. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

async function generateKeys(algorithm: KeyAlgorithm): Promise<webcrypto.CryptoKeyPair> {
  return (await globalThis.crypto.subtle.generateKey(webAlgorithm(algorithm), true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await globalThis.crypto.subtle.exportKey('pkcs8', key);
  return (await peculiar()).PemConverter.encode(der, 'PRIVATE KEY');
}

/** The algorithm of a key as Node describes it. */
function algorithmOfKeyType(type: string | undefined, curve: string | undefined): KeyAlgorithm | undefined {
  if (type === 'ed25519') return 'Ed25519';
  if (type === 'ec' && (curve === 'prime256v1' || curve === 'P-256')) return 'P-256';
  return undefined;
}

/**
 * Creates a self-signed cluster CA: the one trust anchor of a cluster. Every node certificate is issued by
 * it, and a node accepts only peers whose certificate it signed (the seed's "Cluster CA"). Its validity also
 * starts two days before now.
 *
 * @param options - algorithm, name, validity
 * @returns the CA certificate and key, PEM
 * @throws CmError `CM_INVALID_ARGUMENT` for a bad option; `CM_CERTIFICATE` when WebCrypto fails
 */
export async function createClusterCa(options: ClusterCaOptions = {}): Promise<CertificateAndKey> {
  const algorithm = checkAlgorithm(options.algorithm ?? 'P-256');
  const days = checkDays(options.validityDays, 7300, 'validityDays');
  const name = options.name ?? 'proxyha Cluster CA';
  if (typeof name !== 'string' || name.trim() === '' || name.length > 64)
    throw invalid(`name must be 1..64 characters (got ${JSON.stringify(name)})`, { name });
  const now = options.now ?? new Date();
  try {
    const x509 = await peculiar();
    const keys = await generateKeys(algorithm);
    const cert = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: serialNumber(),
        name: [{ CN: [name] }, { O: ['proxyha'] }],
        keys,
        notBefore: new Date(now.getTime() - 2 * DAY_MS),
        notAfter: new Date(now.getTime() + days * DAY_MS),
        signingAlgorithm: webAlgorithm(algorithm),
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, globalThis.crypto),
        ],
      },
      globalThis.crypto,
    );
    return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
  } catch (cause) {
    throw new CmError('CM_CERTIFICATE', `cannot create the cluster CA: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** Splits the addresses into IPs (canonical) and DNS names (lower case); throws for anything else. */
function classifyAddresses(addresses: readonly string[]): { ips: string[]; dns: string[] } {
  if (!Array.isArray(addresses))
    throw invalid('addresses must be an array of IPs and DNS names', { addresses });
  const ips: string[] = [];
  const dns: string[] = [];
  addresses.forEach((address, i) => {
    const ip = canonicalIp(address);
    if (ip !== undefined) {
      if (!ips.includes(ip)) ips.push(ip);
    } else if (typeof address === 'string' && DNS_RE.test(address)) {
      const name = address.toLowerCase().replace(/\.$/, '');
      if (!dns.includes(name)) dns.push(name);
    } else {
      throw invalid(`addresses[${i}] must be an IP address or a DNS name (got ${JSON.stringify(address)})`, {
        path: `addresses[${i}]`,
        value: address,
      });
    }
  });
  return { ips, dns };
}

/**
 * Issues a node certificate signed by the cluster CA, for both TLS roles (server and client auth). The
 * node UUID is bound to the certificate twice: as the subject CN and as a `urn:uuid:` URI SAN; the peer
 * compares it with the UUID the node claims in its hello. The validity starts `backdateDays` (2) before now.
 *
 * @param options - CA, node, addresses, validity
 * @returns the node certificate and its new key, PEM
 * @throws CmError `CM_INVALID_ARGUMENT` for a bad UUID, name or address; `CM_CERTIFICATE` when the CA
 *   cannot be read or signing fails
 */
export async function issueNodeCertificate(options: NodeCertificateOptions): Promise<CertificateAndKey> {
  const { ca, node } = options;
  if (typeof node?.uuid !== 'string' || !UUID_RE.test(node.uuid))
    throw invalid(`node.uuid must be a UUID (got ${JSON.stringify(node?.uuid)})`, { uuid: node?.uuid });
  if (typeof node.name !== 'string' || node.name.trim() === '' || node.name.length > 64)
    throw invalid(`node.name must be 1..64 characters (got ${JSON.stringify(node.name)})`, {
      name: node.name,
    });
  const { ips, dns } = classifyAddresses(options.addresses);
  const days = checkDays(options.validityDays, 3650, 'validityDays');
  const backdate = options.backdateDays ?? 2;
  if (!Number.isFinite(backdate) || backdate < 0 || backdate > 365)
    throw invalid(`backdateDays must be in [0, 365] (got ${String(backdate)})`, { backdateDays: backdate });
  const now = options.now ?? new Date();
  const uuid = node.uuid.toLowerCase();

  let caCert: NodeX509;
  let caAlgorithm: KeyAlgorithm;
  try {
    caCert = new NodeX509(ca.certPem);
    const caKey = createPrivateKey(ca.keyPem);
    if (!caCert.checkPrivateKey(caKey)) throw new Error('the CA key does not belong to the CA certificate');
    const found = algorithmOfKeyType(caKey.asymmetricKeyType, caKey.asymmetricKeyDetails?.namedCurve);
    if (found === undefined) throw new Error(`unsupported CA key type ${String(caKey.asymmetricKeyType)}`);
    caAlgorithm = found;
  } catch (cause) {
    throw new CmError('CM_CERTIFICATE', `cannot read the cluster CA: ${(cause as Error).message}`, {
      cause,
      details: {},
    });
  }
  const algorithm = checkAlgorithm(options.algorithm ?? caAlgorithm);
  try {
    const x509 = await peculiar();
    const caKeyDer = x509.PemConverter.decodeFirst(ca.keyPem);
    const signingKey = await globalThis.crypto.subtle.importKey(
      'pkcs8',
      caKeyDer,
      webAlgorithm(caAlgorithm),
      false,
      ['sign'],
    );
    const issuer = new x509.X509Certificate(ca.certPem);
    const keys = await generateKeys(algorithm);
    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: serialNumber(),
        subject: [{ CN: [uuid] }, { OU: [node.name] }],
        issuer: issuer.subjectName,
        publicKey: keys.publicKey,
        signingKey,
        notBefore: new Date(now.getTime() - backdate * DAY_MS),
        notAfter: new Date(now.getTime() + days * DAY_MS),
        signingAlgorithm: webAlgorithm(caAlgorithm),
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([
            x509.ExtendedKeyUsage.serverAuth,
            x509.ExtendedKeyUsage.clientAuth,
          ]),
          new x509.SubjectAlternativeNameExtension([
            { type: 'url', value: `urn:uuid:${uuid}` },
            ...ips.map((value) => ({ type: 'ip' as const, value })),
            ...dns.map((value) => ({ type: 'dns' as const, value })),
          ]),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, globalThis.crypto),
          await x509.AuthorityKeyIdentifierExtension.create(issuer, false, globalThis.crypto),
        ],
      },
      globalThis.crypto,
    );
    return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
  } catch (cause) {
    throw new CmError(
      'CM_CERTIFICATE',
      `cannot issue the certificate of node ${uuid}: ${(cause as Error).message}`,
      {
        cause,
        details: { uuid },
      },
    );
  }
}

/**
 * The node UUID and name found in a certificate's subject and subject alternative names as Node prints
 * them (`CN=...\nOU=...`, `URI:urn:uuid:..., IP Address:...`). Internal: shared with the transport.
 */
export function identityOfNames(
  subject: string | undefined,
  subjectAltName: string | undefined,
): { uuid?: string; name?: string; addresses: string[] } {
  const addresses: string[] = [];
  let uuid: string | undefined;
  for (const entry of (subjectAltName ?? '').split(/,\s*/)) {
    const m = /^(URI|IP Address|DNS):(.*)$/.exec(entry.trim());
    if (!m) continue;
    const value = (m[2] ?? '').replace(/^"|"$/g, '');
    if (m[1] === 'URI') {
      const u = /^urn:uuid:(.+)$/i.exec(value);
      if (u && UUID_RE.test(u[1] ?? '')) uuid ??= (u[1] as string).toLowerCase();
    } else addresses.push(m[1] === 'IP Address' ? (canonicalIp(value) ?? value) : value);
  }
  let name: string | undefined;
  for (const line of (subject ?? '').split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'CN' && uuid === undefined && UUID_RE.test(value)) uuid = value.toLowerCase();
    if (key === 'OU' && name === undefined) name = value;
  }
  const out: { uuid?: string; name?: string; addresses: string[] } = { addresses };
  if (uuid !== undefined) out.uuid = uuid;
  if (name !== undefined) out.name = name;
  return out;
}

/**
 * Reads a PEM certificate (the first one of a bundle).
 *
 * @param pem - the certificate
 * @throws CmError `CM_CERTIFICATE` when it is not a certificate
 */
export function readCertificate(pem: string): CertificateInfo {
  let cert: NodeX509;
  try {
    cert = new NodeX509(pem);
  } catch (cause) {
    throw new CmError('CM_CERTIFICATE', `not a certificate: ${(cause as Error).message}`, { cause });
  }
  const key = cert.publicKey;
  const found = identityOfNames(cert.subject, cert.subjectAltName);
  const info: CertificateInfo = {
    subject: cert.subject,
    issuer: cert.issuer,
    ...(found.uuid === undefined ? {} : { uuid: found.uuid }),
    ...(found.name === undefined ? {} : { name: found.name }),
    addresses: found.addresses,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    serialNumber: cert.serialNumber.toUpperCase(),
    fingerprint256: cert.fingerprint256,
    isCa: cert.ca,
    algorithm:
      algorithmOfKeyType(key.asymmetricKeyType, key.asymmetricKeyDetails?.namedCurve) ??
      String(key.asymmetricKeyType),
  };
  return info;
}

/** Splits a PEM bundle into its certificates. Internal. */
export function splitPemBundle(bundle: string): string[] {
  return (
    bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((p) => `${p}\n`) ?? []
  );
}

/**
 * Checks that a node certificate was signed by one of the given CAs, is valid at `now`, and that the key
 * belongs to it.
 *
 * @param identity - the node certificate and key
 * @param caPems - the trusted cluster CAs (certificates, PEM)
 * @param now - the time to check validity at; default now
 * @throws CmError `CM_CERTIFICATE` naming what fails
 */
export function verifyNodeCertificate(
  identity: CertificateAndKey,
  caPems: readonly string[],
  now = new Date(),
): void {
  const fail = (message: string, cause?: unknown): CmError =>
    new CmError('CM_CERTIFICATE', message, cause === undefined ? {} : { cause });
  let cert: NodeX509;
  try {
    cert = new NodeX509(identity.certPem);
  } catch (cause) {
    throw fail(`the node certificate cannot be read: ${(cause as Error).message}`, cause);
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(identity.keyPem)))
      throw fail('the node key does not belong to the node certificate');
  } catch (cause) {
    if (cause instanceof CmError) throw cause;
    throw fail(`the node key cannot be read: ${(cause as Error).message}`, cause);
  }
  const signed = caPems.some((pem) => {
    try {
      const ca = new NodeX509(pem);
      return cert.checkIssued(ca) && cert.verify(ca.publicKey);
    } catch {
      return false;
    }
  });
  if (!signed)
    throw fail(
      'ssl failure - last action: certificate verification: the node certificate is not signed by a trusted cluster CA',
    );
  const t = now.getTime();
  if (t < Date.parse(cert.validFrom) || t > Date.parse(cert.validTo))
    throw fail(`the node certificate is valid only from ${cert.validFrom} to ${cert.validTo}`);
}

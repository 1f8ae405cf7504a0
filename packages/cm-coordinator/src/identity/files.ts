// Identity files in a node's data directory: PEMs written atomically, keys with mode 0600.
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CmError } from '../errors';
import {
  type CertificateAndKey,
  type CertificateInfo,
  readCertificate,
  splitPemBundle,
  verifyNodeCertificate,
} from './certificates';

/** File names inside an identity directory. */
export const IDENTITY_FILES = Object.freeze({
  /** The trusted cluster CA certificates, one PEM bundle (several during a CA rotation). */
  caBundle: 'cluster-ca.pem',
  /** The cluster CA private key (only on nodes that issue certificates), mode 0600. */
  caKey: 'cluster-ca.key',
  /** The node certificate. */
  cert: 'node.pem',
  /** The node private key, mode 0600. */
  key: 'node.key',
});

/** A node's TLS identity: its certificate and key and the cluster CAs it trusts. */
export interface NodeTlsIdentity extends CertificateAndKey {
  /** The trusted cluster CA certificates, PEM, one each (old and new during a CA rotation). */
  readonly caPems: readonly string[];
}

/** A {@link NodeTlsIdentity} as {@link loadIdentity} read and checked it. */
export interface LoadedIdentity extends NodeTlsIdentity {
  /** What the node certificate says (its `uuid` is the node's). */
  readonly certificate: CertificateInfo;
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw cause;
  }
}

async function withFiles<T>(dir: string, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    if (cause instanceof CmError) throw cause;
    throw new CmError('CM_CERTIFICATE', `cannot ${what} in ${dir}: ${(cause as Error).message}`, {
      cause,
      details: { dir },
    });
  }
}

/**
 * Writes a node's identity into `dir` (created with mode 0700 if missing): `cluster-ca.pem` (the CA
 * bundle), `node.pem`, and `node.key` with mode 0600. Each file is replaced atomically.
 *
 * @param dir - the identity directory
 * @param identity - the node certificate, key and trusted CAs
 * @throws CmError `CM_CERTIFICATE` when a file cannot be written
 */
export async function writeIdentity(dir: string, identity: NodeTlsIdentity): Promise<void> {
  await withFiles(dir, 'write the node identity', async () => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeAtomic(join(dir, IDENTITY_FILES.caBundle), identity.caPems.join(''), 0o644);
    await writeAtomic(join(dir, IDENTITY_FILES.cert), identity.certPem, 0o644);
    await writeAtomic(join(dir, IDENTITY_FILES.key), identity.keyPem, 0o600);
  });
}

/**
 * Writes the cluster CA's certificate and key into `dir`: `cluster-ca.pem` and `cluster-ca.key` (mode 0600).
 * A node that holds the CA key can issue certificates for new nodes.
 *
 * @param dir - the identity directory
 * @param ca - the CA certificate and key
 * @throws CmError `CM_CERTIFICATE` when a file cannot be written
 */
export async function writeClusterCa(dir: string, ca: CertificateAndKey): Promise<void> {
  await withFiles(dir, 'write the cluster CA', async () => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeAtomic(join(dir, IDENTITY_FILES.caBundle), ca.certPem, 0o644);
    await writeAtomic(join(dir, IDENTITY_FILES.caKey), ca.keyPem, 0o600);
  });
}

/**
 * Reads the cluster CA certificate (the first of the bundle) and key from `dir`.
 *
 * @param dir - the identity directory
 * @throws CmError `CM_CERTIFICATE` when a file is missing or unreadable
 */
export async function loadClusterCa(dir: string): Promise<CertificateAndKey> {
  return withFiles(dir, 'read the cluster CA', async () => {
    const [first] = splitPemBundle(await readFile(join(dir, IDENTITY_FILES.caBundle), 'utf8'));
    if (first === undefined) throw new Error(`${IDENTITY_FILES.caBundle} holds no certificate`);
    return { certPem: first, keyPem: await readFile(join(dir, IDENTITY_FILES.caKey), 'utf8') };
  });
}

/**
 * Reads a node's identity from `dir` and checks it: the key belongs to the certificate, one of the CAs
 * signed it, it is valid now and names a node UUID.
 *
 * @param dir - the identity directory
 * @returns the PEMs, the CAs one by one, and what the certificate says
 * @throws CmError `CM_CERTIFICATE` when a file is missing or the check fails
 */
export async function loadIdentity(dir: string): Promise<LoadedIdentity> {
  return withFiles(dir, 'read the node identity', async () => {
    const caPems = splitPemBundle(await readFile(join(dir, IDENTITY_FILES.caBundle), 'utf8'));
    if (caPems.length === 0) throw new Error(`${IDENTITY_FILES.caBundle} holds no certificate`);
    const certPem = await readFile(join(dir, IDENTITY_FILES.cert), 'utf8');
    const keyPem = await readFile(join(dir, IDENTITY_FILES.key), 'utf8');
    verifyNodeCertificate({ certPem, keyPem }, caPems);
    const certificate = readCertificate(certPem);
    if (certificate.uuid === undefined)
      throw new CmError('CM_CERTIFICATE', `${IDENTITY_FILES.cert} names no node UUID`, { details: { dir } });
    return { caPems, certPem, keyPem, certificate };
  });
}

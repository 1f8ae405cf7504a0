import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CertificateAndKey,
  createClusterCa,
  IDENTITY_FILES,
  issueNodeCertificate,
  loadClusterCa,
  loadIdentity,
  readCertificate,
  verifyNodeCertificate,
  writeClusterCa,
  writeIdentity,
} from '../src/identity/index';

const UUID = '564dad79-a7bb-bcc2-55c0-58383c9557c7';
const DAY = 86_400_000;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

async function rejectsCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('cluster CA and node certificates', () => {
  let p256: CertificateAndKey;
  let ed: CertificateAndKey;
  beforeAll(async () => {
    [p256, ed] = await Promise.all([
      createClusterCa({ algorithm: 'P-256' }),
      createClusterCa({ algorithm: 'Ed25519', name: 'Test CA' }),
    ]);
  });

  it('creates a P-256 and an Ed25519 CA whose validity starts before now', () => {
    const a = readCertificate(p256.certPem);
    expect(a.isCa).toBe(true);
    expect(a.algorithm).toBe('P-256');
    expect(a.subject).toContain('CN=proxyha Cluster CA');
    expect(a.notBefore.getTime()).toBeLessThan(Date.now() - DAY);
    expect(a.notAfter.getTime()).toBeGreaterThan(Date.now() + 19 * 365 * DAY);
    const b = readCertificate(ed.certPem);
    expect(b.algorithm).toBe('Ed25519');
    expect(b.subject).toContain('CN=Test CA');
    expect(p256.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it.each([
    'P-256',
    'Ed25519',
  ] as const)('issues a %s node certificate binding the UUID, name and addresses', async (alg) => {
    const ca = alg === 'P-256' ? p256 : ed;
    const now = new Date();
    const node = await issueNodeCertificate({
      ca,
      node: { uuid: UUID.toUpperCase(), name: 'mwg75-2' },
      addresses: ['192.0.2.10', '2001:DB8::1', 'gw2.example.com', '192.0.2.10'],
      validityDays: 30,
      now,
    });
    const info = readCertificate(node.certPem);
    expect(info.uuid).toBe(UUID);
    expect(info.subject).toContain(`CN=${UUID}`);
    expect(info.name).toBe('mwg75-2');
    expect(info.isCa).toBe(false);
    expect(info.algorithm).toBe(alg);
    expect([...info.addresses].sort()).toEqual(['192.0.2.10', '2001:db8::1', 'gw2.example.com']);
    // the validity starts two days before the issue, so a peer whose clock is behind still accepts it
    expect(info.notBefore.getTime()).toBeLessThanOrEqual(now.getTime() - 2 * DAY + 1000);
    expect(info.notAfter.getTime()).toBeGreaterThan(now.getTime() + 29 * DAY);
    expect(() => verifyNodeCertificate(node, [ca.certPem])).not.toThrow();
  });

  it('issues an Ed25519 node key under a P-256 CA when asked', async () => {
    const node = await issueNodeCertificate({
      ca: p256,
      node: { uuid: UUID, name: 'n' },
      addresses: [],
      algorithm: 'Ed25519',
    });
    expect(readCertificate(node.certPem).algorithm).toBe('Ed25519');
    verifyNodeCertificate(node, [p256.certPem]);
  });

  it('refuses a certificate of another CA, a foreign key and an expired certificate', async () => {
    const node = await issueNodeCertificate({
      ca: p256,
      node: { uuid: UUID, name: 'n' },
      addresses: ['10.0.0.1'],
    });
    expect(codeOf(() => verifyNodeCertificate(node, [ed.certPem]))).toBe('CM_CERTIFICATE');
    const other = await issueNodeCertificate({ ca: p256, node: { uuid: UUID, name: 'n' }, addresses: [] });
    expect(
      codeOf(() => verifyNodeCertificate({ certPem: node.certPem, keyPem: other.keyPem }, [p256.certPem])),
    ).toBe('CM_CERTIFICATE');
    expect(codeOf(() => verifyNodeCertificate(node, [p256.certPem], new Date(Date.now() + 4000 * DAY)))).toBe(
      'CM_CERTIFICATE',
    );
    // a verification across CAs names the seed's words
    try {
      verifyNodeCertificate(node, [ed.certPem]);
    } catch (e) {
      expect((e as Error).message).toContain('certificate verification');
    }
  });

  it('rejects bad arguments with CM_INVALID_ARGUMENT', async () => {
    expect(
      await rejectsCode(issueNodeCertificate({ ca: p256, node: { uuid: 'nope', name: 'n' }, addresses: [] })),
    ).toBe('CM_INVALID_ARGUMENT');
    expect(
      await rejectsCode(issueNodeCertificate({ ca: p256, node: { uuid: UUID, name: '' }, addresses: [] })),
    ).toBe('CM_INVALID_ARGUMENT');
    expect(
      await rejectsCode(
        issueNodeCertificate({ ca: p256, node: { uuid: UUID, name: 'n' }, addresses: ['not an address!'] }),
      ),
    ).toBe('CM_INVALID_ARGUMENT');
    expect(await rejectsCode(createClusterCa({ algorithm: 'RSA' as 'P-256' }))).toBe('CM_INVALID_ARGUMENT');
    expect(await rejectsCode(createClusterCa({ validityDays: -1 }))).toBe('CM_INVALID_ARGUMENT');
    expect(
      await rejectsCode(
        issueNodeCertificate({
          ca: { certPem: p256.certPem, keyPem: ed.keyPem },
          node: { uuid: UUID, name: 'n' },
          addresses: [],
        }),
      ),
    ).toBe('CM_CERTIFICATE');
    expect(codeOf(() => readCertificate('garbage'))).toBe('CM_CERTIFICATE');
  });
});

describe('identity files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cm-identity-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes keys with mode 0600 and loads the identity back, CA bundle split', async () => {
    const [ca, next] = await Promise.all([createClusterCa(), createClusterCa({ algorithm: 'Ed25519' })]);
    const node = await issueNodeCertificate({
      ca,
      node: { uuid: UUID, name: 'gw1' },
      addresses: ['127.0.0.1'],
    });
    const d = join(dir, 'node');
    await writeIdentity(d, { caPems: [ca.certPem, next.certPem], ...node });
    expect((await stat(join(d, IDENTITY_FILES.key))).mode & 0o777).toBe(0o600);
    expect((await stat(d)).mode & 0o077).toBe(0);
    const loaded = await loadIdentity(d);
    expect(loaded.caPems).toHaveLength(2);
    expect(loaded.certificate.uuid).toBe(UUID);
    expect(loaded.certPem).toBe(node.certPem);
    expect(loaded.keyPem).toBe(node.keyPem);
    // rewriting keeps the mode
    await writeIdentity(d, { caPems: [ca.certPem], ...node });
    expect((await stat(join(d, IDENTITY_FILES.key))).mode & 0o777).toBe(0o600);
    expect((await loadIdentity(d)).caPems).toHaveLength(1);
  });

  it('writes and loads the cluster CA with its key at 0600', async () => {
    const ca = await createClusterCa();
    const d = join(dir, 'ca');
    await writeClusterCa(d, ca);
    expect((await stat(join(d, IDENTITY_FILES.caKey))).mode & 0o777).toBe(0o600);
    const back = await loadClusterCa(d);
    expect(back.keyPem).toBe(ca.keyPem);
    expect(readCertificate(back.certPem).fingerprint256).toBe(readCertificate(ca.certPem).fingerprint256);
  });

  it('refuses a missing directory, a certificate of another CA and a mismatched key', async () => {
    expect(await rejectsCode(loadIdentity(join(dir, 'missing')))).toBe('CM_CERTIFICATE');
    const [ca, other] = await Promise.all([createClusterCa(), createClusterCa()]);
    const node = await issueNodeCertificate({ ca, node: { uuid: UUID, name: 'gw1' }, addresses: [] });
    const d = join(dir, 'foreign');
    await writeIdentity(d, { caPems: [other.certPem], ...node });
    expect(await rejectsCode(loadIdentity(d))).toBe('CM_CERTIFICATE');
    await writeIdentity(d, { caPems: [ca.certPem], ...node });
    await writeFile(
      join(d, IDENTITY_FILES.key),
      (await issueNodeCertificate({ ca, node: { uuid: UUID, name: 'x' }, addresses: [] })).keyPem,
    );
    expect(await rejectsCode(loadIdentity(d))).toBe('CM_CERTIFICATE');
    expect(await readFile(join(d, IDENTITY_FILES.cert), 'utf8')).toBe(node.certPem);
  });
});

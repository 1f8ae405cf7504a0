import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { internetChecksum } from '@proxyha/common';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type Announcement,
  encodeMessage,
  LB_REJECT_CODES,
  LbError,
  type LbKey,
  LbVerifier,
  parseKeyFile,
  readKeyFile,
} from '../src/index';

const T0 = 1_700_000_000_000;
const oldKey: LbKey = {
  id: 1,
  secret: Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex')),
};
const newKey: LbKey = { id: 2, secret: Uint8Array.from(Buffer.from('this is the new 32-byte secret!!')) };

const base: Announcement = {
  type: 'announcement',
  group: 51,
  nodeId: '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b',
  address: '192.168.77.11',
  sequence: 1,
  timestamp: T0,
  intervalMs: 1000,
  name: 'lb-01',
  priority: 100,
  redirects: [{ originalPort: 80, destinationPort: 8080 }],
};

const msg = (sequence: number, timestamp: number, nodeId = base.nodeId): Announcement => ({
  ...base,
  sequence,
  timestamp,
  nodeId,
});

function fixChecksum(b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  out[6] = 0;
  out[7] = 0;
  const ck = internetChecksum(out);
  out[6] = ck >> 8;
  out[7] = ck & 0xff;
  return out;
}

function code(r: ReturnType<LbVerifier['verify']>): string {
  return r.ok ? 'ok' : r.error.code;
}

describe('LbVerifier: authenticated', () => {
  it('accepts a signed message and returns it', () => {
    const v = new LbVerifier({ keys: [oldKey] });
    expect(v.authenticated).toBe(true);
    expect(v.verify(encodeMessage(base, { key: oldKey }), T0)).toEqual({ ok: true, value: base });
    expect(v.stats().accepted).toBe(1);
    expect(v.stats().acceptedByKey).toEqual({ 1: 1 });
  });

  it('rotation: two keys accepted at once, each by its id; a third id is unknown', () => {
    const v = new LbVerifier({ keys: [newKey, oldKey] });
    expect(code(v.verify(encodeMessage(msg(1, T0), { key: oldKey }), T0))).toBe('ok');
    expect(code(v.verify(encodeMessage(msg(2, T0), { key: newKey }), T0))).toBe('ok');
    const third = { id: 3, secret: new Uint8Array(16).fill(3) };
    const r = v.verify(encodeMessage(msg(3, T0), { key: third }), T0);
    expect(code(r)).toBe('LB_AUTH_UNKNOWN_KEY');
    if (!r.ok) expect(r.error.details).toEqual({ offset: 56, field: 'auth.keyId' });
    expect(v.stats().acceptedByKey).toEqual({ 1: 1, 2: 1 });
  });

  it('setKeys rotates at runtime and keeps the replay memory', () => {
    const v = new LbVerifier({ keys: [oldKey] });
    expect(code(v.verify(encodeMessage(msg(5, T0), { key: oldKey }), T0))).toBe('ok');
    v.setKeys([newKey]);
    expect(code(v.verify(encodeMessage(msg(6, T0), { key: oldKey }), T0))).toBe('LB_AUTH_UNKNOWN_KEY');
    expect(code(v.verify(encodeMessage(msg(5, T0), { key: newKey }), T0))).toBe('LB_AUTH_REPLAY');
    expect(code(v.verify(encodeMessage(msg(6, T0), { key: newKey }), T0))).toBe('ok');
    expect(() => v.setKeys([oldKey, newKey, { id: 3, secret: new Uint8Array(16) }])).toThrow(LbError);
  });

  it('a wrong secret under the same id is LB_AUTH_BAD_MAC', () => {
    const v = new LbVerifier({ keys: [oldKey] });
    const forged = encodeMessage(base, { key: { id: 1, secret: new Uint8Array(16).fill(9) } });
    const r = v.verify(forged, T0);
    expect(code(r)).toBe('LB_AUTH_BAD_MAC');
    if (!r.ok) expect(r.error.details).toEqual({ offset: 57, field: 'auth.mac' });
  });

  it('a changed field with a recomputed checksum is LB_AUTH_BAD_MAC (the checksum is outside the MAC)', () => {
    const v = new LbVerifier({ keys: [oldKey] });
    const b = Uint8Array.from(encodeMessage(base, { key: oldKey }));
    b[44] = 255; // priority
    expect(code(v.verify(fixChecksum(b), T0))).toBe('LB_AUTH_BAD_MAC');
    // only the MAC changed, checksum recomputed
    const m = Uint8Array.from(encodeMessage(base, { key: oldKey }));
    m[m.length - 1]! ^= 1;
    expect(code(v.verify(fixChecksum(m), T0))).toBe('LB_AUTH_BAD_MAC');
    // and without recomputing it the checksum catches it first
    expect(code(v.verify(m, T0))).toBe('LB_BAD_CHECKSUM');
  });

  it('a message without trailer is LB_AUTH_MISSING', () => {
    const v = new LbVerifier({ keys: [oldKey] });
    expect(code(v.verify(encodeMessage(base), T0))).toBe('LB_AUTH_MISSING');
  });

  it('replay: not strictly newer in (timestamp, sequence) is LB_AUTH_REPLAY, per node id', () => {
    const v = new LbVerifier({ keys: [oldKey] });
    const first = encodeMessage(msg(10, T0), { key: oldKey });
    expect(code(v.verify(first, T0))).toBe('ok');
    expect(code(v.verify(first, T0 + 5))).toBe('LB_AUTH_REPLAY'); // the very same message
    expect(code(v.verify(encodeMessage(msg(9, T0), { key: oldKey }), T0))).toBe('LB_AUTH_REPLAY');
    expect(code(v.verify(encodeMessage(msg(11, T0 - 1), { key: oldKey }), T0))).toBe('LB_AUTH_REPLAY');
    expect(code(v.verify(encodeMessage(msg(11, T0), { key: oldKey }), T0))).toBe('ok'); // same ms, next seq
    // a restarted sender: sequence back to 0, later timestamp
    expect(code(v.verify(encodeMessage(msg(0, T0 + 1000), { key: oldKey }), T0 + 1000))).toBe('ok');
    // another node has its own memory
    const other = '0b7d5a2e-1c3f-4a5b-9d8e-7f6a5b4c3d2e';
    expect(code(v.verify(encodeMessage(msg(1, T0), { key: oldKey }), T0 + 1000))).toBe('LB_AUTH_REPLAY');
    expect(code(v.verify(encodeMessage(msg(1, T0, other), { key: oldKey }), T0 + 1000))).toBe('ok');
    expect(v.stats().nodes).toBe(2);
    v.forget(other);
    expect(v.stats().nodes).toBe(1);
    expect(code(v.verify(encodeMessage(msg(1, T0, other), { key: oldKey }), T0 + 1000))).toBe('ok');
  });

  it('rejected messages do not move the replay memory', () => {
    const v = new LbVerifier({ keys: [oldKey] });
    const forged = encodeMessage(msg(100, T0 + 10), { key: { id: 1, secret: new Uint8Array(16) } });
    expect(code(v.verify(forged, T0))).toBe('LB_AUTH_BAD_MAC');
    expect(code(v.verify(encodeMessage(msg(1, T0), { key: oldKey }), T0))).toBe('ok');
  });

  it('stale: a timestamp outside ±window of `at` is LB_AUTH_STALE (bounds included)', () => {
    const v = new LbVerifier({ keys: [oldKey] });
    expect(code(v.verify(encodeMessage(msg(1, T0 - 30_001), { key: oldKey }), T0))).toBe('LB_AUTH_STALE');
    expect(code(v.verify(encodeMessage(msg(1, T0 + 30_001), { key: oldKey }), T0))).toBe('LB_AUTH_STALE');
    expect(code(v.verify(encodeMessage(msg(1, T0 - 30_000), { key: oldKey }), T0))).toBe('ok');
    expect(code(v.verify(encodeMessage(msg(2, T0 + 30_000), { key: oldKey }), T0))).toBe('ok');
    const narrow = new LbVerifier({ keys: [oldKey], windowMs: 500 });
    const r = narrow.verify(encodeMessage(msg(1, T0 + 501), { key: oldKey }), T0);
    expect(code(r)).toBe('LB_AUTH_STALE');
    if (!r.ok) expect(r.error.details).toEqual({ offset: 28, field: 'timestamp' });
  });

  it('decode errors are returned and counted too', () => {
    const v = new LbVerifier({ keys: [oldKey] });
    expect(code(v.verify(new Uint8Array(3), T0))).toBe('LB_TRUNCATED');
    expect(code(v.verify('x' as unknown as Uint8Array, T0))).toBe('LB_TRUNCATED');
    expect(v.stats().rejected.LB_TRUNCATED).toBe(2);
  });

  it('counts every rejection by code', () => {
    const v = new LbVerifier({ keys: [oldKey, newKey] });
    v.verify(encodeMessage(msg(1, T0), { key: oldKey }), T0); // ok
    v.verify(encodeMessage(msg(1, T0), { key: oldKey }), T0); // replay
    v.verify(encodeMessage(msg(2, T0 - 60_000), { key: newKey }), T0); // stale
    v.verify(encodeMessage(msg(3, T0)), T0); // missing
    v.verify(encodeMessage(msg(4, T0), { key: { id: 9, secret: new Uint8Array(16) } }), T0); // unknown key
    v.verify(encodeMessage(msg(5, T0), { key: { id: 2, secret: new Uint8Array(16) } }), T0); // bad mac
    const s = v.stats();
    expect(s.accepted).toBe(1);
    expect(Object.keys(s.rejected)).toEqual([...LB_REJECT_CODES]);
    expect(s.rejected).toMatchObject({
      LB_AUTH_REPLAY: 1,
      LB_AUTH_STALE: 1,
      LB_AUTH_MISSING: 1,
      LB_AUTH_UNKNOWN_KEY: 1,
      LB_AUTH_BAD_MAC: 1,
      LB_AUTH_UNEXPECTED: 0,
    });
    // stats() is a snapshot
    v.verify(encodeMessage(msg(3, T0)), T0);
    expect(s.rejected.LB_AUTH_MISSING).toBe(1);
    expect(v.stats().rejected.LB_AUTH_MISSING).toBe(2);
  });

  it('validates its options', () => {
    const bad = (o: unknown) => {
      try {
        new LbVerifier(o as never);
      } catch (e) {
        expect((e as LbError).code).toBe('LB_INVALID_ARGUMENT');
        return ((e as LbError).details.issues as { path: string }[]).map((i) => i.path);
      }
      return [];
    };
    expect(bad({ keys: [oldKey, { ...newKey, id: 1 }] })).toEqual(['keys[1].id']);
    expect(bad({ keys: [{ id: 0, secret: new Uint8Array(8) }] })).toEqual(['keys[0].id', 'keys[0].secret']);
    expect(bad({ keys: [oldKey, newKey, { id: 3, secret: new Uint8Array(16) }] })).toEqual(['keys']);
    expect(bad({ windowMs: -1 })).toEqual(['windowMs']);
    expect(bad({ keys: 'k' })).toEqual(['keys']);
    expect(() => new LbVerifier({ keys: [oldKey] }).verify(new Uint8Array(0), Number.NaN)).toThrow(LbError);
  });
});

describe('LbVerifier: unauthenticated', () => {
  it('accepts unsigned messages with no time checks, rejects signed ones', () => {
    const v = new LbVerifier();
    expect(v.authenticated).toBe(false);
    const m = encodeMessage(msg(1, 0));
    expect(code(v.verify(m, T0))).toBe('ok');
    expect(code(v.verify(m, T0))).toBe('ok'); // no replay memory without keys
    expect(code(v.verify(encodeMessage(base, { key: oldKey }), T0))).toBe('LB_AUTH_UNEXPECTED');
    expect(v.stats()).toMatchObject({ accepted: 2, nodes: 0, rejected: { LB_AUTH_UNEXPECTED: 1 } });
  });
});

describe('key files', () => {
  const hex32 = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
  const b64 = Buffer.from('a secret of twenty-four b').toString('base64');

  it('parses one or two keys, the first is the primary; comments and blank lines are ignored', () => {
    const r = parseKeyFile(`# proxyha-lb keys\n\n2 ${hex32}\n1   base64:${b64}\r\n`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.primary.id).toBe(2);
    expect(Buffer.from(r.value.primary.secret).toString('hex')).toBe(hex32);
    expect(r.value.keys.map((k) => k.id)).toEqual([2, 1]);
    expect(Buffer.from(r.value.keys[1]!.secret).toString()).toBe('a secret of twenty-four b');
    const one = parseKeyFile(`7 hex:${hex32.toUpperCase()}`);
    expect(one.ok && one.value.keys.length).toBe(1);
    const bare64 = parseKeyFile(`7 ${b64}`);
    expect(bare64.ok && Buffer.from(bare64.value.primary.secret).toString()).toBe(
      'a secret of twenty-four b',
    );
  });

  it('works end to end: sign with the primary, verify with the ring', () => {
    const r = parseKeyFile(`2 ${hex32}\n1 base64:${b64}\n`);
    if (!r.ok) throw r.error;
    const v = new LbVerifier({ keys: r.value.keys });
    expect(code(v.verify(encodeMessage(base, { key: r.value.primary }), T0))).toBe('ok');
  });

  it('rejects bad files with LB_BAD_KEY_FILE naming each line, never the secret', () => {
    const bad = (t: string) => {
      const r = parseKeyFile(t, '/etc/proxyha/lb.keys');
      expect(r.ok).toBe(false);
      if (r.ok) return [];
      expect(r.error.code).toBe('LB_BAD_KEY_FILE');
      expect(r.error.message).not.toContain(hex32);
      expect(r.error.message.startsWith('/etc/proxyha/lb.keys: invalid key file:')).toBe(true);
      return r.error.details.issues.map((i) => i.path);
    };
    expect(bad('')).toEqual(['(root)']);
    expect(bad('# only a comment\n')).toEqual(['(root)']);
    expect(bad(`1 ${hex32} extra`)).toEqual(['line 1']);
    expect(bad(`0 ${hex32}\n256 ${hex32}\n01 ${hex32}\nx ${hex32}`)).toEqual([
      'line 1',
      'line 2',
      'line 3',
      'line 4',
    ]);
    expect(bad(`1 ${hex32}\n1 ${hex32}`)).toEqual(['line 2']);
    expect(bad('1 00112233')).toEqual(['line 1']); // 4 bytes
    expect(bad('1 hex:abc')).toEqual(['line 1']);
    expect(bad('1 base64:@@@@')).toEqual(['line 1']);
    expect(bad('1 not*base64')).toEqual(['line 1']);
    expect(bad(`1 ${hex32}\n2 ${hex32}\n3 ${hex32}`)).toEqual(['(root)']);
  });

  describe('readKeyFile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lb-keys-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads a file, and throws LB_BAD_KEY_FILE for a missing or bad one', async () => {
      const good = join(dir, 'good.keys');
      writeFileSync(good, `5 ${hex32}\n`);
      expect((await readKeyFile(good)).primary.id).toBe(5);
      await expect(readKeyFile(join(dir, 'missing.keys'))).rejects.toMatchObject({ code: 'LB_BAD_KEY_FILE' });
      const badFile = join(dir, 'bad.keys');
      writeFileSync(badFile, '5 short\n');
      await expect(readKeyFile(badFile)).rejects.toMatchObject({
        code: 'LB_BAD_KEY_FILE',
        details: { issues: [{ path: 'line 1' }] },
      });
    });
  });
});

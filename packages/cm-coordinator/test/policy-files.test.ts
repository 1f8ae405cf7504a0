// The exported helpers of `proxyha-cm`: policy documents from files and directories, and the status text.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CmStatus,
  formatCmStatus,
  policyDocument,
  readPolicyDirectory,
  readPolicyPath,
} from '../src/index';

const tmp = mkdtempSync(join(tmpdir(), 'proxyha-cm-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('policy documents from files', () => {
  it('text stays text; anything that is not UTF-8 is base64', () => {
    expect(policyDocument('a.conf', Buffer.from('http_port 3128\n'))).toEqual({
      name: 'a.conf',
      content: 'http_port 3128\n',
    });
    const bytes = new Uint8Array([0xff, 0x00, 0xfe, 0x41]);
    const doc = policyDocument('b.bin', bytes);
    expect(doc).toEqual({
      name: 'b.bin',
      content: Buffer.from(bytes).toString('base64'),
      encoding: 'base64',
    });
    // a view into a larger buffer: only its own bytes
    const whole = Buffer.from('xxhiyy');
    const view = new Uint8Array(whole.buffer, whole.byteOffset + 2, 2);
    expect(policyDocument('c', view).content).toBe('hi');
  });

  it('a directory: every regular file by relative path, sorted; links skipped', async () => {
    const dir = join(tmp, 'policy');
    mkdirSync(join(dir, 'lists', 'deep'), { recursive: true });
    writeFileSync(join(dir, 'squid.conf'), 'acl x\n');
    writeFileSync(join(dir, 'lists', 'blocked.txt'), 'example.com\n');
    writeFileSync(join(dir, 'lists', 'deep', 'z.bin'), Buffer.from([0xff]));
    symlinkSync(join(dir, 'squid.conf'), join(dir, 'link.conf'));
    expect(await readPolicyDirectory(dir)).toEqual([
      { name: 'lists/blocked.txt', content: 'example.com\n' },
      { name: 'lists/deep/z.bin', content: '/w==', encoding: 'base64' },
      { name: 'squid.conf', content: 'acl x\n' },
    ]);
    expect(await readPolicyPath(dir)).toEqual(await readPolicyDirectory(dir));
    expect(await readPolicyPath(join(dir, 'lists', 'blocked.txt'))).toEqual([
      { name: 'blocked.txt', content: 'example.com\n' },
    ]);
    await expect(readPolicyPath(join(tmp, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('formatCmStatus', () => {
  it('prints what proxyha-cm status prints', () => {
    const s: CmStatus = {
      self: { uuid: 'u1', name: 'mwg1' },
      inSync: false,
      nodes: [
        {
          uuid: 'u1',
          name: 'mwg1',
          address: '10.0.0.1:12346',
          version: '1.0.0',
          storageTimestamp: '2026-01-01T00:00:00.000Z/0',
          reachable: true,
          lastError: null,
        },
        {
          uuid: null,
          name: '10.0.0.2:12346',
          address: '10.0.0.2:12346',
          version: '',
          storageTimestamp: null,
          reachable: false,
          lastError: 'connect ECONNREFUSED',
        },
      ],
      conflicts: [
        {
          scope: 'policy',
          winner: { id: 'aaaaaaaaaaaaaaaa', origin: 'mwg1', storageTimestamp: 't2' },
          loser: { id: 'bbbbbbbbbbbbbbbb', origin: 'mwg2', storageTimestamp: 't1' },
        },
      ],
    };
    expect(formatCmStatus(s).split('\n')).toEqual([
      'node mwg1 (u1)',
      'cluster NOT in sync',
      '',
      '* mwg1  10.0.0.1:12346  v1.0.0  Current Storage Timestamp: 2026-01-01T00:00:00.000Z/0  reachable',
      '  10.0.0.2:12346  10.0.0.2:12346  v  Current Storage Timestamp: -  unreachable  last error: connect ECONNREFUSED',
      '',
      'conflicts (the loser is kept: save it again to restore it):',
      '  policy: aaaaaaaaaaaa (mwg1, t2) won over bbbbbbbbbbbb (mwg2, t1)',
      '',
    ]);
  });

  it('shows the path of the messages to each node behind transit nodes', () => {
    const n = (name: string, path: string[] | null) => ({
      uuid: name,
      name,
      address: `${name}:12346`,
      version: '1.0.0',
      storageTimestamp: null,
      reachable: path !== null,
      lastError: null,
      path,
    });
    const s: CmStatus = {
      self: { uuid: 'mwg1', name: 'mwg1' },
      inSync: true,
      nodes: [
        n('mwg1', ['mwg1']),
        n('tokyo-transit', ['mwg1', 'tokyo-transit']),
        n('mwg9', ['mwg1', 'tokyo-transit', 'ny-transit', 'mwg9']),
        n('mwg8', null),
      ],
      conflicts: [],
    };
    expect(formatCmStatus(s).split('\n').slice(3, 7)).toEqual([
      '* mwg1  mwg1:12346  v1.0.0  Current Storage Timestamp: -  reachable',
      '  tokyo-transit  tokyo-transit:12346  v1.0.0  Current Storage Timestamp: -  reachable  path: mwg1 -> tokyo-transit',
      '  mwg9  mwg9:12346  v1.0.0  Current Storage Timestamp: -  reachable  path: mwg1 -> tokyo-transit -> ny-transit -> mwg9',
      '  mwg8  mwg8:12346  v1.0.0  Current Storage Timestamp: -  unreachable',
    ]);
  });
});

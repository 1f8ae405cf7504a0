// `proxyha policy save FILE|DIR [-m COMMENT]` and `proxyha policy show [--json] [--out DIR]` against a real
// management server on 127.0.0.1 with the fake control.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CmError } from '@proxyha/cm-coordinator';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors';
import { scratch, startNode, stopAll } from './cli-harness';
import { SAMPLE_STORAGE_TIMESTAMP, samplePolicy } from './fake-control';

afterEach(stopAll);

describe('proxyha policy save', () => {
  it('a file: one document by its base name, with the comment; prints the version and the storage timestamp', async () => {
    const node = await startNode();
    const file = join(scratch(), 'blocked.txt');
    writeFileSync(file, 'gambling.example\n');
    const run = await node.run('policy', 'save', file, '-m', 'block gambling');
    expect(run).toEqual({
      code: 0,
      stdout:
        'saved 1 document (17 bytes) as version v-saved-1\n' +
        'Current Storage Timestamp: 2026-01-01T12:01:00.000Z.00000.11111111-1111-4111-8111-111111111111\n',
      stderr: '',
    });
    expect(node.control.calls).toEqual([
      {
        method: 'savePolicy',
        args: [[{ name: 'blocked.txt', content: 'gambling.example\n' }], { comment: 'block gambling' }],
      },
    ]);
  });

  it('a directory: every file under it by relative path, binary ones as base64', async () => {
    const node = await startNode();
    const dir = join(scratch(), 'policy');
    mkdirSync(join(dir, 'lists'), { recursive: true });
    writeFileSync(join(dir, 'squid.conf'), 'acl blocked dstdomain "/etc/squid/lists/blocked.txt"\n');
    writeFileSync(join(dir, 'lists', 'blocked.txt'), 'gambling.example\n');
    writeFileSync(join(dir, 'lists', 'logo.bin'), Buffer.from([0xff, 0xd8, 0xff, 0x00]));
    const run = await node.run('policy', 'save', dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^saved 3 documents \(74 bytes\) as version v-saved-1\n/);
    expect(node.control.calls).toEqual([
      {
        method: 'savePolicy',
        args: [
          [
            { name: 'lists/blocked.txt', content: 'gambling.example\n' },
            { name: 'lists/logo.bin', content: '/9j/AA==', encoding: 'base64' },
            { name: 'squid.conf', content: 'acl blocked dstdomain "/etc/squid/lists/blocked.txt"\n' },
          ],
          {},
        ],
      },
    ]);
  });

  it('a path that cannot be read, or an empty directory: exit 2, nothing sent', async () => {
    const node = await startNode();
    const missing = join(scratch(), 'nope');
    expect(await node.run('policy', 'save', missing)).toEqual({
      code: 2,
      stdout: '',
      stderr: `proxyha: cannot read the policy ${missing}: ENOENT\n`,
    });
    const empty = join(scratch(), 'empty');
    mkdirSync(empty);
    expect(await node.run('policy', 'save', empty)).toMatchObject({
      code: 2,
      stderr: `proxyha: ${empty} holds no file: nothing to save\n`,
    });
    expect((await node.run('policy', 'save')).code).toBe(2);
    expect(node.control.calls).toEqual([]);
  });

  it("the node's refusals: the server's code and message, exit 1", async () => {
    const node = await startNode();
    const file = join(scratch(), 'p.txt');
    writeFileSync(file, 'x');
    node.control.throwOn(
      'savePolicy',
      new GatewayError('GATEWAY_CM_DISABLED', 'central management is not configured: no policy to save'),
    );
    expect(await node.run('policy', 'save', file)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'proxyha: central management is not configured: no policy to save (GATEWAY_CM_DISABLED)\n',
    });
    node.control.throwOn('savePolicy', new CmError('CM_GUI_ATTACH', 'STATUS_ERROR_GUI_ATTACH: held by mwg2'));
    expect((await node.run('policy', 'save', file)).stderr).toBe(
      'proxyha: STATUS_ERROR_GUI_ATTACH: held by mwg2 (CM_GUI_ATTACH)\n',
    );
  });
});

describe('proxyha policy show', () => {
  it('prints version, origin, storage timestamp, comment and each document with its size', async () => {
    const node = await startNode();
    node.control.setPolicy({
      ...samplePolicy(),
      documents: [
        { name: 'blocked.txt', content: 'example.com\n' },
        { name: 'lists/logo.bin', content: '/9j/AA==', encoding: 'base64' },
      ],
    });
    expect(await node.run('policy', 'show')).toEqual({
      code: 0,
      stdout: [
        'version: v-sample-1',
        'saved on: mwg1',
        `Current Storage Timestamp: ${SAMPLE_STORAGE_TIMESTAMP}`,
        'comment: initial',
        'documents: 2',
        '  blocked.txt     12 bytes',
        '  lists/logo.bin  4 bytes (binary)',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  it('--json prints the policy with its documents', async () => {
    const node = await startNode();
    const run = await node.run('policy', 'show', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ policy: samplePolicy() });
  });

  it('--out DIR writes the documents (binary ones decoded)', async () => {
    const node = await startNode();
    node.control.setPolicy({
      ...samplePolicy(),
      documents: [
        { name: 'squid.conf', content: 'http_port 3128\n' },
        { name: 'lists/logo.bin', content: '/9j/AA==', encoding: 'base64' },
      ],
    });
    const out = join(scratch(), 'out');
    const run = await node.run('policy', 'show', '--out', out);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\nwrote 2 documents to .*\/out\n$/);
    expect(readFileSync(join(out, 'squid.conf'), 'utf8')).toBe('http_port 3128\n');
    expect(readFileSync(join(out, 'lists', 'logo.bin'))).toEqual(Buffer.from([0xff, 0xd8, 0xff, 0x00]));
    // with --json the note goes to stderr, so that stdout stays one document
    const json = await node.run('policy', 'show', '--json', '--out', join(scratch(), 'out2'));
    expect(JSON.parse(json.stdout).policy.documents).toHaveLength(2);
    expect(json.stderr).toMatch(/^wrote 2 documents to /);
  });

  it('--out refuses a document name that leaves the directory, and writes nothing', async () => {
    const node = await startNode();
    node.control.setPolicy({
      ...samplePolicy(),
      documents: [
        { name: 'ok.txt', content: 'fine' },
        { name: '../escape.txt', content: 'bad' },
      ],
    });
    const base = scratch();
    const out = join(base, 'out');
    const run = await node.run('policy', 'show', '--out', out);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `proxyha: the node sent a document named "../escape.txt": not a relative path inside ${out}; nothing written\n`,
    );
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(base)).toEqual([]);
  });

  it('no policy yet', async () => {
    const node = await startNode();
    node.control.setPolicy(null);
    expect(await node.run('policy', 'show')).toEqual({
      code: 0,
      stdout: 'no policy saved yet\n',
      stderr: '',
    });
    expect(JSON.parse((await node.run('policy', 'show', '--json')).stdout)).toEqual({ policy: null });
  });
});

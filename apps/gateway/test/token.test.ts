// The admin token file: one reader for the CLI and the node; the node makes one when there is none.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger } from '@proxyha/common';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateToken, readAdminToken } from '../src/management/token';

const dir = mkdtempSync(join(tmpdir(), 'proxyha-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('admin token file', () => {
  it('the node makes a token (mode 0600) when there is none, then reads the same one back', async () => {
    const file = join(dir, 'sub', 'admin.token');
    const log = new MemoryLogger();
    const made = await loadOrCreateToken(file, log);
    expect(made).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe(`${made}\n`);
    expect(log.lines('info')).toEqual([`management: a new admin token was written to ${file}`]);
    expect(await loadOrCreateToken(file, log)).toBe(made);
    expect(await readAdminToken(file)).toBe(made);
    expect(log.lines('info')).toHaveLength(1);
  });

  it('an operator’s token is used as written (white space around it ignored); an empty file is refused', async () => {
    const file = join(dir, 'mine.token');
    writeFileSync(file, '  s3cret-token\n');
    expect(await loadOrCreateToken(file, new MemoryLogger())).toBe('s3cret-token');
    writeFileSync(file, '\n');
    await expect(loadOrCreateToken(file, new MemoryLogger())).rejects.toMatchObject({
      code: 'GATEWAY_TOKEN_UNREADABLE',
    });
    expect(readFileSync(file, 'utf8')).toBe('\n'); // not replaced behind the operator's back
    await expect(readAdminToken(join(dir, 'absent.token'))).rejects.toMatchObject({
      code: 'GATEWAY_TOKEN_UNREADABLE',
      message: expect.stringMatching(/the node writes it at its first start/),
    });
  });
});

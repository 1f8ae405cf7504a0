// The admin bearer token file: read by the CLI (`proxyha status` ...), made by the node at its first start.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '@proxyha/common';
import { GatewayError } from '../errors';

/**
 * Reads the admin bearer token from `file` (surrounding white space, such as the final newline, ignored).
 *
 * @param file - `management.tokenFile`
 * @throws GatewayError `GATEWAY_TOKEN_UNREADABLE` naming the file when it cannot be read or holds no token
 */
export async function readAdminToken(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const e = cause as NodeJS.ErrnoException;
    const hint =
      e.code === 'EACCES'
        ? ' (run as root, or as the user the node runs as)'
        : e.code === 'ENOENT'
          ? ' (the node writes it at its first start)'
          : '';
    throw new GatewayError(
      'GATEWAY_TOKEN_UNREADABLE',
      `cannot read the admin token file ${file}: ${e.code ?? e.message}${hint}`,
      {
        cause,
        details: { file },
      },
    );
  }
  const token = text.trim();
  if (token === '' || /\s/.test(token))
    throw new GatewayError(
      'GATEWAY_TOKEN_UNREADABLE',
      `the admin token file ${file} ${token === '' ? 'is empty' : 'holds more than one word'}: it must hold the node's token`,
      { details: { file } },
    );
  return token;
}

/**
 * The node's admin token: read as {@link readAdminToken} does, or, when the file does not exist, made (32
 * random bytes, base64url) and written with mode 0600.
 *
 * @param file - `management.tokenFile`
 * @param log - where the creation is logged
 * @throws GatewayError `GATEWAY_TOKEN_UNREADABLE` for a file that exists but holds no usable token
 */
export async function loadOrCreateToken(file: string, log: Logger): Promise<string> {
  try {
    return await readAdminToken(file);
  } catch (e) {
    if ((e as { cause?: NodeJS.ErrnoException }).cause?.code !== 'ENOENT') throw e;
  }
  const token = randomBytes(32).toString('base64url');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  log.info(`management: a new admin token was written to ${file}`);
  return token;
}

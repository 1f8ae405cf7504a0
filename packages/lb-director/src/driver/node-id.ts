// The node's stable identity: a UUID kept on disk, created once.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LbError } from '../errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * This node's id: the UUID in `DIR/node-id`, created (atomically: write, rename) on first use. The id
 * outlives restarts and address changes, so the director keeps one entry per machine.
 *
 * @param dataDir - the daemon's data directory (created when missing)
 * @returns the UUID in lower-case text form
 * @throws {@link LbError} `LB_INVALID_ARGUMENT` when the file exists but holds no UUID
 */
export async function loadNodeId(dataDir: string): Promise<string> {
  const file = join(dataDir, 'node-id');
  try {
    const text = (await readFile(file, 'utf8')).trim().toLowerCase();
    if (!UUID.test(text))
      throw new LbError('LB_INVALID_ARGUMENT', `${file}: not a node id (UUID): '${text.slice(0, 40)}'`, {
        details: { issues: [{ path: file, message: 'must hold a UUID' }] },
      });
    return text;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  const id = randomUUID();
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${id}\n`, { mode: 0o644 });
  await rename(tmp, file);
  return id;
}

// Policy documents from files and directories, as `proxyha-cm policy save` reads them; exported for
// programs that embed a node (the gateway's `proxyha policy save`).
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import type { PolicyDocument } from '../machine/types';

/**
 * A policy document named `name` holding `bytes`: UTF-8 text as is, anything else base64 (`encoding:
 * 'base64'`), so that binary files survive replication byte for byte.
 *
 * @param name - the document name (a relative path, e.g. `lists/blocked.txt`)
 * @param bytes - the content
 */
export function policyDocument(name: string, bytes: Uint8Array): PolicyDocument {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buffer.toString('utf8');
  return Buffer.from(text, 'utf8').equals(buffer)
    ? { name, content: text }
    : { name, content: buffer.toString('base64'), encoding: 'base64' };
}

/**
 * Every regular file under `dir` (recursively) as a policy document named by its path relative to `dir`
 * (`/` separated), sorted by name. Symbolic links and other special files are skipped.
 *
 * @param dir - the directory
 * @throws the file system's error when `dir` or a file under it cannot be read
 */
export async function readPolicyDirectory(dir: string): Promise<PolicyDocument[]> {
  const out: PolicyDocument[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(policyDocument(relative(dir, p).split(sep).join('/'), await readFile(p)));
    }
  };
  await walk(dir);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The documents of `path`: a directory gives every file under it ({@link readPolicyDirectory}), a file one
 * document named by its base name.
 *
 * @param path - a file or a directory
 * @throws the file system's error when it cannot be read
 */
export async function readPolicyPath(path: string): Promise<PolicyDocument[]> {
  if ((await stat(path)).isDirectory()) return readPolicyDirectory(path);
  return [policyDocument(basename(path), await readFile(path))];
}

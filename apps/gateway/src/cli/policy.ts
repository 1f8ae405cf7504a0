// `proxyha policy save FILE|DIR [-m COMMENT]` and `proxyha policy show [--json] [--out DIR]`, through the
// running node's management API; central management replicates a save to every node.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type PolicyDocument, readPolicyPath, safeDocumentPath } from '@proxyha/cm-coordinator';
import { type CliIo, EXIT_OK, printJson, usageError } from '@proxyha/common/cli';
import { GatewayError } from '../errors';
import type { GatewayPolicy } from '../node/types';
import { connect } from './client';

/** The bytes of a document. */
function bytesOf(d: PolicyDocument): Buffer {
  return Buffer.from(d.content, d.encoding === 'base64' ? 'base64' : 'utf8');
}

/**
 * Saves `path` as the new policy on the node that `file` configures: a file is one document (its base
 * name), a directory every file under it (by relative path). Prints the new version and the node's
 * Current Storage Timestamp.
 *
 * @param file - the node's configuration file
 * @param path - the policy file or directory
 * @param options - `comment`: what changed
 * @param io - where to write
 * @throws `COMMON_USAGE` (exit 2) when `path` cannot be read or holds no file
 */
export async function policySaveCommand(
  file: string,
  path: string,
  options: { readonly comment?: string | undefined },
  io: CliIo,
): Promise<number> {
  let documents: PolicyDocument[];
  try {
    documents = await readPolicyPath(path);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    usageError(`cannot read the policy ${path}: ${e.code ?? e.message}`);
  }
  if (documents.length === 0) usageError(`${path} holds no file: nothing to save`);
  const client = await connect(file);
  const saved = await client.savePolicy(documents, { comment: options.comment });
  const bytes = documents.reduce((n, d) => n + bytesOf(d).length, 0);
  io.stdout.write(
    `saved ${documents.length} document${documents.length === 1 ? '' : 's'} (${bytes} bytes) as version ${saved.version}\n` +
      `Current Storage Timestamp: ${saved.storageTimestamp}\n`,
  );
  return EXIT_OK;
}

/** The text of `proxyha policy show`. */
export function formatPolicy(p: GatewayPolicy | null): string {
  if (p === null) return 'no policy saved yet\n';
  const rows = p.documents.map((d) => [
    d.name,
    `${bytesOf(d).length} bytes${d.encoding === 'base64' ? ' (binary)' : ''}`,
  ]);
  const width = Math.max(0, ...rows.map(([n]) => (n as string).length));
  return [
    `version: ${p.id}`,
    `saved on: ${p.origin}`,
    `Current Storage Timestamp: ${p.storageTimestamp}`,
    `comment: ${p.comment ?? '-'}`,
    `documents: ${p.documents.length}`,
    ...rows.map(([n, size]) => `  ${(n as string).padEnd(width)}  ${size}`),
    '',
  ].join('\n');
}

/**
 * Prints the current policy of the node that `file` configures (version id, origin, storage timestamp,
 * comment, each document's name and size; `--json`: the whole policy with its documents), and with
 * `--out DIR` writes its documents under DIR.
 *
 * @param file - the node's configuration file
 * @param options - `json`, `out`
 * @param io - where to write
 * @throws GatewayError `GATEWAY_API_ERROR` when the node sends a document name that is not a safe relative
 *   path (nothing is written then)
 */
export async function policyShowCommand(
  file: string,
  options: { readonly json?: boolean; readonly out?: string | undefined },
  io: CliIo,
): Promise<number> {
  const policy = await (await connect(file)).policy();
  if (options.json) printJson(io, { policy });
  else io.stdout.write(formatPolicy(policy));
  if (options.out !== undefined && policy !== null) {
    const out = options.out;
    const targets = policy.documents.map((d) => {
      const safe = typeof d.name === 'string' ? safeDocumentPath(d.name) : undefined;
      if (safe === undefined)
        throw new GatewayError(
          'GATEWAY_API_ERROR',
          `the node sent a document named ${JSON.stringify(d.name)}: not a relative path inside ${out}; nothing written`,
          {
            details: { name: d.name },
          },
        );
      return { path: join(out, safe), bytes: bytesOf(d) };
    });
    for (const t of targets) {
      await mkdir(dirname(t.path), { recursive: true });
      await writeFile(t.path, t.bytes, { mode: 0o644 });
    }
    (options.json ? io.stderr : io.stdout).write(
      `wrote ${targets.length} document${targets.length === 1 ? '' : 's'} to ${out}\n`,
    );
  }
  return EXIT_OK;
}

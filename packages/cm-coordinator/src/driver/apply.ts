// Puts a policy version in place: its documents are written to a new directory (every file fsynced), then
// the policy path (a symbolic link) is switched to it with one rename, so readers see the old or the new
// policy, whole. Then the apply command runs; if it fails the link goes back to the previous version.
import { lstat, mkdir, open, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { type CommandRunner, type Logger, noopLogger, runCommand } from '@proxyha/common';
import { CmError } from '../errors';
import type { PolicyDocument, Version } from '../machine/types';

/** What {@link PolicyApplier.apply} did. */
export interface ApplyOutcome {
  /** The version now in place. */
  readonly version: string;
  /** Whether the apply command ran and succeeded (undefined when there is none). */
  readonly commandOk: boolean | undefined;
  /** The command's failure (exit status and output), when it failed: the previous version is back. */
  readonly failure?: string;
}

/** Options of {@link PolicyApplier}. */
export interface PolicyApplierOptions {
  /** The policy path: a symbolic link to the current version's directory (created on first use). */
  readonly policyDir: string;
  /** Run after a switch (program and arguments, no shell). */
  readonly applyCommand?: readonly string[] | undefined;
  /** Runs the command (default `runCommand`). */
  readonly run?: CommandRunner | undefined;
  /** Operator log. */
  readonly logger?: Logger | undefined;
  /** Timeout of the apply command, ms (default 60 s). */
  readonly timeoutMs?: number | undefined;
}

/** A document name as a safe relative path (no `..`, not absolute), or undefined. */
export function safeDocumentPath(name: string): string | undefined {
  if (name.length === 0 || isAbsolute(name) || name.includes('\0')) return undefined;
  const n = normalize(name);
  if (n.startsWith('..') || n.split(sep).includes('..') || n === '.') return undefined;
  return n;
}

async function writeSynced(file: string, data: Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const fh = await open(file, 'w', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function bytesOf(doc: PolicyDocument): Buffer {
  return Buffer.from(doc.content, doc.encoding === 'base64' ? 'base64' : 'utf8');
}

/**
 * Writes policy versions into place atomically and runs the apply command (`squid -k reconfigure`, a
 * signal to tinyproxy, ...). Versions live in `<policyDir>.versions/<id>`; `<policyDir>` is a symbolic
 * link to the current one; the previous one is kept for a rollback.
 */
export class PolicyApplier {
  readonly #o: PolicyApplierOptions;
  readonly #log: Logger;

  /** @param options - paths, command, runner, logger */
  constructor(options: PolicyApplierOptions) {
    this.#o = options;
    this.#log = options.logger ?? noopLogger;
  }

  /** The id of the version in place, if any. */
  async current(): Promise<string | undefined> {
    try {
      const target = await readlink(this.#o.policyDir);
      return target.split(/[\\/]/).pop();
    } catch {
      return undefined;
    }
  }

  /**
   * Puts `version` in place and runs the apply command.
   *
   * @throws {@link CmError} `CM_INVALID_ARGUMENT` for a document name that would leave the directory
   */
  async apply(version: Version): Promise<ApplyOutcome> {
    const store = `${this.#o.policyDir}.versions`;
    const dir = join(store, version.id);
    const previous = await this.current();
    if (previous !== version.id) {
      const tmp = `${dir}.tmp-${process.pid}`;
      await rm(tmp, { recursive: true, force: true });
      await mkdir(tmp, { recursive: true });
      for (const doc of version.documents) {
        const rel = safeDocumentPath(doc.name);
        if (rel === undefined)
          throw new CmError(
            'CM_INVALID_ARGUMENT',
            `document name ${JSON.stringify(doc.name)} leaves the policy directory`,
            {
              details: {
                issues: [{ path: 'documents', message: `unsafe name ${JSON.stringify(doc.name)}` }],
              },
            },
          );
        await writeSynced(join(tmp, rel), bytesOf(doc));
      }
      await syncDir(tmp);
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
      await syncDir(store);
      await this.#switch(version.id);
    }
    const cmd = this.#o.applyCommand;
    if (!cmd || cmd.length === 0) return { version: version.id, commandOk: undefined };
    const [program, ...args] = cmd as [string, ...string[]];
    const r = await (this.#o.run ?? runCommand)(program, args, { timeoutMs: this.#o.timeoutMs ?? 60_000 });
    if (r.code === 0) {
      this.#log.info(`policy ${version.id.slice(0, 12)} applied (${cmd.join(' ')})`);
      await this.#prune(version.id, previous);
      return { version: version.id, commandOk: true };
    }
    const failure = `${cmd.join(' ')} exited ${r.code ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(0, 500)}`;
    if (previous !== undefined && previous !== version.id) {
      await this.#switch(previous);
      this.#log.error(
        `policy ${version.id.slice(0, 12)} not applied: ${failure}; kept ${previous.slice(0, 12)}`,
      );
    } else this.#log.error(`policy ${version.id.slice(0, 12)}: apply command failed: ${failure}`);
    return { version: previous ?? version.id, commandOk: false, failure };
  }

  async #switch(id: string): Promise<void> {
    const link = this.#o.policyDir;
    const st = await lstat(link).catch(() => undefined);
    if (st?.isDirectory()) {
      // a directory of files from before proxyha: kept aside once, the link takes its place
      await rename(link, `${link}.before-proxyha`);
      this.#log.warn(`${link} was a directory: moved to ${link}.before-proxyha`);
    }
    const tmp = `${link}.link-${process.pid}`;
    await rm(tmp, { force: true });
    await symlink(join(`${link}.versions`, id), tmp);
    await rename(tmp, link);
    await syncDir(dirname(link));
  }

  /** Keeps the current and the previous version's directories, removes older ones. */
  async #prune(current: string, previous: string | undefined): Promise<void> {
    const store = `${this.#o.policyDir}.versions`;
    for (const name of await readdir(store).catch(() => [] as string[]))
      if (name !== current && name !== previous)
        await rm(join(store, name), { recursive: true, force: true });
  }
}

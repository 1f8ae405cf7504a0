import { createRequire } from 'node:module';
import { type CommandResult, checkCommand, runCommand } from '@proxyha/common';

/** What a finished command printed and how it ended (`@proxyha/common`'s `CommandResult`). */
export type ExecResult = CommandResult;

/** Options of {@link run}. */
export interface RunOptions {
  /** Do not throw on a non-zero exit; return the result instead. */
  allowFailure?: boolean;
  /** Kill the command after this many milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Data written to the command's stdin. */
  input?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
}

/**
 * Runs a command to completion (no shell) and returns its output; throws `COMMON_COMMAND_FAILED`
 * (`@proxyha/common`'s `checkCommand`) when it fails, unless `allowFailure`.
 */
export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<ExecResult> {
  const options = {
    timeoutMs: opts.timeoutMs ?? 30_000,
    ...(opts.input === undefined ? {} : { input: opts.input }),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  };
  if (opts.allowFailure) return runCommand(cmd, args, options);
  let result: CommandResult | undefined;
  await checkCommand(
    async (file, a, o) => {
      result = await runCommand(file, a, o);
      return result;
    },
    cmd,
    args,
    options,
  );
  return result as CommandResult;
}

/** True when this process runs as root (the namespace tests need it). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

const tsxLoader = createRequire(import.meta.url).resolve('tsx');

/**
 * Node arguments that run a TypeScript entry point of the workspace from its sources (no build needed):
 * `[...sourceNodeArgs('packages/vrrpd/src/bin.ts'), '--config', file]` after `process.execPath`. Uses the
 * tsx loader and the `@proxyha/source` export condition, so workspace packages resolve to `src/`.
 *
 * @param entry - path of the `.ts` file to run
 */
export function sourceNodeArgs(entry: string): string[] {
  return ['--import', tsxLoader, '--conditions=@proxyha/source', entry];
}

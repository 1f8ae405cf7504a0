import { execFile } from 'node:child_process';

/** What a finished command printed and how it ended. */
export interface ExecResult {
  /** Everything the command wrote to stdout. */
  stdout: string;
  /** Everything the command wrote to stderr. */
  stderr: string;
  /** The exit code (null when a signal ended it). */
  code: number | null;
}

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

/** A command that exited non-zero (or could not start), with its output. */
export class CommandError extends Error {
  /** Stable error code. */
  readonly code = 'TESTLAB_COMMAND_FAILED';
  constructor(
    /** The command line that failed. */
    readonly command: string,
    /** Its output and exit status. */
    readonly result: ExecResult,
  ) {
    super(
      `command failed (exit ${result.code}): ${command}\n${result.stderr.trim() || result.stdout.trim()}`.trim(),
    );
    this.name = 'CommandError';
  }
}

/** Runs a command to completion and returns its output; throws {@link CommandError} on failure. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args as string[],
      {
        timeout: opts.timeoutMs ?? 30_000,
        maxBuffer: 64 * 1024 * 1024,
        env: opts.env ? { ...process.env, ...opts.env } : process.env,
        cwd: opts.cwd,
        killSignal: 'SIGKILL',
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        const result = { stdout: String(stdout), stderr: String(stderr), code };
        if (err && !opts.allowFailure) {
          if (typeof err.code === 'string') result.stderr += `\n${err.message}`;
          reject(new CommandError([cmd, ...args].join(' '), result));
        } else resolve(result);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** True when this process runs as root (the namespace tests need it). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

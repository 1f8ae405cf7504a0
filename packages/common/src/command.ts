// Running programs (ip, nft, sysctl, scripts): one runner type, a real one and a checked call.
import { execFile } from 'node:child_process';
import { CommonError } from './errors';

/** How a command ended. */
export interface CommandResult {
  /** Everything it wrote to stdout. */
  readonly stdout: string;
  /** Everything it wrote to stderr (or why it could not start). */
  readonly stderr: string;
  /** Exit status; 127 when it could not start; `null` when a signal ended it (a timeout included). */
  readonly code: number | null;
  /** The signal that ended it, if one did. */
  readonly signal: string | null;
  /** True when it was killed for running longer than `timeoutMs`. */
  readonly timedOut: boolean;
}

/** Options of a {@link CommandRunner} call. */
export interface CommandOptions {
  /** Written to the command's stdin (then closed), e.g. an `nft -f -` ruleset. */
  readonly input?: string;
  /** Kill it (SIGKILL) after this many milliseconds; default 10 000. */
  readonly timeoutMs?: number;
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory. */
  readonly cwd?: string;
}

/**
 * Runs a program with arguments, without a shell, and resolves with how it ended. It never rejects for an
 * exit status: the caller decides (see {@link checkCommand}). Inject one to run commands inside a network
 * namespace, to record them in tests, or to refuse them.
 */
export type CommandRunner = (
  file: string,
  args: readonly string[],
  options?: CommandOptions,
) => Promise<CommandResult>;

/** The real {@link CommandRunner}: `execFile`, no shell, 64 MiB of output at most. */
export const runCommand: CommandRunner = (file, args, options = {}) =>
  new Promise((resolve) => {
    const child = execFile(
      file,
      [...args],
      {
        encoding: 'utf8',
        timeout: options.timeoutMs ?? 10_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
        ...(options.cwd ? { cwd: options.cwd } : {}),
      },
      (error, stdout, stderr) => {
        const e = error as (NodeJS.ErrnoException & { killed?: boolean; signal?: string | null }) | null;
        const notStarted = e !== null && typeof e.code === 'string';
        resolve({
          stdout: String(stdout ?? ''),
          stderr: notStarted ? `${String(stderr ?? '')}${e.message}` : String(stderr ?? ''),
          code: e === null ? 0 : notStarted ? 127 : typeof e.code === 'number' ? e.code : null,
          signal: e?.signal ?? null,
          timedOut: e?.killed === true && e.signal === 'SIGKILL',
        });
      },
    );
    child.stdin?.on('error', () => {
      // the command exited before reading its input: its status says what happened
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });

/** What {@link checkCommand} throws: the command line and how it ended. */
export interface CommandFailure {
  /** The command line, for the message. */
  readonly command: string;
  /** How it ended. */
  readonly result: CommandResult;
}

/**
 * Runs a command and returns its stdout; throws `COMMON_COMMAND_FAILED` (with the command line, exit
 * status and stderr in the message, and the result in `details`) when it exits non-zero, is killed or
 * cannot start.
 *
 * @param run - the runner
 * @param file - the program
 * @param args - its arguments
 * @param options - input, timeout, environment
 */
export async function checkCommand(
  run: CommandRunner,
  file: string,
  args: readonly string[],
  options?: CommandOptions,
): Promise<string> {
  const result = await run(file, args, options);
  if (result.code === 0) return result.stdout;
  const command = [file, ...args].join(' ');
  const how = result.timedOut
    ? `timed out after ${options?.timeoutMs ?? 10_000} ms`
    : result.code === null
      ? `killed by ${result.signal}`
      : `exit ${result.code}`;
  const why = result.stderr.trim() || result.stdout.trim();
  throw new CommonError<CommandFailure>(
    'COMMON_COMMAND_FAILED',
    `${command}: ${how}${why ? `: ${why}` : ''}`,
    {
      details: { command, result },
    },
  );
}

import { type ChildProcess, spawn } from 'node:child_process';

/** How a managed process ended. */
export interface ProcessExit {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: NodeJS.Signals | null;
}

/** Options for {@link ManagedProcess}. */
export interface SpawnOptions {
  /** A short label used in error messages and timeouts (default: the command). */
  name?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
}

/**
 * A long-running process started by a {@link Scope}: output is captured, it runs in a
 * process group of its own (so `kill` reaches the children it forks, as keepalived
 * does), and the scope kills it at teardown if the test did not.
 */
export class ManagedProcess {
  /** Process id (also the id of its process group). */
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ProcessExit>;
  /** The label given at spawn. */
  readonly name: string;
  #out = '';
  #err = '';
  #all = '';
  #exit: ProcessExit | undefined;
  #child: ChildProcess;
  #waiters = new Set<() => void>();

  /** @internal use {@link Scope.spawn}. */
  constructor(argv: readonly string[], opts: SpawnOptions = {}) {
    const [cmd, ...args] = argv as [string, ...string[]];
    this.name = opts.name ?? cmd;
    this.#child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      cwd: opts.cwd,
    });
    if (this.#child.pid === undefined) {
      // spawn failure is reported through 'error'; keep a pid-less placeholder.
      this.pid = -1;
    } else this.pid = this.#child.pid;
    this.#child.stdout?.setEncoding('utf8').on('data', (d: string) => this.#append(d, 'out'));
    this.#child.stderr?.setEncoding('utf8').on('data', (d: string) => this.#append(d, 'err'));
    this.exited = new Promise((resolve) => {
      this.#child.on('error', (e) => {
        this.#append(`spawn error: ${e.message}\n`, 'err');
        this.#exit ??= { code: null, signal: null };
        resolve(this.#exit);
        this.#wake();
      });
      this.#child.on('close', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
        this.#wake();
      });
    });
  }

  #append(data: string, stream: 'out' | 'err') {
    if (stream === 'out') this.#out += data;
    else this.#err += data;
    this.#all += data;
    this.#wake();
  }

  #wake() {
    for (const w of this.#waiters) w();
  }

  /** Everything written to stdout so far. */
  stdout(): string {
    return this.#out;
  }
  /** Everything written to stderr so far. */
  stderr(): string {
    return this.#err;
  }
  /** stdout and stderr interleaved in arrival order. */
  output(): string {
    return this.#all;
  }
  /** The exit status once exited, else undefined. */
  get exitStatus(): ProcessExit | undefined {
    return this.#exit;
  }
  /** True while the process has not exited. */
  get running(): boolean {
    return this.#exit === undefined && this.pid > 0;
  }

  /**
   * Waits until the combined output (from `fromOffset`, default 0) matches `pattern`.
   * Rejects with the output so far when `timeoutMs` passes or the process exits first.
   */
  waitForOutput(pattern: RegExp, timeoutMs = 10_000, fromOffset = 0): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.#all.slice(fromOffset).match(pattern);
        if (m) return done(() => resolve(m));
        if (this.#exit)
          return done(() =>
            reject(
              new Error(
                `${this.name} exited (${this.#exit?.code ?? this.#exit?.signal}) before printing ${pattern}:\n${this.#all}`,
              ),
            ),
          );
      };
      const timer = setTimeout(
        () =>
          done(() => reject(new Error(`${this.name}: no ${pattern} within ${timeoutMs} ms:\n${this.#all}`))),
        timeoutMs,
      );
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        fn();
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Sends `signal` to the process group (default SIGTERM); no-op when already exited. */
  signal(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      try {
        process.kill(this.pid, signal);
      } catch {
        /* already gone */
      }
    }
  }

  /**
   * Stops the process: sends `signal` (default SIGTERM) to its group and waits up to
   * `graceMs` (default 5 000) before SIGKILL. Resolves with the exit status.
   */
  async kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<ProcessExit> {
    if (!this.running) return this.exited;
    this.signal(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) this.signal('SIGKILL');
    return this.exited;
  }
}

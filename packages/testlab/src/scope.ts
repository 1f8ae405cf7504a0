import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExecResult, type RunOptions, run } from './exec';
import { ManagedProcess, type SpawnOptions } from './process';

/** Options of {@link Scope.chronyd}. */
export interface ChronydOptions {
  /** Lab node to run in; omit on a plain {@link Scope} (host, loopback). */
  node?: string;
  /** UDP port chronyd serves NTP on. */
  port: number;
  /** Address to bind (default 127.0.0.1). */
  address?: string;
  /** Extra chrony.conf lines, e.g. `local stratum 8` (the default when omitted). */
  extraConfig?: string;
}

/** Options of {@link Scope.tinyproxy}. */
export interface TinyproxyOptions {
  /** Lab node to run in; omit on a plain {@link Scope}. */
  node?: string;
  /** TCP port tinyproxy listens on. */
  port: number;
  /** Address to listen on (default 127.0.0.1). */
  address?: string;
  /** Extra tinyproxy.conf lines. */
  extraConfig?: string;
}

const live = new Set<Scope>();
let handlersInstalled = false;

function installHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.once('exit', () => {
    for (const s of live) s.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const s of live) s.destroySync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/**
 * Owns what a test starts on the host: processes, temporary directories and cleanup
 * steps. {@link Scope.destroy} removes all of it (processes killed with their
 * children, directories deleted, steps run in reverse order); the same happens
 * synchronously if the process exits or is interrupted first.
 */
export class Scope {
  /** Unique id of this scope within the machine (pid and a counter). */
  readonly id: string;
  #procs = new Set<ManagedProcess>();
  #dirs: string[] = [];
  #cleanups: { async: () => Promise<void>; sync: () => void }[] = [];
  #destroyed = false;
  static #seq = 0;

  /** @internal use {@link withScope}, {@link Scope.create} or {@link Lab.create}. */
  constructor() {
    this.id = `${process.pid}-${++Scope.#seq}`;
    installHandlers();
    live.add(this);
  }

  /** Creates a scope on the host (no namespaces). */
  static async create(): Promise<Scope> {
    return new Scope();
  }

  /** True once {@link destroy} has run. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Registers a cleanup step (async, plus a synchronous variant for interrupts). */
  protected onCleanup(async: () => Promise<void>, sync: () => void): void {
    this.#cleanups.push({ async, sync });
  }

  /** The argv that runs `argv` in `node` (the host scope has no nodes). */
  protected wrap(node: string | null, argv: readonly string[]): string[] {
    if (node !== null) throw new Error(`this scope has no lab node '${node}'; use Lab for namespaces`);
    return [...argv];
  }

  /** Runs a command to completion in `node` (null: on the host). */
  exec(
    node: string | null,
    cmd: string,
    args: readonly string[] = [],
    opts?: RunOptions,
  ): Promise<ExecResult> {
    const [c, ...a] = this.wrap(node, [cmd, ...args]) as [string, ...string[]];
    return run(c, a, opts);
  }

  /** Starts a long-running process in `node` (null: on the host); killed at teardown. */
  spawn(node: string | null, cmd: string, args: readonly string[] = [], opts?: SpawnOptions): ManagedProcess {
    if (this.#destroyed) throw new Error('scope already destroyed');
    const p = new ManagedProcess(this.wrap(node, [cmd, ...args]), { name: opts?.name ?? cmd, ...opts });
    this.#procs.add(p);
    void p.exited.then(() => this.#procs.delete(p));
    return p;
  }

  /** A new temporary directory, removed at teardown. */
  async runDir(label = 'run'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), `proxyha-${label.replace(/[^\w.-]/g, '_')}-`));
    this.#dirs.push(dir);
    return dir;
  }

  /**
   * Starts a real chronyd serving NTP (never touching the clock: `-x`) and waits until
   * it has started. The default configuration serves its local clock at stratum 8.
   */
  async chronyd(opts: ChronydOptions): Promise<ManagedProcess> {
    const dir = await this.runDir('chronyd');
    const address = opts.address ?? '127.0.0.1';
    const conf = [
      `port ${opts.port}`,
      `bindaddress ${address}`,
      `allow ${address.includes(':') ? '::/0' : '0.0.0.0/0'}`,
      'cmdport 0',
      `pidfile ${dir}/chronyd.pid`,
      `driftfile ${dir}/drift`,
      opts.extraConfig ?? 'local stratum 8',
    ].join('\n');
    await writeFile(join(dir, 'chrony.conf'), `${conf}\n`);
    const p = this.spawn(
      opts.node ?? null,
      'chronyd',
      ['-d', '-x', '-u', 'root', '-f', join(dir, 'chrony.conf')],
      {
        name: `chronyd:${opts.port}`,
      },
    );
    await p.waitForOutput(/chronyd version .* starting/, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    if (!p.running) throw new Error(`chronyd exited at start:\n${p.output()}`);
    return p;
  }

  /** Starts a real tinyproxy in the foreground and waits until it accepts connections. */
  async tinyproxy(opts: TinyproxyOptions): Promise<ManagedProcess> {
    const dir = await this.runDir('tinyproxy');
    const address = opts.address ?? '127.0.0.1';
    const conf = [
      'User nobody',
      'Group nogroup',
      `Port ${opts.port}`,
      `Listen ${address}`,
      'Timeout 30',
      'LogLevel Info',
      'MaxClients 100',
      `PidFile "${dir}/tinyproxy.pid"`,
      'DisableViaHeader Yes',
      opts.extraConfig ?? '',
    ].join('\n');
    await writeFile(join(dir, 'tinyproxy.conf'), `${conf}\n`);
    const p = this.spawn(opts.node ?? null, 'tinyproxy', ['-d', '-c', join(dir, 'tinyproxy.conf')], {
      name: `tinyproxy:${opts.port}`,
    });
    await this.waitForTcp(opts.node ?? null, address, opts.port, 10_000, p);
    return p;
  }

  /** Waits until `address:port` accepts a TCP connection from `node` (null: host). */
  async waitForTcp(
    node: string | null,
    address: string,
    port: number,
    timeoutMs = 10_000,
    proc?: ManagedProcess,
  ) {
    const deadline = Date.now() + timeoutMs;
    const host = address.includes(':') ? `[${address}]` : address;
    for (;;) {
      const r = await this.exec(node, 'socat', ['-u', '/dev/null', `TCP:${host}:${port},connect-timeout=1`], {
        allowFailure: true,
        timeoutMs: 3_000,
      });
      if (r.code === 0) return;
      if (proc && !proc.running) throw new Error(`${proc.name} exited:\n${proc.output()}`);
      if (Date.now() > deadline)
        throw new Error(`nothing accepts TCP on ${host}:${port} after ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  /** Kills every process (with its children), runs cleanup steps, removes directories. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await Promise.all([...this.#procs].map((p) => p.kill('SIGTERM', 2_000)));
    for (const c of this.#cleanups.reverse()) {
      try {
        await c.async();
      } catch (e) {
        console.error(`testlab cleanup step failed: ${(e as Error).message}`);
      }
    }
    await Promise.all(this.#dirs.map((d) => rm(d, { recursive: true, force: true })));
    live.delete(this);
  }

  /** Synchronous teardown for process exit and interrupts. */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const p of this.#procs) p.signal('SIGKILL');
    for (const c of this.#cleanups.reverse()) {
      try {
        c.sync();
      } catch {
        /* best effort */
      }
    }
    for (const d of this.#dirs) rmSync(d, { recursive: true, force: true });
    live.delete(this);
  }
}

/** Runs a command synchronously, ignoring failure (for interrupt-time cleanup). */
export function runSyncQuiet(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).toString();
  } catch {
    return '';
  }
}

/** Creates a host {@link Scope}, runs `body` with it and always destroys it afterwards. */
export async function withScope<T>(body: (scope: Scope) => Promise<T>): Promise<T> {
  const scope = await Scope.create();
  try {
    return await body(scope);
  } finally {
    await scope.destroy();
  }
}

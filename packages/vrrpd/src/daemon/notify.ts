// keepalived's notify scripts (notify_master, notify_backup, notify_fault, notify_stop, notify) and its
// notify FIFO (vrrp_notify_fifo, notify_fifo_script, notify_priority_changes) for proxyha-vrrpd.
//
// The state machine never waits for any of it: a transition only appends an event to a queue. The queue
// is worked off after the I/O that is already pending (the advert, the VIP requests), in order: for each
// event the specific script is started, then the generic `notify` script, then the FIFO line is written
// (keepalived's order). Scripts run detached in their own process group, with a timeout (SIGTERM, then
// SIGKILL), and may end in any order; the FIFO is the channel whose lines arrive in order.
import { type ChildProcess, spawn } from 'node:child_process';
import { close, constants as fsc, fstat, open } from 'node:fs';
import { lstat, readFile, unlink } from 'node:fs/promises';
import { Socket } from 'node:net';
import { promisify } from 'node:util';
import {
  type Clock,
  type CommandRunner,
  type ConfigIssue,
  err,
  type Logger,
  ok,
  type Result,
  type TimerHandle,
} from '@proxyha/common';
import {
  type MachineAction,
  type MachineConfig,
  type MachineEvent,
  type MachineStateName,
  type RouterTransition,
  VrrpMachine,
} from '@proxyha/vrrp';
import type { NotifyCommandConfig, VrrpDaemonConfig } from '../config/config';
import { VrrpdError } from '../errors';

/** The state words of keepalived's notify arguments and FIFO lines. */
type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';
/** What a FIFO line can say: a state, or (with `notifyPriorityChanges`) a priority change. */
type FifoWord = NotifyState | 'MASTER_PRIORITY' | 'BACKUP_PRIORITY';

/** One queued notification. */
interface NotifyEvent {
  readonly kind: 'INSTANCE' | 'GROUP';
  readonly name: string;
  readonly word: FifoWord;
  readonly priority: number;
}

/** The uid/gid (and home) a script runs as. */
interface UserIds {
  readonly uid: number;
  readonly gid: number;
  readonly name?: string | undefined;
  readonly home?: string | undefined;
}

/** A configured command with the name it is logged under. */
interface NotifyCommand {
  /** keepalived's keyword: `notify_master`, `notify`, `notify_fifo_script`. */
  readonly keyword: string;
  /** `(VI_1)` or `VRRP_Group(G1)`, or '' for the FIFO script. */
  readonly owner: string;
  /** Where it is configured, for error messages (`instances[0].notifyMaster`). */
  readonly path: string;
  readonly config: NotifyCommandConfig;
  /** The user spec that applies (its own, else `scriptUser`), if any. */
  readonly user: string | undefined;
}

/** The commands of one instance or sync group. */
interface Target {
  readonly byState: Partial<Record<NotifyState, NotifyCommand>>;
  readonly generic: NotifyCommand | undefined;
}

/** Everything the notifier reads from a configuration. */
interface Tables {
  readonly config: VrrpDaemonConfig;
  readonly instances: ReadonlyMap<string, Target>;
  readonly groups: ReadonlyMap<string, Target & { readonly members: readonly string[] }>;
  readonly groupOf: ReadonlyMap<string, string>;
  /** Every command, the FIFO script included. */
  readonly commands: readonly NotifyCommand[];
}

type NotifyKeys = 'notifyMaster' | 'notifyBackup' | 'notifyFault' | 'notifyStop' | 'notify';

function tablesOf(config: VrrpDaemonConfig): Tables {
  const commands: NotifyCommand[] = [];
  const command = (keyword: string, owner: string, path: string, c: NotifyCommandConfig): NotifyCommand => {
    const out = { keyword, owner, path, config: c, user: c.user ?? config.scriptUser };
    commands.push(out);
    return out;
  };
  const target = (
    where: Partial<Record<NotifyKeys, NotifyCommandConfig>>,
    owner: string,
    path: string,
  ): Target => {
    const byState: Partial<Record<NotifyState, NotifyCommand>> = {};
    for (const state of ['MASTER', 'BACKUP', 'FAULT', 'STOP'] as const) {
      const c = where[SETTING[state]];
      if (c) byState[state] = command(KEYWORD[state], owner, `${path}.${SETTING[state]}`, c);
    }
    const g = where.notify;
    return { byState, generic: g ? command('notify', owner, `${path}.notify`, g) : undefined };
  };
  const instances = new Map<string, Target>();
  const groups = new Map<string, Target & { readonly members: readonly string[] }>();
  const groupOf = new Map<string, string>();
  for (const [i, inst] of config.instances.entries())
    instances.set(inst.name, target(inst, `(${inst.name})`, `instances[${i}]`));
  for (const [i, g] of config.syncGroups.entries()) {
    groups.set(g.name, { ...target(g, `VRRP_Group(${g.name})`, `syncGroups[${i}]`), members: g.instances });
    for (const m of g.instances) groupOf.set(m, g.name);
  }
  if (config.notifyFifoScript) command('notify_fifo_script', '', 'notifyFifoScript', config.notifyFifoScript);
  return { config, instances, groups, groupOf, commands };
}

/** Time a script has between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2_000;
/** Time the FIFO gets to take the last lines at shutdown before they are dropped. */
const FIFO_FLUSH_MS = 2_000;
/** Time the FIFO's reader script gets to end by itself once the FIFO is closed, before SIGTERM. */
const READER_GRACE_MS = 1_000;
/** Lines waiting for a FIFO reader beyond this many bytes (past the pipe's own buffer) are dropped. */
const MAX_FIFO_BACKLOG = 1024 * 1024;
const WORD: Record<MachineStateName, NotifyState> = {
  master: 'MASTER',
  backup: 'BACKUP',
  fault: 'FAULT',
  initialize: 'STOP',
};
const KEYWORD: Record<NotifyState, string> = {
  MASTER: 'notify_master',
  BACKUP: 'notify_backup',
  FAULT: 'notify_fault',
  STOP: 'notify_stop',
};
const SETTING: Record<NotifyState, 'notifyMaster' | 'notifyBackup' | 'notifyFault' | 'notifyStop'> = {
  MASTER: 'notifyMaster',
  BACKUP: 'notifyBackup',
  FAULT: 'notifyFault',
  STOP: 'notifyStop',
};
/** Variables keepalived removes from a script's environment. */
const UNSAFE_ENV = ['IFS', 'LD_PRELOAD', 'LD_LIBRARY_PATH'];
/**
 * A {@link VrrpMachine} that reports each change of its effective priority (keepalived's
 * `notify_priority_changes`) after the event that caused it, in order with the router's transitions.
 */
class PriorityReportingMachine extends VrrpMachine {
  readonly #report: (state: MachineStateName, priority: number) => void;

  constructor(config: MachineConfig, report: (state: MachineStateName, priority: number) => void) {
    super(config);
    this.#report = report;
  }

  override handle(event: MachineEvent): MachineAction[] {
    const out = super.handle(event);
    for (const a of out)
      if (a.type === 'priorityChanged') {
        const state = this.state;
        // a microtask: after the transitions of earlier events, which the router emits the same way
        queueMicrotask(() => this.#report(state, a.to));
      }
    return out;
  }
}

/** What the {@link Notifier} needs from the daemon. */
export interface NotifierOptions {
  /** Log lines (keepalived's wording where it has one). */
  readonly logger: Logger;
  /** Script timeouts and the queue's turn after pending I/O. */
  readonly clock: Clock;
  /** Runs `getent` (user look-ups) and `mkfifo`. */
  readonly run: CommandRunner;
}

/**
 * The daemon's notifications: keepalived's notify scripts per instance and sync group, and the notify
 * FIFO with its reader script. {@link Notifier.transition} only queues; nothing the state machine does
 * waits for a script or for the FIFO's reader.
 */
export class Notifier {
  #t: Tables;
  readonly #o: NotifierOptions;
  readonly #memberState = new Map<string, NotifyState>();
  readonly #groupState = new Map<string, NotifyState>();
  readonly #users = new Map<string, UserIds | undefined>();
  readonly #running = new Set<ScriptRun>();
  readonly #spawner: Spawner;
  #queue: NotifyEvent[] = [];
  #scheduled: TimerHandle | undefined;
  #fifo: Socket | undefined;
  #fifoCreated = false;
  #fifoScript: ScriptRun | undefined;
  #dropping = false;
  #started = false;
  #stopping = false;

  /**
   * @param config - the validated configuration
   * @param options - logger, clock, command runner
   */
  constructor(config: VrrpDaemonConfig, options: NotifierOptions) {
    this.#t = tablesOf(config);
    this.#o = options;
    this.#spawner = new Spawner(options.logger);
  }

  /**
   * Looks up the users scripts run as, creates (or adopts) the FIFO and starts its reader script.
   *
   * @param config - the configuration to use from now on, when it changed since the constructor (a
   *   reload before the start)
   * @throws {@link VrrpdError} `VRRPD_CONFIG_INVALID` for a user or group this host lacks, another user
   *   without root, or a FIFO path that cannot be created or is not a FIFO this user owns
   */
  async start(config?: VrrpDaemonConfig): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    if (config) this.#t = tablesOf(config);
    const issues = await this.#lookupUsers(this.#t.commands);
    if (issues.length) throw startError(issues);
    if (this.#t.commands.length) this.#spawner.warm();
    await this.#startFifo();
  }

  /**
   * Applies a new configuration (a reload): the scripts, users and timeouts of the next events are the new
   * ones; a changed `notifyFifo` or `notifyFifoScript` closes the FIFO and ends its script, then opens
   * and starts the new ones. Scripts already running go on. It never rejects: a user that cannot be
   * looked up or a FIFO that cannot be opened is logged (scripts of that user are then not run, as
   * keepalived ignores them).
   */
  async reconfigure(config: VrrpDaemonConfig): Promise<void> {
    const next = tablesOf(config);
    for (const i of await this.#lookupUsers(next.commands))
      this.#o.logger.error(`${i.path}: ${i.message}; its scripts are not run`);
    const old = this.#t.config;
    this.#t = next;
    if (!this.#started || this.#stopping) return;
    if (next.commands.length) this.#spawner.warm();
    const reader = (c: VrrpDaemonConfig) =>
      JSON.stringify([c.notifyFifo, c.notifyFifoScript, c.notifyFifoScript?.user ?? c.scriptUser]);
    if (reader(old) === reader(config)) return;
    this.#drain();
    await this.#closeFifo(old.notifyFifo);
    await this.#startFifo().catch((e: Error) => this.#o.logger.error(e.message));
  }

  /** Looks up the users of `commands` not known yet; returns why each one that cannot be used cannot. */
  async #lookupUsers(commands: readonly NotifyCommand[]): Promise<ConfigIssue[]> {
    const issues: ConfigIssue[] = [];
    const self = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    const tried = new Set<string>();
    for (const c of commands) {
      // a user that failed before is tried again (a reload after the user was created)
      if (c.user === undefined || this.#users.get(c.user) || tried.has(c.user)) continue;
      tried.add(c.user);
      const where = c.config.user === undefined ? 'scriptUser' : `${c.path}.user`;
      const ids = await lookupUser(c.user, this.#o.run);
      if (!ids.ok) issues.push({ path: where, message: ids.error });
      else if (self.uid !== 0 && (ids.value.uid !== self.uid || ids.value.gid !== self.gid))
        issues.push({
          path: where,
          message: `running scripts as ${c.user} needs root (this process runs as uid ${self.uid})`,
        });
      else {
        this.#users.set(c.user, ids.value);
        continue;
      }
      this.#users.set(c.user, undefined); // its scripts are not run
    }
    return issues;
  }

  async #startFifo() {
    const { notifyFifo: path, notifyFifoScript: script } = this.#t.config;
    if (path === undefined) return;
    await this.#openFifo(path);
    if (!script) return;
    const command = this.#t.commands.find((c) => c.keyword === 'notify_fifo_script') as NotifyCommand;
    const run = this.#spawn(command, [path], { timeout: false });
    this.#fifoScript = run;
    void run?.done.then(() => {
      if (this.#fifoScript === run && !this.#stopping)
        this.#o.logger.warn('vrrp notify fifo script terminated');
    });
  }

  async #openFifo(path: string) {
    const stat = await lstat(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw startError([
        { path: 'notifyFifo', message: `Unable to access notify fifo ${path}: ${e.message}` },
      ]);
    });
    if (stat === undefined) {
      // as keepalived: rw for the daemon, readable by everyone (a reader script may run as another user)
      const r = await this.#o.run('mkfifo', ['-m', '644', '--', path]);
      if (r.code !== 0)
        throw startError([
          {
            path: 'notifyFifo',
            message: `Unable to create notify fifo ${path}: ${r.stderr.trim() || `exit ${r.code}`}`,
          },
        ]);
      this.#fifoCreated = true;
    } else if (!stat.isFIFO())
      throw startError([{ path: 'notifyFifo', message: `notify fifo ${path} exists and is not a fifo` }]);
    let fd: number;
    try {
      // read-write: opening never waits for a reader, and writes never fail for want of one
      fd = await promisify(open)(path, fsc.O_RDWR | fsc.O_NONBLOCK | fsc.O_NOFOLLOW);
    } catch (e) {
      await this.#unlinkFifo();
      throw startError([
        { path: 'notifyFifo', message: `Unable to open notify fifo ${path}: ${(e as Error).message}` },
      ]);
    }
    const st = await promisify(fstat)(fd);
    const uid = process.getuid?.() ?? 0;
    if (!st.isFIFO() || st.uid !== uid) {
      await promisify(close)(fd).catch(() => {});
      await this.#unlinkFifo();
      throw startError([
        { path: 'notifyFifo', message: `notify fifo ${path} is not a fifo we own - not using` },
      ]);
    }
    const socket = new Socket({ fd, readable: false, writable: true });
    socket.on('error', (e) => this.#o.logger.warn(`vrrp notify fifo write error: ${e.message}`));
    this.#fifo = socket;
  }

  async #unlinkFifo(path = this.#t.config.notifyFifo) {
    if (!this.#fifoCreated || path === undefined) return;
    this.#fifoCreated = false;
    await unlink(path).catch(() => {});
  }

  /** Ends the FIFO (its last lines get a moment to be read), removes it if created here, ends its script. */
  async #closeFifo(path: string | undefined) {
    const fifo = this.#fifo;
    this.#fifo = undefined;
    if (fifo) {
      await new Promise<void>((resolve) => {
        const timer = this.#o.clock.setTimeout(() => {
          if (fifo.writableLength > 0)
            this.#o.logger.warn(`vrrp notify fifo ${path}: ${fifo.writableLength} bytes not read, dropped`);
          fifo.destroy();
        }, FIFO_FLUSH_MS);
        fifo.once('close', () => {
          this.#o.clock.clearTimeout(timer);
          resolve();
        });
        fifo.end();
      });
    }
    await this.#unlinkFifo(path);
    const script = this.#fifoScript;
    this.#fifoScript = undefined;
    if (script) {
      // a reader that ends at end of file ends by itself, after reading the last lines; others get SIGTERM
      await new Promise<void>((resolve) => {
        const timer = this.#o.clock.setTimeout(resolve, READER_GRACE_MS);
        void script.done.then(() => {
          this.#o.clock.clearTimeout(timer);
          resolve();
        });
      });
      script.terminate();
      await script.done;
    }
  }

  /**
   * The state machine of an instance: a {@link VrrpMachine} whose priority changes go to the FIFO
   * (`INSTANCE "VI_1" MASTER_PRIORITY 90`) while `notifyPriorityChanges` is on and there is a FIFO.
   */
  machine(config: MachineConfig): VrrpMachine {
    return new PriorityReportingMachine(config, (state, priority) => {
      // read at each change: a reload may switch it
      const c = this.#t.config;
      if (!c.notifyPriorityChanges || c.notifyFifo === undefined || state === 'initialize') return;
      this.#enqueue({
        kind: 'INSTANCE',
        name: config.name,
        word: state === 'master' ? 'MASTER_PRIORITY' : 'BACKUP_PRIORITY',
        priority,
      });
    });
  }

  /**
   * A router's state change: queues the instance's notification and, when it brings every member of its
   * sync group into one state, the group's. Returns at once.
   */
  transition(t: RouterTransition): void {
    const word = WORD[t.to];
    this.#enqueue({ kind: 'INSTANCE', name: t.instance, word, priority: t.priority });
    this.#memberState.set(t.instance, word);
    const group = this.#t.groupOf.get(t.instance);
    const g = group === undefined ? undefined : this.#t.groups.get(group);
    if (group === undefined || g === undefined) return;
    if (!g.members.every((m) => this.#memberState.get(m) === word)) return;
    if (this.#groupState.get(group) === word) return;
    this.#groupState.set(group, word);
    // keepalived: the group's priority argument is always 0
    this.#enqueue({ kind: 'GROUP', name: group, word, priority: 0 });
  }

  #enqueue(e: NotifyEvent) {
    this.#queue.push(e);
    // after the I/O already pending (the advert, the VIP requests): they never wait for a fork
    this.#scheduled ??= this.#o.clock.setImmediate(() => this.#drain());
  }

  #drain() {
    if (this.#scheduled) this.#o.clock.clearTimeout(this.#scheduled);
    this.#scheduled = undefined;
    const batch = this.#queue;
    this.#queue = [];
    for (const e of batch) {
      const target = e.kind === 'INSTANCE' ? this.#t.instances.get(e.name) : this.#t.groups.get(e.name);
      if (target && (e.word === 'MASTER' || e.word === 'BACKUP' || e.word === 'FAULT' || e.word === 'STOP')) {
        // scripts of other states are not started once the daemon stops
        const startScripts = !this.#stopping || e.word === 'STOP';
        const specific = target.byState[e.word];
        if (specific && startScripts) this.#spawn(specific, [], { stop: e.word === 'STOP' });
        if (target.generic && startScripts)
          this.#spawn(target.generic, [e.kind, e.name, e.word, String(e.priority)], {
            stop: e.word === 'STOP',
          });
      }
      this.#write(`${e.kind} "${e.name}" ${e.word} ${e.priority}\n`);
    }
  }

  #write(line: string) {
    const fifo = this.#fifo;
    if (!fifo || fifo.destroyed) return;
    if (fifo.writableLength > MAX_FIFO_BACKLOG) {
      if (!this.#dropping)
        this.#o.logger.warn(
          `vrrp notify fifo ${this.#t.config.notifyFifo}: nobody reads it, dropping lines from ${line.trim()}`,
        );
      this.#dropping = true;
      return;
    }
    this.#dropping = false;
    fifo.write(line);
  }

  #spawn(
    c: NotifyCommand,
    extra: readonly string[],
    o: { stop?: boolean; timeout?: false },
  ): ScriptRun | undefined {
    let ids: UserIds | undefined;
    if (c.user !== undefined) {
      ids = this.#users.get(c.user);
      if (!ids) {
        this.#o.logger.error(`${prefix(c)}${c.keyword} not run: user ${c.user} cannot be used`);
        return undefined;
      }
    }
    const run = new ScriptRun(c, extra, ids, {
      clock: this.#o.clock,
      logger: this.#o.logger,
      spawner: this.#spawner,
      timeoutMs: o.timeout === false ? undefined : (c.config.timeout ?? this.#t.config.notifyTimeout),
      stop: o.stop === true,
    });
    this.#running.add(run);
    void run.done.then(() => this.#running.delete(run));
    return run;
  }

  /** Scripts started and not yet ended (the FIFO reader script included). */
  get running(): number {
    return this.#running.size;
  }

  /**
   * Shuts down after the routers stopped: starts the `notify_stop` scripts and writes the STOP lines (the
   * routers' last transitions), waits for the `notify_stop` scripts (each bounded by its timeout), then
   * sends SIGTERM to scripts still running from earlier events (keepalived's scripts get SIGTERM when it
   * exits) and waits for them, closes the FIFO (removing it if it was created here) and ends its reader.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#drain();
    const others = () => [...this.#running].filter((r) => r !== this.#fifoScript);
    await Promise.all(
      others()
        .filter((r) => r.isStop)
        .map((r) => r.done),
    );
    for (const r of others()) r.terminate('still running as the daemon stops');
    await Promise.all(others().map((r) => r.done));
    await this.#closeFifo(this.#t.config.notifyFifo);
    this.#spawner.close();
  }
}

function prefix(c: NotifyCommand): string {
  return c.owner ? `${c.owner} ` : '';
}

function startError(issues: ConfigIssue[]): VrrpdError {
  return new VrrpdError('VRRPD_CONFIG_INVALID', issues.map((i) => `${i.path}: ${i.message}`).join('\n'), {
    details: { issues },
  });
}

/**
 * The spawner: a small Node process that starts the scripts on the daemon's request. `fork()` of a
 * process with a large heap takes milliseconds; here it happens in that process, never in the daemon,
 * whose event loop only writes one IPC message per script. It stays in the daemon's process group (a
 * SIGKILL of the group ends it too), ignores the signals an operator sends to the group, and exits when
 * the daemon closes the channel or exits.
 */
const SPAWNER = `'use strict';
const { spawn, spawnSync } = require('node:child_process');
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR2']) process.on(s, () => {});
// scripts run at normal priority, not at the daemon's realtimePriority or nice (keepalived resets them too)
try { require('node:os').setPriority(0); } catch {}
try {
  const stat = require('node:fs').readFileSync('/proc/self/stat', 'utf8');
  if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]) !== 0)
    spawnSync('chrt', ['--other', '--all-tasks', '--pid', '0', String(process.pid)], { stdio: 'ignore' });
} catch {}
process.on('disconnect', () => process.exit(0));
const send = (m) => { try { process.send(m); } catch {} };
process.on('message', (m) => {
  let child;
  try {
    child = spawn(m.file, m.args, m.options);
  } catch (e) {
    send({ type: 'error', id: m.id, code: e.code, message: e.message });
    return;
  }
  child.once('spawn', () => send({ type: 'spawned', id: m.id, pid: child.pid }));
  child.once('error', (e) => send({ type: 'error', id: m.id, code: e.code, message: e.message }));
  child.once('exit', (code, signal) => send({ type: 'exit', id: m.id, code, signal }));
});
`;

/** A message of the spawner about one script. */
type SpawnerMessage =
  | { readonly type: 'spawned'; readonly id: number; readonly pid: number }
  | { readonly type: 'error'; readonly id: number; readonly code?: string; readonly message: string }
  | {
      readonly type: 'exit';
      readonly id: number;
      readonly code: number | null;
      readonly signal: string | null;
    };

/** The daemon's end of the spawner process (started on first use, again after it died). */
class Spawner {
  readonly #log: Logger;
  readonly #runs = new Map<number, ScriptRun>();
  #child: ChildProcess | undefined;
  #seq = 0;
  #closed = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Starts the spawner process now (so that the first script does not wait for it). */
  warm(): void {
    this.#ensure();
  }

  /** Asks for a script to be started; the answers go to `run`. */
  spawn(run: ScriptRun, file: string, args: readonly string[], options: object): void {
    const child = this.#ensure();
    if (!child) {
      run.failed('ESRCH', 'the spawner process is not running');
      return;
    }
    const id = ++this.#seq;
    this.#runs.set(id, run);
    this.#reference();
    try {
      child.send({ id, file, args, options });
    } catch (e) {
      this.#runs.delete(id);
      run.failed('EPIPE', (e as Error).message);
    }
  }

  /** Closes the channel: the spawner exits (scripts still running go on, in their own process groups). */
  close(): void {
    this.#closed = true;
    const child = this.#child;
    this.#child = undefined;
    if (child?.connected) child.disconnect();
  }

  #ensure(): ChildProcess | undefined {
    if (this.#child?.connected) return this.#child;
    this.#closed = false;
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // a test runner's or a profiler's options are not for the spawner
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, ['-e', SPAWNER], {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        env,
      });
    } catch (e) {
      this.#log.error(`cannot start the notify script spawner: ${(e as Error).message}`);
      return undefined;
    }
    this.#child = child;
    child.on('message', (m: SpawnerMessage) => this.#message(m));
    child.once('error', (e) => this.#log.error(`notify script spawner: ${e.message}`));
    child.once('exit', (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      if (!this.#closed)
        this.#log.error(
          `notify script spawner ended (${signal ?? `status ${code}`}); starting a new one for the next script`,
        );
      // what it had started runs on, unobserved: count those as ended
      for (const run of this.#runs.values()) run.lost();
      this.#runs.clear();
    });
    child.unref();
    this.#reference();
    return child;
  }

  /** Holds the daemon's event loop open only while answers are awaited. */
  #reference() {
    const channel = (this.#child as { channel?: { ref(): void; unref(): void } } | undefined)?.channel;
    if (this.#runs.size > 0) channel?.ref();
    else channel?.unref();
  }

  #message(m: SpawnerMessage) {
    const run = this.#runs.get(m.id);
    if (!run) return;
    if (m.type === 'spawned') {
      run.spawned(m.pid);
      return;
    }
    this.#runs.delete(m.id);
    this.#reference();
    if (m.type === 'error') run.failed(m.code ?? 'unknown', m.message);
    else run.ended(m.code, m.signal);
  }
}

/** What a {@link ScriptRun} needs. */
interface RunContext {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly spawner: Spawner;
  /** Milliseconds before SIGTERM; undefined: no limit (the FIFO reader). */
  readonly timeoutMs: number | undefined;
  /** A `notify_stop` script (the daemon waits for it at shutdown). */
  readonly stop: boolean;
}

/** One script process: started detached in its own process group (by the spawner), timed out, logged. */
class ScriptRun {
  /** Resolves once the process ended (or could not start). */
  readonly done: Promise<void>;
  readonly isStop: boolean;
  readonly #c: NotifyCommand;
  readonly #ctx: RunContext;
  readonly #file: string;
  #pid: number | undefined;
  #timer: TimerHandle | undefined;
  #killTimer: TimerHandle | undefined;
  /** SIGTERM asked for before the spawner reported the pid. */
  #termPending = false;
  /** When SIGTERM was asked for: SIGKILL follows KILL_GRACE_MS later. */
  #termAt = 0;
  #signalled = false;
  #done = false;
  #resolve!: () => void;

  constructor(c: NotifyCommand, extra: readonly string[], ids: UserIds | undefined, ctx: RunContext) {
    this.#c = c;
    this.#ctx = ctx;
    this.isStop = ctx.stop;
    this.done = new Promise<void>((r) => {
      this.#resolve = r;
    });
    const line = c.config.command;
    const argv = c.config.shell
      ? ['/bin/sh', '-c', extra.length ? `${line[0]} "$@"` : (line[0] as string), 'sh', ...extra]
      : [...line, ...extra];
    const [file, ...args] = argv as [string, ...string[]];
    this.#file = c.config.shell ? (line[0] as string) : file;
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of UNSAFE_ENV) delete env[k];
    const switchUser =
      ids !== undefined && (ids.uid !== (process.getuid?.() ?? 0) || ids.gid !== (process.getgid?.() ?? 0));
    if (switchUser && ids) {
      if (ids.name) {
        env.USER = ids.name;
        env.LOGNAME = ids.name;
      }
      if (ids.home) env.HOME = ids.home;
    }
    ctx.spawner.spawn(this, file, args, {
      detached: true, // its own process group: a timeout ends whatever it started too
      stdio: 'ignore',
      env,
      ...(switchUser && ids ? { uid: ids.uid, gid: ids.gid } : {}),
    });
    if (ctx.timeoutMs !== undefined && !this.#done)
      this.#timer = ctx.clock.setTimeout(() => {
        this.#timer = undefined;
        this.terminate(`timed out after ${ctx.timeoutMs} ms`);
      }, ctx.timeoutMs);
  }

  get #name(): string {
    return `${prefix(this.#c)}${this.#c.keyword} '${this.#file}'`;
  }

  /** SIGTERM to its process group now, SIGKILL if it is still there after a grace time. */
  terminate(why?: string): void {
    if (this.#done || this.#signalled) return;
    this.#signalled = true;
    this.#termAt = this.#ctx.clock.now();
    if (this.#timer) this.#ctx.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (why) this.#ctx.logger.warn(`${this.#name} ${why}, sending SIGTERM`);
    if (this.#pid === undefined) {
      this.#termPending = true; // sent once the spawner reports the pid
      return;
    }
    this.#sigterm(this.#pid);
  }

  #sigterm(pid: number) {
    const clock = this.#ctx.clock;
    killGroup(pid, 'SIGTERM');
    this.#killTimer = clock.setTimeout(
      () => {
        this.#killTimer = undefined;
        if (this.#done) return;
        this.#ctx.logger.warn(`Process [${pid}] didn't respond to SIGTERM`);
        killGroup(pid, 'SIGKILL');
      },
      Math.max(0, this.#termAt + KILL_GRACE_MS - clock.now()),
    );
  }

  /** The spawner started it. */
  spawned(pid: number): void {
    this.#pid = pid;
    if (this.#termPending && !this.#done) this.#sigterm(pid);
  }

  /** It could not be started. */
  failed(code: string, message: string): void {
    if (this.#done) return;
    this.#ctx.logger.error(
      `${prefix(this.#c)}Error exec-ing command '${this.#file}', error ${code}: ${message}`,
    );
    this.#finish();
  }

  /** It ended. */
  ended(code: number | null, signal: string | null): void {
    if (this.#done) return;
    const log = this.#ctx.logger;
    if (this.#signalled) log.info(`${this.#name} ended (${signal ? `signal ${signal}` : `status ${code}`})`);
    else if (signal) log.warn(`${this.#name} killed by ${signal}`);
    else if (code !== 0) log.warn(`${this.#name} exited with status ${code}`);
    else log.debug(`${this.#name} exited with status 0`);
    this.#finish();
  }

  /** The spawner died: its end cannot be observed any more. */
  lost(): void {
    if (this.#done) return;
    this.#ctx.logger.warn(`${this.#name}: its end is not known (the spawner ended)`);
    this.#finish();
  }

  #finish() {
    this.#done = true;
    if (this.#timer) this.#ctx.clock.clearTimeout(this.#timer);
    if (this.#killTimer) this.#ctx.clock.clearTimeout(this.#killTimer);
    this.#timer = undefined;
    this.#killTimer = undefined;
    this.#resolve();
  }
}

function killGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/**
 * The uid and gid of `user` or `user:group` (names or numbers), through `getent` (NSS: files, LDAP, ...),
 * or `/etc/passwd` and `/etc/group` where `getent` is missing.
 */
async function lookupUser(spec: string, run: CommandRunner): Promise<Result<UserIds, string>> {
  const [user, group] = spec.split(':') as [string, string | undefined];
  const pw = await getent(run, 'passwd', user);
  let uid: number;
  let gid: number | undefined;
  let name: string | undefined;
  let home: string | undefined;
  if (pw) {
    name = pw[0];
    uid = Number(pw[2]);
    gid = Number(pw[3]);
    home = pw[5];
  } else if (/^\d+$/.test(user)) uid = Number(user);
  else return err(`no such user ${JSON.stringify(user)}`);
  if (group !== undefined) {
    const gr = await getent(run, 'group', group);
    if (gr) gid = Number(gr[2]);
    else if (/^\d+$/.test(group)) gid = Number(group);
    else return err(`no such group ${JSON.stringify(group)}`);
  }
  if (gid === undefined || !Number.isInteger(uid) || !Number.isInteger(gid))
    return err(`uid ${user} has no passwd entry: give its group too (${user}:GROUP)`);
  return ok({ uid, gid, name, home });
}

/** The fields of the `db` entry for `key` (a name, or a number matched against the id field). */
async function getent(
  run: CommandRunner,
  db: 'passwd' | 'group',
  key: string,
): Promise<string[] | undefined> {
  const r = await run('getent', [db, key], { timeoutMs: 10_000 });
  if (r.code === 0) return r.stdout.split('\n')[0]?.split(':');
  if (r.code !== 127) return undefined; // 2: no such entry
  const text = await readFile(`/etc/${db}`, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === key || (/^\d+$/.test(key) && f[2] === key)) return f;
  }
  return undefined;
}

import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, ManualClock, MemoryLogger, runCommand, systemClock } from '@proxyha/common';
import { MemoryAdvertBus, MemoryVipManager, type RouterTransition } from '@proxyha/vrrp';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { splitCommandLine } from '../src/config/command-line';
import { Notifier } from '../src/daemon/notify';
import { parseVrrpDaemonConfig, VrrpDaemon, type VrrpDaemonConfig, VrrpdError } from '../src/index';
import { configIssues, useVirtualTime } from './helpers';

// Notify scripts and the notify FIFO: the configuration, keepalived's command-line splitting, and the
// notifier with real processes (shell scripts that append to files, `cat` reading the FIFO). Timeouts run
// on the manual clock; the daemon tests run two daemons on the manual clock over an in-memory bus.
const dir = mkdtempSync(join(tmpdir(), 'proxyha-notify-'));
chmodSync(dir, 0o777); // a script run as nobody writes here too
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;
/** A fresh path in the test directory. */
const file = (name: string) => join(dir, `${++seq}-${name}`);
const lines = (path: string) =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
const isRoot = process.getuid?.() === 0;

/** A FIFO reader script (keepalived passes the FIFO as the last argument): copies every line to `out`. */
const reader = (out: string) => ['/bin/sh', '-c', `exec cat "$1" > '${out}'`, 'reader'];
/** A script that appends its arguments (keepalived's four for `notify`) to `log`, tagged. */
const recorder = (log: string, tag: string) => ['/bin/sh', '-c', `echo "${tag} $*" >> '${log}'`, tag];

const inst = (name: string, vrid: number, extra: object = {}) => ({
  name,
  interface: 'lo',
  vrid,
  virtualIps: [`127.0.0.${80 + vrid}/8`],
  sourceAddress: '127.0.0.21',
  unicastPeers: ['127.0.0.22'],
  ...extra,
});
const config = (extra: object, instances: object[] = [inst('VI_1', 1)]): VrrpDaemonConfig =>
  parseVrrpDaemonConfig({ transport: 'loopback', instances, ...extra });

let tseq = 0;
const transition = (instance: string, to: RouterTransition['to'], priority = 100): RouterTransition => ({
  type: 'transition',
  at: 0,
  seq: ++tseq,
  from: 'backup',
  to,
  reason: 'masterDown',
  priority,
  instance,
});

function notifier(cfg: VrrpDaemonConfig, clock: Clock = systemClock) {
  const log = new MemoryLogger();
  const n = new Notifier(cfg, { logger: log, clock, run: runCommand });
  return { n, log };
}

/** Waits (real time) for real processes; a manual clock gets its due immediates run meanwhile. */
async function waitFor(what: string, cond: () => boolean, clock?: ManualClock, ms = 20_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    if (clock) await clock.advanceAsync(0);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('notify configuration', () => {
  it('takes an argv array, a keepalived command line or an object; applies the defaults', () => {
    const c = config(
      {
        notifyFifo: '/run/proxyha/vrrp.fifo',
        notifyFifoScript: '/usr/local/bin/fifo-reader --verbose',
        scriptUser: 'nobody',
        syncGroups: [
          { name: 'G1', instances: ['VI_1', 'VI_2'], notifyMaster: '"/usr/local/bin/vrrp.mast" arg1 arg2' },
        ],
      },
      [
        inst('VI_1', 1, {
          notifyMaster: ['/usr/local/bin/master', 'VI_1'],
          notifyBackup: '/usr/local/bin/vrrp.sh  BACKUP   "VI 1"',
          notify: { command: 'logger -t vrrp', shell: true, timeout: '5s', user: 'proxy:adm' },
        }),
        inst('VI_2', 2),
      ],
    );
    expect(c.notifyTimeout).toBe(30_000);
    expect(c.notifyPriorityChanges).toBe(false);
    expect(c.notifyFifoScript).toEqual({
      command: ['/usr/local/bin/fifo-reader', '--verbose'],
      shell: false,
    });
    const i = c.instances[0];
    expect(i?.notifyMaster).toEqual({ command: ['/usr/local/bin/master', 'VI_1'], shell: false });
    expect(i?.notifyBackup?.command).toEqual(['/usr/local/bin/vrrp.sh', 'BACKUP', 'VI 1']);
    expect(i?.notify).toEqual({ command: ['logger -t vrrp'], shell: true, timeout: 5000, user: 'proxy:adm' });
    expect(c.syncGroups[0]?.notifyMaster?.command).toEqual(['/usr/local/bin/vrrp.mast', 'arg1', 'arg2']);
    expect(config({ notifyTimeout: '2s', notifyPriorityChanges: true })).toMatchObject({
      notifyTimeout: 2000,
      notifyPriorityChanges: true,
    });
  });

  it('names the path and the problem of every bad notify setting', () => {
    const issues = configIssues({
      transport: 'loopback',
      notifyFifo: 'relative.fifo',
      notifyFifoScript: { command: ['/bin/reader'], timeout: '5s' },
      scriptUser: 'no body',
      notifyTimeout: '0s',
      instances: [
        inst('VI_1', 1, {
          notifyMaster: '/bin/x "unterminated',
          notifyBackup: { command: ['/bin/x', 'a'], shell: true },
          notifyFault: { command: '/bin/x', verbose: true },
          notify: [],
          notifyStop: { command: '/bin/x', timeout: 'soon' },
        }),
      ],
    });
    const at = (path: string) => issues.find((l) => l.startsWith(`${path}: `));
    expect(at('notifyFifo')).toMatch(/not an absolute file path/);
    expect(at('notifyFifoScript.timeout')).toMatch(/has no timeout/);
    expect(at('scriptUser')).toMatch(/not a user name/);
    expect(at('notifyTimeout')).toBeDefined();
    expect(at('instances[0].notifyMaster.command')).toMatch(/missing terminating "/);
    expect(at('instances[0].notifyBackup.command')).toMatch(
      /shell: true takes the command line as one string/,
    );
    expect(at('instances[0].notifyFault')).toMatch(/verbose/);
    expect(at('instances[0].notify.command')).toBeDefined();
    expect(at('instances[0].notifyStop.timeout')).toMatch(/soon/);
    expect(
      configIssues({ transport: 'loopback', notifyFifoScript: ['/bin/r'], instances: [inst('VI_1', 1)] }),
    ).toEqual(['notifyFifoScript: needs notifyFifo (the FIFO it reads)']);
  });
});

describe('splitCommandLine (keepalived’s quoting and escapes)', () => {
  it('splits on white space, joins quoted parts, decodes escapes', () => {
    const split = (s: string) => {
      const r = splitCommandLine(s);
      return r.ok ? r.value : `error: ${r.error}`;
    };
    expect(split('/usr/local/bin/vrrp.sh  BACKUP   VI_1')).toEqual([
      '/usr/local/bin/vrrp.sh',
      'BACKUP',
      'VI_1',
    ]);
    // the keepalived.conf(5) example: 'abcd" efg h jkl "mnop' is one string
    expect(split('abcd" efg h jkl "mnop')).toEqual(['abcd efg h jkl mnop']);
    expect(split(`x 'a "b"' "c 'd'" ""`)).toEqual(['x', 'a "b"', "c 'd'", '']);
    expect(split('a\\ b c\\"d \\x41\\101\\t\\n "q\\"q"')).toEqual(['a b', 'c"d', 'AA\t\n', 'q"q']);
    expect(split('\t x \n')).toEqual(['x']);
    expect(split('a "b')).toMatch(/missing terminating "/);
    expect(split("a 'b")).toMatch(/missing terminating '/);
    expect(split('a b\\')).toMatch(/missing escape character/);
    expect(split('   ')).toMatch(/empty command/);
    expect(split('a\\0b')).toMatch(/NUL/);
  });

  it('gives back any words quoted the keepalived way (property)', () => {
    const quote = (w: string) => `"${w.replace(/[\\"]/g, (m) => `\\${m}`)}"`;
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'grapheme' }).filter((w) => !w.includes('\0')),
          { minLength: 1, maxLength: 8 },
        ),
        fc.constantFrom(' ', '\t', '  '),
        (words, sep) => {
          const r = splitCommandLine(words.map(quote).join(sep));
          expect(r).toEqual({ ok: true, value: words });
        },
      ),
    );
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[\w./:=+-]+$/), { minLength: 1, maxLength: 8 }), (words) => {
        expect(splitCommandLine(words.join(' '))).toEqual({ ok: true, value: words });
      }),
    );
  });
});

describe('Notifier with real scripts and a FIFO reader', () => {
  it('keeps a burst of transitions in order on the FIFO; every script runs with keepalived’s arguments', async () => {
    const out = file('fifo.out');
    const log = file('scripts.log');
    const cfg = config(
      {
        notifyFifo: file('vrrp.fifo'),
        notifyFifoScript: reader(out),
        syncGroups: [{ name: 'G1', instances: ['VI_1', 'VI_2'], notify: recorder(log, 'group') }],
      },
      [
        inst('VI_1', 1, { notify: recorder(log, 'generic') }),
        inst('VI_2', 2, { notifyMaster: recorder(log, 'master-VI_2') }),
        inst('VI_3', 3, { notify: recorder(log, 'generic') }),
      ],
    );
    const { n, log: logger } = notifier(cfg);
    await n.start();
    const cycle = ['backup', 'master', 'fault'] as const;
    const expectFifo: string[] = [];
    const expectScripts: string[] = [];
    const WORD = { backup: 'BACKUP', master: 'MASTER', fault: 'FAULT' } as const;
    // one synchronous burst: the group's members move together, VI_3 the other way
    for (let round = 0; round < 40; round++) {
      const s = cycle[round % 3] as (typeof cycle)[number];
      const other = cycle[(round + 1) % 3] as (typeof cycle)[number];
      n.transition(transition('VI_1', s, 100 + round));
      n.transition(transition('VI_2', s, 50));
      n.transition(transition('VI_3', other, 200));
      expectFifo.push(
        `INSTANCE "VI_1" ${WORD[s]} ${100 + round}`,
        `INSTANCE "VI_2" ${WORD[s]} 50`,
        `GROUP "G1" ${WORD[s]} 0`,
        `INSTANCE "VI_3" ${WORD[other]} 200`,
      );
      expectScripts.push(
        `generic INSTANCE VI_1 ${WORD[s]} ${100 + round}`,
        `group GROUP G1 ${WORD[s]} 0`,
        `generic INSTANCE VI_3 ${WORD[other]} 200`,
      );
      if (s === 'master') expectScripts.push('master-VI_2 ');
    }
    await waitFor('every script ran', () => lines(log).length === expectScripts.length);
    await waitFor('only the FIFO reader runs', () => n.running === 1);
    await n.stop();
    expect(lines(out)).toEqual(expectFifo);
    // scripts run side by side (keepalived's too): all of them, in any order
    expect(lines(log).sort()).toEqual([...expectScripts].sort());
    expect(logger.lines('warn')).toEqual([]);
    expect(existsSync(cfg.notifyFifo as string)).toBe(false); // created here, removed at stop
  });

  it('queues in transition() and starts nothing before the I/O already pending', async () => {
    const log = file('quick.log');
    const { n } = notifier(config({}, [inst('VI_1', 1, { notifyMaster: recorder(log, 'master') })]));
    await n.start();
    n.transition(transition('VI_1', 'master'));
    expect(n.running).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(n.running).toBe(1);
    await waitFor('the script ran', () => lines(log).length === 1);
    await n.stop();
  });

  it('times a hanging script out: SIGTERM to its process group, logged in order', async () => {
    const clock = new ManualClock();
    const pidFile = file('pid');
    const cfg = config({ notifyTimeout: '5s' }, [
      inst('VI_1', 1, { notifyMaster: ['/bin/sh', '-c', `echo $$ > '${pidFile}'; exec sleep 30`] }),
    ]);
    const { n, log } = notifier(cfg, clock);
    await n.start();
    n.transition(transition('VI_1', 'master'));
    await waitFor('the script started', () => lines(pidFile).length === 1, clock);
    const pid = Number(lines(pidFile)[0]);
    await clock.advanceAsync(4999);
    expect(n.running).toBe(1);
    expect(log.lines('warn')).toEqual([]);
    await clock.advanceAsync(1);
    await waitFor('the script ended', () => n.running === 0, clock);
    expect(log.lines('info')).toEqual([
      "(VI_1) notify_master '/bin/sh' timed out after 5000 ms, sending SIGTERM",
      "(VI_1) notify_master '/bin/sh' ended (signal SIGTERM)",
    ]);
    expect(() => process.kill(pid, 0)).toThrow();
    await n.stop();
  });

  it('kills a script that ignores SIGTERM with SIGKILL after the grace time', async () => {
    const clock = new ManualClock();
    const pidFile = file('pid');
    const cfg = config({}, [
      inst('VI_1', 1, {
        notify: {
          command: ['/bin/sh', '-c', `trap '' TERM; echo $$ > '${pidFile}'; exec sleep 60`],
          timeout: '1s',
        },
      }),
    ]);
    const { n, log } = notifier(cfg, clock);
    await n.start();
    n.transition(transition('VI_1', 'fault'));
    await waitFor('the script started', () => lines(pidFile).length === 1, clock);
    const pid = Number(lines(pidFile)[0]);
    await clock.advanceAsync(1000);
    await clock.advanceAsync(1999);
    expect(n.running).toBe(1); // still there: it ignores SIGTERM
    await clock.advanceAsync(1);
    await waitFor('the script ended', () => n.running === 0, clock);
    expect(log.lines('info')).toEqual([
      "(VI_1) notify '/bin/sh' timed out after 1000 ms, sending SIGTERM",
      `Process [${pid}] didn't respond to SIGTERM`,
      "(VI_1) notify '/bin/sh' ended (signal SIGKILL)",
    ]);
    await n.stop();
  });

  it('logs scripts that fail or cannot start, and goes on with the next events', async () => {
    const log = file('after.log');
    const cfg = config({}, [
      inst('VI_1', 1, {
        notifyMaster: '/nonexistent/notify-master',
        notifyFault: ['/bin/sh', '-c', 'exit 3'],
        notifyBackup: recorder(log, 'backup'),
      }),
    ]);
    const { n, log: logger } = notifier(cfg);
    await n.start();
    n.transition(transition('VI_1', 'master'));
    n.transition(transition('VI_1', 'fault'));
    n.transition(transition('VI_1', 'backup'));
    await waitFor('all ended', () => lines(log).length === 1 && n.running === 0);
    await waitFor('both failures logged', () => logger.lines('warn').length === 2);
    expect(logger.lines('warn')).toEqual([
      "(VI_1) Error exec-ing command '/nonexistent/notify-master', error ENOENT: spawn /nonexistent/notify-master ENOENT",
      "(VI_1) notify_fault '/bin/sh' exited with status 3",
    ]);
    expect(lines(log)).toEqual(['backup ']);
    await n.stop();
  });

  it.skipIf(!isRoot)('runs scripts as another user (scriptUser, or their own user)', async () => {
    const out = file('ids');
    writeFileSync(out, '', { mode: 0o666 }); // both users append to it
    chmodSync(out, 0o666);
    const ids = ['/bin/sh', '-c', `echo "$1 $(id -u) $(id -g) $HOME" >> '${out}'`, 'ids'];
    const cfg = config({ scriptUser: 'nobody' }, [
      inst('VI_1', 1, {
        notifyMaster: [...ids, 'default'],
        notifyBackup: { command: [...ids, 'own'], user: 'root:daemon' },
      }),
    ]);
    const { n } = notifier(cfg);
    await n.start();
    n.transition(transition('VI_1', 'master'));
    n.transition(transition('VI_1', 'backup'));
    await waitFor('both ran', () => lines(out).length === 2);
    const nobody = execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim();
    const nogroup = execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim();
    const daemonGid = execFileSync('getent', ['group', 'daemon'], { encoding: 'utf8' }).split(':')[2];
    expect(lines(out).sort()).toEqual(
      [
        `default ${nobody} ${nogroup} ${execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).split(':')[5]}`,
        `own 0 ${daemonGid} /root`,
      ].sort(),
    );
    await n.stop();
  });

  it('refuses at start a user this host lacks, naming the setting', async () => {
    const { n } = notifier(
      config({}, [inst('VI_1', 1, { notify: { command: ['/bin/true'], user: 'no-such-user-4711' } })]),
    );
    const e = await n.start().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(VrrpdError);
    expect((e as VrrpdError).code).toBe('VRRPD_CONFIG_INVALID');
    expect((e as VrrpdError).message).toBe('instances[0].notify.user: no such user "no-such-user-4711"');
  });

  it('adopts an existing FIFO (and leaves it), refuses a path that is not one', async () => {
    const fifo = file('existing.fifo');
    execFileSync('mkfifo', [fifo]);
    const out = file('out');
    const { n } = notifier(config({ notifyFifo: fifo, notifyFifoScript: reader(out) }));
    await n.start();
    n.transition(transition('VI_1', 'backup', 7));
    await waitFor('the reader has the line', () => lines(out).length === 1);
    n.transition(transition('VI_1', 'master', 7));
    await n.stop();
    expect(lines(out)).toEqual(['INSTANCE "VI_1" BACKUP 7', 'INSTANCE "VI_1" MASTER 7']);
    expect(existsSync(fifo)).toBe(true);

    const plain = file('plain');
    writeFileSync(plain, '');
    const bad = notifier(config({ notifyFifo: plain })).n;
    await expect(bad.start()).rejects.toThrow(`notifyFifo: notify fifo ${plain} exists and is not a fifo`);
  });

  it('applies a reload: new scripts for the next events, a new FIFO and reader; an unknown user is logged', async () => {
    const [outA, outB, log] = [file('a.out'), file('b.out'), file('reload.log')];
    const fifoA = file('a.fifo');
    const { n, log: logger } = notifier(config({ notifyFifo: fifoA, notifyFifoScript: reader(outA) }));
    await n.start();
    n.transition(transition('VI_1', 'backup'));
    await waitFor('A has the first line', () => lines(outA).length === 1);
    await n.reconfigure(
      config({ notifyFifo: file('b.fifo'), notifyFifoScript: reader(outB) }, [
        inst('VI_1', 1, {
          notifyMaster: recorder(log, 'new'),
          notifyFault: { command: ['/bin/true'], user: 'no-such-user-4711' },
        }),
      ]),
    );
    expect(existsSync(fifoA)).toBe(false);
    expect(logger.lines('error')).toEqual([
      'instances[0].notifyFault.user: no such user "no-such-user-4711"; its scripts are not run',
    ]);
    n.transition(transition('VI_1', 'master'));
    n.transition(transition('VI_1', 'fault'));
    await waitFor('B has its lines', () => lines(outB).length === 2);
    await waitFor('the new script ran', () => lines(log).length === 1);
    await n.stop();
    expect(lines(outA)).toEqual(['INSTANCE "VI_1" BACKUP 100']);
    expect(lines(outB)).toEqual(['INSTANCE "VI_1" MASTER 100', 'INSTANCE "VI_1" FAULT 100']);
    expect(lines(log)).toEqual(['new ']);
    expect(logger.lines('error')[1]).toBe(
      '(VI_1) notify_fault not run: user no-such-user-4711 cannot be used',
    );
  });

  it('drops lines nobody reads past its backlog, with one warning, and never blocks', async () => {
    const clock = new ManualClock();
    const { n, log } = notifier(config({ notifyFifo: file('unread.fifo') }), clock);
    await n.start();
    for (let i = 0; i < 60_000; i++) n.transition(transition('VI_1', i % 2 ? 'master' : 'backup', i % 250));
    await clock.advanceAsync(0);
    expect(log.lines('warn')).toHaveLength(1);
    expect(log.lines('warn')[0]).toMatch(
      /vrrp notify fifo .*unread\.fifo: nobody reads it, dropping lines from INSTANCE "VI_1" /,
    );
    const stopping = n.stop();
    await clock.advanceAsync(2000); // the last lines get two seconds to be read
    await stopping;
    expect(log.lines('warn')[1]).toMatch(/bytes not read, dropped$/);
  });
});

describe('VrrpDaemon notifications (loopback, manual clock)', () => {
  const time = useVirtualTime((clock) => {
    bus = new MemoryAdvertBus(clock);
  });
  let bus = new MemoryAdvertBus(time.clock);
  const { daemons, until } = time;

  function daemon(address: string, peer: string, instances: object[], extra: object = {}) {
    const log = new MemoryLogger();
    const cfg = parseVrrpDaemonConfig({
      transport: 'loopback',
      instances: instances.map((i) => ({
        interface: 'lo',
        version: 3,
        advertInterval: '50ms',
        sourceAddress: address,
        unicastPeers: [peer],
        ...i,
      })),
      ...extra,
    });
    const d = new VrrpDaemon(cfg, {
      clock: time.clock,
      transports: (_inst, primary) => bus.transport(primary),
      vips: new MemoryVipManager(),
      logger: log,
    });
    daemons.push(d);
    return { d, log, state: (name: string) => d.routers.get(name)?.snapshot().state };
  }

  it('a notify_master that hangs delays neither the takeover nor the new master’s adverts; the FIFO line is there first', async () => {
    const marks = file('slow.marks');
    const out = file('b.fifo.out');
    const a = daemon('127.0.0.21', '127.0.0.22', [
      { name: 'VI_1', vrid: 71, priority: 150, virtualIps: ['127.0.0.91/8'] },
    ]);
    const b = daemon(
      '127.0.0.22',
      '127.0.0.21',
      [
        {
          name: 'VI_1',
          vrid: 71,
          priority: 100,
          virtualIps: ['127.0.0.91/8'],
          notifyMaster: ['/bin/sh', '-c', `echo "start $$" >> '${marks}'; sleep 30; echo end >> '${marks}'`],
        },
      ],
      { notifyFifo: file('b.fifo'), notifyFifoScript: reader(out) },
    );
    await Promise.all([a.d.start(), b.d.start()]);
    await until('a master, b backup', () => a.state('VI_1') === 'master' && b.state('VI_1') === 'backup');
    await time.stop(a.d); // priority 0: b takes over after Skew_Time
    await until('b master', () => b.state('VI_1') === 'master');
    await waitFor('the slow script started', () => lines(marks).length === 1, time.clock);
    await waitFor('the FIFO line', () => lines(out).includes('INSTANCE "VI_1" MASTER 100'), time.clock);
    // while the script sleeps, b advertises every 50 ms of virtual time
    const sent = () => b.d.routers.get('VI_1')?.snapshot().stats.advertsSent ?? 0;
    const before = sent();
    await time.clock.advanceAsync(1000);
    expect(sent() - before).toBeGreaterThanOrEqual(19);
    expect(lines(marks)).toEqual([expect.stringMatching(/^start \d+$/)]); // not finished
    expect(lines(out)).toEqual(['INSTANCE "VI_1" BACKUP 100', 'INSTANCE "VI_1" MASTER 100']);
    // stopping b ends the script (SIGTERM) before it writes its end mark
    const pid = Number(lines(marks)[0]?.split(' ')[1]);
    await time.stop(b.d);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(lines(marks)).toHaveLength(1);
    expect(lines(out)).toEqual([
      'INSTANCE "VI_1" BACKUP 100',
      'INSTANCE "VI_1" MASTER 100',
      'INSTANCE "VI_1" STOP 100',
    ]);
    expect(b.log.lines('info')).toContain("(VI_1) notify_master '/bin/sh' ended (signal SIGTERM)");
  });

  it('reports priority changes on the FIFO (notifyPriorityChanges) between the state lines', async () => {
    const flag = file('prio-flag');
    writeFileSync(flag, '0\n');
    const out = file('a.fifo.out');
    const a = daemon(
      '127.0.0.21',
      '127.0.0.22',
      [
        {
          name: 'VI_1',
          vrid: 72,
          priority: 150,
          virtualIps: ['127.0.0.92/8'],
          trackFiles: [{ path: flag, weight: -60 }],
        },
      ],
      { notifyFifo: file('a.fifo'), notifyFifoScript: reader(out), notifyPriorityChanges: true },
    );
    const b = daemon('127.0.0.22', '127.0.0.21', [
      { name: 'VI_1', vrid: 72, priority: 100, virtualIps: ['127.0.0.92/8'] },
    ]);
    await Promise.all([a.d.start(), b.d.start()]);
    await until('a master', () => a.state('VI_1') === 'master' && b.state('VI_1') === 'backup');
    // the reader has opened the FIFO (lines written before are lost if the daemon stops first)
    await waitFor('the reader has the first lines', () => lines(out).length === 2, time.clock);
    writeFileSync(flag, '1\n');
    await until('b master', () => a.state('VI_1') === 'backup' && b.state('VI_1') === 'master');
    writeFileSync(flag, '0\n');
    await until('a master again', () => a.state('VI_1') === 'master' && b.state('VI_1') === 'backup');
    await time.stop(a.d);
    expect(lines(out)).toEqual([
      'INSTANCE "VI_1" BACKUP 150',
      'INSTANCE "VI_1" MASTER 150',
      'INSTANCE "VI_1" MASTER_PRIORITY 90',
      'INSTANCE "VI_1" BACKUP 90',
      'INSTANCE "VI_1" BACKUP_PRIORITY 150',
      'INSTANCE "VI_1" MASTER 150',
      'INSTANCE "VI_1" STOP 150',
    ]);
  });

  it('on stop: notify_stop scripts run and are waited for, STOP lines for the instances, then the group', async () => {
    const stopLog = file('stop.log');
    const out = file('g.fifo.out');
    const fifo = file('g.fifo');
    const a = daemon(
      '127.0.0.21',
      '127.0.0.22',
      [
        { name: 'VI_1', vrid: 73, priority: 150, virtualIps: ['127.0.0.93/8'] },
        { name: 'VI_2', vrid: 74, priority: 150, virtualIps: ['127.0.0.94/8'] },
      ],
      {
        notifyFifo: fifo,
        notifyFifoScript: reader(out),
        syncGroups: [
          {
            name: 'G1',
            instances: ['VI_1', 'VI_2'],
            notifyStop: ['/bin/sh', '-c', `sleep 0.3; echo "group stop" >> '${stopLog}'`],
          },
        ],
      },
    );
    await a.d.start();
    await until('both master', () => a.state('VI_1') === 'master' && a.state('VI_2') === 'master');
    await waitFor('the reader has the first lines', () => lines(out).length === 6, time.clock);
    await time.stop(a.d);
    // stop() returned after the notify_stop script ended, and after the reader read the last line
    expect(lines(stopLog)).toEqual(['group stop']);
    expect(lines(out)).toEqual([
      'INSTANCE "VI_1" BACKUP 150',
      'INSTANCE "VI_2" BACKUP 150',
      'GROUP "G1" BACKUP 0',
      'INSTANCE "VI_1" MASTER 150',
      'INSTANCE "VI_2" MASTER 150',
      'GROUP "G1" MASTER 0',
      'INSTANCE "VI_1" STOP 150',
      'INSTANCE "VI_2" STOP 150',
      'GROUP "G1" STOP 0',
    ]);
    expect(existsSync(fifo)).toBe(false);
  });
});

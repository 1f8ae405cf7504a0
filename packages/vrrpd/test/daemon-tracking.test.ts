import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CommandRunner, MemoryLogger } from '@proxyha/common';
import { MemoryAdvertBus, MemoryVipManager, type RouterTransition } from '@proxyha/vrrp';
import { describe, expect, it } from 'vitest';
import { parseVrrpDaemonConfig, VrrpDaemon } from '../src/index';
import { useVirtualTime } from './helpers';

// Two daemons in this process on the manual clock, over an in-memory advert bus (addresses 127.0.0.21
// and .22, the loopback demo's), each with instances on distinct VIPs: track files and track scripts
// move the state, sync groups move together. Scripts run through a recorded runner whose exit status
// the test sets; track files are real files.
const dir = mkdtempSync(join(tmpdir(), 'proxyha-track-'));
const time = useVirtualTime((clock) => {
  bus = new MemoryAdvertBus(clock);
});
let bus = new MemoryAdvertBus(time.clock);
const { daemons, until } = time;
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** A command runner whose commands exit with `status.code`; it records each command line. */
function scripted() {
  const status = { code: 0 };
  const ran: string[] = [];
  const run: CommandRunner = async (file, args) => {
    ran.push([file, ...args].join(' '));
    return { stdout: '', stderr: '', code: status.code, signal: null, timedOut: false };
  };
  return { status, ran, run };
}

function daemon(address: string, peer: string, instances: object[], extra: object = {}, run?: CommandRunner) {
  const transitions: RouterTransition[] = [];
  const log = new MemoryLogger();
  const config = parseVrrpDaemonConfig({
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
  const d = new VrrpDaemon(config, {
    clock: time.clock,
    transports: (_inst, primary) => bus.transport(primary),
    vips: new MemoryVipManager(),
    onTransition: (t) => transitions.push(t),
    logger: log,
    ...(run ? { run } : {}),
  });
  daemons.push(d);
  return {
    d,
    transitions,
    get lines() {
      return log.lines('info');
    },
    state: (name: string) => d.routers.get(name)?.snapshot().state,
  };
}

describe('VrrpDaemon tracking and sync groups (loopback, no root)', () => {
  it('a track file with weight 0 forces fault and hands the VIP over; clearing it restores', async () => {
    const flag = join(dir, 'fault-flag');
    writeFileSync(flag, '0\n');
    const a = daemon('127.0.0.21', '127.0.0.22', [
      {
        name: 'VI_1',
        vrid: 61,
        priority: 150,
        virtualIps: ['127.0.0.81/8'],
        trackFiles: [{ path: flag, weight: 0 }],
      },
    ]);
    const b = daemon('127.0.0.22', '127.0.0.21', [
      { name: 'VI_1', vrid: 61, priority: 100, virtualIps: ['127.0.0.81/8'] },
    ]);
    await Promise.all([a.d.start(), b.d.start()]);
    await until('a master', () => a.state('VI_1') === 'master' && b.state('VI_1') === 'backup');

    writeFileSync(flag, '1\n');
    await until('a in fault, b master', () => a.state('VI_1') === 'fault' && b.state('VI_1') === 'master');
    expect(a.transitions.at(-1)).toMatchObject({ from: 'master', to: 'fault', reason: 'trackerFailed' });

    writeFileSync(flag, '0\n');
    await until(
      'a master again (preempt)',
      () => a.state('VI_1') === 'master' && b.state('VI_1') === 'backup',
    );
  });

  it('a failing track script with a negative weight lowers the priority below the peer', async () => {
    const script = scripted();
    const a = daemon(
      '127.0.0.21',
      '127.0.0.22',
      [
        {
          name: 'VI_2',
          vrid: 62,
          priority: 150,
          virtualIps: ['127.0.0.82/8'],
          trackScripts: [
            {
              name: 'chk',
              command: ['chk-proxy', '--port', '9090'],
              interval: '50ms',
              weight: -100,
              fall: 2,
              rise: 2,
            },
          ],
        },
      ],
      {},
      script.run,
    );
    const b = daemon('127.0.0.22', '127.0.0.21', [
      { name: 'VI_2', vrid: 62, priority: 100, virtualIps: ['127.0.0.82/8'] },
    ]);
    await Promise.all([a.d.start(), b.d.start()]);
    await until('a master', () => a.state('VI_2') === 'master');
    expect(script.ran[0]).toBe('chk-proxy --port 9090');
    script.status.code = 1;
    await until(
      'b master after the script fails',
      () => b.state('VI_2') === 'master' && a.state('VI_2') === 'backup',
    );
    expect(a.d.routers.get('VI_2')?.snapshot().effectivePriority).toBe(50);
    expect(a.lines).toContain('Script `chk` now returning 1');
    expect(a.lines).toContain('(VI_2) VRRP_Script(chk) failed (exited with status 1)');
    // fall 2: the second failed run moves the state, not the first
    const failed = a.lines.indexOf('Script `chk` now returning 1');
    expect(a.lines.indexOf('(VI_2) VRRP_Script(chk) failed (exited with status 1)')).toBeGreaterThan(failed);
    script.status.code = 0;
    await until(
      'a master again (rise 2)',
      () => a.state('VI_2') === 'master' && b.state('VI_2') === 'backup',
    );
    expect(a.lines).toContain('(VI_2) VRRP_Script(chk) succeeded');
  });

  it('a script that hangs is reported timed out and never delays the adverts', async () => {
    const runs: number[] = [];
    const hang: CommandRunner = async (_file, _args, options) => {
      runs.push(time.clock.now());
      // the real runner kills it after `timeout`: here the timeout simply elapses in virtual time
      await new Promise<void>((resolve) => time.clock.setTimeout(resolve, options?.timeoutMs ?? 0));
      return { stdout: '', stderr: '', code: null, signal: 'SIGKILL', timedOut: true };
    };
    const a = daemon(
      '127.0.0.21',
      '127.0.0.22',
      [
        {
          name: 'VI_3',
          vrid: 63,
          priority: 150,
          virtualIps: ['127.0.0.83/8'],
          trackScripts: [
            { name: 'slow', command: ['sleep', '60'], interval: '100ms', timeout: '500ms', weight: -100 },
          ],
        },
      ],
      {},
      hang,
    );
    const b = daemon('127.0.0.22', '127.0.0.21', [
      { name: 'VI_3', vrid: 63, priority: 100, virtualIps: ['127.0.0.83/8'] },
    ]);
    await Promise.all([a.d.start(), b.d.start()]);
    await until(
      'a master while the script still runs',
      () => a.state('VI_3') === 'master' && b.state('VI_3') === 'backup',
    );
    expect(a.lines).not.toContain('Script `slow` timed out');
    await until('the script timed out, b master', () => b.state('VI_3') === 'master');
    expect(a.lines).toContain('Script `slow` timed out');
    expect(a.lines).toContain('(VI_3) VRRP_Script(slow) failed (timed out)');
    // the next run starts `interval` after the killed one ended
    expect(runs[1]! - runs[0]!).toBe(500 + 100);
  });

  it('members of a sync group change state together', async () => {
    const flag = join(dir, 'group-flag');
    writeFileSync(flag, '0');
    const a = daemon(
      '127.0.0.21',
      '127.0.0.22',
      [
        {
          name: 'VI_A',
          vrid: 71,
          priority: 150,
          virtualIps: ['127.0.0.91/8'],
          trackFiles: [{ path: flag, weight: 0 }],
        },
        { name: 'VI_B', vrid: 72, priority: 150, virtualIps: ['127.0.0.92/8'] },
      ],
      { syncGroups: [{ name: 'G1', instances: ['VI_A', 'VI_B'] }] },
    );
    const b = daemon('127.0.0.22', '127.0.0.21', [
      { name: 'VI_A', vrid: 71, priority: 100, virtualIps: ['127.0.0.91/8'] },
      { name: 'VI_B', vrid: 72, priority: 100, virtualIps: ['127.0.0.92/8'] },
    ]);
    await Promise.all([a.d.start(), b.d.start()]);
    await until('a master of both', () => a.state('VI_A') === 'master' && a.state('VI_B') === 'master');
    writeFileSync(flag, '1');
    // only VI_A tracks the file, but the group takes VI_B into fault with it
    await until(
      'both in fault on a, both master on b',
      () =>
        a.state('VI_A') === 'fault' &&
        a.state('VI_B') === 'fault' &&
        b.state('VI_A') === 'master' &&
        b.state('VI_B') === 'master',
    );
    expect(a.transitions.find((t) => t.instance === 'VI_B' && t.to === 'fault')?.reason).toBe('syncGroup');
  });
});

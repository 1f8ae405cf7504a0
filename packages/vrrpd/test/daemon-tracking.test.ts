import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseVrrpDaemonConfig, type RouterTransition, VrrpDaemon } from '../src/index';

// Two daemons in this process on loopback (127.0.0.21 and .22), each with instances on
// distinct VIPs: track files and track scripts move the state, sync groups move together.
const dir = mkdtempSync(join(tmpdir(), 'proxyha-track-'));
const daemons: VrrpDaemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop()));
});
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

let port = 30000 + (process.pid % 10000) * 3;
function daemon(address: string, peer: string, instances: object[], extra: object = {}) {
  const transitions: RouterTransition[] = [];
  const lines: string[] = [];
  const config = parseVrrpDaemonConfig({
    transport: 'loopback',
    loopback: { port, ownerPort: port + 1 },
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
    onTransition: (t) => transitions.push(t),
    logger: {
      debug() {},
      info: (m) => lines.push(m),
      warn: (m) => lines.push(m),
      error: (m) => lines.push(m),
    },
  });
  daemons.push(d);
  return { d, transitions, lines, state: (name: string) => d.routers.get(name)?.snapshot().state };
}

const until = async (what: string, cond: () => boolean, ms = 4000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('VrrpDaemon tracking and sync groups (loopback, no root)', () => {
  it('a track file with weight 0 forces fault and hands the VIP over; clearing it restores', async () => {
    port += 2;
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
    port += 2;
    const ok = join(dir, 'script-ok');
    writeFileSync(ok, '');
    const a = daemon('127.0.0.21', '127.0.0.22', [
      {
        name: 'VI_2',
        vrid: 62,
        priority: 150,
        virtualIps: ['127.0.0.82/8'],
        trackScripts: [
          { name: 'chk', command: ['test', '-e', ok], interval: '50ms', weight: -100, fall: 2, rise: 2 },
        ],
      },
    ]);
    const b = daemon('127.0.0.22', '127.0.0.21', [
      { name: 'VI_2', vrid: 62, priority: 100, virtualIps: ['127.0.0.82/8'] },
    ]);
    await Promise.all([a.d.start(), b.d.start()]);
    await until('a master', () => a.state('VI_2') === 'master');
    rmSync(ok);
    await until(
      'b master after the script fails',
      () => b.state('VI_2') === 'master' && a.state('VI_2') === 'backup',
    );
    expect(a.d.routers.get('VI_2')?.snapshot().effectivePriority).toBe(50);
    expect(a.lines).toContain('Script `chk` now returning 1');
    expect(a.lines).toContain('(VI_2) VRRP_Script(chk) failed (exited with status 1)');
  });

  it('members of a sync group change state together', async () => {
    port += 2;
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

// LbDaemon with `handover.conntrackSync`: it writes conntrackd's config, runs it, and drives it at every
// role change (commit on takeover, resync request on step-down); the table stays loaded when not directing.

import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CommandRunner, MemoryLogger } from '@proxyha/common';
import { MemoryNetwork } from '@proxyha/netio';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDataPlane } from '../src/dataplane/index';
import { LbDaemon, parseLbDaemonConfig, RawLbTransport } from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'lb-handover-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function until(what: string, fn: () => boolean): Promise<void> {
  for (let i = 0; !fn(); i++) {
    if (i > 1000) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('LbDaemon handover settings', () => {
  it('runs conntrackd with a generated config and commits on takeover', async () => {
    const config = parseLbDaemonConfig({
      interface: 'eth0',
      managementIp: '192.168.77.11',
      virtualIps: ['192.168.77.74/24'],
      redirects: [{ originalPort: 9090, destinationPort: 9090 }],
      dataDir: dir,
      role: 'scanner',
      handover: { conntrackSync: { peer: '192.168.77.12' } },
    });
    expect(config.handover).toEqual({
      keepLoaded: true,
      conntrackSync: { peer: '192.168.77.12', interface: 'eth0', port: undefined },
    });
    const net = new MemoryNetwork();
    const host = net.addHost('a', { interfaces: [{ name: 'eth0', ipv4: ['192.168.77.11/24'] }] });
    const runs: string[] = [];
    const run: CommandRunner = async (program, args) => {
      runs.push([program, ...args.filter((a) => !a.endsWith('.conf') && a !== '-C')].join(' '));
      return { code: 0, signal: null, stdout: '', stderr: '', timedOut: false };
    };
    const child = new (class extends EventEmitter {
      exitCode: number | null = null;
      kill(): boolean {
        this.exitCode = 0;
        this.emit('exit', 0, null);
        return true;
      }
    })();
    const spawned: string[] = [];
    const plane = new MemoryDataPlane();
    const daemon = new LbDaemon(config, {
      logger: new MemoryLogger(),
      transport: new RawLbTransport({ interface: 'eth0', source: '192.168.77.11', stack: host }),
      stack: host,
      dataPlane: plane,
      statusSocket: false,
      run,
      spawnConntrackd: (file) => {
        spawned.push(file);
        return child as unknown as ChildProcess;
      },
      resources: async (ports) => ({
        resources: { cpu: 0, memory: 0, load: 0 },
        connections: ports.map((port) => ({ port, active: 0 })),
      }),
    });
    await daemon.start();
    try {
      expect(spawned).toEqual([join(dir, 'conntrackd.conf')]);
      const conf = readFileSync(join(dir, 'conntrackd.conf'), 'utf8');
      expect(conf).toMatch(/192\.168\.77\.12/);
      expect(conf).toMatch(/192\.168\.77\.11/);
      // keepLoaded: the data plane is up although this node does not direct
      await until('the data plane is loaded', () => plane.running);
      daemon.node?.setRole('director');
      await until('the takeover commands ran', () => runs.length >= 4);
      expect(runs).toEqual(['conntrackd -c', 'conntrackd -f', 'conntrackd -R', 'conntrackd -B']);
      daemon.node?.setRole('scanner');
      await until('the standby commands ran', () => runs.length >= 6);
      expect(runs.slice(4)).toEqual(['conntrackd -t', 'conntrackd -n']);
      expect(plane.running).toBe(true);
    } finally {
      await daemon.stop();
    }
    expect(child.exitCode).toBe(0);
    expect(plane.running).toBe(false);
  });

  it('refuses handover settings for another data plane', () => {
    expect(() =>
      parseLbDaemonConfig({
        interface: 'eth0',
        managementIp: '192.168.77.11',
        virtualIps: ['192.168.77.74'],
        redirects: [{ originalPort: 9090, destinationPort: 9090 }],
        dataPlane: 'relay',
        handover: { keepLoaded: true },
      }),
    ).toThrow(/handover: only the nftables data plane hands connections over/);
  });
});

// ConntrackSync: the conntrackd config of a director candidate and the commands of a role change
// (recorded runner; test/handover.net.test.ts runs the real conntrackd).
import type { CommandRunner } from '@proxyha/common';
import { MemoryLogger } from '@proxyha/common';
import { describe, expect, it } from 'vitest';
import { ConntrackSync, conntrackdConfig } from '../src/dataplane/index';
import { LbError } from '../src/errors';

const base = { localAddress: '192.168.77.11', interface: 'eth0' };

describe('conntrackdConfig', () => {
  it('FTFW over UDP unicast to the peer, external cache, TCP only, loopback and own addresses ignored', () => {
    const text = conntrackdConfig({
      ...base,
      peerAddress: '192.168.77.12',
      ignoreAddresses: ['192.168.77.11', '192.168.77.12'],
      socketPath: '/run/x.ctl',
      lockFile: '/run/x.lock',
    });
    expect(text).toContain('\tMode FTFW {\n\t\tDisableExternalCache Off\n\t}');
    expect(text).toContain(
      '\tUDP {\n\t\tIPv4_address 192.168.77.11\n\t\tIPv4_Destination_Address 192.168.77.12\n\t\tPort 3780\n\t\tInterface eth0\n',
    );
    expect(text).not.toContain('Multicast');
    expect(text).toContain('\t\tPath /run/x.ctl\n');
    expect(text).toContain('\tLockFile /run/x.lock\n');
    expect(text).toContain('\t\tProtocol Accept {\n\t\t\tTCP\n\t\t}');
    const ignored = [...text.matchAll(/\t\t\tIPv[46]_address (\S+)/g)].map((m) => m[1]);
    expect(ignored).toEqual(['127.0.0.1', '::1', '192.168.77.11', '192.168.77.12']);
  });

  it('multicast without a peer (IPv4 and IPv6 defaults), the external cache can be disabled', () => {
    const v4 = conntrackdConfig({ ...base, port: 3781, disableExternalCache: true });
    expect(v4).toContain(
      '\tMulticast {\n\t\tIPv4_address 225.0.0.50\n\t\tGroup 3781\n\t\tIPv4_interface 192.168.77.11\n\t\tInterface eth0\n',
    );
    expect(v4).toContain('DisableExternalCache On');
    const v6 = conntrackdConfig({ localAddress: 'fd77::11', interface: 'eth1' });
    expect(v6).toContain(
      '\t\tIPv6_address ff02::50\n\t\tGroup 3780\n\t\tIPv6_interface fd77::11\n\t\tInterface eth1\n',
    );
  });

  it('rejects bad addresses, mixed families, interfaces and ports', () => {
    const bad = [
      { ...base, localAddress: 'eth0' },
      { ...base, peerAddress: 'fd77::12' },
      { ...base, interface: 'eth0; rm' },
      { ...base, port: 0 },
      { ...base, ignoreAddresses: ['x'] },
    ];
    for (const o of bad) {
      expect(() => conntrackdConfig(o)).toThrow(LbError);
      try {
        conntrackdConfig(o);
      } catch (e) {
        expect((e as LbError).code).toBe('LB_INVALID_ARGUMENT');
      }
    }
  });
});

describe('ConntrackSync', () => {
  function recorder(fail: string[] = []) {
    const calls: string[][] = [];
    const run: CommandRunner = async (file, args) => {
      calls.push([file, ...args]);
      const flag = args.at(-1) as string;
      return fail.includes(flag)
        ? { stdout: '', stderr: `cannot ${flag}\n`, code: 1, signal: null, timedOut: false }
        : { stdout: '', stderr: '', code: 0, signal: null, timedOut: false };
    };
    return { calls, run };
  }

  it('takeOver commits, flushes, resyncs and bulk-sends; standBy shortens timers and requests a resync', async () => {
    const { calls, run } = recorder();
    const s = new ConntrackSync({ ...base, configFile: '/etc/c.conf', run });
    expect((await s.onRole('director')).every((x) => x.ok)).toBe(true);
    expect(await s.onRole('scanner')).toHaveLength(2);
    expect(calls.map((c) => c.join(' '))).toEqual([
      'conntrackd -C /etc/c.conf -c',
      'conntrackd -C /etc/c.conf -f',
      'conntrackd -C /etc/c.conf -R',
      'conntrackd -C /etc/c.conf -B',
      'conntrackd -C /etc/c.conf -t',
      'conntrackd -C /etc/c.conf -n',
    ]);
    expect(s.config()).toBe(conntrackdConfig(base));
  });

  it('a failed command is logged and reported, the others still run (never throws)', async () => {
    const { calls, run } = recorder(['-c']);
    const log = new MemoryLogger();
    const s = new ConntrackSync({ ...base, configFile: '/c', run, conntrackd: '/sbin/ctd', logger: log });
    const steps = await s.takeOver();
    expect(steps.map((x) => [x.flag, x.ok, x.message])).toEqual([
      ['-c', false, 'cannot -c'],
      ['-f', true, ''],
      ['-R', true, ''],
      ['-B', true, ''],
    ]);
    expect(calls).toHaveLength(4);
    expect(calls[0]?.[0]).toBe('/sbin/ctd');
    expect(log.entries.map((e) => e.message)).toContain('conntrackd -c (director) failed: cannot -c');
  });
});

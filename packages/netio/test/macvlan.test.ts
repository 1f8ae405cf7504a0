// Macvlan management (moved here from @proxyha/garp's VMAC manager, with the settings @proxyha/vrrp's
// daemon added on top): the commands run, adoption, name clashes, ARP isolation bookkeeping, the wait for
// the link to be operationally up, and the in-memory twin giving the same results.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CommandRunner, ManualClock, runCommand } from '@proxyha/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LinuxMacvlanManager,
  type MacvlanManager,
  type MacvlanSpec,
  MemoryMacvlanManager,
  NETIO_ERRORS,
} from '../src/index';

const VMAC_51 = '00:00:5e:00:01:33';
const VMAC6_51 = '00:00:5e:00:02:33';

/** A fake `ip`/`sysctl` that keeps links and sysctls in memory and records every call. */
function fakeSystem() {
  const calls: string[] = [];
  const links = new Map<string, { parent: string; mac: string; up: boolean; kind: string; mode: string }>([
    ['eth0', { parent: '', mac: '46:cb:2c:84:db:0f', up: true, kind: '', mode: '' }],
  ]);
  const sysctl = new Map([
    ['net.ipv4.conf.eth0.arp_ignore', '0'],
    ['net.ipv4.conf.eth0.arp_filter', '0'],
    ['net.ipv4.conf.eth0.arp_announce', '0'],
  ]);
  const result = (code: number, stdout = '', stderr = '') => ({
    stdout,
    stderr,
    code,
    signal: null,
    timedOut: false,
  });
  const ok = (stdout = '') => result(0, stdout);
  const run: CommandRunner = async (file, args) => {
    calls.push(`${file} ${args.join(' ')}`);
    if (file === 'sysctl') {
      if (args[0] === '-n') return ok(`${sysctl.get(args[1] as string)}\n`);
      const [k, v] = (args[1] as string).split('=') as [string, string];
      sysctl.set(k, v);
      return ok();
    }
    const a = args.join(' ');
    let m = /^-j -d link show dev (\S+)$/.exec(a);
    if (m) {
      const l = links.get(m[1] as string);
      if (!l) return result(1, '', `Device "${m[1]}" does not exist.`);
      return ok(
        JSON.stringify([
          {
            ifname: m[1],
            address: l.mac,
            link: l.parent || undefined,
            linkinfo: l.kind ? { info_kind: l.kind, info_data: { mode: l.mode } } : undefined,
          },
        ]),
      );
    }
    m = /^link add link (\S+) name (\S+) address (\S+) type macvlan mode private$/.exec(a);
    if (m) {
      if (!links.has(m[1] as string)) return result(1, '', `Cannot find device "${m[1]}"`);
      if (links.has(m[2] as string)) return result(2, '', 'RTNETLINK answers: File exists');
      links.set(m[2] as string, {
        parent: m[1] as string,
        mac: m[3] as string,
        up: false,
        kind: 'macvlan',
        mode: 'private',
      });
      return ok();
    }
    m = /^link set dev (\S+) (up|down|addrgenmode none)$/.exec(a);
    if (m) {
      const l = links.get(m[1] as string);
      if (!l) return result(1, '', `Cannot find device "${m[1]}"`);
      if (m[2] !== 'addrgenmode none') l.up = m[2] === 'up';
      return ok();
    }
    m = /^link del dev (\S+)$/.exec(a);
    if (m) {
      if (!links.delete(m[1] as string)) return result(1, '', `Cannot find device "${m[1]}"`);
      return ok();
    }
    return result(255, '', `unexpected ${a}`);
  };
  return { run, calls, links, sysctl };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A stand-in for /sys/class/net with an operstate file per interface name. */
function sysClassNet(states: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'netio-sysfs-'));
  dirs.push(dir);
  const set = (name: string, state: string) => {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'operstate'), `${state}\n`);
  };
  for (const [name, state] of Object.entries(states)) set(name, state);
  return { dir, set };
}

/** A manager over the fake system, with a sysfs where nothing is visible (no waiting). */
function linux(sys = fakeSystem()) {
  return new LinuxMacvlanManager(sys.run, { sysClassNet: sysClassNet().dir });
}

describe('LinuxMacvlanManager', () => {
  it('runs keepalived’s use_vmac commands and isolates ARP on the parent until the last macvlan goes', async () => {
    const sys = fakeSystem();
    const m = linux(sys);
    await m.create({ parent: 'eth0', name: 'vrrp.51', mac: VMAC_51, family: 'ipv4' });
    expect(sys.calls).toEqual([
      'ip -j -d link show dev vrrp.51',
      'ip link add link eth0 name vrrp.51 address 00:00:5e:00:01:33 type macvlan mode private',
      'sysctl -n net.ipv4.conf.eth0.arp_ignore',
      'sysctl -n net.ipv4.conf.eth0.arp_filter',
      'sysctl -n net.ipv4.conf.eth0.arp_announce',
      'sysctl -w net.ipv4.conf.eth0.arp_ignore=1',
      'sysctl -w net.ipv4.conf.eth0.arp_filter=1',
      'sysctl -w net.ipv4.conf.eth0.arp_announce=2',
      // on the macvlan itself, before it first comes up
      'sysctl -w net.ipv4.conf.vrrp/51.arp_ignore=1',
      'sysctl -w net.ipv6.conf.vrrp/51.disable_ipv6=1',
      'ip link set dev vrrp.51 up',
    ]);
    expect(sys.links.get('vrrp.51')).toMatchObject({ parent: 'eth0', up: true });
    sys.calls.length = 0;
    await m.create({ parent: 'eth0', name: 'vrrp6.51', mac: VMAC6_51, family: 'ipv6' });
    expect(sys.calls).toEqual([
      'ip -j -d link show dev vrrp6.51',
      'ip link add link eth0 name vrrp6.51 address 00:00:5e:00:02:33 type macvlan mode private',
      'sysctl -w net.ipv4.conf.vrrp6/51.arp_ignore=1',
      'ip link set dev vrrp6.51 addrgenmode none', // no automatic link-local address
      'ip link set dev vrrp6.51 up',
    ]);
    expect(await m.list()).toEqual([
      { parent: 'eth0', name: 'vrrp.51', mac: VMAC_51, arpIsolation: true, family: 'ipv4' },
      { parent: 'eth0', name: 'vrrp6.51', mac: VMAC6_51, arpIsolation: true, family: 'ipv6' },
    ]);
    await m.remove('vrrp.51');
    expect(sys.sysctl.get('net.ipv4.conf.eth0.arp_ignore')).toBe('1');
    await m.remove('vrrp6.51');
    expect(sys.sysctl.get('net.ipv4.conf.eth0.arp_ignore')).toBe('0');
    expect(sys.sysctl.get('net.ipv4.conf.eth0.arp_filter')).toBe('0');
    expect(sys.sysctl.get('net.ipv4.conf.eth0.arp_announce')).toBe('0');
    expect([...sys.links.keys()]).toEqual(['eth0']);
    await m.remove('vrrp6.51'); // absent: not an error
    expect(await m.list()).toEqual([]);
  });

  it('without a family sets neither IPv6 setting; setUp brings it down and up', async () => {
    const sys = fakeSystem();
    const m = linux(sys);
    await m.create({ parent: 'eth0', name: 'mv0', mac: '02:00:00:00:00:01', arpIsolation: false });
    expect(sys.calls.filter((c) => c.includes('ipv6') || c.includes('addrgenmode'))).toEqual([]);
    sys.calls.length = 0;
    await m.setUp('mv0', false);
    expect(sys.links.get('mv0')?.up).toBe(false);
    await m.setUp('mv0', true);
    expect(sys.links.get('mv0')?.up).toBe(true);
    expect(sys.calls).toEqual(['ip link set dev mv0 down', 'ip link set dev mv0 up']);
    await expect(m.setUp('nosuch0', true)).rejects.toMatchObject({
      code: 'NETIO_UNKNOWN_INTERFACE',
      details: { interface: 'nosuch0' },
    });
  });

  it('adopts a matching leftover macvlan and refuses a clashing interface', async () => {
    const sys = fakeSystem();
    sys.links.set('vrrp.51', { parent: 'eth0', mac: VMAC_51, up: false, kind: 'macvlan', mode: 'private' });
    sys.links.set('vrrp.52', {
      parent: 'eth0',
      mac: '02:00:00:00:00:52',
      up: false,
      kind: 'macvlan',
      mode: 'private',
    });
    const m = linux(sys);
    await m.create({ parent: 'eth0', name: 'vrrp.51', mac: '00:00:5E:00:01:33', arpIsolation: false });
    expect(sys.links.get('vrrp.51')?.up).toBe(true);
    expect(sys.calls.some((c) => c.startsWith('ip link add'))).toBe(false);
    await expect(
      m.create({ parent: 'eth0', name: 'vrrp.52', mac: '00:00:5e:00:01:34' }),
    ).rejects.toMatchObject({
      code: 'NETIO_MACVLAN_CONFLICT',
      message: expect.stringContaining('already exists'),
      details: { name: 'vrrp.52', parent: 'eth0', mac: '00:00:5e:00:01:34' },
    });
    await expect(
      m.create({ parent: 'eth9', name: 'vrrp.53', mac: '00:00:5e:00:01:35' }),
    ).rejects.toMatchObject({
      code: 'NETIO_UNKNOWN_INTERFACE',
      details: { interface: 'eth9' },
    });
    await expect(m.create({ parent: 'eth0', name: 'x/y', mac: '00:00:5e:00:01:35' })).rejects.toMatchObject({
      code: 'NETIO_INVALID_ARGUMENT',
      details: { argument: 'spec.name' },
    });
    expect(sys.calls.some((c) => c.includes('conf.eth0.arp_'))).toBe(false); // no isolation asked for
  });

  it('counts the parent’s isolation once when the same macvlan is created twice', async () => {
    const sys = fakeSystem();
    const m = linux(sys);
    const spec: MacvlanSpec = { parent: 'eth0', name: 'vrrp.51', mac: VMAC_51 };
    await m.create(spec);
    await m.create(spec);
    await m.remove('vrrp.51');
    expect(sys.sysctl.get('net.ipv4.conf.eth0.arp_ignore')).toBe('0');
  });

  it('a failing command is NETIO_COMMAND_FAILED with the command and its result; a new macvlan is rolled back', async () => {
    const sys = fakeSystem();
    const run: CommandRunner = async (file, args, options) =>
      file === 'sysctl' && args[1]?.includes('disable_ipv6')
        ? {
            stdout: '',
            stderr: 'sysctl: cannot stat /proc/sys/net/ipv6',
            code: 255,
            signal: null,
            timedOut: false,
          }
        : sys.run(file, args, options);
    const m = new LinuxMacvlanManager(run, { sysClassNet: sysClassNet().dir });
    const error = await m
      .create({ parent: 'eth0', name: 'vrrp.51', mac: VMAC_51, family: 'ipv4' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'NETIO_COMMAND_FAILED',
      message: expect.stringContaining('cannot stat /proc/sys/net/ipv6'),
      details: { command: 'sysctl -w net.ipv6.conf.vrrp/51.disable_ipv6=1', result: { code: 255 } },
      cause: { code: 'COMMON_COMMAND_FAILED' },
    });
    expect([...sys.links.keys()]).toEqual(['eth0']); // the new macvlan is gone again
    expect(sys.sysctl.get('net.ipv4.conf.eth0.arp_ignore')).toBe('0'); // and the parent restored
    expect(await m.list()).toEqual([]);
  });

  it('rejects malformed specs before running anything', async () => {
    const sys = fakeSystem();
    const m = linux(sys);
    const bad: [Partial<MacvlanSpec>, string][] = [
      [{ mac: 'nope' }, 'spec.mac'],
      [{ mac: '01:00:5e:00:00:01' }, 'spec.mac'], // multicast
      [{ name: 'eth0' }, 'spec.name'],
      [{ name: 'a-very-long-ifname' }, 'spec.name'],
      [{ parent: '' }, 'spec.parent'],
      [{ family: 4 as unknown as 'ipv4' }, 'spec.family'],
      [{ arpIsolation: 'yes' as unknown as boolean }, 'spec.arpIsolation'],
    ];
    for (const [patch, argument] of bad) {
      await expect(
        m.create({ parent: 'eth0', name: 'vrrp.51', mac: VMAC_51, ...patch }),
      ).rejects.toMatchObject({ code: 'NETIO_INVALID_ARGUMENT', details: { argument } });
    }
    expect(sys.calls).toEqual([]);
  });

  it('bringing a macvlan up waits (bounded) until the kernel reports it operationally up', async () => {
    const sys = fakeSystem();
    const sysfs = sysClassNet({ 'vrrp.51': 'down' });
    const clock = new ManualClock();
    const m = new LinuxMacvlanManager(sys.run, { sysClassNet: sysfs.dir, clock });
    let done = false;
    const up = m.setUp('vrrp.51', true).then(() => {
      done = true;
    });
    // the link exists only in sysfs here; the fake `ip` does not know it
    await expect(up).rejects.toMatchObject({ code: 'NETIO_UNKNOWN_INTERFACE' });
    sys.links.set('vrrp.51', { parent: 'eth0', mac: VMAC_51, up: false, kind: 'macvlan', mode: 'private' });

    done = false;
    const waiting = m.setUp('vrrp.51', true).then(() => {
      done = true;
    });
    await clock.advanceAsync(20);
    expect(done).toBe(false); // still 'down'
    sysfs.set('vrrp.51', 'up');
    await clock.until(() => done, 10);
    await waiting;

    // a link that never comes up (no carrier below it): the wait ends after 500 ms of clock time
    sysfs.set('vrrp.51', 'lowerlayerdown');
    done = false;
    const bounded = m.setUp('vrrp.51', true).then(() => {
      done = true;
    });
    await clock.advanceAsync(400);
    expect(done).toBe(false);
    await clock.until(() => done, 200);
    await bounded;

    // going down never waits
    await m.setUp('vrrp.51', false);
  });
});

describe('MemoryMacvlanManager behaves like the Linux one', () => {
  async function scenario(m: MacvlanManager) {
    const out: string[] = [];
    const attempt = async (f: () => Promise<void>) => {
      try {
        await f();
        out.push('ok');
      } catch (e) {
        out.push((e as { code: string }).code);
      }
    };
    const spec = { parent: 'eth0', name: 'vrrp.51', mac: VMAC_51, arpIsolation: false };
    await attempt(() => m.create(spec));
    await attempt(() => m.create(spec));
    await attempt(() => m.create({ ...spec, mac: '00:00:5e:00:01:34' }));
    await attempt(() => m.create({ ...spec, parent: 'vrrp.51', name: 'eth0' }));
    await attempt(() => m.create({ ...spec, parent: 'eth7', name: 'vrrp.7' }));
    await attempt(() => m.create({ ...spec, name: 'vrrp.9', mac: 'nope' }));
    out.push((await m.list()).map((v) => `${v.name}@${v.parent}=${v.mac}`).join(','));
    await attempt(() => m.setUp('vrrp.51', false));
    await attempt(() => m.setUp('vrrp.51', true));
    await attempt(() => m.setUp('vrrp.99', true));
    await attempt(() => m.remove('vrrp.51'));
    await attempt(() => m.remove('vrrp.51'));
    out.push(String((await m.list()).length));
    return out;
  }

  it('gives the same results and errors for the same calls', async () => {
    const linuxResult = await scenario(linux());
    const memory = new MemoryMacvlanManager(['eth0']);
    const memoryResult = await scenario(memory);
    expect(memoryResult).toEqual(linuxResult);
    expect(memoryResult).toEqual([
      'ok',
      'ok',
      'NETIO_MACVLAN_CONFLICT',
      'NETIO_MACVLAN_CONFLICT',
      'NETIO_UNKNOWN_INTERFACE',
      'NETIO_INVALID_ARGUMENT',
      'vrrp.51@eth0=00:00:5e:00:01:33',
      'ok',
      'ok',
      'NETIO_UNKNOWN_INTERFACE',
      'ok',
      'ok',
      '0',
    ]);
    for (const code of new Set(memoryResult.filter((c) => c.startsWith('NETIO_'))))
      expect(NETIO_ERRORS).toHaveProperty(code);
  });

  it('tracks whether each link is up', async () => {
    const m = new MemoryMacvlanManager(['eth0']);
    await m.create({ parent: 'eth0', name: 'vrrp.51', mac: VMAC_51 });
    expect(m.isUp('vrrp.51')).toBe(true);
    await m.setUp('vrrp.51', false);
    expect(m.isUp('vrrp.51')).toBe(false);
    await m.remove('vrrp.51');
    expect(m.isUp('vrrp.51')).toBe(false);
    expect(m.isUp('eth0')).toBe(true);
  });
});

it('the default runner is common’s runCommand', () => {
  // LinuxMacvlanManager takes common's CommandRunner; nothing of its own
  const m: MacvlanManager = new LinuxMacvlanManager(runCommand);
  expect(m).toBeInstanceOf(LinuxMacvlanManager);
});

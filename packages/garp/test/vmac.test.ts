import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CommandRunner,
  defaultVmacName,
  execCommand,
  LinuxVmacManager,
  MemoryVmacManager,
  parseVirtualMac,
  type VmacManager,
  virtualMac,
} from '../src/index';

describe('virtual MAC helpers', () => {
  it('computes RFC 5798 7.3 addresses', () => {
    expect(virtualMac(51)).toBe('00:00:5e:00:01:33');
    expect(virtualMac(51, 'ipv6')).toBe('00:00:5e:00:02:33');
    expect(virtualMac(1)).toBe('00:00:5e:00:01:01');
    expect(virtualMac(255, 'ipv6')).toBe('00:00:5e:00:02:ff');
    for (const bad of [0, 256, 1.5, Number.NaN])
      expect(() => virtualMac(bad)).toThrow(expect.objectContaining({ code: 'GARP_BAD_VRID' }));
    expect(defaultVmacName(51)).toBe('vrrp.51');
    expect(defaultVmacName(51, 'ipv6')).toBe('vrrp6.51');
  });

  it('parses back any virtual MAC and nothing else', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 255 }),
        fc.constantFrom('ipv4' as const, 'ipv6' as const),
        (vrid, family) => {
          expect(parseVirtualMac(virtualMac(vrid, family).toUpperCase())).toEqual({ vrid, family });
        },
      ),
    );
    for (const other of ['00:00:5e:00:03:33', '00:00:5e:00:01:00', '46:cb:2c:84:db:0f', 'junk'])
      expect(parseVirtualMac(other)).toBeUndefined();
  });
});

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
  const ok = (stdout = '') => ({ stdout, stderr: '', code: 0 });
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
      if (!l) return { stdout: '', stderr: `Device "${m[1]}" does not exist.`, code: 1 };
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
      if (!links.has(m[1] as string)) return { stdout: '', stderr: `Cannot find device "${m[1]}"`, code: 1 };
      if (links.has(m[2] as string)) return { stdout: '', stderr: 'RTNETLINK answers: File exists', code: 2 };
      links.set(m[2] as string, {
        parent: m[1] as string,
        mac: m[3] as string,
        up: false,
        kind: 'macvlan',
        mode: 'private',
      });
      return ok();
    }
    m = /^link set dev (\S+) up$/.exec(a);
    if (m) {
      const l = links.get(m[1] as string);
      if (!l) return { stdout: '', stderr: 'Cannot find device', code: 1 };
      l.up = true;
      return ok();
    }
    m = /^link del dev (\S+)$/.exec(a);
    if (m) {
      if (!links.delete(m[1] as string))
        return { stdout: '', stderr: `Cannot find device "${m[1]}"`, code: 1 };
      return ok();
    }
    return { stdout: '', stderr: `unexpected ${a}`, code: 255 };
  };
  return { run, calls, links, sysctl };
}

describe('LinuxVmacManager', () => {
  it('runs keepalived’s use_vmac commands and isolates ARP on the parent until the last VMAC goes', async () => {
    const sys = fakeSystem();
    const m = new LinuxVmacManager(sys.run);
    await m.create({ parent: 'eth0', name: 'vrrp.51', mac: virtualMac(51) });
    expect(sys.calls).toEqual([
      'ip -j -d link show dev vrrp.51',
      'ip link add link eth0 name vrrp.51 address 00:00:5e:00:01:33 type macvlan mode private',
      'sysctl -n net.ipv4.conf.eth0.arp_ignore',
      'sysctl -n net.ipv4.conf.eth0.arp_filter',
      'sysctl -n net.ipv4.conf.eth0.arp_announce',
      'sysctl -w net.ipv4.conf.eth0.arp_ignore=1',
      'sysctl -w net.ipv4.conf.eth0.arp_filter=1',
      'sysctl -w net.ipv4.conf.eth0.arp_announce=2',
      'ip link set dev vrrp.51 up',
    ]);
    expect(sys.links.get('vrrp.51')).toMatchObject({ parent: 'eth0', up: true });
    await m.create({ parent: 'eth0', name: 'vrrp6.51', mac: virtualMac(51, 'ipv6') });
    expect(await m.list()).toHaveLength(2);
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

  it('adopts a matching leftover macvlan and refuses a clashing interface', async () => {
    const sys = fakeSystem();
    sys.links.set('vrrp.51', {
      parent: 'eth0',
      mac: '00:00:5e:00:01:33',
      up: false,
      kind: 'macvlan',
      mode: 'private',
    });
    sys.links.set('vrrp.52', {
      parent: 'eth0',
      mac: '02:00:00:00:00:52',
      up: false,
      kind: 'macvlan',
      mode: 'private',
    });
    const m = new LinuxVmacManager(sys.run);
    await m.create({ parent: 'eth0', name: 'vrrp.51', mac: '00:00:5E:00:01:33', arpIsolation: false });
    expect(sys.links.get('vrrp.51')?.up).toBe(true);
    await expect(m.create({ parent: 'eth0', name: 'vrrp.52', mac: virtualMac(52) })).rejects.toMatchObject({
      code: 'GARP_COMMAND_FAILED',
      message: expect.stringContaining('already exists'),
    });
    await expect(m.create({ parent: 'eth9', name: 'vrrp.53', mac: virtualMac(53) })).rejects.toMatchObject({
      code: 'GARP_COMMAND_FAILED',
      message: expect.stringContaining('Cannot find device "eth9"'),
    });
    await expect(m.create({ parent: 'eth0', name: 'x/y', mac: virtualMac(53) })).rejects.toMatchObject({
      code: 'GARP_BAD_REQUEST',
    });
    expect(sys.calls.some((c) => c.includes('arp_ignore'))).toBe(false);
  });

  it('the default runner reports exit codes instead of throwing', async () => {
    expect(await execCommand(process.execPath, ['-e', 'process.stdout.write("hi")'])).toEqual({
      stdout: 'hi',
      stderr: '',
      code: 0,
    });
    const r = await execCommand(process.execPath, ['-e', 'process.stderr.write("bad"); process.exit(3)']);
    expect(r).toMatchObject({ code: 3, stderr: 'bad' });
    expect((await execCommand('/nonexistent/ip', [])).code).not.toBe(0);
  });
});

describe('MemoryVmacManager behaves like the Linux one', () => {
  async function scenario(m: VmacManager) {
    const out: string[] = [];
    const attempt = async (f: () => Promise<void>) => {
      try {
        await f();
        out.push('ok');
      } catch (e) {
        out.push((e as { code: string }).code);
      }
    };
    await attempt(() =>
      m.create({ parent: 'eth0', name: 'vrrp.51', mac: virtualMac(51), arpIsolation: false }),
    );
    await attempt(() =>
      m.create({ parent: 'eth0', name: 'vrrp.51', mac: virtualMac(51), arpIsolation: false }),
    );
    await attempt(() =>
      m.create({ parent: 'eth0', name: 'vrrp.51', mac: virtualMac(52), arpIsolation: false }),
    );
    await attempt(() => m.create({ parent: 'eth0', name: 'eth0', mac: virtualMac(52), arpIsolation: false }));
    await attempt(() =>
      m.create({ parent: 'eth7', name: 'vrrp.7', mac: virtualMac(7), arpIsolation: false }),
    );
    await attempt(() => m.create({ parent: 'eth0', name: 'vrrp.9', mac: 'nope', arpIsolation: false }));
    out.push((await m.list()).map((v) => `${v.name}@${v.parent}=${v.mac}`).join(','));
    await attempt(() => m.remove('vrrp.51'));
    await attempt(() => m.remove('vrrp.51'));
    out.push(String((await m.list()).length));
    return out;
  }

  it('gives the same results and errors for the same calls', async () => {
    const linux = await scenario(new LinuxVmacManager(fakeSystem().run));
    const memory = await scenario(new MemoryVmacManager(['eth0']));
    expect(memory).toEqual(linux);
    expect(memory).toEqual([
      'ok',
      'ok',
      'GARP_COMMAND_FAILED',
      'GARP_COMMAND_FAILED',
      'GARP_COMMAND_FAILED',
      'GARP_BAD_MAC',
      'vrrp.51@eth0=00:00:5e:00:01:33',
      'ok',
      'ok',
      '0',
    ]);
  });
});

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeNet, Lab, run, withLab, withScope } from '../src/index';

const netnsList = async () =>
  (await run('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);

// a process counts as gone once it has exited (a zombie awaiting its reaper is gone too)
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describeNet('testlab', () => {
  it('gives every node eth0 with its addresses on one bridge', () =>
    withLab({ nodes: ['a', 'b'] }, async (lab) => {
      const a = lab.node('a');
      expect(a.ipv4).toBe('192.168.77.11');
      expect(lab.node('b').ipv6).toBe('fd77::12');
      expect(a.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      expect(a.linkLocal6).toMatch(/^fe80::/);
      const addr = await lab.exec('a', 'ip', ['-j', 'addr', 'show', 'eth0']);
      expect(addr.stdout).toContain('192.168.77.11');
      await lab.exec('a', 'ping', ['-c1', '-W2', '192.168.77.12']);
      await lab.exec('b', 'ping', ['-6', '-c1', '-W2', 'fd77::11']);
    }));

  it('two namespaces exchange a multicast UDP datagram and a TCP connection', () =>
    withLab({ nodes: ['a', 'b'] }, async (lab) => {
      const rx = lab.spawn('b', 'socat', [
        '-u',
        'UDP4-RECV:5405,ip-add-membership=239.7.7.7:eth0,reuseaddr',
        'STDOUT',
      ]);
      await new Promise((r) => setTimeout(r, 300));
      await lab.exec(
        'a',
        'socat',
        ['-u', 'STDIN', 'UDP4-DATAGRAM:239.7.7.7:5405,ip-multicast-if=192.168.77.11'],
        {
          input: 'hello-multicast\n',
        },
      );
      await rx.waitForOutput(/hello-multicast/, 5_000);

      const srv = lab.spawn('b', 'socat', ['TCP-LISTEN:7070,reuseaddr,fork', 'SYSTEM:echo hello-from-b']);
      await lab.waitForTcp('a', '192.168.77.12', 7070, 5_000, srv);
      const reply = await lab.exec('a', 'socat', ['-T2', '-', 'TCP:192.168.77.12:7070'], { input: '' });
      expect(reply.stdout.trim()).toBe('hello-from-b');
    }));

  it('captures on the bridge and dissects with tshark', () =>
    withLab({ nodes: ['a', 'b'] }, async (lab) => {
      const cap = await lab.capture('bridge', 'udp port 5406');
      await lab.exec('a', 'socat', ['-u', 'STDIN', 'UDP4-DATAGRAM:192.168.77.12:5406'], { input: 'xyz' });
      await new Promise((r) => setTimeout(r, 300));
      const frames = await cap.dissect();
      expect(frames.length).toBeGreaterThanOrEqual(1);
      const ip = frames[0]?.ip as Record<string, unknown>;
      expect(ip['ip.src']).toBe('192.168.77.11');
      expect(ip['ip.dst']).toBe('192.168.77.12');
      expect(frames[0]?.udp?.['udp.dstport']).toBe('5406');
    }));

  it('drops chosen traffic with nftables and heals it again', () =>
    withLab({ nodes: ['a', 'b', 'c'] }, async (lab) => {
      const ping = (from: string, to: string) =>
        lab.exec(from, 'ping', ['-c1', '-W1', lab.node(to).ipv4], { allowFailure: true });
      const rule = await lab.drop({ from: 'a', to: 'b', protocol: 'icmp', both: true });
      expect((await ping('a', 'b')).code).not.toBe(0);
      expect((await ping('a', 'c')).code).toBe(0);
      await rule.remove();
      expect((await ping('a', 'b')).code).toBe(0);

      const cut = await lab.partition(['a'], ['b', 'c']);
      expect((await ping('a', 'c')).code).not.toBe(0);
      expect((await ping('b', 'c')).code).toBe(0);
      await cut.remove();
      expect((await ping('c', 'a')).code).toBe(0);

      // 50 % random loss on UDP: some datagrams arrive, not all.
      await lab.drop({ from: 'a', to: 'b', protocol: 'udp', percent: 50 });
      const rx = lab.spawn('b', 'socat', ['-u', 'UDP4-RECV:5407,reuseaddr', 'STDOUT']);
      for (let i = 0; i < 200; i++)
        await lab.exec('a', 'socat', ['-u', 'STDIN', 'UDP4-DATAGRAM:192.168.77.12:5407'], { input: 'x' });
      await new Promise((r) => setTimeout(r, 300));
      const got = rx.stdout().length;
      expect(got).toBeGreaterThan(40);
      expect(got).toBeLessThan(160);
    }));

  it('removes namespaces, links and processes after teardown, also when the body throws', async () => {
    let pid = 0;
    let names: string[] = [];
    await expect(
      withLab({ nodes: ['a', 'b'] }, async (lab) => {
        pid = lab.spawn('a', 'sleep', ['1000']).pid;
        names = [lab.bridgeNetns, lab.node('a').netns, lab.node('b').netns];
        expect(await netnsList()).toEqual(expect.arrayContaining(names));
        throw new Error('test body failed');
      }),
    ).rejects.toThrow('test body failed');
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
    const left = await netnsList();
    for (const n of names) expect(left).not.toContain(n);
    // the veth pairs lived only inside the lab's namespaces: nothing in the host namespace
    const hostLinks = (await run('ip', ['-o', 'link'])).stdout;
    expect(hostLinks).not.toMatch(/\bp[01]@/);
  });

  it('tears down a lab whose body exceeds its timeout', async () => {
    let ns = '';
    await expect(
      withLab({ nodes: ['a'], timeoutMs: 500 }, async (lab) => {
        ns = lab.node('a').netns;
        await new Promise((r) => setTimeout(r, 5_000));
      }),
    ).rejects.toThrow(/within 500 ms/);
    expect(await netnsList()).not.toContain(ns);
  });

  it('cleans up when the test process is interrupted, and sweeps labs of killed processes', async () => {
    const dist = join(import.meta.dirname, '..', 'dist', 'index.js');
    expect(existsSync(dist), 'build @proxyha/testlab first (pnpm build)').toBe(true);
    const script = `
      const { Lab } = await import(${JSON.stringify(dist)});
      const lab = await Lab.create({ nodes: ['x'] });
      const p = lab.spawn('x', 'sleep', ['1000']);
      console.log(JSON.stringify({ ns: lab.node('x').netns, br: lab.bridgeNetns, pid: p.pid }));
      setInterval(() => {}, 1000);`;
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const info = await new Promise<{ ns: string; br: string; pid: number }>((resolve) => {
        child.stdout.once('data', (d) => resolve(JSON.parse(String(d))));
      });
      expect(await netnsList()).toContain(info.ns);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
      if (signal === 'SIGKILL') {
        // nothing could run in the child: the next lab created sweeps what it left
        await (await Lab.create({ nodes: [] })).destroy();
      }
      await new Promise((r) => setTimeout(r, 100));
      const left = await netnsList();
      expect(left, signal).not.toContain(info.ns);
      expect(left, signal).not.toContain(info.br);
      expect(alive(info.pid), signal).toBe(false);
    }
  });
});

describeNet('testlab peers', () => {
  it('runs keepalived in a node until it is master, and stops it', () =>
    withLab({ nodes: ['a'] }, async (lab) => {
      const ka = await lab.keepalived(
        'a',
        `global_defs { router_id lab_a }
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress { 192.168.77.74/24 }
}
`,
      );
      await ka.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 10_000);
      const addrs = await lab.exec('a', 'ip', ['addr', 'show', 'eth0']);
      expect(addrs.stdout).toContain('192.168.77.74');
      await ka.kill('SIGTERM');
      expect((await lab.exec('a', 'ip', ['addr', 'show', 'eth0'])).stdout).not.toContain('192.168.77.74');
    }));

  it('runs FRR zebra and vrrpd in a node and talks to them with vtysh', () =>
    withLab({ nodes: ['a'] }, async (lab) => {
      const frr = await lab.frr('a', 'interface eth0\n vrrp 51 version 3\n vrrp 51 priority 99\n');
      const out = await frr.vtysh('show vrrp');
      expect(out).toMatch(/Virtual Router ID\s+51/);
      await frr.stop();
      expect(frr.vrrpd.running).toBe(false);
    }));

  it('runs chronyd and tinyproxy on loopback in a host scope and removes their run directories', async () => {
    let dirs: string[] = [];
    await withScope(async (scope) => {
      const c = await scope.chronyd({ port: 11000 + (process.pid % 1000), address: '127.0.0.1' });
      expect(c.running).toBe(true);
      const t = await scope.tinyproxy({ port: 12000 + (process.pid % 1000) });
      expect(t.running).toBe(true);
      dirs = [await scope.runDir('probe')];
      expect(existsSync(dirs[0] as string)).toBe(true);
    });
    for (const d of dirs) expect(existsSync(d)).toBe(false);
  });
});

describe('describeNet', () => {
  it('explains why a namespace test cannot run, or runs it', async () => {
    const { netUnavailableReason, isRoot } = await import('../src/index');
    if (isRoot() && process.platform === 'linux') expect(netUnavailableReason()).toBeUndefined();
    else expect(netUnavailableReason()).toMatch(/root|Linux/);
  });
});

// Real-network tests: our frames, sent from a lab namespace by the real Announcer over @proxyha/netio's
// AF_PACKET sockets (test/fixtures/announce-in-netns.mjs, run in the node with `lab.exec`), must move a
// client namespace's neighbour cache entry for the VIP to the new MAC without the client sending anything.
// They assert what happened and in which order, never how fast: the latency is measured by
// bench/neighbour.mjs. Needs built dist of this package and of netio: `pnpm --filter @proxyha/garp... build`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeNet, type Lab, withLab } from '@proxyha/testlab';
import { beforeAll, expect, it } from 'vitest';
import type { AnnouncePolicyInput, AnnounceRequest } from '../src/index';
import { VMAC4_51 } from './helpers';

const VIP4 = '192.168.77.74';
const VIP6 = 'fd77::74';

const here = import.meta.dirname;
const SCRIPT = join(here, 'fixtures', 'announce-in-netns.mjs');

/** Fails with instructions when dist/ is missing or older than src/ (the script runs the built package). */
function requireFreshBuild() {
  const newest = (dir: string): number =>
    Math.max(...readdirSync(dir, { recursive: true }).map((f) => statSync(join(dir, String(f))).mtimeMs));
  const dist = join(here, '..', 'dist', 'index.js');
  const netioDist = join(here, '..', '..', 'netio', 'dist', 'index.js');
  if (!existsSync(dist) || !existsSync(netioDist) || statSync(dist).mtimeMs < newest(join(here, '..', 'src')))
    throw new Error('build first: pnpm --filter @proxyha/garp... build (the namespace sender runs dist/)');
}

interface RunResult {
  lines: string[];
  stats: { sent: number; failed: number; queued: number };
}

/** Runs the Announcer in `node` for one request and returns its output. */
async function announceIn(
  lab: Lab,
  node: string,
  request: AnnounceRequest,
  policy: AnnouncePolicyInput = {},
): Promise<RunResult> {
  const r = await lab.exec(node, process.execPath, [SCRIPT, JSON.stringify({ request, policy })], {
    timeoutMs: 20_000,
  });
  const out = r.stdout.split('\n').filter(Boolean);
  const stats = out.find((l) => l.startsWith('stats '));
  if (!stats) throw new Error(`announcer in ${node} printed:\n${r.stdout}\n${r.stderr}`);
  return { lines: out.filter((l) => /^(debug|info|warn|error) /.test(l)), stats: JSON.parse(stats.slice(6)) };
}

interface Neigh {
  dst: string;
  lladdr?: string;
  state?: string[];
}

async function neighbour(lab: Lab, node: string, ip: string): Promise<Neigh | undefined> {
  const fam = ip.includes(':') ? '-6' : '-4';
  const out = (await lab.exec(node, 'ip', ['-j', fam, 'neigh', 'show', ip, 'dev', 'eth0'])).stdout;
  return (JSON.parse(out || '[]') as Neigh[])[0];
}

/**
 * The client's neighbour entry once it shows `mac`. Called after the announcer has sent every frame: the
 * receiving kernel handles them in a softirq shortly after, so this looks again a few times; the limit
 * only stops a broken run from hanging, it bounds nothing the test asserts.
 */
async function neighbourShowing(lab: Lab, node: string, ip: string, mac: string): Promise<Neigh> {
  let last: Neigh | undefined;
  for (let look = 0; look < 200; look++) {
    last = await neighbour(lab, node, ip);
    if (last?.lladdr === mac) return last;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${node}: neighbour ${ip} is ${JSON.stringify(last)}, expected lladdr ${mac}`);
}

async function moveVip(lab: Lab, from: string, to: string, cidr: string) {
  await lab.exec(from, 'ip', ['addr', 'del', cidr, 'dev', 'eth0']);
  await lab.exec(to, 'ip', ['addr', 'add', cidr, 'dev', 'eth0', ...(cidr.includes(':') ? ['nodad'] : [])]);
}

describeNet('gratuitous ARP and unsolicited NA move a real neighbour cache', () => {
  beforeAll(requireFreshBuild);

  it('IPv4: the client learns the new MAC of the VIP from our gratuitous ARPs, with arp_accept at its default', () =>
    withLab({ nodes: ['a', 'b', 'client'] }, async (lab) => {
      const a = lab.node('a');
      const b = lab.node('b');
      // Linux creates no entry from a gratuitous ARP unless arp_accept is set; it updates existing ones
      expect(
        (await lab.exec('client', 'sysctl', ['-n', 'net.ipv4.conf.eth0.arp_accept'])).stdout.trim(),
      ).toBe('0');
      await lab.exec('a', 'ip', ['addr', 'add', `${VIP4}/24`, 'dev', 'eth0']);
      await lab.exec('client', 'ping', ['-c1', '-W1', VIP4]);
      expect((await neighbour(lab, 'client', VIP4))?.lladdr).toBe(a.mac);

      const cap = await lab.capture('bridge', 'arp');
      await moveVip(lab, 'a', 'b', `${VIP4}/24`);
      const run = await announceIn(
        lab,
        'b',
        { instance: 'VI_1', ifname: 'eth0', mac: b.mac, ipv4: [VIP4] },
        { secondBurstDelayMs: 0 },
      );
      // the existing entry now holds b's MAC, marked STALE as the kernel does for a gratuitous update
      expect(await neighbourShowing(lab, 'client', VIP4, b.mac)).toMatchObject({ state: ['STALE'] });
      expect(run.lines.filter((l) => l.startsWith('info '))).toEqual([
        `info (VI_1) Sending/queueing gratuitous ARPs on eth0 for ${VIP4}`,
      ]);
      expect(run.lines.filter((l) => l.startsWith('debug '))).toHaveLength(5);
      expect(run.stats).toEqual({ sent: 5, failed: 0, queued: 0 });

      const pkts = await cap.dissect();
      const ours = pkts.filter((p) => JSON.stringify(p.eth ?? {}).includes(`"eth.src":"${b.mac}"`));
      expect(ours).toHaveLength(5);
      for (const p of ours) {
        expect(p.arp).toMatchObject({
          'arp.opcode': '1',
          'arp.isgratuitous': '1',
          'arp.src.hw_mac': b.mac,
          'arp.src.proto_ipv4': VIP4,
          'arp.dst.hw_mac': 'ff:ff:ff:ff:ff:ff',
          'arp.dst.proto_ipv4': VIP4,
        });
        // tshark flags nothing in our frames (a's earlier answers for the VIP are not in this capture)
        expect(JSON.stringify(p)).not.toMatch(/_ws\.expert|_ws\.malformed/);
      }
      // the client sent nothing: it learned the MAC passively
      const clientMac = lab.node('client').mac;
      expect(pkts.filter((p) => JSON.stringify(p.eth ?? {}).includes(`"eth.src":"${clientMac}"`))).toEqual(
        [],
      );
    }));

  it('IPv4: no entry is created for an address the client never resolved, unless arp_accept is set', () =>
    withLab({ nodes: ['b', 'client'] }, async (lab) => {
      const b = lab.node('b');
      const UNRESOLVED = '192.168.77.99';
      const OTHER_MAC = '02:00:00:00:00:99';
      await lab.exec('client', 'ping', ['-c1', '-W1', b.ipv4]);
      expect((await neighbour(lab, 'client', b.ipv4))?.lladdr).toBe(b.mac);
      // one frame for the unresolved address, then one that moves an entry the client has: once the
      // second has moved it, the first was handled too (same link, same receive queue), so the missing
      // entry is the kernel's decision and not a frame still in flight
      const run = await announceIn(
        lab,
        'b',
        { instance: 'VI_9', ifname: 'eth0', mac: OTHER_MAC, ipv4: [UNRESOLVED, b.ipv4] },
        { repeat: 1, secondBurstDelayMs: 0 },
      );
      expect(run.stats).toEqual({ sent: 2, failed: 0, queued: 0 });
      await neighbourShowing(lab, 'client', b.ipv4, OTHER_MAC);
      expect(await neighbour(lab, 'client', UNRESOLVED)).toBeUndefined();

      await lab.exec('client', 'sysctl', ['-qw', 'net.ipv4.conf.eth0.arp_accept=1']);
      const req = { instance: 'VI_9', ifname: 'eth0', mac: b.mac, ipv4: [UNRESOLVED] };
      await announceIn(lab, 'b', req, { repeat: 1, secondBurstDelayMs: 0 });
      await neighbourShowing(lab, 'client', UNRESOLVED, b.mac);
    }));

  it('IPv6: the client learns the new MAC of the VIP from our unsolicited neighbour advertisements', () =>
    withLab({ nodes: ['a', 'b', 'client'] }, async (lab) => {
      const a = lab.node('a');
      const b = lab.node('b');
      await lab.exec('a', 'ip', ['addr', 'add', `${VIP6}/64`, 'dev', 'eth0', 'nodad']);
      await lab.exec('client', 'ping', ['-6', '-c1', '-W1', VIP6]);
      expect((await neighbour(lab, 'client', VIP6))?.lladdr).toBe(a.mac);

      const cap = await lab.capture('bridge', 'icmp6');
      await moveVip(lab, 'a', 'b', `${VIP6}/64`);
      const run = await announceIn(
        lab,
        'b',
        { instance: 'VI_6', ifname: 'eth0', mac: b.mac, ipv6: [VIP6] },
        { secondBurstDelayMs: 0 },
      );
      expect(run.stats).toEqual({ sent: 5, failed: 0, queued: 0 });
      expect((await neighbourShowing(lab, 'client', VIP6, b.mac)).state).toEqual(['STALE']);
      expect(run.lines.filter((l) => l.startsWith('info '))).toEqual([
        `info (VI_6) Sending/queueing Unsolicited Neighbour Adverts on eth0 for ${VIP6}`,
      ]);
      const pkts = await cap.dissect();
      const ours = pkts.filter(
        (p) =>
          p.icmpv6?.['icmpv6.type'] === '136' && JSON.stringify(p.eth ?? {}).includes(`"eth.src":"${b.mac}"`),
      );
      expect(ours).toHaveLength(5);
      for (const p of ours) {
        expect(p.icmpv6).toMatchObject({
          'icmpv6.checksum.status': '1',
          'icmpv6.nd.na.target_address': VIP6,
        });
        expect(p.ipv6).toMatchObject({ 'ipv6.hlim': '255', 'ipv6.dst': 'ff02::1', 'ipv6.src': VIP6 });
        expect(JSON.stringify(p)).not.toMatch(/_ws\.expert|_ws\.malformed/);
      }
    }));

  it('VMAC: announcements for a virtual MAC on a macvlan carry it as Ethernet source and ARP sender', () =>
    withLab({ nodes: ['a', 'b', 'client'] }, async (lab) => {
      const a = lab.node('a');
      const mac = VMAC4_51;
      // the macvlan keepalived's use_vmac creates, with its ARP isolation of the parent
      await lab.exec('b', 'ip', [
        'link',
        'add',
        'link',
        'eth0',
        'name',
        'vrrp.51',
        'address',
        mac,
        'type',
        'macvlan',
        'mode',
        'private',
      ]);
      for (const [k, v] of [
        ['arp_ignore', '1'],
        ['arp_filter', '1'],
        ['arp_announce', '2'],
      ])
        await lab.exec('b', 'sysctl', ['-qw', `net.ipv4.conf.eth0.${k}=${v}`]);
      await lab.exec('b', 'ip', ['link', 'set', 'dev', 'vrrp.51', 'up']);

      await lab.exec('a', 'ip', ['addr', 'add', `${VIP4}/24`, 'dev', 'eth0']);
      await lab.exec('client', 'ping', ['-c1', '-W1', VIP4]);
      expect((await neighbour(lab, 'client', VIP4))?.lladdr).toBe(a.mac);
      await lab.exec('a', 'ip', ['addr', 'del', `${VIP4}/24`, 'dev', 'eth0']);
      await lab.exec('b', 'ip', ['addr', 'add', `${VIP4}/24`, 'dev', 'vrrp.51']);

      const cap = await lab.capture('bridge', 'arp');
      const request = {
        instance: 'VI_1',
        ifname: 'vrrp.51',
        mac: lab.node('b').mac,
        vmac: mac,
        ipv4: [VIP4],
      };
      const run = await announceIn(lab, 'b', request, { secondBurstDelayMs: 0 });
      expect(run.stats).toEqual({ sent: 5, failed: 0, queued: 0 });
      // the burst's line comes once its frames are handed to the socket (they go first)
      expect(run.lines.map((l) => l.split(' ')[0])).toEqual([
        'debug',
        'debug',
        'debug',
        'debug',
        'debug',
        'info',
      ]);
      expect(run.lines).toContain(`info (VI_1) Sending/queueing gratuitous ARPs on vrrp.51 for ${VIP4}`);
      await neighbourShowing(lab, 'client', VIP4, mac);
      const ours = (await cap.dissect()).filter((p) => p.arp?.['arp.src.hw_mac'] === mac);
      expect(ours).toHaveLength(5);
      for (const p of ours) expect(JSON.stringify(p.eth)).toContain(`"eth.src":"${mac}"`);

      // the client reaches the VIP at the virtual MAC: only the macvlan answers ARP for it, and b's own ARP
      // requests (the echo reply routes out of eth0) do not claim the VIP with eth0's MAC
      await lab.exec('client', 'ip', ['neigh', 'flush', 'dev', 'eth0']);
      await lab.exec('client', 'ping', ['-c1', '-W1', VIP4]);
      expect((await neighbour(lab, 'client', VIP4))?.lladdr).toBe(mac);
    }));
});

// Real-network tests: our frames, sent from a lab namespace by the real Announcer over @proxyha/netio's
// AF_PACKET sockets (test/fixtures/announce-in-netns.mjs, run in the node with `lab.exec`), must move a
// client namespace's neighbour cache entry for the VIP to the new MAC without the client sending anything.
// Needs built dist of this package and of netio: `pnpm --filter @proxyha/garp... build`.
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
    Math.max(...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs));
  const dist = join(here, '..', 'dist', 'index.js');
  const netioDist = join(here, '..', '..', 'netio', 'dist', 'index.js');
  if (!existsSync(dist) || !existsSync(netioDist) || statSync(dist).mtimeMs < newest(join(here, '..', 'src')))
    throw new Error('build first: pnpm --filter @proxyha/garp... build (the namespace sender runs dist/)');
}

interface RunResult {
  lines: string[];
  firstSentAt: number;
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
  const first = out.find((l) => l.startsWith('first-sent '));
  if (!stats || !first) throw new Error(`announcer in ${node} printed:\n${r.stdout}\n${r.stderr}`);
  return {
    lines: out.filter((l) => /^(info|warn|debug) /.test(l)),
    firstSentAt: Number(first.split(' ')[1]),
    stats: JSON.parse(stats.slice(6)),
  };
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

/** Polls the client's neighbour entry until its MAC is `mac`; returns when it saw it (epoch ms), or throws. */
async function waitForNeighbour(lab: Lab, node: string, ip: string, mac: string, timeoutMs = 3000) {
  const t0 = Date.now();
  let last: Neigh | undefined;
  while (Date.now() - t0 < timeoutMs) {
    last = await neighbour(lab, node, ip);
    if (last?.lladdr === mac) return Date.now();
    await new Promise((r) => setTimeout(r, 5));
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
      const [run, seenAt] = await Promise.all([
        announceIn(
          lab,
          'b',
          { instance: 'VI_1', ifname: 'eth0', mac: b.mac, ipv4: [VIP4] },
          { secondBurstDelayMs: 0 },
        ),
        waitForNeighbour(lab, 'client', VIP4, b.mac),
      ]);
      // informational: polling `ip neigh` through `ip netns exec` costs a few ms per look
      console.log(
        `IPv4: client cache showed ${b.mac} ${seenAt - run.firstSentAt} ms after the first frame left`,
      );
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
      const req = { instance: 'VI_9', ifname: 'eth0', mac: b.mac, ipv4: ['192.168.77.99'] };
      await announceIn(lab, 'b', req, { repeat: 1, secondBurstDelayMs: 0 });
      await new Promise((r) => setTimeout(r, 200));
      expect(await neighbour(lab, 'client', '192.168.77.99')).toBeUndefined();
      await lab.exec('client', 'sysctl', ['-qw', 'net.ipv4.conf.eth0.arp_accept=1']);
      await announceIn(lab, 'b', req, { repeat: 1, secondBurstDelayMs: 0 });
      await waitForNeighbour(lab, 'client', '192.168.77.99', b.mac);
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
      const [run, seenAt] = await Promise.all([
        announceIn(
          lab,
          'b',
          { instance: 'VI_6', ifname: 'eth0', mac: b.mac, ipv6: [VIP6] },
          { secondBurstDelayMs: 0 },
        ),
        waitForNeighbour(lab, 'client', VIP6, b.mac),
      ]);
      console.log(
        `IPv6: client cache showed ${b.mac} ${seenAt - run.firstSentAt} ms after the first frame left`,
      );
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
      expect(run.lines).toContain(`info (VI_1) Sending/queueing gratuitous ARPs on vrrp.51 for ${VIP4}`);
      await waitForNeighbour(lab, 'client', VIP4, mac);
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

// Real-network tests: our frames, sent from a lab namespace, must move a client namespace's neighbour
// cache entry for the VIP to the new MAC without the client sending anything.
//
// Sender: until @proxyha/netio's AF_PACKET socket lands, frames leave through a three-line python3
// AF_PACKET writer run in the sending node (the bytes are ours, built by this package's Announcer).
import { describeNet, type Lab, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import {
  Announcer,
  type CommandRunner,
  decodeFrame,
  encodeFrame,
  type FrameSender,
  gratuitousArp,
  LinuxVmacManager,
  virtualMac,
} from '../src/index';

const VIP4 = '192.168.77.74';
const VIP6 = 'fd77::74';

const PY_SEND =
  'import socket,sys\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\ns.bind((sys.argv[1],0))\n' +
  'for h in sys.argv[2:]: s.send(bytes.fromhex(h))';

/** FrameSender that writes each frame from `node` through an AF_PACKET socket. */
function namespaceSender(lab: Lab, node: string, log: { ifname: string; at: number }[]): FrameSender {
  return {
    async sendFrame(ifname, frame) {
      await lab.exec(node, 'python3', ['-c', PY_SEND, ifname, Buffer.from(frame).toString('hex')]);
      log.push({ ifname, at: performance.now() });
    },
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

/** Polls the client's neighbour entry until its MAC is `mac`; returns ms waited, or throws with the last entry. */
async function waitForNeighbour(lab: Lab, node: string, ip: string, mac: string, timeoutMs = 3000) {
  const t0 = performance.now();
  let last: Neigh | undefined;
  while (performance.now() - t0 < timeoutMs) {
    last = await neighbour(lab, node, ip);
    if (last?.lladdr === mac) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${node}: neighbour ${ip} is ${JSON.stringify(last)}, expected lladdr ${mac}`);
}

async function moveVip(lab: Lab, from: string, to: string, cidr: string) {
  await lab.exec(from, 'ip', ['addr', 'del', cidr, 'dev', 'eth0']);
  await lab.exec(to, 'ip', ['addr', 'add', cidr, 'dev', 'eth0', ...(cidr.includes(':') ? ['nodad'] : [])]);
}

const lines = (log: { msg: string }[]) => log.map((l) => l.msg);

describeNet('gratuitous ARP and unsolicited NA move a real neighbour cache', () => {
  it('IPv4: the client learns the new MAC of the VIP from our gratuitous ARP, with arp_accept at its default', () =>
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
      const sent: { ifname: string; at: number }[] = [];
      const log: { msg: string }[] = [];
      const announcer = new Announcer({
        sender: namespaceSender(lab, 'b', sent),
        logger: { info: (msg) => log.push({ msg }), warn: (msg) => log.push({ msg }) },
        policy: { secondBurstDelayMs: 0 },
      });
      try {
        announcer.announce({ instance: 'VI_1', ifname: 'eth0', mac: b.mac, ipv4: [VIP4] });
        const waited = await waitForNeighbour(lab, 'client', VIP4, b.mac);
        await announcer.flush();
        // informational only: the sender is a python process per frame; the timing target belongs to the failover test
        console.log(
          `client neighbour cache showed ${b.mac} ${(waited - (sent[0]?.at ?? Number.NaN)).toFixed(1)} ms after the first frame's sender returned`,
        );
      } finally {
        await announcer.close();
      }
      expect(lines(log)).toEqual([`(VI_1) Sending/queueing gratuitous ARPs on eth0 for ${VIP4}`]);
      expect(sent).toHaveLength(5);

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
        // tshark flags nothing in our frames (the duplicate-address note needs a's earlier frames, not captured)
        expect(JSON.stringify(p)).not.toMatch(/_ws\.expert|_ws\.malformed/);
      }
      // the client sent nothing: it learned the MAC passively
      expect(
        pkts.filter((p) => JSON.stringify(p.eth ?? {}).includes(`"eth.src":"${lab.node('client').mac}"`)),
      ).toEqual([]);
    }));

  it('IPv4: no entry is created for an address the client never resolved, unless arp_accept is set', () =>
    withLab({ nodes: ['b', 'client'] }, async (lab) => {
      const b = lab.node('b');
      const frame = Buffer.from(encodeFrame(gratuitousArp({ mac: b.mac, ip: '192.168.77.99' }))).toString(
        'hex',
      );
      await lab.exec('b', 'python3', ['-c', PY_SEND, 'eth0', frame]);
      await new Promise((r) => setTimeout(r, 200));
      expect(await neighbour(lab, 'client', '192.168.77.99')).toBeUndefined();
      await lab.exec('client', 'sysctl', ['-qw', 'net.ipv4.conf.eth0.arp_accept=1']);
      await lab.exec('b', 'python3', ['-c', PY_SEND, 'eth0', frame]);
      await waitForNeighbour(lab, 'client', '192.168.77.99', b.mac);
    }));

  it('IPv6: the client learns the new MAC of the VIP from our unsolicited neighbour advertisement', () =>
    withLab({ nodes: ['a', 'b', 'client'] }, async (lab) => {
      const a = lab.node('a');
      const b = lab.node('b');
      await lab.exec('a', 'ip', ['addr', 'add', `${VIP6}/64`, 'dev', 'eth0', 'nodad']);
      await lab.exec('client', 'ping', ['-6', '-c1', '-W1', VIP6]);
      expect((await neighbour(lab, 'client', VIP6))?.lladdr).toBe(a.mac);

      const cap = await lab.capture('bridge', 'icmp6');
      await moveVip(lab, 'a', 'b', `${VIP6}/64`);
      const sent: { ifname: string; at: number }[] = [];
      const log: { msg: string }[] = [];
      const announcer = new Announcer({
        sender: namespaceSender(lab, 'b', sent),
        logger: { info: (msg) => log.push({ msg }), warn: (msg) => log.push({ msg }) },
        policy: { secondBurstDelayMs: 0 },
      });
      try {
        announcer.announce({ instance: 'VI_6', ifname: 'eth0', mac: b.mac, ipv6: [VIP6] });
        const waited = await waitForNeighbour(lab, 'client', VIP6, b.mac);
        await announcer.flush();
        // informational only: the sender is a python process per frame; the timing target belongs to the failover test
        console.log(
          `client IPv6 neighbour cache showed ${b.mac} ${(waited - (sent[0]?.at ?? Number.NaN)).toFixed(1)} ms after the first frame's sender returned`,
        );
      } finally {
        await announcer.close();
      }
      expect(lines(log)).toEqual([
        `(VI_6) Sending/queueing Unsolicited Neighbour Adverts on eth0 for ${VIP6}`,
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
        expect(p.ipv6).toMatchObject({ 'ipv6.hlim': '255', 'ipv6.dst': 'ff02::1' });
        expect(JSON.stringify(p)).not.toMatch(/_ws\.expert|_ws\.malformed/);
      }
    }));

  it('VMAC: a macvlan made by LinuxVmacManager carries FRR-form announcements with the virtual MAC', () =>
    withLab({ nodes: ['a', 'b', 'client'] }, async (lab) => {
      const a = lab.node('a');
      const runner: CommandRunner = async (file, args) => {
        const r = await lab.exec('b', file, args, { allowFailure: true });
        return { stdout: r.stdout, stderr: r.stderr, code: r.code ?? 1 };
      };
      const vmacs = new LinuxVmacManager(runner);
      const mac = virtualMac(51);
      await vmacs.create({ parent: 'eth0', name: 'vrrp.51', mac });
      try {
        const link = JSON.parse(
          (await lab.exec('b', 'ip', ['-j', '-d', 'link', 'show', 'vrrp.51'])).stdout,
        )[0];
        expect(link).toMatchObject({
          address: mac,
          linkinfo: { info_kind: 'macvlan', info_data: { mode: 'private' } },
        });
        expect((await lab.exec('b', 'sysctl', ['-n', 'net.ipv4.conf.eth0.arp_ignore'])).stdout.trim()).toBe(
          '1',
        );

        await lab.exec('a', 'ip', ['addr', 'add', `${VIP4}/24`, 'dev', 'eth0']);
        await lab.exec('client', 'ping', ['-c1', '-W1', VIP4]);
        expect((await neighbour(lab, 'client', VIP4))?.lladdr).toBe(a.mac);
        await lab.exec('a', 'ip', ['addr', 'del', `${VIP4}/24`, 'dev', 'eth0']);
        await lab.exec('b', 'ip', ['addr', 'add', `${VIP4}/24`, 'dev', 'vrrp.51']);

        const sent: { ifname: string; at: number }[] = [];
        const announcer = new Announcer({
          sender: namespaceSender(lab, 'b', sent),
          policy: { secondBurstDelayMs: 0 },
        });
        try {
          announcer.announce({
            instance: 'VI_1',
            ifname: 'vrrp.51',
            mac: lab.node('b').mac,
            vmac: mac,
            ipv4: [VIP4],
          });
          await waitForNeighbour(lab, 'client', VIP4, mac);
        } finally {
          await announcer.close();
        }
        expect(sent.every((s) => s.ifname === 'vrrp.51')).toBe(true);
        // the client reaches the VIP at the virtual MAC: only the macvlan answers ARP for it, and b's own ARP
        // requests (the echo reply routes out of eth0) do not claim the VIP with eth0's MAC
        await lab.exec('client', 'ip', ['neigh', 'flush', 'dev', 'eth0']);
        await lab.exec('client', 'ping', ['-c1', '-W1', VIP4]);
        expect((await neighbour(lab, 'client', VIP4))?.lladdr).toBe(mac);
      } finally {
        await vmacs.remove('vrrp.51');
      }
      expect((await lab.exec('b', 'ip', ['link', 'show', 'vrrp.51'], { allowFailure: true })).code).not.toBe(
        0,
      );
      expect((await lab.exec('b', 'sysctl', ['-n', 'net.ipv4.conf.eth0.arp_ignore'])).stdout.trim()).toBe(
        '0',
      );
      // the frame FRR would send decodes as such
      const f = decodeFrame(encodeFrame(gratuitousArp({ mac, ip: VIP4 })));
      expect(f.ok && f.value.ethernet.src).toBe(mac);
    }));
});

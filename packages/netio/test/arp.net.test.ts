import { describeNet, withLab } from '@proxyha/testlab';
import { beforeAll, expect, it } from 'vitest';
import { lines, peer, requireBuilt } from './helpers';

/** A gratuitous ARP request (RFC 5227 announcement) for `ip` from `mac`, 42 bytes. */
function garp(mac: string, ip: string): string {
  const m = mac.replaceAll(':', '');
  const i = Buffer.from(ip.split('.').map(Number)).toString('hex');
  return `ffffffffffff${m}0806` + `0001080006040001${m}${i}000000000000${i}`;
}

describeNet('AF_PACKET frames between two namespaces', () => {
  beforeAll(requireBuilt);

  it('an ARP frame sent in one namespace is seen byte for byte by tcpdump and a packet socket in another', () =>
    withLab({ nodes: ['a', 'b'] }, async (lab) => {
      const a = lab.node('a');
      const b = lab.node('b');
      const frame = garp(a.mac, '192.168.77.74');
      const cap = await lab.capture('b', 'arp');
      const rx = peer(lab, 'b', {
        action: 'frames',
        count: 1,
        options: { interface: 'eth0', etherType: 0x0806 },
      });
      await rx.waitForOutput(/^READY$/m);
      const tx = peer(lab, 'a', {
        action: 'frame',
        options: { interface: 'eth0', etherType: 0x0806 },
        frame,
      });
      await tx.waitForOutput(/^SENT$/m);
      await rx.exited;

      const [got] = lines(rx.output(), 'FRAME');
      expect(got?.value).toEqual({
        ifindex: b.ifindex,
        destination: 'ff:ff:ff:ff:ff:ff',
        source: a.mac,
        etherType: 0x0806,
        packetType: 'broadcast',
        frame,
      });
      const seen = (await cap.dissect(['-x'])).map((l) => (l.frame_raw as unknown as string[])[0]);
      expect(seen).toEqual([frame]);
      const [layers] = await cap.dissect();
      const arp = layers?.arp as Record<string, string>;
      expect([arp['arp.isgratuitous'], arp['arp.src.proto_ipv4']]).toEqual(['1', '192.168.77.74']);
    }));
});

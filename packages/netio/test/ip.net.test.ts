import { describeNet, withLab } from '@proxyha/testlab';
import { beforeAll, expect, it } from 'vitest';
import { lines, peer, requireBuilt } from './helpers';

// VRRPv2 advertisement payload of the keepalived vector (vrid 51, prio 99, VIP 192.168.77.74).
const VRRP = '2133630100016dd7c0a84d4a0000000000000000';
const DISCOVERY = Buffer.from('proxyha-director-announce:40-bytes-pad!!').toString('hex');
const REPORT = Buffer.from('proxyha-load-report').toString('hex');

/** tshark `-x` gives each frame's bytes as frame_raw[0] (hex); return the IPv4 header and payload. */
function ipOf(layers: Record<string, unknown>): { header: Buffer; payload: Buffer } {
  const raw = Buffer.from(((layers.frame_raw as unknown[])[0] as string) ?? '', 'hex');
  const ip = raw.subarray(14);
  const ihl = ((ip[0] as number) & 0x0f) * 4;
  return { header: ip.subarray(0, ihl), payload: ip.subarray(ihl, ip.readUInt16BE(2)) };
}

describeNet('raw IP between two namespaces', () => {
  beforeAll(requireBuilt);

  it('protocol 112 multicast and 253 broadcast/unicast arrive with TTL 255, ifindex and source; tshark sees them as sent', () =>
    withLab({ nodes: ['a', 'b'] }, async (lab) => {
      const a = lab.node('a');
      const b = lab.node('b');
      await lab.exec('a', 'ip', ['addr', 'add', '192.168.77.50/24', 'dev', 'eth0']);
      const cap = await lab.capture('bridge', 'ip proto 112 or ip proto 253');
      const before = Date.now();
      const base = { family: 'ipv4', interface: 'eth0', ttl: 255 };
      const rx = peer(lab, 'b', {
        action: 'recv',
        count: 4,
        sockets: [
          { options: { ...base, protocol: 112 }, groups: ['224.0.0.18'] },
          { options: { ...base, protocol: 253 } },
        ],
      });
      await rx.waitForOutput(/^READY$/m);
      const tx = peer(lab, 'a', {
        action: 'send',
        sends: [
          { options: { ...base, protocol: 112, tos: 0xc0 }, destination: '224.0.0.18', payload: VRRP },
          {
            options: { ...base, protocol: 253, broadcast: true },
            destination: '255.255.255.255',
            payload: DISCOVERY,
          },
          { options: { ...base, protocol: 253 }, destination: b.ipv4, payload: REPORT },
          {
            options: { ...base, protocol: 253, source: '192.168.77.50' },
            destination: b.ipv4,
            payload: REPORT,
          },
        ],
      });
      await tx.waitForOutput(/^SENT$/m);
      await rx.exited;
      const got = lines(rx.output(), 'PACKET');
      expect(got.map((g) => [g.index, g.value.destination, g.value.source, g.value.payload])).toEqual([
        [0, '224.0.0.18', a.ipv4, VRRP],
        [1, '255.255.255.255', a.ipv4, DISCOVERY],
        [1, b.ipv4, a.ipv4, REPORT],
        [1, b.ipv4, '192.168.77.50', REPORT],
      ]);
      for (const g of got) expect(g.value).toMatchObject({ ttl: 255, ifindex: b.ifindex });
      // kernel receive timestamps (SO_TIMESTAMPNS): wall-clock times of this run, in arrival order
      const stamps = got.map((g) => g.value.receivedAt as number);
      const after = Date.now() + 1; // Date.now() is whole milliseconds, the stamps are not
      for (const t of stamps) expect(before <= t && t <= after, `${before} <= ${t} <= ${after}`).toBe(true);
      expect([...stamps].sort((x, y) => x - y)).toEqual(stamps);

      const frames = (await cap.dissect(['-x'])).map((layers) => {
        const ip = layers.ip as Record<string, string>;
        const { header, payload } = ipOf(layers);
        return {
          src: ip['ip.src'],
          dst: ip['ip.dst'],
          proto: ip['ip.proto'],
          ttl: ip['ip.ttl'],
          tos: header[1],
          checksum: ip['ip.checksum.status'], // '1': verified good
          payload: payload.toString('hex'),
        };
      });
      expect(frames).toEqual([
        { src: a.ipv4, dst: '224.0.0.18', proto: '112', ttl: '255', tos: 0xc0, checksum: '1', payload: VRRP },
        {
          src: a.ipv4,
          dst: '255.255.255.255',
          proto: '253',
          ttl: '255',
          tos: 0,
          checksum: '1',
          payload: DISCOVERY,
        },
        { src: a.ipv4, dst: b.ipv4, proto: '253', ttl: '255', tos: 0, checksum: '1', payload: REPORT },
        {
          src: '192.168.77.50',
          dst: b.ipv4,
          proto: '253',
          ttl: '255',
          tos: 0,
          checksum: '1',
          payload: REPORT,
        },
      ]);
    }));

  it('IPv6: a packet to ff02::12 on the link arrives with hop limit 255, link-local source and ifindex', () =>
    withLab({ nodes: ['a', 'b'] }, async (lab) => {
      const a = lab.node('a');
      const b = lab.node('b');
      const cap = await lab.capture('bridge', 'ip6 and ip6[6] == 112');
      const before = Date.now();
      const options = { family: 'ipv6', protocol: 112, interface: 'eth0', ttl: 255 };
      const rx = peer(lab, 'b', { action: 'recv', count: 1, sockets: [{ options, groups: ['ff02::12'] }] });
      await rx.waitForOutput(/^READY$/m);
      const payload = '3133640100640000fd770000000000000000000000000064';
      const tx = peer(lab, 'a', { action: 'send', sends: [{ options, destination: 'ff02::12', payload }] });
      await tx.waitForOutput(/^SENT$/m);
      await rx.exited;
      const [got] = lines(rx.output(), 'PACKET');
      expect(got?.value).toEqual({
        source: a.linkLocal6,
        destination: 'ff02::12',
        ifindex: b.ifindex,
        ttl: 255,
        payload,
        receivedAt: expect.any(Number),
      });
      const receivedAt = got?.value.receivedAt as number;
      expect(before <= receivedAt && receivedAt <= Date.now() + 1, String(receivedAt)).toBe(true);
      const [frame] = await cap.dissect();
      const ipv6 = frame?.ipv6 as Record<string, string>;
      expect([ipv6['ipv6.hlim'], ipv6['ipv6.src'], ipv6['ipv6.dst']]).toEqual([
        '255',
        a.linkLocal6,
        'ff02::12',
      ]);
    }));
});

// PacketSocketSender over @proxyha/netio: compile-time fit with the real stack, and an end-to-end run of the
// Announcer over netio's in-memory network (frames cross a simulated link and decode on the other host).
import { ManualClock, MemoryLogger } from '@proxyha/common';
import { type Frame, linuxStack, MemoryNetwork, type NetworkStack } from '@proxyha/netio';
import { describe, expect, it } from 'vitest';
import { Announcer, decodeFrame, type PacketSocketOpener, PacketSocketSender } from '../src/index';

// netio's stacks are PacketSocketOpeners: this fails to compile if either side drifts
const real: PacketSocketOpener = linuxStack;
const anyStack = (s: NetworkStack): PacketSocketOpener => s;

describe('PacketSocketSender over @proxyha/netio', () => {
  it('fits netio’s real stack type', () => {
    expect(typeof real.openPacketSocket).toBe('function');
  });

  it('announces across netio’s in-memory network, ARP and NA, with the second burst', async () => {
    const net = new MemoryNetwork();
    const a = net.addHost('a', {
      interfaces: [{ name: 'eth0', mac: '46:cb:2c:84:db:0f', ipv4: ['192.168.77.11/24'] }],
    });
    const client = net.addHost('client', { interfaces: [{ name: 'eth0', ipv4: ['192.168.77.13/24'] }] });
    const heard: Frame[] = [];
    const arpSock = await client.openPacketSocket({ interface: 'eth0', etherType: 0x0806 });
    const ipv6Sock = await client.openPacketSocket({ interface: 'eth0', etherType: 0x86dd });
    arpSock.onPacket((f) => heard.push(f));
    ipv6Sock.onPacket((f) => heard.push(f));

    const sender = new PacketSocketSender(anyStack(a));
    const clock = new ManualClock();
    const announcer = new Announcer({ sender, clock });
    announcer.announce({
      instance: 'VI_1',
      ifname: 'eth0',
      mac: '46:cb:2c:84:db:0f',
      ipv4: ['192.168.77.74'],
      ipv6: ['fd77::74'],
    });
    await announcer.flush();
    await clock.advanceAsync(0);
    expect(heard).toHaveLength(10);
    await clock.advanceAsync(4999);
    expect(heard).toHaveLength(10);
    await clock.advanceAsync(1);
    await announcer.flush();
    await clock.advanceAsync(0);
    expect(heard).toHaveLength(20);
    const kinds = heard.map((f) => {
      const d = decodeFrame(f.frame);
      if (!d.ok) throw d.error;
      return d.value.kind === 'arp' ? `arp ${d.value.arp.senderIp}` : `na ${d.value.na.target}`;
    });
    expect(kinds.filter((k) => k === 'arp 192.168.77.74')).toHaveLength(10);
    expect(kinds.filter((k) => k === 'na fd77::74')).toHaveLength(10);
    expect(heard.every((f) => f.source === '46:cb:2c:84:db:0f' && f.packetType !== 'outgoing')).toBe(true);
    expect(announcer.stats).toEqual({ sent: 20, failed: 0, queued: 0 });

    // a missing interface is a logged, counted failure; the announcer keeps going
    const logger = new MemoryLogger();
    const b = new Announcer({
      sender,
      clock,
      logger,
      policy: { repeat: 1, secondBurstDelayMs: 0 },
    });
    b.announce({ instance: 'VI_2', ifname: 'eth9', mac: '46:cb:2c:84:db:0f', ipv4: ['192.168.77.75'] });
    await b.flush();
    expect(b.stats.failed).toBe(1);
    expect(logger.lines('error')[0]).toMatch(
      /^\(VI_2\) Error sending gratuitous ARP on eth9 for 192\.168\.77\.75: /,
    );
    await announcer.close();
    await b.close();
    await sender.close();
    arpSock.close();
    ipv6Sock.close();
  });
});

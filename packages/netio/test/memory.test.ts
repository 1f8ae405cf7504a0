import { ManualClock } from '@proxyha/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IpPacket, MemoryNetwork } from '../src/index';

function lab(options: ConstructorParameters<typeof MemoryNetwork>[0] = {}) {
  const net = new MemoryNetwork(options);
  const mk = (name: string, n: number) =>
    net.addHost(name, {
      interfaces: [{ name: 'eth0', ipv4: [`192.168.77.${n}/24`], ipv6: [`fd77::${n}/64`] }],
    });
  return { net, a: mk('a', 11), b: mk('b', 12), c: mk('c', 13) };
}

function collect<T>(r: { onPacket(l: (x: T) => void): () => void }): T[] {
  const got: T[] = [];
  r.onPacket((x) => got.push(x));
  return got;
}

describe('MemoryNetwork IP delivery', () => {
  it('delivers multicast only to sockets that joined, with TTL and ifindex, not back to the sender', async () => {
    const clock = new ManualClock({ wallAtStart: Date.UTC(2026, 0, 1, 12) });
    clock.advance(1234.5);
    const { a, b, c } = lab({ clock });
    const opts = { family: 'ipv4', protocol: 112, interface: 'eth0', ttl: 255 } as const;
    const sa = await a.openIpSocket(opts);
    const sb = await b.openIpSocket(opts);
    const sc = await c.openIpSocket(opts);
    sa.joinGroup('224.0.0.18');
    sb.joinGroup('224.0.0.18');
    const [ga, gb, gc] = [collect<IpPacket>(sa), collect<IpPacket>(sb), collect<IpPacket>(sc)];
    await sa.send(Buffer.from([1, 2, 3]), '224.0.0.18');
    expect(ga).toEqual([]);
    expect(gc).toEqual([]);
    expect(gb).toEqual([
      {
        source: '192.168.77.11',
        destination: '224.0.0.18',
        ifindex: 2,
        ttl: 255,
        payload: Buffer.from([1, 2, 3]),
        receivedAt: clock.wallTime(), // the clock's wall time at delivery (the twin's wire has no delay)
      },
    ]);
    sb.leaveGroup('224.0.0.18');
    await sa.send(Buffer.from([4]), '224.0.0.18');
    expect(gb).toHaveLength(1);
  });

  it('loops multicast back when multicastLoop is set', async () => {
    const { a } = lab();
    const s = await a.openIpSocket({ family: 'ipv4', protocol: 112, interface: 'eth0', multicastLoop: true });
    s.joinGroup('224.0.0.18');
    const got = collect<IpPacket>(s);
    await s.send(Buffer.from([9]), '224.0.0.18');
    expect(got.map((p) => p.ttl)).toEqual([1]); // kernel default multicast TTL
  });

  it('IPv6 multicast uses the link-local source and the multicast hop limit', async () => {
    const { a, b } = lab();
    const opts = { family: 'ipv6', protocol: 112, interface: 'eth0', ttl: 255 } as const;
    const sa = await a.openIpSocket(opts);
    const sb = await b.openIpSocket(opts);
    sb.joinGroup('ff02::12');
    const got = collect<IpPacket>(sb);
    await sa.send(Buffer.from([1]), 'ff02::12');
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ destination: 'ff02::12', ttl: 255 });
    expect(got[0]?.source).toMatch(/^fe80::/);
    expect((await a.interfaceInfo('eth0')).ipv6.map((x) => x.address)).toContain(got[0]?.source);
  });

  it('broadcast needs the option, reaches everyone on the segment and loops back like Linux', async () => {
    const { a, b, c } = lab();
    const plain = await a.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' });
    await expect(plain.send(Buffer.from([1]), '192.168.77.255')).rejects.toMatchObject({
      code: 'NETIO_BROADCAST_NOT_ENABLED',
    });
    const sa = await a.openIpSocket({
      family: 'ipv4',
      protocol: 253,
      interface: 'eth0',
      broadcast: true,
      ttl: 7,
    });
    const gb = collect<IpPacket>(await b.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' }));
    const gc = collect<IpPacket>(await c.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' }));
    const ga = collect<IpPacket>(sa);
    await sa.send(Buffer.from([1]), '255.255.255.255');
    await sa.send(Buffer.from([2]), '192.168.77.255');
    expect(gb.map((p) => [p.payload[0], p.ttl, p.destination])).toEqual([
      [1, 7, '255.255.255.255'],
      [2, 7, '192.168.77.255'],
    ]);
    expect(gc).toHaveLength(2);
    expect(ga).toHaveLength(2);
  });

  it('unicast reaches only the owner of the address, including an added VIP, and only the same protocol', async () => {
    const { a, b, c } = lab();
    const sa = await a.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' });
    const gb = collect<IpPacket>(await b.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' }));
    const gb112 = collect<IpPacket>(
      await b.openIpSocket({ family: 'ipv4', protocol: 112, interface: 'eth0' }),
    );
    const gc = collect<IpPacket>(await c.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' }));
    await sa.send(Buffer.from([1]), '192.168.77.12');
    c.addAddress('eth0', '192.168.77.100/24');
    await sa.send(Buffer.from([2]), '192.168.77.100');
    expect(gb.map((p) => [p.payload[0], p.ttl])).toEqual([[1, 64]]);
    expect(gc.map((p) => p.payload[0])).toEqual([2]);
    expect(gb112).toEqual([]);
  });

  it('compares addresses in canonical form (RFC 5952, any case) and reports them canonically', async () => {
    const { a, b } = lab();
    await b.addAddress('eth0', 'FD77:0:0::100/64');
    expect((await b.interfaceInfo('eth0')).ipv6.map((x) => x.address)).toContain('fd77::100');
    const sa = await a.openIpSocket({ family: 'ipv6', protocol: 253, interface: 'eth0', source: 'FD77::11' });
    const got = collect<IpPacket>(await b.openIpSocket({ family: 'ipv6', protocol: 253, interface: 'eth0' }));
    await sa.send(Buffer.from([1]), 'fd77:0::100');
    expect(got.map((p) => [p.source, p.destination])).toEqual([['fd77::11', 'fd77::100']]);
    await b.removeAddress('eth0', 'fd77::0100/64');
    expect((await b.interfaceInfo('eth0')).ipv6.map((x) => x.address)).not.toContain('fd77::100');
    await expect(b.addAddress('eth0', 'fd77::100')).rejects.toMatchObject({ code: 'NETIO_INVALID_ARGUMENT' });
  });

  it('holds packets until someone reads, like a socket buffer', async () => {
    const { a, b } = lab();
    const sa = await a.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' });
    const sb = await b.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' });
    await sa.send(Buffer.from([1]), '192.168.77.12');
    const it = sb[Symbol.asyncIterator]();
    expect((await it.next()).value?.payload).toEqual(Buffer.from([1]));
    sb.close();
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('drops with the given loss rate, reproducibly with a seeded random', async () => {
    fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), async (seed) => {
        let x = seed;
        const random = () => {
          x = (x * 1103515245 + 12345) % 2 ** 31;
          return x / 2 ** 31;
        };
        const { net, a, b } = lab({ loss: 0.3, random });
        const sa = await a.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' });
        const got = collect<IpPacket>(
          await b.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' }),
        );
        for (let i = 0; i < 200; i++) await sa.send(Buffer.from([i]), '192.168.77.12');
        expect(got.length + net.stats.lost).toBe(200);
        expect(got.length).toBe(net.stats.delivered);
        expect(net.stats.lost).toBeGreaterThan(20);
        expect(net.stats.lost).toBeLessThan(110);
      }),
      { numRuns: 20 },
    );
  });

  it('link down stops delivery and sending; partitions by segment', async () => {
    const { a, b } = lab();
    const sa = await a.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' });
    const got = collect<IpPacket>(await b.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' }));
    b.setLinkUp('eth0', false);
    await sa.send(Buffer.from([1]), '192.168.77.12');
    a.setLinkUp('eth0', false);
    await expect(sa.send(Buffer.from([2]), '192.168.77.12')).rejects.toMatchObject({
      details: { errno: 'ENETDOWN' },
    });
    a.setLinkUp('eth0', true);
    b.setLinkUp('eth0', true);
    b.attach('eth0', 'other');
    await sa.send(Buffer.from([3]), '192.168.77.12');
    b.attach('eth0', 'lan');
    await sa.send(Buffer.from([4]), '192.168.77.12');
    expect(got.map((p) => p.payload[0])).toEqual([4]);
  });

  it('typed errors: unknown interface, permission, bad arguments, closed, too large', async () => {
    const { net, a } = lab();
    await expect(a.openIpSocket({ family: 'ipv4', protocol: 112, interface: 'eth9' })).rejects.toMatchObject({
      code: 'NETIO_UNKNOWN_INTERFACE',
    });
    const nobody = net.addHost('nobody', { interfaces: [{ name: 'eth0' }], privileged: false });
    await expect(
      nobody.openIpSocket({ family: 'ipv4', protocol: 112, interface: 'eth0' }),
    ).rejects.toMatchObject({
      code: 'NETIO_PERMISSION',
      details: { capability: 'CAP_NET_RAW' },
    });
    await expect(a.openIpSocket({ family: 'ipv4', protocol: 300, interface: 'eth0' })).rejects.toMatchObject({
      code: 'NETIO_INVALID_ARGUMENT',
    });
    const s = await a.openIpSocket({ family: 'ipv4', protocol: 112, interface: 'eth0' });
    expect(() => s.joinGroup('10.0.0.1')).toThrow(/multicast/);
    await expect(s.send(Buffer.alloc(1481), '192.168.77.12')).rejects.toMatchObject({
      details: { errno: 'EMSGSIZE' },
    });
    await expect(s.send(Buffer.alloc(1), 'fd77::1')).rejects.toMatchObject({
      code: 'NETIO_INVALID_ARGUMENT',
    });
    s.close();
    await expect(s.send(Buffer.alloc(1), '192.168.77.12')).rejects.toMatchObject({ code: 'NETIO_CLOSED' });
  });
});

describe('MemoryNetwork frames and interfaces', () => {
  const arp = (src: number[], dst = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) =>
    Buffer.from([...dst, ...src, 0x08, 0x06, ...Array(28).fill(0)]);

  it('delivers frames by EtherType and destination MAC', async () => {
    const { a, b, c } = lab();
    const pa = await a.openPacketSocket({ interface: 'eth0', etherType: 0x0806, includeOutgoing: true });
    const gb = collect<import('../src/index').Frame>(
      await b.openPacketSocket({ interface: 'eth0', etherType: 0x0806 }),
    );
    const gc = collect<import('../src/index').Frame>(
      await c.openPacketSocket({ interface: 'eth0', etherType: 0x86dd }),
    );
    const ga = collect<import('../src/index').Frame>(pa);
    const bMac = (await b.interfaceInfo('eth0')).mac;
    await pa.send(arp([2, 0, 0, 0, 1, 2]));
    await pa.send(
      arp(
        [2, 0, 0, 0, 1, 2],
        bMac.split(':').map((x) => Number.parseInt(x, 16)),
      ),
    );
    expect(gb.map((f) => f.packetType)).toEqual(['broadcast', 'host']);
    expect(gb[0]?.frame).toEqual(arp([2, 0, 0, 0, 1, 2]));
    expect(gb[0]).toMatchObject({
      source: '02:00:00:00:01:02',
      destination: 'ff:ff:ff:ff:ff:ff',
      etherType: 0x0806,
    });
    expect(gc).toEqual([]);
    expect(ga.map((f) => f.packetType)).toEqual(['outgoing', 'outgoing']);
  });

  it('reports interface changes to watchers', async () => {
    const { a } = lab();
    const events: string[] = [];
    const w = a.watchInterfaces((e) =>
      events.push(`${e.type}:${e.interface.name}:${e.interface.ipv4.map((x) => x.address).join(',')}`),
    );
    await w.ready;
    a.addAddress('eth0', '192.168.77.100/24');
    a.addAddress('eth0', '192.168.77.100/24'); // no change, no event
    a.removeAddress('eth0', '192.168.77.100/24');
    await Promise.resolve();
    w.close();
    a.setLinkUp('eth0', false);
    await Promise.resolve();
    expect(events).toEqual(['changed:eth0:192.168.77.11,192.168.77.100', 'changed:eth0:192.168.77.11']);
    const list = await a.interfaces();
    expect(list.map((i) => [i.name, i.index])).toEqual([
      ['lo', 1],
      ['eth0', 2],
    ]);
  });
});

describe('MemoryNetwork API surface', () => {
  it('exposes no internals: only the documented members are reachable', async () => {
    const { net, a } = lab();
    expect(Object.keys(net)).toEqual([]);
    expect(Object.keys(a).sort()).toEqual(['name', 'network']);
    for (const hidden of ['attached', 'survives', 'hosts', 'loss', 'random'])
      expect(hidden in net, hidden).toBe(false);
    for (const hidden of ['ifaces', 'ipSockets', 'packetSockets', 'iface', 'change', 'watchers'])
      expect(hidden in a, hidden).toBe(false);
    const s = await a.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'eth0' });
    for (const hidden of ['hub', 'groups', 'options', 'unread']) expect(hidden in s, hidden).toBe(false);
    expect(net.host('a')).toBe(a);
    expect(a.network).toBe(net);
    expect(() => net.host('zz')).toThrow(expect.objectContaining({ code: 'NETIO_INVALID_ARGUMENT' }));
    expect(() => net.addHost('a', { interfaces: [] })).toThrow(
      expect.objectContaining({ code: 'NETIO_INVALID_ARGUMENT' }),
    );
  });

  it('validates interface MACs and reports them canonically', async () => {
    const net = new MemoryNetwork();
    const h = net.addHost('h', { interfaces: [{ name: 'eth0', mac: '02-AA-BB-CC-DD-EE' }] });
    expect((await h.interfaceInfo('eth0')).mac).toBe('02:aa:bb:cc:dd:ee');
    expect((await h.interfaceInfo('eth0')).ipv6).toContainEqual({
      address: 'fe80::aa:bbff:fecc:ddee',
      prefixLength: 64,
    });
    expect(() => net.addHost('x', { interfaces: [{ name: 'eth0', mac: 'nope' }] })).toThrow(
      expect.objectContaining({ code: 'NETIO_INVALID_ARGUMENT' }),
    );
  });
});

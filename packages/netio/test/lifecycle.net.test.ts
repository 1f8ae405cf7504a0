import { readdirSync } from 'node:fs';
import { describeNet } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { type IpPacket, linuxStack } from '../src/index';

const fdCount = () => readdirSync('/proc/self/fd').length;
const tick = () => new Promise((r) => setImmediate(r));

describeNet('socket lifecycle on loopback', () => {
  it('10 000 raw IP socket open/close cycles (IPv4 and IPv6, half of them reading) leave the fd count unchanged', async () => {
    // warm up: load the addon and anything lazily opened
    (await linuxStack.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'lo' })).close();
    await tick();
    const before = fdCount();
    for (let i = 0; i < 10_000; i++) {
      const family = i % 2 === 0 ? 'ipv4' : 'ipv6';
      const s = await linuxStack.openIpSocket({ family, protocol: 253, interface: 'lo', ttl: 255 });
      if (i % 4 < 2) s.onPacket(() => {}); // starts a uv_poll handle that close must release
      if (i % 5 === 0) s.joinGroup(family === 'ipv4' ? '224.0.0.18' : 'ff02::12');
      s.close();
      if (i % 1000 === 0) await tick();
    }
    await tick();
    expect(fdCount()).toBe(before);
  });

  it('100 packet socket open/close cycles leave the fd count unchanged', async () => {
    // fewer: every AF_PACKET close waits for an RCU grace period in the kernel (synchronize_net)
    const before = fdCount();
    for (let i = 0; i < 100; i++) {
      const s = await linuxStack.openPacketSocket({ interface: 'lo', etherType: 0x0806 });
      if (i % 2 === 0) s.onPacket(() => {});
      s.close();
    }
    await tick();
    expect(fdCount()).toBe(before);
  });

  it('netlink listing and watchers leave no fds behind', async () => {
    await linuxStack.interfaces();
    const before = fdCount();
    for (let i = 0; i < 200; i++) await linuxStack.interfaces();
    const w = linuxStack.watchInterfaces(() => {});
    await w.ready;
    expect(w.mode).toBe('netlink');
    w.close();
    // a refresh may still be in flight; its dump socket closes when the dump completes
    for (let i = 0; i < 100 && fdCount() !== before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fdCount()).toBe(before);
  });

  it('a sender that outpaces the receiver is never dropped silently: every send resolves or rejects', async () => {
    const tx = await linuxStack.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'lo' });
    const rx = await linuxStack.openIpSocket({ family: 'ipv4', protocol: 253, interface: 'lo' });
    const got: IpPacket[] = [];
    rx.onPacket((p) => got.push(p));
    const n = 20_000;
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, i) => tx.send(Buffer.alloc(40, i & 0xff), '127.0.0.1')),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(n);
    await new Promise((r) => setTimeout(r, 200));
    // the kernel may drop at the receiving socket buffer, but never more than arrived
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThanOrEqual(2 * n); // tx also hears its own packets on lo
    tx.close();
    rx.close();
  });

  it('reads back TTL 255 (IPv4 multicast, looped back) and hop limit 255 (IPv6) on loopback', async () => {
    for (const family of ['ipv4', 'ipv6'] as const) {
      const s = await linuxStack.openIpSocket({
        family,
        protocol: 253,
        interface: 'lo',
        ttl: 255,
        multicastLoop: true,
      });
      const got = new Promise<IpPacket>((resolve) => s.onPacket(resolve));
      if (family === 'ipv4') s.joinGroup('239.1.2.3');
      await s.send(Buffer.from('x'), family === 'ipv4' ? '239.1.2.3' : '::1');
      expect(await got).toMatchObject({ ttl: 255, ifindex: 1, payload: Buffer.from('x') });
      s.close();
    }
  });
});

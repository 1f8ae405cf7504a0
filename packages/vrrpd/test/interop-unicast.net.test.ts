import { describeNet, tsharkField, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { keepalivedConf, startNameServices, startProxyha, until, VIP6, vipAnswer } from './lab';

// Unicast VRRP (keepalived's unicast_peer) for networks without multicast: proxyha-vrrpd on a
// (150) and keepalived on b (100) list each other as peers; c runs a rogue proxyha (200) that
// sends to a without being a's peer: a must ignore it (and count it), and stay master.
describeNet('VRRP over unicast peers with keepalived 2.2.7', () => {
  it('elects, fails over and preempts over unicast; adverts from a non-peer are discarded and counted', () =>
    withLab({ nodes: ['a', 'b', 'c', 'client'], timeoutMs: 80_000 }, async (lab) => {
      const [a, b, c] = [lab.node('a'), lab.node('b'), lab.node('c')];
      startNameServices(lab, ['a', 'b']);
      const cap = await lab.capture('bridge', 'vrrp');
      const peersOf = (peer: string) => `    unicastPeers: ["${peer}"]`;
      let pa = await startProxyha(lab, 'a', { priority: 150, intervalMs: 100, extra: peersOf(b.ipv4) });
      const ka = await lab.keepalived(
        'b',
        keepalivedConf('b', { priority: 100, intervalMs: 100 }).replace(
          '  virtual_ipaddress {',
          `  unicast_src_ip ${b.ipv4}\n  unicast_peer {\n    ${a.ipv4}\n  }\n  virtual_ipaddress {`,
        ),
      );
      await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000);
      await ka.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 5000);
      await until('client reaches a', async () => (await vipAnswer(lab, 'client')) === 'a', 5000);

      // a rogue router with a higher priority that is not one of a's peers
      const beforeRogue = pa.output().length;
      const rogue = await startProxyha(lab, 'c', { priority: 200, intervalMs: 100, extra: peersOf(a.ipv4) });
      await rogue.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000);
      await new Promise((r) => setTimeout(r, 500));
      expect(pa.output().slice(beforeRogue)).not.toMatch(/Entering BACKUP STATE/);
      const mark = pa.output().length;
      pa.signal('SIGUSR2');
      const [line] = await pa.waitForOutput(/\(VI_1\) statistics (\{.*\})/, 3000, mark);
      const stats = JSON.parse((line.match(/statistics (\{.*\})/) as RegExpMatchArray)[1] as string);
      expect(stats.state).toBe('master');
      expect(stats.machine.discarded.VRRP_UNKNOWN_PEER).toBeGreaterThan(3);
      await rogue.kill('SIGTERM');

      // crash a: keepalived takes over over unicast; a returns and preempts
      const markK = ka.output().length;
      await pa.kill('SIGKILL');
      await ka.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000, markK);
      await until('client reaches b', async () => (await vipAnswer(lab, 'client')) === 'b', 5000);
      pa = await startProxyha(lab, 'a', { priority: 150, intervalMs: 100, extra: peersOf(b.ipv4) });
      await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000);
      await ka.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 5000, markK);
      await until('client reaches a again', async () => (await vipAnswer(lab, 'client')) === 'a', 5000);
      await pa.kill('SIGTERM');

      // on the wire: every advert between a and b went unicast, none to 224.0.0.18
      const frames = (await cap.dissect()).filter((f) => f.vrrp);
      const between = frames.filter((f) => [a.ipv4, b.ipv4].includes(tsharkField(f, 'ip.src') ?? ''));
      expect(between.length).toBeGreaterThan(10);
      for (const f of between) {
        const src = tsharkField(f, 'ip.src');
        expect(tsharkField(f, 'ip.dst'), `advert from ${src}`).toBe(src === a.ipv4 ? b.ipv4 : a.ipv4);
        expect(tsharkField(f, 'ip.ttl')).toBe('255');
        expect(tsharkField(f, 'vrrp.checksum.status')).toBe('1');
      }
      expect(
        frames
          .filter((f) => tsharkField(f, 'ip.src') === c.ipv4)
          .every((f) => tsharkField(f, 'ip.dst') === a.ipv4),
      ).toBe(true);
    }));

  it('IPv6 unicast: keepalived sends its unicast adverts with hop limit 64; proxyha accepts them from its peer', () =>
    withLab({ nodes: ['a', 'b', 'client'], timeoutMs: 60_000 }, async (lab) => {
      const [a, b] = [lab.node('a'), lab.node('b')];
      startNameServices(lab, ['a', 'b']);
      const cap = await lab.capture('bridge', 'ip6 proto 112');
      const ka = await lab.keepalived(
        'b',
        keepalivedConf('b', { priority: 200, intervalMs: 100, vip: `${VIP6}/64` }).replace(
          '  virtual_ipaddress {',
          `  unicast_src_ip ${b.ipv6}\n  unicast_peer {\n    ${a.ipv6}\n  }\n  virtual_ipaddress {`,
        ),
      );
      await ka.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 10_000);
      const pa = await startProxyha(lab, 'a', {
        priority: 100,
        intervalMs: 100,
        vip: `${VIP6}/64`,
        extra: `    unicastPeers: ["${b.ipv6}"]`,
      });
      // a hears b's adverts (hop limit 64) and stays backup: one master, the client reaches b
      await pa.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 5000);
      await new Promise((r) => setTimeout(r, 1000));
      expect(pa.output()).not.toMatch(/Entering MASTER STATE/);
      expect(pa.output()).not.toMatch(/VRRP_BAD_TTL|hop limit 64/);
      await until(
        'client reaches b over IPv6',
        async () => (await vipAnswer(lab, 'client', VIP6)) === 'b',
        5000,
      );
      // keepalived crashes: a takes over
      await ka.kill('SIGKILL');
      await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000);
      await until(
        'client reaches a over IPv6',
        async () => (await vipAnswer(lab, 'client', VIP6)) === 'a',
        5000,
      );
      await pa.kill('SIGTERM');
      // on the wire: keepalived's unicast adverts to a carried hop limit 64
      const frames = (await cap.dissect()).filter((f) => f.vrrp && tsharkField(f, 'ipv6.src') === b.ipv6);
      expect(frames.length).toBeGreaterThan(5);
      expect(new Set(frames.map((f) => tsharkField(f, 'ipv6.dst')))).toEqual(new Set([a.ipv6]));
      expect(new Set(frames.map((f) => tsharkField(f, 'ipv6.hlim')))).toEqual(new Set(['64']));
    }));
});

import { describeNet, withLab } from '@proxyha/testlab';
import { beforeAll, expect, it } from 'vitest';
import { lines, peer, requireBuilt } from './helpers';

describeNet('interface facts and changes in a namespace', () => {
  beforeAll(requireBuilt);

  it('lists index, MAC, MTU, state and addresses as iproute2 sets them', () =>
    withLab({ nodes: ['a'] }, async (lab) => {
      const a = lab.node('a');
      const p = peer(lab, 'a', { action: 'interfaces' });
      await p.exited;
      const [list] = lines(p.output(), 'INTERFACES');
      const eth0 = (list?.value as unknown as { name: string }[]).find((i) => i.name === 'eth0');
      expect(eth0).toMatchObject({ index: a.ifindex, mac: a.mac, mtu: 1500, up: true, running: true });
      expect(eth0).toHaveProperty('ipv4', [{ address: a.ipv4, prefixLength: a.prefix4 }]);
      const v6 = (eth0 as unknown as { ipv6: { address: string }[] }).ipv6.map((x) => x.address).sort();
      expect(v6).toEqual([a.ipv6, a.linkLocal6].sort());
    }));

  it('reports address, MTU and link changes through rtnetlink events', () =>
    withLab({ nodes: ['a'] }, async (lab) => {
      const p = peer(lab, 'a', { action: 'watch', ms: 4000 });
      await p.waitForOutput(/^READY netlink$/m);
      await lab.exec('a', 'ip', ['addr', 'add', '192.168.77.100/24', 'dev', 'eth0']);
      await p.waitForOutput(/192\.168\.77\.100/);
      await lab.exec('a', 'ip', ['link', 'set', 'eth0', 'mtu', '1400']);
      await p.waitForOutput(/"mtu":1400/);
      await lab.exec('a', 'ip', ['link', 'set', 'eth0', 'down']);
      await p.waitForOutput(/"up":false/);
      await p.kill();
      const events = lines(p.output(), 'EVENT').map(
        (e) => e.value as { type: string; interface: { name: string } },
      );
      expect(events.length).toBeGreaterThanOrEqual(3);
      expect(events.every((e) => e.type === 'changed' && e.interface.name === 'eth0')).toBe(true);
    }));
});

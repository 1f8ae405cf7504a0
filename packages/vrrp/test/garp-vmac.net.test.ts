import { describeNet, type Lab, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { checkAnnouncements, neighMac, startNameServices, startVrrpd, watchNeighbours } from './garp-net';
import { until, VIP4, vipAnswer } from './lab';

// vmac: true on a (150) and b (100): the VIP lives on the macvlan vrrp.51 with the virtual
// MAC 00:00:5e:00:01:33, up only on the Master. The client c learns that MAC once and never
// another: after a's SIGKILL, b's gratuitous ARPs from the virtual MAC move the bridge's
// forwarding entry, and c reaches b without its cache changing at all.

const VMAC = '00:00:5e:00:01:33';

async function link(lab: Lab, node: string, ifname: string) {
  const r = await lab.exec(node, 'ip', ['-j', '-d', 'link', 'show', 'dev', ifname], { allowFailure: true });
  if (r.code !== 0) return undefined;
  const l = JSON.parse(r.stdout)[0] as {
    address: string;
    flags: string[];
    linkinfo?: { info_kind?: string };
  };
  return { mac: l.address, up: l.flags.includes('UP'), kind: l.linkinfo?.info_kind };
}

async function addrs(lab: Lab, node: string, ifname: string) {
  return (await lab.exec(node, 'ip', ['-o', '-4', 'addr', 'show', 'dev', ifname])).stdout;
}

describeNet('vmac: true', () => {
  it(
    'the client keeps the virtual MAC through a failover and reaches the new master',
    () =>
      withLab({ nodes: ['a', 'b', 'c'], timeoutMs: 55_000 }, async (lab) => {
        startNameServices(lab, ['a', 'b']);
        const cap = await lab.capture('bridge', 'arp');
        const pa = await startVrrpd(lab, 'a', { priority: 150, extra: '    vmac: true\n' });
        const pb = await startVrrpd(lab, 'b', { priority: 100, extra: '    vmac: true\n' });
        await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000);
        await pb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 5000);
        await pa.waitForOutput(
          /\(VI_1\) Sending\/queueing gratuitous ARPs on vrrp\.51 for 192\.168\.77\.74/,
          2000,
        );
        expect(await link(lab, 'a', 'vrrp.51')).toEqual({ mac: VMAC, up: true, kind: 'macvlan' });
        expect(await link(lab, 'b', 'vrrp.51')).toEqual({ mac: VMAC, up: false, kind: 'macvlan' });
        expect(await addrs(lab, 'a', 'vrrp.51')).toContain(`${VIP4}/24`);
        expect(await addrs(lab, 'a', 'eth0')).not.toContain(VIP4);
        expect((await lab.exec('a', 'sysctl', ['-n', 'net.ipv4.conf.eth0.arp_ignore'])).stdout.trim()).toBe(
          '1',
        );

        await until('c reaches a through the VIP', async () => (await vipAnswer(lab, 'c')) === 'a', 5000);
        expect(await neighMac(lab, 'c', VIP4)).toBe(VMAC);

        const watch = await watchNeighbours(lab, 'c');
        const mark = pb.output().length;
        await pa.kill('SIGKILL');
        await pb.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000, mark);
        await pb.waitForOutput(
          /\(VI_1\) Sending\/queueing gratuitous ARPs on vrrp\.51 for 192\.168\.77\.74/,
          2000,
          mark,
        );
        expect(await link(lab, 'b', 'vrrp.51')).toMatchObject({ up: true });
        expect(await vipAnswer(lab, 'c'), 'c reaches b through the same MAC').toBe('b');
        expect(await neighMac(lab, 'c', VIP4)).toBe(VMAC);
        const changes = watch.events().filter((e) => e.address === VIP4 && e.lladdr !== undefined);
        expect(
          changes.filter((e) => e.lladdr !== VMAC),
          "c's entry never held another MAC",
        ).toEqual([]);

        // a clean stop removes the VMAC and gives eth0 its ARP settings back
        await pb.kill('SIGTERM');
        expect(pb.exitStatus?.code).toBe(0);
        expect(await link(lab, 'b', 'vrrp.51')).toBeUndefined();
        expect((await lab.exec('b', 'sysctl', ['-n', 'net.ipv4.conf.eth0.arp_ignore'])).stdout.trim()).toBe(
          '0',
        );

        const frames = await cap.dissect(['-o', 'arp.detect_duplicate_ips:FALSE']);
        expect(checkAnnouncements(frames, [VMAC], [VIP4]).arp).toBeGreaterThanOrEqual(10);
      }),
    60_000,
  );
});

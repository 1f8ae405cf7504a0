import { describeNet, type Lab, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { checkAnnouncements, neighMac, startVrrpd, watchNeighbours } from './garp-net';
import { startNameServices, until, VIP4, VIP6, vipAnswer } from './lab';

// vmac: true on a (150) and b (100): the VIP lives on the macvlan vrrp.51 (vrrp6.51) with the
// virtual MAC 00:00:5e:00:01:33 (00:00:5e:00:02:33), up only on the Master. The client c learns that MAC once and never
// another: after a's SIGKILL, b's gratuitous ARPs from the virtual MAC move the bridge's
// forwarding entry, and c reaches b without its cache changing at all.

const families = [
  {
    name: 'IPv4',
    vip: VIP4,
    prefix: 24,
    vmac: '00:00:5e:00:01:33',
    ifname: 'vrrp.51',
    what: 'gratuitous ARPs',
  },
  {
    name: 'IPv6',
    vip: VIP6,
    prefix: 64,
    vmac: '00:00:5e:00:02:33',
    ifname: 'vrrp6.51',
    what: 'Unsolicited Neighbour Adverts',
  },
] as const;

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
  return (await lab.exec(node, 'ip', ['-o', 'addr', 'show', 'dev', ifname])).stdout;
}

describeNet('vmac: true', () => {
  for (const { name, vip, prefix, vmac, ifname, what } of families)
    it(
      `${name}: the client keeps the virtual MAC through a failover and reaches the new master`,
      () =>
        withLab({ nodes: ['a', 'b', 'c'], timeoutMs: 55_000 }, async (lab) => {
          const announced = `(VI_1) Sending/queueing ${what} on ${ifname} for ${vip}`;
          const extra = '    vmac: true\n';
          const sawAnnounce = (text: string) => text.includes(announced);
          startNameServices(lab, ['a', 'b']);
          const cap = await lab.capture('bridge', name === 'IPv4' ? 'arp' : 'icmp6');
          const pa = await startVrrpd(lab, 'a', { priority: 150, vip: `${vip}/${prefix}`, extra });
          const pb = await startVrrpd(lab, 'b', { priority: 100, vip: `${vip}/${prefix}`, extra });
          await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000);
          await pb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 5000);
          await until('a announced', () => sawAnnounce(pa.output()), 2000);
          expect(await link(lab, 'a', ifname)).toEqual({ mac: vmac, up: true, kind: 'macvlan' });
          expect(await link(lab, 'b', ifname)).toEqual({ mac: vmac, up: false, kind: 'macvlan' });
          expect(await addrs(lab, 'a', ifname)).toContain(`${vip}/${prefix}`);
          expect(await addrs(lab, 'a', 'eth0')).not.toContain(vip);
          expect((await lab.exec('a', 'sysctl', ['-n', 'net.ipv4.conf.eth0.arp_ignore'])).stdout.trim()).toBe(
            '1',
          );

          await until(
            'c reaches a through the VIP',
            async () => (await vipAnswer(lab, 'c', vip)) === 'a',
            5000,
          );
          expect(await neighMac(lab, 'c', vip)).toBe(vmac);

          const watch = await watchNeighbours(lab, 'c');
          const mark = pb.output().length;
          await pa.kill('SIGKILL');
          await pb.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000, mark);
          await until('b announced', () => sawAnnounce(pb.output().slice(mark)), 2000);
          expect(await link(lab, 'b', ifname)).toMatchObject({ up: true });
          expect(await vipAnswer(lab, 'c', vip), 'c reaches b through the same MAC').toBe('b');
          expect(await neighMac(lab, 'c', vip)).toBe(vmac);
          const changes = watch.events().filter((e) => e.address === vip && e.lladdr !== undefined);
          expect(
            changes.filter((e) => e.lladdr !== vmac),
            "c's entry never held another MAC",
          ).toEqual([]);

          // a clean stop removes the VMAC and gives eth0 its ARP settings back
          await pb.kill('SIGTERM');
          expect(pb.exitStatus?.code).toBe(0);
          expect(await link(lab, 'b', ifname)).toBeUndefined();
          expect((await lab.exec('b', 'sysctl', ['-n', 'net.ipv4.conf.eth0.arp_ignore'])).stdout.trim()).toBe(
            '0',
          );
          // no automatic link-local address on the VMAC (it would be the same on every node)
          expect(await addrs(lab, 'a', ifname)).not.toContain('fe80:');

          const frames = await cap.dissect(['-o', 'arp.detect_duplicate_ips:FALSE']);
          const counts = checkAnnouncements(frames, [vmac], [vip]);
          expect(name === 'IPv4' ? counts.arp : counts.na).toBeGreaterThanOrEqual(10);
        }),
      60_000,
    );
});

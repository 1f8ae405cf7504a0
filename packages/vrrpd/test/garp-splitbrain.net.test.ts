import { describeNet, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { logTime, neighMac, startVrrpd } from './garp-net';
import { startNameServices, until, VIP4, vipAnswer } from './lab';

// A split brain between a (150) and b (100): nftables on the bridge drops VRRP between them,
// so b becomes Master too and its gratuitous ARPs pull the neighbour caches of the client c
// and of a third node d to b. When the rule goes, b yields, and every cache must come back to
// a. With higherPrioritySendAdvert (keepalived's higher_prio_send_advert) b sends one advert
// at 100 as it yields, so a always sees a lower-priority advert and re-announces
// (garp_lower_prio_repeat), whichever advert crosses the healed link first.

const extra = '    higherPrioritySendAdvert: true\n';

describeNet('split brain healed: every neighbour cache follows the surviving master', () => {
  it(
    'c and d point at a again after b yields',
    () =>
      withLab({ nodes: ['a', 'b', 'c', 'd'], timeoutMs: 55_000 }, async (lab) => {
        const a = lab.node('a');
        const b = lab.node('b');
        startNameServices(lab, ['a', 'b']);
        const pa = await startVrrpd(lab, 'a', { priority: 150, extra });
        const pb = await startVrrpd(lab, 'b', { priority: 100, extra });
        await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000);
        await pb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 5000);
        for (const n of ['c', 'd'])
          await until(`${n} reaches a through the VIP`, async () => (await vipAnswer(lab, n)) === 'a', 5000);

        // split: b takes the VIP too and its announcements win the caches
        const markA = pa.output().length;
        const markB = pb.output().length;
        const split = await lab.drop({ from: 'a', to: 'b', protocol: 'vrrp', both: true });
        await pb.waitForOutput(/\(VI_1\) Sending\/queueing gratuitous ARPs on eth0/, 5000, markB);
        for (const n of ['c', 'd'])
          await until(
            `${n}'s cache follows b during the split`,
            async () => (await neighMac(lab, n, VIP4)) === b.mac,
            2000,
          );
        expect(pa.output().slice(markA)).not.toMatch(/Entering BACKUP STATE/);
        const splitAt = logTime(pb, /^\(VI_1\) Entering MASTER STATE/, markB);

        // heal
        const healA = pa.output().length;
        const healB = pb.output().length;
        // both directions at once (remove() is one nftables transaction): were one direction to
        // open first, a's advert could cross, b yield, and b's one lower-priority advert still be
        // dropped, so a would never hear of the split (see the vrrp README)
        await split.remove();
        await pb.waitForOutput(
          /\(VI_1\) Master received advert from 192\.168\.77\.11 with higher priority 150, ours 100/,
          5000,
          healB,
        );
        await pb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 5000, healB);
        await pa.waitForOutput(
          /\(VI_1\) Received advert from 192\.168\.77\.12 with lower priority 100, ours 150, forcing new election/,
          5000,
          healA,
        );
        await pa.waitForOutput(
          /\(VI_1\) Sending\/queueing gratuitous ARPs on eth0 for 192\.168\.77\.74/,
          2000,
          healA,
        );
        for (const n of ['c', 'd'])
          await until(`${n}'s cache back at a`, async () => (await neighMac(lab, n, VIP4)) === a.mac, 2000);
        expect(pa.output().slice(healA)).not.toMatch(/Entering (BACKUP|MASTER) STATE/);

        // b's second burst (5 s after it became Master) was cancelled when it yielded: still a
        const wait = splitAt + 5500 - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        for (const n of ['c', 'd'])
          expect(await neighMac(lab, n, VIP4), `${n} after b's second burst`).toBe(a.mac);
        expect(await vipAnswer(lab, 'c')).toBe('a');
        await Promise.all([pa.kill('SIGTERM'), pb.kill('SIGTERM')]);
      }),
    60_000,
  );
});

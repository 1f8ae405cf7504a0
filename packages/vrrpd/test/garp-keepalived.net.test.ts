import { describeNet, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { neighMac, startVrrpd } from './garp-net';
import { holdsVip, keepalivedConf, startNameServices, until, VIP4, vipAnswer } from './lab';

// keepalived 2.2.7 master on a (150), proxyha-vrrpd backup on b (100), client c. keepalived
// is SIGKILLed: a keeps the VIP configured, as a crashed host does until it reboots, and
// would still answer for it. proxyha's gratuitous ARPs must move c at once: the very first
// connection c makes once proxyha has taken the VIP and queued its ARPs reaches b (no cache
// timeout, no retry). The VIP is added over rtnetlink and the ARPs follow "Entering MASTER
// STATE" within 3-4 ms (printed); a client connecting inside that window can still reach a.

describeNet('proxyha-vrrpd takes over from a crashed keepalived', () => {
  it(
    'the first TCP connection through the VIP after the takeover reaches proxyha',
    () =>
      withLab({ nodes: ['a', 'b', 'c'], timeoutMs: 55_000 }, async (lab) => {
        startNameServices(lab, ['a', 'b']);
        const ka = await lab.keepalived(
          'a',
          keepalivedConf('a', { version: 3, priority: 150, intervalMs: 100 }),
        );
        await ka.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000);
        const pb = await startVrrpd(lab, 'b', { priority: 100 });
        await pb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 5000);
        await until('c reaches a through the VIP', async () => (await vipAnswer(lab, 'c')) === 'a', 5000);
        expect(await neighMac(lab, 'c', VIP4)).toBe(lab.node('a').mac);

        const mark = pb.output().length;
        await ka.kill('SIGKILL');
        const announced = /\(VI_1\) Sending\/queueing gratuitous ARPs on eth0 for 192\.168\.77\.74/;
        await pb.waitForOutput(announced, 5000, mark);
        const first = await vipAnswer(lab, 'c');
        // in b's log, in order: the transition, the VIPs, the announcements
        const log = pb.output().slice(mark);
        const order = [/Entering MASTER STATE/, /setting VIPs\./, announced].map((r) => log.search(r));
        expect(
          order.every((at, i) => at >= 0 && (i === 0 || at > (order[i - 1] as number))),
          log,
        ).toBe(true);
        expect(first, 'first connection after the takeover').toBe('b');
        expect(await neighMac(lab, 'c', VIP4)).toBe(lab.node('b').mac);
        expect(await holdsVip(lab, 'a'), 'the crashed keepalived node still has the VIP').toBe(true);
        await pb.kill('SIGTERM');
      }),
    60_000,
  );
});

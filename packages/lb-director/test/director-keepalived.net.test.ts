// proxyha-lb following VIP ownership decided by keepalived 2.2.7: a (priority 99) and b (89) run
// keepalived with the VIP, a, b and c run proxyha-lb. The keepalived master is the director; when it
// stops, the new master becomes director and the scanners follow it; when it returns, back again.
import { describeNet, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { keepalivedConf, lbStatus, startLb, startProxy, until } from './lb-lab';

describeNet('proxyha-lb with keepalived holding the VIP', () => {
  it('the director follows the VRRP master', async () => {
    await withLab({ nodes: ['a', 'b', 'c'], ipv6: false }, async (lab) => {
      const [ipA, ipB] = [lab.node('a').ipv4, lab.node('b').ipv4];
      for (const n of ['a', 'b', 'c']) startProxy(lab, n);
      const a = await startLb(lab, 'a', { intervalMs: 300 });
      const b = await startLb(lab, 'b', { intervalMs: 300 });
      const c = await startLb(lab, 'c', { intervalMs: 300 });
      let ka = await lab.keepalived('a', keepalivedConf('a', 99));
      await lab.keepalived('b', keepalivedConf('b', 89));

      await ka.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 15_000);
      await a.proc.waitForOutput(/"msg":"state=master previous=backup"/, 10_000);
      await c.proc.waitForOutput(/"msg":"director is 192\.168\.77\.11 \(a\)"/, 10_000);
      await until(
        'a directs a, b and c',
        async () => (await lbStatus(lab, 'a', a)).nodes.length === 3,
        15_000,
      );

      // keepalived stops on a: b is master and director, c follows, a reports to b
      let markB = b.proc.stdout().length;
      const markC = c.proc.stdout().length;
      await ka.kill('SIGTERM');
      await b.proc.waitForOutput(/"msg":"state=master previous=backup"/, 15_000, markB);
      await a.proc.waitForOutput(/"msg":"state=backup previous=master"/, 15_000);
      // c follows b: at once (`director changed from a to b`), or after a's announcements stopped for
      // three intervals before b's first one arrived (`lost director a`, then `director is b`)
      await c.proc.waitForOutput(
        /"msg":"(director changed from 192\.168\.77\.11 \(a\) to|director is) 192\.168\.77\.12 \(b\)"/,
        15_000,
        markC,
      );
      await until(
        'b directs a, b and c',
        async () => {
          const s = await lbStatus(lab, 'b', b);
          return s.role === 'director' && s.nodes.length === 3 && s.nodes.every((n) => n.health === 'ok');
        },
        15_000,
      );
      const sa = await lbStatus(lab, 'a', a);
      expect(sa.role).toBe('scanner');
      expect(sa.director?.address).toBe(ipB);

      // keepalived returns on a and preempts: a directs again
      markB = b.proc.stdout().length;
      ka = await lab.keepalived('a', keepalivedConf('a', 99));
      await ka.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 15_000);
      await b.proc.waitForOutput(/"msg":"state=backup previous=master"/, 15_000, markB);
      await until(
        'a directs again',
        async () => {
          const s = await lbStatus(lab, 'c', c);
          return s.director?.address === ipA;
        },
        15_000,
      );
    });
  });
});

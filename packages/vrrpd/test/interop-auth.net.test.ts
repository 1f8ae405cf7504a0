import { describeNet, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { holdsVip, keepalivedConf, startNameServices, startProxyha, until, vipAnswer } from './lab';

// VRRPv2 simple-password authentication against keepalived 2.2.7 on a namespace bridge: a (proxyha,
// priority 100, password "secret"), b (keepalived, priority 200) and c (a client). keepalived with
// another password in the same VRID neither makes proxyha step down nor keeps it in Backup; its adverts
// are counted as authentication failures and logged as keepalived logs them. The same keepalived with
// the right password interoperates: it preempts proxyha, and the client follows the VIP.

const INTERVAL = 1000;
const SLACK = 3 * INTERVAL + 4000;

/** proxyha's statistics line (SIGUSR2) for VI_1, parsed. */
async function statistics(
  p: Awaited<ReturnType<typeof startProxyha>>,
): Promise<{ state: string; machine: { discarded: Record<string, number> } }> {
  const mark = p.output().length;
  p.signal('SIGUSR2');
  const m = await p.waitForOutput(/\(VI_1\) statistics (\{.*\})/, 5000, mark);
  return JSON.parse(m[1] as string);
}

describeNet('VRRPv2 authentication against keepalived', () => {
  it('a wrong password changes nothing and is counted and logged; the right one interoperates', () =>
    withLab({ nodes: ['a', 'b', 'c'] }, async (lab) => {
      startNameServices(lab, ['a', 'b']);
      const ours = { version: 2, priority: 100, intervalMs: INTERVAL, authPass: 'secret' } as const;

      // 1. proxyha is master; keepalived with another password and a higher priority joins
      let pa = await startProxyha(lab, 'a', ours);
      await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, SLACK);
      const masterAt = pa.output().length;
      let kb = await lab.keepalived(
        'b',
        keepalivedConf('b', { version: 2, priority: 200, intervalMs: INTERVAL, authPass: 'wrongpw' }),
      );
      // keepalived does not hear a valid advert either: it becomes master on its own timer
      await kb.waitForOutput(/\(VI_1\) Entering MASTER STATE/, SLACK);
      await kb.waitForOutput(/\(VI_1\) received an invalid passwd!/, SLACK);
      await pa.waitForOutput(/\(VI_1\) received an invalid passwd!/, SLACK, masterAt);
      // a few more of its adverts: proxyha stays master, never a BACKUP line
      const refused = () =>
        (
          pa
            .output()
            .slice(masterAt)
            .match(/received an invalid passwd!/g) ?? []
        ).length;
      await until('five adverts from keepalived refused', () => refused() >= 5, 5 * INTERVAL + SLACK);
      const after = await statistics(pa);
      expect(after.machine.discarded.VRRP_AUTH_FAILURE).toBeGreaterThanOrEqual(5);
      expect(after.state).toBe('master');
      expect(pa.output().slice(masterAt)).not.toMatch(/Entering BACKUP STATE/);
      expect(await holdsVip(lab, 'a')).toBe(true);

      // 2. proxyha restarts while that keepalived is master: it does not stay backup
      await pa.kill('SIGTERM');
      pa = await startProxyha(lab, 'a', ours);
      await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, SLACK);
      expect(pa.output()).toMatch(/\(VI_1\) received an invalid passwd!/);
      expect((await statistics(pa)).machine.discarded.VRRP_AUTH_FAILURE).toBeGreaterThan(0);
      expect(pa.output()).toMatch(/Entering BACKUP STATE \(init\)[\s\S]*Entering MASTER STATE/);

      // 3. the same keepalived with the right password: it outranks proxyha and preempts it
      await kb.kill('SIGKILL');
      // a SIGKILLed keepalived leaves its VIP behind, as a crashed host would
      await lab.exec('b', 'ip', ['addr', 'del', '192.168.77.74/24', 'dev', 'eth0'], { allowFailure: true });
      const beforeRight = pa.output().length;
      kb = await lab.keepalived(
        'b',
        keepalivedConf('b', { version: 2, priority: 200, intervalMs: INTERVAL, authPass: 'secret' }),
      );
      await pa.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, SLACK, beforeRight);
      await kb.waitForOutput(/\(VI_1\) Entering MASTER STATE/, SLACK);
      await until('client reaches b through the VIP', async () => (await vipAnswer(lab, 'c')) === 'b', SLACK);
      expect(await holdsVip(lab, 'a')).toBe(false);
      expect(pa.output().slice(beforeRight)).not.toMatch(/received an invalid passwd/);
      await pa.kill('SIGTERM');
      await kb.kill('SIGTERM');
    }));
});

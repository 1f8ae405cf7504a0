import type { CommandRunner } from '@proxyha/common';
import { describeNet, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { NftAcceptModeFilter } from '../src/index';
import { startNameServices, vipAnswer } from './lab';

describeNet('NftAcceptModeFilter (Accept_Mode false, as keepalived vrrp_strict)', () => {
  it('drops traffic to blocked VIPs, keeps neighbour discovery, and removes its table', () =>
    withLab({ nodes: ['a', 'c'] }, async (lab) => {
      const runInA: CommandRunner = (cmd, args) => lab.exec('a', cmd, args, { allowFailure: true });
      await lab.exec('a', 'ip', ['addr', 'add', '192.168.77.74/24', 'dev', 'eth0']);
      await lab.exec('a', 'ip', ['addr', 'add', 'fd77::74/64', 'dev', 'eth0', 'nodad']);
      startNameServices(lab, ['a']);
      await lab.waitForTcp('c', '192.168.77.74', 7000);
      expect(await vipAnswer(lab, 'c')).toBe('a');

      const filter = new NftAcceptModeFilter(runInA);
      await filter.block(['192.168.77.74', 'fd77::74']);
      expect(await vipAnswer(lab, 'c')).toBeUndefined();
      expect(await vipAnswer(lab, 'c', 'fd77::74')).toBeUndefined();
      // the node's own address is untouched, and neighbour discovery of the VIP still works
      expect(
        (await lab.exec('c', 'ping', ['-c1', '-W1', '192.168.77.11'], { allowFailure: true })).code,
      ).toBe(0);
      await lab.exec('c', 'ip', ['-6', 'neigh', 'flush', 'dev', 'eth0']);
      await lab.exec('c', 'ping', ['-6', '-c1', '-W1', 'fd77::74'], { allowFailure: true });
      const neigh = (await lab.exec('c', 'ip', ['-6', 'neigh', 'show', 'fd77::74'])).stdout;
      expect(neigh).toContain(lab.node('a').mac);

      await filter.unblock(['192.168.77.74', 'fd77::74']);
      await filter.unblock(['192.168.77.74']); // absent: not an error
      expect(await vipAnswer(lab, 'c')).toBe('a');
      expect(await vipAnswer(lab, 'c', 'fd77::74')).toBe('a');

      await filter.block(['192.168.77.74']);
      await filter.close();
      expect(await vipAnswer(lab, 'c')).toBe('a');
      expect((await lab.exec('a', 'nft', ['list', 'tables'])).stdout).not.toContain('proxyha_vrrp');
    }));
});

import { describeNet, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { startProxyha } from './lab';

describeNet('proxyha-vrrpd follows link state (rtnetlink)', () => {
  it('a master whose link goes down enters FAULT and the backup takes over; the link returns', () =>
    withLab({ nodes: ['a', 'b'] }, async (lab) => {
      const pa = await startProxyha(lab, 'a', { version: 3, priority: 150, intervalMs: 100 });
      const pb = await startProxyha(lab, 'b', { version: 3, priority: 100, intervalMs: 100 });
      await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000);
      await pb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 5000);

      let markA = pa.output().length;
      const markB = pb.output().length;
      await lab.exec('a', 'ip', ['link', 'set', 'eth0', 'down']);
      await pa.waitForOutput(/\(VI_1\) Interface eth0 down/, 5000, markA);
      await pa.waitForOutput(/\(VI_1\) Entering FAULT STATE/, 5000, markA);
      await pb.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000, markB);

      markA = pa.output().length;
      await lab.exec('a', 'ip', ['link', 'set', 'eth0', 'up']);
      await pa.waitForOutput(/\(VI_1\) Interface eth0 up/, 5000, markA);
      await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000, markA);
      expect(pa.output().slice(markA)).not.toMatch(/Entering FAULT STATE/);
      await pb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 5000, markB);
    }));
});

import {
  describeNet,
  type Lab,
  type TsharkLayers,
  tsharkField,
  tsharkProblems,
  withLab,
} from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { holdsVip, keepalivedConf, startNameServices, startProxyha, until, vipAnswer } from './lab';

// proxyha-vrrpd and keepalived 2.2.7 in one VRID on a namespace bridge: nodes a (proxyha),
// b (keepalived) and c (client). Both must agree on the master; failover after SIGKILL,
// handover after SIGTERM and preemption work in both directions; the client reaches the
// VIP by TCP on the new master; tshark finds nothing wrong in proxyha's adverts.

const combos = [
  { version: 2, intervalMs: 1000 },
  { version: 3, intervalMs: 1000 },
  { version: 3, intervalMs: 100 },
] as const;

/** Every VRRP packet proxyha sent, as tshark saw it. */
function checkDissection(frames: TsharkLayers[], from: string, version: number) {
  const ours = frames.filter((f) => tsharkField(f, 'ip.src') === from && f.vrrp);
  expect(ours.length, 'adverts from proxyha in the capture').toBeGreaterThan(2);
  for (const f of ours) {
    expect(tsharkField(f, 'vrrp.version')).toBe(String(version));
    expect(tsharkField(f, 'vrrp.checksum.status'), 'VRRP checksum status (1 = good)').toBe('1');
    expect(tsharkField(f, 'ip.ttl')).toBe('255');
    expect(tsharkProblems(f)).toEqual([]);
  }
  const prio0 = ours.filter((f) => tsharkField(f, 'vrrp.prio') === '0');
  return { count: ours.length, prio0: prio0.length };
}

async function scenario(lab: Lab, version: 2 | 3, intervalMs: number) {
  const slack = 3 * intervalMs + 3000;
  startNameServices(lab, ['a', 'b']);
  const cap = await lab.capture('bridge', 'vrrp');

  // 1. proxyha (99) is master, keepalived (89) backup
  let pa = await startProxyha(lab, 'a', { version, priority: 99, intervalMs });
  const kb = await lab.keepalived('b', keepalivedConf('b', { version, priority: 89, intervalMs }));
  await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack);
  await kb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, slack);
  await until('client reaches a through the VIP', async () => (await vipAnswer(lab, 'c')) === 'a', slack);
  expect(await holdsVip(lab, 'b')).toBe(false);

  // 2. SIGKILL proxyha: keepalived takes over (the VIP stays on a, as on a crashed host)
  let mark = kb.output().length;
  await pa.kill('SIGKILL');
  await kb.waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack, mark);
  await until('client reaches b after the crash', async () => (await vipAnswer(lab, 'c')) === 'b', slack);

  // 3. proxyha returns: removes its stale VIP, then preempts keepalived
  mark = kb.output().length;
  pa = await startProxyha(lab, 'a', { version, priority: 99, intervalMs });
  await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack);
  await kb.waitForOutput(
    /\(VI_1\) Master received advert from 192\.168\.77\.11 with higher priority 99, ours 89/,
    slack,
    mark,
  );
  await kb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, slack, mark);
  await pa.waitForOutput(/\(VI_1\) Sending\/queueing gratuitous ARPs on eth0 for 192\.168\.77\.74/, 2000);
  await until('client reaches a after preemption', async () => (await vipAnswer(lab, 'c')) === 'a', slack);

  // 4. SIGTERM proxyha: priority 0, keepalived takes over after Skew_Time
  mark = kb.output().length;
  await pa.kill('SIGTERM');
  expect(pa.exitStatus?.code).toBe(0);
  expect(pa.output()).toMatch(/\(VI_1\) removing VIPs\./);
  expect(await holdsVip(lab, 'a')).toBe(false);
  await kb.waitForOutput(/\(VI_1\) Backup received priority 0 advertisement/, slack, mark);
  await kb.waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack, mark);
  await until('client reaches b after the handover', async () => (await vipAnswer(lab, 'c')) === 'b', slack);

  // 5. roles reversed: keepalived master, proxyha (80) backup; SIGTERM keepalived
  pa = await startProxyha(lab, 'a', { version, priority: 80, intervalMs });
  await pa.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, slack);
  await new Promise((r) => setTimeout(r, 4 * intervalMs)); // proxyha stays backup while adverts arrive
  expect(pa.output()).not.toMatch(/Entering MASTER STATE/);
  await kb.kill('SIGTERM');
  await pa.waitForOutput(/\(VI_1\) Backup received priority 0 advertisement/, slack);
  await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack);
  await until(
    'client reaches a after keepalived stopped',
    async () => (await vipAnswer(lab, 'c')) === 'a',
    slack,
  );

  // 6. keepalived (120) returns and preempts proxyha; then SIGKILL keepalived: proxyha takes over
  mark = pa.output().length;
  const kb2 = await lab.keepalived('b', keepalivedConf('b', { version, priority: 120, intervalMs }));
  await kb2.waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack);
  await pa.waitForOutput(
    /\(VI_1\) Master received advert from 192\.168\.77\.12 with higher priority 120, ours 80/,
    slack,
    mark,
  );
  await pa.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, slack, mark);
  await until(
    'client reaches b after keepalived preempted',
    async () => (await vipAnswer(lab, 'c')) === 'b',
    slack,
  );
  mark = pa.output().length;
  await kb2.kill('SIGKILL'); // keepalived's VRRP child dies with it; b keeps the VIP configured
  await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack, mark);
  await until(
    'client reaches a after keepalived crashed',
    async () => (await vipAnswer(lab, 'c')) === 'a',
    slack,
  );
  await pa.kill('SIGTERM');

  const frames = await cap.dissect();
  const seen = checkDissection(frames, '192.168.77.11', version);
  expect(seen.prio0, 'priority 0 adverts from proxyha on SIGTERM').toBeGreaterThanOrEqual(1);
}

describeNet('VRRP interop with keepalived 2.2.7', () => {
  for (const { version, intervalMs } of combos) {
    it(
      `v${version}, adverts every ${intervalMs} ms: both agree on the master through crash, handover and preemption`,
      () =>
        withLab({ nodes: ['a', 'b', 'c'], timeoutMs: 115_000 }, (lab) => scenario(lab, version, intervalMs)),
      120_000,
    );
  }
});

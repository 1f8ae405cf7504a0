import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  describeNet,
  type FrrInstance,
  type Lab,
  tsharkField,
  tsharkProblems,
  withLab,
} from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { CLI, until } from './lab';

// proxyha-vrrpd and FRR 8.4 vrrpd, VRRPv3 over IPv4 and IPv6 in VRID 51 at once: nodes
// a (proxyha, two instances), b (FRR, with the macvlan devices FRR needs for its virtual
// MACs) and c (client). Both agree on the master in both families through a crash, a
// handover, preemption, and FRR stopping.

async function startProxyha(lab: Lab, priority: number) {
  const dir = await lab.runDir('vrrpd-a');
  const file = join(dir, 'vrrpd.yaml');
  await writeFile(
    file,
    `instances:
  - { name: VI_4, interface: eth0, vrid: 51, priority: ${priority}, version: 3, advertInterval: 1s, virtualIps: ["192.168.77.74/24"] }
  - { name: VI_6, interface: eth0, vrid: 51, priority: ${priority}, version: 3, advertInterval: 1s, virtualIps: ["fd77::74/64"] }
`,
  );
  const p = lab.spawn('a', process.execPath, [CLI, '--config', file], { name: 'proxyha:a' });
  await p.waitForOutput(/\(VI_6\) Entering (BACKUP|MASTER) STATE/, 10_000);
  return p;
}

async function startFrr(lab: Lab, priority: number): Promise<FrrInstance> {
  for (const [fam, mac, vip] of [
    ['4', '00:00:5e:00:01:33', '192.168.77.74/24'],
    ['6', '00:00:5e:00:02:33', 'fd77::74/64'],
  ] as const) {
    const dev = `vrrp${fam}-51`;
    const exists = await lab.exec('b', 'ip', ['link', 'show', dev], { allowFailure: true });
    if (exists.code !== 0) {
      await lab.exec('b', 'ip', [
        'link',
        'add',
        dev,
        'link',
        'eth0',
        'address',
        mac,
        'type',
        'macvlan',
        'mode',
        'bridge',
      ]);
      await lab.exec('b', 'ip', ['addr', 'add', vip, 'dev', dev, ...(fam === '6' ? ['nodad'] : [])]);
      await lab.exec('b', 'ip', ['link', 'set', dev, 'up']);
    }
  }
  return lab.frr(
    'b',
    `interface eth0
 vrrp 51 version 3
 vrrp 51 priority ${priority}
 vrrp 51 advertisement-interval 1000
 vrrp 51 ip 192.168.77.74
 vrrp 51 ipv6 fd77::74
`,
  );
}

const frrStatus = async (frr: FrrInstance) => {
  const out = await frr.vtysh('show vrrp 51');
  return {
    v4: out.match(/Status \(v4\)\s+(\w+)/)?.[1],
    v6: out.match(/Status \(v6\)\s+(\w+)/)?.[1],
  };
};
const frrIs = (frr: FrrInstance, state: string) => async () => {
  const s = await frrStatus(frr);
  return s.v4 === state && s.v6 === state;
};

describeNet('VRRP interop with FRR 8.4 vrrpd (v3, IPv4 and IPv6)', () => {
  it(
    'both agree on the master in both families through crash, preemption and handover',
    () =>
      withLab({ nodes: ['a', 'b', 'c'], timeoutMs: 115_000 }, async (lab) => {
        const cap = await lab.capture('bridge', 'vrrp or ip6 proto 112');
        const within = 7_000;

        // 1. proxyha (99) master in both families, FRR (89) backup
        let pa = await startProxyha(lab, 99);
        const frr = await startFrr(lab, 89);
        await pa.waitForOutput(/\(VI_4\) Entering MASTER STATE/, within);
        await pa.waitForOutput(/\(VI_6\) Entering MASTER STATE/, within);
        await until('FRR backup in both families', frrIs(frr, 'Backup'), within);

        // 2. SIGKILL proxyha: FRR takes over both
        await pa.kill('SIGKILL');
        await until('FRR master after the crash', frrIs(frr, 'Master'), within);

        // 3. proxyha returns and preempts FRR in both families
        pa = await startProxyha(lab, 99);
        await pa.waitForOutput(/\(VI_4\) Entering MASTER STATE/, within);
        await pa.waitForOutput(/\(VI_6\) Entering MASTER STATE/, within);
        await until('FRR back to backup', frrIs(frr, 'Backup'), within);

        // 4. SIGTERM proxyha: priority 0 in both families (checked in the capture below), FRR takes over
        await pa.kill('SIGTERM');
        await until('FRR master after the handover', frrIs(frr, 'Master'), within);

        // 5. proxyha (80) backup under FRR; FRR stops (priority 0): proxyha takes over
        pa = await startProxyha(lab, 80);
        await new Promise((r) => setTimeout(r, 4000));
        expect(pa.output()).not.toMatch(/Entering MASTER STATE/);
        expect(pa.output()).toMatch(/\(VI_4\) Entering BACKUP STATE/);
        await frr.stop('SIGTERM');
        await pa.waitForOutput(/\(VI_4\) Entering MASTER STATE/, within);
        await pa.waitForOutput(/\(VI_6\) Entering MASTER STATE/, within);
        await pa.kill('SIGTERM');

        // tshark: every advert we sent, both families, is well-formed with a good checksum
        const frames = await cap.dissect();
        const ours = frames.filter(
          (f) =>
            f.vrrp &&
            [lab.node('a').ipv4, lab.node('a').linkLocal6].includes(
              tsharkField(f, 'ip.src') ?? tsharkField(f, 'ipv6.src') ?? '',
            ),
        );
        const v6 = ours.filter((f) => f.ipv6);
        expect(ours.length - v6.length).toBeGreaterThan(3);
        expect(v6.length).toBeGreaterThan(3);
        // the handovers of steps 4 and 5: proxyha resigned with priority 0 in each family
        const resigned = ours.filter((f) => tsharkField(f, 'vrrp.prio') === '0');
        expect(resigned.filter((f) => f.ipv6).length, 'IPv6 priority 0 adverts').toBeGreaterThanOrEqual(2);
        expect(resigned.filter((f) => !f.ipv6).length, 'IPv4 priority 0 adverts').toBeGreaterThanOrEqual(2);
        for (const f of ours) {
          expect(tsharkField(f, 'vrrp.version')).toBe('3');
          expect(tsharkField(f, 'vrrp.checksum.status')).toBe('1');
          expect(tsharkField(f, f.ipv6 ? 'ipv6.hlim' : 'ip.ttl')).toBe('255');
          expect(tsharkProblems(f)).toEqual([]);
        }
      }),
    120_000,
  );
});

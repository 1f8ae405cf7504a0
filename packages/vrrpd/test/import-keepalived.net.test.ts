import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describeNet, type Lab, type ManagedProcess, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { CLI, holdsVip, type InstanceOpts, keepalivedConf, startNameServices, until, vipAnswer } from './lab';

// The keepalived.conf files the interop tests give keepalived, imported with the built
// `proxyha-vrrpd --import-keepalived` and run by proxyha-vrrpd on node b against keepalived 2.2.7
// running node a's original file on a namespace bridge (c is a client). The election must be the one two
// keepalived would hold: the higher priority holds the VIP, the other takes over when it stops, and a
// returning higher priority preempts; checked with proxyha the lower and then the higher priority.

const run = promisify(execFile);

/** Imports `conf` with the CLI and starts proxyha-vrrpd in `node` with the YAML it printed. */
async function startImported(lab: Lab, node: string, conf: string, v: Variant): Promise<ManagedProcess> {
  const dir = await lab.runDir(`import-${node}`);
  await writeFile(join(dir, 'keepalived.conf'), conf);
  const { stdout, stderr } = await run(process.execPath, [
    CLI,
    '--import-keepalived',
    join(dir, 'keepalived.conf'),
    '--config-id',
    node,
  ]);
  // what keepalived has that proxyha-vrrpd has not, in these files: the router id and the initial state
  expect(stderr).toMatch(/:2: router_id ka_b — no equivalent/);
  expect(stderr).toMatch(/:6: state BACKUP — no equivalent: proxyha-vrrpd has no initial state/);
  for (const re of v.notes ?? []) expect(stderr).toMatch(re);
  expect(stderr).toMatch(new RegExp(`^# ${2 + (v.notes?.length ?? 0)} keepalived setting\\(s\\) above`, 'm'));
  await writeFile(join(dir, 'vrrpd.yaml'), stdout);
  const p = lab.spawn(node, process.execPath, [CLI, '--config', join(dir, 'vrrpd.yaml'), '--log-detail'], {
    name: `proxyha:${node}`,
  });
  await p.waitForOutput(/Entering (BACKUP|MASTER) STATE/, 10_000);
  expect(await readFile(join(dir, 'vrrpd.yaml'), 'utf8')).toMatch(/^ {4}accept: true$/m);
  return p;
}

interface Variant {
  label: string;
  o: Omit<InstanceOpts, 'priority'>;
  /** keepalived.conf of a node with its priority. */
  conf?: (node: 'a' | 'b', priority: number) => string;
  /** Notes of the import besides router_id and state. */
  notes?: RegExp[];
}

const unicast = (node: 'a' | 'b', priority: number) => {
  const [self, peer] = node === 'a' ? ['192.168.77.11', '192.168.77.12'] : ['192.168.77.12', '192.168.77.11'];
  return keepalivedConf(node, { priority, intervalMs: 100 }).replace(
    '  virtual_ipaddress {',
    `  unicast_src_ip ${self}\n  unicast_peer {\n    ${peer}\n  }\n  virtual_ipaddress {`,
  );
};

const variants: Variant[] = [
  { label: 'VRRPv2, adverts every 1 s', o: { version: 2, intervalMs: 1000 } },
  { label: 'VRRPv3, adverts every 100 ms', o: { version: 3, intervalMs: 100 } },
  { label: 'VRRPv2 with a password', o: { version: 2, intervalMs: 1000, authPass: 'secret' } },
  {
    label: 'VRRPv3 over unicast peers',
    o: { version: 3, intervalMs: 100 },
    conf: unicast,
    notes: [
      /:15: unicast_peer \{ \.\.\. \} — imported with a difference: proxyha-vrrpd accepts unicast adverts from these peers only/,
    ],
  },
];

async function scenario(lab: Lab, v: Variant) {
  const slack = 3 * (v.o.intervalMs ?? 100) + 4000;
  const conf = v.conf ?? ((node: 'a' | 'b', priority: number) => keepalivedConf(node, { ...v.o, priority }));
  const reaches = (node: string) =>
    until(`client reaches ${node}`, async () => (await vipAnswer(lab, 'c')) === node, slack);
  startNameServices(lab, ['a', 'b']);

  // 1. keepalived (150) on a, the imported b (100): a holds the VIP, b is backup
  let ka = await lab.keepalived('a', conf('a', 150));
  let pb = await startImported(lab, 'b', conf('b', 100), v);
  await ka.waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack);
  await reaches('a');
  await new Promise((r) => setTimeout(r, 4 * (v.o.intervalMs ?? 100))); // b stays backup while adverts arrive
  expect(pb.output()).not.toMatch(/Entering MASTER STATE/);
  expect(await holdsVip(lab, 'b')).toBe(false);

  // 2. keepalived stops: b takes over
  let mark = pb.output().length;
  await ka.kill('SIGTERM');
  await pb.waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack, mark);
  await reaches('b');

  // 3. keepalived returns with the higher priority and preempts b
  mark = pb.output().length;
  ka = await lab.keepalived('a', conf('a', 150));
  await ka.waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack);
  await pb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, slack, mark);
  await reaches('a');
  expect(await holdsVip(lab, 'b')).toBe(false);

  // 4. the imported b with the higher priority (200) preempts keepalived, and hands over when it stops
  await pb.kill('SIGTERM');
  mark = ka.output().length;
  pb = await startImported(lab, 'b', conf('b', 200), v);
  await pb.waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack);
  await ka.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, slack, mark);
  await reaches('b');
  expect(await holdsVip(lab, 'a')).toBe(false);
  mark = ka.output().length;
  await pb.kill('SIGTERM');
  expect(pb.exitStatus?.code).toBe(0);
  await ka.waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack, mark);
  await reaches('a');
  await ka.kill('SIGTERM');
}

describeNet(
  'keepalived.conf imported into proxyha-vrrpd, against keepalived 2.2.7 running the original',
  () => {
    for (const v of variants) {
      it(
        `${v.label}: the same election as between two keepalived`,
        () => withLab({ nodes: ['a', 'b', 'c'], timeoutMs: 110_000 }, (lab) => scenario(lab, v)),
        120_000,
      );
    }
  },
);

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeNet, type Lab, type ManagedProcess, tsharkField, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { CLI, holdsVip, keepalivedConf, until, VIP4 } from './lab';

// SIGHUP reload of proxyha-vrrpd next to keepalived 2.2.7 in network namespaces: node a runs
// proxyha-vrrpd (priority 99, master), node b keepalived (89, backup), VRRPv3 every 100 ms. a is
// reloaded 20 times in a row with the same file (each time waiting for its `Reload finished` line):
// neither side logs a transition, a holds the VIP after every reload, and the capture on the bridge
// shows no priority 0 advert and no advert from b (which would have meant b took over). Then an
// invalid file is refused (path-precise message, a stays master) and a lower priority in the file
// hands the VIP to keepalived, without a priority 0 advert.

const INTERVAL_MS = 100;

function vrrpdYaml(o: { priority: number; vrid?: number }): string {
  return `instances:
  - name: VI_1
    interface: eth0
    vrid: ${o.vrid ?? 51}
    priority: ${o.priority}
    version: 3
    advertInterval: "${INTERVAL_MS}ms"
    virtualIps: ["${VIP4}/24"]
`;
}

/** Sends SIGHUP and waits for the line that ends that reload (`pattern`); returns the output it added. */
async function hup(p: ManagedProcess, pattern: RegExp): Promise<string> {
  const mark = p.output().length;
  p.signal('SIGHUP');
  await p.waitForOutput(pattern, 10_000, mark);
  return p.output().slice(mark);
}

/** Sends SIGUSR2 and waits for the statistics; returns the output it added. */
async function usr2(p: ManagedProcess): Promise<string> {
  const mark = p.output().length;
  p.signal('SIGUSR2');
  await p.waitForOutput(/Reload statistics \{.*\}/, 10_000, mark);
  return p.output().slice(mark);
}

async function scenario(lab: Lab) {
  const slack = 3 * INTERVAL_MS + 5000;
  const cap = await lab.capture('bridge', 'vrrp');
  const file = join(await lab.runDir('vrrpd-a'), 'vrrpd.yaml');
  await writeFile(file, vrrpdYaml({ priority: 99 }));
  const pa = lab.spawn('a', process.execPath, [CLI, '--config', file, '--log-detail'], { name: 'proxyha:a' });
  const kb = await lab.keepalived('b', keepalivedConf('b', { priority: 89, intervalMs: INTERVAL_MS }));
  await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack);
  await kb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, slack);
  await pa.waitForOutput(/\(VI_1\) setting VIPs\./, slack);
  // keepalived may have been master for a moment while proxyha-vrrpd was still starting: settled first
  const lastMaster = kb.output().lastIndexOf('Entering MASTER STATE');
  if (lastMaster >= 0) await kb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, slack, lastMaster);
  await until(
    'only a holds the VIP',
    async () => (await holdsVip(lab, 'a')) && !(await holdsVip(lab, 'b')),
    slack,
  );

  // 1. twenty reloads in a row with the same file
  const [markA, markB] = [pa.output().length, kb.output().length];
  const reloadsFrom = Date.now() / 1000; // the capture's clock is this host's
  for (let i = 0; i < 20; i++) {
    const out = await hup(pa, /Reload finished in \d+ usec/);
    expect(out).toMatch(/Reloading: no change/);
    expect(await holdsVip(lab, 'a'), `VIP on a after reload ${i + 1}`).toBe(true);
  }
  // a few more intervals for anything a reload might have set off late
  await new Promise((r) => setTimeout(r, 10 * INTERVAL_MS));
  const aLog = pa.output().slice(markA);
  const bLog = kb.output().slice(markB);
  expect(aLog.match(/Reloading: no change/g)).toHaveLength(20);
  expect(aLog).not.toMatch(
    /Entering (MASTER|BACKUP|FAULT|INIT) STATE|removing VIPs|setting VIPs|sent 0 priority/,
  );
  expect(bLog).not.toMatch(/Entering (MASTER|BACKUP|FAULT) STATE|priority 0/);
  expect(await holdsVip(lab, 'a')).toBe(true);
  expect(await holdsVip(lab, 'b')).toBe(false);

  // 2. an invalid file is refused with the path, and the old configuration keeps running
  await writeFile(file, vrrpdYaml({ priority: 99, vrid: 0 }));
  const refused = await hup(
    pa,
    /Reload refused, keeping the running configuration: [\s\S]*instances\[0\]\.vrid: /,
  );
  expect(refused).toContain(`${file}: invalid configuration:`);
  expect(refused).not.toMatch(/Reloading:/);
  expect(await holdsVip(lab, 'a')).toBe(true);

  // SIGUSR2 still writes the statistics, with the reloads counted
  const stats = await usr2(pa);
  expect(stats).toMatch(/\(VI_1\) statistics \{"state":"master","priority":99/);
  expect(stats).toContain('Reload statistics {"applied":20,"refused":1,"failed":0}');

  // the capture since the first reload: only a's adverts, none with priority 0
  const markLower = [pa.output().length, kb.output().length] as const;
  const frames = (await cap.dissect()).filter(
    (f) => f.vrrp && Number(tsharkField(f, 'frame.time_epoch')) >= reloadsFrom,
  );
  const fromA = frames.filter((f) => tsharkField(f, 'ip.src') === '192.168.77.11');
  expect(fromA.length, 'adverts from a in the capture').toBeGreaterThan(0);
  expect(fromA.filter((f) => tsharkField(f, 'vrrp.prio') !== '99')).toEqual([]);
  expect(frames.filter((f) => tsharkField(f, 'ip.src') === '192.168.77.12')).toEqual([]);

  // 3. a lower priority in the file: keepalived (89) takes over by preemption, a steps down
  await writeFile(file, vrrpdYaml({ priority: 50 }));
  const lowered = await hup(pa, /Reload finished in \d+ usec/);
  expect(lowered).toMatch(/Reloading: VI_1 priority 99 -> 50/);
  await kb.waitForOutput(/\(VI_1\) Entering MASTER STATE/, slack, markLower[1]);
  await pa.waitForOutput(
    /\(VI_1\) Master received advert from 192\.168\.77\.12 with higher priority 89, ours 50/,
    slack,
    markLower[0],
  );
  await pa.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, slack, markLower[0]);
  expect(pa.output().slice(markLower[0])).not.toMatch(/sent 0 priority/);
  expect(kb.output().slice(markLower[1])).not.toMatch(/priority 0/);
  await pa.kill('SIGTERM');
  expect(pa.exitStatus?.code).toBe(0);
}

describeNet('proxyha-vrrpd SIGHUP reload next to keepalived 2.2.7', () => {
  it(
    'reloading the master 20 times causes no transition on either side; invalid refused; lower priority hands over',
    () => withLab({ nodes: ['a', 'b'], timeoutMs: 115_000 }, (lab) => scenario(lab)),
    120_000,
  );
});

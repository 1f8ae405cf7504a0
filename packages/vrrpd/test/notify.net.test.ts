import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeNet, type Lab, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { CLI, keepalivedConf, startNameServices, startProxyha, until, vipAnswer } from './lab';

// Notify scripts and the notify FIFO of the built proxyha-vrrpd, with real shell scripts and a real FIFO
// reader: next to keepalived 2.2.7 configured alike (same lines, same script arguments), under a burst
// of link flaps (the FIFO keeps the daemon's order), and with a notify_master that sleeps 30 s during a
// failover (the takeover, the FIFO line and the client's next connection come first).

const lines = async (file: string) =>
  (await readFile(file, 'utf8').catch(() => ''))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/** Shell scripts in a run directory: `reader.sh` copies the FIFO (its last argument) to `fifo.out`, and keeps
 * reading after SIGTERM (keepalived sends it before its STOP lines); `notify.sh` appends its arguments. */
async function scripts(lab: Lab, label: string) {
  const dir = await lab.runDir(label);
  const out = join(dir, 'fifo.out');
  const log = join(dir, 'notify.log');
  const reader = join(dir, 'reader.sh');
  const notify = join(dir, 'notify.sh');
  await writeFile(reader, `#!/bin/sh\ntrap '' TERM\nfor last; do :; done\nexec cat "$last" >> '${out}'\n`);
  await writeFile(notify, `#!/bin/sh\necho "$*" >> '${log}'\n`);
  await chmod(reader, 0o755);
  await chmod(notify, 0o755);
  return { dir, out, log, reader, notify, fifo: join(dir, 'vrrp.fifo') };
}

describeNet('proxyha-vrrpd notify scripts and FIFO', () => {
  it('writes the same FIFO lines and passes the same script arguments as keepalived', () =>
    withLab({ nodes: ['a', 'b'], ipv6: false, timeoutMs: 90_000 }, async (lab) => {
      const p = await scripts(lab, 'notify-a');
      const k = await scripts(lab, 'notify-b');
      const proxyha = () =>
        startProxyha(lab, 'a', {
          priority: 150,
          intervalMs: 100,
          extra: `    notify: ["${p.notify}"]\nnotifyFifo: "${p.fifo}"\nnotifyFifoScript: ["${p.reader}"]\n`,
        });
      let pa = await proxyha();
      const kb = await lab.keepalived(
        'b',
        keepalivedConf('b', { priority: 100, intervalMs: 100 })
          .replace(
            '  vrrp_garp_master_delay 5',
            `  vrrp_garp_master_delay 5\n  vrrp_notify_fifo ${k.fifo}\n  vrrp_notify_fifo_script ${k.reader}`,
          )
          .replace('  virtual_router_id 51', `  virtual_router_id 51\n  notify ${k.notify}`),
      );
      await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 10_000);
      await kb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 10_000);
      await until(
        'both FIFO lines so far',
        async () => (await lines(p.out)).length === 2 && (await lines(k.out)).length === 1,
        10_000,
      );

      // the scripts of those transitions have run (a daemon that stops ends scripts still running)
      const ran = (x: { log: string }, n: number) => async () => (await lines(x.log)).length >= n;
      await until('a ran its scripts so far', ran(p, 2), 10_000);

      // a hands over (SIGTERM), comes back and preempts; then keepalived stops, then a
      const mark = kb.output().length;
      await pa.kill('SIGTERM');
      await kb.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 10_000, mark);
      pa = await proxyha();
      await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 10_000);
      await kb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 10_000, mark);
      await until('b has its lines', async () => (await lines(k.out)).length === 3, 10_000);
      await until('a ran its scripts so far', ran(p, 5), 10_000);
      await until('b ran its scripts so far', ran(k, 3), 10_000);
      await kb.kill('SIGTERM');
      await pa.kill('SIGTERM');

      await until('keepalived STOP line', async () => (await lines(k.out)).length === 4, 10_000);
      expect(await lines(k.out)).toEqual([
        'INSTANCE "VI_1" BACKUP 100',
        'INSTANCE "VI_1" MASTER 100',
        'INSTANCE "VI_1" BACKUP 100',
        'INSTANCE "VI_1" STOP 100',
      ]);
      expect(await lines(p.out)).toEqual([
        'INSTANCE "VI_1" BACKUP 150',
        'INSTANCE "VI_1" MASTER 150',
        'INSTANCE "VI_1" STOP 150',
        'INSTANCE "VI_1" BACKUP 150',
        'INSTANCE "VI_1" MASTER 150',
        'INSTANCE "VI_1" STOP 150',
      ]);
      // the generic notify script: keepalived's four arguments, the same for both
      const args = (fifo: string[]) => fifo.map((l) => l.replace(/"/g, ''));
      expect((await lines(k.log)).sort()).toEqual(args(await lines(k.out)).sort());
      expect((await lines(p.log)).sort()).toEqual(args(await lines(p.out)).sort());
    }));

  it('keeps the daemon’s order of a burst of transitions on the FIFO; every transition ran its scripts', () =>
    withLab({ nodes: ['a'], ipv6: false, timeoutMs: 60_000 }, async (lab) => {
      const s = await scripts(lab, 'notify-burst');
      const inst = (name: string, vrid: number) => `  - name: ${name}
    interface: eth0
    vrid: ${vrid}
    priority: 100
    advertInterval: "100ms"
    virtualIps: ["192.168.77.${100 + vrid}/24"]
    notify: ["${s.notify}"]
`;
      const dir = await lab.runDir('vrrpd-burst');
      const file = join(dir, 'vrrpd.yaml');
      await writeFile(
        file,
        `instances:\n${inst('VI_1', 61)}${inst('VI_2', 62)}${inst('VI_3', 63)}syncGroups:
  - name: G1
    instances: [VI_1, VI_2]
    notify: ["${s.notify}"]
notifyFifo: "${s.fifo}"
notifyFifoScript: ["${s.reader}"]
`,
      );
      const pa = lab.spawn('a', process.execPath, [CLI, '--config', file, '--log-detail'], {
        name: 'proxyha:a',
      });
      await until(
        'all three master',
        () => (pa.output().match(/Entering MASTER STATE/g) ?? []).length === 3,
        10_000,
      );
      await until('the reader has the first lines', async () => (await lines(s.out)).length === 8, 10_000);

      // a burst: the link flaps ten times in about a second (FAULT, BACKUP, FAULT, ... for all three)
      await lab.exec('a', 'sh', [
        '-c',
        'for i in 1 2 3 4 5 6 7 8 9 10; do ip link set eth0 down; sleep 0.05; ip link set eth0 up; sleep 0.05; done',
      ]);
      await until(
        'all three master again',
        () => (pa.output().match(/Entering MASTER STATE/g) ?? []).length === 6,
        15_000,
      );
      // the scripts of all that have run (a stop sends SIGTERM to the ones still running)
      await until(
        'scripts caught up',
        async () => (await lines(s.log)).length === (await lines(s.out)).length,
        10_000,
      );
      await pa.kill('SIGTERM');

      // what the FIFO must say, from the daemon's own log: each instance line, and a group line
      // whenever the group's members come to agree on a new state
      const expected: string[] = [];
      const member = new Map<string, string>();
      let group = '';
      for (const m of pa.output().matchAll(/\((VI_\d)\) Entering (\w+) STATE/g)) {
        const [name, raw] = [m[1] as string, m[2] as string];
        const state = raw === 'INIT' ? 'STOP' : raw;
        expected.push(`INSTANCE "${name}" ${state} 100`);
        member.set(name, state);
        if (['VI_1', 'VI_2'].every((n) => member.get(n) === state) && group !== state) {
          group = state;
          expected.push(`GROUP "G1" ${state} 0`);
        }
      }
      // at least five of the flaps seen: FAULT lines for the three instances and the group each time
      expect(expected.filter((l) => l.includes('FAULT')).length).toBeGreaterThanOrEqual(20);
      await until(
        'the reader has every line',
        async () => (await lines(s.out)).length >= expected.length,
        10_000,
      );
      expect(await lines(s.out)).toEqual(expected);
      const args = expected.map((l) => l.replace(/"/g, ''));
      await until('every script ran', async () => (await lines(s.log)).length >= args.length, 10_000);
      expect((await lines(s.log)).sort()).toEqual([...args].sort());
    }));

  it('a notify_master that sleeps 30 s: the backup takes over, writes its FIFO line and serves the client first', () =>
    withLab({ nodes: ['a', 'b', 'client'], ipv6: false, timeoutMs: 60_000 }, async (lab) => {
      const s = await scripts(lab, 'notify-slow');
      const marks = join(s.dir, 'slow.marks');
      const slow = join(s.dir, 'slow.sh');
      await writeFile(slow, `#!/bin/sh\necho "start $$" >> '${marks}'\nsleep 30\necho end >> '${marks}'\n`);
      await chmod(slow, 0o755);
      startNameServices(lab, ['a', 'b']);
      const pa = await startProxyha(lab, 'a', { priority: 150, intervalMs: 100 });
      const pb = await startProxyha(lab, 'b', {
        priority: 100,
        intervalMs: 100,
        extra: `    notifyMaster: ["${slow}"]\nnotifyFifo: "${s.fifo}"\nnotifyFifoScript: ["${s.reader}"]\n`,
      });
      await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 10_000);
      await until('client reaches a', async () => (await vipAnswer(lab, 'client')) === 'a', 10_000);
      await until('b reported BACKUP', async () => (await lines(s.out)).length === 1, 10_000);

      const mark = pb.output().length;
      await pa.kill('SIGKILL');
      await pb.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 10_000, mark);
      await until(
        'b’s FIFO line',
        async () => (await lines(s.out)).includes('INSTANCE "VI_1" MASTER 100'),
        10_000,
      );
      await until('client reaches b', async () => (await vipAnswer(lab, 'client')) === 'b', 10_000);
      // all of that while the script sleeps: started, not finished
      await until('the script started', async () => (await lines(marks)).length === 1, 10_000);
      const [started] = await lines(marks);
      expect(started).toMatch(/^start \d+$/);
      expect(await lines(s.out)).toEqual(['INSTANCE "VI_1" BACKUP 100', 'INSTANCE "VI_1" MASTER 100']);

      // stopping b ends the script (SIGTERM to its process group) instead of waiting for it
      const exit = await pb.kill('SIGTERM', 10_000);
      expect(exit.code).toBe(0);
      expect(pb.output()).toMatch(/\(VI_1\) notify_master '[^']*slow\.sh' ended \(signal SIGTERM\)/);
      const pid = Number(started?.split(' ')[1]);
      expect(() => process.kill(pid, 0)).toThrow();
      expect(await lines(marks)).toHaveLength(1);
      expect(await lines(s.out)).toEqual([
        'INSTANCE "VI_1" BACKUP 100',
        'INSTANCE "VI_1" MASTER 100',
        'INSTANCE "VI_1" STOP 100',
      ]);
    }));
});

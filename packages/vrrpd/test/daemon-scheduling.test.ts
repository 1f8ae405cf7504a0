import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sourceNodeArgs } from '@proxyha/testlab';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = sourceNodeArgs(join(import.meta.dirname, '..', 'src', 'bin.ts'));
const dir = mkdtempSync(join(tmpdir(), 'proxyha-sched-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('proxyha-vrrpd scheduling (keepalived vrrp_rt_priority / vrrp_priority)', () => {
  it('runs with SCHED_RR and the configured nice value, or says why it cannot', async () => {
    const port = 40000 + (process.pid % 10000);
    const file = join(dir, 'rt.yaml');
    writeFileSync(
      file,
      `transport: loopback
loopback: { port: ${port}, ownerPort: ${port + 1} }
realtimePriority: 5
nice: -5
instances:
  - { name: VI_1, interface: lo, vrid: 51, virtualIps: ["127.0.0.75/8"], sourceAddress: 127.0.0.31, unicastPeers: [127.0.0.32] }
`,
    );
    const p = spawn(process.execPath, [...cli, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    try {
      const end = Date.now() + 20_000;
      while (!/Entering BACKUP STATE/.test(out) && Date.now() < end)
        await new Promise((r) => setTimeout(r, 20));
      const root = process.getuid?.() === 0;
      if (root) {
        expect(out).toMatch(/Using realtime scheduling SCHED_RR priority 5/);
        const chrt = await run('chrt', ['-p', String(p.pid)]);
        expect(chrt.stdout).toMatch(/SCHED_RR/);
        expect(chrt.stdout).toMatch(/priority: 5/);
        // field 19 of /proc/PID/stat is the nice value, kept for a real-time task too
        const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        expect(fields[19 - 3]).toBe('-5');
      } else {
        expect(out).toMatch(/cannot set realtime priority 5: .*CAP_SYS_NICE/);
      }
    } finally {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
  });
});

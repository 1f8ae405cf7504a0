// Against a real chronyd 4.x serving NTP on loopback (`-x`: it never touches the clock).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describeNet, withScope } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { checkSkew } from '../src/driver/check-skew';
import { NtpClient } from '../src/driver/client';
import { closedPort, withServers } from './helpers/ntp-server';

const pkg = fileURLToPath(new URL('..', import.meta.url));

function run(
  cmd: string,
  args: string[],
  cwd = pkg,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 110_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describeNet('ntp-check against a real chronyd on loopback', () => {
  it('measures the offset to chronyd (local stratum 8) within the on-wire bound', () =>
    withScope(async (scope) => {
      const port = await closedPort();
      await scope.chronyd({ port, address: '127.0.0.1', extraConfig: 'local stratum 8' });
      const client = new NtpClient({ timeout: '2s' });
      const r = await client.query(`127.0.0.1:${port}`);
      if (!r.ok) throw new Error(`chronyd query failed: ${r.error.code} ${r.error.message}`);
      // Same host, same clock: the true offset is 0, within ±δ/2 (plus 0.5 ms of clock reading error)
      // whatever the load; how close it gets is bench/accuracy.mjs's business.
      expect(Math.abs(r.sample.offsetMs)).toBeLessThanOrEqual(r.sample.delayMs / 2 + 0.5);
      expect(r.sample.stratum).toBe(8);
      expect(r.sample.leap).toBe(0);
      expect(r.sample.referenceId).toBe('127.127.1.1');
      expect(r.sample.version).toBe(4);
      console.log(
        `chronyd offset ${r.sample.offsetMs.toFixed(3)} ms, delay ${r.sample.delayMs.toFixed(3)} ms, ` +
          `root distance ${r.sample.rootDistanceMs.toFixed(3)} ms`,
      );
    }));

  it('reports a chronyd without sources as unsynchronized (leap indicator 3)', () =>
    withScope(async (scope) => {
      const port = await closedPort();
      await scope.chronyd({ port, address: '127.0.0.1', extraConfig: '# no local reference, no sources' });
      const r = await new NtpClient({ timeout: '2s' }).query(`127.0.0.1:${port}`);
      expect(r.ok ? 'ok' : r.error.message).toBe('unsynchronized (leap indicator 3)');
    }));

  it('names a suite server 120 s off as falseticker next to chronyd and another good server', () =>
    withScope(async (scope) => {
      const port = await closedPort();
      await scope.chronyd({ port, address: '127.0.0.1' });
      await withServers([{ shiftMs: 120_000 }, {}], async ([off, good]) => {
        const servers = [`127.0.0.1:${port}`, off!.label, good!.label];
        const report = await checkSkew({ servers, maxOffset: '100ms', timeout: '2s' });
        expect(report.verdict).toBe('ok');
        expect(report.falsetickers).toEqual([off!.label]);
        expect(report.truechimers).toEqual([`127.0.0.1:${port}`, good!.label]);
      });
    }));

  it('the built CLI exits 0 against chronyd and 1 with --max-offset below a shifted server', () =>
    withScope(async (scope) => {
      const build = await run('pnpm', ['--filter', '@proxyha/ntp-check', 'build']);
      expect(build.code, build.stderr).toBe(0);
      const port = await closedPort();
      await scope.chronyd({ port, address: '127.0.0.1' });
      const ok = await run(process.execPath, [
        'dist/cli.js',
        '--json',
        '--max-offset',
        '50ms',
        `127.0.0.1:${port}`,
      ]);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      const doc = JSON.parse(ok.stdout);
      expect(doc.verdict).toBe('ok');
      expect(doc.servers[0]).toMatchObject({ stratum: 8, referenceId: '127.127.1.1', verdict: 'ok' });
      await withServers([{ shiftMs: 2_000 }], async ([s]) => {
        const bad = await run(process.execPath, ['dist/cli.js', '--max-offset', '1s', s!.label]);
        expect(bad.code).toBe(1);
        expect(bad.stdout).toMatch(/overall: fail: time difference too high/);
      });
    }));
});

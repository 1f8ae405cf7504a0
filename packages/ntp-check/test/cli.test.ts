import { describeCliError } from '@proxyha/common/cli';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main';
import { closedPort, withServers } from './helpers/ntp-server';

/** Runs the CLI body in-process as `runCli` does, with buffers for stdout and stderr. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: {
      write: (s: string) => {
        stdout += s;
      },
    },
    stderr: {
      write: (s: string) => {
        stderr += s;
      },
    },
  };
  let code: number;
  try {
    code = await main(args, io);
  } catch (error) {
    const d = describeCliError('proxyha-ntp', error);
    if (d.line) stderr += `${d.line}\n`;
    code = d.exitCode;
  }
  return { code, stdout, stderr };
}

describe('proxyha-ntp CLI (main, in-process)', () => {
  it('prints offset, delay, stratum and verdict per server and exits 0 when in sync', async () => {
    await withServers([{ shiftMs: 2 }, { shiftMs: 120_000 }, {}], async ([a, b, c]) => {
      const r = await run(['--max-offset', '500ms', a!.label, b!.label, c!.label]);
      expect(r.stderr, r.stdout).toBe('');
      expect(r.code).toBe(0);
      const lines = r.stdout.split('\n');
      expect(lines[0]).toMatch(/^SERVER\s+OFFSET\s+DELAY\s+STRATUM\s+VERDICT$/);
      // +2 ms served, measured within the error bound (±delay/2): the sign may flip under load.
      expect(lines[1]).toMatch(new RegExp(`^${a!.label}\\s+[+-][0-9.]+ ms\\s+[0-9.]+ ms\\s+2\\s+ok$`));
      const m = new RegExp(`^${b!.label}\\s+\\+([0-9.]+) ms\\s+([0-9.]+) ms\\s+2\\s+fail: falseticker$`).exec(
        lines[2]!,
      );
      expect(m, r.stdout).not.toBeNull();
      expect(Math.abs(Number(m![1]) - 120_000)).toBeLessThanOrEqual(Number(m![2]) / 2 + 0.5); // θ ± δ/2
      expect(r.stdout, r.stdout).toMatch(
        /overall: ok: offset [+-][0-9.]+ ms \(±[0-9.]+ ms\) within max 500 ms/,
      );
      expect(r.stdout).toContain(`info: ${b!.label}: falseticker`);
    });
  });

  it('--json prints one JSON document', async () => {
    await withServers([{}, { shiftMs: 120_000 }, { shiftMs: 1 }], async ([a, b, c]) => {
      const r = await run(['--json', '--max-offset', '2s', a!.label, b!.label, c!.label]);
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.verdict).toBe('ok');
      expect(doc.falsetickers).toEqual([b!.label]);
      expect(doc.limits.maxOffsetMs).toBe(2000);
      expect(doc.servers).toHaveLength(3);
      expect(doc.servers[1]).toMatchObject({
        server: b!.label,
        role: 'falseticker',
        reason: 'falseticker',
        stratum: 2,
      });
      expect(Math.abs(doc.servers[1].offsetMs - 120_000)).toBeLessThanOrEqual(
        doc.servers[1].delayMs / 2 + 0.5,
      );
    });
  });

  it('exits 1 for an offset above --max-offset, saying "time difference too high"', async () => {
    await withServers([{ shiftMs: 3_000 }], async ([s]) => {
      const r = await run(['--max-offset', '2s', s!.label]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/fail: time difference too high/);
      const m =
        /overall: fail: time difference too high: offset \+([0-9.]+) ms \(±([0-9.]+) ms\) exceeds max 2000 ms/.exec(
          r.stdout,
        );
      expect(m, r.stdout).not.toBeNull();
      expect(Math.abs(Number(m![1]) - 3000)).toBeLessThanOrEqual(Number(m![2])); // within the root distance
      expect((await run(['--max-offset', '5s', s!.label])).code).toBe(0);
    });
  });

  it("exits 1 for an unsynchronized server, a Kiss-o'-Death and a forged reply, naming each", async () => {
    await withServers(
      [{ leap: 3 }, { kiss: 'RATE' }, { forgeOriginate: true }],
      async ([li3, kod, forged]) => {
        const cases: [string, string][] = [
          [li3!.label, 'unsynchronized (leap indicator 3)'],
          [kod!.label, "Kiss-o'-Death RATE"],
          [forged!.label, 'forged reply (originate timestamp does not match the request)'],
        ];
        for (const [server, reason] of cases) {
          const r = await run(['--timeout', '300ms', server]);
          expect(r.code, server).toBe(1);
          expect(r.stdout).toContain(`fail: ${reason}`);
          expect(r.stdout).toMatch(/overall: fail: no usable server/);
        }
        const all = await run(['--json', '--timeout', '300ms', li3!.label, kod!.label, forged!.label]);
        expect(all.code).toBe(1);
        const doc = JSON.parse(all.stdout);
        expect(doc.servers.map((s: { error: { code: string } }) => s.error.code)).toEqual([
          'NTP_UNSYNCHRONIZED',
          'NTP_KISS_OF_DEATH',
          'NTP_BOGUS_ORIGINATE',
        ]);
        expect(doc.servers[1].error.kissCode).toBe('RATE');
      },
    );
  });

  it('exits 1 when a server cannot be reached', async () => {
    const r = await run(['--timeout', '300ms', `127.0.0.1:${await closedPort()}`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/connection refused/);
  });

  it('exits 2 for bad arguments, saying what is wrong on stderr', async () => {
    const bad: [string[], string][] = [
      [[], "error: missing required argument 'server'"],
      [['--max-offset', 'lots', '127.0.0.1'], '--max-offset not a duration: "lots"'],
      [['--max-offset', '0', '127.0.0.1'], '--max-offset must be greater than 0'],
      [['127.0.0.1:99999'], "proxyha-ntp: invalid server '127.0.0.1:99999': port must be 1-65535"],
      [['[127.0.0.1]:123'], 'brackets are for IPv6 addresses'],
      [['--timeout', '5m', '127.0.0.1'], '--timeout must be at most 1m (got 5m)'],
      [
        ['--warn-offset', '2s', '--max-offset', '1s', '127.0.0.1'],
        'proxyha-ntp: --warn-offset must not exceed --max-offset',
      ],
      [
        ['--panic-threshold', '500ms', '127.0.0.1'],
        'proxyha-ntp: --panic-threshold must not be below --max-offset',
      ],
      [['--bogus', '127.0.0.1'], "error: unknown option '--bogus'"],
    ];
    for (const [args, message] of bad) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(message);
    }
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: proxyha-ntp \[options\] <server...>/);
  });
});

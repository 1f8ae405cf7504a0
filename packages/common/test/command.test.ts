import { describe, expect, it } from 'vitest';
import { CommonError, checkCommand, runCommand } from '../src/index';

describe('command runner', () => {
  it('resolves with output and status, never rejecting for an exit status', async () => {
    const r = await runCommand('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toMatchObject({ stdout: 'out\n', stderr: 'err\n', code: 3, signal: null, timedOut: false });
    const missing = await runCommand('/nonexistent/program', []);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/ENOENT/);
  });

  it('feeds stdin, kills on timeout', async () => {
    expect((await runCommand('cat', [], { input: 'table inet x {}\n' })).stdout).toBe('table inet x {}\n');
    const slow = await runCommand('sleep', ['5'], { timeoutMs: 50 });
    expect(slow).toMatchObject({ code: null, signal: 'SIGKILL', timedOut: true });
  });

  it('checkCommand returns stdout or throws COMMON_COMMAND_FAILED naming the command and stderr', async () => {
    expect(await checkCommand(runCommand, 'echo', ['hi'])).toBe('hi\n');
    const e = await checkCommand(runCommand, 'sh', ['-c', 'echo nope >&2; exit 2']).catch((x) => x);
    expect(e).toBeInstanceOf(CommonError);
    expect(e.code).toBe('COMMON_COMMAND_FAILED');
    expect(e.message).toBe('sh -c echo nope >&2; exit 2: exit 2: nope');
    expect(e.details.result.code).toBe(2);
  });
});

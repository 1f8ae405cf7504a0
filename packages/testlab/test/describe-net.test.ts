import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { isRoot } from '../src/index';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..', '..');
const work = mkdtempSync(join(tmpdir(), 'proxyha-describe-net-'));
chmodSync(work, 0o777); // nobody writes vitest's cache and bundled config here
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the fixture with vitest as user nobody; resolves with exit code and output. */
async function runAsNobody(env: Record<string, string>) {
  const config = join(work, 'vitest.config.mjs');
  writeFileSync(
    config,
    // the workspace packages from their sources, as in the repository's vitest config (no build needed)
    `const conditions = ['@proxyha/source', 'module', 'node', 'development|production'];\n` +
      `export default { cacheDir: ${JSON.stringify(join(work, 'cache'))}, resolve: { conditions }, ssr: { resolve: { conditions } }, test: { root: ${JSON.stringify(join(import.meta.dirname, 'fixtures'))}, include: ['needs-root.fixture.ts'] } };\n`,
  );
  const vitest = join(repo, 'node_modules', 'vitest', 'vitest.mjs');
  const r = await run(
    'setpriv',
    [
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      'env',
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      process.execPath,
      vitest,
      'run',
      '--reporter=verbose',
      '--config',
      config,
    ],
    { cwd: work, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, TMPDIR: work } },
  ).then(
    (o) => ({ code: 0, out: o.stdout + o.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
  return r;
}

describe.skipIf(!isRoot())('describeNet without root (run as nobody through setpriv)', () => {
  it('skips with the reason in the test name', async () => {
    const r = await runAsNobody({ CI: 'false' });
    expect(r.out).toMatch(/skipped: needs root/);
    expect(r.out).not.toMatch(/must not run without root/);
    expect(r.code).toBe(0);
  }, 60_000);

  it('fails when CI=true, because a skipped network test in CI is a failure', async () => {
    const r = await runAsNobody({ CI: 'true' });
    expect(r.out).toMatch(/cannot run: needs root/);
    expect(r.code).toBe(1);
  }, 60_000);
});

// The README's runnable example is examples/quickstart.mjs verbatim, and it runs, against the sources (its
// `@proxyha/health-mon` import resolves to src/ through the `@proxyha/source` condition; no dist/ needed).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sourceNodeArgs } from '@proxyha/testlab';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

describe('README example', () => {
  it('is the example file verbatim', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const example = readFileSync(join(root, 'examples', 'quickstart.mjs'), 'utf8');
    expect(readme).toContain(`\`\`\`js\n${example}\`\`\``);
  });

  it('runs and prints ok, failure for the closed port, ok again', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      sourceNodeArgs(join(root, 'examples', 'quickstart.mjs')),
      { cwd: root, timeout: 30_000 },
    );
    expect(stdout).toMatch(
      /^current state: ok\ncurrent state: failure \(port \d+: connection refused\)\ncurrent state: ok\n$/,
    );
  });
});

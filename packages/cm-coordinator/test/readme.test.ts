// The README's runnable example is examples/quickstart.mjs verbatim, and it runs, against the sources.
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

  it('runs: the save reaches node-b and both show one storage timestamp', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      sourceNodeArgs(join(root, 'examples', 'quickstart.mjs')),
      { cwd: root, timeout: 60_000 },
    );
    expect(stdout).toBe(
      'node-b has policy.xml: <policy block="gambling"/>\nsame Current Storage Timestamp: true\n',
    );
  });
});

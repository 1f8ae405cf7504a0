// The README's runnable example is examples/quickstart.mjs verbatim, and it runs, against the sources (its
// `@proxyha/lb-director` import resolves to src/ through the `@proxyha/source` condition; no dist/ needed).
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

  it('runs: the director learns the scanner and splits the table', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      sourceNodeArgs(join(root, 'examples', 'quickstart.mjs')),
      { cwd: root, timeout: 30_000 },
    );
    expect(stdout).toMatch(
      /^joined: node-a\njoined: node-b\nnode-a 127\.0\.0\.31 share 0\.50\nnode-b 127\.0\.0\.32 share 0\.50\n192\.0\.2\.10 -> node-[ab]\nnode-b follows node-a\n$/,
    );
  });
});

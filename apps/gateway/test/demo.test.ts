// README quick start (1): the demo cluster, run from the sources exactly as scripts/demo.sh runs it from
// the build (three gateway processes on loopback, no root), on addresses of its own.
import { join } from 'node:path';
import { run, sourceNodeArgs } from '@proxyha/testlab';
import { describe, expect, it } from 'vitest';
import { appDir } from './helpers';

describe('demo cluster (README quick start 1)', () => {
  it('elects, spreads clients stickily, fails over, drains a node and replicates a policy', async () => {
    // a /24 of 127/8 no other test uses: 127.<200..249>.<pid>.x
    const net = `127.${200 + (process.pid % 50)}.${process.pid % 250}`;
    const gateway = [process.execPath, ...sourceNodeArgs(join(appDir, 'src', 'cli.ts'))];
    const { stdout } = await run(
      process.execPath,
      [join(appDir, 'examples', 'demo-cluster.mjs'), '--once', '--net', net],
      {
        timeoutMs: 240_000,
        env: { ...process.env, PROXYHA_COMMAND: JSON.stringify(gateway) } as Record<string, string>,
      },
    );
    const steps = [
      /1\. three gateway nodes start; mwg1 \(priority 150\) becomes the director/,
      /every client got the same proxy again \(source-address sticky\)/,
      /mwg2 directs; requests are served again/,
      /the clients of mwg2 and mwg3 stayed where they were; those of mwg1 moved/,
      /mwg1 is back and directs again/,
      /spread while mwg3 is drained: (?!.*mwg3)/,
      /mwg3’s proxy is back/,
      /every proxy refuses blocked\.example \(403\)/,
      /the cluster behaved as expected\. Status page: http:\/\/[\d.]+:8443\/#token=/,
      /stopped; everything it started is removed/,
    ];
    let at = 0;
    for (const step of steps) {
      const m = step.exec(stdout.slice(at));
      expect(m, `missing, in this order: ${step}\n${stdout}`).not.toBeNull();
      at += (m?.index ?? 0) + (m?.[0].length ?? 0);
    }
    // the seed product's log lines, as operators grep for them
    expect(stdout).toMatch(/mwg2 +\| .*set lbnetwork 1/);
    expect(stdout).toMatch(/mwg2 +\| .*state=master previous=backup/);
    expect(stdout).toMatch(/Scanning partner 127\.\d+\.\d+\.73 \(mwg3\) is draining/);
  }, 300_000);
});

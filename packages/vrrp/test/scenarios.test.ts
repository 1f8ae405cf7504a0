import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/sim/index';

// Golden scenario traces (as etcd-io/raft's interaction tests): each test/scenarios/NAME.txt script runs
// on the simulator and its trace must equal test/scenarios/NAME.out, which is committed and reviewed as a
// diff. `UPDATE_GOLDEN=1 pnpm exec vitest run --project vrrp test/scenarios.test.ts` rewrites the .out
// files after a deliberate change.
const dir = join(import.meta.dirname, 'scenarios');
const scripts = readdirSync(dir).filter((f) => f.endsWith('.txt'));

describe('golden scenario traces', () => {
  it('has scenarios', () => {
    expect(scripts.length).toBeGreaterThanOrEqual(6);
  });

  for (const file of scripts) {
    it(file.replace(/\.txt$/, ''), () => {
      const trace = runScenario(readFileSync(join(dir, file), 'utf8'));
      const golden = join(dir, file.replace(/\.txt$/, '.out'));
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, trace);
      expect(trace).toBe(readFileSync(golden, 'utf8'));
    });
  }

  it('names the line of a command it cannot read', () => {
    expect(() => runScenario('router a 10.0.0.1\nstart a\nfly a\n')).toThrow(
      /scenario line 3: unknown command fly/,
    );
    expect(() => runScenario('router a 10.0.0.1 prio=5\n')).toThrow(/line 1: unknown router setting prio/);
    expect(() => runScenario('router a 10.0.0.1\nstart a\nrouter b 10.0.0.2\n')).toThrow(
      /line 3: router must come before/,
    );
  });
});

// Crash safety with real processes: a child saves versions in a loop and prints each id after the store
// call returned; we kill -9 it at random moments, reopen the store and check that every acknowledged
// version is there, whole, and that nothing partial is.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sourceNodeArgs } from '@proxyha/testlab';
import { afterAll, describe, expect, it } from 'vitest';
import type { Version } from '../src/machine/types';
import { openStore } from '../src/store/index';
import { bindingAvailable, SQLITE_BINDINGS } from '../src/store/sqlite';
import {
  CRASH_MAX_DOCUMENT,
  makeVersion,
  NODE_SCOPE,
  prng,
  replacementSet,
  versionId,
} from './fixtures/store-versions';

const KILLS = Number(process.env.PROXYHA_CM_CRASH_KILLS ?? 25);
const writer = join(import.meta.dirname, 'fixtures', 'store-writer.ts');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  ready: boolean;
  puts: Map<number, string>;
  sets: number[];
  stderr: string;
  signal: NodeJS.Signals | null;
  code: number | null;
}

/**
 * When to kill the writer: `delayMs` after its start (`afterPuts` undefined), or `delayMs` after it
 * acknowledged `afterPuts` versions (0: after it opened the store).
 */
interface KillPlan {
  afterPuts?: number;
  delayMs: number;
}

/** Starts the writer, kills it with SIGKILL as planned; resolves with what it acknowledged once it is gone. */
function runWriter(file: string, binding: string, plan: KillPlan): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [...sourceNodeArgs(writer), file], {
      env: { ...process.env, PROXYHA_CM_SQLITE: binding },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: Run = { ready: false, puts: new Map(), sets: [], stderr: '', signal: null, code: null };
    let buffer = '';
    let timer: NodeJS.Timeout | undefined;
    const kill = () => {
      timer ??= setTimeout(() => child.kill('SIGKILL'), plan.delayMs);
    };
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    if (plan.afterPuts === undefined) kill();
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const [kind, a, b] = line.split(' ');
        if (kind === 'ready') run.ready = true;
        else if (kind === 'put') run.puts.set(Number(a), b as string);
        else if (kind === 'set') run.sets.push(Number(a));
        if (run.ready && plan.afterPuts !== undefined && run.puts.size >= plan.afterPuts) kill();
        nl = buffer.indexOf('\n');
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      run.stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(guard);
      run.code = code;
      run.signal = signal;
      resolve(run);
    });
  });
}

const generated = new Map<number, Version>();
/** Version n of the writer's chain (memoized: the checks after each kill regenerate every one). */
function written(n: number): Version {
  let v = generated.get(n);
  if (v === undefined) {
    v = makeVersion(n, { maxDocument: CRASH_MAX_DOCUMENT });
    generated.set(n, v);
  }
  return v;
}

const sameSet = (versions: readonly Version[], set: readonly Version[]) =>
  versions.length === set.length && versions.every((v, i) => v.id === set[i]?.id);

// every binding that loads on this Node (Node 20: better-sqlite3; Node 24: node:sqlite)
describe.each(SQLITE_BINDINGS.filter((b) => bindingAvailable(b)))('store crash safety (%s)', (binding) => {
  it(`kill -9 at ${KILLS} random moments of a save loses no acknowledged version and leaves none partial (${binding})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cm-store-crash-'));
    dirs.push(dir);
    const file = join(dir, 'cm.sqlite');
    // a failure names the seed; PROXYHA_CM_CRASH_SEED replays its kill moments (as far as timing allows)
    const seed = Number(process.env.PROXYHA_CM_CRASH_SEED ?? Date.now() % 1_000_000);
    const rand = prng(seed);
    const acked = new Map<number, string>();
    let lastSet = -1;
    let maxN = -1;
    let killedInLoop = 0;
    for (let i = 0; i < KILLS; i++) {
      // one run in five is killed at a random moment after the start (during startup, open, recovery,
      // migration or the first saves); the others at a random moment of the save loop, after 0..5 saves
      const plan: KillPlan =
        i % 5 === 0
          ? { delayMs: Math.floor(rand() * 1500) }
          : { afterPuts: Math.floor(rand() * 6), delayMs: Math.floor(rand() * 40) };
      const run = await runWriter(file, binding, plan);
      expect(run.signal, `writer ended by itself (code ${run.code}, seed ${seed}): ${run.stderr}`).toBe(
        'SIGKILL',
      );
      for (const [n, id] of run.puts) {
        acked.set(n, id);
        maxN = Math.max(maxN, n);
      }
      for (const k of run.sets) lastSet = Math.max(lastSet, k);
      if (run.ready) killedInLoop++;

      const at = `after kill ${i} (seed ${seed})`;
      const store = openStore(file, { binding });
      try {
        expect(store.binding).toBe(binding);
        expect(store.integrityCheck(), `integrity ${at}`).toEqual([]);
        // every acknowledged version is there, exactly as the child made it
        for (const [n, id] of acked) {
          const expected = written(n);
          expect(expected.id).toBe(id);
          expect(store.getVersion(id), `acknowledged version ${n} (${id}) ${at}`).toEqual(expected);
        }
        // nothing else but whole versions: each one stored is a version the child made (at most the
        // three in flight beyond the last acknowledged), and its id is the hash of what was read back
        const policy = store.versions('policy');
        const known = new Map<string, number>();
        for (let n = 0; n <= maxN + 3; n++) known.set(written(n).id, n);
        for (const v of policy) {
          const { id, ...rest } = v;
          expect(versionId(rest), `version ${id} is whole ${at}`).toBe(id);
          const n = known.get(id);
          expect(n, `version ${id} is one the writer made ${at}`).toBeDefined();
          expect(v).toEqual(written(n as number));
        }
        expect(policy.length).toBeGreaterThanOrEqual(acked.size);
        // the replaced scope is one whole set, at least as new as the last acknowledged one
        const scope = store.versions(NODE_SCOPE);
        if (lastSet < 0 && scope.length === 0) continue;
        const k = [...Array(lastSet + 3).keys()].find((s) => sameSet(scope, replacementSet(s)));
        expect(
          k,
          `node scope is one whole replacement set ${at} (${scope.map((v) => v.id).join(', ')})`,
        ).toBeDefined();
        expect(k as number).toBeGreaterThanOrEqual(lastSet);
      } finally {
        store.close();
      }
    }
    expect(acked.size).toBeGreaterThan(KILLS);
    expect(killedInLoop).toBeGreaterThanOrEqual(Math.floor((KILLS * 4) / 5));
  }, 300_000);
});

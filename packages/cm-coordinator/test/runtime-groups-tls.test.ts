// Runtime groups on real CmNodes over mutual TLS on loopback (127.0.0.91..94), with a cluster CA made for the
// test, in the guide's two-site layout: Tokyo and New York, one transit node each, runtime groups tokyo and
// newyork. Concurrent increments on both Tokyo nodes sum exactly on both; New York never gets Tokyo's data (nor
// the other way round), although the two transit nodes are connected; stopping a Tokyo node raises "Shared data
// not synchronized" on the other (status, log, status text), and its return clears it after the data converged.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger } from '@proxyha/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CmNode, formatCmStatus, parseCmConfig, type RuntimeChange } from '../src/index';
import { waitUntil, writeTestCa } from './fixtures/tls-cluster';

const root = mkdtempSync(join(tmpdir(), 'cm-runtime-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let caDir: string;

beforeAll(async () => {
  caDir = await writeTestCa(join(root, 'ca'));
});

const until = (what: string, fn: () => boolean, ms = 20_000) => waitUntil(what, fn, ms);

function node(
  name: string,
  host: string,
  network: string[],
  runtime: string,
  peers: string[] = [],
  port = 0,
) {
  const log = new MemoryLogger();
  const config = parseCmConfig({
    name,
    listen: `${host}:${port}`,
    dataDir: join(root, name),
    ca: { cert: join(caDir, 'ca.crt'), key: join(caDir, 'ca.key') },
    peers,
    groups: { network, runtime },
  });
  return { node: new CmNode(config, { logger: log, softwareVersion: '1.0.0', controlSocket: false }), log };
}

describe('runtime groups over mutual TLS: Tokyo and New York', () => {
  it('shares runtime data within its group only; a stopped member raises the alert, which clears on its return', async () => {
    const tt = node('tokyo-transit', '127.0.0.91', ['tokyo', 'transit'], 'tokyo');
    await tt.node.start();
    const ttAt = `127.0.0.91:${tt.node.port}`;
    const t2 = node('tokyo-2', '127.0.0.92', ['tokyo'], 'tokyo', [ttAt]);
    await t2.node.start();
    const t2Port = t2.node.port as number;
    const nt = node('ny-transit', '127.0.0.93', ['newyork', 'transit'], 'newyork', [ttAt]);
    await nt.node.start();
    const n2 = node('ny-2', '127.0.0.94', ['newyork'], 'newyork', [`127.0.0.93:${nt.node.port}`]);
    await n2.node.start();
    let t2Now = t2;
    const nyChanges: RuntimeChange[] = [];
    const t2Changes: RuntimeChange[] = [];
    nt.node.runtime.onChange((c) => nyChanges.push(c));
    t2.node.runtime.onChange((c) => t2Changes.push(c));
    try {
      await until('the runtime members see each other', () =>
        [tt, t2, nt, n2].every((n) => n.node.status().runtime?.members.length === 2),
      );
      expect(tt.node.runtime.group).toBe('tokyo');
      expect(tt.node.status().runtime?.members.map((m) => m.name)).toEqual(['tokyo-2', 'tokyo-transit']);
      // the transit nodes talk (network group transit), but not runtime data: ny-transit is no runtime peer
      expect(tt.node.status().runtime?.peers.map((p) => p.name)).toEqual(['tokyo-2']);

      // both Tokyo nodes count at once, interleaved, before either hears of the other
      let sum = 0;
      for (let i = 1; i <= 20; i++) {
        tt.node.runtime.increment('quota:alice', i, { period: '1d' });
        t2.node.runtime.increment('quota:alice', 2 * i, { period: 86_400_000 });
        sum += 3 * i;
      }
      tt.node.runtime.set('coach:alice', { page: 'gambling', until: '18:00' }, { ttl: '1h' });
      n2.node.runtime.set('override:bob', 'granted', { ttl: '10m' });
      n2.node.runtime.increment('quota:alice', 5, { period: '1d' });
      await until(
        'both Tokyo nodes have the exact sum',
        () =>
          tt.node.runtime.counter('quota:alice') === sum && t2.node.runtime.counter('quota:alice') === sum,
      );
      await until('tokyo-2 has the coaching value', () => t2.node.runtime.get('coach:alice') !== undefined);
      expect(t2.node.runtime.get('coach:alice')).toEqual({ page: 'gambling', until: '18:00' });
      await until('ny-transit has the override', () => nt.node.runtime.get('override:bob') === 'granted');
      expect(nt.node.runtime.counter('quota:alice')).toBe(5); // its own group's count, never Tokyo's
      expect(nt.node.runtime.keys()).toEqual(['override:bob', 'quota:alice']);
      expect(tt.node.runtime.keys()).toEqual(['coach:alice', 'quota:alice']);
      expect(nyChanges.some((c) => c.key === 'coach:alice')).toBe(false);
      expect(nyChanges.every((c) => c.key !== 'quota:alice' || c.value === 5)).toBe(true);
      expect(t2Changes).toContainEqual({
        key: 'coach:alice',
        kind: 'value',
        value: { page: 'gambling', until: '18:00' },
        reason: 'remote',
      });
      // status: the group, members, entries, last sync per peer
      await until('tokyo-transit in sync with tokyo-2', () =>
        Boolean(tt.node.status().runtime?.peers.every((p) => p.lastSync !== null && !p.pending)),
      );
      const text = formatCmStatus(tt.node.status());
      expect(text).toMatch(
        /\nruntime group tokyo: shared data synchronized; 1 counter, 1 value; members tokyo-2, tokyo-transit\n {2}tokyo-2 {2}connected {2}last sync \d{4}-/,
      );

      // tokyo-2 stops: what tokyo-transit counts now cannot be delivered
      await t2.node.stop();
      await until('tokyo-transit sees tokyo-2 gone', () =>
        Boolean(tt.node.status().runtime?.peers.some((p) => p.name === 'tokyo-2' && !p.connected)),
      );
      tt.node.runtime.increment('quota:alice', 1000, { period: '1d' });
      sum += 1000;
      await until('the alert is raised', () => tt.node.status().runtime?.alert === true);
      const peer = tt.node.status().runtime?.peers.find((p) => p.name === 'tokyo-2');
      expect(peer).toMatchObject({ connected: false, pending: true, alert: { reason: 'not connected' } });
      expect(formatCmStatus(tt.node.status())).toMatch(
        /runtime group tokyo: Shared data NOT synchronized;.*\n {2}tokyo-2 {2}not connected {2}last sync .* {2}pending {2}ALERT Shared data not synchronized since .*: not connected/,
      );
      const raisedLog = tt.log.entries.findIndex((e) =>
        /\[SharedDataNotSynchronized\] Shared data not synchronized: cannot send the shared data of runtime group tokyo to node .* \(tokyo-2\): not connected/.test(
          e.message,
        ),
      );
      expect(raisedLog).toBeGreaterThanOrEqual(0);
      expect(tt.log.entries[raisedLog]?.level).toBe('warn');

      // tokyo-2 returns (same data directory and port; its runtime store starts empty): it gets everything,
      // its earlier counts included (kept by tokyo-transit), and the alert clears
      t2Now = node('tokyo-2', '127.0.0.92', ['tokyo'], 'tokyo', [ttAt], t2Port);
      await t2Now.node.start();
      t2Now.node.runtime.increment('quota:alice', 7, { period: '1d' });
      sum += 7;
      await until(
        'the data converged on both',
        () =>
          tt.node.runtime.counter('quota:alice') === sum && t2Now.node.runtime.counter('quota:alice') === sum,
      );
      await until('the alert cleared', () => tt.node.status().runtime?.alert === false);
      const clearedLog = tt.log.entries.findIndex((e) =>
        /\[SharedDataSynchronized\] Shared data of runtime group tokyo with node .* \(tokyo-2\): synchronized again/.test(
          e.message,
        ),
      );
      expect(clearedLog).toBeGreaterThan(raisedLog);
      expect(t2Now.node.runtime.get('coach:alice')).toEqual({ page: 'gambling', until: '18:00' });
      // New York never saw any of it
      expect(nt.node.runtime.counter('quota:alice')).toBe(5);
      expect(n2.node.runtime.keys()).toEqual(['override:bob', 'quota:alice']);
      expect(nt.node.status().runtime?.counters).toBe(1);
    } finally {
      for (const n of [n2, nt, t2Now]) await n.node.stop();
      await tt.node.stop();
    }
  }, 90_000);

  it('refuses bad runtime input at the boundary with a typed error naming it', async () => {
    const a = node('solo', '127.0.0.95', ['default'], 'lab');
    expect(() => node('long', '127.0.0.95', ['default'], 'x'.repeat(65))).toThrow(
      expect.objectContaining({
        code: 'CM_CONFIG_INVALID',
        details: { issues: [expect.objectContaining({ path: 'groups.runtime' })] },
      }),
    );
    await expect(async () => a.node.runtime.counter('x')).rejects.toMatchObject({ code: 'CM_NOT_RUNNING' });
    await a.node.start();
    try {
      expect(() => a.node.runtime.increment('q', 1, { period: 'soon' })).toThrow(
        expect.objectContaining({
          code: 'CM_RUNTIME_INVALID_VALUE',
          details: { issues: [expect.objectContaining({ path: 'period' })] },
        }),
      );
      expect(() => a.node.runtime.set('k', 'x'.repeat(5000), { ttl: '1m' })).toThrow(
        expect.objectContaining({ code: 'CM_RUNTIME_INVALID_VALUE' }),
      );
      expect(() => a.node.runtime.set('', 1, { ttl: '1m' })).toThrow(
        expect.objectContaining({ code: 'CM_RUNTIME_INVALID_VALUE' }),
      );
      expect(() => a.node.runtime.set('k', 1, { ttl: '0s' })).toThrow(
        expect.objectContaining({ code: 'CM_RUNTIME_INVALID_VALUE' }),
      );
      a.node.runtime.set('k', 1, { ttl: '1m' });
      expect(a.node.runtime.delete('k')).toBe(true);
      expect(a.node.runtime.delete('k')).toBe(false);
      expect(a.node.runtime.get('k')).toBeUndefined();
      expect(a.node.status().runtime?.group).toBe('lab');
    } finally {
      await a.node.stop();
    }
  });
});

// CmNode in-process over real mutual TLS on loopback: saves replicate, a node that was away catches up,
// a partition with saves on both sides resolves by the rule and keeps the loser, add-node replaces the
// added node's policy, the admin lock is one per cluster, and the policy lands in the policy directory.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger } from '@proxyha/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CmNode, parseCmConfig } from '../src/index';
import { waitUntil, writeTestCa } from './fixtures/tls-cluster';

const root = mkdtempSync(join(tmpdir(), 'cm-node-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let caDir: string;

beforeAll(async () => {
  caDir = await writeTestCa(join(root, 'ca'));
});

const until = (what: string, fn: () => boolean, ms = 15_000) => waitUntil(what, fn, ms);

function node(name: string, host: string, opts: { priority?: number; peers?: string[]; port?: number } = {}) {
  const log = new MemoryLogger();
  const config = parseCmConfig({
    name,
    listen: `${host}:${opts.port ?? 0}`,
    dataDir: join(root, name),
    ca: { cert: join(caDir, 'ca.crt'), key: join(caDir, 'ca.key') },
    priority: opts.priority ?? 1,
    peers: opts.peers ?? [],
    maxClockSkew: '10s',
  });
  return {
    node: new CmNode(config, { logger: log, softwareVersion: '1.0.0', controlSocket: false }),
    log,
    config,
  };
}

const doc = (content: string) => [{ name: 'policy.xml', content }];

describe('CmNode over mutual TLS on loopback', () => {
  it('replicates saves both ways, writes the policy files, and converges on one storage timestamp', async () => {
    const a = node('rep-a', '127.0.0.61');
    await a.node.start();
    const b = node('rep-b', '127.0.0.62', { peers: [`127.0.0.61:${a.node.port}`] });
    await b.node.start();
    try {
      const saved = a.node.save(doc('<policy v="1"/>'), { comment: 'first' });
      await until('b has a’s save', () => b.node.current()?.id === saved.version);
      expect(b.node.storageTimestamp).toBe(saved.storageTimestamp);
      const fromB = b.node.save(doc('<policy v="2"/>'));
      await until('a has b’s save', () => a.node.current()?.id === fromB.version);
      await until('the policy file on a', () => {
        try {
          return readFileSync(join(a.config.policyDir, 'policy.xml'), 'utf8') === '<policy v="2"/>';
        } catch {
          return false;
        }
      });
      await until('both in sync', () => a.node.status().inSync && b.node.status().inSync);
      const s = a.node.status();
      expect(s.nodes.map((n) => n.name)).toEqual(['rep-a', 'rep-b']);
      expect(new Set(s.nodes.map((n) => n.storageTimestamp))).toEqual(new Set([fromB.storageTimestamp]));
    } finally {
      await b.node.stop();
      await a.node.stop();
    }
  });

  it('a node that was down catches up; concurrent saves resolve by priority and keep the loser', async () => {
    const a = node('cat-a', '127.0.0.63', { priority: 1 });
    await a.node.start();
    const portA = a.node.port as number;
    const b = node('cat-b', '127.0.0.64', { priority: 2, peers: [`127.0.0.63:${portA}`] });
    await b.node.start();
    await until(
      'connected',
      () => a.node.status().nodes.length === 2 && a.node.status().nodes[1]?.reachable === true,
    );
    await b.node.stop();
    // saves while b is away
    const s1 = a.node.save(doc('v1'));
    a.node.save(doc('v2'));
    const b2 = node('cat-b', '127.0.0.64', { priority: 2, peers: [`127.0.0.63:${portA}`] });
    await b2.node.start();
    await until('b caught up', () => b2.node.storageTimestamp === a.node.storageTimestamp);
    expect(b2.node.current()?.documents[0]?.content).toBe('v2');
    expect(s1.version).toBeDefined();
    // a partition: b stops, both save (b's save happens offline), b returns
    await b2.node.stop();
    const loser = node('cat-b', '127.0.0.64', { priority: 2, peers: [] });
    await loser.node.start();
    const fromB = loser.node.save(doc('b-offline'));
    await loser.node.stop();
    const winner = a.node.save(doc('a-during-partition'));
    const b3 = node('cat-b', '127.0.0.64', { priority: 2, peers: [`127.0.0.63:${portA}`] });
    await b3.node.start();
    try {
      await until(
        'converged',
        () => b3.node.current()?.id === winner.version && a.node.status().conflicts.length > 0,
      );
      const conflict = a.node.status().conflicts[0];
      expect(conflict?.winner.id).toBe(winner.version);
      expect(conflict?.loser.id).toBe(fromB.version);
      expect(a.log.entries.some((e) => /\[Conflict\]/.test(e.message))).toBe(true);
    } finally {
      await b3.node.stop();
      await a.node.stop();
    }
  });

  it('add-node replaces the added node’s policy; the admin lock is one per cluster', async () => {
    const a = node('add-a', '127.0.0.65');
    const c = node('add-c', '127.0.0.66');
    await a.node.start();
    await c.node.start();
    try {
      const mine = a.node.save(doc('cluster policy'));
      c.node.save(doc('c’s own old policy'));
      await a.node.addNode({ host: '127.0.0.66', port: c.node.port as number });
      await until('c adopted the cluster policy', () => c.node.current()?.id === mine.version);
      a.node.attachAdmin('admin-1');
      await until('c knows the lease', () => {
        try {
          c.node.attachAdmin('admin-2');
          c.node.detachAdmin('admin-2');
          return false;
        } catch (e) {
          return (e as { code?: string }).code === 'CM_GUI_ATTACH';
        }
      });
      expect(() => c.node.attachAdmin('admin-2')).toThrow(/STATUS_ERROR_GUI_ATTACH.*add-a/);
      a.node.detachAdmin('admin-1');
    } finally {
      await c.node.stop();
      await a.node.stop();
    }
  });
});

// The guide's two-site layout (Tokyo and New York, one transit node each) as real CmNodes over mutual TLS on
// loopback (127.0.0.81..86) with a cluster CA made for the test: only nodes of a shared network group connect
// (a peer of other groups is refused at the handshake, 409), a save on the Tokyo leaf reaches New York through
// both transit nodes, status shows the path, a cut transit node holds the save until it returns, add-node
// teaches the added node the membership, and a layout with unreachable nodes is refused (add-node, start).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger } from '@proxyha/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CmNode, formatCmStatus, parseCmConfig } from '../src/index';
import { waitUntil, writeTestCa } from './fixtures/tls-cluster';

const root = mkdtempSync(join(tmpdir(), 'cm-groups-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let caDir: string;

beforeAll(async () => {
  caDir = await writeTestCa(join(root, 'ca'));
});

const until = (what: string, fn: () => boolean, ms = 20_000) => waitUntil(what, fn, ms);

function node(name: string, host: string, groups: string[], peers: string[] = [], port = 0, dir = 'a') {
  const log = new MemoryLogger();
  const config = parseCmConfig({
    name,
    listen: `${host}:${port}`,
    dataDir: join(root, dir, name),
    ca: { cert: join(caDir, 'ca.crt'), key: join(caDir, 'ca.key') },
    peers,
    groups: { network: groups },
  });
  return { node: new CmNode(config, { logger: log, softwareVersion: '1.0.0', controlSocket: false }), log };
}

const doc = (content: string) => [{ name: 'policy.xml', content }];

describe('network groups over mutual TLS: Tokyo and New York, one transit node each', () => {
  it('connects within groups only, relays through the transit nodes, shows paths, waits for a cut transit node', async () => {
    const tt = node('tokyo-transit', '127.0.0.81', ['tokyo', 'transit']);
    await tt.node.start();
    const ttPort = tt.node.port as number;
    const t2 = node('tokyo-2', '127.0.0.82', ['tokyo'], [`127.0.0.81:${ttPort}`]);
    await t2.node.start();
    const nt = node('ny-transit', '127.0.0.83', ['newyork', 'transit'], [`127.0.0.81:${ttPort}`]);
    await nt.node.start();
    // ny-2 is also configured with tokyo-2, which shares no group with it: refused at the handshake (409)
    const n2 = node(
      'ny-2',
      '127.0.0.84',
      ['newyork'],
      [`127.0.0.83:${nt.node.port}`, `127.0.0.82:${t2.node.port}`],
    );
    await n2.node.start();
    let ttNow = tt;
    const running = [t2, nt, n2];
    try {
      await until('every node knows the four', () =>
        [tt, ...running].every((n) => n.node.status().nodes.filter((x) => x.reachable).length === 4),
      );
      const refused = n2.node.status().nodes.find((n) => n.address === `127.0.0.82:${t2.node.port}`);
      expect(refused?.lastError).toMatch(
        /409 - 'no shared network group'.*\(ny-2\) is in network groups newyork, this node \(tokyo-2\) in tokyo/,
      );
      // not a failure: tokyo-2 is reached through the transit nodes
      await until('ny-2 in sync', () => n2.node.status().inSync);
      expect(
        t2.log.entries.some((e) =>
          /IncomingRequestRefused.*ny-2.*409 - 'no shared network group'/.test(e.message),
        ),
      ).toBe(true);

      const v = t2.node.save(doc('<policy v="tokyo"/>'), { comment: 'from a Tokyo leaf' });
      await until('ny-2 has the Tokyo save', () => n2.node.current()?.id === v.version);
      expect(new Set([tt, ...running].map((n) => n.node.storageTimestamp))).toEqual(
        new Set([v.storageTimestamp]),
      );
      // status: every node with the path its messages take
      const s = t2.node.status();
      const path = (name: string) => s.nodes.find((n) => n.name === name)?.path;
      expect(path('tokyo-2')).toEqual(['tokyo-2']);
      expect(path('tokyo-transit')).toEqual(['tokyo-2', 'tokyo-transit']);
      expect(path('ny-2')).toEqual(['tokyo-2', 'tokyo-transit', 'ny-transit', 'ny-2']);
      expect(formatCmStatus(s)).toContain('path: tokyo-2 -> tokyo-transit -> ny-transit -> ny-2');
      await until('tokyo-2 in sync', () => t2.node.status().inSync);
      // ny-2 took the version from ny-transit (it never connected to tokyo-2)
      expect(n2.node.status().nodes.find((n) => n.name === 'tokyo-2')?.path).toEqual([
        'ny-2',
        'ny-transit',
        'tokyo-transit',
        'tokyo-2',
      ]);

      // cut the Tokyo transit node: the next save stays in Tokyo until it returns
      await tt.node.stop();
      await until('tokyo-2 sees the transit node down', () =>
        t2.node.status().nodes.some((n) => n.name === 'tokyo-transit' && !n.reachable),
      );
      expect(t2.node.status().nodes.find((n) => n.name === 'ny-2')?.path).toBeNull();
      const w = t2.node.save(doc('<policy v="while cut"/>'));
      await new Promise((r) => setTimeout(r, 1500));
      expect(n2.node.current()?.id).toBe(v.version);
      expect(nt.node.current()?.id).toBe(v.version);
      ttNow = node('tokyo-transit', '127.0.0.81', ['tokyo', 'transit'], [], ttPort);
      await ttNow.node.start();
      await until(
        'ny-2 has the save made while the transit node was cut',
        () => n2.node.current()?.id === w.version,
      );
      expect(ttNow.node.current()?.id).toBe(w.version);
      expect(nt.node.current()?.id).toBe(w.version);
    } finally {
      for (const n of running.reverse()) await n.node.stop();
      await ttNow.node.stop();
    }
  }, 90_000);

  it('add-node: the added node learns the membership and its groups; an unreachable layout is refused', async () => {
    const tt = node('tokyo-transit', '127.0.0.81', ['tokyo', 'transit'], [], 0, 'b');
    await tt.node.start();
    const t2 = node('tokyo-2', '127.0.0.82', ['tokyo'], [`127.0.0.81:${tt.node.port}`], 0, 'b');
    await t2.node.start();
    const nt = node(
      'ny-transit',
      '127.0.0.83',
      ['newyork', 'transit'],
      [`127.0.0.81:${tt.node.port}`],
      0,
      'b',
    );
    await nt.node.start();
    const n3 = node('ny-3', '127.0.0.85', ['newyork'], [], 0, 'b');
    await n3.node.start();
    const pb = node('paderborn-1', '127.0.0.86', ['paderborn'], [], 0, 'b');
    await pb.node.start();
    const running = [tt, t2, nt, n3, pb];
    try {
      await until('tokyo-2 knows ny-transit', () =>
        t2.node.status().nodes.some((n) => n.name === 'ny-transit' && n.reachable),
      );
      expect(t2.node.status().nodes.map((n) => n.name)).toEqual(['tokyo-2', 'tokyo-transit', 'ny-transit']);
      n3.node.save(doc('ny-3’s own old policy'));
      // added from a Tokyo leaf, with which it shares no group: adopt, then it dials the nodes of newyork
      await t2.node.addNode({ host: '127.0.0.85', port: n3.node.port as number });
      await until('ny-3 took the cluster policy', () => n3.node.current()?.id === t2.node.current()?.id);
      await until('ny-3 connected to ny-transit', () =>
        n3.node.status().nodes.some((n) => n.name === 'ny-transit' && n.reachable),
      );
      expect(n3.node.status().nodes.some((n) => n.name === 'tokyo-2' && n.path?.length === 4)).toBe(true);
      const v = t2.node.save(doc('<policy v="after add"/>'));
      await until('ny-3 has the next save', () => n3.node.current()?.id === v.version);
      // a node of a group nobody else is in: refused, naming every pair it cannot reach
      await expect(
        t2.node.addNode({ host: '127.0.0.86', port: pb.node.port as number }),
      ).rejects.toMatchObject({
        code: 'CM_UNREACHABLE_NODES',
        message: expect.stringContaining(
          "Configuration rejected by binary 'COORDINATOR' with status 'checking new settings failed - Invalid node path matrix / unreachable nodes': unreachable ny-3 <-> paderborn-1, ny-transit <-> paderborn-1, paderborn-1 <-> tokyo-2, paderborn-1 <-> tokyo-transit",
        ),
      });
      expect(pb.node.current()?.id).toBeUndefined();
    } finally {
      for (const n of running.reverse()) await n.node.stop();
    }
    // ny-3 restarted in a group that no other node is in: its start is refused
    const lost = node('ny-3', '127.0.0.85', ['nowhere'], [], 0, 'b');
    await expect(lost.node.start()).rejects.toMatchObject({
      code: 'CM_UNREACHABLE_NODES',
      details: { pairs: expect.arrayContaining([['ny-3', 'tokyo-2']]) },
    });
    expect(
      lost.log.entries.some((e) => /Invalid node path matrix \/ unreachable nodes/.test(e.message)),
    ).toBe(true);
  }, 90_000);
});

// The guide's two-site layout (Tokyo and New York: one leaf and one transit node per site; network groups
// tokyo, newyork and transit; update and runtime groups tokyo and newyork) as real `proxyha-cm run` processes
// over mutual TLS on loopback (127.0.15.1..4, port 24015; no root needed), each with its own data directory and
// configuration, as test/processes.test.ts runs them. The test talks to them with the CLI (`policy save|show`,
// `status --json`, `add-node`) and the control socket, and a local HTTP server on 127.0.15.9 is the update
// server. Assertions are about what happened and in what order, never about how long it took.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess } from '@proxyha/testlab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CmStatus, createClusterCa } from '../src/index';
import {
  type CmProc,
  cli,
  current,
  log,
  cmNodeArgs as nodeArgs,
  saveWithCli,
  show,
  status,
  statusJson,
  until,
} from './fixtures/cm-process';

const PORT = 24015;
const root = mkdtempSync(join(tmpdir(), 'cm-groups-proc-'));
const everything = new Set<ManagedProcess>();

// the update server: one pinned list
const LIST = Buffer.from('urlfilter list 2026.12.1\n'.repeat(4000));
const LIST_SHA = createHash('sha256').update(LIST).digest('hex');
/** Every request the update server saw, in order. */
const requests: string[] = [];
let server: Server;
let base = '';

interface NodeOptions {
  network: string[];
  site: 'tokyo' | 'newyork' | 'paderborn';
  peers?: CmProc[];
  download?: boolean;
  /** The configuration file's name (default `<name>.yaml`). */
  file?: string;
}

function configText(name: string, ip: string, dataDir: string, o: NodeOptions): string {
  return `name: ${name}
listen: "${ip}:${PORT}"
dataDir: ${dataDir}
ca: { cert: ${join(root, 'ca', 'ca.crt')}, key: ${join(root, 'ca', 'ca.key')} }
peers: ${JSON.stringify((o.peers ?? []).map((p) => p.address))}
maxClockSkew: "10s"
groups: { network: ${JSON.stringify(o.network)}, update: ${o.site}, runtime: ${o.site} }
updates:
  interval: "2s"
  downloadFromInternet: ${o.download === true}
  sources:
    - { name: urlfilter, url: "${base}/list.db", sha256: "${LIST_SHA}", version: "2026.12.1" }
`;
}

function defineNode(name: string, ip: string, o: NodeOptions): CmProc {
  const dataDir = join(root, name);
  mkdirSync(dataDir, { recursive: true });
  const config = join(root, o.file ?? `${name}.yaml`);
  writeFileSync(config, configText(name, ip, dataDir, o));
  return { name, ip, address: `${ip}:${PORT}`, dataDir, config, proc: undefined, past: '' };
}

function spawn(n: CmProc): ManagedProcess {
  if (n.proc) n.past += n.proc.output();
  const proc = new ManagedProcess([process.execPath, ...nodeArgs, 'run', '--config', n.config], {
    name: n.name,
  });
  everything.add(proc);
  n.proc = proc;
  return proc;
}

/** Starts `proxyha-cm run` and waits until it listens and answers on its control socket. */
async function start(n: CmProc): Promise<void> {
  const proc = spawn(n);
  await proc.waitForOutput(/listening on .*Current Storage Timestamp/, 60_000);
  await until(`${n.name} answers on its control socket`, async () => (await status(n)) !== undefined);
}

async function currentVersion(n: CmProc): Promise<string | null | undefined> {
  return (await current(n))?.version;
}

/** `policy save --file` of one document with the CLI: the printed storage timestamp (the save must work). */
async function save(n: CmProc, content: string): Promise<string> {
  const r = await saveWithCli(root, n, content);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

const pathTo = (s: CmStatus | undefined, name: string) => s?.nodes.find((n) => n.name === name)?.path;
const reachable = (s: CmStatus | undefined, name: string) =>
  s?.nodes.find((n) => n.name === name)?.reachable === true;
const listOf = (s: CmStatus | undefined, name: string) => s?.updates?.lists.find((l) => l.name === name);

let TT: CmProc;
let T2: CmProc;
let NT: CmProc;
let N2: CmProc;
let ALL: CmProc[];

beforeAll(async () => {
  const ca = await createClusterCa({ algorithm: 'P-256', name: 'proxyha groups-processes' });
  mkdirSync(join(root, 'ca'));
  writeFileSync(join(root, 'ca', 'ca.crt'), ca.certPem);
  writeFileSync(join(root, 'ca', 'ca.key'), ca.keyPem, { mode: 0o600 });
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url !== '/list.db') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': LIST.length }).end(LIST);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.15.9', r));
  base = `http://127.0.15.9:${(server.address() as AddressInfo).port}`;

  TT = defineNode('tokyo-transit', '127.0.15.1', { network: ['tokyo', 'transit'], site: 'tokyo' });
  // the Tokyo leaf is the one node allowed to download from the internet
  T2 = defineNode('tokyo-2', '127.0.15.2', {
    network: ['tokyo'],
    site: 'tokyo',
    peers: [TT],
    download: true,
  });
  NT = defineNode('ny-transit', '127.0.15.3', {
    network: ['newyork', 'transit'],
    site: 'newyork',
    peers: [TT],
  });
  N2 = defineNode('ny-2', '127.0.15.4', { network: ['newyork'], site: 'newyork', peers: [NT] });
  ALL = [TT, T2, NT, N2];
  await start(TT);
  await Promise.all([start(T2), start(NT), start(N2)]);
  await until(
    'every node lists the four, reachable',
    async () =>
      (await Promise.all(ALL.map(status))).every(
        (s) => s !== undefined && s.nodes.filter((x) => x.reachable).length === 4,
      ),
    { logs: ALL },
  );
}, 180_000);

afterAll(async () => {
  await Promise.all([...everything].map((p) => p.kill('SIGKILL', 5_000)));
  await new Promise((r) => server?.close(r));
  rmSync(root, { recursive: true, force: true });
});

describe.sequential(
  'network, update and runtime groups as proxyha-cm processes',
  { timeout: 180_000 },
  () => {
    it('a save on the Tokyo leaf is shown on both New York nodes; status gives the path through both transit nodes', async () => {
      const stamp = await save(T2, '<policy v="from tokyo-2"/>');
      const version = (await show(T2)).version;
      expect(version).toMatch(/^[0-9a-f]{64}$/);
      await until(
        'both New York nodes have the Tokyo save',
        async () => (await currentVersion(NT)) === version && (await currentVersion(N2)) === version,
        { logs: ALL },
      );
      for (const n of [NT, N2]) {
        const shown = await show(n);
        expect(shown.version).toBe(version);
        expect(shown.storageTimestamp).toBe(stamp);
        expect(shown.documents.map(({ name, content }) => ({ name, content }))).toEqual([
          { name: 'policy.xml', content: '<policy v="from tokyo-2"/>' },
        ]);
      }
      // ny-2's messages to tokyo-2 go through both transit nodes (it never talks to tokyo-2 directly)
      const ny2 = await statusJson(N2);
      expect(ny2.nodes.map((n) => n.name).sort()).toEqual(['ny-2', 'ny-transit', 'tokyo-2', 'tokyo-transit']);
      expect(pathTo(ny2, 'ny-2')).toEqual(['ny-2']);
      expect(pathTo(ny2, 'ny-transit')).toEqual(['ny-2', 'ny-transit']);
      expect(pathTo(ny2, 'tokyo-transit')).toEqual(['ny-2', 'ny-transit', 'tokyo-transit']);
      expect(pathTo(ny2, 'tokyo-2')).toEqual(['ny-2', 'ny-transit', 'tokyo-transit', 'tokyo-2']);
      const t2 = await statusJson(T2);
      expect(pathTo(t2, 'ny-2')).toEqual(['tokyo-2', 'tokyo-transit', 'ny-transit', 'ny-2']);
      const text = await cli('status', '--config', T2.config);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain('path: tokyo-2 -> tokyo-transit -> ny-transit -> ny-2');
      // only nodes of a shared network group talked directly: each leaf connected to its transit node, never to
      // the other site's nodes
      expect(log(T2)).toMatch(/NodeConnected\].*tokyo-transit/);
      expect(log(N2)).toMatch(/NodeConnected\].*ny-transit/);
      expect(log(T2)).not.toMatch(/NodeConnected\].*ny-/);
      expect(log(T2)).not.toMatch(/NodeConnected\].*ny-2/);
      expect(log(N2)).not.toMatch(/NodeConnected\].*tokyo-2/);
    });

    it('SIGKILL of the Tokyo transit node: New York keeps the older version until it is back, then the save arrives', async () => {
      const before = (await show(N2)).version;
      expect(before).not.toBeNull();
      const proc = TT.proc as ManagedProcess;
      proc.signal('SIGKILL');
      expect((await proc.exited).signal).toBe('SIGKILL');
      await until(
        'tokyo-2 and ny-transit see tokyo-transit down',
        async () =>
          !reachable(await status(T2), 'tokyo-transit') && !reachable(await status(NT), 'tokyo-transit'),
        { logs: [T2, NT] },
      );
      // every way from tokyo-2 to New York is down
      expect(pathTo(await statusJson(T2), 'ny-2')).toBeNull();
      const stamp = await save(T2, '<policy v="while the transit node is down"/>');
      const cut = (await show(T2)).version;
      expect(cut).not.toBe(before);
      // sampled over several ticks (1 s) of every node: New York stays at the older version
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 500));
        expect(await currentVersion(NT), `ny-transit, sample ${i}`).toBe(before);
        expect(await currentVersion(N2), `ny-2, sample ${i}`).toBe(before);
      }
      expect((await show(T2)).version).toBe(cut);
      await start(TT);
      await until(
        'the save made while tokyo-transit was down reached New York',
        async () => (await currentVersion(NT)) === cut && (await currentVersion(N2)) === cut,
        { logs: ALL },
      );
      for (const n of ALL) {
        const shown = await show(n);
        expect(shown.storageTimestamp, n.name).toBe(stamp);
        expect(shown.documents[0]?.content).toBe('<policy v="while the transit node is down"/>');
      }
      // and the way from New York to tokyo-2 goes through the restarted transit node again
      expect(pathTo(await statusJson(N2), 'tokyo-2')).toEqual([
        'ny-2',
        'ny-transit',
        'tokyo-transit',
        'tokyo-2',
      ]);
    });

    it('update and runtime data (status --json) stay within their group: Tokyo shares the list, New York gets none', async () => {
      await until(
        'tokyo-transit has the list from tokyo-2',
        async () => listOf(await status(TT), 'urlfilter')?.from === 'tokyo-2',
        { logs: [T2, TT] },
      );
      const t2 = await statusJson(T2);
      expect(listOf(t2, 'urlfilter')).toMatchObject({
        version: '2026.12.1',
        sha256: LIST_SHA,
        from: 'internet',
      });
      expect(listOf(await statusJson(TT), 'urlfilter')).toMatchObject({
        version: '2026.12.1',
        sha256: LIST_SHA,
        size: LIST.length,
      });
      expect(existsSync(join(TT.dataDir, 'updates', 'urlfilter', 'v-2026.12.1'))).toBe(true);
      // downloaded from the internet once, by tokyo-2
      expect(requests.filter((r) => r === '/list.db')).toHaveLength(1);
      // New York: two more interval checks (2 s) of tokyo-2 pass while ny-transit talks to tokyo-transit, and
      // nothing arrives (the New York nodes do not download: without downloadFromInternet a check does nothing)
      for (let i = 0; i < 2; i++) {
        const last = (await statusJson(T2)).updates?.lastCheck ?? null;
        await until(`tokyo-2 ran interval check ${i + 1} more`, async () => {
          const now = (await status(T2))?.updates?.lastCheck ?? null;
          return now !== null && now !== last;
        });
      }
      for (const n of [NT, N2]) {
        const s = await statusJson(n);
        expect(s.updates?.groups).toEqual(['newyork']);
        expect(listOf(s, 'urlfilter')?.version ?? null, n.name).toBeNull();
        expect(existsSync(join(n.dataDir, 'updates', 'urlfilter', 'current.json'))).toBe(false);
        expect(s.updates?.members.map((m) => m.name).filter((m) => !m.startsWith('ny-'))).toEqual([]);
        expect(log(n)).not.toMatch(/Update(Installed|Download)/);
      }
      expect(reachable(await status(NT), 'tokyo-transit')).toBe(true);
      expect(requests.filter((r) => r === '/list.db')).toHaveLength(1);
      // Tokyo's update members are Tokyo's nodes only
      for (const n of [T2, TT]) {
        const s = await statusJson(n);
        expect(s.updates?.groups).toEqual(['tokyo']);
        expect(s.updates?.members.map((m) => m.name).sort()).toEqual(
          [n.name === 'tokyo-2' ? 'tokyo-transit' : 'tokyo-2'].sort(),
        );
      }
      // runtime groups: each node's runtime members are the nodes of its site, never the other site's. (Runtime
      // entries themselves can only be written through the library API, `CmNode.runtime`; neither the CLI nor
      // the control socket writes them, so the test checks the membership and that no entry appears.)
      await until('every node knows the two members of its runtime group', async () =>
        (await Promise.all(ALL.map(status))).every((s) => (s?.runtime?.members.length ?? 0) === 2),
      );
      for (const n of ALL) {
        const s = await statusJson(n);
        const site = n.name.startsWith('tokyo') ? 'tokyo' : 'newyork';
        expect(s.runtime?.group, n.name).toBe(site);
        expect(s.runtime?.members.map((m) => m.name).sort()).toEqual(
          site === 'tokyo' ? ['tokyo-2', 'tokyo-transit'] : ['ny-2', 'ny-transit'],
        );
        expect(
          s.runtime?.peers.map((p) => p.name).every((p) => p.startsWith(site === 'tokyo' ? 'tokyo' : 'ny-')),
        ).toBe(true);
        expect({ counters: s.runtime?.counters, values: s.runtime?.values }).toEqual({
          counters: 0,
          values: 0,
        });
      }
    });

    it('a layout that leaves nodes unreachable is refused: at add-node and at start, naming the pairs', async () => {
      // add-node of a node whose only group nobody else is in
      const PB = defineNode('paderborn-1', '127.0.15.5', { network: ['paderborn'], site: 'paderborn' });
      await start(PB);
      const version = (await show(T2)).version;
      const added = await cli('add-node', '--config', T2.config, PB.address);
      expect(added.code).toBe(1);
      expect(added.stderr).toBe(
        "proxyha-cm: [StorageConfigurationRejectedLocal] Configuration rejected by binary 'COORDINATOR' with status 'checking new settings failed - Invalid node path matrix / unreachable nodes': unreachable ny-2 <-> paderborn-1, ny-transit <-> paderborn-1, paderborn-1 <-> tokyo-2, paderborn-1 <-> tokyo-transit\n",
      );
      // nothing changed: paderborn-1 keeps no policy, the cluster does not list it
      expect((await show(PB)).version).toBeNull();
      for (const n of ALL) {
        expect(
          (await status(n))?.nodes.some((x) => x.name === 'paderborn-1'),
          n.name,
        ).toBe(false);
        expect(await currentVersion(n)).toBe(version);
      }
      await PB.proc?.kill('SIGTERM', 10_000);

      // ny-2 restarted in a network group no other node is in: `proxyha-cm run` refuses to start
      const nyProc = N2.proc as ManagedProcess;
      await nyProc.kill('SIGTERM', 10_000);
      expect(nyProc.output()).toMatch(/INFO: Stopped\n$/);
      const lost = defineNode('ny-2', '127.0.15.4', {
        network: ['nowhere'],
        site: 'newyork',
        peers: [NT],
        file: 'ny-2-nowhere.yaml',
      });
      const refused = spawn(lost);
      const exit = await refused.exited;
      expect(exit).toEqual({ code: 1, signal: null });
      expect(refused.stderr()).toMatch(
        /^proxyha-cm: \[StorageConfigurationRejectedLocal\] Configuration rejected by binary 'COORDINATOR' with status 'checking new settings failed - Invalid node path matrix \/ unreachable nodes': unreachable ny-2 <-> ny-transit, ny-2 <-> tokyo-2, ny-2 <-> tokyo-transit\n$/,
      );
      expect(refused.stdout()).toMatch(
        /\[Coordinator\] \[StorageConfigurationRejectedLocal\] Configuration rejected .*Invalid node path matrix \/ unreachable nodes': unreachable ny-2 <-> ny-transit/,
      );
      expect(refused.stdout()).not.toMatch(/listening on/);
      expect(reachable(await status(NT), 'ny-2')).toBe(false);
      // with its groups back it starts, and is in sync with New York again
      await start(N2);
      await until('ny-2 back with ny-transit', async () => reachable(await status(N2), 'ny-transit'), {
        logs: [N2],
      });
      expect(await currentVersion(N2)).toBe(version);
    });
  },
);

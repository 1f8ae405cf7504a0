// proxyha-cm as real processes on loopback (no root needed): every node is `proxyha-cm run` from the sources
// on its own 127.0.0.x address and port 42346, with its own data directory; the test talks to them with the
// CLI (`policy save|show`, `status --json`, `add-node`, `admin attach`). Waits poll the control socket;
// assertions are about what happened and in what order, never about how long it took.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, run } from '@proxyha/testlab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest, controlSocketPath } from '../src/driver/control';
import { checkVersion, createClusterCa, formatHlc, openStore, type Version } from '../src/index';
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

const PORT = 42346;
const root = mkdtempSync(join(tmpdir(), 'cm-proc-'));
const everything = new Set<ManagedProcess>();

function defineNode(
  name: string,
  ip: string,
  o: { ca?: string; priority?: number; peers?: CmProc[] | string[] } = {},
): CmProc {
  const dataDir = join(root, name);
  mkdirSync(dataDir, { recursive: true });
  const ca = join(root, o.ca ?? 'ca');
  const peers = (o.peers ?? []).map((p) => (typeof p === 'string' ? p : p.address));
  const config = join(root, `${name}.yaml`);
  writeFileSync(
    config,
    `name: ${name}
listen: "${ip}:${PORT}"
dataDir: ${dataDir}
ca: { cert: ${join(ca, 'ca.crt')}, key: ${join(ca, 'ca.key')} }
priority: ${o.priority ?? 1}
peers: ${JSON.stringify(peers)}
maxClockSkew: "10s"
adminLockTtl: "3s"
`,
  );
  return { name, ip, address: `${ip}:${PORT}`, dataDir, config, proc: undefined, past: '' };
}

/** Starts `proxyha-cm run` (under `faketime -f SHIFT` when given) and waits until it listens. */
async function start(n: CmProc, o: { faketime?: string } = {}): Promise<void> {
  if (n.proc) n.past += n.proc.output();
  const argv = [process.execPath, ...nodeArgs, 'run', '--config', n.config];
  const proc = new ManagedProcess(o.faketime ? ['faketime', '-f', o.faketime, ...argv] : argv, {
    name: o.faketime ? `${n.name} (faketime)` : n.name,
    ...(o.faketime ? { env: { FAKETIME_DONT_FAKE_MONOTONIC: '1' } } : {}),
  });
  everything.add(proc);
  n.proc = proc;
  await proc.waitForOutput(/listening on .*Current Storage Timestamp/, 60_000);
  await until(`${n.name} answers on its control socket`, async () => (await status(n)) !== undefined);
}

/** SIGTERM (clean stop) or SIGKILL. */
async function stop(n: CmProc, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  const exit = await n.proc?.kill(signal, 10_000);
  if (signal !== 'SIGTERM') return;
  expect(n.proc?.output(), `${n.name} stops cleanly`).toMatch(
    /INFO: Stopping \(SIGTERM\)\n[\s\S]*INFO: Stopped\n$/,
  );
  // (the faketime wrapper itself dies of the signal its process group got)
  if (!n.proc?.name.endsWith('(faketime)'))
    expect(exit, `${n.name} exits 0:\n${n.proc?.output()}`).toEqual({ code: 0, signal: null });
}

/** `policy save --file` of one document; the printed storage timestamp, or undefined when it failed. */
async function save(n: CmProc, content: string, name = 'policy.xml'): Promise<string | undefined> {
  const r = await saveWithCli(root, n, content, name);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/**
 * The given nodes have one Current Storage Timestamp, and each sees the given nodes it knows (its direct
 * peers) reachable with that timestamp (other nodes aside).
 */
async function inSync(...nodes: CmProc[]): Promise<boolean> {
  const all = await Promise.all(nodes.map(status));
  const stamp = all[0]?.nodes[0]?.storageTimestamp;
  if (stamp === undefined) return false;
  const names = new Set(nodes.map((n) => n.name));
  return all.every(
    (s) =>
      s !== undefined &&
      s.nodes.length > 1 &&
      s.nodes.filter((x) => names.has(x.name)).every((x) => x.reachable && x.storageTimestamp === stamp),
  );
}

const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\.\d{5}\.[0-9a-f-]{36}$/;

const A = defineNode('cm-a', '127.0.0.101');
const B = defineNode('cm-b', '127.0.0.102', { peers: [A] });
const C = defineNode('cm-c', '127.0.0.103', { peers: [A, B] });

beforeAll(async () => {
  for (const name of ['ca', 'other-ca']) {
    const ca = await createClusterCa({ algorithm: 'P-256', name: `proxyha ${name}` });
    mkdirSync(join(root, name));
    writeFileSync(join(root, name, 'ca.crt'), ca.certPem);
    writeFileSync(join(root, name, 'ca.key'), ca.keyPem, { mode: 0o600 });
  }
  await start(A);
  await Promise.all([start(B), start(C)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([...everything].map((p) => p.kill('SIGKILL', 5_000)));
  rmSync(root, { recursive: true, force: true });
});

describe.sequential('proxyha-cm processes on loopback', { timeout: 180_000 }, () => {
  it('three nodes of one CA: a save on one is shown on all, with one Current Storage Timestamp', async () => {
    const dir = join(root, 'policy-dir');
    mkdirSync(join(dir, 'lists'), { recursive: true });
    writeFileSync(join(dir, 'policy.xml'), '<policy block="gambling"/>\n');
    writeFileSync(join(dir, 'lists', 'allow.txt'), 'example.com\n');
    const r = await cli('policy', 'save', '--config', A.config, '--dir', dir, '--comment', 'first');
    expect(r.code, r.stderr).toBe(0);
    const stamp = r.stdout.trim();
    expect(stamp).toMatch(STAMP);
    await until('A, B and C in sync', () => inSync(A, B, C));
    const expected = [
      { name: 'lists/allow.txt', content: 'example.com\n' },
      { name: 'policy.xml', content: '<policy block="gambling"/>\n' },
    ];
    const [a, b, c] = await Promise.all([show(A), show(B), show(C)]);
    for (const s of [a, b, c]) {
      expect(s.storageTimestamp).toBe(stamp);
      expect(s.version).toBe(a.version);
      expect(s.documents.map(({ name, content }) => ({ name, content }))).toEqual(expected);
    }
    const text = await cli('policy', 'show', '--config', B.config);
    expect(text.stdout).toBe(
      `# version ${a.version}, Current Storage Timestamp ${stamp}\n==> lists/allow.txt <==\nexample.com\n==> policy.xml <==\n<policy block="gambling"/>\n`,
    );
    const statuses = await Promise.all([statusJson(A), statusJson(B), statusJson(C)]);
    const uuids = new Map(statuses.map((s) => [s.self.name, s.self.uuid]));
    for (const s of statuses) {
      // the sections of part 2 (update groups, runtime groups) come on top of part 1's
      const sections = ['runtime', 'updates'];
      expect(
        Object.keys(s)
          .filter((k) => !sections.includes(k))
          .sort(),
      ).toEqual(['conflicts', 'inSync', 'nodes', 'self']);
      expect(s.updates).toMatchObject({ groups: ['default'], downloadFromInternet: false, lists: [] });
      expect(Object.keys(s.self).sort()).toEqual(['name', 'uuid']);
      expect(s.inSync).toBe(true);
      expect(s.conflicts).toEqual([]);
      expect(s.nodes[0]?.name).toBe(s.self.name);
      expect(s.nodes.map((n) => n.name).sort()).toEqual(['cm-a', 'cm-b', 'cm-c']);
      for (const n of s.nodes) {
        expect(Object.keys(n).sort()).toEqual(
          ['address', 'lastError', 'name', 'path', 'reachable', 'storageTimestamp', 'uuid', 'version'].sort(),
        );
        // one network group (default): every node is one hop away
        expect(n.path).toEqual(n.name === s.self.name ? [n.name] : [s.self.name, n.name]);
        expect(n).toMatchObject({
          uuid: uuids.get(n.name),
          address: { 'cm-a': A.address, 'cm-b': B.address, 'cm-c': C.address }[n.name],
          version: expect.stringMatching(/^\d+\.\d+\.\d+/),
          storageTimestamp: stamp,
          reachable: true,
          lastError: null,
        });
      }
    }
    const human = await cli('status', '--config', C.config);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^node cm-c \(.*\)\ncluster in sync\n/);
    expect(
      human.stdout.match(
        new RegExp(`Current Storage Timestamp: ${stamp.replace(/\./g, '\\.')}  reachable`, 'g'),
      ),
    ).toHaveLength(3);
  });

  it('a node of another CA is refused on both sides: ssl failure ... certificate verification, 301 in status', async () => {
    const X = defineNode('cm-x', '127.0.0.104', { ca: 'other-ca', peers: ['127.0.0.105:42346'] });
    const Y = defineNode('cm-y', '127.0.0.105', { peers: [X] });
    await Promise.all([start(X), start(Y)]);
    // X calls Y: Y's certificate fails X's verification, and Y refuses X's certificate; Y calls X: the same
    const clientSide = (addr: string) =>
      new RegExp(
        `\\[NodeRequestFailed\\] Message '<hello>' on node ${addr} \\(${addr}\\) failed with error '\\(301 - 'cannot connect'\\) - "hello: ssl failure on message socket while sending request - last action: certificate verification`,
      );
    const serverSide = (ip: string) =>
      new RegExp(
        `\\[SslFailure\\] ssl failure on message socket from ${ip.replace(/\./g, '\\.')}:\\d+ while receiving request - last action: certificate verification`,
      );
    await until(
      'both logs name the other',
      () =>
        [
          clientSide(Y.address).test(log(X)),
          clientSide(X.address).test(log(Y)),
          serverSide(X.ip).test(log(Y)),
          serverSide(Y.ip).test(log(X)),
        ].every(Boolean),
      { ms: 30_000, logs: [X, Y] },
    );
    for (const [self, other] of [
      [X, Y],
      [Y, X],
    ] as const) {
      const s = await statusJson(self);
      expect(s.inSync).toBe(false);
      expect(s.nodes).toHaveLength(2);
      expect(s.nodes[1]).toMatchObject({
        uuid: null,
        address: other.address,
        reachable: false,
        storageTimestamp: null,
        lastError: expect.stringMatching(
          /^\(301 - 'cannot connect'\) - "hello: ssl failure on message socket .* certificate verification/,
        ),
      });
    }
    // add-node of a node of another CA: the certificate verification error, and nothing added
    const add = await cli('add-node', '--config', A.config, X.address);
    expect(add.code).toBe(1);
    expect(add.stderr).toMatch(
      /^proxyha-cm: co_distribute_add_cluster_node: ssl failure on message socket while sending request - last action: certificate verification/,
    );
    expect(log(A)).toMatch(
      new RegExp(
        `\\[NodeRequestFailed\\] Message '<co_distribute_add_cluster_node>' on node ${X.address} \\(${X.address}\\) failed with error '\\(301 - 'cannot connect'\\) - "co_distribute_add_cluster_node: ssl failure .*certificate verification`,
      ),
    );
    expect((await status(A))?.nodes.map((n) => n.name).sort()).toEqual(['cm-a', 'cm-b', 'cm-c']);
    await Promise.all([stop(X), stop(Y)]);
  });

  it('a node whose clock is an hour ahead gets 405 on both sides and applies nothing until its clock is right', async () => {
    const F = defineNode('cm-f', '127.0.0.106', { priority: 2, peers: [A] });
    // F's own policy from before it knew the cluster (alone: a configuration without peers)
    writeFileSync(F.config.replace(/\.yaml$/, '-alone.yaml'), '');
    const alone = { ...F, config: F.config.replace(/\.yaml$/, '-alone.yaml') };
    writeFileSync(
      alone.config,
      `name: cm-f\nlisten: "${F.address}"\ndataDir: ${F.dataDir}\nca: { cert: ${join(root, 'ca', 'ca.crt')}, key: ${join(root, 'ca', 'ca.key')} }\npriority: 2\nadminLockTtl: "3s"\n`,
    );
    await start(alone);
    const before = await save(alone, '<policy f="before"/>');
    expect(before).toMatch(STAMP);
    await stop(alone);
    F.past = log(alone);

    const shifted = await run('faketime', ['-f', '+1h', process.execPath, '-e', 'console.log(Date.now())'], {
      env: { FAKETIME_DONT_FAKE_MONOTONIC: '1' },
    });
    expect(Number(shifted.stdout) - Date.now()).toBeGreaterThan(3_500_000); // libfaketime moves Node's clock

    const fromA = log(A).length;
    await start(F, { faketime: '+1h' });
    await until(
      '405 on both sides',
      () => {
        return (
          /\[NodeRequestFailed\] Message '<hello>' on node 127\.0\.0\.101:42346 \(127\.0\.0\.101:42346\) failed with error '\(405 - 'time difference too high'\)/.test(
            log(F),
          ) &&
          /\[IncomingRequestRefused\] Message '<hello>' from node [0-9a-f-]{36} \(cm-f\) at 127\.0\.0\.106:\d+ refused with error '\(405 - 'time difference too high'\)/.test(
            log(A).slice(fromA),
          )
        );
      },
      { logs: [F, A] },
    );
    const skewed = await statusJson(F);
    expect(skewed.nodes[1]).toMatchObject({
      address: A.address,
      reachable: false,
      lastError: expect.stringMatching(
        /^\(405 - 'time difference too high'\) - "hello: the clock of node .* is/,
      ),
    });
    // nothing applied: F's policy is its own, and A's is A's
    const f = await show(F);
    expect(f.storageTimestamp).toBe(before);
    expect(f.documents).toEqual([{ name: 'policy.xml', content: '<policy f="before"/>' }]);
    expect((await current(A))?.storageTimestamp).not.toBe(before);
    expect((await status(A))?.nodes.some((n) => n.name === 'cm-f')).toBe(false);
    await stop(F);
    expect(log(F)).not.toMatch(/\[NodeConnected\]/);

    // right clock: F catches up by itself; A's policy wins by priority, F's is kept as the loser
    await start(F);
    // both answers needed: a control request that fails under load gives undefined on both sides
    await until('F caught up', async () => {
      const [f, a] = [await current(F), await current(A)];
      return f?.version !== undefined && f.version === a?.version;
    });
    const caught = await show(F);
    expect(caught.documents.map((d) => d.name)).toEqual(['lists/allow.txt', 'policy.xml']);
    const conflicts = (await statusJson(F)).conflicts;
    expect(conflicts).toEqual([
      expect.objectContaining({
        winner: expect.objectContaining({ origin: 'cm-a' }),
        loser: expect.objectContaining({ origin: 'cm-f', storageTimestamp: before }),
      }),
    ]);
    await stop(F);
  });

  it('a node that was offline during saves catches up by itself when it returns', async () => {
    await stop(C);
    const first = await save(A, '<policy v="offline-1"/>');
    const second = await save(B, '<policy v="offline-2"/>');
    expect(first).toMatch(STAMP);
    expect(second).toMatch(STAMP);
    await until('A and B in sync', () => inSync(A, B));
    const down = await statusJson(A);
    expect(down.nodes.find((n) => n.name === 'cm-c')).toMatchObject({ reachable: false });
    expect(down.inSync).toBe(false);
    await start(C);
    await until('C caught up', () => inSync(A, B, C), { logs: [C] });
    const c = await show(C);
    expect(c.storageTimestamp).toBe(second);
    expect(c.documents).toEqual([{ name: 'policy.xml', content: '<policy v="offline-2"/>' }]);
  });

  it('kill -9 during saves: every acknowledged save is there after the restart, and on the other nodes', async () => {
    const K = defineNode('cm-k', '127.0.0.107', { peers: [A] });
    await start(K);
    await until('K joined', () => inSync(A, K));
    let seed = 20261130;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const attempted = new Set<string>();
    const acknowledged: { content: string; stamp: string }[] = [];
    let kills = 0;
    for (let i = 0; i < 8; i++) {
      // one `policy save` through the CLI, and a burst through the control socket to have writes in flight
      const content = `<policy save="${i}" pad="${'x'.repeat(200 * i)}"/>`;
      attempted.add(content);
      const cliSave = save(K, content);
      const burst = (async () => {
        for (let j = 0; j < 40; j++) {
          await new Promise((r) => setTimeout(r, 25));
          const c = `<policy save="${i}.${j}"/>`;
          attempted.add(c);
          try {
            const r = (await controlRequest(controlSocketPath(K.dataDir), {
              command: 'save',
              args: { documents: [{ name: 'policy.xml', content: c }] },
            })) as { storageTimestamp: string };
            acknowledged.push({ content: c, stamp: r.storageTimestamp });
          } catch {
            return;
          }
        }
      })();
      const kill = random() < 0.75;
      const proc = K.proc as ManagedProcess;
      const timer = kill ? setTimeout(() => proc.signal('SIGKILL'), 700 + random() * 900) : undefined;
      const stamp = await cliSave;
      await burst;
      if (kill) {
        clearTimeout(timer);
        proc.signal('SIGKILL');
        expect((await proc.exited).signal).toBe('SIGKILL');
        kills++;
        await start(K);
      }
      if (stamp !== undefined) acknowledged.push({ content, stamp });
      else expect(kill, `save ${i} failed without a kill`).toBe(true);
    }
    expect(kills).toBeGreaterThan(0);
    expect(acknowledged.length).toBeGreaterThan(8);
    await until('K, A, B and C in sync', () => inSync(K, A, B, C), { logs: [K] });
    for (const n of [K, A, B, C]) {
      const store = openStore(join(n.dataDir, 'cm-store.sqlite'));
      let versions: Version[];
      try {
        versions = store.versions('policy');
      } finally {
        store.close();
      }
      // nothing partial: every version checks (its id is recomputed from its contents)
      for (const v of versions) expect(checkVersion(v).ok, `${n.name}: ${v.id}`).toBe(true);
      const fromK = versions.filter((v) => v.origin.name === 'cm-k');
      for (const v of fromK) {
        expect(v.documents).toHaveLength(1);
        expect(attempted.has(v.documents[0]?.content ?? ''), `${n.name}: ${v.documents[0]?.content}`).toBe(
          true,
        );
      }
      const held = new Map(fromK.map((v) => [v.documents[0]?.content, formatHlc(v.stamp)]));
      for (const a of acknowledged) expect(held.get(a.content), `${n.name} has ${a.content}`).toBe(a.stamp);
    }
  });

  it('a partition with saves on both sides resolves by the rule and keeps the loser on both nodes', async () => {
    const P1 = defineNode('cm-p1', '127.0.0.108', { priority: 2 });
    const P2 = defineNode('cm-p2', '127.0.0.109', { priority: 1, peers: [P1] });
    await start(P1);
    await start(P2);
    expect(await save(P1, '<policy v="base"/>')).toMatch(STAMP);
    await until('P1 and P2 in sync', () => inSync(P1, P2));
    await stop(P2);
    await stop(P1);
    // P2 alone (P1 is down): a save
    await start(P2);
    const onP2 = await save(P2, '<policy v="p2 during the partition"/>');
    await stop(P2);
    // P1 alone (P2 is down), later: a save
    await start(P1);
    const onP1 = await save(P1, '<policy v="p1 during the partition"/>');
    expect(onP1 && onP2 && onP1 > onP2).toBe(true);
    const p1Log = log(P1).length;
    await start(P2);
    await until(
      'P1 and P2 converged with the conflict reported',
      async () =>
        (await inSync(P1, P2)) &&
        (await status(P1))?.conflicts.length === 1 &&
        (await status(P2))?.conflicts.length === 1,
      { logs: [P1, P2] },
    );
    // P2's priority (1) beats P1's newer save (priority 2)
    for (const n of [P1, P2]) {
      const shown = await show(n);
      expect(shown.storageTimestamp).toBe(onP2);
      expect(shown.documents).toEqual([
        { name: 'policy.xml', content: '<policy v="p2 during the partition"/>' },
      ]);
      const s = await statusJson(n);
      expect(s.conflicts).toEqual([
        {
          scope: 'policy',
          winner: { id: shown.version, origin: 'cm-p2', storageTimestamp: onP2 },
          loser: { id: expect.stringMatching(/^[0-9a-f]{64}$/), origin: 'cm-p1', storageTimestamp: onP1 },
        },
      ]);
    }
    expect(log(P1).slice(p1Log)).toMatch(
      /\[Conflict\] policy: [0-9a-f]{12} \(cm-p2\) wins over [0-9a-f]{12} \(cm-p1\); the losing version is kept/,
    );
    expect(log(P2)).toMatch(/\[Conflict\] policy: [0-9a-f]{12} \(cm-p2\) wins over [0-9a-f]{12} \(cm-p1\)/);
    const text = await cli('status', '--config', P1.config);
    expect(text.stdout).toMatch(
      /conflicts \(the loser is kept: save it again to restore it\):\n {2}policy: [0-9a-f]{12} \(cm-p2, .*\) won over [0-9a-f]{12} \(cm-p1, .*\)/,
    );
    await Promise.all([stop(P1), stop(P2)]);
  });

  it('add-node: connection refused is the seed 301 line; the added node takes the cluster policy', async () => {
    const refused = await cli('add-node', '--config', A.config, '127.0.0.110:42346');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      "proxyha-cm: co_distribute_add_cluster_node: failure 'errno: 111 - 'Connection refused'' while sending request - last action: connect\n",
    );
    expect(log(A)).toContain(
      `[Coordinator] [NodeRequestFailed] Message '<co_distribute_add_cluster_node>' on node 127.0.0.110:42346 (127.0.0.110:42346) failed with error '(301 - 'cannot connect') - "co_distribute_add_cluster_node: failure 'errno: 111 - 'Connection refused'' while sending request - last action: connect"'`,
    );
    const N = defineNode('cm-n', '127.0.0.111');
    await start(N);
    expect(await save(N, '<policy v="n’s own"/>')).toMatch(STAMP);
    const cluster = await show(A);
    const added = await cli('add-node', '--config', A.config, N.address);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^added cm-n \([0-9a-f-]{36}\)\n$/);
    await until('N has the cluster policy', async () => (await current(N))?.version === cluster.version, {
      logs: [N],
    });
    expect(await show(N)).toEqual(cluster);
    expect(log(N)).toMatch(
      /this node was added to the cluster of cm-a \([0-9a-f-]{36}\): its policy replaces ours/,
    );
    await until('A and N in sync', () => inSync(A, N));
  });

  it('the admin lock: one session in the cluster; it expires when its node dies', async () => {
    const a = await cli('admin', 'attach', '--config', A.config);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe('attached\n');
    const [sa, sb] = [await status(A), await status(B)];
    const refusal = new RegExp(
      `^proxyha-cm: STATUS_ERROR_GUI_ATTACH: could not attach to node ${sb?.self.uuid} \\(cm-b\\) because there is already a session attached at node ${sa?.self.uuid} \\(cm-a\\); please log on to 127\\.0\\.0\\.101:42346\n$`,
    );
    const b = await cli('admin', 'attach', '--config', B.config);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(refusal);
    // while A runs its lease is renewed: still refused after more than the ttl (3 s)
    await new Promise((r) => setTimeout(r, 4000));
    const again = await cli('admin', 'attach', '--config', B.config);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(refusal);
    await stop(A, 'SIGKILL');
    const bLog = log(B).length;
    await until('B attaches', async () => {
      try {
        await controlRequest(controlSocketPath(B.dataDir), { command: 'attach', args: { session: 'probe' } });
        return true;
      } catch (e) {
        expect((e as { code?: string }).code).toBe('CM_GUI_ATTACH');
        return false;
      }
    });
    // B logged the expiry before it answered; its log (stdout) and the answer (the control socket) are
    // two pipes, read in any order
    await until('B logged the expiry', () => /the admin lock of cm-a expired/.test(log(B).slice(bLog)), {
      logs: [B],
    });
    const c = await cli('admin', 'attach', '--config', C.config);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(
      /STATUS_ERROR_GUI_ATTACH: .* already a session attached at node .* \(cm-b\); please log on to 127\.0\.0\.102:42346/,
    );
    expect((await cli('admin', 'detach', '--config', B.config, '--session', 'probe')).stdout).toBe(
      'detached\n',
    );
  });
});

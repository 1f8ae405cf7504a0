// The gateway end to end, as an operator runs it (issue 16, "Real end-to-end test"): three `proxyha run`
// processes in network namespaces on one bridge (raw VRRP, the nftables data plane, central management over
// mutual TLS with a cluster CA made here, the time-skew guard against a chronyd), each with a real proxy on
// port 9090 of its own address (tinyproxy on gw1 and gw2, squid on gw3), an origin web server, and a client
// with 24 source addresses sending proxy requests through VIP:9090 (see cluster-lab.ts).
//
// The story, in order:
//   0. the cluster forms: gw1 (priority 150) directs gw1, gw2, gw3, each healthy with a third of the table;
//      the director's status API lists the three nodes; `proxyha status --json -c FILE` works in a node
//   1. requests reach all three proxies (told by the proxy's Via header, checked against the address the
//      origin saw), each source always the same proxy
//   2. gw1's gateway is SIGKILLed: gw2 (next by priority) takes the VIP and requests succeed again, through
//      gw2 (told by a new connection in gw2's conntrack table), for a client of a surviving proxy and one of
//      gw1's proxy; the times from the signal are printed, not asserted (with nftables the dead gateway's
//      table and VIP stay in gw1's kernel and keep serving until gw2 announces itself); gw1 comes back and
//      directs again
//   3. gw3's squid stops while a long download runs through it: gw3 is drained after `fall` probes, no new
//      connection reaches it, the download completes; squid comes back and so does gw3
//   4. a policy with a blocked domain saved on gw2 with `proxyha policy save DIR` reaches every node and is
//      enforced by all three proxies (tinyproxy reloads on SIGUSR1, squid on -k reconfigure)
//   5. every gateway stops on SIGTERM and leaves no VIP and no table behind
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeNet, Lab } from '@proxyha/testlab';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { GatewayStatus } from '../src/node/types';
import {
  BLOCKED,
  BLOCKLIST,
  type Fetched,
  GATEWAYS,
  GatewayCluster,
  type GatewayName,
  LAB_NODES,
  ORIGIN_PORT,
  PROXY_PORT,
  re,
  SOURCES,
  until,
  VIP,
} from './cluster-lab';

const NAMES = GATEWAYS.map((g) => g.name);
const ok = (f: Fetched) => f.error === undefined && f.status === 200;

/** How many sources each proxy served. */
function counts(served: ReadonlyMap<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of served.values()) out[n] = (out[n] ?? 0) + 1;
  return out;
}

/** `director` nodes of a status as `name:health`, sorted. */
const members = (s: GatewayStatus) =>
  s.director.nodes
    .map((n) => `${n.name}:${n.health}`)
    .sort()
    .join(',');

describeNet('gateway cluster end to end (namespaces, real proxies)', () => {
  let lab: Lab | undefined;
  let cl: GatewayCluster | undefined;
  /** The step that failed: the later ones would only fail on its leftovers. */
  let failed: string | undefined;

  const cluster = (): GatewayCluster => {
    if (!cl) throw new Error('the lab did not start');
    return cl;
  };

  /** A step of the story; a failure carries the end of every gateway's log. */
  const step = (name: string, fn: (c: GatewayCluster) => Promise<void>, timeoutMs: number) =>
    it(
      name,
      async () => {
        if (failed) throw new Error(`not run: an earlier step failed (${failed})`);
        const c = cluster();
        try {
          await fn(c);
        } catch (e) {
          failed = name;
          (e as Error).message += `\n${c.tails()}`;
          throw e;
        }
      },
      timeoutMs,
    );

  /** Waits until `n` directs the three nodes, all healthy with about a third of the table each. */
  async function formed(c: GatewayCluster, n: GatewayName): Promise<GatewayStatus> {
    let last: GatewayStatus | undefined;
    await until(
      `${n} directs gw1, gw2 and gw3, all ok, a third each`,
      async () => {
        last = await c.status(n);
        return (
          last.node.role === 'director' &&
          members(last) === 'gw1:ok,gw2:ok,gw3:ok' &&
          last.director.nodes.every((x) => Math.abs(x.share - 1 / 3) < 0.02)
        );
      },
      60_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nlast status of ${n}: ${JSON.stringify(last?.director.nodes)}`);
    });
    return last as GatewayStatus;
  }

  beforeAll(async () => {
    lab = await Lab.create({ nodes: [...LAB_NODES], ipv6: false });
    try {
      cl = await GatewayCluster.create(lab);
      await formed(cl, 'gw1');
    } catch (e) {
      failed = 'setup';
      if (cl) (e as Error).message += `\n${cl.tails()}`;
      throw e;
    }
  }, 240_000);

  afterAll(async () => {
    const keep = process.env.PROXYHA_TEST_LOGS; // a directory: every gateway's whole log is written there
    if (keep && cl) await cl.writeLogs(keep).catch(() => {});
    await lab?.destroy();
  }, 60_000);

  step(
    '0. the cluster forms; the director lists the three nodes; proxyha status --json works in a node',
    async (c) => {
      const d = await c.status('gw1');
      expect(d.node).toMatchObject({ name: 'gw1', role: 'director', maintenance: false });
      expect(d.vrrp).toMatchObject({ state: 'master', vipOwner: c.ip('gw1'), virtualIps: [`${VIP}/24`] });
      expect(d.director.nodes.map((n) => [n.name, n.address, n.health]).sort()).toEqual(
        NAMES.map((n) => [n, c.ip(n), 'ok']),
      );
      expect(d.director.dataPlane).toBe('nftables');
      expect(d.health.status).toBe('ok');
      // the director's lines, as operators grep for them
      const log = c.gateway('gw1').proc.output();
      expect(log).toMatch(/\(VI_1\) Entering MASTER STATE/);
      expect(log).toMatch(/set lbnetwork 1/);
      // central management over mutual TLS: every node sees the other two; the time-skew guard is ok
      for (const n of NAMES)
        await until(
          `${n}: central management reaches both peers, time ok`,
          async () => {
            const s = await c.status(n);
            return s.cm?.nodes.length === 3 && s.cm.nodes.every((x) => x.reachable) && s.ntp.verdict === 'ok';
          },
          30_000,
        );
      // the CLI inside a scanner's namespace talks to its own node on 127.0.0.1
      const r = await c.cli('gw2', ['status', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout) as GatewayStatus;
      expect(s.node).toMatchObject({ name: 'gw2', role: 'scanner' });
      expect(s.vrrp).toMatchObject({ state: 'backup', vipOwner: c.ip('gw1') });
      expect(s.director.director?.name).toBe('gw1');
      expect(s.cm?.nodes.map((n) => n.name).sort()).toEqual(NAMES);
      const text = await c.cli('gw3', ['status']);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/^node gw3 \(proxyha [^)]+\): scanner/m);
      expect(text.stdout).toMatch(/VRRP: VI_1 on eth0, VRID 51: BACKUP/);
      expect(text.stdout).toContain('current state: ok');
    },
    120_000,
  );

  let first = new Map<string, string>();
  step(
    '1. requests through VIP:9090 reach all three proxies, each source always the same one',
    async (c) => {
      first = await c.served();
      const bad = [...first].filter(([, n]) => !NAMES.includes(n as GatewayName));
      expect(bad, 'requests that no proxy of the cluster served').toEqual([]);
      const spread = counts(first);
      console.log(`spread of ${SOURCES.length} sources: ${JSON.stringify(spread)}`);
      for (const n of NAMES) expect(spread[n] ?? 0, `sources served by ${n}`).toBeGreaterThan(0);
      // the same source lands on the same proxy again, twice
      expect(await c.served()).toEqual(first);
      expect(await c.served()).toEqual(first);
    },
    120_000,
  );

  step(
    '2. SIGKILL of the director: gw2 takes the VIP and requests succeed again; gw1 comes back',
    async (c) => {
      // two clients sending one request after the other: one whose proxy survives (gw2's or gw3's), one
      // whose proxy is gw1's (it keeps running: only the gateway dies)
      const survivor = SOURCES.find((s) => first.get(s) !== 'gw1') as string;
      const ofGw1 = SOURCES.find((s) => first.get(s) === 'gw1') as string;
      const gw1 = c.gateway('gw1');
      const gw2 = c.gateway('gw2');
      const gw3 = c.gateway('gw3');
      const viaGw2 = await c.watchConnections('gw2');
      const pingers = new Map(
        [survivor, ofGw1].map((src) => [src, { proxy: first.get(src), ...c.startPinger(src) }]),
      );
      for (const [src, p] of pingers)
        await until(`${src} gets answers through the VIP`, () => p.results().filter(ok).length >= 3, 20_000);
      const mark2 = gw2.proc.output().length;
      const mark3 = gw3.proc.output().length;
      const killedAt = Date.now();
      gw1.proc.signal('SIGKILL');
      expect((await gw1.proc.exited).signal).toBe('SIGKILL');
      await gw2.proc.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 30_000, mark2);
      const masterSeenAt = Date.now();
      await until('gw2 directs', async () => (await c.status('gw2')).node.role === 'director', 30_000);
      // what the dead gateway left in gw1's kernel (printed with the figures)
      const leftVip = (
        await c.lab.exec('gw1', 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])
      ).stdout.includes(`${VIP}/`);
      const leftTable =
        (await c.lab.exec('gw1', 'nft', ['list', 'table', 'inet', 'proxyha_lb_51'], { allowFailure: true }))
          .code === 0;
      // each client: a request through the new director (a new connection in its kernel while it ran),
      // then five successful ones in a row
      const since = (src: string) => (pingers.get(src)?.results() ?? []).filter((r) => r.t0 >= killedAt);
      const recovered = (src: string) => {
        const rs = since(src);
        const i = rs.findIndex((r) => ok(r) && viaGw2.carried(r));
        return i >= 0 && rs.length >= 5 && rs.slice(-5).every(ok);
      };
      await until(
        'both clients are served through gw2 again',
        () => [...pingers.keys()].every(recovered),
        45_000,
      ).catch((e: Error) => {
        const lines = [...pingers.keys()].map(
          (src) =>
            `${src}:\n${since(src)
              .slice(-40)
              .map((r) => `  ${r.t0 - killedAt}..${r.t1 - killedAt} port ${r.port} ${r.error ?? r.status}`)
              .join('\n')}`,
        );
        throw new Error(
          `${e.message}\nrequests since the signal (ms):\n${lines.join('\n')}\nnew connections in gw2: ${viaGw2.output()}`,
        );
      });
      for (const p of pingers.values()) await p.stop();
      await viaGw2.stop();
      // the figures for the closing note (not assertions): times from the signal, in ms
      const at = (t: number) => `+${t - killedAt} ms`;
      const figures = [
        `failover figures (SIGKILL of the director gw1's gateway at ${new Date(killedAt).toISOString()}; advert interval 1s; each client sends a request every 100 ms, 1 s timeout):`,
        `  gw2 logged "(VI_1) Entering MASTER STATE" (as the test saw it) at ${at(masterSeenAt)}`,
        `  left in gw1's kernel once gw2 directed: the VIP ${leftVip ? 'yes' : 'no'}, the nftables table ${leftTable ? 'yes' : 'no'}`,
      ];
      for (const [src, p] of pingers) {
        const after = since(src);
        const firstOk = after.findIndex(ok);
        const firstViaGw2 = after.findIndex((r) => ok(r) && viaGw2.carried(r));
        const failures = after.filter((r) => !ok(r));
        const oks = after.filter(ok);
        let gap = 0;
        for (let i = 1; i < oks.length; i++)
          gap = Math.max(gap, (oks[i] as Fetched).t1 - (oks[i - 1] as Fetched).t1);
        figures.push(
          `  client ${src} (served by ${p.proxy}'s proxy before):`,
          `    first successful request sent after the signal: answered at ${at((after[firstOk] as Fetched).t1)}`,
          `    failed requests: ${failures.length}${failures.length ? `, sent from ${at((failures[0] as Fetched).t0)} to ${at((failures[failures.length - 1] as Fetched).t0)} (${[...new Set(failures.map((f) => f.error ?? `status ${f.status}`))].join(', ')})` : ''}`,
          `    longest time between two successful answers: ${gap} ms`,
          `    first successful request carried by the new director gw2: answered at ${at((after[firstViaGw2] as Fetched).t1)}`,
          `    (${after.slice(0, firstViaGw2).filter(ok).length} request(s) before it went through the table that gw1's dead gateway left in its kernel)`,
        );
        // the order: failures may happen, then success through the new director, and it lasts
        expect(firstOk, `${src}: a success after the signal`).toBeGreaterThanOrEqual(0);
        expect(firstViaGw2, `${src}: a success through gw2`).toBeGreaterThanOrEqual(firstOk);
        expect(
          after.slice(-5).filter((r) => !ok(r)),
          `${src}: the last requests`,
        ).toEqual([]);
      }
      console.log(figures.join('\n'));
      // the new director is the next by priority: gw2 (100), not gw3 (50)
      const s2 = await c.status('gw2');
      expect(s2.vrrp.state).toBe('master');
      expect(s2.node.role).toBe('director');
      const s3 = await c.status('gw3');
      expect(s3.vrrp.state).toBe('backup');
      expect(s3.vrrp.transitions.filter((t) => t.at >= killedAt && t.to === 'master')).toEqual([]);
      expect(gw3.proc.output().slice(mark3)).not.toMatch(/Entering MASTER STATE/);
      // gw2 drops the dead node after `failAfter` silent intervals: its clients move to gw2 and gw3
      await gw2.proc.waitForOutput(
        new RegExp(`Scanning partner has failed ${re(c.ip('gw1'))}`),
        30_000,
        mark2,
      );
      await until(
        'gw2 lists gw2 and gw3, not gw1',
        async () => members(await c.status('gw2')) === 'gw2:ok,gw3:ok',
        30_000,
      );

      // gw1 comes back (same configuration and data): it preempts (highest priority) and directs again
      // (a client of gw1's proxy keeps sending requests meanwhile: printed, not asserted)
      const back2 = gw2.proc.output().length;
      const vipBeforeRestart = (
        await c.lab.exec('gw1', 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])
      ).stdout.includes(`${VIP}/`);
      const returning = c.startPinger(ofGw1);
      const restartedAt = Date.now();
      c.startGateway('gw1');
      await c.gateway('gw1').proc.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 60_000);
      const masterAgainAt = Date.now();
      await gw2.proc.waitForOutput(/state=backup previous=master/, 30_000, back2);
      await formed(c, 'gw1');
      await until(
        'the client gets five answers in a row',
        () => returning.results().slice(-5).every(ok) && returning.results().length >= 5,
        20_000,
      );
      await returning.stop();
      const rr = returning.results();
      const lost = rr.filter((r) => !ok(r));
      console.log(
        [
          `gw1 restarted at ${new Date(restartedAt).toISOString()} (the VIP still on its eth0: ${vipBeforeRestart ? 'yes' : 'no'}), "(VI_1) Entering MASTER STATE" seen at +${masterAgainAt - restartedAt} ms;`,
          `  client ${ofGw1} sent ${rr.length} requests meanwhile, ${lost.length} failed${lost.length ? ` (sent from +${(lost[0] as Fetched).t0 - restartedAt} ms to +${(lost[lost.length - 1] as Fetched).t0 - restartedAt} ms: ${[...new Set(lost.map((f) => f.error ?? `status ${f.status}`))].join(', ')})` : ''}`,
        ].join('\n'),
      );
      expect((await c.status('gw2')).vrrp.state).toBe('backup');
      // one VIP holder again: gw2 removed it
      const addrs = (await c.lab.exec('gw2', 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout;
      expect(addrs).not.toContain(`${VIP}/`);
      const again = await c.served();
      expect([...again.values()].filter((n) => !NAMES.includes(n as GatewayName))).toEqual([]);
      expect(await c.served()).toEqual(again);
      first = again;
    },
    180_000,
  );

  step(
    '3. a stopped proxy: its node is drained after `fall` probes, gets no new connection, and a long download through it completes',
    async (c) => {
      const d = c.gateway('gw1');
      const gw3 = c.gateway('gw3');
      const viaGw3 = SOURCES.find((s) => first.get(s) === 'gw3');
      if (!viaGw3) throw new Error(`no source is served by gw3: ${JSON.stringify(counts(first))}`);
      const syns = await c.countSyns('gw3');
      const download = await c.startTransfer(viaGw3);
      expect([download.node, download.who]).toEqual(['gw3', 'gw3']);
      // the counter sees connections: the download's own
      expect(await syns(), 'connection attempts counted on gw3:9090').toBeGreaterThanOrEqual(1);
      const mark = d.proc.output().length;
      const mark3 = gw3.proc.output().length;
      const squid = c.proxy('gw3').proc;
      squid.signal('SIGTERM'); // squid stops listening at once; open transfers go on
      await gw3.proc.waitForOutput(/current state: failure/, 30_000, mark3);
      await d.proc.waitForOutput(
        new RegExp(`Scanning partner ${re(c.ip('gw3'))} \\(gw3\\) is draining: current state: failure`),
        30_000,
        mark,
      );
      await until(
        'gw1 shows gw3 failing with no share',
        async () =>
          (await c.status('gw1')).director.nodes.some(
            (n) => n.name === 'gw3' && n.health === 'failure' && n.share === 0,
          ),
        30_000,
      );
      const s3 = await c.status('gw3');
      expect(s3.health.status).toBe('failure');
      expect(s3.health.ports).toEqual([expect.objectContaining({ port: PROXY_PORT, status: 'failure' })]);
      // from now on no new connection reaches gw3: every source is served by gw1 or gw2
      const before = await syns();
      const drained = await c.served();
      expect(new Set(drained.values())).toEqual(new Set(['gw1', 'gw2']));
      for (const [s, n] of first) if (n !== 'gw3') expect(drained.get(s), `source ${s}`).toBe(n);
      expect(await syns(), 'connection attempts that reached gw3:9090 while drained').toBe(before);
      // the download that was already running through gw3 goes on and completes
      expect(download.running(), 'the download through gw3 is still open').toBe(true);
      expect(await download.release()).toBe('released');
      expect(await download.result()).toMatch(/^done \d+ complete$/);

      // squid comes back: gw3 takes new clients again
      await squid.kill('SIGTERM', 5_000);
      const back = d.proc.output().length;
      await c.startProxy('gw3');
      await until(
        'gw1 shows gw3 ok with its share',
        async () =>
          (await c.status('gw1')).director.nodes.some(
            (n) => n.name === 'gw3' && n.health === 'ok' && n.share > 0.3,
          ),
        30_000,
      );
      expect(d.proc.output().slice(back)).toMatch(
        new RegExp(`Scanning partner ${re(c.ip('gw3'))} \\(gw3\\)`),
      );
      first = await c.served();
      expect(counts(first).gw3 ?? 0).toBeGreaterThan(0);
    },
    180_000,
  );

  step(
    '4. a policy saved on gw2 (a blocked domain) is enforced by all three proxies',
    async (c) => {
      const blockedUrl = `http://${BLOCKED}:${ORIGIN_PORT}/who`;
      // before: the domain is served like any other (it is the origin)
      const open = await c.fetchAll(blockedUrl);
      expect(open.filter((f) => !ok(f))).toEqual([]);
      const src = join(c.dir, 'policy-src');
      await mkdir(src, { recursive: true });
      await writeFile(join(src, BLOCKLIST), `${BLOCKED}\n`);
      const marks = new Map(NAMES.map((n) => [n, c.gateway(n).proc.output().length]));
      const r = await c.cli('gw2', ['policy', 'save', src, '-m', `block ${BLOCKED}`]);
      expect(r.code, r.stderr).toBe(0);
      const version = /saved 1 document \(\d+ bytes\) as version (\S+)/.exec(r.stdout)?.[1];
      if (!version) throw new Error(`unexpected output of proxyha policy save: ${r.stdout}`);
      // every node writes it to its policy directory and runs its apply command (reloads its proxy)
      for (const n of NAMES) {
        await c
          .gateway(n)
          .proc.waitForOutput(
            new RegExp(`policy ${re(version.slice(0, 12))}\\S* applied`),
            30_000,
            marks.get(n),
          );
        expect(await readFile(join(c.gateway(n).policyDir, BLOCKLIST), 'utf8')).toBe(`${BLOCKED}\n`);
      }
      // a request for the domain is refused by whichever proxy serves it
      let refused: Fetched[] = [];
      await until(
        'every proxy refuses the blocked domain',
        async () => {
          refused = await c.fetchAll(blockedUrl);
          return refused.every((f) => f.status === 403);
        },
        30_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${JSON.stringify(refused.filter((f) => f.status !== 403))}`);
      });
      const servedBy = new Map<string, number>();
      for (const f of refused) {
        const n = first.get(f.src) as GatewayName;
        servedBy.set(n, (servedBy.get(n) ?? 0) + 1);
        if (c.proxy(n).kind === 'squid') {
          expect(f.squidError, `${f.src} (squid on ${n})`).toMatch(/^ERR_ACCESS_DENIED/);
          expect(f.via).toMatch(new RegExp(`^1\\.1 ${n} \\(squid/`));
        } else expect(f.reason, `${f.src} (tinyproxy on ${n})`).toBe('Filtered');
      }
      expect([...servedBy.keys()].sort()).toEqual(NAMES);
      // each proxy says so in its own log
      for (const n of ['gw1', 'gw2'] as const)
        expect(c.proxy(n).proc.output()).toContain(`Proxying refused on filtered domain "${BLOCKED}"`);
      expect(await c.accessLog('gw3')).toMatch(new RegExp(`TCP_DENIED/403 \\d+ GET ${re(blockedUrl)}`));
      // everything else still goes through, to the same proxies
      expect(await c.served()).toEqual(first);
      // the cluster agrees on the version: the director shows it, saved on gw2
      const policy = await c.api<{ policy: { id: string; origin: string } | null }>('gw1', '/api/v1/policy');
      expect(policy.policy).toMatchObject({ id: version, origin: 'gw2' });
      for (const n of NAMES)
        await until(
          `${n}: central management in sync`,
          async () => (await c.status(n)).cm?.inSync === true,
          30_000,
        );
    },
    120_000,
  );

  step(
    '5. every gateway stops on SIGTERM and leaves no VIP and no table behind',
    async (c) => {
      const exits = await Promise.all(NAMES.map((n) => c.gateway(n).proc.kill('SIGTERM', 20_000)));
      expect(exits).toEqual(NAMES.map(() => ({ code: 0, signal: null })));
      for (const n of NAMES) {
        expect(c.gateway(n).proc.output()).toMatch(/Stopped/);
        const ruleset = (await c.lab.exec(n, 'nft', ['list', 'ruleset'])).stdout;
        expect(ruleset, `nft ruleset of ${n}`).not.toContain('proxyha');
        const addrs = (await c.lab.exec(n, 'ip', ['-4', '-o', 'addr', 'show'])).stdout;
        expect(addrs, `addresses of ${n}`).not.toContain(`${VIP}/`);
      }
    },
    60_000,
  );
});

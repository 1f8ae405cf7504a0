#!/usr/bin/env node
// End-to-end failover seen by a client: three gateway nodes (proxyha) against keepalived + HAProxy doing the
// same job (lab.mjs), side by side in one testlab lab, run by run in turn.
//
// Namespaces on one bridge: a, b, c (cluster nodes: a priority 150 directs, b 100 takes over, c 50; tinyproxy
// on ADDRESS:3128 each), o (origin web server, chronyd), cl (the client, 12 source addresses). The client
// (client.mjs) sends `GET http://o:8080/` through the proxy at VIP:9090 every 10 ms, from its sources in
// turn, each on a fresh connection (connect timeout 50 ms, 1 s in all). Each run starts the stack afresh
// on a, b, c, waits until a directs three healthy proxies and the client's last 100 requests succeeded,
// waits a random 1–2 advert intervals (the signal falls anywhere in the advert phase), then, by event:
//   SIGKILL  the master's daemon(s) die (proxyha: the gateway process of a; baseline: keepalived's process
//            group and HAProxy of a); the kernel of a keeps the VIP, and for proxyha the nftables table
//   SIGTERM  the same processes get SIGTERM: planned handover
//   crash    every frame from and to a is dropped at the bridge, then the daemons are SIGKILLed: a dead host
// and follows the client until b is master and 2 s of requests after the last failed one succeeded. Per
// run, from the signal (same clock as the client's stamps):
//   restored  the end of the first successful request started after the last failed one: every client is
//             served again (0 when no request failed)
//   outage    from the start of the first failed request to `restored`
//   clients   client addresses with a failed request, and the median client's outage
//   failed    failed requests (by reason), the first and last failure's start, the first success started
//             after the signal
//   and, as diagnostics: a's priority-0 advert and b's first advert on the wire (tcpdump on the bridge), when
//   a's process exited, when b's "(VI_1) Entering MASTER STATE" (proxyha: and `set lbnetwork 1`) line
//   reached the bench, and how many new connections b's director took (proof that the client moved to b).
// --json FILE keeps every run with its whole client timeline.
//
// Needs root. Build first: TURBO_TELEMETRY_DISABLED=1 pnpm exec turbo run build --filter @proxyha/gateway...
// Usage (from apps/gateway): node bench/failover.mjs [--runs 5] [--intervals 1s,100ms]
//   [--events SIGKILL,SIGTERM,crash] [--impls proxyha,proxyha-preload,baseline,baseline-fast] [--gap 10]
//   [--connect-timeout 50] [--json FILE]
//   impls: proxyha; proxyha-preload (the gateway with `ha.handover: { keepLoaded: true }`: the director's
//   table is loaded on the backups too); baseline (HAProxy checks every 1 s); baseline-fast (HAProxy checks
//   at the advert interval, as the gateway's director expects a report per interval; run below 1 s only)
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '@proxyha/common';
import { withLab } from '@proxyha/testlab';
import {
  CLI,
  HERE,
  load,
  median,
  now,
  ORIGIN_PORT,
  setupShared,
  sleep,
  startStack,
  stopStack,
  until,
  VIP,
  VIP_PORT,
  waitSteady,
} from './lab.mjs';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    intervals: { type: 'string', default: '1s,100ms' },
    events: { type: 'string', default: 'SIGKILL,SIGTERM,crash' },
    impls: { type: 'string', default: 'proxyha,proxyha-preload,baseline,baseline-fast' },
    gap: { type: 'string', default: '10' },
    'connect-timeout': { type: 'string', default: '50' },
    json: { type: 'string' },
  },
});
const CLIENT = join(HERE, 'client.mjs');
const SOURCES = Array.from({ length: 12 }, (_, i) => `192.168.77.${101 + i}`);
const list = (s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const toMs = (s) => {
  const v = parseDuration(s, { min: 1 });
  if (!v.ok) throw new Error(v.error);
  return v.value;
};
const log = (...a) => console.log(...a);
const f1 = (x) => (x === null || Number.isNaN(x) ? '-' : x.toFixed(1));
const f0 = (x) => (x === null || Number.isNaN(x) ? '-' : x.toFixed(0));
const results = [];

/** The client's request lines: { start, end, ok, source, reason }. */
function requests(client) {
  return [...client.stdout().matchAll(/^r (\S+) (\S+) ([01]) (\S+) (\S+)$/gm)].map((m) => ({
    start: Number(m[1]),
    end: Number(m[2]),
    ok: m[3] === '1',
    source: m[4],
    reason: m[5],
  }));
}

/** True when the last `n` requests (by start) all succeeded. */
function lastOk(client, n) {
  const rs = requests(client).sort((x, y) => x.start - y.start);
  return rs.length >= n && rs.slice(-n).every((r) => r.ok);
}

/** The metrics of one run from the client's requests, relative to the signal at `t0`. */
function analyse(rs, t0) {
  const after = rs.filter((r) => r.end > t0).sort((x, y) => x.start - y.start);
  const failed = after.filter((r) => !r.ok);
  const reasons = {};
  for (const r of failed) reasons[r.reason] = (reasons[r.reason] ?? 0) + 1;
  const firstOkAfter = after.find((r) => r.ok && r.start >= t0);
  const noise = rs.filter((r) => !r.ok && r.end <= t0 && r.end > t0 - 1000).length;
  // per client address: from its first failed request to its first success started after its last one
  const outages = [];
  for (const source of new Set(after.map((r) => r.source))) {
    const mine = after.filter((r) => r.source === source);
    const bad = mine.filter((r) => !r.ok);
    if (bad.length === 0) continue;
    const back = mine
      .filter((r) => r.ok && r.start > bad.at(-1).start)
      .reduce((m, r) => Math.min(m, r.end), Number.POSITIVE_INFINITY);
    outages.push(back - Math.max(t0, bad[0].start));
  }
  const clients = new Set(after.map((r) => r.source)).size;
  const perClient = [...outages, ...Array(Math.max(0, clients - outages.length)).fill(0)];
  const clientStats = {
    clientsAffected: outages.length,
    clients,
    clientOutageMedianMs: median(perClient),
  };
  if (failed.length === 0)
    return {
      ...clientStats,
      restoredMs: 0,
      outageMs: 0,
      failed: 0,
      reasons,
      firstFailMs: null,
      lastFailMs: null,
      firstOkMs: firstOkAfter ? firstOkAfter.end - t0 : null,
      noise,
    };
  const lastFail = failed.at(-1);
  const restored = after
    .filter((r) => r.ok && r.start > lastFail.start)
    .reduce((m, r) => Math.min(m, r.end), Number.POSITIVE_INFINITY);
  return {
    ...clientStats,
    restoredMs: restored - t0,
    outageMs: restored - failed[0].start,
    failed: failed.length,
    reasons,
    firstFailMs: failed[0].start - t0,
    lastFailMs: lastFail.start - t0,
    firstOkMs: firstOkAfter ? firstOkAfter.end - t0 : null,
    noise,
  };
}

/**
 * New connections the node of `stack` took as the director since it started (proxyha: the packets of its
 * nftables DNAT rule, one per new connection; HAProxy: its frontend's sessions): proves that the client's
 * requests moved to the new master.
 */
async function connectionsVia(lab, stack) {
  if (stack.kind === 'proxyha') {
    const r = await lab.exec(stack.node, 'nft', ['list', 'chain', 'inet', 'proxyha_lb_51', 'prerouting'], {
      allowFailure: true,
    });
    const line = r.stdout.split('\n').find((l) => l.includes('proxyha dnat'));
    return Number(line?.match(/counter packets (\d+)/)?.[1] ?? 0);
  }
  const r = await lab.exec(stack.node, 'socat', ['-', `UNIX-CONNECT:${stack.socket}`], {
    input: 'show stat\n',
    timeoutMs: 5_000,
  });
  const row = r.stdout.split('\n').find((l) => l.startsWith('proxies,FRONTEND,'));
  return Number(row?.split(',')[7] ?? 0);
}

/**
 * From the capture of the bridge: ms after `t0` of a's first priority-0 advert and of b's first advert
 * (tcpdump's time stamps: the same wall clock as `t0`, to the microsecond); null when absent.
 */
async function wireAdverts(lab, wire, t0) {
  await wire.stop();
  const r = await lab.exec(null, 'tcpdump', ['-tt', '-n', '-r', wire.file], { allowFailure: true });
  const ipA = lab.node('a').ipv4;
  const ipB = lab.node('b').ipv4;
  let aPriority0Ms = null;
  let bAdvertMs = null;
  for (const line of r.stdout.split('\n')) {
    const m = line.match(/^(\d+\.\d+) IP (\S+) > \S+ VRRPv3, Advertisement, vrid \d+, prio (\d+)/);
    if (!m) continue;
    const at = Number(m[1]) * 1000 - t0;
    if (at < 0) continue;
    if (m[2] === ipA && m[3] === '0' && aPriority0Ms === null) aPriority0Ms = at;
    if (m[2] === ipB && bAdvertMs === null) bAdvertMs = at;
  }
  return { aPriority0Ms, bAdvertMs };
}

/** One run: start the stack, steady state, signal a, follow the client until it is served again. */
async function measure(lab, shared, impl, intervalMs, event) {
  const stacks = await startStack(lab, impl.startsWith('baseline') ? 'baseline' : 'proxyha', {
    intervalMs,
    ...(impl === 'baseline-fast' ? { checkMs: intervalMs } : {}),
    ntp: shared.ntp,
    ca: shared.ca,
    ...(impl === 'proxyha-preload' ? { extraHa: '  handover: { keepLoaded: true }\n' } : {}),
  });
  let client;
  let cut;
  let wire;
  try {
    await waitSteady(lab, impl.startsWith('baseline') ? 'baseline' : 'proxyha', stacks);
    // the adverts on the bridge: when b's first one goes out (and a's priority 0 on SIGTERM)
    wire = await lab.capture('bridge', 'vrrp');
    client = lab.spawn(
      'cl',
      process.execPath,
      [
        CLIENT,
        JSON.stringify({
          vip: VIP,
          port: VIP_PORT,
          origin: `http://${lab.node('o').ipv4}:${ORIGIN_PORT}/`,
          sources: SOURCES,
          gapMs: Number(opt.gap),
          connectTimeoutMs: Number(opt['connect-timeout']),
          timeoutMs: 1000,
        }),
      ],
      { name: 'client' },
    );
    await until('the client is served', () => lastOk(client, 100), 30_000, 100);
    // the signal falls anywhere in the advert phase; the client must still be served just before it
    for (let attempt = 0; ; attempt++) {
      await sleep(intervalMs * (1 + Math.random()) + 50);
      if (lastOk(client, 50)) break;
      if (attempt > 20) throw new Error(`${impl}: the client is not served steadily before the signal`);
    }
    const [a, b] = stacks;
    const bLog = b.kind === 'proxyha' ? b.proc : b.keepalived;
    const mark = bLog.output().length;
    const loadAt = load();
    // crash: the host's network dies (every frame from and to a is dropped at the bridge), then the daemons
    if (event === 'crash') cut = await lab.drop({ from: 'a', both: true });
    const t0 = now();
    const signal = event === 'crash' ? 'SIGKILL' : event;
    // when the old master's (first) daemon process has exited: its shutdown, on SIGTERM
    let aExitMs = null;
    void a.procs[0].exited.then(() => {
      aExitMs = now() - t0;
    });
    if (a.kind === 'proxyha') a.proc.signal(signal);
    else {
      a.keepalived.signal(signal);
      a.haproxy.signal(signal);
    }
    await bLog.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 8 * intervalMs + 20_000, mark);
    const masterMs = now() - t0;
    let directorMs = null;
    if (b.kind === 'proxyha') {
      await b.proc.waitForOutput(/set lbnetwork 1/, 20_000, mark);
      directorMs = now() - t0;
    }
    // served again: 2 s of requests (200) after b took over and after the last failure, all successful
    const tMaster = t0 + Math.max(masterMs, directorMs ?? 0);
    await until(
      `${impl}: the client is served again`,
      () => {
        const rs = requests(client).filter((r) => r.end > t0);
        const lastFail = rs.filter((r) => !r.ok).reduce((m, r) => Math.max(m, r.start), tMaster);
        return rs.filter((r) => r.start > lastFail && r.ok).length >= 200 && lastOk(client, 200);
      },
      30_000,
      100,
    );
    await client.kill('SIGTERM');
    const viaB = await connectionsVia(lab, b);
    const adverts = await wireAdverts(lab, wire, t0);
    const r = {
      impl,
      intervalMs,
      event,
      load: loadAt,
      masterMs,
      directorMs,
      viaB,
      ...adverts,
      aExitMs,
      ...analyse(requests(client), t0),
      // every request that ended after the signal (--json only): start, end relative to it, ok, source, reason
      ...(opt.json
        ? {
            timeline: requests(client)
              .filter((q) => q.end > t0)
              .map((q) => [
                +(q.start - t0).toFixed(1),
                +(q.end - t0).toFixed(1),
                q.ok ? 1 : 0,
                q.source,
                q.reason,
              ]),
          }
        : {}),
    };
    log(
      `  ${impl} ${intervalMs} ms ${event}: restored ${f1(r.restoredMs)} ms, outage ${f1(r.outageMs)} ms, clients affected ${r.clientsAffected}/${r.clients} (median client outage ${f1(r.clientOutageMedianMs)} ms), ${r.failed} failed ${JSON.stringify(r.reasons)}, first failure ${f1(r.firstFailMs)}, last ${f1(r.lastFailMs)}, first success started after the signal ${f1(r.firstOkMs)}, ${viaB} connection(s) through b, a priority 0 on the wire ${f1(adverts.aPriority0Ms)}, b's first advert ${f1(adverts.bAdvertMs)}, a exited ${f1(aExitMs)}, b MASTER line ${f1(masterMs)}${directorMs === null ? '' : `, set lbnetwork 1 ${f1(directorMs)}`} (load ${loadAt})`,
    );
    return r;
  } finally {
    await client?.kill('SIGTERM');
    await wire?.stop();
    await cut?.remove();
    await stopStack(lab, stacks);
  }
}

const started = new Date();
const intervals = list(opt.intervals).map(toMs);
const impls = list(opt.impls);
const events = list(opt.events);
log(`failover bench ${started.toISOString()}, load ${load()}, gateway ${CLI}`);
await withLab({ nodes: ['a', 'b', 'c', 'o', 'cl'], ipv6: false, timeoutMs: 6 * 3600_000 }, async (lab) => {
  for (const s of SOURCES) await lab.exec('cl', 'ip', ['addr', 'add', `${s}/24`, 'dev', 'eth0']);
  const shared = await setupShared(lab);
  for (const intervalMs of intervals)
    for (const event of events)
      for (let run = 0; run < Number(opt.runs); run++)
        for (const impl of run % 2 ? [...impls].reverse() : impls)
          if (impl !== 'baseline-fast' || intervalMs < 1000)
            results.push(await measure(lab, shared, impl, intervalMs, event));
});

// ---- report ---------------------------------------------------------------------------------------------

const NAMES = {
  proxyha: 'proxyha gateway',
  'proxyha-preload': 'proxyha gateway, keepLoaded',
  baseline: 'keepalived + HAProxy',
  'baseline-fast': 'keepalived + HAProxy, checks at the advert interval',
};
const fmtInterval = (ms) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);
log(
  `\n${results.length} runs, ${started.toISOString()} to ${new Date().toISOString()}, load now ${load()}\n`,
);
log(
  '| stack | adverts | event | runs | restored: median ms | min | max | outage median ms | clients affected (median of 12) | client outage median ms | failed requests (median) | failure reasons (all runs) | first success started after the signal (median ms) | first advert of b (median ms) | b MASTER line (median ms) |',
);
log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
const med = {};
for (const intervalMs of intervals)
  for (const event of events)
    for (const impl of impls) {
      const rs = results.filter((r) => r.impl === impl && r.intervalMs === intervalMs && r.event === event);
      if (rs.length === 0) continue;
      const restored = rs.map((r) => r.restoredMs);
      const reasons = {};
      for (const r of rs) for (const [k, v] of Object.entries(r.reasons)) reasons[k] = (reasons[k] ?? 0) + v;
      med[`${impl}:${intervalMs}:${event}`] = median(restored);
      log(
        `| ${NAMES[impl] ?? impl} | ${fmtInterval(intervalMs)} | ${event} | ${rs.length} | ${f0(median(restored))} | ${f0(Math.min(...restored))} | ${f0(Math.max(...restored))} | ${f0(median(rs.map((r) => r.outageMs)))} | ${median(rs.map((r) => r.clientsAffected))} | ${f0(median(rs.map((r) => r.clientOutageMedianMs)))} | ${median(rs.map((r) => r.failed))} | ${Object.entries(
          reasons,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(
            ', ',
          )} | ${f0(median(rs.map((r) => r.firstOkMs ?? Number.NaN)))} | ${f0(median(rs.map((r) => r.bAdvertMs ?? Number.NaN)))} | ${f0(median(rs.map((r) => r.masterMs)))} |`,
      );
    }
// ratios: every proxyha variant against every baseline variant, on the `restored` medians
const ours = impls.filter((i) => !i.startsWith('baseline'));
const theirs = impls.filter((i) => i.startsWith('baseline'));
const pairs = ours.flatMap((p) => theirs.map((b) => [p, b]));
if (pairs.length) {
  log(
    `\n| adverts | event | ${impls.map((i) => `${NAMES[i] ?? i}: restored median ms`).join(' | ')} | ${pairs.map(([p, b]) => `ratio ${p} / ${b}`).join(' | ')} |`,
  );
  log(`|---|---|${impls.map(() => '---|').join('')}${pairs.map(() => '---|').join('')}`);
  const ratio = (p, b) =>
    p === undefined || b === undefined ? '-' : b === 0 ? 'n/a' : `**${(p / b).toFixed(2)}**`;
  for (const intervalMs of intervals)
    for (const event of events) {
      const m = (i) => med[`${i}:${intervalMs}:${event}`];
      log(
        `| ${fmtInterval(intervalMs)} | ${event} | ${impls.map((i) => (m(i) === undefined ? '-' : f0(m(i)))).join(' | ')} | ${pairs.map(([p, b]) => ratio(m(p), m(b))).join(' | ')} |`,
      );
    }
}
if (opt.json) await writeFile(opt.json, JSON.stringify({ started, options: opt, results }, null, 2));

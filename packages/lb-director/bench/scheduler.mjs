// The scheduler's table against what a user would pick instead, computed from the published algorithms
// (own implementations, written from the HAProxy and IPVS sources/documentation):
//  - HAProxy `balance source` + `hash-type consistent` (lb_chash.c): each server puts weight x 16 points
//    on a 32-bit ring, point keys full_hash(puid * 4096 + n); a client's key is full_hash(sdbm(address
//    bytes)); its server owns the next point clockwise.
//  - IPVS `mh` (ip_vs_mh.c, Maglev): table 65521, a permutation per server (offset, skip), each server
//    claims `weight / gcd` entries per round.
//  - IPVS `sh` (ip_vs_sh.c): 256 buckets filled in order, each server repeated `weight` times.
// Shares are exact (bucket counts, ring arc lengths); disruption compares the tables (rings: 200k keys).
// Run: pnpm --filter @proxyha/lb-director build && node packages/lb-director/bench/scheduler.mjs
import { performance } from 'node:perf_hooks';
import { createScheduler, NO_OWNER } from '../dist/index.js';

const SIZES = [2, 4, 8, 16, 64];
const ids = (n) =>
  Array.from(
    { length: n },
    (_, i) => `7f3c${((i * 2654435761) >>> 0).toString(16).padStart(8, '0')}-node-${i}`,
  );
const nodesOf = (list, caps) =>
  list.map((id, i) => ({ id, capacity: caps ? caps[i] : 1, healthy: true, activeConnections: 0 }));
const sortedIds = (n) => [...ids(n)].sort();

// ---- ours
function ours(list, weights) {
  const s = createScheduler({ smoothingHalfLifeMs: 0 });
  s.update(0, nodesOf(list, weights));
  const t = s.table;
  return {
    size: t.size,
    owner: (b) => (t.owners[b] === NO_OWNER ? undefined : t.nodes[t.owners[b]]),
    table: t,
  };
}

// ---- helpers
function fnv(text, basis) {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}
const gcd = (a, b) => (b === 0 ? a : gcd(b, a % b));

// ---- IPVS mh
function ipvsMh(list, weights, M = 65521) {
  const n = list.length;
  const w = weights ?? list.map(() => 1);
  const g = w.reduce((a, b) => gcd(a, b));
  const turns = w.map((x) => x / g);
  const owners = new Int32Array(M).fill(-1);
  const off = list.map((id) => fnv(id, 0x811c9dc5) % M);
  const skip = list.map((id) => (fnv(id, 0x9747b28c) % (M - 1)) + 1);
  const next = new Array(n).fill(0);
  let filled = 0;
  outer: for (;;) {
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < turns[i]; t++) {
        let c = (off[i] + next[i] * skip[i]) % M;
        while (owners[c] >= 0) {
          next[i]++;
          c = (off[i] + next[i] * skip[i]) % M;
        }
        owners[c] = i;
        next[i]++;
        if (++filled === M) break outer;
      }
    }
  }
  return { size: M, owner: (b) => list[owners[b]] };
}

// ---- IPVS sh
function ipvsSh(list, weights) {
  const w = weights ?? list.map(() => 1);
  const owners = new Int32Array(256);
  let d = 0;
  let used = 0;
  for (let b = 0; b < 256; b++) {
    owners[b] = d;
    if (++used >= w[d]) {
      used = 0;
      d = (d + 1) % list.length;
    }
  }
  return { size: 256, owner: (b) => list[owners[b]] };
}

// ---- HAProxy consistent hash ring
function fullHash(a0) {
  let a = a0 >>> 0;
  a = (a + 0x7ed55d16 + (a << 12)) >>> 0;
  a = (a ^ 0xc761c23c ^ (a >>> 19)) >>> 0;
  a = (a + 0x165667b1 + (a << 5)) >>> 0;
  a = ((a + 0xd3a2646c) ^ (a << 9)) >>> 0;
  a = (a + 0xfd7046c5 + (a << 3)) >>> 0;
  a = (a ^ 0xb55a4f09 ^ (a >>> 16)) >>> 0;
  return a;
}
function haproxyRing(list, weights, puids) {
  const w = weights ?? list.map(() => 1);
  const pts = [];
  list.forEach((_id, i) => {
    const puid = puids
      ? puids[i]
      : i + 1; /* the server's id: 1.. in declaration order, kept when others go */
    for (let k = 0; k < w[i] * 16; k++) pts.push([fullHash(puid * 4096 + k), i]);
  });
  pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const keys = Uint32Array.from(pts, (p) => p[0]);
  const srv = Int32Array.from(pts, (p) => p[1]);
  const lookupHash = (h) => {
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (keys[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    return srv[lo === keys.length ? 0 : lo];
  };
  const share = new Array(list.length).fill(0);
  for (let p = 0; p < keys.length; p++) {
    const prev = p === 0 ? keys[keys.length - 1] - 2 ** 32 : keys[p - 1];
    share[srv[p]] += (keys[p] - prev) / 2 ** 32;
  }
  return { share, lookupHash, list };
}
function sdbm4(x) {
  let h = 0;
  for (let s = 24; s >= 0; s -= 8) h = (((x >>> s) & 0xff) + (h << 6) + (h << 16) - h) >>> 0;
  return h;
}

// ---- metrics
function tableShares(t, list) {
  const c = new Map(list.map((id) => [id, 0]));
  for (let b = 0; b < t.size; b++) c.set(t.owner(b), c.get(t.owner(b)) + 1);
  return list.map((id) => c.get(id) / t.size);
}
const spread = (shares) => Math.max(...shares) * shares.length;
const weightError = (shares, w) => {
  const tot = w.reduce((a, b) => a + b, 0);
  return Math.max(...shares.map((s, i) => Math.abs(s - w[i] / tot) / (w[i] / tot)));
};
function tableExtra(build, n) {
  const list = sortedIds(n);
  const a = build(list);
  let worst = 0;
  const ks = n <= 16 ? [...Array(n).keys()] : [0, 7, 21, 33, 50, 63];
  for (const k of ks) {
    const victim = list[k];
    const b = build(list.filter((_, i) => i !== k));
    let extra = 0;
    for (let x = 0; x < a.size; x++) if (a.owner(x) !== victim && a.owner(x) !== b.owner(x)) extra++;
    worst = Math.max(worst, extra / a.size);
  }
  return worst;
}
function ringExtra(n) {
  const list = sortedIds(n);
  const a = haproxyRing(list);
  let worst = 0;
  for (const k of n <= 16 ? [...Array(n).keys()] : [0, 7, 21, 33, 50, 63]) {
    const rest = list.filter((_, i) => i !== k);
    const b = haproxyRing(
      rest,
      undefined,
      list.map((_, i) => i + 1).filter((_, i) => i !== k),
    );
    let extra = 0;
    const K = 200_000;
    for (let j = 0; j < K; j++) {
      const h = fullHash(sdbm4((j * 2654435761) >>> 0));
      const before = list[a.lookupHash(h)];
      if (before !== list[k] && before !== rest[b.lookupHash(h)]) extra++;
    }
    worst = Math.max(worst, extra / K);
  }
  return worst;
}
function timeBuild(fn, reps = 20) {
  for (let i = 0; i < 3; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (performance.now() - t0) / reps;
}

const fmt = (x, d = 4) => x.toFixed(d);
const pct = (x) => `${(x * 100).toFixed(2)} %`;
const rows = [];
const row = (...cells) => rows.push(`| ${cells.join(' | ')} |`);

console.log('# Scheduler table vs HAProxy consistent / IPVS mh / IPVS sh\n');
row('metric', 'nodes', 'proxyha', 'haproxy consistent', 'ipvs mh', 'ipvs sh', 'target');
row('---', '---', '---', '---', '---', '---', '---');
for (const n of SIZES) {
  const list = sortedIds(n);
  const o = spread(tableShares(ours(list), list));
  const h = spread(haproxyRing(list).share);
  const m = spread(tableShares(ipvsMh(list), list));
  const s = spread(tableShares(ipvsSh(list), list));
  row('equal-weight spread max/avg', n, fmt(o), fmt(h), fmt(m), fmt(s), '<= 1.01');
}
for (const n of SIZES) {
  const list = sortedIds(n);
  const w = list.map((_, i) => 1 + (i % 5));
  const o = weightError(tableShares(ours(list, w), list), w);
  const h = weightError(haproxyRing(list, w).share, w);
  const m = weightError(tableShares(ipvsMh(list, w), list), w);
  const s = weightError(tableShares(ipvsSh(list, w), list), w);
  row('weights 1..5: max relative error', n, pct(o), pct(h), pct(m), pct(s), '<= 1 %');
}
for (const n of SIZES) {
  const o = tableExtra((l) => ours(l), n);
  const h = ringExtra(n);
  const m = tableExtra((l) => ipvsMh(l), n);
  const s = tableExtra((l) => ipvsSh(l), n);
  row('one node fails: extra moved (worst)', n, pct(o), pct(h), pct(m), pct(s), '<= 1 %');
}
const buildTimes = {};
for (const n of [16, 64]) {
  const list = sortedIds(n);
  const nodes = nodesOf(list);
  const o = timeBuild(() => createScheduler().update(0, nodes));
  const h = timeBuild(() => haproxyRing(list));
  const m = timeBuild(() => ipvsMh(list), 5);
  const s = timeBuild(() => ipvsSh(list));
  buildTimes[n] = { o, h, m, s };
  row('table build ms', n, fmt(o, 2), fmt(h, 2), fmt(m, 2), fmt(s, 3), n === 16 ? '<= 2 ms' : '');
}
{
  const list = sortedIds(16);
  const s = createScheduler();
  s.update(0, nodesOf(list));
  const ring = haproxyRing(list);
  const L = 20_000_000;
  let sink = 0;
  const rate = (fn) => {
    fn(1_000_000);
    let best = 0;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      fn(L);
      best = Math.max(best, L / ((performance.now() - t0) / 1000));
    }
    return best;
  };
  const o = rate((k) => {
    for (let i = 0; i < k; i++) if (s.lookupIpv4((i * 2654435761) >>> 0) !== undefined) sink++;
  });
  const h = rate((k) => {
    for (let i = 0; i < k; i++) sink += ring.lookupHash(fullHash(sdbm4((i * 2654435761) >>> 0)));
  });
  const text =
    rate((k) => {
      for (let i = 0; i < k / 10; i++)
        if (s.lookup(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)) sink++;
    }) / 10;
  row(
    'IPv4 lookups/s (16 nodes)',
    16,
    `${(o / 1e6).toFixed(1)} M`,
    `${(h / 1e6).toFixed(1)} M`,
    '-',
    '-',
    '>= 10 M',
  );
  row('lookup(text)/s (16 nodes)', 16, `${(text / 1e6).toFixed(2)} M`, '-', '-', '-', '');
  if (sink === -1) console.log(sink);
}
console.log(rows.join('\n'));
console.log(`\nnode ${process.version}, ${process.platform}/${process.arch}`);

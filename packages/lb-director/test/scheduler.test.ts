import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SchedulerNode } from '../src/scheduler/index';
import {
  createScheduler,
  DEFAULT_SCHEDULER_SEED,
  jhash,
  jhashIpv4,
  NO_OWNER,
  reciprocalScale,
  TABLE_SIZES,
  tableSizeFor,
} from '../src/scheduler/index';

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
const node = (id: string, over: Partial<SchedulerNode> = {}): SchedulerNode => ({
  id,
  capacity: 1,
  healthy: true,
  activeConnections: 0,
  ...over,
});
const group = (n: number, over: Partial<SchedulerNode> = {}) =>
  Array.from({ length: n }, (_, i) => node(`node-${String(i).padStart(3, '0')}`, over));
const counts = (owners: Uint16Array, n: number) => {
  const c = new Array<number>(n).fill(0);
  for (const o of owners) if (o !== NO_OWNER) c[o] = (c[o] as number) + 1;
  return c;
};

// Published outputs of lookup3's hashlittle() (lookup3.c, driver5), which the kernel's jhash equals on
// little-endian hosts: same init (0xdeadbeef + length + initval), mix, final and little-endian tail.
const LOOKUP3: [string, number, number][] = [
  ['', 0, 0xdeadbeef],
  ['', 0xdeadbeef, 0xbd5b7dde],
  ['Four score and seven years ago', 0, 0x17770551],
  ['Four score and seven years ago', 1, 0xcd628161],
];

// Computed with gcc (x86-64) from a C transcription of include/linux/jhash.h jhash() and reciprocal_scale():
// [key bytes, seed, modulus, jhash, reciprocal_scale(jhash, modulus)].
const KERNEL: [string, number, number, number, number][] = [
  ['c0000201', 0x00000000, 32749, 0xb3bcb8d1, 22993],
  ['c0000201', 0x70726f78, 32749, 0x28f7fbc3, 5240],
  ['0a000001', 0x70726f78, 65521, 0x2c626f21, 11359],
  ['c0a80100', 0x70726f78, 32749, 0x11a412a7, 2256],
  ['ffffffff', 0xffffffff, 4093, 0xeae46760, 3755],
  ['00000000', 0x00000000, 4093, 0x049396b8, 73],
  ['20010db8000000000000000000000001', 0x70726f78, 32749, 0xd01caa2e, 26622],
  ['20010db8000000000000000000000000', 0x00000000, 65521, 0xaa32528e, 43560],
  ['fe800000000000000000000000000001', 0x12345678, 4093, 0x38ee800e, 910],
  ['01', 0x00000000, 7, 0x04ec883b, 0],
  ['0102', 0x00000000, 7, 0x217670cf, 0],
  ['010203', 0x00000000, 7, 0x3e2a886b, 1],
  ['0102030405', 0x00000000, 7, 0xf85554a4, 6],
  ['010203040506070809', 0x00000000, 7, 0xebaa5ff4, 6],
  ['0102030405060708090a0b0c', 0x00000000, 7, 0x2471b813, 0],
  ['0102030405060708090a0b0c0d', 0x00000000, 7, 0xe7d7a0e5, 6],
];

describe('jhash (include/linux/jhash.h)', () => {
  it('matches the published lookup3 hashlittle values', () => {
    for (const [text, seed, want] of LOOKUP3) {
      const bytes = new TextEncoder().encode(text);
      expect(jhash(bytes, bytes.length, seed)).toBe(want);
    }
  });

  it('matches the kernel code compiled with gcc, and reciprocal_scale', () => {
    for (const [key, seed, m, h, bucket] of KERNEL) {
      const bytes = hex(key);
      expect(jhash(bytes, bytes.length, seed)).toBe(h);
      expect(reciprocalScale(h, m)).toBe(bucket);
    }
  });

  it('hashes at an offset, and the IPv4 fast path equals the byte form', () => {
    const buf = hex('ff0a000001ff');
    expect(jhash(buf, 4, 0x70726f78, 1)).toBe(0x2c626f21);
    for (const [key, seed, , h] of KERNEL.filter(([k]) => k.length === 8)) {
      expect(jhashIpv4(Number.parseInt(key, 16), seed)).toBe(h);
    }
  });

  const gcc = (() => {
    try {
      execFileSync('gcc', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!gcc)('agrees with a compiled kernel jhash on pseudo-random keys (gcc present)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jhash-'));
    writeFileSync(
      join(dir, 'j.c'),
      `#include <stdio.h>
#include <stdint.h>
#include <string.h>
typedef uint32_t u32; typedef uint8_t u8;
static u32 rol32(u32 w, unsigned s) { return (w << s) | (w >> ((-s) & 31)); }
static u32 jh(const u8 *k, u32 length, u32 initval) {
  u32 a, b, c; a = b = c = 0xdeadbeef + length + initval;
  while (length > 12) { u32 x; memcpy(&x, k, 4); a += x; memcpy(&x, k + 4, 4); b += x; memcpy(&x, k + 8, 4); c += x;
    a -= c; a ^= rol32(c, 4); c += b; b -= a; b ^= rol32(a, 6); a += c; c -= b; c ^= rol32(b, 8); b += a;
    a -= c; a ^= rol32(c, 16); c += b; b -= a; b ^= rol32(a, 19); a += c; c -= b; c ^= rol32(b, 4); b += a;
    length -= 12; k += 12; }
  if (length == 0) return c;
  for (int i = (int)length - 1; i >= 0; i--) { u32 v = (u32)k[i] << ((i & 3) * 8); if (i >= 8) c += v; else if (i >= 4) b += v; else a += v; }
  c ^= b; c -= rol32(b, 14); a ^= c; a -= rol32(c, 11); b ^= a; b -= rol32(a, 25); c ^= b; c -= rol32(b, 16);
  a ^= c; a -= rol32(c, 4); b ^= a; b -= rol32(a, 14); c ^= b; c -= rol32(b, 24); return c; }
int main(void) { u8 k[40]; u32 s = 12345;
  for (int n = 0; n < 300; n++) { u32 len = n % 37; for (u32 i = 0; i < len; i++) { s = s * 1103515245u + 12345u; k[i] = s >> 16; }
    printf("%u\\n", jh(k, len, s)); } return 0; }
`,
    );
    execFileSync('gcc', ['-O2', '-o', join(dir, 'j'), join(dir, 'j.c')]);
    const want = execFileSync(join(dir, 'j'), { encoding: 'utf8' }).trim().split('\n').map(Number);
    let s = 12345;
    const k = new Uint8Array(40);
    for (let n = 0; n < 300; n++) {
      const len = n % 37;
      for (let i = 0; i < len; i++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        k[i] = (s >>> 16) & 0xff;
      }
      expect(jhash(k, len, s)).toBe(want[n]);
    }
  });

  it('reciprocal_scale is (h * m) >> 32 in 64 bits, for any m', () => {
    const big = (h: number, m: number) => Number((BigInt(h) * BigInt(m)) >> 32n);
    for (const m of [2, 7, 4093, 32749, 65521, 0x1fffff, 0x200000, 16777213, 0xffffffff]) {
      for (const h of [0, 1, 0x7fffffff, 0x80000000, 0xdeadbeef, 0xffffffff])
        expect(reciprocalScale(h, m)).toBe(big(h, m));
    }
    expect(reciprocalScale(0xffffffff, 32749)).toBe(32748);
  });
});

describe('table sizes', () => {
  it('uses 32749 up to 163 nodes, 65521 up to 327, then a prime >= 200 x nodes', () => {
    expect(TABLE_SIZES).toEqual([32749, 65521]);
    expect(tableSizeFor(0)).toBe(32749);
    expect(tableSizeFor(163)).toBe(32749);
    expect(tableSizeFor(164)).toBe(65521);
    expect(tableSizeFor(327)).toBe(65521);
    const big = tableSizeFor(328);
    expect(big).toBeGreaterThanOrEqual(65600);
    for (let d = 2; d * d <= big; d++) expect(big % d).not.toBe(0);
    expect(tableSizeFor(1000)).toBe(200003);
  });

  it('sizes the table by the number of members, or by the option', () => {
    const s = createScheduler();
    expect(s.update(0, group(3)).table.size).toBe(32749);
    const u = s.update(1, group(200));
    expect(u.table.size).toBe(65521);
    expect(u.reason).toBe('membership');
    expect(u.changedBuckets.length).toBe(65521);
    expect(createScheduler({ tableSize: 4093 }).update(0, group(200)).table.size).toBe(4093);
  });
});

describe('options and input validation', () => {
  it('refuses bad options with LB_INVALID_ARGUMENT and issues', () => {
    try {
      createScheduler({ tableSize: 4095, seed: -1, ipv4PrefixLength: 33, balanceFactor: -1 });
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('LB_INVALID_ARGUMENT');
      const paths = (e as { details: { issues: { path: string }[] } }).details.issues.map((i) => i.path);
      expect(paths).toEqual(['tableSize', 'seed', 'ipv4PrefixLength', 'balanceFactor']);
    }
  });

  it('refuses bad nodes and addresses', () => {
    const s = createScheduler();
    expect(() => s.update(0, [node('a'), node('a')])).toThrow(/duplicate/);
    expect(() => s.update(0, [node('a', { capacity: 70000 })])).toThrow(/capacity/);
    expect(() => s.update(Number.NaN, [])).toThrow(/at/);
    expect(() => s.update(0, [node('a', { resources: { cpu: -1, memory: 0, load: 0 } })])).toThrow(/cpu/);
    expect(() => s.bucketOf('not-an-ip')).toThrow(expect.objectContaining({ code: 'LB_INVALID_ARGUMENT' }));
  });
});

describe('client hash and persistence masks', () => {
  it('bucketOf is reciprocal_scale(jhash(address bytes, len, seed), size), as nftables computes it', () => {
    const s = createScheduler();
    s.update(0, group(4));
    expect(s.table.seed).toBe(DEFAULT_SCHEDULER_SEED);
    expect(s.bucketOf('192.0.2.1')).toBe(5240);
    expect(s.bucketOf('10.0.0.1')).toBe(reciprocalScale(0x2c626f21, 32749));
    expect(s.bucketOf('2001:db8::1')).toBe(26622);
    expect(s.bucketOfIpv4(0xc0000201)).toBe(5240);
  });

  it('masks to the persistence prefix', () => {
    const s = createScheduler({ ipv4PrefixLength: 24, ipv6PrefixLength: 64, seed: 0 });
    s.update(0, group(4));
    expect(s.bucketOf('192.0.2.1')).toBe(s.bucketOf('192.0.2.254'));
    expect(s.bucketOf('192.0.2.1')).toBe(reciprocalScale(jhash(hex('c0000200'), 4, 0), 32749));
    expect(s.bucketOfIpv4(0xc00002fe)).toBe(s.bucketOf('192.0.2.1'));
    expect(s.bucketOf('2001:db8:0:1::1')).toBe(s.bucketOf('2001:db8:0:1:ffff::9'));
    expect(s.bucketOf('2001:db8::1')).toBe(reciprocalScale(0xaa32528e, 32749));
    const odd = createScheduler({ ipv4PrefixLength: 20, ipv6PrefixLength: 0 });
    odd.update(0, group(2));
    expect(odd.bucketOf('10.1.15.200')).toBe(odd.bucketOf('10.1.0.0'));
    expect(odd.bucketOf('10.1.16.0')).toBe(
      reciprocalScale(jhash(hex('0a011000'), 4, DEFAULT_SCHEDULER_SEED), 32749),
    );
    expect(odd.bucketOf('2001:db8::1')).toBe(odd.bucketOf('fe80::1'));
    const zero = createScheduler({ ipv4PrefixLength: 0 });
    zero.update(0, group(2));
    expect(zero.bucketOfIpv4(0x01020304)).toBe(zero.bucketOf('0.0.0.0'));
  });

  it('lookup and lookupIpv4 name the owner of the bucket', () => {
    const s = createScheduler();
    const u = s.update(0, group(5));
    for (const a of ['192.0.2.1', '198.51.100.7', '203.0.113.250']) {
      const id = u.table.nodes[u.table.owners[s.bucketOf(a)] as number];
      expect(s.lookup(a)).toBe(id);
      const n = a.split('.').reduce((x, p) => x * 256 + Number(p), 0);
      expect(s.lookupIpv4(n)).toBe(id);
    }
    expect(s.lookup('2001:db8::42')).toBe(
      u.table.nodes[u.table.owners[s.bucketOf('2001:db8::42')] as number],
    );
  });
});

describe('weights, health and capacity', () => {
  it('spreads equal weights evenly (max/avg <= 1.01)', () => {
    for (const n of [2, 3, 8, 40, 64]) {
      const s = createScheduler();
      s.update(0, group(n));
      const shares = [...s.shares().values()];
      const avg = 1 / n;
      expect(Math.max(...shares) / avg).toBeLessThanOrEqual(1.01);
    }
  });

  it('honours capacities within 1 %', () => {
    const caps = [1, 2, 3, 4, 10, 100];
    const s = createScheduler();
    s.update(
      0,
      caps.map((c, i) => node(`n${i}`, { capacity: c })),
    );
    const total = caps.reduce((a, b) => a + b, 0);
    caps.forEach((c, i) => {
      const share = s.shares().get(`n${i}`) as number;
      expect(Math.abs(share - c / total) / (c / total)).toBeLessThanOrEqual(0.01);
    });
  });

  it('gives nothing to unhealthy or zero-capacity nodes; moves only their buckets', () => {
    const s = createScheduler();
    const nodes = group(6);
    const first = s.update(0, nodes).table;
    const sick = nodes.map((n, i) => (i === 2 ? { ...n, healthy: false } : n));
    const u = s.update(1, sick);
    expect(u.reason).toBe('health');
    expect(s.shares().get('node-002')).toBe(0);
    expect(s.weights().get('node-002')).toBe(0);
    const own = counts(first.owners, 6)[2] as number;
    expect(u.changedBuckets.length).toBeGreaterThanOrEqual(own);
    expect(u.changedBuckets.length - own).toBeLessThanOrEqual(0.01 * first.size);
    for (const b of u.changedBuckets) expect(u.table.owners[b]).not.toBe(2);
    const z = createScheduler();
    z.update(0, [node('a', { capacity: 0 }), node('b')]);
    expect(z.shares().get('a')).toBe(0);
    expect(z.shares().get('b')).toBe(1);
  });

  it('has no owner (0xffff) and lookup undefined when no node can take clients', () => {
    const s = createScheduler();
    const u = s.update(0, [node('a', { healthy: false }), node('b', { capacity: 0 })]);
    expect(u.table.owners.every((o) => o === NO_OWNER)).toBe(true);
    expect(s.lookup('192.0.2.1')).toBeUndefined();
    expect(s.lookupIpv4(1)).toBeUndefined();
    const e = createScheduler().update(0, []);
    expect(e.table.nodes).toEqual([]);
    expect(e.table.owners.every((o) => o === NO_OWNER)).toBe(true);
  });

  it('is deterministic and independent of input order', () => {
    const nodes = group(9).map((n, i) => ({ ...n, capacity: 1 + (i % 3) }));
    const a = createScheduler().update(0, nodes).table;
    const b = createScheduler().update(0, [...nodes].reverse()).table;
    expect(b.nodes).toEqual(a.nodes);
    expect(b.owners).toEqual(a.owners);
    expect(a.nodes).toEqual([...a.nodes].sort());
  });
});

describe('load awareness and damping', () => {
  const busy = { cpu: 0.95, memory: 0.3, load: 0.9 };
  const opts = { minRebuildIntervalMs: 5000, smoothingHalfLifeMs: 10000, rebuildThreshold: 0.1 };

  it('lowers the weight of a busy node gradually and rebuilds only past the threshold and interval', () => {
    const s = createScheduler(opts);
    const nodes = group(4);
    expect(s.update(0, nodes).reason).toBe('initial');
    const w0 = s.weights().get('node-000') as number;
    const hot = nodes.map((n, i) => (i === 0 ? { ...n, resources: busy } : n));
    /* 1 s later: the EWMA moved ~7 %, below the threshold and inside the interval */
    expect(s.update(1000, hot).reason).toBe('none');
    const w1 = s.weights().get('node-000') as number;
    expect(w1).toBeLessThan(w0);
    expect(w1).toBeGreaterThan(0.9 * w0);
    /* 4 s: past the threshold, still inside the interval */
    expect(s.update(4000, hot).reason).toBe('none');
    /* 5 s: rebuilt */
    const u = s.update(5000, hot);
    expect(u.reason).toBe('load');
    expect(u.changed).toBe(true);
    expect(s.shares().get('node-000') as number).toBeLessThan(0.25);
    /* just after: no new rebuild even though the weight keeps falling */
    expect(s.update(6000, hot).reason).toBe('none');
    /* much later it settles near the floor (0.1 of its capacity share) */
    let t = 6000;
    for (; t < 200_000; t += 1000) s.update(t, hot);
    expect((s.weights().get('node-000') as number) / (s.weights().get('node-001') as number)).toBeCloseTo(
      0.1,
      1,
    );
  });

  it('does not rebuild when the load of every node moves alike: the shares, not the weights, decide', () => {
    const s = createScheduler(opts);
    const nodes = group(3);
    s.update(0, nodes);
    const before = s.weights().get('node-000') as number;
    // the one host running them all gets busy: every weight falls, no share moves
    const allBusy = nodes.map((n) => ({ ...n, resources: busy }));
    for (let t = 1000; t <= 60_000; t += 1000) expect(s.update(t, allBusy).reason).toBe('none');
    expect(s.weights().get('node-000') as number).toBeLessThan(0.5 * before);
    // then one node alone gets busier still: its share falls past the threshold, and the table follows
    const oneHot = allBusy.map((n, i) => (i === 0 ? { ...n, activeConnections: 500 } : n));
    const reasons: string[] = [];
    for (let t = 61_000; t <= 90_000; t += 1000) reasons.push(s.update(t, oneHot).reason);
    expect(reasons).toContain('load');
    expect(s.shares().get('node-000') as number).toBeLessThan(1 / 3);
  });

  it('rebuilds at once on membership and health changes, and reports none when nothing moved', () => {
    const s = createScheduler(opts);
    s.update(0, group(3));
    expect(s.update(10, group(3)).reason).toBe('none');
    expect(s.update(20, group(4)).reason).toBe('membership');
    expect(
      s.update(
        30,
        group(4).map((n, i) => ({ ...n, healthy: i !== 1 })),
      ).reason,
    ).toBe('health');
    expect(
      s.update(
        40,
        group(4).map((n, i) => ({ ...n, capacity: i === 0 ? 2 : 1 })),
      ).reason,
    ).toBe('membership');
    const same = s.update(
      50,
      group(4).map((n, i) => ({ ...n, capacity: i === 0 ? 2 : 1 })),
    );
    expect(same.changed).toBe(false);
    expect(same.changedBuckets).toEqual([]);
    expect(same.table).toBe(s.table);
  });

  it('takes the connection count into the weight (fewer connections, more weight)', () => {
    const s = createScheduler({ smoothingHalfLifeMs: 0 });
    s.update(0, [node('a', { activeConnections: 900 }), node('b', { activeConnections: 100 })]);
    expect(s.weights().get('a') as number).toBeLessThan(s.weights().get('b') as number);
  });
});

describe('bounded load', () => {
  it('takes new clients away from a node above (1 + balanceFactor) x its expected connections', () => {
    const s = createScheduler({ balanceFactor: 0.25, minRebuildIntervalMs: 1e12 });
    const base = group(4, { activeConnections: 100 });
    const before = s.update(0, base).table;
    const over = base.map((n, i) => (i === 0 ? { ...n, activeConnections: 200 } : n));
    /* total 500, expected 125 each, bound 156.25: node-000 at 200 is over */
    const u = s.update(1, over);
    expect(u.reason).toBe('bound');
    expect(s.shares().get('node-000')).toBe(0);
    expect(u.changedBuckets.length).toBe(counts(before.owners, 4)[0]);
    for (const b of u.changedBuckets) expect(before.owners[b]).toBe(0);
    /* others keep their buckets */
    for (let b = 0; b < before.size; b++)
      if (before.owners[b] !== 0) expect(u.table.owners[b]).toBe(before.owners[b]);
    /* back under the bound: the same table as before */
    const back = s.update(2, base);
    expect(back.reason).toBe('bound');
    expect(back.table.owners).toEqual(before.owners);
  });

  it('leaves idle groups alone (the minimum expected connections)', () => {
    const s = createScheduler({ boundMinConnections: 16 });
    s.update(0, group(3));
    const u = s.update(
      1,
      group(3).map((n, i) => ({ ...n, activeConnections: i === 0 ? 10 : 0 })),
    );
    expect(u.reason).not.toBe('bound');
    expect(s.shares().get('node-000') as number).toBeGreaterThan(0);
  });

  it('never bounds the last nodes standing', () => {
    const s = createScheduler({ balanceFactor: 0 });
    s.update(0, [node('a', { activeConnections: 1000 }), node('b', { healthy: false })]);
    expect(s.shares().get('a')).toBe(1);
  });
});

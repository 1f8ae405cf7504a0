// Property tests over random networks and random trouble (partitions, loss, crashes, restarts, graceful
// stops, interfaces going down): once the trouble ends, the routers converge to exactly one Master
// within Master_Down_Interval + one advert interval + twice the worst delay, and stay there.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { masterDownIntervalMs } from '../src/index';
import { SimNetwork } from '../src/sim/index';

type Op =
  | { k: 'partition'; at: number; groups: number[] }
  | { k: 'heal'; at: number }
  | { k: 'crash' | 'start' | 'shutdown' | 'ifDown' | 'ifUp'; at: number; i: number }
  | { k: 'loss'; at: number; rate: number };

const opArb = (n: number, horizon: number): fc.Arbitrary<Op> => {
  const at = fc.integer({ min: 0, max: horizon });
  const i = fc.integer({ min: 0, max: n - 1 });
  return fc.oneof(
    fc.record({
      k: fc.constant('partition' as const),
      at,
      groups: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
    }),
    fc.record({ k: fc.constant('heal' as const), at }),
    fc.record({
      k: fc.constantFrom(
        'crash' as const,
        'start' as const,
        'shutdown' as const,
        'ifDown' as const,
        'ifUp' as const,
      ),
      at,
      i,
    }),
    fc.record({ k: fc.constant('loss' as const), at, rate: fc.constantFrom(0, 0.1, 0.3, 0.6, 1) }),
  );
};

const scenarioArb = fc.integer({ min: 2, max: 5 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    version: fc.constantFrom(2 as const, 3 as const),
    fast: fc.boolean(),
    priorities: fc.array(fc.oneof(fc.integer({ min: 1, max: 255 }), fc.constantFrom(100, 100, 255)), {
      minLength: n,
      maxLength: n,
    }),
    preempt: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    mode: fc.constantFrom('rfc9568' as const, 'rfc5798' as const),
    delay: fc.constantFrom(0, 0.5, 2, 5),
    jitter: fc.constantFrom(0, 1, 3),
    seed: fc.integer(),
    ops: fc.array(opArb(n, 40_000), { maxLength: 25 }),
    // the LAN at the end: one segment, or split for good (each segment must elect its own Master)
    finalGroups: fc.oneof(
      fc.constant(Array.from({ length: n }, () => 0)),
      fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
    ),
  }),
);

describe('network properties', () => {
  it('after any trouble ends: exactly one Master per connected segment within the bound, VIPs only on it, then no transition', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const interval = s.version === 2 ? 1000 : s.fast ? 100 : 1000;
        // two address owners are a configuration error (both stay Master, RFC 5798 §7.1): keep one
        s.priorities = s.priorities.map((p, i) => (p === 255 && s.priorities.indexOf(255) !== i ? 254 : p));
        const names = Array.from({ length: s.n }, (_, i) => `r${i}`);
        const net = new SimNetwork({
          seed: s.seed,
          link: { delayMs: s.delay, jitterMs: s.jitter },
          routers: names.map((name, i) => ({
            name,
            config: {
              name: 'VI_1',
              vrid: 51,
              version: s.version,
              priority: s.priorities[i] as number,
              advertIntervalMs: interval,
              primaryAddress: `10.0.0.${i + 1}`,
              virtualIps: ['10.0.0.100/24'],
              preempt: s.preempt[i] as boolean,
              lowerPriorityResponse: s.mode,
            },
          })),
        });
        for (const op of s.ops) {
          net.at(op.at, () => {
            if (op.k === 'partition') {
              net.partition(...[0, 1, 2].map((g) => names.filter((_, i) => op.groups[i] === g)));
            } else if (op.k === 'heal') net.heal();
            else if (op.k === 'loss') net.setAllLinks({ lossRate: op.rate });
            else if (op.k === 'ifDown') net.interfaceDown(names[op.i] as string);
            else if (op.k === 'ifUp') net.interfaceUp(names[op.i] as string);
            else if (op.k === 'crash') net.crash(names[op.i] as string);
            else if (op.k === 'shutdown') net.shutdown(names[op.i] as string);
            else net.start(names[op.i] as string);
          });
        }
        const calm = 45_000;
        net.runUntil(calm);
        // the trouble ends: no loss, every interface up, every router running, and the LAN as it
        // stays (one segment, or split for good)
        const segments = [0, 1, 2]
          .map((g) => names.filter((_, i) => s.finalGroups[i] === g))
          .filter((g) => g.length > 0);
        net.partition(...segments);
        net.setAllLinks({ lossRate: 0 });
        for (const name of names) {
          if (net.state(name) === 'fault') net.interfaceUp(name);
          if (net.state(name) === 'down') {
            net.interfaceUp(name);
            net.start(name);
          }
        }
        const worstMdi = Math.max(
          ...s.priorities.map((p) => masterDownIntervalMs(s.version, Math.min(p, 254), interval)),
        );
        const bound = calm + worstMdi + interval + 2 * (s.delay + s.jitter) + 1;
        net.runUntil(bound);
        const masters = net.masters();
        for (const segment of segments) {
          expect(masters.filter((m) => segment.includes(m))).toHaveLength(1);
        }
        expect(net.vipHolders()).toEqual(masters);
        const settled = net.transitions().length;
        net.runUntil(bound + 10 * interval + worstMdi);
        expect(net.transitions().length).toBe(settled);
        expect(net.masters()).toEqual(masters);
        // addVips and removeVips alternate per router, starting with add
        for (const name of names) {
          const held = net.records
            .filter((r) => r.kind === 'vips' && r.router === name)
            .map((r) => r.kind === 'vips' && r.held);
          expect(held).toEqual(held.map((_, i) => i % 2 === 0));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('with everyone preempting, the Master after convergence has the highest priority (then the highest address)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }).chain((n) =>
          fc.record({
            priorities: fc.array(fc.integer({ min: 1, max: 254 }), { minLength: n, maxLength: n }),
            seed: fc.integer(),
            crashAt: fc.integer({ min: 0, max: 20_000 }),
            restartAfter: fc.integer({ min: 0, max: 10_000 }),
          }),
        ),
        (s) => {
          const names = s.priorities.map((_, i) => `r${i}`);
          const net = new SimNetwork({
            seed: s.seed,
            link: { delayMs: 1, jitterMs: 1 },
            routers: names.map((name, i) => ({
              name,
              config: {
                name: 'VI_1',
                vrid: 51,
                priority: s.priorities[i] as number,
                primaryAddress: `10.0.0.${i + 1}`,
                virtualIps: ['10.0.0.100'],
              },
            })),
          });
          net.at(s.crashAt, () => net.crash('r0'));
          net.at(s.crashAt + s.restartAfter, () => net.start('r0'));
          net.runUntil(s.crashAt + s.restartAfter + 10_000);
          const best = names
            .map((name, i) => ({ name, p: s.priorities[i] as number, addr: i }))
            .sort((a, b) => b.p - a.p || b.addr - a.addr)[0]?.name;
          expect(net.masters()).toEqual([best]);
        },
      ),
      { numRuns: 150 },
    );
  });
});

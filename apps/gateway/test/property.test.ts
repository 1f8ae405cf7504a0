// Property tests of the one file: any valid file parses, carries its values into every package's
// configuration, and reads back the same through YAML; any broken file is refused with issues on the
// file's own paths, never with another error or a package's path.
import { formatDuration } from '@proxyha/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { GatewayError, parseGatewayConfig } from '../src/index';
import { type Doc, SECTION_PATH, set } from './helpers';

// redirect ports stay below the cm and management ports, which the gateway refuses as redirect ports
const redirectPort = fc.integer({ min: 1, max: 60_000 });
const cmPort = fc.integer({ min: 60_001, max: 62_000 });
const managementPort = fc.integer({ min: 62_001, max: 65_535 });
const segment = fc.stringMatching(/^[a-z0-9_-]{1,8}$/);
const absolutePath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((p) => `/${p.join('/')}`);
const durationText = (ms: number) => fc.constantFrom<string | number>(ms, `${ms}ms`, formatDuration(ms));
const octet = fc.integer({ min: 1, max: 254 });
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const redirects = fc
  .uniqueArray(fc.record({ originalPort: redirectPort, destinationPort: redirectPort }), {
    minLength: 1,
    maxLength: 8,
    selector: (r) => r.originalPort,
  })
  .chain((rs) =>
    fc.constantFrom('nftables', 'relay', 'direct', undefined).map((dataPlane) => ({
      dataPlane,
      // direct routing cannot rewrite ports
      redirects: dataPlane === 'direct' ? rs.map((r) => ({ ...r, destinationPort: r.originalPort })) : rs,
    })),
  );

const ha = fc
  .record({
    interface: fc.constantFrom('eth0', 'ens3', 'bond0.100', 'eth1'),
    managementIp: fc.tuple(octet, octet).map(([a, b]) => `10.10.${a}.${b}`),
    virtualIps: fc.uniqueArray(
      fc.tuple(octet, octet).map(([a, b]) => `10.200.${a}.${b}/24`),
      { minLength: 1, maxLength: 4 },
    ),
    vrid: fc.integer({ min: 1, max: 255 }),
    priority: optional(fc.integer({ min: 1, max: 255 })),
    advertInterval: optional(fc.integer({ min: 1, max: 4095 }).chain((cs) => durationText(cs * 10))),
    group: optional(fc.integer({ min: 1, max: 255 })),
    onHealthFailure: optional(
      fc.oneof(fc.constant('fault'), fc.record({ weight: fc.integer({ min: -253, max: -1 }) })),
    ),
    weight: optional(fc.integer({ min: 0, max: 65_535 })),
    preempt: optional(fc.boolean()),
    r: redirects,
  })
  .map(({ r, ...rest }) => ({ ...rest, ...r }));

const health = fc.record(
  {
    interval: fc.integer({ min: 10, max: 60_000 }).chain(durationText),
    timeout: fc.integer({ min: 10, max: 60_000 }).chain(durationText),
    fall: fc.integer({ min: 1, max: 100 }),
    rise: fc.integer({ min: 1, max: 100 }),
  },
  { requiredKeys: [] },
);

const ntp = fc
  .record({
    servers: fc.array(
      fc
        .tuple(octet, optional(fc.integer({ min: 1, max: 65_535 })))
        .map(([a, p]) => `192.0.2.${a}${p ? `:${p}` : ''}`),
      { minLength: 1, maxLength: 4 },
    ),
    maxOffset: fc.integer({ min: 1, max: 10_000 }),
    warnFraction: optional(fc.double({ min: 0, max: 1, noNaN: true })),
    panicExtra: optional(fc.integer({ min: 0, max: 1_000_000 })),
  })
  .map(({ servers, maxOffset, warnFraction, panicExtra }) => ({
    servers,
    maxOffset: `${maxOffset}ms`,
    ...(warnFraction === undefined ? {} : { warnOffset: Math.floor(maxOffset * warnFraction) }),
    ...(panicExtra === undefined ? {} : { panicThreshold: maxOffset + panicExtra }),
  }));

const cm = fc.record({
  listen: cmPort.map((p) => `10.10.74.70:${p}`),
  ca: fc.record({ cert: absolutePath, key: absolutePath }),
  priority: optional(fc.integer({ min: 1, max: 1000 })),
  peers: optional(
    fc.array(
      fc.tuple(octet, cmPort).map(([a, p]) => `10.10.74.${a}:${p}`),
      { maxLength: 4 },
    ),
  ),
});

const file = fc
  .record(
    {
      node: fc.record(
        { name: fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/), dataDir: absolutePath },
        { requiredKeys: [] },
      ),
      ha,
      health,
      ntp,
      cm,
      policy: fc.record(
        {
          dir: absolutePath,
          apply: fc.array(fc.stringMatching(/^[a-z0-9-]{1,10}$/), { minLength: 1, maxLength: 3 }),
        },
        { requiredKeys: [] },
      ),
      management: fc.record(
        {
          listen: fc.tuple(octet, managementPort).map(([a, p]) => `127.0.0.${a}:${p}`),
          tokenFile: absolutePath,
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['ha'] },
  )
  // policy needs cm
  .map((f) => (f.cm ? f : { ...f, policy: undefined }))
  .map((f) => JSON.parse(JSON.stringify(f)) as Doc);

const ms = (v: unknown) => (typeof v === 'number' ? v : v === undefined ? undefined : Number.NaN);

describe('any valid file', () => {
  it('parses, and every package gets the values written once', () => {
    fc.assert(
      fc.property(file, (f) => {
        const c = parseGatewayConfig(f);
        const inst = c.vrrpd.instances[0];
        expect(c.vrrpd.instances).toHaveLength(1);
        expect(inst?.vrid).toBe(f.ha.vrid);
        expect(inst?.interface).toBe(f.ha.interface);
        expect(c.lb.interface).toBe(f.ha.interface);
        expect(inst?.virtualIps).toEqual(f.ha.virtualIps);
        expect(c.lb.virtualIps).toEqual(f.ha.virtualIps);
        expect(inst?.priority).toBe(f.ha.priority ?? 100);
        expect(c.lb.priority).toBe(f.ha.priority ?? 100);
        expect(c.lb.intervalMs).toBe(inst?.advertInterval);
        expect(c.lb.group).toBe(f.ha.group ?? 51);
        expect(c.lb.redirects).toEqual(f.ha.redirects);
        expect(c.lb.managementIp).toBe(f.ha.managementIp);
        expect(c.health.host).toBe(f.ha.managementIp);
        expect(c.health.ports.map((p) => p.port)).toEqual([
          ...new Set(f.ha.redirects.map((r: { destinationPort: number }) => r.destinationPort)),
        ]);
        expect(c.lb.health).toEqual({
          host: f.ha.managementIp,
          intervalMs: c.health.intervalMs,
          timeoutMs: c.health.timeoutMs,
          fall: c.health.fall,
          rise: c.health.rise,
        });
        expect(c.health.fall).toBe(f.health?.fall ?? 3);
        expect(c.health.rise).toBe(f.health?.rise ?? 2);
        const weight = f.ha.onHealthFailure?.weight ?? 0;
        expect(inst?.trackFiles.at(-2)).toEqual({ name: 'health', path: c.healthTracker.file, weight });
        expect(inst?.trackFiles.at(-1)).toEqual({
          name: 'maintenance',
          path: c.maintenance.stateFile,
          weight: -253,
        });
        const dataDir = f.node?.dataDir ?? '/var/lib/proxyha';
        for (const p of [
          c.lb.dataDir,
          c.healthTracker.file,
          c.maintenance.stateFile,
          c.cm?.dataDir ?? dataDir,
        ])
          expect(p.startsWith(dataDir)).toBe(true);
        if (f.node?.name !== undefined) expect(c.node.name).toBe(f.node.name);
        expect(c.lb.name).toBe(c.node.name);
        expect(c.cm?.name ?? c.node.name).toBe(c.node.name);
        expect(c.cm === undefined).toBe(f.cm === undefined);
        expect(c.cm?.priority).toBe(f.cm ? (f.cm.priority ?? 1) : undefined);
        expect(c.cm?.applyCommand).toEqual(f.policy?.apply);
        expect(c.ntp === undefined).toBe(f.ntp === undefined);
        if (f.ntp) expect(c.ntp?.servers).toHaveLength(f.ntp.servers.length);
        if (f.ntp?.warnOffset !== undefined) expect(c.ntp?.warnOffsetMs).toBe(ms(f.ntp.warnOffset));
      }),
    );
  });

  it('reads back the same through YAML', () => {
    fc.assert(
      fc.property(file, (f) => {
        expect(parseGatewayConfig(parse(stringify(f)), 'round-trip')).toEqual(parseGatewayConfig(f));
      }),
    );
  });
});

/** Every path of a document, dotted (`ha.redirects.0.originalPort`), sub-trees included. */
function paths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const p = prefix ? `${prefix}.${k}` : k;
    return [p, ...paths(v, p)];
  });
}

const wrong = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(0, -1, 256, 70_000, 1.5, '', 'x', '10.10.74.70', '1s', 'fault', [], {}, null, true),
);

describe('any broken file', () => {
  it('is refused with GATEWAY_CONFIG_INVALID on the file’s own paths, or accepted; never another error', () => {
    let refused = 0;
    let runs = 0;
    fc.assert(
      fc.property(
        file,
        fc.array(fc.tuple(fc.nat(), wrong, fc.boolean()), { minLength: 1, maxLength: 3 }),
        (f, mutations) => {
          for (const [pick, value, fresh] of mutations) {
            const all = paths(f);
            const at = all[pick % all.length] as string;
            // a changed value, or a new key beside it
            set(f, fresh ? `${at.split('.').slice(0, -1).concat('extra').join('.')}` : at, value);
          }
          runs++;
          try {
            parseGatewayConfig(f);
          } catch (error) {
            refused++;
            expect(error).toBeInstanceOf(GatewayError);
            const issues = (error as GatewayError<{ issues: { path: string; message: string }[] }>).details
              .issues;
            expect(issues.length).toBeGreaterThan(0);
            for (const i of issues) {
              expect(i.message.length).toBeGreaterThan(0);
              if (!(i.message.startsWith('unknown setting') && !/[.[]/.test(i.path)))
                expect(i.path).toMatch(SECTION_PATH);
            }
            expect(new Set(issues.map((i) => i.path)).size).toBe(issues.length);
          }
        },
      ),
      { numRuns: 300 },
    );
    // most mutations break the file: the property is not met by accepting everything
    expect(refused).toBeGreaterThan(runs / 2);
  });
});

import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import ms from 'ms';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** A config file that cannot be read or is invalid; `issues` name each path and problem. */
export class VrrpConfigError extends Error {
  /** Stable error code. */
  readonly code = 'VRRP_CONFIG_INVALID';
  constructor(
    message: string,
    /** One line per problem: `instances[0].vrid: ...`. */
    readonly issues: readonly string[] = [],
  ) {
    super(issues.length ? `${message}\n  ${issues.join('\n  ')}` : message);
    this.name = 'VrrpConfigError';
  }
}

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : ms(v as ms.StringValue);
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
    ctx.addIssue({
      code: 'custom',
      message: `not a duration: ${JSON.stringify(v)} (use e.g. "100ms", "1s")`,
    });
    return z.NEVER;
  }
  return n;
});

const ip = z.string().refine((s) => isIP(s) !== 0, { message: 'not an IP address' });
const cidr = z.string().refine(
  (s) => {
    const [addr, len, extra] = s.split('/');
    if (extra !== undefined || !addr) return false;
    const fam = isIP(addr);
    if (fam === 0) return false;
    if (len === undefined) return true;
    const n = Number(len);
    return /^\d+$/.test(len) && n <= (fam === 4 ? 32 : 128);
  },
  { message: 'not an address with an optional prefix length (192.168.77.74/24, fd77::74/64)' },
);

const trackScript = z.strictObject({
  name: z.string().min(1),
  command: z.array(z.string()).min(1),
  interval: duration.default(2000),
  timeout: duration.default(2000),
  weight: z.number().int().min(-253).max(253).default(0),
  rise: z.number().int().min(1).default(1),
  fall: z.number().int().min(1).default(1),
});

const trackFile = z.strictObject({
  name: z.string().min(1).optional(),
  path: z.string().min(1),
  weight: z.number().int().min(-253).max(253).default(0),
});

const ifname = z
  .string()
  .regex(
    /^[A-Za-z0-9_.:@-]{1,15}$/,
    'not an interface name (1 to 15 letters, digits, "_", ".", ":", "@", "-")',
  );

/**
 * Gratuitous ARP / unsolicited NA timing of one instance: `@proxyha/garp`'s policy with
 * durations as strings. Left out: keepalived's defaults (5 at once, 5 more after 5 s).
 */
const garp = z.strictObject({
  /** keepalived `garp_master_repeat` */
  repeat: z.number().int().min(1).max(1000).optional(),
  /** `garp_master_delay`; 0 = no second burst */
  secondBurstDelay: duration.optional(),
  /** `garp_master_refresh`; 0 = none */
  refreshInterval: duration.optional(),
  /** `garp_master_refresh_repeat` */
  refreshRepeat: z.number().int().min(1).max(1000).optional(),
  /** `garp_lower_prio_repeat`; 0 = do not re-announce on a lower-priority advert */
  reassertRepeat: z.number().int().min(0).max(1000).optional(),
  /** `garp_lower_prio_delay` */
  reassertDelay: duration.optional(),
  /** `garp_interval`: minimum gap between gratuitous ARPs on the interface */
  interval: duration.optional(),
  /** `gna_interval`: minimum gap between neighbour adverts on the interface (default: `interval`) */
  naInterval: duration.optional(),
  arpOperation: z.enum(['request', 'reply']).optional(),
  naRouterFlag: z.boolean().optional(),
});

const vmac = z.union([z.boolean(), z.strictObject({ name: ifname.optional() })]);

const instance = z
  .strictObject({
    name: z.string().regex(/^[\w.-]+$/, 'letters, digits, "_", "." and "-" only'),
    interface: z.string().min(1).max(15),
    vrid: z.number().int().min(1).max(255),
    priority: z.number().int().min(1).max(255).default(100),
    version: z.union([z.literal(2), z.literal(3)]).default(3),
    advertInterval: duration.default(1000),
    virtualIps: z.array(cidr).min(1),
    preempt: z.boolean().default(true),
    preemptDelay: duration.default(0),
    unicastPeers: z.array(ip).default([]),
    accept: z.boolean().default(false),
    sourceAddress: ip.optional(),
    checksum: z.enum(['pseudo-header', 'vrrp-only']).optional(),
    lowerPriorityResponse: z.enum(['rfc9568', 'rfc5798']).default('rfc9568'),
    authPassword: z.string().max(8).optional(),
    trackScripts: z.array(trackScript).default([]),
    trackFiles: z.array(trackFile).default([]),
    // keepalived's track_interface: another interface's link state, with an optional weight
    trackInterfaces: z
      .array(
        z.strictObject({
          name: z.string().min(1).max(15),
          weight: z.number().int().min(-253).max(253).default(0),
        }),
      )
      .default([]),
    garp: garp.optional(),
    vmac: vmac.default(false),
    higherPrioritySendAdvert: z.boolean().default(false),
  })
  .superRefine((inst, ctx) => {
    for (const k of [
      'secondBurstDelay',
      'refreshInterval',
      'reassertDelay',
      'interval',
      'naInterval',
    ] as const) {
      const v = inst.garp?.[k];
      if (v !== undefined && v > 86_400_000)
        ctx.addIssue({ code: 'custom', path: ['garp', k], message: `at most 24h, got ${v} ms` });
    }
    const families = new Set(inst.virtualIps.map((v) => isIP(v.split('/')[0] as string)));
    if (families.size > 1)
      ctx.addIssue({
        code: 'custom',
        path: ['virtualIps'],
        message: 'mixes IPv4 and IPv6: use one instance per family',
      });
    const v6 = families.has(6);
    if (inst.version === 2) {
      if (v6)
        ctx.addIssue({
          code: 'custom',
          path: ['version'],
          message: 'VRRPv2 carries IPv4 only; use version 3',
        });
      if (inst.advertInterval % 1000 !== 0 || inst.advertInterval < 1000 || inst.advertInterval > 255_000)
        ctx.addIssue({
          code: 'custom',
          path: ['advertInterval'],
          message: `VRRPv2 needs whole seconds from 1s to 255s, got ${inst.advertInterval} ms`,
        });
    } else {
      if (inst.advertInterval % 10 !== 0 || inst.advertInterval < 10 || inst.advertInterval > 40_950)
        ctx.addIssue({
          code: 'custom',
          path: ['advertInterval'],
          message: `VRRPv3 needs whole centiseconds from 10ms to 40.95s, got ${inst.advertInterval} ms`,
        });
      if (inst.authPassword !== undefined)
        ctx.addIssue({ code: 'custom', path: ['authPassword'], message: 'VRRPv3 has no authentication' });
    }
    for (const [i, peer] of inst.unicastPeers.entries())
      if ((isIP(peer) === 6) !== v6)
        ctx.addIssue({
          code: 'custom',
          path: ['unicastPeers', i],
          message: 'not of the virtual addresses’ family',
        });
    if (inst.sourceAddress && (isIP(inst.sourceAddress) === 6) !== v6)
      ctx.addIssue({
        code: 'custom',
        path: ['sourceAddress'],
        message: 'not of the virtual addresses’ family',
      });
  });

/** The schema of `proxyha-vrrpd --config FILE` (YAML or JSON). */
export const vrrpDaemonConfigSchema = z
  .strictObject({
    transport: z.enum(['raw', 'loopback']).default('raw'),
    // keepalived's vrrp_strict: enforce Accept_Mode false with nftables
    strict: z.boolean().default(false),
    // keepalived's vrrp_rt_priority (SCHED_RR 1..99) and vrrp_priority (nice): keep adverts on
    // time when the host is loaded (needs CAP_SYS_NICE)
    realtimePriority: z.number().int().min(1).max(99).optional(),
    nice: z.number().int().min(-20).max(19).optional(),
    loopback: z
      .strictObject({
        port: z.number().int().min(1).max(65535).default(5112),
        ownerPort: z.number().int().min(1).max(65535).default(8074),
      })
      .default({ port: 5112, ownerPort: 8074 }),
    instances: z.array(instance).min(1),
    syncGroups: z
      .array(z.strictObject({ name: z.string().min(1), instances: z.array(z.string()).min(2) }))
      .default([]),
  })
  .superRefine((cfg, ctx) => {
    const names = new Map<string, number>();
    for (const [i, inst] of cfg.instances.entries()) {
      if (names.has(inst.name))
        ctx.addIssue({
          code: 'custom',
          path: ['instances', i, 'name'],
          message: `duplicate instance name ${inst.name}`,
        });
      names.set(inst.name, i);
      const clash = cfg.instances.findIndex(
        (o, j) =>
          j < i &&
          o.interface === inst.interface &&
          o.vrid === inst.vrid &&
          o.virtualIps[0]?.includes(':') === inst.virtualIps[0]?.includes(':'),
      );
      if (clash >= 0)
        ctx.addIssue({
          code: 'custom',
          path: ['instances', i, 'vrid'],
          message: `VRID ${inst.vrid} on ${inst.interface} is already used by instances[${clash}]`,
        });
      if (cfg.transport === 'loopback' && inst.unicastPeers.length === 0)
        ctx.addIssue({
          code: 'custom',
          path: ['instances', i, 'unicastPeers'],
          message: 'the loopback transport needs the other routers as unicast peers',
        });
      if (cfg.transport === 'loopback' && inst.vmac !== false)
        ctx.addIssue({
          code: 'custom',
          path: ['instances', i, 'vmac'],
          message: 'a virtual MAC needs the raw transport (a real interface)',
        });
      const vm = vmacOf(inst);
      if (vm) {
        const other = cfg.instances.findIndex(
          (o, j) => o.interface === vm.name || (j < i && vmacOf(o)?.name === vm.name),
        );
        if (other >= 0)
          ctx.addIssue({
            code: 'custom',
            path: ['instances', i, 'vmac'],
            message: `interface name ${vm.name} is already used by instances[${other}]`,
          });
      }
      if (cfg.transport === 'loopback' && !inst.sourceAddress)
        ctx.addIssue({
          code: 'custom',
          path: ['instances', i, 'sourceAddress'],
          message: 'the loopback transport needs this router’s own 127.0.0.x address',
        });
    }
    // the ARP / NA rate limits are per interface: instances announcing on one must agree
    const rates = new Map<string, { i: number; arp: number | undefined; na: number | undefined }>();
    for (const [i, inst] of cfg.instances.entries()) {
      const arp = inst.garp?.interval;
      const na = inst.garp?.naInterval ?? arp;
      if (arp === undefined && na === undefined) continue;
      const where = announceInterfaceOf(inst);
      const seen = rates.get(where);
      if (!seen) rates.set(where, { i, arp, na });
      else if (seen.arp !== arp || seen.na !== na)
        ctx.addIssue({
          code: 'custom',
          path: ['instances', i, 'garp', seen.arp !== arp ? 'interval' : 'naInterval'],
          message: `instances[${seen.i}] announces on ${where} too with another rate limit (it is per interface)`,
        });
    }
    const grouped = new Set<string>();
    for (const [g, group] of cfg.syncGroups.entries())
      for (const [k, member] of group.instances.entries()) {
        if (!names.has(member))
          ctx.addIssue({
            code: 'custom',
            path: ['syncGroups', g, 'instances', k],
            message: `no instance named ${member}`,
          });
        if (grouped.has(member))
          ctx.addIssue({
            code: 'custom',
            path: ['syncGroups', g, 'instances', k],
            message: `${member} is already in another sync group`,
          });
        grouped.add(member);
      }
  });

/** A validated daemon configuration (durations in milliseconds, defaults applied). */
export type VrrpDaemonConfig = z.output<typeof vrrpDaemonConfigSchema>;
/** One validated instance of {@link VrrpDaemonConfig}. */
export type VrrpInstanceConfig = VrrpDaemonConfig['instances'][number];

/** A VRRP virtual MAC: 00:00:5e:00:01:VRID (IPv4), 00:00:5e:00:02:VRID (IPv6), RFC 5798 §7.3. */
function virtualMacOf(vrid: number, family: 'ipv4' | 'ipv6'): string {
  return `00:00:5e:00:0${family === 'ipv4' ? 1 : 2}:${vrid.toString(16).padStart(2, '0')}`;
}

/** The virtual MAC interface of an instance with `vmac` set. */
export interface VmacConfig {
  /** The macvlan's name: `vrrp.<vrid>` (IPv4) or `vrrp6.<vrid>` (IPv6) unless configured. */
  readonly name: string;
  /** Its MAC address, 00:00:5e:00:01:VRID or 00:00:5e:00:02:VRID. */
  readonly mac: string;
  /** The instance's interface, which the macvlan sits on. */
  readonly parent: string;
  /** Address family of the instance. */
  readonly family: 'ipv4' | 'ipv6';
}

type InstanceInput = Pick<VrrpInstanceConfig, 'interface' | 'vrid' | 'virtualIps' | 'vmac'>;

/** The VMAC of an instance (keepalived's `use_vmac`), or undefined when it has none. */
export function vmacOf(inst: InstanceInput): VmacConfig | undefined {
  if (inst.vmac === false) return undefined;
  const family = inst.virtualIps[0]?.includes(':') ? 'ipv6' : 'ipv4';
  const name =
    (inst.vmac === true ? undefined : inst.vmac.name) ?? `vrrp${family === 'ipv4' ? '' : '6'}.${inst.vrid}`;
  return { name, mac: virtualMacOf(inst.vrid, family), parent: inst.interface, family };
}

/** The interface an instance's VIPs live on and are announced on: its VMAC, else its interface. */
export function announceInterfaceOf(inst: InstanceInput): string {
  return vmacOf(inst)?.name ?? inst.interface;
}

/**
 * The per-request burst policy of an instance in `@proxyha/garp`'s field names (its
 * `BurstPolicyInput`), or undefined when the instance sets none.
 */
export function garpBurstPolicyOf(inst: Pick<VrrpInstanceConfig, 'garp'>): GarpBurstPolicy | undefined {
  const g = inst.garp;
  if (!g) return undefined;
  const out: { -readonly [K in keyof GarpBurstPolicy]: GarpBurstPolicy[K] } = {};
  if (g.repeat !== undefined) out.repeat = g.repeat;
  if (g.secondBurstDelay !== undefined) out.secondBurstDelayMs = g.secondBurstDelay;
  if (g.refreshInterval !== undefined) out.refreshIntervalMs = g.refreshInterval;
  if (g.refreshRepeat !== undefined) out.refreshRepeat = g.refreshRepeat;
  if (g.reassertRepeat !== undefined) out.reassertRepeat = g.reassertRepeat;
  if (g.reassertDelay !== undefined) out.reassertDelayMs = g.reassertDelay;
  if (g.arpOperation !== undefined) out.arpOperation = g.arpOperation;
  if (g.naRouterFlag !== undefined) out.naRouterFlag = g.naRouterFlag;
  return Object.keys(out).length ? out : undefined;
}

/** Announcement burst settings in `@proxyha/garp`'s names (milliseconds); see its README. */
export interface GarpBurstPolicy {
  /** Frames per address at once on entering Master. */
  readonly repeat?: number;
  /** Delay of the second burst; 0 = none. */
  readonly secondBurstDelayMs?: number;
  /** Periodic refresh while Master; 0 = none. */
  readonly refreshIntervalMs?: number;
  /** Frames per address per refresh. */
  readonly refreshRepeat?: number;
  /** Frames per address when a lower-priority advert shows another Master; 0 = none. */
  readonly reassertRepeat?: number;
  /** Delay of the follow-up burst after a reassertion; 0 = none. */
  readonly reassertDelayMs?: number;
  /** `request` (default) or `reply`. */
  readonly arpOperation?: 'request' | 'reply';
  /** Set the router flag in neighbour adverts. */
  readonly naRouterFlag?: boolean;
}

/**
 * The per-interface ARP / NA rate limits of a config (`garp.interval`, `garp.naInterval`), as
 * `@proxyha/garp`'s `AnnouncePolicyInput.interfaces`.
 */
export function garpInterfaceRatesOf(
  config: Pick<VrrpDaemonConfig, 'instances'>,
): Record<string, { arpIntervalMs: number; naIntervalMs: number }> {
  const out: Record<string, { arpIntervalMs: number; naIntervalMs: number }> = {};
  for (const inst of config.instances) {
    const arp = inst.garp?.interval;
    const na = inst.garp?.naInterval ?? arp;
    if (arp === undefined && na === undefined) continue;
    out[announceInterfaceOf(inst)] = { arpIntervalMs: arp ?? 0, naIntervalMs: na ?? 0 };
  }
  return out;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );
}

/** Validates an already parsed config object; throws {@link VrrpConfigError} naming each bad path. */
export function parseVrrpDaemonConfig(data: unknown, source = 'config'): VrrpDaemonConfig {
  const r = vrrpDaemonConfigSchema.safeParse(data, { reportInput: true });
  if (r.success) return r.data;
  throw new VrrpConfigError(
    `${source}: invalid configuration`,
    r.error.issues.map((i) => {
      const got =
        'input' in i && i.input !== undefined && (typeof i.input !== 'object' || i.input === null)
          ? ` (got ${JSON.stringify(i.input)})`
          : '';
      return `${formatPath(i.path) || '(top level)'}: ${i.message}${got}`;
    }),
  );
}

/** Reads and validates a YAML (or JSON) config file. */
export async function loadVrrpDaemonConfig(file: string): Promise<VrrpDaemonConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new VrrpConfigError(`${file}: cannot read: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (e) {
    throw new VrrpConfigError(`${file}: not valid YAML: ${(e as Error).message}`);
  }
  return parseVrrpDaemonConfig(data, file);
}

// The proxyha-vrrpd configuration: validation (zod, internal), the typed result, and its mapping onto
// the pieces it configures (VRRP machines, garp policies, virtual MACs).
import {
  type ConfigIssue,
  formatIssues,
  type IpFamily,
  issuesFromSchema,
  parseCidr,
  parseDuration,
  parseIp,
  resultOrIssue,
} from '@proxyha/common';
import { readConfigFile } from '@proxyha/common/cli';
import type { BurstPolicyInput, InterfaceRate } from '@proxyha/garp';
import { defaultVmacName, type MachineConfig, type TrackerConfig, virtualMac } from '@proxyha/vrrp';
import { z } from 'zod';
import { VrrpdError } from '../errors';
import { type AuthHmacConfig, authHmacSchema } from './auth-hmac';
import { splitCommandLine } from './command-line';

/** A keepalived `vrrp_script`: a command run every `interval`; its exit status is the tracker's state. */
export interface TrackScriptConfig {
  /** Name, used in log lines (`VRRP_Script(NAME) failed`). */
  readonly name: string;
  /** Program and arguments (no shell). */
  readonly command: readonly string[];
  /** Milliseconds between runs. Default 2000. */
  readonly interval: number;
  /** Milliseconds before a run counts as failed. Default 2000. */
  readonly timeout: number;
  /** keepalived weight semantics: > 0 added while up, < 0 added while down, 0 forces Fault while down. */
  readonly weight: number;
  /** Consecutive successes from down to up. Default 1. */
  readonly rise: number;
  /** Consecutive failures from up to down. Default 1. */
  readonly fall: number;
}

/** A keepalived `track_file`: a file holding an integer, 0 (or no file) meaning healthy. */
export interface TrackFileConfig {
  /** Name in log lines; default the path. */
  readonly name?: string | undefined;
  /** The file. */
  readonly path: string;
  /** Weight, as for scripts. */
  readonly weight: number;
}

/** A keepalived `track_interface`: another interface's link state. */
export interface TrackInterfaceConfig {
  /** Interface name. */
  readonly name: string;
  /** Weight, as for scripts. */
  readonly weight: number;
}

/** Gratuitous ARP / unsolicited NA timing of one instance (keepalived's `garp_*`), durations in ms. */
export interface GarpConfig {
  /** `garp_master_repeat`: frames per address at once. */
  readonly repeat?: number | undefined;
  /** `garp_master_delay`: the second burst; 0 = none. */
  readonly secondBurstDelay?: number | undefined;
  /** `garp_master_refresh`: periodic refresh while master; 0 = none. */
  readonly refreshInterval?: number | undefined;
  /** `garp_master_refresh_repeat`. */
  readonly refreshRepeat?: number | undefined;
  /** `garp_lower_prio_repeat`: on a lower-priority advert; 0 = none. */
  readonly reassertRepeat?: number | undefined;
  /** `garp_lower_prio_delay`. */
  readonly reassertDelay?: number | undefined;
  /** `garp_interval`: minimum gap between ARPs on the interface. */
  readonly interval?: number | undefined;
  /** `gna_interval`: minimum gap between neighbour adverts on the interface (default: `interval`). */
  readonly naInterval?: number | undefined;
  /** `request` (keepalived, FRR) or `reply` (`arping -A`). */
  readonly arpOperation?: 'request' | 'reply' | undefined;
  /** Set the router flag in neighbour adverts (FRR does). */
  readonly naRouterFlag?: boolean | undefined;
}

/**
 * A notify command (keepalived's `notify_master` and the like): program and arguments run without a
 * shell, or a command line for `/bin/sh -c`.
 */
export interface NotifyCommandConfig {
  /** Program and arguments; with `shell`, the one command line. A configured string is split as keepalived splits it. */
  readonly command: readonly string[];
  /** Run `command[0]` with `/bin/sh -c` (the generic `notify` arguments are appended as `"$@"`). Default false. */
  readonly shell: boolean;
  /** Milliseconds before it gets SIGTERM (and SIGKILL 2 s later); default the top-level `notifyTimeout`. */
  readonly timeout?: number | undefined;
  /** `user` or `user:group` (names or ids) to run it as; default the top-level `scriptUser`, else the daemon's own. */
  readonly user?: string | undefined;
}

/**
 * The notify scripts of an instance or a sync group (keepalived's `notify_master`, `notify_backup`,
 * `notify_fault`, `notify_stop` and `notify`). The state-specific script starts first, then `notify`
 * with four more arguments: `INSTANCE` or `GROUP`, the name, `MASTER` / `BACKUP` / `FAULT` / `STOP`
 * and the priority (always 0 for a group).
 */
export interface NotifySettings {
  /** Run on entering MASTER (keepalived `notify_master`). */
  readonly notifyMaster?: NotifyCommandConfig | undefined;
  /** Run on entering BACKUP (keepalived `notify_backup`). */
  readonly notifyBackup?: NotifyCommandConfig | undefined;
  /** Run on entering FAULT (keepalived `notify_fault`). */
  readonly notifyFault?: NotifyCommandConfig | undefined;
  /** Run when the daemon stops (keepalived `notify_stop`); the daemon waits for it (up to its timeout). */
  readonly notifyStop?: NotifyCommandConfig | undefined;
  /** Run on every change with `GROUP|INSTANCE name state priority` appended (keepalived `notify`). */
  readonly notify?: NotifyCommandConfig | undefined;
}

/** One validated VRRP instance of {@link VrrpDaemonConfig} (durations in milliseconds, defaults applied). */
export interface VrrpInstanceConfig extends NotifySettings {
  /** Instance name (`VI_1`), in every log line. */
  readonly name: string;
  /** Interface the adverts go out on. */
  readonly interface: string;
  /** Virtual router id, 1..255. */
  readonly vrid: number;
  /** Priority 1..255 (255: address owner). Default 100. */
  readonly priority: number;
  /** VRRP version. Default 3. */
  readonly version: 2 | 3;
  /** Advertisement interval in ms. Default 1000. */
  readonly advertInterval: number;
  /** The virtual addresses with prefix lengths. */
  readonly virtualIps: readonly string[];
  /** Preempt a lower-priority master. Default true. */
  readonly preempt: boolean;
  /** keepalived's `preempt_delay` in ms. Default 0. */
  readonly preemptDelay: number;
  /**
   * A Master that stops keeps its VIPs until it hears the new master, at most this long in ms (0, the
   * default: they go with the priority 0 advert, as keepalived does). See `VrrpRouterOptions`.
   */
  readonly releaseVipsAfterSuccessor: number;
  /** keepalived's `unicast_peer`. */
  readonly unicastPeers: readonly string[];
  /** Accept_Mode. Default false. */
  readonly accept: boolean;
  /** Source of the adverts; default the interface's first IPv4 / link-local IPv6 address. */
  readonly sourceAddress?: string | undefined;
  /** v3 over IPv4 checksum form on send. */
  readonly checksum?: 'pseudo-header' | 'vrrp-only' | undefined;
  /** How a master answers a lower-priority advert. Default `rfc9568`. */
  readonly lowerPriorityResponse: 'rfc9568' | 'rfc5798';
  /** v2 simple password (keepalived `auth_type PASS`, `auth_pass`), at most 8 bytes. */
  readonly authPassword?: string | undefined;
  /** Track scripts. */
  readonly trackScripts: readonly TrackScriptConfig[];
  /** Track files. */
  readonly trackFiles: readonly TrackFileConfig[];
  /** Track interfaces. */
  readonly trackInterfaces: readonly TrackInterfaceConfig[];
  /** Gratuitous ARP / NA timing. */
  readonly garp?: GarpConfig | undefined;
  /** keepalived's `use_vmac`: `true`, or `{ name }` for another macvlan name. Default false. */
  readonly vmac: boolean | VmacOption;
  /** keepalived's `higher_prio_send_advert`. Default false. */
  readonly higherPrioritySendAdvert: boolean;
  /** HMAC authentication of adverts (keepalived's `auth_hmac`, draft-cassen-vrrp-auth-hmac). Default none. */
  readonly authHmac?: AuthHmacConfig | undefined;
}

/** The `vmac` setting with a macvlan name of one's own. */
export interface VmacOption {
  /** The macvlan's name (default `vrrp.<vrid>` / `vrrp6.<vrid>`). */
  readonly name?: string | undefined;
}

/** A validated `proxyha-vrrpd` configuration (durations in milliseconds, defaults applied). */
export interface VrrpDaemonConfig {
  /** `raw` (IP protocol 112 on the interfaces) or `loopback` (UDP on 127.0.0.x, no root). Default raw. */
  readonly transport: 'raw' | 'loopback';
  /** keepalived's `vrrp_strict`: enforce Accept_Mode false with nftables. Default false. */
  readonly strict: boolean;
  /** keepalived's `vrrp_rt_priority`: SCHED_RR 1..99 for the daemon. */
  readonly realtimePriority?: number | undefined;
  /** keepalived's `vrrp_priority`: a nice value. */
  readonly nice?: number | undefined;
  /** Ports of the loopback transport. */
  readonly loopback: LoopbackPorts;
  /** The instances. */
  readonly instances: readonly VrrpInstanceConfig[];
  /** keepalived's `vrrp_sync_group`s. */
  readonly syncGroups: readonly SyncGroupConfig[];
  /**
   * keepalived's `vrrp_notify_fifo` (or `notify_fifo`): a FIFO (created if missing) that gets one line
   * per event, in order: `INSTANCE "VI_1" MASTER 100`, `GROUP "G1" BACKUP 0`.
   */
  readonly notifyFifo?: string | undefined;
  /** keepalived's `vrrp_notify_fifo_script`: started with the FIFO path appended, to read it. */
  readonly notifyFifoScript?: NotifyCommandConfig | undefined;
  /** keepalived's `vrrp_notify_priority_changes`: FIFO lines `INSTANCE "VI_1" MASTER_PRIORITY 90`. Default false. */
  readonly notifyPriorityChanges: boolean;
  /** keepalived's `script_user`: `user` or `user:group` for notify scripts without a `user`. */
  readonly scriptUser?: string | undefined;
  /** Milliseconds a notify script may run before SIGTERM, unless it sets its own `timeout`. Default 30000. */
  readonly notifyTimeout: number;
}

/** Ports of the unprivileged loopback transport. */
export interface LoopbackPorts {
  /** UDP port every router of the cluster sends its adverts to. Default 5112. */
  readonly port: number;
  /** TCP port the VIP owner answers on (the demo's "VIP held"). Default 8074. */
  readonly ownerPort: number;
}

/** A keepalived `vrrp_sync_group`: instances that change state together. */
export interface SyncGroupConfig extends NotifySettings {
  /** The group's name, in log lines. */
  readonly name: string;
  /** Its member instances (at least two). */
  readonly instances: readonly string[];
}

const duration = (max?: number) =>
  z
    .union([z.string(), z.number()])
    .transform((v, ctx) => resultOrIssue(parseDuration(v, max === undefined ? {} : { max }), ctx));
const weight = z.number().int().min(-253).max(253).default(0);
const ip = z.string().refine((s) => parseIp(s) !== undefined, { message: 'not an IP address' });
const cidr = z.string().refine((s) => parseCidr(s) !== undefined, {
  message: 'not an address with an optional prefix length (192.168.77.74/24, fd77::74/64)',
});
const ifname = z
  .string()
  .regex(
    /^[A-Za-z0-9_.:@-]{1,15}$/,
    'not an interface name (1 to 15 letters, digits, "_", ".", ":", "@", "-")',
  );
const DAY = 86_400_000;
const userSpec = z
  .string()
  .regex(
    /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/,
    'not a user name or id, optionally with ":group" (nobody, 65534, proxy:proxy)',
  );
// an argv array, a command line (split as keepalived splits it), or { command, shell, timeout, user }
const notifyCommand = z
  .preprocess(
    (v) => (typeof v === 'string' || Array.isArray(v) ? { command: v } : v),
    z.strictObject({
      command: z.union([z.array(z.string()).min(1), z.string().min(1)]),
      shell: z.boolean().default(false),
      timeout: z
        .union([z.string(), z.number()])
        .transform((v, ctx) => resultOrIssue(parseDuration(v, { min: 1, max: DAY }), ctx))
        .optional(),
      user: userSpec.optional(),
    }),
  )
  .transform((c, ctx): NotifyCommandConfig => {
    let command: string[];
    if (c.shell) {
      if (typeof c.command !== 'string') {
        ctx.addIssue({
          code: 'custom',
          path: ['command'],
          message: 'shell: true takes the command line as one string',
        });
        return z.NEVER;
      }
      command = [c.command];
    } else if (typeof c.command === 'string') {
      const words = splitCommandLine(c.command);
      if (!words.ok) {
        ctx.addIssue({
          code: 'custom',
          path: ['command'],
          message: words.error,
          params: { valueShown: true },
        });
        return z.NEVER;
      }
      command = words.value;
    } else command = [...c.command];
    if (!command[0] || command.some((w) => w.includes('\0'))) {
      ctx.addIssue({
        code: 'custom',
        path: ['command'],
        message: 'needs a program name, and no NUL characters',
      });
      return z.NEVER;
    }
    return {
      command,
      shell: c.shell,
      ...(c.timeout === undefined ? {} : { timeout: c.timeout }),
      ...(c.user === undefined ? {} : { user: c.user }),
    };
  });
const notifySettings = {
  notifyMaster: notifyCommand.optional(),
  notifyBackup: notifyCommand.optional(),
  notifyFault: notifyCommand.optional(),
  notifyStop: notifyCommand.optional(),
  notify: notifyCommand.optional(),
};

const instance = z
  .strictObject({
    name: z.string().regex(/^[\w.-]+$/, 'letters, digits, "_", "." and "-" only'),
    interface: ifname,
    vrid: z.number().int().min(1).max(255),
    priority: z.number().int().min(1).max(255).default(100),
    version: z.union([z.literal(2), z.literal(3)]).default(3),
    advertInterval: duration().default(1000),
    virtualIps: z.array(cidr).min(1),
    preempt: z.boolean().default(true),
    preemptDelay: duration().default(0),
    releaseVipsAfterSuccessor: duration().default(0),
    unicastPeers: z.array(ip).default([]),
    accept: z.boolean().default(false),
    sourceAddress: ip.optional(),
    checksum: z.enum(['pseudo-header', 'vrrp-only']).optional(),
    lowerPriorityResponse: z.enum(['rfc9568', 'rfc5798']).default('rfc9568'),
    authPassword: z
      .string()
      .refine((p) => new TextEncoder().encode(p).length <= 8, { message: 'at most 8 bytes' })
      .optional(),
    trackScripts: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          command: z.array(z.string()).min(1),
          interval: duration().default(2000),
          timeout: duration().default(2000),
          weight,
          rise: z.number().int().min(1).default(1),
          fall: z.number().int().min(1).default(1),
        }),
      )
      .default([]),
    trackFiles: z
      .array(z.strictObject({ name: z.string().min(1).optional(), path: z.string().min(1), weight }))
      .default([]),
    trackInterfaces: z.array(z.strictObject({ name: ifname, weight })).default([]),
    garp: z
      .strictObject({
        repeat: z.number().int().min(1).max(1000).optional(),
        secondBurstDelay: duration(DAY).optional(),
        refreshInterval: duration(DAY).optional(),
        refreshRepeat: z.number().int().min(1).max(1000).optional(),
        reassertRepeat: z.number().int().min(0).max(1000).optional(),
        reassertDelay: duration(DAY).optional(),
        interval: duration(DAY).optional(),
        naInterval: duration(DAY).optional(),
        arpOperation: z.enum(['request', 'reply']).optional(),
        naRouterFlag: z.boolean().optional(),
      })
      .optional(),
    vmac: z.union([z.boolean(), z.strictObject({ name: ifname.optional() })]).default(false),
    higherPrioritySendAdvert: z.boolean().default(false),
    authHmac: authHmacSchema.optional(),
    ...notifySettings,
  })
  .superRefine((inst, ctx) => {
    const families = new Set(inst.virtualIps.map((v) => parseCidr(v)?.family));
    if (families.size > 1)
      ctx.addIssue({
        code: 'custom',
        path: ['virtualIps'],
        message: 'mixes IPv4 and IPv6: use one instance per family',
      });
    const family = familyOf(inst);
    if (inst.version === 2) {
      if (family === 'ipv6')
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
    if (inst.authHmac && inst.authPassword !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['authPassword'],
        message: 'authHmac replaces the v2 password: configure one of them',
      });
    for (const [i, peer] of inst.unicastPeers.entries())
      if (parseIp(peer)?.family !== family)
        ctx.addIssue({
          code: 'custom',
          path: ['unicastPeers', i],
          message: 'not of the virtual addresses’ family',
        });
    if (inst.sourceAddress && parseIp(inst.sourceAddress)?.family !== family)
      ctx.addIssue({
        code: 'custom',
        path: ['sourceAddress'],
        message: 'not of the virtual addresses’ family',
      });
  });

const schema = z
  .strictObject({
    transport: z.enum(['raw', 'loopback']).default('raw'),
    strict: z.boolean().default(false),
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
      .array(
        z.strictObject({ name: z.string().min(1), instances: z.array(z.string()).min(2), ...notifySettings }),
      )
      .default([]),
    notifyFifo: z
      .string()
      .refine((p) => p.startsWith('/') && !p.endsWith('/'), { message: 'not an absolute file path' })
      .optional(),
    notifyFifoScript: notifyCommand
      .refine((c) => c.timeout === undefined, {
        path: ['timeout'],
        message: 'the FIFO script runs as long as the daemon: it has no timeout',
      })
      .optional(),
    notifyPriorityChanges: z.boolean().default(false),
    scriptUser: userSpec.optional(),
    notifyTimeout: z
      .union([z.string(), z.number()])
      .transform((v, ctx) => resultOrIssue(parseDuration(v, { min: 1, max: DAY }), ctx))
      .default(30_000),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.notifyFifoScript && cfg.notifyFifo === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['notifyFifoScript'],
        message: 'needs notifyFifo (the FIFO it reads)',
      });
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
          j < i && o.interface === inst.interface && o.vrid === inst.vrid && familyOf(o) === familyOf(inst),
      );
      if (clash >= 0)
        ctx.addIssue({
          code: 'custom',
          path: ['instances', i, 'vrid'],
          message: `VRID ${inst.vrid} on ${inst.interface} is already used by instances[${clash}]`,
        });
      if (cfg.transport === 'loopback') {
        if (inst.unicastPeers.length === 0)
          ctx.addIssue({
            code: 'custom',
            path: ['instances', i, 'unicastPeers'],
            message: 'the loopback transport needs the other routers as unicast peers',
          });
        if (inst.vmac !== false)
          ctx.addIssue({
            code: 'custom',
            path: ['instances', i, 'vmac'],
            message: 'a virtual MAC needs the raw transport (a real interface)',
          });
        if (!inst.sourceAddress)
          ctx.addIssue({
            code: 'custom',
            path: ['instances', i, 'sourceAddress'],
            message: 'the loopback transport needs this router’s own 127.0.0.x address',
          });
      }
      // keepalived: strict mode requires auth_hmac mode enforce
      if (cfg.strict && inst.authHmac && inst.authHmac.mode !== 'enforce')
        ctx.addIssue({
          code: 'custom',
          path: ['instances', i, 'authHmac', 'mode'],
          message: `strict mode requires mode enforce, got ${inst.authHmac.mode}`,
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

// the schema's output is exactly the documented interface (checked at compile time)
const checkOutput = (c: z.output<typeof schema>): VrrpDaemonConfig => c;

/**
 * Validates an already parsed configuration (YAML or JSON) and applies defaults.
 *
 * @param data - the parsed document
 * @param source - how to name it in the message (the file name)
 * @throws {@link VrrpdError} `VRRPD_CONFIG_INVALID`, with `details.issues` naming each bad path and value
 */
export function parseVrrpDaemonConfig(data: unknown, source = 'config'): VrrpDaemonConfig {
  const r = schema.safeParse(data, { reportInput: true });
  if (r.success) return checkOutput(r.data);
  const issues: ConfigIssue[] = issuesFromSchema(r.error.issues, data);
  throw new VrrpdError('VRRPD_CONFIG_INVALID', formatIssues(source, issues), { details: { issues } });
}

function familyOf(inst: Pick<VrrpInstanceConfig, 'virtualIps'>): IpFamily {
  return parseCidr(inst.virtualIps[0])?.family ?? 'ipv4';
}

/** The virtual MAC interface of an instance with `vmac` set. */
export interface VmacConfig {
  /** The macvlan's name: `vrrp.<vrid>` (IPv4) or `vrrp6.<vrid>` (IPv6) unless configured. */
  readonly name: string;
  /** Its MAC address, 00:00:5e:00:01:VRID or 00:00:5e:00:02:VRID (RFC 5798 §7.3). */
  readonly mac: string;
  /** The instance's interface, which the macvlan sits on. */
  readonly parent: string;
  /** Address family of the instance. */
  readonly family: IpFamily;
}

/** The VMAC of an instance (keepalived's `use_vmac`), or undefined when it has none. */
export function vmacOf(
  inst: Pick<VrrpInstanceConfig, 'interface' | 'vrid' | 'virtualIps' | 'vmac'>,
): VmacConfig | undefined {
  if (inst.vmac === false) return undefined;
  const family = familyOf(inst);
  const name = (inst.vmac === true ? undefined : inst.vmac.name) ?? defaultVmacName(inst.vrid, family);
  return { name, mac: virtualMac(inst.vrid, family), parent: inst.interface, family };
}

/** The interface an instance's VIPs live on and are announced on: its VMAC, else its interface. */
export function announceInterfaceOf(
  inst: Pick<VrrpInstanceConfig, 'interface' | 'vrid' | 'virtualIps' | 'vmac'>,
): string {
  return vmacOf(inst)?.name ?? inst.interface;
}

/**
 * The per-request burst policy of an instance in `@proxyha/garp`'s terms, or undefined when the
 * instance sets none.
 */
export function garpBurstPolicyOf(inst: Pick<VrrpInstanceConfig, 'garp'>): BurstPolicyInput | undefined {
  const g = inst.garp;
  if (!g) return undefined;
  const out: { -readonly [K in keyof BurstPolicyInput]: BurstPolicyInput[K] } = {};
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

/**
 * The per-interface ARP / NA rate limits of a config (`garp.interval`, `garp.naInterval`), as
 * `@proxyha/garp`'s `AnnouncePolicyInput.interfaces`.
 */
export function garpInterfaceRatesOf(
  config: Pick<VrrpDaemonConfig, 'instances'>,
): Record<string, InterfaceRate> {
  const out: Record<string, InterfaceRate> = {};
  for (const inst of config.instances) {
    const arp = inst.garp?.interval;
    const na = inst.garp?.naInterval ?? arp;
    if (arp === undefined && na === undefined) continue;
    out[announceInterfaceOf(inst)] = { arpIntervalMs: arp ?? 0, naIntervalMs: na ?? 0 };
  }
  return out;
}

/** The tracker names the daemon reports for an instance: `script:NAME`, `file:NAME`, `interface:NAME`. */
export function trackersOf(inst: VrrpInstanceConfig): TrackerConfig[] {
  return [
    ...inst.trackScripts.map((s) => ({
      name: `script:${s.name}`,
      kind: 'script' as const,
      weight: s.weight,
    })),
    ...inst.trackFiles.map((f) => ({
      name: `file:${f.name ?? f.path}`,
      kind: 'file' as const,
      weight: f.weight,
    })),
    ...inst.trackInterfaces.map((t) => ({
      name: `interface:${t.name}`,
      kind: 'interface' as const,
      weight: t.weight,
    })),
  ];
}

/**
 * The `@proxyha/vrrp` machine configuration of a validated instance.
 *
 * @param inst - the instance
 * @param primaryAddress - the address its adverts are sent from
 */
export function toMachineConfig(inst: VrrpInstanceConfig, primaryAddress: string): MachineConfig {
  return {
    name: inst.name,
    vrid: inst.vrid,
    version: inst.version,
    priority: inst.priority,
    advertIntervalMs: inst.advertInterval,
    primaryAddress,
    virtualIps: inst.virtualIps,
    preempt: inst.preempt,
    preemptDelayMs: inst.preemptDelay,
    accept: inst.accept,
    unicastPeers: inst.unicastPeers,
    lowerPriorityResponse: inst.lowerPriorityResponse,
    auth: inst.authPassword ? { type: 'simple', password: inst.authPassword } : { type: 'none' },
    trackers: trackersOf(inst),
  };
}

/**
 * Reads and validates a YAML (or JSON) configuration file.
 *
 * @param file - the path
 * @throws `COMMON_CONFIG_READ` when it cannot be read or parsed, {@link VrrpdError} `VRRPD_CONFIG_INVALID`
 *   when it does not validate
 */
export async function loadVrrpDaemonConfig(file: string): Promise<VrrpDaemonConfig> {
  return parseVrrpDaemonConfig(await readConfigFile(file), file);
}

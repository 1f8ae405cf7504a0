// keepalived.conf statements -> the proxyha-vrrpd configuration document (what its YAML holds), with a
// note for every setting that has no equivalent or behaves differently. Values are computed as keepalived
// 2.2.7 computes them (vrrp_complete_instance): its defaults, its strict-mode resets, its sync-group and
// address-owner tracking rules, so that the imported node is elected as the keepalived node would be.
import { formatDuration, type IpFamily, parseCidr, parseIp } from '@proxyha/common';
import { type KaNote, type KaStatement, splitQuoted } from './parse';

/** A document key that the daemon's validator may not know yet: dropped with a note if it refuses it. */
export interface OptionalKey {
  /** Path of the key in the document. */
  readonly path: readonly (string | number)[];
  /** The keepalived statement it came from. */
  readonly from: KaStatement;
}

/** The mapped document with what could not be mapped. */
export interface MappedConfig {
  /** The proxyha-vrrpd configuration document (durations as strings). */
  readonly document: Record<string, unknown>;
  /** Settings not imported or imported with a difference, in file order. */
  readonly notes: KaNote[];
  /** Keys that are dropped (with a note) when the validator does not accept them. */
  readonly optional: OptionalKey[];
  /** The `vrrp_instance` statement of each imported instance, by index in `document.instances`. */
  readonly instanceSources: KaStatement[];
  /** The `vrrp_sync_group` statement of each imported group, by index in `document.syncGroups`. */
  readonly syncGroupSources: KaStatement[];
}

type Notify = 'notifyMaster' | 'notifyBackup' | 'notifyFault' | 'notifyStop' | 'notify';
const NOTIFY_KEYS: Readonly<Record<string, Notify>> = {
  notify_master: 'notifyMaster',
  notify_backup: 'notifyBackup',
  notify_fault: 'notifyFault',
  notify_stop: 'notifyStop',
  notify: 'notify',
};

interface Garp {
  delay?: number;
  repeat?: number;
  refresh?: number;
  refreshRepeat?: number;
  lowerPrioDelay?: number;
  lowerPrioRepeat?: number;
}

interface ScriptDef {
  readonly name: string;
  argv?: string[];
  interval: number;
  timeout?: number;
  weight: number;
  reverse: boolean;
  rise: number;
  fall: number;
}

interface FileDef {
  readonly name: string;
  path?: string;
  weight: number;
  reverse: boolean;
}

interface Tracked<D> {
  readonly def: D;
  weight: number;
  readonly reverse: boolean;
  readonly stmt: KaStatement;
  /** Set by a sync group's own track_* block (its weights survive the member rule). */
  readonly fromGroup?: boolean;
}

interface Vip {
  readonly text: string;
  readonly family: IpFamily;
  readonly stmt: KaStatement;
  readonly dev?: string | undefined;
  readonly options: readonly string[];
}

interface ScriptLine {
  /** The document value: an argv array, or `{ command, shell, user }`. */
  readonly value: unknown;
  readonly stmt: KaStatement;
}

interface InstanceDraft {
  readonly stmt: KaStatement;
  readonly name: string;
  /** keepalived copies the global gratuitous ARP settings when it meets the instance. */
  readonly garpBase: Required<Pick<Garp, 'delay' | 'repeat' | 'refresh' | 'refreshRepeat'>>;
  state?: { value: 'MASTER' | 'BACKUP'; stmt: KaStatement };
  iface?: string;
  vrid?: number;
  priority?: number;
  advert?: { us: number; stmt: KaStatement };
  version?: { value: 2 | 3; stmt: KaStatement };
  vips: Vip[];
  family?: IpFamily;
  nopreempt?: KaStatement;
  preemptDelay?: { us: number; stmt: KaStatement };
  source?: { ip: string; stmt: KaStatement };
  peers: { ip: string; family: IpFamily; stmt: KaStatement }[];
  /** The unicast_peer block, and whether keepalived checks unicast sources (check_unicast_src, min/max_ttl). */
  peerBlock?: KaStatement;
  checkUnicastSrc?: boolean;
  auth?: { type?: string; pass?: string; stmt: KaStatement };
  hmac?: { value: Record<string, unknown>; stmt: KaStatement };
  scripts: Tracked<ScriptDef>[];
  interfaces: Tracked<{ readonly name: string }>[];
  files: Tracked<FileDef>[];
  vmac?: { name?: string; stmt: KaStatement };
  xmitBase: boolean;
  accept?: boolean;
  strict?: { value: boolean; stmt: KaStatement };
  garp: Garp;
  garpStmts: Partial<Record<keyof Garp, KaStatement>>;
  lowerPrioNoAdvert?: { value: boolean; stmt: KaStatement };
  higherPrioSendAdvert?: { value: boolean; stmt: KaStatement };
  notify: Partial<Record<Notify, ScriptLine>>;
  /** The sync group it ended in. */
  group?: GroupDraft;
}

interface GroupDraft {
  readonly stmt: KaStatement;
  readonly name: string;
  members?: { name: string; stmt: KaStatement }[];
  scripts: Tracked<ScriptDef>[];
  interfaces: Tracked<{ readonly name: string }>[];
  files: Tracked<FileDef>[];
  notify: Partial<Record<Notify, ScriptLine>>;
  trackingWeight: boolean;
  /** The imported instances that joined it. */
  joined: InstanceDraft[];
}

const NO_EQUIVALENT = 'no equivalent in proxyha-vrrpd';
const EMAIL = 'no equivalent: proxyha-vrrpd sends no e-mail (use a notify script)';
const LVS = 'no equivalent: LVS virtual servers and health checkers are not part of proxyha-vrrpd';
const STATIC =
  'no equivalent: proxyha-vrrpd manages only the virtual addresses (configure static addresses, routes and rules on the host)';
const ROUTES =
  'no equivalent: proxyha-vrrpd moves only addresses (add routes and rules from a notify script)';
const BFD = 'no equivalent: proxyha-vrrpd has no BFD (track a script instead)';
const PROCESS = 'no equivalent: proxyha-vrrpd tracks no processes (use a vrrp_script such as `pidof NAME`)';
const FIREWALL =
  'no equivalent: proxyha-vrrpd enforces no_accept with its own nftables table (inet proxyha_vrrp) when strict';

const TOP_LEVEL: Readonly<Record<string, string>> = {
  static_ipaddress: STATIC,
  static_routes: STATIC,
  static_rules: STATIC,
  track_group: STATIC,
  virtual_server: LVS,
  virtual_server_group: LVS,
  bfd_instance: BFD,
  vrrp_track_process: PROCESS,
  linkbeat_interfaces: 'no equivalent: proxyha-vrrpd learns link state from rtnetlink',
  interface_up_down_delays:
    'no equivalent: proxyha-vrrpd changes state as soon as rtnetlink reports a link change',
  net_namespace: 'no equivalent: run proxyha-vrrpd inside the namespace (ip netns exec)',
  net_namespace_ipvs: LVS,
  instance: 'no equivalent: proxyha-vrrpd runs one configuration per process',
};

const GLOBAL: Readonly<Record<string, string>> = {
  router_id: 'no equivalent: proxyha-vrrpd has no router id (its log lines name the instance)',
  notification_email: EMAIL,
  notification_email_from: EMAIL,
  smtp_server: EMAIL,
  smtp_connect_timeout: EMAIL,
  smtp_helo_name: EMAIL,
  smtp_alert: EMAIL,
  smtp_alert_vrrp: EMAIL,
  smtp_alert_checker: EMAIL,
  email_faults: EMAIL,
  enable_script_security:
    "no equivalent: proxyha-vrrpd does not check scripts' paths (run it as a user that cannot be tricked)",
  vrrp_mcast_group4: 'no equivalent: proxyha-vrrpd always advertises to 224.0.0.18',
  vrrp_mcast_group6: 'no equivalent: proxyha-vrrpd always advertises to ff02::12',
  vrrp_iptables: FIREWALL,
  vrrp_ipsets: FIREWALL,
  nftables: FIREWALL,
  nftables_priority: FIREWALL,
  nftables_counters: FIREWALL,
  nftables_ifindex: FIREWALL,
  vrrp_skip_check_adv_addr: "no equivalent: proxyha-vrrpd checks every advert's address list",
  vrrp_garp_extra_if: NO_EQUIVALENT,
  vrrp_down_timer_adverts: 'no equivalent: proxyha-vrrpd uses the RFC Master_Down_Interval (3 adverts)',
};

const INSTANCE: Readonly<Record<string, string>> = {
  smtp_alert: EMAIL,
  virtual_routes: ROUTES,
  virtual_rules: ROUTES,
  track_process: PROCESS,
  track_bfd: BFD,
  lvs_sync_daemon_interface: LVS,
  dont_track_primary:
    "no equivalent: proxyha-vrrpd always tracks the instance's own interface (its link down means FAULT)",
  mcast_dst_ip: 'no equivalent: proxyha-vrrpd always advertises to 224.0.0.18 / ff02::12',
  unicast_ttl: 'no equivalent: proxyha-vrrpd sends with TTL / hop limit 255',
  down_timer_adverts: 'no equivalent: proxyha-vrrpd uses the RFC Master_Down_Interval (3 adverts)',
  garp_extra_if: NO_EQUIVALENT,
  vmac_garp_intvl: NO_EQUIVALENT,
  use_vmac_addr: NO_EQUIVALENT,
  use_ipvlan: 'no equivalent: proxyha-vrrpd supports macvlan VMACs only (use_vmac)',
  vrf: NO_EQUIVALENT,
  track_src_ip: NO_EQUIVALENT,
  promote_secondaries: NO_EQUIVALENT,
  skip_check_adv_addr: "no equivalent: proxyha-vrrpd checks every advert's address list",
  old_unicast_checksum: 'no equivalent: proxyha-vrrpd computes the RFC 5798 checksum',
  unicast_fault_no_peer: NO_EQUIVALENT,
  notify_deleted: 'no equivalent: proxyha-vrrpd has no reload',
  notify_master_rx_lower_pri: NO_EQUIVALENT,
  notify_priority_changes: 'no equivalent per instance (only the global vrrp_notify_priority_changes)',
  kernel_rx_buf_size: NO_EQUIVALENT,
  linkbeat_use_polling: 'no equivalent: proxyha-vrrpd learns link state from rtnetlink',
  debug: NO_EQUIVALENT,
};

const GROUP: Readonly<Record<string, string>> = {
  smtp_alert: EMAIL,
  track_process: PROCESS,
  track_bfd: BFD,
  notify_priority_changes: 'no equivalent per group (only the global vrrp_notify_priority_changes)',
};

/** A keyword keepalived itself does not know in this block. */
const UNKNOWN = (block: string) => `not imported: not a ${block} setting of keepalived (it ignores it too)`;

/** keepalived's defaults for the global gratuitous ARP settings (ms, counts). */
const GARP_DEFAULTS = { delay: 5000, repeat: 5, refresh: 0, refreshRepeat: 1 } as const;

/** The setting as shown in a note: its words, and `{ ... }` when it has a block. */
function shown(s: KaStatement): string {
  const text = s.words.join(' ') + (s.block ? ' { ... }' : '');
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Seconds with up to 6 decimals (keepalived's read_decimal_unsigned) as microseconds. */
function microseconds(text: string | undefined): number | undefined {
  const m = text === undefined ? null : /^(\d+)(?:\.(\d{1,6})\d*)?$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * 1e6 + Number((m[2] ?? '').padEnd(6, '0'));
}

/** Milliseconds (possibly fractional) as a duration string the daemon reads. */
function duration(ms: number): string {
  return formatDuration(Math.round(ms * 1000) / 1000);
}

function integer(text: string | undefined): number | undefined {
  return text !== undefined && /^[-+]?\d+$/.test(text) ? Number(text) : undefined;
}

/** keepalived's check_true_false; a missing value is true. */
function bool(text: string | undefined): boolean | undefined {
  if (text === undefined) return true;
  if (['true', 'on', 'yes'].includes(text)) return true;
  if (['false', 'off', 'no'].includes(text)) return false;
  return undefined;
}

/**
 * A notify-style script setting, `KEYWORD "PROGRAM ARGS" [user [group]]`, as the daemon's notify command:
 * the argv keepalived makes of it, with `{ command, user }` when a user is given and `{ command, shell }`
 * for a script keepalived runs through the shell. Undefined without a script.
 */
function notifyValue(s: KaStatement): unknown {
  const line = splitQuoted(s.raw, false);
  const script = line?.[1];
  const argv = script === undefined ? undefined : splitQuoted(script, true);
  if (!argv || argv.length === 0 || argv[0] === '') return undefined;
  const { command, shell } = commandOf(argv);
  const user = line?.[2] === undefined ? undefined : line.slice(2, 4).join(':');
  if (!shell && user === undefined) return command;
  return {
    command: shell ? (command[2] as string) : command,
    ...(shell ? { shell: true } : {}),
    ...(user === undefined ? {} : { user }),
  };
}

/** keepalived runs a script starting with `</` through /bin/sh (system()), others directly. */
function commandOf(argv: string[]): { command: string[]; shell: boolean } {
  const first = argv[0] as string;
  if (/^<[ \t]*\//.test(first)) return { command: ['/bin/sh', '-c', argv.join(' ')], shell: true };
  return { command: argv, shell: false };
}

const IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/;

/** Maps parsed keepalived statements to the proxyha-vrrpd configuration document. */
export function mapKeepalived(statements: readonly KaStatement[]): MappedConfig {
  return new Mapper().run(statements);
}

class Mapper {
  readonly notes: KaNote[] = [];
  readonly optional: OptionalKey[] = [];
  readonly scripts = new Map<string, ScriptDef>();
  readonly files = new Map<string, FileDef>();
  readonly drafts: InstanceDraft[] = [];
  readonly groups: GroupDraft[] = [];
  readonly garpGroups = new Map<string, { garp?: number; gna?: number }>();
  readonly g = {
    version: undefined as 2 | 3 | undefined,
    strict: false,
    garp: { ...GARP_DEFAULTS } as Required<Pick<Garp, 'delay' | 'repeat' | 'refresh' | 'refreshRepeat'>> &
      Garp,
    garpInterval: undefined as number | undefined,
    gnaInterval: undefined as number | undefined,
    lowerPrioNoAdvert: false,
    higherPrioSendAdvert: false,
    checkUnicastSrc: false,
    nice: undefined as number | undefined,
    realtime: undefined as number | undefined,
    top: [] as { key: string; value: unknown; stmt: KaStatement }[],
  };

  note(s: KaStatement, reason: string, setting = shown(s)): void {
    this.notes.push({ file: s.file, line: s.line, setting, reason });
  }

  /** The block of a statement that needs one (a note and nothing when it has none). */
  block(s: KaStatement): KaStatement[] {
    if (s.block) return s.block;
    this.note(s, 'not imported: expects a { } block');
    return [];
  }

  invalid(s: KaStatement, what: string): void {
    this.note(s, `not imported: ${what} (keepalived ignores it too)`);
  }

  run(statements: readonly KaStatement[]): MappedConfig {
    for (const s of statements) {
      const kw = s.words[0] as string;
      switch (kw) {
        case 'global_defs':
          for (const d of this.block(s)) this.globalDef(d);
          break;
        case 'vrrp_script':
          this.scriptDef(s);
          break;
        case 'track_file':
        case 'vrrp_track_file':
          this.fileDef(s);
          break;
        case 'vrrp_instance':
          this.instance(s);
          break;
        case 'vrrp_sync_group':
          this.group(s);
          break;
        case 'garp_group':
          this.garpGroup(s);
          break;
        default:
          this.note(s, TOP_LEVEL[kw] ?? NO_EQUIVALENT);
      }
    }
    return this.finish();
  }

  // --- global_defs ----------------------------------------------------------------------------------

  globalDef(s: KaStatement) {
    const [kw, arg] = s.words as [string, string | undefined];
    const g = this.g;
    const garpCount = (key: 'repeat' | 'refreshRepeat' | 'lowerPrioRepeat') => {
      const n = integer(arg);
      if (n === undefined || n < 0) this.invalid(s, `${kw} needs a count`);
      else g.garp[key] = n;
    };
    const garpSeconds = (key: 'delay' | 'refresh' | 'lowerPrioDelay') => {
      const n = integer(arg);
      if (n === undefined || n < 0) this.invalid(s, `${kw} needs whole seconds`);
      else g.garp[key] = n * 1000;
    };
    const flag = (set: (v: boolean) => void) => {
      const v = bool(arg);
      if (v === undefined) this.invalid(s, `${kw} needs on|off|true|false|yes|no`);
      else set(v);
    };
    switch (kw) {
      case 'vrrp_version': {
        const v = integer(arg);
        if (v === 2 || v === 3) g.version = v;
        else this.invalid(s, 'the version is 2 or 3');
        return;
      }
      case 'vrrp_strict':
        g.strict = true;
        return;
      case 'vrrp_garp_master_delay':
        return garpSeconds('delay');
      case 'vrrp_garp_master_repeat':
        return garpCount('repeat');
      case 'vrrp_garp_master_refresh':
        return garpSeconds('refresh');
      case 'vrrp_garp_master_refresh_repeat':
        return garpCount('refreshRepeat');
      case 'vrrp_garp_lower_prio_delay':
        return garpSeconds('lowerPrioDelay');
      case 'vrrp_garp_lower_prio_repeat':
        return garpCount('lowerPrioRepeat');
      case 'vrrp_garp_interval':
      case 'vrrp_gna_interval': {
        const us = microseconds(arg);
        if (us === undefined || us === 0) this.invalid(s, `${kw} needs seconds > 0`);
        else if (kw === 'vrrp_garp_interval') g.garpInterval = us / 1000;
        else g.gnaInterval = us / 1000;
        return;
      }
      case 'vrrp_min_garp':
        return flag((v) => {
          if (!v) return;
          // keepalived: one ARP per address, no second burst, no refresh (settings already made stay)
          if (g.garp.repeat === GARP_DEFAULTS.repeat) g.garp.repeat = 1;
          if (g.garp.refresh === GARP_DEFAULTS.refresh) g.garp.refresh = 0;
          if (g.garp.refreshRepeat === GARP_DEFAULTS.refreshRepeat) g.garp.refreshRepeat = 0;
          if (g.garp.delay === GARP_DEFAULTS.delay) g.garp.delay = 0;
        });
      case 'vrrp_lower_prio_no_advert':
        return flag((v) => {
          g.lowerPrioNoAdvert = v;
        });
      case 'vrrp_higher_prio_send_advert':
        return flag((v) => {
          g.higherPrioSendAdvert = v;
        });
      case 'vrrp_priority': {
        const n = integer(arg);
        if (n === undefined || n < -20 || n > 19) this.invalid(s, 'vrrp_priority is a nice value -20..19');
        else g.nice = n;
        return;
      }
      case 'vrrp_rt_priority': {
        const n = integer(arg);
        if (n === undefined || n < 1 || n > 99) this.invalid(s, 'vrrp_rt_priority is 1..99');
        else g.realtime = n;
        return;
      }
      case 'vrrp_check_unicast_src':
        g.checkUnicastSrc = true; // what proxyha-vrrpd always does
        return;
      case 'notify_fifo':
      case 'vrrp_notify_fifo':
        return this.fifo(s);
      case 'notify_fifo_script':
      case 'vrrp_notify_fifo_script':
        return this.fifoScript(s);
      case 'vrrp_notify_priority_changes':
        return flag((v) => this.topKey('notifyPriorityChanges', v, s));
      case 'script_user':
        if (arg === undefined) return this.invalid(s, 'script_user needs a user name');
        return this.topKey('scriptUser', s.words.slice(1, 3).join(':'), s);
      default:
        this.note(
          s,
          GLOBAL[kw] ?? (/^(lvs|checker|bfd)_/.test(kw) ? (kw.startsWith('bfd') ? BFD : LVS) : NO_EQUIVALENT),
        );
    }
  }

  topKey(key: string, value: unknown, stmt: KaStatement) {
    const seen = this.g.top.find((t) => t.key === key);
    if (seen) {
      this.note(
        stmt,
        `not imported: line ${seen.stmt.line} sets this already (proxyha-vrrpd has one ${key})`,
      );
      return;
    }
    this.g.top.push({ key, value, stmt });
  }

  fifo(s: KaStatement) {
    const name = s.words[1];
    if (name === undefined) return this.invalid(s, 'a FIFO needs a file name');
    if (s.words.length > 2)
      this.note(s, 'the user and group are not imported: the daemon creates the FIFO as itself');
    this.topKey('notifyFifo', name, s);
  }

  fifoScript(s: KaStatement) {
    const value = notifyValue(s);
    if (value === undefined) return this.invalid(s, 'no script given');
    this.topKey('notifyFifoScript', value, s);
  }

  // --- vrrp_script, track_file, garp_group -------------------------------------------------------------

  scriptDef(s: KaStatement) {
    const name = s.words[1];
    if (name === undefined) return this.invalid(s, 'vrrp_script needs a name');
    const d: ScriptDef = { name, interval: 1000, weight: 0, reverse: false, rise: 1, fall: 1 };
    for (const c of this.block(s)) {
      const [kw, arg] = c.words as [string, string | undefined];
      const positive = (what: string, set: (n: number) => void) => {
        const n = integer(arg);
        if (n === undefined || n < 0) this.invalid(c, `${what} must be a whole number`);
        else set(Math.max(n, 1));
      };
      switch (kw) {
        case 'script': {
          const words = splitQuoted(c.raw, true);
          const argv = words?.[1] === undefined ? undefined : splitQuoted(words[1], true);
          if (!argv || argv.length === 0 || argv[0] === '') this.invalid(c, 'no script given');
          else d.argv = argv;
          if (words && words.length > 2)
            this.note(
              c,
              'words after the quoted script are ignored, as keepalived ignores them (quote them all)',
            );
          break;
        }
        case 'interval':
          positive('interval', (n) => {
            d.interval = n * 1000;
          });
          break;
        case 'timeout':
          positive('timeout', (n) => {
            d.timeout = n * 1000;
          });
          break;
        case 'weight': {
          const w = integer(arg);
          if (w === undefined || w < -253 || w > 253) this.invalid(c, 'weight must be -253..253');
          else d.weight = w;
          if (c.words[2] === 'reverse') d.reverse = true;
          break;
        }
        case 'rise':
          positive('rise', (n) => {
            d.rise = n;
          });
          break;
        case 'fall':
          positive('fall', (n) => {
            d.fall = n;
          });
          break;
        case 'user':
          this.note(c, "not imported: proxyha-vrrpd runs track scripts as the daemon's own user");
          break;
        case 'init_fail':
          this.note(c, 'not imported: proxyha-vrrpd counts a script as up until it fails');
          break;
        default:
          this.note(c, UNKNOWN('vrrp_script'));
      }
    }
    if (!d.argv) {
      this.note(s, 'not imported: it has no script (keepalived removes it too)');
      return;
    }
    this.scripts.set(name, d);
  }

  fileDef(s: KaStatement) {
    const name = s.words[1];
    if (name === undefined) return this.invalid(s, 'track_file needs a name');
    const d: FileDef = { name, weight: 1, reverse: false };
    for (const c of this.block(s)) {
      const [kw, arg] = c.words as [string, string | undefined];
      if (kw === 'file' && arg !== undefined) d.path = arg;
      else if (kw === 'weight') {
        const w = integer(arg);
        if (w === undefined || w < -254 || w > 254) this.invalid(c, 'weight must be -254..254');
        else d.weight = w;
        if (c.words[2] === 'reverse') d.reverse = true;
      } else if (kw === 'init_file')
        this.note(c, 'not imported: proxyha-vrrpd does not create the file (a missing file counts as 0)');
      else this.note(c, UNKNOWN('track_file'));
    }
    if (!d.path) {
      this.note(s, 'not imported: it names no file (keepalived ignores it too)');
      return;
    }
    this.files.set(name, d);
  }

  garpGroup(s: KaStatement) {
    let garp: number | undefined;
    let gna: number | undefined;
    const ifaces: string[] = [];
    for (const c of this.block(s)) {
      const [kw, arg] = c.words as [string, string | undefined];
      if (kw === 'garp_interval' || kw === 'gna_interval') {
        const us = microseconds(arg);
        if (us === undefined) this.invalid(c, 'needs seconds');
        else if (kw === 'garp_interval') garp = us / 1000;
        else gna = us / 1000;
      } else if (kw === 'interface' && arg !== undefined) ifaces.push(arg);
      else if (kw === 'interfaces') {
        for (const i of this.block(c)) ifaces.push(...i.words);
        if (ifaces.length > 1)
          this.note(
            c,
            'imported per interface: proxyha-vrrpd limits the rate on each interface, not across the group',
          );
      } else this.note(c, UNKNOWN('garp_group'));
    }
    for (const i of ifaces)
      this.garpGroups.set(i, {
        ...(garp === undefined ? {} : { garp }),
        ...(gna === undefined ? {} : { gna }),
      });
  }

  // --- vrrp_instance -------------------------------------------------------------------------------------

  instance(s: KaStatement) {
    const name = s.words[1];
    if (name === undefined) return this.invalid(s, 'vrrp_instance needs a name');
    const g = this.g.garp;
    const d: InstanceDraft = {
      stmt: s,
      name,
      garpBase: { delay: g.delay, repeat: g.repeat, refresh: g.refresh, refreshRepeat: g.refreshRepeat },
      vips: [],
      peers: [],
      scripts: [],
      interfaces: [],
      files: [],
      xmitBase: false,
      garp: {},
      garpStmts: {},
      notify: {},
    };
    for (const c of this.block(s)) this.instanceSetting(d, c);
    this.drafts.push(d);
  }

  instanceSetting(d: InstanceDraft, c: KaStatement) {
    const [kw, arg] = c.words as [string, string | undefined];
    const flag = (set: (v: boolean) => void) => {
      const v = bool(arg);
      if (v === undefined) this.invalid(c, `${kw} needs on|off|true|false|yes|no`);
      else set(v);
    };
    const garpCount = (key: 'repeat' | 'refreshRepeat' | 'lowerPrioRepeat') => {
      const n = integer(arg);
      if (n === undefined || n < 0) return this.invalid(c, `${kw} needs a count`);
      d.garp[key] = n;
      d.garpStmts[key] = c;
    };
    const garpSeconds = (key: 'delay' | 'refresh' | 'lowerPrioDelay') => {
      const n = integer(arg);
      if (n === undefined || n < 0) return this.invalid(c, `${kw} needs whole seconds`);
      d.garp[key] = n * 1000;
      d.garpStmts[key] = c;
    };
    switch (kw) {
      case 'state':
        if (arg === 'MASTER' || arg === 'BACKUP') {
          if (d.state?.value !== 'MASTER') d.state = { value: arg, stmt: c };
        } else this.invalid(c, 'state is MASTER or BACKUP');
        return;
      case 'interface':
        if (arg !== undefined) d.iface = arg;
        return;
      case 'virtual_router_id': {
        const n = integer(arg);
        if (n === undefined || n < 1 || n > 255) this.invalid(c, 'virtual_router_id is 1..255');
        else d.vrid = n;
        return;
      }
      case 'priority': {
        const n = integer(arg);
        if (n === undefined || n < 1 || n > 255) {
          this.note(c, 'priority must be 1..255: keepalived uses 100 instead, and so does the import');
          d.priority = 100;
        } else d.priority = n;
        return;
      }
      case 'advert_int': {
        const us = microseconds(arg);
        if (us === undefined || us < 10_000 || us > 255e6) this.invalid(c, 'advert_int is 0.01..255 seconds');
        else d.advert = { us, stmt: c };
        return;
      }
      case 'version': {
        const n = integer(arg);
        if (n === 2 || n === 3) d.version = { value: n, stmt: c };
        else this.invalid(c, 'the version is 2 or 3');
        return;
      }
      case 'virtual_ipaddress':
        for (const v of this.block(c)) this.vip(d, v);
        return;
      case 'virtual_ipaddress_excluded':
        for (const v of c.block ?? []) {
          this.note(
            v,
            'not imported: proxyha-vrrpd has no excluded addresses, and listing it in virtualIps would change the advert (peers discard adverts whose address list differs)',
          );
        }
        if (!c.block) this.block(c);
        return;
      case 'nopreempt':
        d.nopreempt = c;
        return;
      case 'preempt':
        return;
      case 'preempt_delay': {
        const us = microseconds(arg);
        if (us === undefined || us > 1000e6) this.invalid(c, 'preempt_delay is 0..1000 seconds');
        else d.preemptDelay = { us, stmt: c };
        return;
      }
      case 'unicast_src_ip':
      case 'mcast_src_ip': {
        const ip = parseIp(arg);
        if (!ip) this.invalid(c, `${arg} is not an address`);
        else d.source = { ip: ip.text, stmt: c };
        return;
      }
      case 'unicast_peer':
        d.peerBlock = c;
        for (const p of this.block(c)) {
          const ip = parseIp(p.words[0]);
          if (!ip) {
            this.invalid(p, `${p.words[0]} is not an address`);
            continue;
          }
          if (p.words.length > 1) {
            this.note(p, 'min_ttl / max_ttl not imported: proxyha-vrrpd accepts adverts with TTL 255 only');
            d.checkUnicastSrc = true;
          }
          d.peers.push({ ip: ip.text, family: ip.family, stmt: p });
        }
        return;
      case 'authentication':
        d.auth = { stmt: c };
        for (const a of this.block(c)) {
          if (a.words[0] === 'auth_type') d.auth.type = a.words[1];
          else if (a.words[0] === 'auth_pass' && a.words[1] !== undefined) {
            let pass = a.words[1];
            while (new TextEncoder().encode(pass).length > 8) pass = pass.slice(0, -1);
            if (pass !== a.words[1]) this.note(a, 'cut to its first 8 bytes, as keepalived does');
            d.auth.pass = pass;
          } else this.note(a, UNKNOWN('authentication'));
        }
        return;
      case 'auth_hmac':
        return this.authHmac(d, c);
      case 'track_script':
        for (const t of this.block(c)) this.trackRef(d.name, d.scripts, t, this.scripts, 'vrrp_script', 253);
        return;
      case 'track_interface':
        for (const t of this.block(c)) this.trackInterface(d.name, d.interfaces, t);
        return;
      case 'track_file':
        for (const t of this.block(c)) this.trackRef(d.name, d.files, t, this.files, 'track_file', 254);
        return;
      case 'use_vmac': {
        const v: { name?: string; stmt: KaStatement } = { stmt: c };
        for (const w of c.words.slice(1, 3)) {
          if (w.includes(':'))
            this.note(c, `the MAC address ${w} is not imported: proxyha-vrrpd uses the RFC 5798 virtual MAC`);
          else if (IFNAME.test(w)) v.name = w;
          else this.invalid(c, `${w} is not an interface name`);
        }
        d.vmac = v;
        return;
      }
      case 'vmac_xmit_base':
        d.xmitBase = true;
        return;
      case 'accept':
        d.accept = true;
        return;
      case 'no_accept':
        d.accept = false;
        return;
      case 'strict_mode':
        return flag((value) => {
          d.strict = { value, stmt: c };
        });
      case 'garp_master_delay':
        return garpSeconds('delay');
      case 'garp_master_repeat':
        return garpCount('repeat');
      case 'garp_master_refresh':
        return garpSeconds('refresh');
      case 'garp_master_refresh_repeat':
        return garpCount('refreshRepeat');
      case 'garp_lower_prio_delay':
        return garpSeconds('lowerPrioDelay');
      case 'garp_lower_prio_repeat':
        return garpCount('lowerPrioRepeat');
      case 'lower_prio_no_advert':
        return flag((value) => {
          d.lowerPrioNoAdvert = { value, stmt: c };
        });
      case 'higher_prio_send_advert':
        return flag((value) => {
          d.higherPrioSendAdvert = { value, stmt: c };
        });
      case 'check_unicast_src':
        d.checkUnicastSrc = true; // what proxyha-vrrpd always does
        return;
      case 'native_ipv6':
        return; // the addresses decide the family
      default: {
        const notify = NOTIFY_KEYS[kw];
        if (notify) return this.notifyScript(d.notify, notify, c);
        this.note(c, INSTANCE[kw] ?? UNKNOWN('vrrp_instance'));
      }
    }
  }

  /** keepalived's `auth_hmac { key ID VALUE|file:PATH; active_key; anti_replay; time_window; mode }`. */
  authHmac(d: InstanceDraft, c: KaStatement) {
    const keys: Record<string, unknown>[] = [];
    const value: Record<string, unknown> = { keys };
    for (const a of this.block(c)) {
      const [kw, arg, more] = a.words as [string, string?, string?];
      if (kw === 'key') {
        const id = integer(arg);
        if (id === undefined || more === undefined) this.invalid(a, 'key needs an id and a value');
        else keys.push(more.startsWith('file:') ? { id, keyFile: more.slice(5) } : { id, key: more });
      } else if (kw === 'active_key' && integer(arg) !== undefined) value.activeKey = integer(arg);
      else if (kw === 'anti_replay' && arg !== undefined) value.antiReplay = arg;
      else if (kw === 'mode' && arg !== undefined) value.mode = arg;
      else if (kw === 'time_window' && integer(arg) !== undefined) value.timeWindow = `${integer(arg)}s`;
      else this.note(a, UNKNOWN('auth_hmac'));
    }
    d.hmac = { value, stmt: c };
  }

  vip(d: InstanceDraft, v: KaStatement) {
    const [addr, ...rest] = v.words as [string, ...string[]];
    const c = parseCidr(addr);
    if (!c) return this.invalid(v, `${addr} is not an address with an optional /prefix`);
    if (d.family && c.family !== d.family) {
      this.note(v, 'not imported: its family differs from the first address (keepalived ignores it too)');
      return;
    }
    d.family ??= c.family;
    let dev: string | undefined;
    const options: string[] = [];
    for (let i = 0; i < rest.length; i++) {
      const w = rest[i] as string;
      const withArg = ['dev', 'scope', 'brd', 'broadcast', 'label', 'peer', 'preferred_lft', 'track_group'];
      if (withArg.includes(w)) {
        const value = rest[++i];
        if (w === 'dev') dev = value;
        else options.push(`${w} ${value ?? ''}`.trim());
      } else options.push(w);
    }
    const text = c.prefixLength === undefined ? c.text : `${c.text}/${c.prefixLength}`;
    d.vips.push({ text, family: c.family, stmt: v, dev, options });
  }

  trackRef<D extends ScriptDef | FileDef>(
    owner: string,
    into: Tracked<D>[],
    t: KaStatement,
    defs: Map<string, D>,
    kind: string,
    limit: number,
  ) {
    const [name, opt, value, dir] = t.words as [string, string?, string?, string?];
    const def = defs.get(name);
    if (!def) {
      this.note(t, `not imported: no ${kind} ${name} before this line (keepalived ignores it too)`);
      return;
    }
    if (into.some((x) => x.def === def)) return this.invalid(t, `${name} is tracked twice`);
    let weight = def.weight;
    let reverse = def.reverse;
    if (opt !== undefined) {
      const w = integer(value);
      if (opt !== 'weight' || w === undefined) return this.invalid(t, `unknown option of ${owner}'s ${kind}`);
      if (w < -limit || w > limit)
        this.note(
          t,
          `weight ${w} out of -${limit}..${limit}: the ${kind}'s own weight applies, as in keepalived`,
        );
      else weight = Math.max(-253, Math.min(253, w));
      if (dir === 'reverse') reverse = true;
      else if (dir === 'noreverse' || dir === 'no_reverse') reverse = false;
    }
    into.push({ def, weight, reverse, stmt: t });
  }

  trackInterface(owner: string, into: Tracked<{ readonly name: string }>[], t: KaStatement) {
    const [name, opt, value, dir] = t.words as [string, string?, string?, string?];
    if (!IFNAME.test(name)) return this.invalid(t, `${name} is not an interface name`);
    if (into.some((x) => x.def.name === name)) return this.invalid(t, `${name} is tracked twice`);
    let weight = 0;
    if (opt !== undefined) {
      const w = integer(value);
      if (opt !== 'weight' || w === undefined)
        return this.invalid(t, `unknown option of ${owner}'s track_interface`);
      if (w < -254 || w > 254) this.note(t, 'weight out of -253..253: weight 0 applies, as in keepalived');
      else weight = Math.max(-253, Math.min(253, w));
    }
    into.push({ def: { name }, weight, reverse: dir === 'reverse', stmt: t });
  }

  notifyScript(into: Partial<Record<Notify, ScriptLine>>, key: Notify, c: KaStatement) {
    if (into[key]) return this.invalid(c, `${c.words[0]} is set twice`);
    const value = notifyValue(c);
    if (value === undefined) return this.invalid(c, 'no script given');
    into[key] = { value, stmt: c };
  }

  // --- vrrp_sync_group ----------------------------------------------------------------------------------

  group(s: KaStatement) {
    const name = s.words[1];
    if (name === undefined) return this.invalid(s, 'vrrp_sync_group needs a name');
    const d: GroupDraft = {
      stmt: s,
      name,
      scripts: [],
      interfaces: [],
      files: [],
      notify: {},
      trackingWeight: false,
      joined: [],
    };
    for (const c of this.block(s)) {
      const kw = c.words[0] as string;
      switch (kw) {
        case 'group':
          if (d.members) this.invalid(c, 'the group list is given twice');
          else d.members = this.block(c).flatMap((m) => m.words.map((w) => ({ name: w, stmt: m })));
          break;
        case 'track_script':
          for (const t of this.block(c)) this.trackRef(name, d.scripts, t, this.scripts, 'vrrp_script', 253);
          break;
        case 'track_interface':
          for (const t of this.block(c)) this.trackInterface(name, d.interfaces, t);
          break;
        case 'track_file':
          for (const t of this.block(c)) this.trackRef(name, d.files, t, this.files, 'track_file', 254);
          break;
        case 'global_tracking':
        case 'sync_group_tracking_weight':
          d.trackingWeight = true;
          break;
        default: {
          const notify = NOTIFY_KEYS[kw];
          if (notify) this.notifyScript(d.notify, notify, c);
          else this.note(c, GROUP[kw] ?? `${UNKNOWN('vrrp_sync_group')}; members go in a group { } block`);
        }
      }
    }
    if (!d.members) this.note(s, 'it lists no members (a group { } block); keepalived ignores it too');
    this.groups.push(d);
  }

  // --- completion (keepalived's vrrp_complete_instance and sync group set-up) ---------------------------

  finish(): MappedConfig {
    const imported: InstanceDraft[] = [];
    for (const d of this.drafts) if (this.importable(d, imported)) imported.push(d);
    const byName = new Map(imported.map((d) => [d.name, d]));
    const skipped = new Set(this.drafts.filter((d) => !imported.includes(d)).map((d) => d.name));
    for (const g of this.groups) {
      for (const m of g.members ?? []) {
        const inst = byName.get(m.name);
        if (!inst) {
          this.note(
            m.stmt,
            skipped.has(m.name)
              ? `${m.name} is not in the group: that instance was not imported`
              : `${m.name} is not in the group: there is no vrrp_instance ${m.name} (keepalived ignores it too)`,
            m.name,
          );
        } else if (inst.group) {
          this.note(
            m.stmt,
            `${m.name} is not in ${g.name}: it is in ${inst.group.name} already, and keepalived allows one group`,
            m.name,
          );
        } else {
          inst.group = g;
          g.joined.push(inst);
        }
      }
    }
    // the group's own trackers act on each member (weights cleared when a member is the address owner)
    for (const g of this.groups) {
      if (g.joined.length === 0) continue;
      const owner = g.joined.some((i) => this.priorityOf(i) === 255);
      for (const t of [...g.scripts, ...g.interfaces, ...g.files]) {
        if (owner && t.weight !== 0) {
          this.note(t.stmt, 'weight cleared: a member has priority 255 (keepalived clears it too)');
          t.weight = 0;
        }
      }
      for (const i of g.joined) {
        for (const t of g.scripts)
          if (!i.scripts.some((x) => x.def === t.def)) i.scripts.push({ ...t, fromGroup: true });
        for (const t of g.files)
          if (!i.files.some((x) => x.def === t.def)) i.files.push({ ...t, fromGroup: true });
        for (const t of g.interfaces)
          if (!i.interfaces.some((x) => x.def.name === t.def.name))
            i.interfaces.push({ ...t, fromGroup: true });
      }
    }
    const instances = imported.map((d, i) => this.build(d, i));
    const doc: Record<string, unknown> = {};
    const strict = this.g.strict || instances.some((i) => i.accept === false);
    doc.strict = strict;
    if (this.g.realtime !== undefined) doc.realtimePriority = this.g.realtime;
    if (this.g.nice !== undefined) doc.nice = this.g.nice;
    for (const t of this.g.top) {
      doc[t.key] = t.value;
      this.optional.push({ path: [t.key], from: t.stmt });
    }
    doc.instances = instances;
    const groups: Record<string, unknown>[] = [];
    const groupSources: KaStatement[] = [];
    for (const g of this.groups) {
      if (g.joined.length < 2) {
        if (g.joined.length === 1)
          this.note(
            g.stmt,
            `not imported as a group: proxyha-vrrpd needs two members, so ${(g.joined[0] as InstanceDraft).name} runs on its own (as it would in keepalived)`,
          );
        for (const n of Object.values(g.notify))
          this.note(n.stmt, 'not imported: its sync group is not imported');
        continue;
      }
      const entry: Record<string, unknown> = { name: g.name, instances: g.joined.map((i) => i.name) };
      const at = groups.length;
      for (const [key, n] of Object.entries(g.notify)) {
        entry[key] = n.value;
        this.optional.push({ path: ['syncGroups', at, key], from: n.stmt });
      }
      groups.push(entry);
      groupSources.push(g.stmt);
    }
    if (groups.length > 0) doc.syncGroups = groups;
    return {
      document: doc,
      notes: this.notes,
      optional: this.optional,
      instanceSources: imported.map((d) => d.stmt),
      syncGroupSources: groupSources,
    };
  }

  priorityOf(d: InstanceDraft): number {
    return d.priority ?? (d.state?.value === 'MASTER' ? 255 : 100);
  }

  strictOf(d: InstanceDraft): boolean {
    return d.strict?.value ?? this.g.strict;
  }

  /** Whether an instance can be imported at all (a note when not). */
  importable(d: InstanceDraft, earlier: readonly InstanceDraft[]): boolean {
    const skip = (why: string) => {
      this.note(d.stmt, `not imported: ${why}`);
      return false;
    };
    if (!/^[\w.-]+$/.test(d.name))
      return skip(`proxyha-vrrpd instance names are letters, digits, "_", "." and "-"`);
    if (d.iface === undefined)
      return skip('it has no interface (proxyha-vrrpd sends from an interface, also with unicast peers)');
    if (!IFNAME.test(d.iface)) return skip(`${d.iface} is not an interface name`);
    if (d.vrid === undefined) return skip('it has no virtual_router_id (keepalived refuses it too)');
    if (d.vips.length === 0) return skip('it has no virtual_ipaddress (proxyha-vrrpd needs at least one)');
    if (this.strictOf(d) && d.peers.length > 0)
      return skip('keepalived refuses unicast peers in strict mode (vrrp_strict / strict_mode)');
    if (earlier.some((o) => o.name === d.name)) return skip(`an earlier vrrp_instance is named ${d.name}`);
    const clash = earlier.find((o) => o.iface === d.iface && o.vrid === d.vrid && o.family === d.family);
    if (clash) return skip(`${clash.name} uses VRID ${d.vrid} on ${d.iface} already`);
    return true;
  }

  build(d: InstanceDraft, index: number): Record<string, unknown> & { accept: boolean } {
    const family = d.family as IpFamily;
    const strict = this.strictOf(d);
    const priority = this.priorityOf(d);
    const owner = priority === 255;
    if (d.strict && d.strict.value !== this.g.strict)
      this.note(
        d.strict.stmt,
        d.strict.value
          ? 'imported as the global strict: proxyha-vrrpd filters every instance without accept'
          : 'strict is global in proxyha-vrrpd: this instance keeps accept, so the filter leaves it alone',
      );
    if (d.state)
      this.note(
        d.state.stmt,
        `no equivalent: proxyha-vrrpd has no initial state; it starts as Backup and the election decides${
          d.state.value === 'MASTER' && d.priority === undefined
            ? ' (priority 255 taken from state MASTER, as keepalived does)'
            : ''
        }`,
      );
    // version: IPv6 always 3, else the instance's, else the global vrrp_version, else 2
    let version: 2 | 3 = d.version?.value ?? this.g.version ?? 2;
    if (family === 'ipv6' && version === 2) {
      if (d.version) this.note(d.version.stmt, 'version 3: VRRPv2 carries no IPv6 addresses');
      version = 3;
    }
    const advertUs = this.advert(d, version);
    const out: Record<string, unknown> & { accept: boolean } = {
      name: d.name,
      interface: d.iface as string,
      vrid: d.vrid as number,
      priority,
      version,
      advertInterval: duration(advertUs / 1000),
      virtualIps: d.vips.map((v) => v.text),
      preempt: true,
      accept: false,
    };
    for (const v of d.vips) {
      const differences: string[] = [];
      if (v.dev !== undefined && v.dev !== d.iface && v.dev !== d.vmac?.name)
        differences.push(`it goes on ${this.announceIf(d)}, not on dev ${v.dev}`);
      if (v.options.length > 0)
        differences.push(
          `${v.options.join(', ')} not applied (proxyha-vrrpd sets the address and prefix only)`,
        );
      if (differences.length > 0) this.note(v.stmt, `imported with a difference: ${differences.join('; ')}`);
    }
    // preemption: keepalived clears nopreempt for the address owner and for state MASTER
    let preempt = true;
    if (d.nopreempt) {
      if (owner)
        this.note(d.nopreempt, 'ignored: the address owner (priority 255) always preempts, as in keepalived');
      else if (d.state?.value === 'MASTER')
        this.note(
          d.nopreempt,
          'ignored: keepalived clears nopreempt with state MASTER, so the import does too',
        );
      else preempt = false;
    }
    out.preempt = preempt;
    if (d.preemptDelay && d.preemptDelay.us > 0) {
      if (d.state?.value === 'MASTER')
        this.note(
          d.preemptDelay.stmt,
          'ignored: keepalived clears preempt_delay with state MASTER, so the import does too',
        );
      else if (strict)
        this.note(d.preemptDelay.stmt, 'ignored: keepalived resets preempt_delay in strict mode');
      else if (!preempt)
        this.note(d.preemptDelay.stmt, 'ignored: keepalived resets preempt_delay with nopreempt');
      else out.preemptDelay = duration(d.preemptDelay.us / 1000);
    }
    // unicast
    if (d.peers.length > 0) {
      const peers: string[] = [];
      for (const p of d.peers) {
        if (p.family !== family)
          this.note(p.stmt, 'not imported: not of the virtual addresses’ family (keepalived ignores it too)');
        else peers.push(p.ip);
      }
      if (peers.length > 0) out.unicastPeers = peers;
      if (peers.length > 0 && d.peerBlock && !d.checkUnicastSrc && !this.g.checkUnicastSrc)
        this.note(
          d.peerBlock,
          'imported with a difference: proxyha-vrrpd accepts unicast adverts from these peers only (keepalived does that with check_unicast_src; without it, from any sender)',
        );
    }
    if (d.source) {
      if (parseIp(d.source.ip)?.family !== family)
        this.note(d.source.stmt, 'not imported: not of the virtual addresses’ family');
      else out.sourceAddress = d.source.ip;
    }
    // Accept_Mode, as keepalived defaults it: on unless strict, always for the owner
    let accept = d.accept ?? (owner ? true : !strict);
    if (accept && !owner && strict && version === 2) {
      if (d.accept)
        this.note(d.stmt, 'accept cleared: keepalived resets accept for VRRPv2 in strict mode', 'accept');
      accept = false;
    }
    out.accept = accept;
    this.auth(d, out, strict, version);
    if (d.hmac) {
      if (out.authPassword !== undefined && d.auth) {
        this.note(d.auth.stmt, 'not imported: auth_hmac replaces it (keepalived allows one of them)');
        delete out.authPassword;
      }
      out.authHmac = d.hmac.value;
    }
    // adverts on lower- and higher-priority adverts
    const lowerNoAdvert = strict ? true : (d.lowerPrioNoAdvert?.value ?? this.g.lowerPrioNoAdvert);
    if (strict && d.lowerPrioNoAdvert?.value === false)
      this.note(d.lowerPrioNoAdvert.stmt, 'ignored: keepalived sets lower_prio_no_advert in strict mode');
    if (lowerNoAdvert) out.lowerPriorityResponse = 'rfc5798';
    const higherSend = strict ? false : (d.higherPrioSendAdvert?.value ?? this.g.higherPrioSendAdvert);
    if (strict && d.higherPrioSendAdvert?.value)
      this.note(
        d.higherPrioSendAdvert.stmt,
        'ignored: keepalived clears higher_prio_send_advert in strict mode',
      );
    if (higherSend) out.higherPrioritySendAdvert = true;
    if (d.vmac) {
      out.vmac = d.vmac.name ? { name: d.vmac.name } : true;
      if (!d.xmitBase)
        this.note(
          d.vmac.stmt,
          'imported with a difference: proxyha-vrrpd sends and receives adverts on the parent interface (keepalived does that with vmac_xmit_base only)',
        );
    }
    const garp = this.garp(d, strict);
    if (Object.keys(garp).length > 0) out.garp = garp;
    this.trackers(d, out, owner);
    for (const [key, n] of Object.entries(d.notify)) {
      out[key] = n.value;
      this.optional.push({ path: ['instances', index, key], from: n.stmt });
    }
    return out;
  }

  announceIf(d: InstanceDraft): string {
    if (!d.vmac) return d.iface as string;
    return d.vmac.name ?? `the VMAC of ${d.iface}`;
  }

  /** keepalived's rounding of advert_int: whole seconds for v2, centiseconds for v3 (µs). */
  advert(d: InstanceDraft, version: 2 | 3): number {
    const us = d.advert?.us ?? 1e6;
    const stmt = d.advert?.stmt;
    let out = us;
    if (version === 2) {
      if (us >= 256e6) out = 255e6;
      else if (us % 1e6 !== 0) out = Math.max(1e6, Math.round(us / 1e6) * 1e6);
    } else if (us >= 40.96e6) out = 40.95e6;
    else if (us % 10_000 !== 0) out = Math.min(40.95e6, Math.max(10_000, Math.round(us / 10_000) * 10_000));
    if (out !== us && stmt)
      this.note(
        stmt,
        `imported as ${duration(out / 1000)}: VRRPv${version} needs ${version === 2 ? 'whole seconds' : 'centiseconds'} (keepalived rounds it too)`,
      );
    return out;
  }

  auth(d: InstanceDraft, out: Record<string, unknown>, strict: boolean, version: 2 | 3) {
    const a = d.auth;
    if (!a) return;
    if (strict) return this.note(a.stmt, 'ignored: keepalived does no authentication in strict mode');
    if (version === 3)
      return this.note(a.stmt, 'ignored: VRRPv3 has no authentication (keepalived ignores it too)');
    if (a.type === 'AH')
      return this.note(a.stmt, 'not imported: proxyha-vrrpd has no IPsec AH authentication (only PASS)');
    if (a.type !== 'PASS') return this.invalid(a.stmt, 'auth_type is PASS or AH');
    if (a.pass === undefined || a.pass === '') return this.invalid(a.stmt, 'auth_pass is missing');
    out.authPassword = a.pass;
  }

  garp(d: InstanceDraft, strict: boolean): Record<string, unknown> {
    const i = d.garp;
    const g = this.g.garp;
    const repeat = i.repeat ?? d.garpBase.repeat;
    const delay = i.delay ?? d.garpBase.delay;
    let refresh = i.refresh ?? d.garpBase.refresh;
    const refreshRepeat = i.refreshRepeat ?? d.garpBase.refreshRepeat;
    let lowerRepeat = i.lowerPrioRepeat ?? g.lowerPrioRepeat ?? g.repeat;
    let lowerDelay = i.lowerPrioDelay ?? g.lowerPrioDelay ?? g.delay;
    if (strict) {
      for (const key of ['lowerPrioRepeat', 'lowerPrioDelay'] as const) {
        const s = d.garpStmts[key];
        if (s && i[key]) this.note(s, 'ignored: keepalived resets it to 0 in strict mode');
      }
      lowerRepeat = 0;
      lowerDelay = 0;
    }
    if (refreshRepeat === 0) refresh = 0;
    const out: Record<string, unknown> = {};
    const effRepeat = Math.max(repeat, 1);
    if (repeat === 0 && d.garpStmts.repeat)
      this.note(d.garpStmts.repeat, 'imported as 1: proxyha-vrrpd sends at least one');
    if (effRepeat !== 5) out.repeat = effRepeat;
    if (delay !== 5000) out.secondBurstDelay = duration(delay);
    if (refresh !== 0) {
      out.refreshInterval = duration(refresh);
      if (refreshRepeat !== 1) out.refreshRepeat = refreshRepeat;
    }
    if (lowerRepeat !== effRepeat) out.reassertRepeat = lowerRepeat;
    if (lowerDelay !== delay) out.reassertDelay = duration(lowerDelay);
    const group = this.garpGroups.get(d.iface as string);
    const arp = group?.garp ?? this.g.garpInterval ?? 0;
    const na = group?.gna ?? this.g.gnaInterval ?? 0;
    if (arp > 0) out.interval = duration(arp);
    if (na !== arp) out.naInterval = duration(na);
    return out;
  }

  /** keepalived's tracking rules, then what proxyha-vrrpd can express. */
  trackers(d: InstanceDraft, out: Record<string, unknown>, owner: boolean) {
    const syncRule = d.group !== undefined && !d.group.trackingWeight;
    const why = syncRule && !owner ? 'its sync group' : 'the address owner (priority 255)';
    const scripts: Record<string, unknown>[] = [];
    for (const t of d.scripts) {
      if (!t.fromGroup && (syncRule || owner) && t.weight !== 0) {
        this.note(t.stmt, `not imported: keepalived drops weighted scripts of ${why}`);
        continue;
      }
      if (t.reverse) {
        this.note(t.stmt, 'not imported: proxyha-vrrpd has no reversed weights');
        continue;
      }
      const s = t.def;
      const { command, shell } = commandOf(s.argv as string[]);
      if (shell)
        this.note(
          t.stmt,
          `imported as /bin/sh -c: keepalived runs a script starting with '</' through the shell`,
        );
      scripts.push({
        name: s.name,
        command,
        interval: duration(s.interval),
        timeout: duration(s.timeout ?? s.interval),
        weight: t.weight,
        rise: s.rise,
        fall: s.fall,
      });
    }
    const files: Record<string, unknown>[] = [];
    for (const t of d.files) {
      let weight = t.weight;
      if (!t.fromGroup && (syncRule || owner) && weight !== 0) {
        if (weight === 1) {
          this.note(t.stmt, `imported with weight 0: keepalived ignores the default weight for ${why}`);
          weight = 0;
        } else {
          this.note(t.stmt, `not imported: keepalived drops weighted track files of ${why}`);
          continue;
        }
      }
      if (t.reverse) {
        this.note(t.stmt, 'not imported: proxyha-vrrpd has no reversed weights');
        continue;
      }
      if (weight > 0) {
        this.note(
          t.stmt,
          `not imported: keepalived adds the file's value times ${weight}; proxyha-vrrpd reads a non-zero value as down (use weight 0 or a negative weight)`,
        );
        continue;
      }
      if (weight < 0)
        this.note(
          t.stmt,
          `imported with a difference: proxyha-vrrpd subtracts ${-weight} while the file holds a non-zero value; keepalived subtracts the value times ${-weight} (the same for 0/1 files)`,
        );
      files.push({ name: t.def.name, path: t.def.path as string, weight });
    }
    const interfaces: Record<string, unknown>[] = [];
    for (const t of d.interfaces) {
      let weight = t.weight;
      if (!t.fromGroup && (syncRule || owner) && weight !== 0) {
        if (owner) {
          this.note(
            t.stmt,
            'not imported: keepalived stops tracking weighted interfaces of the address owner',
          );
          continue;
        }
        this.note(t.stmt, 'imported with weight 0: keepalived clears the weights of sync group members');
        weight = 0;
      }
      if (t.reverse) {
        this.note(t.stmt, 'not imported: proxyha-vrrpd has no reversed weights');
        continue;
      }
      interfaces.push({ name: t.def.name, weight });
    }
    if (scripts.length > 0) out.trackScripts = scripts;
    if (files.length > 0) out.trackFiles = files;
    if (interfaces.length > 0) out.trackInterfaces = interfaces;
  }
}

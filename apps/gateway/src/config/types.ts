// The gateway's one configuration file: its shape as operators write it, and the validated result that
// carries each package's own validated configuration.
import type { CmConfig, Endpoint } from '@proxyha/cm-coordinator';
import type { MonitorSettings } from '@proxyha/health-mon';
import type { LbDaemonConfig } from '@proxyha/lb-director';
import type { NtpServerAddress } from '@proxyha/ntp-check';
import type { VrrpDaemonConfig } from '@proxyha/vrrpd';

/** A duration as written in the file: `"500ms"`, `"1s"`, `"1m30s"`, or a number of milliseconds. */
export type GatewayDuration = string | number;

/**
 * The gateway's configuration file (YAML; JSON is YAML), as written. Every section but `ha` is optional.
 * Settings the packages share are written once: the gateway derives each package's configuration from
 * this one file (see the README's "Configuration" section for where each setting goes).
 *
 * ```yaml
 * node: { name: mwg1, dataDir: /var/lib/proxyha }
 * ha:
 *   interface: eth0
 *   managementIp: 10.10.74.70
 *   virtualIps: ["10.10.74.74/24"]
 *   vrid: 51
 *   priority: 99
 *   redirects:
 *     - { originalPort: 9090, destinationPort: 9090 }
 * ```
 */
export interface GatewayConfigFile {
  /** This node: its name and data directory. */
  node?: GatewayNodeFile;
  /** Proxy HA: the VRRP instance that elects the director, and the load-sharing group. */
  ha: GatewayHaFile;
  /** The port health monitor (every redirect's destination port, as a whole). */
  health?: GatewayHealthFile;
  /** The time-skew guard; absent: no NTP check. */
  ntp?: GatewayNtpFile;
  /** Central management; absent: the node keeps its policy to itself. */
  cm?: GatewayCmFile;
  /** Where central management writes the policy, and what it runs after a new one. Needs `cm`. */
  policy?: GatewayPolicyFile;
  /** The management HTTP API (status page, metrics, commands). */
  management?: GatewayManagementFile;
}

/** The `node` section. */
export interface GatewayNodeFile {
  /** This node's name in logs, status and central management (default: the host name). */
  name?: string;
  /** Data directory: `lb/`, `cm/`, the health track file and the maintenance flag (default `/var/lib/proxyha`). */
  dataDir?: string;
}

/** What a failing health monitor does to this node's VRRP priority (`ha.onHealthFailure`). */
export type GatewayHealthFailureFile = 'fault' | { weight: number };

/**
 * The `ha` section: the VRRP instance (`@proxyha/vrrpd`) and the load-sharing group
 * (`@proxyha/lb-director`). The optional settings below the required ones are the packages' own, spelled
 * as they spell them; see their READMEs for every detail.
 */
export interface GatewayHaFile {
  /** The interface of the VIPs, the VRRP adverts and the director protocol (vrrpd `interface`, lb `interface`). */
  interface: string;
  /** This node's own address on that interface, never a VIP (lb `managementIp`; the health monitor probes it). */
  managementIp: string;
  /** The virtual addresses with prefix length (vrrpd and lb `virtualIps`). */
  virtualIps: string[];
  /** Virtual router id 1..255 (vrrpd `vrid`). */
  vrid: number;
  /** VRRP priority 1..255, default 100 (vrrpd `priority`; lb `priority`, its split-brain rule). */
  priority?: number;
  /** VRRP advertisement interval, default 1s; also the director's announcement and report interval (lb `interval`). */
  advertInterval?: GatewayDuration;
  /** Load-sharing group id 1..255, default 51 (lb `group`, MFEND_LBID). */
  group?: number;
  /** Original destination port on the VIP -> destination proxy port on the chosen node (lb `redirects`). */
  redirects: { originalPort: number; destinationPort: number }[];
  /** `nftables` (default), `relay` or `direct` (lb `dataPlane`). */
  dataPlane?: 'nftables' | 'relay' | 'direct';
  /** A failing health monitor faults the instance (`fault`, default) or lowers its priority (`{ weight: -50 }`). */
  onHealthFailure?: GatewayHealthFailureFile;
  /** `raw` (default) or `loopback` (no root; vrrpd and lb `transport`). */
  transport?: 'raw' | 'loopback';
  /** The other nodes' addresses, for the loopback transport (lb `peers`; vrrpd `unicastPeers` unless set). */
  peers?: string[];
  /** VRRP version 2 or 3, default 3 (vrrpd). */
  version?: 2 | 3;
  /** Preempt a lower-priority master, default true (vrrpd). */
  preempt?: boolean;
  /** keepalived's `preempt_delay`, default 0 (vrrpd). */
  preemptDelay?: GatewayDuration;
  /**
   * A stopping director keeps the VIPs until it hears the new master, at most this long (vrrpd; default two
   * advert intervals): a planned handover loses no connection. `0s`: they go at once, as keepalived does.
   */
  releaseVipsAfterSuccessor?: GatewayDuration;
  /** keepalived's `unicast_peer` (vrrpd). */
  unicastPeers?: string[];
  /** Accept_Mode, default false (vrrpd). */
  accept?: boolean;
  /** Source address of the adverts (vrrpd; default the interface's first address, or managementIp on loopback). */
  sourceAddress?: string;
  /** v3 over IPv4 checksum on send: `pseudo-header` or `vrrp-only` (vrrpd). */
  checksum?: 'pseudo-header' | 'vrrp-only';
  /** `rfc9568` (default) or `rfc5798` (vrrpd). */
  lowerPriorityResponse?: 'rfc9568' | 'rfc5798';
  /** VRRPv2 simple password (vrrpd). */
  authPassword?: string;
  /** HMAC authentication of the adverts (vrrpd `authHmac`: `keys`, `activeKey`, `mode`, ...). */
  authHmac?: Record<string, unknown>;
  /** keepalived `vrrp_script`s (vrrpd `trackScripts`). */
  trackScripts?: Record<string, unknown>[];
  /** keepalived `track_file`s (vrrpd `trackFiles`). */
  trackFiles?: Record<string, unknown>[];
  /** keepalived `track_interface`s (vrrpd `trackInterfaces`). */
  trackInterfaces?: Record<string, unknown>[];
  /** Gratuitous ARP / NA timing (vrrpd `garp`). */
  garp?: Record<string, unknown>;
  /** keepalived `use_vmac` (vrrpd `vmac`). */
  vmac?: boolean | { name?: string };
  /** keepalived `higher_prio_send_advert` (vrrpd). */
  higherPrioritySendAdvert?: boolean;
  /** keepalived `notify_master` (vrrpd). */
  notifyMaster?: unknown;
  /** keepalived `notify_backup` (vrrpd). */
  notifyBackup?: unknown;
  /** keepalived `notify_fault` (vrrpd). */
  notifyFault?: unknown;
  /** keepalived `notify_stop` (vrrpd). */
  notifyStop?: unknown;
  /** keepalived `notify` (vrrpd). */
  notify?: unknown;
  /** keepalived `vrrp_strict` (vrrpd `strict`). */
  strict?: boolean;
  /** keepalived `vrrp_rt_priority` (vrrpd `realtimePriority`). */
  realtimePriority?: number;
  /** keepalived `vrrp_priority` (vrrpd `nice`). */
  nice?: number;
  /** Ports of vrrpd's loopback transport (`port`, `ownerPort`). */
  loopback?: { port?: number; ownerPort?: number };
  /** keepalived `vrrp_notify_fifo` (vrrpd `notifyFifo`). */
  notifyFifo?: string;
  /** keepalived `vrrp_notify_fifo_script` (vrrpd `notifyFifoScript`). */
  notifyFifoScript?: unknown;
  /** keepalived `vrrp_notify_priority_changes` (vrrpd `notifyPriorityChanges`). */
  notifyPriorityChanges?: boolean;
  /** keepalived `script_user` (vrrpd `scriptUser`). */
  scriptUser?: string;
  /** How long a notify script may run (vrrpd `notifyTimeout`). */
  notifyTimeout?: GatewayDuration;
  /** PROXY protocol header towards the nodes, relay only: `v1` or `v2` (lb `proxyProtocol`). */
  proxyProtocol?: 'v1' | 'v2';
  /** Silent intervals before a node is failed, default 3 (lb `failAfter`). */
  failAfter?: number;
  /** This node's capacity 0..65535, default 100 (lb `weight`). */
  weight?: number;
  /** Authentication of the director protocol: `{ keyFile, window }` (lb `auth`). */
  auth?: { keyFile: string; window?: GatewayDuration };
  /** UDP port of lb's loopback transport, default 5253 (lb `port`). */
  port?: number;
  /** Client address masks for stickiness (lb `persistence`). */
  persistence?: { ipv4PrefixLength?: number; ipv6PrefixLength?: number };
  /** Bounded load factor, default 0.25 (lb `balanceFactor`). */
  balanceFactor?: number;
  /** Weigh nodes by resource use and connections, default true (lb `loadAware`). */
  loadAware?: boolean;
  /** A new director takes over the old one's table, default true (lb `adoptTable`). */
  adoptTable?: boolean;
  /** Fixed number of buckets, a prime (lb `tableSize`). */
  tableSize?: number;
  /** Hash seed (lb `seed`). */
  seed?: number;
  /** Connection handover between directors, nftables only (lb `handover`). */
  handover?: Record<string, unknown>;
}

/** The `health` section (`@proxyha/health-mon`, and lb's own `health`). */
export interface GatewayHealthFile {
  /** Probe interval, default 1s. */
  interval?: GatewayDuration;
  /** Probe timeout, default the interval, at most 1s. */
  timeout?: GatewayDuration;
  /** Consecutive failures from ok to failure, default 3. */
  fall?: number;
  /** Consecutive successes from failure to ok, default 2. */
  rise?: number;
  /** Probes in flight at once, default 16 (health-mon). */
  concurrency?: number;
  /** Interval jitter 0..0.5, default 0.1 (health-mon). */
  jitter?: number;
  /** How ports leave `unknown`: `first-result` (default) or `counted` (health-mon). */
  initial?: 'first-result' | 'counted';
}

/** The `ntp` section (`@proxyha/ntp-check`'s skew guard). */
export interface GatewayNtpFile {
  /** Servers as `SERVER[:PORT]` (port 123 by default; IPv6 as `[addr]:port`). */
  servers: string[];
  /** Largest tolerated offset of the local clock, default 1s. */
  maxOffset?: GatewayDuration;
  /** Offsets above this warn, default half of `maxOffset`. */
  warnOffset?: GatewayDuration;
  /** Beyond this offset the clock must be set by hand, default 1000s. */
  panicThreshold?: GatewayDuration;
  /** How long to wait for each server, default 2s. */
  timeout?: GatewayDuration;
  /** How often the guard checks, default 64s (at least 15s, RFC 4330). */
  interval?: GatewayDuration;
}

/** The `cm` section (`@proxyha/cm-coordinator`; its `name`, `dataDir`, `policyDir` and `applyCommand` come from `node` and `policy`). */
export interface GatewayCmFile {
  /** Where the coordinator listens for its peers, `host:port` (port 12346 usually). */
  listen: string;
  /** The cluster CA: `cert`, and `key` when this node issues its own certificate. */
  ca: { cert: string; key?: string };
  /** Central-management priority 1..1000, default 1: on a conflict the lower value wins. */
  priority?: number;
  /** Peers reached at start, `host:port`. */
  peers?: string[];
  /** Names and addresses in this node's certificate (default: the listen host). */
  addresses?: string[];
  /** A node certificate issued elsewhere, instead of `ca.key`. */
  certificate?: { cert: string; key: string };
  /** Peers whose clocks differ more are refused (405), default 10s. */
  maxClockSkew?: GatewayDuration;
  /**
   * Network groups (who talks to whom; a node in several is a transit node), update groups (engine and list
   * updates downloaded once per group) and the runtime group (quota counters and other runtime data shared
   * within it only). See central management's README.
   */
  groups?: { network?: string[]; update?: string | string[]; runtime?: string };
  /** Engine and list updates shared within the update groups ("Automatic Engine Updates"). */
  updates?: {
    /** The interval check ("Enable automatic updates"), default true. */
    automatic?: boolean;
    /** How often the check runs, default 15m. */
    interval?: GatewayDuration;
    /** "Allow to download updates from internet", default false. */
    downloadFromInternet?: boolean;
    /** Accept updates from the other nodes of the update groups, default true. */
    acceptFromNodes?: boolean;
    /** The lists: name, http(s) URL, a pinned sha256 or a signed manifest, an optional apply command. */
    sources?: {
      name: string;
      url: string;
      sha256?: string;
      version?: string;
      manifest?: string;
      publicKey?: string;
      apply?: string[];
    }[];
  };
  /** The admin lock's lease, default 30s. */
  adminLockTtl?: GatewayDuration;
}

/** The `policy` section (central management's `policyDir` and `applyCommand`). */
export interface GatewayPolicyFile {
  /** Where the current policy's files appear (default `<dataDir>/cm/policy`). */
  dir?: string;
  /** Program and arguments run after a new policy was written (no shell). */
  apply?: string[];
}

/** The `management` section. */
export interface GatewayManagementFile {
  /** `host:port` of the management HTTP API, default `127.0.0.1:8443`. */
  listen?: string;
  /** File holding the admin bearer token (default `<dataDir>/admin.token`). */
  tokenFile?: string;
  /** TLS certificate and key (PEM files); required when `listen` is not a loopback address. */
  tls?: { cert: string; key: string };
}

/** The validated `node` section. */
export interface GatewayNodeConfig {
  /** This node's name. */
  readonly name: string;
  /** Its data directory (absolute). */
  readonly dataDir: string;
}

/** The health tracker of the VRRP instance: how the node's health reaches its priority. */
export interface GatewayHealthTrackerConfig {
  /**
   * The track file the gateway writes the health state to (`0` ok, `1` failure), watched by the VRRP
   * instance as a keepalived `track_file` named `health` (`<dataDir>/health.track`).
   */
  readonly file: string;
  /** `fault` (the instance goes to FAULT and gives up the VIP) or `weight` (added to the priority). */
  readonly onFailure: 'fault' | 'weight';
  /** The tracker's weight: 0 for `fault`, the negative weight otherwise. */
  readonly weight: number;
}

/** The validated `ntp` section, in `@proxyha/ntp-check`'s terms (milliseconds). */
export interface GatewayNtpConfig {
  /** The servers. */
  readonly servers: readonly NtpServerAddress[];
  /** `checkSkew`'s `maxOffset`. */
  readonly maxOffsetMs: number;
  /** `checkSkew`'s `warnOffset` (half of `maxOffsetMs` unless configured). */
  readonly warnOffsetMs: number;
  /** `checkSkew`'s `panicThreshold`. */
  readonly panicThresholdMs: number;
  /** The client's `timeout` per server. */
  readonly timeoutMs: number;
  /** Time between two checks. */
  readonly intervalMs: number;
}

/** The validated `management` section. */
export interface GatewayManagementConfig {
  /** Where the management HTTP API listens. */
  readonly listen: Endpoint;
  /** The admin token file. */
  readonly tokenFile: string;
  /** TLS certificate and key, when configured. */
  readonly tls:
    | {
        /** Certificate (PEM) file. */
        readonly cert: string;
        /** Private key (PEM) file. */
        readonly key: string;
      }
    | undefined;
}

/** Where maintenance mode is kept, so that it survives a restart. */
export interface GatewayMaintenanceConfig {
  /** The flag file: present while the node is in maintenance (`<dataDir>/maintenance`). */
  readonly stateFile: string;
}

/**
 * A validated gateway configuration: each package's configuration, validated by the package's own
 * parser, derived from the one file.
 */
export interface GatewayConfig {
  /** This node. */
  readonly node: GatewayNodeConfig;
  /** The VRRP daemon: one instance `VI_1` with the health tracker (`@proxyha/vrrpd`). */
  readonly vrrpd: VrrpDaemonConfig;
  /** The load-sharing node and director (`@proxyha/lb-director`), role from the VIPs, data in `<dataDir>/lb`. */
  readonly lb: LbDaemonConfig;
  /** The port health monitor: every redirect's destination port on the management address (`@proxyha/health-mon`). */
  readonly health: MonitorSettings;
  /** How the health state reaches the VRRP priority. */
  readonly healthTracker: GatewayHealthTrackerConfig;
  /** The time-skew guard, when configured. */
  readonly ntp: GatewayNtpConfig | undefined;
  /** Central management (`@proxyha/cm-coordinator`), data in `<dataDir>/cm`, when configured. */
  readonly cm: CmConfig | undefined;
  /** The management HTTP API. */
  readonly management: GatewayManagementConfig;
  /** Maintenance mode's persistent flag. */
  readonly maintenance: GatewayMaintenanceConfig;
}

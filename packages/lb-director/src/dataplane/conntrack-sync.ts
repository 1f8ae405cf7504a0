// Connection-state handover between director candidates with conntrackd (FTFW): the config of one
// candidate's conntrackd, and the commands keepalived's primary-backup.sh runs at a role change. A new
// director that commits the synchronised entries keeps the NAT bindings of the connections the previous
// director translated, so also connections whose first packet after the move comes from the node (the
// server speaks first) go on. See docs/handover.md.
import { type CommandRunner, type Logger, noopLogger, runCommand } from '@proxyha/common';
import { LbError } from '../errors';
import type { LbRole } from '../machine/types';

/** Options of {@link conntrackdConfig} and {@link ConntrackSync}. */
export interface ConntrackSyncOptions {
  /** This candidate's address on the sync link (IPv4 or IPv6). */
  readonly localAddress: string;
  /** The interface of the sync link (the LAN, better a dedicated link). */
  readonly interface: string;
  /**
   * The other candidate's address on the sync link: UDP unicast (two candidates, the usual pair). Without
   * it the state is sent to {@link multicastGroup}.
   */
  readonly peerAddress?: string | undefined;
  /** Multicast group when there is no peer address; default 225.0.0.50 (ff02::50 for IPv6). */
  readonly multicastGroup?: string | undefined;
  /** UDP port (or multicast group id); default 3780. */
  readonly port?: number | undefined;
  /**
   * Connections from or to these addresses are not synchronised: put the candidates' own addresses here
   * (connections a director terminates itself, its own share included, cannot go on elsewhere).
   * Loopback is always ignored. Do not list the VIPs or the nodes: the directed connections are
   * VIP <-> node and must be synchronised.
   */
  readonly ignoreAddresses?: readonly string[] | undefined;
  /** conntrackd's control socket; default `/var/run/conntrackd-proxyha.ctl`. */
  readonly socketPath?: string | undefined;
  /** conntrackd's lock file; default `/var/lock/conntrackd-proxyha.lock`. */
  readonly lockFile?: string | undefined;
  /** conntrackd's log file, or `on` (its default file) / `off`; default `off`. */
  readonly logFile?: string | undefined;
  /**
   * Inject the peer's entries into the kernel at once instead of keeping them in conntrackd's external
   * cache until {@link ConntrackSync.takeOver} commits them; default false (the primary-backup setup).
   */
  readonly disableExternalCache?: boolean | undefined;
}

/** Options of {@link ConntrackSync}: the config's options plus where it lives and how it is run. */
export interface ConntrackSyncRunOptions extends ConntrackSyncOptions {
  /** The config file conntrackd was started with (`conntrackd -C <file> -d`). */
  readonly configFile: string;
  /** Runs `conntrackd` (inject one to run in a namespace or to record); default {@link runCommand}. */
  readonly run?: CommandRunner | undefined;
  /** The conntrackd program; default `conntrackd`. */
  readonly conntrackd?: string | undefined;
  /** Operator log. */
  readonly logger?: Logger | undefined;
  /** Kill a conntrackd command after this many ms; default 10 000. */
  readonly timeoutMs?: number | undefined;
}

/** One conntrackd command of a role change and how it went. */
export interface ConntrackStep {
  /** The conntrackd flag: `-c` commit, `-f` flush caches, `-R` resync, `-B` bulk send, `-t` shorten timers, `-n` request resync. */
  readonly flag: string;
  /** True when it exited 0. */
  readonly ok: boolean;
  /** What it said on failure. */
  readonly message: string;
}

/** The commands of a new director (keepalived's primary-backup.sh `primary`). */
export const CONNTRACK_TAKEOVER_FLAGS = Object.freeze(['-c', '-f', '-R', '-B']);
/** The commands of a candidate that stops directing (primary-backup.sh `backup`). */
export const CONNTRACK_STANDBY_FLAGS = Object.freeze(['-t', '-n']);

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const isIpv6 = (a: string) => a.includes(':');
const isIp = (a: string) => IPV4.test(a) || (isIpv6(a) && /^[0-9a-f:.]+$/i.test(a));

function invalid(message: string, field: string): LbError {
  return new LbError('LB_INVALID_ARGUMENT', message, { details: { issues: [{ path: field, message }] } });
}

/**
 * The `conntrackd.conf` of one director candidate: FTFW sync over UDP unicast to the peer (or multicast),
 * the peer's entries kept in the external cache until committed, TCP only, loopback and
 * `ignoreAddresses` not synchronised.
 *
 * @throws LbError `LB_INVALID_ARGUMENT` for a bad address, interface or port
 */
export function conntrackdConfig(o: ConntrackSyncOptions): string {
  if (!isIp(o.localAddress)) throw invalid(`bad local address '${o.localAddress}'`, 'localAddress');
  if (o.peerAddress !== undefined && !isIp(o.peerAddress))
    throw invalid(`bad peer address '${o.peerAddress}'`, 'peerAddress');
  if (o.peerAddress !== undefined && isIpv6(o.peerAddress) !== isIpv6(o.localAddress))
    throw invalid('the local and peer addresses are of different families', 'peerAddress');
  if (!/^[\w.@:-]{1,15}$/.test(o.interface)) throw invalid(`bad interface '${o.interface}'`, 'interface');
  const port = o.port ?? 3780;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`bad port ${port}`, 'port');
  const v6 = isIpv6(o.localAddress);
  const fam = v6 ? 'IPv6' : 'IPv4';
  const ignore = [...new Set(['127.0.0.1', '::1', ...(o.ignoreAddresses ?? [])])];
  for (const a of ignore) if (!isIp(a)) throw invalid(`bad ignored address '${a}'`, 'ignoreAddresses');
  const channel =
    o.peerAddress !== undefined
      ? [
          '\tUDP {',
          `\t\t${fam}_address ${o.localAddress}`,
          `\t\t${fam}_Destination_Address ${o.peerAddress}`,
          `\t\tPort ${port}`,
          `\t\tInterface ${o.interface}`,
          '\t\tSndSocketBuffer 1249280',
          '\t\tRcvSocketBuffer 1249280',
          '\t\tChecksum on',
          '\t}',
        ]
      : [
          '\tMulticast {',
          `\t\t${fam}_address ${o.multicastGroup ?? (v6 ? 'ff02::50' : '225.0.0.50')}`,
          `\t\tGroup ${port}`,
          `\t\t${fam}_interface ${o.localAddress}`,
          `\t\tInterface ${o.interface}`,
          '\t\tSndSocketBuffer 1249280',
          '\t\tRcvSocketBuffer 1249280',
          '\t\tChecksum on',
          '\t}',
        ];
  return [
    '# conntrackd.conf generated by proxyha-lb (ConntrackSync): connection-state handover between',
    '# director candidates; see docs/handover.md.',
    'Sync {',
    '\tMode FTFW {',
    `\t\tDisableExternalCache ${o.disableExternalCache ? 'On' : 'Off'}`,
    '\t}',
    ...channel,
    '}',
    'General {',
    '\tHashSize 32768',
    '\tHashLimit 131072',
    `\tLogFile ${o.logFile ?? 'off'}`,
    '\tSyslog off',
    `\tLockFile ${o.lockFile ?? '/var/lock/conntrackd-proxyha.lock'}`,
    '\tUNIX {',
    `\t\tPath ${o.socketPath ?? '/var/run/conntrackd-proxyha.ctl'}`,
    '\t}',
    '\tNetlinkBufferSize 2097152',
    '\tNetlinkBufferSizeMaxGrowth 8388608',
    '\tFilter From Userspace {',
    '\t\tProtocol Accept {',
    '\t\t\tTCP',
    '\t\t}',
    '\t\tAddress Ignore {',
    ...ignore.map((a) => `\t\t\t${isIpv6(a) ? 'IPv6' : 'IPv4'}_address ${a}`),
    '\t\t}',
    '\t}',
    '}',
    '',
  ].join('\n');
}

/**
 * Drives a running conntrackd at role changes, as keepalived's `primary-backup.sh` does: a new director
 * commits the entries synchronised from the previous one into the kernel (`-c`), flushes and resyncs its
 * caches and sends its table to the peer (`-f -R -B`); a candidate that stops directing shortens the
 * timers of its now stale entries and asks the new director for a resync (`-t -n`). Failures are logged
 * and reported, never thrown: the handover is best effort and directing must go on.
 */
export class ConntrackSync {
  readonly #o: ConntrackSyncRunOptions;
  readonly #run: CommandRunner;
  readonly #log: Logger;

  /** @param options - the sync link and where conntrackd's config lives */
  constructor(options: ConntrackSyncRunOptions) {
    this.#o = options;
    this.#run = options.run ?? runCommand;
    this.#log = options.logger ?? noopLogger;
  }

  /** The config text for {@link ConntrackSyncRunOptions.configFile} ({@link conntrackdConfig}). */
  config(): string {
    return conntrackdConfig(this.#o);
  }

  /** Commits the synchronised entries and takes over the sync (this node became director). */
  takeOver(): Promise<ConntrackStep[]> {
    return this.#steps('director', CONNTRACK_TAKEOVER_FLAGS);
  }

  /** Shortens the timers of this node's entries and requests a resync (this node stopped directing). */
  standBy(): Promise<ConntrackStep[]> {
    return this.#steps('standby', CONNTRACK_STANDBY_FLAGS);
  }

  /** {@link takeOver} for `director`, {@link standBy} otherwise (a `role` listener of `LbNode`). */
  onRole(role: LbRole): Promise<ConntrackStep[]> {
    return role === 'director' ? this.takeOver() : this.standBy();
  }

  async #steps(what: string, flags: readonly string[]): Promise<ConntrackStep[]> {
    const out: ConntrackStep[] = [];
    for (const flag of flags) {
      const r = await this.#run(this.#o.conntrackd ?? 'conntrackd', ['-C', this.#o.configFile, flag], {
        timeoutMs: this.#o.timeoutMs ?? 10_000,
      });
      const ok = r.code === 0;
      const message = ok ? '' : (r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`).split('\n')[0];
      if (!ok) this.#log.error(`conntrackd ${flag} (${what}) failed: ${message}`, { flag });
      out.push({ flag, ok, message: message ?? '' });
    }
    if (out.every((s) => s.ok)) this.#log.info(`conntrackd: ${what} (${flags.join(' ')})`);
    return out;
  }
}

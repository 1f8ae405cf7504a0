// Link-layer management: macvlan interfaces that carry an extra MAC address on a parent interface (a
// VRRP virtual MAC, as keepalived's use_vmac and FRR create them), with the ARP settings such an interface
// needs, through iproute2 and sysctl, and an in-memory twin.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Clock,
  type CommandFailure,
  type CommandRunner,
  checkCommand,
  formatMac,
  type IpFamily,
  ProxyhaError,
  parseMac,
  runCommand,
  systemClock,
} from '@proxyha/common';
import { NetioError, NetioInvalidArgumentError, NetioUnknownInterfaceError } from './errors';
import { checkInterfaceName } from './validate';

/** A macvlan interface (private mode) carrying its own MAC address on a parent interface. */
export interface MacvlanSpec {
  /** The parent (physical) interface, such as `eth0`. */
  readonly parent: string;
  /** Name of the macvlan interface, such as `vrrp.51` (1..15 bytes, no `/`, `:` or spaces). */
  readonly name: string;
  /** Its MAC address, a unicast `aa:bb:cc:dd:ee:ff` (for VRRP, the virtual router MAC of the VRID). */
  readonly mac: string;
  /**
   * Keep the parent's MAC out of ARP for addresses that live on the macvlan: sets the parent's
   * `arp_ignore` = 1 and `arp_filter` = 1 (as keepalived does, so the parent does not answer ARP requests
   * for them) and `arp_announce` = 2 (so the parent's own ARP requests, made when replies to clients route
   * out of the parent, never carry such an address as sender: without it a client's cache entry flips back
   * to the parent's MAC). The original values come back when the last macvlan with isolation on that
   * parent is removed. Default true; matters for IPv4 only.
   */
  readonly arpIsolation?: boolean;
  /**
   * The family of the addresses the macvlan will carry. `ipv4`: IPv6 is disabled on it (`disable_ipv6=1`),
   * so it never sends a frame of its own (no router solicitation, no DAD). `ipv6`: no automatic link-local
   * address (`addrgenmode none`); the caller adds the addresses it needs. Unset: neither.
   */
  readonly family?: IpFamily;
}

/**
 * Creates, brings up and down, and removes macvlan interfaces. {@link LinuxMacvlanManager} uses iproute2
 * and sysctl; {@link MemoryMacvlanManager} is its twin for tests.
 */
export interface MacvlanManager {
  /**
   * Creates the macvlan (private mode) with the spec's MAC on its parent, applies its settings before it
   * first comes up (`arp_ignore=1` on the macvlan, so that it never answers ARP for the host's other
   * addresses with its MAC; the spec's `family` and `arpIsolation` settings) and brings it up (see
   * {@link MacvlanManager.setUp}). Adopts an existing macvlan with the same name, parent and MAC (left
   * over by a crashed process).
   *
   * @throws NetioError `NETIO_INVALID_ARGUMENT` for a malformed spec, `NETIO_UNKNOWN_INTERFACE` when the
   *   parent does not exist, `NETIO_MACVLAN_CONFLICT` when the name is taken by another interface,
   *   `NETIO_COMMAND_FAILED` when a command fails
   */
  create(spec: MacvlanSpec): Promise<void>;
  /**
   * Brings a macvlan up or down. On up it waits (at most 500 ms) until the kernel reports the link
   * operationally up: a device that comes up gets a working transmit queue only when the kernel's linkwatch
   * runs, and frames sent before that are dropped without a word.
   *
   * @throws NetioError `NETIO_UNKNOWN_INTERFACE` when there is no such interface, `NETIO_COMMAND_FAILED`
   */
  setUp(name: string, up: boolean): Promise<void>;
  /**
   * Removes a macvlan and, with the last one with ARP isolation on a parent, restores the parent's ARP
   * settings. Removing an absent one is not an error.
   *
   * @throws NetioError `NETIO_COMMAND_FAILED`
   */
  remove(name: string): Promise<void>;
  /** The macvlans this manager created or adopted and has not removed (MACs in canonical form). */
  list(): Promise<MacvlanSpec[]>;
}

/** Options of {@link LinuxMacvlanManager}. */
export interface LinuxMacvlanOptions {
  /** Program name or path of `ip` (iproute2). Default `ip`. */
  readonly ip?: string;
  /** Program name or path of `sysctl`. Default `sysctl`. */
  readonly sysctl?: string;
  /**
   * Where the kernel's per-interface files are, for the operational state after bringing a macvlan up
   * (`<sysClassNet>/<name>/operstate`). Default `/sys/class/net`. When the file is not there (a runner
   * that works in another network namespace, whose `/sys` this process does not see), there is no wait.
   */
  readonly sysClassNet?: string;
  /** Clock for the wait after bringing a macvlan up. Default common's `systemClock`. */
  readonly clock?: Clock;
}

/** Parent interface sysctls set while a macvlan with ARP isolation is on it. */
const ISOLATION: Readonly<Record<string, string>> = { arp_ignore: '1', arp_filter: '1', arp_announce: '2' };

/** The longest wait for a macvlan to be operationally up after `ip link set up`. */
const UP_WAIT_MS = 500;

/** A spec after validation: canonical MAC, defaults applied. */
interface CheckedSpec extends MacvlanSpec {
  readonly mac: string;
  readonly arpIsolation: boolean;
}

/** Validates a {@link MacvlanSpec}; throws NETIO_INVALID_ARGUMENT naming the field. */
function checkSpec(spec: MacvlanSpec): CheckedSpec {
  if (typeof spec !== 'object' || spec === null)
    throw new NetioInvalidArgumentError('spec', spec, 'a macvlan spec object');
  checkInterfaceName('spec.parent', spec.parent);
  checkInterfaceName('spec.name', spec.name);
  if (spec.name === spec.parent)
    throw new NetioInvalidArgumentError('spec.name', spec.name, 'a name other than the parent');
  const mac = parseMac(spec.mac);
  if (!mac || ((mac[0] as number) & 1) === 1)
    throw new NetioInvalidArgumentError('spec.mac', spec.mac, 'a unicast MAC address aa:bb:cc:dd:ee:ff');
  if (spec.arpIsolation !== undefined && typeof spec.arpIsolation !== 'boolean')
    throw new NetioInvalidArgumentError('spec.arpIsolation', spec.arpIsolation, 'a boolean');
  if (spec.family !== undefined && spec.family !== 'ipv4' && spec.family !== 'ipv6')
    throw new NetioInvalidArgumentError('spec.family', spec.family, '"ipv4" or "ipv6"');
  return {
    parent: spec.parent,
    name: spec.name,
    mac: formatMac(mac),
    arpIsolation: spec.arpIsolation ?? true,
    ...(spec.family === undefined ? {} : { family: spec.family }),
  };
}

function conflict(spec: CheckedSpec): NetioError {
  return new NetioError(
    'NETIO_MACVLAN_CONFLICT',
    `interface ${spec.name} already exists and is not a private macvlan on ${spec.parent} with address ${spec.mac}`,
    { details: { name: spec.name, parent: spec.parent, mac: spec.mac } },
  );
}

/** What iproute2 prints for a device that does not exist. */
const NO_DEVICE = /cannot find device|does not exist/i;

/**
 * {@link MacvlanManager} for Linux, through iproute2 (`ip`) and `sysctl`, as keepalived's `use_vmac` sets
 * up a VMAC: `ip link add link eth0 name vrrp.51 address 00:00:5e:00:01:33 type macvlan mode private`, the
 * sysctls, then `ip link set dev vrrp.51 up`. Needs CAP_NET_ADMIN in the network namespace the runner runs
 * in.
 */
export class LinuxMacvlanManager implements MacvlanManager {
  readonly #run: CommandRunner;
  readonly #ip: string;
  readonly #sysctl: string;
  readonly #sysClassNet: string;
  readonly #clock: Clock;
  readonly #mine = new Map<string, CheckedSpec>();
  /** parent -> original sysctl values while any isolated macvlan is on it */
  readonly #saved = new Map<string, { original: Record<string, string>; users: number }>();

  /**
   * @param run - command runner (default common's `runCommand`); inject one to run the commands in a
   *   network namespace or to record them
   * @param options - program paths, sysfs location, clock
   */
  constructor(run: CommandRunner = runCommand, options: LinuxMacvlanOptions = {}) {
    this.#run = run;
    this.#ip = options.ip ?? 'ip';
    this.#sysctl = options.sysctl ?? 'sysctl';
    this.#sysClassNet = options.sysClassNet ?? '/sys/class/net';
    this.#clock = options.clock ?? systemClock;
  }

  /** Runs a command; a failure becomes NETIO_UNKNOWN_INTERFACE (for `device`, when named) or NETIO_COMMAND_FAILED. */
  async #must(file: string, args: readonly string[], device?: string): Promise<string> {
    try {
      return await checkCommand(this.#run, file, args);
    } catch (error) {
      if (!(error instanceof ProxyhaError)) throw error;
      const failure = error.details as CommandFailure;
      if (device !== undefined && NO_DEVICE.test(failure.result.stderr))
        throw new NetioUnknownInterfaceError(device, { cause: error });
      throw new NetioError<CommandFailure>('NETIO_COMMAND_FAILED', error.message, {
        details: failure,
        cause: error,
      });
    }
  }

  /** {@inheritDoc MacvlanManager.create} */
  async create(input: MacvlanSpec): Promise<void> {
    const spec = checkSpec(input);
    const existing = await this.#run(this.#ip, ['-j', '-d', 'link', 'show', 'dev', spec.name]);
    let created = false;
    if (existing.code === 0) {
      let link: {
        address?: string;
        link?: string;
        linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
      } = {};
      try {
        link = (JSON.parse(existing.stdout) as (typeof link)[])[0] ?? {};
      } catch {
        // not JSON: not ours
      }
      const ours =
        link.linkinfo?.info_kind === 'macvlan' &&
        link.linkinfo.info_data?.mode === 'private' &&
        link.address === spec.mac &&
        link.link === spec.parent;
      if (!ours) throw conflict(spec);
    } else {
      const args = ['link', 'add', 'link', spec.parent, 'name', spec.name, 'address', spec.mac];
      await this.#must(this.#ip, [...args, 'type', 'macvlan', 'mode', 'private'], spec.parent);
      created = true;
    }
    // created or adopted twice by this manager: the parent's isolation is counted once
    const isolate = spec.arpIsolation && !this.#mine.get(spec.name)?.arpIsolation;
    try {
      if (isolate) await this.#isolate(spec.parent);
      try {
        // before it first comes up, so that it never sends a frame of its own or answers ARP for others
        await this.#must(this.#sysctl, ['-w', `${key('ipv4', spec.name, 'arp_ignore')}=1`]);
        if (spec.family === 'ipv4')
          await this.#must(this.#sysctl, ['-w', `${key('ipv6', spec.name, 'disable_ipv6')}=1`]);
        if (spec.family === 'ipv6')
          await this.#must(this.#ip, ['link', 'set', 'dev', spec.name, 'addrgenmode', 'none']);
        await this.setUp(spec.name, true);
      } catch (error) {
        if (isolate) await this.#release(spec.parent).catch(() => undefined);
        throw error;
      }
    } catch (error) {
      if (created) await this.#run(this.#ip, ['link', 'del', 'dev', spec.name]);
      throw error;
    }
    const before = this.#mine.get(spec.name);
    this.#mine.set(spec.name, spec);
    if (before?.arpIsolation && !spec.arpIsolation) await this.#release(before.parent);
  }

  /** {@inheritDoc MacvlanManager.setUp} */
  async setUp(name: string, up: boolean): Promise<void> {
    checkInterfaceName('name', name);
    await this.#must(this.#ip, ['link', 'set', 'dev', name, up ? 'up' : 'down'], name);
    if (up) await this.#operstateUp(name);
  }

  /** {@inheritDoc MacvlanManager.remove} */
  async remove(name: string): Promise<void> {
    checkInterfaceName('name', name);
    const spec = this.#mine.get(name);
    try {
      await this.#must(this.#ip, ['link', 'del', 'dev', name], name);
    } catch (error) {
      if (!(error instanceof NetioUnknownInterfaceError)) throw error; // absent: removed already
    }
    this.#mine.delete(name);
    if (spec?.arpIsolation) await this.#release(spec.parent);
  }

  /** {@inheritDoc MacvlanManager.list} */
  async list(): Promise<MacvlanSpec[]> {
    return [...this.#mine.values()];
  }

  /** Waits until `<sysClassNet>/<name>/operstate` says up, at most {@link UP_WAIT_MS}. */
  async #operstateUp(name: string): Promise<void> {
    const file = join(this.#sysClassNet, name, 'operstate');
    const end = this.#clock.now() + UP_WAIT_MS;
    for (;;) {
      let state: string;
      try {
        // sysfs: answered from kernel memory at once, so a synchronous read costs microseconds
        state = readFileSync(file, 'utf8').trim();
      } catch {
        return; // not visible from here (another namespace's /sys): nothing to wait for
      }
      if (state === 'up' || this.#clock.now() >= end) return;
      await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, 1));
    }
  }

  async #isolate(parent: string): Promise<void> {
    const s = this.#saved.get(parent);
    if (s) {
      s.users++;
      return;
    }
    const original: Record<string, string> = {};
    for (const k of Object.keys(ISOLATION))
      original[k] = (await this.#must(this.#sysctl, ['-n', key('ipv4', parent, k)])).trim();
    this.#saved.set(parent, { original, users: 1 });
    try {
      for (const [k, v] of Object.entries(ISOLATION))
        await this.#must(this.#sysctl, ['-w', `${key('ipv4', parent, k)}=${v}`]);
    } catch (error) {
      await this.#release(parent).catch(() => undefined);
      throw error;
    }
  }

  async #release(parent: string): Promise<void> {
    const s = this.#saved.get(parent);
    if (!s) return;
    if (--s.users > 0) return;
    this.#saved.delete(parent);
    for (const [k, v] of Object.entries(s.original))
      await this.#must(this.#sysctl, ['-w', `${key('ipv4', parent, k)}=${v}`]);
  }
}

/** A per-interface sysctl key; dots in the interface name are written as `/`, as sysctl(8) wants. */
function key(family: IpFamily, ifname: string, setting: string): string {
  return `net.${family}.conf.${ifname.replaceAll('.', '/')}.${setting}`;
}

/**
 * In-memory twin of {@link LinuxMacvlanManager}: the same validation, adoption and errors, no system
 * changes. The constructor names the interfaces that exist "on the host" (parents must be among them).
 */
export class MemoryMacvlanManager implements MacvlanManager {
  /** name -> the macvlan, or undefined for a parent interface */
  readonly #links = new Map<string, CheckedSpec | undefined>();
  readonly #up = new Set<string>();

  /** @param parents - names of existing (physical) interfaces; default `['eth0']` */
  constructor(parents: readonly string[] = ['eth0']) {
    for (const p of parents) {
      this.#links.set(p, undefined);
      this.#up.add(p);
    }
  }

  /** {@inheritDoc MacvlanManager.create} */
  async create(input: MacvlanSpec): Promise<void> {
    const spec = checkSpec(input);
    if (this.#links.has(spec.name)) {
      const e = this.#links.get(spec.name);
      if (!e || e.parent !== spec.parent || e.mac !== spec.mac) throw conflict(spec);
    } else if (!this.#links.has(spec.parent)) {
      throw new NetioUnknownInterfaceError(spec.parent);
    }
    this.#links.set(spec.name, spec);
    this.#up.add(spec.name);
  }

  /** {@inheritDoc MacvlanManager.setUp} */
  async setUp(name: string, up: boolean): Promise<void> {
    checkInterfaceName('name', name);
    if (!this.#links.has(name)) throw new NetioUnknownInterfaceError(name);
    if (up) this.#up.add(name);
    else this.#up.delete(name);
  }

  /** {@inheritDoc MacvlanManager.remove} */
  async remove(name: string): Promise<void> {
    checkInterfaceName('name', name);
    if (this.#links.get(name)) {
      this.#links.delete(name);
      this.#up.delete(name);
    }
  }

  /** {@inheritDoc MacvlanManager.list} */
  async list(): Promise<MacvlanSpec[]> {
    return [...this.#links.values()].filter((v): v is CheckedSpec => v !== undefined);
  }

  /** Whether an interface (a parent or a macvlan) is up; false for an unknown name. */
  isUp(name: string): boolean {
    return this.#up.has(name);
  }
}

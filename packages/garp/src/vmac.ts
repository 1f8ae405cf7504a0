// Virtual MAC addresses (RFC 5798 section 7.3) and the macvlan interfaces that carry them, as keepalived's
// use_vmac and FRR create them.
import { execFile } from 'node:child_process';
import { canonicalMac } from './addr';
import { GarpError } from './errors';

/**
 * The VRRP virtual router MAC address: 00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID for IPv6.
 *
 * @param vrid - virtual router id, 1..255
 * @param family - address family of the virtual router (default `ipv4`)
 * @throws GarpError `GARP_BAD_VRID`
 */
export function virtualMac(vrid: number, family: 'ipv4' | 'ipv6' = 'ipv4'): string {
  if (!Number.isInteger(vrid) || vrid < 1 || vrid > 255)
    throw new GarpError('GARP_BAD_VRID', `vrid: must be an integer 1..255 (got ${String(vrid)})`);
  if (family !== 'ipv4' && family !== 'ipv6')
    throw new GarpError('GARP_BAD_FIELD', `family: must be ipv4 or ipv6 (got ${String(family)})`);
  return `00:00:5e:00:0${family === 'ipv4' ? 1 : 2}:${vrid.toString(16).padStart(2, '0')}`;
}

/** What a virtual router MAC address says. */
export interface VirtualMacInfo {
  /** Virtual router id, 1..255. */
  readonly vrid: number;
  /** Address family of the virtual router. */
  readonly family: 'ipv4' | 'ipv6';
}

/**
 * The VRID a virtual router MAC address belongs to, with its family; `undefined` for any other address.
 */
export function parseVirtualMac(mac: string): VirtualMacInfo | undefined {
  let m: string;
  try {
    m = canonicalMac(mac);
  } catch {
    return undefined;
  }
  const r = /^00:00:5e:00:0([12]):([0-9a-f]{2})$/.exec(m);
  if (!r) return undefined;
  const vrid = Number.parseInt(r[2] as string, 16);
  if (vrid === 0) return undefined;
  return { vrid, family: r[1] === '1' ? 'ipv4' : 'ipv6' };
}

/** keepalived's default VMAC interface name: `vrrp.<vrid>` (IPv4) or `vrrp6.<vrid>` (IPv6). */
export function defaultVmacName(vrid: number, family: 'ipv4' | 'ipv6' = 'ipv4'): string {
  virtualMac(vrid, family);
  return `vrrp${family === 'ipv4' ? '' : '6'}.${vrid}`;
}

/** A macvlan interface carrying a virtual MAC. */
export interface VmacSpec {
  /** The physical (parent) interface, such as `eth0`. */
  readonly parent: string;
  /** Name of the macvlan interface, such as `vrrp.51` (at most 15 characters). */
  readonly name: string;
  /** Its MAC address, normally {@link virtualMac}. */
  readonly mac: string;
  /**
   * Keep the parent's MAC out of ARP for addresses that live on the macvlan: sets the parent's
   * `arp_ignore` = 1 and `arp_filter` = 1 (as keepalived does, so the parent does not answer ARP requests for
   * them) and `arp_announce` = 2 (so the parent's own ARP requests, made when replies to clients route out
   * of the parent, never carry a VIP as sender address: without it a client's cache entry for the VIP
   * flips back to the parent's MAC). The original values come back when the last VMAC on the parent is
   * removed. Default true; only matters for IPv4.
   */
  readonly arpIsolation?: boolean;
}

/** Creates and removes VMAC interfaces. {@link LinuxVmacManager} uses iproute2; {@link MemoryVmacManager} is its twin. */
export interface VmacManager {
  /**
   * Creates the macvlan (private mode) and brings it up. Adopts an existing macvlan with the same name,
   * parent and MAC (left over by a crashed process).
   *
   * @throws GarpError `GARP_COMMAND_FAILED` (also when the name is taken by a different interface)
   */
  create(spec: VmacSpec): Promise<void>;
  /** Removes a macvlan created (or adopted) by this manager; removing an absent one is not an error. */
  remove(name: string): Promise<void>;
  /** The VMAC interfaces this manager created or adopted and has not removed. */
  list(): Promise<VmacSpec[]>;
}

/** Result of one command run by a {@link CommandRunner}. */
export interface CommandResult {
  /** Standard output. */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
  /** Exit code (non-zero is a failure; the runner must not throw for it). */
  readonly code: number;
}

/** Runs a program with arguments (no shell). Inject one to run `ip` inside a namespace, or to record calls. */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<CommandResult>;

/** The default {@link CommandRunner}: `execFile` without a shell, exit code in the result. */
export const execCommand: CommandRunner = (file, args) =>
  new Promise((resolve) => {
    execFile(file, [...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
      resolve({ stdout, stderr: stderr || (err && code === 127 ? err.message : ''), code });
    });
  });

/** Parent interface sysctls set while a VMAC with ARP isolation is on it. */
const ISOLATION: Readonly<Record<string, string>> = { arp_ignore: '1', arp_filter: '1', arp_announce: '2' };

const IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/;

function checkSpec(spec: VmacSpec): VmacSpec & { mac: string } {
  for (const f of ['parent', 'name'] as const)
    if (typeof spec[f] !== 'string' || !IFNAME.test(spec[f]) || spec[f].includes('/'))
      throw new GarpError(
        'GARP_BAD_REQUEST',
        `vmac.${f}: not an interface name (got ${JSON.stringify(spec[f])})`,
      );
  return { ...spec, mac: canonicalMac(spec.mac, 'vmac.mac') };
}

/**
 * {@link VmacManager} for Linux, through iproute2 (`ip`) and `sysctl`, as keepalived's `use_vmac` sets up:
 * `ip link add link eth0 name vrrp.51 address 00:00:5e:00:01:33 type macvlan mode private`, then
 * `ip link set dev vrrp.51 up`. Needs CAP_NET_ADMIN in the network namespace the runner runs in.
 */
export class LinuxVmacManager implements VmacManager {
  readonly #run: CommandRunner;
  readonly #ip: string;
  readonly #sysctl: string;
  readonly #mine = new Map<string, VmacSpec & { mac: string }>();
  /** parent -> original sysctl values while any isolated VMAC is on it */
  readonly #saved = new Map<string, { original: Record<string, string>; users: number }>();

  /**
   * @param run - command runner (default {@link execCommand})
   * @param paths - program names or paths of `ip` and `sysctl`
   */
  constructor(run: CommandRunner = execCommand, paths: { ip?: string; sysctl?: string } = {}) {
    this.#run = run;
    this.#ip = paths.ip ?? 'ip';
    this.#sysctl = paths.sysctl ?? 'sysctl';
  }

  async #must(file: string, args: readonly string[]): Promise<string> {
    const r = await this.#run(file, args);
    if (r.code !== 0)
      throw new GarpError(
        'GARP_COMMAND_FAILED',
        `${file} ${args.join(' ')}: exit ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`,
      );
    return r.stdout;
  }

  /** @inheritDoc VmacManager.create */
  async create(input: VmacSpec): Promise<void> {
    const spec = checkSpec(input);
    const existing = await this.#run(this.#ip, ['-j', '-d', 'link', 'show', 'dev', spec.name]);
    if (existing.code === 0) {
      let link: {
        address?: string;
        link?: string;
        linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
      } = {};
      try {
        link = (JSON.parse(existing.stdout) as (typeof link)[])[0] ?? {};
      } catch {}
      const ok =
        link.linkinfo?.info_kind === 'macvlan' &&
        link.linkinfo.info_data?.mode === 'private' &&
        link.address === spec.mac &&
        link.link === spec.parent;
      if (!ok)
        throw new GarpError(
          'GARP_COMMAND_FAILED',
          `interface ${spec.name} already exists and is not a private macvlan on ${spec.parent} with address ${spec.mac}`,
        );
    } else {
      await this.#must(this.#ip, [
        'link',
        'add',
        'link',
        spec.parent,
        'name',
        spec.name,
        'address',
        spec.mac,
        'type',
        'macvlan',
        'mode',
        'private',
      ]);
    }
    try {
      if (spec.arpIsolation ?? true) await this.#isolate(spec.parent);
      await this.#must(this.#ip, ['link', 'set', 'dev', spec.name, 'up']);
    } catch (e) {
      await this.#run(this.#ip, ['link', 'del', 'dev', spec.name]);
      if (spec.arpIsolation ?? true) await this.#release(spec.parent);
      throw e;
    }
    this.#mine.set(spec.name, spec);
  }

  /** @inheritDoc VmacManager.remove */
  async remove(name: string): Promise<void> {
    const spec = this.#mine.get(name);
    const r = await this.#run(this.#ip, ['link', 'del', 'dev', name]);
    if (r.code !== 0 && !/cannot find device|does not exist/i.test(r.stderr))
      throw new GarpError(
        'GARP_COMMAND_FAILED',
        `ip link del dev ${name}: exit ${r.code}: ${r.stderr.trim()}`,
      );
    this.#mine.delete(name);
    if (spec && (spec.arpIsolation ?? true)) await this.#release(spec.parent);
  }

  /** @inheritDoc VmacManager.list */
  async list(): Promise<VmacSpec[]> {
    return [...this.#mine.values()];
  }

  #key(parent: string, k: string): string {
    return `net.ipv4.conf.${parent.replaceAll('.', '/')}.${k}`;
  }

  async #isolate(parent: string): Promise<void> {
    const s = this.#saved.get(parent);
    if (s) {
      s.users++;
      return;
    }
    const original: Record<string, string> = {};
    for (const k of Object.keys(ISOLATION))
      original[k] = (await this.#must(this.#sysctl, ['-n', this.#key(parent, k)])).trim();
    this.#saved.set(parent, { original, users: 1 });
    try {
      for (const [k, v] of Object.entries(ISOLATION))
        await this.#must(this.#sysctl, ['-w', `${this.#key(parent, k)}=${v}`]);
    } catch (e) {
      await this.#release(parent).catch(() => undefined);
      throw e;
    }
  }

  async #release(parent: string): Promise<void> {
    const s = this.#saved.get(parent);
    if (!s) return;
    if (--s.users > 0) return;
    this.#saved.delete(parent);
    for (const [k, v] of Object.entries(s.original))
      await this.#must(this.#sysctl, ['-w', `${this.#key(parent, k)}=${v}`]);
  }
}

/**
 * In-memory twin of {@link LinuxVmacManager}: same validation and the same errors for name clashes, no
 * system changes. `interfaces` lists the names that exist "on the host" (parents must be among them).
 */
export class MemoryVmacManager implements VmacManager {
  readonly #links = new Map<string, (VmacSpec & { mac: string }) | undefined>();

  /** @param parents - names of existing physical interfaces (default `['eth0']`) */
  constructor(parents: readonly string[] = ['eth0']) {
    for (const p of parents) this.#links.set(p, undefined);
  }

  /** @inheritDoc VmacManager.create */
  async create(input: VmacSpec): Promise<void> {
    const spec = checkSpec(input);
    if (!this.#links.has(spec.parent))
      throw new GarpError(
        'GARP_COMMAND_FAILED',
        `ip link add link ${spec.parent}: Cannot find device "${spec.parent}"`,
      );
    if (this.#links.has(spec.name)) {
      const e = this.#links.get(spec.name);
      if (!e || e.parent !== spec.parent || e.mac !== spec.mac)
        throw new GarpError(
          'GARP_COMMAND_FAILED',
          `interface ${spec.name} already exists and is not a private macvlan on ${spec.parent} with address ${spec.mac}`,
        );
      return;
    }
    this.#links.set(spec.name, spec);
  }

  /** @inheritDoc VmacManager.remove */
  async remove(name: string): Promise<void> {
    if (this.#links.get(name)) this.#links.delete(name);
  }

  /** @inheritDoc VmacManager.list */
  async list(): Promise<VmacSpec[]> {
    return [...this.#links.values()].filter((v): v is VmacSpec & { mac: string } => v !== undefined);
  }
}

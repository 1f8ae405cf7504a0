import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec';
import type { ManagedProcess } from './process';
import { runSyncQuiet, Scope } from './scope';

/** A lab node as requested: a name, optionally with fixed addresses. */
export interface LabNodeSpec {
  /** Node name, used in every Lab method (letters, digits, '-', at most 12). */
  name: string;
  /** IPv4 address on eth0 (default 192.168.77.<11 + index>). */
  ipv4?: string;
  /** IPv6 address on eth0 (default fd77::<11 + index>). */
  ipv6?: string;
}

/** Options of {@link Lab.create}. */
export interface LabOptions {
  /** The nodes, each a network namespace with one interface `eth0` on the lab bridge. */
  nodes: readonly (string | LabNodeSpec)[];
  /** Give nodes IPv6 addresses too (default true). */
  ipv6?: boolean;
}

/** A created lab node. */
export interface LabNode {
  /** The name given in {@link LabOptions.nodes}. */
  readonly name: string;
  /** The network namespace's name (unique per run). */
  readonly netns: string;
  /** The node's interface on the lab bridge: always `eth0`. */
  readonly ifname: 'eth0';
  /** Interface index of eth0 inside the namespace. */
  readonly ifindex: number;
  /** MAC address of eth0 (lower-case, colon-separated). */
  readonly mac: string;
  /** IPv4 address of eth0. */
  readonly ipv4: string;
  /** IPv4 prefix length (24). */
  readonly prefix4: number;
  /** IPv6 address of eth0 (empty when the lab has no IPv6). */
  readonly ipv6: string;
  /** IPv6 link-local address of eth0 (empty when the lab has no IPv6). */
  readonly linkLocal6: string;
  /** Name of this node's port on the lab bridge (inside the bridge namespace). */
  readonly bridgePort: string;
}

/** Traffic selector of {@link Lab.drop}. */
export interface DropOptions {
  /** Frames coming from this node. */
  from: string;
  /** Frames going to this node (default: to every other node). */
  to?: string;
  /** Also drop the reverse direction (default false). */
  both?: boolean;
  /** What to drop: a protocol name or IP protocol number (default: everything). */
  protocol?: 'all' | 'vrrp' | 'arp' | 'ndp' | 'tcp' | 'udp' | 'icmp' | number;
  /** Drop only this percentage of matching frames, at random (default 100). */
  percent?: number;
}

/** A packet-drop rule installed with {@link Lab.drop}; remove it to heal. */
export interface DropRule {
  /** Removes the rule (idempotent). */
  remove(): Promise<void>;
}

/** A running tcpdump capture; see {@link Lab.capture}. */
export interface Capture {
  /** The pcap file being written. */
  readonly file: string;
  /** Stops tcpdump and waits until the file is complete (idempotent). */
  stop(): Promise<void>;
  /**
   * Stops the capture and dissects it with tshark (`-T json`, IP/UDP/TCP checksum
   * validation on). Returns one `_source.layers` object per frame.
   */
  dissect(extraArgs?: readonly string[]): Promise<TsharkLayers[]>;
}

/** One frame as tshark's JSON output shows it: protocol name to field map. */
export type TsharkLayers = Record<string, Record<string, unknown> & { [field: string]: unknown }>;

/**
 * The value of tshark field `name` (e.g. `vrrp.version`) in a dissected frame, wherever
 * tshark nested it (`vrrp.typever_tree` holds `vrrp.version`); undefined when absent.
 */
export function tsharkField(frame: TsharkLayers, name: string): string | undefined {
  const proto = name.split('.')[0] as string;
  const stack: unknown[] = [frame[proto] ?? frame];
  while (stack.length) {
    const node = stack.pop();
    if (!node || typeof node !== 'object') continue;
    for (const [k, v] of Object.entries(node)) {
      if (k === name && (typeof v === 'string' || typeof v === 'number')) return String(v);
      if (k === name && Array.isArray(v) && v.length) return String(v[0]);
      if (v && typeof v === 'object') stack.push(v);
    }
  }
  return undefined;
}

/**
 * Problems tshark reports in a dissected frame: malformed packets and expert info of
 * warning or error severity (bad checksums among them), as `protocol: message` lines.
 */
export function tsharkProblems(frame: TsharkLayers): string[] {
  const out: string[] = [];
  const visit = (node: unknown, proto: string) => {
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '_ws.malformed') out.push(`${proto}: malformed packet`);
      if (k === '_ws.expert' && v && typeof v === 'object') {
        const e = v as Record<string, unknown>;
        const sev = Number(e['_ws.expert.severity']);
        // 0x00600000 warning, 0x00800000 error
        if (sev >= 0x00600000) out.push(`${proto}: ${String(e['_ws.expert.message'] ?? JSON.stringify(e))}`);
      }
      visit(v, proto);
    }
  };
  for (const [proto, layer] of Object.entries(frame)) visit(layer, proto);
  return out;
}

/** A running FRR (zebra + vrrpd) instance. */
export interface FrrInstance {
  /** The zebra process. */
  readonly zebra: ManagedProcess;
  /** The vrrpd process. */
  readonly vrrpd: ManagedProcess;
  /** Runs a vtysh command against this instance and returns its output. */
  vtysh(command: string): Promise<string>;
  /** Stops both daemons (vrrpd first, with `signal`, default SIGTERM). */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const PREFIX = 'phx';

/**
 * A set of Linux network namespaces ("nodes") joined by one bridge that lives in a
 * namespace of its own (multicast snooping off, so multicast reaches every port).
 * Every node has `eth0` with an IPv4 address in 192.168.77.0/24 and an IPv6 address in
 * fd77::/64; names are unique per run, so parallel test files never collide, and the
 * addresses exist only inside the lab. Packet loss and partitions are nftables rules
 * on the bridge (this kernel has no netem).
 *
 * Everything is removed by {@link Lab.destroy} (use {@link withLab}), also on
 * interrupt; namespaces left behind by a killed test process are swept at the next
 * {@link Lab.create}.
 */
export class Lab extends Scope {
  /** The namespace that holds the bridge `br0`. */
  readonly bridgeNetns: string;
  #nodes = new Map<string, LabNode>();
  #namespaces: string[] = [];

  private constructor() {
    super();
    this.bridgeNetns = `${PREFIX}-${this.id}-br`;
  }

  /** Creates the namespaces, the bridge and the nodes' links and addresses. */
  static override async create(opts: LabOptions = { nodes: [] }): Promise<Lab> {
    await sweepStale();
    const lab = new Lab();
    try {
      await lab.#build(opts);
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return lab;
  }

  async #addNetns(name: string) {
    await run('ip', ['netns', 'add', name]);
    this.#namespaces.push(name);
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  }

  async #build(opts: LabOptions) {
    this.onCleanup(
      async () => {
        for (const ns of [...this.#namespaces].reverse()) await deleteNetns(ns);
      },
      () => {
        for (const ns of [...this.#namespaces].reverse()) deleteNetnsSync(ns);
      },
    );
    const br = this.bridgeNetns;
    await this.#addNetns(br);
    await run('ip', [
      '-n',
      br,
      'link',
      'add',
      'br0',
      'type',
      'bridge',
      'mcast_snooping',
      '0',
      'stp_state',
      '0',
    ]);
    await run('ip', ['-n', br, 'link', 'set', 'br0', 'type', 'bridge', 'forward_delay', '0']);
    await run('ip', ['-n', br, 'link', 'set', 'br0', 'up']);
    await run('ip', ['netns', 'exec', br, 'nft', '-f', '-'], {
      input:
        'table bridge proxyha_lab {\n  chain drops { type filter hook forward priority 0; policy accept; }\n}\n',
    });
    const ipv6 = opts.ipv6 ?? true;
    const seen = new Set<string>();
    for (const [i, raw] of opts.nodes.entries()) {
      const spec = typeof raw === 'string' ? { name: raw } : raw;
      if (!/^[a-z][a-z0-9-]{0,11}$/i.test(spec.name)) throw new Error(`bad lab node name '${spec.name}'`);
      if (seen.has(spec.name) || spec.name === 'bridge')
        throw new Error(`duplicate lab node name '${spec.name}'`);
      seen.add(spec.name);
      const ns = `${PREFIX}-${this.id}-${spec.name}`;
      const port = `p${i}`;
      await this.#addNetns(ns);
      // no duplicate address detection: addresses are usable at once
      for (const conf of ['all', 'default'])
        await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${conf}.accept_dad=0`]);
      await run('ip', [
        'link',
        'add',
        'name',
        'eth0',
        'netns',
        ns,
        'type',
        'veth',
        'peer',
        'name',
        port,
        'netns',
        br,
      ]);
      await run('ip', ['-n', br, 'link', 'set', port, 'master', 'br0']);
      await run('ip', ['-n', br, 'link', 'set', port, 'up']);
      const ipv4 = spec.ipv4 ?? `192.168.77.${11 + i}`;
      const ip6 = ipv6 ? (spec.ipv6 ?? `fd77::${11 + i}`) : '';
      await run('ip', ['-n', ns, 'addr', 'add', `${ipv4}/24`, 'dev', 'eth0']);
      if (ip6) await run('ip', ['-n', ns, 'addr', 'add', `${ip6}/64`, 'dev', 'eth0', 'nodad']);
      await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      const link = JSON.parse((await run('ip', ['-n', ns, '-j', 'link', 'show', 'eth0'])).stdout)[0];
      let linkLocal6 = '';
      if (ip6) {
        const addrs = JSON.parse(
          (await run('ip', ['-n', ns, '-j', '-6', 'addr', 'show', 'dev', 'eth0'])).stdout,
        );
        linkLocal6 =
          addrs[0]?.addr_info?.find((a: { scope: string; local: string }) => a.scope === 'link')?.local ?? '';
      }
      this.#nodes.set(spec.name, {
        name: spec.name,
        netns: ns,
        ifname: 'eth0',
        ifindex: link.ifindex,
        mac: link.address,
        ipv4,
        prefix4: 24,
        ipv6: ip6,
        linkLocal6,
        bridgePort: port,
      });
    }
    await this.#waitForCarrier();
  }

  /** Waits until every node's eth0 reports operstate UP (veth carrier takes a moment). */
  async #waitForCarrier() {
    const deadline = Date.now() + 5_000;
    for (const n of this.#nodes.values()) {
      for (;;) {
        const link = JSON.parse((await run('ip', ['-n', n.netns, '-j', 'link', 'show', 'eth0'])).stdout)[0];
        if (link?.operstate === 'UP') break;
        if (Date.now() > deadline) throw new Error(`eth0 of lab node ${n.name} did not come up`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** The node called `name`; throws for an unknown name. */
  node(name: string): LabNode {
    const n = this.#nodes.get(name);
    if (!n) throw new Error(`no lab node '${name}' (have: ${[...this.#nodes.keys()].join(', ')})`);
    return n;
  }

  /** All nodes in creation order. */
  get nodes(): LabNode[] {
    return [...this.#nodes.values()];
  }

  protected override wrap(node: string | null, argv: readonly string[]): string[] {
    if (node === null) return [...argv];
    const ns = node === 'bridge' ? this.bridgeNetns : this.node(node).netns;
    return ['ip', 'netns', 'exec', ns, ...argv];
  }

  /**
   * Starts tcpdump on `where` (a node's eth0, or `'bridge'` for br0, which sees every
   * frame) with an optional pcap filter, and waits until it is listening.
   */
  async capture(where: string, filter = ''): Promise<Capture> {
    const dir = await this.runDir('capture');
    const file = join(dir, `${where}.pcap`);
    const ifname = where === 'bridge' ? 'br0' : 'eth0';
    const p = this.spawn(
      where,
      'tcpdump',
      [
        '-i',
        ifname,
        '--immediate-mode',
        '-U',
        '-n',
        '-s',
        '0',
        '-Z',
        'root',
        '-w',
        file,
        ...(filter ? filter.split(/\s+/) : []),
      ],
      {
        name: `tcpdump:${where}`,
      },
    );
    await p.waitForOutput(/listening on/, 10_000);
    let stopped: Promise<void> | undefined;
    const stop = () => {
      stopped ??= p.kill('SIGINT').then(() => undefined);
      return stopped;
    };
    return {
      file,
      stop,
      async dissect(extraArgs: readonly string[] = []) {
        await stop();
        const out = await run(
          'tshark',
          [
            '-r',
            file,
            '-T',
            'json',
            '-o',
            'ip.check_checksum:TRUE',
            '-o',
            'udp.check_checksum:TRUE',
            '-o',
            'tcp.check_checksum:TRUE',
            ...extraArgs,
          ],
          { timeoutMs: 60_000 },
        );
        const frames = JSON.parse(out.stdout || '[]') as { _source: { layers: TsharkLayers } }[];
        return frames.map((f) => f._source.layers);
      },
    };
  }

  /** Installs an nftables rule on the bridge that drops the selected frames. */
  async drop(opts: DropOptions): Promise<DropRule> {
    return this.#rule(await this.#addDrops(opts));
  }

  /** Installs the drop rules of `opts`; resolves with their nftables handles. */
  async #addDrops(opts: DropOptions): Promise<string[]> {
    const from = this.node(opts.from).bridgePort;
    const to = opts.to === undefined ? undefined : this.node(opts.to).bridgePort;
    const match = protocolMatch(opts.protocol ?? 'all');
    const pct = opts.percent ?? 100;
    if (!(pct > 0 && pct <= 100)) throw new Error(`drop percent must be in (0, 100], got ${pct}`);
    const chance = pct < 100 ? ['numgen', 'random', 'mod', '100', '<', String(Math.round(pct))] : [];
    const handles: string[] = [];
    const add = async (iif: string, oif: string | undefined) => {
      const rule = ['iifname', iif, ...(oif ? ['oifname', oif] : []), ...match, ...chance, 'drop'];
      const r = await this.exec('bridge', 'nft', [
        '-a',
        '-e',
        'add',
        'rule',
        'bridge',
        'proxyha_lab',
        'drops',
        ...rule,
      ]);
      const h = r.stdout.match(/# handle (\d+)/)?.[1];
      if (!h) throw new Error(`nft did not report a rule handle: ${r.stdout}`);
      handles.push(h);
    };
    await add(from, to);
    if (opts.both) {
      if (to) await add(to, from);
      else for (const n of this.nodes) if (n.bridgePort !== from) await add(n.bridgePort, from);
    }
    return handles;
  }

  /** A {@link DropRule} whose `remove` deletes all `handles` in one nftables transaction. */
  #rule(handles: readonly string[]): DropRule {
    let removed = false;
    return {
      remove: async () => {
        if (removed || this.destroyed || handles.length === 0) return;
        removed = true;
        // one transaction: every direction heals at the same instant
        await this.exec('bridge', 'nft', [
          handles.map((h) => `delete rule bridge proxyha_lab drops handle ${h}`).join('; '),
        ]);
      },
    };
  }

  /** Drops every frame between the nodes of `a` and those of `b`, both ways; `remove` heals it atomically. */
  async partition(a: readonly string[], b: readonly string[]): Promise<DropRule> {
    const handles: string[] = [];
    for (const x of a)
      for (const y of b) handles.push(...(await this.#addDrops({ from: x, to: y, both: true })));
    return this.#rule(handles);
  }

  /**
   * Starts a real keepalived (VRRP subsystem only, foreground, logging to the
   * console) in `node` with the given keepalived.conf text. The returned process's
   * group includes keepalived's VRRP child, so `kill('SIGKILL')` kills both, as a crash
   * would.
   */
  async keepalived(node: string, config: string): Promise<ManagedProcess> {
    const dir = await this.runDir(`keepalived-${node}`);
    const conf = join(dir, 'keepalived.conf');
    await writeFile(conf, config);
    const p = this.spawn(
      node,
      'keepalived',
      [
        '--dont-fork',
        '--log-console',
        '--log-detail',
        '--no-syslog',
        '--vrrp',
        '--dont-respawn',
        '-f',
        conf,
        '-p',
        join(dir, 'keepalived.pid'),
        '-r',
        join(dir, 'vrrp.pid'),
        '-c',
        join(dir, 'checkers.pid'),
        '-b',
        join(dir, 'bfd.pid'),
      ],
      { name: `keepalived:${node}` },
    );
    await p.waitForOutput(/Starting VRRP child process|VRRP_Instance|\(\w+\) Entering/, 10_000);
    return p;
  }

  /**
   * Starts FRR's zebra and vrrpd in `node` with `config` as the vrrpd configuration
   * (interface and `vrrp` lines), each with its own sockets in a run directory.
   */
  async frr(node: string, config: string): Promise<FrrInstance> {
    const dir = await this.runDir(`frr-${node}`);
    await chmod(dir, 0o755);
    await run('chown', ['frr:frr', dir]);
    const zsock = join(dir, 'zserv.api');
    await writeFile(join(dir, 'zebra.conf'), 'log stdout debugging\n');
    await writeFile(join(dir, 'vrrpd.conf'), `log stdout debugging\n${config}\n`);
    await writeFile(join(dir, 'vtysh.conf'), '');
    const common = ['-u', 'frr', '-g', 'frr', '--vty_socket', dir, '-z', zsock, '-P', '0', '--log', 'stdout'];
    const zebra = this.spawn(
      node,
      '/usr/lib/frr/zebra',
      [...common, '-f', join(dir, 'zebra.conf'), '-i', join(dir, 'zebra.pid')],
      { name: `zebra:${node}` },
    );
    const deadline = Date.now() + 10_000;
    while (!(await readFile(join(dir, 'zebra.pid'), 'utf8').catch(() => ''))) {
      if (!zebra.running) throw new Error(`zebra exited:\n${zebra.output()}`);
      if (Date.now() > deadline) throw new Error(`zebra did not start:\n${zebra.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const vrrpd = this.spawn(
      node,
      '/usr/lib/frr/vrrpd',
      [...common, '-f', join(dir, 'vrrpd.conf'), '-i', join(dir, 'vrrpd.pid')],
      { name: `vrrpd:${node}` },
    );
    while (!(await readFile(join(dir, 'vrrpd.pid'), 'utf8').catch(() => ''))) {
      if (!vrrpd.running) throw new Error(`vrrpd exited:\n${vrrpd.output()}`);
      if (Date.now() > deadline) throw new Error(`vrrpd did not start:\n${vrrpd.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      zebra,
      vrrpd,
      vtysh: async (command) =>
        (await this.exec(node, 'vtysh', ['--vty_socket', dir, '-c', command], { timeoutMs: 10_000 })).stdout,
      stop: async (signal = 'SIGTERM') => {
        await vrrpd.kill(signal);
        await zebra.kill('SIGTERM');
      },
    };
  }
}

function protocolMatch(p: NonNullable<DropOptions['protocol']>): string[] {
  switch (p) {
    case 'all':
      return [];
    case 'arp':
      return ['ether', 'type', 'arp'];
    case 'ndp':
      return ['icmpv6', 'type', '{', 'nd-neighbor-solicit,', 'nd-neighbor-advert', '}'];
    case 'vrrp':
      return ['meta', 'l4proto', '112'];
    case 'tcp':
    case 'udp':
      return ['meta', 'l4proto', p];
    case 'icmp':
      return ['meta', 'l4proto', '{', 'icmp,', 'ipv6-icmp', '}'];
    default:
      if (!Number.isInteger(p) || p < 0 || p > 255) throw new Error(`bad IP protocol number ${p}`);
      return ['meta', 'l4proto', String(p)];
  }
}

async function deleteNetns(ns: string) {
  const pids = (await run('ip', ['netns', 'pids', ns], { allowFailure: true })).stdout
    .split(/\s+/)
    .filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await run('ip', ['netns', 'del', ns], { allowFailure: true });
}

function deleteNetnsSync(ns: string) {
  for (const pid of runSyncQuiet('ip', ['netns', 'pids', ns]).split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  runSyncQuiet('ip', ['netns', 'del', ns]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes namespaces of earlier runs whose process has died (SIGKILL, crash). */
async function sweepStale() {
  const list = (await run('ip', ['netns', 'list'], { allowFailure: true })).stdout;
  for (const line of list.split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const m = ns.match(new RegExp(`^${PREFIX}-(\\d+)-\\d+-`));
    if (m && !alive(Number(m[1]))) await deleteNetns(ns);
  }
}

/**
 * Creates a {@link Lab}, runs `body` with it and always destroys it afterwards, on
 * success, failure or after `timeoutMs` (default 100 s; the body is then abandoned
 * and its processes killed).
 */
export async function withLab<T>(
  opts: LabOptions & { timeoutMs?: number },
  body: (lab: Lab) => Promise<T>,
): Promise<T> {
  const lab = await Lab.create(opts);
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = opts.timeoutMs ?? 100_000;
  try {
    return await Promise.race([
      body(lab),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`lab body did not finish within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await lab.destroy();
  }
}

// Helpers of the namespace tests: run proxyha-lb and a stand-in proxy (socat) in lab nodes, read the
// daemon's status, send hand-made protocol-253 packets from a node.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Lab, ManagedProcess } from '@proxyha/testlab';
import type { LbStatus } from '../src/driver/node';

export const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
export const DISSECTOR = join(import.meta.dirname, '..', 'dissector', 'proxyha-lb.lua');
export const VIP = '192.168.77.74';
export const PROXY_PORT = 9090;

export interface LbNodeOpts {
  group?: number;
  intervalMs?: number;
  weight?: number;
  /** Key file contents (the same for the whole group). */
  keys?: string;
  role?: 'auto' | 'director' | 'scanner';
  vip?: string;
  name?: string;
  /** The data plane (default: none written, i.e. the config's default). */
  dataPlane?: 'nftables' | 'relay' | 'direct';
  /** Relay: send a PROXY protocol header. */
  proxyProtocol?: 'v1' | 'v2';
  /** Weigh nodes by load (default: the config's default). */
  loadAware?: boolean;
  /** Health probe interval, ms (default 200). */
  healthIntervalMs?: number;
  /** Failed probes before the node reports failure (default 3). */
  fall?: number;
  /** Reuse this data directory (a restart keeps the node id); default a new one. */
  dataDir?: string;
  /** Extra YAML lines appended to the config. */
  extra?: string;
}

export interface RunningLb {
  proc: ManagedProcess;
  config: string;
  dataDir: string;
}

/** Writes a config for `node` and starts proxyha-lb there with JSON logs. */
export async function startLb(lab: Lab, node: string, o: LbNodeOpts = {}): Promise<RunningLb> {
  const dir = o.dataDir ?? (await lab.runDir(`lb-${node}`));
  const config = join(dir, 'lb.yaml');
  let auth = '';
  if (o.keys !== undefined) {
    const keyFile = join(dir, 'lb.key');
    await writeFile(keyFile, o.keys, { mode: 0o600 });
    auth = `auth: { keyFile: ${keyFile} }\n`;
  }
  await writeFile(
    config,
    `group: ${o.group ?? 51}
name: ${o.name ?? node}
interface: eth0
managementIp: ${lab.node(node).ipv4}
virtualIps: ["${o.vip ?? VIP}"]
redirects:
  - { originalPort: ${PROXY_PORT}, destinationPort: ${PROXY_PORT} }
interval: "${o.intervalMs ?? 200}ms"
weight: ${o.weight ?? 100}
role: ${o.role ?? 'auto'}
health: { interval: "${o.healthIntervalMs ?? 200}ms", fall: ${o.fall ?? 3}, rise: 2 }
dataDir: ${dir}
${auth}${o.dataPlane ? `dataPlane: ${o.dataPlane}\n` : ''}${o.proxyProtocol ? `proxyProtocol: ${o.proxyProtocol}\n` : ''}${
  o.loadAware !== undefined ? `loadAware: ${o.loadAware}\n` : ''
}${o.extra ? `${o.extra}\n` : ''}`,
  );
  const proc = lab.spawn(node, process.execPath, [CLI, '--config', config, '--json', '-D'], {
    name: `proxyha-lb:${node}`,
  });
  await proc.waitForOutput(/"msg":"state=(backup previous=init|master previous=backup)"/, 15_000);
  return { proc, config, dataDir: dir };
}

/** Starts the stand-in proxy (a TCP listener) on the destination port of `node`. */
export function startProxy(lab: Lab, node: string): ManagedProcess {
  return lab.spawn(node, 'socat', [`TCP-LISTEN:${PROXY_PORT},reuseaddr,fork`, 'SYSTEM:cat'], {
    name: `proxy:${node}`,
  });
}

/** `proxyha-lb -s --json` in `node`. */
export async function lbStatus(lab: Lab, node: string, lb: RunningLb): Promise<LbStatusDoc> {
  const r = await lab.exec(node, process.execPath, [CLI, '--config', lb.config, '-s', '--json'], {
    timeoutMs: 10_000,
  });
  return JSON.parse(r.stdout) as LbStatusDoc;
}

/** The documented `--json` status. */
export interface LbStatusDoc {
  role: 'director' | 'scanner';
  group: number;
  director: { address: string; name: string; id: string } | null;
  nodes: {
    id: string;
    name: string;
    address: string;
    health: 'ok' | 'failure';
    weight: number;
    share: number;
    activeConnections: number;
    lastReportAgeMs: number;
    failingPorts: number[];
  }[];
  splitBrain: boolean;
  directors: LbStatus['directors'];
  counters: LbStatus['counters'];
}

/** The JSON log lines of a process (pino objects), skipping anything else. */
export function logLines(p: ManagedProcess): { msg: string; [k: string]: unknown }[] {
  return p
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string });
}

/** Adds or removes the VIP on a node's eth0 by hand. */
export async function vip(lab: Lab, node: string, op: 'add' | 'del', address = VIP): Promise<void> {
  await lab.exec(node, 'ip', ['addr', op, `${address}/24`, 'dev', 'eth0']);
}

/** Sends raw protocol-253 payloads from `node` to `destination` (python3: a raw socket in the namespace). */
export async function sendRaw(lab: Lab, node: string, destination: string, payloads: readonly Uint8Array[]) {
  const hex = payloads.map((p) => Buffer.from(p).toString('hex'));
  const script = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
for h in sys.argv[2:]:
    s.sendto(bytes.fromhex(h), (sys.argv[1], 0))
`;
  await lab.exec(node, 'python3', ['-c', script, destination, ...hex]);
}

/** Polls until `fn` returns true; throws with `what` after `ms`. */
export async function until(what: string, fn: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const start = performance.now();
  for (;;) {
    if (await fn()) return;
    if (performance.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The IP payloads of protocol-253 packets in a pcap file (Ethernet, IPv4), with their source address. */
export function pcapPayloads(pcap: Buffer): { source: string; destination: string; payload: Buffer }[] {
  const out: { source: string; destination: string; payload: Buffer }[] = [];
  const le = pcap.readUInt32LE(0) === 0xa1b2c3d4 || pcap.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (o: number) => (le ? pcap.readUInt32LE(o) : pcap.readUInt32BE(o));
  let off = 24;
  while (off + 16 <= pcap.length) {
    const caplen = u32(off + 8);
    const frame = pcap.subarray(off + 16, off + 16 + caplen);
    off += 16 + caplen;
    if (frame.length < 34 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ip = frame.subarray(14);
    if (ip[9] !== 253) continue;
    const ihl = ((ip[0] as number) & 0x0f) * 4;
    const total = ip.readUInt16BE(2);
    out.push({
      source: [...ip.subarray(12, 16)].join('.'),
      destination: [...ip.subarray(16, 20)].join('.'),
      payload: Buffer.from(ip.subarray(ihl, total)),
    });
  }
  return out;
}

/** keepalived.conf of one VRRP instance holding the VIP (advert interval 1 s). */
export function keepalivedConf(node: string, priority: number): string {
  return `global_defs {
  router_id ka_${node}
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  version 3
  priority ${priority}
  advert_int 1
  virtual_ipaddress {
    ${VIP}/24
  }
}
`;
}

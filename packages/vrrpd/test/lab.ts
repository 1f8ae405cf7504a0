// Helpers for the namespace tests: run proxyha-vrrpd and keepalived in lab nodes, and
// ask a client node who answers on the VIP.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Lab, ManagedProcess } from '@proxyha/testlab';

export const VIP4 = '192.168.77.74';
export const VIP6 = 'fd77::74';
export const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');

export interface InstanceOpts {
  /** VRRP version (default 3). */
  version?: 2 | 3;
  priority: number;
  /** Advert interval in ms (default 100). */
  intervalMs?: number;
  /** VIP with prefix (default 192.168.77.74/24). */
  vip?: string;
  preempt?: boolean;
  /** Extra YAML lines of the instance (indented by 4). */
  extra?: string;
  /** JSON log lines (so that log times can be compared with other clocks). */
  json?: boolean;
  /** VRRPv2 simple password (proxyha `authPassword`, keepalived `auth_type PASS` / `auth_pass`). */
  authPass?: string;
}

/** Starts proxyha-vrrpd (-D) in `node` with one instance VI_1 (vrid 51) on eth0. */
export async function startProxyha(lab: Lab, node: string, o: InstanceOpts): Promise<ManagedProcess> {
  const dir = await lab.runDir(`vrrpd-${node}`);
  const file = join(dir, 'vrrpd.yaml');
  const vip = o.vip ?? `${VIP4}/24`;
  await writeFile(
    file,
    `instances:
  - name: VI_1
    interface: eth0
    vrid: 51
    priority: ${o.priority}
    version: ${o.version ?? 3}
    advertInterval: "${o.intervalMs ?? 100}ms"
    virtualIps: ["${vip}"]
    preempt: ${o.preempt ?? true}
${o.authPass === undefined ? '' : `    authPassword: "${o.authPass}"\n`}${o.extra ?? ''}
`,
  );
  const flags = [...(o.json ? ['--json'] : []), '--log-detail'];
  const p = lab.spawn(node, process.execPath, [CLI, '--config', file, ...flags], { name: `proxyha:${node}` });
  await p.waitForOutput(/Entering (BACKUP|MASTER) STATE/, 10_000);
  return p;
}

/** keepalived.conf for the same instance. */
export function keepalivedConf(node: string, o: InstanceOpts): string {
  const vip = o.vip ?? `${VIP4}/24`;
  const ms = o.intervalMs ?? 100;
  const interval = o.version === 2 ? String(ms / 1000) : (ms / 1000).toFixed(2);
  return `global_defs {
  router_id ka_${node}
  vrrp_garp_master_delay 5
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  version ${o.version ?? 3}
  priority ${o.priority}
  advert_int ${interval}
  ${o.preempt === false ? 'nopreempt' : ''}
  ${o.authPass === undefined ? '' : `authentication {\n    auth_type PASS\n    auth_pass ${o.authPass}\n  }`}
  virtual_ipaddress {
    ${vip}
  }
}
`;
}

/** Starts a TCP service on every node (port 7000) that answers with the node's name. */
export function startNameServices(lab: Lab, nodes: readonly string[]): void {
  for (const n of nodes)
    lab.spawn(n, 'socat', ['TCP6-LISTEN:7000,reuseaddr,fork,ipv6only=0', `SYSTEM:echo ${n}`], {
      name: `name:${n}`,
    });
}

/** Which node answers TCP on the VIP from `client` (undefined: nobody). */
export async function vipAnswer(lab: Lab, client: string, vip = VIP4): Promise<string | undefined> {
  const host = vip.includes(':') ? `[${vip}]` : vip;
  const r = await lab.exec(client, 'socat', ['-T1', '-', `TCP:${host}:7000,connect-timeout=0.5`], {
    allowFailure: true,
    input: '',
    timeoutMs: 3_000,
  });
  return r.code === 0 ? r.stdout.trim() || undefined : undefined;
}

/** Polls until `fn` returns true; throws with `what` after `ms`. Resolves with the elapsed ms. */
export async function until(what: string, fn: () => Promise<boolean> | boolean, ms: number): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await fn()) return performance.now() - start;
    if (performance.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Does `node` have `vip` on eth0? */
export async function holdsVip(lab: Lab, node: string, vip = VIP4): Promise<boolean> {
  const r = await lab.exec(node, 'ip', ['-o', 'addr', 'show', 'dev', 'eth0']);
  return r.stdout.includes(` ${vip}/`);
}

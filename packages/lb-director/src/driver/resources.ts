// What a node reports about itself: resource use and established connections on its destination ports.
// Read once per report interval on every node, so it stays cheap: /proc/stat and /proc/meminfo are a few
// hundred bytes read synchronously (no thread-pool round trip), and connections are counted through
// sock_diag (netio), a tenth of the system time of formatting the kernel's socket tables as text.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { establishedTcpConnections } from '@proxyha/netio';
import type { PortConnections, ResourceUse } from '../codec/types';

/** A sample of {@link ResourceSampler}. */
export interface ResourceSample {
  /** Resource use. */
  readonly resources: ResourceUse;
  /** Established connections per destination port. */
  readonly connections: readonly PortConnections[];
}

/** Where a node's resource use and connection counts come from (the daemon: {@link systemResources}). */
export type ResourceSampler = (ports: readonly number[]) => Promise<ResourceSample>;

interface CpuTimes {
  busy: number;
  total: number;
}

function cpuTimes(): CpuTimes {
  try {
    // "cpu  user nice system idle iowait irq softirq ..." (USER_HZ ticks, all CPUs)
    const f = readFileSync('/proc/stat', 'latin1').slice(0, 256).split('\n')[0]?.trim().split(/\s+/) ?? [];
    const [user, nice, sys, idle, , irq, softirq] = f.slice(1, 8).map(Number);
    if (f[0] === 'cpu' && [user, nice, sys, idle, irq, softirq].every((v) => Number.isFinite(v))) {
      const busy =
        (user as number) + (nice as number) + (sys as number) + (irq as number) + (softirq as number);
      return { busy, total: busy + (idle as number) };
    }
  } catch {
    /* not Linux: os.cpus() below */
  }
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

function availableMemoryShare(): number {
  try {
    const info = readFileSync('/proc/meminfo', 'latin1');
    const total = Number(/^MemTotal:\s+(\d+)/m.exec(info)?.[1]);
    const avail = Number(/^MemAvailable:\s+(\d+)/m.exec(info)?.[1]);
    if (total > 0 && Number.isFinite(avail)) return avail / total;
  } catch {
    /* not Linux: os.freemem below */
  }
  return freemem() / totalmem();
}

/**
 * Counts established TCP connections whose local port is one of `ports`, from the kernel's socket tables
 * of this network namespace (`/proc/net/tcp`, `/proc/net/tcp6`, state 01). These are the connections the
 * node's proxy serves on its destination ports, whoever sent them.
 *
 * @param ports - destination ports
 * @param tables - the table texts (default: read from /proc)
 */
export async function establishedConnections(
  ports: readonly number[],
  tables?: readonly string[],
): Promise<PortConnections[]> {
  const counts = new Map<number, number>(ports.map((p) => [p, 0]));
  const texts =
    tables ??
    (await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((f) => readFile(f, 'utf8').catch(() => ''))));
  for (const text of texts) {
    for (const line of text.split('\n')) {
      // "  0: 0100007F:2382 0100007F:C1D2 01 ..." local address:port, remote, state
      const m =
        /^\s*\d+:\s+[0-9A-Fa-f]+:([0-9A-Fa-f]{4})\s+[0-9A-Fa-f]+:[0-9A-Fa-f]{4}\s+([0-9A-Fa-f]{2})/.exec(
          line,
        );
      if (!m || m[2] !== '01') continue;
      const port = Number.parseInt(m[1] as string, 16);
      const n = counts.get(port);
      if (n !== undefined) counts.set(port, n + 1);
    }
  }
  return [...counts].map(([port, active]) => ({ port, active }));
}

/** sock_diag when the native addon is there, else the text tables (remembered after the first failure). */
let sockDiag = true;
async function countConnections(ports: readonly number[]): Promise<PortConnections[]> {
  if (sockDiag) {
    try {
      const counts = await establishedTcpConnections(ports);
      return ports.map((port) => ({ port, active: counts.get(port) ?? 0 }));
    } catch {
      sockDiag = false;
    }
  }
  return establishedConnections(ports);
}

/**
 * The real sampler: CPU busy share since the previous sample, memory in use (from MemAvailable), the
 * 1-minute load average per CPU, and established connections per destination port (sock_diag through
 * `@proxyha/netio`; the text tables of {@link establishedConnections} where the native addon is missing).
 */
export function systemResources(): ResourceSampler {
  let last = cpuTimes();
  // os.cpus() reads /proc/cpuinfo and a sysfs file per CPU: once, not at every report
  const cpuCount = Math.max(1, cpus().length);
  return async (ports) => {
    const now = cpuTimes();
    const total = now.total - last.total;
    const cpu = total > 0 ? (now.busy - last.busy) / total : 0;
    last = now;
    const memory = 1 - availableMemoryShare();
    const load = (loadavg()[0] ?? 0) / cpuCount;
    const clamp = (v: number, max: number) => Math.min(max, Math.max(0, v));
    return {
      resources: { cpu: clamp(cpu, 1), memory: clamp(memory, 1), load: clamp(load, 655.35) },
      connections: await countConnections(ports),
    };
  };
}

// What a node reports about itself: resource use and established connections on its destination ports.
import { readFile } from 'node:fs/promises';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
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
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

async function availableMemoryShare(): Promise<number> {
  try {
    const info = await readFile('/proc/meminfo', 'utf8');
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

/**
 * The real sampler: CPU busy share since the previous sample, memory in use (from MemAvailable), the
 * 1-minute load average per CPU, and established connections per destination port.
 */
export function systemResources(): ResourceSampler {
  let last = cpuTimes();
  return async (ports) => {
    const now = cpuTimes();
    const total = now.total - last.total;
    const cpu = total > 0 ? (now.busy - last.busy) / total : 0;
    last = now;
    const memory = 1 - (await availableMemoryShare());
    const load = (loadavg()[0] ?? 0) / Math.max(1, cpus().length);
    const clamp = (v: number, max: number) => Math.min(max, Math.max(0, v));
    return {
      resources: { cpu: clamp(cpu, 1), memory: clamp(memory, 1), load: clamp(load, 655.35) },
      connections: await establishedConnections(ports),
    };
  };
}

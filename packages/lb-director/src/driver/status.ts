// The status of a running daemon: served as one JSON document on a Unix socket in its data directory,
// read by `proxyha-lb -s`, and printed as text the way `mfend-lb -s` shows it.
import { rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { LbError } from '../errors';
import type { LbStatus } from './node';

/** The status socket of a data directory. */
export function statusSocketPath(dataDir: string): string {
  return join(dataDir, 'proxyha-lb.sock');
}

/**
 * Serves `status()` as one JSON document to every connection on the Unix socket `path` (a stale socket
 * file from a crash is replaced). Resolves with a function that closes the server and removes the file.
 *
 * @param path - the socket file
 * @param status - produces the document
 */
export async function serveStatus(path: string, status: () => LbStatus): Promise<() => Promise<void>> {
  await rm(path, { force: true });
  const server: Server = createServer((conn) => {
    conn.on('error', () => {});
    conn.end(`${JSON.stringify(status())}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(path, { force: true });
  };
}

/**
 * Reads the status of the daemon serving `path`.
 *
 * @param path - the socket file
 * @throws {@link LbError} `LB_NOT_RUNNING` when nothing answers there
 */
export async function readStatus(path: string): Promise<LbStatus> {
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const conn = createConnection(path);
    conn.on('data', (c: Buffer) => chunks.push(c));
    conn.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    conn.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new LbError('LB_NOT_RUNNING', `no proxyha-lb daemon answers on ${path} (${e.code ?? e.message})`, {
          details: { path },
          cause: e,
        }),
      ),
    );
  });
  try {
    return JSON.parse(text) as LbStatus;
  } catch (e) {
    throw new LbError('LB_NOT_RUNNING', `the daemon on ${path} sent no status document`, {
      details: { path },
      cause: e,
    });
  }
}

/** The `--json` document of `proxyha-lb -s`: the documented fields first, the details after them. */
export function statusDocument(s: LbStatus): Record<string, unknown> {
  return {
    role: s.role,
    group: s.group,
    director: s.director ? { address: s.director.address, name: s.director.name, id: s.director.id } : null,
    nodes: s.nodes.map((n) => ({
      id: n.id,
      name: n.name,
      address: n.address,
      health: n.health,
      weight: n.weight,
      share: n.share,
      activeConnections: n.activeConnections,
      lastReportAgeMs: n.lastReportAgeMs,
      failingPorts: n.failingPorts,
      effectiveWeight: n.effectiveWeight ?? null,
      resources: n.resources,
      version: n.version,
      self: n.self,
    })),
    self: s.self,
    directors: s.directors,
    splitBrain: s.directors.length > 1,
    table: s.table ?? null,
    heldTable: s.heldTable ?? null,
    counters: s.counters,
  };
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function pad(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** The text of `proxyha-lb -s`, one table row per node (the director shows every node, a scanner itself). */
export function formatStatus(s: LbStatus): string {
  const lines: string[] = [];
  const state = s.role === 'director' ? 'master' : 'backup';
  lines.push(`group ${s.group}: ${s.role} (state=${state}), node ${s.self.address} (${s.self.name})`);
  lines.push(s.director ? `director: ${s.director.address} (${s.director.name})` : 'director: none');
  if (s.directors.length > 1)
    lines.push(
      `SPLIT BRAIN: ${s.directors.length} directors announce this group: ${s.directors
        .map((d) => `${d.address} (${d.name}, priority ${d.priority})`)
        .join(', ')}`,
    );
  const rows = [
    ['', 'ADDRESS', 'NAME', 'HEALTH', 'WEIGHT', 'SHARE', 'CONNS', 'CPU', 'MEM', 'LOAD', 'LAST REPORT'],
  ];
  for (const n of s.nodes)
    rows.push([
      n.self ? '*' : '',
      n.address,
      n.name,
      n.health === 'ok' ? 'ok' : `failure${n.failingPorts.length ? ` (${n.failingPorts.join(',')})` : ''}`,
      String(n.weight),
      s.role === 'director' ? pct(n.share) : '-',
      String(n.activeConnections),
      pct(n.resources.cpu),
      pct(n.resources.memory),
      n.resources.load.toFixed(2),
      `${(n.lastReportAgeMs / 1000).toFixed(1)}s ago`,
    ]);
  lines.push(`nodes: ${s.nodes.length}`, ...pad(rows).map((r) => `  ${r}`));
  if (s.role === 'scanner' && s.director)
    lines.push(
      s.heldTable
        ? `director's table held for a takeover: ${s.heldTable.nodes} nodes, ${s.heldTable.size} buckets`
        : "director's table: not announced (a takeover builds its table from the reports)",
    );
  const rejected = Object.entries(s.counters.rejected)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  lines.push(
    `messages: ${s.counters.accepted} accepted, ${s.counters.otherGroup} of other groups ignored, ${rejected || 'none'} rejected`,
  );
  return `${lines.join('\n')}\n`;
}

// establishedTcpConnections: the sock_diag count agrees with the connections this test opens on loopback,
// per local port, for IPv4 and IPv6 (a dual-stack listener's IPv4 clients included), and counts nothing
// that is not established.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { addonStatus, establishedTcpConnections } from '../src/index';

const opened: (Server | Socket)[] = [];
afterEach(async () => {
  const all = opened.splice(0);
  for (const s of all) if ('destroy' in s) s.destroy();
  for (const s of all) if (!('destroy' in s)) await new Promise((r) => s.close(r));
});

async function listen(host: string): Promise<{ server: Server; port: number; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer((c) => {
    accepted.push(c);
    opened.push(c);
  });
  opened.push(server);
  server.listen(0, host);
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, accepted };
}

async function clients(host: string, port: number, n: number, accepted: Socket[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const c = connect(port, host);
    opened.push(c);
    await once(c, 'connect');
  }
  while (accepted.length < n) await new Promise((r) => setTimeout(r, 5));
}

describe('establishedTcpConnections (sock_diag)', () => {
  it('runs on the native addon', () => {
    expect(addonStatus()).toMatchObject({ available: true });
  });

  it('counts the established connections of each local port asked for, zero for the others', async () => {
    const a = await listen('127.0.0.1');
    const b = await listen('127.0.0.1');
    const idle = await listen('127.0.0.1');
    await clients('127.0.0.1', a.port, 3, a.accepted);
    await clients('127.0.0.1', b.port, 1, b.accepted);
    const counts = await establishedTcpConnections([a.port, b.port, idle.port]);
    // the listening socket is not established; each connection has one server-side socket on the port
    expect([...counts]).toEqual([
      [a.port, 3],
      [b.port, 1],
      [idle.port, 0],
    ]);
    // a connection closed by the server side is not ESTABLISHED any more
    a.accepted[0]?.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect((await establishedTcpConnections([a.port])).get(a.port)).toBe(2);
  });

  it('counts IPv6 connections and the IPv4 clients of a dual-stack listener', async () => {
    const dual = await listen('::');
    await clients('::1', dual.port, 2, dual.accepted);
    await clients('127.0.0.1', dual.port, 1, dual.accepted);
    expect((await establishedTcpConnections([dual.port])).get(dual.port)).toBe(3);
  });

  it('agrees with /proc/net/tcp', async () => {
    const a = await listen('127.0.0.1');
    await clients('127.0.0.1', a.port, 4, a.accepted);
    const hex = a.port.toString(16).toUpperCase().padStart(4, '0');
    const fromProc = ['/proc/net/tcp', '/proc/net/tcp6']
      .flatMap((f) => readFileSync(f, 'utf8').split('\n'))
      .filter((l) => {
        const f = l.trim().split(/\s+/);
        return f[1]?.endsWith(`:${hex}`) && f[3] === '01';
      }).length;
    expect(fromProc).toBe(4);
    expect((await establishedTcpConnections([a.port])).get(a.port)).toBe(fromProc);
  });
});

// Loopback test servers on ephemeral ports. Every server tracks its accepted sockets and destroys them on
// close, so a test never leaves anything behind.
import { readdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';

export type Behaviour = 'accept' | 'http' | 'silent' | 'garbage' | 'close' | 'reset' | 'partial';

export interface TestServer {
  readonly port: number;
  readonly server: Server;
  /** Number of connections accepted so far. */
  accepted(): number;
  /** Re-listens on the same port (after close). */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

function onConnection(behaviour: Behaviour, socket: Socket): void {
  socket.on('error', () => {});
  socket.resume(); // always read (and drop) so that the peer's FIN is seen and the socket closes
  switch (behaviour) {
    case 'accept':
    case 'silent':
      return;
    case 'http':
      socket.once('data', () => socket.end('HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n'));
      return;
    case 'garbage':
      socket.end('SSH-2.0-OpenSSH_9.6\r\n');
      return;
    case 'partial':
      socket.once('data', () => socket.end('HTTP/1.'));
      return;
    case 'close':
      socket.end();
      return;
    case 'reset':
      socket.once('data', () => socket.resetAndDestroy());
      return;
  }
}

export async function startServer(behaviour: Behaviour, port = 0): Promise<TestServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onConnection(behaviour, socket);
  });
  const listen = (p: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(port);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const bound = address.port;
  return {
    port: bound,
    server,
    accepted: () => accepted,
    reopen: () => listen(bound),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (!server.listening) resolve();
        else server.close(() => resolve());
      }),
  };
}

/** A port with nothing listening: bind an ephemeral port and close it again. */
export async function closedPort(): Promise<number> {
  const s = await startServer('accept');
  await s.close();
  return s.port;
}

/** Open TCP sockets of this process (client and accepted), and open file descriptors. */
export function openResources(): { tcpSockets: number; fds: number } {
  return {
    tcpSockets: process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length,
    fds: readdirSync('/proc/self/fd').length,
  };
}

/** Polls until `fn` returns true or `ms` elapsed. */
export async function eventually(fn: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

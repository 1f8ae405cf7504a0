// Helpers of the relay tests: loopback "nodes" (TCP servers on 127.x.y.z), clients bound to a chosen source
// address, tables built by hand.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tcpRelayEngineStatus } from '@proxyha/netio';
import { describe, it } from 'vitest';
import type { DataPlaneNode, DataPlaneSettings, DataPlaneUpdate } from '../src/dataplane/types';
import { NO_OWNER } from '../src/scheduler/table';
import type { BucketTable } from '../src/scheduler/types';

/** A random 127.a.b prefix for one test file, so that files running in parallel do not meet. */
export function loopbackPrefix(): string {
  const a = 100 + Math.floor(Math.random() * 150);
  const b = Math.floor(Math.random() * 256);
  return `127.${a}.${b}`;
}

/** A port that is free on `host` right now. */
export async function freePort(host: string): Promise<number> {
  const s = createServer();
  s.listen(0, host);
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  s.close();
  await once(s, 'close');
  return port;
}

/** The addresses of one relay test: a fresh loopback prefix, the VIP `<prefix>.1` and free ports. */
export async function loopbackLab(): Promise<{ prefix: string; vip: string; vport: number; dport: number }> {
  const prefix = loopbackPrefix();
  const vip = `${prefix}.1`;
  return { prefix, vip, vport: await freePort(vip), dport: await freePort(`${prefix}.11`) };
}

/** What a relay test opened, closed in order: client sockets, relays, nodes (and child processes). */
export async function closeLab(lab: {
  readonly sockets: readonly Socket[];
  readonly relays: readonly { stop(mode: 'destroy'): Promise<void> }[];
  readonly nodes: readonly TestNode[];
  readonly children?: readonly {
    exitCode: number | null;
    signalCode: string | null;
    kill(s: 'SIGKILL'): unknown;
  }[];
}): Promise<void> {
  for (const s of lab.sockets) s.destroy();
  for (const r of lab.relays) await r.stop('destroy');
  for (const n of lab.nodes) await n.close();
  for (const c of lab.children ?? []) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** A stand-in proxy node: a TCP server with half-open connections allowed. */
export interface TestNode {
  readonly id: string;
  readonly host: string;
  readonly server: Server;
  /** Connections accepted, in order. */
  readonly sockets: Socket[];
  close(): Promise<void>;
}

/**
 * Starts a node at host:port. The default handler reads until the client's FIN, then answers
 * `<id>:<what it received>` and closes: a full exchange through both half-closes.
 */
export async function startNode(
  id: string,
  host: string,
  port: number,
  handler?: (s: Socket, node: TestNode) => void,
): Promise<TestNode> {
  const sockets: Socket[] = [];
  const server = createServer({ allowHalfOpen: true });
  const node: TestNode = {
    id,
    host,
    server,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      if (server.listening) await once(server, 'close');
    },
  };
  server.on('connection', (s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    if (handler) handler(s, node);
    else {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => s.end(`${id}:${Buffer.concat(chunks).toString()}`));
    }
  });
  server.listen({ host, port });
  await once(server, 'listening');
  return node;
}

/** Resolves when `s` emits `name` (unlike `events.once`, an `error` event does not reject). */
export function event(s: Socket, name: 'connect' | 'close' | 'end'): Promise<void> {
  return new Promise((resolve) => s.once(name, () => resolve()));
}

/** Connects from `localAddress`, sends `payload`, half-closes and resolves with everything received. */
export async function exchange(
  host: string,
  port: number,
  localAddress: string,
  payload = 'hi',
): Promise<string> {
  const s = connect({ host, port, localAddress, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.on('error', () => undefined);
  await event(s, 'connect');
  s.end(payload);
  await event(s, 'close');
  return Buffer.concat(chunks).toString();
}

/** Opens a client connection from `localAddress` (resolves once connected to the relay). */
export async function openClient(host: string, port: number, localAddress: string): Promise<Socket> {
  const s = connect({ host, port, localAddress, allowHalfOpen: true });
  s.on('error', () => undefined);
  await event(s, 'connect');
  return s;
}

/** Resolves with everything a socket receives until it closes. */
export async function readAll(s: Socket): Promise<string> {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  if (!s.closed) await event(s, 'close');
  return Buffer.concat(chunks).toString();
}

/** A table of `size` buckets over `ids` (sorted), bucket b owned by `owner(b)` (an index or undefined). */
export function makeTable(
  ids: readonly string[],
  owner: (b: number) => number | undefined,
  size = 31,
  seed = 0x70726f78,
): BucketTable {
  const owners = new Uint16Array(size);
  for (let b = 0; b < size; b++) owners[b] = owner(b) ?? NO_OWNER;
  return { size, seed, nodes: [...ids], owners };
}

/** An update of `table` whose nodes are the given test nodes (`self` for the ids in `selfIds`). */
export function updateOf(
  table: BucketTable,
  nodes: readonly { id: string; host: string }[],
  selfIds: readonly string[] = [],
): DataPlaneUpdate {
  const map = new Map<string, DataPlaneNode>();
  for (const n of nodes) map.set(n.id, { id: n.id, address: n.host, self: selfIds.includes(n.id) });
  return { table, nodes: map, changedBuckets: 'all' };
}

/** Relay settings with one VIP and one redirect. */
export function settingsOf(vip: string, originalPort: number, destinationPort: number): DataPlaneSettings {
  return {
    virtualIps: [`${vip}/32`],
    redirects: [{ originalPort, destinationPort }],
    persistence: { ipv4PrefixLength: 32, ipv6PrefixLength: 128 },
    interface: 'lo',
    managementIp: vip,
  };
}

/** Waits until `check` is true, polling at `ms` (for states the code under test reaches asynchronously). */
export async function until(check: () => boolean, what: string, ms = 5): Promise<void> {
  for (let i = 0; i < 4000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, ms));
  }
  throw new Error(`never happened: ${what}`);
}

/** Whether netio's native relay engine is available here (the addon loads and has it). */
export const NATIVE_RELAY = tcpRelayEngineStatus();

/**
 * The engines every relay test runs against: `node` always, `native` where netio's addon has it (and always
 * with CI=true, where a missing engine then fails the tests instead of skipping them).
 */
export const RELAY_ENGINES: readonly ('node' | 'native')[] =
  NATIVE_RELAY.available || process.env.CI === 'true' ? ['node', 'native'] : ['node'];

/**
 * Defines the tests of `body` once per engine of {@link RELAY_ENGINES}, each in a `describe` named after it
 * (`node engine`, `native engine`); a skipped `native engine` block says why when it cannot run here.
 */
export function forEachEngine(body: (engine: 'node' | 'native') => void): void {
  for (const engine of RELAY_ENGINES) describe(`${engine} engine`, () => body(engine));
  if (!RELAY_ENGINES.includes('native'))
    describe('native engine', () => {
      it.skip(`skipped: ${NATIVE_RELAY.reason}`, () => {});
    });
}

// A small NTP server for tests, on 127.0.0.1 with a random port. It serves a clock's wall time (by
// default this machine's) shifted by `shiftMs`, and can misbehave on request: Kiss-o'-Death,
// leap indicator 3, forged originate, wrong mode, silence.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { type Clock, systemClock } from '@proxyha/common';
import { decodePacket, encodePacket, type NtpPacket } from '../../src/codec/packet';
import { unixMsToNtpTimestamp } from '../../src/codec/timestamp';

export interface ServerBehaviour {
  /** Served clock = real clock + shiftMs. */
  shiftMs?: number;
  leap?: 0 | 1 | 2 | 3;
  stratum?: number;
  /** Reply with a Kiss-o'-Death of this code (stratum 0, code in the reference ID). */
  kiss?: string;
  /** Reply with a random originate timestamp instead of the request's transmit timestamp. */
  forgeOriginate?: boolean;
  /** Send a forged reply first, then the genuine one. */
  forgedFirst?: boolean;
  /** Never reply. */
  silent?: boolean;
  /** Reply mode (default 4). */
  mode?: number;
  /** Root delay / dispersion in seconds (default 0.001 / 0.001). */
  rootDelay?: number;
  rootDispersion?: number;
  /** Delay before replying, ms. */
  replyDelayMs?: number;
  /** Send the (otherwise genuine) reply from a different socket, i.e. another source port. */
  replyFromOtherPort?: boolean;
}

export interface TestNtpServer {
  readonly address: string;
  readonly port: number;
  /** `127.0.0.1:port` or `[::1]:port` */
  readonly label: string;
  /** Number of requests received. */
  readonly requests: number;
  /** Number of datagrams sent (genuine and forged replies). */
  readonly replies: number;
  behaviour: ServerBehaviour;
  close(): Promise<void>;
}

function asciiId(code: string): number {
  const b = Buffer.alloc(4);
  b.write(code.slice(0, 4), 'ascii');
  return b.readUInt32BE(0);
}

/** `clock` lets a test serve a ManualClock's time, moved together with the client's. */
export async function startNtpServer(
  behaviour: ServerBehaviour = {},
  clock: Clock = systemClock,
  host: '127.0.0.1' | '::1' = '127.0.0.1',
): Promise<TestNtpServer> {
  const type = host === '::1' ? 'udp6' : 'udp4';
  const socket = dgram.createSocket(type);
  const other = dgram.createSocket(type);
  let requests = 0;
  let replies = 0;
  const state = { behaviour };
  const served = () => unixMsToNtpTimestamp(clock.wallTime() + (state.behaviour.shiftMs ?? 0));
  socket.on('message', (msg, rinfo) => {
    const t2 = served();
    requests++;
    const req = decodePacket(msg);
    const b = state.behaviour;
    if (!req.ok || b.silent) return;
    const reply = (originate: bigint) => {
      const packet: NtpPacket = {
        leap: b.leap ?? 0,
        version: req.value.version === 3 ? 3 : 4,
        mode: b.mode ?? 4,
        stratum: b.kiss ? 0 : (b.stratum ?? 2),
        poll: req.value.poll,
        precision: -20,
        rootDelay: b.rootDelay ?? 0.001,
        rootDispersion: b.rootDispersion ?? 0.001,
        referenceId: b.kiss ? asciiId(b.kiss) : 0x7f000001,
        referenceTimestamp: served() - (5n << 32n),
        originateTimestamp: originate,
        receiveTimestamp: t2,
        transmitTimestamp: 0n,
        trailer: new Uint8Array(0),
      };
      packet.transmitTimestamp = served();
      replies++;
      (b.replyFromOtherPort ? other : socket).send(encodePacket(packet), rinfo.port, rinfo.address);
    };
    const forged = () => randomBytes(8).readBigUInt64BE(0) | 1n;
    const go = () => {
      if (b.forgedFirst) reply(forged());
      reply(b.forgeOriginate ? forged() : req.value.transmitTimestamp);
    };
    if (b.replyDelayMs) setTimeout(go, b.replyDelayMs);
    else go();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => resolve());
  });
  await new Promise<void>((resolve) => other.bind(0, host, () => resolve()));
  const { address, port } = socket.address();
  return {
    address,
    port,
    label: host === '::1' ? `[${address}]:${port}` : `${address}:${port}`,
    get requests() {
      return requests;
    },
    get replies() {
      return replies;
    },
    get behaviour() {
      return state.behaviour;
    },
    set behaviour(b: ServerBehaviour) {
      state.behaviour = b;
    },
    close: async () => {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      await new Promise<void>((resolve) => other.close(() => resolve()));
    },
  };
}

/** Starts several servers and closes them all after `fn`, also on failure. */
export async function withServers<T>(
  behaviours: ServerBehaviour[],
  fn: (servers: TestNtpServer[]) => Promise<T>,
  clock?: Clock,
): Promise<T> {
  const servers: TestNtpServer[] = [];
  try {
    for (const b of behaviours) servers.push(await startNtpServer(b, clock));
    return await fn(servers);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

/** A closed port on 127.0.0.1 (bound then released). */
export async function closedPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

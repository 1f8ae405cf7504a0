import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { z } from 'zod';
import { formatServerAddress, type NtpServerAddress, parseServerAddress } from './address';
import {
  checkSource,
  DEFAULT_LOCAL_PRECISION,
  DEFAULT_MAX_ROOT_DISTANCE_MS,
  NTP_PHI,
  type NtpSample,
  validateReply,
} from './checks';
import { type Clock, createSystemClock } from './clock';
import { createRequest, decodePacket, encodePacket } from './codec';
import { NtpError, type Result } from './errors';
import type { ServerResult } from './guard';
import { durationSchema, parseOptions } from './options';
import {
  DEFAULT_MIN_POLL_INTERVAL_MS,
  initialPollState,
  MIN_POLL_INTERVAL_FLOOR_MS,
  onKiss,
  onPollSent,
  type PollState,
  pollDecision,
} from './poll';
import { type NtpTimestamp, toNtpTimestamp } from './timestamp';

/** Default time to wait for a reply: 2 s. */
export const DEFAULT_TIMEOUT_MS = 2000;

/** Options of {@link NtpClient}. Durations are milliseconds or `ms` strings ("2s"). */
export interface NtpClientOptions {
  /** How long to wait for a valid reply (default 2 s). */
  timeout?: number | string;
  /** Reject samples with a larger root distance (default 1.5 s, ntpd's maxdist). */
  maxRootDistance?: number | string;
  /**
   * Minimum spacing of requests to one server (default 16 s = 2^MINPOLL). Values below
   * 15 s are refused: RFC 4330 section 10 forbids polling more often.
   */
  minPollInterval?: number | string;
  /** Version sent in requests (default 4). */
  version?: 3 | 4;
  /** Precision exponent of the local clock (default -20, about 1 µs). */
  localPrecision?: number;
  /** Time source (default: the system clock). Tests inject one. */
  clock?: Clock;
}

const clientSchema = z.object({
  timeout: durationSchema.optional().pipe(z.number().min(1).max(60_000).optional()),
  maxRootDistance: durationSchema.optional().pipe(z.number().min(1).max(16_000).optional()),
  minPollInterval: durationSchema
    .optional()
    .pipe(
      z
        .number()
        .min(MIN_POLL_INTERVAL_FLOOR_MS, 'must be at least 15 s (RFC 4330 section 10)')
        .max(131_072_000)
        .optional(),
    ),
  version: z.union([z.literal(3), z.literal(4)]).optional(),
  localPrecision: z.number().int().min(-32).max(0).optional(),
  clock: z
    .custom<Clock>((c) => typeof c === 'object' && c !== null && 'nowNs' in c && 'monotonicMs' in c)
    .optional(),
});

interface ServerEntry {
  poll: PollState;
  last?: { sample: NtpSample; wallNs: bigint; monoMs: number };
  inflight?: Promise<ServerResult>;
}

interface ExchangeOutcome {
  result: Result<NtpSample>;
  discarded: number;
  wallNs: bigint;
}

let warmedUp = false;

/**
 * Runs the receive path once on a synthetic reply so that the first real reply is not
 * slowed by just-in-time compilation between its arrival and the reading of T4 (which
 * would bias the offset of the replies queued behind it).
 */
function warmUp(): void {
  if (warmedUp) return;
  warmedUp = true;
  const nonce = 0x0102030405060708n;
  const bytes = encodePacket({
    ...createRequest(nonce),
    mode: 4,
    stratum: 2,
    originateTimestamp: nonce,
    receiveTimestamp: nonce + 1n,
    transmitTimestamp: nonce + 2n,
  });
  for (let i = 0; i < 3; i++) {
    const d = decodePacket(bytes);
    if (d.ok) validateReply(d.value, { nonce, t1: nonce, t4: nonce + 3n });
    checkSource({ address: '127.0.0.1', port: 1 }, { address: '127.0.0.1', port: 1 });
    toNtpTimestamp(BigInt(Date.now()) * 1_000_000n);
  }
}

function randomNonce(): NtpTimestamp {
  for (;;) {
    const n = randomBytes(8).readBigUInt64BE(0);
    if (n !== 0n) return n;
  }
}

/**
 * A strict SNTPv4 client on `node:dgram` (RFC 4330 / RFC 5905). Each request uses a
 * fresh connected socket (random source port) and a random transmit timestamp as
 * nonce; datagrams from other addresses or with a wrong originate are discarded while
 * waiting. The client keeps per-server state: the minimum poll interval (a second
 * query within it returns the earlier sample, aged and corrected for local clock
 * steps, marked `fresh: false`), `RATE` back-off, and a permanent stop after `DENY` or
 * `RSTR`. Reuse one client for periodic checks so that this state is kept.
 */
export class NtpClient {
  private readonly timeoutMs: number;
  private readonly maxRootDistanceMs: number;
  private readonly minPollIntervalMs: number;
  private readonly version: 3 | 4;
  private readonly localPrecision: number;
  private readonly clock: Clock;
  private readonly servers = new Map<string, ServerEntry>();

  /**
   * @param options - see {@link NtpClientOptions}; invalid options throw `NTP_INVALID_OPTIONS`
   */
  constructor(options: NtpClientOptions = {}) {
    const o = parseOptions(clientSchema, options, 'NTP client options');
    this.timeoutMs = o.timeout ?? DEFAULT_TIMEOUT_MS;
    this.maxRootDistanceMs = o.maxRootDistance ?? DEFAULT_MAX_ROOT_DISTANCE_MS;
    this.minPollIntervalMs = o.minPollInterval ?? DEFAULT_MIN_POLL_INTERVAL_MS;
    this.version = o.version ?? 4;
    this.localPrecision = o.localPrecision ?? DEFAULT_LOCAL_PRECISION;
    this.clock = o.clock ?? createSystemClock();
    warmUp();
  }

  /**
   * Queries several servers in parallel; one result per server, in order.
   *
   * @param servers - `SERVER[:PORT]` strings or addresses
   */
  queryAll(servers: readonly (string | NtpServerAddress)[]): Promise<ServerResult[]> {
    return Promise.all(servers.map((s) => this.query(s)));
  }

  /**
   * Queries one server (or, within the poll interval, returns its aged earlier sample).
   * Never rejects: failures come back as `{ ok: false, error }`.
   *
   * @param server - `SERVER[:PORT]` string or address
   */
  async query(server: string | NtpServerAddress): Promise<ServerResult> {
    const parsed = parseServerAddress(typeof server === 'string' ? server : formatServerAddress(server));
    if (!parsed.ok) return { server: String(server), ok: false, error: parsed.error, discarded: 0 };
    const label = formatServerAddress(parsed.value);
    let address: string;
    try {
      address = isIP(parsed.value.host) ? parsed.value.host : (await lookup(parsed.value.host)).address;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'unknown';
      return {
        server: label,
        ok: false,
        discarded: 0,
        error: new NtpError('NTP_RESOLVE_FAILED', `cannot resolve ${parsed.value.host} (${code})`, {
          host: parsed.value.host,
          code,
        }),
      };
    }
    const key = `${address}|${parsed.value.port}`;
    let entry = this.servers.get(key);
    if (!entry) {
      entry = { poll: initialPollState(this.minPollIntervalMs) };
      this.servers.set(key, entry);
    }
    if (entry.inflight) return { ...(await entry.inflight), server: label };
    const at = this.clock.monotonicMs();
    const decision = pollDecision(entry.poll, at, label);
    if (!decision.send) {
      if (decision.error.code === 'NTP_POLL_TOO_SOON' && entry.last) return this.aged(label, entry.last);
      return { server: label, ok: false, error: decision.error, discarded: 0 };
    }
    entry.poll = onPollSent(entry.poll, at);
    const e = entry;
    const run = (async (): Promise<ServerResult> => {
      const out = await this.exchange(address, parsed.value.port, label);
      if (out.result.ok) {
        e.last = { sample: out.result.value, wallNs: out.wallNs, monoMs: this.clock.monotonicMs() };
        return {
          server: label,
          ok: true,
          sample: out.result.value,
          fresh: true,
          ageMs: 0,
          discarded: out.discarded,
        };
      }
      const kiss = out.result.error.details.kissCode;
      if (out.result.error.code === 'NTP_KISS_OF_DEATH' && typeof kiss === 'string') {
        e.poll = onKiss(e.poll, kiss, this.clock.monotonicMs());
      }
      return { server: label, ok: false, error: out.result.error, discarded: out.discarded };
    })();
    entry.inflight = run;
    try {
      return await run;
    } finally {
      entry.inflight = undefined;
    }
  }

  private aged(label: string, last: NonNullable<ServerEntry['last']>): ServerResult {
    this.clock.prepare?.();
    const wallNs = this.clock.nowNs();
    const ageMs = Math.max(0, this.clock.monotonicMs() - last.monoMs);
    // Whatever the wall clock moved beyond real elapsed time (a step or slew) shifts the offset.
    const stepMs = Number(wallNs - last.wallNs) / 1e6 - ageMs;
    const sample: NtpSample = {
      ...last.sample,
      offsetMs: last.sample.offsetMs - stepMs,
      rootDistanceMs: last.sample.rootDistanceMs + NTP_PHI * ageMs,
    };
    return { server: label, ok: true, sample, fresh: false, ageMs, discarded: 0 };
  }

  private exchange(address: string, port: number, label: string): Promise<ExchangeOutcome> {
    return new Promise((resolve) => {
      const socket = dgram.createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
      let discarded = 0;
      let lastDiscard: NtpError | undefined;
      let nonce = 0n;
      let t1 = 0n;
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (result: Result<NtpSample>, wallNs = 0n) => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        try {
          socket.close();
        } catch {
          // already closed
        }
        resolve({ result, discarded, wallNs });
      };
      const fail = (error: NtpError) => finish({ ok: false, error });
      socket.on('error', (e: NodeJS.ErrnoException) => {
        const msg =
          e.code === 'ECONNREFUSED'
            ? `connection refused by ${label} (ICMP port unreachable: no NTP server there)`
            : `socket error talking to ${label}: ${e.code ?? ''} ${e.message}`.trim();
        fail(new NtpError('NTP_SOCKET_ERROR', msg, { server: label, code: e.code }));
      });
      socket.on('message', (msg, rinfo) => {
        const wallNs = this.clock.nowNs();
        const t4 = toNtpTimestamp(wallNs);
        if (done) return;
        const discard = (error: NtpError) => {
          discarded++;
          lastDiscard = error;
        };
        const src = checkSource({ address, port }, rinfo);
        if (!src.ok) return discard(src.error);
        const decoded = decodePacket(msg);
        if (!decoded.ok) return discard(decoded.error);
        if (decoded.value.originateTimestamp !== nonce) {
          // Only a party that saw our request knows the nonce: anything else is discarded
          // and we keep waiting for the genuine reply.
          return discard(
            new NtpError(
              'NTP_BOGUS_ORIGINATE',
              'forged reply (originate timestamp does not match the request)',
              {
                server: label,
              },
            ),
          );
        }
        const result = validateReply(decoded.value, {
          nonce,
          t1,
          t4,
          localPrecision: this.localPrecision,
          maxRootDistanceMs: this.maxRootDistanceMs,
        });
        finish(result, wallNs);
      });
      timer = setTimeout(() => {
        if (lastDiscard) {
          const e = lastDiscard;
          fail(
            new NtpError(e.code, `${e.message}; no genuine reply within ${this.timeoutMs} ms`, {
              ...e.details,
              discarded,
              timeoutMs: this.timeoutMs,
            }),
          );
        } else {
          fail(
            new NtpError('NTP_TIMEOUT', `no reply from ${label} within ${this.timeoutMs} ms`, {
              server: label,
            }),
          );
        }
      }, this.timeoutMs);
      socket.connect(port, address, () => {
        if (done) return;
        nonce = randomNonce();
        const bytes = encodePacket(createRequest(nonce, this.version));
        this.clock.prepare?.();
        t1 = toNtpTimestamp(this.clock.nowNs());
        socket.send(bytes, (e) => {
          if (e)
            fail(
              new NtpError('NTP_SOCKET_ERROR', `cannot send to ${label}: ${e.message}`, { server: label }),
            );
        });
      });
    });
  }
}

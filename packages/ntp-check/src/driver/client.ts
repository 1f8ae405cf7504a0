// The SNTP client over node:dgram: one connected socket per request, reply checks from the machine,
// per-server poll state, time from a Clock (monotonic for poll bookkeeping, wall time for T1/T4).
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { type Clock, type Result, systemClock, type TimerHandle } from '@proxyha/common';
import { z } from 'zod';
import { formatServerAddress, literalFamily, type NtpServerAddress, parseServerAddress } from '../address';
import { createRequest, decodePacket, encodePacket } from '../codec/packet';
import { type NtpTimestamp, unixMsToNtpTimestamp } from '../codec/timestamp';
import { NtpError } from '../errors';
import {
  DEFAULT_MIN_POLL_INTERVAL_MS,
  initialPollState,
  MAX_POLL_INTERVAL_MS,
  MIN_POLL_INTERVAL_FLOOR_MS,
  onKiss,
  onPollSent,
  type PollState,
  pollDecision,
} from '../machine/poll';
import {
  checkSource,
  DEFAULT_LOCAL_PRECISION,
  DEFAULT_MAX_ROOT_DISTANCE_MS,
  NTP_PHI,
  type NtpSample,
  validateReply,
} from '../machine/reply';
import type { NtpServerResult } from '../machine/skew';
import { durationOption, parseOptions } from './options';

/** Default time to wait for a reply: 2 s. */
export const DEFAULT_NTP_TIMEOUT_MS = 2000;

/** Options of {@link NtpClient}. Durations are milliseconds or duration strings (`"500ms"`, `"2s"`, `"1m30s"`). */
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
  /**
   * Time and timers (default: `systemClock` of `@proxyha/common`). `now()` (monotonic) keeps the poll
   * intervals and the timeout; `wallTime()` is the clock being checked, read for T1 and T4 (the system
   * clock reads it with microsecond resolution). Tests pass a `ManualClock`.
   */
  clock?: Clock;
}

function isClock(c: unknown): c is Clock {
  const o = c as Record<keyof Clock, unknown> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.now === 'function' &&
    typeof o.wallTime === 'function' &&
    typeof o.setTimeout === 'function' &&
    typeof o.clearTimeout === 'function'
  );
}

/** Validation of {@link NtpClientOptions}; `checkSkew` reuses it for the client part of its options. @internal */
export const clientOptionsShape = {
  timeout: durationOption({ min: 1, max: 60_000 }).optional(),
  maxRootDistance: durationOption({ min: 1, max: 16_000 }).optional(),
  minPollInterval: durationOption({
    min: MIN_POLL_INTERVAL_FLOOR_MS,
    max: MAX_POLL_INTERVAL_MS,
    minReason: 'RFC 4330 section 10',
  }).optional(),
  version: z.union([z.literal(3), z.literal(4)], { error: 'must be 3 or 4' }).optional(),
  localPrecision: z.number().int().min(-32).max(0).optional(),
  clock: z
    .custom<Clock>(isClock, { error: 'must be a Clock (now, wallTime, setTimeout, clearTimeout)' })
    .optional(),
};

const clientSchema = z.object(clientOptionsShape);

interface ServerEntry {
  poll: PollState;
  /** The last valid sample, with the wall and monotonic times of its T4. */
  last?: { sample: NtpSample; wallMs: number; monoMs: number };
  inflight?: Promise<NtpServerResult>;
}

interface ExchangeOutcome {
  result: Result<NtpSample, NtpError>;
  discarded: number;
  /** Wall and monotonic time of T4 (0 without a reply). */
  wallMs: number;
  monoMs: number;
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
    unixMsToNtpTimestamp(Date.now() + 0.5);
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
 *
 * @example
 * ```ts
 * const client = new NtpClient({ timeout: '2s' });
 * const r = await client.query('192.0.2.123');
 * if (r.ok) console.log(`offset ${r.sample.offsetMs} ms`);
 * else console.log(r.error.code, r.error.message);
 * ```
 */
export class NtpClient {
  readonly #timeoutMs: number;
  readonly #maxRootDistanceMs: number;
  readonly #minPollIntervalMs: number;
  readonly #version: 3 | 4;
  readonly #localPrecision: number;
  readonly #clock: Clock;
  readonly #servers = new Map<string, ServerEntry>();

  /**
   * @param options - see {@link NtpClientOptions}
   * @throws NtpError `NTP_INVALID_ARGUMENT` with `details.issues` when an option is invalid
   */
  constructor(options: NtpClientOptions = {}) {
    const o = parseOptions(clientSchema, options, 'NTP client options');
    this.#timeoutMs = o.timeout ?? DEFAULT_NTP_TIMEOUT_MS;
    this.#maxRootDistanceMs = o.maxRootDistance ?? DEFAULT_MAX_ROOT_DISTANCE_MS;
    this.#minPollIntervalMs = o.minPollInterval ?? DEFAULT_MIN_POLL_INTERVAL_MS;
    this.#version = o.version ?? 4;
    this.#localPrecision = o.localPrecision ?? DEFAULT_LOCAL_PRECISION;
    this.#clock = o.clock ?? systemClock;
    // The system clock calibrates its microsecond wall clock on the first reading: do it now, not at T1.
    this.#clock.wallTime();
    warmUp();
  }

  /**
   * Queries several servers in parallel; one result per server, in order.
   *
   * @param servers - `SERVER[:PORT]` strings or addresses
   */
  queryAll(servers: readonly (string | NtpServerAddress)[]): Promise<NtpServerResult[]> {
    return Promise.all(servers.map((s) => this.query(s)));
  }

  /**
   * Queries one server (or, within the poll interval, returns its aged earlier sample).
   * Never rejects: failures come back as `{ ok: false, error }`.
   *
   * @param server - `SERVER[:PORT]` string or address
   */
  async query(server: string | NtpServerAddress): Promise<NtpServerResult> {
    const parsed = parseServerAddress(typeof server === 'string' ? server : formatServerAddress(server));
    if (!parsed.ok) return { server: String(server), ok: false, error: parsed.error, discarded: 0 };
    const { host, port } = parsed.value;
    const label = formatServerAddress(parsed.value);
    let address: string;
    try {
      address = literalFamily(host) ? host : (await lookup(host)).address;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'unknown';
      return {
        server: label,
        ok: false,
        discarded: 0,
        error: new NtpError('NTP_RESOLVE_FAILED', `cannot resolve ${host} (${code})`, {
          details: { host, code },
          stack: false,
        }),
      };
    }
    const key = `${address}|${port}`;
    let entry = this.#servers.get(key);
    if (!entry) {
      entry = { poll: initialPollState(this.#minPollIntervalMs) };
      this.#servers.set(key, entry);
    }
    if (entry.inflight) return { ...(await entry.inflight), server: label };
    const at = this.#clock.now();
    const decision = pollDecision(entry.poll, at, label);
    if (!decision.send) {
      if (decision.error.code === 'NTP_POLL_TOO_SOON' && entry.last) return this.#aged(label, entry.last);
      return { server: label, ok: false, error: decision.error, discarded: 0 };
    }
    entry.poll = onPollSent(entry.poll, at);
    const e = entry;
    const run = (async (): Promise<NtpServerResult> => {
      const out = await this.#exchange(address, port, label);
      if (out.result.ok) {
        e.last = { sample: out.result.value, wallMs: out.wallMs, monoMs: out.monoMs };
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
        e.poll = onKiss(e.poll, kiss, this.#clock.now());
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

  #aged(label: string, last: NonNullable<ServerEntry['last']>): NtpServerResult {
    const wallMs = this.#clock.wallTime();
    const ageMs = Math.max(0, this.#clock.now() - last.monoMs);
    // Whatever the wall clock moved beyond real elapsed time (a step or slew) shifts the offset.
    const stepMs = wallMs - last.wallMs - ageMs;
    const sample: NtpSample = {
      ...last.sample,
      offsetMs: last.sample.offsetMs - stepMs,
      rootDistanceMs: last.sample.rootDistanceMs + NTP_PHI * ageMs,
    };
    return { server: label, ok: true, sample, fresh: false, ageMs, discarded: 0 };
  }

  #exchange(address: string, port: number, label: string): Promise<ExchangeOutcome> {
    const clock = this.#clock;
    return new Promise((resolve) => {
      const socket = dgram.createSocket(literalFamily(address) === 'ipv6' ? 'udp6' : 'udp4');
      let discarded = 0;
      let lastDiscard: NtpError | undefined;
      let nonce = 0n;
      let t1 = 0n;
      let done = false;
      let timer: TimerHandle | undefined;
      const finish = (result: Result<NtpSample, NtpError>, wallMs = 0, monoMs = 0) => {
        if (done) return;
        done = true;
        if (timer) clock.clearTimeout(timer);
        try {
          socket.close();
        } catch {
          // already closed
        }
        resolve({ result, discarded, wallMs, monoMs });
      };
      const fail = (error: NtpError) => finish({ ok: false, error });
      socket.on('error', (e: NodeJS.ErrnoException) => {
        const msg =
          e.code === 'ECONNREFUSED'
            ? `connection refused by ${label} (ICMP port unreachable: no NTP server there)`
            : `socket error talking to ${label}: ${e.code ?? ''} ${e.message}`.trim();
        fail(
          new NtpError('NTP_SOCKET_ERROR', msg, {
            details: { server: label, code: e.code },
            cause: e,
            stack: false,
          }),
        );
      });
      socket.on('message', (msg, rinfo) => {
        // T4 first: everything else happens after the reading.
        const wallMs = clock.wallTime();
        const monoMs = clock.now();
        if (done) return;
        const t4 = unixMsToNtpTimestamp(wallMs);
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
                details: { server: label },
                stack: false,
              },
            ),
          );
        }
        const result = validateReply(decoded.value, {
          nonce,
          t1,
          t4,
          localPrecision: this.#localPrecision,
          maxRootDistanceMs: this.#maxRootDistanceMs,
        });
        finish(result, wallMs, monoMs);
      });
      timer = clock.setTimeout(() => {
        const timeoutMs = this.#timeoutMs;
        if (lastDiscard) {
          const e = lastDiscard;
          fail(
            new NtpError(e.code, `${e.message}; no genuine reply within ${timeoutMs} ms`, {
              details: { ...e.details, discarded, timeoutMs },
              stack: false,
            }),
          );
        } else {
          fail(
            new NtpError('NTP_TIMEOUT', `no reply from ${label} within ${timeoutMs} ms`, {
              details: { server: label, timeoutMs },
              stack: false,
            }),
          );
        }
      }, this.#timeoutMs);
      socket.connect(port, address, () => {
        if (done) return;
        nonce = randomNonce();
        const bytes = encodePacket(createRequest(nonce, this.#version));
        // T1 last before the send; converted after it, off the timed path.
        const sentMs = clock.wallTime();
        socket.send(bytes, (e) => {
          if (e) {
            fail(
              new NtpError('NTP_SOCKET_ERROR', `cannot send to ${label}: ${e.message}`, {
                details: { server: label },
                cause: e,
                stack: false,
              }),
            );
          }
        });
        t1 = unixMsToNtpTimestamp(sentMs);
      });
    });
  }
}

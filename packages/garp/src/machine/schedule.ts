// The announcement schedule: a pure, deterministic machine. Time is an input (`at`, in ms on any
// monotonic clock); output is frames that are due and the next time anything becomes due. No timers,
// no I/O, no Date.now().
import { describeValue, type IpFamily, issuesFromSchema } from '@proxyha/common';
import { z } from 'zod';
import { ipText, macText } from '../codec/address';
import { gratuitousArp, unsolicitedNeighborAdvertisement } from '../codec/builders';
import { encodeFrame } from '../codec/frame';
import { fieldError, invalidArgument } from '../errors';
import {
  type AnnouncePolicy,
  type AnnouncePolicyInput,
  type BurstPolicy,
  type BurstPolicyInput,
  mergeBurst,
  parseAnnouncePolicy,
} from './policy';

/** What to announce, where and as whom. */
export interface AnnounceRequest {
  /** Name of the owner of the addresses (a VRRP instance such as `VI_1`); used in logs and to cancel. */
  readonly instance: string;
  /** Interface to send on (for a VMAC setup, the macvlan interface such as `vrrp.51`). */
  readonly ifname: string;
  /** The interface's own MAC address: the announced link-layer address unless `vmac` is given. */
  readonly mac: string;
  /** Virtual MAC to announce instead of `mac` (Ethernet source, ARP sender, NA target link-layer address). */
  readonly vmac?: string | undefined;
  /** IPv4 addresses to announce with gratuitous ARP. */
  readonly ipv4?: readonly string[] | undefined;
  /** IPv6 addresses to announce with unsolicited neighbour advertisements. */
  readonly ipv6?: readonly string[] | undefined;
  /** Per-request overrides of the schedule's burst policy (keepalived's per-instance garp_* keywords). */
  readonly policy?: BurstPolicyInput | undefined;
}

/** Why a burst was queued. */
export type BurstReason = 'start' | 'second' | 'refresh' | 'reassert' | 'reassert-followup';

/** One frame the schedule says is due now. Treat `frame` as read-only: repeats share the same bytes. */
export interface DueFrame {
  /** Time the frame became sendable. */
  readonly at: number;
  /** Owner of the announced address. */
  readonly instance: string;
  /** Interface to send on. */
  readonly ifname: string;
  /** `ipv4`: gratuitous ARP; `ipv6`: unsolicited neighbour advertisement. */
  readonly family: IpFamily;
  /** The announced address. */
  readonly address: string;
  /** The burst this frame belongs to. */
  readonly reason: BurstReason;
  /** The encoded Ethernet frame. */
  readonly frame: Uint8Array;
}

/** A burst that was queued: one per address, the moment the frames are queued (keepalived logs then). */
export interface BurstNotice {
  /** Time the burst was queued. */
  readonly at: number;
  /** Owner of the announced address. */
  readonly instance: string;
  /** Interface the frames go out on. */
  readonly ifname: string;
  /** Address family of the announced address. */
  readonly family: IpFamily;
  /** The announced address. */
  readonly address: string;
  /** Why the burst was queued. */
  readonly reason: BurstReason;
  /** Frames queued for this address. */
  readonly count: number;
}

/** Output of {@link AnnouncementSchedule.poll}. */
export interface AnnouncementPoll {
  /** Frames to send now, in order. */
  readonly frames: readonly DueFrame[];
  /** Bursts queued since the last poll, in order. */
  readonly notices: readonly BurstNotice[];
  /** When to poll next, or `undefined` when nothing is pending. */
  readonly nextAt: number | undefined;
}

interface Entry {
  key: string;
  instance: string;
  ifname: string;
  burst: BurstPolicy;
  v4: { address: string; frame: Uint8Array }[];
  v6: { address: string; frame: Uint8Array }[];
  secondAt: number | undefined;
  followupAt: number | undefined;
  refreshAt: number | undefined;
}

/** What a request validates to: an {@link Entry} without its timers (its frames shared by the entries). */
type PreparedEntry = Readonly<Omit<Entry, 'secondAt' | 'followupAt' | 'refreshAt'>>;

/** How many validated requests an {@link AnnouncementSchedule} keeps. */
const PREPARED_LIMIT = 64;

interface Queued {
  key: string;
  instance: string;
  ifname: string;
  family: IpFamily;
  address: string;
  reason: BurstReason;
  frame: Uint8Array;
  readyAt: number;
}

interface Queue {
  gap: number;
  lastSentAt: number | undefined;
  items: Queued[];
}

const RequestSchema = z
  .object({
    instance: z.string().min(1).max(256),
    ifname: z.string().min(1).max(15),
    mac: z.string(),
    vmac: z.string().optional(),
    ipv4: z.array(z.string()).max(1024).optional(),
    ipv6: z.array(z.string()).max(1024).optional(),
    policy: z.unknown().optional(),
  })
  .refine((r) => (r.ipv4?.length ?? 0) + (r.ipv6?.length ?? 0) > 0, {
    message: 'no address to announce: ipv4 and ipv6 are both empty',
    path: ['ipv4'],
  });

const REQUEST = 'announcement request';

/**
 * The announcement schedule: keepalived's gratuitous ARP / unsolicited NA timing as a pure machine.
 *
 * - {@link AnnouncementSchedule.start}: a burst of `repeat` frames per address now, a second burst after
 *   `secondBurstDelayMs`, then `refreshRepeat` frames every `refreshIntervalMs` (if set).
 * - {@link AnnouncementSchedule.reassert}: another node still claims the addresses (for VRRP: a
 *   lower-priority advert seen while master, a split brain healing): `reassertRepeat` frames now and a
 *   follow-up burst after `reassertDelayMs`.
 * - {@link AnnouncementSchedule.stop}: cancel everything still pending for an instance.
 * - {@link AnnouncementSchedule.poll}: frames due at `at`, respecting per-interface minimum gaps shared by
 *   all requests on the interface (separate for ARP and NA), and the next time to poll.
 *
 * Within a burst the frames go round-robin over the addresses (all addresses once, then again), as
 * keepalived sends them. A new burst for an address replaces that address's frames still queued from an
 * earlier burst of the same request, so a persistent conflict cannot grow the queue without bound.
 */
export class AnnouncementSchedule {
  /** The validated policy in force. */
  readonly policy: AnnouncePolicy;
  readonly #entries = new Map<string, Entry>();
  readonly #queues = new Map<string, Queue>();
  #notices: BurstNotice[] = [];
  /** Validated requests by their JSON text (see {@link AnnouncementSchedule.prepare}). */
  readonly #cache = new Map<string, PreparedEntry>();

  /**
   * @param policy - announcement policy; defaults are keepalived's
   * @throws GarpError `GARP_INVALID_ARGUMENT` (with `details.issues`)
   */
  constructor(policy?: AnnouncePolicyInput) {
    this.policy = parseAnnouncePolicy(policy);
  }

  /**
   * Starts announcing (for VRRP: on becoming master). Replaces an active request of the same instance on
   * the same interface, dropping its queued frames. The first burst is due at `at`.
   *
   * @throws GarpError `GARP_INVALID_ARGUMENT`, `GARP_BAD_MAC`, `GARP_BAD_IPV4`, `GARP_BAD_IPV6` (with `details.issues`)
   */
  start(request: AnnounceRequest, at: number): void {
    checkTime(at);
    const entry = this.#entry(request);
    this.#cancel(entry.key);
    this.#entries.set(entry.key, entry);
    const b = entry.burst;
    this.#burst(entry, 'start', b.repeat, at);
    entry.secondAt = b.secondBurstDelayMs > 0 ? at + b.secondBurstDelayMs : undefined;
    entry.refreshAt = b.refreshIntervalMs > 0 ? at + b.refreshIntervalMs : undefined;
  }

  /**
   * Another node still claims this instance's addresses: announce again now and once more after
   * `reassertDelayMs`. Does nothing when the instance is not announcing or `reassertRepeat` is 0.
   *
   * @returns whether anything was queued
   */
  reassert(instance: string, at: number): boolean {
    checkTime(at);
    let any = false;
    for (const e of this.#entries.values()) {
      if (e.instance !== instance || e.burst.reassertRepeat === 0) continue;
      this.#burst(e, 'reassert', e.burst.reassertRepeat, at);
      e.followupAt = e.burst.reassertDelayMs > 0 ? at + e.burst.reassertDelayMs : undefined;
      any = true;
    }
    return any;
  }

  /**
   * Stops announcing for an instance (on every interface, or only `ifname`): pending bursts, refreshes and
   * queued frames are dropped. Frames already returned by {@link AnnouncementSchedule.poll} are not recalled.
   *
   * @param at - time of the stop (validated; the schedule keeps no other record of it)
   * @returns the number of queued frames dropped
   */
  stop(instance: string, at: number, ifname?: string): number {
    checkTime(at);
    let dropped = 0;
    for (const e of [...this.#entries.values()])
      if (e.instance === instance && (ifname === undefined || e.ifname === ifname))
        dropped += this.#cancel(e.key);
    return dropped;
  }

  /**
   * Stops every instance (for example on shutdown).
   *
   * @returns the number of queued frames dropped
   */
  stopAll(at: number): number {
    checkTime(at);
    let dropped = 0;
    for (const k of [...this.#entries.keys()]) dropped += this.#cancel(k);
    return dropped;
  }

  /** Instances announcing now, each once. */
  instances(): string[] {
    return [...new Set([...this.#entries.values()].map((e) => e.instance))];
  }

  /** Whether an instance is announcing (on any interface). */
  isActive(instance: string): boolean {
    for (const e of this.#entries.values()) if (e.instance === instance) return true;
    return false;
  }

  /** Number of frames queued and not yet returned by {@link AnnouncementSchedule.poll}. */
  get queued(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.items.length;
    return n;
  }

  /**
   * Advances the schedule to `at`: queues bursts whose time has come and returns the frames that may be sent
   * now. Calling it early is harmless; calling it late sends late (one frame per rate-limited queue per call,
   * since a gap is measured between actual sends).
   */
  poll(at: number): AnnouncementPoll {
    checkTime(at);
    // timers, oldest first so that a late poll keeps their order
    for (;;) {
      let next: { e: Entry; t: number; which: 'second' | 'followup' | 'refresh' } | undefined;
      for (const e of this.#entries.values()) {
        for (const [which, t] of [
          ['second', e.secondAt],
          ['followup', e.followupAt],
          ['refresh', e.refreshAt],
        ] as const)
          if (t !== undefined && t <= at && (next === undefined || t < next.t)) next = { e, t, which };
      }
      if (!next) break;
      const { e, t, which } = next;
      if (which === 'second') {
        e.secondAt = undefined;
        this.#burst(e, 'second', e.burst.repeat, t);
      } else if (which === 'followup') {
        e.followupAt = undefined;
        this.#burst(e, 'reassert-followup', e.burst.reassertRepeat, t);
      } else {
        const iv = e.burst.refreshIntervalMs;
        // a late poll sends one refresh, not one per missed period
        e.refreshAt = t + iv * (Math.floor((at - t) / iv) + 1);
        this.#burst(e, 'refresh', e.burst.refreshRepeat, t);
      }
    }
    const frames: DueFrame[] = [];
    let nextAt: number | undefined;
    const consider = (t: number | undefined) => {
      if (t !== undefined && (nextAt === undefined || t < nextAt)) nextAt = t;
    };
    for (const [k, q] of this.#queues) {
      while (q.items.length > 0) {
        const head = q.items[0] as Queued;
        const earliest = Math.max(
          head.readyAt,
          q.lastSentAt === undefined ? head.readyAt : q.lastSentAt + q.gap,
        );
        if (earliest > at) {
          consider(earliest);
          break;
        }
        q.items.shift();
        q.lastSentAt = at;
        frames.push({
          at,
          instance: head.instance,
          ifname: head.ifname,
          family: head.family,
          address: head.address,
          reason: head.reason,
          frame: head.frame,
        });
        if (q.gap > 0) {
          if (q.items.length > 0) consider(at + q.gap);
          break;
        }
      }
      if (q.items.length === 0 && (q.gap === 0 || q.lastSentAt === undefined || q.lastSentAt + q.gap <= at))
        this.#queues.delete(k);
    }
    for (const e of this.#entries.values()) {
      consider(e.secondAt);
      consider(e.followupAt);
      consider(e.refreshAt);
    }
    const notices = this.#notices;
    this.#notices = [];
    return { frames, notices, nextAt };
  }

  /**
   * Validates `request` and encodes its frames now, so that a later {@link AnnouncementSchedule.start} of an
   * equal request (the same fields with the same values) skips that work. For VRRP: prepare each instance's
   * announcement at start, and its first frame after a takeover leaves 0.2 to 0.3 ms sooner (validating and
   * encoding run in V8's interpreter, as code that runs once in a while does). The last 64 distinct requests
   * started or prepared are kept.
   *
   * @throws GarpError as {@link AnnouncementSchedule.start} for an invalid request
   */
  prepare(request: AnnounceRequest): void {
    this.#prepared(request);
  }

  #entry(request: AnnounceRequest): Entry {
    return { ...this.#prepared(request), secondAt: undefined, followupAt: undefined, refreshAt: undefined };
  }

  /** The request validated, with its frames encoded; from the cache when an equal request was seen. */
  #prepared(request: AnnounceRequest): PreparedEntry {
    let key: string | undefined;
    try {
      key = JSON.stringify(request, finiteOnly);
    } catch {
      // not serializable as itself (a cycle, a bigint, NaN): validated every time
    }
    const hit = key === undefined ? undefined : this.#cache.get(key);
    if (hit) return hit;
    const p = this.#validate(request);
    if (key !== undefined) {
      this.#cache.set(key, p);
      if (this.#cache.size > PREPARED_LIMIT) this.#cache.delete(this.#cache.keys().next().value as string);
    }
    return p;
  }

  #validate(request: AnnounceRequest): PreparedEntry {
    const r = RequestSchema.safeParse(request, { reportInput: true });
    if (!r.success) throw invalidArgument(REQUEST, issuesFromSchema(r.error.issues, request));
    const req = r.data;
    const burst = mergeBurst(this.policy, request.policy);
    const mac = macText(req.mac, 'mac', REQUEST);
    const src = req.vmac === undefined ? mac : macText(req.vmac, 'vmac', REQUEST);
    const v4 = unique((req.ipv4 ?? []).map((ip, i) => ipText('ipv4', ip, `ipv4[${i}]`, REQUEST)));
    const v6 = unique((req.ipv6 ?? []).map((ip, i) => ipText('ipv6', ip, `ipv6[${i}]`, REQUEST)));
    return {
      key: `${req.instance}\u0000${req.ifname}`,
      instance: req.instance,
      ifname: req.ifname,
      burst,
      v4: v4.map((address) => ({
        address,
        frame: encodeFrame(gratuitousArp({ mac: src, ip: address, operation: burst.arpOperation })),
      })),
      v6: v6.map((address) => ({
        address,
        frame: encodeFrame(
          unsolicitedNeighborAdvertisement({ mac: src, ip: address, router: burst.naRouterFlag }),
        ),
      })),
    };
  }

  #queue(ifname: string, family: IpFamily): Queue {
    const k = `${ifname}\u0000${family}`;
    let q = this.#queues.get(k);
    if (!q) {
      const rate = this.policy.interfaces[ifname] ?? this.policy;
      q = {
        gap: family === 'ipv4' ? rate.arpIntervalMs : rate.naIntervalMs,
        lastSentAt: undefined,
        items: [],
      };
      this.#queues.set(k, q);
    }
    return q;
  }

  #burst(e: Entry, reason: BurstReason, count: number, at: number): void {
    for (const [family, list] of [
      ['ipv4', e.v4],
      ['ipv6', e.v6],
    ] as const) {
      if (list.length === 0 || count <= 0) continue;
      const q = this.#queue(e.ifname, family);
      q.items = q.items.filter((it) => it.key !== e.key);
      for (let i = 0; i < count; i++)
        for (const a of list)
          q.items.push({
            key: e.key,
            instance: e.instance,
            ifname: e.ifname,
            family,
            address: a.address,
            reason,
            frame: a.frame,
            readyAt: at,
          });
      for (const a of list)
        this.#notices.push({
          at,
          instance: e.instance,
          ifname: e.ifname,
          family,
          address: a.address,
          reason,
          count,
        });
    }
  }

  #cancel(key: string): number {
    if (!this.#entries.delete(key)) return 0;
    let dropped = 0;
    for (const q of this.#queues.values()) {
      const before = q.items.length;
      q.items = q.items.filter((it) => it.key !== key);
      dropped += before - q.items.length;
    }
    this.#notices = this.#notices.filter((n) => `${n.instance}\u0000${n.ifname}` !== key);
    return dropped;
  }
}

/** A JSON replacer that refuses NaN and infinities (JSON would write them as `null`, a different request). */
function finiteOnly(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError('not a finite number');
  return value;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

function checkTime(at: number): void {
  if (typeof at !== 'number' || !Number.isFinite(at))
    throw fieldError(
      'GARP_INVALID_ARGUMENT',
      'at',
      `must be a finite number of ms (got ${typeof at === 'number' ? String(at) : describeValue(at)})`,
    );
}

// The driver: binds an AnnouncementSchedule to a clock's timers and to a frame sender, and logs what it
// does.
import {
  type Clock,
  type LogFields,
  type Logger,
  noopLogger,
  systemClock,
  type TimerHandle,
} from '@proxyha/common';
import type { AnnouncePolicyInput } from '../machine/policy';
import {
  AnnouncementSchedule,
  type AnnounceRequest,
  type BurstNotice,
  type DueFrame,
} from '../machine/schedule';

/**
 * Sends whole Ethernet frames on a named interface. `@proxyha/netio`'s AF_PACKET socket provides the real
 * one; {@link MemoryFrameSink} records frames for tests.
 */
export interface FrameSender {
  /**
   * Sends one Ethernet frame (without FCS) on `ifname`.
   *
   * @param ifname - interface name, such as `eth0`
   * @param frame - the frame; the sender must not modify it
   */
  sendFrame(ifname: string, frame: Uint8Array): Promise<void>;
}

/** Options of {@link Announcer}. */
export interface AnnouncerOptions {
  /** Where frames go. */
  readonly sender: FrameSender;
  /** Announcement policy; defaults are keepalived's. */
  readonly policy?: AnnouncePolicyInput;
  /**
   * Where the announcer logs: keepalived's burst lines at info, one line per frame at debug, send failures
   * at error. Default: discards everything.
   */
  readonly logger?: Logger;
  /** Time and timers (`now()`, `setTimeout`, `clearTimeout`); default the system clock. */
  readonly clock?: Clock;
}

/** Counters of an {@link Announcer}. */
export interface AnnouncerStats {
  /** Frames handed to the sender successfully. */
  readonly sent: number;
  /** Frames whose send failed (each logged). */
  readonly failed: number;
  /** Frames queued in the schedule, not yet due. */
  readonly queued: number;
}

/**
 * The operator-facing log line for a queued burst, worded as keepalived words it so that existing greps
 * keep working:
 * `(VI_1) Sending/queueing gratuitous ARPs on eth0 for 192.168.77.74` and
 * `(VI_1) Sending/queueing Unsolicited Neighbour Adverts on eth0 for fd77::74`.
 */
export function formatBurstNotice(
  n: Pick<BurstNotice, 'instance' | 'ifname' | 'family' | 'address'>,
): string {
  const what = n.family === 'ipv4' ? 'gratuitous ARPs' : 'Unsolicited Neighbour Adverts';
  return `(${n.instance}) Sending/queueing ${what} on ${n.ifname} for ${n.address}`;
}

function fieldsOf(f: DueFrame) {
  return { instance: f.instance, ifname: f.ifname, family: f.family, address: f.address, reason: f.reason };
}

function frameWords(f: Pick<DueFrame, 'family' | 'ifname' | 'address'>): string {
  return `${f.family === 'ipv4' ? 'gratuitous ARP' : 'unsolicited Neighbour Advert'} on ${f.ifname} for ${f.address}`;
}

/**
 * Sends gratuitous ARPs and unsolicited neighbour advertisements on time: runs an
 * {@link AnnouncementSchedule} on a `Clock`'s timers (the system clock's by default), hands due frames to
 * a {@link FrameSender} in order, and logs keepalived's lines. Send failures are logged (at error) and
 * counted; the announcer keeps going. A pending burst or refresh holds a timer (with the system clock, one
 * that keeps the process alive); {@link Announcer.close} ends them all.
 *
 * @example
 * ```ts
 * const announcer = new Announcer({ sender, logger });
 * announcer.announce({ instance: 'VI_1', ifname: 'eth0', mac: '46:cb:2c:84:db:0f', ipv4: ['192.168.77.74'] });
 * // a lower-priority advert arrives while master:
 * announcer.reassert('VI_1');
 * // leaving master:
 * announcer.stop('VI_1');
 * ```
 */
export class Announcer {
  /** The schedule this announcer drives (read it for state; change it only through the announcer). */
  readonly schedule: AnnouncementSchedule;
  readonly #sender: FrameSender;
  readonly #log: Logger;
  readonly #clock: Clock;
  #timer: TimerHandle | undefined;
  #chain: Promise<void> = Promise.resolve();
  /** Log lines waiting for the next immediate: lines never delay frames, and they follow the lines a
   * VRRP router queued for the same takeover ("Entering MASTER STATE", "setting VIPs."). */
  #lines: [level: 'debug' | 'info' | 'error', message: string, fields: LogFields][] = [];
  #linesTimer: TimerHandle | undefined;
  #sent = 0;
  #failed = 0;
  #closed = false;

  /**
   * @param options - sender, policy, logger and clock
   * @throws GarpError `GARP_INVALID_ARGUMENT` for an invalid policy
   */
  constructor(options: AnnouncerOptions) {
    this.schedule = new AnnouncementSchedule(options.policy);
    this.#sender = options.sender;
    this.#log = options.logger ?? noopLogger;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Starts announcing `request` (call on becoming master): the first burst is sent at once.
   *
   * @param request - what to announce, where and as whom
   * @throws GarpError `GARP_INVALID_ARGUMENT`, `GARP_BAD_MAC`, `GARP_BAD_IPV4`, `GARP_BAD_IPV6` for an
   *   invalid request (nothing is queued then)
   */
  announce(request: AnnounceRequest): void {
    if (this.#closed) return;
    this.schedule.start(request, this.#clock.now());
    this.#pump();
  }

  /**
   * Validates a request and encodes its frames ahead of time (see {@link AnnouncementSchedule.prepare}), so
   * that {@link Announcer.announce} of an equal request sends its first frame sooner. Sends nothing.
   *
   * @param request - what a later {@link Announcer.announce} will announce
   * @throws GarpError as {@link Announcer.announce} for an invalid request
   */
  prepare(request: AnnounceRequest): void {
    this.schedule.prepare(request);
  }

  /**
   * Another node still claims the instance's addresses (for VRRP: a lower-priority advert seen while
   * master): announce again at once and once more after the reassert delay.
   *
   * @param instance - the instance whose addresses are claimed
   * @returns whether the instance is announcing and reassertion is enabled
   */
  reassert(instance: string): boolean {
    if (this.#closed) return false;
    const any = this.schedule.reassert(instance, this.#clock.now());
    if (any) this.#pump();
    return any;
  }

  /**
   * Stops announcing for an instance (call on leaving master); frames not yet handed to the sender are
   * dropped.
   *
   * @param instance - the instance
   * @param ifname - only this interface; default all of the instance's
   * @returns the number of queued frames dropped
   */
  stop(instance: string, ifname?: string): number {
    const dropped = this.schedule.stop(instance, this.#clock.now(), ifname);
    this.#pump();
    return dropped;
  }

  /** Resolves when every frame handed to the sender so far has been sent (or has failed) and logged. */
  async flush(): Promise<void> {
    await this.#chain;
    this.#writeLines();
  }

  /** Send counters. */
  get stats(): AnnouncerStats {
    return { sent: this.#sent, failed: this.#failed, queued: this.schedule.queued };
  }

  /** Cancels every timer and pending frame, then waits for sends in flight. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#clearTimer();
    this.schedule.stopAll(this.#clock.now());
    await this.#chain;
    this.#writeLines();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #pump = (): void => {
    if (this.#closed) return;
    this.#clearTimer();
    const now = this.#clock.now();
    const r = this.schedule.poll(now);
    // frames first: writing a log line must not delay the first announcement of a takeover
    for (const f of r.frames) this.#send(f);
    if (r.notices.length) {
      const notices = r.notices;
      this.#chain = this.#chain.then(() => {
        for (const n of notices)
          this.#write('info', formatBurstNotice(n), {
            instance: n.instance,
            ifname: n.ifname,
            family: n.family,
            address: n.address,
            reason: n.reason,
            count: n.count,
          });
      });
    }
    if (r.nextAt !== undefined) this.#timer = this.#clock.setTimeout(this.#pump, Math.max(0, r.nextAt - now));
  };

  #write(level: 'debug' | 'info' | 'error', message: string, fields: LogFields): void {
    this.#lines.push([level, message, fields]);
    this.#linesTimer ??= this.#clock.setImmediate(this.#writeLines);
  }

  #writeLines = (): void => {
    if (this.#linesTimer !== undefined) this.#clock.clearTimeout(this.#linesTimer);
    this.#linesTimer = undefined;
    const lines = this.#lines;
    this.#lines = [];
    for (const [level, message, fields] of lines) this.#log[level](message, fields);
  };

  #send(f: DueFrame): void {
    this.#chain = this.#chain.then(async () => {
      try {
        await this.#sender.sendFrame(f.ifname, f.frame);
        this.#sent++;
        this.#write('debug', `(${f.instance}) Sending ${frameWords(f)}`, fieldsOf(f));
      } catch (err) {
        this.#failed++;
        const reason = err instanceof Error ? err.message : String(err);
        this.#write('error', `(${f.instance}) Error sending ${frameWords(f)}: ${reason}`, {
          ...fieldsOf(f),
          error: reason,
        });
      }
    });
  }
}

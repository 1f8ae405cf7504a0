// An in-memory FrameSender for tests and examples.
import { type Clock, systemClock } from '@proxyha/common';
import { decodeFrame, type GarpFrame } from '../codec/frame';
import type { FrameSender } from './announcer';

/** One frame recorded by a {@link MemoryFrameSink}. */
export interface SentFrame {
  /** Interface the frame was sent on. */
  readonly ifname: string;
  /** A copy of the frame. */
  readonly frame: Uint8Array;
  /** When it was sent: the sink's clock's `now()`. */
  readonly at: number;
}

/**
 * In-memory {@link FrameSender} for tests: records every frame with the time it was sent, and can be told
 * to fail.
 */
export class MemoryFrameSink implements FrameSender {
  /** Frames sent so far, oldest first. */
  readonly sent: SentFrame[] = [];
  /** While set, every send rejects with this error (and records nothing). */
  failWith: Error | undefined;
  readonly #clock: Clock;

  /** @param clock - the clock of {@link SentFrame.at}; default the system clock */
  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  /**
   * Records a copy of the frame, or rejects with {@link MemoryFrameSink.failWith}.
   *
   * @param ifname - interface name
   * @param frame - the frame
   */
  async sendFrame(ifname: string, frame: Uint8Array): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.sent.push({ ifname, frame: Uint8Array.from(frame), at: this.#clock.now() });
  }

  /**
   * The recorded frames, decoded.
   *
   * @throws GarpError if a recorded frame does not decode (it never should)
   */
  decoded(): (GarpFrame & Omit<SentFrame, 'frame'>)[] {
    return this.sent.map((s) => {
      const r = decodeFrame(s.frame);
      if (!r.ok) throw r.error;
      return { ...r.value, ifname: s.ifname, at: s.at };
    });
  }

  /** Forgets every recorded frame. */
  clear(): void {
    this.sent.length = 0;
  }
}

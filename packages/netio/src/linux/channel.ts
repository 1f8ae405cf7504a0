import { type Capability, closedError, fromNative, type NetioError, NetioSystemError } from '../errors';
import { ReceiverHub } from '../receiver';
import type { NativeItem, NativeSocket } from './addon';

/** How long a send may keep failing with ENOBUFS (device queue full) before it is rejected. */
const ENOBUFS_GIVE_UP_MS = 5000;

interface Job {
  data: Uint8Array;
  destination: string | undefined;
  ifindex: number;
  source: string | undefined;
  firstTry: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Maps a send failure to a typed error. */
export type SendErrorMapper = (error: unknown) => NetioError;

/**
 * Event-loop plumbing around one native socket: an ordered send queue that waits for writability
 * (EAGAIN) or retries with backoff (ENOBUFS) instead of dropping, and reading driven by a ReceiverHub.
 */
export class NativeChannel<T> {
  readonly hub: ReceiverHub<T>;
  closed = false;
  private readonly queue: Job[] = [];
  private blocked = false;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs = 1;

  constructor(
    private readonly socket: NativeSocket,
    private readonly errno: { EAGAIN: number; ENOBUFS: number },
    decode: (item: NativeItem) => T | undefined,
    private readonly operation: string,
    private readonly capability: Capability,
    private readonly mapSendError: SendErrorMapper,
  ) {
    this.hub = new ReceiverHub<T>((on) => {
      if (this.closed) return;
      if (on) {
        socket.startReading(
          (batch) => {
            for (const item of batch) {
              const value = decode(item);
              if (value !== undefined) this.hub.deliver(value);
            }
          },
          (error) => this.hub.fail(fromNative(error, `${this.operation}: receive`, this.capability)),
        );
      } else {
        socket.stopReading();
      }
    });
  }

  /** Queues one datagram; resolves when the kernel took it. */
  send(
    data: Uint8Array,
    destination: string | undefined,
    ifindex: number,
    source: string | undefined,
  ): Promise<void> {
    if (this.closed) return Promise.reject(closedError(this.operation));
    let reason = -this.errno.EAGAIN;
    if (this.queue.length === 0 && !this.blocked) {
      let sent: number;
      try {
        sent = this.socket.send(data, destination, ifindex, source);
      } catch (error) {
        return Promise.reject(this.mapSendError(error));
      }
      if (sent >= 0) return Promise.resolve();
      reason = sent;
    }
    return new Promise<void>((resolve, reject) => {
      // Copy: the caller may reuse its buffer once send() returned.
      this.queue.push({
        data: Buffer.from(data),
        destination,
        ifindex,
        source,
        firstTry: Date.now(),
        resolve,
        reject,
      });
      if (!this.blocked) this.wait(reason);
    });
  }

  private wait(reason: number): void {
    this.blocked = true;
    if (reason === -this.errno.ENOBUFS) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, 100);
    } else {
      this.socket.awaitWritable(() => this.flush());
    }
  }

  private flush(): void {
    this.blocked = false;
    while (!this.closed && this.queue.length > 0) {
      const job = this.queue[0] as Job;
      let sent: number;
      try {
        sent = this.socket.send(job.data, job.destination, job.ifindex, job.source);
      } catch (error) {
        this.queue.shift();
        job.reject(this.mapSendError(error));
        continue;
      }
      if (sent >= 0) {
        this.queue.shift();
        this.backoffMs = 1;
        job.resolve();
        continue;
      }
      if (sent === -this.errno.ENOBUFS && Date.now() - job.firstTry > ENOBUFS_GIVE_UP_MS) {
        this.queue.shift();
        job.reject(new NetioSystemError(`${this.operation}: send (device queue full)`, 'ENOBUFS', 'sendmsg'));
        continue;
      }
      this.wait(sent);
      return;
    }
  }

  /** Closes the fd; queued sends reject with NETIO_CLOSED and iterators end. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket.close();
    const pending = this.queue.splice(0);
    for (const job of pending) job.reject(closedError(this.operation));
    this.hub.end();
  }
}

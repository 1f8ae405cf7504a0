import type { NetioError } from './errors';
import type { Receiver } from './types';

/** Items an iterator may hold before reading pauses (the kernel's socket buffer then absorbs or drops). */
const HIGH_WATER_MARK = 1024;

interface Waiter<T> {
  resolve: (result: IteratorResult<T>) => void;
  reject: (error: unknown) => void;
}

/** One async iterator of a {@link ReceiverHub}; tells the hub when it drains below the mark or detaches. */
class Iterator<T> implements AsyncIterableIterator<T> {
  readonly queue: T[] = [];
  waiter: Waiter<T> | undefined;
  error: unknown;
  done = false;

  /**
   * @param drained - called when the queue falls below the high-water mark again
   * @param detach - called when the iterator ends for its reader
   */
  constructor(
    private readonly drained: () => void,
    private readonly detach: (it: Iterator<T>) => void,
  ) {}

  push(item: T): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: item, done: false });
    } else {
      this.queue.push(item);
    }
  }

  fail(error: unknown): void {
    this.error = error;
    this.finish();
  }

  finish(): void {
    this.done = true;
    if (this.waiter && this.queue.length === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      if (this.error !== undefined) w.reject(this.error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) {
      const value = this.queue.shift() as T;
      if (this.queue.length === HIGH_WATER_MARK - 1) this.drained();
      return Promise.resolve({ value, done: false });
    }
    if (this.done) {
      const error = this.error;
      this.error = undefined;
      this.detach(this);
      return error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.done = true;
    this.detach(this);
    if (this.waiter) this.waiter.resolve({ value: undefined, done: true });
    this.waiter = undefined;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * Fan-out of received items to listeners and async iterators, shared by the Linux sockets and the
 * in-memory twin. Tells its owner (through `setReading`) whether anyone wants items, so a socket
 * polls its fd only while it has readers and pauses while the slowest iterator is HIGH_WATER_MARK behind.
 */
export class ReceiverHub<T> implements Receiver<T> {
  readonly #listeners = new Set<(item: T) => void>();
  readonly #errorListeners = new Set<(error: NetioError) => void>();
  readonly #iterators = new Set<Iterator<T>>();
  readonly #setReading: (on: boolean) => void;
  #reading = false;
  #ended = false;

  /** @param setReading - told whether anyone wants items (true) or not (false), on every change */
  constructor(setReading: (on: boolean) => void) {
    this.#setReading = setReading;
  }

  onPacket(listener: (item: T) => void): () => void {
    const wrapped = (item: T) => listener(item);
    this.#listeners.add(wrapped);
    this.#update();
    return () => {
      this.#listeners.delete(wrapped);
      this.#update();
    };
  }

  onError(listener: (error: NetioError) => void): () => void {
    const wrapped = (error: NetioError) => listener(error);
    this.#errorListeners.add(wrapped);
    return () => this.#errorListeners.delete(wrapped);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    const it = new Iterator<T>(
      () => this.#update(),
      (done) => {
        if (this.#iterators.delete(done)) this.#update();
      },
    );
    if (this.#ended) it.finish();
    else this.#iterators.add(it);
    this.#update();
    return it;
  }

  /** Delivers one item. A throwing listener does not stop delivery; its error is rethrown asynchronously. */
  deliver(item: T): void {
    for (const listener of this.#listeners) {
      try {
        listener(item);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    let full = false;
    for (const it of this.#iterators) {
      it.push(item);
      if (it.queue.length >= HIGH_WATER_MARK) full = true;
    }
    if (full) this.#update();
  }

  /** Reports a receive error to error listeners and iterators, or throws it asynchronously if nobody listens. */
  fail(error: NetioError): void {
    if (this.#errorListeners.size === 0 && this.#iterators.size === 0) {
      queueMicrotask(() => {
        throw error;
      });
      return;
    }
    for (const listener of this.#errorListeners) listener(error);
    for (const it of this.#iterators) it.fail(error);
    this.#iterators.clear();
    this.#update();
  }

  /** Ends every iterator (after its queue drains) and stops reading for good. */
  end(): void {
    this.#ended = true;
    for (const it of this.#iterators) it.finish();
    this.#iterators.clear();
    this.#listeners.clear();
    this.#errorListeners.clear();
    this.#update();
  }

  /** Recomputes whether reading is wanted and tells the owner on change. */
  #update(): void {
    // Reading runs while anyone wants items, and pauses while the slowest iterator is full.
    let want = !this.#ended && (this.#listeners.size > 0 || this.#iterators.size > 0);
    for (const it of this.#iterators) if (it.queue.length >= HIGH_WATER_MARK) want = false;
    if (want !== this.#reading) {
      this.#reading = want;
      this.#setReading(want);
    }
  }
}

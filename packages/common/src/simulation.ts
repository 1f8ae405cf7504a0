// Building blocks of the deterministic simulators (vrrp, lb-director, cm-coordinator): a seeded PRNG and
// a discrete-event queue.

/**
 * A seeded pseudo-random generator (mulberry32: 32-bit state, fast, good enough for loss and jitter
 * decisions): returns a function giving uniform numbers in [0, 1), fully determined by `seed`.
 *
 * @param seed - any integer (used modulo 2^32)
 */
export function createPrng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Entry {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

/**
 * A discrete-event queue: a binary min-heap of timed callbacks ordered by (time, insertion order), so
 * events at the same instant run in the order they were scheduled and every run is reproducible.
 */
export class EventQueue {
  readonly #heap: Entry[] = [];
  #seq = 0;

  /** Number of pending entries. */
  get size(): number {
    return this.#heap.length;
  }

  /** Time of the earliest entry, or `undefined` when empty. */
  peekTime(): number | undefined {
    return this.#heap[0]?.at;
  }

  /** Adds a callback to run at `at`. */
  push(at: number, run: () => void): void {
    const heap = this.#heap;
    heap.push({ at, seq: this.#seq++, run });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i] as Entry, heap[parent] as Entry)) break;
      [heap[i], heap[parent]] = [heap[parent] as Entry, heap[i] as Entry];
      i = parent;
    }
  }

  /** Removes and returns the earliest entry. */
  pop():
    | {
        /** The time the entry was scheduled for. */
        at: number;
        /** Its callback (not yet run). */
        run: () => void;
      }
    | undefined {
    const heap = this.#heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop() as Entry;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l] as Entry, heap[m] as Entry)) m = l;
        if (r < heap.length && less(heap[r] as Entry, heap[m] as Entry)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m] as Entry, heap[i] as Entry];
        i = m;
      }
    }
    return top;
  }

  /**
   * Runs every entry due at or before `time`, earliest first (entries they add within that time run too).
   * `advance` gets each entry's time just before it runs: the simulator moves its clock there.
   *
   * @param time - the last instant to run
   * @param advance - called with the time of each entry before it runs
   */
  runUntil(time: number, advance: (at: number) => void): void {
    for (;;) {
      const next = this.peekTime();
      if (next === undefined || next > time) return;
      const entry = this.pop() as { at: number; run: () => void };
      advance(entry.at);
      entry.run();
    }
  }
}

function less(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * The links of a simulated network: per-direction link properties over a default, and partitions (nodes
 * in different groups cannot reach each other; nodes in no group form one more group together). The
 * simulators of vrrp, lb-director and cm-coordinator keep their topology in one.
 *
 * @typeParam L - the link properties (delay, loss, ...)
 */
export class SimLinks<L extends object> {
  readonly #default: L;
  readonly #links = new Map<string, L>();
  #partition: Map<string, number> | undefined;

  /** @param defaultLink - the properties of every link not set otherwise */
  constructor(defaultLink: L) {
    this.#default = defaultLink;
  }

  /** The default link's properties. */
  get defaultLink(): L {
    return this.#default;
  }

  /** The properties of the link from `from` to `to`. */
  get(from: string, to: string): L {
    return this.#links.get(`${from}>${to}`) ?? this.#default;
  }

  /** Changes some properties of the link from `from` to `to` (one direction). */
  set(from: string, to: string, link: Partial<L>): void {
    this.#links.set(`${from}>${to}`, { ...this.get(from, to), ...link });
  }

  /** Every link set explicitly (not the default). */
  values(): IterableIterator<L> {
    return this.#links.values();
  }

  /** Splits the network into `groups` (see the class description); applies to messages sent from now on. */
  partition(groups: readonly (readonly string[])[]): void {
    const map = new Map<string, number>();
    groups.forEach((g, i) => {
      for (const name of g) map.set(name, i);
    });
    this.#partition = map;
  }

  /** Removes the partition. */
  heal(): void {
    this.#partition = undefined;
  }

  /** Whether `a` can reach `b` under the partition (ignoring loss). */
  connected(a: string, b: string): boolean {
    if (this.#partition === undefined) return true;
    return (this.#partition.get(a) ?? -1) === (this.#partition.get(b) ?? -1);
  }
}

// The small typed event emitter the data planes share (internal).
import type { Logger } from '@proxyha/common';
import type { DataPlaneEvents } from './types';

type Listener<K extends keyof DataPlaneEvents> = (...args: DataPlaneEvents[K]) => void;

/** Listeners of {@link DataPlaneEvents}; a throwing listener is logged, never propagated into I/O callbacks. */
export class DataPlaneEmitter {
  readonly #listeners = new Map<keyof DataPlaneEvents, Set<(...args: unknown[]) => void>>();
  readonly #logger: Logger;

  /** @param logger - where throwing listeners are reported */
  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof DataPlaneEvents>(event: K, listener: Listener<K>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    const l = listener as unknown as (...args: unknown[]) => void;
    set.add(l);
    return () => {
      set.delete(l);
    };
  }

  /** Calls every listener of `event` in subscription order. */
  emit<K extends keyof DataPlaneEvents>(event: K, ...args: DataPlaneEvents[K]): void {
    for (const l of [...(this.#listeners.get(event) ?? [])]) {
      try {
        l(...args);
      } catch (e) {
        this.#logger.error(`data plane ${event} listener failed: ${(e as Error)?.message ?? String(e)}`);
      }
    }
  }
}

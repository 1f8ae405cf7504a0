// The driver of a node's runtime group: binds the RuntimeMachine to the node's clock, log and peer connections,
// validates what callers give (keys, values, durations) and reports changes to listeners. Deltas go out in
// batches: FLUSH_MS after a change, and every TICK_MS (acks timed out, retries, expiry).
import {
  type Clock,
  type ConfigIssue,
  err,
  type Logger,
  ok,
  parseDuration,
  type TimerHandle,
} from '@proxyha/common';
import type { BodyValidator } from '../codec/messages';
import { CmError } from '../errors';
import {
  type CmRuntimeStatus,
  checkRuntimeMessage,
  DEFAULT_RUNTIME_GROUP,
  RUNTIME_LIMITS,
  type RuntimeAction,
  type RuntimeChange,
  type RuntimeEvent,
  RuntimeMachine,
  type RuntimeMessage,
  type RuntimeValue,
} from '../machine/runtime';

/** Changes are sent this long after the first of a burst, ms: one delta per peer for the burst. */
const FLUSH_MS = 100;
/** Acks are timed out, retries made and expired entries dropped this often, ms. */
const TICK_MS = 1000;

/**
 * The runtime data a node shares with the members of its runtime group ({@link CmNode.runtime}): quota
 * counters and key → value entries with an expiry, never sent to a node of another runtime group. Reads are
 * local (what this node knows now); writes are local at once and reach the other members within a second or
 * so. Inputs are validated: a bad key, value or duration is a `CM_RUNTIME_INVALID_VALUE` naming it.
 */
export interface CmRuntimeData {
  /** This node's runtime group (`groups.runtime`, default `default`). */
  readonly group: string;
  /**
   * Counts on a quota counter: adds `by` in the current window of `period` (windows are aligned to the epoch,
   * UTC: a period of `1d` resets at 00:00 UTC). Concurrent increments on any members add up exactly.
   *
   * @param key - 1..256 characters, no control characters
   * @param by - a non-zero integer, at most 1e9 either way (negative gives back)
   * @param options - `period`: a duration (`"1h"`, `"1d"`, or ms), 1 s .. 366 d
   * @returns the counter's value on this node after the increment
   * @throws {@link CmError} `CM_RUNTIME_INVALID_VALUE`, `CM_RUNTIME_STORE_FULL`, `CM_NOT_RUNNING`
   */
  increment(
    key: string,
    by: number,
    options: {
      /** The quota period: the counter resets at the end of each window. */
      readonly period: string | number;
    },
  ): number;
  /** A counter's value in its current window (0 when none). @throws `CM_NOT_RUNNING` */
  counter(key: string): number;
  /**
   * Sets a value (coaching, authorized override, pdstorage) for `ttl`; the last write wins (hybrid logical
   * clock, node uuid breaking ties).
   *
   * @param key - 1..256 characters, no control characters
   * @param value - JSON data, at most 4096 bytes as JSON
   * @param options - `ttl`: a duration, 1 s .. 366 d
   * @throws {@link CmError} `CM_RUNTIME_INVALID_VALUE`, `CM_RUNTIME_STORE_FULL`, `CM_NOT_RUNNING`
   */
  set(
    key: string,
    value: RuntimeValue,
    options: {
      /** How long the value stays. */
      readonly ttl: string | number;
    },
  ): void;
  /** A value (`undefined` when there is none, or it expired or was deleted). @throws `CM_NOT_RUNNING` */
  get(key: string): RuntimeValue | undefined;
  /**
   * Deletes a value everywhere in the group (a tombstone, kept at least 10 minutes).
   *
   * @returns whether there was a value here
   * @throws {@link CmError} `CM_RUNTIME_INVALID_VALUE`, `CM_NOT_RUNNING`
   */
  delete(key: string): boolean;
  /** The keys with a value or a running counter on this node, sorted. @throws `CM_NOT_RUNNING` */
  keys(): string[];
  /**
   * Calls `listener` on every change of a visible value: written here (`local`), from a peer (`remote`), or
   * at the end of its ttl or period (`expired`). A listener that throws is logged and kept.
   *
   * @returns a function that removes the listener
   */
  onChange(listener: (change: RuntimeChange) => void): () => void;
  /** The runtime group as `proxyha-cm status` shows it. @throws `CM_NOT_RUNNING` */
  status(): CmRuntimeStatus;
}

/** The body validator of the runtime messages (internal). */
export const runtimeMessageBody: BodyValidator<RuntimeMessage> = (body) => {
  const r = checkRuntimeMessage(body);
  if (r.ok) return ok(r.value);
  const issues = (r.error.details as { issues?: ConfigIssue[] }).issues;
  return err(issues ?? [{ path: '(root)', message: r.error.message }]);
};

/** Options of {@link RuntimeDriver} (internal). */
export interface RuntimeDriverOptions {
  readonly group: string | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Sends a message to a connected peer (dropped when it is not connected: the machine retries). */
  readonly send: (uuid: string, message: RuntimeMessage) => void;
}

/** The runtime group of one {@link CmNode} (internal; the public face is {@link CmRuntimeData}). */
export class RuntimeDriver implements CmRuntimeData {
  readonly #o: RuntimeDriverOptions;
  readonly group: string;
  #machine: RuntimeMachine | undefined;
  readonly #listeners = new Set<(change: RuntimeChange) => void>();
  #flush: TimerHandle | undefined;
  #tick: TimerHandle | undefined;

  constructor(options: RuntimeDriverOptions) {
    this.#o = options;
    this.group = options.group ?? DEFAULT_RUNTIME_GROUP;
  }

  /** Starts with an empty store (a new incarnation: counts of earlier runs stay the peers'). */
  start(self: { uuid: string; name: string }, incarnation: string): void {
    this.#machine = new RuntimeMachine({ self, group: this.group, incarnation });
    this.#step({ type: 'tick', at: this.#wall() });
    const tick = () => {
      this.#tick = this.#o.clock.setTimeout(tick, TICK_MS);
      this.#step({ type: 'tick', at: this.#wall() });
    };
    this.#tick = this.#o.clock.setTimeout(tick, TICK_MS);
  }

  stop(): void {
    if (this.#tick) this.#o.clock.clearTimeout(this.#tick);
    if (this.#flush) this.#o.clock.clearTimeout(this.#flush);
    this.#tick = undefined;
    this.#flush = undefined;
    this.#machine = undefined;
  }

  peerUp(peer: { uuid: string; name: string }): void {
    if (this.#machine)
      this.#step({ type: 'peerUp', at: this.#wall(), peer: { uuid: peer.uuid, name: peer.name } });
  }

  peerDown(uuid: string): void {
    if (this.#machine) this.#step({ type: 'peerDown', at: this.#wall(), peer: uuid });
  }

  received(from: string, message: RuntimeMessage): void {
    if (this.#machine) this.#step({ type: 'received', at: this.#wall(), from, message });
  }

  increment(key: string, by: number, options: { readonly period: string | number }): number {
    const m = this.#running();
    const periodMs = duration(options?.period, 'period');
    const at = this.#wall();
    this.#step({ type: 'increment', at, key, by, periodMs });
    return m.counter(key, at);
  }

  counter(key: string): number {
    return this.#running().counter(key, this.#wall());
  }

  set(key: string, value: RuntimeValue, options: { readonly ttl: string | number }): void {
    this.#running();
    this.#step({ type: 'set', at: this.#wall(), key, value, ttlMs: duration(options?.ttl, 'ttl') });
  }

  get(key: string): RuntimeValue | undefined {
    return this.#running().get(key, this.#wall());
  }

  delete(key: string): boolean {
    const m = this.#running();
    const at = this.#wall();
    const had = m.get(key, at) !== undefined;
    this.#step({ type: 'delete', at, key });
    return had;
  }

  keys(): string[] {
    return this.#running().keys(this.#wall());
  }

  onChange(listener: (change: RuntimeChange) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  status(): CmRuntimeStatus {
    return this.#running().status(this.#wall());
  }

  /** The status, or undefined before start (for the node's status). */
  statusIfRunning(): CmRuntimeStatus | undefined {
    return this.#machine?.status(this.#wall());
  }

  #running(): RuntimeMachine {
    if (!this.#machine) throw new CmError('CM_NOT_RUNNING', 'the node is not started');
    return this.#machine;
  }

  #wall(): number {
    return Math.floor(this.#o.clock.wallTime());
  }

  #step(event: RuntimeEvent): void {
    const m = this.#machine;
    if (!m) return;
    const actions: RuntimeAction[] = m.step(event);
    const changes: RuntimeChange[] = [];
    for (const a of actions) {
      if (a.type === 'send') this.#o.send(a.to, a.message);
      else if (a.type === 'changed') changes.push(a.change);
      else if (a.type === 'log') {
        if (a.level === 'warn') this.#o.logger.warn(a.message);
        else this.#o.logger.info(a.message);
      }
    }
    // a change, or a peer that may want its delta: one flush soon, for the whole burst
    if (event.type !== 'tick' && (changes.length > 0 || event.type === 'received' || event.type === 'peerUp'))
      this.#flush ??= this.#o.clock.setTimeout(() => {
        this.#flush = undefined;
        this.#step({ type: 'tick', at: this.#wall() });
      }, FLUSH_MS);
    for (const c of changes)
      for (const l of this.#listeners)
        try {
          l(c);
        } catch (e) {
          this.#o.logger.warn(
            `[Coordinator] a runtime change listener failed on ${c.key}: ${(e as Error).message}`,
          );
        }
  }
}

function duration(value: unknown, path: string): number {
  const r = parseDuration(value, { min: RUNTIME_LIMITS.minTtlMs, max: RUNTIME_LIMITS.maxTtlMs });
  if (r.ok) return Math.round(r.value);
  throw new CmError('CM_RUNTIME_INVALID_VALUE', `${path}: ${r.error}`, {
    details: { issues: [{ path, message: r.error }] },
  });
}

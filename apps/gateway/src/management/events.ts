// The status event stream (`GET /api/v1/events`): server-sent events carrying the whole status document,
// at connect and after each change (coalesced), with keepalive comments. Internal to the management server.
import type { ServerResponse } from 'node:http';
import type { Clock, Logger, TimerHandle } from '@proxyha/common';
import type { GatewayControl } from '../node/types';

/** Settings of one stream. */
export interface StatusStreamOptions {
  /** The running node. */
  readonly control: GatewayControl;
  /** The response to write to (headers already sent by the caller). */
  readonly response: ServerResponse;
  /** Timers. */
  readonly clock: Clock;
  /** Log. */
  readonly logger: Logger;
  /** At most one status event per this many ms after the first (the last state is always sent). */
  readonly coalesceMs: number;
  /** A `: keepalive` comment after this many ms without one. */
  readonly keepaliveMs: number;
  /** Called once when the stream ended (client gone, or {@link StatusStream.close}). */
  readonly onEnd: () => void;
}

/** One open stream. */
export interface StatusStream {
  /** Ends the stream (server closing): unsubscribes and ends the response. */
  close(): void;
}

/**
 * Opens a status stream on `response`: `event: status` with the status JSON now, then after every
 * `control.onChange` (at most one per `coalesceMs`; a change during the wait is sent when it ends, read then,
 * so the last state is always sent), `: keepalive` every `keepaliveMs`. A client that reads slowly gets the
 * latest state once it has drained, not every state in between. Unsubscribes when the client goes away.
 */
export function openStatusStream(o: StatusStreamOptions): StatusStream {
  const { clock, response } = o;
  let ended = false;
  let lastSent = Number.NEGATIVE_INFINITY;
  let pending: TimerHandle | undefined;
  let keepalive: TimerHandle | undefined;
  let blocked = false; // the socket's buffer is full: wait for 'drain'
  let dirty = false; // a change arrived while blocked

  const write = (chunk: string): void => {
    if (ended) return;
    if (!response.write(chunk)) blocked = true;
  };

  const sendStatus = (): void => {
    if (ended) return;
    if (blocked) {
      dirty = true;
      return;
    }
    let json: string;
    try {
      json = JSON.stringify(o.control.status());
    } catch (error) {
      o.logger.warn(
        `management API: cannot read the status for an event stream: ${(error as Error).message}`,
      );
      return;
    }
    lastSent = clock.now();
    // JSON.stringify without indentation writes no line breaks: one data line
    write(`event: status\ndata: ${json}\n\n`);
  };

  const schedule = (): void => {
    if (ended || pending !== undefined) return;
    const wait = lastSent + o.coalesceMs - clock.now();
    const fire = () => {
      pending = undefined;
      sendStatus();
    };
    // even an immediate send waits for the current change to finish (and for changes made with it)
    pending = wait > 0 ? clock.setTimeout(fire, wait) : clock.setImmediate(fire);
  };

  const armKeepalive = (): void => {
    keepalive = clock.setTimeout(() => {
      keepalive = undefined;
      if (ended) return;
      if (!blocked) write(': keepalive\n\n');
      armKeepalive();
    }, o.keepaliveMs);
  };

  const unsubscribe = o.control.onChange(schedule);

  const end = (): void => {
    if (ended) return;
    ended = true;
    unsubscribe();
    if (pending !== undefined) clock.clearTimeout(pending);
    if (keepalive !== undefined) clock.clearTimeout(keepalive);
    pending = undefined;
    keepalive = undefined;
    response.off('drain', onDrain);
    o.onEnd();
  };
  const onDrain = (): void => {
    blocked = false;
    if (dirty) {
      dirty = false;
      schedule();
    }
  };

  response.on('drain', onDrain);
  response.once('close', end);
  response.once('error', end);

  sendStatus();
  armKeepalive();

  return {
    close() {
      if (ended) return;
      end();
      response.end();
    },
  };
}

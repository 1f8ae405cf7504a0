// The admin lock: one admin session attached to the cluster at a time (MWG: "Another tomcat is already
// attached to this cluster"). A lease travels between peers; each node times it out by its own clock.
import { describeValue } from '@proxyha/common';
import { CmError } from '../errors';
import { hlcReceive, hlcSend, isCanonicalUuid } from './hlc';
import type { AdminLease, LeaseHolder, LockMessage } from './messages';
import type { Hlc } from './types';
import { compareText } from './version';

/** The default of {@link AdminLockConfig.ttlMs}. */
export const DEFAULT_LEASE_TTL_MS = 30_000;

/** Configuration of an {@link AdminLock}. */
export interface AdminLockConfig {
  /** This node as a lease names it (with the address its GUI is reached at). */
  readonly self: LeaseHolder;
  /** A lease not renewed for this long expires (its holder died), ms; default 30000. Renew every third of it. */
  readonly ttlMs?: number;
}

/** An event of an {@link AdminLock}; `at` is the node's wall clock in ms. */
export type AdminLockEvent =
  | {
      /** An admin logs in here (or renews: the same session acquiring again renews). */
      readonly type: 'acquire';
      /** Wall ms. */
      readonly at: number;
      /** The session id. */
      readonly session: string;
    }
  | {
      /** The session's heartbeat (same as `acquire` with the same session). */
      readonly type: 'renew';
      /** Wall ms. */
      readonly at: number;
      /** The session id. */
      readonly session: string;
    }
  | {
      /** The admin logs out. */
      readonly type: 'release';
      /** Wall ms. */
      readonly at: number;
      /** The session id. */
      readonly session: string;
    }
  | {
      /** A lock message from a peer. */
      readonly type: 'received';
      /** Wall ms. */
      readonly at: number;
      /** The sender's uuid. */
      readonly from: string;
      /** The message. */
      readonly message: LockMessage;
    }
  | {
      /** A peer came up: it is told of a lease held here. */
      readonly type: 'peerUp';
      /** Wall ms. */
      readonly at: number;
      /** The peer's uuid. */
      readonly peer: string;
    }
  | {
      /** Time passes: leases not heard of within their ttl expire. */
      readonly type: 'tick';
      /** Wall ms. */
      readonly at: number;
    };

/** An action of an {@link AdminLock}. */
export type AdminLockAction =
  | {
      /** The session holds the lock (acquired or renewed). */
      readonly type: 'acquired';
      /** The lease. */
      readonly lease: AdminLease;
    }
  | {
      /** Refused: another session holds the lock; the driver throws `guiAttachError(self, holder)`. */
      readonly type: 'refused';
      /** The session refused. */
      readonly session: string;
      /** The lease in the way (its holder names the node and its address). */
      readonly holder: AdminLease;
    }
  | {
      /** This node's lease lost to a concurrent acquisition elsewhere: detach the session. */
      readonly type: 'lost';
      /** The lease lost. */
      readonly lease: AdminLease;
      /** The winning lease. */
      readonly winner: AdminLease;
    }
  | {
      /** A lease expired (not renewed within its ttl). */
      readonly type: 'expired';
      /** The lease. */
      readonly lease: AdminLease;
    }
  | {
      /** This node's lease was released. */
      readonly type: 'released';
      /** The lease. */
      readonly lease: AdminLease;
    }
  | {
      /** Send to every peer that is up. */
      readonly type: 'broadcast';
      /** The message. */
      readonly message: LockMessage;
    }
  | {
      /** Send to one peer. */
      readonly type: 'send';
      /** The peer's uuid. */
      readonly to: string;
      /** The message. */
      readonly message: LockMessage;
    };

/**
 * Orders concurrent leases: negative when `a` wins. The earliest acquisition stamp (wall, then logical)
 * wins, then the lower holder priority value, then the lower holder uuid, then the lower session id.
 *
 * @param a - a lease
 * @param b - another lease
 */
export function compareLeases(a: AdminLease, b: AdminLease): number {
  if (a.stamp.wall !== b.stamp.wall) return a.stamp.wall < b.stamp.wall ? -1 : 1;
  if (a.stamp.logical !== b.stamp.logical) return a.stamp.logical < b.stamp.logical ? -1 : 1;
  if (a.holder.priority !== b.holder.priority) return a.holder.priority < b.holder.priority ? -1 : 1;
  return compareText(a.holder.uuid, b.holder.uuid) || compareText(a.session, b.session);
}

/**
 * The error the driver throws when an admin cannot attach: `CM_GUI_ATTACH`, in MWG's words
 * (`STATUS_ERROR_GUI_ATTACH: could not attach to node A because there is already a session attached at
 * node B (name, address)`); `details` has `node`, `holder` and `address` (the redirect).
 *
 * @param node - this node (uuid and name)
 * @param holder - the lease in the way
 */
export function guiAttachError(
  node: { readonly uuid: string; readonly name: string },
  holder: AdminLease,
): CmError<{
  /** UUID of this node (where the admin tried to attach). */
  node: string;
  /** The node holding the lease. */
  holder: LeaseHolder;
  /** The holder's GUI address: where the admin should log on instead. */
  address: string;
  /** The session holding the lease. */
  session: string;
}> {
  const h = holder.holder;
  return new CmError(
    'CM_GUI_ATTACH',
    `STATUS_ERROR_GUI_ATTACH: could not attach to node ${node.uuid} (${node.name}) because there is already a session attached at node ${h.uuid} (${h.name}); please log on to ${h.address}`,
    { details: { node: node.uuid, holder: h, address: h.address, session: holder.session } },
  );
}

interface Held {
  lease: AdminLease;
  heardAt: number;
}

/**
 * The admin lock of one node: pure, events with their time in, actions out. One session in the cluster
 * holds the lease; acquiring on any node while a live lease is known fails naming its holder (`refused`;
 * the driver throws {@link guiAttachError}). The holder renews (every third of the ttl); a lease not heard
 * of within its ttl expires on every node (the holder died). Two acquisitions that cross (a partition,
 * simultaneous logins) are resolved by {@link compareLeases} wherever they meet: the loser gets `lost`.
 */
export class AdminLock {
  readonly #self: LeaseHolder;
  readonly #ttlMs: number;
  #own: Held | undefined;
  readonly #foreign = new Map<string, Held>();
  #hlc: Hlc | undefined;
  #now: number | undefined;
  #out: AdminLockAction[] = [];

  /**
   * @param config - this node and the lease ttl
   * @throws {@link CmError} `CM_INVALID_ARGUMENT` naming each bad path in `details.issues`
   */
  constructor(config: AdminLockConfig) {
    const issues: { path: string; message: string }[] = [];
    const s = config?.self as Partial<LeaseHolder> | undefined;
    if (!isCanonicalUuid(s?.uuid))
      issues.push({ path: 'self.uuid', message: `must be a canonical UUID (got ${describeValue(s?.uuid)})` });
    if (typeof s?.name !== 'string')
      issues.push({ path: 'self.name', message: `must be a text (got ${describeValue(s?.name)})` });
    if (typeof s?.address !== 'string')
      issues.push({ path: 'self.address', message: `must be a text (got ${describeValue(s?.address)})` });
    if (
      typeof s?.priority !== 'number' ||
      !Number.isInteger(s.priority) ||
      s.priority < 1 ||
      s.priority > 1000
    )
      issues.push({
        path: 'self.priority',
        message: `must be an integer 1..1000 (got ${describeValue(s?.priority)})`,
      });
    const ttl = config?.ttlMs;
    if (
      ttl !== undefined &&
      (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > 86_400_000)
    )
      issues.push({ path: 'ttlMs', message: `must be an integer 1..86400000 (got ${describeValue(ttl)})` });
    if (issues.length > 0) {
      throw new CmError(
        'CM_INVALID_ARGUMENT',
        `invalid admin lock configuration: ${issues[0]?.path}: ${issues[0]?.message}`,
        {
          details: { issues },
        },
      );
    }
    this.#self = config.self;
    this.#ttlMs = ttl ?? DEFAULT_LEASE_TTL_MS;
  }

  /** The lease held by this node, if any. */
  get own(): AdminLease | undefined {
    return this.#own?.lease;
  }

  /** The winning live lease known here (this node's or another's), if any, as of the latest event. */
  holder(): AdminLease | undefined {
    const all = [...this.#foreign.values()].map((h) => h.lease);
    if (this.#own !== undefined) all.push(this.#own.lease);
    return all.sort(compareLeases)[0];
  }

  /**
   * Handles one event and returns the actions, in order.
   *
   * @param event - the event, with the node's wall time
   * @throws {@link CmError} `CM_INVALID_ARGUMENT` for a non-finite `at` or an empty session id
   */
  step(event: AdminLockEvent): AdminLockAction[] {
    if (typeof event?.at !== 'number' || !Number.isFinite(event.at)) {
      throw new CmError(
        'CM_INVALID_ARGUMENT',
        `event time must be a finite number (got ${describeValue(event?.at)})`,
        {
          details: {
            issues: [{ path: 'at', message: `must be a finite number (got ${describeValue(event?.at)})` }],
          },
        },
      );
    }
    const now = this.#now === undefined ? event.at : Math.max(this.#now, event.at);
    this.#now = now;
    this.#out = [];
    this.#expire(now);
    switch (event.type) {
      case 'acquire':
      case 'renew':
        this.#acquire(event.session, event.at, now);
        break;
      case 'release':
        if (this.#own !== undefined && this.#own.lease.session === event.session) {
          const lease = this.#own.lease;
          this.#own = undefined;
          this.#out.push(
            { type: 'released', lease },
            { type: 'broadcast', message: { type: 'leaseRelease', lease } },
          );
        }
        break;
      case 'received':
        this.#received(event.from, event.message, event.at, now);
        break;
      case 'peerUp':
        if (this.#own !== undefined)
          this.#out.push({
            type: 'send',
            to: event.peer,
            message: { type: 'lease', lease: this.#own.lease },
          });
        break;
      case 'tick':
        break;
    }
    const out = this.#out;
    this.#out = [];
    return out;
  }

  #acquire(session: string, wall: number, now: number): void {
    if (typeof session !== 'string' || session === '' || session.length > 256) {
      throw new CmError(
        'CM_INVALID_ARGUMENT',
        `session must be a text of 1..256 characters (got ${describeValue(session)})`,
        {
          details: {
            issues: [
              {
                path: 'session',
                message: `must be a text of 1..256 characters (got ${describeValue(session)})`,
              },
            ],
          },
        },
      );
    }
    const foreign = [...this.#foreign.values()].map((h) => h.lease).sort(compareLeases)[0];
    if (this.#own !== undefined) {
      if (this.#own.lease.session !== session) {
        this.#out.push({ type: 'refused', session, holder: this.#own.lease });
        return;
      }
      const lease: AdminLease = { ...this.#own.lease, renewal: this.#own.lease.renewal + 1 };
      this.#own = { lease, heardAt: now };
      this.#out.push({ type: 'acquired', lease }, { type: 'broadcast', message: { type: 'lease', lease } });
      return;
    }
    if (foreign !== undefined) {
      this.#out.push({ type: 'refused', session, holder: foreign });
      return;
    }
    const stamp = hlcSend(this.#hlc, wall, this.#self.uuid);
    this.#hlc = stamp;
    const lease: AdminLease = { holder: this.#self, session, stamp, ttlMs: this.#ttlMs, renewal: 0 };
    this.#own = { lease, heardAt: now };
    this.#out.push({ type: 'acquired', lease }, { type: 'broadcast', message: { type: 'lease', lease } });
  }

  #received(from: string, message: LockMessage, wall: number, now: number): void {
    const lease = message.lease;
    if (lease.holder.uuid === this.#self.uuid) return; // our own lease echoed back
    this.#hlc = hlcReceive(this.#hlc, lease.stamp, wall, this.#self.uuid);
    const known = this.#foreign.get(lease.holder.uuid);
    const same =
      known !== undefined &&
      known.lease.session === lease.session &&
      known.lease.stamp.wall === lease.stamp.wall &&
      known.lease.stamp.logical === lease.stamp.logical;
    if (message.type === 'leaseRelease') {
      if (same) this.#foreign.delete(lease.holder.uuid);
      return;
    }
    if (!same || lease.renewal >= (known?.lease.renewal ?? 0))
      this.#foreign.set(lease.holder.uuid, { lease, heardAt: now });
    if (this.#own === undefined) return;
    if (compareLeases(lease, this.#own.lease) < 0) {
      const lost = this.#own.lease;
      this.#own = undefined;
      this.#out.push({ type: 'lost', lease: lost, winner: lease });
    } else {
      this.#out.push({ type: 'send', to: from, message: { type: 'lease', lease: this.#own.lease } });
    }
  }

  #expire(now: number): void {
    for (const [uuid, h] of [...this.#foreign].sort((a, b) => compareText(a[0], b[0]))) {
      if (now - h.heardAt >= Math.min(h.lease.ttlMs, this.#ttlMs * 10)) {
        this.#foreign.delete(uuid);
        this.#out.push({ type: 'expired', lease: h.lease });
      }
    }
    if (this.#own !== undefined && now - this.#own.heardAt >= this.#ttlMs) {
      const lease = this.#own.lease;
      this.#own = undefined;
      this.#out.push(
        { type: 'expired', lease },
        { type: 'broadcast', message: { type: 'leaseRelease', lease } },
      );
    }
  }
}

// keepalived's vrrp_sync_group as a pure coordinator over several machines.
import { VrrpError } from '../codec/errors';
import type { VrrpMachine } from './machine';
import type { MachineAction, MachineEvent, TransitionAction } from './types';

/** An action of one member of a {@link SyncGroup}, tagged with the member's instance name. */
export interface SyncGroupAction {
  /** The member's instance name (its `MachineConfig.name`). */
  readonly instance: string;
  /** What that member asks its driver to do. */
  readonly action: MachineAction;
}

/**
 * Makes several instances change state together, as keepalived's `vrrp_sync_group` does: when one
 * member becomes Master (on its own: timeout, preemption, address owner) the others in Backup follow;
 * when one Master steps down to Backup the other Masters follow; when one enters Fault all enter
 * Fault, and they leave it together once no member has a fault of its own.
 *
 * Pure like the machines: route every event for a member through {@link SyncGroup.handle}, and carry
 * out the returned actions of each member. Forced moves carry the reason `syncGroup` and do not
 * propagate further. As in keepalived, members whose peers disagree about the Master can be pulled
 * back and forth; keep members of one group on the same set of routers.
 */
export class SyncGroup {
  readonly #name: string;
  readonly #members = new Map<string, VrrpMachine>();

  /**
   * @param name - group name, for log lines
   * @param members - the machines; their instance names must be unique
   * @throws {@link VrrpError} `VRRP_INVALID_SYNC_GROUP` for duplicate names or fewer than two members
   */
  constructor(name: string, members: readonly VrrpMachine[]) {
    this.#name = name;
    for (const m of members) {
      if (this.#members.has(m.name)) {
        throw new VrrpError('VRRP_INVALID_SYNC_GROUP', `sync group ${name}: duplicate member ${m.name}`);
      }
      this.#members.set(m.name, m);
    }
    if (this.#members.size < 2) {
      throw new VrrpError('VRRP_INVALID_SYNC_GROUP', `sync group ${name}: needs at least two members`);
    }
  }

  /** The group name. */
  get name(): string {
    return this.#name;
  }

  /** The member instance names, in the order given. */
  get instances(): readonly string[] {
    return [...this.#members.keys()];
  }

  /** A member by instance name. */
  member(instance: string): VrrpMachine {
    const m = this.#members.get(instance);
    if (m === undefined) {
      throw new VrrpError('VRRP_INVALID_SYNC_GROUP', `sync group ${this.#name}: no member ${instance}`);
    }
    return m;
  }

  /**
   * Delivers an event to one member, then brings the other members along. Returns every member's
   * actions in the order they happened.
   *
   * @param instance - the member's instance name
   * @param event - the event for it
   * @throws {@link VrrpError} `VRRP_INVALID_SYNC_GROUP` for an unknown member
   */
  handle(instance: string, event: MachineEvent): SyncGroupAction[] {
    const out: SyncGroupAction[] = [];
    const first = this.member(instance).handle(event);
    for (const action of first) out.push({ instance, action });
    const own = first.filter(
      (a): a is TransitionAction => a.type === 'transition' && a.reason !== 'syncGroup',
    );
    for (const t of own) this.#propagate(instance, t, event.at, out);
    this.#syncFaults(event.at, out);
    return out;
  }

  /**
   * Brings the members' group-imposed Fault in line with the members' own faults now, without an event
   * for any of them: call it after building a group over machines that already run (a daemon's reload
   * that formed or changed the group). Returns the members' actions, as {@link SyncGroup.handle} does.
   *
   * @param at - the time, in milliseconds
   */
  resync(at: number): SyncGroupAction[] {
    const out: SyncGroupAction[] = [];
    this.#syncFaults(at, out);
    return out;
  }

  #propagate(source: string, t: TransitionAction, at: number, out: SyncGroupAction[]): void {
    if (t.to === 'master') {
      for (const [name, m] of this.#members) if (name !== source) this.#push(name, m, 'master', at, out);
    } else if (t.to === 'backup' && t.from === 'master') {
      for (const [name, m] of this.#members) if (name !== source) this.#push(name, m, 'backup', at, out);
    }
  }

  /** Level-triggered: a member is held in Fault exactly while another running member has a fault of its own. */
  #syncFaults(at: number, out: SyncGroupAction[]): void {
    const own = new Map<string, boolean>();
    for (const [name, m] of this.#members) {
      own.set(name, m.state !== 'initialize' && m.snapshot().faultReasons.some((r) => r !== 'syncGroup'));
    }
    for (const [name, m] of this.#members) {
      const wanted = [...own].some(([other, f]) => other !== name && f);
      const held = m.snapshot().faultReasons.includes('syncGroup');
      if (wanted !== held) this.#push(name, m, wanted ? 'fault' : 'faultCleared', at, out);
    }
  }

  #push(
    name: string,
    m: VrrpMachine,
    to: 'master' | 'backup' | 'fault' | 'faultCleared',
    at: number,
    out: SyncGroupAction[],
  ): void {
    for (const action of m.handle({ type: 'syncGroup', at, group: this.#name, to }))
      out.push({ instance: name, action });
  }
}

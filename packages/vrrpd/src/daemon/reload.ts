// The pure half of a reload (SIGHUP): what differs between the running configuration and a new one,
// and what the daemon does about it per instance, tracker, sync group and process setting. No I/O here;
// VrrpDaemon.reload carries the plan out.
import { isDeepStrictEqual } from 'node:util';
import { type ConfigIssue, err, ok, parseCidr, type Result } from '@proxyha/common';
import { describeAuthHmacChange } from '../config/auth-hmac';
import type {
  TrackFileConfig,
  TrackInterfaceConfig,
  TrackScriptConfig,
  VrrpDaemonConfig,
  VrrpInstanceConfig,
} from '../config/config';

/** An instance that a reload stops (as on SIGTERM) and starts again, and why. */
export interface InstanceRestart {
  /** Instance name. */
  readonly name: string;
  /** The changes that need it, e.g. `interface eth0 -> eth1`. */
  readonly reasons: readonly string[];
}

/** The trackers of an instance that a reload starts, stops or replaces (`script:chk`, `file:prio`, `interface:eth1`). */
export interface TrackerChanges {
  /** New trackers: started. */
  readonly added: readonly string[];
  /** Trackers no longer configured: stopped. */
  readonly removed: readonly string[];
  /** Track scripts and files with another command, interval, rise, fall or path: stopped and started again. */
  readonly replaced: readonly string[];
  /** Of those, the ones whose state starts afresh (track scripts: their runs restart from up). */
  readonly reset: readonly string[];
}

/** An instance that a reload changes in place: its state, timers and VIPs stay. */
export interface InstanceUpdate {
  /** Instance name. */
  readonly name: string;
  /** What changed, for the log: `priority 100 -> 90`, `virtualIps +192.168.77.75/24`. */
  readonly changes: readonly string[];
  /** Settings of the VRRP machine changed (priority, VIPs, timers, peers, trackers ...): it is reconfigured. */
  readonly machine: boolean;
  /** Tracker runners to start, stop and replace. */
  readonly trackers: TrackerChanges;
}

/** What a reload does, from comparing the running configuration with the new one (instances by name). */
export interface ReloadPlan {
  /** Instances only in the new configuration: started. */
  readonly added: readonly string[];
  /** Instances only in the running configuration: stopped as on SIGTERM (priority 0, VIPs removed). */
  readonly removed: readonly string[];
  /** Instances whose interface, VRID, version, address family, source address or VMAC changed: restarted. */
  readonly restarted: readonly InstanceRestart[];
  /** Instances changed in place. */
  readonly changed: readonly InstanceUpdate[];
  /** Instances whose settings are all the same: untouched. */
  readonly unchanged: readonly string[];
  /** Sync groups formed again (new, changed, or with a restarted member), and the ones removed. */
  readonly syncGroups: {
    /** Sync groups built again (new, or their members changed). */
    readonly rebuilt: readonly string[];
    /** Sync groups that are gone. */
    readonly removed: readonly string[];
  };
  /** Process settings that changed (`realtimePriority`, `nice`): the command line applies them again. */
  readonly process: readonly string[];
  /** Every change in words, in the order of the summary line (`instance VI_2 added`, `VI_1 priority 100 -> 90`). */
  readonly changes: readonly string[];
  /** Changes that take effect only partly until proxyha-vrrpd restarts (logged as warnings). */
  readonly notes: readonly string[];
}

/** The summary of a plan, as logged after `Reloading: `. */
export function describeReloadPlan(plan: Pick<ReloadPlan, 'changes'>): string {
  return plan.changes.length === 0 ? 'no change' : plan.changes.join(', ');
}

// Any other top-level setting (`transport`, `strict`, `loopback`) is set up once, at start: a reload
// that changes it is refused (keepalived refuses some changes too); the process must restart.
/** Top-level settings handled below. */
const HANDLED_GLOBAL = new Set(['instances', 'syncGroups', 'realtimePriority', 'nice']);
/** Top-level settings read when used (notify scripts and FIFO): taking the new configuration applies them. */
const LIVE_GLOBAL = new Set(['scriptUser']);

/** Instance settings whose change makes it another instance on the wire or on the host: restart. */
const RESTART_KEYS = new Set(['interface', 'vrid', 'version', 'sourceAddress', 'checksum', 'vmac']);
/** Instance settings of the VRRP machine, applied in place. */
const MACHINE_KEYS = new Set([
  'priority',
  'advertInterval',
  'virtualIps',
  'preempt',
  'preemptDelay',
  'unicastPeers',
  'accept',
  'lowerPriorityResponse',
  'authPassword',
  'trackScripts',
  'trackFiles',
  'trackInterfaces',
]);
/** Instance settings the daemon reads when it uses them (`garp`, `higherPrioritySendAdvert`, notify scripts). */
const WIRING_KEYS = new Set(['garp', 'higherPrioritySendAdvert']);
/** Durations in milliseconds, shown with their unit. */
const DURATIONS = new Set(['advertInterval', 'preemptDelay']);

/** Read when used (the notify hooks): a new value simply applies. */
const isNotifyKey = (key: string) => /^notify/.test(key);

/**
 * Compares the running configuration with a new one (both validated).
 *
 * @returns the plan, or the issues that refuse the reload (a setting that needs a restart of the process)
 */
export function planReload(
  running: VrrpDaemonConfig,
  next: VrrpDaemonConfig,
): Result<ReloadPlan, readonly ConfigIssue[]> {
  const refused: ConfigIssue[] = [];
  const changes: string[] = [];
  const notes: string[] = [];
  const process: string[] = [];
  const before = running as unknown as Record<string, unknown>;
  const after = next as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (HANDLED_GLOBAL.has(key)) continue;
    const [was, now] = [before[key], after[key]];
    if (isDeepStrictEqual(was, now)) continue;
    if (isNotifyKey(key) || LIVE_GLOBAL.has(key)) changes.push(`${key} changed`);
    else
      refused.push({
        path: key,
        message: `cannot change on a reload (${show(key, was)} -> ${show(key, now)}): restart proxyha-vrrpd`,
      });
  }
  if (refused.length > 0) return err(refused);
  for (const key of ['realtimePriority', 'nice'] as const) if (running[key] !== next[key]) process.push(key);

  const old = new Map(running.instances.map((i) => [i.name, i]));
  const fresh = new Map(next.instances.map((i) => [i.name, i]));
  const added = next.instances.filter((i) => !old.has(i.name)).map((i) => i.name);
  const removed = running.instances.filter((i) => !fresh.has(i.name)).map((i) => i.name);
  const restarted: InstanceRestart[] = [];
  const changed: InstanceUpdate[] = [];
  const unchanged: string[] = [];
  for (const inst of next.instances) {
    const was = old.get(inst.name);
    if (!was) continue;
    const diff = diffInstance(was, inst, next.strict);
    if (diff.restart.length > 0) restarted.push({ name: inst.name, reasons: diff.restart });
    else if (diff.changes.length > 0)
      changed.push({
        name: inst.name,
        changes: diff.changes,
        machine: diff.machine,
        trackers: diff.trackers,
      });
    else unchanged.push(inst.name);
    notes.push(...diff.notes.map((n) => `(${inst.name}) ${n}`));
  }

  for (const name of added) changes.push(`instance ${name} added`);
  for (const name of removed) changes.push(`instance ${name} removed`);
  for (const r of restarted) changes.push(`instance ${r.name} restarted (${r.reasons.join(', ')})`);
  for (const c of changed) changes.push(...c.changes.map((line) => `${c.name} ${line}`));

  const oldGroups = new Map(running.syncGroups.map((g) => [g.name, g.instances]));
  const newGroups = new Map(next.syncGroups.map((g) => [g.name, g.instances]));
  const restartedNames = new Set(restarted.map((r) => r.name));
  const rebuilt: string[] = [];
  for (const [name, members] of newGroups) {
    const before = oldGroups.get(name);
    if (!before) changes.push(`sync group ${name} added`);
    else if (!isDeepStrictEqual(before, members))
      changes.push(`sync group ${name} members ${before.join(',')} -> ${members.join(',')}`);
    else if (!isDeepStrictEqual(groupSettings(running, name), groupSettings(next, name)))
      changes.push(`sync group ${name} settings changed`); // its notify scripts: read when used
    if (!before || !isDeepStrictEqual(before, members) || members.some((m) => restartedNames.has(m)))
      rebuilt.push(name);
  }
  const removedGroups = [...oldGroups.keys()].filter((n) => !newGroups.has(n));
  for (const name of removedGroups) changes.push(`sync group ${name} removed`);
  for (const key of process) changes.push(`${key} ${show(key, before[key])} -> ${show(key, after[key])}`);

  return ok({
    added,
    removed,
    restarted,
    changed,
    unchanged,
    syncGroups: { rebuilt, removed: removedGroups },
    process,
    changes,
    notes,
  });
}

interface InstanceDiff {
  restart: string[];
  changes: string[];
  machine: boolean;
  trackers: TrackerChanges;
  notes: string[];
}

function diffInstance(was: VrrpInstanceConfig, now: VrrpInstanceConfig, strict: boolean): InstanceDiff {
  const out: InstanceDiff = {
    restart: [],
    changes: [],
    machine: false,
    trackers: { added: [], removed: [], replaced: [], reset: [] },
    notes: [],
  };
  const a = was as unknown as Record<string, unknown>;
  const b = now as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (key === 'name' || isDeepStrictEqual(a[key], b[key])) continue;
    const change = `${key} ${show(key, a[key])} -> ${show(key, b[key])}`;
    if (RESTART_KEYS.has(key)) out.restart.push(change);
    else if (key === 'virtualIps') {
      const [from, to] = [familyOf(was.virtualIps), familyOf(now.virtualIps)];
      if (from !== to) out.restart.push(`address family ${from} -> ${to}`);
      else out.changes.push(`virtualIps ${listDiff(was.virtualIps, now.virtualIps)}`);
    } else if (
      key === 'unicastPeers' &&
      (was.unicastPeers.length === 0) !== (now.unicastPeers.length === 0)
    ) {
      // the socket joins the multicast group or not
      out.restart.push(
        now.unicastPeers.length === 0 ? 'unicastPeers removed (multicast)' : 'unicastPeers set (unicast)',
      );
    } else if (key === 'unicastPeers')
      out.changes.push(`unicastPeers ${listDiff(was.unicastPeers, now.unicastPeers)}`);
    else if (
      strict &&
      (key === 'accept' || (key === 'priority' && (was.priority === 255) !== (now.priority === 255)))
    ) {
      // with vrrp_strict the Accept_Mode filter is set when the VIPs are added: a Master must take them again
      out.restart.push(`${change} (strict: Accept_Mode changes)`);
    } else if (key === 'authPassword')
      out.changes.push('authPassword changed'); // never shown
    // applied in place (keys, active key, mode): never shown, the keys are secrets
    else if (key === 'authHmac') out.changes.push(describeAuthHmacChange(was.authHmac, now.authHmac));
    else if (key === 'trackScripts' || key === 'trackFiles' || key === 'trackInterfaces') {
      out.changes.push(...diffTrackers(key, was, now, out.trackers));
    } else if (MACHINE_KEYS.has(key)) out.changes.push(change);
    else if (WIRING_KEYS.has(key) || isNotifyKey(key)) {
      out.changes.push(typeof b[key] === 'object' || typeof a[key] === 'object' ? `${key} changed` : change);
      if (
        key === 'garp' &&
        (was.garp?.interval !== now.garp?.interval || was.garp?.naInterval !== now.garp?.naInterval)
      )
        out.notes.push(
          'garp.interval and garp.naInterval (per-interface rate limits) apply after a restart of proxyha-vrrpd',
        );
    }
    // a setting this version does not know how to apply in place: the safe way is a restart
    else out.restart.push(`${key} changed`);
    if (MACHINE_KEYS.has(key)) out.machine = true;
  }
  return out;
}

type TrackerKey = 'trackScripts' | 'trackFiles' | 'trackInterfaces';

/** Tracker name as the machine knows it, and the part of its definition besides the weight. */
function trackerEntries(
  key: TrackerKey,
  inst: VrrpInstanceConfig,
): Map<string, { weight: number; source: unknown }> {
  const out = new Map<string, { weight: number; source: unknown }>();
  if (key === 'trackScripts')
    for (const s of inst.trackScripts as readonly TrackScriptConfig[]) {
      const { weight, name: _name, ...source } = s;
      out.set(`script:${s.name}`, { weight, source });
    }
  else if (key === 'trackFiles')
    for (const f of inst.trackFiles as readonly TrackFileConfig[])
      out.set(`file:${f.name ?? f.path}`, { weight: f.weight, source: f.path });
  else
    for (const t of inst.trackInterfaces as readonly TrackInterfaceConfig[])
      out.set(`interface:${t.name}`, { weight: t.weight, source: t.name });
  return out;
}

function diffTrackers(
  key: TrackerKey,
  was: VrrpInstanceConfig,
  now: VrrpInstanceConfig,
  into: TrackerChanges,
): string[] {
  const lines: string[] = [];
  const before = trackerEntries(key, was);
  const after = trackerEntries(key, now);
  const t = into as { added: string[]; removed: string[]; replaced: string[]; reset: string[] };
  for (const [name, e] of after) {
    const old = before.get(name);
    if (!old) {
      t.added.push(name);
      lines.push(`tracker ${name} added`);
      continue;
    }
    if (!isDeepStrictEqual(old.source, e.source)) {
      t.replaced.push(name);
      if (key === 'trackScripts') t.reset.push(name);
      lines.push(`tracker ${name} replaced`);
    }
    if (old.weight !== e.weight) lines.push(`tracker ${name} weight ${old.weight} -> ${e.weight}`);
  }
  for (const name of before.keys())
    if (!after.has(name)) {
      t.removed.push(name);
      lines.push(`tracker ${name} removed`);
    }
  return lines;
}

/** A sync group's settings besides its members. */
function groupSettings(config: VrrpDaemonConfig, name: string): unknown {
  const g = config.syncGroups.find((x) => x.name === name);
  if (!g) return undefined;
  const { instances: _members, ...rest } = g;
  return rest;
}

function familyOf(vips: readonly string[]): string {
  return parseCidr(vips[0])?.family ?? 'ipv4';
}

/** `+added -removed`, in configuration order. */
function listDiff(was: readonly string[], now: readonly string[]): string {
  const plus = now.filter((v) => !was.includes(v)).map((v) => `+${v}`);
  const minus = was.filter((v) => !now.includes(v)).map((v) => `-${v}`);
  const parts = [...plus, ...minus];
  return parts.length > 0 ? parts.join(' ') : `order ${now.join(',')}`;
}

function show(key: string, value: unknown): string {
  if (value === undefined) return 'unset';
  if (DURATIONS.has(key) && typeof value === 'number') return `${value}ms`;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

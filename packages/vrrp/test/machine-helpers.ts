// Shared fixtures for the state machine, RFC and simulation tests.
import { expect } from 'vitest';
import {
  type AdvertEvent,
  type MachineAction,
  type MachineConfig,
  masterDownIntervalMs,
  VrrpMachine,
} from '../src/index';

/** A v3 instance on 192.168.77.11, priority 100, 1 s adverts, one VIP. */
export function cfg(over: Partial<MachineConfig> = {}): MachineConfig {
  return {
    name: 'VI_1',
    vrid: 51,
    version: 3,
    priority: 100,
    advertIntervalMs: 1000,
    primaryAddress: '192.168.77.11',
    virtualIps: ['192.168.77.74/24'],
    ...over,
  };
}

/** The same as a v2 instance. */
export function cfg2(over: Partial<MachineConfig> = {}): MachineConfig {
  return cfg({ version: 2, ...over });
}

/** An advert from 192.168.77.12 with priority 100, matching {@link cfg}. */
export function adv(at: number, over: Partial<Omit<AdvertEvent, 'type' | 'at'>> = {}): AdvertEvent {
  return {
    type: 'advert',
    at,
    from: '192.168.77.12',
    version: 3,
    vrid: 51,
    priority: 100,
    maxAdvertIntervalCs: 100,
    addresses: ['192.168.77.74'],
    ttl: 255,
    ...over,
  };
}

/** Action types in order. */
export function kinds(actions: readonly MachineAction[]): string[] {
  return actions.map((a) => a.type);
}

/** The first action of a type (fails the test if none). */
export function first<T extends MachineAction['type']>(
  actions: readonly MachineAction[],
  type: T,
): Extract<MachineAction, { type: T }> {
  const a = actions.find((x) => x.type === type);
  expect(a, `expected a ${type} action in ${kinds(actions).join(',')}`).toBeDefined();
  return a as Extract<MachineAction, { type: T }>;
}

/** All actions of a type. */
export function all<T extends MachineAction['type']>(
  actions: readonly MachineAction[],
  type: T,
): Extract<MachineAction, { type: T }>[] {
  return actions.filter((a) => a.type === type) as Extract<MachineAction, { type: T }>[];
}

/** Log messages in order. */
export function logs(actions: readonly MachineAction[]): string[] {
  return all(actions, 'log').map((l) => l.message);
}

/** A machine started at t=0 (Backup unless owner). */
export function started(config: MachineConfig = cfg()): { m: VrrpMachine; actions: MachineAction[] } {
  const m = new VrrpMachine(config);
  const actions = m.handle({ type: 'startup', at: 0 });
  return { m, actions };
}

/** A machine that became Master at its first Master_Down_Timer expiry. Returns the time it did. */
export function asMaster(config: MachineConfig = cfg()): {
  m: VrrpMachine;
  at: number;
  actions: MachineAction[];
} {
  const { m } = started(config);
  const at = m.snapshot().timers.masterDown as number;
  const actions = m.handle({ type: 'timer', timer: 'masterDown', at });
  expect(m.state).toBe('master');
  return { m, at, actions };
}

/** Master_Down_Interval of a v3 instance. */
export function mdi(priority: number, intervalMs = 1000, version: 2 | 3 = 3): number {
  return masterDownIntervalMs(version, priority, intervalMs);
}

// SyncGroup: instances that change state together (keepalived's vrrp_sync_group).
import { describe, expect, it } from 'vitest';
import { SyncGroup, type SyncGroupAction, VrrpError, VrrpMachine } from '../src/index';
import { adv, cfg, mdi } from './machine-helpers';

function pair() {
  const ext = new VrrpMachine(cfg({ name: 'VI_EXT', vrid: 51 }));
  const int = new VrrpMachine(
    cfg({
      name: 'VI_INT',
      vrid: 52,
      primaryAddress: '10.1.0.11',
      virtualIps: ['10.1.0.1/24'],
      priority: 100,
    }),
  );
  const group = new SyncGroup('G1', [ext, int]);
  return { ext, int, group };
}

const transitions = (out: readonly SyncGroupAction[]) =>
  out.flatMap((x) =>
    x.action.type === 'transition' ? [[x.instance, x.action.from, x.action.to, x.action.reason]] : [],
  );

describe('SyncGroup', () => {
  it('members that time out together; the first to become Master pulls the other along', () => {
    const { ext, int, group } = pair();
    group.handle('VI_EXT', { type: 'startup', at: 0 });
    group.handle('VI_INT', { type: 'startup', at: 0 });
    // VI_INT still hears its Master; VI_EXT's Master is gone.
    group.handle('VI_INT', {
      ...adv(2000, { from: '10.1.0.12', addresses: ['10.1.0.1'], vrid: 52, priority: 150 }),
    });
    const out = group.handle('VI_EXT', { type: 'timer', timer: 'masterDown', at: mdi(100) });
    expect(transitions(out)).toEqual([
      ['VI_EXT', 'backup', 'master', 'masterDown'],
      ['VI_INT', 'backup', 'master', 'syncGroup'],
    ]);
    expect(out.some((x) => x.instance === 'VI_INT' && x.action.type === 'addVips')).toBe(true);
    expect([ext.state, int.state]).toEqual(['master', 'master']);
  });

  it('a Master that steps down takes the other Masters to Backup', () => {
    const { ext, int, group } = pair();
    group.handle('VI_EXT', { type: 'startup', at: 0 });
    group.handle('VI_INT', { type: 'startup', at: 0 });
    group.handle('VI_EXT', { type: 'timer', timer: 'masterDown', at: mdi(100) });
    const out = group.handle('VI_EXT', adv(5000, { priority: 200 }));
    expect(transitions(out)).toEqual([
      ['VI_EXT', 'master', 'backup', 'higherPriority'],
      ['VI_INT', 'master', 'backup', 'syncGroup'],
    ]);
    expect(int.snapshot().vipsHeld).toBe(false);
    expect(ext.state).toBe('backup');
  });

  it('one member in Fault holds all in Fault until no member has a fault of its own', () => {
    const { ext, int, group } = pair();
    group.handle('VI_EXT', { type: 'startup', at: 0 });
    group.handle('VI_INT', { type: 'startup', at: 0 });
    let out = group.handle('VI_EXT', { type: 'interfaceDown', at: 100 });
    expect(transitions(out)).toEqual([
      ['VI_EXT', 'backup', 'fault', 'interfaceDown'],
      ['VI_INT', 'backup', 'fault', 'syncGroup'],
    ]);
    // the other member gets a fault of its own too; the first recovers: both stay in Fault
    group.handle('VI_INT', { type: 'interfaceDown', at: 200 });
    out = group.handle('VI_EXT', { type: 'interfaceUp', at: 300 });
    expect(transitions(out)).toEqual([]);
    expect([ext.state, int.state]).toEqual(['fault', 'fault']);
    out = group.handle('VI_INT', { type: 'interfaceUp', at: 400 });
    expect(transitions(out)).toEqual([
      ['VI_INT', 'fault', 'backup', 'faultCleared'],
      ['VI_EXT', 'fault', 'backup', 'faultCleared'],
    ]);
  });

  it('refuses duplicate or unknown members', () => {
    const a = new VrrpMachine(cfg());
    const b = new VrrpMachine(cfg());
    expect(() => new SyncGroup('G', [a, b])).toThrow(VrrpError);
    expect(() => new SyncGroup('G', [a])).toThrow(/at least two/);
    const { group } = pair();
    expect(() => group.handle('VI_X', { type: 'startup', at: 0 })).toThrow(
      expect.objectContaining({ code: 'VRRP_INVALID_SYNC_GROUP' }),
    );
    expect(group.instances).toEqual(['VI_EXT', 'VI_INT']);
  });
});

// The relay's engine option where netio's native relay engine is NOT available (netio mocked as a build
// without it): `auto` falls back to node:net and still relays; `native` is refused with the reason.
import { vi } from 'vitest';

vi.mock('@proxyha/netio', async (importOriginal) => ({
  ...(await importOriginal<typeof import('@proxyha/netio')>()),
  tcpRelayEngineStatus: () => ({ available: false, reason: 'a test build without the relay engine' }),
}));

import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayDataPlane } from '../src/dataplane/index';
import { LbError } from '../src/errors';
import {
  closeLab,
  exchange,
  loopbackLab,
  makeTable,
  settingsOf,
  startNode,
  type TestNode,
  updateOf,
} from './relay-harness';

const nodes: TestNode[] = [];
const relays: RelayDataPlane[] = [];
const sockets: Socket[] = [];
afterEach(() => closeLab({ sockets, relays, nodes }));

describe('RelayDataPlane without the native engine', () => {
  it('auto (the default) falls back to node:net and relays', async () => {
    const { prefix, vip, vport, dport } = await loopbackLab();
    nodes.push(await startNode('node-a', `${prefix}.11`, dport));
    const r = new RelayDataPlane(settingsOf(vip, vport, dport));
    relays.push(r);
    expect(r.engine).toBe('node');
    await r.apply(
      updateOf(
        makeTable(['node-a'], () => 0),
        [{ id: 'node-a', host: `${prefix}.11` }],
      ),
    );
    await r.start();
    expect(await exchange(vip, vport, `${prefix}.100`, 'hi')).toBe('node-a:hi');
    expect(r.stats()).toMatchObject({ engine: 'node', accepted: 1, failed: 0 });
  });

  it('refuses engine: native with LB_INVALID_ARGUMENT and the reason', () => {
    let error: unknown;
    try {
      new RelayDataPlane(settingsOf('127.0.0.1', 1, 2), { engine: 'native' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LbError);
    expect((error as LbError).code).toBe('LB_INVALID_ARGUMENT');
    expect((error as LbError).message).toMatch(
      /engine: native: the @proxyha\/netio relay engine is not available here \(a test build without the relay engine\); use auto or node/,
    );
  });
});

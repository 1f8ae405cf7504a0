// Authenticated groups on a namespace bridge: a (director by hand) and b share a key; node x, on the
// same LAN without the daemon, forges: a report signed with a wrong key (for a new node and for b), a
// report without authentication, a correctly signed report of another group, and an exact replay of a
// report b really sent. None of it changes what a knows; each is counted by its reason.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describeNet, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../src/codec/index';
import type { LoadReport } from '../src/codec/types';
import { lbStatus, pcapPayloads, sendRaw, startLb, startProxy, until, vip } from './lb-lab';

const KEY1 = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const WRONG = 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100';

describeNet('proxyha-lb with authentication: forged and replayed messages change nothing', () => {
  it('counts and ignores a wrong key, a missing trailer, another group and a replay', async () => {
    await withLab({ nodes: ['a', 'b', 'x'], ipv6: false }, async (lab) => {
      const ipA = lab.node('a').ipv4;
      const ipB = lab.node('b').ipv4;
      startProxy(lab, 'a');
      startProxy(lab, 'b');
      const cap = await lab.capture('bridge', 'ip proto 253');
      const keys = `1 hex:${KEY1}\n`;
      const a = await startLb(lab, 'a', { keys, intervalMs: 300 });
      const b = await startLb(lab, 'b', { keys, intervalMs: 300 });
      await vip(lab, 'a', 'add');
      await until(
        'a lists a and b, healthy',
        async () => {
          const s = await lbStatus(lab, 'a', a);
          return s.nodes.length === 2 && s.nodes.every((n) => n.health === 'ok');
        },
        15_000,
      );
      const before = await lbStatus(lab, 'a', a);
      const nodeB = before.nodes.find((n) => n.address === ipB);
      if (!nodeB) throw new Error('b is not listed');

      // a genuine report of b from the wire, to replay byte for byte later
      await cap.stop();
      const genuine = pcapPayloads(await readFile(cap.file)).filter(
        (p) => p.source === ipB && p.destination === ipA,
      );
      expect(genuine.length).toBeGreaterThan(0);
      const replay = genuine[0]?.payload as Buffer;
      const decoded = decodeMessage(replay);
      if (!decoded.ok || decoded.value.type !== 'report') throw new Error('no report of b captured');
      const real = decoded.value;

      const now = Date.now();
      const forged = (over: Partial<LoadReport>): LoadReport => ({
        ...real,
        timestamp: now,
        sequence: real.sequence + 1000,
        health: { status: 'failure', failingPorts: [9090] },
        ...over,
      });
      const key = (hex: string) => ({ id: 1, secret: Buffer.from(hex, 'hex') });
      const intruder = randomUUID();
      await sendRaw(lab, 'x', ipA, [
        // a wrong key: b "fails", and a new node "joins"
        encodeMessage(forged({}), { key: key(WRONG) }),
        encodeMessage(forged({ nodeId: intruder, name: 'intruder', address: lab.node('x').ipv4 }), {
          key: key(WRONG),
        }),
        // no authentication at all
        encodeMessage(forged({ nodeId: intruder, name: 'intruder', address: lab.node('x').ipv4 })),
        // the right key, another group
        encodeMessage(forged({ group: 52 }), { key: key(KEY1) }),
        // b's own report, byte for byte, a second time
        replay,
      ]);
      await until(
        'a counts every forgery',
        async () => {
          const s = await lbStatus(lab, 'a', a);
          const r = s.counters.rejected;
          return (
            (r.LB_AUTH_BAD_MAC ?? 0) >= 2 &&
            (r.LB_AUTH_MISSING ?? 0) >= 1 &&
            (r.LB_AUTH_REPLAY ?? 0) + (r.LB_AUTH_STALE ?? 0) >= 1 &&
            s.counters.otherGroup >= 1
          );
        },
        10_000,
      );
      const after = await lbStatus(lab, 'a', a);
      expect(after.nodes.map((n) => n.id).sort()).toEqual(before.nodes.map((n) => n.id).sort());
      expect(after.nodes.find((n) => n.id === nodeB.id)?.health).toBe('ok');
      expect(a.proc.stdout()).not.toMatch(/is draining/);
      expect(a.proc.stdout()).not.toMatch(/intruder/);
      expect(a.proc.stdout()).toMatch(
        /rejected a report from 192\.168\.77\.\d+ \(node [0-9a-f-]+\): LB_AUTH_BAD_MAC/,
      );
      void b;
    });
  });
});

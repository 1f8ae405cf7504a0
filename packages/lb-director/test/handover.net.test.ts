// A planned VIP move between two nftables directors (namespaces, root; the lab of test/handover-lab.ts):
// with both tables loaded, request/response connections go on through the new director (conntrack picks
// them up mid-stream and the same table DNATs them to the same node), server-speaks-first connections are
// lost (the node's packet is the first the new director sees: a reply to a connection it has no entry
// for); with conntrackd FTFW and a commit on takeover (ConntrackSync) every connection goes on.
import { describeNet } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { runHandover } from './handover-lab';

const N = 8;

describeNet('VIP handover between nftables directors (namespaces)', () => {
  it('without state sharing: request/response connections survive, server-speaks-first ones do not', async () => {
    const r = await runHandover({
      variant: 'preload',
      move: 'planned',
      n: N,
      tableSize: 4093,
      settleMs: 4000,
    });
    expect(r.failedBefore).toBe(0);
    expect(r.rr).toBe(N);
    expect(r.push).toBe(0);
    // the client hears nothing: the new director reset the node's side
    expect(r.conns.filter((c) => c.kind === 'push').every((c) => c.error === null)).toBe(true);
  });

  it('with conntrackd and a commit on takeover: every connection survives', async () => {
    const r = await runHandover({
      variant: 'conntrackd',
      move: 'planned',
      n: N,
      tableSize: 4093,
      settleMs: 4000,
    });
    expect(r.failedBefore).toBe(0);
    expect(r.synced).toBe(2 * N); // b held every connection in its external cache before the move
    expect(r.rr).toBe(N);
    expect(r.push).toBe(N);
  });
});

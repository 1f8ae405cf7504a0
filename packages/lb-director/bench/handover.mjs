// How many open connections survive when the VIP moves from director A to director B, with the nftables
// data plane (the same table and seed on both) and with or without connection-state sharing. The lab and
// the variants are in test/handover-lab.ts (also used by test/handover.net.test.ts): N request/response
// and N server-speaks-first connections through the VIP, then a planned move (A deletes the VIP, B adds
// it + gratuitous ARP) or a crash (A's link down with everything in place, B takes over 1 s later).
// Variants: baseline (B loads its table at takeover), preload (B's table loaded before the move),
// loose=0 (preload, no mid-stream pickup on B), conntrackd (preload + conntrackd FTFW, commit on takeover).
// A connection survived when it saw no error and got a message in the last 1.5 s, 6 s after the move.
// Prints a Markdown table.
//
// Run (root): node --import tsx --conditions=@proxyha/source packages/lb-director/bench/handover.mjs [N] [variant,...]
import { runHandover } from '../test/handover-lab.ts';

const N = Number(process.argv[2] ?? 30);
const VARIANTS = (process.argv[3] ?? 'baseline,preload,loose=0,conntrackd').split(',');
const rows = [];
for (const variant of VARIANTS)
  for (const move of ['planned', 'crash']) {
    const r = { ...(await runHandover({ variant, move, n: N })), conns: undefined };
    console.error(JSON.stringify(r));
    rows.push(r);
  }
console.log(
  `\nN = ${N} connections of each kind, table 32749 buckets; survived = no error and a message in the last 1.5 s, 6 s after the move\n`,
);
console.log(
  '| variant | move | request/response survived | server-first survived | lost (how) | takeover done after | median first message after the move |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  const lost = [r.rrLost && `rr: ${r.rrLost}`, r.pushLost && `server-first: ${r.pushLost}`].filter(Boolean);
  console.log(
    `| ${r.variant} | ${r.move} | ${r.rr}/${N} | ${r.push}/${N} | ${lost.join('; ') || '-'} | ${r.takeoverMs} ms | ${r.medianGapMs === undefined ? '-' : `${r.medianGapMs} ms`} |`,
  );
}

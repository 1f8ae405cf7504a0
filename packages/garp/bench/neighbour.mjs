// How soon a real client's neighbour cache shows the new MAC of a moved VIP after our first announcement
// leaves: the figure behind the README's "What receivers do with these frames". The namespace tests assert
// that the cache moves and in which order; the milliseconds are measured here. Needs root (network
// namespaces) and the built packages:
//   pnpm --filter @proxyha/garp... build && pnpm --filter @proxyha/testlab build
//   node packages/garp/bench/neighbour.mjs            (RUNS=5 by default)
// The announcer runs in the new owner's namespace (test/fixtures/announce-in-netns.mjs, which prints when
// its first frame has left); the client's cache is polled through `ip netns exec`, which costs a few ms per
// look, so the figures are upper bounds.
import { join } from 'node:path';
import { withLab } from '@proxyha/testlab';

const RUNS = Number(process.env.RUNS ?? 5);
const SCRIPT = join(import.meta.dirname, '..', 'test', 'fixtures', 'announce-in-netns.mjs');

async function neighbourMac(lab, node, ip) {
  const fam = ip.includes(':') ? '-6' : '-4';
  const out = (await lab.exec(node, 'ip', ['-j', fam, 'neigh', 'show', ip, 'dev', 'eth0'])).stdout;
  return JSON.parse(out || '[]')[0]?.lladdr;
}

/** One move of `vip` from a to b; returns ms from b's first frame to the client showing b's MAC. */
async function once(family) {
  const v6 = family === 'ipv6';
  const vip = v6 ? 'fd77::74' : '192.168.77.74';
  const cidr = v6 ? `${vip}/64` : `${vip}/24`;
  const extra = v6 ? ['nodad'] : [];
  return withLab({ nodes: ['a', 'b', 'client'] }, async (lab) => {
    const b = lab.node('b');
    await lab.exec('a', 'ip', ['addr', 'add', cidr, 'dev', 'eth0', ...extra]);
    await lab.exec('client', 'ping', [...(v6 ? ['-6'] : []), '-c1', '-W1', vip]);
    await lab.exec('a', 'ip', ['addr', 'del', cidr, 'dev', 'eth0']);
    await lab.exec('b', 'ip', ['addr', 'add', cidr, 'dev', 'eth0', ...extra]);
    const request = { instance: 'VI_1', ifname: 'eth0', mac: b.mac, [family]: [vip] };
    const sending = lab.exec('b', process.execPath, [
      SCRIPT,
      JSON.stringify({ request, policy: { secondBurstDelayMs: 0 } }),
    ]);
    let seenAt;
    const deadline = Date.now() + 5000;
    while (seenAt === undefined && Date.now() < deadline) {
      if ((await neighbourMac(lab, 'client', vip)) === b.mac) seenAt = Date.now();
      else await new Promise((r) => setTimeout(r, 2));
    }
    const out = (await sending).stdout;
    const first = Number(/^first-sent (\d+)$/m.exec(out)?.[1]);
    if (seenAt === undefined || !Number.isFinite(first))
      throw new Error(`no result; announcer printed:\n${out}`);
    return seenAt - first;
  });
}

console.log(`neighbour cache update after the first frame, ${RUNS} runs each, node ${process.version}`);
for (const family of ['ipv4', 'ipv6']) {
  const ms = [];
  for (let i = 0; i < RUNS; i++) ms.push(await once(family));
  ms.sort((x, y) => x - y);
  console.log(
    `${family}: min ${ms[0]} ms, median ${ms[Math.floor(ms.length / 2)]} ms, max ${ms[ms.length - 1]} ms`,
  );
}

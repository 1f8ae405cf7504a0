import { describeNet, type Lab, tsharkField, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { checkAnnouncements, neighMac, startVrrpd, watchNeighbours } from './garp-net';
import { startNameServices, until, VIP4, VIP6, vipAnswer } from './lab';

// Failover between two proxyha-vrrpd nodes (a: 150, b: 100, adverts every 100 ms) with a
// client c whose neighbour cache holds the VIP with a's MAC: after a SIGKILL of a, c's cache
// comes to hold b's MAC without c sending anything, and on the wire b's announcements follow
// b's first advert as master (the transition), in one capture's order. tshark flags nothing
// in the ARPs / NAs our nodes sent. How many milliseconds that takes is measured by
// packages/garp/bench/neighbour.mjs and bench/failover.mjs, not asserted here.

async function failover(lab: Lab, vip: string, prefix: number) {
  const a = lab.node('a');
  const b = lab.node('b');
  const c = lab.node('c');
  startNameServices(lab, ['a', 'b']);
  const cap = await lab.capture(
    'bridge',
    `ip proto 112 or ip6 proto 112 or arp or icmp6 or ether src ${c.mac}`,
  );
  const pa = await startVrrpd(lab, 'a', { priority: 150, vip: `${vip}/${prefix}` });
  const pb = await startVrrpd(lab, 'b', { priority: 100, vip: `${vip}/${prefix}` });
  await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000);
  await pb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 5000);

  // c talks to the VIP, so its cache holds a's MAC
  await until('c reaches a through the VIP', async () => (await vipAnswer(lab, 'c', vip)) === 'a', 5000);
  expect(await neighMac(lab, 'c', vip)).toBe(a.mac);

  const watch = await watchNeighbours(lab, 'c');
  const mark = pb.output().length;
  const killedAt = Date.now();
  await pa.kill('SIGKILL');
  await pb.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 5000, mark);
  await until(
    "c's cache shows b's MAC",
    () => watch.events().some((e) => e.address === vip && e.lladdr === b.mac),
    3000,
  );
  const silentUntil = Date.now();
  // the burst's log line follows its frames (and the transition's own lines)
  const burst = vip.includes(':')
    ? `(VI_1) Sending/queueing Unsolicited Neighbour Adverts on eth0 for ${vip}`
    : `(VI_1) Sending/queueing gratuitous ARPs on eth0 for ${vip}`;
  await pb.waitForOutput(new RegExp(burst.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')), 5000, mark);
  expect(await neighMac(lab, 'c', vip)).toBe(b.mac);

  // and the client, asked now, reaches b
  expect(await vipAnswer(lab, 'c', vip)).toBe('b');
  await pb.kill('SIGTERM');

  // the VIP moving from a's MAC to b's is what a failover is: tshark's duplicate-address
  // check across the capture would report exactly that move, so it is off; every other check on
  const frames = await cap.dissect(['-o', 'arp.detect_duplicate_ips:FALSE']);
  // c's kernel may still repeat its MLD reports for its own addresses (multicast membership,
  // nothing to do with the VIP); anything else from c would be c resolving or contacting
  const fromClient = frames.filter(
    (f) =>
      tsharkField(f, 'eth.src') === c.mac &&
      tsharkField(f, 'icmpv6.type') !== '143' &&
      Number(tsharkField(f, 'frame.time_epoch')) * 1000 > killedAt &&
      Number(tsharkField(f, 'frame.time_epoch')) * 1000 < silentUntil,
  );
  expect(
    fromClient.map((f) => tsharkField(f, 'frame.protocols')),
    'frames c sent between the kill and the check',
  ).toEqual([]);
  // on the wire, in order: b's first advert as master (the transition), then its announcements
  const fromB = frames.filter((f) => tsharkField(f, 'eth.src') === b.mac);
  const firstMasterAdvert = fromB.findIndex((f) => tsharkField(f, 'vrrp.prio') === '100');
  const firstAnnouncement = fromB.findIndex(
    (f) =>
      tsharkField(f, 'arp.src.proto_ipv4') === vip || tsharkField(f, 'icmpv6.nd.na.target_address') === vip,
  );
  expect(firstMasterAdvert, "b's first advert as master").toBeGreaterThanOrEqual(0);
  expect(firstAnnouncement, "b's first announcement of the VIP").toBeGreaterThan(firstMasterAdvert);
  const counts = checkAnnouncements(frames, [a.mac, b.mac], [vip]);
  if (vip.includes(':'))
    expect(counts.na).toBeGreaterThanOrEqual(10); // 5 from a, 5 from b at least
  else expect(counts.arp).toBeGreaterThanOrEqual(10);
}

describeNet('gratuitous ARP / unsolicited NA after a proxyha-vrrpd failover', () => {
  it(
    "IPv4: the client's cache follows the VIP to b after the transition, without the client sending anything",
    () => withLab({ nodes: ['a', 'b', 'c'], timeoutMs: 55_000 }, (lab) => failover(lab, VIP4, 24)),
    60_000,
  );
  it(
    'IPv6: the same through unsolicited neighbour advertisements',
    () => withLab({ nodes: ['a', 'b', 'c'], timeoutMs: 55_000 }, (lab) => failover(lab, VIP6, 64)),
    60_000,
  );
});

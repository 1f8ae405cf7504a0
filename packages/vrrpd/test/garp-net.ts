// Helpers of the gratuitous ARP namespace tests (garp-*.net.test.ts): proxyha-vrrpd with
// JSON logs (so that its log times can be compared with the client's), a client's
// neighbour cache watched with `ip -ts monitor neigh`, and the frames our nodes sent.
import {
  type Lab,
  type ManagedProcess,
  type TsharkLayers,
  tsharkField,
  tsharkProblems,
} from '@proxyha/testlab';
import { expect } from 'vitest';
import { type InstanceOpts, startProxyha } from './lab';

/** Starts proxyha-vrrpd with JSON log lines (their times are compared with the client's). */
export function startVrrpd(lab: Lab, node: string, o: InstanceOpts): Promise<ManagedProcess> {
  return startProxyha(lab, node, { ...o, json: true });
}

/** Wall-clock time (ms since the epoch) of the first JSON log line after `from` whose msg matches. */
export function logTime(p: ManagedProcess, msg: RegExp, from = 0): number {
  for (const line of p.output().slice(from).split('\n')) {
    if (!line.startsWith('{')) continue;
    const j = JSON.parse(line) as { time: string; msg: string };
    if (msg.test(j.msg)) return Date.parse(j.time);
  }
  throw new Error(`no log line ${msg} in:\n${p.output().slice(from)}`);
}

/** One change of a neighbour entry as `ip -ts monitor neigh` reported it. */
export interface NeighEvent {
  /** Wall-clock ms (with the microseconds ip printed). */
  at: number;
  address: string;
  lladdr: string | undefined;
  state: string;
}

/** Watches a node's neighbour cache; start it before the change you want to time. */
export async function watchNeighbours(lab: Lab, node: string) {
  const p = lab.spawn(node, 'ip', ['-ts', 'monitor', 'neigh'], { name: `neigh:${node}` });
  await new Promise((r) => setTimeout(r, 100)); // the netlink subscription is made at once; be safe
  const events = (): NeighEvent[] =>
    p
      .stdout()
      .split('\n')
      .flatMap((line) => {
        const m = line.match(
          /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})\] (?:Deleted )?(\S+) dev \S+(.*)$/,
        );
        if (!m) return [];
        const [, sec, usec, address, rest] = m as unknown as [string, string, string, string, string];
        const lladdr = rest.match(/lladdr (\S+)/)?.[1];
        const state = rest.trim().split(/\s+/).at(-1) ?? '';
        return [{ at: new Date(sec).getTime() + Number(usec) / 1000, address, lladdr, state }];
      });
  return { process: p, events };
}

/** The MAC a node's neighbour cache holds for `address` (undefined: no usable entry). */
export async function neighMac(lab: Lab, node: string, address: string): Promise<string | undefined> {
  const r = await lab.exec(node, 'ip', ['-j', 'neigh', 'show', 'to', address, 'dev', 'eth0']);
  const e = (JSON.parse(r.stdout || '[]') as { lladdr?: string; state?: string[] }[])[0];
  return e?.state?.includes('FAILED') || e?.state?.includes('INCOMPLETE') ? undefined : e?.lladdr;
}

/**
 * Checks the gratuitous ARPs and unsolicited NAs one of `macs` sent for a VIP (the kernel's own
 * ARP replies and solicited NAs are left out): tshark flags nothing in them (no malformed
 * packet, no warning or error), ARPs are gratuitous broadcast requests, NAs go to ff02::1 with
 * hop limit 255, the override flag and a good checksum. Returns the counts.
 */
export function checkAnnouncements(frames: TsharkLayers[], macs: readonly string[], vips: readonly string[]) {
  let arp = 0;
  let na = 0;
  for (const f of frames) {
    const src = tsharkField(f, 'eth.src');
    if (!src || !macs.includes(src)) continue;
    if (f.arp) {
      const ip = tsharkField(f, 'arp.src.proto_ipv4') ?? '';
      // the kernel's own ARP (replies for the VIP, requests from it for a client) is not ours
      if (!vips.includes(ip) || tsharkField(f, 'arp.opcode') !== '1') continue;
      if (tsharkField(f, 'arp.dst.proto_ipv4') !== ip) continue;
      arp++;
      expect(tsharkProblems(f), 'tshark problems in our ARP').toEqual([]);
      expect(tsharkField(f, 'arp.isgratuitous'), 'tshark sees a gratuitous ARP').toMatch(/^(1|true)$/i);
      expect(tsharkField(f, 'arp.src.hw_mac')).toBe(src);
      expect(tsharkField(f, 'arp.dst.hw_mac')).toBe('ff:ff:ff:ff:ff:ff');
      expect(tsharkField(f, 'eth.dst')).toBe('ff:ff:ff:ff:ff:ff');
    } else if (tsharkField(f, 'icmpv6.type') === '136') {
      const target = tsharkField(f, 'icmpv6.nd.na.target_address') ?? '';
      if (!vips.includes(target) || tsharkField(f, 'ipv6.dst') !== 'ff02::1') continue; // solicited ones
      na++;
      expect(tsharkProblems(f), 'tshark problems in our NA').toEqual([]);
      expect(tsharkField(f, 'icmpv6.checksum.status'), 'ICMPv6 checksum status (1 = good)').toBe('1');
      expect(tsharkField(f, 'icmpv6.nd.na.flag.o')).toMatch(/^(1|true)$/i);
      expect(tsharkField(f, 'icmpv6.nd.na.flag.s')).toMatch(/^(0|false)$/i);
      expect(tsharkField(f, 'ipv6.src')).toBe(target);
      expect(tsharkField(f, 'ipv6.hlim')).toBe('255');
      expect(tsharkField(f, 'icmpv6.opt.linkaddr')).toBe(src);
    }
  }
  return { arp, na };
}

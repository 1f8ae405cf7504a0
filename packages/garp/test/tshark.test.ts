// Our frames, written to a pcap file and dissected by tshark (no root needed): tshark must decode every
// field as we meant it and flag nothing (no expert info, nothing malformed, checksums good).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  AnnouncementSchedule,
  decodeFrame,
  encodeFrame,
  gratuitousArp,
  unsolicitedNeighborAdvertisement,
} from '../src/index';
import { pcapFile, VMAC4_51, VMAC6_51 } from './helpers';
import { tsharkView } from './tshark-view';

const run = promisify(execFile);

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** Flattens tshark's nested JSON layers into field name -> values (every occurrence). */
function flatten(node: Json, out = new Map<string, Json[]>()): Map<string, Json[]> {
  if (node && typeof node === 'object' && !Array.isArray(node)) {
    for (const [k, v] of Object.entries(node)) {
      out.set(k, [...(out.get(k) ?? []), v]);
      flatten(v, out);
    }
  } else if (Array.isArray(node)) for (const v of node) flatten(v, out);
  return out;
}

async function dissect(frames: Uint8Array[]) {
  const dir = await mkdtemp(join(tmpdir(), 'garp-tshark-'));
  try {
    const file = join(dir, 'ours.pcap');
    await writeFile(file, pcapFile(frames));
    const { stdout } = await run('tshark', ['-r', file, '-T', 'json', '-o', 'ip.check_checksum:TRUE'], {
      maxBuffer: 64 << 20,
    });
    return (JSON.parse(stdout) as { _source: { layers: Json } }[]).map((p) => flatten(p._source.layers));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('tshark dissects our frames without complaint', () => {
  it('keepalived-form, FRR-form and reply-form gratuitous ARPs and unsolicited NAs', async () => {
    // one MAC per address: a capture holding two MACs for one IP would rightly be flagged as a duplicate
    const frames = [
      encodeFrame(gratuitousArp({ mac: '46:cb:2c:84:db:0f', ip: '192.168.77.74' })),
      encodeFrame(gratuitousArp({ mac: VMAC4_51, ip: '192.168.77.75' })),
      encodeFrame(gratuitousArp({ mac: '02:11:22:33:44:55', ip: '10.1.2.3', operation: 'reply' })),
      encodeFrame(unsolicitedNeighborAdvertisement({ mac: '46:cb:2c:84:db:0f', ip: 'fd77::74' })),
      encodeFrame(unsolicitedNeighborAdvertisement({ mac: VMAC6_51, ip: 'fd77::75', router: true })),
      encodeFrame(unsolicitedNeighborAdvertisement({ mac: '02:11:22:33:44:55', ip: '2001:db8:0:1::1' })),
    ];
    // and what the schedule emits for a dual-stack request
    const s = new AnnouncementSchedule({ repeat: 1, secondBurstDelayMs: 0 });
    s.start(
      { instance: 'VI_1', ifname: 'eth0', mac: '02:aa:00:00:00:01', ipv4: ['172.16.0.1'], ipv6: ['fd00::1'] },
      0,
    );
    frames.push(...s.poll(0).frames.map((f) => f.frame));

    const packets = await dissect(frames);
    expect(packets).toHaveLength(frames.length);
    packets.forEach((fields, i) => {
      const frame = frames[i] as Uint8Array;
      // nothing flagged
      for (const flag of ['_ws.expert', '_ws.malformed', '_ws.expert.message'])
        expect({ frame: i, flag, value: fields.get(flag) }).toEqual({ frame: i, flag, value: undefined });
      // every field as we meant it
      const ours = decodeFrame(frame);
      if (!ours.ok) throw ours.error;
      const view = tsharkView(ours.value, frame.length);
      const protocols = String(fields.get('frame.protocols')?.[0]);
      expect(protocols).toBe(ours.value.kind === 'arp' ? 'eth:ethertype:arp' : 'eth:ethertype:ipv6:icmpv6');
      for (const [k, v] of Object.entries(view)) {
        const theirs = fields.get(k)?.[0];
        const want = k === 'icmpv6.checksum.status' ? '1' : String(v); // tshark JSON: 1 = Good
        expect({ frame: i, field: k, value: theirs }).toEqual({ frame: i, field: k, value: want });
      }
    });
  });
});

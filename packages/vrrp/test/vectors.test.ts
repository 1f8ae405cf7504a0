import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeVrrp,
  decodeVrrpIpPacket,
  encodeVrrp,
  encodeVrrpIpPacket,
  VRRP_TYPE_ADVERTISEMENT,
  type VrrpIpDecoded,
} from '../src/index';

/*
 * Real keepalived 2.2.7 and FRR 8.4.4 packets with tshark 4.0.17's decoding of every
 * field (test/vectors, copied from the project's shared capture set; see test/vectors/README.md).
 * Every vector whose tshark_protocols contains vrrp must decode to tshark's fields and
 * re-encode byte for byte.
 */

interface Vector {
  name: string;
  layer: 'ip' | 'ether';
  hex: string;
  length: number;
  tshark_protocols: string;
  decoded: Record<string, unknown>;
}

const vectorsPath = resolve(import.meta.dirname, 'vectors', 'vectors.json');
const all = JSON.parse(readFileSync(vectorsPath, 'utf8')) as Vector[];
const vrrpVectors = all.filter((v) => v.tshark_protocols.split(':').includes('vrrp'));
const covered = new Set<string>();

const hexNum = (v: unknown): number => {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v)) return Number.parseInt(v.slice(2), 16);
  throw new Error(`not a number: ${JSON.stringify(v)}`);
};

const mac = (b: Uint8Array, off: number) =>
  Array.from(b.subarray(off, off + 6), (x) => x.toString(16).padStart(2, '0')).join(':');

/** Our value for every tshark field of the vectors; a field missing here fails the test. */
function ours(field: string, d: VrrpIpDecoded, frame: Uint8Array | undefined): unknown {
  const ip = d.ip;
  const a = d.advert;
  const v4 = ip.version === 4 ? ip : undefined;
  const v6 = ip.version === 6 ? ip : undefined;
  switch (field) {
    case 'frame.len':
      return frame ? frame.length : undefined; // compared only for ether vectors, see below
    case 'eth.dst':
      return frame && mac(frame, 0);
    case 'eth.src':
      return frame && mac(frame, 6);
    case 'eth.type':
      return frame && `0x${((frame[12]! << 8) | frame[13]!).toString(16).padStart(4, '0')}`;
    case 'ip.version':
      return v4?.version;
    case 'ip.hdr_len':
      return v4?.headerLength;
    case 'ip.dsfield':
      return v4 && `0x${v4.tos.toString(16).padStart(2, '0')}`;
    case 'ip.dsfield.dscp':
      return v4 && v4.tos >> 2;
    case 'ip.len':
      return v4?.totalLength;
    case 'ip.id':
      return v4 && `0x${v4.id.toString(16).padStart(4, '0')}`;
    case 'ip.flags':
      return v4 && (v4.dontFragment ? '0x02' : '0x00');
    case 'ip.frag_offset':
      return v4 && 0;
    case 'ip.ttl':
      return v4?.ttl;
    case 'ip.proto':
      return v4?.protocol;
    case 'ip.checksum':
      return v4 && `0x${v4.checksum.toString(16).padStart(4, '0')}`;
    case 'ip.checksum.status':
      return v4 && 'Good'; // decodeVrrpIpPacket verified it (VRRP_BAD_IP_CHECKSUM otherwise)
    case 'ip.src':
      return v4?.source;
    case 'ip.dst':
      return v4?.destination;
    case 'ipv6.version':
      return v6?.version;
    case 'ipv6.tclass':
      return v6 && `0x${v6.trafficClass.toString(16).padStart(8, '0')}`;
    case 'ipv6.flow':
      return v6 && `0x${v6.flowLabel.toString(16).padStart(6, '0')}`;
    case 'ipv6.plen':
      return v6?.payloadLength;
    case 'ipv6.nxt':
      return v6?.nextHeader;
    case 'ipv6.hlim':
      return v6?.hopLimit;
    case 'ipv6.src':
      return v6?.source;
    case 'ipv6.dst':
      return v6?.destination;
    case 'vrrp.typever':
      return (a.version << 4) | VRRP_TYPE_ADVERTISEMENT;
    case 'vrrp.version':
      return a.version;
    case 'vrrp.type':
      return VRRP_TYPE_ADVERTISEMENT; // any other type is VRRP_BAD_TYPE
    case 'vrrp.virt_rtr_id':
      return a.vrid;
    case 'vrrp.prio':
      return a.priority;
    case 'vrrp.addr_count':
      return a.addresses.length;
    case 'vrrp.auth_type':
      return a.version === 2 ? (a.auth?.type === 'simple' ? 1 : 0) : undefined;
    case 'vrrp.adver_int':
      return a.version === 2 ? a.advertIntervalSec : undefined;
    case 'vrrp.reserved_mbz':
      return a.version === 3 ? 0 : undefined; // ignored on receipt, sent as zero; re-encoding checks the bytes
    case 'vrrp.short_adver_int':
      return a.version === 3 ? a.maxAdvertIntervalCs : undefined;
    case 'vrrp.checksum':
      return `0x${d.checksum.toString(16).padStart(4, '0')}`;
    case 'vrrp.checksum.status':
      // tshark verifies v3/IPv4 with the pseudo-header (RFC 5798); we must have matched that form.
      return a.version === 3 ? (d.checksumMode === 'pseudo-header' ? 'Good' : 'Bad') : 'Good';
    case 'vrrp.ip_addr':
      return a.family === 'ipv4' ? a.addresses : undefined;
    case 'vrrp.ipv6_addr':
      return a.family === 'ipv6' ? a.addresses : undefined;
    case '_ws.col.Protocol':
      return 'VRRP';
    case '_ws.col.Info':
      return `Announcement (v${a.version})`;
    default:
      throw new Error(`vector field ${field} is not compared: add it to the test`);
  }
}

describe('keepalived and FRR vectors', () => {
  it('has VRRP vectors of every kind', () => {
    // Guards against an emptied or truncated vectors file making the per-vector tests vacuous.
    expect(vrrpVectors.length).toBeGreaterThanOrEqual(15);
    const kinds = new Set(vrrpVectors.map((v) => `${v.decoded['vrrp.version']}/${v.tshark_protocols}`));
    expect(kinds).toEqual(
      new Set(['2/eth:ethertype:ip:vrrp', '3/eth:ethertype:ip:vrrp', '3/eth:ethertype:ipv6:vrrp']),
    );
  });

  it.each(
    vrrpVectors.map((v) => [v.name, v] as const),
  )('%s decodes to tshark fields and re-encodes byte for byte', (_name, v) => {
    const bytes = Uint8Array.from(Buffer.from(v.hex, 'hex'));
    expect(bytes.length).toBe(v.length);
    let frame: Uint8Array | undefined;
    let ipBytes = bytes;
    if (v.layer === 'ether') {
      frame = bytes;
      ipBytes = bytes.subarray(14);
    } else {
      expect(v.layer).toBe('ip');
    }
    const r = decodeVrrpIpPacket(ipBytes);
    if (!r.ok) throw r.error;
    const d = r.value;

    for (const [field, expected] of Object.entries(v.decoded)) {
      if (field.startsWith('frame.') || field.startsWith('eth.')) {
        if (!frame) continue; // the ip-layer vectors carry the frame's Ethernet fields; no frame here
      }
      const mine = ours(field, d, frame);
      expect({
        field,
        value: typeof expected === 'string' && /^0x/.test(expected) ? hexNum(mine) : mine,
      }).toEqual({
        field,
        value: typeof expected === 'string' && /^0x/.test(expected) ? hexNum(expected) : expected,
      });
    }

    // Byte for byte, IP header included.
    const again = encodeVrrpIpPacket(d.advert, { ...d.ip, checksumMode: d.checksumMode });
    expect(Buffer.from(again).toString('hex')).toBe(Buffer.from(ipBytes).toString('hex'));
    if (frame) {
      const rebuilt = Buffer.concat([frame.subarray(0, 14), again]);
      expect(rebuilt.toString('hex')).toBe(v.hex);
    }

    // The payload decoder, given what a raw socket reports, agrees; and the payload encoder matches.
    const hdr = d.ip.version === 4 ? d.ip.headerLength : 40;
    const payload = ipBytes.subarray(hdr);
    const p = decodeVrrp(payload, {
      family: d.advert.family,
      source: d.source,
      destination: d.destination,
      ttl: d.ttl,
    });
    if (!p.ok) throw p.error;
    expect(p.value.advert).toEqual(d.advert);
    expect(p.value.checksumMode).toBe(d.checksumMode);
    const encoded = encodeVrrp(d.advert, { source: d.source, destination: d.destination });
    expect(Buffer.from(encoded).toString('hex')).toBe(Buffer.from(payload).toString('hex'));

    covered.add(v.name);
  });

  afterAll(() => {
    // Fails the run if any VRRP vector did not pass through the test above.
    const missing = vrrpVectors.map((v) => v.name).filter((n) => !covered.has(n));
    if (missing.length > 0) throw new Error(`VRRP vectors not covered: ${missing.join(', ')}`);
  });
});

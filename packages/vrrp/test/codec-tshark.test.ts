import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  encodeVrrpIpPacket,
  type VrrpAdvert,
  type VrrpChecksumMode,
  type VrrpIpEncodeOptions,
} from '../src/index';

/*
 * A second opinion from a dissector others wrote: packets we encode are written to a pcap
 * (no root needed) and dissected by tshark with checksum validation on. tshark must find
 * no malformed packet and no expert warning, every IPv4 header checksum Good, and the VRRP
 * checksum Good under the form we sent (tshark verifies v3/IPv4 with the pseudo-header by
 * default, and without it under vrrp.v3_checksum_as_in_v2).
 */

const probe = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
const hasTshark = probe.status === 0;
const inCi = process.env.CI === 'true' || process.env.CI === '1';

interface Sample {
  name: string;
  advert: VrrpAdvert;
  options: VrrpIpEncodeOptions;
}

const v4 = { source: '192.168.77.11' };
const v6 = { source: 'fe80::44cb:2cff:fe84:db0f' };
const samples: Sample[] = [
  {
    name: 'v2 keepalived-like',
    advert: {
      version: 2,
      family: 'ipv4',
      vrid: 51,
      priority: 99,
      addresses: ['192.168.77.74'],
      advertIntervalSec: 1,
    },
    options: { ...v4, id: 1 },
  },
  {
    name: 'v2 priority 0, simple password, three addresses, DF',
    advert: {
      version: 2,
      family: 'ipv4',
      vrid: 1,
      priority: 0,
      addresses: ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
      advertIntervalSec: 255,
      auth: { type: 'simple', password: 'secret' },
    },
    options: { ...v4, id: 0xffff, dontFragment: true },
  },
  {
    name: 'v3/IPv4 with pseudo-header (multicast)',
    advert: {
      version: 3,
      family: 'ipv4',
      vrid: 51,
      priority: 99,
      addresses: ['192.168.77.74'],
      maxAdvertIntervalCs: 100,
    },
    options: { ...v4, id: 2 },
  },
  {
    name: 'v3/IPv4 with pseudo-header (unicast peer)',
    advert: {
      version: 3,
      family: 'ipv4',
      vrid: 255,
      priority: 255,
      addresses: [],
      maxAdvertIntervalCs: 4095,
    },
    options: { ...v4, destination: '192.168.77.12' },
  },
  {
    name: 'v3/IPv4 without pseudo-header (RFC 9568 form)',
    advert: {
      version: 3,
      family: 'ipv4',
      vrid: 51,
      priority: 89,
      addresses: ['192.168.77.74', '192.168.77.75'],
      maxAdvertIntervalCs: 2,
    },
    options: { ...v4, checksumMode: 'vrrp-only' },
  },
  {
    name: 'v3/IPv6 keepalived-like (flow label)',
    advert: {
      version: 3,
      family: 'ipv6',
      vrid: 51,
      priority: 99,
      addresses: ['fd77::74'],
      maxAdvertIntervalCs: 100,
    },
    options: { ...v6, flowLabel: 0x079ae2 },
  },
  {
    name: 'v3/IPv6 three addresses, 10 cs',
    advert: {
      version: 3,
      family: 'ipv6',
      vrid: 7,
      priority: 1,
      addresses: ['fd77::74', '2001:db8::1', 'fe80::1'],
      maxAdvertIntervalCs: 10,
    },
    options: { ...v6 },
  },
];

function pcap(packets: Uint8Array[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(101, 20); // LINKTYPE_RAW: each record starts at the IPv4 or IPv6 header
  const records = packets.map((p, i) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(1_700_000_000 + i, 0);
    h.writeUInt32LE(p.length, 8);
    h.writeUInt32LE(p.length, 12);
    return Buffer.concat([h, p]);
  });
  return Buffer.concat([header, ...records]);
}

type Layers = Record<string, Record<string, unknown> | string>;

function dissect(file: string, extra: string[]): Layers[] {
  const r = spawnSync(
    'tshark',
    ['-r', file, '-T', 'json', '--no-duplicate-keys', '-o', 'ip.check_checksum:TRUE', ...extra],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`tshark failed (${r.status}): ${r.stderr}`);
  return (JSON.parse(r.stdout) as { _source: { layers: Layers } }[]).map((p) => p._source.layers);
}

/** Every expert message anywhere in a dissection. */
function experts(node: unknown, out: string[] = []): string[] {
  if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '_ws.expert' || k === '_ws.malformed') out.push(JSON.stringify(v));
      experts(v, out);
    }
  }
  return out;
}

const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

const checksumForm = (s: Sample): VrrpChecksumMode =>
  s.advert.version === 2 ? 'vrrp-only' : (s.options.checksumMode ?? 'pseudo-header');

describe.skipIf(!hasTshark && !inCi)(
  `tshark dissects what we encode${hasTshark ? '' : ' (skipped: tshark not installed)'}`,
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrp-codec-tshark-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('tshark is installed (required under CI)', () => {
      expect(probe.error ?? probe.status).toBe(0);
    });

    const file = join(dir, 'adverts.pcap');
    let standard: Layers[] = [];
    let asInV2: Layers[] = [];

    it('reads the pcap', () => {
      writeFileSync(file, pcap(samples.map((s) => encodeVrrpIpPacket(s.advert, s.options))));
      standard = dissect(file, []);
      asInV2 = dissect(file, ['-o', 'vrrp.v3_checksum_as_in_v2:TRUE']);
      expect(standard.length).toBe(samples.length);
      expect(asInV2.length).toBe(samples.length);
    });

    it.each(samples.map((s, i) => [s.name, s, i] as const))('%s', (_name, s, i) => {
      const layers = standard[i]!;
      const a = s.advert;
      const vrrp = layers.vrrp as Record<string, unknown>;
      const frame = layers.frame as Record<string, string>;
      expect(frame['frame.protocols']).toBe(a.family === 'ipv4' ? 'raw:ip:vrrp' : 'raw:ipv6:vrrp');

      // The fields tshark reads are the ones we wrote.
      const tree = vrrp['vrrp.typever_tree'] as Record<string, string>;
      expect(tree['vrrp.version']).toBe(String(a.version));
      expect(tree['vrrp.type']).toBe('1');
      expect(vrrp['vrrp.virt_rtr_id']).toBe(String(a.vrid));
      expect(vrrp['vrrp.prio']).toBe(String(a.priority));
      expect(vrrp['vrrp.addr_count']).toBe(String(a.addresses.length));
      expect(list(vrrp[a.family === 'ipv4' ? 'vrrp.ip_addr' : 'vrrp.ipv6_addr'])).toEqual(a.addresses);
      if (a.version === 2) {
        expect(vrrp['vrrp.adver_int']).toBe(String(a.advertIntervalSec));
        expect(vrrp['vrrp.auth_type']).toBe(a.auth?.type === 'simple' ? '1' : '0');
      } else {
        expect(vrrp['vrrp.short_adver_int']).toBe(String(a.maxAdvertIntervalCs));
        expect(vrrp['vrrp.reserved_mbz']).toBe('0');
      }
      if (a.family === 'ipv4') {
        const ip = layers.ip as Record<string, string>;
        expect(ip['ip.checksum.status']).toBe('1'); // Good
        expect(ip['ip.ttl']).toBe('255');
        expect(ip['ip.dsfield']).toBe('0xc0');
      } else {
        const ip6 = layers.ipv6 as Record<string, string>;
        expect(ip6['ipv6.hlim']).toBe('255');
        expect(ip6['ipv6.src']).toBe(s.options.source);
      }

      // VRRP checksum: Good in the dissection that checks the form we sent, no expert info at all.
      const form = checksumForm(s);
      const v3v4 = a.version === 3 && a.family === 'ipv4';
      const goodRun = v3v4 && form === 'vrrp-only' ? asInV2[i]! : layers;
      expect((goodRun.vrrp as Record<string, string>)['vrrp.checksum.status']).toBe('1');
      expect(experts(goodRun)).toEqual([]);

      // And tshark really checks: the other v3/IPv4 form is reported Bad.
      if (v3v4) {
        const otherRun = form === 'vrrp-only' ? layers : asInV2[i]!;
        expect((otherRun.vrrp as Record<string, string>)['vrrp.checksum.status']).toBe('0');
        expect(experts(otherRun).join()).toMatch(/Bad checksum/);
      }
    });
  },
);

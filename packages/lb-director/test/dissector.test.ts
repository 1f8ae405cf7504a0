import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { internetChecksum, parseIp } from '@proxyha/common';
import { type TsharkLayers, tsharkProblems } from '@proxyha/testlab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Announcement, encodeMessage, type LbKey, type LbMessage, type LoadReport } from '../src/index';

/*
 * The Lua dissector in dissector/ against what the encoder produces: a pcap (Ethernet, IPv4 and one
 * IPv6 frame, IP protocol 253) is dissected by tshark with the script, and every field must show the
 * value encoded, with the checksum good and no expert info or malformed packet.
 *
 * Root: Debian's tshark runs Lua scripts as root (init.lua sets run_user_scripts_when_superuser), so
 * tshark runs directly. Where a build refuses, the test falls back to running it as `nobody` through
 * `setpriv --reuid=nobody --regid=nogroup --clear-groups` with the script and pcap in a world-readable
 * temp dir and HOME pointing there (LB_DISSECTOR_AS_NOBODY=1 forces that path).
 */

const probe = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
const hasTshark = probe.status === 0;
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const SCRIPT = join(import.meta.dirname, '..', 'dissector', 'proxyha-lb.lua');

const keyA: LbKey = {
  id: 7,
  secret: Uint8Array.from(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex')),
};
const keyB: LbKey = { id: 200, secret: new Uint8Array(32).fill(0xa5) };

const announcement: Announcement = {
  type: 'announcement',
  group: 51,
  nodeId: '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b',
  address: '192.168.77.11',
  sequence: 7,
  timestamp: 1_700_000_000_000,
  intervalMs: 1000,
  name: 'lb-01',
  priority: 100,
  redirects: [
    { originalPort: 80, destinationPort: 8080 },
    { originalPort: 443, destinationPort: 8443 },
  ],
};

const report: LoadReport = {
  type: 'report',
  group: 51,
  nodeId: '0b7d5a2e-1c3f-4a5b-9d8e-7f6a5b4c3d2e',
  address: '192.168.77.12',
  sequence: 42,
  timestamp: 1_700_000_000_250,
  intervalMs: 500,
  name: 'node-b',
  softwareVersion: '0.1.0',
  health: { status: 'failure', failingPorts: [8080, 3128] },
  weight: 100,
  resources: { cpu: 0.45, memory: 0.625, load: 1.5 },
  connections: [
    { port: 8080, active: 12 },
    { port: 8443, active: 4_000_000_000 },
  ],
};

interface Sample {
  readonly name: string;
  readonly message: LbMessage;
  readonly key?: LbKey;
  readonly src: string;
  readonly dst: string;
}

const samples: Sample[] = [
  { name: 'announcement, broadcast', message: announcement, src: '192.168.77.11', dst: '255.255.255.255' },
  { name: 'report with lists', message: report, src: '192.168.77.12', dst: '192.168.77.11' },
  {
    name: 'authenticated announcement',
    message: { ...announcement, sequence: 8, group: 7, priority: 0 },
    key: keyA,
    src: '192.168.77.11',
    dst: '255.255.255.255',
  },
  {
    name: 'authenticated report over IPv6, UTF-8 name',
    message: {
      ...report,
      address: 'fd77::12',
      name: 'Knoten-Ü 🚀',
      sequence: 2 ** 32 - 1,
      timestamp: Number.MAX_SAFE_INTEGER,
      intervalMs: 65535,
      weight: 65535,
      resources: { cpu: 1, memory: 0, load: 655.35 },
    },
    key: keyB,
    src: 'fd77::12',
    dst: 'fd77::1',
  },
  {
    name: 'report: ok, empty strings and lists',
    message: {
      ...report,
      name: '',
      softwareVersion: '',
      health: { status: 'ok', failingPorts: [] },
      connections: [],
      weight: 0,
      resources: { cpu: 0, memory: 0, load: 0 },
    },
    src: '192.168.77.12',
    dst: '192.168.77.11',
  },
  {
    name: 'maximal announcement, authenticated',
    message: {
      ...announcement,
      address: 'fd77::1',
      name: 'n'.repeat(64),
      redirects: Array.from({ length: 64 }, (_, i) => ({ originalPort: i + 1, destinationPort: 65535 - i })),
    },
    key: keyA,
    src: '192.168.77.11',
    dst: '255.255.255.255',
  },
  {
    name: 'announcement with its table (IPv4 and IPv6 members), authenticated',
    message: {
      ...announcement,
      sequence: 9,
      table: {
        size: 32749,
        seed: 0x70726f78,
        members: [
          {
            nodeId: '0b7d5a2e-1c3f-4a5b-9d8e-7f6a5b4c3d2e',
            address: '192.168.77.12',
            capacity: 100,
            weight256: 38400,
            healthy: true,
            bounded: false,
          },
          {
            nodeId: '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b',
            address: 'fd77::11',
            capacity: 300,
            weight256: 0,
            healthy: false,
            bounded: true,
          },
        ],
      },
    },
    key: keyB,
    src: '192.168.77.11',
    dst: '255.255.255.255',
  },
];

/** Payloads the dissector must flag: [name, payload, an expected expert message part]. */
function brokenPayloads(): [string, Uint8Array, string][] {
  const good = encodeMessage(announcement);
  const badChecksum = Uint8Array.from(good);
  badChecksum[7]! ^= 0xff;
  const longer = Uint8Array.from(good);
  longer[5] = 200; // length beyond the bytes captured
  const overrun = Uint8Array.from(good);
  overrun[51] = 3; // three redirects where two fit
  const tableFlagged = Uint8Array.from(encodeMessage(report));
  tableFlagged[3] = 0x02;
  const tableCut = Uint8Array.from(good);
  tableCut[3] = 0x02; // says a table follows the redirects, but the message ends there
  const zero = (b: Uint8Array) => {
    const out = Uint8Array.from(b);
    out[6] = 0;
    out[7] = 0;
    const ck = internetChecksum(out);
    out[6] = ck >> 8;
    out[7] = ck & 0xff;
    return out;
  };
  return [
    ['bad checksum', badChecksum, 'Bad checksum'],
    ['length beyond the capture', longer, 'exceeds'],
    ['a count running past the end', zero(overrun), 'ends inside redirects'],
    ['a header cut short', good.subarray(0, 5), 'shorter than'],
    ['the table flag on a report', zero(tableFlagged), 'table flag on a report'],
    ['a table cut short', zero(tableCut), 'ends inside the table'],
  ];
}

/* ------------------------------------------ pcap ------------------------------------------ */

function ipv4Packet(src: string, dst: string, payload: Uint8Array, id: number): Uint8Array {
  const h = new Uint8Array(20);
  h[0] = 0x45;
  h[2] = (20 + payload.length) >> 8;
  h[3] = (20 + payload.length) & 0xff;
  h[4] = id >> 8;
  h[5] = id & 0xff;
  h[6] = 0x40; // DF
  h[8] = 64; // TTL (tshark adds a note for TTL 1)
  h[9] = 253;
  h.set(parseIp(src, 'ipv4')!.bytes, 12);
  h.set(parseIp(dst, 'ipv4')!.bytes, 16);
  const ck = internetChecksum(h);
  h[10] = ck >> 8;
  h[11] = ck & 0xff;
  return Uint8Array.from([...h, ...payload]);
}

function ipv6Packet(src: string, dst: string, payload: Uint8Array): Uint8Array {
  const h = new Uint8Array(40);
  h[0] = 0x60;
  h[4] = payload.length >> 8;
  h[5] = payload.length & 0xff;
  h[6] = 253;
  h[7] = 64; // hop limit
  h.set(parseIp(src, 'ipv6')!.bytes, 8);
  h.set(parseIp(dst, 'ipv6')!.bytes, 24);
  return Uint8Array.from([...h, ...payload]);
}

function ethernet(dst: string, ipv6: boolean, packet: Uint8Array): Uint8Array {
  const mac = (s: string) => s.split(':').map((x) => Number.parseInt(x, 16));
  const type = ipv6 ? [0x86, 0xdd] : [0x08, 0x00];
  return Uint8Array.from([...mac(dst), ...mac('02:00:5e:00:01:0b'), ...type, ...packet]);
}

function frame(s: Sample, i: number): Uint8Array {
  const payload = encodeMessage(s.message, s.key === undefined ? {} : { key: s.key });
  const v6 = s.src.includes(':');
  const packet = v6 ? ipv6Packet(s.src, s.dst, payload) : ipv4Packet(s.src, s.dst, payload, i + 1);
  const broadcast = s.dst === '255.255.255.255';
  return ethernet(
    broadcast ? 'ff:ff:ff:ff:ff:ff' : v6 ? '33:33:00:00:00:01' : '02:00:5e:00:01:0c',
    v6,
    packet,
  );
}

/** A classic libpcap file (microseconds, LINKTYPE_ETHERNET). */
function pcap(frames: Uint8Array[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const records = frames.map((f, i) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(1_700_000_000 + i, 0);
    h.writeUInt32LE(f.length, 8);
    h.writeUInt32LE(f.length, 12);
    return Buffer.concat([h, f]);
  });
  return Buffer.concat([header, ...records]);
}

/* ------------------------------------------ tshark ------------------------------------------ */

/** Every value of field `name` anywhere in `node`, in document order (lists flattened). */
function values(node: unknown, name: string, out: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const v of node) values(v, name, out);
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === name) {
        for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'string') out.push(x);
      }
      if (typeof v === 'object') values(v, name, out);
    }
  }
  return out;
}

const one = (layer: unknown, name: string) => {
  const v = values(layer, name);
  expect(v, name).toHaveLength(1);
  return v[0];
};

const macHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');

describe.skipIf(!hasTshark && !inCi)(
  `the Wireshark dissector shows what we encode${hasTshark ? '' : ' (skipped: tshark not installed)'}`,
  () => {
    let dir = '';
    let layers: TsharkLayers[] = [];
    const encoded = samples.map((s) => encodeMessage(s.message, s.key === undefined ? {} : { key: s.key }));

    function tshark(args: string[], asNobody: boolean) {
      const script = ['-X', `lua_script:${asNobody ? join(dir, 'proxyha-lb.lua') : SCRIPT}`];
      const argv = args[0] === '-G' ? [...args, ...script] : [...script, ...args]; // -G must come first
      return asNobody
        ? spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'tshark', ...argv], {
            encoding: 'utf8',
            maxBuffer: 64 << 20,
            env: { ...process.env, HOME: dir },
            cwd: dir,
          })
        : spawnSync('tshark', argv, { encoding: 'utf8', maxBuffer: 64 << 20 });
    }

    beforeAll(() => {
      if (!hasTshark) return;
      dir = mkdtempSync(join(tmpdir(), 'lb-dissector-'));
      chmodSync(dir, 0o755);
      copyFileSync(SCRIPT, join(dir, 'proxyha-lb.lua'));
      chmodSync(join(dir, 'proxyha-lb.lua'), 0o644);
      const file = join(dir, 'lb.pcap');
      const broken = brokenPayloads().map(([, payload], i) =>
        ethernet(
          'ff:ff:ff:ff:ff:ff',
          false,
          ipv4Packet('192.168.77.11', '255.255.255.255', payload, 100 + i),
        ),
      );
      writeFileSync(file, pcap([...samples.map(frame), ...broken]), { mode: 0o644 });
      const args = ['-r', file, '-T', 'json', '--no-duplicate-keys', '-o', 'ip.check_checksum:TRUE'];
      // Does tshark load the script as we are? (Lua may be refused to root.)
      const loaded = (r: ReturnType<typeof tshark>) => r.status === 0 && /\tproxyha_lb$/m.test(`${r.stdout}`);
      // LB_DISSECTOR_AS_NOBODY=1 forces the fallback (to test it as root)
      const asNobody =
        process.getuid?.() === 0 &&
        (process.env.LB_DISSECTOR_AS_NOBODY === '1' || !loaded(tshark(['-G', 'protocols'], false)));
      if (!loaded(tshark(['-G', 'protocols'], asNobody)))
        throw new Error('tshark does not load dissector/proxyha-lb.lua');
      const r = tshark(args, asNobody);
      if (r.status !== 0) throw new Error(`tshark failed (${r.status}): ${r.stderr}`);
      layers = (JSON.parse(r.stdout) as { _source: { layers: TsharkLayers } }[]).map((p) => p._source.layers);
    });
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('tshark is installed (required under CI) and dissects every frame', () => {
      expect(probe.error ?? probe.status).toBe(0);
      expect(layers).toHaveLength(samples.length + brokenPayloads().length);
    });

    it.each(
      brokenPayloads().map(([name, , message], i) => [name, message, samples.length + i] as const),
    )('flags %s', (_name, message, i) => {
      const lb = layers[i]!.proxyha_lb;
      expect(lb, 'proxyha_lb layer').toBeDefined();
      const messages = values(lb, '_ws.expert.message');
      expect(
        messages.some((m) => m.includes(message)),
        messages.join(' | '),
      ).toBe(true);
      expect(tsharkProblems(layers[i]!).length).toBeGreaterThan(0);
      if (message === 'Bad checksum') expect(one(lb, 'proxyha_lb.checksum.status')).toBe('0');
    });

    it.each(samples.map((s, i) => [s.name, s, i] as const))('%s', (_name, s, i) => {
      const frameLayers = layers[i]!;
      const m = s.message;
      const bytes = encoded[i]!;
      const lb = frameLayers.proxyha_lb;
      expect(lb, 'proxyha_lb layer').toBeDefined();
      expect(one(frameLayers.frame, 'frame.protocols')).toBe(
        s.src.includes(':') ? 'eth:ethertype:ipv6:proxyha_lb' : 'eth:ethertype:ip:proxyha_lb',
      );
      expect(tsharkProblems(frameLayers)).toEqual([]);
      expect(values(frameLayers, '_ws.expert')).toEqual([]);
      expect(JSON.stringify(frameLayers)).not.toContain('_ws.malformed');
      expect(JSON.stringify(frameLayers)).not.toContain('_ws.expert');

      const hex16 = (off: number) =>
        `0x${((bytes[off]! << 8) | bytes[off + 1]!).toString(16).padStart(4, '0')}`;
      expect(one(lb, 'proxyha_lb.version')).toBe('1');
      expect(one(lb, 'proxyha_lb.type')).toBe(m.type === 'announcement' ? '1' : '2');
      expect(one(lb, 'proxyha_lb.group')).toBe(String(m.group));
      const table = m.type === 'announcement' ? m.table : undefined;
      expect(one(lb, 'proxyha_lb.flags')).toBe(`0x0${(s.key ? 1 : 0) + (table ? 2 : 0)}`);
      expect(one(lb, 'proxyha_lb.flags.auth')).toBe(s.key ? '1' : '0');
      expect(one(lb, 'proxyha_lb.flags.table')).toBe(table ? '1' : '0');
      expect(one(lb, 'proxyha_lb.flags.reserved')).toBe('0x00');
      expect(one(lb, 'proxyha_lb.length')).toBe(String(bytes.length));
      expect(one(lb, 'proxyha_lb.checksum')).toBe(hex16(6));
      expect(one(lb, 'proxyha_lb.checksum.status')).toBe('1');
      expect(one(lb, 'proxyha_lb.node_id')).toBe(m.nodeId);
      expect(one(lb, 'proxyha_lb.seq')).toBe(String(m.sequence));
      expect(one(lb, 'proxyha_lb.timestamp')).toBe(String(m.timestamp));
      expect(values(lb, 'proxyha_lb.time')).toHaveLength(1);
      expect(one(lb, 'proxyha_lb.interval')).toBe(String(m.intervalMs));
      const v6 = m.address.includes(':');
      expect(one(lb, 'proxyha_lb.address_family')).toBe(v6 ? '6' : '4');
      expect(one(lb, 'proxyha_lb.reserved')).toBe('0x00');
      expect(one(lb, v6 ? 'proxyha_lb.address6' : 'proxyha_lb.address')).toBe(m.address);
      expect(values(lb, v6 ? 'proxyha_lb.address' : 'proxyha_lb.address6')).toEqual([]);
      expect(one(lb, 'proxyha_lb.name_length')).toBe(String(Buffer.byteLength(m.name)));
      expect(one(lb, 'proxyha_lb.name')).toBe(m.name);

      if (m.type === 'announcement') {
        expect(one(lb, 'proxyha_lb.priority')).toBe(String(m.priority));
        expect(one(lb, 'proxyha_lb.redirect_count')).toBe(String(m.redirects.length));
        expect(values(lb, 'proxyha_lb.redirect.original_port')).toEqual(
          m.redirects.map((r) => String(r.originalPort)),
        );
        expect(values(lb, 'proxyha_lb.redirect.destination_port')).toEqual(
          m.redirects.map((r) => String(r.destinationPort)),
        );
        const t = m.table;
        expect(values(lb, 'proxyha_lb.table.size')).toEqual(t ? [String(t.size)] : []);
        if (t) {
          expect(one(lb, 'proxyha_lb.table.seed')).toBe(`0x${t.seed.toString(16).padStart(8, '0')}`);
          expect(one(lb, 'proxyha_lb.table.member_count')).toBe(String(t.members.length));
          expect(values(lb, 'proxyha_lb.member.node_id')).toEqual(t.members.map((x) => x.nodeId));
          expect([
            ...values(lb, 'proxyha_lb.member.address'),
            ...values(lb, 'proxyha_lb.member.address6'),
          ]).toEqual(t.members.map((x) => x.address));
          expect(values(lb, 'proxyha_lb.member.capacity')).toEqual(t.members.map((x) => String(x.capacity)));
          expect(values(lb, 'proxyha_lb.member.weight')).toEqual(t.members.map((x) => String(x.weight256)));
          expect(values(lb, 'proxyha_lb.member.healthy')).toEqual(
            t.members.map((x) => (x.healthy ? '1' : '0')),
          );
          expect(values(lb, 'proxyha_lb.member.bounded')).toEqual(
            t.members.map((x) => (x.bounded ? '1' : '0')),
          );
        }
      } else {
        expect(one(lb, 'proxyha_lb.health')).toBe(m.health.status === 'ok' ? '0' : '1');
        expect(one(lb, 'proxyha_lb.software_version_length')).toBe(
          String(Buffer.byteLength(m.softwareVersion)),
        );
        expect(one(lb, 'proxyha_lb.software_version')).toBe(m.softwareVersion);
        expect(one(lb, 'proxyha_lb.weight')).toBe(String(m.weight));
        expect(one(lb, 'proxyha_lb.cpu')).toBe(String(Math.round(m.resources.cpu * 1000)));
        expect(one(lb, 'proxyha_lb.memory')).toBe(String(Math.round(m.resources.memory * 1000)));
        expect(one(lb, 'proxyha_lb.load')).toBe(String(Math.round(m.resources.load * 100)));
        expect(one(lb, 'proxyha_lb.failing_port_count')).toBe(String(m.health.failingPorts.length));
        expect(values(lb, 'proxyha_lb.failing_port')).toEqual(m.health.failingPorts.map(String));
        expect(one(lb, 'proxyha_lb.connection_count')).toBe(String(m.connections.length));
        expect(values(lb, 'proxyha_lb.connection.port')).toEqual(m.connections.map((c) => String(c.port)));
        expect(values(lb, 'proxyha_lb.connection.active')).toEqual(
          m.connections.map((c) => String(c.active)),
        );
      }

      if (s.key) {
        expect(one(lb, 'proxyha_lb.auth.key_id')).toBe(String(s.key.id));
        expect(one(lb, 'proxyha_lb.auth.hmac')).toBe(macHex(bytes.subarray(bytes.length - 32)));
      } else {
        expect(values(lb, 'proxyha_lb.auth.key_id')).toEqual([]);
      }
    });
  },
);

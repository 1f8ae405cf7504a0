import { createHmac } from 'node:crypto';
import { internetChecksum } from '@proxyha/common';
import { describe, expect, it } from 'vitest';
import {
  type Announcement,
  decodeMessage,
  encodeMessage,
  LB_AUTH_TRAILER_LENGTH,
  LbError,
  type LbMessage,
  type LoadReport,
  peekGroup,
} from '../src/index';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

/** Recomputes the checksum after a test changed some bytes (so that the check under test is reached). */
function fix(b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  out[6] = 0;
  out[7] = 0;
  const ck = internetChecksum(out);
  out[6] = ck >> 8;
  out[7] = ck & 0xff;
  return out;
}

function setLength(b: Uint8Array, length: number): Uint8Array {
  const out = Uint8Array.from(b);
  out[4] = length >> 8;
  out[5] = length & 0xff;
  return out;
}

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

/* Written by hand from the README's tables. */
const announcementHex = `
  01 01 33 00  003c 5565
  6f1c2b3a 4d5e 4f60 8a7b 9c0d1e2f3a4b
  00000007  0000018b cfe56800  03e8  04 00  c0a84d0b
  64  05 6c622d3031  02  0050 1f90  01bb 20fb`;

const report: LoadReport = {
  type: 'report',
  group: 51,
  nodeId: '0b7d5a2e-1c3f-4a5b-9d8e-7f6a5b4c3d2e',
  address: 'fd77::12',
  sequence: 42,
  timestamp: 1_700_000_000_250,
  intervalMs: 1000,
  name: 'node-b',
  softwareVersion: '0.1.0',
  health: { status: 'failure', failingPorts: [8080] },
  weight: 100,
  resources: { cpu: 0.45, memory: 0.625, load: 1.5 },
  connections: [
    { port: 8080, active: 12 },
    { port: 8443, active: 3 },
  ],
};

const reportHex = `
  01 02 33 00  005e ce27
  0b7d5a2e 1c3f 4a5b 9d8e 7f6a5b4c3d2e
  0000002a  0000018b cfe568fa  03e8  06 00  fd77 0000 0000 0000 0000 0000 0000 0012
  01  06 6e6f64652d62  05 302e312e30  0064 01c2 0271 0096
  01 1f90  02 1f90 0000000c  20fb 00000003`;

function expectError(r: ReturnType<typeof decodeMessage>, code: string, offset?: number, field?: string) {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error).toBeInstanceOf(LbError);
  expect(r.error.code).toBe(code);
  if (offset !== undefined) expect(r.error.details.offset).toBe(offset);
  if (field !== undefined) expect(r.error.details.field).toBe(field);
}

describe('golden vectors', () => {
  it('encodes the announcement byte for byte', () => {
    expect(hex(encodeMessage(announcement))).toBe(hex(bytes(announcementHex)));
  });

  it('decodes the announcement', () => {
    expect(decodeMessage(bytes(announcementHex))).toEqual({ ok: true, value: announcement });
  });

  it('encodes the report byte for byte', () => {
    expect(hex(encodeMessage(report))).toBe(hex(bytes(reportHex)));
  });

  it('decodes the report', () => {
    expect(decodeMessage(bytes(reportHex))).toEqual({ ok: true, value: report });
  });

  it('signs: AUTH flag, length + 33, key id, HMAC over the message with the checksum zeroed', () => {
    const secret = bytes('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    const signed = encodeMessage(announcement, { key: { id: 7, secret } });
    const plain = bytes(announcementHex);
    expect(signed.length).toBe(plain.length + LB_AUTH_TRAILER_LENGTH);
    expect(signed[3]).toBe(0x01);
    expect((signed[4]! << 8) | signed[5]!).toBe(93);
    expect(hex(signed.subarray(8, 60))).toBe(hex(plain.subarray(8)));
    expect(signed[60]).toBe(7);
    const covered = Uint8Array.from(signed.subarray(0, 61));
    covered[6] = 0;
    covered[7] = 0;
    const mac = createHmac('sha256', secret).update(covered).digest();
    expect(hex(signed.subarray(61))).toBe(mac.toString('hex'));
    expect(internetChecksum(signed)).toBe(0);
    expect(decodeMessage(signed)).toEqual({ ok: true, value: announcement });
  });

  it('keeps names byte-exact: multi-byte UTF-8, a leading BOM, the empty string', () => {
    for (const name of ['Knoten-Ü 🚀', '\uFEFFbom', '', 'x'.repeat(64), 'é'.repeat(32)]) {
      const m = { ...announcement, name };
      expect(decodeMessage(encodeMessage(m))).toEqual({ ok: true, value: m });
    }
  });

  it('carries the extremes of every numeric field', () => {
    const m: LoadReport = {
      ...report,
      group: 255,
      address: '255.255.255.255',
      sequence: 2 ** 32 - 1,
      timestamp: Number.MAX_SAFE_INTEGER,
      intervalMs: 65535,
      weight: 65535,
      health: { status: 'ok', failingPorts: [] },
      resources: { cpu: 1, memory: 0, load: 655.35 },
      connections: [{ port: 65535, active: 2 ** 32 - 1 }],
    };
    expect(decodeMessage(encodeMessage(m))).toEqual({ ok: true, value: m });
    const zero = {
      ...announcement,
      group: 1,
      sequence: 0,
      timestamp: 0,
      intervalMs: 1,
      priority: 0,
      redirects: [],
    };
    expect(decodeMessage(encodeMessage(zero))).toEqual({ ok: true, value: zero });
  });

  it('returns the canonical address text', () => {
    const m = { ...announcement, address: 'FD77:0:0:0::0012' };
    const r = decodeMessage(encodeMessage(m));
    expect(r.ok && r.value.address).toBe('fd77::12');
  });

  it('maximal messages stay below 720 bytes (412 and 710 with the trailer)', () => {
    const key = { id: 1, secret: new Uint8Array(32) };
    const list = Array.from({ length: 64 }, (_, i) => i + 1);
    const a: Announcement = {
      ...announcement,
      address: 'fd77::1',
      name: 'n'.repeat(64),
      redirects: list.map((p) => ({ originalPort: p, destinationPort: p })),
    };
    const r: LoadReport = {
      ...report,
      name: 'n'.repeat(64),
      softwareVersion: 'v'.repeat(32),
      health: { status: 'failure', failingPorts: list },
      connections: list.map((port) => ({ port, active: 1 })),
    };
    expect(encodeMessage(a, { key }).length).toBe(412);
    expect(encodeMessage(r, { key }).length).toBe(710);
  });

  it('peekGroup reads the group byte', () => {
    expect(peekGroup(bytes(announcementHex))).toBe(51);
    expect(peekGroup(new Uint8Array(3))).toBeUndefined();
    expect(peekGroup(bytes('0201330000000000'))).toBeUndefined();
  });
});

describe('decode errors', () => {
  const a = bytes(announcementHex);
  const r = bytes(reportHex);

  it('LB_TRUNCATED: short header, short buffer, counts past the end, not bytes at all', () => {
    expectError(decodeMessage(a.subarray(0, 7)), 'LB_TRUNCATED', 7);
    expectError(decodeMessage(a.subarray(0, 59)), 'LB_TRUNCATED', 59);
    expectError(decodeMessage(new Uint8Array(0)), 'LB_TRUNCATED', 0);
    // the redirect count claims 3 entries where 2 fit
    const more = Uint8Array.from(a);
    more[51] = 3;
    expectError(decodeMessage(fix(more)), 'LB_TRUNCATED', 52, 'redirects');
    // a name length running past the end
    const name = Uint8Array.from(a);
    name[45] = 20;
    expectError(decodeMessage(fix(name)), 'LB_TRUNCATED', undefined, 'name');
    expectError(decodeMessage('nope' as unknown as Uint8Array), 'LB_TRUNCATED', 0);
  });

  it('LB_TRAILING_BYTES: after the length, and between the body and the length', () => {
    expectError(decodeMessage(Uint8Array.from([...a, 0])), 'LB_TRAILING_BYTES', 60);
    const padded = fix(setLength(Uint8Array.from([...a, 0, 0]), 62));
    expectError(decodeMessage(padded), 'LB_TRAILING_BYTES', 60);
  });

  it('LB_BAD_VERSION and LB_BAD_TYPE', () => {
    expectError(decodeMessage(fix(Uint8Array.from([2, ...a.subarray(1)]))), 'LB_BAD_VERSION', 0, 'version');
    expectError(decodeMessage(fix(Uint8Array.from([1, 3, ...a.subarray(2)]))), 'LB_BAD_TYPE', 1, 'type');
    expectError(decodeMessage(fix(Uint8Array.from([1, 0, ...a.subarray(2)]))), 'LB_BAD_TYPE', 1);
  });

  it('LB_BAD_CHECKSUM for any flipped bit', () => {
    for (const i of [0x06, 0x0a, 0x2f, 0x3b]) {
      const bad = Uint8Array.from(r);
      bad[i]! ^= 0x10;
      expectError(decodeMessage(bad), 'LB_BAD_CHECKSUM', 6, 'checksum');
    }
  });

  const field = (b: Uint8Array, at: number, v: number) => {
    const out = Uint8Array.from(b);
    out[at] = v;
    return fix(out);
  };

  it('LB_BAD_FIELD names each field', () => {
    expectError(decodeMessage(fix(setLength(a, 46))), 'LB_BAD_FIELD', 4, 'length');
    expectError(decodeMessage(field(a, 2, 0)), 'LB_BAD_FIELD', 2, 'group');
    expectError(decodeMessage(field(a, 3, 0x04)), 'LB_BAD_FIELD', 3, 'flags');
    // the table flag belongs to announcements only
    expectError(decodeMessage(field(r, 3, 0x02)), 'LB_BAD_FIELD', 3, 'flags');
    expectError(decodeMessage(field(a, 28, 0x00 | 0x20)), 'LB_BAD_FIELD', 28, 'timestamp');
    const interval = Uint8Array.from(a);
    interval[36] = 0;
    interval[37] = 0;
    expectError(decodeMessage(fix(interval)), 'LB_BAD_FIELD', 36, 'intervalMs');
    expectError(decodeMessage(field(a, 39, 1)), 'LB_BAD_FIELD', 39, 'reserved');
    expectError(decodeMessage(field(a, 51, 65)), 'LB_BAD_FIELD', 51, 'redirects');
    expectError(decodeMessage(field(a, 53, 0)), 'LB_BAD_FIELD', 52, 'redirects[0].originalPort');
    expectError(
      decodeMessage(field(field(a, 54, 0), 55, 0)),
      'LB_BAD_FIELD',
      54,
      'redirects[0].destinationPort',
    );
    // the second redirect repeats the first original port
    const dup = Uint8Array.from(a);
    dup[56] = 0x00;
    dup[57] = 0x50;
    expectError(decodeMessage(fix(dup)), 'LB_BAD_FIELD', 56, 'redirects[1].originalPort');
    // report: status, cpu, memory, ok with failing ports, duplicate connection port
    expectError(decodeMessage(field(r, 56, 2)), 'LB_BAD_FIELD', 56, 'health.status');
    const cpu = Uint8Array.from(r);
    cpu[72] = 0x03;
    cpu[73] = 0xe9; // 1001 per mille
    expectError(decodeMessage(fix(cpu)), 'LB_BAD_FIELD', 72, 'resources.cpu');
    const mem = Uint8Array.from(r);
    mem[74] = 0xff;
    expectError(decodeMessage(fix(mem)), 'LB_BAD_FIELD', 74, 'resources.memory');
    expectError(decodeMessage(field(r, 56, 0)), 'LB_BAD_FIELD', 78, 'health.failingPorts');
    expectError(decodeMessage(field(r, 78, 65)), 'LB_BAD_FIELD', 78, 'health.failingPorts');
    expectError(decodeMessage(field(field(r, 79, 0), 80, 0)), 'LB_BAD_FIELD', 79, 'health.failingPorts[0]');
    expectError(
      decodeMessage(field(field(r, 88, 0x1f), 89, 0x90)),
      'LB_BAD_FIELD',
      88,
      'connections[1].port',
    );
  });

  it('LB_BAD_FIELD: key id 0 in the trailer', () => {
    const signed = encodeMessage(announcement, { key: { id: 1, secret: new Uint8Array(16) } });
    expectError(decodeMessage(field(signed, 60, 0)), 'LB_BAD_FIELD', 60, 'auth.keyId');
  });

  it('LB_BAD_ADDRESS for a family other than 4 and 6', () => {
    expectError(decodeMessage(field(a, 38, 5)), 'LB_BAD_ADDRESS', 38, 'address');
    expectError(decodeMessage(field(a, 38, 0)), 'LB_BAD_ADDRESS', 38);
  });

  it('LB_BAD_STRING: invalid UTF-8, overlong length', () => {
    expectError(decodeMessage(field(a, 46, 0xff)), 'LB_BAD_STRING', 46, 'name');
    expectError(decodeMessage(field(a, 46, 0xc3)), 'LB_BAD_STRING', 46, 'name'); // a lead byte without its tail
    const surrogate = Uint8Array.from(a);
    surrogate.set([0xed, 0xa0, 0x80], 46); // an encoded surrogate is not UTF-8
    expectError(decodeMessage(fix(surrogate)), 'LB_BAD_STRING', 46);
    // a name longer than 64 bytes: length byte 65, message grown to match
    const long = encodeMessage({ ...announcement, name: 'n'.repeat(64), redirects: [] });
    const grown = Uint8Array.from([...long.subarray(0, 45), 65, ...long.subarray(46, 110), 0x6e, 0]);
    expectError(decodeMessage(fix(setLength(grown, grown.length))), 'LB_BAD_STRING', 45, 'name');
    // a software version longer than 32 bytes
    const v = Uint8Array.from(r);
    v[64] = 33;
    expectError(decodeMessage(fix(v)), 'LB_BAD_STRING', 64, 'softwareVersion');
  });

  it('errors carry no stack trace and serialize', () => {
    const e = decodeMessage(a.subarray(0, 3));
    expect(e.ok).toBe(false);
    if (!e.ok)
      expect(JSON.parse(JSON.stringify(e.error))).toMatchObject({
        code: 'LB_TRUNCATED',
        details: { offset: 3 },
      });
  });
});

describe('encoder validation', () => {
  function issues(msg: unknown, options?: unknown): string[] {
    try {
      encodeMessage(msg as LbMessage, options as never);
    } catch (e) {
      expect(e).toBeInstanceOf(LbError);
      expect((e as LbError).code).toBe('LB_INVALID_ARGUMENT');
      return ((e as LbError).details.issues as { path: string }[]).map((i) => i.path);
    }
    throw new Error('encodeMessage accepted the message');
  }

  it('names every bad header path', () => {
    expect(
      issues({
        ...announcement,
        group: 0,
        nodeId: 'not-a-uuid',
        address: '192.168.77.300',
        sequence: -1,
        timestamp: 1.5,
        intervalMs: 0,
        name: 'x'.repeat(65),
        priority: 256,
      }),
    ).toEqual(['group', 'nodeId', 'address', 'sequence', 'timestamp', 'intervalMs', 'name', 'priority']);
    expect(issues({ ...announcement, type: 'hello' })).toEqual(['type']);
    expect(issues(null)).toContain('(root)');
    expect(issues({ ...announcement, name: 'a\uD800b' })).toEqual(['name']);
    expect(issues({ ...announcement, address: 'fe80::1%eth0' })).toEqual(['address']);
  });

  it('names bad list entries', () => {
    expect(
      issues({
        ...announcement,
        redirects: [
          { originalPort: 0, destinationPort: 1 },
          { originalPort: 80, destinationPort: 70000 },
          { originalPort: 80, destinationPort: 1 },
          null,
        ],
      }),
    ).toEqual([
      'redirects[1].destinationPort',
      'redirects[3]',
      'redirects[0].originalPort',
      'redirects[2].originalPort',
      'redirects[3].originalPort',
    ]);
    expect(
      issues({
        ...announcement,
        redirects: Array.from({ length: 65 }, (_, i) => ({ originalPort: i + 1, destinationPort: 1 })),
      }),
    ).toEqual(['redirects']);
    expect(issues({ ...announcement, redirects: 'all' })).toEqual(['redirects']);
  });

  it('names bad report fields', () => {
    expect(
      issues({
        ...report,
        softwareVersion: 'v'.repeat(33),
        health: { status: 'ok', failingPorts: [8080, 8080] },
        weight: 65536,
        resources: { cpu: 1.1, memory: -0.1, load: 655.36 },
        connections: [{ port: 1, active: 2 ** 32 }],
      }),
    ).toEqual([
      'softwareVersion',
      'health.failingPorts[1]',
      'health.failingPorts',
      'weight',
      'resources.cpu',
      'resources.memory',
      'resources.load',
      'connections[0].active',
    ]);
    expect(issues({ ...report, health: { status: 'dead', failingPorts: [] } })).toEqual(['health.status']);
    expect(issues({ ...report, health: undefined, resources: null })).toEqual(['health', 'resources']);
    expect(issues({ ...report, resources: { cpu: Number.NaN, memory: 0, load: 0 } })).toEqual([
      'resources.cpu',
    ]);
  });

  it('names bad keys', () => {
    expect(issues(announcement, { key: { id: 0, secret: new Uint8Array(15) } })).toEqual([
      'options.key.id',
      'options.key.secret',
    ]);
  });

  it('the message lists every issue', () => {
    try {
      encodeMessage({ ...announcement, group: 300, priority: -1 });
    } catch (e) {
      expect((e as Error).message).toBe(
        'director message: invalid configuration:\n  group: must be an integer 1..255 (got 300)\n  priority: must be an integer 0..255 (got -1)',
      );
    }
    expect.assertions(1);
  });
});

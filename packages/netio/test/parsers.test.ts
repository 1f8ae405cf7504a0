import { endianness } from 'node:os';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../src/linux/ipv4';
import {
  assemble,
  dumpRequest,
  NL,
  parseAddress,
  parseAttributes,
  parseLink,
  splitMessages,
} from '../src/linux/netlink';

const LE = endianness() === 'LE';

describe('parseIpv4', () => {
  it('parses the keepalived VRRPv2 vector', () => {
    const hex = '45c0002800010000ff70ccdec0a84d0be00000122133630100016dd7c0a84d4a0000000000000000';
    const h = parseIpv4(Buffer.from(hex, 'hex'));
    expect(h).toEqual({
      headerLength: 20,
      totalLength: 40,
      ttl: 255,
      protocol: 112,
      source: '192.168.77.11',
      destination: '224.0.0.18',
    });
  });

  it('honours options (IHL > 5) and rejects non-IPv4', () => {
    const b = Buffer.alloc(28);
    b[0] = 0x46;
    b.writeUInt16BE(28, 2);
    expect(parseIpv4(b)?.headerLength).toBe(24);
    b[0] = 0x65;
    expect(parseIpv4(b)).toBeUndefined();
    expect(parseIpv4(Buffer.alloc(19))).toBeUndefined();
  });

  it('never throws and stays within bounds on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const h = parseIpv4(bytes);
        if (h) expect(h.headerLength).toBeLessThanOrEqual(h.totalLength);
        if (h) expect(h.totalLength).toBeLessThanOrEqual(bytes.length);
      }),
    );
  });
});

/** Builds a netlink message the way the kernel lays it out. */
function message(type: number, seq: number, body: Buffer): Buffer {
  const len = 16 + body.length;
  const m = Buffer.alloc((len + 3) & ~3);
  if (LE) {
    m.writeUInt32LE(len, 0);
    m.writeUInt16LE(type, 4);
    m.writeUInt32LE(seq, 8);
  } else {
    m.writeUInt32BE(len, 0);
    m.writeUInt16BE(type, 4);
    m.writeUInt32BE(seq, 8);
  }
  body.copy(m, 16);
  return m;
}

function attr(type: number, value: Buffer): Buffer {
  const a = Buffer.alloc((4 + value.length + 3) & ~3);
  if (LE) {
    a.writeUInt16LE(4 + value.length, 0);
    a.writeUInt16LE(type, 2);
  } else {
    a.writeUInt16BE(4 + value.length, 0);
    a.writeUInt16BE(type, 2);
  }
  value.copy(a, 4);
  return a;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(v, 0);
  else b.writeUInt32BE(v, 0);
  return b;
}

describe('rtnetlink parsing', () => {
  const ifinfo = Buffer.alloc(16);
  ifinfo.set(u32(7), 4); // index
  ifinfo.set(u32(0x1 | 0x40), 8); // IFF_UP | IFF_RUNNING
  const link = Buffer.concat([
    ifinfo,
    attr(3, Buffer.from('eth0\0')),
    attr(1, Buffer.from([2, 0, 0, 0, 0, 0x11])),
    attr(4, u32(1400)),
  ]);
  const ifaddr4 = Buffer.concat([
    Buffer.from([2, 24, 0, 0]),
    u32(7),
    attr(1, Buffer.from([192, 168, 77, 11])),
    attr(2, Buffer.from([192, 168, 77, 11])),
  ]);
  const v6 = Buffer.alloc(16);
  v6.writeUInt16BE(0xfe80, 0);
  v6[15] = 1;
  const ifaddr6 = Buffer.concat([Buffer.from([10, 64, 0, 0xfd]), u32(7), attr(1, v6)]);

  it('parses links and addresses and assembles them', () => {
    const data = Buffer.concat([
      message(NL.RTM_NEWLINK, 5, link),
      message(NL.RTM_NEWADDR, 5, ifaddr4),
      message(NL.RTM_NEWADDR, 5, ifaddr6),
      message(NL.NLMSG_DONE, 5, u32(0)),
    ]);
    const msgs = splitMessages(data);
    expect(msgs.map((m) => m.type)).toEqual([NL.RTM_NEWLINK, NL.RTM_NEWADDR, NL.RTM_NEWADDR, NL.NLMSG_DONE]);
    const l = parseLink(msgs[0]!.body)!;
    const a = [parseAddress(msgs[1]!.body)!, parseAddress(msgs[2]!.body)!];
    expect(assemble([l], a)).toEqual([
      {
        index: 7,
        name: 'eth0',
        mac: '02:00:00:00:00:11',
        mtu: 1400,
        up: true,
        running: true,
        ipv4: [{ address: '192.168.77.11', prefixLength: 24 }],
        ipv6: [{ address: 'fe80::1', prefixLength: 64 }],
      },
    ]);
  });

  it('builds dump requests with REQUEST|DUMP flags', () => {
    const req = dumpRequest(NL.RTM_GETLINK, 9);
    const [m] = splitMessages(req);
    expect(m).toMatchObject({ type: NL.RTM_GETLINK, flags: NL.NLM_F_REQUEST | NL.NLM_F_DUMP, seq: 9 });
    expect(req.length).toBe(32);
    expect(dumpRequest(NL.RTM_GETADDR, 1).length).toBe(24);
  });

  it('never throws on random or truncated bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const b = Buffer.from(bytes);
        for (const m of splitMessages(b)) {
          parseLink(m.body);
          parseAddress(m.body);
        }
        parseAttributes(b);
        parseLink(b);
        parseAddress(b);
      }),
    );
    const good = message(NL.RTM_NEWLINK, 1, link);
    for (let cut = 0; cut < good.length; cut++) {
      for (const m of splitMessages(good.subarray(0, cut))) parseLink(m.body);
    }
  });
});

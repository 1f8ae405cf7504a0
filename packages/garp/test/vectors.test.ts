import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeFrame,
  type GarpFrameInit,
  gratuitousArp,
  unsolicitedNeighborAdvertisement,
} from '../src/index';
import { fromHex, toHex, VMAC4_51, VMAC6_51, vector, vectors } from './helpers';
import { tsharkView } from './tshark-view';

const NAMES = ['ka-garp-request', 'frr-garp', 'ka-ipv6-unsolicited-na', 'frr-unsolicited-na'];

/** Builds our encoder's input from tshark's field values only (not from our decoder). */
function initFromTshark(d: Record<string, string | number | string[]>): GarpFrameInit {
  const s = (k: string) => {
    const v = d[k];
    if (typeof v !== 'string') throw new Error(`${k} missing`);
    return v;
  };
  const n = (k: string) => Number(d[k]);
  const ethernet = { dst: s('eth.dst'), src: s('eth.src') };
  if (s('eth.type') === '0x0806')
    return {
      kind: 'arp',
      ethernet,
      arp: {
        operation: n('arp.opcode') === 1 ? 'request' : 'reply',
        senderMac: s('arp.src.hw_mac'),
        senderIp: s('arp.src.proto_ipv4'),
        targetMac: s('arp.dst.hw_mac'),
        targetIp: s('arp.dst.proto_ipv4'),
      },
    };
  return {
    kind: 'na',
    ethernet,
    na: {
      src: s('ipv6.src'),
      dst: s('ipv6.dst'),
      hopLimit: n('ipv6.hlim'),
      trafficClass: Number.parseInt(s('ipv6.tclass'), 16),
      flowLabel: Number.parseInt(s('ipv6.flow'), 16),
      router: n('icmpv6.nd.na.flag.r') === 1,
      solicited: n('icmpv6.nd.na.flag.s') === 1,
      override: n('icmpv6.nd.na.flag.o') === 1,
      target: s('icmpv6.nd.na.target_address'),
      targetLinkLayerAddress: s('icmpv6.opt.linkaddr'),
    },
  };
}

describe('captured keepalived and FRR announcement vectors', () => {
  it('has the four vectors', () => {
    expect(vectors.map((v) => v.name).sort()).toEqual([...NAMES].sort());
  });

  for (const name of NAMES) {
    describe(name, () => {
      const v = vector(name);
      const bytes = fromHex(v.hex);

      it('encodes byte for byte from the fields tshark decoded', () => {
        expect(toHex(encodeFrame(initFromTshark(v.decoded)))).toBe(v.hex);
        expect(bytes.length).toBe(v.length);
      });

      it('decodes to every field tshark decoded', () => {
        const r = decodeFrame(bytes);
        if (!r.ok) throw r.error;
        const view = tsharkView(r.value, bytes.length);
        const expected = Object.fromEntries(
          Object.entries(v.decoded).filter(([k]) => !k.startsWith('_ws.col.')),
        );
        // every protocol field of the vector is compared, none silently skipped
        expect(Object.keys(view).sort()).toEqual(Object.keys(expected).sort());
        expect(view).toEqual(expected);
      });
    });
  }

  it('gratuitousArp() builds exactly what keepalived sends (interface MAC)', () => {
    const v = vector('ka-garp-request');
    const f = gratuitousArp({ mac: '46:CB:2C:84:DB:0F', ip: '192.168.77.74' });
    expect(toHex(encodeFrame(f))).toBe(v.hex);
  });

  it('gratuitousArp() with the VMAC builds exactly what FRR sends', () => {
    const v = vector('frr-garp');
    const f = gratuitousArp({ mac: VMAC4_51, ip: '192.168.77.74' });
    expect(toHex(encodeFrame(f))).toBe(v.hex);
  });

  it('unsolicitedNeighborAdvertisement() builds exactly what keepalived sends (no router flag)', () => {
    const v = vector('ka-ipv6-unsolicited-na');
    const f = unsolicitedNeighborAdvertisement({ mac: '46:cb:2c:84:db:0f', ip: 'fd77:0:0:0::74' });
    expect(toHex(encodeFrame(f))).toBe(v.hex);
  });

  it('unsolicitedNeighborAdvertisement() with the IPv6 VMAC and router flag builds exactly what FRR sends', () => {
    const v = vector('frr-unsolicited-na');
    const f = unsolicitedNeighborAdvertisement({ mac: VMAC6_51, ip: 'fd77::74', router: true });
    expect(toHex(encodeFrame(f))).toBe(v.hex);
  });
});

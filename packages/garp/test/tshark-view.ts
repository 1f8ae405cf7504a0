import { type GarpFrame, isGratuitousArp } from '../src/index';

const hex = (v: number, width: number) => `0x${v.toString(16).padStart(width, '0')}`;

/**
 * Our decoded frame expressed as tshark 4.0 field names and value formats, for comparison with the
 * `decoded` fields of a vector or with `tshark -T json` output.
 */
export function tsharkView(f: GarpFrame, frameLen: number): Record<string, string | number> {
  const out: Record<string, string | number> = {
    'frame.len': frameLen,
    'eth.dst': f.ethernet.dst,
    'eth.src': f.ethernet.src,
  };
  if (f.kind === 'arp') {
    const a = f.arp;
    Object.assign(out, {
      'eth.type': '0x0806',
      'arp.hw.type': 1,
      'arp.proto.type': '0x0800',
      'arp.hw.size': 6,
      'arp.proto.size': 4,
      'arp.opcode': a.operation === 'request' ? 1 : 2,
      'arp.src.hw_mac': a.senderMac,
      'arp.src.proto_ipv4': a.senderIp,
      'arp.dst.hw_mac': a.targetMac,
      'arp.dst.proto_ipv4': a.targetIp,
    });
    if (isGratuitousArp(a)) out['arp.isgratuitous'] = 1;
  } else {
    const n = f.na;
    Object.assign(out, {
      'eth.type': '0x86dd',
      'ipv6.version': 6,
      'ipv6.tclass': hex(n.trafficClass, 8),
      'ipv6.flow': hex(n.flowLabel, 6),
      'ipv6.plen': 24 + (n.targetLinkLayerAddress === undefined ? 0 : 8),
      'ipv6.nxt': 58,
      'ipv6.hlim': n.hopLimit,
      'ipv6.src': n.src,
      'ipv6.dst': n.dst,
      'icmpv6.type': 136,
      'icmpv6.code': 0,
      'icmpv6.checksum': hex(n.checksum, 4),
      'icmpv6.checksum.status': 'Good',
      'icmpv6.nd.na.flag.r': n.router ? 1 : 0,
      'icmpv6.nd.na.flag.s': n.solicited ? 1 : 0,
      'icmpv6.nd.na.flag.o': n.override ? 1 : 0,
      'icmpv6.nd.na.target_address': n.target,
    });
    if (n.targetLinkLayerAddress !== undefined) {
      out['icmpv6.opt.type'] = 2;
      out['icmpv6.opt.linkaddr'] = n.targetLinkLayerAddress;
    }
  }
  return out;
}

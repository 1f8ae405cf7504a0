/**
 * Gratuitous ARP and unsolicited neighbour advertisements.
 *
 * - Codecs: Ethernet II, ARP (RFC 826) and the IPv6 Neighbor Advertisement (RFC 4861) with its ICMPv6
 *   checksum. Decoders never throw: they return a {@link DecodeResult} with a {@link GarpError} carrying a
 *   stable code.
 * - Frames as keepalived and FRR send them: {@link gratuitousArp} and {@link unsolicitedNeighborAdvertisement}.
 * - {@link AnnouncementSchedule}: keepalived's announcement timing (bursts, second burst, refresh,
 *   per-interface rate limits, reassertion when another node still claims the addresses) as a pure
 *   machine: time in, frames out.
 * - {@link Announcer}: the driver that runs the schedule on timers, hands frames to a {@link FrameSender}
 *   and logs keepalived's lines; {@link PacketSocketSender} sends over `@proxyha/netio` AF_PACKET sockets,
 *   {@link MemoryFrameSink} records frames for tests.
 *
 * It knows nothing of VRRP states: the caller says when to start, reassert and stop.
 *
 * @packageDocumentation
 */

export { type ArpOperation, type ArpPacket, decodeArp, encodeArp, isGratuitousArp } from './codec/arp';
export {
  type GratuitousArpOptions,
  gratuitousArp,
  type UnsolicitedNaOptions,
  unsolicitedNeighborAdvertisement,
} from './codec/builders';
export {
  ALL_NODES_IPV6,
  ALL_NODES_MAC,
  BROADCAST_MAC,
  decodeEthernet,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV6,
  type EthernetFrame,
  type EthernetHeader,
  encodeEthernet,
} from './codec/ethernet';
export { decodeFrame, encodeFrame, type GarpFrame, type GarpFrameInit } from './codec/frame';
export {
  decodeNeighborAdvertisement,
  encodeNeighborAdvertisement,
  type NeighborAdvertisement,
  type NeighborAdvertisementInit,
} from './codec/neighbor';
export {
  Announcer,
  type AnnouncerOptions,
  type AnnouncerStats,
  type FrameSender,
  formatBurstNotice,
  type GarpLogger,
} from './driver/announcer';
export { MemoryFrameSink, type SentFrame } from './driver/memory-sink';
export { type PacketSocketLike, type PacketSocketOpener, PacketSocketSender } from './driver/packet-sender';
export { type DecodeResult, GarpError, type GarpErrorCode } from './errors';
export {
  type AnnouncePolicy,
  type AnnouncePolicyInput,
  AnnouncePolicyInputSchema,
  type BurstPolicy,
  type BurstPolicyInput,
  BurstPolicyInputSchema,
  DEFAULT_POLICY,
  type InterfaceRate,
  parseAnnouncePolicy,
} from './machine/policy';
export {
  AnnouncementSchedule,
  type AnnounceRequest,
  type BurstNotice,
  type BurstReason,
  type DueFrame,
  type PollResult,
} from './machine/schedule';

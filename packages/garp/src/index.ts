/**
 * Gratuitous ARP and unsolicited neighbour advertisements.
 *
 * - Codecs (`src/codec`): Ethernet II, ARP (RFC 826) and the IPv6 Neighbor Advertisement (RFC 4861) with
 *   its ICMPv6 checksum. Decoders never throw: they return a `Result` (from `@proxyha/common`) whose error is
 *   a {@link GarpError} with a stable code and `details.offset`.
 * - Frames as keepalived and FRR send them: {@link gratuitousArp} and {@link unsolicitedNeighborAdvertisement}.
 * - The machine (`src/machine`): {@link AnnouncementSchedule}, keepalived's announcement timing (bursts,
 *   second burst, refresh, per-interface rate limits, reassertion when another node still claims the
 *   addresses) as a pure machine: time in, frames out; {@link parseAnnouncePolicy} validates its policy.
 * - The driver (`src/driver`): {@link Announcer} runs the schedule on a `Clock`'s timers, hands frames to a
 *   {@link FrameSender} and logs keepalived's lines to a `Logger`; {@link PacketSocketSender} sends over
 *   `@proxyha/netio` AF_PACKET sockets, {@link MemoryFrameSink} records frames for tests.
 *
 * It knows nothing of VRRP: the caller says which MAC to announce for which addresses, and when to start,
 * reassert and stop.
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
} from './driver/announcer';
export { MemoryFrameSink, type SentFrame } from './driver/memory-sink';
export { type PacketSocketLike, type PacketSocketOpener, PacketSocketSender } from './driver/packet-sender';
export {
  GARP_ERRORS,
  type GarpDecodeDetails,
  GarpError,
  type GarpErrorCode,
  type GarpIssueDetails,
} from './errors';
export {
  type AnnouncePolicy,
  type AnnouncePolicyInput,
  type BurstPolicy,
  type BurstPolicyInput,
  DEFAULT_ANNOUNCE_POLICY,
  type InterfaceRate,
  parseAnnouncePolicy,
} from './machine/policy';
export {
  type AnnouncementPoll,
  AnnouncementSchedule,
  type AnnounceRequest,
  type BurstNotice,
  type BurstReason,
  type DueFrame,
} from './machine/schedule';

// The messages of the director protocol (IP protocol 253), as typed objects.

/** IP protocol number of the director protocol. */
export const LB_IP_PROTOCOL = 253;
/** The protocol version this implementation speaks. */
export const LB_PROTOCOL_VERSION = 1;
/** The default load-balancing group id (the seed's MFEND_LBID). */
export const DEFAULT_LB_GROUP = 51;

/** One redirect: connections to `originalPort` on the VIP go to `destinationPort` on the chosen node. */
export interface Redirect {
  /** The port clients connect to on the VIP, 1..65535. */
  readonly originalPort: number;
  /** The port of the chosen node's proxy, 1..65535. */
  readonly destinationPort: number;
}

/** Fields every message carries. */
export interface MessageHeader {
  /** Load-balancing group id, 1..255 (default 51). Messages of another group are ignored. */
  readonly group: number;
  /** The sender's node id: a UUID in its canonical lower-case text form. */
  readonly nodeId: string;
  /** The sender's management address (its own address, never a VIP), IPv4 or IPv6 text. */
  readonly address: string;
  /** The sender's message counter, 0..2^32-1, incremented per message sent (wraps). */
  readonly sequence: number;
  /** The sender's wall clock when it sent the message, in ms since the epoch (integer). */
  readonly timestamp: number;
  /** The sender's send interval in ms, 1..65535. */
  readonly intervalMs: number;
}

/** The director's broadcast: "I am the director of this group, these are the redirects". */
export interface Announcement extends MessageHeader {
  /** Discriminator. */
  readonly type: 'announcement';
  /** The director's name (UTF-8, at most 64 bytes). */
  readonly name: string;
  /**
   * The director's priority (0..255; the VRRP priority of the instance holding the VIP, or the configured
   * one). Used only by the split-brain rule: scanners follow the highest priority, then the highest address.
   */
  readonly priority: number;
  /** The redirects the director serves (at most 64). */
  readonly redirects: readonly Redirect[];
  /**
   * The table the director has in force, as the inputs that rebuild it exactly (optional; carried when it
   * fits one packet). Scanning nodes keep it so that a new director starts with the same table: see
   * {@link AnnouncedTable}.
   */
  readonly table?: AnnouncedTable | undefined;
}

/**
 * The director's bucket table as the inputs that rebuild it bit for bit: the scheduler's table is a pure
 * function of the member ids, their effective weights, which members are bounded, the size and the seed.
 * A new director adopts it at takeover, so that clients keep their node when the VIP moves.
 */
export interface AnnouncedTable {
  /** Number of buckets (a prime, 2..2^32-1). */
  readonly size: number;
  /** Seed of the client-address hash (u32). */
  readonly seed: number;
  /** Every member the table refers to, sorted by node id (at most 64). */
  readonly members: readonly AnnouncedMember[];
}

/** One member of an {@link AnnouncedTable}. */
export interface AnnouncedMember {
  /** Node id (UUID text). */
  readonly nodeId: string;
  /** Its management address (where its clients go). */
  readonly address: string;
  /** Static capacity weight from its reports, 0..65535. */
  readonly capacity: number;
  /**
   * Effective weight the table was built with, in 1/256 units (capacity x quantised load factor x 256;
   * 0 when unhealthy), 0..2^32-1.
   */
  readonly weight256: number;
  /** False while it is drained (reports failure, or refused a connection). */
  readonly healthy: boolean;
  /** True while the bounded-load rule keeps new clients off it. */
  readonly bounded: boolean;
}

/** A node's health as its health monitor reports it: all redirect ports as a whole. */
export interface ReportedHealth {
  /** `ok` when every destination port answers, `failure` when any one does not. */
  readonly status: 'ok' | 'failure';
  /** The failing destination ports (empty when ok; at most 64). */
  readonly failingPorts: readonly number[];
}

/** Resource use of a node. */
export interface ResourceUse {
  /** CPU busy share over the last interval, 0..1 (carried in per mille). */
  readonly cpu: number;
  /** Memory in use, 0..1 (carried in per mille). */
  readonly memory: number;
  /** The 1-minute load average divided by the number of CPUs, 0..655.35 (carried in hundredths). */
  readonly load: number;
}

/** Active connections on one destination port of a node. */
export interface PortConnections {
  /** The destination port. */
  readonly port: number;
  /** Established connections on it, 0..2^32-1. */
  readonly active: number;
}

/** A scanning node's unicast report to the director. */
export interface LoadReport extends MessageHeader {
  /** Discriminator. */
  readonly type: 'report';
  /** The node's name (UTF-8, at most 64 bytes). */
  readonly name: string;
  /** The node's software version (UTF-8, at most 32 bytes), e.g. `0.1.0`. */
  readonly softwareVersion: string;
  /** The node's health. */
  readonly health: ReportedHealth;
  /** Static capacity weight, 0..65535 (0: never chosen). */
  readonly weight: number;
  /** Resource use. */
  readonly resources: ResourceUse;
  /** Active connections per destination port (at most 64 entries). */
  readonly connections: readonly PortConnections[];
}

/** Any message of the director protocol. */
export type LbMessage = Announcement | LoadReport;

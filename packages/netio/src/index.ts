/**
 * Raw packet I/O for Node on Linux.
 *
 * IPv4/IPv6 raw sockets for one IP protocol (VRRP's 112, the director's 253) with
 * multicast, TTL 255 and receive metadata, AF_PACKET Ethernet frames, and interface
 * facts, behind interfaces that have in-memory twins for tests.
 *
 * @packageDocumentation
 */

export {};

/**
 * Gratuitous ARP and unsolicited neighbour advertisements.
 *
 * ARP (RFC 826) and IPv6 neighbour advertisement (RFC 4861) codecs and the
 * announcement schedule that follows every VIP move.
 *
 * @packageDocumentation
 */

export {};

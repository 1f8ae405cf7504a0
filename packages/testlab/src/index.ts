/**
 * proxyha's network test lab (private).
 *
 * Linux network namespaces joined by a bridge, real peers (keepalived, FRR,
 * chronyd, tinyproxy, socat), tcpdump captures dissected by tshark, and packet loss
 * with nftables; everything it creates is removed again.
 *
 * @packageDocumentation
 */

export {};

/**
 * Port health monitor.
 *
 * Probes every redirect port of a node and reports the node as a whole: ok when
 * all ports answer, failure when any one does not.
 *
 * @packageDocumentation
 */

export {};

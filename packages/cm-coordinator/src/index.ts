/**
 * Central management coordinator.
 *
 * Replicates policy and admin accounts between nodes over mutual TLS, with node
 * identity, groups and conflict resolution.
 *
 * Status: node identity, transport, store and replication arrive with the central
 * management issue; this release contains no API yet.
 *
 * @packageDocumentation
 */

export {};

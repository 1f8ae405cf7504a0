/**
 * The VRRP network simulator: several {@link SimNetwork} routers running the real state machine on a
 * virtual clock, with per-link loss, delay, jitter, partitions, crashes and restarts, and the golden
 * scenario scripts of {@link runScenario}.
 *
 * @packageDocumentation
 */
export {
  type SimAnnounceRecord,
  type SimDiscardRecord,
  type SimLifecycleRecord,
  type SimLink,
  type SimLogRecord,
  SimNetwork,
  type SimNetworkOptions,
  type SimRecord,
  type SimRecordBase,
  type SimRouterSpec,
  type SimRouterState,
  type SimSendRecord,
  type SimStats,
  type SimTransitionRecord,
  type SimVipsRecord,
} from './network';
export { runScenario } from './scenario';

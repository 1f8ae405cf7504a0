/**
 * The VRRP network simulator: several {@link SimNetwork} routers running the real state machine on a
 * virtual clock, with per-link loss, delay, jitter, partitions, crashes and restarts, and the golden
 * scenario scripts of {@link runScenario}.
 *
 * @packageDocumentation
 */
export {
  type SimLink,
  SimNetwork,
  type SimNetworkOptions,
  type SimRecord,
  type SimRouterSpec,
  type SimRouterState,
  type SimStats,
} from './network';
export { runScenario } from './scenario';

// Public surface of the VRRP network simulator.
export {
  type SimLink,
  SimNetwork,
  type SimNetworkOptions,
  type SimRecord,
  type SimRouterSpec,
  type SimRouterState,
  type SimStats,
} from './network';

export { type AcceptModeFilter, type CommandRunner, NftAcceptModeFilter } from './accept-filter';
export { RawTransport, type RawTransportOptions } from './raw-transport';
export {
  type AnnounceHook,
  type AnnounceRequest,
  type RouterTransition,
  type VrrpLogger,
  VrrpRouter,
  type VrrpRouterEvents,
  type VrrpRouterOptions,
} from './router';
export {
  type AdvertMeta,
  type AdvertTransport,
  LoopbackTransport,
  type LoopbackTransportOptions,
} from './transport';
export {
  LoopbackOwnerVipManager,
  MemoryVipManager,
  StackVipManager,
  type VipManager,
  type VipSpec,
} from './vips';

export {
  type AnnounceHook,
  type DroppedMessage,
  type RouterTransition,
  type VipAnnouncement,
  VrrpRouter,
  type VrrpRouterEvents,
  type VrrpRouterOptions,
} from './router';
export {
  type AdvertMeta,
  type AdvertTransport,
  MemoryAdvertBus,
  type MemoryAdvertBusStats,
} from './transport';
export { type AcceptModeFilter, MemoryVipManager, type VipManager, type VipSpec } from './vips';

// The public API of the wire codec: message types, encoder, decoder, authentication.

export {
  LB_DEFAULT_AUTH_WINDOW_MS,
  LB_MIN_SECRET_BYTES,
  LB_REJECT_CODES,
  type LbKeyRing,
  type LbRejectCode,
  LbVerifier,
  type LbVerifierOptions,
  type LbVerifierStats,
  parseKeyFile,
  readKeyFile,
} from './auth';
export type { LbDecodeDetails, LbIssueDetails } from './fail';
export {
  decodeMessage,
  encodeMessage,
  LB_AUTH_TRAILER_LENGTH,
  LB_FIXED_HEADER_LENGTH,
  LB_FLAG_AUTH,
  LB_MAC_LENGTH,
  LB_MAX_LIST_ENTRIES,
  LB_MAX_NAME_BYTES,
  LB_MAX_VERSION_BYTES,
  LB_TYPE_ANNOUNCEMENT,
  LB_TYPE_REPORT,
  type LbEncodeOptions,
  type LbKey,
  peekGroup,
} from './message';
export {
  decodeProxyHeader,
  encodeProxyHeader,
  PROXY_V1_MAX_LENGTH,
  PROXY_V2_SIGNATURE,
  type ProxyAddresses,
  type ProxyDecodeOutcome,
  type ProxyHeader,
  type ProxyTlv,
} from './proxy-protocol';
export * from './types';

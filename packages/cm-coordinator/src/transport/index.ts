// Public API of the transport: the listener, the client, peer connections and the log line format.
export { type ConnectPeerOptions, connectPeer, type PeerAddress, parsePeerAddress } from './client';
export {
  DEFAULT_CM_PORT,
  type OutgoingMessage,
  type PeerConnection,
  type PeerHandshake,
  type PeerOptions,
} from './connection';
export { type ConnectFailureReason, formatNodeRequestFailed, type NodeRequestFailure } from './log';
export { CmServer, type CmServerOptions } from './server';

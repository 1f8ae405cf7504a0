import { fromNative, type NetioError, NetioSystemError } from '../errors';
import type { NativeSocket } from './addon';
import { type NetlinkMessage, splitMessages } from './netlink';

const REPLY_TIMEOUT_MS = 5000;
let seqCounter = 1;

/**
 * What a reply handler says about one message of its request: `'done'` ends the exchange,
 * an error ends it with that error, `undefined` reads on.
 */
export type ReplyVerdict = 'done' | NetioError | undefined;

/**
 * One rtnetlink request and its replies on an open NETLINK_ROUTE socket: sends the message
 * built for a fresh sequence number, hands every reply with that number to `onReply` until
 * it says done or fails, and gives up after 5 s. Reading stops when the exchange ends.
 */
export function rtnetlinkExchange(
  socket: NativeSocket,
  build: (seq: number) => Buffer,
  what: string,
  onReply: (msg: NetlinkMessage) => ReplyVerdict,
): Promise<void> {
  const seq = seqCounter++ & 0x7fffffff;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new NetioSystemError(what, 'ETIMEDOUT', 'recvmsg')),
      REPLY_TIMEOUT_MS,
    );
    const finish = (error?: NetioError) => {
      clearTimeout(timer);
      socket.stopReading();
      if (error) reject(error);
      else resolve();
    };
    socket.startReading(
      (batch) => {
        for (const [data] of batch) {
          for (const msg of splitMessages(data)) {
            if (msg.seq !== seq) continue;
            const verdict = onReply(msg);
            if (verdict === 'done') return finish();
            if (verdict) return finish(verdict);
          }
        }
      },
      (error) => finish(fromNative(error, what, 'CAP_NET_ADMIN')),
    );
    try {
      socket.send(build(seq));
    } catch (error) {
      finish(fromNative(error, `${what} (request)`, 'CAP_NET_ADMIN'));
    }
  });
}

/** The errno of an NLMSG_ERROR message (0 for an acknowledgement). */
export function netlinkErrno(msg: NetlinkMessage, littleEndian: boolean): number {
  if (msg.body.length < 4) return 0;
  return -(littleEndian ? msg.body.readInt32LE(0) : msg.body.readInt32BE(0));
}

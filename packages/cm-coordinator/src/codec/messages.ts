// The message envelope, the handshake messages and a registry of body validators; zod stays inside.
import { type ConfigIssue, err, issuesFromSchema, ok, type Result } from '@proxyha/common';
import { z } from 'zod';
import { CmError, type CmErrorCode } from '../errors';
import type { NodeIdentity } from '../machine/types';
import { encodeCmFrame, FrameDecoder, type FrameOptions } from './frame';

/** Version of the wire protocol this package speaks (the `protocol` of a hello). */
export const CM_PROTOCOL_VERSION = 1;

/**
 * One message between nodes, JSON in one frame.
 *
 * @typeParam T - the type name
 * @typeParam B - the body
 */
export interface CmEnvelope<T extends string = string, B = unknown> {
  /** The type: `hello`, `hello-ack`, `error`, `ping`, `pong`, or one registered by the replication layer. */
  readonly type: T;
  /** Request id: a response carries the id of its request. */
  readonly id?: string;
  /** The sender's wall clock when it sent the message, ms since the epoch. */
  readonly clock: number;
  /** The body; an object. */
  readonly body: B;
}

/** Body of `hello`, the first message of a connection, from the connecting node. */
export interface HelloBody {
  /** The sender's protocol version ({@link CM_PROTOCOL_VERSION}). */
  readonly protocol: number;
  /** Who the sender is; `uuid` must equal the UUID of its certificate. */
  readonly node: NodeIdentity;
  /** The sender's cluster addresses (IPs or DNS names, optionally with `:port`). */
  readonly addresses: readonly string[];
  /** UUID of the node the sender means to reach, when it knows it. */
  readonly to?: string;
  /**
   * Why it connects: `add` for "add node" (accepted whatever the network groups, for the adopt that follows;
   * the adding node closes the connection when the two share no group). Default: to talk as peers.
   */
  readonly purpose?: 'add';
}

/** Body of `hello-ack`, the answer to a `hello` that is accepted: the connection is then up. */
export interface HelloAckBody {
  /** The protocol version both sides speak from now on. */
  readonly protocol: number;
  /** Who the answering node is; `uuid` must equal the UUID of its certificate. */
  readonly node: NodeIdentity;
  /** The answering node's cluster addresses. */
  readonly addresses: readonly string[];
  /** The `clock` of the hello it answers, so that the connecting node can measure the round trip. */
  readonly helloClock: number;
}

/**
 * Numbered errors on the wire. 301 and 405 are the seed's (`301 - 'cannot connect'`,
 * `405 - 'time difference too high'`); the others are this package's.
 */
export const WIRE_ERROR_TEXTS = Object.freeze({
  /** `CM_CANNOT_CONNECT` (the seed's), also any unknown number. */
  301: 'cannot connect',
  /** `CM_BAD_MESSAGE`: a message that does not parse or check. */
  400: 'bad message',
  /** `CM_CERTIFICATE`: the peer's certificate does not match the identity it claims. */
  403: 'identity mismatch',
  /** `CM_TIME_DIFFERENCE_TOO_HIGH` (the seed's): the clocks differ too much. */
  405: 'time difference too high',
  /** `CM_BAD_FRAME`: a frame over the size limit, or not UTF-8 JSON. */
  413: 'frame too large',
  /** `CM_NO_SHARED_NETWORK_GROUP`: the two nodes share no network group, so they do not talk directly. */
  409: 'no shared network group',
  /** `CM_UNREACHABLE_NODES`: adding the node would leave nodes that cannot reach each other. */
  422: 'invalid node path matrix',
  /** `CM_INCOMPATIBLE_VERSION`: no common protocol version. */
  426: 'incompatible version',
  /** Any error code without a number of its own. */
  500: 'internal error',
} as const);

/** A code of {@link WIRE_ERROR_TEXTS}. */
export type WireErrorCode = keyof typeof WIRE_ERROR_TEXTS;

/** Body of `error`: why the sender refuses or drops the connection (without an `id`), or fails a request. */
export interface ErrorBody {
  /** The number, e.g. 301 or 405 (see {@link WIRE_ERROR_TEXTS}; unknown numbers are kept). */
  readonly code: number;
  /** Its text, e.g. `time difference too high`. */
  readonly text: string;
  /** Detail for the logs. */
  readonly detail?: string;
}

/** The messages of the handshake and the keepalive, which the transport itself handles. */
export type HandshakeMessage =
  | CmEnvelope<'hello', HelloBody>
  | CmEnvelope<'hello-ack', HelloAckBody>
  | CmEnvelope<'error', ErrorBody>
  | CmEnvelope<'ping', Record<string, never>>
  | CmEnvelope<'pong', Record<string, never>>;

const WIRE_BY_CM: Readonly<Partial<Record<CmErrorCode, WireErrorCode>>> = {
  CM_CANNOT_CONNECT: 301,
  CM_BAD_MESSAGE: 400,
  CM_CERTIFICATE: 403,
  CM_TIME_DIFFERENCE_TOO_HIGH: 405,
  CM_BAD_FRAME: 413,
  CM_INCOMPATIBLE_VERSION: 426,
  CM_NO_SHARED_NETWORK_GROUP: 409,
  CM_UNREACHABLE_NODES: 422,
};

/**
 * The wire number of an error code (`CM_CANNOT_CONNECT` is 301, `CM_TIME_DIFFERENCE_TOO_HIGH` 405, codes
 * without a number 500).
 *
 * @param code - the error code
 */
export function wireCodeOf(code: CmErrorCode): WireErrorCode {
  return WIRE_BY_CM[code] ?? 500;
}

/**
 * The error code of a wire number (301 is `CM_CANNOT_CONNECT`, 405 `CM_TIME_DIFFERENCE_TOO_HIGH`; an
 * unknown number is `CM_CANNOT_CONNECT`).
 *
 * @param code - the number
 */
export function cmCodeOfWire(code: number): CmErrorCode {
  for (const [cm, wire] of Object.entries(WIRE_BY_CM)) if (wire === code) return cm as CmErrorCode;
  return 'CM_CANNOT_CONNECT';
}

/**
 * Checks a message body; returns it (possibly normalised) or the issues, with paths relative to the body.
 *
 * @typeParam B - the checked body
 */
export type BodyValidator<B = unknown> = (body: unknown) => Result<B, readonly ConfigIssue[]>;

/** Anything with zod's `safeParse` shape (a schema), for {@link bodyValidator}. */
export interface SafeParser<B> {
  /** Checks `value`. */
  safeParse(value: unknown):
    | {
        /** The value is valid. */
        readonly success: true;
        /** The parsed value. */
        readonly data: B;
      }
    | {
        /** The value is not valid. */
        readonly success: false;
        /** Why. */
        readonly error: {
          /** What is wrong, and where. */
          readonly issues: readonly SafeParserIssue[];
        };
      };
}

/** One issue of a {@link SafeParser}. */
export interface SafeParserIssue {
  /** Path of the offending value. */
  readonly path: readonly PropertyKey[];
  /** What is wrong. */
  readonly message: string;
}

/**
 * Turns a schema (anything with zod's `safeParse`) into a {@link BodyValidator}, so that modules that keep
 * their schemas private can register their message types.
 *
 * @param schema - the schema of the body
 */
export function bodyValidator<B>(schema: SafeParser<B>): BodyValidator<B> {
  return (body) => {
    const r = schema.safeParse(body);
    return r.success ? ok(r.data) : err(issuesFromSchema(r.error.issues, body));
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const UUID = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be a lower-case UUID');
const ADDRESSES = z.array(z.string().min(1).max(300)).max(64);
const NODE = z.object({
  uuid: UUID,
  name: z.string().min(1).max(64),
  priority: z.number().int().min(1).max(1000),
  version: z.string().min(1).max(64),
  groups: z.array(z.string().min(1).max(64)).min(1).max(64).optional(),
});
const PROTOCOL = z.number().int().min(1).max(65535);
const CLOCK = z.number().finite().min(0);

const HELLO = z.object({
  protocol: PROTOCOL,
  node: NODE,
  addresses: ADDRESSES,
  to: UUID.optional(),
  purpose: z.literal('add').optional(),
});
const HELLO_ACK = z.object({ protocol: PROTOCOL, node: NODE, addresses: ADDRESSES, helloClock: CLOCK });
const ERROR = z.object({
  code: z.number().int().min(100).max(999),
  text: z.string().max(200),
  detail: z.string().max(8192).optional(),
});
const EMPTY = z.object({});

const ENVELOPE = z.object({
  type: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'must be a message type name'),
  id: z.string().min(1).max(128).optional(),
  clock: CLOCK,
  // checked in place, not copied: a body may be a whole policy
  body: z.custom<Record<string, unknown>>((v) => isPlainObject(v), 'must be an object'),
});

const objectBody: BodyValidator = (body) =>
  isPlainObject(body) ? ok(body) : err([{ path: '(root)', message: 'must be an object' }]);

/** Message types the transport handles itself. */
export const HANDSHAKE_TYPES: readonly string[] = Object.freeze([
  'hello',
  'hello-ack',
  'error',
  'ping',
  'pong',
]);

/**
 * The message types a node accepts, each with the validator of its body. A new registry knows the
 * handshake types ({@link HANDSHAKE_TYPES}); the replication layer registers its own. A message of a type
 * that is not registered is `CM_BAD_MESSAGE`.
 */
export class MessageRegistry {
  readonly #validators = new Map<string, BodyValidator>([
    ['hello', bodyValidator(HELLO)],
    ['hello-ack', bodyValidator(HELLO_ACK)],
    ['error', bodyValidator(ERROR)],
    ['ping', bodyValidator(EMPTY)],
    ['pong', bodyValidator(EMPTY)],
  ]);

  /**
   * Registers a message type.
   *
   * @param type - the name (lower case, `[a-z][a-z0-9_.-]*`, at most 64 characters)
   * @param validator - checks the body; default: the body must be an object (deep checks happen later)
   * @returns this registry
   * @throws CmError `CM_INVALID_ARGUMENT` for a bad name or a handshake type
   */
  register(type: string, validator: BodyValidator = objectBody): this {
    if (!/^[a-z][a-z0-9_.-]{0,63}$/.test(type) || HANDSHAKE_TYPES.includes(type))
      throw new CmError('CM_INVALID_ARGUMENT', `cannot register message type ${JSON.stringify(type)}`, {
        details: { type },
      });
    this.#validators.set(type, validator);
    return this;
  }

  /** Whether a type is registered. */
  has(type: string): boolean {
    return this.#validators.has(type);
  }

  /** The registered types. */
  types(): string[] {
    return [...this.#validators.keys()];
  }

  /**
   * Checks a parsed JSON value as a message: the envelope, a registered type, and its body.
   *
   * @param value - the parsed JSON
   * @returns the message, or `CM_BAD_MESSAGE` with `details.issues` (paths from the envelope)
   */
  validate(value: unknown): Result<CmEnvelope, CmError> {
    const env = ENVELOPE.safeParse(value);
    if (!env.success)
      return err(badMessage('bad message envelope', issuesFromSchema(env.error.issues, value)));
    const { type, id, clock, body } = env.data;
    const validator = this.#validators.get(type);
    if (validator === undefined)
      return err(
        badMessage(
          `unknown message type ${JSON.stringify(type)}`,
          [{ path: 'type', message: 'unknown type' }],
          type,
        ),
      );
    let checked: Result<unknown, readonly ConfigIssue[]>;
    try {
      checked = validator(body);
    } catch (cause) {
      checked = err([{ path: '(root)', message: `validator failed: ${(cause as Error).message}` }]);
    }
    if (!checked.ok)
      return err(
        badMessage(
          `bad ${type} message`,
          checked.error.map((i) => ({
            path: i.path === '(root)' ? 'body' : `body.${i.path}`,
            message: i.message,
          })),
          type,
        ),
      );
    return ok(
      id === undefined ? { type, clock, body: checked.value } : { type, id, clock, body: checked.value },
    );
  }
}

function badMessage(message: string, issues: readonly ConfigIssue[], type?: string): CmError {
  const first = issues[0];
  const text = first ? `${message}: ${first.path}: ${first.message}` : message;
  return new CmError('CM_BAD_MESSAGE', text, {
    details: type === undefined ? { issues } : { type, issues },
    stack: false,
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses one frame payload into a message.
 *
 * @param payload - the payload (UTF-8 JSON)
 * @param registry - the accepted types; default the handshake types only
 * @returns the message; `CM_BAD_FRAME` when the payload is not UTF-8 JSON, `CM_BAD_MESSAGE` when it is
 *   not a valid message of a registered type
 */
export function decodeCmMessage(
  payload: Uint8Array,
  registry: MessageRegistry = defaultRegistry(),
): Result<CmEnvelope, CmError> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(payload));
  } catch (cause) {
    return err(
      new CmError('CM_BAD_FRAME', `bad frame: not UTF-8 JSON (${(cause as Error).message})`, {
        details: { length: payload.length },
        cause,
        stack: false,
      }),
    );
  }
  return registry.validate(value);
}

let shared: MessageRegistry | undefined;
function defaultRegistry(): MessageRegistry {
  shared ??= new MessageRegistry();
  return shared;
}

/**
 * Encodes a message as one frame. The message is not validated (the sender builds it); a `body` that JSON
 * cannot represent (a bigint, a cycle) is `CM_BAD_MESSAGE`.
 *
 * @param message - the message
 * @param options - the size limit
 * @throws CmError `CM_BAD_FRAME` when the encoding exceeds `maxFrameBytes`; `CM_BAD_MESSAGE` when it
 *   cannot be encoded
 */
export function encodeCmMessage(message: CmEnvelope, options?: FrameOptions): Buffer {
  let json: string;
  try {
    json = JSON.stringify(
      message.id === undefined
        ? { type: message.type, clock: message.clock, body: message.body }
        : { type: message.type, id: message.id, clock: message.clock, body: message.body },
    );
  } catch (cause) {
    throw new CmError(
      'CM_BAD_MESSAGE',
      `cannot encode a ${message.type} message: ${(cause as Error).message}`,
      {
        cause,
        details: { type: message.type },
      },
    );
  }
  return encodeCmFrame(Buffer.from(json, 'utf8'), options);
}

/** What {@link MessageDecoder.push} found in the bytes so far. */
export interface MessageBatch {
  /** Complete, valid messages, in order. */
  readonly messages: CmEnvelope[];
  /**
   * Set when the stream broke (`CM_BAD_FRAME`) or a message is invalid (`CM_BAD_MESSAGE`); the messages
   * before it are still returned, and the decoder refuses further input.
   */
  readonly error?: CmError;
}

/** Options of {@link MessageDecoder}. */
export interface MessageDecoderOptions extends FrameOptions {
  /** The accepted types; default the handshake types only. */
  readonly registry?: MessageRegistry;
}

/**
 * A {@link FrameDecoder} that also parses and validates each frame. The first bad frame or message stops
 * it: a peer that sends garbage is dropped rather than resynchronised.
 */
export class MessageDecoder {
  readonly #frames: FrameDecoder;
  readonly #registry: MessageRegistry;
  #error: CmError | undefined;

  /** @param options - size limit and registry */
  constructor(options: MessageDecoderOptions = {}) {
    this.#frames = new FrameDecoder(options);
    this.#registry = options.registry ?? defaultRegistry();
  }

  /** Whether a frame has started but is not complete. */
  get midFrame(): boolean {
    return this.#frames.midFrame;
  }

  /** Bytes received but not yet decoded. */
  get buffered(): number {
    return this.#frames.buffered;
  }

  /**
   * Adds received bytes; returns the messages they complete.
   *
   * @param chunk - the bytes, as received
   */
  push(chunk: Uint8Array): MessageBatch {
    if (this.#error) return { messages: [], error: this.#error };
    const batch = this.#frames.push(chunk);
    const messages: CmEnvelope[] = [];
    for (const frame of batch.frames) {
      const r = decodeCmMessage(frame, this.#registry);
      if (!r.ok) {
        this.#error = r.error;
        return { messages, error: r.error };
      }
      messages.push(r.value);
    }
    if (batch.error) {
      this.#error = batch.error;
      return { messages, error: batch.error };
    }
    return { messages };
  }
}

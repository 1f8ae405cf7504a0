// Length-prefixed frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
import { CmError } from '../errors';

/** Default largest frame payload: 64 MiB, room for big policies. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** Largest value `maxFrameBytes` may take (the length prefix is 32-bit; Node buffers stop earlier). */
const MAX_LIMIT = 0xffff_ffff;

/** Options of {@link FrameDecoder} and the encoders. */
export interface FrameOptions {
  /** Largest accepted payload in bytes (without the 4-byte prefix); default {@link DEFAULT_MAX_FRAME_BYTES}. */
  readonly maxFrameBytes?: number;
}

/** What {@link FrameDecoder.push} found in the bytes so far. */
export interface FrameBatch {
  /** Complete payloads, in order. */
  readonly frames: Uint8Array[];
  /** Set when the stream is broken (`CM_BAD_FRAME`); the decoder then refuses further input. */
  readonly error?: CmError;
}

/** The checked `maxFrameBytes` of options (internal). */
export function maxFrameBytesOf(options: FrameOptions | undefined): number {
  const max = options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isInteger(max) || max < 1 || max > MAX_LIMIT)
    throw new CmError(
      'CM_INVALID_ARGUMENT',
      `maxFrameBytes must be an integer in [1, ${MAX_LIMIT}] (got ${max})`,
      {
        details: { maxFrameBytes: max },
      },
    );
  return max;
}

/**
 * Prefixes a payload with its length.
 *
 * @param payload - the bytes (UTF-8 JSON)
 * @param options - the size limit
 * @throws CmError `CM_BAD_FRAME` when the payload is empty or larger than `maxFrameBytes`
 */
export function encodeCmFrame(payload: Uint8Array, options?: FrameOptions): Buffer {
  const max = maxFrameBytesOf(options);
  if (payload.length === 0 || payload.length > max)
    throw new CmError('CM_BAD_FRAME', `frame of ${payload.length} bytes is outside 1..${max} bytes`, {
      details: { length: payload.length, maxFrameBytes: max },
    });
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Cuts a byte stream into frames. Feed it every chunk as it arrives: it copes with frames split over
 * chunks, several frames in one chunk, and a prefix split over chunks, and copies a payload only when it
 * spans chunks. A length of 0 or above `maxFrameBytes` breaks the stream: {@link FrameDecoder.push}
 * returns `CM_BAD_FRAME` (without reading the payload) and the connection should be closed.
 */
export class FrameDecoder {
  readonly #max: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #length = -1;
  #error: CmError | undefined;

  /** @param options - the size limit */
  constructor(options?: FrameOptions) {
    this.#max = maxFrameBytesOf(options);
  }

  /** Bytes received but not yet returned as a frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Whether a frame has started (its prefix or part of its payload is buffered) but is not complete. */
  get midFrame(): boolean {
    return this.#buffered > 0 || this.#length >= 0;
  }

  /** The error that broke the stream, if any. */
  get error(): CmError | undefined {
    return this.#error;
  }

  /**
   * Adds received bytes; returns the frames they complete.
   *
   * @param chunk - the bytes, as received
   */
  push(chunk: Uint8Array): FrameBatch {
    if (this.#error) return { frames: [], error: this.#error };
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.#length < 0) {
        if (this.#buffered < FRAME_HEADER_BYTES) break;
        const head = this.#take(FRAME_HEADER_BYTES);
        const length =
          (((head[0] ?? 0) << 24) | ((head[1] ?? 0) << 16) | ((head[2] ?? 0) << 8) | (head[3] ?? 0)) >>> 0;
        if (length === 0 || length > this.#max) {
          this.#error = new CmError(
            'CM_BAD_FRAME',
            length === 0
              ? 'bad frame: length 0'
              : `bad frame: length ${length} exceeds the limit of ${this.#max} bytes`,
            { details: { length, maxFrameBytes: this.#max }, stack: false },
          );
          this.#chunks = [];
          this.#buffered = 0;
          return { frames, error: this.#error };
        }
        this.#length = length;
      }
      if (this.#buffered < this.#length) break;
      frames.push(this.#take(this.#length));
      this.#length = -1;
    }
    return { frames };
  }

  /** Removes and returns the first `n` buffered bytes (n <= buffered). */
  #take(n: number): Uint8Array {
    this.#buffered -= n;
    const first = this.#chunks[0] as Uint8Array;
    if (first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0] as Uint8Array;
      const k = Math.min(c.length, n - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    return out;
  }
}

// Small byte helpers shared by the codecs.
import { checkInteger } from '@proxyha/common';
import { fieldError } from '../errors';

export function u16(b: Uint8Array, o: number): number {
  return ((b[o] as number) << 8) | (b[o + 1] as number);
}

export function u32(b: Uint8Array, o: number): number {
  return (
    (((b[o] as number) << 24) |
      ((b[o + 1] as number) << 16) |
      ((b[o + 2] as number) << 8) |
      (b[o + 3] as number)) >>>
    0
  );
}

export function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}

/**
 * Checks a numeric field to encode.
 *
 * @throws GarpError `GARP_INVALID_ARGUMENT`
 */
export function checkInt(path: string, v: number, min: number, max: number): void {
  const r = checkInteger(v, min, max);
  if (!r.ok) throw fieldError('GARP_INVALID_ARGUMENT', path, r.error);
}

// Small byte helpers shared by the codecs.
import { GarpError } from '../errors';

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

export function checkInt(field: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new GarpError('GARP_BAD_FIELD', `${field}: must be an integer ${min}..${max} (got ${String(v)})`);
}

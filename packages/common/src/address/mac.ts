// Ethernet MAC addresses: text <-> bytes.

const HEX = '0123456789abcdef';
const MAC = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;

/**
 * Parses `aa:bb:cc:dd:ee:ff` (or dash-separated, any case) into 6 bytes; `undefined` for anything else.
 *
 * @param text - the address
 */
export function parseMac(text: unknown): Uint8Array | undefined {
  const m = typeof text === 'string' ? MAC.exec(text) : null;
  if (!m) return undefined;
  const out = new Uint8Array(6);
  const parts = [m[1], m[3], m[4], m[5], m[6], m[7]];
  for (let i = 0; i < 6; i++) out[i] = Number.parseInt(parts[i] as string, 16);
  return out;
}

/**
 * Formats 6 bytes at `off` as lower-case `aa:bb:cc:dd:ee:ff`.
 *
 * @param bytes - source bytes
 * @param off - offset in `bytes`
 */
export function formatMac(bytes: Uint8Array, off = 0): string {
  let s = '';
  for (let i = 0; i < 6; i++) {
    const v = (bytes[off + i] ?? 0) as number;
    s += (i ? ':' : '') + HEX[v >> 4] + HEX[v & 15];
  }
  return s;
}

/**
 * The canonical form (lower case, colons) of a MAC address, or `undefined` when the text is not one.
 *
 * @param text - the address
 */
export function canonicalMac(text: unknown): string | undefined {
  const bytes = parseMac(text);
  return bytes && formatMac(bytes);
}

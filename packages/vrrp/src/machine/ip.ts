// IPv4/IPv6 text <-> unsigned integer, for the RFC 5798 §6.4.3 tie-break ("unsigned integer
// comparison of the IPvX addresses in network byte order") and for comparing address lists.
// Hand-written (a few lines, no dependency) because the machine must stay pure and portable.

/** A parsed IP address: its family, its value as an unsigned integer in network byte order, and its canonical text. */
export interface ParsedIp {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** The address as an unsigned integer (32 or 128 bits). */
  readonly value: bigint;
  /** Canonical text: dotted quad, or RFC 5952 compressed lower-case IPv6 (no zone). */
  readonly text: string;
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255 || (part.length > 1 && part.startsWith('0'))) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseV6(input: string): bigint | undefined {
  let text = input;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (text.length === 0) return undefined;
  const words: number[] = [];
  let tail = text;
  // An embedded IPv4 address in the last 32 bits (::ffff:192.0.2.1).
  let v4: bigint | undefined;
  const lastColon = tail.lastIndexOf(':');
  if (lastColon >= 0 && tail.slice(lastColon + 1).includes('.')) {
    v4 = parseV4(tail.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = `${tail.slice(0, lastColon + 1)}0:0`;
  }
  const halves = tail.split('::');
  if (halves.length > 2) return undefined;
  const parseWords = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const w of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(w)) return undefined;
      out.push(Number.parseInt(w, 16));
    }
    return out;
  };
  const head = parseWords(halves[0] ?? '');
  if (head === undefined) return undefined;
  if (halves.length === 2) {
    const rest = parseWords(halves[1] ?? '');
    if (rest === undefined || head.length + rest.length > 7) return undefined;
    words.push(...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest);
  } else {
    if (head.length !== 8) return undefined;
    words.push(...head);
  }
  let value = 0n;
  for (const w of words) value = (value << 16n) | BigInt(w);
  if (v4 !== undefined) value = (value & ~0xffffffffn) | v4;
  return value;
}

function v6Text(value: bigint): string {
  const words: number[] = [];
  for (let i = 7; i >= 0; i--) words.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (>= 2) of zero words, the first one on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/**
 * Parses an IPv4 or IPv6 address (an IPv6 zone such as `%eth0` is ignored). Returns `undefined` for
 * anything else.
 */
export function parseIp(text: string): ParsedIp | undefined {
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  if (trimmed.includes(':')) {
    const value = parseV6(trimmed);
    return value === undefined ? undefined : { family: 6, value, text: v6Text(value) };
  }
  const value = parseV4(trimmed);
  if (value === undefined) return undefined;
  return { family: 4, value, text: trimmed };
}

/** Parses an address that may carry a prefix length (`192.168.77.74/24`); the prefix is dropped. */
export function parseIpWithPrefix(text: string): ParsedIp | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return parseIp(text);
  const prefix = text.slice(slash + 1);
  const ip = parseIp(text.slice(0, slash));
  if (ip === undefined || !/^\d{1,3}$/.test(prefix)) return undefined;
  if (Number(prefix) > (ip.family === 4 ? 32 : 128)) return undefined;
  return ip;
}

/** Unsigned comparison of two addresses of the same family: negative, zero or positive. */
export function compareIp(a: ParsedIp, b: ParsedIp): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

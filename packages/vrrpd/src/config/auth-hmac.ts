// The `authHmac` block of an instance (keepalived's `auth_hmac`): validation (zod, internal) and key
// material. Key files are read while the configuration is validated, so that `-t` checks them too and a
// bad one is a configuration issue naming its path.
import { readFileSync } from 'node:fs';
import { parseDuration } from '@proxyha/common';
import { z } from 'zod';

/** One key of {@link AuthHmacConfig} (keepalived's `key <id> <value>` / `key <id> file:<path>`). */
export interface AuthHmacKeyConfig {
  /** Key id 1..255, carried in every signed advert. */
  readonly id: number;
  /** The key: 32 to 64 bytes (from `key`, or read from `keyFile`). */
  readonly key: Uint8Array;
  /** The file it was read from, if any (the daemon warns when others may read it). */
  readonly keyFile?: string | undefined;
}

/**
 * HMAC authentication of an instance's adverts (draft-cassen-vrrp-auth-hmac; keepalived's `auth_hmac`).
 * Every node of the virtual router needs the same keys under the same ids.
 */
export interface AuthHmacConfig {
  /** The key ring: every key verifies; several during a rotation. Ids unique. */
  readonly keys: readonly AuthHmacKeyConfig[];
  /** Id of the key adverts are signed with (keepalived's `active_key`). */
  readonly activeKey: number;
  /** keepalived's `mode`: `enforce` (default), `permissive` or `receive-only`. */
  readonly mode: 'enforce' | 'permissive' | 'receive-only';
  /** keepalived's `anti_replay`: `time` (default; clocks in sync) or `monotonic`. */
  readonly antiReplay: 'time' | 'monotonic';
  /**
   * keepalived's `time_window` in ms (whole seconds, 1 s to 300 s). Unset: 3 × the advert interval in whole
   * seconds, at least 5 s (keepalived's default).
   */
  readonly timeWindow?: number | undefined;
}

const KEY_MIN = 32;
const KEY_MAX = 64;
/** keepalived reads at most this much of a key file: `hex:`, 128 digits and some slack. */
const FILE_MAX = 4 + 2 * KEY_MAX + 8;

/** Bytes of a key value as keepalived reads it: `hex:` and hex digits, otherwise the text's own bytes. */
function keyBytes(value: Uint8Array, where: string): { bytes?: Uint8Array; problem?: string } {
  const text = Buffer.from(value).toString('latin1');
  let bytes: Uint8Array = value;
  if (text.startsWith('hex:')) {
    const digits = text.slice(4).replace(/[ \t]/g, '');
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits))
      return { problem: `${where}: hex: needs an even number of hex digits` };
    bytes = new Uint8Array(Buffer.from(digits, 'hex'));
  }
  if (bytes.length < KEY_MIN || bytes.length > KEY_MAX)
    return {
      problem: `${where} is ${bytes.length} bytes, a key needs ${KEY_MIN} to ${KEY_MAX} (openssl rand -hex 32)`,
    };
  return { bytes };
}

/** Reads a key file as keepalived does (a trailing line end dropped); a problem names the path. */
function readKeyFile(path: string): { bytes?: Uint8Array; problem?: string } {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return { problem: `cannot read key file ${path} (${code})` };
  }
  if (raw.length > FILE_MAX) return { problem: `key file ${path} is too large (${raw.length} bytes)` };
  let n = raw.length;
  while (n > 0 && (raw[n - 1] === 0x0a || raw[n - 1] === 0x0d)) n--;
  return keyBytes(new Uint8Array(raw.subarray(0, n)), `the key in ${path}`);
}

// the value is never echoed in a message: it is a secret
const secret = { valueShown: true };

const key = z
  .strictObject({
    id: z.number().int().min(1).max(255),
    key: z.string().optional(),
    keyFile: z.string().min(1).optional(),
  })
  .transform((k, ctx) => {
    if ((k.key === undefined) === (k.keyFile === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'needs exactly one of key and keyFile', params: secret });
      return z.NEVER;
    }
    const r =
      k.keyFile !== undefined ? readKeyFile(k.keyFile) : keyBytes(new TextEncoder().encode(k.key), 'key');
    if (!r.bytes) {
      ctx.addIssue({
        code: 'custom',
        path: [k.keyFile !== undefined ? 'keyFile' : 'key'],
        message: r.problem as string,
        params: secret,
      });
      return z.NEVER;
    }
    const out: AuthHmacKeyConfig = { id: k.id, key: r.bytes, ...(k.keyFile ? { keyFile: k.keyFile } : {}) };
    return out;
  });

const window = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const r = parseDuration(v, { max: 300_000 });
  if (!r.ok || r.value % 1000 !== 0 || r.value < 1000) {
    ctx.addIssue({
      code: 'custom',
      message: r.ok ? `must be whole seconds from 1s to 300s, got ${r.value} ms` : r.error,
      params: { valueShown: true },
    });
    return z.NEVER;
  }
  return r.value;
});

/** The `authHmac` block. @internal */
export const authHmacSchema = z
  .strictObject({
    keys: z.array(key).min(1),
    activeKey: z.number().int().min(1).max(255).optional(),
    mode: z.enum(['enforce', 'permissive', 'receive-only']).default('enforce'),
    antiReplay: z.enum(['time', 'monotonic']).default('time'),
    timeWindow: window.optional(),
  })
  .transform((a, ctx): AuthHmacConfig => {
    const ids = new Set<number>();
    a.keys.forEach((k, i) => {
      if (ids.has(k.id))
        ctx.addIssue({ code: 'custom', path: ['keys', i, 'id'], message: `key id ${k.id} is used twice` });
      ids.add(k.id);
    });
    let activeKey = a.activeKey;
    if (activeKey === undefined) {
      if (a.keys.length === 1) activeKey = (a.keys[0] as AuthHmacKeyConfig).id;
      else ctx.addIssue({ code: 'custom', path: ['activeKey'], message: 'required with several keys' });
    } else if (!ids.has(activeKey))
      ctx.addIssue({ code: 'custom', path: ['activeKey'], message: `no key with id ${activeKey}` });
    return {
      keys: a.keys,
      activeKey: activeKey ?? 0,
      mode: a.mode,
      antiReplay: a.antiReplay,
      ...(a.timeWindow === undefined ? {} : { timeWindow: a.timeWindow }),
    };
  });

/**
 * The freshness window of an instance in whole seconds: `timeWindow`, else keepalived's default
 * `max(3 × advert interval in whole seconds, 5)`, at most 300.
 *
 * @param inst - the instance's advert interval (ms) and authHmac block
 */
export function authHmacWindowSec(inst: {
  readonly advertInterval: number;
  readonly authHmac?: AuthHmacConfig | undefined;
}): number {
  const set = inst.authHmac?.timeWindow;
  if (set !== undefined) return set / 1000;
  return Math.min(300, Math.max(5, 3 * Math.floor(inst.advertInterval / 1000)));
}

/** A reload's description of a changed authHmac block (`authHmac active key 1 -> 2`), without secrets. */
export function describeAuthHmacChange(
  was: AuthHmacConfig | undefined,
  now: AuthHmacConfig | undefined,
): string {
  if (!was) return 'authHmac added';
  if (!now) return 'authHmac removed';
  const parts: string[] = [];
  const ids = (a: AuthHmacConfig) => a.keys.map((k) => k.id).join(',');
  if (ids(was) !== ids(now)) parts.push(`keys ${ids(was)} -> ${ids(now)}`);
  const changedKeys = now.keys
    .filter((k) => {
      const old = was.keys.find((o) => o.id === k.id);
      return old !== undefined && Buffer.compare(Buffer.from(old.key), Buffer.from(k.key)) !== 0;
    })
    .map((k) => k.id);
  if (changedKeys.length) parts.push(`key ${changedKeys.join(',')} replaced`);
  const movedFiles = now.keys
    .filter((k) => {
      const old = was.keys.find((o) => o.id === k.id);
      return old !== undefined && old.keyFile !== k.keyFile && !changedKeys.includes(k.id);
    })
    .map((k) => k.id);
  if (movedFiles.length) parts.push(`key ${movedFiles.join(',')} read from another file`);
  if (was.activeKey !== now.activeKey) parts.push(`active key ${was.activeKey} -> ${now.activeKey}`);
  if (was.mode !== now.mode) parts.push(`mode ${was.mode} -> ${now.mode}`);
  if (was.antiReplay !== now.antiReplay) parts.push(`anti-replay ${was.antiReplay} -> ${now.antiReplay}`);
  if (was.timeWindow !== now.timeWindow) parts.push('timeWindow changed');
  return `authHmac ${parts.length ? parts.join(', ') : 'changed'}`;
}

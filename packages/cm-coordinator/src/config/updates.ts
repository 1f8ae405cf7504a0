// The `updates` section of a proxyha-cm configuration: the update sources (lists, engines) this node keeps,
// and how it gets them (from the internet, from the nodes of its update groups). Zod stays inside.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { parseDuration, resultOrIssue } from '@proxyha/common';
import { z } from 'zod';

/**
 * One update source: a file (a URL filter list, an engine, a signature database) that the nodes of an update
 * group download from the internet once and share. Its integrity is checked in one of two ways:
 *
 * - `sha256`: the file's SHA-256 is fixed in the configuration (a pinned file; its version is `version`);
 * - `publicKey` + `manifest`: the source publishes a small JSON manifest `{ "version", "sha256", "size" }`
 *   (optionally `"url"`, where that version's file is) and the Ed25519 signature of the manifest's exact
 *   bytes, base64, at `<manifest>.sig`. A node checks the signature with `publicKey`, then the file's
 *   SHA-256 and size against the manifest. A node that receives the file from a peer gets the manifest and
 *   its signature with it and checks both the same way, with its own key.
 */
export interface UpdateSourceConfig {
  /** The list's name, the same on every node (`[A-Za-z0-9._-]`, 1..64 characters). */
  readonly name: string;
  /** Where the file is downloaded from (http or https). */
  readonly url: string;
  /** The file's SHA-256 (64 hex digits, lower case) when the content is pinned; else undefined. */
  readonly sha256: string | undefined;
  /** The version of a pinned file (default `sha256:` and the first 12 hex digits of `sha256`). */
  readonly version: string | undefined;
  /** URL of the signed manifest (http or https), with `publicKey`; else undefined. */
  readonly manifest: string | undefined;
  /** The Ed25519 public key (PEM) the manifest's signature is checked with, with `manifest`. */
  readonly publicKey: string | undefined;
  /** Run after a new version is in place (program and arguments, no shell); the file's path is appended. */
  readonly apply: readonly string[] | undefined;
}

/** Engine and list updates: the seed's "Automatic Engine Updates" settings (part 2 of central management). */
export interface CmUpdatesConfig {
  /** "Enable automatic updates": run the interval check (default true). */
  readonly automatic: boolean;
  /** The interval check's period, ms (default 15 min). */
  readonly intervalMs: number;
  /** "Allow to download updates from internet" (default false): without it the interval check does nothing. */
  readonly downloadFromInternet: boolean;
  /** "Allow to download updates from other nodes" (default true): take updates from nodes of its update groups. */
  readonly acceptFromNodes: boolean;
  /** The update sources (default none). */
  readonly sources: readonly UpdateSourceConfig[];
}

/** The `updates` section when the configuration has none. */
export const DEFAULT_UPDATES_CONFIG: CmUpdatesConfig = Object.freeze({
  automatic: true,
  intervalMs: 15 * 60_000,
  downloadFromInternet: false,
  acceptFromNodes: true,
  sources: Object.freeze([]) as readonly UpdateSourceConfig[],
});

const INTERVAL = { min: 1000, max: 7 * 86_400_000 };

const httpUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');

/** Whether a PEM text is an Ed25519 public key (internal). */
export function ed25519PublicKey(pem: string): KeyObject | undefined {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
}

const sourceSchema = z
  .strictObject({
    name: z
      .string()
      .min(1, 'must not be empty')
      .max(64, 'must be at most 64 characters')
      .regex(/^[\w.-]+$/, 'must be letters, digits, ".", "-" or "_"')
      .refine((v) => v !== '.' && v !== '..', 'must not be "." or ".."'),
    url: httpUrl,
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits')
      .transform((v) => v.toLowerCase())
      .optional(),
    version: z.string().min(1).max(64).optional(),
    manifest: httpUrl.optional(),
    publicKey: z
      .string()
      .refine((v) => ed25519PublicKey(v) !== undefined, 'must be an Ed25519 public key in PEM')
      .optional(),
    apply: z.array(z.string().min(1)).min(1, 'needs a program').optional(),
  })
  .superRefine((s, ctx) => {
    if (s.sha256 === undefined && s.publicKey === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['sha256'],
        message: 'needs an integrity check: sha256, or publicKey with manifest',
      });
    if (s.sha256 !== undefined && (s.publicKey !== undefined || s.manifest !== undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['sha256'],
        message:
          'give either sha256 (a pinned file) or publicKey with manifest (a signed manifest), not both',
      });
    if (s.publicKey !== undefined && s.manifest === undefined)
      ctx.addIssue({ code: 'custom', path: ['manifest'], message: 'is needed with publicKey' });
    if (s.manifest !== undefined && s.publicKey === undefined && s.sha256 === undefined)
      ctx.addIssue({ code: 'custom', path: ['publicKey'], message: 'is needed with manifest' });
    if (s.version !== undefined && s.sha256 === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['version'],
        message: 'is for a pinned file (sha256); a signed manifest names its own version',
      });
  });

/** The schema of the `updates` section (internal: config.ts embeds it). */
export const updatesSchema = z
  .strictObject({
    automatic: z.boolean().optional(),
    interval: z
      .union([z.string(), z.number()])
      .transform((v, ctx) => resultOrIssue(parseDuration(v, INTERVAL), ctx))
      .optional(),
    downloadFromInternet: z.boolean().optional(),
    acceptFromNodes: z.boolean().optional(),
    sources: z
      .array(sourceSchema)
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((s, i) => {
          if (seen.has(s.name))
            ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate source ${s.name}` });
          seen.add(s.name);
        });
      })
      .optional(),
  })
  .optional();

/** The validated `updates` section with every default applied (internal: config.ts calls it). */
export function updatesConfigOf(v: z.output<typeof updatesSchema>): CmUpdatesConfig {
  if (v === undefined) return DEFAULT_UPDATES_CONFIG;
  return {
    automatic: v.automatic ?? DEFAULT_UPDATES_CONFIG.automatic,
    intervalMs: v.interval ?? DEFAULT_UPDATES_CONFIG.intervalMs,
    downloadFromInternet: v.downloadFromInternet ?? DEFAULT_UPDATES_CONFIG.downloadFromInternet,
    acceptFromNodes: v.acceptFromNodes ?? DEFAULT_UPDATES_CONFIG.acceptFromNodes,
    sources: (v.sources ?? []).map((s) => ({
      name: s.name,
      url: s.url,
      sha256: s.sha256,
      version: s.sha256 !== undefined ? (s.version ?? `sha256:${s.sha256.slice(0, 12)}`) : undefined,
      manifest: s.manifest,
      publicKey: s.publicKey,
      apply: s.apply,
    })),
  };
}

/** The update groups of `groups.update`: one name or a list (internal). */
export const updateGroupsSchema = z
  .union([
    z.string().min(1).max(64),
    z.array(z.string().min(1).max(64)).min(1, 'at least one update group').max(64),
  ])
  .optional();

// Versions: content-addressed snapshots. The id is the SHA-256 of a canonical encoding, so the same
// version has the same id on every node, and a version changed in transit is refused.
import { createHash } from 'node:crypto';
import { type ConfigIssue, describeValue, err, ok, type Result } from '@proxyha/common';
import { CmError } from '../errors';
import { hlcIssues, isCanonicalUuid } from './hlc';
import type { Hlc, PolicyDocument, Scope, Version, VersionOrigin } from './types';

/** Every field of a {@link Version} but its id: what the id is computed from. */
export type VersionFields = Omit<Version, 'id'>;

/** What {@link makeVersion} takes: parents and documents in any order. */
export interface VersionInput {
  /** The scope. */
  readonly scope: Scope;
  /** The versions it supersedes (any order; duplicates are dropped). */
  readonly parents: readonly string[];
  /** Its storage timestamp. */
  readonly stamp: Hlc;
  /** The saving node. */
  readonly origin: VersionOrigin;
  /** The documents (any order; names must be unique). */
  readonly documents: readonly PolicyDocument[];
  /** The admin's comment. */
  readonly comment?: string | undefined;
}

/** The domain-separation prefix hashed before the canonical JSON of a version. */
export const VERSION_ID_PREFIX = 'proxyha-cm/version/v1\n';

/** Largest number of documents in one version. */
export const MAX_DOCUMENTS = 10_000;
/** Largest number of parents of one version. */
export const MAX_PARENTS = 1000;

const HEX64 = /^[0-9a-f]{64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Canonical JSON: objects with their keys sorted (UTF-16 code-unit order) and `undefined` members left
 * out, arrays in their order, no whitespace, strings and numbers as `JSON.stringify` writes them.
 *
 * @param value - JSON data (objects, arrays, strings, finite numbers, booleans, null)
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) as string;
  if (Array.isArray(value))
    return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/**
 * The object a version's id is computed from: exactly `scope`, `parents`, `stamp` {`wall`, `logical`,
 * `node`}, `origin` {`uuid`, `name`, `priority`}, `documents` [{`name`, `content`, `encoding`}] with the
 * encoding always written (`utf8` when absent), and `comment` only when present. Fields not in the
 * contract are not part of it.
 */
function idObject(f: VersionFields): Record<string, unknown> {
  return {
    scope: f.scope,
    parents: f.parents,
    stamp: { wall: f.stamp.wall, logical: f.stamp.logical, node: f.stamp.node },
    origin: { uuid: f.origin.uuid, name: f.origin.name, priority: f.origin.priority },
    documents: f.documents.map((d) => ({ name: d.name, content: d.content, encoding: d.encoding ?? 'utf8' })),
    comment: f.comment,
  };
}

/**
 * The id of a version: the SHA-256 (lower-case hex) of the UTF-8 bytes of {@link VERSION_ID_PREFIX}
 * followed by the {@link canonicalJson} of its fields (`scope`, `parents`, `stamp`, `origin`, `documents`
 * with `encoding` always written, `comment` when present). Parents and documents are hashed in the order
 * given: a valid version has them sorted.
 *
 * @param fields - every field of the version but `id`
 */
export function versionId(fields: VersionFields): string {
  return createHash('sha256')
    .update(VERSION_ID_PREFIX + canonicalJson(idObject(fields)), 'utf8')
    .digest('hex');
}

/** Compares texts by UTF-16 code units (the order of `Array.prototype.sort`). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Builds a version: sorts and de-duplicates the parents, sorts the documents by name, drops a `utf8`
 * encoding (the default), validates every field and computes the id.
 *
 * @param input - the fields
 * @throws {@link CmError} `CM_INVALID_ARGUMENT` naming each bad path in `details.issues`
 */
export function makeVersion(input: VersionInput): Version {
  const fields: VersionFields = {
    scope: input.scope,
    parents: Array.isArray(input.parents) ? [...new Set(input.parents)].sort(compareText) : input.parents,
    stamp: input.stamp,
    origin: input.origin,
    documents: Array.isArray(input.documents)
      ? [...input.documents]
          .map((d) =>
            d !== null && typeof d === 'object'
              ? d.encoding === 'base64'
                ? { name: d.name, content: d.content, encoding: 'base64' as const }
                : { name: d.name, content: d.content }
              : d,
          )
          .sort((a, b) => compareText(String(a?.name), String(b?.name)))
      : input.documents,
    ...(input.comment === undefined ? {} : { comment: input.comment }),
  };
  const issues = fieldIssues(fields);
  if (issues.length > 0) {
    throw new CmError('CM_INVALID_ARGUMENT', `invalid version: ${formatFirst(issues)}`, {
      details: { issues },
    });
  }
  return { id: versionId(fields), ...fields };
}

/**
 * Validates a version received from a peer (or read back): every field, the order of parents and
 * documents, and that `id` is the hash of the rest ({@link versionId}). Returns a copy holding only the
 * contract's fields.
 *
 * @param value - the would-be version
 * @returns the version, or a `CmError` `CM_BAD_MESSAGE` naming each bad path in `details.issues`
 */
export function checkVersion(value: unknown): Result<Version, CmError> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail([{ path: '(root)', message: `must be an object (got ${describeValue(value)})` }]);
  }
  const v = value as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  if (typeof v.id !== 'string' || !HEX64.test(v.id)) {
    issues.push({ path: 'id', message: `must be 64 lower-case hex digits (got ${describeValue(v.id)})` });
  }
  const docs = Array.isArray(v.documents)
    ? v.documents.map((d: unknown) =>
        d !== null && typeof d === 'object'
          ? (({ name, content, encoding }: Record<string, unknown>) =>
              encoding === undefined ? { name, content } : { name, content, encoding })(
              d as Record<string, unknown>,
            )
          : d,
      )
    : v.documents;
  const origin =
    v.origin !== null && typeof v.origin === 'object'
      ? (({ uuid, name, priority }: Record<string, unknown>) => ({ uuid, name, priority }))(
          v.origin as Record<string, unknown>,
        )
      : v.origin;
  const stamp =
    v.stamp !== null && typeof v.stamp === 'object'
      ? (({ wall, logical, node }: Record<string, unknown>) => ({ wall, logical, node }))(
          v.stamp as Record<string, unknown>,
        )
      : v.stamp;
  const fields = {
    scope: v.scope,
    parents: Array.isArray(v.parents) ? [...v.parents] : v.parents,
    stamp,
    origin,
    documents: docs,
    ...(v.comment === undefined ? {} : { comment: v.comment }),
  } as unknown as VersionFields;
  issues.push(...fieldIssues(fields, true));
  if (issues.length === 0) {
    const id = versionId(fields);
    if (id !== v.id)
      issues.push({
        path: 'id',
        message: `does not match the content (got ${v.id}, content hashes to ${id})`,
      });
  }
  if (issues.length > 0) return fail(issues);
  return ok({ id: v.id as string, ...fields });
}

function fail(issues: ConfigIssue[]): Result<never, CmError> {
  return err(
    new CmError('CM_BAD_MESSAGE', `invalid version: ${formatFirst(issues)}`, {
      details: { issues },
      stack: false,
    }),
  );
}

function formatFirst(issues: readonly ConfigIssue[]): string {
  const first = issues[0] as ConfigIssue;
  return `${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`;
}

/** True when `text` is a scope: `policy` or `node:<canonical uuid>`. */
export function isScope(text: unknown): text is Scope {
  return (
    text === 'policy' ||
    (typeof text === 'string' && text.startsWith('node:') && isCanonicalUuid(text.slice(5)))
  );
}

/** True when `name` is a safe relative document path: no `..` or `.` segment, no leading `/`, no `\`, no NUL. */
export function isDocumentName(name: unknown): name is string {
  if (typeof name !== 'string' || name === '' || name.length > 1024) return false;
  if (name.includes('\\') || name.includes('\0')) return false;
  return name.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

function fieldIssues(f: VersionFields, strictOrder = false): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  if (!isScope(f.scope))
    out.push({ path: 'scope', message: `must be policy or node:<uuid> (got ${describeValue(f.scope)})` });
  if (!Array.isArray(f.parents) || f.parents.length > MAX_PARENTS) {
    out.push({
      path: 'parents',
      message: `must be an array of at most ${MAX_PARENTS} ids (got ${describeValue(f.parents)})`,
    });
  } else {
    f.parents.forEach((p, i) => {
      if (typeof p !== 'string' || !HEX64.test(p))
        out.push({ path: `parents[${i}]`, message: `must be a version id (got ${describeValue(p)})` });
      else if (strictOrder && i > 0 && !((f.parents[i - 1] as string) < p))
        out.push({
          path: `parents[${i}]`,
          message: `parents must be sorted and unique (got ${describeValue(p)})`,
        });
    });
  }
  out.push(...hlcIssues(f.stamp, 'stamp'));
  const o = f.origin as unknown;
  if (o === null || typeof o !== 'object')
    out.push({ path: 'origin', message: `must be an object (got ${describeValue(o)})` });
  else {
    if (!isCanonicalUuid(f.origin.uuid))
      out.push({
        path: 'origin.uuid',
        message: `must be a canonical lower-case UUID (got ${describeValue(f.origin.uuid)})`,
      });
    if (typeof f.origin.name !== 'string' || f.origin.name === '' || f.origin.name.length > 256)
      out.push({
        path: 'origin.name',
        message: `must be a text of 1..256 characters (got ${describeValue(f.origin.name)})`,
      });
    const p = f.origin.priority;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 1000)
      out.push({ path: 'origin.priority', message: `must be an integer 1..1000 (got ${describeValue(p)})` });
    if (
      f.stamp !== null &&
      typeof f.stamp === 'object' &&
      isCanonicalUuid(f.origin.uuid) &&
      f.stamp.node !== f.origin.uuid
    )
      out.push({
        path: 'stamp.node',
        message: `must be the origin's uuid ${f.origin.uuid} (got ${describeValue(f.stamp.node)})`,
      });
  }
  if (!Array.isArray(f.documents) || f.documents.length > MAX_DOCUMENTS) {
    out.push({
      path: 'documents',
      message: `must be an array of at most ${MAX_DOCUMENTS} documents (got ${describeValue(f.documents)})`,
    });
  } else {
    f.documents.forEach((d: unknown, i) => {
      const path = `documents[${i}]`;
      if (d === null || typeof d !== 'object') {
        out.push({ path, message: `must be an object (got ${describeValue(d)})` });
        return;
      }
      const doc = d as PolicyDocument;
      if (!isDocumentName(doc.name))
        out.push({
          path: `${path}.name`,
          message: `must be a relative path without .. or a leading / (got ${describeValue(doc.name)})`,
        });
      else if (i > 0 && !(String((f.documents[i - 1] as PolicyDocument | undefined)?.name) < doc.name))
        out.push({
          path: `${path}.name`,
          message: `document names must be sorted and unique (got ${describeValue(doc.name)})`,
        });
      if (doc.encoding !== undefined && doc.encoding !== 'utf8' && doc.encoding !== 'base64')
        out.push({
          path: `${path}.encoding`,
          message: `must be utf8 or base64 (got ${describeValue(doc.encoding)})`,
        });
      if (typeof doc.content !== 'string')
        out.push({ path: `${path}.content`, message: `must be a text (got ${describeValue(doc.content)})` });
      else if (doc.encoding === 'base64' && !BASE64.test(doc.content))
        out.push({ path: `${path}.content`, message: 'is not valid base64' });
    });
  }
  if (f.comment !== undefined && (typeof f.comment !== 'string' || f.comment.length > 4096))
    out.push({
      path: 'comment',
      message: `must be a text of at most 4096 characters (got ${describeValue(f.comment)})`,
    });
  return out;
}

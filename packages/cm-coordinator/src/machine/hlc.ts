// The hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014): pure functions over stamps.
// A stamp never goes backwards on a node, even when its wall clock does; the logical counter is bounded.
import { err, ok, type Result } from '@proxyha/common';
import { CmError } from '../errors';
import type { Hlc } from './types';

/** The largest logical counter of a stamp; one more borrows the next millisecond instead. */
export const HLC_MAX_LOGICAL = 65535;

/** The largest wall time a stamp may carry: 9999-12-31T23:59:59.999Z (so its text keeps a fixed width). */
export const HLC_MAX_WALL = 253_402_300_799_999;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True when `text` is a UUID in canonical lower-case text form. */
export function isCanonicalUuid(text: unknown): text is string {
  return typeof text === 'string' && UUID.test(text);
}

function wallOf(wallNow: number): number {
  if (typeof wallNow !== 'number' || !Number.isFinite(wallNow)) {
    throw new CmError('CM_INVALID_ARGUMENT', `wall time must be a finite number (got ${String(wallNow)})`, {
      details: { issues: [{ path: 'wallNow', message: `must be a finite number (got ${String(wallNow)})` }] },
    });
  }
  return Math.max(0, Math.floor(wallNow));
}

/** Keeps the counter bounded: past {@link HLC_MAX_LOGICAL} the stamp moves to the next ms. */
function bounded(wall: number, logical: number, node: string): Hlc {
  return logical > HLC_MAX_LOGICAL ? { wall: wall + 1, logical: 0, node } : { wall, logical, node };
}

/**
 * The stamp of a local event (a save): later than `last` and than the wall clock. When the wall clock
 * went backwards (or stands still), the wall part stays at `last.wall` and the logical counter counts
 * on; past 65535 the stamp borrows the next millisecond.
 *
 * @param last - the node's latest stamp (its high-water mark), `undefined` for the first
 * @param wallNow - the node's wall clock, ms since the epoch
 * @param node - the node's UUID
 * @throws {@link CmError} `CM_INVALID_ARGUMENT` when `wallNow` is not a finite number
 */
export function hlcSend(last: Hlc | undefined, wallNow: number, node: string): Hlc {
  const now = wallOf(wallNow);
  if (last === undefined || now > last.wall) return { wall: now, logical: 0, node };
  return bounded(last.wall, last.logical + 1, node);
}

/**
 * The stamp after receiving a remote stamp: later than `last`, than `remote` and than the wall clock,
 * so a save made after a version arrived is newer than that version (causality beats clock error).
 *
 * @param last - the node's latest stamp, `undefined` for none
 * @param remote - the received stamp
 * @param wallNow - the node's wall clock, ms since the epoch
 * @param node - the node's UUID
 * @throws {@link CmError} `CM_INVALID_ARGUMENT` when `wallNow` is not a finite number
 */
export function hlcReceive(last: Hlc | undefined, remote: Hlc, wallNow: number, node: string): Hlc {
  const now = wallOf(wallNow);
  const lastWall = last?.wall ?? -1;
  const wall = Math.max(lastWall, remote.wall, now);
  let logical: number;
  if (wall === lastWall && wall === remote.wall) logical = Math.max(last?.logical ?? 0, remote.logical) + 1;
  else if (wall === lastWall) logical = (last?.logical ?? 0) + 1;
  else if (wall === remote.wall) logical = remote.logical + 1;
  else logical = 0;
  return bounded(wall, logical, node);
}

/**
 * Orders stamps: by wall, then logical, then node (text order). Negative when `a` is older.
 *
 * @param a - a stamp
 * @param b - another stamp
 */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** The later of two stamps (`a` when equal); `undefined` counts as older than any stamp. */
export function maxHlc(a: Hlc | undefined, b: Hlc | undefined): Hlc | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareHlc(a, b) >= 0 ? a : b;
}

const TEXT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\.(\d{5})\.([0-9a-f-]{36})$/;

/**
 * The "Current Storage Timestamp" text of a stamp: the wall part in ISO 8601 UTC with ms, the logical
 * counter in five decimal digits, the node UUID, joined by dots:
 * `2024-05-01T12:00:00.000Z.00003.564d0fa3-6391-4b1c-8cdd-18116fd8dadd`. Every part has a fixed width,
 * so the texts sort exactly as {@link compareHlc} orders the stamps. {@link parseHlc} reads it back.
 *
 * @param stamp - a stamp (wall 0..{@link HLC_MAX_WALL}, logical 0..65535, node a canonical UUID)
 * @throws {@link CmError} `CM_INVALID_ARGUMENT` when a part is out of range
 */
export function formatHlc(stamp: Hlc): string {
  const issues = hlcIssues(stamp, 'stamp');
  if (issues.length > 0) {
    throw new CmError(
      'CM_INVALID_ARGUMENT',
      `not a valid stamp: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      {
        details: { issues },
      },
    );
  }
  return `${new Date(stamp.wall).toISOString()}.${String(stamp.logical).padStart(5, '0')}.${stamp.node}`;
}

/**
 * Reads the text of {@link formatHlc}.
 *
 * @param text - `2024-05-01T12:00:00.000Z.00003.<uuid>`
 * @returns the stamp, or a message naming what is wrong
 */
export function parseHlc(text: string): Result<Hlc, string> {
  const m = typeof text === 'string' ? TEXT.exec(text) : null;
  if (m === null) return err(`not a storage timestamp (ISO time.logical.uuid): ${JSON.stringify(text)}`);
  const wall = Date.parse(m[1] as string);
  if (!Number.isFinite(wall) || new Date(wall).toISOString() !== m[1]) {
    return err(`not a valid time in storage timestamp: ${JSON.stringify(text)}`);
  }
  const stamp: Hlc = { wall, logical: Number(m[2]), node: m[3] as string };
  const issues = hlcIssues(stamp, 'stamp');
  if (issues.length > 0) return err(`${issues[0]?.message}: ${JSON.stringify(text)}`);
  return ok(stamp);
}

/** The problems of a would-be stamp (internal; also used by version validation). */
export function hlcIssues(stamp: unknown, path: string): { path: string; message: string }[] {
  if (typeof stamp !== 'object' || stamp === null) return [{ path, message: 'must be an object' }];
  const s = stamp as Record<string, unknown>;
  const out: { path: string; message: string }[] = [];
  const int = (v: unknown, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
  if (!int(s.wall, HLC_MAX_WALL))
    out.push({
      path: `${path}.wall`,
      message: `must be an integer 0..${HLC_MAX_WALL} (got ${String(s.wall)})`,
    });
  if (!int(s.logical, HLC_MAX_LOGICAL))
    out.push({
      path: `${path}.logical`,
      message: `must be an integer 0..${HLC_MAX_LOGICAL} (got ${String(s.logical)})`,
    });
  if (!isCanonicalUuid(s.node))
    out.push({
      path: `${path}.node`,
      message: `must be a canonical lower-case UUID (got ${String(s.node)})`,
    });
  return out;
}

// The durable store on SQLite: WAL, synchronous=FULL, one BEGIN IMMEDIATE transaction per write.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { CmError } from '../errors';
import type { Hlc, PolicyDocument, Scope, Version } from '../machine/types';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, SCHEMA_VERSION_TABLE } from './schema';
import { openSqlite, type SqliteBindingName, type SqliteDb, type SqlRow, type SqlStatement } from './sqlite';
import type { CmStore, ConflictRecord, PeerRecord } from './types';

/** The file name {@link openStore} uses inside a data directory. */
export const STORE_FILE_NAME = 'cm-store.sqlite';

/** The schema version this release writes (a database of a newer one is refused). */
export const STORE_SCHEMA_VERSION: number = LATEST_SCHEMA_VERSION;

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /**
   * The SQLite binding: `node` (built-in `node:sqlite`, Node >= 22.13) or `better-sqlite3` (the optional
   * dependency). Default: the `PROXYHA_CM_SQLITE` environment variable, else the first that loads.
   */
  readonly binding?: 'node' | 'better-sqlite3';
  /** Wall clock (ms) for the `created` column of a version; default `Date.now`. */
  readonly now?: () => number;
}

/** The settings of a store's connection ({@link SqliteStore.settings}). */
export interface StoreSettings {
  /** `wal` for a database file (`memory` for `:memory:`). */
  readonly journalMode: string;
  /** `full`: every commit is synced to disk before the write returns. */
  readonly synchronous: 'off' | 'normal' | 'full' | 'extra';
  /** Foreign keys enforced (documents belong to a version). */
  readonly foreignKeys: boolean;
  /** How long a write waits for another connection's transaction (ms). */
  readonly busyTimeoutMs: number;
}

const MAX_LOGICAL = 65_535;

type Issue = string | undefined;

const isString = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

function checkScope(scope: unknown): Issue {
  if (!isString(scope)) return 'scope is not a string';
  if (scope === 'policy') return undefined;
  if (scope.startsWith('node:') && scope.length > 5) return undefined;
  return `scope '${scope}' is neither 'policy' nor 'node:<uuid>'`;
}

function checkStamp(stamp: unknown): Issue {
  if (typeof stamp !== 'object' || stamp === null) return 'stamp is not an object';
  const s = stamp as Partial<Hlc>;
  if (!isInt(s.wall) || s.wall < 0) return `stamp.wall ${String(s.wall)} is not a non-negative integer`;
  if (!isInt(s.logical) || s.logical < 0 || s.logical > MAX_LOGICAL)
    return `stamp.logical ${String(s.logical)} is not an integer in 0..${MAX_LOGICAL}`;
  if (!isString(s.node) || s.node === '') return 'stamp.node is not a non-empty string';
  return undefined;
}

/** Checks a version's shape (what the store relies on, not its id's hash). */
function checkVersion(v: unknown): Issue {
  if (typeof v !== 'object' || v === null) return 'version is not an object';
  const version = v as Partial<Version>;
  if (!isString(version.id) || version.id === '') return 'id is not a non-empty string';
  const scope = checkScope(version.scope);
  if (scope) return scope;
  if (!Array.isArray(version.parents) || !version.parents.every((p) => isString(p) && p !== ''))
    return 'parents is not an array of ids';
  const stamp = checkStamp(version.stamp);
  if (stamp) return stamp;
  const origin = version.origin as Partial<Version['origin']> | undefined;
  if (typeof origin !== 'object' || origin === null) return 'origin is not an object';
  if (!isString(origin.uuid) || !isString(origin.name) || !isInt(origin.priority))
    return 'origin needs uuid, name (strings) and priority (integer)';
  if (version.comment !== undefined && !isString(version.comment)) return 'comment is not a string';
  if (!Array.isArray(version.documents)) return 'documents is not an array';
  const names = new Set<string>();
  for (const [i, doc] of (version.documents as unknown[]).entries()) {
    const d = doc as Partial<PolicyDocument> | null;
    if (typeof d !== 'object' || d === null) return `documents[${i}] is not an object`;
    if (!isString(d.name) || d.name === '') return `documents[${i}].name is not a non-empty string`;
    if (!isString(d.content)) return `documents[${i}].content is not a string`;
    if (d.encoding !== undefined && d.encoding !== 'utf8' && d.encoding !== 'base64')
      return `documents[${i}].encoding '${String(d.encoding)}' is neither utf8 nor base64`;
    if (names.has(d.name)) return `documents[${i}].name '${d.name}' appears twice`;
    names.add(d.name);
  }
  return undefined;
}

function invalid(what: string, issue: string, details: Record<string, unknown> = {}): CmError {
  return new CmError('CM_INVALID_ARGUMENT', `${what}: ${issue}`, { details: { ...details, issue } });
}

function resolveFile(path: string): string {
  if (path === ':memory:') return path;
  if (existsSync(path) && statSync(path).isDirectory()) return join(resolve(path), STORE_FILE_NAME);
  if (path.endsWith(sep) || path.endsWith('/')) {
    mkdirSync(path, { recursive: true });
    return join(resolve(path), STORE_FILE_NAME);
  }
  const file = resolve(path);
  mkdirSync(dirname(file), { recursive: true });
  return file;
}

const VERSION_COLUMNS =
  'id, scope, parents, stamp_wall, stamp_logical, stamp_node, origin_uuid, origin_name, origin_priority, comment, document_count';
const STAMP_ORDER = 'stamp_wall, stamp_logical, stamp_node, id';

/**
 * The durable {@link CmStore} on SQLite (made by {@link openStore}). The database is in WAL mode with
 * `synchronous=FULL` and foreign keys on; every write is one `BEGIN IMMEDIATE` transaction that is on disk
 * when the call returns, so an acknowledged write survives kill -9 (and power loss) and a crash mid-write
 * leaves the previous state whole. What is read back is validated: a corrupted row raises `CM_STORE`
 * naming it. Every failure of SQLite is raised as `CM_STORE`; bad arguments as `CM_INVALID_ARGUMENT`.
 */
export class SqliteStore implements CmStore {
  /** The database file (`:memory:` for an in-memory store). */
  readonly file: string;
  /** The SQLite binding in use. */
  readonly binding: 'node' | 'better-sqlite3';
  readonly #db: SqliteDb;
  readonly #now: () => number;
  readonly #stmts = new Map<string, SqlStatement>();
  #closed = false;

  /**
   * Opens (creating and migrating if needed) the database file; prefer {@link openStore}, which also accepts
   * a data directory.
   *
   * @param file - the database file, or `:memory:`
   * @param options - binding and clock
   * @throws CmError `CM_STORE_UNAVAILABLE` when no SQLite binding loads; `CM_STORE` when the file cannot be
   *   opened, is not a database, or has a newer schema
   */
  constructor(file: string, options: OpenStoreOptions = {}) {
    this.file = file;
    this.#now = options.now ?? Date.now;
    let db: SqliteDb;
    try {
      db = openSqlite(file, options.binding as SqliteBindingName | undefined);
    } catch (error) {
      throw this.#wrap('open', error);
    }
    this.#db = db;
    this.binding = db.binding;
    try {
      this.#setup();
    } catch (error) {
      db.close();
      throw this.#wrap('open', error);
    }
  }

  #setup(): void {
    const db = this.#db;
    // journal_mode is persistent in the file and must be set outside a transaction
    const mode = String(db.prepare('PRAGMA journal_mode = WAL').get()?.journal_mode ?? '').toLowerCase();
    if (this.file !== ':memory:' && mode !== 'wal')
      throw new CmError('CM_STORE', `cannot put ${this.file} in WAL mode (journal_mode is '${mode}')`, {
        details: { file: this.file, journalMode: mode },
      });
    db.exec('PRAGMA synchronous = FULL');
    db.exec('PRAGMA foreign_keys = ON');
    db.exec('PRAGMA busy_timeout = 10000');
    // after a checkpoint, a WAL grown by a large write is truncated back to at most 64 MiB
    db.exec('PRAGMA journal_size_limit = 67108864');
    this.#migrate();
  }

  #migrate(): void {
    this.#db.transaction(() => {
      this.#db.exec(SCHEMA_VERSION_TABLE);
      const current = this.schemaVersion();
      if (current > LATEST_SCHEMA_VERSION)
        throw new CmError(
          'CM_STORE',
          `${this.file} has schema version ${current}, newer than this release's ${LATEST_SCHEMA_VERSION}: upgrade proxyha-cm`,
          { details: { file: this.file, schemaVersion: current, supported: LATEST_SCHEMA_VERSION } },
        );
      for (const migration of MIGRATIONS) {
        if (migration.version <= current) continue;
        this.#db.exec(migration.sql);
        this.#db
          .prepare('INSERT INTO schema_version (version, description, applied) VALUES (?, ?, ?)')
          .run(migration.version, migration.description, this.#now());
      }
    });
  }

  /** The schema version of the database (0 before the first migration). */
  schemaVersion(): number {
    const row = this.#db.prepare('SELECT MAX(version) AS v FROM schema_version').get();
    return Number(row?.v ?? 0);
  }

  /**
   * The connection's durability settings as SQLite reports them (`wal`, `full`, foreign keys on; `memory`
   * for `:memory:`).
   */
  settings(): StoreSettings {
    return this.#guard('settings', () => {
      const value = (pragma: string) => Object.values(this.#db.prepare(`PRAGMA ${pragma}`).get() ?? {})[0];
      const sync = Number(value('synchronous'));
      return {
        journalMode: String(value('journal_mode')).toLowerCase(),
        synchronous: (['off', 'normal', 'full', 'extra'] as const)[sync] ?? 'off',
        foreignKeys: Number(value('foreign_keys')) === 1,
        busyTimeoutMs: Number(value('busy_timeout')),
      };
    });
  }

  /**
   * Runs SQLite's `PRAGMA integrity_check` and `PRAGMA foreign_key_check`.
   *
   * @returns the problems found; empty when the database is sound
   */
  integrityCheck(): string[] {
    return this.#guard('integrityCheck', () => {
      const problems = this.#db
        .prepare('PRAGMA integrity_check')
        .all()
        .map((r) => String(Object.values(r)[0]))
        .filter((r) => r !== 'ok');
      for (const r of this.#db.prepare('PRAGMA foreign_key_check').all())
        problems.push(`foreign key: ${r.table} row ${String(r.rowid)} -> ${r.parent}`);
      return problems;
    });
  }

  #wrap(op: string, error: unknown): CmError {
    if (error instanceof CmError) return error;
    const text = error instanceof Error ? error.message : String(error);
    return new CmError('CM_STORE', `store ${op} failed on ${this.file}: ${text}`, {
      details: { file: this.file, op },
      cause: error,
    });
  }

  #guard<T>(op: string, fn: () => T): T {
    if (this.#closed)
      throw new CmError('CM_STORE', `store ${op}: ${this.file} is closed`, {
        details: { file: this.file, op },
      });
    try {
      return fn();
    } catch (error) {
      throw this.#wrap(op, error);
    }
  }

  #stmt(sql: string): SqlStatement {
    let stmt = this.#stmts.get(sql);
    if (stmt === undefined) {
      stmt = this.#db.prepare(sql);
      this.#stmts.set(sql, stmt);
    }
    return stmt;
  }

  #corrupt(what: string, issue: string, details: Record<string, unknown> = {}): CmError {
    return new CmError('CM_STORE', `${this.file}: corrupted ${what}: ${issue}`, {
      details: { file: this.file, ...details, issue },
    });
  }

  // ---- versions

  #insertVersion(v: Version): void {
    const created = this.#now();
    const inserted = this.#stmt(
      `INSERT INTO versions (${VERSION_COLUMNS}, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ).run(
      v.id,
      v.scope,
      JSON.stringify(v.parents),
      v.stamp.wall,
      v.stamp.logical,
      v.stamp.node,
      v.origin.uuid,
      v.origin.name,
      v.origin.priority,
      v.comment ?? null,
      v.documents.length,
      created,
    );
    if (Number(inserted.changes) === 0) return; // already stored: versions are immutable
    const doc = this.#stmt(
      'INSERT INTO documents (version_id, seq, name, content, encoding) VALUES (?, ?, ?, ?, ?)',
    );
    for (const [seq, d] of v.documents.entries()) doc.run(v.id, seq, d.name, d.content, d.encoding ?? null);
  }

  #checkArgument(v: Version, index?: number): void {
    const issue = checkVersion(v);
    if (issue) {
      const what = index === undefined ? 'invalid version' : `invalid version [${index}]`;
      throw invalid(what, issue, { id: (v as { id?: unknown } | null)?.id, index });
    }
  }

  /**
   * Adds a version in one transaction; a version already stored (same id) is left as it is.
   *
   * @throws CmError `CM_INVALID_ARGUMENT` when it is malformed; `CM_STORE` when it cannot be written
   */
  putVersion(version: Version): void {
    this.#checkArgument(version);
    this.#guard('putVersion', () => this.#db.transaction(() => this.#insertVersion(version)));
  }

  /**
   * Adds several versions in one transaction (all or none); those already stored are skipped.
   *
   * @param versions - the versions
   * @param meta - keys to set in the same transaction (e.g. the HLC high-water mark): one sync to disk
   * @throws CmError `CM_INVALID_ARGUMENT` when one is malformed (nothing is written)
   */
  putVersions(versions: readonly Version[], meta?: Readonly<Record<string, string>>): void {
    versions.forEach((v, i) => {
      this.#checkArgument(v, i);
    });
    const entries = Object.entries(meta ?? {});
    for (const [key, value] of entries)
      if (key === '' || !isString(value))
        throw invalid('invalid meta', 'key must be a non-empty string and value a string', { key });
    this.#guard('putVersions', () =>
      this.#db.transaction(() => {
        for (const v of versions) this.#insertVersion(v);
        for (const [key, value] of entries)
          this.#stmt(
            'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
          ).run(key, value);
      }),
    );
  }

  #decodeVersion(row: SqlRow, docs: readonly SqlRow[]): Version {
    const id = typeof row.id === 'string' ? row.id : String(row.id);
    let parents: unknown;
    try {
      parents = JSON.parse(String(row.parents));
    } catch {
      throw this.#corrupt(`version ${id}`, 'parents is not JSON', { id });
    }
    if (row.document_count !== docs.length)
      throw this.#corrupt(
        `version ${id}`,
        `has ${docs.length} documents, expected ${String(row.document_count)}`,
        {
          id,
        },
      );
    const documents: PolicyDocument[] = [];
    for (const [i, d] of docs.entries()) {
      if (d.seq !== i) throw this.#corrupt(`version ${id}`, `document ${i} is missing`, { id });
      if (d.encoding !== null && typeof d.encoding !== 'string')
        throw this.#corrupt(`version ${id}`, `documents[${i}].encoding is not text`, { id });
      documents.push(
        d.encoding === null
          ? { name: d.name as string, content: d.content as string }
          : { name: d.name as string, content: d.content as string, encoding: d.encoding as 'utf8' },
      );
    }
    const version = {
      id,
      scope: row.scope as Scope,
      parents: parents as string[],
      stamp: { wall: row.stamp_wall, logical: row.stamp_logical, node: row.stamp_node } as Hlc,
      origin: {
        uuid: row.origin_uuid,
        name: row.origin_name,
        priority: row.origin_priority,
      } as Version['origin'],
      documents,
      ...(row.comment === null ? {} : { comment: row.comment as string }),
    } satisfies Version;
    const issue = checkVersion(version);
    if (issue) throw this.#corrupt(`version ${id}`, issue, { id });
    return version;
  }

  /**
   * A version by id.
   *
   * @throws CmError `CM_STORE` when its row is corrupted
   */
  getVersion(id: string): Version | undefined {
    return this.#guard('getVersion', () => {
      const row = this.#stmt(`SELECT ${VERSION_COLUMNS} FROM versions WHERE id = ?`).get(id);
      if (row === undefined) return undefined;
      const docs = this.#stmt(
        'SELECT seq, name, content, encoding FROM documents WHERE version_id = ? ORDER BY seq',
      ).all(id);
      return this.#decodeVersion(row, docs);
    });
  }

  /** Every version id of a scope (or of all scopes), oldest stamp first. */
  versionIds(scope?: Scope): string[] {
    return this.#guard('versionIds', () => {
      const rows =
        scope === undefined
          ? this.#stmt(`SELECT id FROM versions ORDER BY ${STAMP_ORDER}`).all()
          : this.#stmt(`SELECT id FROM versions WHERE scope = ? ORDER BY ${STAMP_ORDER}`).all(scope);
      return rows.map((r) => String(r.id));
    });
  }

  /**
   * Every version (metadata and documents) of a scope, or of all scopes, oldest stamp first (then by id).
   *
   * @throws CmError `CM_STORE` when a row is corrupted (the error names the version)
   */
  versions(scope?: Scope): Version[] {
    return this.#guard('versions', () => {
      const rows =
        scope === undefined
          ? this.#stmt(`SELECT ${VERSION_COLUMNS} FROM versions ORDER BY ${STAMP_ORDER}`).all()
          : this.#stmt(`SELECT ${VERSION_COLUMNS} FROM versions WHERE scope = ? ORDER BY ${STAMP_ORDER}`).all(
              scope,
            );
      const docRows =
        scope === undefined
          ? this.#stmt(
              'SELECT version_id, seq, name, content, encoding FROM documents ORDER BY version_id, seq',
            ).all()
          : this.#stmt(
              'SELECT d.version_id, d.seq, d.name, d.content, d.encoding FROM documents d JOIN versions v ON v.id = d.version_id WHERE v.scope = ? ORDER BY d.version_id, d.seq',
            ).all(scope);
      const docs = new Map<string, SqlRow[]>();
      for (const d of docRows) {
        const key = String(d.version_id);
        const list = docs.get(key);
        if (list === undefined) docs.set(key, [d]);
        else list.push(d);
      }
      return rows.map((row) => this.#decodeVersion(row, docs.get(String(row.id)) ?? []));
    });
  }

  /** The scopes present (sorted). */
  scopes(): Scope[] {
    return this.#guard('scopes', () =>
      this.#stmt('SELECT DISTINCT scope FROM versions ORDER BY scope')
        .all()
        .map((r) => {
          const issue = checkScope(r.scope);
          if (issue) throw this.#corrupt('scope', issue, { scope: r.scope });
          return r.scope as Scope;
        }),
    );
  }

  /**
   * Replaces every version of a scope (and its conflicts) by the given versions, in one transaction: a
   * reader or a crash sees the old scope or the new one, whole.
   *
   * @throws CmError `CM_INVALID_ARGUMENT` when a version is malformed or of another scope (nothing changes)
   */
  replaceScope(scope: Scope, versions: readonly Version[]): void {
    const issue = checkScope(scope);
    if (issue) throw invalid('invalid scope', issue, { scope });
    versions.forEach((v, i) => {
      this.#checkArgument(v, i);
      if (v.scope !== scope)
        throw invalid(`invalid version [${i}]`, `scope '${v.scope}' is not '${scope}'`, {
          id: v.id,
          index: i,
        });
    });
    this.#guard('replaceScope', () =>
      this.#db.transaction(() => {
        this.#stmt('DELETE FROM versions WHERE scope = ?').run(scope);
        this.#stmt('DELETE FROM conflicts WHERE scope = ?').run(scope);
        for (const v of versions) this.#insertVersion(v);
      }),
    );
  }

  // ---- conflicts

  /**
   * Records a conflict; one already recorded for the same winner and loser is kept as it is.
   *
   * @throws CmError `CM_INVALID_ARGUMENT` when it is malformed
   */
  putConflict(conflict: ConflictRecord): void {
    const issue =
      checkScope(conflict.scope) ??
      (!isString(conflict.winner) || conflict.winner === ''
        ? 'winner is not a non-empty string'
        : undefined) ??
      (!isString(conflict.loser) || conflict.loser === '' ? 'loser is not a non-empty string' : undefined) ??
      (!isInt(conflict.detectedAt) ? 'detectedAt is not an integer' : undefined);
    if (issue) throw invalid('invalid conflict', issue);
    this.#guard('putConflict', () =>
      this.#db.transaction(() =>
        this.#stmt(
          'INSERT INTO conflicts (winner, loser, scope, detected_at) VALUES (?, ?, ?, ?) ON CONFLICT (winner, loser) DO NOTHING',
        ).run(conflict.winner, conflict.loser, conflict.scope, conflict.detectedAt),
      ),
    );
  }

  /** Every conflict, newest first (by `detectedAt`, then the latest recorded). */
  conflicts(): ConflictRecord[] {
    return this.#guard('conflicts', () =>
      this.#stmt(
        'SELECT winner, loser, scope, detected_at FROM conflicts ORDER BY detected_at DESC, rowid DESC',
      )
        .all()
        .map((r) => {
          const conflict = {
            scope: r.scope as Scope,
            winner: r.winner as string,
            loser: r.loser as string,
            detectedAt: r.detected_at as number,
          };
          const issue =
            checkScope(conflict.scope) ?? (isInt(conflict.detectedAt) ? undefined : 'detected_at');
          if (issue)
            throw this.#corrupt(`conflict ${conflict.winner}/${conflict.loser}`, issue, {
              winner: conflict.winner,
              loser: conflict.loser,
            });
          return conflict;
        }),
    );
  }

  // ---- peers

  /**
   * Inserts a peer or replaces the one with the same uuid (every field; an absent optional field is cleared).
   *
   * @throws CmError `CM_INVALID_ARGUMENT` when it is malformed
   */
  putPeer(peer: PeerRecord): void {
    this.putPeers([peer]);
  }

  /**
   * {@link SqliteStore.putPeer} of several peers in one transaction (one sync to disk).
   *
   * @throws CmError `CM_INVALID_ARGUMENT` when one is malformed (nothing is written)
   */
  putPeers(peers: readonly PeerRecord[]): void {
    for (const peer of peers) checkPeer(peer);
    if (peers.length === 0) return;
    this.#guard('putPeer', () =>
      this.#db.transaction(() => {
        const stmt = this.#stmt(
          `INSERT INTO peers (uuid, name, priority, version, address, last_seen, last_error, storage_timestamp)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (uuid) DO UPDATE SET name = excluded.name, priority = excluded.priority,
             version = excluded.version, address = excluded.address, last_seen = excluded.last_seen,
             last_error = excluded.last_error, storage_timestamp = excluded.storage_timestamp`,
        );
        for (const peer of peers)
          stmt.run(
            peer.node.uuid,
            peer.node.name,
            peer.node.priority,
            peer.node.version,
            peer.address,
            peer.lastSeen ?? null,
            peer.lastError ?? null,
            peer.storageTimestamp ?? null,
          );
      }),
    );
  }

  /** Every peer, by name then uuid. */
  peers(): PeerRecord[] {
    return this.#guard('peers', () =>
      this.#stmt(
        'SELECT uuid, name, priority, version, address, last_seen, last_error, storage_timestamp FROM peers ORDER BY name, uuid',
      )
        .all()
        .map((r) => {
          const bad =
            !isString(r.uuid) || !isString(r.name) || !isString(r.version) || !isString(r.address)
              ? 'a text column is not text'
              : !isInt(r.priority) || (r.last_seen !== null && !isInt(r.last_seen))
                ? 'an integer column is not an integer'
                : undefined;
          if (bad) throw this.#corrupt(`peer ${String(r.uuid)}`, bad, { uuid: r.uuid });
          return {
            node: {
              uuid: r.uuid as string,
              name: r.name as string,
              priority: r.priority as number,
              version: r.version as string,
            },
            address: r.address as string,
            ...(r.last_seen === null ? {} : { lastSeen: r.last_seen as number }),
            ...(r.last_error === null ? {} : { lastError: String(r.last_error) }),
            ...(r.storage_timestamp === null ? {} : { storageTimestamp: String(r.storage_timestamp) }),
          };
        }),
    );
  }

  /** Removes a peer (nothing happens when it is unknown). */
  removePeer(uuid: string): void {
    this.#guard('removePeer', () =>
      this.#db.transaction(() => this.#stmt('DELETE FROM peers WHERE uuid = ?').run(uuid)),
    );
  }

  // ---- meta

  /** The value of a key of the node's own state. */
  getMeta(key: string): string | undefined {
    return this.#guard('getMeta', () => {
      const row = this.#stmt('SELECT value FROM meta WHERE key = ?').get(key);
      if (row === undefined) return undefined;
      if (!isString(row.value)) throw this.#corrupt(`meta ${key}`, 'value is not text', { key });
      return row.value;
    });
  }

  /**
   * Sets a key of the node's own state (durable when it returns).
   *
   * @throws CmError `CM_INVALID_ARGUMENT` when key or value is not a string
   */
  setMeta(key: string, value: string): void {
    if (!isString(key) || key === '' || !isString(value))
      throw invalid('invalid meta', 'key must be a non-empty string and value a string', { key });
    this.#guard('setMeta', () =>
      this.#db.transaction(() =>
        this.#stmt(
          'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        ).run(key, value),
      ),
    );
  }

  /** Closes the database (idempotent); any later call but `close` raises `CM_STORE`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stmts.clear();
    this.#db.close();
  }
}

/**
 * Opens the durable store of a node, creating and migrating the database if needed.
 *
 * @param path - a data directory (existing, or given with a trailing `/`: the database is
 *   {@link STORE_FILE_NAME} inside it), a database file (its directory is created), or `:memory:`
 * @param options - binding and clock
 * @returns the store; close it when done
 * @throws CmError `CM_STORE_UNAVAILABLE` when no SQLite binding loads; `CM_STORE` when the database cannot
 *   be opened, is not a database, or was written by a newer release
 */
export function openStore(path: string, options: OpenStoreOptions = {}): SqliteStore {
  let file: string;
  try {
    file = resolveFile(path);
  } catch (error) {
    throw new CmError(
      'CM_STORE',
      `cannot create the store directory for ${path}: ${(error as Error).message}`,
      {
        details: { file: path },
        cause: error,
      },
    );
  }
  try {
    return new SqliteStore(file, options);
  } catch (error) {
    if (error instanceof CmError) throw error;
    throw new CmError('CM_STORE', `cannot open the store ${file}: ${(error as Error).message}`, {
      details: { file },
      cause: error,
    });
  }
}

/** Throws `CM_INVALID_ARGUMENT` naming what is wrong with a peer record. */
function checkPeer(peer: PeerRecord): void {
  const n = peer.node as Partial<PeerRecord['node']> | undefined;
  const issue =
    typeof n !== 'object' || n === null
      ? 'node is not an object'
      : !isString(n.uuid) || n.uuid === ''
        ? 'node.uuid is not a non-empty string'
        : !isString(n.name) || !isString(n.version) || !isInt(n.priority)
          ? 'node needs name, version (strings) and priority (integer)'
          : !isString(peer.address)
            ? 'address is not a string'
            : peer.lastSeen !== undefined && !isInt(peer.lastSeen)
              ? 'lastSeen is not an integer'
              : peer.lastError !== undefined && !isString(peer.lastError)
                ? 'lastError is not a string'
                : peer.storageTimestamp !== undefined && !isString(peer.storageTimestamp)
                  ? 'storageTimestamp is not a string'
                  : undefined;
  if (issue) throw invalid('invalid peer', issue);
}

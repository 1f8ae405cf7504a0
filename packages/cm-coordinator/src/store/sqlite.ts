// The one internal adapter over the two synchronous SQLite bindings: Node's built-in `node:sqlite`
// (Node >= 22.13) and the optional dependency `better-sqlite3` (a native addon built for one Node ABI).
// Both are loaded lazily, on the first open; nothing here is exported from the package.
import { createRequire } from 'node:module';
import { CmError } from '../errors';

/** A binding's name; `PROXYHA_CM_SQLITE` (or `openStore`'s `binding` option) selects one. */
export type SqliteBindingName = 'node' | 'better-sqlite3';

/** Every binding, in the order they are tried when none is selected. */
export const SQLITE_BINDINGS: readonly SqliteBindingName[] = ['node', 'better-sqlite3'];

/** The environment variable that selects a binding (`node` or `better-sqlite3`); unset: the first that loads. */
export const SQLITE_BINDING_ENV = 'PROXYHA_CM_SQLITE';

/** A value bound to a `?` parameter or read from a column. */
export type SqlValue = string | number | bigint | null | Uint8Array;

/** A row as both bindings return it: column name to value. */
export type SqlRow = Record<string, SqlValue>;

/** A prepared statement (positional `?` parameters only). */
export interface SqlStatement {
  /** Runs it; returns the number of rows changed. */
  run(...params: SqlValue[]): { changes: number | bigint };
  /** The first row, if any. */
  get(...params: SqlValue[]): SqlRow | undefined;
  /** Every row. */
  all(...params: SqlValue[]): SqlRow[];
}

/** An open database. */
export interface SqliteDb {
  /** The binding in use. */
  readonly binding: SqliteBindingName;
  /** Runs one or more statements without parameters. */
  exec(sql: string): void;
  /** Prepares a statement. */
  prepare(sql: string): SqlStatement;
  /** Runs `fn` in one `BEGIN IMMEDIATE` transaction: committed when it returns, rolled back when it throws. */
  transaction<T>(fn: () => T): T;
  /** Closes the database (idempotent). */
  close(): void;
}

// The part of either binding's database object that the adapter uses (both are structurally alike).
interface NativeDb {
  exec(sql: string): unknown;
  prepare(sql: string): SqlStatement;
  close(): unknown;
}
type Opener = (path: string) => NativeDb;
type LoadState = { ok: true; open: Opener } | { ok: false; reason: string };

const loaded = new Map<SqliteBindingName, LoadState>();

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ').trim();
}

function loadNode(): LoadState {
  const version = process.versions.node;
  try {
    // getBuiltinModule (Node >= 20.16) returns undefined for a module this Node does not have; on Node
    // 22.5..22.12 node:sqlite needs --experimental-sqlite.
    const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
    const mod = getBuiltin?.call(process, 'node:sqlite') as
      | { DatabaseSync?: new (path: string, options?: object) => NativeDb }
      | undefined;
    const DatabaseSync = mod?.DatabaseSync;
    if (typeof DatabaseSync !== 'function')
      return { ok: false, reason: `node:sqlite is not available on Node ${version} (needs Node >= 22.13)` };
    new DatabaseSync(':memory:').close();
    return { ok: true, open: (path) => new DatabaseSync(path, { enableForeignKeyConstraints: true }) };
  } catch (error) {
    return { ok: false, reason: `node:sqlite failed to load on Node ${version}: ${message(error)}` };
  }
}

function loadBetterSqlite3(): LoadState {
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => NativeDb;
    // the native addon is loaded (and its ABI checked) by the first open
    new Database(':memory:').close();
    return { ok: true, open: (path) => new Database(path) };
  } catch (error) {
    return {
      ok: false,
      reason: `better-sqlite3 failed to load on Node ${process.versions.node} (ABI ${process.versions.modules}): ${message(error)}`,
    };
  }
}

/** Loads a binding once (never throws); `reason` says why it cannot be used. */
export function loadBinding(name: SqliteBindingName): LoadState {
  let state = loaded.get(name);
  if (state === undefined) {
    state = name === 'node' ? loadNode() : loadBetterSqlite3();
    loaded.set(name, state);
  }
  return state;
}

/** True when `name` loads on this Node. */
export function bindingAvailable(name: SqliteBindingName): boolean {
  return loadBinding(name).ok;
}

/**
 * The binding to use: `requested`, else `PROXYHA_CM_SQLITE`, else the first of {@link SQLITE_BINDINGS} that
 * loads. Throws `CM_STORE_UNAVAILABLE` naming each reason.
 */
export function selectBinding(requested?: SqliteBindingName): { name: SqliteBindingName; open: Opener } {
  const fromEnv = process.env[SQLITE_BINDING_ENV]?.trim();
  const wanted = requested ?? (fromEnv ? fromEnv : undefined);
  if (wanted !== undefined && !SQLITE_BINDINGS.includes(wanted as SqliteBindingName))
    throw new CmError(
      'CM_STORE_UNAVAILABLE',
      `unknown SQLite binding '${wanted}' (${SQLITE_BINDING_ENV} must be ${SQLITE_BINDINGS.join(' or ')})`,
      { details: { binding: wanted } },
    );
  const candidates = wanted === undefined ? SQLITE_BINDINGS : [wanted as SqliteBindingName];
  const reasons: string[] = [];
  for (const name of candidates) {
    const state = loadBinding(name);
    if (state.ok) return { name, open: state.open };
    reasons.push(state.reason);
  }
  throw new CmError(
    'CM_STORE_UNAVAILABLE',
    `no SQLite binding is available: ${reasons.map((r) => r.replace(/\.+$/, '')).join('; ')}. Run Node >= 22.13 (node:sqlite) or install better-sqlite3 for this Node`,
    { details: { bindings: candidates, reasons } },
  );
}

/** Opens (creating if needed) the database file `path` with the selected binding. */
export function openSqlite(path: string, binding?: SqliteBindingName): SqliteDb {
  const { name, open } = selectBinding(binding);
  const db = open(path);
  let closed = false;
  let inTransaction = false;
  return {
    binding: name,
    exec: (sql) => {
      db.exec(sql);
    },
    prepare: (sql) => db.prepare(sql),
    transaction<T>(fn: () => T): T {
      if (inTransaction) return fn();
      db.exec('BEGIN IMMEDIATE');
      inTransaction = true;
      try {
        const result = fn();
        db.exec('COMMIT');
        return result;
      } catch (error) {
        try {
          db.exec('ROLLBACK');
        } catch {
          // SQLite already rolled back (e.g. after SQLITE_FULL); the original error is what matters
        }
        throw error;
      } finally {
        inTransaction = false;
      }
    },
    close: () => {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

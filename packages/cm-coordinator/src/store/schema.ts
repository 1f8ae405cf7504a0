// The store's schema as numbered migrations. A migration is never edited once released: add a new one.

/** One step of the schema: applied once, in its own transaction with every other pending step. */
export interface Migration {
  /** The schema version it brings the database to (1, 2, ...). */
  readonly version: number;
  /** What it does. */
  readonly description: string;
  /** The statements. */
  readonly sql: string;
}

/** The table that records which migrations were applied (created before the first migration). */
export const SCHEMA_VERSION_TABLE = `
CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER PRIMARY KEY NOT NULL,
  description TEXT NOT NULL,
  applied INTEGER NOT NULL
) STRICT;
`;

/** Every migration, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'versions, documents, conflicts, peers, meta',
    sql: `
CREATE TABLE versions (
  id TEXT PRIMARY KEY NOT NULL,
  scope TEXT NOT NULL,
  parents TEXT NOT NULL,
  stamp_wall INTEGER NOT NULL,
  stamp_logical INTEGER NOT NULL,
  stamp_node TEXT NOT NULL,
  origin_uuid TEXT NOT NULL,
  origin_name TEXT NOT NULL,
  origin_priority INTEGER NOT NULL,
  comment TEXT,
  document_count INTEGER NOT NULL,
  created INTEGER NOT NULL
) STRICT;
CREATE INDEX versions_scope_stamp ON versions (scope, stamp_wall, stamp_logical, stamp_node, id);
CREATE INDEX versions_stamp ON versions (stamp_wall, stamp_logical, stamp_node, id);

CREATE TABLE documents (
  version_id TEXT NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  name TEXT NOT NULL,
  content TEXT NOT NULL,
  encoding TEXT CHECK (encoding IS NULL OR encoding IN ('utf8', 'base64')),
  PRIMARY KEY (version_id, seq),
  UNIQUE (version_id, name)
) STRICT;

CREATE TABLE conflicts (
  winner TEXT NOT NULL,
  loser TEXT NOT NULL,
  scope TEXT NOT NULL,
  detected_at INTEGER NOT NULL,
  PRIMARY KEY (winner, loser)
) STRICT;
CREATE INDEX conflicts_detected ON conflicts (detected_at);
CREATE INDEX conflicts_scope ON conflicts (scope);

CREATE TABLE peers (
  uuid TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  priority INTEGER NOT NULL,
  version TEXT NOT NULL,
  address TEXT NOT NULL,
  last_seen INTEGER,
  last_error TEXT,
  storage_timestamp TEXT
) STRICT;

CREATE TABLE meta (
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
) STRICT;
`,
  },
];

/** The schema version this code writes. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

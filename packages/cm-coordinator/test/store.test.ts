// The durable store (SqliteStore): every method, on each SQLite binding that loads on this Node.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CmError } from '../src/errors';
import type { Version } from '../src/machine/types';
import { openStore, type SqliteStore, STORE_FILE_NAME, STORE_SCHEMA_VERSION } from '../src/store/index';
import { MIGRATIONS } from '../src/store/schema';
import {
  bindingAvailable,
  loadBinding,
  openSqlite,
  SQLITE_BINDING_ENV,
  SQLITE_BINDINGS,
  type SqliteDb,
  selectBinding,
} from '../src/store/sqlite';
import type { ConflictRecord, PeerRecord } from '../src/store/types';
import { makeVersion, NODE_SCOPE, versionId, withId } from './fixtures/store-versions';

const root = mkdtempSync(join(tmpdir(), 'cm-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => {
  const dir = join(root, `d${counter++}`);
  mkdirSync(dir);
  return dir;
};

function version(n: number, overrides: Partial<Omit<Version, 'id'>> = {}): Version {
  const { id: _id, ...base } = makeVersion(n, { maxDocument: 2000 });
  return withId({ ...base, ...overrides });
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CmError);
    return (error as CmError).code;
  }
  return undefined;
}

function thrown(fn: () => unknown): CmError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CmError);
    return error as CmError;
  }
  throw new Error('expected a CmError');
}

const peer = (uuid: string, name: string, extra: Partial<PeerRecord> = {}): PeerRecord => ({
  node: { uuid, name, priority: 10, version: '0.1.0' },
  address: `${name}:8442`,
  ...extra,
});

describe('binding selection', () => {
  it('rejects an unknown binding name with CM_STORE_UNAVAILABLE', () => {
    const saved = process.env[SQLITE_BINDING_ENV];
    process.env[SQLITE_BINDING_ENV] = 'sqlite4';
    try {
      const error = thrown(() => selectBinding());
      expect(error.code).toBe('CM_STORE_UNAVAILABLE');
      expect(error.message).toContain("unknown SQLite binding 'sqlite4'");
    } finally {
      if (saved === undefined) delete process.env[SQLITE_BINDING_ENV];
      else process.env[SQLITE_BINDING_ENV] = saved;
    }
  });

  it('picks the first binding that loads when none is selected', () => {
    const saved = process.env[SQLITE_BINDING_ENV];
    delete process.env[SQLITE_BINDING_ENV];
    try {
      const first = SQLITE_BINDINGS.find((b) => bindingAvailable(b));
      expect(first, 'at least one SQLite binding loads on this Node').toBeDefined();
      expect(selectBinding().name).toBe(first);
    } finally {
      if (saved !== undefined) process.env[SQLITE_BINDING_ENV] = saved;
    }
  });

  // (on Node 20 node:sqlite is missing; on Node 24 better-sqlite3's ABI does not match: one always fails)
  const missing = SQLITE_BINDINGS.filter((b) => !bindingAvailable(b));
  it.runIf(missing.length > 0)(
    `raises CM_STORE_UNAVAILABLE with the reason for a binding that cannot load (${missing.join(', ')})`,
    () => {
      for (const name of missing) {
        const error = thrown(() => openStore(join(freshDir(), 'x.sqlite'), { binding: name }));
        expect(error.code).toBe('CM_STORE_UNAVAILABLE');
        const state = loadBinding(name);
        expect(state.ok).toBe(false);
        expect(error.message).toContain(name === 'node' ? 'node:sqlite' : 'better-sqlite3');
        expect(error.message).toContain(process.versions.node);
      }
    },
  );
});

// every binding that loads on this Node (the unit tests run on Node 20: better-sqlite3, and on Node 24:
// node:sqlite, so both are covered by every full test run)
describe.each(SQLITE_BINDINGS.filter((b) => bindingAvailable(b)))('SqliteStore (%s)', (binding) => {
  const test = it;
  const open: SqliteStore[] = [];
  const raws: SqliteDb[] = [];
  const store = (path: string = freshDir()) => {
    const s = openStore(path, { binding });
    open.push(s);
    return s;
  };
  /** A second, raw connection to the same file (to inspect or damage it). */
  const raw = (file: string) => {
    const db = openSqlite(file, binding);
    raws.push(db);
    return db;
  };
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
    for (const db of raws.splice(0)) db.close();
  });

  describe(`opening`, () => {
    test('creates the database inside an existing directory, WAL, synchronous=FULL, foreign keys', () => {
      const dir = freshDir();
      const s = store(dir);
      expect(s.file).toBe(join(dir, STORE_FILE_NAME));
      expect(s.binding).toBe(binding);
      expect(s.settings()).toEqual({
        journalMode: 'wal',
        synchronous: 'full',
        foreignKeys: true,
        busyTimeoutMs: 10000,
      });
      expect(s.schemaVersion()).toBe(STORE_SCHEMA_VERSION);
      expect(s.integrityCheck()).toEqual([]);
    });

    test('accepts a file path (creating its directory), a directory with a trailing slash, and :memory:', () => {
      const base = freshDir();
      const file = join(base, 'a', 'b', 'node.db');
      expect(store(file).file).toBe(file);
      expect(store(`${join(base, 'c')}/`).file).toBe(join(base, 'c', STORE_FILE_NAME));
      const memory = store(':memory:');
      memory.setMeta('k', 'v');
      expect(memory.getMeta('k')).toBe('v');
    });

    test('migrates an empty file and records each migration in schema_version', () => {
      const file = join(freshDir(), 'empty.sqlite');
      writeFileSync(file, '');
      const s = store(file);
      expect(s.schemaVersion()).toBe(STORE_SCHEMA_VERSION);
      const rows = raw(file)
        .prepare('SELECT version, description FROM schema_version ORDER BY version')
        .all();
      expect(rows.map((r) => ({ ...r }))).toEqual(
        MIGRATIONS.map((m) => ({ version: m.version, description: m.description })),
      );
      const tables = raw(file)
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all()
        .map((r) => r.name);
      expect(tables).toEqual(['conflicts', 'documents', 'meta', 'peers', 'schema_version', 'versions']);
    });

    test('reopening applies no migration twice and keeps every record', () => {
      const dir = freshDir();
      const a = store(dir);
      const v = version(1);
      a.putVersion(v);
      a.putPeer(peer('p1', 'gw2'));
      a.putConflict({ scope: 'policy', winner: v.id, loser: 'x', detectedAt: 5 });
      a.setMeta('hlc', '42');
      a.close();
      a.close(); // idempotent
      const b = store(dir);
      expect(b.schemaVersion()).toBe(STORE_SCHEMA_VERSION);
      expect(raw(b.file).prepare('SELECT COUNT(*) AS n FROM schema_version').get()?.n).toBe(
        MIGRATIONS.length,
      );
      expect(b.getVersion(v.id)).toEqual(v);
      expect(b.peers()).toEqual([peer('p1', 'gw2')]);
      expect(b.conflicts()).toHaveLength(1);
      expect(b.getMeta('hlc')).toBe('42');
    });

    test('refuses a database of a newer schema version', () => {
      const dir = freshDir();
      const file = store(dir).file;
      raw(file).exec(`INSERT INTO schema_version VALUES (${STORE_SCHEMA_VERSION + 1}, 'future', 0)`);
      const error = thrown(() => openStore(dir, { binding }));
      expect(error.code).toBe('CM_STORE');
      expect(error.message).toContain(`schema version ${STORE_SCHEMA_VERSION + 1}`);
    });

    test('raises CM_STORE for a file that is not a database', () => {
      const file = join(freshDir(), 'junk.sqlite');
      writeFileSync(file, 'this is not an SQLite database, just some text that is long enough '.repeat(100));
      const error = thrown(() => openStore(file, { binding }));
      expect(error.code).toBe('CM_STORE');
      expect(error.message).toContain(file);
    });

    test('every method of a closed store raises CM_STORE', () => {
      const s = store();
      s.close();
      const calls: Array<() => unknown> = [
        () => s.putVersion(version(1)),
        () => s.putVersions([version(1)]),
        () => s.getVersion('x'),
        () => s.versionIds(),
        () => s.versions(),
        () => s.scopes(),
        () => s.replaceScope('policy', []),
        () => s.putConflict({ scope: 'policy', winner: 'a', loser: 'b', detectedAt: 1 }),
        () => s.conflicts(),
        () => s.putPeer(peer('u', 'n')),
        () => s.peers(),
        () => s.removePeer('u'),
        () => s.getMeta('k'),
        () => s.setMeta('k', 'v'),
        () => s.integrityCheck(),
      ];
      for (const call of calls) expect(code(call)).toBe('CM_STORE');
    });
  });

  describe(`versions`, () => {
    test('putVersion/getVersion round-trip every field (absent comment and encoding stay absent)', () => {
      const s = store();
      const v = withId({
        scope: 'policy',
        parents: ['p1', 'p2'],
        stamp: { wall: 1_700_000_000_123, logical: 65_535, node: 'n1' },
        origin: { uuid: 'u1', name: 'gw1', priority: 1000 },
        documents: [
          { name: 'accounts.json', content: '{"admin":"x"}' },
          {
            name: 'bin/logo.png',
            content: Buffer.from([0, 1, 2, 255]).toString('base64'),
            encoding: 'base64',
          },
          { name: 'empty.txt', content: '' },
          { name: 'squid.conf', content: 'acl é € 𝄞 \u0000 end', encoding: 'utf8' },
        ],
      });
      s.putVersion(v);
      const back = s.getVersion(v.id);
      expect(back).toEqual(v);
      expect(back && 'comment' in back).toBe(false);
      expect(back?.documents[0] && 'encoding' in back.documents[0]).toBe(false);
      expect(versionId(back as Version)).toBe(v.id);
      const commented = withId({ ...v, comment: '' });
      s.putVersion(commented);
      expect(s.getVersion(commented.id)?.comment).toBe('');
      expect(s.getVersion('nope')).toBeUndefined();
    });

    test('a version without documents round-trips', () => {
      const s = store();
      const v = version(3, { documents: [] });
      s.putVersion(v);
      expect(s.getVersion(v.id)).toEqual(v);
      expect(s.versions()).toEqual([v]);
    });

    test('putVersion is idempotent by id: a second put of the same id changes nothing', () => {
      const s = store();
      const v = version(1);
      s.putVersion(v);
      s.putVersion(v);
      s.putVersion({ ...v, comment: 'other', documents: [{ name: 'x', content: 'y' }] });
      expect(s.versionIds()).toEqual([v.id]);
      expect(s.getVersion(v.id)).toEqual(v);
    });

    test('putVersions writes all in one transaction and skips those already stored', () => {
      const s = store();
      const [a, b, c] = [version(1), version(2), version(3)];
      s.putVersion(b);
      s.putVersions([a, b, c, a]);
      expect(s.versionIds().sort()).toEqual([a.id, b.id, c.id].sort());
      s.putVersions([]);
      expect(s.versions()).toEqual([a, b, c]);
    });

    test('versions and versionIds are ordered by stamp (wall, logical, node), then id; scopes are listed', () => {
      const s = store();
      const stamp = (wall: number, logical: number, node: string) => ({ wall, logical, node });
      const v1 = version(1, { stamp: stamp(100, 0, 'b') });
      const v2 = version(2, { stamp: stamp(100, 0, 'c') });
      const v3 = version(3, { stamp: stamp(100, 1, 'a') });
      const v4 = version(4, { stamp: stamp(200, 0, 'a') });
      const v0 = version(5, { stamp: stamp(99, 9, 'z') });
      const n1 = version(6, { scope: NODE_SCOPE, stamp: stamp(150, 0, 'a') });
      s.putVersions([v4, n1, v2]);
      s.putVersion(v3);
      s.putVersions([v1, v0]);
      expect(s.versionIds('policy')).toEqual([v0, v1, v2, v3, v4].map((v) => v.id));
      expect(s.versions('policy')).toEqual([v0, v1, v2, v3, v4]);
      expect(s.versionIds()).toEqual([v0, v1, v2, v3, n1, v4].map((v) => v.id));
      expect(s.versions()).toEqual([v0, v1, v2, v3, n1, v4]);
      expect(s.versions(NODE_SCOPE)).toEqual([n1]);
      expect(s.versions('node:nobody')).toEqual([]);
      expect(s.scopes()).toEqual([NODE_SCOPE, 'policy'].sort());
      // equal stamps: by id
      const same = [version(7, { stamp: stamp(300, 0, 'a') }), version(8, { stamp: stamp(300, 0, 'a') })];
      s.putVersions(same);
      expect(s.versionIds('policy').slice(-2)).toEqual(same.map((v) => v.id).sort());
    });

    test('rejects malformed versions with CM_INVALID_ARGUMENT and writes nothing', () => {
      const s = store();
      const good = version(1);
      const bad: Array<[string, unknown]> = [
        ['id', { ...good, id: '' }],
        ['scope', { ...good, scope: 'global' }],
        ['parents', { ...good, parents: 'x' }],
        ['stamp.logical', { ...good, stamp: { ...good.stamp, logical: 70_000 } }],
        ['stamp.wall', { ...good, stamp: { ...good.stamp, wall: 1.5 } }],
        ['origin', { ...good, origin: { uuid: 'u', name: 'n' } }],
        ['encoding', { ...good, documents: [{ name: 'a', content: 'b', encoding: 'latin1' }] }],
        [
          'appears twice',
          {
            ...good,
            documents: [
              { name: 'a', content: 'b' },
              { name: 'a', content: 'c' },
            ],
          },
        ],
        ['content', { ...good, documents: [{ name: 'a' }] }],
      ];
      for (const [what, v] of bad) {
        const error = thrown(() => s.putVersion(v as Version));
        expect(error.code).toBe('CM_INVALID_ARGUMENT');
        expect(error.message).toContain(what);
        expect(code(() => s.putVersions([good, v as Version]))).toBe('CM_INVALID_ARGUMENT');
      }
      expect(s.versionIds()).toEqual([]);
    });

    test('a batch that fails in SQLite midway is rolled back whole', () => {
      const s = store();
      raw(s.file).exec(
        "CREATE TRIGGER boom BEFORE INSERT ON documents WHEN NEW.name = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END",
      );
      const ok = version(1);
      const boom = version(2, {
        documents: [
          { name: 'a', content: 'first document is written' },
          { name: 'boom', content: '' },
        ],
      });
      const error = thrown(() => s.putVersions([ok, boom]));
      expect(error.code).toBe('CM_STORE');
      expect(error.message).toContain('boom');
      expect(code(() => s.putVersion(boom))).toBe('CM_STORE');
      expect(s.versionIds()).toEqual([]);
      expect(raw(s.file).prepare('SELECT COUNT(*) AS n FROM documents').get()?.n).toBe(0);
      s.putVersion(ok); // the store is usable afterwards
      expect(s.versions()).toEqual([ok]);
    });
  });

  describe(`replaceScope`, () => {
    test('replaces every version and conflict of one scope, leaving the others', () => {
      const s = store();
      const old = [version(1), version(2)];
      const other = version(3, { scope: NODE_SCOPE });
      s.putVersions([...old, other]);
      s.putConflict({
        scope: 'policy',
        winner: old[0]?.id as string,
        loser: old[1]?.id as string,
        detectedAt: 1,
      });
      s.putConflict({ scope: NODE_SCOPE, winner: other.id, loser: 'gone', detectedAt: 2 });
      const fresh = [version(4), version(5), version(2)];
      s.replaceScope('policy', fresh);
      expect(s.versions('policy')).toEqual([...fresh].sort((a, b) => a.stamp.wall - b.stamp.wall));
      expect(s.getVersion(old[0]?.id as string)).toBeUndefined();
      expect(s.versions(NODE_SCOPE)).toEqual([other]);
      expect(s.conflicts()).toEqual([{ scope: NODE_SCOPE, winner: other.id, loser: 'gone', detectedAt: 2 }]);
      expect(
        raw(s.file)
          .prepare('SELECT COUNT(*) AS n FROM documents WHERE version_id = ?')
          .get(old[0]?.id as string)?.n,
      ).toBe(0);
      s.replaceScope('policy', []);
      expect(s.versions('policy')).toEqual([]);
      expect(s.scopes()).toEqual([NODE_SCOPE]);
      expect(s.integrityCheck()).toEqual([]);
    });

    test('is atomic: a failure midway keeps the old scope whole', () => {
      const s = store();
      const old = [version(1), version(2)];
      s.putVersions(old);
      raw(s.file).exec(
        "CREATE TRIGGER boom BEFORE INSERT ON documents WHEN NEW.name = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END",
      );
      const error = thrown(() =>
        s.replaceScope('policy', [version(3), version(4, { documents: [{ name: 'boom', content: '' }] })]),
      );
      expect(error.code).toBe('CM_STORE');
      expect(s.versions('policy')).toEqual(old);
    });

    test('is atomic for a concurrent reader: another connection sees the old scope or the new one', () => {
      const s = store();
      const old = [version(1), version(2)];
      s.putVersions(old);
      const reader = store(s.file);
      expect(reader.versions('policy')).toEqual(old);
      s.replaceScope('policy', [version(3)]);
      expect(reader.versions('policy')).toEqual([version(3)]);
    });

    test('rejects versions of another scope or a bad scope, changing nothing', () => {
      const s = store();
      s.putVersion(version(1));
      const error = thrown(() => s.replaceScope('policy', [version(2), version(3, { scope: NODE_SCOPE })]));
      expect(error.code).toBe('CM_INVALID_ARGUMENT');
      expect(error.message).toContain('[1]');
      expect(code(() => s.replaceScope('bogus' as 'policy', []))).toBe('CM_INVALID_ARGUMENT');
      expect(s.versions()).toEqual([version(1)]);
    });
  });

  describe(`conflicts, peers, meta`, () => {
    test('putConflict is idempotent by winner/loser; conflicts are newest first', () => {
      const s = store();
      const c = (winner: string, loser: string, detectedAt: number): ConflictRecord => ({
        scope: 'policy',
        winner,
        loser,
        detectedAt,
      });
      s.putConflict(c('a', 'b', 10));
      s.putConflict(c('a', 'c', 30));
      s.putConflict(c('d', 'e', 20));
      s.putConflict(c('a', 'b', 99)); // already recorded: kept as it was
      s.putConflict({ ...c('f', 'g', 20), scope: NODE_SCOPE });
      expect(s.conflicts()).toEqual([
        c('a', 'c', 30),
        { ...c('f', 'g', 20), scope: NODE_SCOPE },
        c('d', 'e', 20),
        c('a', 'b', 10),
      ]);
      expect(code(() => s.putConflict({ ...c('x', 'y', 1), scope: 'x' as 'policy' }))).toBe(
        'CM_INVALID_ARGUMENT',
      );
      expect(code(() => s.putConflict(c('x', 'y', Number.NaN)))).toBe('CM_INVALID_ARGUMENT');
    });

    test('putPeer upserts by uuid (absent optional fields are cleared); removePeer removes', () => {
      const s = store();
      s.putPeer(peer('u2', 'gw3'));
      s.putPeer(
        peer('u1', 'gw2', {
          lastSeen: 1000,
          lastError: "(301 - 'cannot connect')",
          storageTimestamp: '1700000000000.0.x',
        }),
      );
      expect(s.peers()).toEqual([
        peer('u1', 'gw2', {
          lastSeen: 1000,
          lastError: "(301 - 'cannot connect')",
          storageTimestamp: '1700000000000.0.x',
        }),
        peer('u2', 'gw3'),
      ]);
      const updated: PeerRecord = {
        node: { uuid: 'u1', name: 'gw9', priority: 5, version: '0.2.0' },
        address: '10.0.0.9:8442',
        lastSeen: 2000,
      };
      s.putPeer(updated);
      expect(s.peers()).toEqual([peer('u2', 'gw3'), updated]);
      s.removePeer('u2');
      s.removePeer('unknown');
      expect(s.peers()).toEqual([updated]);
      expect(code(() => s.putPeer({ ...updated, node: { ...updated.node, priority: 1.5 } }))).toBe(
        'CM_INVALID_ARGUMENT',
      );
      expect(code(() => s.putPeer({ ...updated, lastSeen: 'now' as unknown as number }))).toBe(
        'CM_INVALID_ARGUMENT',
      );
    });

    test('meta is a durable key/value', () => {
      const dir = freshDir();
      const s = store(dir);
      expect(s.getMeta('identity')).toBeUndefined();
      s.setMeta('identity', '{"uuid":"u"}');
      s.setMeta('hlc', '1');
      s.setMeta('hlc', '2');
      s.setMeta('empty', '');
      expect(s.getMeta('hlc')).toBe('2');
      expect(s.getMeta('empty')).toBe('');
      s.close();
      const again = store(dir);
      expect(again.getMeta('identity')).toBe('{"uuid":"u"}');
      expect(again.getMeta('hlc')).toBe('2');
      expect(code(() => again.setMeta('', 'x'))).toBe('CM_INVALID_ARGUMENT');
      expect(code(() => again.setMeta('k', 5 as unknown as string))).toBe('CM_INVALID_ARGUMENT');
    });
  });

  describe(`corrupted rows`, () => {
    const corruptions: Array<[string, string]> = [
      ['parents is not JSON', "UPDATE versions SET parents = '[not json' WHERE id = ?"],
      ['parents is not an array', 'UPDATE versions SET parents = \'{"a":1}\' WHERE id = ?'],
      ['stamp.logical', 'UPDATE versions SET stamp_logical = 70000 WHERE id = ?'],
      ["scope 'global'", "UPDATE versions SET scope = 'global' WHERE id = ?"],
      ['expected', 'DELETE FROM documents WHERE version_id = ? AND seq = 0'],
      ['missing', 'UPDATE documents SET seq = 7 WHERE version_id = ? AND seq = 0'],
      ['documents[0].name', "UPDATE documents SET name = '' WHERE version_id = ? AND seq = 0"],
    ];
    test.each(corruptions)('a corrupted version row raises CM_STORE naming it (%s)', (issue, sql) => {
      const s = store();
      const v = version(1, {
        documents: [
          { name: 'a', content: 'A' },
          { name: 'b', content: 'B' },
        ],
      });
      const other = version(2);
      s.putVersions([v, other]);
      raw(s.file).prepare(sql).run(v.id);
      const reads = [() => s.getVersion(v.id), () => s.versions()];
      if (!issue.startsWith('scope')) reads.push(() => s.versions(v.scope));
      for (const read of reads) {
        const error = thrown(read);
        expect(error.code).toBe('CM_STORE');
        expect(error.message).toContain(v.id);
        expect(error.message).toContain(issue);
        expect(error.details).toMatchObject({ id: v.id, file: s.file });
      }
      expect(s.getVersion(other.id)).toEqual(other); // the others stay readable
    });

    test('a corrupted scope or conflict raises CM_STORE', () => {
      const s = store();
      s.putVersion(version(1));
      s.putConflict({ scope: 'policy', winner: 'a', loser: 'b', detectedAt: 1 });
      const db = raw(s.file);
      db.exec("UPDATE versions SET scope = 'node:'");
      expect(code(() => s.scopes())).toBe('CM_STORE');
      db.exec("UPDATE conflicts SET scope = 'elsewhere'");
      const error = thrown(() => s.conflicts());
      expect(error.code).toBe('CM_STORE');
      expect(error.message).toContain('a/b');
    });
  });

  describe(`size`, () => {
    test('thousands of versions and a policy of a few MB', () => {
      const s = store();
      const many: Version[] = [];
      for (let n = 0; n < 3000; n++)
        many.push(
          withId({
            scope: n % 10 === 0 ? NODE_SCOPE : 'policy',
            parents: [],
            stamp: { wall: 1_700_000_000_000 + ((n * 7919) % 3000), logical: 0, node: 'n' },
            origin: { uuid: 'u', name: 'gw1', priority: 10 },
            documents: [{ name: 'squid.conf', content: `acl n${n}\n` }],
          }),
        );
      for (let i = 0; i < many.length; i += 500) s.putVersions(many.slice(i, i + 500));
      const big = version(1, {
        stamp: { wall: 1_800_000_000_000, logical: 0, node: 'n' },
        documents: [
          { name: 'lists/blocked.txt', content: 'x.example.com\n'.repeat(300_000) },
          { name: 'squid.conf', content: 'é'.repeat(500_000) },
        ],
      });
      s.putVersion(big);
      expect(s.getVersion(big.id)).toEqual(big);
      const policy = s.versions('policy');
      expect(policy).toHaveLength(2701);
      expect(policy.at(-1)).toEqual(big);
      expect(policy.every((v, i) => i === 0 || (policy[i - 1] as Version).stamp.wall <= v.stamp.wall)).toBe(
        true,
      );
      expect(s.versionIds(NODE_SCOPE)).toHaveLength(300);
      // the stamp order of a scope is read from the index, not sorted in a temporary b-tree
      const plan = raw(s.file)
        .prepare(
          'EXPLAIN QUERY PLAN SELECT id FROM versions WHERE scope = ? ORDER BY stamp_wall, stamp_logical, stamp_node, id',
        )
        .all('policy')
        .map((r) => String(r.detail))
        .join('; ');
      expect(plan).toContain('versions_scope_stamp');
      expect(plan).not.toContain('TEMP B-TREE');
      expect(s.integrityCheck()).toEqual([]);
    });
  });
});

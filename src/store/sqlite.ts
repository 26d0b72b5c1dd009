import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ObjectKind } from '../model/index.js';
import type { Clock } from '../util/clock.js';
import { system, unavailable } from '../util/errors.js';
import { open, seal } from './cipher.js';
import { decodeRow, encodeRow, type Row } from './codec.js';
import { GroupCommit } from './group-commit.js';
import { keyFileExists, loadOrCreateKey } from './keyfile.js';
import { MemoryStore, type Commit, type Journal } from './memory.js';
import type { ReadTx, Store, WatchEvent, WatchOptions, WriteTx } from './store.js';

/**
 * The embedded default store: MemoryStore semantics, every commit written to
 * SQLite (one database transaction per store transaction) before the caller's
 * promise resolves and before any watcher hears of it.
 *
 * - WAL mode: a commit appends to the log instead of rewriting pages, and a
 *   crash at any point leaves either the whole transaction or none of it.
 * - Durability by group commit (the default, `synchronous: 'full'`): SQLite
 *   runs with synchronous=NORMAL, so a commit is written to the log (the
 *   kernel's page cache, which already outlives a SIGKILL) without waiting for
 *   the disk; the log file is then fsynced on libuv's thread pool, and the
 *   writer and the watchers hear of the commit only once that fsync is done.
 *   Commits made while one fsync is under way share the next, as a raft log
 *   batches its entries. SQLite's own FULL would fsync inside the commit, on
 *   the event loop: while the engines start containers and the disk is busy,
 *   that blocked the gateway ~10 ms per agent status report, API and agents
 *   alike. `synchronous: 'normal'` skips the fsync (tests and benchmarks).
 * - locking_mode=EXCLUSIVE: the store keeps its state in memory, so a second
 *   process writing the same file would silently diverge; the lock refuses it.
 */
export const schemaVersion = 1;

export interface SqliteStoreOptions {
  readonly path: string;
  /** The AES-256 key for secrets at rest; created (0600) with a new database. */
  readonly keyPath: string;
  readonly clock?: Clock;
  readonly synchronous?: 'full' | 'normal';
  readonly watchQueueLimit?: number;
}

/**
 * Migrations, by the schema version they start from; each runs in the same
 * database transaction as the bump of `schema_version`. Version 1 is the first.
 */
const migrations: Readonly<Record<number, (db: Database.Database) => void>> = {};

const keyCheckText = 'stevedore store key check';
const keyCheckAad = 'meta/key_check';

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly memory: MemoryStore;
  private groupCommit: GroupCommit | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: SqliteStoreOptions) {
    const { path } = options;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // A short busy timeout: the only other holder of the lock is another stevedore.
    this.db = new Database(path, { timeout: 1000 });
    try {
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      // NORMAL in both modes: the log's fsync is ours (GroupCommit), off the event loop.
      this.db.pragma('synchronous = NORMAL');
      const fresh = prepareSchema(this.db, path);
      if (!fresh && getMeta(this.db, 'key_check') !== undefined && !keyFileExists(options.keyPath)) {
        throw system(`the store ${path} holds encrypted secrets but its key file ${options.keyPath} is missing`);
      }
      const key = loadOrCreateKey(options.keyPath, true);
      checkKey(this.db, key, path);
      const journal = new SqliteJournal(this.db, key, options.synchronous === 'normal' ? undefined : new GroupCommit(`${path}-wal`));
      this.groupCommit = journal.groupCommit;
      const version = Number(getMeta(this.db, 'store_version'));
      if (!Number.isSafeInteger(version) || version < 0) throw system(`corrupt store ${path}: bad store_version`);
      const rows = this.db.prepare<[], Row>('SELECT kind, id, version, body, data FROM objects').iterate();
      this.memory = new MemoryStore({
        journal,
        initial: { version, objects: map(rows, (row) => decodeRow(row, key)) },
        ...(options.clock === undefined ? {} : { clock: options.clock }),
        ...(options.watchQueueLimit === undefined ? {} : { watchQueueLimit: options.watchQueueLimit }),
      });
    } catch (err) {
      this.db.close();
      if ((err as { code?: unknown }).code === 'SQLITE_BUSY') throw unavailable(`the store ${path} is in use by another process`);
      throw err;
    }
  }

  /** fsyncs of the log so far (group commit); undefined with `synchronous: 'normal'`, which makes none. */
  get logFsyncs(): number | undefined {
    return this.groupCommit?.fsyncs;
  }

  view<T>(fn: (tx: ReadTx) => T): T {
    return this.memory.view(fn);
  }

  update<T>(fn: (tx: WriteTx) => T): Promise<T> {
    return this.memory.update(fn);
  }

  watch(options?: WatchOptions): AsyncIterable<WatchEvent> {
    return this.memory.watch(options);
  }

  viewAndWatch<T>(fn: (tx: ReadTx) => T, options?: WatchOptions): { readonly result: T; readonly events: AsyncIterable<WatchEvent> } {
    return this.memory.viewAndWatch(fn, options);
  }

  close(): Promise<void> {
    this.closing ??= this.memory.close().then(async () => {
      await this.groupCommit?.close();
      this.db.close(); // checkpoints the log into the database file and releases the lock
    });
    return this.closing;
  }
}

class SqliteJournal implements Journal {
  private readonly write: (commit: Commit) => void;
  readonly sync: (() => Promise<void>) | undefined;

  constructor(
    db: Database.Database,
    key: Buffer,
    readonly groupCommit: GroupCommit | undefined,
  ) {
    this.sync = groupCommit === undefined ? undefined : () => groupCommit.sync();
    const upsert = db.prepare<[string, string, number, string, Buffer | null]>(
      `INSERT INTO objects (kind, id, version, body, data) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version, body = excluded.body, data = excluded.data`,
    );
    const remove = db.prepare<[string, string]>('DELETE FROM objects WHERE kind = ? AND id = ?');
    const setVersion = db.prepare<[number]>("UPDATE meta SET value = ? WHERE key = 'store_version'");
    this.write = db.transaction((commit: Commit) => {
      for (const { kind, id, object } of commit.changes) {
        if (object === undefined) {
          remove.run(kind, id);
          continue;
        }
        const row = encodeRow(kind as ObjectKind, object, key);
        upsert.run(row.kind, row.id, row.version, row.body, row.data);
      }
      setVersion.run(commit.version);
    });
  }

  append(commit: Commit): void {
    this.write(commit);
    this.groupCommit?.appended();
  }
}

/** Creates the schema in an empty database, or checks and migrates an existing one. True when fresh. */
function prepareSchema(db: Database.Database, path: string): boolean {
  return db
    .transaction((): boolean => {
      const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((t) => t.name);
      if (tables.length === 0) {
        db.exec(`
          CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY NOT NULL) STRICT;
          CREATE TABLE objects (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            version INTEGER NOT NULL,
            body TEXT NOT NULL,
            data BLOB,
            PRIMARY KEY (kind, id)
          ) STRICT;
        `);
        const insert = db.prepare<[string, string | number]>('INSERT INTO meta (key, value) VALUES (?, ?)');
        insert.run('schema_version', schemaVersion);
        insert.run('store_version', 0);
        return true;
      }
      if (!tables.includes('meta')) throw system(`${path} is not a stevedore store (it has tables but no meta table)`);
      let version = Number(getMeta(db, 'schema_version'));
      if (!Number.isSafeInteger(version)) throw system(`corrupt store ${path}: no schema_version`);
      if (version > schemaVersion) {
        throw system(`the store ${path} has schema version ${version}, newer than this stevedore understands (${schemaVersion}); upgrade stevedore or restore a backup`);
      }
      while (version < schemaVersion) {
        const migrate = migrations[version];
        if (migrate === undefined) throw system(`the store ${path} has schema version ${version}, which this stevedore cannot migrate (it writes ${schemaVersion})`);
        migrate(db);
        version++;
        db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(version);
      }
      return false;
    })
    .immediate(); // takes the write lock now, so a second process is refused at open, not at its first write
}

/** A value sealed with the key at creation: a wrong key file fails at open, not at the first secret read. */
function checkKey(db: Database.Database, key: Buffer, path: string): void {
  const stored = getMeta(db, 'key_check');
  if (stored === undefined) {
    db.prepare("INSERT INTO meta (key, value) VALUES ('key_check', ?)").run(seal(key, Buffer.from(keyCheckText), keyCheckAad));
    return;
  }
  if (!Buffer.isBuffer(stored)) throw system(`corrupt store ${path}: bad key_check`);
  try {
    if (open(key, stored, keyCheckAad).toString() === keyCheckText) return;
  } catch {
    // reported below
  }
  throw system(`the key file does not match the store ${path} (it was created with another key)`);
}

function getMeta(db: Database.Database, key: string): unknown {
  return db.prepare<[string], { value: unknown }>('SELECT value FROM meta WHERE key = ?').get(key)?.value;
}

function* map<A, B>(items: Iterable<A>, fn: (a: A) => B): Generator<B> {
  for (const item of items) yield fn(item);
}

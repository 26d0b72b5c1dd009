import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runStoreConformance } from '../../src/store/conformance.js';
import { SqliteStore, schemaVersion } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { newConfig, newSecret } from '../../src/store/testing/fixtures.js';
import { StevedoreError } from '../../src/util/errors.js';

const root = mkdtempSync(join(tmpdir(), 'stevedore-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): { path: string; keyPath: string } => {
  const dir = join(root, String(++n));
  return { path: join(dir, 'state.db'), keyPath: join(dir, 'keys', 'store.key') };
};
const where = new WeakMap<Store, { path: string; keyPath: string }>();

runStoreConformance(
  'SqliteStore',
  ({ clock }) => {
    const files = fresh();
    const store = new SqliteStore({ ...files, clock });
    where.set(store, files);
    return store;
  },
  {
    reopen: async (store, { clock }) => {
      const files = where.get(store)!;
      await store.close();
      const again = new SqliteStore({ ...files, clock });
      where.set(again, files);
      return again;
    },
    numRuns: 30,
  },
);

/** Every byte the database wrote: the file and, while open, its write-ahead log. */
function rawBytes(dir: string): Buffer {
  return Buffer.concat(readdirSync(dir).filter((f) => f.startsWith('state.db')).map((f) => readFileSync(join(dir, f))));
}

test('secrets are encrypted at rest, configs are not; the key file is created 0600', async () => {
  const files = fresh();
  const store = new SqliteStore(files);
  await store.update((tx) => {
    tx.create('secret', newSecret('x1', 'db-password', Buffer.from('SUPER-SECRET-VALUE-42')));
    tx.create('config', newConfig('c1', 'app.conf', Buffer.from('CLEAR-CONFIG-VALUE-43')));
  });
  const dir = join(files.path, '..');
  const open = rawBytes(dir);
  assert.ok(open.includes('db-password'), 'the row is there');
  assert.ok(!open.includes('SUPER-SECRET-VALUE-42'), 'no clear secret in the database or its log');
  assert.ok(open.includes('CLEAR-CONFIG-VALUE-43'), 'configs stay clear, as in Swarm');
  await store.close();
  assert.ok(!rawBytes(dir).includes('SUPER-SECRET-VALUE-42'));
  assert.equal(statSync(files.keyPath).mode & 0o777, 0o600);
  const again = new SqliteStore(files);
  assert.equal(again.view((tx) => tx.byName('secret', 'db-password')?.spec.data.toString()), 'SUPER-SECRET-VALUE-42');
  await again.close();
});

test('a wrong, missing or world-readable key file is refused at open', async () => {
  const files = fresh();
  const store = new SqliteStore(files);
  await store.update((tx) => tx.create('secret', newSecret('x1', 's', Buffer.from('v'))));
  await store.close();
  const other = fresh();
  await new SqliteStore(other).close(); // makes other.keyPath
  assert.throws(() => new SqliteStore({ path: files.path, keyPath: other.keyPath }), /key file does not match the store/);
  assert.throws(() => new SqliteStore({ path: files.path, keyPath: join(root, 'missing.key') }), /holds encrypted secrets but its key file .* is missing/);
  chmodSync(files.keyPath, 0o644);
  assert.throws(() => new SqliteStore(files), /accessible by group or others \(mode 0644\); run: chmod 600/);
  chmodSync(files.keyPath, 0o600);
  await new SqliteStore(files).close();
});

test('a second process on the same database is refused while the first has it open', async () => {
  const files = fresh();
  const store = new SqliteStore(files);
  const started = Date.now();
  assert.throws(
    () => new SqliteStore(files),
    (err: unknown) => err instanceof StevedoreError && err.kind === 'unavailable' && /in use by another process/.test(err.message),
  );
  assert.ok(Date.now() - started < 5000);
  await store.close();
  await new SqliteStore(files).close();
});

test('a newer schema, an unmigratable older one, or a foreign database is refused clearly', async () => {
  const files = fresh();
  await new SqliteStore(files).close();
  const setSchema = (v: number): void => {
    const db = new Database(files.path);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(v);
    db.close();
  };
  setSchema(schemaVersion + 1);
  assert.throws(() => new SqliteStore(files), new RegExp(`schema version ${schemaVersion + 1}, newer than this stevedore understands`));
  setSchema(0);
  assert.throws(() => new SqliteStore(files), /schema version 0, which this stevedore cannot migrate/);
  setSchema(schemaVersion);
  await new SqliteStore(files).close();

  const foreign = fresh();
  const first = new SqliteStore(foreign); // makes the directory
  await first.close();
  rmSync(foreign.path);
  const db = new Database(foreign.path);
  db.exec('CREATE TABLE t (x)');
  db.close();
  assert.throws(() => new SqliteStore(foreign), /is not a stevedore store/);
});

test('by default, commits are fsynced by group commit: a burst of updates shares fsyncs, and every writer and watcher hears once it is durable', async () => {
  const files = fresh();
  const store = new SqliteStore(files);
  const events = store.watch({ kinds: ['config'] })[Symbol.asyncIterator]();
  assert.equal(store.logFsyncs, 0);
  // 40 updates from 40 callers, none awaiting the others (as 40 agents' status reports arrive).
  const written = Array.from({ length: 40 }, (_, i) => store.update((tx) => tx.create('config', newConfig(`c${i}`, `cfg${i}`, Buffer.from('x')))));
  await Promise.all(written);
  const fsyncs = store.logFsyncs ?? 0;
  assert.ok(fsyncs >= 1 && fsyncs < 40, `${fsyncs} fsyncs for 40 commits`);
  for (let i = 0; i < 40; i++) assert.equal((await events.next()).value?.object.id, `c${i}`, 'in commit order');
  await store.close();
  // Reopened: all 40 are there.
  const again = new SqliteStore(files);
  assert.equal(again.view((tx) => tx.list('config').length), 40);
  await again.close();
});

test("synchronous: 'normal' makes no fsync of its own", async () => {
  const store = new SqliteStore({ ...fresh(), synchronous: 'normal' });
  await store.update((tx) => tx.create('config', newConfig('c1', 'cfg', Buffer.from('x'))));
  assert.equal(store.logFsyncs, undefined);
  await store.close();
});

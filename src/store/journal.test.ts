import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StevedoreError } from '../util/errors.js';
import { MemoryStore, type Commit, type Journal } from './memory.js';
import { newNode, newStack } from './testing/fixtures.js';

test('the journal receives each commit once, with the net change per object', async () => {
  const commits: Commit[] = [];
  const store = new MemoryStore({ journal: { append: (c) => commits.push(c) } });
  await store.update((tx) => {
    const s = tx.create('stack', newStack('s1', 'a'));
    tx.update('stack', { ...s, spec: { ...s.spec, labels: { x: '1' } } });
    tx.create('node', newNode('n1', 'tmp'));
    tx.delete('node', 'n1');
  });
  await store.update((tx) => tx.list('stack')); // read-only: nothing to journal
  assert.equal(commits.length, 1);
  assert.equal(commits[0]!.version, 1);
  const byId = new Map(commits[0]!.changes.map((c) => [c.id, c]));
  assert.deepEqual((byId.get('s1')?.object as { spec: { labels: object } }).spec.labels, { x: '1' });
  assert.equal(byId.get('n1')?.object, undefined);
  await store.close();
});

test('a journal failure rolls the transaction back and no watcher hears of it', async () => {
  let fail = false;
  const store = new MemoryStore({
    journal: {
      append: () => {
        if (fail) throw new Error('disk full');
      },
    },
  });
  await store.update((tx) => tx.create('stack', newStack('s1', 'a')));
  const events = store.watch();
  fail = true;
  await assert.rejects(
    store.update((tx) => {
      tx.create('stack', newStack('s2', 'b'));
      tx.delete('stack', 's1');
    }),
    (err: unknown) => err instanceof StevedoreError && err.kind === 'system' && (err.cause as Error).message === 'disk full',
  );
  assert.deepEqual(store.view((tx) => tx.list('stack').map((s) => s.id)), ['s1']);
  assert.equal(store.view((tx) => tx.version), 1);
  fail = false;
  const s3 = await store.update((tx) => tx.create('stack', newStack('s3', 'b')));
  assert.equal(s3.version, 2, 'the failed commit did not use up a version');
  const first = await events[Symbol.asyncIterator]().next();
  assert.equal(first.value?.object.id, 's3');
  await store.close();
});

/** A journal whose syncs resolve (or fail) only when the test says so. */
function heldJournal(): { journal: Journal; finish: (err?: Error) => void; waiting: () => number } {
  const pending: ((err?: Error) => void)[] = [];
  return {
    journal: { append: () => undefined, sync: () => new Promise<void>((resolve, reject) => pending.push((err) => (err ? reject(err) : resolve()))) },
    finish: (err) => {
      for (const p of pending.splice(0)) p(err);
    },
    waiting: () => pending.length,
  };
}

test('with a syncing journal, the writer and the watchers hear of a commit only once it is durable; reads see it at once', async () => {
  const h = heldJournal();
  const store = new MemoryStore({ journal: h.journal });
  const events = store.watch()[Symbol.asyncIterator]();
  let resolved = false;
  const written = store.update((tx) => tx.create('stack', newStack('s1', 'a'))).then(() => (resolved = true));
  assert.deepEqual(store.view((tx) => tx.list('stack').map((s) => s.id)), ['s1'], 'the next transaction builds on it');
  let heard = false;
  const first = events.next().then((r) => ((heard = true), r));
  await new Promise((r) => setImmediate(r));
  assert.equal(resolved, false);
  assert.equal(heard, false);
  // A watch begun now: its snapshot already holds s1, so s1's event is not its.
  const late = store.viewAndWatch((tx) => tx.version);
  assert.equal(late.result, 1);
  const lateEvents = late.events[Symbol.asyncIterator]();
  h.finish();
  await written;
  assert.equal((await first).value?.object.id, 's1');
  const s2 = store.update((tx) => tx.create('stack', newStack('s2', 'b')));
  h.finish();
  await s2;
  assert.equal((await lateEvents.next()).value?.object.id, 's2', 'the late watcher starts after its snapshot');
  await store.close();
});

test('a failed sync breaks the store: the writer and the watchers get the error, later writes are refused, reads go on', async () => {
  const h = heldJournal();
  const store = new MemoryStore({ journal: h.journal });
  const events = store.watch()[Symbol.asyncIterator]();
  const written = store.update((tx) => tx.create('stack', newStack('s1', 'a')));
  h.finish(new Error('EIO'));
  await assert.rejects(written, (err: unknown) => err instanceof StevedoreError && err.kind === 'unavailable' && /EIO/.test(err.message));
  await assert.rejects(events.next(), (err: unknown) => err instanceof StevedoreError && err.kind === 'unavailable');
  await assert.rejects(store.update((tx) => tx.create('stack', newStack('s2', 'b'))), /could not make its log durable/);
  assert.throws(() => store.watch(), /could not make its log durable/);
  assert.equal(store.view((tx) => tx.list('stack').length), 1);
  await store.close();
});

test('close delivers what waits for its sync before ending the watchers', async () => {
  const h = heldJournal();
  const store = new MemoryStore({ journal: h.journal });
  const events = store.watch();
  void store.update((tx) => tx.create('stack', newStack('s1', 'a')));
  const closed = store.close();
  await new Promise((r) => setImmediate(r));
  assert.ok(h.waiting() > 0);
  h.finish();
  await closed;
  const ids: string[] = [];
  for await (const e of events) ids.push(e.object.id);
  assert.deepEqual(ids, ['s1']);
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GroupCommit } from './group-commit.js';

/** A GroupCommit over a real file whose fsyncs finish only when the test says so. */
function held(): { gc: GroupCommit; finish: (err?: Error) => void; started: () => number; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'stv-gc-'));
  const file = join(dir, 'log');
  writeFileSync(file, 'x');
  const pending: ((err?: Error) => void)[] = [];
  const gc = new GroupCommit(file, () => new Promise<void>((resolve, reject) => pending.push((err) => (err ? reject(err) : resolve()))));
  return {
    gc,
    finish: (err) => pending.shift()?.(err),
    started: () => gc.fsyncs,
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

test('syncs arriving while an fsync runs share the next one', async () => {
  const h = held();
  const order: string[] = [];
  h.gc.appended();
  const a = h.gc.sync().then(() => order.push('a'));
  await tick();
  assert.equal(h.started(), 1);
  h.gc.appended();
  const b = h.gc.sync().then(() => order.push('b'));
  h.gc.appended();
  const c = h.gc.sync().then(() => order.push('c'));
  await tick();
  assert.equal(h.started(), 1, 'no second fsync while the first runs');
  h.finish();
  await a;
  await tick();
  assert.deepEqual(order, ['a'], 'the first fsync answers only for the write before it began');
  assert.equal(h.started(), 2, 'one fsync for b and c together');
  h.finish();
  await Promise.all([b, c]);
  assert.deepEqual(order, ['a', 'b', 'c']);
  await h.gc.close();
  h.done();
});

test('nothing written since the last fsync: sync resolves without one', async () => {
  const h = held();
  await h.gc.sync();
  assert.equal(h.started(), 0);
  h.gc.appended();
  const s = h.gc.sync();
  await tick();
  h.finish();
  await s;
  await h.gc.sync();
  assert.equal(h.started(), 1);
  await h.gc.close();
  h.done();
});

test('a failed fsync fails every waiter and every later sync (no retry)', async () => {
  const h = held();
  h.gc.appended();
  const a = h.gc.sync();
  await tick();
  h.gc.appended();
  const b = h.gc.sync();
  h.finish(new Error('EIO'));
  await assert.rejects(a, /EIO/);
  await assert.rejects(b, /EIO/);
  h.gc.appended();
  await assert.rejects(h.gc.sync(), /EIO/);
  assert.equal(h.started(), 1);
  await h.gc.close();
  h.done();
});

test('with the real fsync, the writes of one turn share one fsync', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stv-gc-'));
  writeFileSync(join(dir, 'log'), 'x');
  const gc = new GroupCommit(join(dir, 'log'));
  const all: Promise<void>[] = [];
  for (let i = 0; i < 50; i++) {
    gc.appended();
    all.push(gc.sync());
  }
  await Promise.all(all);
  assert.equal(gc.fsyncs, 1, '50 writes made in one turn');
  await gc.close();
  rmSync(dir, { recursive: true, force: true });
});

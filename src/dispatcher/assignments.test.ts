import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance, TaskState } from '../model/index.js';
import { defaultInstanceTemplate } from '../model/testing.js';
import { MemoryStore } from '../store/index.js';
import { container, newSecret } from '../store/testing/fixtures.js';
import { assignmentsFor, concernsNode, diffAssignments, isAssignedHere } from './assignments.js';
import type { WatchEvent } from '../store/index.js';

function instance(id: string, nodeId: string, state: TaskState, desired: TaskState = 'running', secretId?: string): Omit<Instance, 'version' | 'createdAt' | 'updatedAt'> {
  const c = container();
  return {
    id,
    workloadId: 'w1',
    nodeId,
    template: defaultInstanceTemplate({
      containers: [{ ...c, secrets: secretId ? [{ id: secretId, name: 's', target: { path: '/run/secrets/s', uid: '0', gid: '0', mode: 0o444 } }] : [] }],
    }),
    specVersion: 1,
    desiredState: desired,
    status: { state, timestamp: 0, message: '' },
    networks: [],
  };
}

test('only assigned, still-relevant instances of this node are sent', () => {
  assert.ok(isAssignedHere({ ...instance('a', 'n1', 'assigned'), version: 1, createdAt: 0, updatedAt: 0 }, 'n1'));
  assert.ok(!isAssignedHere({ ...instance('a', 'n1', 'pending'), version: 1, createdAt: 0, updatedAt: 0 }, 'n1'));
  assert.ok(!isAssignedHere({ ...instance('a', 'n2', 'running'), version: 1, createdAt: 0, updatedAt: 0 }, 'n1'));
  // running but told to stop: the agent must hear about it
  assert.ok(isAssignedHere({ ...instance('a', 'n1', 'running', 'shutdown'), version: 1, createdAt: 0, updatedAt: 0 }, 'n1'));
  // finished: still sent (its container is kept for its history) until the store deletes it
  assert.ok(isAssignedHere({ ...instance('a', 'n1', 'shutdown', 'shutdown'), version: 1, createdAt: 0, updatedAt: 0 }, 'n1'));
});

test('secrets travel with the instances that use them; diffs name updates and removals', async () => {
  const store = new MemoryStore();
  await store.update((tx) => {
    tx.create('secret', newSecret('s1', 'pw', Buffer.from('hunter2')));
    tx.create('instance', instance('i1', 'n1', 'assigned', 'running', 's1'));
    tx.create('instance', instance('i2', 'n1', 'pending'));
  });
  const first = store.view((tx) => assignmentsFor(tx, 'n1'));
  assert.deepEqual([...first.keys()].sort(), ['instance/i1', 'secret/s1']);
  const s = first.get('secret/s1');
  assert.ok(s?.kind === 'secret' && Buffer.from(s.secret.dataBase64, 'base64').toString() === 'hunter2');

  await store.update((tx) => {
    const i1 = tx.get('instance', 'i1');
    const i2 = tx.get('instance', 'i2');
    if (!i1 || !i2) throw new Error('missing');
    tx.update('instance', { ...i1, desiredState: 'shutdown', status: { ...i1.status, state: 'shutdown' } });
    tx.update('instance', { ...i2, status: { ...i2.status, state: 'assigned' } });
  });
  const second = store.view((tx) => assignmentsFor(tx, 'n1'));
  const changes = diffAssignments(first, second);
  // i1 finished: it stays (updated), its secret goes.
  assert.deepEqual(
    changes.map((c) => `${c.action} ${c.item.kind}/${c.item.id}`).sort(),
    ['remove secret/s1', 'update instance/i1', 'update instance/i2'],
  );
  assert.deepEqual(diffAssignments(second, second), []);
  // The reaper deletes it: now it leaves, and the agent removes its container.
  await store.update((tx) => tx.delete('instance', 'i1'));
  assert.deepEqual(
    diffAssignments(second, store.view((tx) => assignmentsFor(tx, 'n1'))).map((c) => `${c.action} ${c.item.kind}/${c.item.id}`),
    ['remove instance/i1'],
  );
  await store.close();
});

test("a status the agent reported is not echoed back; a desired-state change is", async () => {
  const store = new MemoryStore();
  await store.update((tx) => tx.create('instance', instance('i1', 'n1', 'assigned')));
  const a = store.view((tx) => assignmentsFor(tx, 'n1'));
  const write = (fn: (i: Instance) => Instance) =>
    store.update((tx) => {
      const i = tx.get('instance', 'i1');
      if (!i) throw new Error('missing');
      tx.update('instance', fn(i));
    });
  await write((i) => ({ ...i, status: { ...i.status, state: 'running', message: 'started' } }));
  const b = store.view((tx) => assignmentsFor(tx, 'n1'));
  assert.deepEqual(diffAssignments(a, b), []);
  await write((i) => ({ ...i, desiredState: 'shutdown' }));
  const c = store.view((tx) => assignmentsFor(tx, 'n1'));
  assert.deepEqual(diffAssignments(b, c).map((x) => x.action), ['update']);
  await store.close();
});

test('an agent\'s status report on an instance on no network concerns no node; anything more does', async () => {
  const store = new MemoryStore();
  const seen: WatchEvent[] = [];
  const events = store.watch({ kinds: ['instance'] });
  const reading = (async () => {
    for await (const ev of events) seen.push(ev);
  })();
  await store.update((tx) => tx.create('instance', instance('i1', 'n1', 'assigned')));
  const write = (fn: (i: Instance) => Instance) =>
    store.update((tx) => {
      const i = tx.get('instance', 'i1');
      if (!i) throw new Error('missing');
      tx.update('instance', fn(i));
    });
  await write((i) => ({ ...i, status: { ...i.status, state: 'accepted', message: 'accepted' } })); // leaves `assigned`: recomputed once
  await write((i) => ({ ...i, status: { ...i.status, state: 'running', message: 'started' } }));
  await write((i) => ({ ...i, desiredState: 'shutdown' }));
  await write((i) => ({ ...i, status: { ...i.status, state: 'shutdown', message: 'shutdown' }, networks: [{ networkId: 'net1', addresses: ['10.0.1.5/24'], aliases: [] }] }));
  await store.close();
  await reading;
  const set = store.view((tx) => assignmentsFor(tx, 'n1'));
  assert.deepEqual(
    seen.map((ev) => concernsNode(ev, 'n1', set)),
    [true, true, false, true, true],
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mockNode, mockTemplate } from '../scheduler/fixtures.js';
import { MemoryStore } from '../store/index.js';
import { ManualClock } from '../util/clock.js';
import { silentLogger } from '../util/log.js';
import { sequentialIds } from '../util/ids.js';
import type { Instance } from '../model/index.js';
import { ManualTimers } from '../orchestrator/testing.js';
import { AssignedMessage, PendingMessage, SchedulingLoop } from './scheduling.js';

function setup(tickMs = 50) {
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  const store = new MemoryStore({ clock });
  const loop = new SchedulingLoop({ store, clock, ids: sequentialIds('s'), log: silentLogger, timers, tickMs });
  const ac = new AbortController();
  void loop.run(ac.signal);
  const turns = async (n = 20): Promise<void> => {
    for (let k = 0; k < n; k++) await new Promise((r) => setImmediate(r));
  };
  const advance = async (ms: number): Promise<void> => {
    await turns();
    clock.advance(ms);
    timers.fireDue();
    await turns();
  };
  const instance = (id: string, o: Partial<Instance> = {}): Omit<Instance, 'version' | 'createdAt' | 'updatedAt'> => ({
    id,
    workloadId: 'web',
    slot: 1,
    template: mockTemplate(),
    specVersion: 1,
    desiredState: 'running',
    status: { state: 'new', timestamp: 0, message: 'created' },
    networks: [],
    ...o,
  });
  return { clock, timers, store, loop, ac, turns, advance, instance };
}

test('the first waiting instance is placed at once; what comes within the tick after a pass is placed together at its end', async () => {
  const s = setup(50);
  await s.store.update((tx) => {
    tx.create('node', mockNode({ id: 'n1' }));
    tx.create('node', mockNode({ id: 'n2' }));
  });
  await s.store.update((tx) => tx.create('instance', s.instance('a', { slot: 1 })));
  await s.advance(0);
  assert.equal(s.store.view((tx) => tx.get('instance', 'a'))?.status.state, 'assigned', 'no wait for a quiet gap');
  await s.store.update((tx) => tx.create('instance', s.instance('b', { slot: 2 })));
  await s.advance(10);
  await s.store.update((tx) => tx.create('instance', s.instance('c', { slot: 3 })));
  await s.advance(10);
  assert.equal(s.store.view((tx) => tx.get('instance', 'b'))?.status.state, 'new', 'at most one pass per tick');
  const before = s.store.version;
  await s.advance(30);
  assert.equal(s.store.version, before + 1, 'b and c in one transaction');
  const placed = s.store.view((tx) => tx.list('instance'));
  assert.deepEqual(placed.map((i) => [i.status.state, i.status.message]), [
    ['assigned', AssignedMessage],
    ['assigned', AssignedMessage],
    ['assigned', AssignedMessage],
  ]);
  s.ac.abort();
});

test('unschedulable instances are written pending with Swarm\'s explanation, once, and retried when a node changes', async () => {
  const s = setup(0);
  await s.store.update((tx) => {
    tx.create('node', mockNode({ id: 'n1', labels: { zone: 'b' } }));
    tx.create('instance', s.instance('a', { template: mockTemplate({ constraints: ['node.labels.zone==a'] }) }));
  });
  await s.advance(0);
  const a = s.store.view((tx) => tx.get('instance', 'a'))!;
  assert.equal(a.status.state, 'pending');
  assert.equal(a.status.message, PendingMessage);
  assert.equal(a.status.err, 'no suitable node (scheduling constraints not satisfied on 1 node)');
  // Quiet: the same answer is not written again.
  const v = s.store.version;
  await s.advance(1_000);
  assert.equal(s.store.version, v);
  await s.store.update((tx) => {
    const n = tx.get('node', 'n1')!;
    tx.update('node', { ...n, spec: { ...n.spec, labels: { zone: 'a' } } });
  });
  await s.advance(0);
  const placed = s.store.view((tx) => tx.get('instance', 'a'))!;
  assert.equal(placed.status.state, 'assigned');
  assert.equal(placed.nodeId, 'n1');
  assert.equal(placed.status.err, undefined);
  s.ac.abort();
});

test('a stopped instance frees its node: a pending one that did not fit is placed', async () => {
  const s = setup(0);
  const big = mockTemplate({ memoryBytes: 6 * 1024 ** 3 });
  await s.store.update((tx) => {
    tx.create('node', mockNode({ id: 'n1' })); // 8 GiB
    tx.create('instance', s.instance('old', { nodeId: 'n1', template: big, status: { state: 'running', timestamp: 0, message: 'started' } }));
    tx.create('instance', s.instance('new', { slot: 2, template: big }));
  });
  await s.advance(0);
  assert.equal(s.store.view((tx) => tx.get('instance', 'new'))?.status.err, 'no suitable node (insufficient resources on 1 node)');
  await s.store.update((tx) => {
    const o = tx.get('instance', 'old')!;
    tx.update('instance', { ...o, desiredState: 'shutdown', status: { state: 'shutdown', timestamp: 1, message: 'shutdown' } });
  });
  await s.advance(0);
  assert.equal(s.store.view((tx) => tx.get('instance', 'new'))?.status.state, 'assigned');
  s.ac.abort();
});

test('optimistic: an instance changed between the snapshot and the write is left for the next pass', async () => {
  const s = setup(0);
  await s.store.update((tx) => {
    tx.create('node', mockNode({ id: 'n1' }));
    tx.create('instance', s.instance('a'));
  });
  s.loop.stop(); // drive passes by hand
  const origView = s.store.view.bind(s.store);
  let once = false;
  s.store.view = ((fn: Parameters<typeof origView>[0]) => {
    const r = origView(fn);
    if (!once) {
      once = true;
      // Another writer (the orchestrator) removes it right after the snapshot.
      void s.store.update((tx) => tx.update('instance', { ...tx.get('instance', 'a')!, desiredState: 'remove' }));
    }
    return r;
  }) as typeof s.store.view;
  // The loop is stopped, so pass() refuses; use a fresh one.
  const loop = new SchedulingLoop({ store: s.store, clock: s.clock, ids: sequentialIds('x'), log: silentLogger, timers: s.timers, tickMs: 0 });
  const result = await loop.pass();
  assert.equal(result?.assignments.length, 1);
  const a = origView((tx) => tx.get('instance', 'a'))!;
  assert.equal(a.status.state, 'new', 'the stale assignment was not written');
  assert.equal(a.nodeId, undefined);
  s.ac.abort();
});

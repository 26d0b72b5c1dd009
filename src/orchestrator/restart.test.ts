import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, workload } from './testing.js';
import { NodeRestartingMessage } from '../model/index.js';

test('a failed instance is replaced in the same slot after the restart delay (Swarm default 5 s)', async () => {
  const h = await new Harness({ nodes: 1 }).start();
  await h.createWorkload(workload('web', { mode: { kind: 'replicated', replicas: 1 } }));
  await h.settle();
  const [first] = h.running('web');
  await h.agent.exit(first!.id, 1);
  await h.settle();
  let all = h.instances('web');
  assert.equal(all.length, 2);
  assert.deepEqual(all.map((i) => [i.slot, i.desiredState, i.status.state]), [
    [1, 'shutdown', 'failed'],
    [1, 'ready', 'ready'], // placed and prepared, not started during the delay
  ]);
  await h.advance(4_999);
  assert.equal(h.instances('web')[1]?.desiredState, 'ready');
  await h.advance(1);
  all = h.instances('web');
  assert.deepEqual(all.map((i) => [i.desiredState, i.status.state]), [
    ['shutdown', 'failed'],
    ['running', 'running'],
  ]);
  h.stop();
});

test('restart condition none keeps the failed instance and makes no other', async () => {
  const h = await new Harness({ nodes: 1 }).start();
  await h.createWorkload(workload('once', { restart: { condition: 'none' } }));
  await h.settle();
  await h.agent.exit(h.running('once')[0]!.id, 1);
  await h.advance(60_000);
  assert.deepEqual(h.instances('once').map((i) => [i.desiredState, i.status.state]), [['complete', 'failed']]);
  h.stop();
});

test('restart condition on-failure: exit 0 is not restarted, exit 1 is', async () => {
  const h = await new Harness({ nodes: 1 }).start();
  await h.createWorkload(workload('a', { restart: { condition: 'on-failure', delayMs: 0 } }));
  await h.createWorkload(workload('b', { restart: { condition: 'on-failure', delayMs: 0 } }));
  await h.settle();
  await h.agent.exit(h.running('a')[0]!.id, 0);
  await h.agent.exit(h.running('b')[0]!.id, 1);
  await h.settle();
  assert.deepEqual(h.instances('a').map((i) => [i.desiredState, i.status.state]), [['complete', 'complete']]);
  assert.deepEqual(h.instances('b').map((i) => [i.desiredState, i.status.state]), [['shutdown', 'failed'], ['running', 'running']]);
  h.stop();
});

test('max attempts: an instance that keeps failing is restarted maxAttempts times, then left failed', async () => {
  const h = new Harness({ nodes: 1 });
  h.agent.outcome = () => 'fail';
  await h.start();
  await h.createWorkload(workload('crash', { restart: { condition: 'any', delayMs: 1_000, maxAttempts: 3 } }));
  await h.advance(60_000);
  const all = h.instances('crash');
  assert.equal(all.length, 4); // the first + 3 restarts
  assert.ok(all.every((i) => i.status.state === 'failed'));
  assert.deepEqual(all.map((i) => i.desiredState), ['shutdown', 'shutdown', 'shutdown', 'complete']);
  // Nothing more, however long we wait; the slot stays filled, so no new instance either.
  await h.advance(600_000);
  assert.equal(h.instances('crash').length, 4);
  h.stop();
});

test('max attempts within a window: attempts older than the window no longer count', async () => {
  const h = new Harness({ nodes: 1 });
  h.agent.outcome = () => 'fail';
  await h.start();
  await h.createWorkload(workload('crash', { restart: { condition: 'any', delayMs: 10_000, maxAttempts: 2, windowMs: 15_000 } }));
  // Failures at 0, 10, 20, … s; each sees at most one restart inside its 15 s window, so restarts never stop.
  await h.advance(100_000);
  const all = h.instances('crash');
  assert.equal(all.length, 3, 'the reaper keeps maxAttempts + 1 per slot');
  const newest = all[all.length - 1]!;
  assert.ok(newest.createdAt - h.clock.now() > -15_000, 'still restarting at the end');
  assert.notEqual(newest.desiredState, 'complete');
  h.stop();
});

test('the restart delay is not applied to instances of a drained node; they move elsewhere', async () => {
  const h = await new Harness({ nodes: 2 }).start();
  await h.createWorkload(workload('web', { mode: { kind: 'replicated', replicas: 4 } }));
  await h.settle();
  await h.setAvailability('node-1', 'drain');
  await h.settle();
  const live = h.running('web');
  assert.equal(live.length, 4);
  assert.ok(live.every((i) => i.nodeId === 'node-2'));
  assert.deepEqual(live.map((i) => i.slot), [1, 2, 3, 4]);
  const old = h.instances('web').filter((i) => i.nodeId === 'node-1');
  assert.ok(old.every((i) => i.desiredState === 'shutdown' && i.status.state === 'shutdown'));
  h.stop();
});

test('a node down for longer than the grace has its replicated instances rescheduled; a blip does not', async () => {
  const h = await new Harness({ nodes: 2, nodeDownGraceMs: 5_000 }).start();
  await h.createWorkload(workload('web', { mode: { kind: 'replicated', replicas: 2 }, restart: { delayMs: 0 } }));
  await h.settle();
  // A blip: down for 2 s, back.
  h.agent.silence('node-1', true);
  await h.setNodeState('node-1', 'down');
  await h.advance(2_000);
  await h.setNodeState('node-1', 'ready');
  h.agent.silence('node-1', false);
  await h.advance(10_000);
  assert.equal(h.instances('web').length, 2);
  // Really down.
  h.agent.silence('node-1', true);
  await h.setNodeState('node-1', 'down');
  await h.advance(4_999);
  assert.equal(h.instances('web').length, 2);
  await h.advance(1);
  const running = h.running('web');
  assert.equal(running.length, 2);
  assert.ok(running.every((i) => i.nodeId === 'node-2'));
  // The instance left behind is desired shutdown; its agent will stop it if the node comes back.
  const left = h.instances('web').filter((i) => i.nodeId === 'node-1');
  assert.deepEqual(left.map((i) => [i.desiredState, i.status.state]), [['shutdown', 'running']]);
  h.agent.silence('node-1', false);
  await h.setNodeState('node-1', 'ready');
  await h.settle();
  assert.deepEqual(h.instances('web').filter((i) => i.nodeId === 'node-1').map((i) => i.status.state), ['shutdown']);
  h.stop();
});

test('instances moved off a node down past the grace start at once, without the restart delay', async () => {
  const h = await new Harness({ nodes: 2, nodeDownGraceMs: 5_000 }).start();
  await h.createWorkload(workload('web', { mode: { kind: 'replicated', replicas: 4 } })); // default delay: 5 s
  await h.settle();
  assert.equal(h.running('web').filter((i) => i.nodeId === 'node-1').length, 2);
  h.agent.silence('node-1', true);
  await h.setNodeState('node-1', 'down');
  await h.advance(5_000); // the grace, and nothing more
  const running = h.running('web');
  assert.equal(running.length, 4);
  assert.ok(running.every((i) => i.nodeId === 'node-2'));
  h.stop();
});

test("a node whose agent said it was restarting keeps its instances for the longer grace, then they move", async () => {
  const h = await new Harness({ nodes: 2, nodeDownGraceMs: 2_000, nodeRestartGraceMs: 30_000 }).start();
  await h.createWorkload(workload('web', { mode: { kind: 'replicated', replicas: 2 }, restart: { delayMs: 0 } }));
  await h.settle();
  h.agent.silence('node-1', true);
  await h.setNodeState('node-1', 'down', NodeRestartingMessage);
  await h.advance(29_999); // far past the short grace: an upgrade in progress is not a lost node
  assert.equal(h.instances('web').length, 2);
  await h.advance(1);
  const running = h.running('web');
  assert.equal(running.length, 2);
  assert.ok(running.every((i) => i.nodeId === 'node-2'));
  h.stop();
});

test('a removed node has its replicated instances rescheduled at once, and its leftovers reaped', async () => {
  const h = await new Harness({ nodes: 2 }).start();
  await h.createWorkload(workload('web', { mode: { kind: 'replicated', replicas: 2 }, restart: { delayMs: 0 } }));
  await h.settle();
  h.agent.silence('node-1', true);
  await h.store.update((tx) => tx.delete('node', 'node-1'));
  await h.settle();
  const all = h.instances('web');
  assert.equal(h.running('web').length, 2);
  assert.ok(all.every((i) => i.nodeId === 'node-2'), 'instances of a removed node are deleted once not wanted');
  h.stop();
});

test('a replacement that fails during its delayed start is restarted only after that delay', async () => {
  const h = new Harness({ nodes: 1 });
  await h.start();
  await h.createWorkload(workload('web', { restart: { delayMs: 5_000 } }));
  await h.settle();
  await h.agent.exit(h.running('web')[0]!.id, 1);
  await h.settle();
  const waiting = h.instances('web')[1]!;
  assert.equal(waiting.desiredState, 'ready');
  // It is rejected while it waits (its image went away).
  await h.store.update((tx) => {
    const i = tx.get('instance', waiting.id)!;
    tx.update('instance', { ...i, status: { state: 'rejected', timestamp: h.clock.now(), message: 'rejected', err: 'No such image' } });
  });
  await h.settle();
  assert.equal(h.instances('web').length, 2, 'no tight restart loop');
  await h.advance(5_000);
  assert.equal(h.instances('web').length, 3);
  await h.advance(5_000);
  assert.equal(h.running('web').length, 1);
  h.stop();
});

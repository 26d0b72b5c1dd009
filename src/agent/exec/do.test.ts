import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InstanceStatus, TaskState } from '../../model/index.js';
import { ManualClock } from '../../util/clock.js';
import { testInstance } from '../testing.js';
import type { ContainerState } from './adapter.js';
import { FatalStepError, type Controller } from './controller.js';
import { readoptedStatus, statusFromContainer, step } from './do.js';

/** A controller that records calls and plays a container in memory. */
function fakeController(opts: { prepareFails?: boolean; exitCode?: number } = {}) {
  const calls: string[] = [];
  let state: ContainerState | undefined;
  const base = { id: 'c1', name: 'x', pid: 0, exitCode: 0, startedAt: '', error: '', labels: {} };
  const ctlr: Controller = {
    async prepare() {
      calls.push('prepare');
      if (opts.prepareFails) throw new FatalStepError('No such image: nope:latest');
      state = { ...base, status: 'created', running: false };
    },
    async start() {
      calls.push('start');
      state = { ...base, status: 'running', running: true, pid: 42 };
    },
    async wait() {
      calls.push('wait');
      state = { ...base, status: 'exited', running: false, exitCode: opts.exitCode ?? 0 };
      return opts.exitCode ?? 0;
    },
    async shutdown() {
      calls.push('shutdown');
    },
    async terminate() {
      calls.push('terminate');
    },
    async remove() {
      calls.push('remove');
    },
    async inspect() {
      calls.push('inspect');
      return state;
    },
  };
  return { ctlr, calls };
}

async function runToRest(desired: TaskState, ctlr: Controller, from: TaskState = 'assigned') {
  const clock = new ManualClock();
  const instance = testInstance({ id: 't1', desiredState: desired });
  let status: InstanceStatus = { ...instance.status, state: from };
  const seen: TaskState[] = [];
  for (let i = 0; i < 20; i++) {
    clock.advance(1);
    const r = await step(instance, status, ctlr, clock, new AbortController().signal);
    if (r.idle) break;
    status = r.status;
    seen.push(status.state);
  }
  return { status, seen };
}

test('an instance walks forward one state per step to complete', async () => {
  const { ctlr, calls } = fakeController();
  const { status, seen } = await runToRest('running', ctlr);
  assert.deepEqual(seen, ['accepted', 'preparing', 'ready', 'starting', 'running', 'complete']);
  assert.deepEqual(calls, ['prepare', 'inspect', 'start', 'inspect', 'wait', 'inspect']);
  assert.deepEqual(status.container, { containerId: 'c1', pid: 0, exitCode: 0 });
});

test('a controller that knows the id it prepared spares the engine the inspect before start', async () => {
  const { ctlr, calls } = fakeController();
  const knowing: Controller = { ...ctlr, preparedId: () => 'c1' };
  const { seen } = await runToRest('ready', knowing);
  assert.deepEqual(seen, ['accepted', 'preparing', 'ready']);
  assert.deepEqual(calls, ['prepare']);
});

test('a non-zero exit fails the instance with Swarm\'s message', async () => {
  const { status } = await runToRest('running', fakeController({ exitCode: 3 }).ctlr);
  assert.equal(status.state, 'failed');
  assert.equal(status.err, 'task: non-zero exit (3)');
});

test('a failed prepare rejects the instance and goes no further', async () => {
  const { ctlr, calls } = fakeController({ prepareFails: true });
  const { status, seen } = await runToRest('running', ctlr);
  assert.deepEqual(seen, ['accepted', 'preparing', 'rejected']);
  assert.match(status.err ?? '', /No such image/);
  assert.deepEqual(calls, ['prepare']);
});

test('desired ready prepares without starting', async () => {
  const { ctlr, calls } = fakeController();
  const { seen } = await runToRest('ready', ctlr);
  assert.deepEqual(seen, ['accepted', 'preparing', 'ready']);
  assert.deepEqual(calls, ['prepare', 'inspect'], 'without preparedId the id comes from an inspect');
});

test('desired shutdown stops the container and ends at shutdown', async () => {
  const { ctlr, calls } = fakeController();
  const { status, seen } = await runToRest('shutdown', ctlr, 'running');
  assert.deepEqual(seen, ['shutdown']);
  assert.deepEqual(calls, ['shutdown', 'inspect']);
  assert.equal(status.state, 'shutdown');
});

test('a terminal instance never moves again, not even backwards', async () => {
  const { ctlr, calls } = fakeController();
  for (const from of ['complete', 'failed', 'rejected'] as const) {
    const { seen } = await runToRest('running', ctlr, from);
    assert.deepEqual(seen, []);
  }
  assert.deepEqual(calls, []);
});

test('a re-adopted container stands where the engine says', () => {
  const c = { id: 'c', status: 'running', running: true, pid: 7, exitCode: 0, error: '' };
  assert.equal(statusFromContainer(c, 0).state, 'running');
  assert.equal(statusFromContainer({ ...c, status: 'created', running: false }, 0).state, 'ready');
  assert.equal(statusFromContainer({ ...c, status: 'exited', running: false, exitCode: 0 }, 0).state, 'complete');
  assert.equal(statusFromContainer({ ...c, status: 'exited', running: false, exitCode: 137 }, 0).state, 'failed');
});

test('a re-adopted instance reports only news: a later state or another container, never the same running again', () => {
  const known = { state: 'running' as const, timestamp: 1000, message: 'started', container: { containerId: 'c', pid: 7 } };
  const engine = (over: Partial<{ status: string; running: boolean; exitCode: number; id: string }>) => statusFromContainer({ id: 'c', status: 'running', running: true, pid: 7, exitCode: 0, error: '', ...over }, 5000);
  // Same state, same container: the manager's status (and its timestamp) stands.
  assert.equal(readoptedStatus(known, engine({})), known);
  // Died while the agent was away: reported as failed.
  const died = readoptedStatus(known, engine({ status: 'exited', running: false, exitCode: 137 }));
  assert.equal(died.state, 'failed');
  assert.equal(died.err, 'task: non-zero exit (137)');
  // The manager knew less (still starting): the engine's running is news.
  assert.equal(readoptedStatus({ ...known, state: 'starting' }, engine({})).state, 'running');
  // The manager knows more than the engine shows: kept.
  const done = { ...known, state: 'complete' as const };
  assert.equal(readoptedStatus(done, engine({})), done);
  // Another container in the same state: reported (the manager's container id was stale).
  assert.equal(readoptedStatus(known, engine({ id: 'd' })).container?.containerId, 'd');
});

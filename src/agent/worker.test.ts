import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance } from '../model/index.js';
import { systemClock } from '../util/clock.js';
import { silentLogger } from '../util/log.js';
import type { ContainerState } from './exec/adapter.js';
import type { Controller } from './exec/controller.js';
import type { Executor } from './exec/executor.js';
import { testInstance } from './testing.js';
import { systemTimers } from './timers.js';
import { Worker } from './worker.js';

/** One container on a fake engine, running until shut down; every call the worker makes is recorded. */
function fakeEngine(): { executor: Executor; calls: string[] } {
  const calls: string[] = [];
  let running = true;
  const state = (): ContainerState => ({ id: 'c1', name: 'web.1.t1', status: running ? 'running' : 'exited', running, pid: running ? 42 : 0, exitCode: running ? 0 : 143, startedAt: '', error: '', labels: {} });
  const controller: Controller & { readonly id: string } = {
    id: 'c1',
    prepare: () => Promise.reject(new Error('not expected')),
    start: () => Promise.reject(new Error('not expected')),
    wait: (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(0))),
    shutdown: () => {
      calls.push('shutdown');
      running = false;
      return Promise.resolve();
    },
    terminate: () => Promise.resolve(),
    remove: () => {
      calls.push('remove');
      return Promise.resolve();
    },
    inspect: () => Promise.resolve(state()),
  };
  const executor: Executor = {
    describe: () => Promise.reject(new Error('not expected')),
    controller: () => controller,
    recover: () => Promise.resolve([{ instanceId: 't1', containerId: 'c1', serviceId: 's1', taskName: 'web.1.t1', nodeId: 'n1', state: 'running' }]),
    removeContainer: (id) => {
      calls.push(`removeContainer ${id}`);
      return Promise.resolve();
    },
  };
  return { executor, calls };
}

const update = (instance: Instance) => ({ action: 'update' as const, item: { kind: 'instance' as const, id: instance.id, instance } });

test('an agent that comes back to a task the manager gave up stops its container, keeps it for its history, and removes it when the task is deleted', async () => {
  const { executor, calls } = fakeEngine();
  const w = new Worker({ executor, clock: systemClock, timers: systemTimers, log: silentLogger, random: Math.random, report: () => undefined });
  assert.deepEqual(await w.recover('n1'), ['t1']);
  // Its node was down: the manager marked the task orphaned and no longer wants it running.
  await w.apply({ full: true, changes: [update(testInstance({ id: 't1', nodeId: 'n1', state: 'orphaned', desiredState: 'shutdown' }))] });
  assert.deepEqual(calls, ['shutdown']);
  // The task reaper deletes it: now its container goes.
  await w.apply({ full: false, changes: [{ action: 'remove', item: { kind: 'instance', id: 't1' } }] });
  assert.deepEqual(calls, ['shutdown', 'remove']);
  await w.stop();
});

test('a re-adopted container of a task still wanted is left running', async () => {
  const { executor, calls } = fakeEngine();
  const w = new Worker({ executor, clock: systemClock, timers: systemTimers, log: silentLogger, random: Math.random, report: () => undefined });
  await w.recover('n1');
  await w.apply({ full: true, changes: [update(testInstance({ id: 't1', nodeId: 'n1', state: 'running', desiredState: 'running' }))] });
  assert.deepEqual(calls, []);
  await w.stop();
});

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Engine, parseEngineUrl } from '../../src/engine/index.js';
import { stateRank, type Instance, type InstanceStatus, type TaskState } from '../../src/model/index.js';
import { systemClock } from '../../src/util/clock.js';
import { DockerExecutor } from '../../src/agent/exec/executor.js';
import { step } from '../../src/agent/exec/do.js';
import type { Controller } from '../../src/agent/exec/controller.js';
import { AgentLabels } from '../../src/agent/index.js';
import { testInstance } from '../../src/agent/testing.js';
import { registryAddress, testbedHost } from '../support/testbed.js';

/**
 * The controller lifecycle on a real engine (a test-bed host): pull, create,
 * start, wait, stop with the grace period, remove, one forward step at a time.
 */
const host = testbedHost('tb3');
const engine = new Engine(parseEngineUrl(host.dockerHost));
const executor = new DockerExecutor(engine);
const image = `${registryAddress()}/library/busybox:latest`;
const made: string[] = [];

function docker(...args: string[]): string {
  return execFileSync('docker', ['-H', host.dockerHost, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

after(async () => {
  for (const id of made) await executor.adapter.remove(id).catch(() => undefined);
  engine.close();
});

/** Steps until idle (or `until` is reached); every state must be ahead of the one before. */
async function drive(instance: Instance, status: InstanceStatus, ctlr: Controller, until?: TaskState): Promise<{ status: InstanceStatus; seen: TaskState[] }> {
  const seen: TaskState[] = [];
  for (let i = 0; i < 20; i++) {
    const r = await step(instance, status, ctlr, systemClock, AbortSignal.timeout(60_000));
    if (r.idle) break;
    assert.ok(stateRank(r.status.state) > stateRank(status.state), `${status.state} -> ${r.status.state} must move forward`);
    status = r.status;
    seen.push(status.state);
    if (status.container?.containerId && !made.includes(status.container.containerId)) made.push(status.container.containerId);
    if (status.state === until) break;
  }
  return { status, seen };
}

test('prepare pulls a missing image and creates a labelled container; start, shutdown with grace, remove', async () => {
  try {
    docker('rmi', image); // only the tag goes if another tag shares the image
  } catch {
    /* not there: the pull is exercised anyway */
  }
  const instance = testInstance({
    id: 'ctltest1',
    workloadId: 'svcctl1',
    name: 'stvagent-ctl',
    slot: 1,
    container: { image, args: ['sh', '-c', 'trap "exit 0" TERM; sleep 60 & wait'], env: ['HELLO=agent'], stopGracePeriodMs: 5_000 },
  });
  const ctlr = executor.controller(instance, 'nodectl');
  const run = await drive(instance, instance.status, ctlr, 'running');
  assert.deepEqual(run.seen, ['accepted', 'preparing', 'ready', 'starting', 'running']);
  const id = run.status.container?.containerId ?? '';
  assert.ok(run.status.container?.pid && run.status.container.pid > 0);

  const c = await ctlr.inspect();
  assert.equal(c?.running, true);
  assert.equal(c?.name, 'stvagent-ctl.1.ctltest1');
  assert.equal(c?.labels[AgentLabels.taskId], 'ctltest1');
  assert.equal(c?.labels[AgentLabels.taskName], 'stvagent-ctl.1.ctltest1');
  assert.equal(c?.labels[AgentLabels.serviceId], 'svcctl1');
  assert.equal(c?.labels[AgentLabels.serviceName], 'stvagent-ctl');
  assert.equal(c?.labels[AgentLabels.nodeId], 'nodectl');
  assert.equal(c?.labels[AgentLabels.managed], 'true');
  assert.match(docker('inspect', '-f', '{{json .Config.Env}}', id), /HELLO=agent/);

  // A second prepare finds its container and does not make another.
  await ctlr.prepare();
  assert.equal((await ctlr.inspect())?.id, id);

  const started = Date.now();
  const stop = await drive({ ...instance, desiredState: 'shutdown' }, run.status, ctlr);
  assert.deepEqual(stop.seen, ['shutdown']);
  assert.ok(Date.now() - started < 5_000, 'the container honoured SIGTERM within its grace period');
  assert.equal((await ctlr.inspect())?.running, false);

  await ctlr.remove();
  assert.equal(await ctlr.inspect(), undefined);
  await ctlr.remove(); // idempotent
});

test('a non-zero exit fails the instance with its exit code', async () => {
  const instance = testInstance({ id: 'ctltest2', name: 'stvagent-ctl', slot: 2, container: { image, args: ['sh', '-c', 'sleep 0.5; exit 3'] } });
  const ctlr = executor.controller(instance, 'nodectl');
  const r = await drive(instance, instance.status, ctlr);
  assert.equal(r.status.state, 'failed');
  assert.equal(r.status.container?.exitCode, 3);
  assert.equal(r.status.err, 'task: non-zero exit (3)');
  assert.ok(r.seen.includes('running'));
  await ctlr.remove();
});

test('an image that cannot be pulled rejects the instance', async () => {
  const instance = testInstance({ id: 'ctltest3', name: 'stvagent-ctl', slot: 3, container: { image: `${registryAddress()}/stevedore/no-such-image:1` } });
  const ctlr = executor.controller(instance, 'nodectl');
  const r = await drive(instance, instance.status, ctlr);
  assert.deepEqual(r.seen, ['accepted', 'preparing', 'rejected']);
  assert.match(r.status.err ?? '', /no-such-image/);
  assert.equal(await ctlr.inspect(), undefined);
});

test('a container made before a crash is adopted by name; an image removed since it was seen is pulled again', async () => {
  const instance = testInstance({ id: 'ctltest4', name: 'stvagent-ctl', slot: 4, container: { image, args: ['sleep', '60'], stopGracePeriodMs: 1_000 } });
  const first = executor.controller(instance, 'nodectl');
  await first.prepare();
  const id = (await first.inspect())?.id ?? '';
  made.push(id);
  // A new agent knows nothing of it: its create meets the name, and it takes the container over.
  const second = new DockerExecutor(engine).controller(instance, 'nodectl');
  await second.prepare();
  assert.equal((await second.inspect())?.id, id);
  await second.remove();

  // The executor above has seen the image; it goes from the engine (tag only), and the next create pulls it again.
  docker('rmi', image);
  const third = executor.controller({ ...instance, id: 'ctltest5', slot: 5 }, 'nodectl');
  await third.prepare();
  const c = await third.inspect();
  assert.ok(c !== undefined);
  made.push(c.id);
  assert.equal(docker('image', 'inspect', '-f', '{{.Id}}', image).startsWith('sha256:'), true);
  await third.remove();
});

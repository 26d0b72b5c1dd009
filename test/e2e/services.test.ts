/**
 * Swarm services end to end with the real docker CLI 28.x: a gateway process
 * whose engine is tb1 (its own agent is the first node) and `stevedore agent`
 * processes for tb2 and tb3 (in their network namespaces, against their
 * engines) joined with `stevedore agent join`. The acceptance: 30
 * replicas over 3 nodes, scale, rolling update and rollback, global services
 * following a joining node, jobs, pending reasons, drain, a dead agent's tasks
 * rescheduled, --detach=false progress, logs from every task, and Docker's
 * messages for invalid specs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { E2eCluster, onHost } from '../support/e2e-cluster.js';
import { registryAddress, testbedHosts, type TestbedHost } from '../support/testbed.js';

const picked = testbedHosts(3);
const hosts = [picked[0], picked[1], picked[2]] as [TestbedHost, TestbedHost, TestbedHost];
/** The hosts' names (node hostnames): tb1 tb2 tb3 unless STEVEDORE_TESTBED_HOSTS picks others. */
const [N1, N2, N3] = hosts.map((h) => h.name) as [string, string, string];
let c: E2eCluster;

const ok = (args: readonly string[], timeout?: number): Promise<string> => c.ok(args, timeout);
const eventually = (what: string, check: () => Promise<boolean>, timeoutMs?: number): Promise<void> => c.eventually(what, check, timeoutMs);
const readyNodes = (): Promise<string[]> => c.readyNodes();

async function fails(args: readonly string[], message: RegExp): Promise<void> {
  const r = await c.docker(args);
  assert.notEqual(r.code, 0, `docker ${args.join(' ')} should fail`);
  assert.match(r.stderr, message);
}

/** `docker service ps` rows: name, node, desired state, current state, error. */
async function ps(service: string, extra: readonly string[] = []): Promise<{ name: string; node: string; desired: string; current: string; error: string }[]> {
  const out = await ok(['service', 'ps', ...extra, '--format', '{{.Name}}|{{.Node}}|{{.DesiredState}}|{{.CurrentState}}|{{.Error}}', service]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [name = '', node = '', desired = '', current = '', error = ''] = l.split('|');
      return { name, node, desired, current, error };
    });
}

async function running(service: string): Promise<{ name: string; node: string }[]> {
  return (await ps(service, ['--filter', 'desired-state=running'])).filter((t) => t.current.startsWith('Running'));
}

describe('docker service … through the gateway, on three nodes', () => {
  before(async () => {
    c = await E2eCluster.start({ prefix: 'stv-e2e-svc-', first: hosts[0], workers: [hosts[1]] });
  });

  after(async () => {
    // Workers whose manager left: their containers go when they leave too.
    await c?.stop(hosts);
    for (const h of hosts) {
      const left = (await onHost(h, ['ps', '-aq', '--filter', 'label=io.stevedore.managed=true', '--filter', 'label=com.docker.swarm.service.name'])).trim();
      for (const id of left.split('\n').filter(Boolean)) {
        const name = (await onHost(h, ['inspect', '-f', '{{index .Config.Labels "com.docker.swarm.service.name"}}', id])).trim();
        if (name.startsWith('e2e')) await onHost(h, ['rm', '-f', id]);
      }
    }
  });

  it('a global service runs one task per node and follows a node that joins', async () => {
    await ok(['service', 'create', '--detach', '--name', 'e2eglobal', '--mode', 'global', 'busybox', 'sleep', '3600']);
    await eventually('2 global tasks', async () => (await running('e2eglobal')).length === 2);
    await c.joinAgent(hosts[2]);
    await eventually('3 global tasks, one per node', async () => {
      const r = await running('e2eglobal');
      return r.length === 3 && new Set(r.map((t) => t.node)).size === 3;
    });
    await ok(['service', 'rm', 'e2eglobal']);
  });

  it('create --replicas 30 converges (the CLI shows its progress and returns); 30 running over 3 nodes', async () => {
    const out = await ok(['service', 'create', '--detach=false', '--name', 'e2es', '--replicas', '30', 'busybox', 'sleep', '3600'], 180_000);
    assert.match(out + '', /overall progress: 30 out of 30 tasks|verify: Service \S+ converged/);
    const r = await running('e2es');
    assert.equal(r.length, 30);
    const perNode = new Map<string, number>();
    for (const t of r) perNode.set(t.node, (perNode.get(t.node) ?? 0) + 1);
    assert.deepEqual([...perNode.keys()].sort(), [N1, N2, N3].sort());
    assert.deepEqual([...perNode.values()], [10, 10, 10]);
  });

  it('scale s=60 then s=10', async () => {
    await ok(['service', 'scale', 'e2es=60'], 240_000);
    assert.equal((await running('e2es')).length, 60);
    await ok(['service', 'scale', 'e2es=10'], 120_000);
    await eventually('10 running', async () => (await running('e2es')).length === 10);
  });

  it('update --image with --update-parallelism 5 completes; rollback restores the previous spec', async () => {
    const image = `${registryAddress()}/library/busybox:latest`;
    await ok(['service', 'update', '--image', image, '--update-parallelism', '5', '--update-monitor', '1s', 'e2es'], 240_000);
    // The CLI pins the image by digest when the registry tells it (GET /distribution), as against Docker.
    assert.match((await ok(['service', 'inspect', '-f', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', 'e2es'])).trim(), new RegExp(`^${image.replace(/[.]/g, '\\.')}(@sha256:[0-9a-f]{64})?$`));
    await eventually('10 updated tasks', async () => (await ps('e2es', ['--filter', 'desired-state=running'])).filter((t) => t.current.startsWith('Running')).length === 10);
    await ok(['service', 'rollback', 'e2es'], 240_000);
    assert.match((await ok(['service', 'inspect', '-f', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', 'e2es'])).trim(), /^busybox(:latest)?(@sha256:[0-9a-f]{64})?$/);
    await eventually('10 rolled back tasks', async () => (await running('e2es')).length === 10);
  });

  it('service logs shows lines from all tasks', async () => {
    await ok(['service', 'create', '--detach=false', '--name', 'e2elogs', '--replicas', '3', '--restart-condition', 'none', 'busybox', 'sh', '-c', 'echo hello from $(hostname); sleep 3600'], 120_000);
    await eventually('3 lines', async () => (await ok(['service', 'logs', 'e2elogs'])).split('\n').filter((l) => l.includes('hello from')).length === 3);
    const lines = (await ok(['service', 'logs', 'e2elogs'])).split('\n').filter(Boolean);
    const nodes = new Set(lines.map((l) => /^e2elogs\.\d+\.\w+@(\S+)\s+\| hello from/.exec(l)?.[1]));
    assert.deepEqual([...nodes].sort(), [N1, N2, N3].sort());
    await ok(['service', 'rm', 'e2elogs']);
  });

  it('a replicated job runs to completion', async () => {
    await ok(['service', 'create', '--detach', '--name', 'e2ejob', '--mode', 'replicated-job', '--replicas', '3', 'busybox', 'true']);
    await eventually('3 complete', async () => (await ps('e2ejob')).filter((t) => t.current.startsWith('Complete')).length === 3);
    await ok(['service', 'rm', 'e2ejob']);
  });

  it('an unsatisfiable constraint or reservation leaves tasks pending with the reason', async () => {
    await ok(['service', 'create', '--detach', '--name', 'e2epend', '--constraint', 'node.labels.x==y', 'busybox', 'sleep', '3600']);
    await ok(['service', 'create', '--detach', '--name', 'e2ebig', '--reserve-memory', '10000G', 'busybox', 'sleep', '3600']);
    await eventually('reasons', async () => {
      const a = (await ps('e2epend', ['--no-trunc']))[0];
      const b = (await ps('e2ebig', ['--no-trunc']))[0];
      return /Pending/.test(a?.current ?? '') && /scheduling constraints not satisfied on 3 nodes/.test(a?.error ?? '') && /insufficient resources on 3 nodes/.test(b?.error ?? '');
    });
    await ok(['service', 'rm', 'e2epend', 'e2ebig']);
  });

  it('draining a node moves its tasks', async () => {
    await ok(['node', 'update', '--availability', 'drain', N3]);
    await eventually('no task on tb3, 10 running', async () => {
      const r = await running('e2es');
      return r.length === 10 && r.every((t) => t.node !== N3);
    });
    await ok(['node', 'update', '--availability', 'active', N3]);
  });

  it("a dead host's tasks are rescheduled", async () => {
    await ok(['service', 'scale', 'e2es=12'], 120_000);
    const onTb2 = (await running('e2es')).filter((t) => t.node === N2).length;
    assert.ok(onTb2 > 0);
    await c.stopAgent(N2, 'SIGKILL');
    await eventually(`${N2} down`, async () => !(await readyNodes()).includes(N2), 20_000);
    await eventually('12 running elsewhere', async () => {
      const r = await running('e2es');
      return r.length === 12 && r.every((t) => t.node !== N2);
    }, 60_000);
    await c.startAgentOn(hosts[1]); // comes back with its identity; its stale containers go
    await eventually(`${N2} ready again`, async () => (await readyNodes()).includes(N2), 30_000);
    await ok(['service', 'rm', 'e2es']);
  });

  it("invalid specs get Docker's messages", async () => {
    await fails(['service', 'create', '--name', 'e2ebad', '--constraint', 'node.labels.x', 'busybox'], /constraint expected one operator from ==, !=/);
    await fails(['service', 'create', '--name', 'e2ebad', '--secret', 'nope', 'busybox'], /secret not found: nope/);
    await fails(['service', 'create', '--name', 'e2ebad', '--mode', 'global', '--replicas', '2', 'busybox'], /replicas can only be used with replicated or replicated-job mode/);
  });
});

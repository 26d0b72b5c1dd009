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
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureImage, startTestGateway, type TestGateway } from '../support/gateway.js';
import { registryAddress, repoRoot, testbedHosts, type TestbedHost } from '../support/testbed.js';

const DOCKER = '/usr/local/bin/docker';
const picked = testbedHosts(3);
const hosts = [picked[0], picked[1], picked[2]] as [TestbedHost, TestbedHost, TestbedHost];
/** The hosts' names (node hostnames): tb1 tb2 tb3 unless STEVEDORE_TESTBED_HOSTS picks others. */
const [N1, N2, N3] = hosts.map((h) => h.name) as [string, string, string];
let gw: TestGateway;
let work: string;
let token = '';
let manager = '';
const agents = new Map<string, ChildProcess>();

function run(cmd: string, args: readonly string[], env: Record<string, string> = {}, timeout = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const docker = (args: readonly string[], timeout?: number) => run(DOCKER, args, gw.env, timeout);

async function ok(args: readonly string[], timeout?: number): Promise<string> {
  const r = await docker(args, timeout);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}\n--- gateway log (tail) ---\n${gw.log().slice(-2000)}`);
  return r.stdout;
}

async function fails(args: readonly string[], message: RegExp): Promise<void> {
  const r = await docker(args);
  assert.notEqual(r.code, 0, `docker ${args.join(' ')} should fail`);
  assert.match(r.stderr, message);
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- gateway log (tail) ---\n${gw.log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
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

async function startAgentOn(h: TestbedHost): Promise<void> {
  const dir = path.join(work, h.name);
  const child = spawn(
    'nsenter',
    [
      `--net=/var/run/netns/${h.namespace}`,
      process.execPath, path.join(repoRoot(), 'bin', 'stevedore.js'), 'agent',
      '--engine', h.dockerHost,
      '--state-dir', dir,
      '--listen-docker', `unix://${dir}.sock`,
      // 2378 as `node add` gives agents: the test bed's engines serve their own TLS on :2376.
      '--listen-docker-tcp', `${h.address}:2378`,
      '--log-level', 'warn',
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  agents.set(h.name, child);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await run(DOCKER, ['-H', `unix://${dir}.sock`, 'version', '--format', '{{.Server.Version}}']);
    if (r.code === 0) break;
    if (Date.now() > deadline) throw new Error(`agent on ${h.name} did not come up: ${r.stderr}`);
    await new Promise((r2) => setTimeout(r2, 250));
  }
}

async function joinAgent(h: TestbedHost): Promise<void> {
  await startAgentOn(h);
  const r = await run(process.execPath, [path.join(repoRoot(), 'bin', 'stevedore.js'), 'agent', 'join', manager, '--token', token, '--agent', `unix://${path.join(work, h.name)}.sock`, '--advertise-addr', h.address]);
  assert.equal(r.code, 0, r.stderr);
}

function stopAgent(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const child = agents.get(name);
  agents.delete(name);
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

async function readyNodes(): Promise<string[]> {
  const out = await ok(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}']);
  return out.split('\n').filter((l) => l.endsWith(' Ready')).map((l) => l.split(' ')[0] ?? '');
}

describe('docker service … through the gateway, on three nodes', () => {
  before(async () => {
    await Promise.all(hosts.map((h) => ensureImage(h.dockerHost)));
    work = await mkdtemp(path.join(tmpdir(), 'stv-e2e-svc-'));
    gw = await startTestGateway({ engine: hosts[0].dockerHost, args: ['--dispatcher-listen', '10.211.0.1:0', '--advertise-addr', '10.211.0.1'] });
    await ok(['swarm', 'init', '--advertise-addr', '10.211.0.1']);
    const join = await ok(['swarm', 'join-token', 'worker']);
    const m = /--token (\S+) (\S+)/.exec(join);
    assert.ok(m, join);
    token = m[1] ?? '';
    manager = m[2] ?? '';
    await joinAgent(hosts[1]);
    await eventually('tb2 ready', async () => (await readyNodes()).length === 2);
  });

  after(async () => {
    await docker(['swarm', 'leave', '--force']);
    // Workers whose manager left: their containers go when they leave too.
    for (const h of hosts.slice(1)) await run(DOCKER, ['-H', `unix://${path.join(work, h.name)}.sock`, 'swarm', 'leave', '--force']);
    for (const name of [...agents.keys()]) await stopAgent(name);
    for (const h of hosts) {
      const left = (await run(DOCKER, ['-H', h.dockerHost, 'ps', '-aq', '--filter', 'label=io.stevedore.managed=true', '--filter', 'label=com.docker.swarm.service.name'])).stdout.trim();
      for (const id of left.split('\n').filter(Boolean)) {
        const name = (await run(DOCKER, ['-H', h.dockerHost, 'inspect', '-f', '{{index .Config.Labels "com.docker.swarm.service.name"}}', id])).stdout.trim();
        if (name.startsWith('e2e')) await run(DOCKER, ['-H', h.dockerHost, 'rm', '-f', id]);
      }
    }
    await gw?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('a global service runs one task per node and follows a node that joins', async () => {
    await ok(['service', 'create', '--detach', '--name', 'e2eglobal', '--mode', 'global', 'busybox', 'sleep', '3600']);
    await eventually('2 global tasks', async () => (await running('e2eglobal')).length === 2);
    await joinAgent(hosts[2]);
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
    await stopAgent(N2, 'SIGKILL');
    await eventually(`${N2} down`, async () => !(await readyNodes()).includes(N2), 20_000);
    await eventually('12 running elsewhere', async () => {
      const r = await running('e2es');
      return r.length === 12 && r.every((t) => t.node !== N2);
    }, 60_000);
    await startAgentOn(hosts[1]); // comes back with its identity; its stale containers go
    await eventually(`${N2} ready again`, async () => (await readyNodes()).includes(N2), 30_000);
    await ok(['service', 'rm', 'e2es']);
  });

  it("invalid specs get Docker's messages", async () => {
    await fails(['service', 'create', '--name', 'e2ebad', '--constraint', 'node.labels.x', 'busybox'], /constraint expected one operator from ==, !=/);
    await fails(['service', 'create', '--name', 'e2ebad', '--secret', 'nope', 'busybox'], /secret not found: nope/);
    await fails(['service', 'create', '--name', 'e2ebad', '--mode', 'global', '--replicas', '2', 'busybox'], /replicas can only be used with replicated or replicated-job mode/);
  });
});
